//! Reports for `verify`, `batch` and `merge`: a human summary, JSON lines (one record per
//! subject × check; schema in docs/batch.md), and SARIF 2.1.0 for GitHub code scanning.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Value};
use tarski_compiler::spec::ast::Level;

use crate::render::clean;
use crate::run::{Location, Record, Status};

pub fn counts(records: &[Record]) -> BTreeMap<Status, usize> {
    let mut c = BTreeMap::new();
    for r in records {
        *c.entry(r.status).or_insert(0) += 1;
    }
    c
}

pub fn human(
    records: &[Record],
    files: usize,
    timings: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for r in records.iter().filter(|r| r.status != Status::Pass) {
        let loc = r
            .location
            .as_ref()
            .map(|l| format!("{}:{}:{}", l.file, l.line, l.column))
            .unwrap_or_else(|| r.file.clone());
        writeln!(
            out,
            "{}: {} [{}] {}: {}",
            r.status.as_str().to_uppercase(),
            clean(&loc),
            clean(&r.check),
            clean(&r.subject),
            clean(&r.message)
        )?;
        if let Some(w) = r.witnesses.first() {
            let ctx: Vec<String> = w
                .request
                .context
                .iter()
                .map(|(k, v)| format!("{k}={}", v.join(",")))
                .collect();
            let line = format!(
                "    witness: {} {} on {}{}",
                w.request.principal,
                w.request.action,
                w.request.resource,
                if ctx.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", ctx.join(" "))
                }
            );
            writeln!(out, "{}", clean(&line))?;
            for n in &w.notes {
                writeln!(out, "    note: {}", clean(n))?;
            }
        }
    }
    let c = counts(records);
    let get = |s| c.get(&s).copied().unwrap_or(0);
    writeln!(
        out,
        "\n{} checks over {files} inputs: {} pass, {} fail, {} unknown, {} input errors",
        records.len(),
        get(Status::Pass),
        get(Status::Fail),
        get(Status::Unknown),
        get(Status::Error)
    )?;
    // Findings that do not decide the exit code on their own, so a count above never reads
    // as blocking when it is not (docs/ci.md: severities, suppressions, baseline).
    let below = records
        .iter()
        .filter(|r| r.status != Status::Pass && r.severity != Level::Error)
        .count();
    if below > 0 {
        writeln!(
            out,
            "{below} of them below severity error (warning, info: suppressed, in the baseline findings, or lowered in tarski.toml); `fail-on` decides whether they fail the run"
        )?;
    }
    let mut slow: Vec<&Record> = records
        .iter()
        .filter(|r| r.status != Status::Error)
        .collect();
    slow.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    if timings && !slow.is_empty() {
        writeln!(out, "slowest checks:")?;
        for r in slow.iter().take(5) {
            writeln!(
                out,
                "  {:>9.1} ms  {} [{}]",
                r.elapsed.as_secs_f64() * 1000.0,
                clean(&r.subject),
                clean(&r.check)
            )?;
        }
    }
    Ok(())
}

/// One JSON object per record; `run` (a sharded run's identity) is added to each, and
/// `elapsed_ms` kept only with `--timings` (a report is otherwise the same byte for byte for
/// the same inputs and flags).
pub fn json_lines(
    records: &[Record],
    timings: bool,
    run: Option<&str>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for r in records {
        let mut v = r.to_json();
        if let Some(o) = v.as_object_mut() {
            if !timings {
                o.remove("elapsed_ms");
            }
            if let Some(id) = run {
                o.insert("run".into(), Value::String(id.to_string()));
            }
        }
        writeln!(out, "{v}")?;
    }
    Ok(())
}

/// The last line of a sharded JSON report (docs/batch.md, "Sharding").
pub fn shard_trailer(sh: &ShardInfo, records: usize, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        json!({"tarski_shard": {"run": sh.run, "shard": sh.index, "shards": sh.count, "records": records}})
    )
}

