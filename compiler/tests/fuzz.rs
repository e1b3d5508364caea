//! Property tests: no input makes the loader, the linter or the evaluator panic, and the JSON
//! reader agrees with `serde_json`.
//!
//! Cases per property: 256, or `PROPTEST_CASES` when set (e.g. `PROPTEST_CASES=20000` for a
//! longer hunt).
//!
//! Known, intended differences from `serde_json` (excluded from the agreement properties):
//! - duplicate object keys: rejected here (T0002), accepted by serde (last one wins);
//! - nesting deeper than `json::MAX_DEPTH` (64): rejected here (T0004); serde allows 128;
//! - a leading UTF-8 byte order mark: skipped here, rejected by serde;
//! - numbers outside the f64 range (`1e400`): kept as text here, rejected by serde.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Map, Value};

use tarski_compiler::eval::evaluate;
use tarski_compiler::json::{self, Json, JsonKind};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::{Context, Request};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Failures are reported in the test output; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

const KEYS: &[&str] = &[
    "Version",
    "Statement",
    "Sid",
    "Id",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "CanonicalUser",
    "PolicyVersion",
    "Document",
];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateGreaterThan",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotLike",
    "Null",
    "StringLikeIfExists",
    "ForAllValues:StringEquals",
    "ForAnyValue:StringLike",
    "ForAnyValue:ArnLike",
    "ForAllValues:NumericLessThan",
    "ForAllValues:Null",
    "StringEqualz",
    "ForSomeValues:StringEquals",
    "IfExists",
    "",
];

const COND_KEYS: &[&str] = &[
    "aws:SourceIp",
    "aws:username",
    "aws:PrincipalTag/team",
    "aws:RequestTag/${aws:username}",
    "aws:TagKeys",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:SecureTransport",
    "aws:MultiFactorAuthAge",
    "aws:PrincipalArn",
    "aws:SourceArn",
    "aws:PrincipalOrgID",
    "s3:prefix",
    "s3:max-keys",
    "ec2:ResourceTag/env",
    "kms:ViaService",
    "nosuch:Key",
    "",
];

const STRINGS: &[&str] = &[
    "Allow",
    "Deny",
    "allow",
    "2012-10-17",
    "2008-10-17",
    "*",
    "",
    "?",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "S3:getobject",
    "iam:PassRole",
    "ec2:Describe*",
    "*:*",
    "s3:",
    ":",
    "sts:AssumeRole",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::${aws:PrincipalTag/team}",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:role/R",
    "arn:aws:sts::111122223333:assumed-role/R/s",
    "arn:aws:*:*:*:*",
    "arn:aws",
    "arn:::::",
    "arn:aws:ec2:us-east-1:111122223333:instance/*",
    "111122223333",
    "ec2.amazonaws.com",
    "cognito-identity.amazonaws.com",
    "10.0.0.0/8",
    "192.0.2.1",
    "2001:db8::/32",
    "::1",
    "10.0.0.0/33",
    "2020-01-01T00:00:00Z",
    "2020-01-01",
    "1577836800",
    "true",
    "false",
    "3600",
    "-1.5",
    "1e3",
    "aGVsbG8=",
    "${aws:username}",
    "${*}",
    "${?}",
    "${$}",
    "${",
    "${aws:username",
    "${aws:PrincipalTag/team, 'x'}",
    "o-abc123",
    "%7B%7D",
    "\u{0}",
    "é*ü",
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(STRINGS).prop_map(str::to_string),
        1 => prop::sample::select(COND_KEYS).prop_map(str::to_string),
        1 => "[a-z0-9:*?$/{}.\\-]{0,20}",
        1 => any::<String>(),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        2 => prop::sample::select(OPERATORS).prop_map(str::to_string),
        2 => prop::sample::select(COND_KEYS).prop_map(str::to_string),
        1 => arb_string(),
    ]
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        6 => arb_string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON with policy-ish keys and values.
fn arb_json() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A value for `Action`, `Resource`, condition values, ...: mostly a string or a list of them.
fn arb_strings() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_string().prop_map(Value::String),
        3 => prop::collection::vec(arb_string().prop_map(Value::String), 0..4).prop_map(Value::Array),
        1 => arb_json(),
    ]
}

