//! Exit codes, in the tradition of grep and diff (documented in `tarski --help` and
//! docs/cli.md). Only this crate knows them.

use std::process::ExitCode;

/// The answer is "yes": the property holds, the request is allowed, the policy is clean.
pub const OK: u8 = 0;
/// The answer is "no": the property does not hold, the request is denied, the policy has
/// errors.
pub const NO: u8 = 1;
/// The solver could not decide (timeout, incompleteness).
pub const UNKNOWN: u8 = 2;
/// Bad input: unreadable file, malformed policy, bad arguments.
pub const BAD_INPUT: u8 = 3;
/// A bug in Tarski (for example a witness the evaluator does not confirm).
pub const INTERNAL: u8 = 4;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}

pub const HELP: &str = "\
Exit codes:
  0  yes: allowed (eval), clean (check), holds (subset/equiv), reachable (can)
  1  no: denied (eval), errors found (check), does not hold, not reachable
  2  unknown: the solver gave up (timeout or incompleteness)
  3  bad input: unreadable file, malformed policy or request, bad arguments
  4  internal error: a bug in Tarski; please report it";
