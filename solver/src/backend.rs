//! Solver backends behind one trait (the shape of Cedar's symbolic compiler): each reads the
//! SMT-LIB script that `encode` wrote and answers `check`, model values, and more assertions
//! (to block a witness and ask for another).
//!
//! - `Z3`: in process (libz3 from `.z3/`, docs/z3.md), parsing the script's text, so that it
//!   solves exactly what `--emit-smt2` writes.
//! - `Cvc5`: a `cvc5` process speaking SMT-LIB over a pipe (installed by
//!   `scripts/install-cvc5.sh`, docs/z3.md). Cancelling kills the process.
//!
//! Limits: users give a time limit; tests give resource limits (`ResourceLimit`), which do not
//! depend on how busy the machine is.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::smt::{self, Script, Sort, Term, Val};

/// A deterministic per-query limit for each solver (units are each solver's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimit {
    /// Z3's `rlimit`.
    pub z3: u64,
    /// cvc5's `--rlimit-per`.
    pub cvc5: u64,
}

/// How long a query may run: wall-clock (users) or solver resources (tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Time(Duration),
    Resources(ResourceLimit),
}

/// One check's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Sat,
    Unsat,
    Unknown(GaveUp),
}

/// Why a solver stopped without a definitive answer. Each backend classifies its solver's own
/// reason (Z3's `reason_unknown`, cvc5's `:reason-unknown`) knowing which limit it was given,
/// so that a resource limit never reads as a time limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GaveUp {
    /// The wall-clock limit ran out.
    TimeLimit(Duration),
    /// The deterministic resource limit (in the solver's own units) ran out.
    ResourceLimit(u64),
    /// Stopped from outside (the portfolio's other solver answered first).
    Interrupted,
    /// The solver's procedure is incomplete for this problem; its reason.
    Incomplete(String),
}

impl GaveUp {
    /// Z3's reason under `limit`: "max. resource limit exceeded" is the `rlimit`; a time limit
    /// shows as "timeout" or "canceled" (Z3 cancels the check when its timer fires).
    fn z3(reason: &str, limit: Limit) -> GaveUp {
        let out_of_time = ["timeout", "canceled", "cancelled"]
            .iter()
            .any(|w| reason.contains(w));
        match limit {
            Limit::Resources(r) if reason.contains("resource limit") => GaveUp::ResourceLimit(r.z3),
            Limit::Time(t) if out_of_time => GaveUp::TimeLimit(t),
            Limit::Resources(_) if out_of_time || reason.contains("interrupted") => {
                GaveUp::Interrupted
            }
            _ if reason.contains("interrupted") => GaveUp::Interrupted,
            _ => GaveUp::Incomplete(reason.to_string()),
        }
    }

    /// cvc5's `:reason-unknown`: `timeout`, `resourceout`, `interrupted`, `incomplete`, ...
    fn cvc5(reason: &str, limit: Limit) -> GaveUp {
        match (reason, limit) {
            ("timeout", Limit::Time(t)) => GaveUp::TimeLimit(t),
            ("resourceout", Limit::Resources(r)) => GaveUp::ResourceLimit(r.cvc5),
            ("interrupted", _) => GaveUp::Interrupted,
            _ => GaveUp::Incomplete(reason.to_string()),
        }
    }
}