/// Strings or lists of strings, mostly from `good`, so that many statements parse.
fn arb_elem(good: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let one = prop_oneof![
        6 => prop::sample::select(good).prop_map(|s| Value::String(s.to_string())),
        1 => arb_string().prop_map(Value::String),
    ];
    prop_oneof![
        8 => one.clone(),
        6 => prop::collection::vec(one, 1..4).prop_map(Value::Array),
        1 => prop::collection::vec(arb_string().prop_map(Value::String), 0..2).prop_map(Value::Array),
        1 => arb_json(),
    ]
}

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "S3:getobject",
    "s3:?etObject",
    "iam:PassRole",
    "ec2:Describe*",
    "sts:AssumeRole",
    "*:Get*",
    "ec2:RunInstances",
    "kms:*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::${aws:PrincipalTag/team}/*",
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:*:*:111122223333:*",
    "arn:aws:s3:::b/${*}?",
];

fn arb_principal() -> impl Strategy<Value = Value> {
    let kinds =
        prop::sample::select(&["AWS", "Service", "Federated", "CanonicalUser", "Bogus"][..]);
    prop_oneof![
        2 => Just(Value::String("*".into())),
        4 => prop::collection::vec((kinds, arb_strings()), 0..3)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        1 => arb_json(),
    ]
}

fn arb_condition() -> impl Strategy<Value = Value> {
    let block = prop::collection::vec(
        (
            prop::sample::select(COND_KEYS).prop_map(str::to_string),
            arb_strings(),
        ),
        0..3,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()));
    prop_oneof![
        6 => prop::collection::vec(
            (prop::sample::select(OPERATORS).prop_map(str::to_string), block),
            0..3,
        )
        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        1 => arb_json(),
    ]
}

