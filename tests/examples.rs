//! The example policy sets in corpus/examples: every request in each folder's requests.json is
//! decided by the real `tarski` binary (`eval --set ... --request ... --format json`), and
//! the decision and exit code must be the expected ones. Every policy file must also pass
//! `tarski check` as the kind its manifest gives it.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use common::{examples_dir, output_in, read_json};
use serde_json::Value;

fn tarski(args: &[&str]) -> std::process::Output {
    output_in(&common::root(), args)
}

/// The scenarios this test knows; `every_folder_is_tested` keeps the list complete.
const SCENARIOS: &[&str] = &[
    "boundary-confidential",
    "cross-account-bucket",
    "home-folders",
    "mfa-confidential",
    "passrole-limited",
    "region-deny",
    "scp-deny-leave-org",
];

fn requests(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("requests.json"))
        .as_array()
        .unwrap_or_else(|| panic!("{}: requests.json must be a list", dir.display()))
        .clone()
}

/// The manifests a scenario uses: set.json plus any a request names.
fn manifests(dir: &Path) -> Vec<String> {
    let mut m = vec!["set.json".to_string()];
    for r in requests(dir) {
        if let Some(s) = r.get("set").and_then(Value::as_str) {
            if !m.iter().any(|x| x == s) {
                m.push(s.to_string());
            }
        }
    }
    m
}

/// Run every request of one scenario; collect the mismatches.
fn run_scenario(name: &str) {
    let dir = examples_dir().join(name);
    let reqs = requests(&dir);
    assert!(
        reqs.len() >= 4,
        "{name}: needs at least 4 requests, has {}",
        reqs.len()
    );
    let mut failures = Vec::new();
    let mut seen = BTreeMap::new();
    for r in &reqs {
        let rname = r["name"].as_str().expect("request name");
        let expect = r["expect"].as_str().expect("expect");
        assert!(
            ["Allow", "ExplicitDeny", "ImplicitDeny"].contains(&expect),
            "{name}/{rname}: bad expect `{expect}`"
        );
        assert!(
            r["why"].as_str().is_some_and(|w| !w.is_empty()),
            "{name}/{rname}: explain why"
        );
        *seen.entry(expect).or_insert(0) += 1;
        let set = dir.join(r.get("set").and_then(Value::as_str).unwrap_or("set.json"));
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(r["request"].to_string().as_bytes()).unwrap();
        f.flush().unwrap();
        let out = tarski(&[
            "eval",
            "--set",
            set.to_str().unwrap(),
            "--request",
            f.path().to_str().unwrap(),
            "--format",
            "json",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let got: Option<Value> = serde_json::from_str(stdout.trim()).ok();
        let decision = got
            .as_ref()
            .and_then(|v| v["decision"].as_str())
            .unwrap_or("<no decision>");
        let want_code = if expect == "Allow" { 0 } else { 1 };
        if decision != expect || out.status.code() != Some(want_code) {
            failures.push(format!(
                "{rname}: expected {expect} (exit {want_code}), got {decision} (exit {:?})\n  stdout: {stdout}\n  stderr: {stderr}",
                out.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} requests failed:\n{}",
        failures.len(),
        reqs.len(),
        failures.join("\n")
    );
    assert!(seen.contains_key("Allow"), "{name}: no allowed request");
    assert!(
        seen.contains_key("ExplicitDeny") || seen.contains_key("ImplicitDeny"),
        "{name}: no denied request"
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
fn every_folder_is_tested() {
    let mut folders: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders, SCENARIOS, "add new example folders to SCENARIOS");
    for f in &folders {
        let dir = examples_dir().join(f);
        assert!(dir.join("set.json").is_file(), "{f}: no set.json");
        assert!(dir.join("requests.json").is_file(), "{f}: no requests.json");
    }
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap();
    for f in &folders {
        assert!(
            readme.contains(&format!("`{f}`")),
            "README.md does not describe {f}"
        );
    }
}

/// The kind each manifest role reads its policies as, for `tarski check --kind`.
fn kinds_from_manifest(manifest: &Value) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut add = |v: &Value, kind: &'static str| match v {
        Value::String(s) => out.push((s.clone(), kind)),
        Value::Array(items) => {
            for i in items {
                match i {
                    Value::String(s) => out.push((s.clone(), kind)),
                    Value::Array(layer) => {
                        for p in layer.iter().filter_map(Value::as_str) {
                            out.push((p.to_string(), kind));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    };
    for (key, kind) in [
        ("identity", "identity"),
        ("boundary", "boundary"),
        ("scps", "scp"),
        ("rcps", "rcp"),
        ("session", "session"),
        ("resource", "resource"),
    ] {
        if let Some(v) = manifest.get(key) {
            add(v, kind);
        }
    }
    out
}

#[test]
fn every_policy_file_checks_clean() {
    for name in SCENARIOS {
        let dir = examples_dir().join(name);
        let mut used: BTreeMap<String, &'static str> = BTreeMap::new();
        for m in manifests(&dir) {
            for (file, kind) in kinds_from_manifest(&read_json(&dir.join(&m))) {
                if let Some(prev) = used.insert(file.clone(), kind) {
                    assert_eq!(prev, kind, "{name}/{file} is used as two kinds");
                }
            }
        }
        // Every policy file in the folder is used by some manifest.
        for e in std::fs::read_dir(&dir).unwrap() {
            let f = e.unwrap().file_name().to_string_lossy().into_owned();
            let is_meta = f == "requests.json"
                || f == "questions.json"
                || (f.starts_with("set") && f.ends_with(".json"));
            if f.ends_with(".json") && !is_meta {
                assert!(used.contains_key(&f), "{name}/{f} is in no manifest");
            }
        }
        for (file, kind) in &used {
            let path = dir.join(file);
            let out = tarski(&[
                "check",
                "--kind",
                kind,
                "--deny-warnings",
                path.to_str().unwrap(),
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name}/{file} as {kind}:\n{stderr}"
            );
            assert!(stderr.contains("0 errors, 0 warnings"), "{stderr}");
        }
    }
}
