//! `tarski`: the command line. Argument parsing, file reading, output formats and exit codes
//! live here; all policy semantics live in `tarski-compiler`.

mod cli;
mod commands;
mod exit;
mod iac;
mod load;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            return exit::code(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    let result = match &cli.command {
        cli::Command::Check(a) => commands::check::run(a),
        cli::Command::Eval(a) => commands::eval::run(a),
        cli::Command::Expand(a) => commands::expand::run(a),
        cli::Command::Can(a) => commands::solve::run_can(a),
        cli::Command::Subset(a) => commands::solve::run_subset(a),
        cli::Command::Equiv(a) => commands::solve::run_equiv(a),
    };
    match result {
        Ok(c) => exit::code(c),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::code(exit::BAD_INPUT)
        }
    }
}
