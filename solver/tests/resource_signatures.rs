//! A resource whose patterns have too many cells to enumerate (issue 12, the W5 tail): a `*`
//! that ends an ARN segment may cross colons, so `arn:aws:iam::*:role/f1*`,
//! `arn:aws:iam::*:role/f2*`, ... can all match one string (`arn:aws:iam::x:role/f1x:role/f2x`)
//! and n such patterns have 2^n cells. The resource is then decided by one Boolean per pattern,
//! each combination the solver picks checked by `cells::realize` and excluded with a minimal
//! unrealizable core when no string has it (`VarKind::Signatures`, docs/encoding.md §3).
//!
//! Every question is asked with the syntactic shortcuts off, cross-checked between Z3 and cvc5
//! under deterministic resource limits; witnesses are replayed by the solver crate, and every
//! "proved" is attacked with boundary resources (each pattern's own strings and colon-crossing
//! combinations of two), decided by the evaluator.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::logic::ir::{Builder, StrVar};
use tarski_compiler::logic::lower::{conditions, Slots, SymbolicView};
use tarski_compiler::logic::problem::{DomainOptions, Problem, VarKind};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::Request;
use tarski_solver::{escapes, Options, Verdict};

/// Twenty role-name prefixes: 2^20 combinations, past the automaton budget of `check.rs`.
fn fillers() -> Vec<String> {
    (0..20)
        .map(|i| format!("arn:aws:iam::*:role/f{i}*"))
        .collect()
}

