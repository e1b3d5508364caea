//! Exit codes, in the tradition of grep and diff (documented in `tarski --help` and
//! docs/cli.md), and the one place that writes answers to standard output. Only this crate
//! knows them.

use std::io::Write;
use std::process::ExitCode;

/// The answer is "yes": the property holds, the request is allowed, the policy is clean.
pub const OK: u8 = 0;
/// The answer is "no": the property does not hold, the request is denied, the policy has
/// errors.
pub const NO: u8 = 1;
/// The solver could not decide (timeout, incompleteness).
pub const UNKNOWN: u8 = 2;
/// Bad input: unreadable file, malformed policy, bad arguments; also an answer that could not
/// be written (a full disk, a closed standard output).
pub const BAD_INPUT: u8 = 3;
/// A bug in Tarski (for example a witness the evaluator does not confirm).
pub const INTERNAL: u8 = 4;
/// Standard output was closed by its reader (`| head`): the run ends quietly, with the code a
/// shell reports for a process ended by SIGPIPE (128 + 13), never with a code that reads as an
/// answer.
pub const BROKEN_PIPE: u8 = 141;
/// Interrupted by Ctrl-C (128 + SIGINT): no report was written.
pub const INTERRUPTED: u8 = 130;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}

/// Standard output could not take the answer: end the run now, with a code that is never read
/// as an answer. A closed pipe ends quietly; anything else (a full disk) says so.
pub fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        discard_pending_output();
        std::process::exit(i32::from(BROKEN_PIPE));
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: cannot write to standard output: {e}"
    );
    discard_pending_output();
    std::process::exit(i32::from(BAD_INPUT));
}

/// Write to standard output (the `print!`/`println!` of this crate, see `main.rs`); a failed
/// write ends the run through [`stdout_failed`] instead of being ignored or panicking.
#[allow(dead_code)] // for `print!`
pub fn out(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args) {
        stdout_failed(&e);
    }
}

/// `out` followed by a newline.
pub fn out_line(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.write_all(b"\n")) {
        stdout_failed(&e);
    }
}

/// Flush standard output before the exit code is returned: data still buffered when the
/// process ends would otherwise be lost without an error.
pub fn flush_stdout() {
    if let Err(e) = std::io::stdout().lock().flush() {
        stdout_failed(&e);
    }
}

/// Write to standard error, ignoring failure: a closed or full standard error must not turn a
/// run into an abort or change its answer (`2>/dev/full`).
#[allow(dead_code)] // for `eprint!`
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

pub fn err_line(args: std::fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}

/// The temporary report file of this run, removed when the run is interrupted or its output
/// fails (`discard_pending_output`).
pub static PENDING: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Remove the temporary report file, if any (Ctrl-C, a failed write).
pub fn discard_pending_output() {
    let taken = match PENDING.lock() {
        Ok(mut p) => p.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if let Some(p) = taken {
        let _ = std::fs::remove_file(p);
    }
}
