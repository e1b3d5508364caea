//! Every diagnostic code the code base emits is documented, and every documented code is
//! emitted (issue 14): a code is a stable interface that users suppress and search for.
//! Codes are the string literals `"Tnnnn"` in the library and CLI sources; the documentation is
//! the tables of docs/diagnostics.md and docs/iac.md (rows starting `| Tnnnn |`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

fn emitted() -> BTreeSet<String> {
    let mut files = Vec::new();
    for dir in ["src", "compiler/src", "solver/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut codes = BTreeSet::new();
    for f in files {
        let text = std::fs::read(&f).expect("source file");
        for i in 0..text.len() {
            // A string literal holding only the code: "T0123".
            if text[i] == b'"' && text.get(i + 6) == Some(&b'"') {
                if let Some(c) = code_at(&text, i + 1) {
                    codes.insert(c);
                }
            }
        }
    }
    codes
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
fn every_emitted_code_is_documented() {
    let emitted = emitted();
    assert!(
        emitted.len() > 40,
        "found only {} codes: is the scan broken?",
        emitted.len()
    );
    let documented = documented();
    let missing: Vec<_> = emitted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "codes emitted but not in a table of docs/diagnostics.md or docs/iac.md: {missing:?}"
    );
}

#[test]
fn every_documented_code_is_emitted() {
    let (documented, emitted) = (documented(), emitted());
    let stale: Vec<_> = documented.difference(&emitted).collect();
    assert!(
        stale.is_empty(),
        "codes documented but emitted nowhere (remove them or mark them unused in prose): {stale:?}"
    );
}
