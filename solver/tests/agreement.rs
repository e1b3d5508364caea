//! Agreement between the solver and the concrete evaluator, on small random policy sets.
//!
//! The solver's witnesses are replayed through the evaluator by `can`/`escapes` themselves, so
//! a wrong *witness* already shows up as a `ReplayMismatch`. These properties check the other
//! direction, the one the replay cannot: when the solver *proves* that no request exists
//! (`Verdict::Proved`), no concrete request may contradict it.
//!
//! - `proved_unreachable_is_never_allowed`: `can(S)` proved ⇒ no random request is allowed;
//! - `proved_subset_holds_on_requests`: `escapes(A, B)` proved ⇒ A Allow implies B Allow on
//!   random requests; `escapes(A, A)` is always proved;
//! - `constraint_is_respected`: `can(S, expr)` proved ⇒ no random request that satisfies
//!   `expr` is allowed.
//!
//! Policies and requests are drawn from one small vocabulary (actions, resource patterns,
//! condition keys with values near the boundaries) so that random requests hit the
//! interesting cases. Policies are built as JSON text and loaded with `load`.
//!
//! Cases per property: 24 (a fixed seed: the same cases every run), or `PROPTEST_CASES` when
//! set. Each case checks `REQUESTS` random requests, drawn from a seed that is part of the
//! case. The seed is fixed (proptest's deterministic ChaCha generator), so every run checks
//! the same cases; a long run is `PROPTEST_CASES=500`. (A separate "seeded sweep" with the same
//! generator repeated the first cases of each property, doubling the cost for no coverage: it
//! was removed.)
//!
//! Unknown verdicts are allowed but counted; a property fails when more than
//! `MAX_UNKNOWN_PERCENT` of its cases are unknown.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{common_limits, require_cvc5};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::logic::ir::{eval as ir_eval, Builder};
use tarski_compiler::logic::lower::{Slots, SymbolicView};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::query::{parse_expr, Expr};
use tarski_compiler::request::{Context, Request};
use tarski_solver::{can, escapes, Options, ReplayMismatch, Report, Verdict};

const REQUESTS: usize = 200;

/// At most 3 % unknown. (It was 15 % while a resource compared as a string, `${aws:username}`
/// in it, carried the owner rules as regular expressions whenever principals named accounts:
/// those calls ran out of both solvers' resource limits. The rules are now left out where no
/// pattern looks at the ARN's account field, which is exact: docs/encoding.md §4.)
const MAX_UNKNOWN_PERCENT: usize = 3;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        // 24 in `scripts/test` (deterministic cases: the same 24 every run, so the unknown
        // count cannot drift between runs); `PROPTEST_CASES=200` and more for a long run.
        .unwrap_or(24)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

