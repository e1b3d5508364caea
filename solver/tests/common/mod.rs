//! Shared by the solver's cross-checking tests (agreement.rs, templates.rs).

use tarski_solver::backend::ResourceLimit;

/// Resource limits for tests (docs/z3.md): Z3's `rlimit`, cvc5's `--rlimit-per`.
pub fn common_limits() -> ResourceLimit {
    ResourceLimit {
        z3: 300_000,
        cvc5: 500_000,
    }
}

/// Cross-checking needs cvc5: without it, fail with the fix rather than skip.
pub fn require_cvc5() {
    if let Err(e) = tarski_solver::backend::cvc5_path() {
        panic!("{e}");
    }
}
