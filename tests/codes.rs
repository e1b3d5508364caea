//! Every diagnostic code the code base emits is documented, and every documented code is
//! emitted (issue 14): a code is a stable interface that users suppress and search for.
//! Codes are the string literals `"Tnnnn"` in the library and CLI sources; the documentation is
//! the tables of docs/diagnostics.md and docs/iac.md (rows starting `| Tnnnn |`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tarski::Code;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `T` followed by exactly four digits, starting at byte `i` of `s`.
fn code_at(s: &[u8], i: usize) -> Option<String> {
    let c = s.get(i..i + 5)?;
    (c[0] == b'T' && c[1..].iter().all(u8::is_ascii_digit))
        .then(|| String::from_utf8_lossy(c).into_owned())
}

/// Every code, from the enum the code base must use to emit one.
fn codes() -> BTreeSet<String> {
    Code::ALL.iter().map(|c| c.as_str().to_string()).collect()
}

/// The source text of the library and CLI, outside the enum's own module.
fn sources() -> String {
    let mut files = Vec::new();
    for dir in ["src", "compiler/src", "solver/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    files
        .iter()
        .filter(|f| !f.ends_with("compiler/src/diagnostic.rs"))
        .map(|f| std::fs::read_to_string(f).expect("source file"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn documented() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for doc in ["docs/diagnostics.md", "docs/iac.md"] {
        let text = std::fs::read_to_string(root().join(doc)).expect("doc file");
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("| ") {
                if let Some(c) = code_at(rest.as_bytes(), 0) {
                    if rest.as_bytes().get(5) == Some(&b' ') {
                        codes.insert(c);
                    }
                }
            }
        }
    }
    codes
}

#[test]
fn codes_are_well_formed_and_distinct() {
    assert!(Code::ALL.len() > 40, "only {} codes", Code::ALL.len());
    assert_eq!(codes().len(), Code::ALL.len(), "two variants share a code");
    for c in Code::ALL {
        let t = c.as_str().as_bytes();
        assert!(
            t.len() == 5 && code_at(t, 0).is_some(),
            "{c:?} has text {c}"
        );
    }
    assert!(
        Code::ALL.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
        "not in numeric order"
    );
}

#[test]
fn every_code_is_documented() {
    let missing: Vec<_> = codes().difference(&documented()).cloned().collect();
    assert!(
        missing.is_empty(),
        "codes not in a table of docs/diagnostics.md or docs/iac.md: {missing:?}"
    );
}

#[test]
fn every_documented_code_is_a_code() {
    let stale: Vec<_> = documented().difference(&codes()).cloned().collect();
    assert!(
        stale.is_empty(),
        "codes documented but not in `Code` (remove them or mark them unused in prose): {stale:?}"
    );
}

/// A variant nothing emits is a documented promise the tool does not keep.
#[test]
fn every_code_is_emitted() {
    let text = sources();
    let unused: Vec<_> = Code::ALL
        .iter()
        .filter(|c| !text.contains(&format!("Code::{c:?}")))
        .collect();
    assert!(unused.is_empty(), "codes no source emits: {unused:?}");
}

/// Codes are emitted through the enum, never as bare text a typo could get wrong.
#[test]
fn no_code_is_written_as_a_string_literal() {
    let text = sources();
    let b = text.as_bytes();
    let literals: BTreeSet<String> = (0..b.len())
        .filter(|&i| b[i] == b'"' && b.get(i + 6) == Some(&b'"'))
        .filter_map(|i| code_at(b, i + 1))
        .collect();
    assert!(
        literals.is_empty(),
        "code literals outside `Code`: {literals:?}"
    );
}
