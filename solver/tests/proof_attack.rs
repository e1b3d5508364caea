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
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
        // Deterministic per-query limits (Z3 rlimit; cvc5 only races string queries when
        // installed): a busy machine cannot turn a proof into `unknown`.
        resources: Some(tarski_solver::backend::ResourceLimit {
            z3: 4_000_000,
            cvc5: 4_000_000,
        }),
        ..Options::default()
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

/// `sts:GetCallerIdentity` is allowed whatever the policies say (docs/semantics.md): the
/// questions here are about the policy's grants, so they leave it out.
const NOT_GCI: &str = r#"not action like "sts:GetCallerIdentity""#;

fn ask_can(policy: &str) -> Report {
    let set = policy_set(policy);
    let c = tarski_compiler::query::parse_expr(NOT_GCI).unwrap();
    can(&set, Some(&c), &opts()).unwrap_or_else(|m| panic!("{m}"))
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
    r.verdict == Verdict::Proved
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
    let c = tarski_compiler::query::parse_expr(&format!(
        r#"aws:PrincipalTag/team == "ALICE" and {NOT_GCI}"#
    ))
    .unwrap();
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

/// Found by the harness: a witness number beyond i128 (policy numbers have up to 38 digits,
/// and a scale digit more) was decoded as 0 and did not replay.
#[test]
fn finding_6_witness_numbers_of_any_size() {
    let nines = "9".repeat(38);
    let upto = allow_if(&format!(
        r#"{{"NumericLessThanEqualsIfExists": {{"s3:max-keys": "{nines}"}}}}"#
    ));
    let any = allow_if(r#"{"NumericNotEquals": {"s3:max-keys": "-1"}}"#);
    // A number (a value that is not one, `not-a-number`, is also a witness: both are fine,
    // this finding is about numbers).
    let number = tarski_compiler::query::parse_expr("s3:max-keys > 0").unwrap();
    let r = escapes(
        &policy_set(&any),
        &policy_set(&upto),
        Some(&number),
        &opts(),
    )
    .unwrap_or_else(|m| panic!("{m}"));
    let w = witness(&r).clone();
    let v = w.context.single("s3:max-keys").unwrap();
    assert_eq!(
        tarski_compiler::value::compare_numbers(&v, &nines),
        Some(std::cmp::Ordering::Greater),
        "{v}"
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
    // The other direction does not hold (a user with a path: `aws:PrincipalArn`
    // `arn:aws:iam::A:user/p/x`, `aws:username` `x`). The model does not derive these keys
    // from the principal yet (issue 10): a witness contradicting its caller is refused, and the
    // answer is then unknown, never a proof.
    match ask_subset(&b, &a).verdict {
        Verdict::Witnesses(ws) => assert!(
            tarski_compiler::semantics::derived_key_conflict(&ws[0].request).is_none(),
            "{ws:?}"
        ),
        Verdict::Unknown(why) => assert!(why.contains("aws:"), "{why}"),
        Verdict::Proved => panic!("b is not within a"),
    }
}

// ---------------------------------------------------------------------------------------------
// The proof-attack harness.
//
// Policies are drawn from a vocabulary that covers every operator family (with `IgnoreCase`,
// `IfExists` and set qualifiers), policy variables inside resource and condition patterns,
// `NotAction`/`NotResource`, dates and numbers at and beyond the domain's bounds, IPv4/IPv6,
// non-ASCII text and backslashes, and `*` resources. Each iteration asks `can S`,
// `subset A B` with B a mutant of A, and `equiv A B` (both directions). Every proved answer is
// attacked with requests mined from the literals of both sides (`Miner`) and decided by the
// evaluator; an escape fails with the pair, shrunk to a minimal one.

/// A tiny deterministic generator (xorshift64*), so runs are reproducible from their seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
}

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:?etObject",
    "s3:GetObject",
    "s3:getobject",
    "s3:PutObject",
    "ec2:*Instances",
    "iam:PassRole",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/équipe/*",
    r"arn:aws:s3:::b/a\\b/*",
    "arn:aws:s3:::b/home/${aws:username}/*",
    "arn:aws:s3:::b/home/${aws:username}",
    "arn:aws:s3:::b/${aws:PrincipalTag/team}/*",
    "arn:aws:s3:::b/x${*}",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:iam::111122223333:role/*",
];

/// `(operator, key, value as JSON)`.
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    // Strings, with and without case, variables, wildcards, unicode, backslashes.
    ("StringEquals", "aws:PrincipalTag/team", &["red"]),
    ("StringNotEquals", "aws:PrincipalTag/team", &["red"]),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", &["RED"]),
    (
        "StringNotEqualsIgnoreCase",
        "aws:PrincipalTag/team",
        &["Red"],
    ),
    (
        "StringEqualsIgnoreCaseIfExists",
        "aws:PrincipalTag/team",
        &["équipe"],
    ),
    (
        "StringEquals",
        "aws:PrincipalTag/team",
        &["${aws:username}"],
    ),
    (
        "StringNotEquals",
        "aws:PrincipalTag/team",
        &["${aws:username}"],
    ),
    (
        "StringEquals",
        "aws:ResourceTag/owner",
        &["${aws:username}"],
    ),
    (
        "StringNotEquals",
        "aws:ResourceTag/owner",
        &["${aws:username}"],
    ),
    (
        "StringEqualsIgnoreCase",
        "aws:ResourceTag/owner",
        &["${aws:username}"],
    ),
    (
        "StringNotEqualsIgnoreCase",
        "aws:ResourceTag/owner",
        &["${aws:username}"],
    ),
    ("StringLike", "s3:prefix", &["home/${aws:username}/*"]),
    ("StringNotLike", "s3:prefix", &["home/*"]),
    ("StringLike", "s3:prefix", &["*é?"]),
    ("StringEquals", "s3:prefix", &["", "a\\b"]),
    ("StringLikeIfExists", "aws:RequestedRegion", &["us-*"]),
    (
        "StringNotEqualsIfExists",
        "aws:RequestedRegion",
        &["eu-west-1", "*"],
    ),
    ("ForAnyValue:StringEquals", "aws:TagKeys", &["team", "env"]),
    ("ForAllValues:StringLike", "aws:TagKeys", &["t*"]),
    ("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", &["team"]),
    (
        "ForAllValues:StringNotEqualsIgnoreCase",
        "aws:TagKeys",
        &["OWNER"],
    ),
    // Numbers: large, fractional, negative.
    (
        "NumericLessThan",
        "s3:max-keys",
        &["1000000000000000000000"],
    ),
    (
        "NumericGreaterThanEquals",
        "s3:max-keys",
        &["999999999999999999999"],
    ),
    ("NumericEquals", "s3:max-keys", &["0.5"]),
    ("NumericNotEquals", "s3:max-keys", &["-1"]),
    (
        "NumericLessThanEqualsIfExists",
        "s3:max-keys",
        &["99999999999999999999999999999999999999"],
    ),
    ("NumericGreaterThan", "s3:max-keys", &["10", "-10.25"]),
    // Dates at and beyond the bounds, ISO and epoch.
    ("DateLessThan", "aws:CurrentTime", &["1970-01-01T00:00:00Z"]),
    (
        "DateGreaterThanEquals",
        "aws:CurrentTime",
        &["1969-12-31T23:59:59Z"],
    ),
    ("DateGreaterThan", "aws:CurrentTime", &["253402300799"]),
    (
        "DateLessThanEquals",
        "aws:CurrentTime",
        &["9999-12-31T23:59:59.999999999Z"],
    ),
    (
        "DateEquals",
        "aws:CurrentTime",
        &["2024-01-01T00:00:00.5+01:00"],
    ),
    ("DateNotEquals", "aws:EpochTime", &["0"]),
    (
        "DateGreaterThan",
        "aws:EpochTime",
        &["0000-01-01T00:00:00Z"],
    ),
    ("DateLessThanIfExists", "aws:EpochTime", &["-1"]),
    // Booleans and IP addresses (typed domains).
    ("Bool", "aws:MultiFactorAuthPresent", &["true"]),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", &["false"]),
    ("Bool", "aws:SecureTransport", &["true", "false"]),
    ("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]),
    ("NotIpAddress", "aws:SourceIp", &["0.0.0.0/0", "::/0"]),
    (
        "IpAddressIfExists",
        "aws:SourceIp",
        &["2001:db8::/32", "192.168.1.1"],
    ),
    ("NotIpAddressIfExists", "aws:SourceIp", &["10.0.0.1/32"]),
    // ARNs, with variables.
    (
        "ArnLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::*:user/${aws:username}"],
    ),
    ("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:user/*"]),
    (
        "ArnNotLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::111122223333:role/*"],
    ),
    (
        "ArnEquals",
        "aws:PrincipalArn",
        &["arn:aws:iam::111122223333:user/alice"],
    ),
    // Presence.
    ("Null", "aws:PrincipalTag/team", &["true"]),
    ("Null", "aws:SourceIp", &["false"]),
    ("Null", "aws:TagKeys", &["true"]),
];

#[derive(Clone, Debug, PartialEq)]
struct Stmt {
    allow: bool,
    not_action: bool,
    actions: Vec<usize>,
    not_resource: bool,
    resources: Vec<usize>,
    /// `(index into CONDITIONS, operator)`: the operator starts as the table's and may be
    /// changed to a twin (`twin_operators`).
    conditions: Vec<(usize, String)>,
}

impl Stmt {
    fn json(&self) -> String {
        let list = |v: &[usize], from: &[&str]| {
            let items: Vec<String> = v.iter().map(|&j| format!("\"{}\"", from[j])).collect();
            format!("[{}]", items.join(", "))
        };
        let mut s = format!(
            r#"{{"Effect": "{}", "{}": {}, "{}": {}"#,
            if self.allow { "Allow" } else { "Deny" },
            if self.not_action {
                "NotAction"
            } else {
                "Action"
            },
            list(&self.actions, ACTIONS),
            if self.not_resource {
                "NotResource"
            } else {
                "Resource"
            },
            list(&self.resources, RESOURCES),
        );
        type Entries<'a> = Vec<(&'a str, &'a [&'a str])>;
        let mut ops: Vec<(&str, Entries)> = Vec::new();
        for (c, op) in &self.conditions {
            let (_, key, val) = CONDITIONS[*c];
            let op = op.as_str();
            match ops.iter_mut().find(|(o, _)| *o == op) {
                Some((_, kv)) => {
                    if !kv.iter().any(|(k, _)| *k == key) {
                        kv.push((key, val));
                    }
                }
                None => ops.push((op, vec![(key, val)])),
            }
        }
        if !ops.is_empty() {
            let body: Vec<String> = ops
                .iter()
                .map(|(op, kv)| {
                    let inner: Vec<String> = kv
                        .iter()
                        .map(|(k, v)| match v {
                            [one] => format!(r#""{k}": {one:?}"#),
                            _ => format!(r#""{k}": {v:?}"#),
                        })
                        .collect();
                    format!(r#""{op}": {{{}}}"#, inner.join(", "))
                })
                .collect();
            s.push_str(&format!(r#", "Condition": {{{}}}"#, body.join(", ")));
        }
        s.push('}');
        s
    }
}

type Pol = Vec<Stmt>;

fn pol_json(p: &Pol) -> String {
    doc(&p.iter().map(Stmt::json).collect::<Vec<_>>().join(", "))
}

fn some(rng: &mut Rng, n: usize, max: usize) -> Vec<usize> {
    let k = 1 + rng.below(max);
    let mut v: Vec<usize> = (0..k).map(|_| rng.below(n)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn conds(ix: Vec<usize>) -> Vec<(usize, String)> {
    ix.into_iter()
        .map(|i| (i, CONDITIONS[i].0.to_string()))
        .collect()
}

/// Operators that differ from `op` in one feature, valid for the same values.
fn twin_operators(op: &str) -> Vec<String> {
    let mut out = Vec::new();
    let swaps: &[(&str, &str)] = &[
        ("StringEqualsIgnoreCase", "StringEquals"),
        ("StringNotEqualsIgnoreCase", "StringNotEquals"),
        ("StringEquals", "StringNotEquals"),
        ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"),
        ("StringEquals", "StringLike"),
        ("StringNotEquals", "StringNotLike"),
        ("StringLike", "StringNotLike"),
        ("NumericLessThan", "NumericLessThanEquals"),
        ("NumericGreaterThan", "NumericGreaterThanEquals"),
        ("NumericEquals", "NumericNotEquals"),
        ("DateLessThan", "DateLessThanEquals"),
        ("DateGreaterThan", "DateGreaterThanEquals"),
        ("DateEquals", "DateNotEquals"),
        ("IpAddress", "NotIpAddress"),
        ("ArnLike", "ArnNotLike"),
        ("ArnEquals", "ArnNotEquals"),
        ("ForAnyValue:", "ForAllValues:"),
    ];
    let (core, if_exists) = match op.strip_suffix("IfExists") {
        Some(c) => (c, true),
        None => (op, false),
    };
    let suffix = if if_exists { "IfExists" } else { "" };
    let (q, base) = match core.split_once(':') {
        Some((q, b)) => (format!("{q}:"), b),
        None => (String::new(), core),
    };
    for (x, y) in swaps {
        for (from, to) in [(x, y), (y, x)] {
            if base == *from {
                out.push(format!("{q}{to}{suffix}"));
            }
            if q == *from {
                out.push(format!("{to}{base}{suffix}"));
            }
        }
    }
    if !core.starts_with("Null") {
        out.push(if if_exists {
            core.to_string()
        } else {
            format!("{core}IfExists")
        });
    }
    out.retain(|o| tarski_compiler::operator::Operator::parse(o).is_ok() && o != op);
    out.sort();
    out.dedup();
    out
}

/// `p` with one condition's operator replaced by a twin (`p` itself when none has one).
fn twin(rng: &mut Rng, p: &Pol) -> Pol {
    let mut q = p.clone();
    let spots: Vec<(usize, usize)> = q
        .iter()
        .enumerate()
        .flat_map(|(i, st)| (0..st.conditions.len()).map(move |j| (i, j)))
        .collect();
    if spots.is_empty() {
        return q;
    }
    let (i, j) = *rng.pick(&spots);
    let twins = twin_operators(&q[i].conditions[j].1);
    if !twins.is_empty() {
        q[i].conditions[j].1 = rng.pick(&twins).clone();
    }
    q
}

fn gen_stmt(rng: &mut Rng, allow_weight: u64) -> Stmt {
    Stmt {
        allow: rng.chance(allow_weight, 10),
        not_action: rng.chance(1, 8),
        actions: some(rng, ACTIONS.len(), 2),
        not_resource: rng.chance(1, 8),
        resources: some(rng, RESOURCES.len(), 2),
        conditions: if rng.chance(1, 5) {
            Vec::new()
        } else {
            conds(some(rng, CONDITIONS.len(), 3))
        },
    }
}

fn gen_pol(rng: &mut Rng) -> Pol {
    let n = 1 + rng.below(3);
    let mut p: Pol = (0..n).map(|_| gen_stmt(rng, 7)).collect();
    if !p.iter().any(|s| s.allow) {
        p[0].allow = true;
    }
    p
}

/// A neighbour of `p`: one element changed, a statement added or removed.
fn mutate(rng: &mut Rng, p: &Pol) -> Pol {
    let mut q = p.clone();
    let i = rng.below(q.len());
    match rng.below(9) {
        0 => q[i].conditions = conds(some(rng, CONDITIONS.len(), 3)),
        1 => {
            let c = conds(vec![rng.below(CONDITIONS.len())]).remove(0);
            if q[i].conditions.is_empty() {
                q[i].conditions.push(c);
            } else {
                let j = rng.below(q[i].conditions.len());
                q[i].conditions[j] = c;
            }
        }
        2 => q[i].resources = some(rng, RESOURCES.len(), 2),
        3 => q[i].actions = some(rng, ACTIONS.len(), 2),
        4 => q[i].allow = !q[i].allow,
        // A twin operator: the same comparison with one feature changed (case, negation,
        // IfExists, set qualifier, wildcards, strictness).
        5 | 6 => return twin(rng, &q),
        7 if q.len() > 1 => {
            q.remove(i);
        }
        _ => q.push(gen_stmt(rng, 5)),
    }
    q
}

// ---------------------------------------------------------------------------------------------
// Mining boundary requests from literals.

/// Words that policy variables and tags take, with case variants of each other.
const WORDS: &[&str] = &[
    "alice",
    "Alice",
    "ALICE",
    "red",
    "RED",
    "Red",
    "équipe",
    "ÉQUIPE",
    "a\\b",
    "",
    "*",
    "team",
    "env",
    "owner",
    "OWNER",
    "tx",
    "home",
    "k",
    "x",
    "us-east-1",
    "eu-west-1",
];

const ACTIONS_REAL: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetBucketPolicy",
    "ec2:StartInstances",
    "ec2:DescribeInstances",
    "iam:PassRole",
    "sqs:SendMessage",
];

const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:sts::111122223333:assumed-role/dev/s1",
    "arn:aws:iam::444455556666:user/ALICE",
];

/// Candidate values per context key and for the action and resource, from both sides'
/// literals: the literal, one character more or less, case variants, `*`, empty, neighbouring
/// numbers and dates, the domain's extremes.
struct Miner {
    actions: Vec<String>,
    resources: Vec<String>,
    keys: Vec<(String, Vec<String>)>,
}

fn variants(s: &str, out: &mut Vec<String>) {
    out.push(s.to_string());
    out.push(s.to_uppercase());
    out.push(s.to_lowercase());
    out.push(format!("{s}x"));
    let mut c = s.chars();
    c.next_back();
    out.push(c.as_str().to_string());
    let mut c = s.chars();
    c.next();
    out.push(c.as_str().to_string());
}

/// Fill a pattern's wildcards and variables with text that makes it match or barely miss.
fn instances(pattern: &str, rng: &mut Rng, out: &mut Vec<String>) {
    for _ in 0..4 {
        let mut s = String::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("${") {
                let end = r.find('}').unwrap_or(r.len());
                let inner = &r[..end];
                match inner {
                    "*" | "?" | "$" => s.push_str(inner),
                    _ => s.push_str(WORDS[rng.below(WORDS.len())]),
                }
                rest = r.get(end + 1..).unwrap_or("");
                continue;
            }
            let c = rest.chars().next().unwrap_or(' ');
            rest = &rest[c.len_utf8()..];
            match c {
                '*' => {
                    const FILL: &[&str] = &["", "x", "k1", "a/b", ":", "ALICE", "home/alice"];
                    s.push_str(FILL[rng.below(FILL.len())])
                }
                '?' => s.push(*rng.pick(&['G', 'g', 'x', 'é'])),
                c => s.push(c),
            }
        }
        variants(&s, out);
    }
}

fn number_neighbours(lit: &str, out: &mut Vec<String>) {
    out.push(lit.to_string());
    if let Ok(n) = lit.parse::<i128>() {
        for d in [-1, 1] {
            out.push((n + d).to_string());
        }
    }
    out.push(format!("{lit}.1"));
    out.push(format!("{lit}.0000000000000000000000000000000000000001"));
    out.push(format!("-{lit}"));
    out.push(format!("{lit}0"));
    out.push("9".repeat(60));
    out.push(format!("-{}", "9".repeat(60)));
    out.push("1e3".into());
    out.push("0".into());
}

fn date_neighbours(lit: &str, out: &mut Vec<String>) {
    use tarski_compiler::value::{format_date, parse_date, DATE_ISO_MAX, DATE_ISO_MIN};
    out.push(lit.to_string());
    if let Some(t) = parse_date(lit) {
        for d in [-1_000_000_000, -1, 1, 1_000_000_000] {
            out.push(format_date(t + d));
        }
    }
    for t in [
        DATE_ISO_MIN,
        DATE_ISO_MAX,
        i128::from(i64::MIN) * 1_000_000_000,
        i128::from(i64::MAX) * 1_000_000_000,
        -1,
        0,
    ] {
        out.push(format_date(t));
    }
    out.push("not-a-date".into());
}

fn ip_neighbours(lit: &str, out: &mut Vec<String>) {
    use std::net::IpAddr;
    let Some(c) = tarski_compiler::value::Cidr::parse(lit) else {
        return;
    };
    match c.addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let host = u32::MAX.checked_shr(u32::from(c.prefix)).unwrap_or(0);
            let net = bits & !host;
            for x in [
                net,
                net | host,
                net.wrapping_sub(1),
                (net | host).wrapping_add(1),
            ] {
                out.push(std::net::Ipv4Addr::from(x).to_string());
            }
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let host = u128::MAX.checked_shr(u32::from(c.prefix)).unwrap_or(0);
            let net = bits & !host;
            for x in [
                net,
                net | host,
                net.wrapping_sub(1),
                (net | host).wrapping_add(1),
            ] {
                out.push(std::net::Ipv6Addr::from(x).to_string());
            }
        }
    }
}

impl Miner {
    fn new(pols: &[&Pol], rng: &mut Rng) -> Miner {
        let mut actions: Vec<String> = ACTIONS_REAL.iter().map(|s| s.to_string()).collect();
        let mut resources: Vec<String> = vec![
            "arn:aws:s3:::b/x".into(),
            "arn:aws:s3:::c/y".into(),
            "*".into(),
        ];
        let mut keys: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for k in [
            "aws:username",
            "aws:PrincipalTag/team",
            "aws:ResourceTag/owner",
        ] {
            keys.entry(k.into())
                .or_default()
                .extend(WORDS.iter().map(|w| w.to_string()));
        }
        for p in pols {
            for st in p.iter() {
                for &a in &st.actions {
                    if ACTIONS[a] != "*" {
                        instances(ACTIONS[a], rng, &mut actions);
                    }
                }
                for &r in &st.resources {
                    instances(RESOURCES[r], rng, &mut resources);
                }
                for (c, op) in &st.conditions {
                    let (_, key, val) = CONDITIONS[*c];
                    let op = op.as_str();
                    let vals: Vec<String> = val.iter().map(|v| v.to_string()).collect();
                    let out = keys.entry(key.to_string()).or_default();
                    for v in vals {
                        if op.contains("Numeric") {
                            number_neighbours(&v, out);
                        } else if op.contains("Date") {
                            date_neighbours(&v, out);
                        } else if op.contains("IpAddress") {
                            ip_neighbours(&v, out);
                        } else if op.contains("Bool") {
                            out.extend(["true", "false", "TRUE", "False"].map(String::from));
                        } else if op.starts_with("Null") {
                        } else {
                            instances(&v, rng, out);
                            out.push("*".into());
                            out.push(String::new());
                        }
                    }
                    if key == "aws:PrincipalArn" {
                        out.extend(PRINCIPALS.iter().map(|s| s.to_string()));
                    }
                }
            }
        }
        let mut keys: Vec<(String, Vec<String>)> = keys
            .into_iter()
            .map(|(k, mut vs)| {
                vs.retain(|v| tarski_compiler::atoms::in_value_domain(&k, v));
                vs.sort();
                vs.dedup();
                (k, vs)
            })
            .filter(|(_, vs)| !vs.is_empty())
            .collect();
        keys.sort();
        actions.retain(|a| tarski_compiler::parse::action_syntax_error(a).is_none());
        actions.sort();
        actions.dedup();
        resources.sort();
        resources.dedup();
        Miner {
            actions,
            resources,
            keys,
        }
    }

    /// One boundary request. Keys are present or absent at random; a base word is shared
    /// between the keys policy variables couple, in its case variants.
    fn request(&self, rng: &mut Rng) -> Request {
        let mut req = Request {
            principal: rng.pick(PRINCIPALS).to_string(),
            action: rng.pick(&self.actions).clone(),
            resource: rng.pick(&self.resources).clone(),
            ..Request::default()
        };
        let base = WORDS[rng.below(WORDS.len())];
        let mut coupled = Vec::new();
        variants(base, &mut coupled);
        for (k, vs) in &self.keys {
            if rng.chance(1, 3) {
                continue;
            }
            if k == "aws:TagKeys" {
                let chosen: Vec<String> = (0..rng.below(3)).map(|_| rng.pick(vs).clone()).collect();
                req.context.set(k, chosen);
                continue;
            }
            let v = if rng.chance(1, 2)
                && tarski_compiler::atoms::value_domain(k)
                    == tarski_compiler::atoms::ValueDomain::Any
                && !k.starts_with("aws:CurrentTime")
            {
                rng.pick(&coupled).clone()
            } else {
                rng.pick(vs).clone()
            };
            req.context.set(k, vec![v]);
        }
        req
    }
}

// ---------------------------------------------------------------------------------------------
// Questions and attacks.

#[derive(Default, Debug)]
struct Tally {
    questions: usize,
    proved: usize,
    witnesses: usize,
    unknown: usize,
    attacks: usize,
    /// Internal errors of finding 4 (issue 12's), see `campaign`.
    known_internal: usize,
    unknown_reasons: std::collections::BTreeMap<String, usize>,
}

/// What a proved answer claims: no request is allowed by `a` (and not by `b`, when given).
#[derive(Clone, Debug)]
struct Claim {
    a: Pol,
    b: Option<Pol>,
}

impl Claim {
    fn ask(&self) -> Result<Verdict, String> {
        let a = policy_set(&pol_json(&self.a));
        let r = match &self.b {
            None => can(&a, None, &opts()),
            Some(b) => escapes(&a, &policy_set(&pol_json(b)), None, &opts()),
        };
        r.map(|r| r.verdict).map_err(|m| m.to_string())
    }

    fn escapes_on(&self, req: &Request) -> bool {
        // Proofs range over the requests AWS sends (issue 10's typed request space): a request
        // whose resource its action does not take contradicts nothing.
        if !tarski_compiler::semantics::well_typed(&req.action, &req.resource) {
            return false;
        }
        // Nor does one whose derived keys are not its caller's (issue 10, `aws_sends`).
        if aws_sends(req).as_ref() != Some(req) {
            return false;
        }
        let a = policy_set(&pol_json(&self.a));
        if evaluate(&a, req).decision != Decision::Allow {
            return false;
        }
        match &self.b {
            None => true,
            Some(b) => evaluate(&policy_set(&pol_json(b)), req).decision != Decision::Allow,
        }
    }

    fn describe(&self) -> String {
        match &self.b {
            None => format!("can A (proved unreachable)\nA = {}", pol_json(&self.a)),
            Some(b) => format!(
                "subset A B (proved A ⊆ B)\nA = {}\nB = {}",
                pol_json(&self.a),
                pol_json(b)
            ),
        }
    }
}

/// The mined request as AWS would send it: the keys AWS derives from the caller set to its
/// values, or removed where the caller has none (`semantics::derived_values`); `None` when the
/// request still contradicts them (`semantics::derived_key_conflict`: a role session's
/// `aws:PrincipalArn` of another role, an account that is not 12 digits). Proofs range over
/// these requests only (docs/encoding.md §4).
fn aws_sends(req: &Request) -> Option<Request> {
    let mut r = req.clone();
    for (k, v) in tarski_compiler::semantics::derived_values(req) {
        match v {
            Some(v) => r.context.set(k, vec![v]),
            None if k != "aws:ResourceAccount" => r.context.set(k, Vec::new()),
            None => {}
        }
    }
    // A role session always carries its role's ARN (here without a path, one of the ARNs AWS
    // may give).
    let c = tarski_compiler::request::Caller::of(&r.principal);
    if c.kind == tarski_compiler::request::CallerKind::RoleSession
        && r.context.get("aws:PrincipalArn").is_none()
    {
        let arn = format!(
            "arn:aws:iam::{}:role/{}",
            c.account.unwrap_or_default(),
            c.role_name.unwrap_or_default()
        );
        r.context.set("aws:PrincipalArn", vec![arn]);
    }
    tarski_compiler::semantics::derived_key_conflict(&r)
        .is_none()
        .then_some(r)
}

/// Attack a proved claim: `n` mined requests; the first escape, if any.
fn attack(claim: &Claim, rng: &mut Rng, n: usize) -> Option<Request> {
    let mut pols: Vec<&Pol> = vec![&claim.a];
    if let Some(b) = &claim.b {
        pols.push(b);
    }
    let miner = Miner::new(&pols, rng);
    if dumping() {
        let mut sample = rng.clone();
        for _ in 0..DUMP_PER_PROOF {
            dump(claim, &miner.request(&mut sample), "attack");
        }
    }
    let a = policy_set(&pol_json(&claim.a));
    let b = claim.b.as_ref().map(|b| policy_set(&pol_json(b)));
    (0..n)
        .filter_map(|_| aws_sends(&miner.request(rng)))
        .find(|req| {
            // Only requests AWS sends can contradict a proof (see `Claim::escapes_on`).
            tarski_compiler::semantics::well_typed(&req.action, &req.resource)
                && evaluate(&a, req).decision == Decision::Allow
                && b.as_ref()
                    .is_none_or(|b| evaluate(b, req).decision != Decision::Allow)
        })
}

/// Smaller claims that are still proved and still escape on `req`: drop statements, then
/// conditions, one at a time, while that holds.
fn shrink(mut claim: Claim, req: &Request) -> Claim {
    let still = |c: &Claim| matches!(c.ask(), Ok(Verdict::Proved)) && c.escapes_on(req);
    loop {
        let mut smaller = None;
        let sides = if claim.b.is_some() { 2 } else { 1 };
        'search: for side in 0..sides {
            let pol = if side == 0 {
                &claim.a
            } else {
                claim.b.as_ref().unwrap()
            };
            for i in 0..pol.len() {
                let mut candidates: Vec<Pol> = Vec::new();
                if pol.len() > 1 {
                    let mut q = pol.clone();
                    q.remove(i);
                    candidates.push(q);
                }
                for j in 0..pol[i].conditions.len() {
                    let mut q = pol.clone();
                    q[i].conditions.remove(j);
                    candidates.push(q);
                }
                for q in candidates {
                    let mut c = claim.clone();
                    if side == 0 {
                        c.a = q;
                    } else {
                        c.b = Some(q);
                    }
                    if still(&c) {
                        smaller = Some(c);
                        break 'search;
                    }
                }
            }
        }
        match smaller {
            Some(c) => claim = c,
            None => return claim,
        }
    }
}

fn record(t: &mut Tally, v: &Verdict) {
    t.questions += 1;
    match v {
        Verdict::Proved => t.proved += 1,
        Verdict::Witnesses(_) => t.witnesses += 1,
        Verdict::Unknown(why) => {
            t.unknown += 1;
            let short: String = why.chars().take(70).collect();
            *t.unknown_reasons.entry(short).or_default() += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// External-oracle mode: with `PROOF_ATTACK_DUMP=FILE`, the questions' witnesses and a sample of
// each proof's attack requests are written to FILE as conformance-format cases (the evaluator's
// decision as `expect`), for `tests/differential/iam-simulate.mjs --cases FILE`.

static DUMP: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Attack requests per proof written to the dump.
const DUMP_PER_PROOF: usize = 8;

fn dumping() -> bool {
    std::env::var_os("PROOF_ATTACK_DUMP").is_some()
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn request_json(r: &Request) -> String {
    let ctx: Vec<String> = r
        .context
        .iter()
        .map(|(k, vs)| {
            let v = match vs {
                [one] => json_str(one),
                _ => format!(
                    "[{}]",
                    vs.iter()
                        .map(|v| json_str(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            format!("{}: {v}", json_str(k))
        })
        .collect();
    let account = r
        .resource_account
        .as_deref()
        .map(|a| format!(r#", "resource_account": {}"#, json_str(a)))
        .unwrap_or_default();
    format!(
        r#"{{"principal": {}, "action": {}, "resource": {}{account}, "context": {{{}}}}}"#,
        json_str(&r.principal),
        json_str(&r.action),
        json_str(&r.resource),
        ctx.join(", ")
    )
}

/// Record `req` against each side of `claim`, with the evaluator's decisions.
fn dump(claim: &Claim, req: &Request, what: &str) {
    if !dumping() {
        return;
    }
    let mut cases = DUMP.lock().unwrap_or_else(|e| e.into_inner());
    let sides: Vec<&Pol> = std::iter::once(&claim.a).chain(claim.b.as_ref()).collect();
    for (i, p) in sides.into_iter().enumerate() {
        let text = pol_json(p);
        let expect = evaluate(&policy_set(&text), req).decision.as_str();
        let n = cases.len();
        cases.push(format!(
            r#"{{"name": "{what}-{n}-side{i}", "doc": "solver/tests/proof_attack.rs", "policies": {{"identity": [{text}]}}, "request": {}, "expect": "{expect}"}}"#,
            request_json(req)
        ));
    }
}

fn write_dump() {
    let Some(path) = std::env::var_os("PROOF_ATTACK_DUMP") else {
        return;
    };
    let cases = DUMP.lock().unwrap_or_else(|e| e.into_inner());
    let text = format!(
        "{{\"topic\": \"proof-attack\", \"cases\": [\n{}\n]}}\n",
        cases.join(",\n")
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    eprintln!("wrote {} cases to {path:?}", cases.len());
}

/// Ask one claim; attack it when proved. Panics on an escape (with the shrunk pair) or an
/// internal error (a witness the evaluator does not replay).
fn check_claim(t: &mut Tally, rng: &mut Rng, claim: Claim, seed: u64, it: usize, per_proof: usize) {
    let verdict = match claim.ask() {
        Ok(Verdict::Witnesses(ws)) => {
            for w in &ws {
                dump(&claim, &w.request, "witness");
            }
            Verdict::Witnesses(ws)
        }
        Ok(v) => v,
        // Finding 4 of issue 11 (Z3's `\u{..}` string escapes are not decoded, so a witness
        // with non-ASCII text does not replay) belongs to the solver-backend work (issue 12).
        // Counted and printed, not hidden; PROOF_ATTACK_STRICT=1 fails.
        Err(e) if e.contains("\\u{") && !strict() => {
            t.questions += 1;
            t.known_internal += 1;
            eprintln!("known internal error (issue 11 finding 4): {e}");
            return;
        }
        Err(e) => panic!(
            "seed {seed} iteration {it}: internal error: {e}\n{}",
            claim.describe()
        ),
    };
    record(t, &verdict);
    if verdict != Verdict::Proved {
        return;
    }
    t.attacks += per_proof;
    if let Some(req) = attack(&claim, rng, per_proof) {
        let small = shrink(claim.clone(), &req);
        panic!(
            "seed {seed} iteration {it}: a proof does not hold.\nminimal pair: {}\nescaping request: {req:#?}",
            small.describe()
        );
    }
}

/// The sweep: every condition of the vocabulary alone (`Allow * on *` under it), asked `can`
/// and compared both ways with each of its twin operators.
fn sweep(t: &mut Tally, rng: &mut Rng, per_proof: usize) {
    for (c, (op, _, _)) in CONDITIONS.iter().enumerate() {
        let one = |op: &str| -> Pol {
            vec![Stmt {
                allow: true,
                not_action: false,
                actions: vec![0],
                not_resource: false,
                resources: vec![0],
                conditions: vec![(c, op.to_string())],
            }]
        };
        let a = one(op);
        check_claim(
            t,
            rng,
            Claim {
                a: a.clone(),
                b: None,
            },
            0,
            c,
            per_proof,
        );
        for tw in twin_operators(op) {
            let b = one(&tw);
            check_claim(
                t,
                rng,
                Claim {
                    a: a.clone(),
                    b: Some(b.clone()),
                },
                0,
                c,
                per_proof,
            );
            check_claim(
                t,
                rng,
                Claim {
                    a: b,
                    b: Some(a.clone()),
                },
                0,
                c,
                per_proof,
            );
        }
    }
}

/// The sweep, then `iterations` random iterations from `seed` (each: can, subset, equiv, twin =
/// 5 questions), attacking
/// each proof with `per_proof` requests. Panics on an escape (with the shrunk pair) or an
/// internal error (a witness the evaluator does not replay).
fn campaign(seed: u64, iterations: usize, per_proof: usize) -> Tally {
    let mut t = Tally::default();
    let mut rng = Rng::new(seed);
    sweep(&mut t, &mut rng, per_proof);
    for it in 0..iterations {
        let a = gen_pol(&mut rng);
        let b = if rng.chance(3, 4) {
            mutate(&mut rng, &a)
        } else {
            gen_pol(&mut rng)
        };
        let claims = [
            Claim {
                a: a.clone(),
                b: None,
            },
            Claim {
                a: a.clone(),
                b: Some(b.clone()),
            },
            // equiv A B: both directions.
            Claim {
                a: b.clone(),
                b: Some(a.clone()),
            },
            Claim {
                a: b.clone(),
                b: Some(mutate(&mut rng, &b)),
            },
            // A against its twin: one operator changed in one feature.
            Claim {
                a: a.clone(),
                b: Some(twin(&mut rng, &a)),
            },
        ];
        for claim in claims {
            check_claim(&mut t, &mut rng, claim, seed, it + 1, per_proof);
        }
    }
    t
}

fn strict() -> bool {
    std::env::var("PROOF_ATTACK_STRICT").is_ok_and(|v| v == "1")
}

fn report(name: &str, t: &Tally) {
    eprintln!(
        "{name}: {} questions: {} proved (each attacked), {} with witnesses, {} unknown, {} known internal errors (finding 4); {} attack requests; 0 contradicted proofs, 0 other internal errors",
        t.questions, t.proved, t.witnesses, t.unknown, t.known_internal, t.attacks
    );
    for (why, n) in &t.unknown_reasons {
        eprintln!("  unknown x{n}: {why}");
    }
}

/// The CI slice: fixed seeds, bounded by Z3's resource limit (not a clock).
#[test]
fn attack_slice() {
    let t = campaign(11, 40, 300);
    report("attack_slice", &t);
    write_dump();
    // The slice must exercise proofs, or it attacks nothing.
    assert!(t.proved >= 10, "only {} proofs to attack: {t:?}", t.proved);
}

/// The long run (issue 11: at least 5,000 questions), one command:
/// `cargo test --release -p tarski-solver --test proof_attack attack_long -- --ignored --nocapture`
/// The sweep, then `PROOF_ATTACK_ITERATIONS` random iterations (default 1,000: 5,000
/// questions), from `PROOF_ATTACK_SEED` (default 1). Latest numbers: docs/encoding.md.
#[test]
#[ignore = "long run: see the doc comment"]
fn attack_long() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let seed = env("PROOF_ATTACK_SEED", 1);
    let iterations = env("PROOF_ATTACK_ITERATIONS", 1000) as usize;
    let t = campaign(seed, iterations, 1000);
    report("attack_long", &t);
    write_dump();
}

#[test]
fn twins_change_one_feature() {
    let t = twin_operators("StringEqualsIgnoreCase");
    assert!(t.contains(&"StringEquals".to_string()), "{t:?}");
    assert!(
        t.contains(&"StringEqualsIgnoreCaseIfExists".to_string()),
        "{t:?}"
    );
    let t = twin_operators("ForAnyValue:StringEqualsIfExists");
    assert!(
        t.contains(&"ForAllValues:StringEqualsIfExists".to_string()),
        "{t:?}"
    );
    assert!(t.contains(&"ForAnyValue:StringEquals".to_string()), "{t:?}");
    assert!(twin_operators("Null").is_empty());
    assert!(twin_operators("NotIpAddress").contains(&"IpAddress".to_string()));
}
