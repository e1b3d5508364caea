//! `tarski`: the command line over the `tarski` library (src/lib.rs, `tarski::Engine`).
//! Argument parsing, rendering and exit codes live here; loading inputs and answering
//! questions in the library; all policy semantics in `tarski-compiler`, all solving in
//! `tarski-solver`.

// Bad input never panics: no `unwrap`/`expect`/`panic!` outside tests (clippy, in CI's
// `cargo clippy -- -D warnings`).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Standard output carries answers: a failed write must end the run with a code that is not an
// answer (src/exit.rs), never be ignored or panic. Standard error carries diagnostics: a failed
// write there must not change the answer or abort (`2>/dev/full`). These shadow std's macros
// for every module of this crate.
#[allow(unused_macros)]
macro_rules! print {
    ($($t:tt)*) => { $crate::exit::out(format_args!($($t)*)) };
}
macro_rules! println {
    () => { $crate::exit::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::exit::out_line(format_args!($($t)*)) };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($t:tt)*) => { $crate::exit::err(format_args!($($t)*)) };
}
macro_rules! eprintln {
    () => { $crate::exit::err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::exit::err_line(format_args!($($t)*)) };
}

mod cli;
mod commands;
mod exit;
mod memory;
mod report;

// The library's plumbing the commands still reach directly (batch assembly, `check`,
// diagnostics); questions go through `tarski::Engine`.
use tarski::{iac, load, reference, render, run};

use std::process::ExitCode;

use clap::Parser;

/// Stack of the thread doing the work (the library's workers take a quarter of it).
pub const WORK_STACK: usize = tarski::WORK_STACK;

/// Ctrl-C (SIGINT) and SIGTERM stop the run, say so, and leave no report behind. They are
/// blocked in every thread (threads inherit the mask of the thread that starts them, so this
/// runs first) and taken by one thread with `sigwait`: Z3 installs its own SIGINT handler
/// during a check, which cancelled that one check and let a batch run on and write a report
/// that looked complete (issue 15, finding 11). A blocked signal never reaches that handler.
fn handle_interrupts() {
    // SAFETY: plain libc calls on a local, zero-initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    exit::discard_pending_output();
                    eprintln!(
                        "tarski: interrupted ({}); the run stopped and wrote no report",
                        if sig == libc::SIGINT {
                            "Ctrl-C"
                        } else {
                            "SIGTERM"
                        }
                    );
                    // Straight out: other threads may be inside Z3, whose state must not be
                    // torn down under them by exit handlers.
                    libc::_exit(i32::from(exit::INTERRUPTED));
                }
            });
    }
}

