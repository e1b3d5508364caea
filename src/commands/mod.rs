//! One module per subcommand. Each returns the process exit code (see `exit`).

pub mod batch;
pub mod check;
pub mod eval;
pub mod expand;
pub mod merge;
pub mod solve;
pub mod verify;

use anyhow::Result;

use crate::cli::RunArgs;

/// `--timeout SECONDS` as a duration: a finite number from 0.001 (below a millisecond Z3 would
/// get 0, which it reads as "no limit") to `tarski::MAX_TIMEOUT_SECS` (`--timeout 1e20`
/// panicked in `Duration::from_secs_f64`). The engine checks the same range.
pub fn timeout(secs: f64) -> Result<std::time::Duration> {
    if !(secs.is_finite() && (0.001..=tarski::MAX_TIMEOUT_SECS).contains(&secs)) {
        anyhow::bail!(
            "--timeout {secs}: must be a number of seconds from 0.001 to {}",
            tarski::MAX_TIMEOUT_SECS
        );
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// The engine of `verify` and `batch`.
pub fn run_engine(r: &RunArgs) -> Result<tarski::Engine> {
    let mut b = tarski::Engine::builder()
        .timeout_secs(r.timeout)
        .witnesses(r.witnesses)
        .known_actions(r.known_actions)
        .syntactic(true)
        .solver(tarski::SolverChoice::Portfolio);
    if let Some(j) = r.jobs {
        b = b.jobs(j);
    }
    Ok(b.build()?)
}

/// The exit code for a set of records: 1 if any check fails, else 3 if an input could not be
/// read, else 2 if any is unknown, else 0.
///
/// Only assertions of severity `error` decide the exit code: a failing `warning` or `info`
/// assertion is reported (and is a SARIF warning/note) but does not fail the run.
pub fn exit_code(records: &[tarski::Record]) -> u8 {
    exit_code_of(records, |r| {
        r.severity == tarski_compiler::spec::ast::Level::Error
    })
}

/// The exit code over the records that `blocks`: 1 if one fails, else 3 if an input could not
/// be read, else 2 if one is unknown, else 0.
pub fn exit_code_of(records: &[tarski::Record], blocks: impl Fn(&tarski::Record) -> bool) -> u8 {
    use tarski::Status;
    let has = |s| records.iter().any(|r| r.status == s && blocks(r));
    if has(Status::Fail) {
        crate::exit::NO
    } else if has(Status::Error) {
        crate::exit::BAD_INPUT
    } else if has(Status::Unknown) {
        crate::exit::UNKNOWN
    } else {
        crate::exit::OK
    }
}