/// A statement: a random subset of the statement elements, sometimes with a stray key.
fn arb_statement() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(0.95, prop_oneof![
            4 => prop::sample::select(&["Allow", "Deny"][..]).prop_map(|s| Value::String(s.into())),
            1 => arb_scalar(),
        ]),
        prop::option::weighted(0.3, arb_string().prop_map(Value::String)),
        prop::option::weighted(0.95, (any::<bool>(), arb_elem(ACTIONS))),
        prop::option::weighted(0.9, (any::<bool>(), arb_elem(RESOURCES))),
        prop::option::weighted(0.3, (any::<bool>(), arb_principal())),
        prop::option::weighted(0.5, arb_condition()),
        prop::option::weighted(0.05, (arb_key(), arb_json())),
    )
        .prop_map(|(effect, sid, action, resource, principal, condition, extra)| {
            let mut m = Map::new();
            if let Some(e) = effect {
                m.insert("Effect".into(), e);
            }
            if let Some(s) = sid {
                m.insert("Sid".into(), s);
            }
            if let Some((not, a)) = action {
                m.insert(if not { "NotAction" } else { "Action" }.into(), a);
            }
            if let Some((not, r)) = resource {
                m.insert(if not { "NotResource" } else { "Resource" }.into(), r);
            }
            if let Some((not, p)) = principal {
                m.insert(if not { "NotPrincipal" } else { "Principal" }.into(), p);
            }
            if let Some(c) = condition {
                m.insert("Condition".into(), c);
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

fn arb_policy() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(
            0.9,
            prop_oneof![
                4 => prop::sample::select(&["2012-10-17", "2008-10-17"][..]).prop_map(|s| Value::String(s.into())),
                1 => arb_scalar(),
            ],
        ),
        prop_oneof![
            3 => prop::collection::vec(arb_statement(), 0..4).prop_map(Value::Array),
            2 => arb_statement(),
            1 => arb_json(),
        ],
        prop::option::weighted(0.1, arb_string().prop_map(Value::String)),
    )
        .prop_map(|(version, statement, id)| {
            let mut m = Map::new();
            if let Some(v) = version {
                m.insert("Version".into(), v);
            }
            m.insert("Statement".into(), statement);
            if let Some(i) = id {
                m.insert("Id".into(), i);
            }
            Value::Object(m)
        })
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A policy document as text, in one of the wrappers `document::read_documents` accepts.
fn arb_policy_text() -> impl Strategy<Value = String> {
    (arb_policy(), 0..6u8).prop_map(|(p, wrap)| {
        let text = serde_json::to_string_pretty(&p).unwrap();
        match wrap {
            0 | 1 => text,
            2 => serde_json::to_string(&Value::Array(vec![p.clone(), p])).unwrap(),
            3 => {
                serde_json::json!({"PolicyVersion": {"Document": p, "VersionId": "v1"}}).to_string()
            }
            4 => serde_json::json!({"PolicyVersion": {"Document": percent_encode(&text)}})
                .to_string(),
            _ => percent_encode(&text),
        }
    })
}

fn arb_kind() -> impl Strategy<Value = Option<PolicyKind>> {
    prop::option::of(prop::sample::select(&PolicyKind::ALL[..]))
}

fn arb_request() -> impl Strategy<Value = Request> {
    let principal = prop_oneof![
        prop::sample::select(
            &[
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:iam::111122223333:root",
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "arn:aws:sts::444455556666:federated-user/bob",
                "ec2.amazonaws.com",
                "anonymous",
                "*",
                "",
                "arn:aws:iam::",
            ][..]
        )
        .prop_map(str::to_string),
        arb_string(),
    ];
    let action = prop_oneof![
        prop::sample::select(
            &[
                "s3:GetObject",
                "iam:PassRole",
                "ec2:RunInstances",
                "sts:AssumeRole",
                "",
                ":",
                "s3:"
            ][..]
        )
        .prop_map(str::to_string),
        arb_string(),
    ];
    let resource = prop_oneof![
        prop::sample::select(
            &[
                "arn:aws:s3:::b/k",
                "arn:aws:s3:::b",
                "arn:aws:iam::111122223333:role/R",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
                "*",
                "",
                "arn:",
            ][..]
        )
        .prop_map(str::to_string),
        arb_string(),
    ];
    let context = prop::collection::vec(
        (
            prop::sample::select(COND_KEYS).prop_map(str::to_string),
            prop::collection::vec(arb_string(), 0..3),
        ),
        0..5,
    );
    (
        principal,
        action,
        resource,
        prop::option::of(prop::sample::select(
            &["111122223333", "444455556666", ""][..],
        )),
        context,
    )
        .prop_map(|(principal, action, resource, acct, ctx)| {
            let mut context = Context::default();
            for (k, v) in ctx {
                context.set(&k, v);
            }
            Request {
                principal,
                action,
                resource,
                resource_account: acct.map(str::to_string),
                context,
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Load with lint and evaluate every resulting policy in every role; must not panic.
fn load_and_evaluate(text: &str, kind: Option<PolicyKind>, req: &Request) {
    let loaded = load("fuzz.json", text, kind, true);
    // Diagnostics must point inside their source.
    for s in &loaded.diagnostics {
        for d in &s.diagnostics {
            assert!(
                d.span.start <= d.span.end && (d.span.end as usize) <= s.source.text.len(),
                "span {:?} outside a source of {} bytes: {d:?}",
                d.span,
                s.source.text.len()
            );
            let _ = s.source.line_col(d.span.start as usize);
        }
    }
    let _ = loaded.first_error();
    for p in &loaded.policies {
        let sets = [
            PolicySet {
                identity: vec![p.clone()],
                ..Default::default()
            },
            PolicySet {
                identity: vec![p.clone()],
                boundary: Some(p.clone()),
                session: Some(p.clone()),
                ..Default::default()
            },
            PolicySet {
                scps: vec![vec![p.clone()]],
                rcps: vec![vec![p.clone()]],
                resource: Some(p.clone()),
                ..Default::default()
            },
        ];
        for set in &sets {
            let decided = evaluate(set, req).decision;
            // The logic IR decides the same request the same way (issue: ir.eval == decide).
            let ir = tarski_compiler::logic::lower::decide_via_ir(set, req);
            assert_eq!(
                ir, decided,
                "IR and evaluator disagree on {req:?} for {text}"
            );
        }
    }
}

/// Our JSON tree as a serde value, numbers read by serde from their source text.
fn to_serde(j: &Json) -> Value {
    match &j.kind {
        JsonKind::Null => Value::Null,
        JsonKind::Bool(b) => Value::Bool(*b),
        JsonKind::Number(n) => serde_json::from_str(n).expect("number text serde accepts"),
        JsonKind::String(s) => Value::String(s.clone()),
        JsonKind::Array(items) => Value::Array(items.iter().map(to_serde).collect()),
        JsonKind::Object(members) => Value::Object(
            members
                .iter()
                .map(|m| (m.key.clone(), to_serde(&m.value)))
                .collect(),
        ),
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Check agreement with serde_json on one text.
fn agrees_with_serde(text: &str) -> Result<(), TestCaseError> {
    let ours = json::parse(text);
    let serde_text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match (serde_json::from_str::<Value>(serde_text), ours) {
        (Ok(v), Ok(j)) => {
            prop_assert_eq!(to_serde(&j), v, "different trees for {:?}", text);
        }
        (Ok(v), Err(e)) => {
            // Only duplicate keys and our lower depth bound may reject what serde accepts.
            let allowed = e.code == "T0002" || (e.code == "T0004" && depth(&v) >= json::MAX_DEPTH);
            prop_assert!(allowed, "we reject what serde accepts: {:?}: {:?}", text, e);
        }
        (Err(se), Ok(_)) => {
            prop_assert!(
                se.to_string().contains("number out of range"),
                "we accept what serde rejects ({}): {:?}",
                se,
                text
            );
        }
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

/// Small edits to a valid text, to reach the interesting near-valid inputs.
fn mutate(text: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(pos, op, c) in edits {
        let i = if chars.is_empty() {
            0
        } else {
            pos % (chars.len() + 1)
        };
        match op % 3 {
            0 if i < chars.len() => {
                chars.remove(i);
            }
            1 => chars.insert(i, c),
            _ if i < chars.len() => chars[i] = c,
            _ => chars.push(c),
        }
    }
    chars.into_iter().collect()
}

fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(&['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', '1', '-', '.', 'e', 'E', '+', 'u', 't', 'n', 'f', '\u{0}', '\u{7f}', '\u{feff}'][..]),
        1 => any::<char>(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Spec and manifest text built from the tokens of their grammars (issue 15: every input kind).
fn arb_spec_text() -> impl Strategy<Value = String> {
    let toks = prop::sample::select(
        &[
            "policy ",
            "policies ",
            "set ",
            "include ",
            "assert ",
            "can(",
            "cannot(",
            "subset(",
            "equiv(",
            "p",
            "q",
            ", ",
            ")",
            "(",
            "not ",
            "! ",
            " and ",
            " or ",
            " && ",
            " || ",
            "action ",
            "resource ",
            "principal ",
            "== ",
            "!= ",
            "like ",
            "in ",
            "[",
            "]",
            "{",
            "}",
            "= ",
            "\"s3:Get*\"",
            "\"p.json\"",
            "aws:SourceIp ",
            "10.0.0.0/8 ",
            "present ",
            "absent ",
            "label \"x\" ",
            "severity warning ",
            "\n",
            "# c\n",
            "\"",
            "\u{1b}",
            "identity = ",
            "scps = ",
            "1e400 ",
            "2024-01-01T00:00:00Z ",
        ][..],
    );
    prop::collection::vec(toks, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    /// Specs, `--where` expressions and manifests never panic, whatever the text (their
    /// nesting is bounded: `spec::MAX_NESTING`).
    #[test]
    fn specs_expressions_and_manifests_do_not_panic(text in arb_spec_text(), junk in any::<String>()) {
        let _ = tarski_compiler::spec::parse_spec(&text);
        let _ = tarski_compiler::query::parse_expr(&text);
        let _ = tarski_compiler::spec::parse_spec(&junk);
        let _ = tarski_compiler::policy_set::Manifest::parse(&junk, false);
        let _ = tarski_compiler::policy_set::Manifest::parse(&junk, true);
        if let Ok(items) = tarski_compiler::spec::parse_spec(&text) {
            let _ = tarski_compiler::spec::check::check(&items);
        }
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), kind in arb_kind(), req in arb_request()) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = json::parse(&text);
        load_and_evaluate(&text, kind, &req);
    }

    #[test]
    fn arbitrary_unicode_does_not_panic(text in any::<String>(), kind in arb_kind(), req in arb_request()) {
        load_and_evaluate(&text, kind, &req);
        agrees_with_serde(&text)?;
    }

    #[test]
    fn url_encoded_junk_does_not_panic(text in "%7[bB][%0-9A-Fa-f\"a-z:{}\\[\\], ]{0,40}", req in arb_request()) {
        load_and_evaluate(&text, None, &req);
        let wrapped = serde_json::to_string(&text).unwrap();
        load_and_evaluate(&wrapped, None, &req);
    }


    #[test]
    fn json_reader_agrees_with_serde_on_valid_json(v in arb_json(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        let j = json::parse(&text);
        prop_assert!(j.is_ok(), "valid JSON rejected: {:?}: {:?}", text, j);
        // Compare with serde's reading of the text, not `v`: serde's default float parser is
        // not round-trip exact (it lacks the `float_roundtrip` feature), ours defers to it.
        let expected: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(to_serde(&j.unwrap()), expected);
    }

    #[test]
    fn json_reader_agrees_with_serde_on_near_valid_json(
        v in arb_json(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), json_char()), 1..4),
    ) {
        agrees_with_serde(&mutate(&v.to_string(), &edits))?;
    }

    #[test]
    fn json_reader_agrees_with_serde_on_json_alphabet(
        chars in prop::collection::vec(json_char(), 0..40),
    ) {
        agrees_with_serde(&chars.into_iter().collect::<String>())?;
    }
}

/// Run a property on a thread with a large stack: generating the nested policy strategies
/// recurses deeply in proptest itself (in debug builds a few thousand cases overflow the
/// default 2 MiB test-thread stack before any Tarski code runs).
fn run_with_big_stack<S: Strategy + 'static>(strategy: fn() -> S, test: fn(S::Value)) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut runner = proptest::test_runner::TestRunner::new(config());
            if let Err(e) = runner.run(&strategy(), |v| {
                test(v);
                Ok(())
            }) {
                panic!("{e}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn arbitrary_json_does_not_panic() {
    run_with_big_stack(
        || (arb_json(), arb_kind(), arb_request()),
        |(v, kind, req)| load_and_evaluate(&v.to_string(), kind, &req),
    );
}

#[test]
fn policy_like_documents_do_not_panic() {
    run_with_big_stack(
        || (arb_policy_text(), arb_kind(), arb_request()),
        |(text, kind, req)| load_and_evaluate(&text, kind, &req),
    );
}

#[test]
fn duplicate_keys_rejected_where_serde_keeps_the_last() {
    let text = r#"{"Effect": "Allow", "Effect": "Deny"}"#;
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap()["Effect"],
        "Deny"
    );
    assert_eq!(json::parse(text).unwrap_err().code, "T0002");
}

#[test]
fn known_differences_from_serde() {
    // Depth: ours stops at MAX_DEPTH, serde at 128.
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert!(serde_json::from_str::<Value>(&deep).is_ok());
    assert_eq!(json::parse(&deep).unwrap_err().code, "T0004");
    // A byte order mark is skipped.
    assert!(json::parse("\u{feff}{}").is_ok());
    // Out-of-range numbers are kept as text.
    assert!(serde_json::from_str::<Value>("1e400").is_err());
    assert!(matches!(json::parse("1e400").unwrap().kind, JsonKind::Number(ref n) if n == "1e400"));
}
