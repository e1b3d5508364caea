//! Policy variables in the engine (no syntactic fast path): a template that must *not* match
//! (the right side of `escapes`) is encoded exactly, so every witness replays; with a wildcard
//! before a variable the encoding over-approximates there, and a candidate that does not
//! replay is `unknown`, never a mismatch and never a wrong proof.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{common_limits, require_cvc5};
use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::{Context, Request};
use tarski_solver::{escapes, Options, Verdict};

fn set(resource: &str) -> PolicySet {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "{resource}"}}]}}"#
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

fn engine() -> Options {
    require_cvc5();
    Options {
        witnesses: 3,
        known_actions: false,
        syntactic: false,
        // Deterministic limits (a busy machine cannot turn an answer into `unknown`), and
        // both solvers on every query: a contradiction between them fails the test.
        resources: Some(common_limits()),
        cross_check: true,
        ..Options::default()
    }
}

fn allowed(s: &PolicySet, resource: &str, key: &str, value: &str) -> bool {
    let mut context = Context::default();
    context.set(key, vec![value.to_string()]);
    let r = Request {
        principal: "arn:aws:iam::111122223333:user/u".into(),
        action: "s3:GetObject".into(),
        resource: resource.into(),
        resource_account: None,
        context,
    };
    evaluate(s, &r).decision == Decision::Allow
}

#[test]
fn a_template_that_must_not_match_gives_replayable_witnesses() {
    let cases = [
        (
            "${tarski:GetAtt/B.Arn}/*",
            "${tarski:GetAtt/B.Arn}/reports/*",
        ),
        (
            "arn:aws:s3:::b/home/${aws:username}/*",
            "arn:aws:s3:::b/home/${aws:username}/k*",
        ),
        (
            "arn:aws:s3:::b/${aws:username}?/*",
            "arn:aws:s3:::b/${aws:username}a/*",
        ),
    ];
    for (wide, narrow) in cases {
        let (a, b) = (set(wide), set(narrow));
        // Z3 may pick different models on different runs; each must replay.
        for _ in 0..5 {
            match escapes(&a, &b, None, &engine()) {
                Ok(r) => match r.verdict {
                    Verdict::Witnesses(ws) => assert!(!ws.is_empty()),
                    v => panic!("{wide} vs {narrow}: expected witnesses, got {v:?}"),
                },
                Err(m) => panic!("{wide} vs {narrow}: replay mismatch: {m}"),
            }
            match escapes(&b, &a, None, &engine()) {
                Ok(r) => assert_eq!(r.verdict, Verdict::Proved, "{narrow} within {wide}"),
                Err(m) => panic!("{narrow} vs {wide}: replay mismatch: {m}"),
            }
        }
    }
}

#[test]
fn a_wildcard_before_a_variable_is_never_a_wrong_answer() {
    let wide = set("arn:aws:s3:::*/${aws:username}/*");
    let narrow = set("arn:aws:s3:::*/${aws:username}/k*");
    for _ in 0..3 {
        // `narrow` allows nothing `wide` does not: a proof, or at worst unknown.
        match escapes(&narrow, &wide, None, &engine()) {
            Ok(r) => assert!(
                matches!(r.verdict, Verdict::Proved | Verdict::Unknown(_)),
                "{:?}",
                r.verdict
            ),
            Err(m) => panic!("replay mismatch: {m}"),
        }
        // `wide` allows more: witnesses that replay, or unknown; never a proof.
        match escapes(&wide, &narrow, None, &engine()) {
            Ok(r) => match r.verdict {
                Verdict::Witnesses(ws) => {
                    for w in ws {
                        let user = w.request.context.get("aws:username").unwrap()[0].clone();
                        assert!(allowed(&wide, &w.request.resource, "aws:username", &user));
                        assert!(!allowed(
                            &narrow,
                            &w.request.resource,
                            "aws:username",
                            &user
                        ));
                    }
                }
                Verdict::Unknown(_) => {}
                Verdict::Proved => panic!("wrong proof: wide is not within narrow"),
            },
            Err(m) => panic!("replay mismatch: {m}"),
        }
    }
}

fn conditioned(op: &str, value: &str) -> PolicySet {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "identitystore:DescribeUser", "Resource": "*",
 "Condition": {{"{op}": {{"identitystore:UserExternalIdIssuers": "{value}"}}, "Null": {{"identitystore:UserExternalIdIssuers": "false"}}}}}}]}}"#
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

