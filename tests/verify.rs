//! `tarski verify SPEC.tq`, end to end with the real binary: the shipped examples spec holds,
//! failures print witnesses (exit 1), parse and name errors point at `file:line:col` with their
//! code (exit 3), includes work and cycles are reported, and the JSON / SARIF shapes.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{root, tarski_in};
use serde_json::Value;
use tempfile::TempDir;

/// A scratch directory holding `esc.json` (the escaping identity of boundary-confidential,
/// which grants iam:CreateUser) and the spec files a test writes.
fn scratch(files: &[(&str, &str)]) -> TempDir {
    let d = TempDir::new().unwrap();
    std::fs::copy(
        root().join("corpus/examples/boundary-confidential/escaping-identity.json"),
        d.path().join("esc.json"),
    )
    .unwrap();
    for (name, text) in files {
        if let Some(dir) = std::path::Path::new(name).parent() {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

const FAILING: &str = "policy esc = \"esc.json\"\n\
assert cannot(esc, action == \"iam:CreateUser\") label \"no user creation\"\n\
assert cannot(esc, action == \"s3:PutObject\") label \"no uploads\" severity warning\n";

#[test]
fn only_error_severity_failures_fail_the_run() {
    let warn_only = "policy esc = \"esc.json\"\n\
assert cannot(esc, action == \"iam:CreateUser\") label \"no user creation\" severity warning\n";
    let d = scratch(&[("warn.tq", warn_only), ("fail.tq", FAILING)]);
    let r = tarski_in(d.path(), &["verify", "warn.tq"]);
    assert_eq!(
        r.code,
        Some(0),
        "a failing warning is reported but does not fail: {}{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("FAIL"), "{}", r.stdout);
    let r = tarski_in(d.path(), &["verify", "fail.tq"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
}

#[test]
fn the_examples_spec_holds() {
    // The spec names files in corpus/examples, outside its own directory: allowed by flag.
    let r = tarski_in(&root(), &["verify", "corpus/specs/examples.tq"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--allow-path"), "{}", r.stderr);
    let r = tarski_in(
        &root(),
        &[
            "verify",
            "corpus/specs/examples.tq",
            "--allow-path",
            "corpus/examples",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let summary = r
        .stdout
        .lines()
        .find(|l| l.contains("checks over"))
        .expect("summary line");
    assert!(
        summary.contains(" 0 fail, 0 unknown, 0 input errors"),
        "{summary}"
    );
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
}

#[test]
fn a_failing_assertion_exits_1_with_its_witness() {
    let d = scratch(&[("fail.tq", FAILING)]);
    let r = tarski_in(d.path(), &["verify", "fail.tq"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    // Points at the granting statement (CreateUnboundedUsers starts on line 13 of the file).
    assert!(
        r.stdout
            .contains("FAIL: esc.json:13:5 [no user creation] esc.json: reachable"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    witness: "), "{}", r.stdout);
    assert!(r
        .stdout
        .contains("iam:CreateUser on arn:aws:iam::111122223333:user/"));
    assert!(r
        .stdout
        .contains("2 checks over 1 inputs: 1 pass, 1 fail, 0 unknown"));
}

#[test]
fn parse_errors_exit_3_with_file_line_col_and_code() {
    let d = scratch(&[(
        "parse.tq",
        "policy esc = \"esc.json\"\nassert cannot(esc, action ==)\n",
    )]);
    let r = tarski_in(d.path(), &["verify", "parse.tq"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("error[T0400]: unexpected `)`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("parse.tq:2:29"), "{}", r.stderr);
}

#[test]
fn lex_errors_are_parse_errors() {
    let d = scratch(&[("lex.tq", "policy esc = \"esc.json\"\nassert can(esc) @\n")]);
    let r = tarski_in(d.path(), &["verify", "lex.tq"]);
    assert_eq!(r.code, Some(3));
    assert!(
        r.stderr.contains("error[T0400]: unexpected character `@`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("lex.tq:2:17"), "{}", r.stderr);
}

#[test]
fn unknown_names_exit_3_with_a_suggestion() {
    let d = scratch(&[(
        "unk.tq",
        "policy esc = \"esc.json\"\nassert cannot(esk, action == \"x:Y\")\n",
    )]);
    let r = tarski_in(d.path(), &["verify", "unk.tq"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("error[T0401]: unknown name `esk`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("unk.tq:2:15"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `esc`?"), "{}", r.stderr);
}

#[test]
fn check_errors_have_their_codes() {
    let cases: &[(&str, &str, &str)] = &[
        ("policy a = widget \"esc.json\"\n", "T0402", "3:1:12"),
        (
            "policy a = \"esc.json\"\npolicy a = \"esc.json\"\n",
            "T0403",
            "3:2:8",
        ),
        (
            "policies many = glob \"*.json\"\nset s = { identity = [many] }\n",
            "T0404",
            "3:2:23",
        ),
        (
            "policy a = \"esc.json\"\nset s = { idenity = [a] }\n",
            "T0405",
            "3:2:11",
        ),
        (
            "policy a = \"esc.json\"\nassert can(a, aws:SourceIp like \"10.*\")\n",
            "T0406",
            "3:2:15",
        ),
    ];
    for (src, code, at) in cases {
        let d = scratch(&[("s.tq", src)]);
        let r = tarski_in(d.path(), &["verify", "s.tq"]);
        let (exit, pos) = at.split_once(':').unwrap();
        assert_eq!(r.code, Some(exit.parse().unwrap()), "{src}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("error[{code}]")),
            "{src}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("s.tq:{pos}")),
            "{src}: {}",
            r.stderr
        );
    }
}

#[test]
fn includes_are_spliced_in() {
    let d = scratch(&[
        ("decl.tq", "policy esc = \"esc.json\"\n"),
        (
            "main.tq",
            "include \"decl.tq\"\nassert can(esc, action == \"iam:CreateUser\")\n",
        ),
    ]);
    let r = tarski_in(d.path(), &["verify", "main.tq"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 pass, 0 fail"), "{}", r.stdout);
}

#[test]
fn errors_in_included_files_point_into_those_files() {
    let d = scratch(&[
        ("decl.tq", "policy esc = \"esc.json\"\nassert can(nope)\n"),
        ("main.tq", "include \"decl.tq\"\nassert can(esc)\n"),
    ]);
    let r = tarski_in(d.path(), &["verify", "main.tq"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("error[T0401]"), "{}", r.stderr);
    assert!(r.stderr.contains("decl.tq:2:12"), "{}", r.stderr);
}

#[test]
fn include_cycles_are_reported() {
    let d = scratch(&[
        ("a.tq", "include \"b.tq\"\n"),
        ("b.tq", "include \"a.tq\"\n"),
    ]);
    let r = tarski_in(d.path(), &["verify", "a.tq"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("include cycle"), "{}", r.stderr);
    let r = tarski_in(d.path(), &["verify", "missing.tq"]);
    assert_eq!(r.code, Some(3));
}

#[test]
fn json_output_is_one_record_per_assertion() {
    let d = scratch(&[("fail.tq", FAILING)]);
    // With --timings each record has its wall time; without, the report is reproducible.
    let r = tarski_in(
        d.path(),
        &["verify", "fail.tq", "--format", "json", "--timings"],
    );
    assert_eq!(r.code, Some(1));
    let recs: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(recs.len(), 2);
    let keys = [
        "file",
        "subject",
        "check",
        "severity",
        "status",
        "message",
        "witnesses",
        "location",
        "elapsed_ms",
    ];
    for rec in &recs {
        let mut got: Vec<&str> = rec
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
    }
    let fail = recs
        .iter()
        .find(|r| r["check"] == "no user creation")
        .unwrap();
    assert_eq!(fail["status"], "fail");
    assert_eq!(fail["severity"], "error");
    assert_eq!(fail["location"]["line"], 13);
    let w = &fail["witnesses"][0];
    assert_eq!(w["action"], "iam:CreateUser");
    for k in [
        "principal",
        "resource",
        "resource_account",
        "context",
        "notes",
    ] {
        assert!(w.get(k).is_some(), "witness lacks {k}: {w}");
    }
    let pass = recs.iter().find(|r| r["check"] == "no uploads").unwrap();
    assert_eq!(pass["status"], "pass");
    assert_eq!(pass["severity"], "warning");
    assert!(pass["location"].is_null());
}

#[test]
fn sarif_output_points_at_the_statement() {
    let d = scratch(&[("fail.tq", FAILING)]);
    let r = tarski_in(
        d.path(),
        &[
            "verify",
            "fail.tq",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
        ],
    );
    assert_eq!(r.code, Some(1));
    // With --output the human summary goes to stderr.
    assert!(
        r.stderr.contains("2 checks over 1 inputs: 1 pass, 1 fail"),
        "{}",
        r.stderr
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "tarski");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["id"], "tarski/no user creation");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "passing checks are not results");
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "esc.json");
    assert_eq!(loc["region"]["startLine"], 13);
    assert_eq!(results[0]["level"], "error");
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("Witness:"));
}

/// Issue 15 finding 3: `include "/proc/self/environ"` printed the environment as an error
/// snippet. Paths in a spec stay in its directory tree unless `--allow-path` widens it, and
/// the content of a refused file is never read, let alone printed.
#[test]
fn spec_paths_stay_inside_the_spec_tree() {
    let outside = TempDir::new().unwrap();
    std::fs::write(
        outside.path().join("secret.json"),
        "SECRET_TOKEN=hunter2 not json",
    )
    .unwrap();
    let secret = outside.path().join("secret.json");
    let secret = secret.to_str().unwrap();
    let d = scratch(&[
        ("env.tq", "include \"/proc/self/environ\"\n"),
        (
            "abs.tq",
            &format!("policy p = \"{secret}\"\nassert can(p)\n"),
        ),
        ("sub/up.tq", "include \"../x.tq\"\n"),
        ("x.tq", ""),
        (
            "set.tq",
            &format!("set s = {{ identity = [\"{secret}\"] }}\nassert can(s)\n"),
        ),
        ("man.tq", "set s = \"m.json\"\nassert can(s)\n"),
        ("m.json", &format!("{{\"identity\": [\"{secret}\"]}}")),
        ("sub/inner.tq", ""),
    ]);
    for f in ["env.tq", "abs.tq", "sub/up.tq", "set.tq", "man.tq"] {
        let r = tarski_in(d.path(), &["verify", f]);
        assert_eq!(r.code, Some(3), "{f}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("outside") && r.stderr.contains("--allow-path"),
            "{f}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("hunter2"), "{f}: {}", r.stderr);
        assert!(!r.stderr.contains("PATH="), "{f}: {}", r.stderr);
    }
    // A symbolic link inside the tree that points out of it is outside too.
    std::os::unix::fs::symlink(secret, d.path().join("link.json")).unwrap();
    std::fs::write(
        d.path().join("link.tq"),
        "policy p = \"link.json\"\nassert can(p)\n",
    )
    .unwrap();
    let r = tarski_in(d.path(), &["verify", "link.tq"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("outside"), "{}", r.stderr);
    // --allow-path widens the tree: the file is then read (and is not a policy).
    let r = tarski_in(
        d.path(),
        &[
            "verify",
            "abs.tq",
            "--allow-path",
            outside.path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(!r.stderr.contains("outside"), "{}", r.stderr);
    assert!(r.stderr.contains("secret.json"), "{}", r.stderr);
}

/// Issue 15 finding 9: a diamond of includes 30 deep (each level including the next one twice)
/// never finished; each file is now read once.
#[test]
fn a_diamond_of_includes_reads_each_file_once() {
    let d = scratch(&[]);
    let depth = 30;
    for i in 0..depth {
        let text = format!("include \"l{}a.tq\"\ninclude \"l{}b.tq\"\n", i + 1, i + 1);
        std::fs::write(d.path().join(format!("l{i}a.tq")), &text).unwrap();
        std::fs::write(d.path().join(format!("l{i}b.tq")), &text).unwrap();
    }
    let last = "policy esc = \"esc.json\"\nassert can(esc, action == \"iam:CreateUser\")\n";
    std::fs::write(d.path().join(format!("l{depth}a.tq")), last).unwrap();
    std::fs::write(d.path().join(format!("l{depth}b.tq")), "").unwrap();
    let r = tarski_in(d.path(), &["verify", "l0a.tq"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 checks over"), "{}", r.stdout);
}

/// Issue 15 finding 8: a spec with 10,000 nested `not` (40 KB) aborted `verify` and
/// `batch --spec` with a stack overflow (exit 134, no message).
#[test]
fn deeply_nested_specs_are_parse_errors() {
    let deep = format!(
        "policy esc = \"esc.json\"\nassert cannot(esc, {}action == \"s3:GetObject\")\n",
        "not ".repeat(10_000)
    );
    let d = scratch(&[("deep.tq", &deep)]);
    for args in [
        &["verify", "deep.tq"][..],
        &["batch", "esc.json", "--spec", "deep.tq", "--no-progress"],
    ] {
        let r = tarski_in(d.path(), args);
        assert_eq!(r.code, Some(3), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error[T0400]"), "{}", r.stderr);
        assert!(
            r.stderr.contains("nested deeper than 100 levels"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("deep.tq:2:"), "{}", r.stderr);
    }
}

/// Issue 15 finding 11: Ctrl-C inside a Z3 call was swallowed by Z3's handler (the check
/// became unknown and the run went on to write a complete-looking report). Now the run stops
/// at once with exit 130, says so, and the previous report is left as it was.
#[test]
fn ctrl_c_stops_the_run_and_writes_no_report() {
    // A question that keeps Z3 busy for minutes (regex derivatives of a long pattern).
    let slow = format!(
        "policy esc = \"esc.json\"\nassert cannot(esc, resource like \"arn:aws:s3:::{}\")\n",
        "?*".repeat(1500)
    );
    let d = scratch(&[("slow.tq", &slow), ("out.json", "OLD")]);
    let child = std::process::Command::new(common::bin())
        .args(["verify", "slow.tq", "--output", "out.json"])
        .current_dir(d.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it get into the solver (the outcome must not depend on how far it got).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (Ctrl-C)"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("out.json")).unwrap(),
        "OLD"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every SARIF report Tarski writes must be valid SARIF 2.1.0 (the OASIS schema, in
/// ../shared/data).
fn assert_valid_sarif(doc: &Value) {
    let path = root().join("../shared/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the SARIF schema {}: {e}", path.display())),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    // The validator does reject what the schema forbids (no `runs`, a wrong version).
    assert!(!validator.is_valid(&serde_json::json!({"version": "2.1.0"})));
    assert!(!validator.is_valid(&serde_json::json!({"version": "9", "runs": []})));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}\n{doc:#}");
}

/// Issue 15 finding 15: SARIF URIs were not percent-encoded (`#`, `%`, `?`, non-ASCII),
/// absolute paths lacked `file://`, two unlabelled assertions shared one rule id, and there
/// were no `partialFingerprints`. The report is validated against the schema.
#[test]
fn sarif_is_schema_valid_with_encoded_uris_distinct_rules_and_fingerprints() {
    let name = "odd #1 %2 ?3 é.json";
    let two = "policy esc = \"odd #1 %2 ?3 é.json\"\n\
assert cannot(esc, action == \"iam:CreateUser\")\n\
assert cannot(esc, action == \"iam:CreateUser\" or action == \"iam:DeleteUser\")\n";
    let d = scratch(&[("two.tq", two)]);
    std::fs::copy(d.path().join("esc.json"), d.path().join(name)).unwrap();
    let r = tarski_in(d.path(), &["verify", "two.tq", "--format", "sarif"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert!(
        rules.contains(&"tarski/cannot(esc) at two.tq:2"),
        "{rules:?}"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_ne!(results[0]["ruleId"], results[1]["ruleId"]);
    let fps: Vec<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["tarskiFinding/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_ne!(fps[0], fps[1]);
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(uri, "odd%20%231%20%252%20%3F3%20%C3%A9.json");
    }
    // An absolute input path is a file:// URI; the report is valid and stable.
    let abs = d.path().join("admin #1 é.json");
    std::fs::write(
        &abs,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .unwrap();
    let args = [
        "batch",
        abs.to_str().unwrap(),
        "--check",
        "no-admin",
        "--format",
        "sarif",
        "--no-progress",
    ];
    let r = tarski_in(d.path(), &args);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_valid_sarif(&doc);
    let again = tarski_in(d.path(), &args);
    assert_eq!(r.stdout, again.stdout, "the same run gives the same SARIF");
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with("/admin%20%231%20%C3%A9.json"), "{uri}");
}

/// Issue 15 finding 16: the same inputs and flags give the same report byte for byte, whatever
/// `--jobs` is (wall times are only in the report with `--timings`).
#[test]
fn reports_are_the_same_byte_for_byte() {
    let d = scratch(&[("fail.tq", FAILING)]);
    let corpus = root().join("../shared/corpus/other/aws-scp-examples");
    assert!(corpus.is_dir(), "{} is missing", corpus.display());
    let corpus = corpus.to_str().unwrap();
    for format in ["json", "text", "sarif"] {
        let run = |jobs: &str| {
            let r = tarski_in(
                d.path(),
                &[
                    "batch",
                    corpus,
                    "--spec",
                    "fail.tq",
                    "--format",
                    format,
                    "--jobs",
                    jobs,
                    "--no-progress",
                    "--allow-path",
                    corpus,
                ],
            );
            assert!(matches!(r.code, Some(0..=2)), "{}", r.stderr);
            r.stdout
        };
        let one = run("1");
        assert!(one.len() > 1000 || format == "text", "{one}");
        assert!(one.contains("esc.json"), "{one}");
        assert_eq!(one, run("1"), "{format}: two --jobs 1 runs differ");
        assert_eq!(one, run("2"), "{format}: --jobs 1 and --jobs 2 differ");
    }
}
