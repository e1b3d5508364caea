//! The façade: [`Engine`], the one public type of the library. It holds the options of a run
//! (solver, limits, jobs, allowed roots, template values), loads inputs into policy sets and
//! answers questions with typed reports. Policies known only within bounds (template policies
//! with deploy-time values that may hold wildcards) are answered here for every deployment:
//! the bounds travel with the policies as data (`LoadedPolicy::narrowed`,
//! `PolicySet::bounds`), and the choice of widened or narrowed sides is made in this module
//! (`bounded_can`, `bounded_subset`) and in `run.rs` for jobs (docs/iac.md, "Bounds").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tarski_compiler::eval::{evaluate, Decision, Evaluation};
use tarski_compiler::iac::cloudformation;
use tarski_compiler::load::SourceDiagnostics;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{Bounded, PolicySet};
use tarski_compiler::query::Expr;
use tarski_compiler::request::Request;
pub use tarski_solver::SolverChoice;
use tarski_solver::{InternalError, Options, ResourceLimit, Stats, Verdict, Witness};

use crate::batch::{BatchInputs, BatchReport};
pub use crate::load::SetFiles;
use crate::run::{Job, Record};

/// The longest time limit accepted, in seconds (about 11 days; Z3 takes milliseconds as a
/// 32-bit number).
pub const MAX_TIMEOUT_SECS: f64 = 1_000_000.0;

/// Most worker threads accepted; more would only exhaust memory (each holds a solver).
pub const MAX_JOBS: usize = 256;

/// What can go wrong, typed: the command line derives its exit code from the variant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be read, parsed or resolved (a policy file, a manifest, a
    /// `FILE#SELECTOR` reference, a spec); the message names the file and, where there is one,
    /// the line and column.
    #[error("{0}")]
    Input(String),
    /// An input with errors (a policy, a template's policy, a spec), with the diagnostics that
    /// explain them as data: file, span (line and column through `source.line_col`), code
    /// (docs/diagnostics.md) and message. `message` is what `Input` would say.
    #[error("{message}")]
    Invalid {
        message: String,
        diagnostics: Vec<SourceDiagnostics>,
    },
    /// An option out of range (a time limit, a number of jobs, an allowed root, a solver that
    /// is not installed).
    #[error("{0}")]
    Options(String),
    /// A bug in Tarski: a witness the evaluator does not confirm, or two solvers contradicting
    /// each other. Never an answer.
    #[error("{0}")]
    Internal(Box<InternalError>),
    /// A bug in Tarski: the question stopped without an answer (a panic). Never an answer.
    #[error("{0}")]
    Crashed(String),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        match e.downcast_ref::<crate::load::Invalid>() {
            Some(inv) => Error::Invalid {
                message: format!("{e:#}"),
                diagnostics: inv
                    .diagnostics
                    .iter()
                    .map(|s| SourceDiagnostics {
                        source: s.source.clone(),
                        diagnostics: s.diagnostics.clone(),
                    })
                    .collect(),
            },
            None => Error::Input(format!("{e:#}")),
        }
    }
}

impl From<Box<InternalError>> for Error {
    fn from(e: Box<InternalError>) -> Error {
        Error::Internal(e)
    }
}

/// Why a question has no answer. Never rounded to "proved".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// The answer depends on values known only at deploy time: it differs between the widest
    /// and the narrowest values a bounded policy can take (docs/iac.md, "Bounds").
    DeployTime(String),
    /// The solver gave up (its time or resource limit, string-theory incompleteness), or the
    /// question holds a construct that cannot be encoded exactly; the solver's reason.
    Solver(String),
    /// The whole question ran past the time limit (every stage counted).
    OutOfTime(Duration),
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unknown::DeployTime(why) | Unknown::Solver(why) => f.write_str(why),
            Unknown::OutOfTime(t) => f.write_str(&crate::run::out_of_time(*t)),
        }
    }
}