fn opts() -> Options {
    require_cvc5();
    Options {
        // More witnesses: more replays through the evaluator.
        witnesses: 2,
        known_actions: false,
        // Exercise the solver itself; the syntactic fast path is checked against it below.
        syntactic: false,
        // Deterministic limits (a busy machine cannot turn an answer into `unknown`), and
        // both solvers on every query: a contradiction between them fails the test.
        resources: Some(common_limits()),
        cross_check: true,
        ..Options::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:?etObject",
    "ec2:*Instances",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:StartInstances",
    "iam:PassRole",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k*",
    "arn:aws:s3:::c/*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:s3:::b/home/${aws:username}/*",
    // Two templates on one key, one inside the other: a spurious witness here once came from
    // encoding template parts as existential constants, wrong where a template must not match.
    "arn:aws:s3:::b/home/${aws:username}/k*",
];

/// `(operator, key, value as JSON)`.
const CONDITIONS: &[(&str, &str, &str)] = &[
    ("IpAddress", "aws:SourceIp", r#""10.0.0.0/8""#),
    ("IpAddress", "aws:SourceIp", r#""192.168.1.0/24""#),
    (
        "IpAddress",
        "aws:SourceIp",
        r#"["10.0.0.0/8", "2001:db8::/32"]"#,
    ),
    ("NotIpAddress", "aws:SourceIp", r#""10.0.0.0/8""#),
    ("NotIpAddress", "aws:SourceIp", r#""2001:db8::/32""#),
    ("Bool", "aws:MultiFactorAuthPresent", r#""true""#),
    ("Bool", "aws:MultiFactorAuthPresent", r#""false""#),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", r#""false""#),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", r#""true""#),
    ("StringEquals", "aws:RequestedRegion", r#""eu-west-1""#),
    (
        "StringEquals",
        "aws:RequestedRegion",
        r#"["us-east-1", "eu-west-1"]"#,
    ),
    ("StringNotEquals", "aws:RequestedRegion", r#""eu-west-1""#),
    ("StringLike", "aws:RequestedRegion", r#""us-*""#),
    ("NumericLessThan", "aws:MultiFactorAuthAge", r#""3600""#),
    (
        "NumericGreaterThanEquals",
        "aws:MultiFactorAuthAge",
        r#""3600""#,
    ),
    (
        "DateLessThan",
        "aws:CurrentTime",
        r#""2024-01-01T00:00:00Z""#,
    ),
    (
        "DateGreaterThan",
        "aws:CurrentTime",
        r#""2024-06-30T12:00:00Z""#,
    ),
    (
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        r#"["team", "env"]"#,
    ),
    ("ForAnyValue:StringLike", "aws:TagKeys", r#""t*""#),
    ("StringEquals", "aws:PrincipalTag/team", r#""red""#),
    ("StringNotEquals", "aws:PrincipalTag/team", r#""red""#),
    ("StringLike", "s3:prefix", r#""home/${aws:username}/*""#),
    ("StringEquals", "s3:prefix", r#"["", "home/"]"#),
    ("Null", "aws:MultiFactorAuthAge", r#""true""#),
    ("Null", "aws:TagKeys", r#""false""#),
    ("Null", "aws:SourceIp", r#""true""#),
];

const POLICY_PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS": "111122223333"}"#,
    r#"{"AWS": "arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS": "arn:aws:iam::111122223333:role/dev"}"#,
    r#"{"AWS": ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:root"]}"#,
];

const REQ_PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:sts::111122223333:assumed-role/dev/s1",
    "arn:aws:iam::444455556666:user/eve",
];

const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:StartInstances",
    "iam:PassRole",
    "s3:GetBucketPolicy",
    "s3:DeleteObject",
    "ec2:StopInstances",
    "sqs:SendMessage",
    "s3:getobject",
    "s3:ListAllMyBuckets",
];

const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::b/k1",
    "arn:aws:s3:::b/home/alice/f",
    "arn:aws:s3:::b/home/bob/f",
    "arn:aws:s3:::c/y",
    "arn:aws:s3:::d/z",
    "arn:aws:s3:::b",
    "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
    "arn:aws:ec2:eu-west-1:444455556666:instance/i-2",
    "arn:aws:iam::111122223333:role/dev",
    "arn:aws:sqs:us-east-1:111122223333:q",
    "*",
];

/// `(key, candidate values)`; a key is present with one value, or for `aws:TagKeys` with a
/// random subset.
const CONTEXT: &[(&str, &[&str])] = &[
    (
        "aws:SourceIp",
        &[
            "10.1.2.3",
            "192.168.1.7",
            "192.168.2.1",
            "8.8.8.8",
            "2001:db8::1",
            "2001:db9::1",
        ],
    ),
    ("aws:MultiFactorAuthPresent", &["true", "false"]),
    (
        "aws:RequestedRegion",
        &["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"],
    ),
    ("aws:MultiFactorAuthAge", &["3599", "3600", "0", "86400"]),
    (
        "aws:CurrentTime",
        &[
            "2023-12-31T23:59:59Z",
            "2024-01-01T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "2024-06-30T12:00:01Z",
        ],
    ),
    ("aws:TagKeys", &["team", "env", "tx", "owner"]),
    ("aws:PrincipalTag/team", &["red", "blue"]),
    ("aws:username", &["alice", "bob"]),
    (
        "s3:prefix",
        &["home/alice/", "home/bob/x", "", "home/", "other/"],
    ),
];

// ---------------------------------------------------------------------------------------------
// Policy generators

#[derive(Clone, Debug)]
struct Stmt {
    allow: bool,
    not_action: bool,
    actions: Vec<usize>,
    not_resource: bool,
    resources: Vec<usize>,
    conditions: Vec<usize>,
    principal: Option<usize>,
}

impl Stmt {
    fn json(&self, i: usize) -> String {
        let list = |v: &[usize], from: &[&str]| {
            let items: Vec<String> = v.iter().map(|&j| format!("{:?}", from[j])).collect();
            format!("[{}]", items.join(", "))
        };
        let mut s = format!(
            r#"{{"Sid": "S{i}", "Effect": "{}", "{}": {}, "{}": {}"#,
            if self.allow { "Allow" } else { "Deny" },
            if self.not_action {
                "NotAction"
            } else {
                "Action"
            },
            list(&self.actions, ACTION_PATTERNS),
            if self.not_resource {
                "NotResource"
            } else {
                "Resource"
            },
            list(&self.resources, RESOURCE_PATTERNS),
        );
        if let Some(p) = self.principal {
            s.push_str(&format!(r#", "Principal": {}"#, POLICY_PRINCIPALS[p]));
        }
        // Group by operator; one entry per key within an operator.
        let mut ops: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for &c in &self.conditions {
            let (op, key, val) = CONDITIONS[c];
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
                    let inner: Vec<String> =
                        kv.iter().map(|(k, v)| format!(r#""{k}": {v}"#)).collect();
                    format!(r#""{op}": {{{}}}"#, inner.join(", "))
                })
                .collect();
            s.push_str(&format!(r#", "Condition": {{{}}}"#, body.join(", ")));
        }
        s.push('}');
        s
    }
}

fn policy_json(stmts: &[Stmt]) -> String {
    let body: Vec<String> = stmts.iter().enumerate().map(|(i, s)| s.json(i)).collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        body.join(", ")
    )
}

fn stmt(resource_policy: bool, allow_weight: u32) -> impl Strategy<Value = Stmt> {
    (
        prop::bool::weighted(f64::from(allow_weight) / 4.0),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..ACTION_PATTERNS.len(), 1..=2),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..RESOURCE_PATTERNS.len(), 1..=2),
        prop::collection::vec(0..CONDITIONS.len(), 0..=2),
        0..POLICY_PRINCIPALS.len(),
    )
        .prop_map(
            move |(allow, not_action, actions, not_resource, resources, conditions, p)| Stmt {
                allow,
                not_action,
                actions,
                not_resource,
                resources,
                conditions,
                principal: resource_policy.then_some(p),
            },
        )
}

fn policy(resource_policy: bool, allow_weight: u32) -> impl Strategy<Value = Vec<Stmt>> {
    prop::collection::vec(stmt(resource_policy, allow_weight), 1..=3)
}

/// One policy set, as statements (turned into JSON text and loaded by `build`).
#[derive(Clone, Debug)]
struct SetSpec {
    identity: Vec<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    scp: Option<Vec<Stmt>>,
    resource: Option<Vec<Stmt>>,
}

impl SetSpec {
    fn build(&self) -> PolicySet {
        let one = |name: &str, stmts: &[Stmt], kind: PolicyKind| -> LoadedPolicy {
            let text = policy_json(stmts);
            let l = load(name, &text, Some(kind), false);
            assert!(
                !l.has_errors(),
                "generated policy does not load: {}\n{text}",
                l.first_error().unwrap_or_default()
            );
            assert_eq!(l.policies.len(), 1, "{text}");
            l.policies.into_iter().next().unwrap()
        };
        PolicySet {
            identity: self
                .identity
                .iter()
                .enumerate()
                .map(|(i, t)| one(&format!("identity{i}.json"), t, PolicyKind::Identity))
                .collect(),
            boundary: self
                .boundary
                .as_ref()
                .map(|t| one("boundary.json", t, PolicyKind::Boundary)),
            scps: self
                .scp
                .iter()
                .map(|t| vec![one("scp.json", t, PolicyKind::Scp)])
                .collect(),
            resource: self
                .resource
                .as_ref()
                .map(|t| one("resource.json", t, PolicyKind::Resource)),
            ..PolicySet::default()
        }
    }

    /// The policies as JSON, for failure reports.
    fn texts(&self) -> String {
        let mut out = String::new();
        for p in &self.identity {
            out.push_str(&format!("identity: {}\n", policy_json(p)));
        }
        for (name, p) in [
            ("boundary", &self.boundary),
            ("scp", &self.scp),
            ("resource", &self.resource),
        ] {
            if let Some(p) = p {
                out.push_str(&format!("{name}: {}\n", policy_json(p)));
            }
        }
        out
    }
}

fn allow_all() -> Stmt {
    Stmt {
        allow: true,
        not_action: false,
        actions: vec![0],
        not_resource: false,
        resources: vec![0],
        conditions: vec![],
        principal: None,
    }
}

fn set_spec() -> impl Strategy<Value = SetSpec> {
    (
        prop::collection::vec(policy(false, 3), 0..=2),
        prop::option::weighted(0.3, policy(false, 3)),
        // An SCP layer: `Allow *` plus random statements (mostly denies), or random only.
        prop::option::weighted(
            0.3,
            (any::<bool>(), policy(false, 1)).prop_map(|(full, mut p)| {
                if full {
                    p.insert(0, allow_all());
                }
                p
            }),
        ),
        prop::option::weighted(0.4, policy(true, 3)),
    )
        .prop_map(|(identity, boundary, scp, resource)| SetSpec {
            identity,
            boundary,
            scp,
            resource,
        })
        // A set with no identity and no resource policy allows nothing.
        .prop_filter("allows something in principle", |s| {
            !s.identity.is_empty() || s.resource.is_some()
        })
}

/// A set that probably allows at least what `a` allows: `a` with a Deny dropped, an Allow
/// statement added, an Allow-only identity policy added, or its boundary or SCP removed. The
/// solver decides whether it really does; this only makes `A ⊆ B` common enough to test.
fn widened(a: SetSpec) -> impl Strategy<Value = SetSpec> {
    (0..5usize, policy(false, 4), stmt(false, 4)).prop_map(move |(how, extra, st)| {
        let mut b = a.clone();
        match how {
            0 => {
                for p in b.identity.iter_mut().chain(b.scp.iter_mut()) {
                    if let Some(i) = p.iter().position(|s| !s.allow) {
                        if p.len() > 1 {
                            p.remove(i);
                            break;
                        }
                    }
                }
            }
            1 => match b.identity.first_mut() {
                Some(p) => p.push(Stmt { allow: true, ..st }),
                None => b.identity.push(vec![Stmt { allow: true, ..st }]),
            },
            2 => b.identity.push(
                extra
                    .into_iter()
                    .map(|s| Stmt { allow: true, ..s })
                    .collect(),
            ),
            3 => b.boundary = None,
            _ => b.scp = None,
        }
        b
    })
}

fn set_pair() -> impl Strategy<Value = (SetSpec, SetSpec)> {
    prop_oneof![
        (set_spec(), set_spec()),
        set_spec().prop_flat_map(|a| (Just(a.clone()), widened(a))),
    ]
}

// ---------------------------------------------------------------------------------------------
// Requests (from a seed, so a case is a policy set plus a seed)

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
}

fn random_request(rng: &mut Rng) -> Request {
    let principal = rng.pick(REQ_PRINCIPALS).to_string();
    let mut context = Context::default();
    for (key, values) in CONTEXT {
        // aws:username is derived from the caller (issue 10, `semantics::derived_key`): an
        // IAM user's own name, always; absent for every other caller. Proofs range over the
        // requests AWS sends, so only those test them.
        if *key == "aws:username" {
            let c = tarski_compiler::request::Caller::of(&principal);
            if c.kind == tarski_compiler::request::CallerKind::User {
                let name = principal.rsplit('/').next().unwrap_or("alice").to_string();
                context.set(key, vec![name]);
            }
            continue;
        }
        if !rng.chance(1, 2) {
            continue;
        }
        if *key == "aws:TagKeys" {
            let chosen: Vec<String> = values
                .iter()
                .filter(|_| rng.chance(1, 2))
                .map(|v| v.to_string())
                .collect();
            context.set(key, chosen);
        } else {
            context.set(key, vec![rng.pick(values).to_string()]);
        }
    }
    // Requests AWS sends (issue 10): a resource of one of the action's resource types. Proofs
    // range over those; an ill-typed request is not a counterexample.
    let action = rng.pick(REQ_ACTIONS).to_string();
    let typed: Vec<&str> = REQ_RESOURCES
        .iter()
        .copied()
        .filter(|r| tarski_compiler::semantics::well_typed(&action, r))
        .collect();
    assert!(
        !typed.is_empty(),
        "no resource in the vocabulary for {action}"
    );
    Request {
        principal,
        resource: rng.pick(&typed).to_string(),
        action,
        // Usually the default (the ARN's account, else the caller's); sometimes an S3 bucket
        // owned by another account, to make cross-account requests.
        resource_account: rng
            .chance(1, 5)
            .then(|| rng.pick(&["111122223333", "444455556666"]).to_string()),
        context,
    }
}

fn requests(seed: u64) -> Vec<Request> {
    let mut rng = Rng(seed);
    (0..REQUESTS).map(|_| random_request(&mut rng)).collect()
}

// ---------------------------------------------------------------------------------------------
// Constraint expressions

const EXPR_ATOMS: &[&str] = &[
    "aws:SourceIp in 10.0.0.0/8",
    "aws:SourceIp not in 192.168.1.0/24",
    "!aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthPresent",
    "action like \"s3:*\"",
    "action == \"s3:GetObject\"",
    "resource like \"arn:aws:s3:::b/*\"",
    "aws:RequestedRegion == \"us-east-1\"",
    "aws:RequestedRegion != \"eu-west-1\"",
    "aws:MultiFactorAuthAge < 3600",
    "aws:SourceIp absent",
    "aws:TagKeys present",
    "principal == \"arn:aws:iam::111122223333:user/alice\"",
];

fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(EXPR_ATOMS).prop_map(str::to_string);
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

/// Does the request satisfy the expression? Decided as `check.rs` does for its replay: lower
/// the expression and evaluate the formula on the request.
fn satisfies(e: &Expr, req: &Request) -> bool {
    let builder = Builder::default();
    let mut slots = Slots::for_conditions(e.conditions().into_iter());
    slots.fit(req);
    let view = SymbolicView {
        builder: &builder,
        slots: &slots,
    };
    let f = view.lower_expr(e);
    let atoms = builder.atoms();
    ir_eval(&f, &atoms, req)
}

// ---------------------------------------------------------------------------------------------
// The properties, as plain functions (used by proptest and by the seeded sweep)

#[derive(Default)]
struct Counts {
    cases: AtomicUsize,
    proved: AtomicUsize,
    witnesses: AtomicUsize,
    unknown: AtomicUsize,
    /// Requests on which a proof was tested (the premise held: for `can`, every request of a
    /// proved case; for `escapes`, A allows; for a constraint, the request satisfies it).
    tested: AtomicUsize,
}

impl Counts {
    fn new() -> Counts {
        Counts::default()
    }

    fn record(&self, v: &Verdict) {
        self.cases.fetch_add(1, Ordering::Relaxed);
        match v {
            Verdict::Proved => &self.proved,
            Verdict::Witnesses(_) => &self.witnesses,
            Verdict::Unknown(why) => {
                eprintln!("unknown: {why}");
                &self.unknown
            }
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn finish(&self, name: &str) {
        let n = self.cases.load(Ordering::Relaxed);
        let u = self.unknown.load(Ordering::Relaxed);
        eprintln!(
            "{name}: {n} solver calls: {} proved, {} with witnesses, {u} unknown; proofs tested on {} requests",
            self.proved.load(Ordering::Relaxed),
            self.witnesses.load(Ordering::Relaxed),
            self.tested.load(Ordering::Relaxed),
        );
        assert!(
            u * 100 <= n * MAX_UNKNOWN_PERCENT,
            "{name}: {u} of {n} solver calls were unknown"
        );
        // A property whose premise never held tested nothing: that must fail, not pass.
        assert!(
            self.tested.load(Ordering::Relaxed) > 0,
            "{name}: no proof was tested on any request (no case was proved?)"
        );
    }
}

/// The solver's report; a replay mismatch fails the property.
fn replayed(
    r: Result<Report, Box<ReplayMismatch>>,
    what: &str,
    policies: &str,
    counts: &Counts,
) -> Result<Report, TestCaseError> {
    match r {
        Ok(report) => {
            counts.record(&report.verdict);
            Ok(report)
        }
        Err(m) => Err(TestCaseError::fail(format!(
            "replay mismatch ({what}): {m}\n{policies}"
        ))),
    }
}

/// Warn about slow solver calls (they dominate the run time).
fn timed<T>(what: &str, specs: &[&SetSpec], f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let t = start.elapsed();
    if t > Duration::from_secs(2) {
        let texts: Vec<String> = specs.iter().map(|s| s.texts()).collect();
        eprintln!("slow ({t:?}) {what}:\n{}", texts.join("--\n"));
    }
    out
}

/// `sts:GetCallerIdentity` is allowed to every caller with credentials, whatever the policies
/// say (docs/semantics.md), so "can any request get through?" is always reachable and would never
/// produce a proof to test. The questions leave that one action out; the random requests never
/// use it.
const NOT_CALLER_IDENTITY: &str = r#"action != "sts:GetCallerIdentity""#;

fn check_can(spec: &SetSpec, seed: u64, counts: &Counts) -> Result<(), TestCaseError> {
    let set = spec.build();
    let e = parse_expr(NOT_CALLER_IDENTITY).expect("the constraint parses");
    let r = timed("can", &[spec], || can(&set, Some(&e), &opts()));
    let report = replayed(r, "can", &spec.texts(), counts)?;
    if report.verdict != Verdict::Proved {
        return Ok(());
    }
    for r in requests(seed) {
        counts.tested.fetch_add(1, Ordering::Relaxed);
        if evaluate(&set, &r).decision == Decision::Allow {
            return Err(TestCaseError::fail(format!(
                "can proved no request is allowed, but the evaluator allows {r:#?}\n{}",
                spec.texts()
            )));
        }
    }
    Ok(())
}

fn check_escapes(
    a: &SetSpec,
    b: &SetSpec,
    seed: u64,
    counts: &Counts,
) -> Result<(), TestCaseError> {
    let (sa, sb) = (a.build(), b.build());
    // Reflexivity: a witness would be a replay mismatch, which is itself the failure.
    let refl = timed("escapes(A, A)", &[a], || escapes(&sa, &sa, None, &opts())).map_err(|m| {
        TestCaseError::fail(format!("escapes(A, A) has a witness: {m}\n{}", a.texts()))
    })?;
    counts.record(&refl.verdict);
    if let Verdict::Witnesses(w) = &refl.verdict {
        return Err(TestCaseError::fail(format!(
            "escapes(A, A) has a witness: {:#?}\n{}",
            w[0].request,
            a.texts()
        )));
    }
    let r = timed("escapes(A, B)", &[a, b], || {
        escapes(&sa, &sb, None, &opts())
    });
    let report = replayed(
        r,
        "escapes",
        &format!("A:\n{}B:\n{}", a.texts(), b.texts()),
        counts,
    )?;
    // Containment proved from statements alone must agree with the solver.
    if tarski_solver::fastpath::contained_by_statements(&sa, &sb)
        && report.verdict != Verdict::Proved
    {
        return Err(TestCaseError::fail(format!(
            "statement containment claims A ⊆ B but the solver finds {:?}\nA:\n{}B:\n{}",
            report.verdict,
            a.texts(),
            b.texts()
        )));
    }
    // The goal's reductions (`fastpath::without_shared_allows` / `without_unrelated_allows`,
    // used when syntax is on) must decide the same question as the full goal.
    let a2 = tarski_solver::fastpath::without_shared_allows(&sa, &sb);
    let ra = a2.as_ref().unwrap_or(&sa);
    let b2 = tarski_solver::fastpath::without_unrelated_allows(ra, &sb);
    if a2.is_some() || b2.is_some() {
        let rb = b2.as_ref().unwrap_or(&sb);
        if let Ok(r2) = escapes(ra, rb, None, &opts()) {
            let kind = |v: &Verdict| match v {
                Verdict::Proved => Some(true),
                Verdict::Witnesses(_) => Some(false),
                Verdict::Unknown(_) => None,
            };
            if let (Some(x), Some(y)) = (kind(&report.verdict), kind(&r2.verdict)) {
                if x != y {
                    return Err(TestCaseError::fail(format!(
                        "the reduced goal answers {:?}, the full goal {:?}\nA:\n{}B:\n{}",
                        r2.verdict,
                        report.verdict,
                        a.texts(),
                        b.texts()
                    )));
                }
            }
        }
    }
    if report.verdict != Verdict::Proved {
        return Ok(());
    }
    for r in requests(seed) {
        if evaluate(&sa, &r).decision != Decision::Allow {
            continue;
        }
        counts.tested.fetch_add(1, Ordering::Relaxed);
        let db = evaluate(&sb, &r).decision;
        if db != Decision::Allow {
            return Err(TestCaseError::fail(format!(
                "escapes proved A ⊆ B, but A allows and B says {} for {r:#?}\nA:\n{}B:\n{}",
                db.as_str(),
                a.texts(),
                b.texts()
            )));
        }
    }
    Ok(())
}

fn check_constraint(
    spec: &SetSpec,
    expr: &str,
    seed: u64,
    counts: &Counts,
) -> Result<(), TestCaseError> {
    let set = spec.build();
    let expr = &format!("({expr}) and {NOT_CALLER_IDENTITY}");
    let e = parse_expr(expr).map_err(|err| TestCaseError::fail(format!("{expr}: {err}")))?;
    let r = timed(expr, &[spec], || can(&set, Some(&e), &opts()));
    let report = replayed(r, expr, &spec.texts(), counts)?;
    if report.verdict != Verdict::Proved {
        return Ok(());
    }
    for r in requests(seed) {
        if !satisfies(&e, &r) {
            continue;
        }
        counts.tested.fetch_add(1, Ordering::Relaxed);
        if evaluate(&set, &r).decision == Decision::Allow {
            return Err(TestCaseError::fail(format!(
                "can proved no allowed request meets `{expr}`, but the evaluator allows {r:#?}\n{}",
                spec.texts()
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tests

fn run<S: Strategy>(
    name: &str,
    mut runner: TestRunner,
    strategy: S,
    test: impl Fn(S::Value, &Counts) -> Result<(), TestCaseError>,
) {
    let counts = Counts::new();
    let result = runner.run(&strategy, |v| test(v, &counts));
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    counts.finish(name);
}

#[test]
fn proved_unreachable_is_never_allowed() {
    run(
        "proved_unreachable_is_never_allowed",
        TestRunner::new_with_rng(config(), TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
        (set_spec(), any::<u64>()),
        |(spec, seed), c| check_can(&spec, seed, c),
    );
}

#[test]
fn proved_subset_holds_on_requests() {
    run(
        "proved_subset_holds_on_requests",
        TestRunner::new_with_rng(config(), TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
        (set_pair(), any::<u64>()),
        |((a, b), seed), c| check_escapes(&a, &b, seed, c),
    );
}

#[test]
fn constraint_is_respected() {
    run(
        "constraint_is_respected",
        TestRunner::new_with_rng(config(), TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
        (set_spec(), expr_text(), any::<u64>()),
        |(spec, expr, seed), c| check_constraint(&spec, &expr, seed, c),
    );
}

// ---------------------------------------------------------------------------------------------
// Disagreements found by the properties, minimised. Each is a plain test, ignored until fixed.

fn identity_set(policy: &str) -> PolicySet {
    let l = load("identity.json", policy, Some(PolicyKind::Identity), false);
    assert!(!l.has_errors(), "{:?}", l.first_error());
    PolicySet {
        identity: l.policies,
        ..PolicySet::default()
    }
}

/// `IpAddress` needs an address in 10.0.0.0/8; the witness says `0.0.0.0` (IPv6: `::`).
/// Cause: `encode::Encoded::decode` reads the bit-vector with
/// `Int::from_bv(&model_value, false).as_u128()`; `bv2int(#x...)` is not a numeral AST until
/// simplified, so `as_u128` is `None` and the address falls back to 0.
#[test]
fn bug_ip_witness_decodes_as_zero() {
    for cidr in ["10.0.0.0/8", "2001:db8::/32"] {
        let set = identity_set(&format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {{"IpAddress": {{"aws:SourceIp": "{cidr}"}}}}}}]}}"#
        ));
        let report = can(&set, None, &Options::default());
        assert!(report.is_ok(), "{cidr}: {}", report.unwrap_err());
    }
}

/// `DateGreaterThan 2024-06-30T12:00:00Z`: Z3 picks one nanosecond later, the witness prints
/// it as `2024-06-30T12:00:00Z` (`value::format_date` drops fractions), which is not greater.
#[test]
fn bug_date_witness_loses_subsecond() {
    let set = identity_set(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-06-30T12:00:00Z"}}}]}"#,
    );
    let report = can(&set, None, &Options::default());
    assert!(report.is_ok(), "{}", report.unwrap_err());
}
