//! Every proof survives attack (issue 11).
//!
//! 1. **Regressions**: the minimal inputs of the issue's findings, asked of the solver.
//! 2. **The proof-attack harness** (`attack_slice`, `attack_long`): generated policy sets and
//!    pairs are asked `can` / `subset` / `equiv`; every *proved* answer is attacked with boundary
//!    requests mined from both sides' literals and decided by the evaluator. An allowed escape
//!    fails the test and prints the minimal pair.
//!
//! Determinism: fixed seeds, and Z3 runs under a resource limit (`rlimit`), not a clock; the
//! wall-clock timeout given to the solver is only a safety net far above what the resource
//! limit allows. Unknown answers are counted and printed, never failures: they are not proofs.

use std::time::Duration;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::Request;
use tarski_solver::{can, escapes, Options, Report, Verdict};

/// Z3's deterministic resource limit per check (a count of internal steps, not time).
const RLIMIT: &str = "4000000";

fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| z3::set_global_param("rlimit", RLIMIT));
}

fn opts() -> Options {
    init();
    Options {
        // A safety net only: the resource limit answers first on any machine.
        timeout: Duration::from_secs(600),
        witnesses: 1,
        known_actions: false,
        syntactic: true,
    }
}

fn policy_set(policy: &str) -> PolicySet {
    let l = load("identity.json", policy, Some(PolicyKind::Identity), false);
    assert!(!l.has_errors(), "{policy}: {:?}", l.first_error());
    PolicySet {
        identity: l.policies,
        ..PolicySet::default()
    }
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}

/// `Allow s3:GetObject on *` under one condition block.
fn allow_if(condition: &str) -> String {
    doc(&format!(
        r#"{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {condition}}}"#
    ))
}

fn ask_can(policy: &str) -> Report {
    let set = policy_set(policy);
    can(&set, None, &opts()).unwrap_or_else(|m| panic!("{m}"))
}

fn ask_subset(a: &str, b: &str) -> Report {
    let (a, b) = (policy_set(a), policy_set(b));
    escapes(&a, &b, None, &opts()).unwrap_or_else(|m| panic!("{m}"))
}

fn witness(r: &Report) -> &Request {
    match &r.verdict {
        Verdict::Witnesses(ws) => &ws[0].request,
        v => panic!("expected a witness, got {v:?}"),
    }
}

fn is_proved(r: &Report) -> bool {
    r.verdict == Verdict::None
}

fn request(context: &[(&str, &str)]) -> Request {
    let mut req = Request {
        principal: "arn:aws:iam::111122223333:user/alice".into(),
        action: "s3:GetObject".into(),
        resource: "arn:aws:s3:::amzn-s3-demo-bucket/key".into(),
        ..Request::default()
    };
    for (k, v) in context {
        req.context.push(k, *v);
    }
    req
}

// ---------------------------------------------------------------------------------------------
// Regressions: the findings of issue 11, each with its minimal input.

/// Finding 1: `StringEqualsIgnoreCase` with a policy variable was compared case-sensitively,
/// so `can` "proved" unreachable what `eval` allows (username `alice`, tag `ALICE`).
#[test]
fn finding_1_ignore_case_with_a_variable_is_never_proved() {
    let p = allow_if(
        r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "${aws:username}"},
            "StringNotEquals": {"aws:PrincipalTag/team": "${aws:username}"}}"#,
    );
    let set = policy_set(&p);
    let req = request(&[
        ("aws:username", "alice"),
        ("aws:PrincipalTag/team", "ALICE"),
    ]);
    assert_eq!(evaluate(&set, &req).decision, Decision::Allow);
    let r = ask_can(&p);
    assert!(
        !is_proved(&r),
        "proved unreachable, but eval allows {req:?}"
    );
    // The case-insensitive policy inside its case-sensitive twin: not a proof either.
    let twin = allow_if(r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}"#);
    let folded =
        allow_if(r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "${aws:username}"}}"#);
    assert!(!is_proved(&ask_subset(&folded, &twin)));
    // The ABAC idiom: a Deny unless the owner tag is the user, ignoring case.
    let abac = doc(
        r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
           {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringNotEqualsIgnoreCase": {"aws:ResourceTag/owner": "${aws:username}"}}}"#,
    );
    let strict = doc(
        r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}}"#,
    );
    let req = request(&[
        ("aws:username", "alice"),
        ("aws:ResourceTag/owner", "Alice"),
    ]);
    assert_eq!(evaluate(&policy_set(&abac), &req).decision, Decision::Allow);
    assert_eq!(
        evaluate(&policy_set(&strict), &req).decision,
        Decision::ImplicitDeny
    );
    assert!(!is_proved(&ask_subset(&abac, &strict)));
}

