//! The solver questions of corpus/examples: every entry of each folder's questions.json is
//! asked of the real `tarski` binary (`can` / `subset` / `equiv` with `--format json`); the
//! result and the exit code must be the expected ones, and every witness is replayed through
//! `tarski eval` (Allow for `can`; for `subset A B`: A allows, B does not; for `equiv`, each
//! side's witnesses in their direction).
//!
//! Tests marked `#[ignore = "bug: ..."]` at the end pin down answers Tarski gets wrong today.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::path::Path;

use common::{examples_dir, output_in as tarski_in, read_json};
use serde_json::Value;

const SCENARIOS: &[&str] = &[
    "boundary-confidential",
    "cross-account-bucket",
    "home-folders",
    "mfa-confidential",
    "passrole-limited",
    "region-deny",
    "scp-deny-leave-org",
];

const MANIFEST_KEYS: &[&str] = &[
    "identity", "boundary", "scps", "rcps", "session", "resource",
];

/// Is this file a policy-set manifest (as `tarski subset`/`equiv` decide)?
fn is_manifest(path: &Path) -> bool {
    read_json(path)
        .as_object()
        .is_some_and(|o| !o.is_empty() && o.keys().all(|k| MANIFEST_KEYS.contains(&k.as_str())))
}

/// The `tarski eval` arguments that load `file` as the compared side: a manifest, or a
/// policy file of `kind` (default identity).
fn set_args(dir: &Path, file: &str, kind: Option<&str>) -> Vec<String> {
    if is_manifest(&dir.join(file)) {
        return vec!["--set".into(), file.into()];
    }
    match kind.unwrap_or("identity") {
        "identity" => vec![file.into()],
        "scp" => vec!["--scp".into(), file.into()],
        "rcp" => vec!["--rcp".into(), file.into()],
        "boundary" => vec!["--boundary".into(), file.into()],
        "session" => vec!["--session-policy".into(), file.into()],
        "resource" | "trust" => vec!["--resource-policy".into(), file.into()],
        other => panic!("unknown kind {other}"),
    }
}

/// The request `tarski eval --request` reads, from a witness.
fn request_of(w: &Value) -> Value {
    let mut r = serde_json::json!({
        "principal": w["principal"],
        "action": w["action"],
        "resource": w["resource"],
        "context": w["context"],
    });
    if let Some(a) = w["resource_account"].as_str() {
        r["resource_account"] = Value::String(a.to_string());
    }
    r
}

/// `tarski eval` of one witness against one side; the decision string.
fn eval_witness(dir: &Path, side: &[String], w: &Value) -> String {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(request_of(w).to_string().as_bytes()).unwrap();
    f.flush().unwrap();
    let mut args: Vec<String> = vec!["eval".into()];
    args.extend(side.iter().cloned());
    args.extend([
        "--request".into(),
        f.path().to_str().unwrap().into(),
        "--format".into(),
        "json".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tarski_in(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "eval {args:?}: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let d = v["decision"].as_str().expect("decision").to_string();
    let want = if d == "Allow" { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(want), "eval exit code for {d}");
    d
}

/// The value of `--kind` in a question's args, if any.
fn kind_of(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == "--kind")
        .and_then(|i| args.get(i + 1).cloned())
}

/// The positional A and B of a subset/equiv question (the first two non-flag arguments).
fn positional(args: &[String]) -> (String, String) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i].starts_with("--") {
            // Every solver flag but these takes a value.
            if !["--known-actions", "--stats"].contains(&args[i].as_str()) {
                i += 1;
            }
        } else {
            out.push(args[i].clone());
        }
        i += 1;
    }
    assert!(out.len() >= 2, "need A and B in {args:?}");
    (out[0].clone(), out[1].clone())
}

