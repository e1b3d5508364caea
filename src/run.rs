//! Running questions as jobs (for `verify` and `batch`): one job is one question about one
//! subject; its outcome is a stable record (docs/batch.md) with witnesses and the location of
//! the statement that grants the first witness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tarski_compiler::eval::evaluate;
use tarski_compiler::policy::Effect;
use tarski_compiler::policy_set::{PolicySet, Role};
use tarski_compiler::query::Expr;
use tarski_compiler::spec::ast::{Level, Quantifier};
use tarski_solver::{Options, Verdict, Witness};

#[derive(Clone)]
pub enum Question {
    Can {
        set: Arc<PolicySet>,
        expr: Option<Expr>,
        expect: bool,
    },
    Subset {
        a: Arc<PolicySet>,
        b: Arc<PolicySet>,
        expr: Option<Expr>,
    },
    Equiv {
        a: Arc<PolicySet>,
        b: Arc<PolicySet>,
        expr: Option<Expr>,
    },
}

#[derive(Clone)]
pub struct Job {
    /// The file the result is about (where SARIF points).
    pub file: String,
    /// What was checked (a policy path, a spec name).
    pub subject: String,
    /// The check's name (`no-admin`, a spec label, ...).
    pub check: String,
    pub severity: Level,
    pub question: Question,
    /// For a subject with opaque deploy-time values: `question` is about the subject's
    /// over-approximation and this one, the same question about its under-approximation
    /// (`tarski_compiler::iac::bounds`). Proofs come from the over side, witnesses from the
    /// under side; when they disagree the answer depends on the values (`unknown`). `None`:
    /// derived from the bounds the question's policies carry (`PolicySet::bounds`), if any.
    pub under: Option<Question>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Fail,
    Unknown,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Pass, Status::Fail, Status::Unknown, Status::Error]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Where a finding points: file, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug)]
pub struct Record {
    pub file: String,
    pub subject: String,
    pub check: String,
    pub severity: Level,
    pub status: Status,
    pub message: String,
    pub witnesses: Vec<Witness>,
    pub location: Option<Location>,
    pub elapsed: Duration,
}

/// The record for an input that could not be read or parsed.
pub fn input_error(file: &str, message: String, location: Option<Location>) -> Record {
    Record {
        file: file.to_string(),
        subject: file.to_string(),
        check: "input".to_string(),
        severity: Level::Error,
        status: Status::Error,
        message,
        witnesses: Vec::new(),
        location,
        elapsed: Duration::ZERO,
    }
}

/// The first Allow statement of `set` that lets `w` through, as a location.
fn granting(set: &PolicySet, w: &Witness) -> Option<Location> {
    let ev = evaluate(set, &w.request);
    let m = ev
        .matched
        .iter()
        .find(|m| m.effect == Effect::Allow && m.role != Role::Boundary)?;
    let lp = set
        .all()
        .into_iter()
        .find(|(_, p)| p.source.name == m.file)?
        .1;
    let st = lp
        .policy
        .statements
        .iter()
        .find(|s| s.label() == m.statement)?;
    let (line, column) = lp.source.line_col(st.span.start as usize);
    Some(Location {
        file: m.file.clone(),
        line,
        column,
    })
}

/// One solver call, the set its witnesses come from, and what a witness means.
type Attempt<'a> = (
    Result<tarski_solver::Report, Box<tarski_solver::ReplayMismatch>>,
    Arc<PolicySet>,
    &'a str,
);

pub fn run(job: &Job, opts: &Options) -> Record {
    match job.under.clone().or_else(|| narrowed(&job.question)) {
        None => run_exact(job, &job.question, opts),
        Some(under) => run_bounded(job, &under, opts),
    }
}

