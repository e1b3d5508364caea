//! `tarski can`, `tarski subset`, `tarski equiv`: questions about all requests, answered by
//! the solver with a proof or a replayed witness.

use std::path::Path;

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::{parse_expr, Expr};
use tarski_solver::{Options, ReplayMismatch, Report, SolverChoice, Verdict, Witness};

use crate::cli::{CanArgs, CompareArgs, ConstraintArgs, Format, SolveArgs, SolverArg};
use crate::exit;

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The constraint flags as one expression (`--action` etc. are sugar for `action like ...`).
fn constraint(c: &ConstraintArgs) -> Result<Option<Expr>> {
    let mut parts = Vec::new();
    if let Some(a) = &c.action {
        parts.push(format!("action like {}", quote(a)));
    }
    if let Some(r) = &c.resource {
        parts.push(format!("resource like {}", quote(r)));
    }
    if let Some(p) = &c.principal {
        parts.push(format!("principal == {}", quote(p)));
    }
    if let Some(w) = &c.where_ {
        let e = parse_expr(w).map_err(|e| {
            let caret = format!("{}^", " ".repeat(e.span.start as usize));
            anyhow!("--where: {}\n  {w}\n  {caret}", e.message)
        })?;
        // Parse each piece on its own for its error; join after.
        let _ = e;
        parts.push(format!("({w})"));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let all = parts.join(" and ");
    parse_expr(&all)
        .map(Some)
        .map_err(|e| anyhow!("invalid constraint `{all}`: {e}"))
}

fn options(s: &SolveArgs) -> Result<Options> {
    if s.cross_check || s.solver == SolverArg::Cvc5 {
        tarski_solver::backend::cvc5_path()?;
    }
    if let Some(dir) = &s.emit_smt2 {
        std::fs::create_dir_all(dir).map_err(|e| anyhow!("--emit-smt2 {}: {e}", dir.display()))?;
    }
    Ok(Options {
        timeout: crate::commands::timeout(s.timeout)?,
        witnesses: s.witnesses.max(1),
        known_actions: s.known_actions,
        syntactic: !s.no_fast_path,
        solver: match s.solver {
            SolverArg::Z3 => SolverChoice::Z3,
            SolverArg::Cvc5 => SolverChoice::Cvc5,
            SolverArg::Portfolio => SolverChoice::Portfolio,
        },
        cross_check: s.cross_check,
        resources: crate::commands::rlimit(s.rlimit.as_deref())?,
        emit_smt2: s.emit_smt2.is_some(),
    })
}

/// `--emit-smt2 DIR`: the report's solver problems as DIR/query-N.smt2 (N counts on across
/// the questions of one command).
fn emit_smt2(r: &Report, s: &SolveArgs) -> Result<()> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(dir) = &s.emit_smt2 else {
        return Ok(());
    };
    for text in &r.stats.smt2 {
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let path = dir.join(format!("query-{n}.smt2"));
        std::fs::write(&path, text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

use crate::run::witness_json;

fn print_witness(w: &Witness, n: usize) {
    println!("  witness {n}:");
    // Witness values come from policy text: never print them raw (src/render.rs, `clean`).
    use crate::render::clean;
    println!("    principal  {}", clean(&w.request.principal));
    println!("    action     {}", clean(&w.request.action));
    println!("    resource   {}", clean(&w.request.resource));
    if let Some(a) = &w.request.resource_account {
        println!("    (resource in account {a})");
    }
    for (k, v) in w.request.context.iter() {
        println!(
            "    context    {} = {}",
            clean(k),
            if v.len() == 1 {
                clean(&v[0]).into_owned()
            } else {
                format!("{v:?}")
            }
        );
    }
    if w.request.context.iter().next().is_none() {
        println!("    context    (none needed)");
    }
    for note in &w.notes {
        println!("    note: {}", clean(note));
    }
}

fn stats_json(r: &Report) -> Value {
    json!({
        "atoms": r.stats.atoms,
        "cells": r.stats.cells,
        "goal_size": r.stats.goal_size,
        "used_z3": r.stats.used_z3,
        "backend": r.stats.backend,
        "elapsed_ms": r.stats.elapsed.as_secs_f64() * 1000.0,
    })
}

fn print_stats(r: &Report, on: bool) {
    if on {
        eprintln!(
            "stats: {} atoms, {} cells, goal size {}, {}, {:.1} ms (prepare {:.1}, search {:.1}, replay {:.1})",
            r.stats.atoms,
            r.stats.cells,
            r.stats.goal_size,
            match (r.stats.used_z3, r.stats.backend) {
                (true, Some("cvc5")) => "answered by cvc5",
                (true, _) => "Z3 used",
                (false, _) => "decided without Z3",
            },
            r.stats.elapsed.as_secs_f64() * 1000.0,
            r.stats.prepare.as_secs_f64() * 1000.0,
            r.stats.search.as_secs_f64() * 1000.0,
            r.stats.replay.as_secs_f64() * 1000.0
        );
    }
}

fn mismatch(m: &ReplayMismatch) -> u8 {
    eprintln!("error: {m}");
    eprintln!("please report this bug with the policies and the command line");
    exit::INTERNAL
}

/// The answer that holds for every deployment of a set with bounded policies (docs/iac.md,
/// "Bounds"): a witness the narrowed set lets through, or a proof about the widened one.
fn depends(wide: &str) -> Verdict {
    Verdict::Unknown(format!(
        "depends on values known only at deploy time: {wide} with the widest values, not with \
         the narrowest (docs/iac.md, Bounds)"
    ))
}

/// `can`, for every deployed value of bounded policies.
fn can(
    set: &PolicySet,
    c: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Box<tarski_solver::ReplayMismatch>> {
    let Some(under) = crate::reference::under_set(set) else {
        return tarski_solver::can(set, c, opts);
    };
    let narrow = tarski_solver::can(&under, c, opts)?;
    if matches!(narrow.verdict, Verdict::Witnesses(_)) {
        return Ok(narrow);
    }
    let mut wide = tarski_solver::can(set, c, opts)?;
    if let Verdict::Witnesses(_) = wide.verdict {
        wide.verdict = match narrow.verdict {
            Verdict::Unknown(why) => Verdict::Unknown(why),
            _ => depends("reachable"),
        };
    }
    Ok(wide)
}

/// `escapes(a, b)`, for every deployed value: contained when the widened `a` is within the
/// narrowed `b`; a witness when the narrowed `a` escapes the widened `b`.
fn escapes(
    a: &PolicySet,
    b: &PolicySet,
    c: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Box<tarski_solver::ReplayMismatch>> {
    let (au, bu) = (
        crate::reference::under_set(a),
        crate::reference::under_set(b),
    );
    if au.is_none() && bu.is_none() {
        return tarski_solver::escapes(a, b, c, opts);
    }
    let (au, bu) = (au.as_ref().unwrap_or(a), bu.as_ref().unwrap_or(b));
    let proof = tarski_solver::escapes(a, bu, c, opts)?;
    if matches!(proof.verdict, Verdict::None) {
        return Ok(proof);
    }
    let mut witness = tarski_solver::escapes(au, b, c, opts)?;
    if matches!(witness.verdict, Verdict::None) {
        witness.verdict = match proof.verdict {
            Verdict::Unknown(why) => Verdict::Unknown(why),
            _ => depends("escapes"),
        };
    }
    // (A witness query that is itself unknown keeps its own reason.)
    Ok(witness)
}

pub fn run_can(args: &CanArgs) -> Result<u8> {
    let set = crate::iac::policy_set(&args.set, &args.principal_of)?;
    let c = constraint(&args.constraint)?;
    let opts = options(&args.solve)?;
    let report = match can(&set, c.as_ref(), &opts) {
        Ok(r) => r,
        Err(m) => return Ok(mismatch(&m)),
    };
    print_stats(&report, args.solve.stats);
    emit_smt2(&report, &args.solve)?;
    let code = match &report.verdict {
        Verdict::Witnesses(_) => exit::OK,
        Verdict::None => exit::NO,
        Verdict::Unknown(_) => exit::UNKNOWN,
    };
    match args.solve.format {
        Format::Json => {
            let (result, ws, reason) = verdict_parts(&report.verdict, "reachable", "unreachable");
            println!(
                "{}",
                json!({"command": "can", "result": result, "witnesses": ws, "reason": reason, "stats": stats_json(&report)})
            );
        }
        Format::Text => match &report.verdict {
            Verdict::Witnesses(ws) => {
                println!(
                    "reachable: some request is allowed{}",
                    if c.is_some() {
                        " within the constraint"
                    } else {
                        ""
                    }
                );
                for (i, w) in ws.iter().enumerate() {
                    print_witness(w, i + 1);
                }
                println!("  (each witness was replayed through the evaluator: Allow)");
            }
            Verdict::None => println!(
                "unreachable: proved that no request{} is allowed",
                if c.is_some() {
                    " within the constraint"
                } else {
                    ""
                }
            ),
            Verdict::Unknown(why) => println!("unknown: {why}"),
        },
    }
    Ok(code)
}

fn verdict_parts(v: &Verdict, yes: &str, no: &str) -> (String, Vec<Value>, Option<String>) {
    match v {
        Verdict::Witnesses(ws) => (yes.to_string(), ws.iter().map(witness_json).collect(), None),
        Verdict::None => (no.to_string(), Vec::new(), None),
        Verdict::Unknown(why) => ("unknown".to_string(), Vec::new(), Some(why.clone())),
    }
}

/// A policy file or a policy-set manifest.
fn set_of(path: &Path, kind: PolicyKind) -> Result<PolicySet> {
    let reference = crate::reference::split(path).is_some();
    let text = if reference {
        String::new()
    } else {
        crate::load::read_text(path)?
    };
    let is_manifest = !reference && path.extension().is_some_and(|e| e == "toml")
        || serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|o| {
                !o.is_empty()
                    && o.keys().all(|k| {
                        [
                            "identity", "boundary", "scps", "rcps", "session", "resource",
                        ]
                        .contains(&k.as_str())
                    })
            });
    if is_manifest {
        return crate::load::policy_set(&crate::cli::SetArgs {
            identity: Vec::new(),
            manifest: Some(path.to_path_buf()),
            boundary: None,
            scps: Vec::new(),
            rcps: Vec::new(),
            session_policy: None,
            resource_policy: None,
        });
    }
    let policies = crate::load::policies(path, kind)?;
    let mut set = PolicySet::default();
    match kind {
        PolicyKind::Resource | PolicyKind::Trust => {
            set.resource = policies.into_iter().next();
        }
        PolicyKind::Scp => set.scps.push(policies),
        PolicyKind::Rcp => set.rcps.push(policies),
        _ => set.identity = policies,
    }
    Ok(set)
}

fn compare_sets(args: &CompareArgs) -> Result<(PolicySet, PolicySet, Option<Expr>, Options)> {
    let kind = args.kind.map_or(PolicyKind::Identity, |k| k.kind());
    Ok((
        set_of(&args.a, kind)?,
        set_of(&args.b, kind)?,
        constraint(&args.constraint)?,
        options(&args.solve)?,
    ))
}

pub fn run_subset(args: &CompareArgs) -> Result<u8> {
    let (a, b, c, opts) = compare_sets(args)?;
    let report = match escapes(&a, &b, c.as_ref(), &opts) {
        Ok(r) => r,
        Err(m) => return Ok(mismatch(&m)),
    };
    print_stats(&report, args.solve.stats);
    emit_smt2(&report, &args.solve)?;
    let (an, bn) = (args.a.display().to_string(), args.b.display().to_string());
    match args.solve.format {
        Format::Json => {
            let (result, ws, reason) = verdict_parts(&report.verdict, "does-not-hold", "holds");
            println!(
                "{}",
                json!({"command": "subset", "a": an, "b": bn, "result": result, "witnesses": ws, "reason": reason, "stats": stats_json(&report)})
            );
        }
        Format::Text => match &report.verdict {
            Verdict::None => println!("holds: everything {an} allows, {bn} allows too (proved)"),
            Verdict::Witnesses(ws) => {
                println!("does not hold: {an} allows requests that {bn} does not");
                for (i, w) in ws.iter().enumerate() {
                    print_witness(w, i + 1);
                }
                println!("  (each witness was replayed through the evaluator: {an} allows it, {bn} does not)");
            }
            Verdict::Unknown(why) => println!("unknown: {why}"),
        },
    }
    Ok(match report.verdict {
        Verdict::None => exit::OK,
        Verdict::Witnesses(_) => exit::NO,
        Verdict::Unknown(_) => exit::UNKNOWN,
    })
}

pub fn run_equiv(args: &CompareArgs) -> Result<u8> {
    let (a, b, c, opts) = compare_sets(args)?;
    let (an, bn) = (args.a.display().to_string(), args.b.display().to_string());
    let ab = match escapes(&a, &b, c.as_ref(), &opts) {
        Ok(r) => r,
        Err(m) => return Ok(mismatch(&m)),
    };
    let ba = match escapes(&b, &a, c.as_ref(), &opts) {
        Ok(r) => r,
        Err(m) => return Ok(mismatch(&m)),
    };
    print_stats(&ab, args.solve.stats);
    print_stats(&ba, args.solve.stats);
    emit_smt2(&ab, &args.solve)?;
    emit_smt2(&ba, &args.solve)?;
    let unknown =
        matches!(ab.verdict, Verdict::Unknown(_)) || matches!(ba.verdict, Verdict::Unknown(_));
    let differ =
        matches!(ab.verdict, Verdict::Witnesses(_)) || matches!(ba.verdict, Verdict::Witnesses(_));
    match args.solve.format {
        Format::Json => {
            let side = |r: &Report| {
                let (result, ws, reason) = verdict_parts(&r.verdict, "escapes", "contained");
                json!({"result": result, "witnesses": ws, "reason": reason, "stats": stats_json(r)})
            };
            let result = if differ {
                "different"
            } else if unknown {
                "unknown"
            } else {
                "equivalent"
            };
            println!(
                "{}",
                json!({"command": "equiv", "a": an, "b": bn, "result": result, "a_not_b": side(&ab), "b_not_a": side(&ba)})
            );
        }
        Format::Text => {
            if !differ && !unknown {
                println!("equivalent: {an} and {bn} allow exactly the same requests (proved)");
            } else {
                println!("{}", if differ { "not equivalent" } else { "unknown" });
                for (r, x, y) in [(&ab, &an, &bn), (&ba, &bn, &an)] {
                    match &r.verdict {
                        Verdict::None => {
                            println!("  everything {x} allows, {y} allows too (proved)")
                        }
                        Verdict::Witnesses(ws) => {
                            println!("  {x} allows requests that {y} does not:");
                            for (i, w) in ws.iter().enumerate() {
                                print_witness(w, i + 1);
                            }
                        }
                        Verdict::Unknown(why) => println!("  {x} ⊆ {y}: unknown: {why}"),
                    }
                }
            }
        }
    }
    Ok(if differ {
        exit::NO
    } else if unknown {
        exit::UNKNOWN
    } else {
        exit::OK
    })
}