/// Check every witness: `yes` allows it, `no` (if any) does not.
fn replay(
    dir: &Path,
    ws: &[Value],
    yes: &[String],
    no: Option<&[String]>,
    failures: &mut Vec<String>,
    what: &str,
) {
    for w in ws {
        for key in ["principal", "action", "resource"] {
            if !w[key].is_string() {
                failures.push(format!("{what}: witness without {key}: {w}"));
            }
        }
        if !w["context"].is_object() {
            failures.push(format!("{what}: witness context is not an object: {w}"));
        }
        let d = eval_witness(dir, yes, w);
        if d != "Allow" {
            failures.push(format!(
                "{what}: witness {w} is {d} under {yes:?}, expected Allow"
            ));
        }
        if let Some(no) = no {
            let d = eval_witness(dir, no, w);
            if d == "Allow" {
                failures.push(format!("{what}: witness {w} is allowed by {no:?} too"));
            }
        }
    }
}

/// Ask one question; push what went wrong.
fn ask(dir: &Path, scenario: &str, q: &Value, failures: &mut Vec<String>) {
    let name = q["name"].as_str().expect("name");
    let what = format!("{scenario}/{name}");
    let command = q["command"].as_str().expect("command");
    let expect = q["expect"].as_str().expect("expect");
    let args: Vec<String> = q["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect();
    assert!(
        q["why"].as_str().is_some_and(|w| !w.is_empty()),
        "{what}: explain why"
    );
    let (ok_word, no_word) = match command {
        "can" => ("reachable", "unreachable"),
        "subset" => ("holds", "does-not-hold"),
        "equiv" => ("equivalent", "different"),
        other => panic!("{what}: unknown command {other}"),
    };
    assert!(
        expect == ok_word || expect == no_word,
        "{what}: `{expect}` is not an answer of {command}"
    );
    let mut full: Vec<&str> = vec![command];
    full.extend(args.iter().map(String::as_str));
    full.extend(["--format", "json"]);
    let out = tarski_in(dir, &full);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Ok(v) = serde_json::from_str::<Value>(stdout.trim()) else {
        failures.push(format!(
            "{what}: no JSON (exit {:?})\n  stdout: {stdout}\n  stderr: {stderr}",
            out.status.code()
        ));
        return;
    };
    let got = v["result"].as_str().unwrap_or("<none>");
    // can: 0 reachable; subset/equiv: 0 holds.
    let want_code = match (command, expect) {
        ("can", "reachable") | ("subset", "holds") | ("equiv", "equivalent") => 0,
        _ => 1,
    };
    if got != expect || out.status.code() != Some(want_code) {
        failures.push(format!(
            "{what}: expected {expect} (exit {want_code}), got {got} (exit {:?})\n  \
             tarski {}\n  stdout: {stdout}\n  stderr: {stderr}",
            out.status.code(),
            full.join(" ")
        ));
        return;
    }
    if v["command"] != command {
        failures.push(format!("{what}: command field is {}", v["command"]));
    }
    let kind = kind_of(&args);
    match command {
        "can" => {
            let ws = v["witnesses"].as_array().cloned().unwrap_or_default();
            if (expect == "reachable") == ws.is_empty() {
                failures.push(format!("{what}: {expect} with {} witnesses", ws.len()));
            }
            let set = set_args_for_can(&args);
            replay(dir, &ws, &set, None, failures, &what);
        }
        "subset" => {
            let ws = v["witnesses"].as_array().cloned().unwrap_or_default();
            if (expect == "does-not-hold") == ws.is_empty() {
                failures.push(format!("{what}: {expect} with {} witnesses", ws.len()));
            }
            let (a, b) = positional(&args);
            let (sa, sb) = (
                set_args(dir, &a, kind.as_deref()),
                set_args(dir, &b, kind.as_deref()),
            );
            replay(dir, &ws, &sa, Some(&sb), failures, &what);
        }
        _ => {
            let (a, b) = positional(&args);
            let (sa, sb) = (
                set_args(dir, &a, kind.as_deref()),
                set_args(dir, &b, kind.as_deref()),
            );
            let ab = v["a_not_b"]["witnesses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ba = v["b_not_a"]["witnesses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if (expect == "different") == (ab.is_empty() && ba.is_empty()) {
                failures.push(format!("{what}: {expect} but witnesses {ab:?} / {ba:?}"));
            }
            replay(
                dir,
                &ab,
                &sa,
                Some(&sb),
                failures,
                &format!("{what} (a not b)"),
            );
            replay(
                dir,
                &ba,
                &sb,
                Some(&sa),
                failures,
                &format!("{what} (b not a)"),
            );
        }
    }
}

/// The set flags of a `can` question, for `tarski eval` (constraint and solver flags dropped).
fn set_args_for_can(args: &[String]) -> Vec<String> {
    let set_flags = [
        "--set",
        "--boundary",
        "--scp",
        "--rcp",
        "--session-policy",
        "--resource-policy",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if set_flags.contains(&a.as_str()) {
            out.push(a.clone());
            out.push(args[i + 1].clone());
            i += 2;
        } else if a.starts_with("--") {
            i += if ["--known-actions", "--stats"].contains(&a.as_str()) {
                1
            } else {
                2
            };
        } else {
            out.push(a.clone());
            i += 1;
        }
    }
    out
}

fn run_scenario(name: &str) {
    let dir = examples_dir().join(name);
    let qs = read_json(&dir.join("questions.json"));
    let qs = qs.as_array().expect("questions.json must be a list");
    assert!(qs.len() >= 3, "{name}: needs at least 3 questions");
    let mut failures = Vec::new();
    for q in qs {
        ask(&dir, name, q, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} questions failed:\n{}",
        failures.len(),
        qs.len(),
        failures.join("\n")
    );
    // Every scenario asks both kinds of question.
    let expects: Vec<&str> = qs.iter().filter_map(|q| q["expect"].as_str()).collect();
    assert!(
        expects
            .iter()
            .any(|e| ["reachable", "does-not-hold", "different"].contains(e)),
        "{name}: no positive question"
    );
    assert!(
        expects
            .iter()
            .any(|e| ["unreachable", "holds", "equivalent"].contains(e)),
        "{name}: no proof question"
    );
}

macro_rules! scenario {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_scenario($name);
            }
        )*
    };
}

