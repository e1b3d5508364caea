//! `tarski-solver`: policy questions answered with Z3.
//!
//! `check` states each question as a goal over the compiler's logic IR, `encode` is the only
//! module that states problems for a solver (an SMT-LIB script, `smt`), `backend` runs them
//! (Z3 in process, cvc5 as a process; `check` races the two on string-theory queries), and
//! `assignment` turns a solution back into a concrete request, which `check` replays through
//! the evaluator before reporting it.
//!
//! Z3 comes from `.z3/` (installed by `scripts/install-z3.sh`); see `docs/z3.md`.

pub mod assignment;
pub mod backend;
pub mod baseline;
pub mod check;
mod encode;
pub mod fastpath;
pub mod smt;

pub use assignment::Witness;
pub use backend::ResourceLimit;
/// The former name of `subset` (kept so that callers written against it still build).
pub use check::subset as escapes;
pub use check::{
    can, subset, InternalError, Options, ReplayMismatch, Report, SolverChoice, Stats, Verdict,
};

/// The version of the Z3 library linked at run time, e.g. `"4.15.4.0"`.
pub fn z3_version() -> String {
    let full = z3::full_version();
    full.strip_prefix("Z3 ").unwrap_or(full).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_z3_4_15() {
        let v = super::z3_version();
        assert!(v.starts_with("4.15"), "linked Z3 is {v}, expected 4.15.x");
    }
}