/// A failure of the backend itself (not an `unknown`): it could not start, rejected the
/// script, or died.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("{0} is not installed ({1}); run `bash scripts/install-cvc5.sh` (docs/z3.md)")]
    Missing(&'static str, String),
    #[error("{0} rejected the problem: {1}")]
    Rejected(&'static str, String),
    #[error("{0} stopped: {1}")]
    Died(&'static str, String),
    #[error("the string {0:?} cannot be written in SMT-LIB")]
    Unwritable(String),
}

/// A live solver holding one problem.
pub trait Session {
    fn name(&self) -> &'static str;
    fn check(&mut self) -> Result<Answer, BackendError>;
    fn values(&mut self, wanted: &[(String, Sort)]) -> Result<HashMap<String, Val>, BackendError>;
    /// Add an assertion over the script's declared constants.
    fn assert(&mut self, t: &Term) -> Result<(), BackendError>;
}

fn term_text(t: &Term) -> Result<String, BackendError> {
    let mut s = String::new();
    smt::write_term(t, &mut s).map_err(BackendError::Unwritable)?;
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Z3 in process

/// Z3 in the current thread's context.
pub struct Z3 {
    solver: z3::Solver,
    sorts: HashMap<String, Sort>,
    limit: Limit,
}

/// Interrupts a Z3 context from another thread (`Z3_interrupt` is made for that).
#[derive(Clone, Copy)]
pub struct Z3Interrupt(z3_sys::Z3_context);

// SAFETY: Z3_interrupt may be called from any thread while the context lives; the portfolio
// only calls it while the Z3 thread is inside its (scoped) query.
unsafe impl Send for Z3Interrupt {}
unsafe impl Sync for Z3Interrupt {}

impl Z3Interrupt {
    /// The current thread's context.
    pub fn current() -> Z3Interrupt {
        Z3Interrupt(z3::Context::thread_local().get_z3_context())
    }

    pub fn interrupt(&self) {
        // SAFETY: see the `Send` impl.
        unsafe { z3_sys::Z3_interrupt(self.0) }
    }
}

fn z3_error() -> Option<String> {
    let ctx = z3::Context::thread_local().get_z3_context();
    // SAFETY: a live context; the message is a static or context-owned C string.
    unsafe {
        let code = z3_sys::Z3_get_error_code(ctx);
        if code == z3_sys::ErrorCode::Ok {
            return None;
        }
        let msg = z3_sys::Z3_get_error_msg(ctx, code);
        Some(if msg.is_null() {
            format!("{code:?}")
        } else {
            std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned()
        })
    }
}

impl Z3 {
    /// The script in Z3's default (non-incremental) mode: the combined solver runs its tactic
    /// (preprocessing, then SAT or SMT) on each check.
    pub fn start(script: &Script, limit: Limit) -> Result<Z3, BackendError> {
        Z3::start_in(script, limit, false)
    }

    /// The script in Z3's incremental mode when it has no strings (else as `start`): a scope
    /// opened before the assertions makes the combined solver decide with its SMT core
    /// directly, instead of building and tearing down the QF_LIA tactic on every check, which
    /// was most of the search time of small cell problems (W4: 25-30 % less CPU, the same
    /// 1,092 answers; docs/performance.md, docs/z3.md). Either mode's `unsat` is a proof; the
    /// models may differ.
    pub fn start_incremental(script: &Script, limit: Limit) -> Result<Z3, BackendError> {
        let strings = script.decls.iter().any(|(_, s)| *s == Sort::String);
        Z3::start_in(script, limit, !strings)
    }

    fn start_in(script: &Script, limit: Limit, incremental: bool) -> Result<Z3, BackendError> {
        let body = script.body().map_err(BackendError::Unwritable)?;
        let sorts = script.decls.iter().cloned().collect();
        let solver = z3::Solver::new();
        let mut params = z3::Params::new();
        match limit {
            Limit::Time(t) => {
                params.set_u32("timeout", u32::try_from(t.as_millis()).unwrap_or(u32::MAX))
            }
            Limit::Resources(r) => {
                params.set_u32("rlimit", u32::try_from(r.z3).unwrap_or(u32::MAX))
            }
        }
        solver.set_params(&params);
        if incremental {
            solver.push();
        }
        solver.from_string(body);
        if let Some(e) = z3_error() {
            return Err(BackendError::Rejected("Z3", e));
        }
        Ok(Z3 {
            solver,
            sorts,
            limit,
        })
    }
}

impl Session for Z3 {
    fn name(&self) -> &'static str {
        "z3"
    }

    fn check(&mut self) -> Result<Answer, BackendError> {
        Ok(match self.solver.check() {
            z3::SatResult::Sat => Answer::Sat,
            z3::SatResult::Unsat => Answer::Unsat,
            z3::SatResult::Unknown => Answer::Unknown(GaveUp::z3(
                &self
                    .solver
                    .get_reason_unknown()
                    .unwrap_or_else(|| "no reason given".into()),
                self.limit,
            )),
        })
    }

    fn values(&mut self, wanted: &[(String, Sort)]) -> Result<HashMap<String, Val>, BackendError> {
        use z3::ast::{Bool, Int, String as ZString, BV};
        let m = self
            .solver
            .get_model()
            .ok_or_else(|| BackendError::Died("Z3", "sat without a model".into()))?;
        let missing = |n: &str| BackendError::Died("Z3", format!("no value for {n}"));
        let mut out = HashMap::new();
        for (n, s) in wanted {
            let v = match s {
                Sort::Bool => Val::Bool(
                    m.eval(&Bool::new_const(n.as_str()), true)
                        .and_then(|v| v.as_bool())
                        .ok_or_else(|| missing(n))?,
                ),
                Sort::Int => {
                    let v = m
                        .eval(&Int::new_const(n.as_str()), true)
                        .ok_or_else(|| missing(n))?;
                    match v.as_i128() {
                        Some(x) => Val::Int(x),
                        // Beyond i128 (numbers of up to 38 digits, scaled): Z3's numeral text.
                        None => {
                            match smt::parse_sexp(&v.to_string()).and_then(|e| smt::value_of(&e)) {
                                Some(big @ Val::BigInt(_)) => big,
                                _ => return Err(missing(n)),
                            }
                        }
                    }
                }
                // Z3 writes characters outside printable ASCII as `\u{..}`: decode them
                // (issue 11, finding 4).
                Sort::String => Val::Str(
                    m.eval(&ZString::new_const(n.as_str()), true)
                        .and_then(|v| v.as_string())
                        .and_then(|s| smt::unescape(&s))
                        .ok_or_else(|| missing(n))?,
                ),
                Sort::BitVec(w) => {
                    let a = BV::new_const(n.as_str(), *w);
                    // Read 64 bits at a time (a wider numeral does not fit `as_u64`).
                    let mut bits: u128 = 0;
                    let mut hi = *w;
                    while hi > 0 {
                        let lo = hi.saturating_sub(64);
                        let part = m
                            .eval(&a.extract(hi - 1, lo), true)
                            .and_then(|b| b.as_u64())
                            .ok_or_else(|| missing(n))?;
                        bits = (bits << (hi - lo)) | u128::from(part);
                        hi = lo;
                    }
                    Val::Bv(bits)
                }
            };
            out.insert(n.clone(), v);
        }
        Ok(out)
    }

    fn assert(&mut self, t: &Term) -> Result<(), BackendError> {
        // A second parse cannot declare the constants again: build the (Boolean, integer)
        // term directly.
        let b = z3_bool(t, &self.sorts)?;
        self.solver.assert(&b);
        Ok(())
    }
}

/// A Boolean term over Boolean and integer constants as a Z3 term (what witness blocking
/// asserts after the script).
fn z3_bool(t: &Term, sorts: &HashMap<String, Sort>) -> Result<z3::ast::Bool, BackendError> {
    use z3::ast::Bool;
    let unsupported = || BackendError::Rejected("Z3", format!("cannot add {t:?} in process"));
    Ok(match t {
        Term::Bool(b) => Bool::from_bool(*b),
        Term::Sym(n) if sorts.get(n) == Some(&Sort::Bool) => Bool::new_const(n.as_str()),
        Term::App("not", a) if a.len() == 1 => z3_bool(&a[0], sorts)?.not(),
        Term::App("and", a) => Bool::and(
            &a.iter()
                .map(|x| z3_bool(x, sorts))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Term::App("or", a) => Bool::or(
            &a.iter()
                .map(|x| z3_bool(x, sorts))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Term::App("=", a) if a.len() == 2 => z3_int(&a[0], sorts)?.eq(z3_int(&a[1], sorts)?),
        _ => return Err(unsupported()),
    })
}

fn z3_int(t: &Term, sorts: &HashMap<String, Sort>) -> Result<z3::ast::Int, BackendError> {
    use z3::ast::Int;
    match t {
        Term::Int(v) => Ok(Int::from_i128(*v)),
        Term::Num(n) => {
            use std::str::FromStr;
            Int::from_str(n).map_err(|_| BackendError::Rejected("Z3", format!("numeral {n}")))
        }
        Term::Sym(n) if sorts.get(n) == Some(&Sort::Int) => Ok(Int::new_const(n.as_str())),
        _ => Err(BackendError::Rejected(
            "Z3",
            format!("cannot add {t:?} in process"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// cvc5 as a process

/// Where the `cvc5` binary is: `$TARSKI_CVC5`, else `cvc5` on `PATH`.
pub fn cvc5_path() -> Result<PathBuf, BackendError> {
    if let Some(p) = std::env::var_os("TARSKI_CVC5") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(BackendError::Missing(
                "cvc5",
                format!("TARSKI_CVC5={} is not a file", p.display()),
            ))
        };
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("cvc5"))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| BackendError::Missing("cvc5", "no `cvc5` on PATH".into()))
}

/// The memory cap of a solver child process, in bytes (0: none); set once from `--max-memory`.
static CHILD_MEMORY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Cap the address space of every solver process started from now on (issue 15, finding 7:
/// the user's memory limit bounds the whole run, the solver processes it starts included).
pub fn limit_child_memory(bytes: u64) {
    CHILD_MEMORY.store(bytes, std::sync::atomic::Ordering::SeqCst);
}

/// Bound a child before it runs: it dies with the thread that started it, so a run that ends
/// early (its `--timeout` reached, Ctrl-C, the memory cap) leaves no solver running on
/// (PR_SET_PDEATHSIG, Linux); and its address space stays under the run's memory cap.
#[cfg(target_os = "linux")]
fn bound_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let cap = CHILD_MEMORY.load(std::sync::atomic::Ordering::SeqCst);
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid, setrlimit, _exit) on local data.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have ended between fork and prctl: then nobody waits for us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
            if cap > 0 {
                let lim = libc::rlimit {
                    rlim_cur: cap,
                    rlim_max: cap,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn bound_child(_: &mut Command) {}

/// Kills a cvc5 process from another thread, also one that has not started yet.
#[derive(Clone, Default)]
pub struct Canceller(Arc<Mutex<CancelState>>);

#[derive(Default)]
struct CancelState {
    cancelled: bool,
    child: Option<Child>,
}

impl Canceller {
    /// The process id of the cvc5 child, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.0.lock().ok()?.child.as_ref().map(Child::id)
    }

    pub fn cancel(&self) {
        if let Ok(mut c) = self.0.lock() {
            c.cancelled = true;
            if let Some(child) = c.child.as_mut() {
                let _ = child.kill();
            }
        }
    }
}

pub struct Cvc5 {
    limit: Limit,
    child: Canceller,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Cvc5 {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "(exit)");
        let _ = self.stdin.flush();
        if let Ok(mut c) = self.child.0.lock() {
            if let Some(mut child) = c.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Cvc5 {
    /// Start cvc5 on the script; `cancel` can kill it from another thread.
    pub fn start(script: &Script, limit: Limit, cancel: &Canceller) -> Result<Cvc5, BackendError> {
        let path = cvc5_path()?;
        let body = script.body().map_err(BackendError::Unwritable)?;
        let mut cmd = Command::new(&path);
        // `--strings-exp`: cvc5 1.0.3 refuses some string operators without it.
        cmd.args([
            "--lang=smt2",
            "--incremental",
            "--produce-models",
            "--strings-exp",
        ]);
        match limit {
            Limit::Time(t) => cmd.arg(format!("--tlimit-per={}", t.as_millis().max(1))),
            Limit::Resources(r) => cmd.arg(format!("--rlimit-per={}", r.cvc5)),
        };
        bound_child(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BackendError::Missing("cvc5", format!("{}: {e}", path.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(BackendError::Died("cvc5", "no pipes".into()));
        };
        if let Ok(mut c) = cancel.0.lock() {
            if c.cancelled {
                let _ = child.kill();
                let _ = child.wait();
                return Err(BackendError::Died("cvc5", "cancelled".into()));
            }
            c.child = Some(child);
        }
        let mut s = Cvc5 {
            limit,
            child: cancel.clone(),
            stdin,
            stdout: BufReader::new(stdout),
        };
        s.send(&format!("(set-logic ALL)\n{body}"))?;
        Ok(s)
    }

    fn send(&mut self, text: &str) -> Result<(), BackendError> {
        self.stdin
            .write_all(text.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| BackendError::Died("cvc5", e.to_string()))
    }

    /// One response: an atom line, or a balanced S-expression over several lines.
    fn response(&mut self) -> Result<smt::Sexp, BackendError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .stdout
                .read_line(&mut line)
                .map_err(|e| BackendError::Died("cvc5", e.to_string()))?;
            if n == 0 {
                return Err(BackendError::Died(
                    "cvc5",
                    "the process ended (cancelled or crashed)".into(),
                ));
            }
            text.push_str(&line);
            if balanced(&text) && !text.trim().is_empty() {
                break;
            }
        }
        let e = smt::parse_sexp(&text)
            .ok_or_else(|| BackendError::Died("cvc5", format!("unreadable answer: {text}")))?;
        if let smt::Sexp::List(xs) = &e {
            if let [smt::Sexp::Atom(h), msg] = xs.as_slice() {
                if h == "error" {
                    let m = match msg {
                        smt::Sexp::Str(s) | smt::Sexp::Atom(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    return Err(BackendError::Rejected("cvc5", m));
                }
            }
        }
        Ok(e)
    }
}

/// Are the parentheses of `s` (outside string literals) balanced?
fn balanced(s: &str) -> bool {
    let mut depth = 0i64;
    let mut in_str = false;
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => depth -= 1,
            _ => {}
        }
    }
    depth == 0 && !in_str
}

impl Session for Cvc5 {
    fn name(&self) -> &'static str {
        "cvc5"
    }

    fn check(&mut self) -> Result<Answer, BackendError> {
        self.send("(check-sat)\n")?;
        match self.response()? {
            smt::Sexp::Atom(a) if a == "sat" => Ok(Answer::Sat),
            smt::Sexp::Atom(a) if a == "unsat" => Ok(Answer::Unsat),
            smt::Sexp::Atom(a) if a == "unknown" => {
                self.send("(get-info :reason-unknown)\n")?;
                let why = match self.response()? {
                    smt::Sexp::List(xs) => xs
                        .get(1)
                        .map(|x| match x {
                            smt::Sexp::Atom(s) | smt::Sexp::Str(s) => s.clone(),
                            other => format!("{other:?}"),
                        })
                        .unwrap_or_else(|| "no reason given".into()),
                    other => format!("{other:?}"),
                };
                Ok(Answer::Unknown(GaveUp::cvc5(&why, self.limit)))
            }
            other => Err(BackendError::Died(
                "cvc5",
                format!("unexpected answer {other:?}"),
            )),
        }
    }

    fn values(&mut self, wanted: &[(String, Sort)]) -> Result<HashMap<String, Val>, BackendError> {
        let mut out = HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
        self.send(&format!("(get-value ({}))\n", names.join(" ")))?;
        let smt::Sexp::List(pairs) = self.response()? else {
            return Err(BackendError::Died("cvc5", "get-value: not a list".into()));
        };
        for p in pairs {
            if let smt::Sexp::List(kv) = &p {
                if let [smt::Sexp::Atom(k), v] = kv.as_slice() {
                    if let Some(v) = smt::value_of(v) {
                        out.insert(k.clone(), v);
                        continue;
                    }
                }
            }
            return Err(BackendError::Died(
                "cvc5",
                format!("get-value: unreadable pair {p:?}"),
            ));
        }
        Ok(out)
    }

    fn assert(&mut self, t: &Term) -> Result<(), BackendError> {
        let text = format!("(assert {})\n", term_text(t)?);
        self.send(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::{app, sym, Term};

    /// `x` starts with "ab" but not with "a": unsatisfiable after some string reasoning.
    fn script() -> Script {
        let mut s = Script::default();
        let x = s.declare("x".into(), Sort::String);
        let has = |t: &str| {
            app(
                "str.in_re",
                vec![
                    x.clone(),
                    app("re.++", vec![crate::smt::re_lit(t), app("re.all", vec![])]),
                ],
            )
        };
        s.assert(has("ab"));
        s.assert(crate::smt::not(has("a")));
        s
    }

    fn tiny() -> Limit {
        Limit::Resources(ResourceLimit { z3: 1, cvc5: 1 })
    }

    fn enough() -> Limit {
        Limit::Resources(ResourceLimit {
            z3: 300_000,
            cvc5: 500_000,
        })
    }

    #[test]
    fn z3_resource_limit_is_applied() {
        z3::with_z3_config(&z3::Config::new(), || {
            let mut s = Z3::start(&script(), tiny()).unwrap();
            assert_eq!(
                s.check().unwrap(),
                Answer::Unknown(GaveUp::ResourceLimit(1))
            );
            let mut s = Z3::start(&script(), enough()).unwrap();
            assert_eq!(s.check().unwrap(), Answer::Unsat);
        });
    }

    #[test]
    fn cvc5_resource_limit_is_applied() {
        let c = Canceller::default();
        let mut s = Cvc5::start(&script(), tiny(), &c).unwrap();
        assert_eq!(
            s.check().unwrap(),
            Answer::Unknown(GaveUp::ResourceLimit(1))
        );

        let mut s = Cvc5::start(&script(), enough(), &c).unwrap();
        assert_eq!(s.check().unwrap(), Answer::Unsat);
    }

    /// Each solver's reason reads as the limit it was given (issue 12: a resource limit used to
    /// read as "the N s time limit").
    #[test]
    fn reasons_are_classified_by_the_limit_given() {
        let t = Limit::Time(Duration::from_secs(10));
        let r = Limit::Resources(ResourceLimit { z3: 7, cvc5: 9 });
        let secs = GaveUp::TimeLimit(Duration::from_secs(10));
        assert_eq!(GaveUp::z3("timeout", t), secs);
        assert_eq!(GaveUp::z3("canceled", t), secs);
        assert_eq!(
            GaveUp::z3("max. resource limit exceeded", r),
            GaveUp::ResourceLimit(7)
        );
        assert_eq!(GaveUp::z3("canceled", r), GaveUp::Interrupted);
        assert_eq!(
            GaveUp::z3("(incomplete (theory strings))", t),
            GaveUp::Incomplete("(incomplete (theory strings))".into())
        );
        assert_eq!(GaveUp::cvc5("timeout", t), secs);
        assert_eq!(GaveUp::cvc5("resourceout", r), GaveUp::ResourceLimit(9));
        assert_eq!(GaveUp::cvc5("interrupted", t), GaveUp::Interrupted);
        assert_eq!(
            GaveUp::cvc5("incomplete", r),
            GaveUp::Incomplete("incomplete".into())
        );
    }

    #[test]
    fn cancelled_cvc5_stops() {
        let c = Canceller::default();
        c.cancel();
        assert!(Cvc5::start(&script(), enough(), &c).is_err());
        let _ = (sym("x"), Term::Bool(true));
    }

    /// Issue 15, finding 7: a run that ends early (its deadline, Ctrl-C, the memory cap) ends
    /// with `_exit`, dropping nothing: the cvc5 child must not run on. It dies with the thread
    /// that started it. Here that thread forgets the session (as `_exit` would) and ends; the
    /// child, which would otherwise wait on its open standard input forever, is gone.
    #[cfg(target_os = "linux")]
    #[test]
    fn cvc5_dies_with_the_thread_that_started_it() {
        let c = Canceller::default();
        let c2 = c.clone();
        std::thread::spawn(move || {
            let s = Cvc5::start(&script(), enough(), &c2).unwrap();
            std::mem::forget(s);
        })
        .join()
        .unwrap();
        let pid = {
            let g = c.0.lock().unwrap();
            i32::try_from(g.child.as_ref().unwrap().id()).unwrap()
        };
        // Reap it; a child that lived on would keep this loop waiting (30 s at most, a bound
        // only a broken build reaches).
        let mut status = 0;
        let mut reaped = 0;
        for _ in 0..3000 {
            // SAFETY: waitpid on our own child with a local status word.
            reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped != 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            reaped, pid,
            "the cvc5 child outlived the thread that started it"
        );
        assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
    }
}
