//! The worked example of docs/ci.md ("Configuration: tarski.toml"), run end to end as it is
//! documented: `corpus/iac/ci-config/` (its `tarski.toml` and `template.yaml`) in a directory
//! of its own, the first run storing the findings, the second failing only on new ones.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{json_lines, root, tarski};
use serde_json::Value;

fn example_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["tarski.toml", "template.yaml"] {
        std::fs::copy(
            root().join("corpus/iac/ci-config").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    dir
}

fn record<'a>(rs: &'a [Value], check: &str, subject: &str) -> &'a Value {
    rs.iter()
        .find(|r| r["check"] == check && r["subject"] == subject)
        .unwrap_or_else(|| panic!("no [{check}] {subject} in {rs:#?}"))
}

fn batch(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["batch", "--template", "template.yaml", "--no-progress"];
    args.extend(extra);
    args.extend(["--format", "json"]);
    let (code, out, err) = tarski(dir, &args);
    (code, json_lines(&out), err)
}

#[test]
fn the_documented_ci_example_runs_as_documented() {
    let dir = example_dir();
    let d = dir.path();

    // 1. `tarski batch --template template.yaml --format json --output findings.json`
    let (code, _, err) = tarski(
        d,
        &[
            "batch",
            "--template",
            "template.yaml",
            "--no-progress",
            "--format",
            "json",
            "--output",
            "findings.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let rs = json_lines(&std::fs::read_to_string(d.join("findings.json")).unwrap());
    // The expired suppression is a finding of its own, at its line of tarski.toml, and no
    // longer hides BreakGlass.
    let exp = record(&rs, "suppression-expired", "tarski.toml:23");
    assert_eq!(exp["status"], "fail");
    assert_eq!(exp["severity"], "error");
    assert_eq!(exp["location"]["line"], 23);
    let bg = record(&rs, "no-admin", "template.yaml:role/BreakGlass");
    assert_eq!(
        (&bg["status"], &bg["severity"]),
        (&"fail".into(), &"error".into())
    );
    // The live suppression: reported, with its reason, not blocking.
    for s in [
        "template.yaml:role/Deployer",
        "template.yaml#/Resources/Deployer/Properties/Policies/0/PolicyDocument",
    ] {
        let r = record(&rs, "no-passrole-wildcard", s);
        assert_eq!(r["status"], "fail");
        assert_eq!(r["severity"], "info", "{r}");
        assert!(r["message"].as_str().unwrap().contains("SEC-142"), "{r}");
    }
    // The severity table: the unread VPC endpoint policy is a warning, still reported.
    let ep = record(&rs, "input-coverage", "template.yaml:56");
    assert_eq!(
        (&ep["status"], &ep["severity"]),
        (&"unknown".into(), &"warning".into())
    );
    // Template values: Env = prod, so the dev-only public bucket policy does not exist.
    assert!(
        !rs.iter()
            .any(|r| r["subject"].as_str().unwrap().contains("DevBucketPolicy")),
        "{rs:#?}"
    );

    // 2. `tarski batch --template template.yaml --baseline-findings findings.json`: nothing new.
    let (code, rs2, err) = batch(d, &["--baseline-findings", "findings.json"]);
    assert_eq!(code, 0, "{err}{rs2:#?}");
    let bg = record(&rs2, "no-admin", "template.yaml:role/BreakGlass");
    assert_eq!(bg["status"], "fail", "still reported");
    assert_eq!(bg["severity"], "info");

    // 3. A change adds a public topic policy: only that finding blocks.
    let mut t = std::fs::read_to_string(d.join("template.yaml")).unwrap();
    t.push_str(
        "  Topic:\n    Type: AWS::SNS::Topic\n  TopicPolicy:\n    Type: AWS::SNS::TopicPolicy\n    Properties:\n      Topics: [!Ref Topic]\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: '*'\n            Action: sns:Publish\n            Resource: !Ref Topic\n",
    );
    std::fs::write(d.join("template.yaml"), t).unwrap();
    let (code, rs3, err) = batch(d, &["--baseline-findings", "findings.json"]);
    assert_eq!(code, 1, "{err}");
    let blocking: Vec<String> = rs3
        .iter()
        .filter(|r| r["severity"] == "error" && r["status"] != "pass")
        .map(|r| format!("{} {}", r["check"], r["subject"]))
        .collect();
    assert_eq!(
        blocking,
        vec![
            "\"no-external-access\" \"template.yaml#/Resources/TopicPolicy/Properties/PolicyDocument\""
                .to_string(),
            "\"no-public-access\" \"template.yaml#/Resources/TopicPolicy/Properties/PolicyDocument\""
                .to_string()
        ]
    );
    // The queue policy grants a trusted account and the trusted organization only.
    let q = record(
        &rs3,
        "no-external-access",
        "template.yaml#/Resources/QueuePolicy/Properties/PolicyDocument",
    );
    assert_eq!(q["status"], "pass", "{q}");

    // `check --template` reads the same template values: with Env = prod, no DevBucketPolicy.
    let (_, out, err) = tarski(
        d,
        &["check", "--template", "template.yaml", "--format", "json"],
    );
    assert!(!out.contains("DevBucketPolicy"), "{out}{err}");

    // The command line wins over tarski.toml: with Env=dev the public bucket policy is there
    // (and new).
    let (code, rs4, _) = batch(
        d,
        &[
            "--baseline-findings",
            "findings.json",
            "--parameter",
            "Env=dev",
        ],
    );
    assert_eq!(code, 1);
    let dev = record(
        &rs4,
        "no-public-access",
        "template.yaml#/Resources/DevBucketPolicy/Properties/PolicyDocument",
    );
    assert_eq!(
        (&dev["status"], &dev["severity"]),
        (&"fail".into(), &"error".into())
    );
}

/// `[trusted]` of the documented example: the queue policy grants the trusted account
/// 444455556666 and, with `aws:PrincipalOrgID`, the trusted organization, so it passes
/// `no-external-access`; without the organization (or with another account trusted) the same
/// policy fails, witnessed by a caller outside the zone. A grant to an untrusted account is
/// external access but not public.
#[test]
fn trusted_accounts_and_organizations_decide_external_access() {
    const QP: &str = "template.yaml#/Resources/QueuePolicy/Properties/PolicyDocument";
    let dir = example_dir();
    let d = dir.path();
    let (_, rs, err) = batch(d, &[]);
    assert_eq!(
        record(&rs, "no-external-access", QP)["status"],
        "pass",
        "{err}"
    );
    // Trust policies name AWS services only: out of the check's scope, so they pass.
    assert_eq!(
        record(
            &rs,
            "no-external-access",
            "template.yaml#/Resources/Deployer/Properties/AssumeRolePolicyDocument"
        )["status"],
        "pass"
    );
    let toml = std::fs::read_to_string(d.join("tarski.toml")).unwrap();

    // Without the organization: a member of o-a1b2c3d4e5 in an untrusted account is external.
    std::fs::write(
        d.join("tarski.toml"),
        toml.replace("organizations = [\"o-a1b2c3d4e5\"]\n", ""),
    )
    .unwrap();
    let (_, rs, _) = batch(d, &[]);
    let r = record(&rs, "no-external-access", QP);
    assert_eq!(r["status"], "fail", "{r}");
    let w = &r["witnesses"][0];
    assert_eq!(w["context"]["aws:PrincipalOrgID"][0], "o-a1b2c3d4e5", "{w}");
    let p = w["principal"].as_str().unwrap();
    assert!(
        !p.contains("444455556666") && !p.contains("999900000001"),
        "{w}"
    );

    // Another account trusted instead of 444455556666: its grant is external.
    std::fs::write(
        d.join("tarski.toml"),
        toml.replace("444455556666", "111122223333"),
    )
    .unwrap();
    let (_, rs, _) = batch(d, &[]);
    let r = record(&rs, "no-external-access", QP);
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["witnesses"][0]["principal"]
            .as_str()
            .unwrap()
            .contains(":444455556666:"),
        "{r}"
    );
    // ... and is not public.
    assert_eq!(record(&rs, "no-public-access", QP)["status"], "pass");

    // Without [trusted] there is no zone of trust and no such check.
    let cut = toml.find("\n# The zone of trust").unwrap();
    std::fs::write(d.join("tarski.toml"), &toml[..cut]).unwrap();
    let (_, rs, _) = batch(d, &[]);
    assert!(
        !rs.iter().any(|r| r["check"] == "no-external-access"),
        "{rs:#?}"
    );
}

/// `fail-on` decides which severities block; without a configuration, an unread part makes the
/// run unknown (exit 2).
#[test]
fn fail_on_and_the_default_without_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("t.yaml"),
        "Resources:\n  Ep:\n    Type: AWS::EC2::VPCEndpoint\n    Properties:\n      PolicyDocument:\n        Statement: [{Effect: Allow, Principal: '*', Action: '*', Resource: '*'}]\n",
    )
    .unwrap();
    let run = |cfg: Option<&str>| {
        let mut args = vec!["batch", "--template", "t.yaml", "--no-progress"];
        if let Some(c) = cfg {
            std::fs::write(d.join("c.toml"), c).unwrap();
            args.extend(["--config", "c.toml"]);
        }
        let (code, out, _) = tarski(d, &args);
        (code, out)
    };
    assert_eq!(run(None).0, 2, "not read: unknown");
    let (code, out) = run(Some("[severity]\ninput-coverage = \"warning\"\n"));
    assert_eq!(code, 0);
    // The summary's "1 unknown" says why it does not fail the run.
    assert!(
        out.contains("1 unknown") && out.contains("1 of them below severity error"),
        "{out}"
    );
    assert_eq!(
        run(Some(
            "fail-on = [\"error\", \"warning\"]\n[severity]\ninput-coverage = \"warning\"\n"
        ))
        .0,
        2
    );
}

/// A bad tarski.toml is an input error with its line: duplicate keys, unknown keys, a
/// suppression without a reason.
#[test]
fn bad_configurations_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.yaml"), "Resources: {}\n").unwrap();
    for (text, want) in [
        ("fail-on = [\"error\"]\nfail-on = [\"warning\"]\n", "2:1"),
        (
            "[severity]\nno-admin = \"error\"\nno-admin = \"info\"\n",
            "duplicate",
        ),
        ("[[suppress]]\ncheck = \"no-admin\"\n", "reason"),
        ("colour = \"red\"\n", "unknown key"),
    ] {
        std::fs::write(d.join("tarski.toml"), text).unwrap();
        // Found from the working directory (no --config).
        let (code, _, err) = tarski(d, &["batch", "--template", "t.yaml", "--no-progress"]);
        assert_eq!(code, 3, "{text:?}: {err}");
        assert!(
            err.contains("tarski.toml") && err.contains(want),
            "{text:?}: {err}"
        );
    }
}