/// The question about the narrowed sides of the bounded policies `q`'s sets carry (as data,
/// `LoadedPolicy::narrowed`); `None` when every policy is exact.
fn narrowed(q: &Question) -> Option<Question> {
    let under = |s: &Arc<PolicySet>| s.bounds().map(|b| Arc::new(b.under));
    let pair = |a: &Arc<PolicySet>, b: &Arc<PolicySet>| match (under(a), under(b)) {
        (None, None) => None,
        (au, bu) => Some((
            au.unwrap_or_else(|| a.clone()),
            bu.unwrap_or_else(|| b.clone()),
        )),
    };
    match q {
        Question::Can { set, expr, expect } => Some(Question::Can {
            set: under(set)?,
            expr: expr.clone(),
            expect: *expect,
        }),
        Question::Subset { a, b, expr } => {
            let (a, b) = pair(a, b)?;
            Some(Question::Subset {
                a,
                b,
                expr: expr.clone(),
            })
        }
        Question::Equiv { a, b, expr } => {
            let (a, b) = pair(a, b)?;
            Some(Question::Equiv {
                a,
                b,
                expr: expr.clone(),
            })
        }
    }
}

/// A question whose subject is only known within bounds. Its questions are asked so that each
/// answer is sound for every deployment: a pass from questions where the subject is widened on
/// the allowing side and narrowed on the reference side, a failure the other way round.
fn run_bounded(job: &Job, under: &Question, opts: &Options) -> Record {
    let start = Instant::now();
    let over = &job.question;
    let subset = |a: &Arc<PolicySet>, b: &Arc<PolicySet>, expr: &Option<Expr>| Question::Subset {
        a: a.clone(),
        b: b.clone(),
        expr: expr.clone(),
    };
    // (questions that must all pass, questions of which one failing fails every deployment)
    let (pass_qs, fail_qs) = match (over, under) {
        (Question::Can { expect: false, .. }, Question::Can { .. }) => {
            (vec![over.clone()], vec![under.clone()])
        }
        (Question::Can { expect: true, .. }, Question::Can { .. }) => {
            (vec![under.clone()], vec![over.clone()])
        }
        (Question::Subset { a: ao, b: bo, expr }, Question::Subset { a: au, b: bu, .. }) => {
            (vec![subset(ao, bu, expr)], vec![subset(au, bo, expr)])
        }
        (Question::Equiv { a: ao, b: bo, expr }, Question::Equiv { a: au, b: bu, .. }) => (
            vec![subset(ao, bu, expr), subset(bo, au, expr)],
            vec![subset(au, bo, expr), subset(bu, ao, expr)],
        ),
        _ => return run_exact(job, over, opts),
    };
    let mut passed = Vec::new();
    for q in &pass_qs {
        let r = run_exact(job, q, opts);
        if r.status != Status::Pass {
            passed.clear();
            passed.push(r);
            break;
        }
        passed.push(r);
    }
    let mut rec = if passed.iter().all(|r| r.status == Status::Pass) {
        let mut r = passed.remove(0);
        if matches!(over, Question::Equiv { .. }) {
            r.message = "proved equivalent".to_string();
        }
        r
    } else {
        let widest = passed.remove(0);
        let mut failed = None;
        let mut unknown = Vec::new();
        for q in &fail_qs {
            let r = run_exact(job, q, opts);
            match r.status {
                Status::Fail | Status::Error => {
                    failed = Some(r);
                    break;
                }
                Status::Unknown => unknown.push(r.message),
                Status::Pass => {}
            }
        }
        match failed {
            Some(mut r) => {
                if matches!(over, Question::Equiv { .. }) && r.status == Status::Fail {
                    r.message = format!("not equivalent: {}", r.message);
                }
                r
            }
            None if widest.status == Status::Error => widest,
            None => {
                let mut r = widest;
                r.message = format!(
                    "depends on values known only at deploy time: with the widest values, {}; \
                     with the narrowest it {} (docs/iac.md, Bounds)",
                    r.message,
                    if unknown.is_empty() {
                        "holds".to_string()
                    } else {
                        format!("is unknown ({})", unknown.join("; "))
                    }
                );
                r.status = Status::Unknown;
                // Those witnesses hold only for some values: not evidence about the policy.
                r.witnesses.clear();
                r.location = None;
                r
            }
        }
    };
    rec.elapsed = start.elapsed();
    rec
}

