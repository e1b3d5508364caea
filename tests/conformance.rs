//! The conformance suite: every case in tests/conformance/*.json is decided by the concrete
//! evaluator and must give the expected decision. Each case names the AWS documentation
//! section its answer comes from. (The symbolic compiler runs the same cases in its own test.)
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::request::Request;

pub struct Case {
    pub file: String,
    pub name: String,
    pub set: PolicySet,
    pub request: Request,
    pub expect: Decision,
}

fn policy(case: &str, role: &str, v: &serde_json::Value, kind: PolicyKind) -> LoadedPolicy {
    let text = serde_json::to_string_pretty(v).unwrap();
    let loaded = load(&format!("{case}/{role}"), &text, Some(kind), false);
    assert!(
        !loaded.has_errors(),
        "{case}: {role} does not parse: {}",
        loaded.first_error().unwrap_or_default()
    );
    assert_eq!(loaded.policies.len(), 1, "{case}: {role}");
    loaded.policies.into_iter().next().unwrap()
}

fn layers(
    case: &str,
    role: &str,
    v: Option<&serde_json::Value>,
    kind: PolicyKind,
) -> Vec<Vec<LoadedPolicy>> {
    v.and_then(|v| v.as_array())
        .map(|ls| {
            ls.iter()
                .enumerate()
                .map(|(i, l)| {
                    l.as_array()
                        .unwrap_or_else(|| panic!("{case}: {role} layer {i} is not a list"))
                        .iter()
                        .map(|p| policy(case, &format!("{role}[{i}]"), p, kind))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn load_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        for c in v["cases"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap().to_string();
            let p = &c["policies"];
            let one = |k: &str, kind| p.get(k).map(|v| policy(&name, k, v, kind));
            let set = PolicySet {
                identity: p
                    .get("identity")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .enumerate()
                            .map(|(i, d)| {
                                policy(&name, &format!("identity[{i}]"), d, PolicyKind::Identity)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                boundary: one("boundary", PolicyKind::Boundary),
                scps: layers(&name, "scps", p.get("scps"), PolicyKind::Scp),
                rcps: layers(&name, "rcps", p.get("rcps"), PolicyKind::Rcp),
                session: one("session", PolicyKind::Session),
                resource: one("resource", PolicyKind::Resource),
            };
            let request =
                Request::from_json(&c["request"]).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expect = Decision::parse(c["expect"].as_str().unwrap()).unwrap();
            out.push(Case {
                file: file.clone(),
                name,
                set,
                request,
                expect,
            });
        }
    }
    out
}

/// Every case through `decide`; all failures listed at once.
fn check_all(decide: &dyn Fn(&Case) -> Decision, what: &str) {
    let cases = load_cases();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let got = decide(c);
            (got != c.expect).then(|| {
                format!(
                    "{}: {}: expected {}, {what} gives {}",
                    c.file,
                    c.name,
                    c.expect.as_str(),
                    got.as_str()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn evaluator_agrees_with_every_conformance_case() {
    check_all(&|c| evaluate(&c.set, &c.request).decision, "the evaluator");
}

/// The same cases through the logic IR: lower the set to formulas, decide the atoms on the
/// request, and compare with the expected decision.
#[test]
fn logic_ir_agrees_with_every_conformance_case() {
    check_all(
        &|c| tarski_compiler::logic::lower::decide_via_ir(&c.set, &c.request),
        "the IR",
    );
}

#[test]
fn case_names_are_unique() {
    let cases = load_cases();
    let mut names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
}