/// The answer to one solver question (`can`: is some request allowed; `subset`: does some
/// request escape).
#[derive(Clone, Debug)]
pub enum Answer {
    /// Proved that no request is a witness: the solver's `unsat` over every request AWS can
    /// make, or a syntactic argument the tests check against the solver.
    Proved,
    /// Requests that are witnesses, each replayed through the evaluator.
    Witnesses(Vec<Witness>),
    /// No answer, with the reason.
    Unknown(Unknown),
}

impl Answer {
    fn from_verdict(v: Verdict) -> Answer {
        match v {
            Verdict::Proved => Answer::Proved,
            Verdict::Witnesses(ws) => Answer::Witnesses(ws),
            Verdict::Unknown(why) => Answer::Unknown(Unknown::Solver(why)),
        }
    }
}

/// One question's answer with the solver's statistics.
#[derive(Clone, Debug)]
pub struct Report {
    pub answer: Answer,
    pub stats: Stats,
}

/// `equiv`: both containments.
#[derive(Clone, Debug)]
pub struct EquivReport {
    /// Requests the first allows and the second does not.
    pub a_not_b: Report,
    /// Requests the second allows and the first does not.
    pub b_not_a: Report,
}

impl EquivReport {
    /// Some request is allowed by one and not the other.
    pub fn differ(&self) -> bool {
        [&self.a_not_b, &self.b_not_a]
            .iter()
            .any(|r| matches!(r.answer, Answer::Witnesses(_)))
    }

    /// Proved equivalent.
    pub fn proved(&self) -> bool {
        [&self.a_not_b, &self.b_not_a]
            .iter()
            .all(|r| matches!(r.answer, Answer::Proved))
    }
}

/// `eval`: the decision with the statements that made it, or unknown when it depends on
/// deploy-time values.
#[derive(Clone, Debug)]
pub enum EvalReport {
    Decided(Evaluation),
    Unknown(Unknown),
}

/// A spec's (or a batch's) records.
#[derive(Clone, Debug)]
pub struct SpecReport {
    pub records: Vec<Record>,
    /// Policy files (declared names) the spec read.
    pub files: usize,
    /// Assertion label -> its description, for SARIF rules.
    pub descriptions: BTreeMap<String, String>,
}

/// Options of an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    opts: Options,
    timeout_secs: f64,
    whole_question: bool,
    jobs: Option<usize>,
    allowed: Vec<PathBuf>,
    values: Option<(cloudformation::Options, Option<PathBuf>)>,
}

impl EngineBuilder {
    /// Which solver answers: Z3, cvc5, or both raced (the default).
    pub fn solver(mut self, s: SolverChoice) -> Self {
        self.opts.solver = s;
        self
    }

    /// Time limit of one question, in seconds (from 0.001 to `MAX_TIMEOUT_SECS`).
    pub fn timeout_secs(mut self, secs: f64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Whether the time limit bounds each question as a whole, every stage counted (on by
    /// default: past it the answer is `Unknown::OutOfTime`). Off only for a caller that bounds
    /// the question itself (the command line's `--timeout`); each solver query is bounded
    /// either way. With `resource_limit` the wall clock never decides an answer.
    pub fn whole_question_limit(mut self, on: bool) -> Self {
        self.whole_question = on;
        self
    }

    /// Deterministic per-query solver limits in place of the time limit (Z3's `rlimit`,
    /// cvc5's `--rlimit-per`): answers that do not depend on machine load.
    pub fn resource_limit(mut self, z3: u64, cvc5: u64) -> Self {
        self.opts.resources = Some(ResourceLimit { z3, cvc5 });
        self
    }

    /// Worker threads for specs and batches (1 to `MAX_JOBS`; default: one per core).
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = Some(n);
        self
    }

    /// A directory that files named inside inputs (spec includes, manifest entries) may
    /// resolve into besides the input's own tree. Process-wide: the first engine built with
    /// allowed roots sets them, and building one with different roots is `Error::Options`
    /// (never silently the first ones).
    pub fn allow_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.allowed.push(dir.into());
        self
    }

    /// How many distinct witnesses to look for (at least 1).
    pub fn witnesses(mut self, n: usize) -> Self {
        self.opts.witnesses = n.max(1);
        self
    }

