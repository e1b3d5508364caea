//! Helpers shared by the end-to-end tests: run the real `tarski` binary and read its output.
//! (Each test crate uses a subset.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `corpus/iac` of the repository.
pub fn iac_corpus() -> PathBuf {
    root().join("corpus/iac")
}

/// The `tarski` binary the end-to-end tests run: `TARSKI_TEST_BIN` when set (scripts/test
/// sets it to the release build, which runs the slow end-to-end tests several times faster;
/// the release profile keeps overflow checks on), otherwise the debug build cargo made for
/// this test.
pub fn bin() -> PathBuf {
    match std::env::var_os("TARSKI_TEST_BIN") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "TARSKI_TEST_BIN={} is not a file (build it, or unset it to test the debug build)",
                p.display()
            );
            p
        }
        _ => PathBuf::from(env!("CARGO_BIN_EXE_tarski")),
    }
}

/// One run of the binary.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run `tarski ARGS` in `dir` (colour off); a panic fails the test.
pub fn tarski_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tarski");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
        "tarski {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

/// `tarski_in` as (exit code, stdout, stderr); -1 when killed by a signal.
pub fn tarski(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let r = tarski_in(dir, args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

/// The records of a JSON-lines report.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `corpus/examples` of the repository.
pub fn examples_dir() -> PathBuf {
    root().join("corpus/examples")
}

/// Run `tarski ARGS` in `dir` and keep the raw output (for tests that read bytes or the
/// status); a panic fails the test.
pub fn output_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tarski");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "tarski {args:?} panicked:\n{stderr}"
    );
    out
}

/// A JSON file of the repository's test data.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
