//! Generates the spec/query parser from `src/spec/grammar.lalrpop`.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("the lalrpop grammar compiles");
}
