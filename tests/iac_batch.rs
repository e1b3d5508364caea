//! `tarski batch --template / --terraform-plan / --account-snapshot`: every policy in
//! `corpus/iac/` becomes a batch subject; records and SARIF results point at the input file
//! and line; symbolic policies are `unknown` (never a pass) with their unknown values; each
//! user and role of a snapshot is a subject with its effective permissions.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{iac_corpus as corpus, tarski};
use serde_json::{json, Value};

/// Run `tarski batch ARGS` in `corpus/iac`; exit code and stdout.
fn batch(args: &[&str]) -> (i32, String) {
    let mut all = vec!["batch"];
    all.extend(args);
    all.extend(["--no-progress", "--jobs", "2"]);
    let (code, out, _) = tarski(&corpus(), &all);
    (code, out)
}

/// A record as (status, check, subject, location "FILE:LINE" or "-").
type Row = (String, String, String, String);

/// JSON records as rows, and as JSON.
fn records(args: &[&str]) -> (i32, Vec<Row>, Vec<Value>) {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out) = batch(&a);
    let raw: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let rows = raw
        .iter()
        .map(|r| {
            let loc = match &r["location"] {
                Value::Null => "-".to_string(),
                l => format!("{}:{}", l["file"].as_str().unwrap(), l["line"]),
            };
            (
                r["status"].as_str().unwrap().to_string(),
                r["check"].as_str().unwrap().to_string(),
                r["subject"].as_str().unwrap().to_string(),
                loc,
            )
        })
        .collect();
    (code, rows, raw)
}

fn row(s: &str, c: &str, subj: &str, loc: &str) -> Row {
    (s.into(), c.into(), subj.into(), loc.into())
}

