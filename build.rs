// A build script reports failure by panicking: that is its interface with cargo.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! Lets the `tarski` binary and this package's tests find the solver libraries at run time
//! without LD_LIBRARY_PATH. Two run-time search paths, in this order:
//! 1. `$ORIGIN/../lib`: the release bundle's layout (`bin/tarski`, `lib/libz3.so.*`), written by
//!    `scripts/release.sh`, so the bundle can be copied anywhere and run (issue 14);
//! 2. `Z3_LIBRARY_PATH_OVERRIDE`, which `.cargo/config.toml` sets to `<workspace>/.z3/lib`: the
//!    checkout's own solver, for `target/*/tarski` and the tests.
//!
//! See docs/z3.md and docs/install.md.
fn main() {
    println!("cargo:rerun-if-env-changed=Z3_LIBRARY_PATH_OVERRIDE");
    // `$ORIGIN` is expanded by the dynamic loader, not by a shell: rustc passes it verbatim.
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN/../lib");
    if let Ok(dir) = std::env::var("Z3_LIBRARY_PATH_OVERRIDE") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
