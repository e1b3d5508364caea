//! `tarski check FILE...`: parse, validate and lint policy documents.

use anyhow::Result;
use serde_json::json;
use tarski_compiler::diagnostic::{Code, Severity};
use tarski_compiler::load::{load, SourceDiagnostics};

use crate::cli::{CheckArgs, Format};
use crate::exit;

pub fn run(args: &CheckArgs) -> Result<u8> {
    let kind = args.kind.map(|k| k.kind());
    let (mut errors, mut warnings, mut unreadable) = (0usize, 0usize, 0usize);
    let mut records = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = match crate::load::read_text(path) {
            Ok(t) => t,
            Err(e) => {
                unreadable += 1;
                match args.format {
                    Format::Text => {
                        eprintln!("error: {}", crate::render::clean_lines(&format!("{e:#}")))
                    }
                    Format::Json => records.push(json!({"file": name, "severity": "error", "code": Code::UnreadableFile.as_str(), "message": format!("{e:#}")})),
                }
                continue;
            }
        };
        let loaded = load(&name, &text, kind, true);
        for g in &loaded.diagnostics {
            for d in &g.diagnostics {
                match d.severity {
                    Severity::Error => errors += 1,
                    Severity::Warning => warnings += 1,
                }
            }
        }
        match args.format {
            Format::Text => {
                crate::render::text(&loaded.diagnostics);
                for p in &loaded.policies {
                    if p.policy.kind_inferred {
                        eprintln!(
                            "note: {}: read as a{} {} policy (inferred; set it with --kind)",
                            crate::render::clean(&p.source.name),
                            if p.policy
                                .kind
                                .as_str()
                                .starts_with(['a', 'e', 'i', 'o', 'u'])
                            {
                                "n"
                            } else {
                                ""
                            },
                            p.policy.kind.as_str()
                        );
                    }
                }
            }
            Format::Json => {
                for g in &loaded.diagnostics {
                    records.extend(
                        g.diagnostics
                            .iter()
                            .map(|d| crate::render::json_value(g, d)),
                    );
                }
                let groups: Vec<&SourceDiagnostics> = loaded.diagnostics.iter().collect();
                let _ = groups;
                for p in &loaded.policies {
                    records.push(json!({
                        "file": p.source.name,
                        "policy": {"kind": p.policy.kind.as_str(), "kind_inferred": p.policy.kind_inferred, "statements": p.policy.statements.len()},
                    }));
                }
            }
        }
    }
    let mut iac = crate::iac::Counts::default();
    crate::iac::check(
        &args.iac,
        args.format == Format::Json,
        &mut iac,
        &mut records,
    )?;
    errors += iac.errors;
    warnings += iac.warnings;
    unreadable += iac.unreadable;
    match args.format {
        Format::Text => {
            let files = args.files.len() + iac.files;
            eprintln!(
                "checked {files} file{}: {errors} error{}, {warnings} warning{}{}",
                if files == 1 { "" } else { "s" },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" },
                if unreadable > 0 {
                    format!(", {unreadable} unreadable")
                } else {
                    String::new()
                }
            );
            if iac.unread > 0 {
                eprintln!(
                    "{} polic{} not read (T0305): the answer is unknown",
                    iac.unread,
                    if iac.unread == 1 {
                        "y-bearing part"
                    } else {
                        "y-bearing parts"
                    }
                );
            }
        }
        Format::Json => {
            for r in &records {
                println!("{r}");
            }
        }
    }
    Ok(if unreadable > 0 {
        exit::BAD_INPUT
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        exit::NO
    } else if iac.unread > 0 {
        // Something that can carry a policy was not read: never a clean pass.
        exit::UNKNOWN
    } else {
        exit::OK
    })
}
