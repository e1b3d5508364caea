//! `tarski verify SPEC.tq`: every assertion's result, with witnesses; exit 0 only when all hold.

use anyhow::Result;

use crate::cli::VerifyArgs;

pub fn run(args: &VerifyArgs) -> Result<u8> {
    let engine = super::run_engine(&args.run)?;
    let sink = crate::report::Sink::open(args.run.output.as_deref())?;
    let report = engine.verify(&args.spec)?;
    crate::report::write(
        &report.records,
        report.files,
        &report.descriptions,
        args.run.format,
        sink,
        None,
        args.run.timings,
    )?;
    Ok(super::exit_code(&report.records))
}