scenario! {
    boundary_confidential => "boundary-confidential",
    cross_account_bucket => "cross-account-bucket",
    home_folders => "home-folders",
    mfa_confidential => "mfa-confidential",
    passrole_limited => "passrole-limited",
    region_deny => "region-deny",
    scp_deny_leave_org => "scp-deny-leave-org",
}

#[test]
fn every_folder_has_questions() {
    let mut folders: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders, SCENARIOS, "add new example folders to SCENARIOS");
    for f in &folders {
        assert!(
            examples_dir().join(f).join("questions.json").is_file(),
            "{f}: no questions.json"
        );
    }
}

// ---- answers Tarski gets wrong today -------------------------------------------------------

fn can_json(dir: &str, args: &[&str]) -> (Value, Option<i32>) {
    let mut full = vec!["can"];
    full.extend(args);
    full.extend(["--format", "json"]);
    let out = tarski_in(&examples_dir().join(dir), &full);
    let v = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code())
}

/// `aws:ResourceAccount` is the account that owns the resource: a witness must not say
/// aws:ResourceAccount = 222233334444 with resource_account = 111122223333. The analyst cannot
/// upload to the partner's bucket (the bucket policy grants only GetObject/ListBucket).
#[test]
fn resource_account_key_is_the_resource_account() {
    let (v, code) = can_json(
        "cross-account-bucket",
        &[
            "--set",
            "set.json",
            "--principal",
            "arn:aws:iam::111122223333:user/analyst",
            "--action",
            "s3:PutObject",
            "--where",
            "aws:ResourceAccount == \"222233334444\"",
        ],
    );
    for w in v["witnesses"].as_array().unwrap() {
        assert_eq!(
            w["context"]["aws:ResourceAccount"][0], w["resource_account"],
            "inconsistent witness {w}"
        );
    }
    assert_eq!(v["result"], "unreachable", "{v}");
    assert_eq!(code, Some(1));
}

