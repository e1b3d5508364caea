// A build script reports failure by panicking: that is its interface with cargo.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! Lets test binaries find libz3 at run time without LD_LIBRARY_PATH: adds an rpath to the
//! directory z3-sys links from (`Z3_LIBRARY_PATH_OVERRIDE`, set to `<workspace>/.z3/lib` by
//! `.cargo/config.toml`, or to your own Z3 by your environment). See docs/z3.md.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=Z3_LIBRARY_PATH_OVERRIDE");
    let Ok(dir) = std::env::var("Z3_LIBRARY_PATH_OVERRIDE") else {
        // .cargo/config.toml always sets it, but cargo reads that file from the *current
        // directory* upwards: `cargo --manifest-path` from outside the workspace misses it.
        panic!(
            "Z3_LIBRARY_PATH_OVERRIDE is not set: run cargo from inside the Tarski workspace \
             (so .cargo/config.toml applies), or set it to a directory holding libz3 >= 4.13.3 \
             (see docs/z3.md)."
        );
    };
    if !Path::new(&dir).join("libz3.so").exists() && !Path::new(&dir).join("libz3.dylib").exists() {
        panic!(
            "no libz3 in Z3_LIBRARY_PATH_OVERRIDE={dir}. Run `bash scripts/install-z3.sh` \
             at the workspace root, or point Z3_LIBRARY_PATH_OVERRIDE and Z3_SYS_Z3_VERSION \
             at a Z3 >= 4.13.3 (see docs/z3.md)."
        );
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}
