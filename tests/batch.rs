//! `tarski batch` and `tarski merge`, end to end with the real binary, over the committed corpus
//! of AWS managed policies (`corpus/aws-managed`) held to `corpus/specs/organization.tq` and the
//! built-in checks: record counts, plausible pass/fail counts with known failures by name,
//! every failure's witness replayed with `tarski eval`, unknowns listed, sharding + merge equal
//! to one run, bad files reported per file, SARIF shape, and `--no-new-access` over two versions
//! of a managed policy from the history cache (skipped when the cache is absent; a failure
//! under `CI=true`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use common::{json_lines, root, tarski_in};
use serde_json::Value;
use tempfile::TempDir;

const SPEC: &str = "corpus/specs/organization.tq";
const CORPUS: &str = "corpus/aws-managed";
/// Built-in checks that apply to identity policies (every AWS managed policy is one).
const IDENTITY_BUILTINS: &[&str] = &["no-admin", "no-passrole-wildcard"];
/// Policies whose checks are expected to come back unknown, and why.
const KNOWN_UNKNOWN: &[(&str, &str)] = &[(
    "AWSIdentityCenterExternalManagementPolicy",
    "the multivalued key `identitystore:UserExternalIdIssuers` is used as a policy variable",
)];

/// A record without what differs between runs: its timing, and its witnesses' contents (each
/// worker thread reuses its Z3 context, so which model Z3 returns for a failing check depends
/// on what that thread solved before; the verdict and the granting statement do not). The
/// number of witnesses stays, and whether there is a location.
fn stable(r: &Value) -> Value {
    let mut r = r.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("elapsed_ms");
    let n = o["witnesses"].as_array().map_or(0, Vec::len);
    o.insert("witnesses".into(), Value::from(n));
    // The granting statement is the one of the first witness: with another witness it may be
    // another statement of the same file.
    let located = !o["location"].is_null();
    o.insert("location".into(), Value::from(located));
    r
}

/// Data a test needs is missing: under `CI=true` that fails the test (a run that skipped its
/// data must not pass as green); elsewhere it prints `SKIPPED: ...` and the test returns.
fn data_missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{what} (CI=true: tests that need data fail when it is missing)");
    }
    eprintln!("SKIPPED: {what}");
}

fn stem(file: &str) -> &str {
    Path::new(file).file_stem().unwrap().to_str().unwrap()
}

fn corpus_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join(CORPUS))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    v.sort();
    v
}

/// The labels of the spec's assertions, read from the file.
fn spec_labels() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(SPEC)).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("label \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect()
}

/// One unsharded run over the whole corpus, shared by the tests of this file.
fn full_run() -> &'static Vec<Value> {
    static RUN: OnceLock<Vec<Value>> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = TempDir::new().unwrap();
        let path = out.path().join("all.jsonl");
        let t = Instant::now();
        let r = tarski_in(
            &root(),
            &[
                "batch",
                CORPUS,
                "--spec",
                SPEC,
                "--check",
                "no-admin",
                "--check",
                "no-passrole-wildcard",
                "--check",
                "no-public-access",
                "--format",
                "json",
                "--no-progress",
                // Deterministic solver limits (Z3 rlimit, cvc5 rlimit; the agreement tests'
                // values): how busy the machine is cannot turn an answer into `unknown`.
                "--rlimit",
                "300000,500000",
                // `--timeout` still bounds each check as a whole, in wall time: a safety net
                // far above what a debug build needs on a loaded 2-core machine.
                "--timeout",
                "900",
                "--output",
                path.to_str().unwrap(),
            ],
        );
        eprintln!(
            "corpus run: {:.1} s; {}",
            t.elapsed().as_secs_f64(),
            r.stderr.trim()
        );
        // Some policies fail some checks: exit 1.
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        json_lines(&std::fs::read_to_string(&path).unwrap())
    })
}

fn find<'a>(recs: &'a [Value], policy: &str, check: &str) -> &'a Value {
    recs.iter()
        .find(|r| stem(r["file"].as_str().unwrap()) == policy && r["check"] == check)
        .unwrap_or_else(|| panic!("no record for {policy} / {check}"))
}

