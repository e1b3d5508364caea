// A build script reports failure by panicking: that is its interface with cargo.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! Generates the spec/query parser from `src/spec/grammar.lalrpop`.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("the lalrpop grammar compiles");
}
