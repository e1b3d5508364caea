//! `tarski equiv` on policy pairs in tests/data/equiv/<case>/{a,b}.json: rewrites that must be
//! equivalent (proved, exit 0, and `subset` holds both ways) and changes that must not be
//! (exit 1, the witness on the right side, replayed through `tarski eval`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/equiv")
}

fn tarski(args: &[&str]) -> Output {
    Command::new(common::bin())
        .args(args)
        .current_dir(data_dir())
        .env("NO_COLOR", "1")
        .output()
        .expect("run tarski")
}

fn json_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn paths(case: &str) -> (String, String) {
    (format!("{case}/a.json"), format!("{case}/b.json"))
}

/// `tarski equiv <case>/a.json <case>/b.json --format json [extra]`: the JSON and exit code.
fn equiv(case: &str, extra: &[&str]) -> (Value, Option<i32>) {
    let (a, b) = paths(case);
    let mut args = vec!["equiv", a.as_str(), b.as_str(), "--format", "json"];
    args.extend(extra);
    let out = tarski(&args);
    (json_of(&out), out.status.code())
}

/// The decision of `tarski eval` for a witness against one policy file.
fn eval(policy: &str, w: &Value) -> String {
    let mut req = serde_json::json!({
        "principal": w["principal"],
        "action": w["action"],
        "resource": w["resource"],
        "context": w["context"],
    });
    if let Some(acct) = w["resource_account"].as_str() {
        req["resource_account"] = Value::String(acct.into());
    }
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(req.to_string().as_bytes()).unwrap();
    f.flush().unwrap();
    let out = tarski(&[
        "eval",
        policy,
        "--request",
        f.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    json_of(&out)["decision"]
        .as_str()
        .expect("decision")
        .to_string()
}

fn assert_equivalent(case: &str) {
    let (v, code) = equiv(case, &[]);
    assert_eq!(v["command"], "equiv");
    assert_eq!(v["result"], "equivalent", "{case}: {v}");
    assert_eq!(v["a_not_b"]["result"], "contained", "{case}: {v}");
    assert_eq!(v["b_not_a"]["result"], "contained", "{case}: {v}");
    assert_eq!(code, Some(0), "{case}");
    // subset agrees, both ways.
    let (a, b) = paths(case);
    for (x, y) in [(&a, &b), (&b, &a)] {
        let out = tarski(&["subset", x, y, "--format", "json"]);
        let s = json_of(&out);
        assert_eq!(s["result"], "holds", "{case}: subset {x} {y}: {s}");
        assert_eq!(out.status.code(), Some(0));
    }
}

/// A `different` answer where exactly `escaping` ("a" or "b") allows more; the witnesses of
/// that side, each replayed: allowed by that side, not by the other.
fn assert_different(case: &str, escaping: &str, extra: &[&str]) -> Vec<Value> {
    let (v, code) = equiv(case, extra);
    assert_eq!(v["result"], "different", "{case}: {v}");
    assert_eq!(code, Some(1), "{case}");
    let (a, b) = paths(case);
    let (side, other, more, less) = if escaping == "a" {
        ("a_not_b", "b_not_a", &a, &b)
    } else {
        ("b_not_a", "a_not_b", &b, &a)
    };
    assert_eq!(v[side]["result"], "escapes", "{case}: {v}");
    assert_eq!(v[other]["result"], "contained", "{case}: {v}");
    assert_eq!(v[other]["witnesses"], serde_json::json!([]), "{case}: {v}");
    let ws = v[side]["witnesses"].as_array().cloned().unwrap_or_default();
    assert!(!ws.is_empty(), "{case}: escapes without a witness: {v}");
    for w in &ws {
        assert_eq!(eval(more, w), "Allow", "{case}: {more} must allow {w}");
        assert_ne!(eval(less, w), "Allow", "{case}: {less} must not allow {w}");
    }
    ws
}

// ---- rewrites that must be equivalent ---------------------------------------------------------

#[test]
fn statement_order_does_not_matter() {
    assert_equivalent("statement-order");
}

#[test]
fn one_statement_with_two_actions_is_two_statements() {
    assert_equivalent("split-actions");
}

#[test]
fn action_and_resource_list_order_does_not_matter() {
    assert_equivalent("reordered-lists");
}

#[test]
fn duplicated_action_changes_nothing() {
    // Also a duplicate in other letter case: action names are case-insensitive.
    assert_equivalent("duplicated-action");
}

#[test]
fn deny_not_resource_is_deny_resource_over_the_same_universe() {
    // Allow GetObject on team-a/* and team-b/*; `Deny NotResource team-a/*` removes what is
    // outside team-a/*, which within the allowed resources is exactly team-b/* (the two
    // prefixes are disjoint): the same as `Deny Resource team-b/*`.
    assert_equivalent("deny-notresource");
}

#[test]
fn condition_value_order_does_not_matter() {
    assert_equivalent("condition-values-reordered");
}

#[test]
fn condition_operator_and_key_order_does_not_matter() {
    assert_equivalent("condition-keys-reordered");
}

#[test]
fn string_equals_is_for_any_value_on_a_single_valued_key_with_one_value() {
    // aws:RequestedRegion has one value or none: with one policy value, StringEquals and
    // ForAnyValue:StringEquals both mean "present and equal" (both false when absent).
    assert_equivalent("stringequals-vs-foranyvalue-single-key");
}

// ---- changes that must not be equivalent --------------------------------------------------------

#[test]
fn s3_star_is_not_todays_s3_actions() {
    let ws = assert_different("s3-star-vs-list", "a", &[]);
    for w in &ws {
        let action = w["action"].as_str().unwrap();
        assert!(action.starts_with("s3:"), "{w}");
        let notes: Vec<&str> = w["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("AWS may add later") && n.contains("--known-actions")),
            "the witness must say the difference is in future actions: {w}"
        );
    }
    // The list really is today's catalog: with --known-actions the two are equivalent.
    let (v, code) = equiv("s3-star-vs-list", &["--known-actions"]);
    assert_eq!(v["result"], "equivalent", "{v}");
    assert_eq!(code, Some(0));
}

#[test]
fn s3_get_star_is_more_than_get_object() {
    let ws = assert_different("get-star-vs-getobject", "a", &[]);
    for w in &ws {
        let action = w["action"].as_str().unwrap();
        assert!(
            action.to_ascii_lowercase().starts_with("s3:get") && action != "s3:GetObject",
            "{w}"
        );
        assert!(
            w["resource"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:s3:::data/"),
            "{w}"
        );
    }
}

#[test]
fn bool_if_exists_also_allows_requests_without_the_key() {
    let ws = assert_different("bool-vs-boolifexists", "b", &[]);
    for w in &ws {
        assert!(
            w["context"].get("aws:MultiFactorAuthPresent").is_none(),
            "only a request without the key tells them apart: {w}"
        );
    }
}

#[test]
fn string_like_star_is_a_wildcard_string_equals_star_is_not() {
    // StringEquals "home/*" matches only the literal "home/*", which StringLike matches too.
    let ws = assert_different("stringlike-vs-stringequals", "a", &[]);
    for w in &ws {
        let prefix = w["context"]["s3:prefix"][0].as_str().expect("s3:prefix");
        assert!(prefix.starts_with("home/") && prefix != "home/*", "{w}");
    }
}

#[test]
fn an_extra_deny_removes_exactly_what_it_denies() {
    let ws = assert_different("extra-deny", "a", &["--witnesses", "3"]);
    for w in &ws {
        assert_eq!(w["action"], "s3:DeleteObject", "{w}");
    }
}

#[test]
fn string_not_equals_holds_when_the_key_is_absent() {
    // StringNotEquals is true when aws:RequestedRegion is absent; ForAnyValue:StringNotEquals
    // is false then. (The other direction needs several regions in one request; see
    // `single_valued_keys_get_one_value` below.)
    let (v, code) = equiv("stringnotequals-vs-foranyvalue", &[]);
    assert_eq!(v["result"], "different", "{v}");
    assert_eq!(code, Some(1));
    assert_eq!(v["a_not_b"]["result"], "escapes", "{v}");
    for w in v["a_not_b"]["witnesses"].as_array().unwrap() {
        assert!(w["context"].get("aws:RequestedRegion").is_none(), "{w}");
        assert_eq!(eval("stringnotequals-vs-foranyvalue/a.json", w), "Allow");
        assert_ne!(
            eval("stringnotequals-vs-foranyvalue/b.json", w),
            "Allow",
            "{w}"
        );
    }
}

/// aws:RequestedRegion is single-valued: AWS never sends a request with several regions, so
/// ForAnyValue:StringNotEquals "eu-west-1" allows nothing StringNotEquals does not. Tarski's
/// witness is `aws:RequestedRegion = ["", "eu-west-1", ""]`.
#[test]
fn single_valued_keys_get_one_value() {
    let (a, b) = paths("stringnotequals-vs-foranyvalue");
    let out = tarski(&["subset", &b, &a, "--format", "json"]);
    let v = json_of(&out);
    assert_eq!(v["result"], "holds", "{v}");
}