    /// Compare over the catalog's actions only.
    pub fn known_actions(mut self, on: bool) -> Self {
        self.opts.known_actions = on;
        self
    }

    /// Answer from syntax first where a syntactic argument decides (on by default).
    pub fn syntactic(mut self, on: bool) -> Self {
        self.opts.syntactic = on;
        self
    }

    /// Run Z3 and cvc5 to the end on every query; a contradiction is `Error::Internal`.
    pub fn cross_check(mut self, on: bool) -> Self {
        self.opts.cross_check = on;
        self
    }

    /// Keep each solver problem as SMT-LIB text in `Stats::smt2`.
    pub fn emit_smt2(mut self, on: bool) -> Self {
        self.opts.emit_smt2 = on;
        self
    }

    /// Values of template parameters and pseudo parameters, and a directory of AWS managed
    /// policies, for templates read through `FILE#SELECTOR`. Process-wide and set once: a
    /// second engine with values is `Error::Options`.
    #[doc(hidden)]
    pub fn template_values(
        mut self,
        opts: cloudformation::Options,
        managed: Option<PathBuf>,
    ) -> Self {
        self.values = Some((opts, managed));
        self
    }

    /// Check the options and make the engine.
    pub fn build(self) -> Result<Engine, Error> {
        let secs = self.timeout_secs;
        if !(secs.is_finite() && (0.001..=MAX_TIMEOUT_SECS).contains(&secs)) {
            return Err(Error::Options(format!(
                "--timeout {secs}: must be a number of seconds from 0.001 to {MAX_TIMEOUT_SECS}"
            )));
        }
        if self.jobs.is_some_and(|j| j == 0 || j > MAX_JOBS) {
            return Err(Error::Options(format!(
                "--jobs: must be from 1 to {MAX_JOBS}"
            )));
        }
        if self.opts.cross_check || self.opts.solver == SolverChoice::Cvc5 {
            tarski_solver::backend::cvc5_path().map_err(|e| Error::Options(e.to_string()))?;
        }
        if !self.allowed.is_empty() {
            crate::load::allow_paths(&self.allowed)
                .map_err(|e| Error::Options(format!("{e:#}")))?;
        }
        if let Some((o, m)) = self.values {
            if !crate::reference::set_values(o, m) {
                return Err(Error::Options(
                    "template values are process-wide and already set; build one engine with \
                     them"
                        .to_string(),
                ));
            }
        }
        Ok(Engine {
            opts: Options {
                timeout: Duration::from_secs_f64(secs),
                ..self.opts
            },
            whole_question: self.whole_question,
            jobs: self.jobs,
        })
    }
}

/// Tarski's engine: load policies, ask questions, get typed reports.
///
/// Every witness in a report was replayed through the evaluator; every `Proved` is over the
/// requests AWS can make; every `Unknown` carries its reason.
#[derive(Clone, Debug)]
pub struct Engine {
    opts: Options,
    whole_question: bool,
    jobs: Option<usize>,
}

