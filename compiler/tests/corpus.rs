//! The real-world corpus in `../shared/corpus` (beside the project root, in CI beside the
//! clone): every AWS managed policy must load without errors, and the other collections (AWS
//! documentation examples, SCP examples, data-perimeter policies) must load without panics and
//! with only the errors listed in `EXPECTED_ERRORS` below, each checked by hand.
//!
//! When the corpus is absent the tests print `SKIPPED: ...` and return; under `CI=true` they
//! fail instead.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tarski_compiler::diagnostic::Diagnostic;
use tarski_compiler::eval::evaluate;
use tarski_compiler::load::{load, Loaded};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::request::Request;

fn corpus_root() -> PathBuf {
    // compiler/ -> project root -> the folder holding it, where `shared/` lives.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// Data a test needs is missing: under `CI=true` that fails the test (a run that skipped its
/// data must not pass as green); elsewhere it prints `SKIPPED: ...` and the test returns.
fn data_missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{what} (CI=true: tests that need data fail when it is missing)");
    }
    eprintln!("SKIPPED: {what}");
}

/// The folder, or `None` after printing why the test is skipped (failing under `CI=true`).
fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let dir = corpus_root().join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        data_missing(&format!("shared corpus not found at {}", dir.display()));
        None
    }
}

/// Every `.json` file under `dir`, recursively, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap().to_string_lossy().into_owned()
}

fn errors(l: &Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .flat_map(|s| {
            s.diagnostics.iter().filter(|d| d.is_error()).map(|d| {
                let (line, col) = s.source.line_col(d.span.start as usize);
                format!("{line}:{col}: {} [{}]", d.message, d.code)
            })
        })
        .collect()
}

fn warnings(l: &Loaded) -> impl Iterator<Item = &Diagnostic> {
    l.diagnostics
        .iter()
        .flat_map(|s| s.diagnostics.iter().filter(|d| !d.is_error()))
}

fn s3_get_object() -> Request {
    Request {
        principal: "arn:aws:iam::111122223333:user/alice".into(),
        action: "s3:GetObject".into(),
        resource: "arn:aws:s3:::b/k".into(),
        ..Request::default()
    }
}

