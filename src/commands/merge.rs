//! `tarski merge`: join the JSON-lines results of sharded batch runs into one report.

use anyhow::{anyhow, Result};

use crate::cli::MergeArgs;

pub fn run(args: &MergeArgs) -> Result<u8> {
    let sink = crate::report::Sink::open(args.output.as_deref())?;
    let mut records = Vec::new();
    for f in &args.files {
        let text = crate::load::read_text(f)?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v = tarski_compiler::json::parse_value(line)
                .map_err(|e| anyhow!("{}:{}: {e}", f.display(), i + 1))?;
            let r = crate::report::from_json(&v)
                .ok_or_else(|| anyhow!("{}:{}: not a tarski batch record", f.display(), i + 1))?;
            records.push(r);
        }
    }
    records.sort_by(|a, b| (&a.file, &a.check, &a.subject).cmp(&(&b.file, &b.check, &b.subject)));
    let files = {
        let mut f: Vec<&str> = records.iter().map(|r| r.file.as_str()).collect();
        f.sort_unstable();
        f.dedup();
        f.len()
    };
    crate::commands::batch::write_report(&records, files, &Default::default(), args.format, sink)?;
    Ok(crate::commands::verify::exit_code(&records))
}