fn run_exact(job: &Job, question: &Question, opts: &Options) -> Record {
    let start = Instant::now();
    let mut rec = Record {
        file: job.file.clone(),
        subject: job.subject.clone(),
        check: job.check.clone(),
        severity: job.severity,
        status: Status::Pass,
        message: String::new(),
        witnesses: Vec::new(),
        location: None,
        elapsed: Duration::ZERO,
    };
    let verdicts: Vec<Attempt> = match question {
        Question::Can { set, expr, .. } => vec![(
            tarski_solver::can(set, expr.as_ref(), opts),
            set.clone(),
            "",
        )],
        Question::Subset { a, b, expr } => vec![(
            tarski_solver::subset(a, b, expr.as_ref(), opts),
            a.clone(),
            "",
        )],
        Question::Equiv { a, b, expr } => vec![
            (
                tarski_solver::subset(a, b, expr.as_ref(), opts),
                a.clone(),
                "first allows, second does not",
            ),
            (
                tarski_solver::subset(b, a, expr.as_ref(), opts),
                b.clone(),
                "second allows, first does not",
            ),
        ],
    };
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for (r, set, dir) in verdicts {
        match r {
            Err(m) => {
                rec.status = Status::Error;
                rec.message = format!("{m}");
                rec.elapsed = start.elapsed();
                return rec;
            }
            Ok(rep) => match rep.verdict {
                Verdict::Witnesses(ws) => {
                    if rec.location.is_none() {
                        rec.location = ws.first().and_then(|w| granting(&set, w));
                    }
                    found.push((dir, ws));
                }
                Verdict::Unknown(why) => unknown.push(why),
                Verdict::Proved => {}
            },
        }
    }
    let any = !found.is_empty();
    rec.witnesses = found
        .iter()
        .flat_map(|(_, ws)| ws.iter().cloned())
        .collect();
    let (status, message) = match question {
        Question::Can { expect, .. } => match (any, *expect, unknown.is_empty()) {
            (true, true, _) => (Status::Pass, "reachable, as required".to_string()),
            (true, false, _) => (
                Status::Fail,
                "reachable: a request gets through (see witness)".to_string(),
            ),
            (false, _, false) => (Status::Unknown, unknown.join("; ")),
            (false, true, true) => (
                Status::Fail,
                "unreachable: proved that no request gets through".to_string(),
            ),
            (false, false, true) => (Status::Pass, "proved unreachable".to_string()),
        },
        Question::Subset { .. } => match (any, unknown.is_empty()) {
            (true, _) => (
                Status::Fail,
                "not contained: a request is allowed by the first and not the second (see witness)"
                    .to_string(),
            ),
            (false, false) => (Status::Unknown, unknown.join("; ")),
            (false, true) => (Status::Pass, "proved contained".to_string()),
        },
        Question::Equiv { .. } => match (any, unknown.is_empty()) {
            (true, _) => (
                Status::Fail,
                format!(
                    "not equivalent: {}",
                    found.iter().map(|(d, _)| *d).collect::<Vec<_>>().join("; ")
                ),
            ),
            (false, false) => (Status::Unknown, unknown.join("; ")),
            (false, true) => (Status::Pass, "proved equivalent".to_string()),
        },
    };
    rec.status = status;
    rec.message = message;
    if rec.status == Status::Pass {
        rec.location = None;
    }
    rec.elapsed = start.elapsed();
    rec
}

