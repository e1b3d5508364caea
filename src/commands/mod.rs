//! One module per subcommand. Each returns the process exit code (see `exit`).

pub mod batch;
pub mod check;
pub mod eval;
pub mod expand;
pub mod merge;
pub mod solve;
pub mod verify;