/// Finding 1, the exact part: when the goal fixes the compared string, the variable's values
/// are finitely many and the case-insensitive comparison is still decided.
#[test]
fn finding_1_ignore_case_against_a_fixed_value_is_decided() {
    let p = allow_if(r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "${aws:username}"}}"#);
    let set = policy_set(&p);
    let c = tarski_compiler::query::parse_expr(r#"aws:PrincipalTag/team == "ALICE""#).unwrap();
    let r = can(&set, Some(&c), &opts()).unwrap_or_else(|m| panic!("{m}"));
    let w = witness(&r);
    let name = w.context.single("aws:username").unwrap();
    assert!(name.eq_ignore_ascii_case("alice"), "{w:?}");
}

/// Finding 2: dates before 1970 and after 9999 are dates; the solver's domain once stopped at
/// both, and "proved" these unreachable.
#[test]
fn finding_2_dates_outside_1970_to_9999_are_reachable() {
    let before = allow_if(r#"{"DateLessThan": {"aws:CurrentTime": "1970-01-01T00:00:00Z"}}"#);
    let w = witness(&ask_can(&before)).clone();
    let t = w.context.single("aws:CurrentTime").unwrap();
    let at = tarski_compiler::value::parse_date(&t).unwrap();
    assert!(at < 0, "{t}");
    let after = allow_if(r#"{"DateGreaterThan": {"aws:EpochTime": "253402300799"}}"#);
    witness(&ask_can(&after));
    // The eval side of the same boundary.
    let req = request(&[("aws:EpochTime", "253402300800")]);
    assert_eq!(
        evaluate(&policy_set(&after), &req).decision,
        Decision::Allow
    );
    // And `subset` into a policy allowing nothing finds the 1969 witness.
    let nothing = doc(r#"{"Effect": "Deny", "Action": "*", "Resource": "*"}"#);
    witness(&ask_subset(&before, &nothing));
}

/// Finding 2, attacked from the other side: a proof over dates still holds at the extremes of
/// the domain (the year 0000 with a +23:59 offset, the largest epoch second).
#[test]
fn finding_2_date_domain_extremes() {
    let p = allow_if(r#"{"DateGreaterThan": {"aws:CurrentTime": "9223372036854775807"}}"#);
    // Nothing is later than the largest epoch second or the last ISO instant.
    assert!(is_proved(&ask_can(&p)), "the largest date was exceeded");
    let p = allow_if(r#"{"DateLessThan": {"aws:CurrentTime": "-9223372036854775808"}}"#);
    assert!(is_proved(&ask_can(&p)), "the smallest date was undercut");
    let p = allow_if(r#"{"DateLessThan": {"aws:CurrentTime": "0000-01-01T00:00:00Z"}}"#);
    let w = witness(&ask_can(&p)).clone();
    assert!(w.context.single("aws:CurrentTime").is_some());
}

/// Finding 3: a key of type Bool carries `true` or `false` (any case) on both sides; a key of
/// type IPAddress carries an address.
#[test]
fn finding_3_typed_keys_have_one_domain() {
    let either = allow_if(r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": ["true", "false"]}}"#);
    let all = doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}"#);
    // Proved on the solver side ...
    assert!(is_proved(&ask_subset(&all, &either)));
    // ... and the request that once contradicted it is not a request AWS makes.
    let req = request(&[("aws:MultiFactorAuthPresent", "yes")]);
    assert!(tarski_compiler::atoms::request_domain_error(&req).is_some());
    for v in ["true", "FALSE", "True"] {
        let req = request(&[("aws:MultiFactorAuthPresent", v)]);
        assert!(tarski_compiler::atoms::request_domain_error(&req).is_none());
        assert_eq!(
            evaluate(&policy_set(&either), &req).decision,
            Decision::Allow
        );
    }
    // IP keys: an address always; `not-an-ip` is no longer a witness.
    let anywhere = allow_if(r#"{"IpAddressIfExists": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}"#);
    assert!(is_proved(&ask_subset(&all, &anywhere)));
    let outside = allow_if(r#"{"NotIpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}"#);
    let absent = allow_if(r#"{"Null": {"aws:SourceIp": "true"}}"#);
    assert!(is_proved(&ask_subset(&outside, &absent)));
}

/// Finding 6: numbers are integers or decimals of any size; `1e3` is not one.
#[test]
fn finding_6_numeric_syntax() {
    let big = allow_if(r#"{"NumericLessThan": {"s3:max-keys": "1000000000000000000000"}}"#);
    let smaller = allow_if(r#"{"NumericLessThan": {"s3:max-keys": "999999999999999999999"}}"#);
    let w = witness(&ask_subset(&big, &smaller)).clone();
    let v = w.context.single("s3:max-keys").unwrap();
    use std::cmp::Ordering::*;
    let cmp = |x: &str| tarski_compiler::value::compare_numbers(&v, x);
    assert!(
        matches!(cmp("999999999999999999999"), Some(Equal | Greater)),
        "{v}"
    );
    assert_eq!(cmp("1000000000000000000000"), Some(Less), "{v}");
    assert!(is_proved(&ask_subset(&smaller, &big)));
    // `1e3` in a policy is an error; in a request it is not a number.
    let l = load(
        "p.json",
        &allow_if(r#"{"NumericEquals": {"s3:max-keys": "1e3"}}"#),
        Some(PolicyKind::Identity),
        false,
    );
    assert!(l.has_errors());
    let thousand = allow_if(r#"{"NumericEquals": {"s3:max-keys": "1000"}}"#);
    let req = request(&[("s3:max-keys", "1e3")]);
    assert_eq!(
        evaluate(&policy_set(&thousand), &req).decision,
        Decision::ImplicitDeny
    );
}

/// Finding 8: a key sent as an empty list is a missing key, on both sides: `...IfExists`
/// holds. The solver has no "present but empty" state; `eval` reads `[]` as absent.
#[test]
fn finding_8_empty_list_is_a_missing_key() {
    let p = allow_if(r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["team"]}}"#);
    let set = policy_set(&p);
    let mut req = request(&[]);
    req.context.set("aws:TagKeys", Vec::new());
    assert_eq!(evaluate(&set, &req).decision, Decision::Allow);
    // The solver's reading: allowed without the key, so the set with the key required absent
    // is reachable, and the condition is equivalent to "absent, or some value is team".
    let c = tarski_compiler::query::parse_expr("!aws:TagKeys").unwrap();
    let r = can(&set, Some(&c), &opts()).unwrap_or_else(|m| panic!("{m}"));
    assert!(witness(&r).context.get("aws:TagKeys").is_none());
}
/// Finding 5: a policy variable inside an ARN pattern, contained in the same pattern with `*`.
#[test]
fn finding_5_variable_pattern_inside_its_wildcard() {
    let a = allow_if(r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"}}"#);
    let b = allow_if(r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}"#);
    assert!(is_proved(&ask_subset(&a, &b)));
    // The other direction does not hold, with a witness.
    witness(&ask_subset(&b, &a));
}
