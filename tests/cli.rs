//! The command line, end to end: runs the real `tarski` binary and checks its output formats,
//! diagnostics and exit codes (0 yes, 1 no, 3 bad input; see `tarski --help`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{tarski_in, Run};
use serde_json::Value;
use tempfile::TempDir;

/// A scratch directory; the binary runs inside it so file names in output are relative.
struct Scratch(TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> Run {
        tarski_in(self.0.path(), args)
    }
}

const BAD_EFFECT: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Alow", "Action": "s3:GetObject", "Resource": "*"}
  ]
}
"#;

const CLEAN: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}
  ]
}
"#;

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

// ---------------------------------------------------------------------------------------
// check: diagnostics
// ---------------------------------------------------------------------------------------

#[test]
fn check_bad_effect_is_rustc_style_with_caret() {
    let s = Scratch::new();
    s.file("bad.json", BAD_EFFECT);
    let r = s.run(&["check", "bad.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("error[T0110]"), "{}", r.stderr);
    assert!(r.stderr.contains("bad.json:4:16"), "{}", r.stderr);
    // The caret line underlines "Alow" (with its quotes) under the source line.
    let lines: Vec<&str> = r.stderr.lines().collect();
    let src = lines
        .iter()
        .position(|l| l.contains(r#""Effect": "Alow""#))
        .expect("source line is quoted");
    let caret = lines[src + 1];
    let col = lines[src].find(r#""Alow""#).unwrap();
    assert_eq!(
        caret.find('^'),
        Some(col),
        "caret under the value:\n{}",
        r.stderr
    );
    assert_eq!(caret.matches('^').count(), r#""Alow""#.len());
    assert!(r.stderr.contains("1 error"), "{}", r.stderr);
}

#[test]
fn check_json_format_is_one_object_per_line() {
    let s = Scratch::new();
    s.file("bad.json", BAD_EFFECT);
    s.file(
        "unknown.json",
        CLEAN.replace("s3:GetObject", "s3:GetObjekt"),
    );
    let r = s.run(&["check", "--format", "json", "bad.json", "unknown.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let recs = json_lines(&r.stdout);
    let diags: Vec<&Value> = recs.iter().filter(|v| v.get("code").is_some()).collect();
    assert_eq!(diags.len(), 2, "{}", r.stdout);
    for d in &diags {
        for k in ["file", "line", "column", "code", "severity", "message"] {
            assert!(d.get(k).is_some(), "missing `{k}` in {d}");
        }
    }
    let e = diags.iter().find(|d| d["code"] == "T0110").unwrap();
    assert_eq!(e["file"], "bad.json");
    assert_eq!(e["line"], 4);
    assert_eq!(e["column"], 16);
    assert_eq!(e["severity"], "error");
    assert!(e["message"].as_str().unwrap().contains("Effect"));
    let w = diags.iter().find(|d| d["file"] == "unknown.json").unwrap();
    assert_eq!(w["severity"], "warning");
    // Nothing but JSON on stdout.
    assert!(r.stdout.lines().all(|l| l.starts_with('{')));
}

#[test]
fn unknown_action_warns_with_suggestion_and_deny_warnings_fails() {
    let s = Scratch::new();
    s.file("typo.json", CLEAN.replace("s3:GetObject", "s3:GetObjekt"));
    let r = s.run(&["check", "typo.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("warning["), "{}", r.stderr);
    assert!(r.stderr.contains("s3:GetObjekt"), "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean `s3:GetObject`"),
        "{}",
        r.stderr
    );
    let r = s.run(&["check", "--deny-warnings", "typo.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
}

#[test]
fn allow_with_not_action_warns_and_deny_warnings_fails() {
    let s = Scratch::new();
    s.file(
        "na.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}"#,
    );
    let r = s.run(&["check", "na.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("warning["), "{}", r.stderr);
    assert!(r.stderr.contains("NotAction"), "{}", r.stderr);
    assert!(r.stderr.contains("0 errors, 1 warning"), "{}", r.stderr);
    let r = s.run(&["check", "--deny-warnings", "na.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    // Deny with NotAction is the usual SCP idiom: no warning.
    s.file(
        "deny.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}"#,
    );
    let r = s.run(&["check", "--deny-warnings", "--kind", "scp", "deny.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn identity_kind_with_principal_is_t0113() {
    let s = Scratch::new();
    s.file(
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "*"}]}"#,
    );
    let r = s.run(&["check", "--kind", "identity", "p.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("error[T0113]"), "{}", r.stderr);
    assert!(r.stderr.contains("Principal"), "{}", r.stderr);
    // The same document is a fine resource policy.
    let r = s.run(&["check", "--kind", "resource", "p.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn t0113_message_uses_the_right_article() {
    let s = Scratch::new();
    s.file(
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}"#,
    );
    let r = s.run(&["check", "--kind", "identity", "p.json"]);
    assert!(r.stderr.contains("an identity policy"), "{}", r.stderr);
}

#[test]
fn duplicate_keys_are_t0002() {
    let s = Scratch::new();
    s.file(
        "dup.json",
        r#"{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}"#,
    );
    let r = s.run(&["check", "dup.json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("error[T0002]"), "{}", r.stderr);
    assert!(r.stderr.contains("duplicate key `Version`"), "{}", r.stderr);
}

#[test]
fn deep_nesting_is_t0004_without_stack_overflow() {
    let s = Scratch::new();
    s.file(
        "deep.json",
        format!("{}{}", "[".repeat(200), "]".repeat(200)),
    );
    let n = 100_000;
    s.file(
        "deeper.json",
        format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n)),
    );
    for f in ["deep.json", "deeper.json"] {
        let r = s.run(&["check", f]);
        assert_eq!(r.code, Some(1), "{f}: {}", r.stderr);
        assert!(r.stderr.contains("error[T0004]"), "{f}: {}", r.stderr);
        assert!(r.stderr.contains("nesting"), "{f}: {}", r.stderr);
    }
}

#[test]
fn malformed_and_empty_json_are_t0001() {
    let s = Scratch::new();
    s.file("trunc.json", r#"{"Version": "2012-10-17", "Statement": ["#);
    s.file("empty.json", "");
    s.file("quote.json", "\"");
    for f in ["trunc.json", "empty.json", "quote.json"] {
        let r = s.run(&["check", f]);
        assert_eq!(r.code, Some(1), "{f}: {}", r.stderr);
        assert!(r.stderr.contains("error[T0001]"), "{f}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{f}:1:")), "{f}: {}", r.stderr);
    }
    let r = s.run(&["check", "empty.json"]);
    assert!(r.stderr.contains("end of input"), "{}", r.stderr);
}

#[test]
fn unreadable_inputs_exit_3_with_a_clear_message() {
    let s = Scratch::new();
    s.file(
        "latin1.json",
        b"{\"Version\": \"2012-10-17\", \"Statement\": [{\"Sid\": \"caf\xe9\"}]}",
    );
    std::fs::create_dir(s.0.path().join("adir")).unwrap();
    let cases = [
        ("latin1.json", "not UTF-8"),
        ("adir", "is a directory"),
        ("missing.json", "cannot read missing.json"),
    ];
    for (f, msg) in cases {
        let r = s.run(&["check", f]);
        assert_eq!(r.code, Some(3), "{f}: {}", r.stderr);
        assert!(r.stderr.contains(msg), "{f}: {}", r.stderr);
        assert!(r.stderr.contains("1 unreadable"), "{f}: {}", r.stderr);
        let r = s.run(&["check", "--format", "json", f]);
        assert_eq!(r.code, Some(3), "{f}: {}", r.stderr);
        let recs = json_lines(&r.stdout);
        assert_eq!(recs.len(), 1, "{}", r.stdout);
        assert_eq!(recs[0]["file"], f);
        assert_eq!(recs[0]["severity"], "error");
        assert!(recs[0]["message"].as_str().unwrap().contains(msg));
    }
    // An unreadable file beside a clean one still exits 3.
    s.file("clean.json", CLEAN);
    let r = s.run(&["check", "clean.json", "missing.json"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("checked 2 files"), "{}", r.stderr);
}

#[test]
fn get_policy_version_wrapper_checks_clean() {
    let s = Scratch::new();
    s.file(
        "gpv.json",
        r#"{
  "PolicyVersion": {
    "Document": {
      "Version": "2012-10-17",
      "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]
    },
    "VersionId": "v3",
    "IsDefaultVersion": true,
    "CreateDate": "2024-05-01T12:00:00Z"
  }
}
"#,
    );
    let r = s.run(&["check", "--deny-warnings", "gpv.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("0 errors, 0 warnings"), "{}", r.stderr);
}

#[test]
fn url_encoded_document_checks_clean() {
    let s = Scratch::new();
    // What `aws iam get-role` returns in AssumeRolePolicyDocument and friends.
    s.file(
        "encoded.txt",
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Areports%2F%2A%22%7D%5D%7D",
    );
    let r = s.run(&["check", "--deny-warnings", "encoded.txt"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("0 errors, 0 warnings"), "{}", r.stderr);
    // And an error inside the encoded document is still found.
    s.file("bad.txt", "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Alow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D");
    let r = s.run(&["check", "bad.txt"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("T0110"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// expand
// ---------------------------------------------------------------------------------------

#[test]
fn expand_lists_matching_actions() {
    let s = Scratch::new();
    let r = s.run(&["expand", "s3:Get*"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let names: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert!(names.contains(&"s3:GetObject"), "{}", r.stdout);
    assert!(
        names.iter().all(|n| n.starts_with("s3:Get")),
        "{}",
        r.stdout
    );
    assert!(!names.contains(&"s3:PutObject"));
    let r = s.run(&["expand", "--format", "json", "S3:getobject"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["actions"][0]["action"], "s3:GetObject");
}

#[test]
fn expand_without_matches_exits_1() {
    let s = Scratch::new();
    let r = s.run(&["expand", "nope:Zzz*"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("0 actions"), "{}", r.stderr);
    let r = s.run(&["expand", "s3:Get Object"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// eval
// ---------------------------------------------------------------------------------------

const TAGS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "TagWithCostCenter",
      "Effect": "Allow",
      "Action": "ec2:CreateTags",
      "Resource": "*",
      "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["CostCenter"]}}
    },
    {
      "Sid": "NeverTagOwner",
      "Effect": "Deny",
      "Action": "ec2:CreateTags",
      "Resource": "*",
      "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Owner"]}}
    }
  ]
}
"#;

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const INSTANCE: &str = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc1234def567890";

fn eval_tags(s: &Scratch, extra: &[&str]) -> Run {
    s.file("tags.json", TAGS);
    let mut args = vec![
        "eval",
        "tags.json",
        "--principal",
        ALICE,
        "--action",
        "ec2:CreateTags",
        "--resource",
        INSTANCE,
    ];
    args.extend_from_slice(extra);
    s.run(&args)
}

#[test]
fn eval_exit_codes_follow_the_decision() {
    let s = Scratch::new();
    let r = eval_tags(&s, &["--context", "aws:TagKeys=CostCenter"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("Allow"), "{}", r.stdout);
    assert!(
        r.stdout.contains("tags.json:4 statement TagWithCostCenter"),
        "{}",
        r.stdout
    );
    let r = eval_tags(&s, &["--context", "aws:TagKeys=Project"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.starts_with("ImplicitDeny"), "{}", r.stdout);
    assert!(r.stdout.contains("blocked:"), "{}", r.stdout);
    let r = eval_tags(&s, &["--context", "aws:TagKeys=Owner"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.starts_with("ExplicitDeny"), "{}", r.stdout);
}

/// A request AWS never sends (issue 10): `ec2:CreateTags` takes EC2 resources, not an S3
/// bucket. Decided as given, with warning T0501; a well-typed request has no warning; a
/// resource account that contradicts the ARN's account field is refused.
#[test]
fn eval_warns_about_requests_aws_never_sends() {
    let s = Scratch::new();
    s.file("tags.json", TAGS);
    let base = [
        "eval",
        "tags.json",
        "--principal",
        ALICE,
        "--action",
        "ec2:CreateTags",
        "--context",
        "aws:TagKeys=CostCenter",
        "--resource",
    ];
    let mut args = base.to_vec();
    args.push("arn:aws:s3:::bucket");
    let r = s.run(&args);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("Allow"), "{}", r.stdout);
    assert!(r.stderr.contains("warning[T0501]"), "{}", r.stderr);
    assert!(r.stderr.contains("never sends"), "{}", r.stderr);
    args.extend(["--format", "json"]);
    let r = s.run(&args);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["decision"], "Allow");
    assert_eq!(v["warnings"][0]["code"], "T0501", "{v}");
    let r = eval_tags(&s, &["--context", "aws:TagKeys=CostCenter"]);
    assert!(!r.stderr.contains("T0501"), "{}", r.stderr);
    let r = eval_tags(
        &s,
        &[
            "--context",
            "aws:TagKeys=CostCenter",
            "--resource-account",
            "999999999999",
        ],
    );
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("owned by account 111122223333"),
        "{}",
        r.stderr
    );
}

#[test]
fn eval_json_output_names_matched_statements() {
    let s = Scratch::new();
    let r = eval_tags(
        &s,
        &[
            "--context",
            "aws:TagKeys=CostCenter",
            "--context",
            "aws:TagKeys=Owner",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["decision"], "ExplicitDeny");
    let m = v["matched"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{v}");
    assert_eq!(m[0]["statement"], "TagWithCostCenter");
    assert_eq!(m[0]["effect"], "Allow");
    assert_eq!(m[0]["file"], "tags.json");
    assert_eq!(m[0]["line"], 4);
    assert_eq!(m[0]["policy_type"], "identity policy");
    assert_eq!(m[1]["statement"], "NeverTagOwner");
    assert_eq!(m[1]["effect"], "Deny");
    assert_eq!(m[1]["line"], 11);
    assert_eq!(v["blocked_by"], serde_json::json!([]));

    let r = eval_tags(&s, &["--format", "json"]);
    assert_eq!(r.code, Some(1));
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["decision"], "ImplicitDeny");
    assert_eq!(v["matched"], serde_json::json!([]));
    assert!(!v["blocked_by"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn repeated_context_keys_form_a_multivalued_key() {
    let s = Scratch::new();
    // The matching tag key first or last: either way every value must be seen.
    for pair in [["CostCenter", "Project"], ["Project", "CostCenter"]] {
        let a = format!("aws:TagKeys={}", pair[0]);
        let b = format!("aws:TagKeys={}", pair[1]);
        let r = eval_tags(&s, &["--context", &a, "--context", &b]);
        assert_eq!(r.code, Some(0), "{pair:?}: {}", r.stdout);
        assert!(r.stdout.starts_with("Allow"), "{pair:?}: {}", r.stdout);
    }
    // Three values, one of them denied.
    let r = eval_tags(
        &s,
        &[
            "--context",
            "aws:TagKeys=Project",
            "--context",
            "aws:TagKeys=CostCenter",
            "--context",
            "aws:TagKeys=Owner",
        ],
    );
    assert!(r.stdout.starts_with("ExplicitDeny"), "{}", r.stdout);
    // Keys are case-insensitive, so differently spelled keys join the same list.
    let r = eval_tags(
        &s,
        &[
            "--context",
            "aws:TagKeys=Project",
            "--context",
            "AWS:tagkeys=CostCenter",
        ],
    );
    assert!(r.stdout.starts_with("Allow"), "{}", r.stdout);
}

#[test]
fn context_flags_override_the_request_file() {
    let s = Scratch::new();
    s.file(
        "req.json",
        format!(
            r#"{{"principal": "{ALICE}", "action": "ec2:CreateTags", "resource": "{INSTANCE}", "context": {{"aws:TagKeys": ["Owner"]}}}}"#
        ),
    );
    s.file("tags.json", TAGS);
    let r = s.run(&["eval", "tags.json", "--request", "req.json"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.starts_with("ExplicitDeny"), "{}", r.stdout);
    let r = s.run(&[
        "eval",
        "tags.json",
        "--request",
        "req.json",
        "--context",
        "aws:TagKeys=CostCenter",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
}

#[test]
fn context_values_may_contain_equals_signs() {
    let s = Scratch::new();
    s.file(
        "eq.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "a=b"}}}]}"#,
    );
    let r = s.run(&[
        "eval",
        "eq.json",
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::reports/q1.csv",
        "--context",
        "aws:PrincipalTag/team=a=b",
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

#[test]
fn bad_eval_input_exits_3() {
    let s = Scratch::new();
    let r = eval_tags(&s, &["--context", "aws:TagKeys"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("expected KEY=VALUE"), "{}", r.stderr);
    let r = eval_tags(&s, &["--context", "=CostCenter"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("empty key"), "{}", r.stderr);

    // Missing --action.
    let r = s.run(&[
        "eval",
        "tags.json",
        "--principal",
        ALICE,
        "--resource",
        INSTANCE,
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("--action"), "{}", r.stderr);

    // A syntactically invalid action.
    let r = s.run(&[
        "eval",
        "tags.json",
        "--principal",
        ALICE,
        "--action",
        "s3:Get Object",
        "--resource",
        INSTANCE,
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("invalid action"), "{}", r.stderr);

    // No policies at all.
    let r = s.run(&[
        "eval",
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        INSTANCE,
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("no policies given"), "{}", r.stderr);

    // A policy with errors is bad input for eval (not a "deny").
    s.file("bad.json", BAD_EFFECT);
    let r = s.run(&[
        "eval",
        "bad.json",
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        INSTANCE,
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("T0110"), "{}", r.stderr);

    // An unknown field in the request file.
    s.file(
        "req.json",
        r#"{"principal": "x", "action": "s3:GetObject", "resource": "*", "extra": 1}"#,
    );
    let r = s.run(&["eval", "tags.json", "--request", "req.json"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown request field `extra`"),
        "{}",
        r.stderr
    );

    // A manifest naming a file that does not exist.
    s.file("set.json", r#"{"identity": ["missing.json"]}"#);
    let r = s.run(&["eval", "--set", "set.json", "--request", "req.json"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("missing.json"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// help
// ---------------------------------------------------------------------------------------

#[test]
fn help_exits_0_and_lists_exit_codes() {
    let s = Scratch::new();
    let r = s.run(&["--help"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("Exit codes:"), "{}", r.stdout);
    for line in [
        "0  yes",
        "1  no",
        "2  unknown",
        "3  bad input",
        "4  internal error",
    ] {
        assert!(r.stdout.contains(line), "missing `{line}`:\n{}", r.stdout);
    }
    for cmd in ["check", "eval", "expand"] {
        assert!(r.stdout.contains(cmd), "{}", r.stdout);
    }
    let r = s.run(&["--bogus-flag"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// hardening (issue 15): output failures, exit codes
// ---------------------------------------------------------------------------------------

/// Run with stdout sent to `stdout` and stderr to `stderr`; the exit code (None: a signal).
fn run_with(
    s: &Scratch,
    args: &[&str],
    stdout: std::process::Stdio,
    stderr: std::process::Stdio,
) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(common::bin())
        .args(args)
        .current_dir(s.0.path())
        .env("NO_COLOR", "1")
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    // A piped stdout is dropped unread: its reader is gone (`| true`).
    drop(child.stdout.take());
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).unwrap();
    }
    (child.wait().unwrap().code(), err)
}

fn dev_full() -> std::process::Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const READ_ONE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// Issue 15 finding 1: `subset A R >/dev/full` exited 0 ("holds") where the answer is 1.
#[test]
fn a_failed_stdout_write_never_exits_0() {
    use std::process::Stdio;
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    s.file("R.json", READ_ONE);
    s.file("bad.json", BAD_EFFECT);
    s.file(
        "req.json",
        r#"{"principal":"arn:aws:iam::111122223333:user/u","action":"s3:PutObject","resource":"arn:aws:s3:::b/k"}"#,
    );
    let cases: [&[&str]; 5] = [
        &["subset", "A.json", "R.json"],
        &["can", "R.json", "--action", "iam:CreateUser"],
        &["eval", "R.json", "--request", "req.json"],
        &["check", "bad.json", "--format", "json"],
        &["batch", "A.json", "--format", "json", "--no-progress"],
    ];
    for args in cases {
        let full = run_with(&s, args, dev_full(), Stdio::piped());
        assert_eq!(full.0, Some(3), "{args:?} >/dev/full: {}", full.1);
        assert!(
            full.1.contains("cannot write to standard output"),
            "{args:?}: {}",
            full.1
        );
        let closed = run_with(&s, args, Stdio::piped(), Stdio::piped());
        assert_eq!(closed.0, Some(141), "{args:?} | true: {}", closed.1);
        assert!(!closed.1.contains("panicked"), "{}", closed.1);
    }
}

/// Issue 15 finding 14: `check bad.json 2>/dev/full` aborted; a failing stderr must neither
/// abort nor change the answer.
#[test]
fn a_full_stderr_does_not_change_the_answer() {
    use std::process::Stdio;
    let s = Scratch::new();
    s.file("bad.json", BAD_EFFECT);
    s.file("A.json", ADMIN);
    s.file("R.json", READ_ONE);
    let r = run_with(&s, &["check", "bad.json"], Stdio::null(), dev_full());
    assert_eq!(r.0, Some(1));
    let r = run_with(
        &s,
        &["subset", "A.json", "R.json"],
        Stdio::null(),
        dev_full(),
    );
    assert_eq!(r.0, Some(1));
    let r = run_with(&s, &["check", "missing.json"], Stdio::null(), dev_full());
    assert_eq!(r.0, Some(3));
}

/// Issue 15 findings 1 and 12: `--output` is opened before the work, written through a
/// temporary file and renamed; a failure leaves the previous report untouched and no
/// temporary file behind.
#[test]
fn output_is_opened_first_and_replaced_atomically() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    // A directory that does not exist: refused before any work.
    let r = s.run(&["batch", "A.json", "--output", "nodir/out.json"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot write nodir/out.json"),
        "{}",
        r.stderr
    );
    // A run that fails after the output was opened keeps the old report.
    s.file("out.json", "OLD");
    let r = s.run(&[
        "batch",
        "A.json",
        "--spec",
        "missing.tq",
        "--output",
        "out.json",
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(s.0.path().join("out.json")).unwrap(),
        "OLD"
    );
    // A run that succeeds replaces it.
    let r = s.run(&[
        "batch",
        "A.json",
        "--format",
        "json",
        "--no-progress",
        "--output",
        "out.json",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let text = std::fs::read_to_string(s.0.path().join("out.json")).unwrap();
    assert!(text.contains("no-admin"), "{text}");
    let names: Vec<String> = std::fs::read_dir(s.0.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    // A device cannot take the report: exit 3, not a success with an empty report.
    for cmd in ["batch", "merge"] {
        let args: &[&str] = if cmd == "batch" {
            &["batch", "A.json", "--no-progress", "--output", "/dev/full"]
        } else {
            &["merge", "out.json", "--output", "/dev/full"]
        };
        let r = s.run(args);
        assert_eq!(r.code, Some(3), "{cmd}: {}", r.stderr);
        assert!(r.stderr.contains("cannot write /dev/full"), "{}", r.stderr);
    }
}

/// Issue 15 finding 2: a duplicated manifest key kept the last one (`can` then said
/// "unreachable, proved"); every JSON input refuses duplicates, with line and column.
#[test]
fn duplicate_keys_in_manifests_and_requests_are_refused() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    s.file("R.json", READ_ONE);
    s.file(
        "set.json",
        "{\"identity\": [\"A.json\"],\n \"identity\": [\"R.json\"]}",
    );
    let r = s.run(&["can", "--set", "set.json", "--action", "iam:CreateUser"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("set.json: line 2, column 2: duplicate key `identity`"),
        "{}",
        r.stderr
    );
    s.file(
        "set.toml",
        "identity = [\"A.json\"]\nidentity = [\"R.json\"]\n",
    );
    let r = s.run(&["can", "--set", "set.toml", "--action", "iam:CreateUser"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("duplicate key"), "{}", r.stderr);
    s.file(
        "req.json",
        r#"{"principal":"arn:aws:iam::111122223333:user/u","action":"s3:GetObject","action":"s3:PutObject","resource":"*"}"#,
    );
    let r = s.run(&["eval", "R.json", "--request", "req.json"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("duplicate key `action`"), "{}", r.stderr);
}

/// Issue 15 finding 3: manifest entries could name any file (`/etc/passwd`, `../`); they stay
/// in the manifest's directory tree unless `--allow-path` widens it.
#[test]
fn manifest_paths_stay_inside_the_manifest_tree() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    std::fs::create_dir(s.0.path().join("sub")).unwrap();
    s.file("sub/abs.json", r#"{"identity": ["/etc/passwd"]}"#);
    s.file("sub/up.json", r#"{"identity": ["../A.json"]}"#);
    s.file("sub/dev.json", r#"{"identity": ["/dev/zero"]}"#);
    for m in ["sub/abs.json", "sub/up.json", "sub/dev.json"] {
        let r = s.run(&["can", "--set", m, "--action", "iam:CreateUser"]);
        assert_eq!(r.code, Some(3), "{m}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("outside"), "{m}: {}", r.stderr);
        assert!(!r.stderr.contains("root:"), "{m}: {}", r.stderr);
    }
    let r = s.run(&[
        "can",
        "--set",
        "sub/up.json",
        "--action",
        "iam:CreateUser",
        "--allow-path",
        ".",
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // Widened to /dev, a device is still not a policy file.
    let r = s.run(&[
        "can",
        "--set",
        "sub/dev.json",
        "--action",
        "iam:CreateUser",
        "--allow-path",
        "/dev",
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("a device, not a regular file"),
        "{}",
        r.stderr
    );
}

/// Issue 15 finding 6: `check /dev/zero` and `merge /dev/zero` read until 3 GB (the size
/// check used the length of the file, 0 for a device); a FIFO in a batch directory hung.
#[test]
fn devices_and_fifos_neither_exhaust_memory_nor_hang() {
    let s = Scratch::new();
    for args in [
        &["check", "/dev/zero"][..],
        &["merge", "/dev/zero"],
        &["eval", "/dev/zero", "--action", "s3:GetObject"],
    ] {
        let r = s.run(args);
        assert_eq!(r.code, Some(3), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("larger than the limit"),
            "{args:?}: {}",
            r.stderr
        );
    }
    std::fs::create_dir(s.0.path().join("dir")).unwrap();
    s.file("dir/ok.json", CLEAN);
    let fifo = s.0.path().join("dir/a.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let r = s.run(&["batch", "dir", "--format", "json", "--no-progress"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    let recs = json_lines(&r.stdout);
    let fifo_rec = recs
        .iter()
        .find(|r| r["file"] == "dir/a.json")
        .unwrap_or_else(|| panic!("the FIFO is reported: {}", r.stdout));
    assert_eq!(fifo_rec["status"], "error");
    assert!(
        fifo_rec["message"]
            .as_str()
            .unwrap()
            .contains("a FIFO, not a regular file"),
        "{fifo_rec}"
    );
}

/// Issue 15 finding 9: a directory symlink cycle made `batch` count a file twice (two made it
/// hang).
#[test]
fn batch_directory_walks_survive_symlink_cycles() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.0.path().join("d/e")).unwrap();
    s.file("d/e/p.json", CLEAN);
    std::os::unix::fs::symlink("..", s.0.path().join("d/e/up")).unwrap();
    std::os::unix::fs::symlink("../e", s.0.path().join("d/e/again")).unwrap();
    let r = s.run(&["batch", "d", "--format", "json", "--no-progress"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let files: std::collections::BTreeSet<String> = json_lines(&r.stdout)
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // A list file naming paths outside its tree is refused.
    s.file("list.txt", "/etc/passwd\n");
    let r = s.run(&["batch", "list.txt", "--no-progress"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("list.txt:1:") && r.stderr.contains("outside"),
        "{}",
        r.stderr
    );
}

/// Issue 15 finding 14: `--timeout 1e20` panicked (exit 4); `--jobs 10000` on one file hung.
#[test]
fn absurd_timeouts_and_job_counts_are_bad_input() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    s.file("R.json", READ_ONE);
    for t in ["1e20", "0.0001", "NaN", "inf", "-1"] {
        let r = s.run(&["subset", "A.json", "R.json", &format!("--timeout={t}")]);
        assert_eq!(r.code, Some(3), "--timeout {t}: {}", r.stderr);
        assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
        let r = s.run(&[
            "batch",
            "A.json",
            "--no-progress",
            &format!("--timeout={t}"),
        ]);
        assert_eq!(r.code, Some(3), "batch --timeout {t}: {}", r.stderr);
    }
    let r = s.run(&["batch", "A.json", "--no-progress", "--jobs", "10000"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("--jobs"), "{}", r.stderr);
    // Many threads for one job: as many as there are jobs.
    let r = s.run(&["batch", "A.json", "--no-progress", "--jobs", "256"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
}

/// Issue 15 finding 4: a Sid holding `\r\u001b[1A\u001b[2K` made a terminal show an allowed
/// request as "ImplicitDeny"; Sids, actions, resources and file names reach text output
/// escaped, and the Sid is linted (T0220).
#[test]
fn control_characters_never_reach_text_output() {
    let s = Scratch::new();
    let sid = "Ok\r\u{1b}[1A\u{1b}[2KImplicitDeny";
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    .to_string();
    s.file("p.json", &policy);
    let name = "evil\u{1b}[2K.json";
    s.file(name, &policy);
    s.file("R.json", READ_ONE);
    let runs = [
        s.run(&[
            "eval",
            "p.json",
            "--principal",
            "arn:aws:iam::111122223333:user/u",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
        ]),
        s.run(&["check", "p.json"]),
        s.run(&["check", name, "--kind", "identity"]),
        s.run(&["batch", name, "--no-progress"]),
        s.run(&["batch", "p.json", "--check", "no-admin", "--no-progress"]),
        s.run(&["subset", "p.json", "R.json"]),
        s.run(&["check", "missing\u{1b}[2K.json"]),
    ];
    for r in &runs {
        assert!(
            !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
            "raw escape in output:\n{:?}\n{:?}",
            r.stdout,
            r.stderr
        );
        assert!(!r.stdout.contains('\r') && !r.stderr.contains('\r'));
    }
    assert_eq!(runs[0].code, Some(0), "{}", runs[0].stderr);
    assert!(runs[0].stdout.starts_with("Allow\n"), "{}", runs[0].stdout);
    assert!(
        runs[1].stderr.contains("warning[T0220]"),
        "{}",
        runs[1].stderr
    );
    assert!(runs[1].stderr.contains("\\u{1b}"), "{}", runs[1].stderr);
    assert!(
        runs[2].stderr.contains("evil\\u{1b}[2K.json"),
        "{}",
        runs[2].stderr
    );
}

/// Issue 15 finding 10: diagnostics on a one-line (minified) document echoed the whole line
/// each (20,000 statements: 356 MB of output). Snippets are clipped around the span, with the
/// real line and column.
#[test]
fn snippets_on_minified_documents_are_clipped() {
    let s = Scratch::new();
    let n = 2000;
    let statements: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}))
        .collect();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    assert!(doc.len() > 100_000);
    s.file("min.json", &doc);
    let r = s.run(&["check", "min.json"]);
    assert_eq!(r.code, Some(0), "{}", &r.stderr[..2000.min(r.stderr.len())]);
    assert_eq!(r.stderr.matches("warning[T0201]").count(), n);
    let longest = r.stderr.lines().map(str::len).max().unwrap();
    assert!(longest < 400, "a line of {longest} bytes");
    assert!(r.stderr.len() < n * 1000, "{} bytes", r.stderr.len());
    // The last one points at its real column.
    let last = doc.rfind("s3:GetObjekt").unwrap();
    assert!(
        r.stderr.contains(&format!("min.json:1:{last}")),
        "column {} missing",
        last
    );
    assert!(r.stderr.contains('…'));
}

/// Issue 15 finding 13: `merge` accepted a shard twice, a missing shard, shards of different
/// runs and a shard cut at a line boundary, without a word.
#[test]
fn merge_refuses_inconsistent_shard_sets() {
    let s = Scratch::new();
    std::fs::create_dir(s.0.path().join("p")).unwrap();
    for i in 0..8 {
        s.file(
            &format!("p/{i}.json"),
            if i % 2 == 0 { ADMIN } else { READ_ONE },
        );
    }
    let shard = |i: u32, n: u32, check: &str| {
        let out = format!("s{i}of{n}-{check}.jsonl");
        let r = s.run(&[
            "batch",
            "p",
            "--check",
            check,
            "--shard",
            &format!("{i}/{n}"),
            "--format",
            "json",
            "--no-progress",
            "--output",
            &out,
        ]);
        assert!(matches!(r.code, Some(0..=1)), "{}", r.stderr);
        out
    };
    let (a, b) = (shard(1, 2, "no-admin"), shard(2, 2, "no-admin"));
    let other = shard(2, 2, "no-passrole-wildcard");
    let r = s.run(&["merge", "--format", "json", &a, &b]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout).len(), 8);
    let refused = |args: &[&str], why: &str| {
        let mut full = vec!["merge"];
        full.extend_from_slice(args);
        let r = s.run(&full);
        assert_eq!(r.code, Some(3), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
    };
    refused(&[&a, &a], "given twice");
    refused(&[&a], "shard 2 of 2 missing");
    refused(&[&a, &other], "not shards of one run");
    // Cut at a line boundary: the last line (the shard line) lost, or a record lost.
    let text = std::fs::read_to_string(s.0.path().join(&b)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    s.file("cut1.jsonl", lines[..lines.len() - 1].join("\n"));
    refused(&[&a, "cut1.jsonl"], "incomplete");
    refused(&["cut1.jsonl"], "incomplete");
    let mut dropped = lines.clone();
    dropped.remove(0);
    s.file("cut2.jsonl", dropped.join("\n"));
    refused(&[&a, "cut2.jsonl"], "incomplete");
}

/// Issue 15 finding 7: `--timeout` bounded each Z3 call, not the question (`can --timeout 10`
/// ran 54 s; a long resource pattern kept the solver busy for minutes). The whole question now
/// answers `unknown` with the reason when the limit is reached. (The question below takes
/// minutes in a debug build and several seconds in a release build on an idle machine, so the
/// outcome of a 1 s limit does not depend on the machine's load.)
#[test]
fn timeout_bounds_the_whole_question() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    let pattern = format!("arn:aws:s3:::{}", "?*".repeat(3000));
    let r = s.run(&["can", "A.json", "--resource", &pattern, "--timeout", "1"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("unknown: not decided within --timeout 1 s"),
        "{}",
        r.stdout
    );
    let r = s.run(&[
        "can",
        "A.json",
        "--resource",
        &pattern,
        "--timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["result"], "unknown");
    s.file(
        "slow.tq",
        format!("policy p = \"A.json\"\nassert cannot(p, resource like \"{pattern}\")\n"),
    );
    let r = s.run(&["verify", "slow.tq", "--timeout", "1", "--format", "json"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let recs = json_lines(&r.stdout);
    assert_eq!(recs[0]["status"], "unknown");
    assert!(recs[0]["message"]
        .as_str()
        .unwrap()
        .contains("not decided within --timeout 1 s"));
}

/// Issue 15, findings 3 and 9: a nested stack's template (`TemplateURL`, CDK's
/// `aws:asset:path`, SAM's `Location`) is a file named inside an input: it must resolve inside
/// the tree of the template given (or an `--allow-path` directory), is never read otherwise
/// (nothing of `/etc/passwd` is echoed), and templates that name each other through `../` are
/// each read once.
#[test]
fn nested_stack_templates_stay_inside_the_template_tree() {
    let s = Scratch::new();
    std::fs::create_dir(s.0.path().join("sub")).unwrap();
    let stack = |id: &str, url: &str| {
        format!("  {id}:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: {url}\n")
    };
    s.file(
        "sub/t.yaml",
        format!(
            "Resources:\n{}{}",
            stack("Abs", "/etc/passwd"),
            stack("Up", "../outside.yaml")
        ),
    );
    s.file("outside.yaml", "Resources: {}\n");
    for cmd in ["check", "batch"] {
        let r = s.run(&[cmd, "--template", "sub/t.yaml"]);
        assert_eq!(r.code, Some(3), "{cmd}: {}{}", r.stdout, r.stderr);
        let all = format!("{}{}", r.stdout, r.stderr);
        for named in [
            "`/etc/passwd` resolves to /etc/passwd, outside",
            "`../outside.yaml` resolves to",
        ] {
            assert!(all.contains(named), "{cmd}: {all}");
        }
        assert!(
            !all.contains("root:") && !all.contains("Resources"),
            "{cmd}: {all}"
        );
    }
    // Widened, the parent's sibling is read; /etc/passwd is still refused.
    let r = s.run(&["batch", "--template", "sub/t.yaml", "--allow-path", "."]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("`../outside.yaml` resolves to"), "{all}");
    assert!(all.contains("`/etc/passwd` resolves to"), "{all}");
    // Six stacks naming each other and the parent through `../`: each file is read once.
    std::fs::create_dir(s.0.path().join("loop")).unwrap();
    let mut stacks = String::new();
    for i in 0..6 {
        stacks.push_str(&stack(&format!("S{i}"), "../loop/./p.yaml"));
    }
    s.file("loop/p.yaml", format!("Resources:\n{stacks}"));
    let r = s.run(&["check", "--template", "loop/p.yaml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("checked 1 file"), "{}", r.stderr);
}

/// Issue 15, finding 7: "memory has a cap too". Past `--max-memory` a question answers
/// `unknown` with the reason (exit 2), in its format; any other command stops with exit 2
/// and says so. The cap here (16 MiB) is below what any question needs (the catalog alone is
/// more), so the outcome does not depend on timing; the same question under the default cap
/// is answered.
#[test]
fn memory_cap_bounds_the_run() {
    let s = Scratch::new();
    s.file("A.json", ADMIN);
    // The slow question of `timeout_bounds_the_whole_question`: it runs for minutes, most of
    // them above the cap, so the watchdog's polling cannot miss it on a loaded machine.
    let pattern = format!("arn:aws:s3:::{}", "?*".repeat(3000));
    let slow = ["can", "A.json", "--resource", &pattern, "--timeout", "600"];
    let r = s.run(&["can", "A.json", "--action", "s3:GetObject"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let r = s.run(&[&slow[..], &["--max-memory", "16"]].concat());
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.trim(),
        "unknown: the run reached the memory limit of 16 MiB (--max-memory)"
    );
    let r = s.run(&[&slow[..], &["--max-memory", "16", "--format", "json"]].concat());
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["result"], "unknown");
    assert!(v["reason"].as_str().unwrap().contains("memory limit"));
    s.file(
        "slow.tq",
        format!("policy p = \"A.json\"\nassert cannot(p, resource like \"{pattern}\")\n"),
    );
    let r = s.run(&[
        "verify",
        "slow.tq",
        "--timeout",
        "600",
        "--max-memory",
        "16",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("memory limit of 16 MiB"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no report after the cap: {}", r.stdout);
    let r = s.run(&["check", "A.json", "--max-memory", "0"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// mutation fuzzer over every input kind (issue 15)
// ---------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*): input `i` of a run is always the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments spliced into inputs: syntax of every format, wildcards, variables, paths out of
/// the tree, devices, terminal escapes, YAML aliases and tags, deep nesting.
const FUZZ_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\"*\"",
    "\"?*\"",
    "null",
    "true",
    "1e400",
    "-0",
    "\"Statement\"",
    "\"Effect\"",
    "\"Allow\"",
    "\"Deny\"",
    "\"NotAction\"",
    "\"Condition\"",
    "\"StringLike\"",
    "\"ForAllValues:StringEquals\"",
    "\"aws:SourceIp\"",
    "\"10.0.0.0/8\"",
    "${aws:username}",
    "${",
    "arn:aws:s3:::",
    "?*?*?*?*",
    "\\u0000",
    "\\u001b[2K",
    "\r",
    "not ",
    "(",
    ")",
    " and ",
    " or ",
    "assert can(",
    "include \"",
    "policy p = \"",
    "/dev/zero",
    "/proc/self/environ",
    "../../",
    "/etc/passwd",
    "&a ",
    "*a",
    "!Ref ",
    "!GetAtt ",
    "!Sub ",
    "- ",
    "\n  ",
    ": &x [",
    "Fn::Join",
    "\"Ref\"",
    "\"identity\"",
    "\"scps\"",
    "\u{202e}",
    "é",
    "\u{feff}",
];

/// One generated input: its file name, its bytes and the command that reads it.
struct FuzzCase {
    name: String,
    bytes: Vec<u8>,
    args: Vec<String>,
}

fn seed_text(path: &str) -> String {
    std::fs::read_to_string(common::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Mutate `text` a few times: byte flips, deletions, duplications of a slice, token splices.
fn fuzz_mutate(text: &str, rng: &mut Rng) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at.min(end)..end);
            }
            2 if !b.is_empty() => {
                let start = at.min(b.len() - 1);
                let end = (start + 1 + rng.below(64)).min(b.len());
                let chunk = b[start..end].to_vec();
                let most = if rng.below(10) == 0 { 2000 } else { 4 };
                let times = 1 + rng.below(most);
                for _ in 0..times {
                    b.splice(start..start, chunk.iter().copied());
                }
            }
            _ => {
                let tok = FUZZ_TOKENS[rng.below(FUZZ_TOKENS.len())].as_bytes();
                let times = if rng.below(8) == 0 {
                    1 + rng.below(500)
                } else {
                    1
                };
                for _ in 0..times {
                    b.splice(at..at, tok.iter().copied());
                }
            }
        }
    }
    b
}

/// Inputs that are hostile by construction rather than by mutation.
fn fuzz_special(i: usize, rng: &mut Rng) -> (String, Vec<u8>, &'static str) {
    let n = 1 + rng.below(9);
    match i % 6 {
        // A YAML alias bomb: each level refers to the previous one ten times.
        0 => {
            let mut y = String::from("AWSTemplateFormatVersion: '2010-09-09'\nl0: &l0 [x]\n");
            for k in 1..=n {
                let refs = vec![format!("*l{}", k - 1); 10].join(", ");
                y.push_str(&format!("l{k}: &l{k} [{refs}]\n"));
            }
            y.push_str(&format!(
                "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument: *l{n}\n"
            ));
            ("bomb.yaml".into(), y.into_bytes(), "template")
        }
        // Deep nesting in a spec and in JSON.
        1 => (
            "deep.tq".into(),
            format!(
                "policy p = \"p.json\"\nassert cannot(p, {}action == \"s3:GetObject\")\n",
                "not ".repeat(50 * n)
            )
            .into_bytes(),
            "spec",
        ),
        2 => (
            "deep.json".into(),
            format!("{}{}", "[".repeat(40 * n), "]".repeat(40 * n)).into_bytes(),
            "policy",
        ),
        // Paths to devices and files outside the tree.
        3 => (
            "set.json".into(),
            format!(
                "{{\"identity\": [\"{}\"]}}",
                ["/dev/zero", "/dev/urandom", "../../etc/passwd", "fifo.json", "/proc/self/environ"]
                    [rng.below(5)]
            )
            .into_bytes(),
            "manifest",
        ),
        4 => (
            "inc.tq".into(),
            format!(
                "include \"{}\"\n",
                ["/dev/zero", "fifo.json", "/proc/self/environ", "inc.tq"][rng.below(4)]
            )
            .into_bytes(),
            "spec",
        ),
        // A long wildcard pattern (the solver's worst case).
        _ => (
            "long.json".into(),
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}", "?*".repeat(100 * n))}]})
            .to_string()
            .into_bytes(),
            "policy",
        ),
    }
}

/// The command that reads an input of `kind` named `name`.
fn fuzz_args(kind: &str, name: &str, rng: &mut Rng) -> Vec<String> {
    let t = "--timeout=2";
    let v: Vec<&str> = match kind {
        "policy" => match rng.below(4) {
            0 => vec!["can", name, "--action", "iam:CreateUser", t],
            1 => vec!["subset", name, "p.json", t],
            _ => vec!["check", name],
        },
        "spec" => vec!["verify", name, t],
        "manifest" => vec!["can", "--set", name, "--action", "iam:CreateUser", t],
        "template" => vec!["batch", "--template", name, "--no-progress", t],
        "plan" => vec!["batch", "--terraform-plan", name, "--no-progress", t],
        "snapshot" => vec!["batch", "--account-snapshot", name, "--no-progress", t],
        _ => vec!["merge", name],
    };
    v.into_iter().map(String::from).collect()
}

fn fuzz_case(i: usize) -> FuzzCase {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64).wrapping_mul(0x1000_0000_01b3) | 1);
    // Seeds of every kind, from the repository.
    const SEEDS: &[(&str, &str, &str)] = &[
        (
            "policy",
            "corpus/examples/mfa-confidential/identity.json",
            "x.json",
        ),
        (
            "policy",
            "corpus/examples/boundary-confidential/boundary.json",
            "x.json",
        ),
        (
            "policy",
            "corpus/examples/cross-account-bucket/bucket-policy.json",
            "x.json",
        ),
        ("spec", "corpus/specs/organization.tq", "x.tq"),
        (
            "manifest",
            "corpus/examples/boundary-confidential/set.json",
            "x.json",
        ),
        ("template", "corpus/iac/sam/template.yaml", "x.yaml"),
        ("plan", "corpus/iac/terraform/plan.json", "x.json"),
        ("snapshot", "corpus/iac/snapshot/account.json", "x.json"),
    ];
    let (name, bytes, kind) = if rng.below(5) == 0 {
        fuzz_special(i, &mut rng)
    } else {
        let (kind, seed, name) = SEEDS[rng.below(SEEDS.len())];
        (
            name.to_string(),
            fuzz_mutate(&seed_text(seed), &mut rng),
            kind,
        )
    };
    let args = fuzz_args(kind, &name, &mut rng);
    FuzzCase { name, bytes, args }
}

/// What one fuzz run did.
struct FuzzOutcome {
    status: std::process::ExitStatus,
    wall: std::time::Duration,
    stderr: String,
}

fn fuzz_run(dir: &std::path::Path, case: &FuzzCase) -> FuzzOutcome {
    use std::io::Read;
    std::fs::write(dir.join(&case.name), &case.bytes).unwrap();
    let start = std::time::Instant::now();
    // The long run may use a release build: TARSKI_FUZZ_BIN=target/release/tarski.
    let bin = std::env::var_os("TARSKI_FUZZ_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(common::bin);
    let mut child = std::process::Command::new(bin)
        .args(&case.args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let mut buf = Vec::new();
        let _ = e.read_to_end(&mut buf);
        stderr = String::from_utf8_lossy(&buf[..buf.len().min(4000)]).into_owned();
    }
    let status = child.wait().unwrap();
    FuzzOutcome {
        status,
        wall: start.elapsed(),
        stderr,
    }
}

/// The mutation fuzzer: generated inputs of every kind (policies, specs, manifests,
/// templates, plans, snapshots; YAML alias bombs, deep nesting, devices, a FIFO, paths out of
/// the tree) run through the real binary. No run may abort (a signal, or exit 4: a panic or
/// a witness the evaluator rejects), and none may grow past 2 GB. CI runs a bounded slice;
/// the long run (docs/cli.md, "Fuzzing") is `TARSKI_FUZZ_INPUTS=20000
/// TARSKI_FUZZ_BIN=$PWD/target/release/tarski cargo test --test cli mutation_fuzzer --
/// --nocapture` (after `cargo build --release`), which also
/// reports runs over twice their `--timeout` (wall time depends on the machine's load, so it is
/// reported, not asserted, in CI).
#[test]
fn mutation_fuzzer_over_every_input_kind() {
    let inputs: usize = std::env::var("TARSKI_FUZZ_INPUTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(160);
    let first: usize = std::env::var("TARSKI_FUZZ_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let workers = 2;
    let next = std::sync::atomic::AtomicUsize::new(first);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let s = Scratch::new();
                s.file("p.json", READ_ONE);
                let fifo = s.0.path().join("fifo.json");
                let _ = std::process::Command::new("mkfifo").arg(&fifo).status();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= first + inputs {
                        break;
                    }
                    let case = fuzz_case(i);
                    let out = fuzz_run(s.0.path(), &case);
                    results.lock().unwrap().push((i, case.args.join(" "), out));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    // SAFETY: getrusage fills a zeroed struct.
    let max_rss_kb = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss
    };
    let aborts: Vec<String> = results
        .iter()
        .filter(|(_, _, o)| {
            o.status
                .code()
                .is_none_or(|c| c == 4 || c > 4 && c != 130 && c != 141)
        })
        .map(|(i, a, o)| format!("input {i} (`tarski {a}`): {:?}\n{}", o.status, o.stderr))
        .collect();
    let slow: Vec<String> = results
        .iter()
        .filter(|(_, _, o)| o.wall > std::time::Duration::from_secs(4))
        .map(|(i, a, o)| format!("input {i} (`tarski {a}`): {:.1} s", o.wall.as_secs_f64()))
        .collect();
    let mut by_code: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, _, o) in &results {
        *by_code.entry(format!("{:?}", o.status.code())).or_default() += 1;
    }
    let longest = results
        .iter()
        .map(|(_, _, o)| o.wall)
        .max()
        .unwrap_or_default();
    eprintln!(
        "fuzz: {} inputs (from {first}), exit codes {by_code:?}; {} aborts; max RSS of a run {} MB; \
         longest run {:.1} s; {} runs over twice their --timeout of 2 s",
        results.len(),
        aborts.len(),
        max_rss_kb / 1024,
        longest.as_secs_f64(),
        slow.len()
    );
    for s in &slow {
        eprintln!("  slow: {s}");
    }
    assert_eq!(results.len(), inputs);
    assert!(aborts.is_empty(), "aborts:\n{}", aborts.join("\n"));
    assert!(max_rss_kb < 2 * 1024 * 1024, "a run used {max_rss_kb} KB");
}

// ---------------------------------------------------------------------------------------
// output snapshots (issue 14): what a user reads, word for word
// ---------------------------------------------------------------------------------------

/// The answer of one command run in the repository root, as a snapshot: the exit code, then
/// standard output, then standard error. A change in wording fails here until the new
/// `tests/snapshots/*.snap` is reviewed and committed (`cargo insta review`, or rename the
/// `.snap.new` file insta writes beside it).
fn snapshot_of(args: &[&str]) -> String {
    let r = tarski_in(&common::root(), args);
    // Solver statistics (wall times, atom and cell counts) change with the engine, not with
    // what a user reads: they are left out of JSON answers.
    let stdout: String = r
        .stdout
        .lines()
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(mut o)) => {
                if o.remove("stats").is_some() {
                    o.insert("stats".into(), Value::from("[masked]"));
                }
                format!("{}\n", Value::Object(o))
            }
            _ => format!("{l}\n"),
        })
        .collect();
    format!(
        "$ tarski {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        r.code.map_or("signal".to_string(), |c| c.to_string()),
        stdout,
        r.stderr
    )
}

macro_rules! snapshot {
    ($name:literal, $($arg:expr),+ $(,)?) => {
        insta::assert_snapshot!($name, snapshot_of(&[$($arg),+]))
    };
}

#[test]
fn snapshot_check_diagnostics() {
    snapshot!(
        "check_bad_effect",
        "check",
        "tests/data/snapshots/bad-effect.json"
    );
    snapshot!(
        "check_clean",
        "check",
        "corpus/examples/mfa-confidential/identity.json"
    );
}

#[test]
fn snapshot_can_answers() {
    snapshot!(
        "can_unreachable_mfa",
        "can",
        "--set",
        "corpus/examples/mfa-confidential/set.json",
        "--resource",
        "arn:aws:s3:::CompanyConfidential/*",
        "--where",
        "!aws:MultiFactorAuthPresent"
    );
    snapshot!(
        "can_reachable_mfa",
        "can",
        "--set",
        "corpus/examples/mfa-confidential/set.json",
        "--resource",
        "arn:aws:s3:::CompanyConfidential/*"
    );
    snapshot!(
        "can_reachable_mfa_json",
        "can",
        "--set",
        "corpus/examples/mfa-confidential/set.json",
        "--resource",
        "arn:aws:s3:::CompanyConfidential/*",
        "--format",
        "json"
    );
}

#[test]
fn snapshot_subset_and_equiv() {
    snapshot!(
        "subset_escaping_boundary",
        "subset",
        "corpus/examples/boundary-confidential/escaping-identity.json",
        "corpus/examples/boundary-confidential/boundary.json"
    );
    snapshot!(
        "equiv_s3_star_vs_list",
        "equiv",
        "tests/data/equiv/s3-star-vs-list/a.json",
        "tests/data/equiv/s3-star-vs-list/b.json"
    );
}

#[test]
fn snapshot_eval_explanations() {
    snapshot!(
        "eval_home_folder_allow",
        "eval",
        "corpus/examples/home-folders/identity.json",
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
        "--action",
        "s3:ListBucket",
        "--resource",
        "arn:aws:s3:::corp-home",
        "--context",
        "aws:username=alice",
        "--context",
        "s3:prefix=home/alice/projects/"
    );
    snapshot!(
        "eval_home_folder_deny",
        "eval",
        "corpus/examples/home-folders/identity.json",
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::corp-home/home/bob/notes.txt",
        "--context",
        "aws:username=alice"
    );
}

#[test]
fn snapshot_expand() {
    snapshot!("expand_s3_get_bucket_p", "expand", "s3:GetBucketP*");
}

/// The façade answers a bounded (deploy-time) policy for every value it can take, with typed
/// answers: `Unknown::DeployTime` where the answer differs between the widest and narrowest
/// values (docs/iac.md, "Bounds"), a proof or a witness where it does not. The same questions
/// as `iac_reference::bounded_references_answer_for_every_value`, through `tarski::Engine`.
#[test]
fn engine_answers_bounded_policies_for_every_value() {
    use tarski::{Answer, Engine, PolicyKind, Unknown};
    let s = Scratch::new();
    let t = s.file(
        "t.yaml",
        "Parameters:\n  Res:\n    Type: String\nResources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: s3:GetObject\n            Resource: ['arn:aws:s3:::known/*', !Ref Res]\n",
    );
    let known = s.file(
        "known.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::known/*"}]}"#,
    );
    let engine = Engine::builder()
        .solver(tarski::SolverChoice::Z3)
        .resource_limit(5_000_000, 5_000_000)
        .build()
        .unwrap();
    let reference = PathBuf::from(format!("{}#P", t.display()));
    let bounded = engine
        .policy_file(&reference, PolicyKind::Identity)
        .unwrap();
    let b = bounded.bounds().expect("the template policy is bounded");
    assert!(!b.over.is_bounded() && !b.under.is_bounded());
    let known = engine.policy_file(&known, PolicyKind::Identity).unwrap();
    let c = |text: &str| engine.constraint(text).unwrap();
    // Whatever `Res` is: the known bucket is reachable, s3:PutObject never is.
    let r = engine.can(
        &bounded,
        Some(&c(r#"resource like "arn:aws:s3:::known/a""#)),
    );
    assert!(matches!(r.unwrap().answer, Answer::Witnesses(_)));
    let r = engine.can(&bounded, Some(&c(r#"action like "s3:PutObject""#)));
    assert!(matches!(r.unwrap().answer, Answer::Proved));
    // Another bucket only if `Res` names it: unknown, and typed as a deploy-time dependence.
    let r = engine.can(
        &bounded,
        Some(&c(r#"resource like "arn:aws:s3:::other/a""#)),
    );
    match r.unwrap().answer {
        Answer::Unknown(Unknown::DeployTime(why)) => assert!(why.contains("deploy time"), "{why}"),
        other => panic!("expected a deploy-time unknown, got {other:?}"),
    }
    // Within it for every value; the converse depends on the value.
    assert!(matches!(
        engine.subset(&known, &bounded, None).unwrap().answer,
        Answer::Proved
    ));
    assert!(matches!(
        engine.subset(&bounded, &known, None).unwrap().answer,
        Answer::Unknown(Unknown::DeployTime(_))
    ));
    // Attack the proof at its boundary: the request on the known bucket that the widened side
    // allows is allowed by the narrowed side too (the proof's premise), and a request on
    // another bucket is allowed only by the widened side.
    let req = |resource: &str| tarski::Request {
        principal: "arn:aws:iam::111122223333:user/u".into(),
        action: "s3:GetObject".into(),
        resource: resource.into(),
        ..Default::default()
    };
    for (resource, widened, narrowed) in [
        ("arn:aws:s3:::known/a", true, true),
        ("arn:aws:s3:::other/a", true, false),
    ] {
        let allows = |set: &tarski::PolicySet| {
            matches!(engine.eval(set, &req(resource)), tarski::EvalReport::Decided(e)
                if e.decision == tarski::Decision::Allow)
        };
        assert_eq!(allows(&b.over), widened, "{resource}");
        assert_eq!(allows(&b.under), narrowed, "{resource}");
    }
    assert!(matches!(
        engine.eval(&bounded, &req("arn:aws:s3:::other/a")),
        tarski::EvalReport::Unknown(Unknown::DeployTime(_))
    ));
}

/// The façade's options are checked when the engine is built, as the CLI's flags are.
#[test]
fn engine_refuses_out_of_range_options() {
    let e = tarski::Engine::builder()
        .timeout_secs(0.0)
        .build()
        .unwrap_err();
    assert!(matches!(e, tarski::Error::Options(_)), "{e:?}");
    let e = tarski::Engine::builder().jobs(0).build().unwrap_err();
    assert!(matches!(e, tarski::Error::Options(_)), "{e:?}");
    let e = tarski::Engine::builder()
        .jobs(tarski::MAX_JOBS + 1)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("--jobs"), "{e}");
}

/// Allowed roots are process-wide: an engine built with other roots than an earlier one is
/// refused, never silently given the first ones (which would resolve its paths against them).
#[test]
fn engine_refuses_a_second_set_of_allowed_roots() {
    let (a, b) = (Scratch::new(), Scratch::new());
    tarski::Engine::builder()
        .allow_root(a.0.path())
        .build()
        .unwrap();
    // The same roots again: fine.
    tarski::Engine::builder()
        .allow_root(a.0.path())
        .build()
        .unwrap();
    let e = tarski::Engine::builder()
        .allow_root(b.0.path())
        .build()
        .unwrap_err();
    assert!(matches!(e, tarski::Error::Options(_)), "{e:?}");
    assert!(e.to_string().contains("process-wide"), "{e}");
}

/// The façade returns an input's diagnostics as data (`Error::Invalid`): file, position and
/// code of each, for a spec that names nothing and for a policy with an error.
#[test]
fn engine_returns_diagnostics_as_data() {
    let s = Scratch::new();
    let text = "assert cannot(nope, action like \"s3:*\")\n";
    let spec = s.file("s.tq", text);
    let engine = tarski::Engine::builder().build().unwrap();
    match engine.verify(&spec) {
        Err(tarski::Error::Invalid {
            message,
            diagnostics,
        }) => {
            assert!(message.contains("error in the spec"), "{message}");
            let d = &diagnostics[0];
            assert!(d.source.name.ends_with("s.tq"), "{}", d.source.name);
            let at = d.source.line_col(d.diagnostics[0].span.start as usize);
            assert_eq!(at, (1, text.find("nope").unwrap() + 1), "{d:?}");
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
    let bad = s.file(
        "bad.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Bogus": 1}]}"#,
    );
    match engine.policy_file(&bad, tarski::PolicyKind::Identity) {
        Err(tarski::Error::Invalid { diagnostics, .. }) => {
            let d = diagnostics[0]
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .unwrap();
            assert!(d.code.as_str().starts_with("T01"), "{d:?}");
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

/// ARCHITECTURE.md's invariants for the root package: the library (src/lib.rs) declares none
/// of the command line's modules (the compiler then keeps every library module from importing
/// them: they are not in its crate), and the root package depends on no solver (only
/// `tarski-solver` knows Z3).
#[test]
fn the_library_does_not_hold_the_cli_and_the_root_knows_no_solver() {
    let root = common::root();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .filter_map(|r| r.strip_suffix(';'))
        .collect();
    assert!(
        declared.contains(&"engine") && declared.len() >= 8,
        "{declared:?}"
    );
    for cli in ["cli", "commands", "report", "exit"] {
        assert!(
            !declared.contains(&cli),
            "src/lib.rs declares the CLI module {cli}"
        );
    }
    assert!(
        !lib.contains("#[path"),
        "src/lib.rs reaches a module by #[path]"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("\n[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .unwrap();
    assert!(deps.contains("tarski-solver"), "{deps}");
    for solver in ["z3", "cvc5"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(solver)),
            "the root package depends on {solver}:\n{deps}"
        );
    }
}

/// The façade bounds a question as a whole by its time limit (every stage, not only each
/// solver query), as the CLI's --timeout does: past it the answer is `Unknown::OutOfTime`,
/// never a proof. (A millisecond is less than creating one solver context takes, on any
/// machine; a slower machine only makes it more so.)
#[test]
fn engine_bounds_the_whole_question() {
    use tarski::{Answer, Unknown};
    let engine = tarski::Engine::builder()
        .timeout_secs(0.001)
        .syntactic(false)
        .solver(tarski::SolverChoice::Z3)
        .build()
        .unwrap();
    let set = engine
        .policy_text(
            "p.json",
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b*/x?y*"}]}"#,
        )
        .unwrap();
    let c = engine
        .constraint(r#"resource like "arn:aws:s3:::b*/x?y*z""#)
        .unwrap();
    match engine.can(&set, Some(&c)).unwrap().answer {
        Answer::Unknown(Unknown::OutOfTime(t)) => assert_eq!(t.as_millis(), 1),
        other => panic!("expected OutOfTime, got {other:?}"),
    }
    let eq = engine.equiv(&set, &set, Some(&c)).unwrap();
    assert!(!eq.proved() && !eq.differ(), "{eq:?}");
}
