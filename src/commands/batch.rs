//! `tarski batch`: the batch run of the library (src/batch.rs, `Engine::batch`) with a progress
//! bar on a terminal and human / JSON-lines / SARIF reports.

use anyhow::Result;

use crate::cli::BatchArgs;

/// The arguments that shape a run's answers (all but `--shard`, `--output`, `--jobs`,
/// `--no-progress`): the same for every shard of one run.
fn run_key() -> String {
    let mut key = String::new();
    let mut skip_value = false;
    for a in std::env::args().skip(1) {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let name = a.split('=').next().unwrap_or("");
        if ["--shard", "--output", "--jobs"].contains(&name) {
            skip_value = !a.contains('=');
            continue;
        }
        if a == "--no-progress" {
            continue;
        }
        key.push('\u{0}');
        key.push_str(&a);
    }
    key
}

/// A progress bar on a terminal (`--no-progress` turns it off); its length is set as the
/// jobs report in.
fn progress_bar(on: bool) -> Option<indicatif::ProgressBar> {
    if !(on && std::io::IsTerminal::is_terminal(&std::io::stderr())) {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} checks ({eta} left) {msg}")
    {
        b.set_style(style);
    }
    Some(b)
}

pub fn run_batch(args: &BatchArgs) -> Result<u8> {
    let engine = super::run_engine(&args.run)?;
    let sink = crate::report::Sink::open(args.run.output.as_deref())?;
    let inputs = tarski::BatchInputs {
        inputs: args.inputs.clone(),
        kind: args.kind.map(|k| k.kind()),
        checks: args.checks.clone(),
        spec: args.spec.clone(),
        within_boundary: args.within_boundary.clone(),
        no_new_access: args.no_new_access,
        baseline: args.baseline.clone(),
        iac: args.iac.clone(),
        config: args.config.clone(),
        baseline_findings: args.baseline_findings.clone(),
        shard: args.shard.clone(),
        run_key: run_key(),
    };
    let bar = progress_bar(!args.no_progress);
    let report = engine.batch(&inputs, &|total| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.inc(1);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let shard_info = report.shard.as_ref().map(|s| crate::report::ShardInfo {
        run: s.run.clone(),
        index: s.index,
        count: s.count,
    });
    crate::report::write(
        &report.records,
        report.inputs,
        &report.descriptions,
        args.run.format,
        sink,
        shard_info.as_ref(),
        args.run.timings,
    )?;
    Ok(super::exit_code_of(&report.records, |r| report.blocks(r)))
}
