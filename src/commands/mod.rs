//! One module per subcommand. Each returns the process exit code (see `exit`).

pub mod batch;
pub mod check;
pub mod eval;
pub mod expand;
pub mod merge;
pub mod solve;
pub mod verify;

/// The longest `--timeout` accepted, in seconds (about 11 days; Z3 takes milliseconds as a
/// 32-bit number).
pub const MAX_TIMEOUT_SECS: f64 = 1_000_000.0;

/// `--timeout SECONDS` as a duration: a finite number from 0.001 (below a millisecond Z3 would
/// get 0, which it reads as "no limit") to `MAX_TIMEOUT_SECS` (`--timeout 1e20` panicked in
/// `Duration::from_secs_f64`).
pub fn timeout(secs: f64) -> anyhow::Result<std::time::Duration> {
    if !(secs.is_finite() && (0.001..=MAX_TIMEOUT_SECS).contains(&secs)) {
        anyhow::bail!(
            "--timeout {secs}: must be a number of seconds from 0.001 to {MAX_TIMEOUT_SECS}"
        );
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// `--rlimit N` (both solvers) or `--rlimit Z3,CVC5`: deterministic solver limits.
pub fn rlimit(arg: Option<&str>) -> anyhow::Result<Option<tarski_solver::backend::ResourceLimit>> {
    let Some(text) = arg else {
        return Ok(None);
    };
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--rlimit {text}: expected N or Z3,CVC5, whole numbers from 1 to {}",
                    u32::MAX
                )
            })
    };
    let (z3, cvc5) = match text.split_once(',') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(text)?, num(text)?),
    };
    Ok(Some(tarski_solver::backend::ResourceLimit { z3, cvc5 }))
}

/// Most worker threads `--jobs` accepts; more would only exhaust memory (each holds a solver).
pub const MAX_JOBS: usize = 256;
