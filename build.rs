//! Lets the `tarski` binary and this package's tests find libz3 at run time (once they link
//! tarski-solver) without LD_LIBRARY_PATH: an rpath to `Z3_LIBRARY_PATH_OVERRIDE`, which
//! `.cargo/config.toml` sets to `<workspace>/.z3/lib`. See docs/z3.md and solver/build.rs.
fn main() {
    println!("cargo:rerun-if-env-changed=Z3_LIBRARY_PATH_OVERRIDE");
    if let Ok(dir) = std::env::var("Z3_LIBRARY_PATH_OVERRIDE") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
