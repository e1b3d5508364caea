//! `tarski merge`: join the JSON-lines results of sharded batch runs into one report.
//!
//! A sharded report ends with a `tarski_shard` line (run identity, shard I of N, record count).
//! Merge refuses a set that is not exactly shards 1..N of one run, each complete: a repeated
//! shard, a missing one, shards of different runs, or a file cut short (issue 15, finding 13).
//! A single report without that line (an unsharded run) merges as itself.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use crate::cli::MergeArgs;

pub fn run(args: &MergeArgs) -> Result<u8> {
    let sink = crate::report::Sink::open(args.output.as_deref())?;
    let mut records = Vec::new();
    // (run, shards) of the first file; shard index -> file.
    let mut run: Option<(String, u64)> = None;
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut unsharded = 0usize;
    for f in &args.files {
        let text = crate::load::read_text(f)?;
        let mut trailer = None;
        let mut count = 0usize;
        let mut record_run: Option<String> = None;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            if trailer.is_some() {
                bail!("{}:{}: text after the shard line", f.display(), i + 1);
            }
            let v = tarski_compiler::json::parse_value(line)
                .map_err(|e| anyhow!("{}:{}: {e}", f.display(), i + 1))?;
            if let Some(t) = v.get("tarski_shard") {
                trailer = Some(t.clone());
                continue;
            }
            if let Some(id) = v.get("run").and_then(serde_json::Value::as_str) {
                record_run.get_or_insert_with(|| id.to_string());
            }
            let r = crate::report::from_json(&v)
                .ok_or_else(|| anyhow!("{}:{}: not a tarski batch record", f.display(), i + 1))?;
            records.push(r);
            count += 1;
        }
        let Some(t) = trailer else {
            if let Some(id) = record_run {
                bail!(
                    "{}: records of sharded run {id} without the shard line that ends a \
                     shard: the file is incomplete",
                    f.display()
                );
            }
            unsharded += 1;
            continue;
        };
        let field = |k: &str| t.get(k).and_then(serde_json::Value::as_u64);
        let (Some(id), Some(i), Some(n), Some(expected)) = (
            t.get("run").and_then(serde_json::Value::as_str),
            field("shard"),
            field("shards"),
            field("records"),
        ) else {
            bail!("{}: malformed shard line", f.display());
        };
        if expected != count as u64 {
            bail!(
                "{}: shard {i}/{n} holds {count} records, its shard line says {expected}: the \
                 file is incomplete",
                f.display()
            );
        }
        match &run {
            None => run = Some((id.to_string(), n)),
            Some((rid, rn)) if rid != id || *rn != n => bail!(
                "{}: shard {i}/{n} of run {id}, but {} is of run {rid} ({rn} shards): these \
                 are not shards of one run",
                f.display(),
                seen.values()
                    .next()
                    .map_or("the first file", String::as_str)
            ),
            Some(_) => {}
        }
        if let Some(other) = seen.insert(i, f.display().to_string()) {
            bail!(
                "{}: shard {i}/{n} is given twice (also {other})",
                f.display()
            );
        }
    }
    if let Some((id, n)) = &run {
        if unsharded > 0 {
            bail!("a report without a shard line cannot be merged with shards of run {id}");
        }
        let missing: Vec<String> = (1..=*n)
            .filter(|i| !seen.contains_key(i))
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "shard{} {} of {n} missing (run {id})",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            );
        }
    } else if unsharded > 1 {
        bail!(
            "{} reports without shard lines: merge joins the shards of one `batch --shard I/N` \
             run",
            unsharded
        );
    }
    records.sort_by(|a, b| (&a.file, &a.check, &a.subject).cmp(&(&b.file, &b.check, &b.subject)));
    let files = {
        let mut f: Vec<&str> = records.iter().map(|r| r.file.as_str()).collect();
        f.sort_unstable();
        f.dedup();
        f.len()
    };
    crate::report::write(
        &records,
        files,
        &Default::default(),
        args.format,
        sink,
        None,
        args.timings,
    )?;
    Ok(crate::commands::exit_code(&records))
}