impl Engine {
    /// Options, starting from the defaults (portfolio solver, 30 s per question, one worker
    /// per core).
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            opts: Options::default(),
            timeout_secs: 30.0,
            whole_question: true,
            jobs: None,
            allowed: Vec::new(),
            values: None,
        }
    }

    /// The solver options of this engine.
    #[doc(hidden)]
    pub fn solver_options(&self) -> &Options {
        &self.opts
    }

    /// An identity policy given as text, as a set of its own (`name` is what diagnostics and
    /// witnesses call it).
    ///
    /// ```
    /// let engine = tarski::Engine::builder().build()?;
    /// let bad = engine.policy_text("bad.json", r#"{"Version": "2012-10-17", "Statement": 7}"#);
    /// let Err(tarski::Error::Invalid { diagnostics, .. }) = bad else { panic!("{bad:?}") };
    /// let d = &diagnostics[0].diagnostics[0];
    /// assert!(d.is_error() && d.code.as_str().starts_with("T01"), "{d:?}");
    /// assert_eq!(diagnostics[0].source.name, "bad.json");
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn policy_text(&self, name: &str, text: &str) -> Result<PolicySet, Error> {
        let policies = crate::load::from_text(name, text, PolicyKind::Identity)?;
        Ok(crate::spec_load::set_of_policies(
            policies,
            PolicyKind::Identity,
        ))
    }

    /// A policy file read as `kind`, a policy-set manifest, or a policy inside a template, plan
    /// or snapshot named `FILE#SELECTOR` (loaded with its bounds).
    pub fn policy_file(&self, path: &Path, kind: PolicyKind) -> Result<PolicySet, Error> {
        Ok(crate::load::set_of(path, kind)?)
    }

    /// A policy set from its files by role.
    pub fn policy_set(&self, files: &SetFiles) -> Result<PolicySet, Error> {
        Ok(crate::load::policy_set(files)?)
    }

    /// A constraint in the query language (`action like "s3:*" and resource like "arn:..."`).
    pub fn constraint(&self, text: &str) -> Result<Expr, Error> {
        tarski_compiler::query::parse_expr(text)
            .map_err(|e| Error::Input(format!("invalid constraint `{text}`: {e}")))
    }

    /// `can`: is some request (within `constraint`) allowed by `set`? Witnesses when it is,
    /// `Proved` when no request is.
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let set = engine.policy_text("p.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#)?;
    /// let deletes = engine.constraint(r#"action like "s3:DeleteObject""#)?;
    /// assert!(matches!(engine.can(&set, Some(&deletes))?.answer, tarski::Answer::Proved));
    /// let reads = engine.can(&set, None)?;
    /// assert!(matches!(reads.answer, tarski::Answer::Witnesses(_)));
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn can(&self, set: &PolicySet, constraint: Option<&Expr>) -> Result<Report, Error> {
        let (set, c) = (set.clone(), constraint.cloned());
        self.in_time(
            move |o| bounded_can(&set, c.as_ref(), o),
            |t| Ok(out_of_time(t)),
        )
    }

    /// `subset`: does every request `a` allows get through `b` too? `Proved` when it does;
    /// witnesses are requests `a` allows and `b` does not.
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let wide = engine.policy_text("wide.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#)?;
    /// let narrow = engine.policy_text("narrow.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}"#)?;
    /// assert!(matches!(engine.subset(&narrow, &wide, None)?.answer, tarski::Answer::Proved));
    /// assert!(matches!(engine.subset(&wide, &narrow, None)?.answer, tarski::Answer::Witnesses(_)));
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn subset(
        &self,
        a: &PolicySet,
        b: &PolicySet,
        constraint: Option<&Expr>,
    ) -> Result<Report, Error> {
        let (a, b, c) = (a.clone(), b.clone(), constraint.cloned());
        self.in_time(
            move |o| bounded_subset(&a, &b, c.as_ref(), o),
            |t| Ok(out_of_time(t)),
        )
    }

    /// `equiv`: do `a` and `b` allow exactly the same requests?
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let one = engine.policy_text("one.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]}"#)?;
    /// let two = engine.policy_text("two.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
    ///                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#)?;
    /// assert!(engine.equiv(&one, &two, None)?.proved());
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn equiv(
        &self,
        a: &PolicySet,
        b: &PolicySet,
        constraint: Option<&Expr>,
    ) -> Result<EquivReport, Error> {
        let (a, b, c) = (a.clone(), b.clone(), constraint.cloned());
        self.in_time(
            move |o| {
                Ok(EquivReport {
                    a_not_b: bounded_subset(&a, &b, c.as_ref(), o)?,
                    b_not_a: bounded_subset(&b, &a, c.as_ref(), o)?,
                })
            },
            |t| {
                Ok(EquivReport {
                    a_not_b: out_of_time(t),
                    b_not_a: out_of_time(t),
                })
            },
        )
    }

    /// Answer one question on a thread of its own with a large stack (Z3 rewrites regular
    /// expressions recursively: a resource of `?*` x 5000 overflowed an 8 MiB stack), within
    /// the time limit as a whole unless `whole_question_limit(false)` or resource limits
    /// (deterministic answers) are set. Past the limit the answer is `late(limit)`; the
    /// question's thread ends at its own per-query limit.
    fn in_time<T: Send + 'static>(
        &self,
        question: impl FnOnce(&Options) -> Result<T, Error> + Send + 'static,
        late: impl FnOnce(Duration) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let opts = self.opts.clone();
        let limit = (self.whole_question && opts.resources.is_none()).then_some(opts.timeout);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("tarski-question".into())
            .stack_size(crate::WORK_STACK / 4)
            .spawn(move || {
                let _ = tx.send(question(&opts));
            })
            .map_err(|e| Error::Options(format!("cannot start a thread for the question: {e}")))?;
        let gone = || {
            Error::Crashed(
                "internal error: the question's thread ended without an answer (a panic); this \
                 is a bug in Tarski"
                    .into(),
            )
        };
        match limit {
            None => rx.recv().map_err(|_| gone())?,
            Some(t) => match rx.recv_timeout(t) {
                Ok(r) => r,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => late(t),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
            },
        }
    }

    /// `eval`: AWS's decision for one request, with the statements that made it. For a set
    /// with bounded policies: `Unknown` when the widest values allow and the narrowest do not.
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let set = engine.policy_text("p.json", r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#)?;
    /// let req = tarski::Request {
    ///     principal: "arn:aws:iam::111122223333:user/alice".into(),
    ///     action: "s3:GetObject".into(),
    ///     resource: "arn:aws:s3:::bucket/key".into(),
    ///     ..Default::default()
    /// };
    /// match engine.eval(&set, &req) {
    ///     tarski::EvalReport::Decided(e) => assert_eq!(e.decision, tarski::Decision::Allow),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn eval(&self, set: &PolicySet, req: &Request) -> EvalReport {
        if let Some(b) = set.bounds() {
            let (wide, narrow) = (evaluate(&b.over, req), evaluate(&b.under, req));
            if narrow.decision != Decision::Allow && wide.decision == Decision::Allow {
                return EvalReport::Unknown(Unknown::DeployTime(
                    "depends on values known only at deploy time: Allow with the widest \
                     values, not with the narrowest (docs/iac.md, Bounds)"
                        .to_string(),
                ));
            }
        }
        EvalReport::Decided(evaluate(set, req))
    }

    /// A spec file (`tarski verify`): every assertion's record.
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let dir = std::env::temp_dir().join(format!("tarski-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("p.json"), r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#).unwrap();
    /// std::fs::write(dir.join("s.tq"), "policy p = \"p.json\"\n\
    ///   assert cannot(p, action like \"s3:DeleteObject\") label \"no-delete\"\n").unwrap();
    /// let report = engine.verify(&dir.join("s.tq"))?;
    /// assert_eq!(report.records.len(), 1);
    /// assert_eq!(report.records[0].status, tarski::Status::Pass, "{:?}", report.records[0]);
    /// assert_eq!(report.records[0].check, "no-delete");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn verify(&self, spec: &Path) -> Result<SpecReport, Error> {
        let s = crate::spec_load::read(spec)?;
        let names = crate::spec_load::resolve(&s)?;
        let jobs = crate::spec_load::jobs(&s, &names, None);
        Ok(SpecReport {
            records: self.run_jobs(&jobs, &|_| {})?,
            files: names.len(),
            descriptions: crate::spec_load::descriptions(&s),
        })
    }

    /// A batch (`tarski batch`): built-in checks, spec assertions, boundary and baseline
    /// comparisons over a corpus of policy files, templates, plans and snapshots; an input
    /// that cannot be read is an error record and the run goes on. `done(total)` is called
    /// after each job (a progress bar).
    ///
    /// ```
    /// # let engine = tarski::Engine::builder().build()?;
    /// let dir = std::env::temp_dir().join(format!("tarski-doc-batch-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("admin.json"), r#"{"Version": "2012-10-17",
    ///   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#).unwrap();
    /// std::fs::write(dir.join("broken.json"), "{").unwrap();
    /// let report = engine.batch(
    ///     &tarski::BatchInputs {
    ///         inputs: vec![dir.display().to_string()],
    ///         checks: vec!["no-admin".into()],
    ///         ..Default::default()
    ///     },
    ///     &|_| {},
    /// )?;
    /// let status = |file: &str| {
    ///     report.records.iter().find(|r| r.file.ends_with(file)).map(|r| r.status)
    /// };
    /// assert_eq!(status("admin.json"), Some(tarski::Status::Fail));
    /// assert_eq!(status("broken.json"), Some(tarski::Status::Error));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), tarski::Error>(())
    /// ```
    pub fn batch(
        &self,
        inputs: &BatchInputs,
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<BatchReport, Error> {
        Ok(crate::batch::run(inputs, &|jobs| {
            Ok(self.run_jobs(jobs, done)?)
        })?)
    }

    /// Run jobs (spec assertions, batch checks) on the engine's workers, each bounded by the
    /// time limit as a whole; `done(total)` is called after each job (a progress bar).
    #[doc(hidden)]
    pub fn run_jobs(
        &self,
        jobs: &[Job],
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Record>, Error> {
        crate::run::run_jobs(jobs, &self.opts, self.jobs, done)
            .map_err(|e| Error::Options(format!("{e:#}")))
    }
}

/// The answer of a question cut off by the time limit.
fn out_of_time(t: Duration) -> Report {
    Report {
        answer: Answer::Unknown(Unknown::OutOfTime(t)),
        stats: Stats::default(),
    }
}

/// The answer that differs between the bounds (docs/iac.md, "Bounds").
fn depends(wide: &str) -> Answer {
    Answer::Unknown(Unknown::DeployTime(format!(
        "depends on values known only at deploy time: {wide} with the widest values, not with \
         the narrowest (docs/iac.md, Bounds)"
    )))
}

fn report(r: tarski_solver::Report) -> Report {
    Report {
        answer: Answer::from_verdict(r.verdict),
        stats: r.stats,
    }
}

/// `can` for every deployment of a set with bounded policies: a witness the narrowed set lets
/// through holds for every deployment; a proof about the widened set too; otherwise the answer
/// depends on the values.
fn bounded_can(set: &PolicySet, c: Option<&Expr>, opts: &Options) -> Result<Report, Error> {
    let Some(b) = set.bounds() else {
        return Ok(report(tarski_solver::can(set, c, opts)?));
    };
    let narrow = report(tarski_solver::can(&b.under, c, opts)?);
    if matches!(narrow.answer, Answer::Witnesses(_)) {
        return Ok(narrow);
    }
    let mut wide = report(tarski_solver::can(&b.over, c, opts)?);
    if let Answer::Witnesses(_) = wide.answer {
        wide.answer = match narrow.answer {
            Answer::Unknown(why) => Answer::Unknown(why),
            _ => depends("reachable"),
        };
    }
    Ok(wide)
}

/// `subset(a, b)` for every deployment: proved when the widened `a` is within the narrowed
/// `b`; a witness when the narrowed `a` escapes the widened `b`.
fn bounded_subset(
    a: &PolicySet,
    b: &PolicySet,
    c: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Error> {
    let (ab, bb) = (a.bounds(), b.bounds());
    if ab.is_none() && bb.is_none() {
        return Ok(report(tarski_solver::subset(a, b, c, opts)?));
    }
    let exact = |s: &PolicySet| Bounded {
        over: s.clone(),
        under: s.clone(),
    };
    let (ab, bb) = (
        ab.unwrap_or_else(|| exact(a)),
        bb.unwrap_or_else(|| exact(b)),
    );
    let proof = report(tarski_solver::subset(&ab.over, &bb.under, c, opts)?);
    if matches!(proof.answer, Answer::Proved) {
        return Ok(proof);
    }
    let mut witness = report(tarski_solver::subset(&ab.under, &bb.over, c, opts)?);
    if matches!(witness.answer, Answer::Proved) {
        witness.answer = match proof.answer {
            Answer::Unknown(why) => Answer::Unknown(why),
            _ => depends("escapes"),
        };
    }
    // (A witness query that is itself unknown keeps its own reason.)
    Ok(witness)
}
