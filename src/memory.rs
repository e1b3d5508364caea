//! The memory cap (issue 15, finding 7: "the limit the user gives is the limit ... and memory
//! has a cap too"). A watchdog thread reads the process's resident size and, past
//! `--max-memory`, ends the run the way a reached `--timeout` does: a single question answers
//! `unknown` with the reason, any other command says so on standard error and writes no
//! report; the exit code is 2 (unknown) either way. The resident size counts every
//! allocation, Z3's C++ heap included; a solver child process gets the same cap as its
//! address-space limit (`tarski::limit_solver_memory`).
//!
//! Linux only (it reads `/proc/self/statm`); elsewhere the cap is not enforced.

use std::time::Duration;

/// `--max-memory` when not given, in MiB.
pub const DEFAULT_MIB: u64 = 4096;
/// The largest cap accepted, in MiB (1 TiB).
pub const MAX_MIB: u64 = 1 << 20;
/// How often the resident size is read.
const POLL: Duration = Duration::from_millis(10);

/// Check a `--max-memory` value.
pub fn cap_bytes(mib: u64) -> anyhow::Result<u64> {
    if !(1..=MAX_MIB).contains(&mib) {
        anyhow::bail!("--max-memory {mib}: must be a number of MiB from 1 to {MAX_MIB}");
    }
    Ok(mib << 20)
}

/// The resident size of this process in bytes, if the system says.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

/// Start the watchdog: once the resident size passes `cap` bytes, `reached` runs (it ends the
/// process). Without `/proc` nothing is watched.
pub fn watch(cap: u64, reached: impl FnOnce(u64) + Send + 'static) {
    if resident_bytes().is_none() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("memory".into())
        .stack_size(64 << 10)
        .spawn(move || loop {
            match resident_bytes() {
                Some(now) if now > cap => {
                    reached(now);
                    return;
                }
                Some(_) => std::thread::sleep(POLL),
                None => return,
            }
        });
}

/// The reason a run that reached the cap gives.
pub fn reason(cap: u64) -> String {
    format!(
        "the run reached the memory limit of {} MiB (--max-memory)",
        cap >> 20
    )
}