fn main() -> ExitCode {
    handle_interrupts();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            return exit::code(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    // A panic is a bug: say so plainly and exit with the internal-error code, never with a
    // code that could be read as an answer. Writes to stdout never panic (`exit::out`); the
    // hook writes with `eprintln!` of this crate, which ignores a failing stderr instead of
    // panicking inside the hook (an abort).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {info}");
        eprintln!("this is a bug in Tarski; please report it with the input that caused it");
    }));
    let memory_cap = match memory::cap_bytes(cli.max_memory) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::code(exit::BAD_INPUT);
        }
    };
    if let Err(e) = load::allow_paths(&cli.allow_path) {
        eprintln!("error: {e:#}");
        return exit::code(exit::BAD_INPUT);
    }
    let values = match &cli.command {
        cli::Command::Check(a) => Some(&a.iac.values),
        cli::Command::Batch(a) => Some(&a.iac.values),
        cli::Command::Eval(a) => Some(&a.values),
        cli::Command::Can(a) => Some(&a.values),
        cli::Command::Subset(a) | cli::Command::Equiv(a) => Some(&a.values),
        cli::Command::Verify(a) => Some(&a.values),
        cli::Command::Expand(_) | cli::Command::Merge(_) => None,
    };
    if let Some(v) = values {
        match v.options() {
            Ok(o) => {
                // The first and only setting in this process.
                let _ = reference::set_values(o, v.managed_policies.clone());
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return exit::code(exit::BAD_INPUT);
            }
        }
    }
    // The work runs on a thread with a large stack: Z3 rewrites regular expressions
    // recursively, one frame per pattern character (a resource of `?*` x 5000 overflowed the
    // 8 MiB main stack and aborted with exit 134). The stack is reserved, not committed.
    let cli: &'static cli::Cli = Box::leak(Box::new(cli));
    let work = move || match &cli.command {
        cli::Command::Check(a) => commands::check::run(a),
        cli::Command::Eval(a) => commands::eval::run(a),
        cli::Command::Expand(a) => commands::expand::run(a),
        cli::Command::Can(a) => commands::solve::run_can(a),
        cli::Command::Subset(a) => commands::solve::run_subset(a),
        cli::Command::Equiv(a) => commands::solve::run_equiv(a),
        cli::Command::Verify(a) => commands::verify::run(a),
        cli::Command::Batch(a) => commands::batch::run_batch(a),
        cli::Command::Merge(a) => commands::merge::run(a),
    };
    // A single question (`can`, `subset`, `equiv`) gets the whole of `--timeout`, every stage
    // included; past it the answer is `unknown` (issue 15, finding 7).
    let deadline = match &cli.command {
        cli::Command::Can(a) => Some(("can", &a.solve)),
        cli::Command::Subset(a) => Some(("subset", &a.solve)),
        cli::Command::Equiv(a) => Some(("equiv", &a.solve)),
        _ => None,
    }
    .and_then(|(cmd, s)| Some((cmd, commands::timeout(s.timeout).ok()?, s.format)));
    let question = deadline.map(|(cmd, _, format)| (cmd, format));
    tarski::limit_solver_memory(memory_cap);
    memory::watch(memory_cap, move |_| {
        let why = memory::reason(memory_cap);
        match question {
            Some((cmd, format)) => give_up(cmd, &why, format),
            None => {
                exit::discard_pending_output();
                eprintln!("tarski: {why}; the run stopped and wrote no report");
                exit::flush_stdout();
                // SAFETY: as in `give_up`: other threads may be inside Z3.
                unsafe { libc::_exit(i32::from(exit::UNKNOWN)) }
            }
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("tarski".into())
        .stack_size(WORK_STACK)
        .spawn(move || {
            let _ = tx.send(std::panic::catch_unwind(work));
        });
    let result = match spawned {
        Err(e) => Ok(Err(anyhow::anyhow!("cannot start the worker thread: {e}"))),
        Ok(_) => match deadline {
            None => rx
                .recv()
                .unwrap_or_else(|_| Ok(Err(anyhow::anyhow!("the worker thread ended")))),
            Some((cmd, limit, format)) => match rx.recv_timeout(limit) {
                Ok(r) => r,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    Ok(Err(anyhow::anyhow!("the worker thread ended")))
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    give_up(cmd, &tarski::Unknown::OutOfTime(limit).to_string(), format)
                }
            },
        },
    };
    exit::flush_stdout();
    let code = match result {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            eprintln!("error: {}", render::clean_lines(&format!("{e:#}")));
            exit::BAD_INPUT
        }
        Err(_) => exit::INTERNAL,
    };
    if run::ABANDONED.load(std::sync::atomic::Ordering::SeqCst) {
        // A job still runs inside Z3: leave without exit handlers tearing Z3 down under it.
        // SAFETY: `_exit` ends the process at once; stdout was flushed above.
        unsafe { libc::_exit(i32::from(code)) }
    }
    exit::code(code)
}

/// The answer of a single question that ran out of `--timeout` or `--max-memory`: `unknown`
/// with the reason, in the command's format; then the process ends at once, with the
/// question's thread in it.
fn give_up(cmd: &str, why: &str, format: cli::Format) -> ! {
    match format {
        cli::Format::Text => println!("unknown: {why}"),
        cli::Format::Json => println!(
            "{}",
            serde_json::json!({"command": cmd, "result": "unknown", "reason": why})
        ),
    }
    exit::flush_stdout();
    // SAFETY: `_exit` ends the process at once; the question's thread may be inside Z3.
    unsafe { libc::_exit(i32::from(exit::UNKNOWN)) }
}
