//! `FILE#SELECTOR`: policies inside templates, plans and snapshots as inputs of `can`,
//! `subset`, `equiv`, `eval` and specs. Deploy-time values are symbolic: proofs hold for every
//! value, witnesses show the value they need and replay through the evaluator.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{iac_corpus as corpus, tarski};
use serde_json::Value;

/// A witness's context value; keys are case-insensitive (IAM), so compare them so.
fn context<'a>(w: &'a Value, key: &str) -> Option<&'a str> {
    w["context"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))?
        .1[0]
        .as_str()
}

const ROLE_INLINE: &str =
    "cdk/template.json#/Resources/AppRole9C1E2B8A/Properties/Policies/0/PolicyDocument";

#[test]
fn can_on_a_template_policy_gives_a_witness_with_the_deploy_value() {
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            ROLE_INLINE,
            "--action",
            "s3:GetObject",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let w = &r["witnesses"][0];
    let arn = context(w, "tarski:GetAtt/DataBucketE3889A50.Arn")
        .expect("the witness gives the bucket ARN it needs");
    // A readable value of the action's service, not whatever string Z3 picked.
    assert_eq!(arn, "arn:aws:s3:::tarski-example-bucket", "{w}");
    assert!(
        w["resource"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{arn}/")),
        "{w}"
    );
    assert!(
        err.contains("answers hold for every value of `tarski:GetAtt/DataBucketE3889A50.Arn`"),
        "{err}"
    );

    // A proof holds for every value of the bucket ARN.
    let (code, out, _) = tarski(&corpus(), &["can", ROLE_INLINE, "--action", "s3:PutObject"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("unreachable"), "{out}");
}

#[test]
fn an_address_names_the_policies_of_a_resource_of_the_kind_asked_for() {
    // Identity side: the role's inline policy (not its trust policy).
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            "cdk/template.json#AppRole9C1E2B8A",
            "--action",
            "s3:ListBucket",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    // Resource side: the trust policy; only Lambda may assume the role.
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            "--resource-policy",
            "cdk/template.json#AppRole9C1E2B8A",
            "--action",
            "sts:AssumeRole",
            "--principal",
            "arn:aws:iam::111122223333:user/alice",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            "--resource-policy",
            "cdk/template.json#AppRole9C1E2B8A",
            "--action",
            "sts:AssumeRole",
            "--principal",
            "lambda.amazonaws.com",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn equiv_of_two_template_versions_shares_deploy_values() {
    let dir = tempfile::tempdir().unwrap();
    let doc = |resource: &str| {
        format!(
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Policy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: s3:GetObject\n            Resource: {resource}\n"
        )
    };
    let write = |name: &str, text: String| {
        std::fs::write(dir.path().join(name), text).unwrap();
        format!("{name}#Policy")
    };
    let old = write("old.yaml", doc("!Sub '${Bucket.Arn}/*'"));
    // The same value written with Fn::Join: the same variable, so provably equivalent.
    let same = write("same.yaml", doc("!Join ['', [!GetAtt Bucket.Arn, '/*']]"));
    let narrower = write("narrower.yaml", doc("!Sub '${Bucket.Arn}/reports/*'"));
    let (code, out, err) = tarski(dir.path(), &["equiv", &old, &same]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = tarski(dir.path(), &["subset", &narrower, &old]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = tarski(dir.path(), &["equiv", &old, &narrower, "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["b_not_a"]["result"], "contained", "{r}");
    let w = &r["a_not_b"]["witnesses"][0];
    let arn = context(w, "tarski:GetAtt/Bucket.Arn").unwrap();
    let res = w["resource"].as_str().unwrap();
    assert!(
        res.starts_with(&format!("{arn}/")) && !res.starts_with(&format!("{arn}/reports/")),
        "{w}"
    );
}

#[test]
fn a_spec_can_declare_template_policies() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("t.tq");
    let cdk = corpus().join("cdk/template.json");
    std::fs::write(
        &spec,
        format!(
            "policy role = \"{c}#AppRole9C1E2B8A\"\npolicy boundary = \"{c}#BoundaryPolicy1A2B3C4D\"\n\
             assert cannot(role, action like \"s3:Delete*\") label \"role cannot delete\"\n\
             assert can(role, action == \"s3:GetObject\") label \"role can read\"\n",
            c = cdk.display()
        ),
    )
    .unwrap();
    // The template is outside the spec's directory tree: allowed explicitly (issue 15).
    let allow = corpus().display().to_string();
    let (code, out, err) = tarski(dir.path(), &["verify", "t.tq", "--allow-path", &allow]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn bad_references_are_clear_errors() {
    // A template given as a policy file: the error lists its policies.
    let (code, _, err) = tarski(&corpus(), &["can", "cdk/template.json"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("is a CloudFormation template, not a policy"),
        "{err}"
    );
    assert!(err.contains(ROLE_INLINE), "{err}");
    // No such address.
    let (code, _, err) = tarski(&corpus(), &["can", "cdk/template.json#NoSuchRole"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("no identity-side policy with that address"),
        "{err}"
    );
    // A policy file is not a container.
    let (code, _, err) = tarski(
        &corpus(),
        &["can", "../examples/boundary-confidential/identity.json#x"],
    );
    assert_eq!(code, 3);
    assert!(err.contains("names nothing in it"), "{err}");
    // An unknown account in a principal is bounded: public with the widest value (`*`), not
    // with the narrowest, so `can` anyone assume the role is unknown (exit 2), never a guess.
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            "--resource-policy",
            "sam/template.yaml#/Resources/AdminRole/Properties/AssumeRolePolicyDocument",
            "--action",
            "sts:AssumeRole",
            "--principal",
            "arn:aws:iam::444455556666:user/mallory",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("depends on values known only at deploy time")
            && err.contains("AWS::AccountId"),
        "{out}{err}"
    );
    // ... and given the value, it is checked.
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "can",
            "--resource-policy",
            "sam/template.yaml#/Resources/AdminRole/Properties/AssumeRolePolicyDocument",
            "--account-id",
            "111122223333",
            "--action",
            "sts:AssumeRole",
        ],
    );
    assert!(code == 0 || code == 1, "{out}{err}");
}

/// `--principal-of` a role of a template: its inline policy, the `AWS::IAM::Policy` naming it,
/// and its permissions boundary.
#[test]
fn principal_of_a_template_role() {
    let base = [
        "--principal-of",
        "AppRole9C1E2B8A",
        "--template",
        "cdk/template.json",
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["can"];
        args.extend(base);
        args.extend(extra);
        tarski(&corpus(), &args)
    };
    // The inline policy grants reads on the bucket, within the boundary (s3 on any bucket).
    let (code, out, err) = run(&["--action", "s3:GetObject"]);
    assert_eq!(code, 0, "{out}{err}");
    // The attached AWS::IAM::Policy grants logs actions, but the boundary allows logs only on
    // S3 ARNs: unreachable on a log group.
    let (code, out, err) = run(&[
        "--action",
        "logs:PutLogEvents",
        "--resource",
        "arn:aws:logs:*:*:log-group:*",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let (code, _, err) = run(&[
        "--action",
        "s3:GetObject",
        "--boundary",
        "cdk/template.json#BoundaryPolicy1A2B3C4D",
    ]);
    assert_eq!(code, 3, "a second boundary is an error: {err}");
    // eval explains the decision with the template lines.
    let (code, out, err) = tarski(
        &corpus(),
        &[
            "eval",
            "--principal-of",
            "AppRole9C1E2B8A",
            "--template",
            "cdk/template.json",
            "--principal",
            "arn:aws:sts::111122223333:assumed-role/app/s",
            "--action",
            "logs:PutLogEvents",
            "--resource",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/app:log-stream:x",
            "--context",
            "tarski:AWS::Partition=aws",
            "--context",
            "tarski:AWS::Region=eu-west-1",
            "--context",
            "tarski:AWS::AccountId=111122223333",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("cdk/template.json:91") && out.contains("permissions boundary"),
        "{out}"
    );
}

/// A role that attaches an AWS managed policy by ARN is checked with the policy's document
/// from `--managed-policies DIR`; without it the role is an input error, never a pass.
#[test]
fn aws_managed_policies_attached_by_arn() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.yaml");
    std::fs::write(
        &t,
        "Resources:\n  Admin:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: ec2.amazonaws.com}\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - !Sub arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess\n",
    )
    .unwrap();
    let managed = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/aws-managed");
    let batch = |extra: &[&str]| {
        let mut args = vec![
            "batch",
            "--template",
            "t.yaml",
            "--check",
            "no-admin",
            "--format",
            "json",
        ];
        args.extend(extra);
        let (code, out, err) = tarski(dir.path(), &args);
        let rows: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (code, rows, err)
    };
    // Built in: no flag needed, and the record points at the role, not into the built-in
    // document.
    let (code, rows, err) = batch(&[]);
    assert_eq!(code, 1, "{rows:?}{err}");
    let r = rows
        .iter()
        .find(|r| r["subject"] == "t.yaml:role/Admin")
        .unwrap();
    assert_eq!(r["status"], "fail", "{r}");
    assert_eq!(r["location"]["file"], "t.yaml", "{r}");
    // A name that is not an AWS managed policy Tarski knows is still an input error.
    std::fs::write(
        &t,
        "Resources:\n  Admin:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: ec2.amazonaws.com}\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/NoSuchManagedPolicyAnywhere\n",
    )
    .unwrap();
    let (code, rows, err) = batch(&[]);
    assert_eq!(code, 3, "{rows:?}{err}");
    let r = rows
        .iter()
        .find(|r| r["subject"] == "t.yaml:role/Admin")
        .unwrap();
    assert_eq!(r["status"], "error");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("--managed-policies"),
        "{r}"
    );
    std::fs::write(
        &t,
        "Resources:\n  Admin:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: ec2.amazonaws.com}\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - !Sub arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess\n",
    )
    .unwrap();
    let m = managed.display().to_string();
    let (code, rows, err) = batch(&["--managed-policies", &m]);
    assert_eq!(code, 1, "{rows:?}{err}");
    let r = rows
        .iter()
        .find(|r| r["subject"] == "t.yaml:role/Admin")
        .unwrap();
    assert_eq!(r["status"], "fail", "{r}");
}

/// Bounded template policies (values that may hold a wildcard) in `can`, `subset`, `eval` and
/// specs: an answer that holds for every value, or unknown.
#[test]
fn bounded_references_answer_for_every_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "Parameters:\n  Res:\n    Type: String\nResources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: s3:GetObject\n            Resource: ['arn:aws:s3:::known/*', !Ref Res]\n",
    )
    .unwrap();
    let run = |args: &[&str]| tarski(dir.path(), args);
    // Reachable whatever `Res` is (the known resource).
    let (code, out, _) = run(&["can", "t.yaml#P", "--resource", "arn:aws:s3:::known/a"]);
    assert_eq!(code, 0, "{out}");
    // Never s3:PutObject, whatever `Res` is.
    let (code, out, _) = run(&["can", "t.yaml#P", "--action", "s3:PutObject"]);
    assert_eq!(code, 1, "{out}");
    // Another bucket: only if `Res` matches it.
    let (code, out, _) = run(&["can", "t.yaml#P", "--resource", "arn:aws:s3:::other/a"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("depends on values known only at deploy time"),
        "{out}"
    );
    let (code, out, _) = run(&[
        "eval",
        "t.yaml#P",
        "--principal",
        "arn:aws:iam::111122223333:user/u",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::other/a",
    ]);
    assert_eq!(code, 2, "{out}");
    let (code, out, _) = run(&[
        "eval",
        "t.yaml#P",
        "--principal",
        "arn:aws:iam::111122223333:user/u",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::known/a",
    ]);
    assert_eq!(code, 0, "{out}");
    // A policy on the known bucket only is within it for every value; the converse depends.
    std::fs::write(
        dir.path().join("known.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::known/*"}]}"#,
    )
    .unwrap();
    let (code, out, _) = run(&["subset", "known.json", "t.yaml#P"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["subset", "t.yaml#P", "known.json"]);
    assert_eq!(code, 2, "{out}");
    // A template role whose policy is bounded: `--principal-of` answers the same way.
    std::fs::write(
        dir.path().join("r.yaml"),
        "Parameters:\n  Res:\n    Type: String\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement: []\n      Policies:\n        - PolicyName: p\n          PolicyDocument:\n            Version: '2012-10-17'\n            Statement:\n              - Effect: Allow\n                Action: s3:GetObject\n                Resource: ['arn:aws:s3:::known/*', !Ref Res]\n",
    )
    .unwrap();
    let role = [
        "can",
        "--principal-of",
        "R",
        "--template",
        "r.yaml",
        "--resource",
    ];
    let with = |r: &str| {
        let mut a = role.to_vec();
        a.push(r);
        run(&a).0
    };
    assert_eq!(with("arn:aws:s3:::known/a"), 0);
    assert_eq!(with("arn:aws:s3:::other/a"), 2);
    // Specs: a `can` assertion holds only through the narrowed policy.
    std::fs::write(
        dir.path().join("s.tq"),
        "policy p = \"t.yaml#P\"\nassert can(p, resource == \"arn:aws:s3:::known/a\") label \"known\"\nassert can(p, resource == \"arn:aws:s3:::other/a\") label \"other\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&["verify", "s.tq", "--format", "json"]);
    assert_eq!(code, 2, "{out}{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let status = |label: &str| rows.iter().find(|r| r["check"] == label).unwrap()["status"].clone();
    assert_eq!(status("known"), "pass");
    assert_eq!(status("other"), "unknown");
}

/// A Terraform plan's role as `--principal-of` (the file is sniffed): its linked role policy,
/// the AWS managed policy it attaches, and its boundary.
#[test]
fn principal_of_a_terraform_role() {
    let managed = common::root()
        .join("corpus/aws-managed")
        .display()
        .to_string();
    let run = |action: &str| {
        tarski(
            &corpus().join("terraform-deferred"),
            &[
                "can",
                "--principal-of",
                "aws_iam_role.reports_app",
                "--template",
                "plan.json",
                "--managed-policies",
                &managed,
                "--action",
                action,
            ],
        )
        .0
    };
    // AWSLambdaBasicExecutionRole grants logs, within the boundary (logs:*).
    assert_eq!(run("logs:CreateLogGroup"), 0);
    // Nothing grants s3:PutObject (and the boundary would not allow it).
    assert_eq!(run("s3:PutObject"), 1);
    // Reads on the bucket whose ARN is computed at apply: depends on its value.
    assert_eq!(run("s3:GetObject"), 2);
}
