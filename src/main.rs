//! `tarski`: the command line. Argument parsing, file reading, output formats and exit codes
//! live here; all policy semantics live in `tarski-compiler`, all solving in `tarski-solver`.

mod cli;
mod commands;
mod config;
mod exit;
mod iac;
mod load;
mod reference;
mod render;
mod report;
mod run;
mod spec_load;

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
    // A panic is a bug: say so plainly and exit with the internal-error code, never with a
    // code that could be read as an answer. A closed output pipe (`| head`) is not a bug.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        if msg.contains("Broken pipe") || msg.contains("failed printing to stdout") {
            std::process::exit(0);
        }
        eprintln!("internal error: {msg}");
        eprintln!("this is a bug in Tarski; please report it with the input that caused it");
    }));
    let values = match &cli.command {
        cli::Command::Check(a) => Some(&a.iac.values),
        cli::Command::Batch(a) => Some(&a.iac.values),
        cli::Command::Eval(a) => Some(&a.values),
        cli::Command::Can(a) => Some(&a.values),
        cli::Command::Subset(a) | cli::Command::Equiv(a) => Some(&a.values),
        cli::Command::Verify(a) => Some(&a.values),
        cli::Command::Expand(_) | cli::Command::Merge(_) => None,
    };
    if let Some(v) = values {
        match v.options() {
            Ok(o) => reference::set_values(o, v.managed_policies.clone()),
            Err(e) => {
                eprintln!("error: {e:#}");
                return exit::code(exit::BAD_INPUT);
            }
        }
    }
    let result = std::panic::catch_unwind(|| match &cli.command {
        cli::Command::Check(a) => commands::check::run(a),
        cli::Command::Eval(a) => commands::eval::run(a),
        cli::Command::Expand(a) => commands::expand::run(a),
        cli::Command::Can(a) => commands::solve::run_can(a),
        cli::Command::Subset(a) => commands::solve::run_subset(a),
        cli::Command::Equiv(a) => commands::solve::run_equiv(a),
        cli::Command::Verify(a) => commands::verify::run(a),
        cli::Command::Batch(a) => commands::batch::run_batch(a),
        cli::Command::Merge(a) => commands::merge::run(a),
    });
    match result {
        Ok(Ok(c)) => exit::code(c),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            exit::code(exit::BAD_INPUT)
        }
        Err(_) => exit::code(exit::INTERNAL),
    }
}
