//! Tarski as a library: prove things about AWS IAM policies from Rust.
//!
//! [`Engine`] is the one door. It loads inputs — policy files, policy-set manifests,
//! `FILE#SELECTOR` references into CloudFormation templates, Terraform plans and account
//! snapshots — into policy sets, and answers `can`, `subset`, `equiv`, `eval` and spec
//! (`verify`) questions with typed reports: a proof (the solver's `unsat` over every request
//! AWS can make), witnesses the evaluator replayed, or `unknown` with a typed reason. Nothing
//! is rendered; the `tarski` command line is argument parsing, rendering and exit codes over
//! this library.
//!
//! ```
//! use tarski::{Answer, Engine};
//!
//! let engine = Engine::builder().build()?;
//! let readonly = engine.policy_text(
//!     "readonly.json",
//!     r#"{"Version": "2012-10-17",
//!         "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#,
//! )?;
//! let all_s3 = engine.policy_text(
//!     "s3.json",
//!     r#"{"Version": "2012-10-17",
//!         "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#,
//! )?;
//! // Everything readonly.json allows, s3.json allows too: proved.
//! assert!(matches!(engine.subset(&readonly, &all_s3, None)?.answer, Answer::Proved));
//! # Ok::<(), tarski::Error>(())
//! ```
//!
//! The modules below the façade (`load`, `spec_load`, `iac`, `run`, `config`, `render`,
//! `reference`; `batch` is private) are the command line's plumbing, public only so that the `tarski` binary can
//! reach them; they are not part of the API (`#[doc(hidden)]`).

// Bad input never panics: no `unwrap`/`expect`/`panic!` outside tests (clippy, in CI's
// `cargo clippy -- -D warnings`).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Standard error carries notes and diagnostics: a failed write there must not change an
// answer or panic (`2>/dev/full`). This shadows std's macros for every module of the library.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($t:tt)*) => { $crate::stderr(format_args!($($t)*)) };
}
macro_rules! eprintln {
    () => { $crate::stderr(format_args!("\n")) };
    ($($t:tt)*) => { $crate::stderr(format_args!("{}\n", format_args!($($t)*))) };
}

mod batch;
mod engine;

#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod iac;
#[doc(hidden)]
pub mod load;
#[doc(hidden)]
pub mod reference;
#[doc(hidden)]
pub mod render;
#[doc(hidden)]
pub mod run;
#[doc(hidden)]
pub mod spec_load;

pub use batch::{BatchInputs, BatchReport, Shard};
pub use engine::{
    Answer, Engine, EngineBuilder, EquivReport, Error, EvalReport, Report, SetFiles, SolverChoice,
    SpecReport, Unknown, MAX_JOBS, MAX_TIMEOUT_SECS,
};
pub use run::{Location, Record, Status};
/// The data the façade takes and returns, from the engine's crates.
pub use tarski_compiler::diagnostic::{Code, Diagnostic};
pub use tarski_compiler::eval::{Decision, Evaluation};
pub use tarski_compiler::load::SourceDiagnostics;
pub use tarski_compiler::{policy::PolicyKind, policy_set::Bounded};
pub use tarski_compiler::{policy_set::PolicySet, query::Expr, request::Request};
pub use tarski_solver::{Stats, Witness};

/// Write to standard error, ignoring a failure (see the macros above).
#[doc(hidden)]
pub fn stderr(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Stack of the thread answering one question (`run::run_jobs` workers get a quarter): Z3
/// rewrites regular expressions recursively, one frame per pattern character (a resource of
/// `?*` x 5000 overflowed the 8 MiB main stack). The stack is reserved, not committed.
pub const WORK_STACK: usize = 1 << 30;

/// Cap the address space of every solver process started from now on (cvc5), in bytes: the
/// run's `--max-memory` bounds the solvers it starts too (issue 15, finding 7). Process-wide.
pub fn limit_solver_memory(bytes: u64) {
    tarski_solver::backend::limit_child_memory(bytes);
}
