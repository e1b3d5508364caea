//! Key-to-key equality (`"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}`),
//! decided over a shared cell partition without string theory (`logic::keyeq`, issue 12).
//!
//! Each scenario is asked with the syntactic shortcuts off (the encoding answers), cross-checked
//! between Z3 and cvc5 under deterministic resource limits. Witnesses are replayed by the solver
//! crate itself; every "proved" is attacked here with boundary requests: every combination of
//! absent / literal / other values for the keys involved, decided by the evaluator.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The keys compared are tags, not `aws:ResourceAccount`/`aws:PrincipalAccount` (the SageMaker
// shape): those two are derived from the principal and the resource by AWS, and the model does
// not derive them yet (issue 10, docs/encoding.md §8), so a witness choosing them freely is
// refused as a request AWS never sends. The encoding under test is the same for any string key.

mod common;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::logic::ir::Builder;
use tarski_compiler::logic::lower::{conditions, Slots, SymbolicView};
use tarski_compiler::logic::problem::{DomainOptions, Problem, VarKind};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::{Context, Request};
use tarski_solver::{escapes, Options, Verdict};

fn set(conditions: &str) -> PolicySet {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {conditions}}}]}}"#
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
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

const KEYS: [&str; 3] = [
    "aws:ResourceTag/acct",
    "aws:RequestTag/acct",
    "aws:PrincipalTag/t",
];

/// Every request over the three keys with values from `pool` (or absent).
fn boundary(pool: &[&str]) -> Vec<Request> {
    let mut choices: Vec<Option<&str>> = vec![None];
    choices.extend(pool.iter().map(|s| Some(*s)));
    let mut out = Vec::new();
    for a in &choices {
        for b in &choices {
            for c in &choices {
                let mut context = Context::default();
                for (k, v) in KEYS.iter().zip([a, b, c]) {
                    if let Some(v) = v {
                        context.set(k, vec![v.to_string()]);
                    }
                }
                out.push(Request {
                    principal: "arn:aws:iam::111122223333:user/u".into(),
                    action: "s3:GetObject".into(),
                    resource: "*".into(),
                    context,
                    ..Request::default()
                });
            }
        }
    }
    out
}

const POOL: &[&str] = &["111122223333", "a", "zz", "1", "12", "other", ""];

/// `a ⊆ b` must be proved (no witness), and no boundary request may contradict it.
fn proved(a: &PolicySet, b: &PolicySet, what: &str) {
    let r = escapes(a, b, None, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        matches!(r.verdict, Verdict::Proved),
        "{what}: {:?}",
        r.verdict
    );
    for q in boundary(POOL) {
        let (x, y) = (evaluate(a, &q).decision, evaluate(b, &q).decision);
        assert!(
            !(x == Decision::Allow && y != Decision::Allow),
            "{what}: the proof is wrong at {q:?}"
        );
    }
}

/// `a ⊆ b` must have a witness (replayed by the solver crate) and the evaluator must agree.
fn escapes_with_witness(a: &PolicySet, b: &PolicySet, what: &str) -> Request {
    let r = escapes(a, b, None, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let Verdict::Witnesses(ws) = r.verdict else {
        panic!("{what}: expected a witness, got {:?}", r.verdict);
    };
    let w = ws[0].request.clone();
    assert_eq!(evaluate(a, &w).decision, Decision::Allow, "{what}: {w:?}");
    assert_ne!(evaluate(b, &w).decision, Decision::Allow, "{what}: {w:?}");
    w
}

fn value<'a>(r: &'a Request, k: &str) -> Option<&'a str> {
    r.context.get(k).map(|v| v[0].as_str())
}

const SAME_ACCOUNT: &str =
    r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}"}}"#;
const FIXED: &str = r#"{"StringEquals": {"aws:ResourceTag/acct": "111122223333"}}"#;

/// The equality is decided without string theory: both keys are cell variables of one group.
#[test]
fn key_equality_uses_cells_not_strings() {
    let s = set(SAME_ACCOUNT);
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
    assert_eq!(p.key_groups.len(), 1, "{:?}", p.vars);
    assert_eq!(p.key_groups[0].vars.len(), 2);
    assert!(
        p.vars.values().all(|k| matches!(k, VarKind::Cells(_))),
        "{:?}",
        p.vars
    );
}