/// A multivalued key *compared with* a value that holds a policy variable (the shape of
/// `AWSIdentityCenterExternalManagementPolicy`: `ForAllValues:ArnEquals` on
/// `identitystore:UserExternalIdIssuers` against `...${aws:PrincipalTag/...}`) is an ordinary
/// comparison of each value with the substituted template: answered, not `unknown` as a
/// "multivalued key used as a policy variable" (AWS only forbids *reading* such a key as the
/// variable). The proof is attacked with value sets around the template.
#[test]
fn a_multivalued_key_compared_with_a_template_is_answered() {
    let narrow = conditioned(
        "ForAllValues:ArnEquals",
        "arn:aws:identitystore::*:tenant/${aws:PrincipalTag/T}/x",
    );
    let wide = conditioned(
        "ForAllValues:ArnLike",
        "arn:aws:identitystore::*:tenant/${aws:PrincipalTag/T}/*",
    );
    match escapes(&narrow, &wide, None, &engine()) {
        Ok(r) => assert_eq!(r.verdict, Verdict::Proved, "narrow within wide"),
        Err(m) => panic!("replay mismatch: {m}"),
    }
    match escapes(&wide, &narrow, None, &engine()) {
        Ok(r) => match r.verdict {
            Verdict::Witnesses(ws) => assert!(!ws.is_empty()),
            v => panic!("wide escapes narrow: expected witnesses, got {v:?}"),
        },
        Err(m) => panic!("replay mismatch: {m}"),
    }
    // The proof under attack: every value set `narrow` allows, `wide` allows too.
    let t = "arn:aws:identitystore::111122223333:tenant/";
    let sets: [&[&str]; 6] = [
        &["t1/x"],
        &["t1/x", "t1/y"],
        &["t2/x"],
        &["t1/x", "t1/x"],
        &["t1/"],
        &["t1/x/"],
    ];
    let mut narrow_allowed = 0;
    for tag in ["t1", "t2", ""] {
        for vals in sets {
            let mut context = Context::default();
            context.set("aws:PrincipalTag/T", vec![tag.to_string()]);
            context.set(
                "identitystore:UserExternalIdIssuers",
                vals.iter().map(|v| format!("{t}{v}")).collect(),
            );
            let r = Request {
                principal: "arn:aws:iam::111122223333:user/u".into(),
                action: "identitystore:DescribeUser".into(),
                resource: "*".into(),
                resource_account: None,
                context,
            };
            let n = evaluate(&narrow, &r).decision == Decision::Allow;
            narrow_allowed += n as usize;
            assert!(
                !n || evaluate(&wide, &r).decision == Decision::Allow,
                "{r:?}"
            );
        }
    }
    // The attack is not empty: some of these requests are allowed.
    assert!(narrow_allowed > 0);
}

fn source_instance(op: &str, value: &str) -> PolicySet {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "ec2:CreateSnapshots", "Resource": "arn:aws:ec2:*:*:instance/*",
 "Condition": {{"{op}": {{"ec2:SourceInstanceARN": "{value}"}}}}}}]}}"#
    );
    let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

/// `AWSEC2VssSnapshotPolicy` v1 → v2: `StringLike "*${ec2:InstanceId}"` became `ArnLike
/// "arn:aws:ec2:*:*:instance/${ec2:InstanceId}"`. The old one allows more (a source ARN that
/// only ends with the instance ID): a witness, found by the template abstraction and realized
/// with the candidate's own instance ID substituted (it was `unknown`: the string encoding
/// over-approximates a `*` before a variable, and its candidate did not replay). The new one
/// within the old is proved by the template implication (`relax::template_implications`).
#[test]
fn a_wildcard_before_a_variable_gets_a_realized_witness() {
    let old = source_instance("StringLike", "*${ec2:InstanceId}");
    let new = source_instance("ArnLike", "arn:aws:ec2:*:*:instance/${ec2:InstanceId}");
    match escapes(&old, &new, None, &engine()) {
        Ok(r) => match r.verdict {
            Verdict::Witnesses(ws) => {
                // Answered by the abstraction (no string theory): its candidate realized
                // with the candidate's instance ID, not left to the string encoding.
                assert!(
                    r.stats
                        .passes
                        .iter()
                        .any(|p| p.contains("/abstract witness")),
                    "{:?}",
                    r.stats.passes
                );
                for w in ws {
                    assert_eq!(evaluate(&old, &w.request).decision, Decision::Allow);
                    assert_ne!(evaluate(&new, &w.request).decision, Decision::Allow);
                    assert!(w.request.context.get("ec2:InstanceId").is_some(), "{w:?}");
                }
            }
            v => panic!("old escapes new: expected witnesses, got {v:?}"),
        },
        Err(m) => panic!("replay mismatch: {m}"),
    }
    match escapes(&new, &old, None, &engine()) {
        Ok(r) => assert_eq!(r.verdict, Verdict::Proved, "new within old"),
        Err(m) => panic!("replay mismatch: {m}"),
    }
    // The proof under attack: source ARNs around the template.
    let mut new_allowed = 0;
    for id in ["i-1", "", ":", "i-1/x"] {
        for arn in [
            format!("arn:aws:ec2:us-east-1:111122223333:instance/{id}"),
            format!("arn:aws:ec2:us-east-1:1:2:instance/{id}"),
            format!("x{id}"),
            "arn:aws:ec2:us-east-1:111122223333:instance/".to_string(),
        ] {
            let mut context = Context::default();
            context.set("ec2:InstanceId", vec![id.to_string()]);
            context.set("ec2:SourceInstanceARN", vec![arn]);
            let r = Request {
                principal: "arn:aws:iam::111122223333:user/u".into(),
                action: "ec2:CreateSnapshots".into(),
                resource: "arn:aws:ec2:us-east-1:111122223333:instance/i-1".into(),
                resource_account: None,
                context,
            };
            let n = evaluate(&new, &r).decision == Decision::Allow;
            new_allowed += n as usize;
            assert!(
                !n || evaluate(&old, &r).decision == Decision::Allow,
                "{r:?}"
            );
        }
    }
    assert!(new_allowed > 0);
}