/// A Bool key such as aws:SecureTransport is "true" or "false" in a real request; a witness
/// with aws:SecureTransport = "" describes no request AWS can make.
#[test]
fn bool_keys_get_boolean_witness_values() {
    let (v, _) = can_json(
        "cross-account-bucket",
        &[
            "--set",
            "set.json",
            "--action",
            "s3:PutObject",
            "--witnesses",
            "3",
        ],
    );
    for w in v["witnesses"].as_array().unwrap() {
        if let Some(vals) = w["context"]["aws:SecureTransport"].as_array() {
            for x in vals {
                assert!(x == "true" || x == "false", "non-Boolean value in {w}");
            }
        }
    }
}

/// aws:username exists only for IAM users, equals the user's name, and IAM user names cannot
/// contain `/` (docs/encoding.md §4, `semantics::derived_key`). Tarski used to let a role
/// session carry aws:username = "bob/x" to reach bob's folder.
#[test]
fn only_bob_reaches_bobs_folder() {
    let (v, code) = can_json(
        "home-folders",
        &[
            "--set",
            "set.json",
            "--where",
            "aws:username != \"bob\"",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::corp-home/home/bob/*",
        ],
    );
    assert_eq!(v["result"], "unreachable", "{v}");
    assert_eq!(code, Some(1));
}

/// Issue 10's "only bob": with no key stated, only user bob of account 111111111111 reaches
/// `home/bob/*` among that account's callers. The identity policy can be attached in any
/// account, and a user named bob in another account gets aws:username = bob too, so without the
/// account the answer is reachable, by such a user (true in AWS); with it, a proof. The callers
/// are those an identity policy can be attached to (IAM users, role sessions, federated users;
/// the root user carries no identity policy, docs/encoding.md §4). The proof is attacked with
/// the boundary callers of the account (users `Bob`, `bobby`, `home/bob2`, a session `bob` of
/// a role `bob`, a federated user bob, alice), each replayed with `tarski eval` carrying the
/// keys AWS would give it: none is allowed.
#[test]
fn only_bob_of_his_account_reaches_bobs_folder() {
    let bob = "arn:aws:iam::111111111111:user/bob";
    let base = [
        "--set",
        "set.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::corp-home/home/bob/*",
        "--where",
    ];
    let q = format!("principal != \"{bob}\"");
    let mut args = base.to_vec();
    args.push(&q);
    let (v, code) = can_json("home-folders", &args);
    assert_eq!(v["result"], "reachable", "{v}");
    assert_eq!(code, Some(0));
    let dir = examples_dir().join("home-folders");
    let side = vec!["--set".to_string(), "set.json".to_string()];
    for w in v["witnesses"].as_array().unwrap() {
        let p = w["principal"].as_str().unwrap();
        assert!(
            p.ends_with(":user/bob") && p != bob,
            "the witness is user bob of another account: {w}"
        );
        assert_eq!(w["context"]["aws:username"][0], "bob", "{w}");
        assert_eq!(eval_witness(&dir, &side, w), "Allow");
    }
    let q = format!("principal != \"{bob}\" and aws:PrincipalAccount == \"111111111111\"");
    let mut args = base.to_vec();
    args.push(&q);
    let (v, code) = can_json("home-folders", &args);
    assert_eq!(v["result"], "unreachable", "{v}");
    assert_eq!(code, Some(1));
    // Boundary callers of the account, with the keys AWS derives for them.
    let acct = "111111111111";
    let callers: &[(&str, Option<&str>, &str)] = &[
        ("arn:aws:iam::111111111111:user/Bob", Some("Bob"), "User"),
        (
            "arn:aws:iam::111111111111:user/bobby",
            Some("bobby"),
            "User",
        ),
        (
            "arn:aws:iam::111111111111:user/alice",
            Some("alice"),
            "User",
        ),
        (
            "arn:aws:iam::111111111111:user/home/bob2",
            Some("bob2"),
            "User",
        ),
        (
            "arn:aws:sts::111111111111:assumed-role/bob/bob",
            None,
            "AssumedRole",
        ),
        (
            "arn:aws:sts::111111111111:federated-user/bob",
            None,
            "FederatedUser",
        ),
    ];
    for (p, user, kind) in callers {
        for object in ["home/bob/x", "home/bob/", "home/bob/Bob/x"] {
            let mut ctx = serde_json::json!({
                "aws:PrincipalAccount": [acct],
                "aws:PrincipalType": [kind],
            });
            if let Some(u) = user {
                ctx["aws:username"] = serde_json::json!([u]);
            }
            let w = serde_json::json!({
                "principal": p,
                "action": "s3:GetObject",
                "resource": format!("arn:aws:s3:::corp-home/{object}"),
                "context": ctx,
            });
            assert_ne!(eval_witness(&dir, &side, &w), "Allow", "{w}");
        }
    }
    // The harness sees an Allow: bob himself, and bob of another account.
    for p in [bob, "arn:aws:iam::222222222222:user/bob"] {
        let w = serde_json::json!({
            "principal": p,
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::corp-home/home/bob/x",
            "context": {"aws:username": ["bob"]},
        });
        assert_eq!(eval_witness(&dir, &side, &w), "Allow", "{w}");
    }
}

/// Callers that are not IAM users have no aws:username (a role session, a federated user):
/// asked about them alone, bob's folder is unreachable, and so is any
/// user folder (`${aws:username}` is missing, so the statement does not apply).
#[test]
fn non_users_reach_no_home_folder() {
    for (flag, who) in [
        (
            "--principal",
            "arn:aws:sts::111111111111:assumed-role/bob/bob",
        ),
        (
            "--principal",
            "arn:aws:sts::111111111111:federated-user/bob",
        ),
        ("--where", "aws:PrincipalType == \"AssumedRole\""),
    ] {
        let (v, code) = can_json(
            "home-folders",
            &[
                "--set",
                "set.json",
                flag,
                who,
                "--action",
                "s3:GetObject",
                "--resource",
                "arn:aws:s3:::corp-home/home/*",
            ],
        );
        assert_eq!(v["result"], "unreachable", "{who}: {v}");
        assert_eq!(code, Some(1));
    }
    // Unnamed federated users are part of the generic user's class (docs/encoding.md §4),
    // whose type and name are separate values: never reachable, but not proved either (the
    // model cannot yet say "a federated user has no aws:username" inside the class).
    let (v, code) = can_json(
        "home-folders",
        &[
            "--set",
            "set.json",
            "--where",
            "aws:PrincipalType == \"FederatedUser\"",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::corp-home/home/*",
        ],
    );
    assert!(
        v["result"] == "unreachable" || v["result"] == "unknown",
        "{v}"
    );
    assert_ne!(code, Some(0), "{v}");
}

/// A witness whose context gives `aws:username` (a key AWS derives from the caller) names that
/// user as the principal, when the decision does not change (check.rs, `harmonize`).
#[test]
fn witness_principal_agrees_with_derived_keys() {
    let (r, code) = can_json(
        "home-folders",
        &[
            "--set",
            "set.json",
            "--resource",
            "arn:aws:s3:::corp-home/home/bob/report.txt",
            "--action",
            "s3:GetObject",
        ],
    );
    assert_eq!(code, Some(0), "{r}");
    let w = &r["witnesses"][0];
    assert_eq!(w["context"]["aws:username"][0], "bob", "{w}");
    assert!(
        w["principal"].as_str().unwrap().ends_with(":user/bob"),
        "{w}"
    );
}