#[test]
fn aws_managed_policies_load_without_errors() {
    let Some(dir) = corpus_dir("aws-managed") else {
        return;
    };
    let files = json_files(&dir);
    let mut documents = 0;
    let mut failures = Vec::new();
    let mut histogram: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut files_with_warning: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut decisions: BTreeMap<&'static str, usize> = BTreeMap::new();
    let req = s3_get_object();
    for path in &files {
        let name = rel(&dir, path);
        let text = fs::read_to_string(path).unwrap();
        let loaded = load(&name, &text, None, true);
        let errs = errors(&loaded);
        if !errs.is_empty() {
            failures.push(format!("{name}: {}", errs.join("; ")));
        }
        documents += loaded.policies.len();
        let mut codes_here = std::collections::BTreeSet::new();
        for w in warnings(&loaded) {
            *histogram.entry(w.code.as_str()).or_default() += 1;
            codes_here.insert(w.code.as_str());
        }
        for c in codes_here {
            *files_with_warning.entry(c).or_default() += 1;
        }
        // A simple request against each managed policy as the caller's identity policy.
        for p in loaded.policies {
            let set = PolicySet {
                identity: vec![p],
                ..PolicySet::default()
            };
            *decisions
                .entry(evaluate(&set, &req).decision.as_str())
                .or_default() += 1;
        }
    }
    eprintln!("aws-managed: {} files, {documents} documents", files.len());
    eprintln!("warnings by code (diagnostics / files):");
    for (code, n) in &histogram {
        eprintln!("  {code}: {n} / {}", files_with_warning[code]);
    }
    eprintln!("s3:GetObject on arn:aws:s3:::b/k: {decisions:?}");
    assert!(
        failures.is_empty(),
        "{} managed policies have errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(documents > 1500, "only {documents} documents loaded");
}

/// Files in `other/` that are expected to fail, with the error code each produces and why the
/// error is right. Anything else failing is a regression (or a new file to review).
const EXPECTED_ERRORS: &[(&str, &str, &str)] = &[
    // AWS documentation examples with prose placeholders where an ID or ARN belongs.
    ("aws-docs-examples/iam-user-guide/confused-deputy__1.json", "T0115", "placeholder `Example Corp's AWS Account ID`"),
    ("aws-docs-examples/iam-user-guide/id_credentials_mfa_configure-api-require__1.json", "T0115", "placeholder `ACCOUNT-B-ID`"),
    ("aws-docs-examples/iam-user-guide/id_credentials_mfa_configure-api-require__5.json", "T0115", "placeholders `ACCOUNT-A-ID` .. `ACCOUNT-C-ID`"),
    ("aws-docs-examples/iam-user-guide/id_roles_use_passrole__1.json", "T0120", "prose placeholders for the action and resource lists"),
    ("aws-docs-examples/s3-user-guide/creating-access-points__2.json", "T0121", "placeholder `Bucket ARN`"),
    ("aws-docs-examples/s3-user-guide/replication-config-for-kms-objects__1.json", "T0121", "prose placeholder for KMS key ARNs"),
    ("aws-docs-examples/s3-user-guide/replication-walkthrough-3__1.json", "T0115", "placeholder `source-bucket-owner-account-id`"),
    ("aws-docs-examples/s3-user-guide/replication-walkthrough-4__1.json", "T0121", "prose placeholder for KMS key ARNs"),
    ("aws-docs-examples/s3-user-guide/ways-to-add-notification-config-to-bucket__1.json", "T0121", "placeholder `SQS-queue-ARN`"),
    ("aws-docs-examples/s3-user-guide/ways-to-add-notification-config-to-bucket__2.json", "T0121", "placeholder `SNS-topic-ARN`"),
    // Stray whitespace inside a value, as printed in the AWS docs. Tarski does not trim
    // values; whether IAM trims them is not documented (the troubleshooting page shows
    // `" *"` and `"ec2:* "` in its corrected examples, most likely typos).
    ("aws-docs-examples/iam-user-guide/reference_policies_iam-condition-keys__6.json", "T0115", "principal ARN with a leading space"),
    ("aws-docs-examples/iam-user-guide/troubleshoot_policies__8.json", "T0121", "resource `\" *\"` with a leading space"),
    ("aws-docs-examples/iam-user-guide/troubleshoot_policies__11.json", "T0120", "action `ec2:* ` with a trailing space"),
    ("aws-docs-examples/iam-user-guide/troubleshoot_policies__12.json", "T0120", "action `ec2:* ` with a trailing space (the page's wrong example)"),
    // Templates with `<...>` placeholders to be filled in before use.
    ("aws-scp-examples/Protect-cloud-platform-resource/Deny-use-of-IAM-user-credentials-from-unexpected-networks.json", "T0133", "`<my-corporate-cidr>` in an IpAddress condition"),
    ("aws-data-perimeter/resource_control_policies/network_perimeter_sourcevpc_rcp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/resource_control_policies/network_perimeter_vpceorgid_rcp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/resource_control_policies/service_specific_controls/api_gateway_policy.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/resource_control_policies/service_specific_controls/sns_topic_policy.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/network_perimeter_sourcevpc_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/network_perimeter_vpceorgid_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/resource_perimeter_scp.json", "T0121", "`<third-party-resource>` as a Resource"),
    ("aws-data-perimeter/service_control_policies/service_specific_controls/network_perimeter_ec2_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/service_specific_controls/network_perimeter_glue_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/service_specific_controls/network_perimeter_iam_users_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/service_control_policies/service_specific_controls/network_perimeter_lambda_scp.json", "T0133", "`<my-corporate-cidr>`"),
    ("aws-data-perimeter/vpc_endpoint_policies/s3_endpoint_policy.json", "T0120", "`<action>` and `<third-party-resource-arn>`"),
];

/// Which kind to read a file in `other/` as: SCP folders as SCPs, RCP folders as RCPs, the
/// rest inferred.
fn kind_for(rel: &str) -> Option<PolicyKind> {
    if rel.starts_with("aws-scp-examples/") || rel.contains("service_control_policies/") {
        Some(PolicyKind::Scp)
    } else if rel.contains("resource_control_policies/") {
        Some(PolicyKind::Rcp)
    } else {
        None
    }
}

#[test]
fn other_collections_load() {
    let Some(root) = corpus_dir("other") else {
        return;
    };
    let collections = [
        "aws-docs-examples",
        "aws-scp-examples",
        "aws-data-perimeter",
    ];
    let mut total = 0;
    let mut failed: Vec<(String, Vec<String>)> = Vec::new();
    let req = s3_get_object();
    for c in collections {
        let dir = root.join(c);
        if !dir.is_dir() {
            data_missing(&format!("shared corpus not found at {}", dir.display()));
            continue;
        }
        let files = json_files(&dir);
        let mut bad = 0;
        for path in &files {
            let name = rel(&root, path);
            let text = fs::read_to_string(path).unwrap();
            let loaded = load(&name, &text, kind_for(&name), true);
            for p in loaded.policies.iter().cloned() {
                let mut set = PolicySet::default();
                match p.policy.kind {
                    PolicyKind::Scp => set.scps = vec![vec![p]],
                    PolicyKind::Rcp => set.rcps = vec![vec![p]],
                    PolicyKind::Resource | PolicyKind::Trust => set.resource = Some(p),
                    _ => set.identity = vec![p],
                }
                evaluate(&set, &req);
            }
            let errs = errors(&loaded);
            if !errs.is_empty() {
                bad += 1;
                failed.push((name, errs));
            }
        }
        eprintln!("{c}: {} files, {bad} with errors", files.len());
        total += files.len();
    }
    eprintln!("files with errors:");
    for (name, errs) in &failed {
        eprintln!("  {name}: {}", errs.join("; "));
    }
    let unexpected: Vec<String> = failed
        .iter()
        .filter(|(name, errs)| {
            !EXPECTED_ERRORS
                .iter()
                .any(|(f, code, _)| f == name && errs.iter().any(|e| e.contains(code)))
        })
        .map(|(name, errs)| format!("{name}: {}", errs.join("; ")))
        .collect();
    let missing: Vec<&str> = EXPECTED_ERRORS
        .iter()
        .filter(|(f, _, _)| !failed.iter().any(|(n, _)| n == f))
        .map(|(f, _, _)| *f)
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected errors:\n{}",
        unexpected.join("\n")
    );
    assert!(
        missing.is_empty(),
        "expected errors no longer reported: {missing:?}"
    );
    assert!(
        failed.len() * 10 <= total,
        "error rate too high: {} of {total}",
        failed.len()
    );
}