/// Read JSON lines back (for `tarski merge`).
pub fn from_json(v: &Value) -> Option<Record> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let witnesses = v
        .get("witnesses")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(|w| {
                    let mut req = tarski_compiler::request::Request::from_json(&json!({
                        "principal": w.get("principal")?,
                        "action": w.get("action")?,
                        "resource": w.get("resource")?,
                        "resource_account": w.get("resource_account").cloned().unwrap_or(Value::Null),
                        "context": w.get("context").cloned().unwrap_or(json!({})),
                    }))
                    .ok()?;
                    req.resource_account = req.resource_account.take();
                    Some(tarski_solver::Witness {
                        request: req,
                        notes: w
                            .get("notes")
                            .and_then(Value::as_array)
                            .map(|n| n.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let location = v.get("location").and_then(|l| {
        Some(Location {
            file: l.get("file")?.as_str()?.to_string(),
            line: l.get("line")?.as_u64()? as usize,
            column: l.get("column")?.as_u64()? as usize,
        })
    });
    Some(Record {
        file: s("file")?,
        subject: s("subject")?,
        check: s("check")?,
        severity: match s("severity").as_deref() {
            Some("info") => Level::Info,
            Some("warning") => Level::Warning,
            _ => Level::Error,
        },
        status: Status::parse(&s("status")?)?,
        message: s("message").unwrap_or_default(),
        witnesses,
        location,
        elapsed: std::time::Duration::from_secs_f64(
            v.get("elapsed_ms").and_then(Value::as_f64).unwrap_or(0.0) / 1000.0,
        ),
    })
}

/// SARIF 2.1.0: one result per failing (or unknown, or unreadable) record, pointing at the
/// statement that grants the witness when there is one.
pub fn sarif(
    records: &[Record],
    descriptions: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for r in records.iter().filter(|r| r.status != Status::Pass) {
        let rule_id = if r.status == Status::Error {
            "tarski/input-error".to_string()
        } else {
            format!("tarski/{}", r.check)
        };
        rules.entry(rule_id.clone()).or_insert_with(|| {
            let text = descriptions.get(&r.check).cloned().unwrap_or_else(|| r.check.clone());
            json!({"id": rule_id, "name": r.check, "shortDescription": {"text": text}, "defaultConfiguration": {"level": level(r)}})
        });
        let (file, line, column) = match &r.location {
            Some(l) => (l.file.clone(), l.line, l.column),
            None => (r.file.clone(), 1, 1),
        };
        let mut text = format!("{}: {}", r.check, r.message);
        if let Some(w) = r.witnesses.first() {
            text.push_str(&format!(
                " Witness: {} may {} on {}.",
                w.request.principal, w.request.action, w.request.resource
            ));
        }
        results.push(json!({
            "ruleId": rule_id,
            "level": if r.status == Status::Unknown { "warning".to_string() } else { level(r).to_string() },
            "message": {"text": text},
            // Stable across runs and line moves: the same finding keeps its alert.
            "partialFingerprints": {"tarskiFinding/v1": fingerprint(r)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": uri(&file)},
                "region": {"startLine": line.max(1), "startColumn": column.max(1)}
            }}],
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tarski",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/tarski-iam/tarski",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

fn level(r: &Record) -> &'static str {
    match r.severity {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// A finding's identity for code scanning: check, subject and file (not the line, which moves
/// with unrelated edits), FNV-1a as 16 hex digits.
fn fingerprint(r: &Record) -> String {
    let key = format!("{}\u{0}{}\u{0}{}", r.check, r.subject, r.file);
    let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}

/// SARIF wants URIs (RFC 3986, SARIF 2.1.0 §3.10): a relative path with forward slashes (what
/// code scanning resolves against the repository root), `.` and `x/..` segments removed; an
/// absolute path as a `file://` URI. Every byte outside the unreserved set and `/` is
/// percent-encoded (`#`, `%`, `?`, spaces, non-ASCII as UTF-8 bytes), so no file name can read
/// as a fragment, query or scheme.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let absolute = path.starts_with('/');
    let mut segs: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." if segs.last().is_some_and(|s| *s != "..") => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = String::new();
    if absolute {
        out.push_str("file:///");
    }
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in seg.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Where a report goes: standard output, or a file. A file is opened before any work (a bad
/// `--output` fails at once, not after an hour of solving), written to a temporary file beside
/// it and renamed over it only when everything was written: a full disk or an interrupted run
/// never leaves an empty or cut report that looks complete. A device or FIFO named by
/// `--output` is written in place (it cannot be renamed over).
pub struct Sink {
    target: Target,
}

enum Target {
    Stdout,
    Direct(std::fs::File, std::path::PathBuf),
    Temp {
        file: std::fs::File,
        tmp: std::path::PathBuf,
        dest: std::path::PathBuf,
    },
}

impl Sink {
    pub fn open(output: Option<&std::path::Path>) -> anyhow::Result<Sink> {
        use anyhow::{anyhow, bail};
        let Some(dest) = output else {
            return Ok(Sink {
                target: Target::Stdout,
            });
        };
        match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => bail!("--output {}: is a directory", dest.display()),
            Ok(m) if !m.is_file() => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .map_err(|e| anyhow!("cannot write {}: {e}", dest.display()))?;
                return Ok(Sink {
                    target: Target::Direct(f, dest.to_path_buf()),
                });
            }
            _ => {}
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow!("--output {}: not a file name", dest.display()))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tarski-{}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| anyhow!("cannot write {}: {e}", dest.display()))?;
        if let Ok(mut p) = crate::exit::PENDING.lock() {
            *p = Some(tmp.clone());
        }
        Ok(Sink {
            target: Target::Temp {
                file,
                tmp,
                dest: dest.to_path_buf(),
            },
        })
    }

    pub fn is_file(&self) -> bool {
        !matches!(self.target, Target::Stdout)
    }

    /// Write the whole report. Standard output that fails ends the run
    /// (`exit::stdout_failed`); a file that fails is an error and leaves no report behind.
    pub fn finish(mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use anyhow::anyhow;
        match std::mem::replace(&mut self.target, Target::Stdout) {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
                    crate::exit::stdout_failed(&e);
                }
                Ok(())
            }
            Target::Direct(mut f, dest) => f
                .write_all(bytes)
                .and_then(|()| f.flush())
                .map_err(|e| anyhow!("cannot write {}: {e}", dest.display())),
            Target::Temp {
                mut file,
                tmp,
                dest,
            } => {
                let written = file
                    .write_all(bytes)
                    .and_then(|()| file.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, &dest));
                drop(file);
                crate::exit::discard_pending_output();
                written.map_err(|e| anyhow!("cannot write {}: {e}", dest.display()))
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Target::Temp { .. } = self.target {
            crate::exit::discard_pending_output();
        }
    }
}

/// Write a run's report in `format` to `sink`, and a one-line summary to the terminal when
/// the report goes to a file.
pub fn write(
    records: &[tarski::Record],
    files: usize,
    descriptions: &std::collections::BTreeMap<String, String>,
    format: crate::cli::ReportFormat,
    sink: Sink,
    shard: Option<&ShardInfo>,
    timings: bool,
) -> anyhow::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    match format {
        crate::cli::ReportFormat::Text => human(records, files, timings, &mut buf)?,
        crate::cli::ReportFormat::Json => {
            json_lines(records, timings, shard.map(|s| s.run.as_str()), &mut buf)?;
            if let Some(sh) = shard {
                shard_trailer(sh, records.len(), &mut buf)?;
            }
        }
        crate::cli::ReportFormat::Sarif => sarif(records, descriptions, &mut buf)?,
    }
    let to_file = sink.is_file();
    sink.finish(&buf)?;
    if to_file && format != crate::cli::ReportFormat::Text {
        // Keep the human summary on the terminal when the report goes to a file.
        let c = counts(records);
        eprintln!(
            "{} checks over {files} inputs: {} pass, {} fail, {} unknown, {} input errors",
            records.len(),
            c.get(&tarski::Status::Pass).unwrap_or(&0),
            c.get(&tarski::Status::Fail).unwrap_or(&0),
            c.get(&tarski::Status::Unknown).unwrap_or(&0),
            c.get(&tarski::Status::Error).unwrap_or(&0)
        );
    }
    Ok(())
}

/// Which shard of which run a JSON report is (`--shard`): written as its last line so that
/// `tarski merge` can refuse a repeated, missing or foreign shard and a cut file.
pub struct ShardInfo {
    pub run: String,
    pub index: u64,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn sarif_uris_are_percent_encoded_and_absolute_paths_are_file_uris() {
        assert_eq!(uri("./a/b.json"), "a/b.json");
        assert_eq!(uri("a b/c#d%e?f.json"), "a%20b/c%23d%25e%3Ff.json");
        assert_eq!(uri("pol/é.json"), "pol/%C3%A9.json");
        assert_eq!(uri("/tmp/x y.json"), "file:///tmp/x%20y.json");
        assert_eq!(
            uri("corpus/specs/../examples/s.json"),
            "corpus/examples/s.json"
        );
        assert_eq!(uri("../up.json"), "../up.json");
        assert_eq!(uri("c:x.json"), "c%3Ax.json");
        assert_eq!(uri("win\\dir\\p.json"), "win/dir/p.json");
    }
}