#[test]
fn equality_against_a_literal() {
    let (same, fixed) = (set(SAME_ACCOUNT), set(FIXED));
    // Equal values other than 111122223333 (or no such key at all on the other side).
    let w = escapes_with_witness(&same, &fixed, "same ⊆ fixed");
    assert_eq!(
        value(&w, "aws:ResourceTag/acct"),
        value(&w, "aws:RequestTag/acct")
    );
    // The resource account fixed, the principal's account different or absent.
    let w = escapes_with_witness(&fixed, &same, "fixed ⊆ same");
    assert_ne!(
        value(&w, "aws:ResourceTag/acct"),
        value(&w, "aws:RequestTag/acct")
    );
    // Both pinned to the literal: equal, so inside `same`.
    let both = set(
        r#"{"StringEquals": {"aws:ResourceTag/acct": "111122223333", "aws:RequestTag/acct": "111122223333"}}"#,
    );
    proved(&both, &same, "both pinned ⊆ same");
    // Pinned on one side and equal: the other is pinned too.
    let pinned_and_same = set(
        r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}", "aws:RequestTag/acct": "111122223333"}}"#,
    );
    proved(&pinned_and_same, &fixed, "pinned and same ⊆ fixed");
    escapes_with_witness(&same, &pinned_and_same, "same ⊆ pinned and same");
}

/// Equality is transitive: r = p and t = p give r = t, and nothing less does.
#[test]
fn equality_is_transitive() {
    let chain = set(
        r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}", "aws:PrincipalTag/t": "${aws:RequestTag/acct}"}}"#,
    );
    let direct = set(r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:PrincipalTag/t}"}}"#);
    proved(&chain, &direct, "chain ⊆ direct");
    let w = escapes_with_witness(&direct, &chain, "direct ⊆ chain");
    assert_eq!(
        value(&w, "aws:ResourceTag/acct"),
        value(&w, "aws:PrincipalTag/t")
    );
}

/// Unequal values in one cell need a cell with two strings: `StringNotEquals` with both keys
/// like `1*` has a witness, with both equal to `1` (a cell of one string) none.
#[test]
fn unequal_values_respect_the_size_of_cells() {
    let like = set(
        r#"{"StringLike": {"aws:ResourceTag/acct": "1*", "aws:RequestTag/acct": "1*"},
            "StringNotEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}"}}"#,
    );
    let nothing = set(r#"{"StringEquals": {"aws:ResourceTag/acct": "never-this-value"}}"#);
    let w = escapes_with_witness(&like, &nothing, "like, unequal");
    let (r, p) = (
        value(&w, "aws:ResourceTag/acct").unwrap(),
        value(&w, "aws:RequestTag/acct").unwrap(),
    );
    assert!(r.starts_with('1') && p.starts_with('1') && r != p, "{w:?}");
    let one = set(
        r#"{"StringEquals": {"aws:ResourceTag/acct": "1", "aws:RequestTag/acct": "1"},
            "StringNotEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}"}}"#,
    );
    proved(&one, &nothing, "one string, unequal");
    // Both equal to the same literal are equal (the singleton cell forces it).
    let pinned =
        set(r#"{"StringEquals": {"aws:ResourceTag/acct": "1", "aws:RequestTag/acct": "1"}}"#);
    let same1 = set(r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:RequestTag/acct}"}}"#);
    proved(&pinned, &same1, "pinned to 1 ⊆ same");
}

/// A default value (`${key, 'zz'}`) stands for the absent key's value.
#[test]
fn defaults_are_the_value_of_an_absent_key() {
    let dflt = set(
        r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:PrincipalTag/t, 'zz'}"},
            "Null": {"aws:PrincipalTag/t": "true"}}"#,
    );
    let zz = set(r#"{"StringEquals": {"aws:ResourceTag/acct": "zz"}}"#);
    proved(&dflt, &zz, "default ⊆ zz");
    escapes_with_witness(&zz, &dflt, "zz ⊆ default");
    let with_tag =
        set(r#"{"StringEquals": {"aws:ResourceTag/acct": "${aws:PrincipalTag/t, 'zz'}"}}"#);
    let w = escapes_with_witness(&with_tag, &zz, "tag or default ⊆ zz");
    assert_eq!(
        value(&w, "aws:ResourceTag/acct"),
        value(&w, "aws:PrincipalTag/t")
    );
}
