//! `tarski check --template / --terraform-plan / --account-snapshot`: every policy found,
//! checked, with its origin.

use anyhow::Result;
use serde_json::{json, Value};
use tarski_compiler::diagnostic::{Code, Severity};
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, Extraction, FoundPolicy};

use super::IacCheckArgs;
use super::{inputs, Input};

/// Totals of a check run.
#[derive(Default)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub unreadable: usize,
    /// Policy-bearing parts not read (T0305): the run's answer is `unknown` (exit 2).
    pub unread: usize,
    /// Templates, plans and snapshots read (a directory or glob counts its files).
    pub files: usize,
}

fn policy_record(p: &FoundPolicy, valid: bool, kind: Option<&str>) -> Value {
    let unknowns: Vec<Value> = p
        .unknowns
        .iter()
        .map(|u| {
            let (line, column) = p.source.line_col(u.span.start as usize);
            json!({"what": u.what, "line": line, "column": column, "placeholder": u.placeholder,
                   "modelled": u.modelled})
        })
        .collect();
    json!({
        "file": p.origin.file,
        "policy": {
            "address": p.origin.address,
            "pointer": p.origin.pointer,
            "line": p.origin.line,
            "column": p.origin.column,
            "kind": kind.or(p.kind.map(|k| k.as_str())),
            "symbolic": p.symbolic(),
            "opaque": p.opaque(),
            "valid": valid,
            "unknowns": unknowns,
        }
    })
}

/// Check every policy in the IaC inputs of `check`; adds to `counts` and `records`.
pub fn check(
    iac_args: &IacCheckArgs,
    json: bool,
    counts: &mut Counts,
    records: &mut Vec<Value>,
) -> Result<()> {
    // Template values of tarski.toml (found from the working directory up) fill what the
    // command line does not give, as for `batch` (docs/ci.md).
    let mut with_config = iac_args.clone();
    if with_config.count() > 0 {
        crate::config::load(None)?.template_values(&mut with_config.values);
    }
    let a = &with_config;
    let opts = a.options()?;
    for input in inputs(a, &opts) {
        let read = input.read();
        let Input {
            path,
            what,
            opts,
            from,
            ..
        } = input;
        let name = path.display().to_string();
        counts.files += 1;
        let text = match read {
            Ok(t) => t,
            Err(e) => {
                let e = match &from {
                    Some(f) => e.context(f.clone()),
                    None => e,
                };
                counts.unreadable += 1;
                match json {
                    false => eprintln!("error: {e:#}"),
                    true => records.push(json!({"file": name, "severity": "error", "code": Code::UnreadableFile.as_str(), "message": format!("{e:#}")})),
                }
                continue;
            }
        };
        let ex: Extraction = match what {
            0 => cloudformation::extract(&name, &text, &opts),
            1 => terraform::extract(&name, &text),
            _ => snapshot::extract(&name, &text),
        };
        let mut groups = ex.diagnostics;
        let mut found = Vec::new();
        for p in ex.policies.iter().filter(|p| !p.external()) {
            let c = iac::check(p, true);
            let kind = c.policy.as_ref().map(|l| l.policy.kind.as_str());
            found.push((p, c.policy.is_some(), kind.map(String::from)));
            if !c.diagnostics.diagnostics.is_empty() {
                groups.push(c.diagnostics);
            }
        }
        for g in &groups {
            for d in &g.diagnostics {
                match d.severity {
                    Severity::Error => counts.errors += 1,
                    Severity::Warning => counts.warnings += 1,
                }
                if d.code == Code::NotRead {
                    counts.unread += 1;
                }
            }
        }
        match json {
            false => {
                crate::render::text(&groups);
                for (p, valid, kind) in &found {
                    eprintln!(
                        "note: {}:{}: {} ({}): {} policy{}{}",
                        p.origin.file,
                        p.origin.line,
                        p.origin.address,
                        p.origin.pointer,
                        kind.as_deref()
                            .or(p.kind.map(|k| k.as_str()))
                            .unwrap_or("unknown-kind"),
                        if p.opaque() {
                            format!(
                                ", symbolic ({} unknown values, some bounded rather than modelled)",
                                p.unknowns.len()
                            )
                        } else if p.symbolic() {
                            format!(
                                ", symbolic ({} unknown values modelled as symbolic strings)",
                                p.unknowns.len()
                            )
                        } else {
                            String::new()
                        },
                        if *valid { "" } else { ", not checked: errors" }
                    );
                }
                eprintln!("{name}: {} policies found", found.len());
            }
            true => {
                for g in &groups {
                    records.extend(
                        g.diagnostics
                            .iter()
                            .map(|d| crate::render::json_value(g, d)),
                    );
                }
                for (p, valid, kind) in &found {
                    records.push(policy_record(p, *valid, kind.as_deref()));
                }
            }
        }
    }
    Ok(())
}
