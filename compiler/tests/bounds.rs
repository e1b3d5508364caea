//! Soundness of the bounds for opaque deploy-time values (`iac::bounds`): for every value the
//! parameter could be deployed with, on every request of a grid, what the deployed policy
//! allows lies between what the `Under` and `Over` documents allow.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::iac::bounds::Bound;
use tarski_compiler::iac::{self, cloudformation, FoundPolicy};
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::request::{Context, Request};

/// Statements with the parameter `P` in each element, in `Allow` and `Deny`.
const STATEMENTS: &[&str] = &[
    r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [{"Ref": "P"}, "arn:aws:s3:::known/*"]}"#,
    r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "NotResource": {"Ref": "P"}}"#,
    r#"{"Effect": "Allow", "Principal": {"AWS": {"Ref": "P"}}, "Action": "s3:PutObject", "Resource": "*"}"#,
    r#"{"Effect": "Allow", "Principal": "*", "Action": {"Ref": "P"}, "Resource": "arn:aws:s3:::known/*"}"#,
    r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"StringLike": {"s3:prefix": {"Ref": "P"}}}}"#,
    r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": {"Fn::Sub": "${P}/secret/*"}}"#,
    r#"{"Effect": "Deny", "Principal": "*", "NotAction": {"Ref": "P"}, "Resource": "arn:aws:s3:::known/locked/*"}"#,
    r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "P"}}}}"#,
];

const VALUES: &[&str] = &[
    "*",
    "arn:aws:s3:::known/*",
    "arn:aws:s3:::other/*",
    "arn:aws:s3:::known/x",
    "s3:Get*",
    "s3:PutObject",
    "home/*",
    "111122223333",
    "arn:aws:iam::111122223333:root",
    "nothing",
];

fn template(stmt: &str) -> String {
    format!(
        r#"{{"Parameters": {{"P": {{"Type": "String"}}}}, "Resources": {{"Pol": {{"Type": "AWS::S3::BucketPolicy",
        "Properties": {{"Bucket": "b", "PolicyDocument": {{"Version": "2012-10-17", "Statement": [
        {stmt},
        {{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::known/*"}}]}}}}}}}}}}"#
    )
}

fn set_of(p: &FoundPolicy) -> PolicySet {
    let c = iac::check(p, false);
    let lp: LoadedPolicy = c
        .policy
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics.diagnostics));
    PolicySet {
        resource: Some(lp),
        ..PolicySet::default()
    }
}

fn requests() -> Vec<Request> {
    let mut out = Vec::new();
    for principal in [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::444455556666:user/mallory",
        "anonymous",
    ] {
        for action in [
            "s3:GetObject",
            "s3:PutObject",
            "s3:ListBucket",
            "s3:DeleteObject",
        ] {
            for resource in [
                "arn:aws:s3:::known/a",
                "arn:aws:s3:::known/public/a",
                "arn:aws:s3:::known/locked/a",
                "arn:aws:s3:::known/x",
                "arn:aws:s3:::other/a",
                "arn:aws:s3:::known/*/secret/a",
            ] {
                for prefix in [None, Some("home/bob"), Some("etc")] {
                    let mut context = Context::default();
                    if let Some(p) = prefix {
                        context.set("s3:prefix", vec![p.to_string()]);
                    }
                    out.push(Request {
                        principal: principal.into(),
                        action: action.into(),
                        resource: resource.into(),
                        resource_account: Some("111122223333".into()),
                        context,
                    });
                }
            }
        }
    }
    out
}

#[test]
fn every_deployment_lies_between_the_bounds() {
    let reqs = requests();
    for stmt in STATEMENTS {
        let t = template(stmt);
        let opaque = cloudformation::extract(
            "t.json",
            &t,
            &cloudformation::Options {
                model_unknowns: true,
                ..Default::default()
            },
        );
        let p = &opaque.policies[0];
        assert!(p.opaque(), "{stmt}");
        let over = set_of(&p.bounded(Bound::Over).unwrap());
        let under = set_of(&p.bounded(Bound::Under).unwrap());
        let mut strict = (false, false);
        for v in VALUES {
            let deployed = cloudformation::extract(
                "t.json",
                &t,
                &cloudformation::Options {
                    parameters: BTreeMap::from([("P".to_string(), v.to_string())]),
                    ..Default::default()
                },
            );
            let d = &deployed.policies[0];
            assert!(!d.symbolic());
            let c = iac::check(d, false);
            let Some(lp) = c.policy else {
                continue; // not a valid policy with this value (e.g. `nothing` as an action)
            };
            let dset = PolicySet {
                resource: Some(lp),
                ..PolicySet::default()
            };
            for r in &reqs {
                let allow = |s: &PolicySet| evaluate(s, r).decision == Decision::Allow;
                let (o, x, u) = (allow(&over), allow(&dset), allow(&under));
                assert!(
                    !x || o,
                    "{stmt}\nP = {v}: deployed allows what the over bound does not: {r:?}"
                );
                assert!(
                    !u || x,
                    "{stmt}\nP = {v}: under bound allows what the deployed policy does not: {r:?}"
                );
                strict.0 |= o && !x;
                strict.1 |= x && !u;
            }
        }
        // The bounds are not trivially loose and tight: each differs from some deployment.
        assert!(
            strict.0 || strict.1,
            "{stmt}: bounds equal every deployment"
        );
    }
}

/// An expanded SAM policy template gives every string of its definition one span; only the
/// strings that hold an opaque value may be widened (a bug once widened the actions too).
#[test]
fn strings_sharing_a_span_with_an_opaque_value_stay() {
    let t = r#"{"Transform": "AWS::Serverless-2016-10-31", "Parameters": {"B": {"Type": "String"}},
      "Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
        {"S3ReadPolicy": {"BucketName": {"Ref": "B"}}}]}}}}"#;
    let ex = cloudformation::extract(
        "t.json",
        t,
        &cloudformation::Options {
            model_unknowns: true,
            ..Default::default()
        },
    );
    let p = &ex.policies[0];
    assert!(p.opaque());
    let over = p.bounded(Bound::Over).unwrap().document.unwrap();
    let text = format!("{over:?}");
    assert!(text.contains("s3:GetObject"), "{text}");
    let lp = iac::check(&p.bounded(Bound::Over).unwrap(), false)
        .policy
        .unwrap();
    let set = PolicySet {
        identity: vec![lp],
        ..PolicySet::default()
    };
    let req = |action: &str| Request {
        principal: "arn:aws:iam::111122223333:user/u".into(),
        action: action.into(),
        resource: "arn:aws:s3:::any/x".into(),
        resource_account: None,
        context: Context::default(),
    };
    // The widened bucket allows reads anywhere, and still nothing else.
    assert_eq!(
        evaluate(&set, &req("s3:GetObject")).decision,
        Decision::Allow
    );
    assert_ne!(
        evaluate(&set, &req("s3:DeleteObject")).decision,
        Decision::Allow
    );
}