/// Run jobs in parallel, each bounded by `opts.timeout` as a whole; `done(total)` after each
/// (a progress bar).
pub fn run_jobs(
    jobs: &[Job],
    opts: &Options,
    threads: Option<usize>,
    done: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Vec<Record>> {
    use rayon::prelude::*;
    // Never more threads than jobs (`--jobs 10000` on one file hung starting threads).
    let threads = threads.map(|t| t.min(jobs.len()).max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .stack_size(crate::WORK_STACK / 4)
        .build()?;
    Ok(pool.install(|| {
        jobs.par_iter()
            .map(|j| {
                let r = run_bounded_in_time(j, opts);
                done(jobs.len());
                r
            })
            .collect()
    }))
}

/// Run one job on a thread of its own and wait at most `--timeout` for it: the limit the user
/// gives bounds the whole question, every stage (syntactic paths, cell computation, each
/// solver call, witness replay), not only each Z3 call (issue 15, finding 7: `--timeout 10`
/// ran 54 s). A job out of time is `unknown` with that reason; its thread is left to finish
/// or to end with the process. Each job also gets a fresh solver context (Z3's context is per
/// thread), so its answer does not depend on which jobs ran before it on the same worker.
fn run_bounded_in_time(job: &Job, opts: &Options) -> Record {
    let (tx, rx) = std::sync::mpsc::channel();
    let (j, o) = (job.clone(), opts.clone());
    let spawned = std::thread::Builder::new()
        .name("tarski-job".into())
        .stack_size(crate::WORK_STACK / 4)
        .spawn(move || {
            let _ = tx.send(run(&j, &o));
        });
    if spawned.is_err() {
        // No thread to spare: run here, bounded per solver call only.
        return run(job, opts);
    }
    match rx.recv_timeout(opts.timeout) {
        Ok(r) => r,
        Err(_) => {
            ABANDONED.store(true, std::sync::atomic::Ordering::SeqCst);
            Record {
                file: job.file.clone(),
                subject: job.subject.clone(),
                check: job.check.clone(),
                severity: job.severity,
                status: Status::Unknown,
                message: out_of_time(opts.timeout),
                witnesses: Vec::new(),
                location: None,
                elapsed: opts.timeout,
            }
        }
    }
}

/// Set when a job ran out of time and its thread was left running: the process must then end
/// without running exit handlers under it (`main`).
pub static ABANDONED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The reason of an answer cut off by `--timeout`.
pub fn out_of_time(t: std::time::Duration) -> String {
    format!(
        "not decided within --timeout {} s (the limit bounds the whole question)",
        t.as_secs_f64()
    )
}

pub fn witness_json(w: &Witness) -> Value {
    let ctx: serde_json::Map<String, Value> = w
        .request
        .context
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({
        "principal": w.request.principal,
        "action": w.request.action,
        "resource": w.request.resource,
        "resource_account": w.request.resource_account,
        "context": ctx,
        "notes": w.notes,
    })
}

impl Record {
    /// The stable JSON-lines form (docs/batch.md).
    pub fn to_json(&self) -> Value {
        json!({
            "file": self.file,
            "subject": self.subject,
            "check": self.check,
            "severity": self.severity.as_str(),
            "status": self.status.as_str(),
            "message": self.message,
            "witnesses": self.witnesses.iter().map(witness_json).collect::<Vec<_>>(),
            "location": self.location.as_ref().map(|l| json!({"file": l.file, "line": l.line, "column": l.column})),
            "elapsed_ms": (self.elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        })
    }
}

/// The quantifier's question for a subject set and optional second set.
pub fn question(
    q: Quantifier,
    a: Arc<PolicySet>,
    b: Option<Arc<PolicySet>>,
    expr: Option<Expr>,
) -> Option<Question> {
    Some(match q {
        Quantifier::Can => Question::Can {
            set: a,
            expr,
            expect: true,
        },
        Quantifier::Cannot => Question::Can {
            set: a,
            expr,
            expect: false,
        },
        Quantifier::Subset => Question::Subset { a, b: b?, expr },
        Quantifier::Equiv => Question::Equiv { a, b: b?, expr },
    })
}
