//! `tarski can`, `tarski subset`, `tarski equiv`: questions about all requests, answered by
//! the solver with a proof or a replayed witness.

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use tarski::{Answer, Engine, PolicySet, Report, SolverChoice, Witness};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::query::{parse_expr, Expr};

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

fn engine(s: &SolveArgs) -> Result<Engine> {
    let mut b = Engine::builder()
        .timeout_secs(s.timeout)
        .witnesses(s.witnesses)
        .known_actions(s.known_actions)
        .syntactic(!s.no_fast_path)
        .solver(match s.solver {
            SolverArg::Z3 => SolverChoice::Z3,
            SolverArg::Cvc5 => SolverChoice::Cvc5,
            SolverArg::Portfolio => SolverChoice::Portfolio,
        })
        .cross_check(s.cross_check)
        .emit_smt2(s.emit_smt2.is_some())
        // `main` bounds the whole question by --timeout (and answers in the command's format).
        .whole_question_limit(false);
    if let Some((z3, cvc5)) = crate::commands::rlimit(s.rlimit.as_deref())? {
        b = b.resource_limit(z3, cvc5);
    }
    let engine = b.build()?;
    // The directory only once the options hold (a missing cvc5 or a bad --timeout leaves none).
    if let Some(dir) = &s.emit_smt2 {
        std::fs::create_dir_all(dir).map_err(|e| anyhow!("--emit-smt2 {}: {e}", dir.display()))?;
    }
    Ok(engine)
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

/// The engine's error as an exit code: a bug in Tarski (a witness the evaluator does not
/// confirm, two solvers contradicting each other) says so and ends with 4; bad input is the
/// caller's error (exit 3).
fn failed(e: tarski::Error) -> Result<u8> {
    match e {
        tarski::Error::Internal(m) => {
            eprintln!("error: {m}");
            eprintln!("please report this bug with the policies and the command line");
            Ok(exit::INTERNAL)
        }
        tarski::Error::Crashed(m) => {
            eprintln!("error: {m}");
            Ok(exit::INTERNAL)
        }
        other => Err(other.into()),
    }
}

pub fn run_can(args: &CanArgs) -> Result<u8> {
    let set = crate::iac::policy_set(&args.set.files(), &args.principal_of)?;
    let c = constraint(&args.constraint)?;
    // `--principal-of`: requests made by that principal (sessions of the role), unless
    // `--principal` names the caller itself (docs/iac.md, pinned subjects).
    let c = match (c, args.constraint.principal.is_none()) {
        (c, true) => match (c, crate::iac::principal_pin(&args.principal_of, &set)?) {
            (Some(c), Some(p)) => Some(Expr::And(vec![c, p])),
            (c, p) => c.or(p),
        },
        (c, false) => c,
    };
    let engine = engine(&args.solve)?;
    let report = match engine.can(&set, c.as_ref()) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    print_stats(&report, args.solve.stats);
    emit_smt2(&report, &args.solve)?;
    let code = match &report.answer {
        Answer::Witnesses(_) => exit::OK,
        Answer::Proved => exit::NO,
        Answer::Unknown(_) => exit::UNKNOWN,
    };
    match args.solve.format {
        Format::Json => {
            let (result, ws, reason) = answer_parts(&report.answer, "reachable", "unreachable");
            println!(
                "{}",
                json!({"command": "can", "result": result, "witnesses": ws, "reason": reason, "stats": stats_json(&report)})
            );
        }
        Format::Text => match &report.answer {
            Answer::Witnesses(ws) => {
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
            Answer::Proved => println!(
                "unreachable: proved that no request{} is allowed",
                if c.is_some() {
                    " within the constraint"
                } else {
                    ""
                }
            ),
            Answer::Unknown(why) => println!("unknown: {why}"),
        },
    }
    Ok(code)
}

fn answer_parts(v: &Answer, yes: &str, no: &str) -> (String, Vec<Value>, Option<String>) {
    match v {
        Answer::Witnesses(ws) => (yes.to_string(), ws.iter().map(witness_json).collect(), None),
        Answer::Proved => (no.to_string(), Vec::new(), None),
        Answer::Unknown(why) => ("unknown".to_string(), Vec::new(), Some(why.to_string())),
    }
}

fn compare_sets(args: &CompareArgs) -> Result<(PolicySet, PolicySet, Option<Expr>, Engine)> {
    let kind = args.kind.map_or(PolicyKind::Identity, |k| k.kind());
    Ok((
        crate::load::set_of(&args.a, kind)?,
        crate::load::set_of(&args.b, kind)?,
        constraint(&args.constraint)?,
        engine(&args.solve)?,
    ))
}

pub fn run_subset(args: &CompareArgs) -> Result<u8> {
    let (a, b, c, engine) = compare_sets(args)?;
    let report = match engine.subset(&a, &b, c.as_ref()) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    print_stats(&report, args.solve.stats);
    emit_smt2(&report, &args.solve)?;
    let (an, bn) = (args.a.display().to_string(), args.b.display().to_string());
    match args.solve.format {
        Format::Json => {
            let (result, ws, reason) = answer_parts(&report.answer, "does-not-hold", "holds");
            println!(
                "{}",
                json!({"command": "subset", "a": an, "b": bn, "result": result, "witnesses": ws, "reason": reason, "stats": stats_json(&report)})
            );
        }
        Format::Text => match &report.answer {
            Answer::Proved => println!("holds: everything {an} allows, {bn} allows too (proved)"),
            Answer::Witnesses(ws) => {
                println!("does not hold: {an} allows requests that {bn} does not");
                for (i, w) in ws.iter().enumerate() {
                    print_witness(w, i + 1);
                }
                println!("  (each witness was replayed through the evaluator: {an} allows it, {bn} does not)");
            }
            Answer::Unknown(why) => println!("unknown: {why}"),
        },
    }
    Ok(match report.answer {
        Answer::Proved => exit::OK,
        Answer::Witnesses(_) => exit::NO,
        Answer::Unknown(_) => exit::UNKNOWN,
    })
}

pub fn run_equiv(args: &CompareArgs) -> Result<u8> {
    let (a, b, c, engine) = compare_sets(args)?;
    let (an, bn) = (args.a.display().to_string(), args.b.display().to_string());
    let eq = match engine.equiv(&a, &b, c.as_ref()) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let (differ, unknown) = (eq.differ(), !eq.differ() && !eq.proved());
    let (ab, ba) = (eq.a_not_b, eq.b_not_a);
    print_stats(&ab, args.solve.stats);
    print_stats(&ba, args.solve.stats);
    emit_smt2(&ab, &args.solve)?;
    emit_smt2(&ba, &args.solve)?;
    match args.solve.format {
        Format::Json => {
            let side = |r: &Report| {
                let (result, ws, reason) = answer_parts(&r.answer, "escapes", "contained");
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
                    match &r.answer {
                        Answer::Proved => {
                            println!("  everything {x} allows, {y} allows too (proved)")
                        }
                        Answer::Witnesses(ws) => {
                            println!("  {x} allows requests that {y} does not:");
                            for (i, w) in ws.iter().enumerate() {
                                print_witness(w, i + 1);
                            }
                        }
                        Answer::Unknown(why) => println!("  {x} ⊆ {y}: unknown: {why}"),
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