/// An identity policy: `iam:PassRole` allowed on the fillers and on `allow`, denied on
/// everything outside `not_deny` (when given).
fn set(allow: &[&str], not_deny: Option<&[&str]>) -> PolicySet {
    let mut res: Vec<String> = fillers();
    res.extend(allow.iter().map(|s| s.to_string()));
    let mut statements = vec![format!(
        r#"{{"Effect": "Allow", "Action": "iam:PassRole", "Resource": {}}}"#,
        json_list(&res)
    )];
    if let Some(keep) = not_deny {
        let mut keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        keep.extend(fillers());
        statements.push(format!(
            r#"{{"Effect": "Deny", "Action": "iam:PassRole", "NotResource": {}}}"#,
            json_list(&keep)
        ));
    }
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

/// A JSON list of strings without characters to escape.
fn json_list(xs: &[String]) -> String {
    let quoted: Vec<String> = xs.iter().map(|x| format!("\"{x}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn opts() -> Options {
    common::require_cvc5();
    Options {
        syntactic: false,
        cross_check: true,
        resources: Some(common::common_limits()),
        ..Options::default()
    }
}

/// Boundary resources: for each name in `names` (and a filler), its own role ARN, and every
/// two of them joined by a colon-crossing account wildcard.
fn boundary(names: &[&str]) -> Vec<Request> {
    let mut parts: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    parts.extend(["f1x", "f19", "x", ""].map(String::from));
    let mut resources: Vec<String> = vec!["*".into(), "arn:aws:iam::1:role/".into()];
    for p in &parts {
        resources.push(format!("arn:aws:iam::1:role/{p}"));
        for q in &parts {
            resources.push(format!("arn:aws:iam::1:role/{p}:role/{q}"));
            resources.push(format!("arn:aws:iam::1:role/{p}x:role/{q}x"));
        }
    }
    resources
        .into_iter()
        .map(|resource| Request {
            principal: "arn:aws:iam::111122223333:user/u".into(),
            action: "iam:PassRole".into(),
            resource,
            ..Request::default()
        })
        .collect()
}

/// `a ⊆ b` must be proved, and no boundary request may contradict it.
fn proved(a: &PolicySet, b: &PolicySet, names: &[&str], what: &str) {
    let r = escapes(a, b, None, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        matches!(r.verdict, Verdict::Proved),
        "{what}: {:?}",
        r.verdict
    );
    for q in boundary(names) {
        let (x, y) = (evaluate(a, &q).decision, evaluate(b, &q).decision);
        assert!(
            !(x == Decision::Allow && y != Decision::Allow),
            "{what}: the proof is wrong at {q:?}"
        );
    }
}

/// `a ⊆ b` must have a witness (replayed by the solver crate); the evaluator must agree.
fn witness(a: &PolicySet, b: &PolicySet, what: &str) -> Request {
    let r = escapes(a, b, None, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let Verdict::Witnesses(ws) = r.verdict else {
        panic!("{what}: expected a witness, got {:?}", r.verdict);
    };
    let w = ws[0].request.clone();
    assert_eq!(evaluate(a, &w).decision, Decision::Allow, "{what}: {w:?}");
    assert_ne!(evaluate(b, &w).decision, Decision::Allow, "{what}: {w:?}");
    w
}

/// The fillers pass the automaton budget: the resource is a `Signatures` variable, not a
/// string (the string-theory fallback this replaces timed out on the SageMaker policies).
#[test]
fn too_many_cells_give_signatures_not_strings() {
    let s = set(&["arn:aws:iam::*:role/A*"], None);
    let builder = Builder::default();
    let slots = Slots::for_conditions(conditions(&s));
    let view = SymbolicView {
        builder: &builder,
        slots: &slots,
    };
    let goal = view.lower_set(&s).allowed;
    let dopts = DomainOptions {
        max_states: 50_000,
        ..DomainOptions::default()
    };
    let p = Problem::new(builder, goal, slots, &[], &dopts);
    assert!(
        matches!(
            p.vars.get(&StrVar::Resource),
            Some(VarKind::Signatures { .. })
        ),
        "{:?}",
        p.vars.get(&StrVar::Resource)
    );
}

/// Containment between patterns is found by refinement: "in `role/Ab*` but not in `role/A*`"
/// is a combination the free Booleans allow and no string realizes.
#[test]
fn containment_is_proved_through_refinement() {
    let narrow = set(&["arn:aws:iam::*:role/Ab*"], None);
    let wide = set(&["arn:aws:iam::*:role/A*"], None);
    proved(&narrow, &wide, &["A", "Ab", "Abc"], "narrow ⊆ wide");
    let w = witness(&wide, &narrow, "wide ⊆ narrow");
    assert!(!w.resource.contains("role/Ab"), "{w:?}");
}

/// A resource in `role/A*` and `role/B*` at once exists (the account `*` crosses colons): an
/// encoding with colon-free stars would prove this wrongly.
#[test]
fn colon_crossing_intersections_are_witnessed() {
    let both = set(
        &["arn:aws:iam::*:role/A*"],
        Some(&["arn:aws:iam::*:role/B*"]),
    );
    let none = set(&[], None);
    let w = witness(&both, &none, "A* and B* ⊆ fillers");
    assert!(
        w.resource.contains(":role/A") && w.resource.contains(":role/B"),
        "{w:?}"
    );
    // Literal roles are suffixes of the resource: two different ones never meet.
    let lits = set(&["arn:aws:iam::*:role/A"], Some(&["arn:aws:iam::*:role/B"]));
    proved(&lits, &none, &["A", "B"], "A and B (literals) ⊆ fillers");
}

// ---------------------------------------------------------------------------------------------
// Template atoms as fresh Booleans first (`relax::abstract_templates`, issue 12)

fn team_set(statements: &[(&str, &str)]) -> PolicySet {
    let sts: Vec<String> = statements
        .iter()
        .map(|(action, resource)| {
            format!(r#"{{"Effect": "Allow", "Action": "{action}", "Resource": "{resource}"}}"#)
        })
        .collect();
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        sts.join(",")
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

/// Requests over role ARNs built from tag values (absent, empty, plain, with `/` and `:`).
fn team_boundary(actions: &[&str]) -> Vec<Request> {
    let values = [None, Some(""), Some("t"), Some("t/output"), Some("a:b")];
    let tails = ["", "/output", "/x", "-x", "/output/x"];
    let mut out = Vec::new();
    for v in values {
        for w in ["t", "", "a:b", "u"] {
            for tail in tails {
                for action in actions {
                    let mut context = tarski_compiler::request::Context::default();
                    if let Some(v) = v {
                        context.set("aws:PrincipalTag/team", vec![v.to_string()]);
                    }
                    out.push(Request {
                        principal: "arn:aws:iam::111122223333:user/u".into(),
                        action: action.to_string(),
                        resource: format!("arn:aws:iam::111122223333:role/{w}{tail}"),
                        context,
                        ..Request::default()
                    });
                }
            }
        }
    }
    out
}

fn attack(a: &PolicySet, b: &PolicySet, actions: &[&str], what: &str) {
    for q in team_boundary(actions) {
        let (x, y) = (evaluate(a, &q).decision, evaluate(b, &q).decision);
        assert!(
            !(x == Decision::Allow && y != Decision::Allow),
            "{what}: the proof is wrong at {q:?}"
        );
    }
}

/// A template shared by both sides is one Boolean on both: the unchanged statement cancels,
/// and the difference elsewhere is found; where the answer depends on what the templates
/// match, the exact encoding decides (a candidate of the abstraction that does not replay is
/// never an answer).
#[test]
fn templates_shared_by_both_sides_and_templates_that_differ() {
    // A literal account: a `*` before a variable is encoded over-approximately where it must
    // not match (docs/encoding.md §6), which would make the last question unknown.
    let role = "arn:aws:iam::111122223333:role/${aws:PrincipalTag/team}";
    let star = format!("{role}/*");
    let output = format!("{role}/output");
    let base = team_set(&[("iam:PassRole", &star)]);
    let more = team_set(&[("iam:PassRole", &star), ("iam:GetRole", &output)]);
    let actions = ["iam:PassRole", "iam:GetRole"];
    let r = escapes(&base, &more, None, &opts()).unwrap();
    assert!(matches!(r.verdict, Verdict::Proved), "{:?}", r.verdict);
    attack(&base, &more, &actions, "base ⊆ more");
    let w = witness(&more, &base, "more ⊆ base");
    assert_eq!(w.action, "iam:GetRole", "{w:?}");
    // `${team}/output` ⊆ `${team}/*`, and not the other way round.
    let narrow = team_set(&[("iam:PassRole", &output)]);
    let r = escapes(&narrow, &base, None, &opts()).unwrap();
    assert!(matches!(r.verdict, Verdict::Proved), "{:?}", r.verdict);
    attack(&narrow, &base, &actions, "output ⊆ star");
    let w = witness(&base, &narrow, "star ⊆ output");
    assert!(!w.resource.ends_with("/output"), "{w:?}");
}
