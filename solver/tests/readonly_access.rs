//! Acceptance for the symbolic core: `equiv` on the last two versions of the AWS managed
//! policy ReadOnlyAccess (about 2,900 action patterns each) answers exactly, with a witness
//! that replays. Needs the history cache written by
//! `python3 corpus/scripts/refresh-managed.py --history` (CI runs it); the time it takes is
//! measured by the bench (docs/performance.md), not here.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_solver::{escapes, Options, Verdict};

fn set(path: &Path) -> PolicySet {
    let text = std::fs::read_to_string(path).unwrap();
    let loaded = load(
        &path.display().to_string(),
        &text,
        Some(PolicyKind::Identity),
        false,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    PolicySet {
        identity: loaded.policies,
        ..PolicySet::default()
    }
}

/// Data a test needs is missing: under `CI=true` that fails the test (a run that skipped its
/// data must not pass as green); elsewhere it prints `SKIPPED: ...` and the test returns.
fn data_missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{what} (CI=true: tests that need data fail when it is missing)");
    }
    eprintln!("SKIPPED: {what}");
}

#[test]
fn readonly_access_last_two_versions() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/aws-managed-history/ReadOnlyAccess");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        data_missing(&format!(
            "{} not found; run `python3 corpus/scripts/refresh-managed.py --history`",
            dir.display()
        ));
        return;
    };
    let mut versions: Vec<(u32, std::path::PathBuf)> = entries
        .filter_map(|e| {
            let p = e.ok()?.path();
            let v: u32 = p.file_stem()?.to_str()?.strip_prefix('v')?.parse().ok()?;
            Some((v, p))
        })
        .collect();
    versions.sort();
    assert!(versions.len() >= 2);
    let old = set(&versions[versions.len() - 2].1);
    let new = set(&versions[versions.len() - 1].1);
    let opts = Options::default();
    let removed = escapes(&old, &new, None, &opts).expect("witnesses replay");
    let added = escapes(&new, &old, None, &opts).expect("witnesses replay");
    for (what, r) in [("old ⊄ new", &removed), ("new ⊄ old", &added)] {
        assert!(
            !matches!(r.verdict, Verdict::Unknown(_)),
            "{what}: {:?}",
            r.verdict
        );
    }
    // The newer version grants actions the older one did not.
    let Verdict::Witnesses(ws) = &added.verdict else {
        panic!(
            "expected the new version to allow more: {:?}",
            added.verdict
        )
    };
    for w in ws {
        assert_eq!(evaluate(&new, &w.request).decision, Decision::Allow);
        assert_ne!(evaluate(&old, &w.request).decision, Decision::Allow);
    }
}