/// Values that are not policy variables (`--no-model-unknowns` makes every value so) are
/// bounded: a pass holds for every value (the widest policy passes), a failure fails for every
/// value (the narrowest policy fails, with a witness), and otherwise the answer is `unknown`.
#[test]
fn opaque_values_are_bounded() {
    let (code, rows, raw) = records(&["--template", "cdk/template.json", "--no-model-unknowns"]);
    assert_eq!(code, 0, "{rows:?}");
    // 8 checks of the documents, and the role's two identity checks on its effective set.
    assert_eq!(rows.len(), 10, "{rows:?}");
    assert!(rows
        .iter()
        .any(|r| r.2 == "cdk/template.json:role/AppRole9C1E2B8A"));
    assert!(rows.iter().all(|r| r.0 == "pass"), "{rows:?}");
    let bucket = raw
        .iter()
        .find(|r| {
            r["check"] == "no-public-access"
                && r["subject"].as_str().unwrap().contains("DataBucketPolicy")
        })
        .unwrap();
    let msg = bucket["message"].as_str().unwrap();
    assert!(
        msg.contains("bounded for every value of")
            && msg.contains("Fn::GetAtt DataBucketE3889A50.Arn (a resource attribute, known after deploy) (cdk/template.json:28:17)"),
        "{msg}"
    );

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, resource: &str| {
        let t = dir.path().join(name);
        std::fs::write(
            &t,
            format!("Parameters:\n  Res:\n    Type: String\nResources:\n  Policy:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: b\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: '*'\n            Action: s3:GetObject\n            Resource: {resource}\n"),
        )
        .unwrap();
        t.display().to_string()
    };
    // Public only if the parameter is deployed as something that matches: unknown, no witness.
    let depends = write("depends.yaml", "!Ref Res");
    let (code, out) = batch(&[
        "--template",
        &depends,
        "--check",
        "no-public-access",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{out}");
    let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(r["status"], "unknown", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("depends on values known only at deploy time"),
        "{r}"
    );
    assert_eq!(r["witnesses"].as_array().unwrap().len(), 0, "{r}");
    // Public whatever the parameter is: a failure with a witness on the known resource.
    let public = write("public.yaml", "['arn:aws:s3:::b/*', !Ref Res]");
    let (code, out) = batch(&[
        "--template",
        &public,
        "--check",
        "no-public-access",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["witnesses"][0]["resource"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:s3:::b/"),
        "{r}"
    );
}

/// Terraform reads `aws_iam_policy_document` only during apply when it depends on a resource
/// created in the same apply: the data source is rendered from its statements and the
/// resources using its `json` are linked through the plan's configuration; the unknown bucket
/// ARNs are bounded.
#[test]
fn terraform_data_sources_read_during_apply_are_bounded() {
    let (code, rows, raw) = records(&[
        "--terraform-plan",
        "terraform-deferred/plan.json",
        "--managed-policies",
        "../aws-managed",
    ]);
    let p = "terraform-deferred/plan.json#/resource_changes/";
    let mut expected = vec![
        row(
            "error",
            "input",
            &format!("{p}5/change/after/policy"),
            "terraform-deferred/plan.json:240",
        ),
        row("pass", "no-admin", &format!("{p}1/change/after/json"), "-"),
        // The boundary policy, the role's trust policy, and the role's effective permissions
        // (its linked policy, AWSLambdaBasicExecutionRole from --managed-policies, within the
        // boundary).
        row(
            "pass",
            "no-admin",
            &format!("{p}6/change/after/policy"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}6/change/after/policy"),
            "-",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}7/change/after/assume_role_policy"),
            "-",
        ),
        row(
            "pass",
            "no-admin",
            "terraform-deferred/plan.json:role/aws_iam_role.reports_app",
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            "terraform-deferred/plan.json:role/aws_iam_role.reports_app",
            "-",
        ),
        row(
            "pass",
            "no-admin",
            &format!("{p}2/change/after/policy"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}1/change/after/json"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}2/change/after/policy"),
            "-",
        ),
        row(
            "fail",
            "no-public-access",
            &format!("{p}3/change/after/json"),
            "terraform-deferred/plan.json:156",
        ),
        row(
            "fail",
            "no-public-access",
            &format!("{p}4/change/after/policy"),
            "terraform-deferred/plan.json:156",
        ),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
    assert_eq!(code, 1, "a failure wins over an input error");
    let public = raw
        .iter()
        .find(|r| {
            r["status"] == "fail"
                && r["subject"]
                    .as_str()
                    .unwrap()
                    .ends_with("4/change/after/policy")
        })
        .unwrap();
    assert!(
        public["witnesses"][0]["resource"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:s3:::public-assets/"),
        "{public}"
    );
    assert!(
        public["message"].as_str().unwrap().contains(
            "statement[0].resources[1] (known after apply) (terraform-deferred/plan.json:176:17)"
        ),
        "{public}"
    );
}

#[test]
fn sam_template_policies_and_unread_parts() {
    let (code, rows, _) = records(&["--template", "sam/template.yaml"]);
    assert_eq!(
        code, 2,
        "unknown: the trust policy's principal is known only at deploy time"
    );
    let p = "sam/template.yaml#/Resources/";
    let mut expected = vec![
        // The SAM policy template S3ReadPolicy, expanded; the bucket is bounded.
        row(
            "pass",
            "no-admin",
            &format!("{p}Worker/Properties/Policies/1"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}Worker/Properties/Policies/1"),
            "-",
        ),
        // The role SAM creates for Worker: its Policies and AWSLambdaBasicExecutionRole.
        row("pass", "no-admin", "sam/template.yaml:role/Worker", "-"),
        row(
            "pass",
            "no-passrole-wildcard",
            "sam/template.yaml:role/Worker",
            "-",
        ),
        // The Worker's resource is a parameter with no default and no AllowedPattern: it may
        // be deployed as `*`, so it is bounded, and even `*` is not admin: pass. The trust
        // policy's unknown is an account in a principal: public with the widest value, not
        // with the narrowest: unknown.
        row(
            "pass",
            "no-admin",
            &format!("{p}Worker/Properties/Policies/0"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}Worker/Properties/Policies/0"),
            "-",
        ),
        row(
            "unknown",
            "no-public-access",
            &format!("{p}AdminRole/Properties/AssumeRolePolicyDocument"),
            "sam/template.yaml:57",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}QueuePolicy/Properties/PolicyDocument"),
            "-",
        ),
        row(
            "pass",
            "no-admin",
            &format!("{p}AdminRole/Properties/Policies/0/PolicyDocument"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}AdminRole/Properties/Policies/0/PolicyDocument"),
            "-",
        ),
        // The role as a principal: its effective identity policies.
        row("pass", "no-admin", "sam/template.yaml:role/AdminRole", "-"),
        row(
            "pass",
            "no-passrole-wildcard",
            "sam/template.yaml:role/AdminRole",
            "-",
        ),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
}

#[test]
fn terraform_plan_unknown_policy_is_an_input_error() {
    let (code, rows, _) = records(&["--terraform-plan", "terraform/plan.json"]);
    assert_eq!(code, 3);
    let p = "terraform/plan.json#/resource_changes/";
    let mut expected = vec![
        row(
            "error",
            "input",
            &format!("{p}3/change/after/policy"),
            "terraform/plan.json:89",
        ),
        // The role's effective permissions include that policy (linked by the role's name):
        // the role cannot be checked either.
        row(
            "error",
            "input",
            "terraform/plan.json:role/aws_iam_role.app",
            "terraform/plan.json:89",
        ),
        row(
            "pass",
            "no-admin",
            &format!("{p}4/change/after/policy"),
            "-",
        ),
        row(
            "pass",
            "no-passrole-wildcard",
            &format!("{p}4/change/after/policy"),
            "-",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}1/change/after/json"),
            "-",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}2/change/after/assume_role_policy"),
            "-",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}5/change/after/policy"),
            "-",
        ),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
}

#[test]
fn snapshot_principals_are_subjects() {
    let (code, rows, _) = records(&["--account-snapshot", "snapshot/account.json"]);
    assert_eq!(code, 0);
    let subjects: BTreeSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        subjects,
        BTreeSet::from([
            "snapshot/account.json#/RoleDetailList/0/AssumeRolePolicyDocument",
            "snapshot/account.json:role/Deploy",
            "snapshot/account.json:user/alice",
        ])
    );
    assert!(rows.iter().all(|r| r.0 == "pass"), "{rows:?}");

    // corpus/iac/ci: bob gets `*` through his group's attached policy; carol has the same
    // group but a read-only boundary; the Deployer role's attached policy (URL-encoded in the
    // snapshot) passes any role.
    let (code, rows, _) = records(&["--account-snapshot", "ci/account.json"]);
    assert_eq!(code, 1);
    let mut expected = vec![
        row(
            "fail",
            "no-admin",
            "ci/account.json:user/bob",
            "ci/account.json:84",
        ),
        row(
            "fail",
            "no-passrole-wildcard",
            "ci/account.json:user/bob",
            "ci/account.json:84",
        ),
        row("pass", "no-admin", "ci/account.json:user/carol", "-"),
        row(
            "pass",
            "no-passrole-wildcard",
            "ci/account.json:user/carol",
            "-",
        ),
        row("pass", "no-admin", "ci/account.json:role/Deployer", "-"),
        // The statement is inside a URL-encoded document: the location is the string's line.
        row(
            "fail",
            "no-passrole-wildcard",
            "ci/account.json:role/Deployer",
            "ci/account.json:119",
        ),
        row(
            "pass",
            "no-public-access",
            "ci/account.json#/RoleDetailList/0/AssumeRolePolicyDocument",
            "-",
        ),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
}

#[test]
fn sarif_points_at_the_template_statement() {
    let (code, out) = batch(&[
        "--template",
        "ci/template.yaml",
        "--template",
        "sam/template.yaml",
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let mut got: Vec<(String, String, String, u64)> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let pl = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
                pl["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                pl["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let r = |id: &str, level: &str, uri: &str, line: u64| {
        (id.to_string(), level.to_string(), uri.to_string(), line)
    };
    let mut expected = vec![
        // The `Everything` statement (Action "*") and the public bucket statement.
        r("tarski/no-admin", "error", "ci/template.yaml", 24),
        r(
            "tarski/no-passrole-wildcard",
            "error",
            "ci/template.yaml",
            24,
        ),
        // The same statement found again through the role's effective permissions.
        r("tarski/no-admin", "error", "ci/template.yaml", 24),
        r(
            "tarski/no-passrole-wildcard",
            "error",
            "ci/template.yaml",
            24,
        ),
        r("tarski/no-public-access", "error", "ci/template.yaml", 35),
        // An answer that depends on deploy-time values (a warning at the template line).
        r(
            "tarski/no-public-access",
            "warning",
            "sam/template.yaml",
            57,
        ),
    ];
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn spec_assertions_apply_to_template_policies() {
    let dir = std::env::temp_dir().join(format!("tarski-iac-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("ci.tq");
    std::fs::write(
        &spec,
        "assert cannot(policy, action like \"iam:Create*\") label \"no-iam-writes\"\n",
    )
    .unwrap();
    let (code, rows, _) = records(&[
        "--template",
        "ci/template.yaml",
        "--spec",
        spec.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let mine: Vec<_> = rows.iter().filter(|r| r.1 == "no-iam-writes").collect();
    assert!(
        mine.contains(&&row(
            "fail",
            "no-iam-writes",
            "ci/template.yaml#/Resources/BuildRole/Properties/Policies/0/PolicyDocument",
            "ci/template.yaml:24"
        )),
        "{rows:?}"
    );
    assert_eq!(code, 1);
}

/// By default unknowns in resources and condition values become symbolic strings. The
/// CDK policies that were `unknown` are now proved for every value of their unknowns, and a
/// public bucket policy whose resource is only known at deploy time fails with a witness that
/// shows the value it needs, replayed by the evaluator.
#[test]
fn modelled_unknowns_give_proofs_and_witnesses_with_values() {
    let (code, rows, raw) = records(&["--template", "cdk/template.json"]);
    assert_eq!(code, 0, "{rows:?}");
    assert!(rows.iter().all(|r| r.0 == "pass"), "{rows:?}");
    // Each answer about a policy with modelled values says so, naming the values.
    let role = raw
        .iter()
        .find(|r| {
            r["check"] == "no-admin"
                && r["subject"]
                    .as_str()
                    .unwrap()
                    .ends_with("AppRole9C1E2B8A/Properties/Policies/0/PolicyDocument")
        })
        .unwrap();
    let msg = role["message"].as_str().unwrap();
    assert!(
        msg.contains("tarski:GetAtt/DataBucketE3889A50.Arn = Fn::GetAtt DataBucketE3889A50.Arn"),
        "{msg}"
    );

    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("public.yaml");
    std::fs::write(
        &t,
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Policy:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: !Ref Bucket\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: '*'\n            Action: s3:GetObject\n            Resource: !Sub '${Bucket.Arn}/*'\n",
    )
    .unwrap();
    let t = t.display().to_string();
    let (code, out) = batch(&[
        "--template",
        &t,
        "--check",
        "no-public-access",
        "--no-model-unknowns",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{out}");
    let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        r["status"], "unknown",
        "with --no-model-unknowns the policy is not checked: {r}"
    );
    let (code, out) = batch(&[
        "--template",
        &t,
        "--check",
        "no-public-access",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(r["status"], "fail", "{r}");
    let w = &r["witnesses"][0];
    let value = w["context"]["tarski:GetAtt/Bucket.Arn"][0]
        .as_str()
        .expect("the witness shows the unknown's value");
    assert!(w["resource"].as_str().unwrap().starts_with(value), "{w}");
}

/// `--no-new-access --baseline DIR` for templates: each policy (by JSON pointer) and each role
/// (by logical id) against the same template path under DIR; a policy new in the template
/// grants only new access.
#[test]
fn no_new_access_compares_template_policies_with_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("base/app")).unwrap();
    std::fs::create_dir_all(d.join("app")).unwrap();
    let old = std::fs::read_to_string(corpus().join("cdk/template.json")).unwrap();
    std::fs::write(d.join("base/app/template.json"), &old).unwrap();
    let mut t: Value = serde_json::from_str(&old).unwrap();
    let inline =
        &mut t["Resources"]["AppRole9C1E2B8A"]["Properties"]["Policies"][0]["PolicyDocument"];
    inline["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push(json!("s3:PutObject"));
    std::fs::write(d.join("app/template.json"), t.to_string()).unwrap();
    let out = Command::new(common::bin())
        .args([
            "batch",
            "--template",
            "app/template.json",
            "--no-new-access",
            "--baseline",
            "base",
            "--format",
            "json",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let failing: Vec<&str> = rows
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        [
            "app/template.json#/Resources/AppRole9C1E2B8A/Properties/Policies/0/PolicyDocument",
            "app/template.json:role/AppRole9C1E2B8A"
        ],
        "{stdout}"
    );
    for r in rows.iter().filter(|r| r["status"] == "fail") {
        assert_eq!(r["witnesses"][0]["action"], "s3:PutObject", "{r}");
    }
    assert!(rows.iter().all(|r| r["check"] == "no-new-access"));
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "pass").count(),
        4,
        "{stdout}"
    );
}

/// A nested stack's template (a local file named in the parent's `aws:asset:path`) is read with
/// the parameters the parent passes: a known value is substituted, a parent's resource ARN is
/// the parent's variable.
#[test]
fn nested_stack_templates_are_read_with_their_parameters() {
    let (code, rows, raw) = records(&["--template", "cdk-nested/App.template.json"]);
    assert_eq!(code, 1, "{rows:?}");
    // The directory (a `cdk.out`) means the same: its templates, nested ones via their parents.
    let (_, dir_rows, _) = records(&["--template", "cdk-nested"]);
    assert_eq!(dir_rows, rows);
    let nested = "cdk-nested/AppDataNestedStack4B6C2A1D.nested.template.json";
    let fails: Vec<&Row> = rows.iter().filter(|r| r.0 == "fail").collect();
    assert_eq!(fails.len(), 2, "{rows:?}");
    assert!(
        fails
            .iter()
            .all(|r| r.1 == "no-passrole-wildcard" && r.3 == format!("{nested}:31")),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.0 != "unknown"),
        "the nested stack is read: {rows:?}"
    );
    let policy = raw
        .iter()
        .find(|r| {
            r["check"] == "no-admin" && r["subject"].as_str().unwrap().contains("DefaultPolicy")
        })
        .unwrap();
    assert!(
        policy["message"].as_str().unwrap().contains(
            "tarski:GetAtt/SharedBucket5D5F1F22.Arn = the parameter referencetoAppSharedBucketArn"
        ),
        "{policy}"
    );
}

/// `AWS::Lambda::Permission`: each permission is a resource-policy statement of its function;
/// only the unauthenticated function URL is public.
#[test]
fn lambda_permissions_are_resource_policy_statements() {
    let (code, rows, raw) = records(&["--template", "lambda/template.yaml"]);
    let p = "lambda/template.yaml#/Resources/";
    let mut expected = vec![
        row(
            "pass",
            "no-public-access",
            &format!("{p}InvokeFromUploads/Properties"),
            "-",
        ),
        row(
            "pass",
            "no-public-access",
            &format!("{p}InvokeFromPartner/Properties"),
            "-",
        ),
        row(
            "fail",
            "no-public-access",
            &format!("{p}PublicUrl/Properties"),
            "lambda/template.yaml:35",
        ),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
    assert_eq!(code, 1);
    let w = &raw.iter().find(|r| r["status"] == "fail").unwrap()["witnesses"][0];
    // A caller no-public-access stands for: anonymous, or a principal of an unrelated account
    // (which one the solver returns is its choice).
    assert!(
        w["principal"] == "anonymous"
            || w["principal"] == "arn:aws:iam::999900000009:user/tarski-outsider",
        "{w}"
    );
    assert_eq!(w["action"], "lambda:InvokeFunctionUrl", "{w}");
    assert_eq!(w["context"]["lambda:FunctionUrlAuthType"][0], "NONE", "{w}");
}

/// A nested stack whose local template is missing is an input error naming the parent, never
/// a pass.
#[test]
fn a_missing_nested_template_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.json"),
        r#"{"Resources": {"N": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x"},
           "Metadata": {"aws:asset:path": "missing.nested.template.json"}}}}"#,
    )
    .unwrap();
    let (code, out, _) = tarski(
        dir.path(),
        &["batch", "--template", "p.json", "--format", "json"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains(
            "the template of nested stack `N` in p.json: cannot read missing.nested.template.json"
        ),
        "{out}"
    );
}

/// An unchanged policy with a value that may hold a wildcard passes `no-new-access`: both
/// versions are the same deployment (taken on their own, the bounds could only say unknown).
/// A change to it is still compared through the bounds.
#[test]
fn no_new_access_of_an_unchanged_bounded_policy_passes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("base")).unwrap();
    let t = |extra: &str| {
        format!("Parameters:\n  Res:\n    Type: String\nResources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: s3:GetObject\n            Resource: !Ref Res\n{extra}")
    };
    std::fs::write(d.join("base/t.yaml"), t("")).unwrap();
    let run = || {
        let (code, out, _) = tarski(
            d,
            &[
                "batch",
                "--template",
                "t.yaml",
                "--no-new-access",
                "--baseline",
                "base",
                "--format",
                "json",
            ],
        );
        let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        (code, r)
    };
    std::fs::write(d.join("t.yaml"), t("")).unwrap();
    let (code, r) = run();
    assert_eq!((code, r["status"].as_str()), (0, Some("pass")), "{r}");
    // A new statement on a known bucket is new access whatever `Res` is.
    std::fs::write(
        d.join("t.yaml"),
        t("          - Effect: Allow\n            Action: s3:PutObject\n            Resource: arn:aws:s3:::known/*\n"),
    )
    .unwrap();
    let (code, r) = run();
    assert_eq!((code, r["status"].as_str()), (1, Some("fail")), "{r}");
}