#[test]
fn corpus_record_counts_are_files_times_checks() {
    let recs = full_run();
    let files = corpus_files();
    let mut checks: Vec<String> = IDENTITY_BUILTINS.iter().map(|s| s.to_string()).collect();
    checks.extend(spec_labels());
    assert_eq!(checks.len(), 10, "{checks:?}");
    assert!(
        recs.iter().all(|r| r["check"] != "input"),
        "no input errors expected"
    );
    assert_eq!(recs.len(), files.len() * checks.len());
    let mut per_file: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in recs {
        per_file
            .entry(stem(r["file"].as_str().unwrap()))
            .or_default()
            .insert(r["check"].as_str().unwrap());
    }
    assert_eq!(per_file.len(), files.len());
    let want: BTreeSet<&str> = checks.iter().map(String::as_str).collect();
    for (f, got) in &per_file {
        assert_eq!(got, &want, "{f}");
    }
}

#[test]
fn corpus_counts_are_plausible_and_known_policies_fail() {
    let recs = full_run();
    let count = |s: &str| recs.iter().filter(|r| r["status"] == s).count();
    let (pass, fail, unknown) = (count("pass"), count("fail"), count("unknown"));
    eprintln!("pass {pass}, fail {fail}, unknown {unknown}");
    assert!(pass * 100 > recs.len() * 95, "most records pass");
    assert!(fail >= 50, "some fail: {fail}");
    let fails = |p: &str, c: &str| find(recs, p, c)["status"] == "fail";
    assert!(fails("AdministratorAccess", "no-admin"));
    assert!(fails("AdministratorAccess", "org: no administrator access"));
    // NotAction iam/organizations/account on "*": every other action, the probe's too.
    assert!(fails("PowerUserAccess", "no-admin"));
    assert!(fails("IAMFullAccess", "org: no iam:* (full IAM control)"));
    assert!(fails(
        "IAMFullAccess",
        "org: no credentials for other users"
    ));
    assert!(fails(
        "AWSOrganizationsFullAccess",
        "org: no leaving the organization"
    ));
    assert!(fails(
        "AWSCloudTrail_FullAccess",
        "org: CloudTrail trails cannot be deleted or stopped"
    ));
    assert!(fails(
        "AmazonS3FullAccess",
        "org: no rewriting policies of arbitrary buckets"
    ));
    // Read-only and self-service policies hold to everything.
    for p in [
        "ReadOnlyAccess",
        "AmazonS3ReadOnlyAccess",
        "IAMUserChangePassword",
    ] {
        for r in recs
            .iter()
            .filter(|r| stem(r["file"].as_str().unwrap()) == p)
        {
            assert_eq!(r["status"], "pass", "{p}: {r}");
        }
    }
    // PowerUserAccess has no IAM: it passes the IAM properties.
    assert!(!fails(
        "PowerUserAccess",
        "org: no iam:* (full IAM control)"
    ));
    assert!(!fails(
        "PowerUserAccess",
        "org: no credentials for other users"
    ));
}

