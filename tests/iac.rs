//! Infrastructure-as-code inputs end to end: `tarski check` on every input in `corpus/iac/`
//! must find exactly the policies (origin, kind, symbolic) and diagnostics its `expected.json`
//! lists; `--principal-of` builds a principal's policy set from an account snapshot.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{iac_corpus as corpus, tarski};
use serde_json::{json, Value};

fn check_dir(name: &str) {
    let dir = corpus().join(name);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    for run in expected["runs"].as_array().unwrap() {
        let mut args: Vec<&str> = run["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        args.extend(["--format", "json"]);
        let (code, stdout, stderr) = tarski(&dir, &args);
        let (mut policies, mut diags) = (Vec::new(), Vec::new());
        for line in stdout.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            if let Some(q) = r.get("policy") {
                policies.push(json!({
                    "address": q["address"], "pointer": q["pointer"], "line": q["line"],
                    "kind": q["kind"], "symbolic": q["symbolic"], "valid": q["valid"],
                    "unknowns": q["unknowns"].as_array().unwrap().len(),
                }));
            } else {
                diags
                    .push(json!({"code": r["code"], "severity": r["severity"], "line": r["line"]}));
            }
        }
        assert_eq!(
            &Value::Array(policies),
            &run["policies"],
            "{name} {args:?}: policies\n{stderr}"
        );
        assert_eq!(
            &Value::Array(diags),
            &run["diagnostics"],
            "{name} {args:?}: diagnostics\n{stderr}"
        );
        assert_eq!(
            code as i64,
            run["exit"].as_i64().unwrap(),
            "{name} {args:?}: exit\n{stderr}"
        );
    }
}

#[test]
fn cdk_template() {
    check_dir("cdk");
}

#[test]
fn sam_template() {
    check_dir("sam");
}

#[test]
fn terraform_plan() {
    check_dir("terraform");
}

#[test]
fn terraform_plan_with_data_sources_read_during_apply() {
    check_dir("terraform-deferred");
}

#[test]
fn cdk_nested_stack() {
    check_dir("cdk-nested");
}

#[test]
fn lambda_permissions() {
    check_dir("lambda");
}

#[test]
fn account_snapshot() {
    check_dir("snapshot");
}

#[test]
fn unknown_values_are_listed_with_their_template_line() {
    let (_, _, stderr) = tarski(
        &corpus().join("sam"),
        &["check", "--template", "template.yaml"],
    );
    assert!(
        stderr.contains("template.yaml:27:30: the parameter TableArn"),
        "{stderr}"
    );
    assert!(stderr.contains("warning[T0301]"), "{stderr}");
    // The SAM policy template is expanded: its unknowns (the bucket's physical id) are listed
    // at the template item.
    assert!(
        stderr.contains("template.yaml:29:30: Ref Uploads (a resource's physical id"),
        "{stderr}"
    );
    assert!(!stderr.contains("error["), "{stderr}");
}

#[test]
fn principal_of_builds_the_policy_set_from_a_snapshot() {
    let dir = corpus().join("snapshot");
    let snap = ["--account-snapshot", "account.json"];
    let eval = |who: &str, action: &str, resource: &str| {
        let mut a = vec!["eval"];
        a.extend(snap);
        a.extend([
            "--principal-of",
            who,
            "--action",
            action,
            "--resource",
            resource,
        ]);
        tarski(&dir, &a)
    };
    // The role's attached policy allows iam:PassRole, its boundary does not.
    let (code, out, _) = eval("role/Deploy", "iam:PassRole", "*");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("blocked: permissions boundary"), "{out}");
    let (code, _, _) = eval("role/Deploy", "s3:GetObject", "arn:aws:s3:::x/y");
    assert_eq!(code, 0);
    // Alice reads through her group's attached policy (default version v2, not v1's s3:*)...
    let (code, _, _) = eval("user/alice", "s3:GetObject", "arn:aws:s3:::shared-data/a");
    assert_eq!(code, 0);
    let (code, _, _) = eval("user/alice", "s3:GetObject", "arn:aws:s3:::other/a");
    assert_eq!(code, 1);
    // ... and her group's inline Deny wins.
    let (code, out, _) = eval(
        "user/alice",
        "s3:DeleteObject",
        "arn:aws:s3:::shared-data/a",
    );
    assert_eq!(code, 1);
    assert!(out.starts_with("ExplicitDeny"), "{out}");
    // An unknown principal is bad input, not an empty policy set.
    let (code, _, err) = eval("role/Nope", "s3:GetObject", "*");
    assert_eq!(code, 3, "{err}");
}
