//! The "straightforward encoding" baseline of the benchmark (src/bin/bench.rs, workload
//! `baseline`, docs/performance.md): action patterns as Z3 regular expressions, with none of
//! Tarski's semantics (no resources, conditions, case rules or cells). It answers a much weaker
//! question than `escapes` and exists only to measure against; nothing else calls it. It lives
//! here because only this crate knows Z3.

use std::fmt::Write as _;
use std::time::Duration;

fn z3_lit(s: &str) -> z3::ast::Regexp {
    let mut t = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.: ".contains(c) {
            t.push(c);
        } else {
            let _ = write!(t, "\\u{{{:x}}}", c as u32);
        }
    }
    z3::ast::Regexp::literal(&t)
}

/// `*` → `.*`, `?` → any character, the rest literal.
fn pattern_regex(p: &str) -> z3::ast::Regexp {
    use z3::ast::Regexp;
    let mut parts = Vec::new();
    let mut lit = String::new();
    for c in p.chars() {
        if c == '*' || c == '?' {
            if !lit.is_empty() {
                parts.push(z3_lit(&lit));
                lit.clear();
            }
            parts.push(if c == '*' {
                Regexp::full()
            } else {
                Regexp::allchar()
            });
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        parts.push(z3_lit(&lit));
    }
    match parts.len() {
        0 => z3_lit(""),
        1 => parts.pop().unwrap_or_else(|| z3_lit("")),
        _ => Regexp::concat(&parts),
    }
}

fn union(ps: &[String]) -> z3::ast::Regexp {
    let rs: Vec<z3::ast::Regexp> = ps.iter().map(|p| pattern_regex(p)).collect();
    match rs.len() {
        0 => z3::ast::Regexp::empty(),
        1 => rs[0].clone(),
        _ => z3::ast::Regexp::union(&rs),
    }
}

/// The straightforward encoding: is there an `action ∈ ⋃A ∧ action ∉ ⋃B`? `Some(true)`: sat,
/// `Some(false)`: unsat, `None`: Z3 gave up within `timeout`.
pub fn action_escapes(a: &[String], b: &[String], timeout: Duration) -> Option<bool> {
    let solver = z3::Solver::new();
    let mut params = z3::Params::new();
    params.set_u32(
        "timeout",
        u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
    );
    solver.set_params(&params);
    let action = z3::ast::String::new_const("action");
    solver.assert(action.regex_matches(&union(a)));
    solver.assert(action.regex_matches(&union(b)).not());
    match solver.check() {
        z3::SatResult::Sat => Some(true),
        z3::SatResult::Unsat => Some(false),
        z3::SatResult::Unknown => None,
    }
}