#[test]
fn corpus_unknowns_are_only_the_known_ones() {
    let recs = full_run();
    let unknown: Vec<(&str, &str, &str)> = recs
        .iter()
        .filter(|r| r["status"] == "unknown")
        .map(|r| {
            (
                stem(r["file"].as_str().unwrap()),
                r["check"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    for u in &unknown {
        eprintln!("unknown: {} [{}]: {}", u.0, u.1, u.2);
    }
    // With `--rlimit` no answer depends on the machine's load: no time limit may run out, and
    // every other unknown is one of the known ones.
    let timed_out = |m: &str| m.contains("gave up after") || m.contains("not decided within");
    let timeouts: Vec<_> = unknown.iter().filter(|(_, _, m)| timed_out(m)).collect();
    assert!(timeouts.is_empty(), "time limits ran out: {timeouts:?}");
    let unexpected: Vec<_> = unknown
        .iter()
        .filter(|(f, _, _)| !KNOWN_UNKNOWN.iter().any(|(k, _)| k == f))
        .collect();
    assert!(unexpected.is_empty(), "unexpected unknowns: {unexpected:?}");
}

#[test]
fn every_corpus_failure_has_a_witness_that_eval_allows() {
    let recs = full_run();
    let dir = TempDir::new().unwrap();
    let fails: Vec<&Value> = recs.iter().filter(|r| r["status"] == "fail").collect();
    // Two replays at a time (one `tarski eval` process each; the machine has 2 cores).
    let replay = |k: usize, r: &Value| {
        let w = r["witnesses"]
            .get(0)
            .unwrap_or_else(|| panic!("fail without witness: {r}"));
        let loc = &r["location"];
        assert!(loc["line"].as_u64().unwrap() >= 1, "{r}");
        assert_eq!(loc["file"], r["file"]);
        // `notes` explain the witness; the rest is what `tarski eval --request` reads.
        let mut w = w.clone();
        w.as_object_mut().unwrap().remove("notes");
        let req = dir.path().join(format!("request-{k}.json"));
        std::fs::write(&req, w.to_string()).unwrap();
        let file = root().join(r["file"].as_str().unwrap());
        let e = tarski_in(
            &root(),
            &[
                "eval",
                file.to_str().unwrap(),
                "--request",
                req.to_str().unwrap(),
            ],
        );
        assert_eq!(
            e.code,
            Some(0),
            "{} [{}]: witness {w} is not allowed:\n{}{}",
            r["file"],
            r["check"],
            e.stdout,
            e.stderr
        );
    };
    std::thread::scope(|scope| {
        for k in 0..2 {
            let (fails, replay) = (&fails, &replay);
            scope.spawn(move || {
                for r in fails.iter().skip(k).step_by(2) {
                    replay(k, r);
                }
            });
        }
    });
    let n = fails.len();
    eprintln!("{n} witnesses replayed");
    assert!(n >= 50);
}

/// The shards cover the 58 policies with `Admin` in their name (AdministratorAccess fails):
/// enough for three non-empty shards, without a second pass over the whole corpus (this file
/// took 285–384 s when the shards ran over all of it).
const SHARDED: &str = "corpus/aws-managed/*Admin*";

#[test]
fn three_shards_merged_equal_one_run() {
    let out = TempDir::new().unwrap();
    let mut shard_files = Vec::new();
    let mut total = 0;
    for i in 1..=3 {
        let path = out.path().join(format!("shard-{i}.jsonl"));
        let r = tarski_in(
            &root(),
            &[
                "batch",
                SHARDED,
                "--check",
                "no-admin",
                "--check",
                "no-passrole-wildcard",
                "--shard",
                &format!("{i}/3"),
                "--format",
                "json",
                "--no-progress",
                "--output",
                path.to_str().unwrap(),
            ],
        );
        assert!(matches!(r.code, Some(0..=2)), "{}", r.stderr);
        // Records, then the shard line (run identity, I/N, record count) that `merge` checks.
        let lines = json_lines(&std::fs::read_to_string(&path).unwrap());
        let trailer = &lines.last().expect("a shard line")["tarski_shard"];
        assert_eq!(trailer["shard"], i);
        assert_eq!(trailer["shards"], 3);
        let n = lines.len() - 1;
        assert_eq!(trailer["records"], n);
        assert!(n > 0, "shard {i} is empty");
        total += n;
        shard_files.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["merge", "--format", "json"];
    args.extend(shard_files.iter().map(String::as_str));
    let m = tarski_in(&root(), &args);
    assert_eq!(m.code, Some(1), "{}", m.stderr);
    let merged: Vec<Value> = json_lines(&m.stdout).iter().map(stable).collect();
    assert_eq!(merged.len(), total, "merge keeps every shard record");
    // The same checks of the unsharded run, in the same order.
    let sharded = |r: &Value| stem(r["file"].as_str().unwrap()).contains("Admin");
    let one: Vec<Value> = full_run()
        .iter()
        .filter(|r| IDENTITY_BUILTINS.contains(&r["check"].as_str().unwrap()) && sharded(r))
        .map(stable)
        .collect();
    assert_eq!(merged.len(), one.len());
    for (a, b) in merged.iter().zip(&one) {
        assert_eq!(a, b);
    }
    // The merged text report counts as one run does.
    let mut args = vec!["merge"];
    args.extend(shard_files.iter().map(String::as_str));
    let t = tarski_in(&root(), &args);
    let files = corpus_files()
        .iter()
        .filter(|f| f.contains("Admin"))
        .count();
    assert_eq!(files, 58);
    assert!(
        t.stdout
            .contains(&format!("{} checks over {files} inputs", one.len())),
        "{}",
        t.stdout
    );
}

/// A small corpus: three managed policies and two bad files.
fn small_corpus() -> TempDir {
    let d = TempDir::new().unwrap();
    for p in ["AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess"] {
        std::fs::copy(
            root().join(CORPUS).join(format!("{p}.json")),
            d.path().join(format!("{p}.json")),
        )
        .unwrap();
    }
    std::fs::write(
        d.path().join("broken.json"),
        "{ \"Version\": \"2012-10-17\", ",
    )
    .unwrap();
    std::fs::write(d.path().join("not-a-policy.json"), "[1, 2, 3]\n").unwrap();
    d
}

#[test]
fn bad_files_are_error_records_and_the_rest_is_checked() {
    let d = small_corpus();
    let r = tarski_in(
        d.path(),
        &[
            "batch",
            ".",
            "--check",
            "no-admin",
            "--format",
            "json",
            "--no-progress",
        ],
    );
    let recs = json_lines(&r.stdout);
    let errors: Vec<&Value> = recs.iter().filter(|r| r["status"] == "error").collect();
    let names: BTreeSet<&str> = errors
        .iter()
        .map(|r| stem(r["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["broken", "not-a-policy"]),
        "{}",
        r.stdout
    );
    for e in &errors {
        assert_eq!(e["check"], "input");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    let checked: BTreeSet<&str> = recs
        .iter()
        .filter(|r| r["check"] == "no-admin")
        .map(|r| stem(r["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        checked,
        BTreeSet::from(["AdministratorAccess", "IAMFullAccess", "ReadOnlyAccess"])
    );
    // A failing check outranks an input error in the exit code.
    assert_eq!(r.code, Some(1));
    let t = tarski_in(
        d.path(),
        &["batch", ".", "--check", "no-admin", "--no-progress"],
    );
    assert!(
        t.stdout
            .contains("5 checks over 5 inputs: 2 pass, 1 fail, 0 unknown, 2 input errors"),
        "{}",
        t.stdout
    );
    // Only clean files and a bad one: exit 3.
    std::fs::remove_file(d.path().join("AdministratorAccess.json")).unwrap();
    let t = tarski_in(
        d.path(),
        &["batch", ".", "--check", "no-admin", "--no-progress"],
    );
    assert_eq!(t.code, Some(3), "{}", t.stdout);
}

#[test]
fn sarif_is_valid_and_every_result_has_a_line() {
    let d = small_corpus();
    let spec = root().join(SPEC);
    let r = tarski_in(
        d.path(),
        &[
            "batch",
            ".",
            "--spec",
            spec.to_str().unwrap(),
            "--check",
            "no-admin",
            "--format",
            "sarif",
            "--no-progress",
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule_ids: BTreeSet<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(rule_ids.contains("tarski/no-admin"));
    assert!(rule_ids.contains("tarski/input-error"));
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        assert!(rule_ids.contains(res["ruleId"].as_str().unwrap()), "{res}");
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].as_str().is_some(), "{res}");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1, "{res}");
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
    }
    // AdministratorAccess's no-admin finding points into its file, at its one statement.
    let admin = results
        .iter()
        .find(|r| {
            r["ruleId"] == "tarski/no-admin"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "AdministratorAccess.json"
        })
        .expect("AdministratorAccess no-admin result");
    assert!(admin["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() > Some(1));
}

#[test]
fn no_new_access_finds_actions_a_new_version_adds() {
    let hist = root().join(".cache/aws-managed-history/AmazonS3FullAccess");
    if !hist.join("v2.json").exists() {
        data_missing(
            "no managed-policy history cache (python3 corpus/scripts/refresh-managed.py --history)",
        );
        return;
    }
    let d = TempDir::new().unwrap();
    for (dir, v) in [("old", "v1"), ("new", "v2")] {
        std::fs::create_dir(d.path().join(dir)).unwrap();
        std::fs::copy(
            hist.join(format!("{v}.json")),
            d.path().join(dir).join("AmazonS3FullAccess.json"),
        )
        .unwrap();
    }
    // v2 adds s3-object-lambda:* to v1's s3:*.
    let r = tarski_in(
        d.path(),
        &[
            "batch",
            "new",
            "--no-new-access",
            "--baseline",
            "old",
            "--format",
            "json",
            "--no-progress",
        ],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let recs = json_lines(&r.stdout);
    assert_eq!(recs.len(), 1, "{}", r.stdout);
    assert_eq!(recs[0]["check"], "no-new-access");
    assert_eq!(recs[0]["status"], "fail");
    let action = recs[0]["witnesses"][0]["action"].as_str().unwrap();
    assert!(action.starts_with("s3-object-lambda:"), "{action}");
    // The other way round nothing is new.
    let r = tarski_in(
        d.path(),
        &[
            "batch",
            "old",
            "--no-new-access",
            "--baseline",
            "new",
            "--no-progress",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 checks over 1 inputs: 1 pass"),
        "{}",
        r.stdout
    );
}
