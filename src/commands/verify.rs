//! `tarski verify SPEC.tq`: every assertion's result, with witnesses; exit 0 only when all hold.

use anyhow::Result;

use crate::cli::{RunArgs, VerifyArgs};
use crate::run::Status;

pub fn options(r: &RunArgs) -> Result<tarski_solver::Options> {
    if r.jobs
        .is_some_and(|j| j == 0 || j > crate::commands::MAX_JOBS)
    {
        anyhow::bail!("--jobs: must be from 1 to {}", crate::commands::MAX_JOBS);
    }
    Ok(tarski_solver::Options {
        timeout: crate::commands::timeout(r.timeout)?,
        witnesses: r.witnesses.max(1),
        known_actions: r.known_actions,
        syntactic: true,
        resources: crate::commands::rlimit(r.rlimit.as_deref())?,
        ..tarski_solver::Options::default()
    })
}

/// The exit code for a set of records: 1 if any check fails, else 3 if an input could not be
/// read, else 2 if any is unknown, else 0.
///
/// Only assertions of severity `error` decide the exit code: a failing `warning` or `info`
/// assertion is reported (and is a SARIF warning/note) but does not fail the run.
pub fn exit_code(records: &[crate::run::Record]) -> u8 {
    let has = |s| {
        records
            .iter()
            .any(|r| r.status == s && r.severity == tarski_compiler::spec::ast::Level::Error)
    };
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

pub fn run(args: &VerifyArgs) -> Result<u8> {
    let opts = options(&args.run)?;
    let sink = crate::report::Sink::open(args.run.output.as_deref())?;
    let spec = crate::spec_load::read(&args.spec)?;
    let names = crate::spec_load::resolve(&spec)?;
    let jobs = crate::spec_load::jobs(&spec, &names, None);
    let records = crate::commands::batch::run_jobs(&jobs, &opts, args.run.jobs, false)?;
    let files = names.len();
    crate::commands::batch::write_report(
        &records,
        files,
        &crate::spec_load::descriptions(&spec),
        args.run.format,
        sink,
        None,
        args.run.timings,
    )?;
    Ok(exit_code(&records))
}
