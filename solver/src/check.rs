//! The three questions, each turned into a goal that is satisfiable exactly when the answer
//! comes with a witness (Cedar's "verify" pattern): `can` (some allowed request meets the
//! constraint), `subset` (some request A allows and B does not), `equiv` (both directions).
//! Goals that fold to a constant, or that depend on one finite variable only, are decided
//! without Z3. Every witness is replayed through the concrete evaluator before it is returned.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::logic::ir::{eval as ir_eval, AtomId, Builder, Formula, StrVar};
use tarski_compiler::logic::lower::{conditions, Slots, SymbolicView};
use tarski_compiler::logic::problem::{DomainOptions, Problem, VarKind};
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::Expr;
use tarski_compiler::semantics::Logic;

use crate::assignment::{Assignment, Value, Witness};
use crate::backend::{
    self, Answer, Canceller, Cvc5, GaveUp, Limit, ResourceLimit, Session, Z3Interrupt, Z3,
};
use crate::encode::{EncodeError, Encoded};

/// Which solver answers the queries that need one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SolverChoice {
    Z3,
    Cvc5,
    /// Queries in the theory of strings (policy variables) race Z3 and cvc5, the first
    /// definitive answer wins; the others go to Z3 (cvc5 when Z3 is not wanted is `Cvc5`).
    #[default]
    Portfolio,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Per-query time limit for Z3.
    pub timeout: Duration,
    /// How many distinct witnesses to look for (at least 1).
    pub witnesses: usize,
    /// Compare over the catalog's actions only.
    pub known_actions: bool,
    /// Try answers from syntax first (`fastpath`); off to exercise the solver alone.
    pub syntactic: bool,
    pub solver: SolverChoice,
    /// Run Z3 and cvc5 to the end on every solver query; a contradiction between them is an
    /// internal error (`InternalError::Disagreement`).
    pub cross_check: bool,
    /// Deterministic solver limits in place of `timeout` (tests: a busy machine must not turn
    /// an answer into `unknown`).
    pub resources: Option<ResourceLimit>,
    /// Keep each solver problem as an SMT-LIB file in `Stats::smt2` (`--emit-smt2`).
    pub emit_smt2: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(30),
            witnesses: 1,
            known_actions: false,
            syntactic: true,
            solver: SolverChoice::Portfolio,
            cross_check: false,
            resources: None,
            emit_smt2: false,
        }
    }
}

impl Options {
    fn limit(&self) -> Limit {
        match self.resources {
            Some(r) => Limit::Resources(r),
            None => Limit::Time(self.timeout),
        }
    }
}

/// The answer to one satisfiability question.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Proved: the goal is unsatisfiable, no request is a witness (the solver's `unsat` over
    /// the typed request space, or a syntactic argument the tests check against the solver).
    Proved,
    Witnesses(Vec<Witness>),
    Unknown(String),
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub atoms: usize,
    pub cells: usize,
    pub goal_size: usize,
    pub used_z3: bool,
    pub elapsed: Duration,
    /// Building the problem: cells, domains, folding.
    pub prepare: Duration,
    /// Z3 (or the no-solver enumeration).
    pub search: Duration,
    /// Concretising, minimising and replaying witnesses.
    pub replay: Duration,
    /// The backend whose answer was used (`z3`, `cvc5`), when a solver ran.
    pub backend: Option<&'static str>,
    /// The solver problems as SMT-LIB files, when `Options::emit_smt2`.
    pub smt2: Vec<String>,
    /// One entry per pass that ran, in order (`untyped/abstract proved z3 12.3ms`): where a
    /// question's time went (bench `--dump`, issue 12). Diagnostics only.
    pub passes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub verdict: Verdict,
    pub stats: Stats,
}

/// A bug in Tarski, reported loudly (exit 4): a witness the evaluator does not confirm, or two
/// solvers contradicting each other.
#[derive(Clone, Debug)]
pub enum InternalError {
    Replay {
        witness: Witness,
        expected: String,
        got: String,
    },
    /// One solver found the goal satisfiable, the other proved it unsatisfiable.
    Disagreement {
        sat: &'static str,
        unsat: &'static str,
    },
}

/// The former name: every caller only prints it.
pub type ReplayMismatch = InternalError;

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InternalError::Replay {
                witness,
                expected,
                got,
            } => write!(
                f,
                "internal error: the solver's witness does not replay through the evaluator (expected {expected}, evaluator says {got}); this is a bug in Tarski. Witness: {:?}",
                witness.request
            ),
            InternalError::Disagreement { sat, unsat } => write!(
                f,
                "internal error: the solvers disagree: {sat} finds a request, {unsat} proves there is none; this is a bug in Tarski or a solver (rerun with --emit-smt2 DIR and report the problem)"
            ),
        }
    }
}

/// Is some request allowed by `set` that satisfies `constraint`?
pub fn can(
    set: &PolicySet,
    constraint: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Box<ReplayMismatch>> {
    let builder = Builder::default();
    let slots = slots(&[set], constraint);
    let view = SymbolicView {
        builder: &builder,
        slots: &slots,
    };
    let allowed = view.lower_set(set).allowed;
    let c = constraint.map_or(Formula::Const(true), |e| view.lower_expr(e));
    let goal = builder.and(vec![allowed, c.clone()]);
    let goal = with_deploy_values(&builder, goal);
    let principals: Vec<&str> = constraint.map(Expr::principals).unwrap_or_default();
    let iam = iam_callers(&[set]);
    let spelled = |r: Result<Report, Box<ReplayMismatch>>| respell(r, &[set]);
    spelled(solve(
        builder,
        goal,
        slots,
        &principals,
        iam,
        opts,
        &|w: &Witness, p: &Problem| {
            let d = evaluate(set, &w.request).decision;
            let meets = ir_eval(&c, &p.builder.atoms(), &w.request);
            if d == Decision::Allow && meets {
                Ok(())
            } else {
                Err((
                    "Allow, within the constraint".to_string(),
                    format!(
                        "{}{}",
                        d.as_str(),
                        if meets { "" } else { ", constraint not met" }
                    ),
                ))
            }
        },
    ))
}

/// Context keys in witnesses as the policies spell them (the logic lower-cases keys, which
/// compare case-insensitively): `tarski:GetAtt/Bucket.Arn`, not `tarski:getatt/bucket.arn`.
fn respell(
    r: Result<Report, Box<ReplayMismatch>>,
    sets: &[&PolicySet],
) -> Result<Report, Box<ReplayMismatch>> {
    let mut report = r?;
    let Verdict::Witnesses(ws) = &mut report.verdict else {
        return Ok(report);
    };
    let mut spelling: HashMap<String, String> = HashMap::new();
    let mut add = |k: &str| {
        spelling
            .entry(k.to_ascii_lowercase())
            .or_insert_with(|| k.to_string());
    };
    for set in sets {
        for (_, p) in set.all() {
            for st in &p.policy.statements {
                for c in &st.conditions {
                    add(&c.key);
                    for v in &c.values {
                        if let tarski_compiler::policy::CondValue::Text(t) = &v.value {
                            t.vars().for_each(|x| add(&x.key));
                        }
                    }
                }
                if let Some(r) = &st.resource {
                    for t in &r.patterns {
                        t.value.vars().for_each(|x| add(&x.key));
                    }
                }
            }
        }
    }
    for w in ws.iter_mut() {
        let entries: Vec<(String, Vec<String>)> = w
            .request
            .context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        for (k, v) in entries {
            if let Some(s) = spelling.get(&k.to_ascii_lowercase()) {
                if *s != k {
                    w.request.context.set(s, v);
                }
            }
        }
    }
    Ok(report)
}

/// `subset(a, b)`: is every request (satisfying `constraint`) that `a` allows allowed by `b`
/// too? `Verdict::Proved` when it is; witnesses are requests `a` allows and `b` does not.
///
/// Without a constraint, syntax is tried first (`fastpath`): statement containment proves
/// `a ⊆ b`, and a guessed request that the evaluator confirms is a witness.
pub fn subset(
    a: &PolicySet,
    b: &PolicySet,
    constraint: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Box<ReplayMismatch>> {
    if constraint.is_none() && opts.syntactic {
        let start = Instant::now();
        let fast = |verdict: Verdict| Report {
            stats: Stats {
                elapsed: start.elapsed(),
                search: start.elapsed(),
                passes: vec![format!("syntactic {}", verdict_word(&verdict))],
                ..Stats::default()
            },
            verdict,
        };
        if crate::fastpath::contained_by_statements(a, b) {
            return Ok(fast(Verdict::Proved));
        }
        if opts.witnesses <= 1 {
            if let Some(request) = crate::fastpath::guess_escape(a, b)
                .filter(|r| tarski_compiler::semantics::well_typed(&r.action, &r.resource))
            {
                return Ok(fast(Verdict::Witnesses(vec![Witness {
                    request,
                    notes: Vec::new(),
                }])));
            }
        }
    }
    // The goal without `a`'s Allow statements that `b` also has, when that decides the same
    // question (`fastpath::without_shared_allows`); witnesses are still replayed against `a`.
    let reduced = if constraint.is_none() && opts.syntactic {
        crate::fastpath::without_shared_allows(a, b)
    } else {
        None
    };
    let goal_a = reduced.as_ref().unwrap_or(a);
    // And without `b`'s Allow statements that no request `a` allows can match
    // (`fastpath::without_unrelated_allows`).
    let reduced_b = if constraint.is_none() && opts.syntactic {
        crate::fastpath::without_unrelated_allows(goal_a, b)
    } else {
        None
    };
    let goal_b = reduced_b.as_ref().unwrap_or(b);
    let builder = Builder::default();
    let slots = slots(&[goal_a, goal_b], constraint);
    let view = SymbolicView {
        builder: &builder,
        slots: &slots,
    };
    let in_a = view.lower_set(goal_a).allowed;
    let in_b = view.lower_set(goal_b).allowed;
    let c = constraint.map_or(Formula::Const(true), |e| view.lower_expr(e));
    let goal = builder.and(vec![in_a, builder.not(in_b), c.clone()]);
    let goal = with_deploy_values(&builder, goal);
    let principals: Vec<&str> = constraint.map(Expr::principals).unwrap_or_default();
    let iam = iam_callers(&[goal_a, goal_b]);
    let r = solve(
        builder,
        goal,
        slots,
        &principals,
        iam,
        opts,
        &|w: &Witness, p: &Problem| {
            let da = evaluate(a, &w.request).decision;
            let db = evaluate(b, &w.request).decision;
            let meets = ir_eval(&c, &p.builder.atoms(), &w.request);
            if da == Decision::Allow && db != Decision::Allow && meets {
                Ok(())
            } else {
                Err((
                    "first allows, second does not".to_string(),
                    format!("first {}, second {}", da.as_str(), db.as_str()),
                ))
            }
        },
    );
    respell(r, &[a, b])
}

/// Values known only at deploy time (IaC unknowns, modelled as the policy variables
/// `${tarski:GetAtt/Bucket.Arn}`, ..., docs/iac.md) always exist: require them in every request, so that no
/// witness relies on one being absent.
fn with_deploy_values(builder: &Builder, goal: Formula) -> Formula {
    let mut keys: Vec<String> = Vec::new();
    for (_, a) in builder.atoms().iter() {
        if let tarski_compiler::logic::ir::Atom::Template { template, .. } = a {
            keys.extend(
                template
                    .vars()
                    .map(|v| v.key.to_ascii_lowercase())
                    .filter(|k| is_deploy_value(k)),
            );
        }
    }
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return goal;
    }
    let mut all = vec![goal];
    for k in keys {
        // The shape AWS gives these values (so witnesses look like deployments): an ARN for a
        // resource's `Arn` attribute, 12 characters for an account ID, `aws...` for a
        // partition. Every real value has that shape, so proofs still hold for all of them.
        use tarski_compiler::glob::Glob;
        let like = |g: Glob| {
            builder.atom(tarski_compiler::logic::ir::Atom::Like(
                tarski_compiler::logic::ir::StrVar::Slot(k.clone(), 0),
                g,
            ))
        };
        if k.starts_with("tarski:getatt/") && k.ends_with(".arn") {
            all.push(like(Glob::wild("arn:?*:?*:*:*:?*").arn_segments()));
        } else if k == "tarski:aws::accountid" {
            all.push(like(Glob::wild("????????????")));
        } else if k == "tarski:aws::partition" {
            let ps = tarski_compiler::semantics::PARTITIONS;
            all.push(builder.or(ps.iter().map(|p| like(Glob::literal(p))).collect()));
        }
        all.push(builder.atom(tarski_compiler::logic::ir::Atom::Present(k)));
    }
    builder.and(all)
}

/// A context key standing for an IaC value known only at deploy time (the `tarski:`
/// namespace is reserved for them).
pub fn is_deploy_value(key: &str) -> bool {
    key.to_ascii_lowercase().starts_with("tarski:")
}

/// Identity-side policies are attached to an IAM user or role: the caller is one.
fn iam_callers(sets: &[&PolicySet]) -> bool {
    sets.iter()
        .any(|s| !s.identity.is_empty() || s.boundary.is_some() || s.session.is_some())
}

fn slots(sets: &[&PolicySet], constraint: Option<&Expr>) -> Slots {
    let extra: Vec<&tarski_compiler::policy::Condition> =
        constraint.map(Expr::conditions).unwrap_or_default();
    Slots::for_conditions(sets.iter().flat_map(|s| conditions(s)).chain(extra))
}

type Replay<'a> = dyn Fn(&Witness, &Problem) -> Result<(), (String, String)> + 'a;

/// The typed request space (issue 10) costs cells per resource type, so the question is first
/// asked over every (action, resource) pair, a superset: no witness there is a proof for the
/// typed space too, and witnesses AWS would send are answers. Only otherwise (a witness AWS
/// never sends, or unknown) is the typed question asked.
fn solve(
    builder: Builder,
    goal: Formula,
    slots: Slots,
    principals: &[&str],
    iam_callers: bool,
    opts: &Options,
    replay: &Replay,
) -> Result<Report, Box<ReplayMismatch>> {
    let (typed_builder, typed_goal, typed_slots) =
        (builder.duplicate(), goal.clone(), slots.clone());
    let first = solve_pass(
        builder,
        goal,
        slots,
        principals,
        iam_callers,
        opts,
        replay,
        false,
    )?;
    let done = match &first.verdict {
        Verdict::Proved => true,
        Verdict::Witnesses(ws) => ws.iter().all(|w| {
            tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        }),
        Verdict::Unknown(_) => false,
    };
    if done {
        return Ok(first);
    }
    let first_passes = first.stats.passes.clone();
    let mut r = solve_pass(
        typed_builder,
        typed_goal,
        typed_slots,
        principals,
        iam_callers,
        opts,
        replay,
        true,
    )?;
    r.stats.elapsed += first.stats.elapsed;
    r.stats.passes.splice(0..0, first_passes);
    Ok(r)
}

/// A witness's explicit resource account that contradicts its ARN's account field (the model's
/// account variable is free where the owner rules are left out, and the steps after decoding
/// may move the resource): the ARN decides, for AWS and for the evaluator alike
/// (`Request::resource_account`), so dropping the field changes no decision, and the witness
/// stays a request `tarski eval --request` accepts.
fn drop_contradicted_owner(w: &mut Witness) {
    if w.request.owner_conflict().is_some() {
        w.request.resource_account = None;
    }
}

/// The end of the reason of an `unknown` whose only witnesses contradicted the keys AWS
/// derives from the principal and the resource (docs/encoding.md §8).
const DERIVED_KEYS_UNKNOWN: &str = "; the model ties these keys to the caller only in part for a class of callers (docs/encoding.md, sections 4 and 8), and this point describes no single caller: it is not a request AWS sends";

/// Extra points asked for when every point contradicted the derived keys.
const DERIVED_KEYS_RETRY: usize = 6;

/// The witness with every derived key's value that contradicts AWS's (an unmentioned account
/// the model wrote as twelve letters) replaced, wherever it occurs in the request (resource,
/// resource account, every context value), by the value AWS gives that key. `None` when no
/// such value is found.
fn renamed_to_derived(w: &Witness) -> Option<Witness> {
    let r = &w.request;
    let renames: Vec<(String, String)> = tarski_compiler::semantics::derived_values(r)
        .into_iter()
        .filter_map(|(k, aws)| {
            let given = r.context.single(k)?;
            let aws = aws?;
            (given != aws && !given.is_empty()).then_some((given, aws))
        })
        .collect();
    if renames.is_empty() {
        return None;
    }
    let rename = |s: &str| {
        renames.iter().fold(s.to_string(), |acc, (from, to)| {
            acc.replace(from.as_str(), to)
        })
    };
    let mut out = w.clone();
    out.request.resource = rename(&r.resource);
    out.request.resource_account = r.resource_account.as_deref().map(rename);
    let keys: Vec<(String, Vec<String>)> = r
        .context
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| rename(v)).collect()))
        .collect();
    for (k, vs) in keys {
        out.request.context.set(&k, vs);
    }
    Some(out)
}

/// `solve_in`, and when each point the solver gave contradicted the keys AWS derives (partly
/// free for a class of callers, `Problem::derived`), once more asking for `DERIVED_KEYS_RETRY` more points: each is blocked
/// before the next is asked, so other cells are tried, and the first that AWS could send is
/// the answer. Still `unknown` if none is.
#[allow(clippy::too_many_arguments)]
fn solve_pass(
    builder: Builder,
    goal: Formula,
    slots: Slots,
    principals: &[&str],
    iam_callers: bool,
    opts: &Options,
    replay: &Replay,
    typed: bool,
) -> Result<Report, Box<ReplayMismatch>> {
    let again = (builder.duplicate(), goal.clone(), slots.clone());
    let mut r = solve_in(
        builder,
        goal,
        slots,
        principals,
        iam_callers,
        opts,
        replay,
        typed,
    )?;
    if !matches!(&r.verdict, Verdict::Unknown(why) if why.ends_with(DERIVED_KEYS_UNKNOWN)) {
        return Ok(r);
    }
    let want = opts.witnesses.max(1);
    let more = Options {
        witnesses: want + DERIVED_KEYS_RETRY,
        ..opts.clone()
    };
    let mut r2 = solve_in(
        again.0,
        again.1,
        again.2,
        principals,
        iam_callers,
        &more,
        replay,
        typed,
    )?;
    r2.stats.elapsed += r.stats.elapsed;
    r2.stats.passes.splice(0..0, r.stats.passes.iter().cloned());
    for p in r2.stats.passes.iter_mut().skip(r.stats.passes.len()) {
        p.insert_str(0, "retry ");
    }
    r.stats.passes = r2.stats.passes.clone();
    match &mut r2.verdict {
        Verdict::Witnesses(ws) => {
            ws.truncate(want);
            Ok(r2)
        }
        _ => Ok(r),
    }
}

/// `solve_exact`, first over the goal with its policy-variable templates as fresh Booleans
/// (`logic::relax::abstract_templates`, issue 12): no string theory, so the questions string
/// theory times out on are often decided at once. Its `unsat` is a proof (an
/// over-approximation), a candidate that replays is a witness; anything else (a candidate
/// that does not replay, unknown) is no conclusion, and the exact encoding decides.
#[allow(clippy::too_many_arguments)]
fn solve_in(
    builder: Builder,
    goal: Formula,
    slots: Slots,
    principals: &[&str],
    iam_callers: bool,
    opts: &Options,
    replay: &Replay,
    typed: bool,
) -> Result<Report, Box<ReplayMismatch>> {
    let start = Instant::now();
    let mut passes: Vec<String> = Vec::new();
    if let Some(abs) = tarski_compiler::logic::relax::abstract_templates(&builder, &goal) {
        // A few more candidates than asked for: the first ones may not replay.
        let want = opts.witnesses.max(1);
        let more = Options {
            witnesses: want + ABSTRACT_CANDIDATES,
            ..opts.clone()
        };
        let t = Instant::now();
        let mut r = solve_exact(
            builder.clone(),
            abs,
            slots.clone(),
            principals,
            iam_callers,
            &more,
            replay,
            typed,
            true,
            want,
        )?;
        passes.append(&mut r.stats.passes);
        passes.push(pass_text(typed, "abstract", &r, t));
        r.stats.passes = passes.clone();
        match &mut r.verdict {
            Verdict::Proved => return Ok(r),
            Verdict::Witnesses(ws) => {
                ws.truncate(want);
                return Ok(r);
            }
            Verdict::Unknown(_) => {}
        }
    }
    let t = Instant::now();
    let mut r = solve_exact(
        builder,
        goal,
        slots,
        principals,
        iam_callers,
        opts,
        replay,
        typed,
        false,
        opts.witnesses.max(1),
    )?;
    passes.append(&mut r.stats.passes);
    passes.push(pass_text(typed, "exact", &r, t));
    r.stats.passes = passes;
    r.stats.elapsed = start.elapsed();
    Ok(r)
}

/// One `Stats::passes` entry.
fn pass_text(typed: bool, kind: &str, r: &Report, t: Instant) -> String {
    format!(
        "{}/{kind} {} {} {:.1}ms (prepare {:.1}, search {:.1}, replay {:.1})",
        if typed { "typed" } else { "untyped" },
        verdict_word(&r.verdict),
        if r.stats.used_z3 {
            r.stats.backend.unwrap_or("z3")
        } else {
            "no-solver"
        },
        t.elapsed().as_secs_f64() * 1000.0,
        r.stats.prepare.as_secs_f64() * 1000.0,
        r.stats.search.as_secs_f64() * 1000.0,
        r.stats.replay.as_secs_f64() * 1000.0,
    )
}

fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Proved => "proved",
        Verdict::Witnesses(_) => "witness",
        Verdict::Unknown(_) => "unknown",
    }
}

/// Extra candidates asked of the template abstraction (`solve_in`).
const ABSTRACT_CANDIDATES: usize = 4;

/// `abstracted`: the goal over-approximates the question (`solve_in`), so a candidate that
/// does not replay is spurious, not a bug. The solver is asked for `opts.witnesses` points;
/// once `want` of them are witnesses the rest are not judged (each costs replays, and a large
/// policy's replay is milliseconds).
#[allow(clippy::too_many_arguments)]
fn solve_exact(
    builder: Builder,
    goal: Formula,
    slots: Slots,
    principals: &[&str],
    iam_callers: bool,
    opts: &Options,
    replay: &Replay,
    typed: bool,
    abstracted: bool,
    want: usize,
) -> Result<Report, Box<ReplayMismatch>> {
    let start = Instant::now();
    let dopts = DomainOptions {
        known_actions: opts.known_actions,
        max_states: 50_000,
        iam_callers,
        typed,
    };
    // Policy variables used only positively, replaced by globs (logic::relax, issue 11
    // finding 5): no string theory, and an unsatisfiable relaxation is a proof.
    if let Some(relaxed) = tarski_compiler::logic::relax::relax_positive_templates(&builder, &goal)
    {
        let p = Problem::new(builder.clone(), relaxed, slots.clone(), principals, &dopts);
        if relaxation_unsat(&p, opts) {
            return Ok(Report {
                verdict: Verdict::Proved,
                stats: Stats {
                    atoms: p.builder.atoms().len(),
                    goal_size: p.goal.size(),
                    elapsed: start.elapsed(),
                    search: start.elapsed(),
                    passes: vec!["positive-templates-relaxed proved".to_string()],
                    ..Stats::default()
                },
            });
        }
    }
    let mut problem = Problem::new(builder, goal, slots, principals, &dopts);
    // Candidates of an over-approximation (`Encoded::inexact`).
    problem.owner_relaxed |= abstracted;
    let prepared = Instant::now();
    let mut stats = Stats {
        atoms: problem.builder.atoms().len(),
        cells: problem
            .vars
            .values()
            .map(|k| match k {
                VarKind::Cells(c) => c.len(),
                _ => 0,
            })
            .sum(),
        goal_size: problem.goal.size(),
        ..Stats::default()
    };
    if let Some(why) = &problem.unsupported {
        stats.prepare = prepared - start;
        stats.search = prepared.elapsed();
        stats.elapsed = start.elapsed();
        return Ok(Report {
            verdict: Verdict::Unknown(format!("not supported exactly: {why}")),
            stats,
        });
    }
    let mut goal_atoms: Vec<AtomId> = Vec::new();
    problem.goal.atoms_into(&mut goal_atoms);
    goal_atoms.sort_unstable();
    goal_atoms.dedup();
    // Owner rules left out (`Problem::owner_relaxed`): a point may be spurious, whoever found it.
    let mut inexact = problem.owner_relaxed;
    let points: Vec<Assignment> = match problem.goal.as_const() {
        Some(false) => Vec::new(),
        Some(true) => vec![Assignment::default()],
        None => match enumerate_single_var(&problem, &goal_atoms, opts.witnesses.max(1)) {
            Some(points) => points,
            None => {
                stats.used_z3 = true;
                match solver_points(&problem, &goal_atoms, opts, &mut stats)? {
                    Ok((p, x)) => {
                        inexact = x;
                        p
                    }
                    Err(why) => {
                        stats.prepare = prepared - start;
                        stats.search = prepared.elapsed();
                        stats.elapsed = start.elapsed();
                        return Ok(Report {
                            verdict: Verdict::Unknown(why),
                            stats,
                        });
                    }
                }
            }
        },
    };
    let searched = Instant::now();
    stats.prepare = prepared - start;
    stats.search = searched - prepared;
    let mut witnesses = Vec::new();
    let mut spurious = 0;
    let mut derived_conflict: Option<String> = None;
    let mut ill_typed: Option<String> = None;
    for pt in points {
        if witnesses.len() >= want {
            break;
        }
        let mut w = pt.to_request(&problem, &goal_atoms);
        // The caller named by its derived keys should replay; if it does not (a class of
        // callers whose keys the encoding leaves partly free), the solver's own point is
        // judged, and a contradiction left in it is reported below, never hidden.
        if !problem.derived.is_empty() && replay(&w, &problem).is_err() {
            let raw = pt.to_request_free(&problem, &goal_atoms);
            if replay(&raw, &problem).is_ok() {
                w = raw;
            }
        }
        // A candidate of the template abstraction whose values do not meet the templates the
        // way the solver's Booleans say: the strings compared with templates realized again
        // with the candidate's own key values substituted (`realize_templates`). The replay
        // below judges the result as any candidate.
        if abstracted && replay(&w, &problem).is_err() {
            if let Some(r) = realize_templates(&w, &pt, &problem, &goal_atoms) {
                // In the typed pass the new resource must still be one the action takes.
                let typed_ok = !typed
                    || tarski_compiler::semantics::well_typed(
                        &r.request.action,
                        &r.request.resource,
                    );
                if typed_ok && replay(&r, &problem).is_ok() {
                    w = r;
                }
            }
        }
        // Without the owner rules (`Problem::owner_relaxed`) the model's resource account may
        // disagree with the ARN's account field: the ARN decides (as it does for AWS and the
        // evaluator), and the replay below judges the request as written.
        drop_contradicted_owner(&mut w);
        // Untyped pass: a witness AWS never sends may have a neighbour it does send (another
        // resource of the action's types, another action taking the resource). Kept only if
        // it replays (allowed, within the question) and is well-typed: then it is an answer
        // for the typed space too, and the typed question is not needed.
        if !typed && !tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        {
            if let Some(r) = typed_neighbour(&w, &problem, replay, &witnesses) {
                w = r;
            }
        }
        if replay(&w, &problem).is_ok() {
            minimise(&mut w, &problem, replay);
            harmonize(&mut w, &problem, replay);
            readable_deploy_values(&mut w, &problem, replay);
            readable_resource(&mut w, &problem, replay);
            readable_region(&mut w, &problem, replay);
        }
        // The typed request space could not be encoded (`Problem::untyped`, a budget): the
        // untyped encoding's witness is an answer only if AWS sends it, itself or a typed
        // neighbour that replays. Otherwise it is no answer, and the question is `unknown` —
        // never `proved` (an unsat of the untyped encoding is a proof; a candidate is not).
        if typed
            && problem.untyped.is_some()
            && !tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        {
            match typed_neighbour(&w, &problem, replay, &witnesses) {
                Some(r) => {
                    w = r;
                    w.notes
                        .retain(|n| !n.starts_with(crate::assignment::UNTYPED_NOTE));
                }
                None => {
                    ill_typed.get_or_insert_with(|| {
                        format!(
                            "the request space was not narrowed to the resource types AWS sends \
                             with each action ({}), and the request the solver found is one AWS \
                             never sends (`{}` does not take `{}`)",
                            problem.untyped.as_deref().unwrap_or_default(),
                            w.request.action,
                            w.request.resource
                        )
                    });
                    continue;
                }
            }
        }
        // The typed request space (issue 10): a witness is a request AWS sends.
        if typed
            && problem.untyped.is_none()
            && !tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        {
            return Err(Box::new(InternalError::Replay {
                witness: w,
                expected: "a resource of one of the action's resource types".to_string(),
                got: "a resource the action does not take".to_string(),
            }));
        }
        if let Err((expected, got)) = replay(&w, &problem) {
            if inexact {
                // An over-approximate encoding's candidate, not a bug (Encoded::inexact).
                spurious += 1;
                continue;
            }
            return Err(Box::new(InternalError::Replay {
                witness: w,
                expected,
                got,
            }));
        }
        // Keys AWS derives from the principal and resource are tied to it in the model, partly
        // free for a class of callers (issue 10, docs/encoding.md §4, §8): a witness still
        // contradicting them is a request AWS never sends.
        if let Some(why) = tarski_compiler::semantics::derived_key_conflict(&w.request) {
            // The keys as AWS would set them, if the witness still replays with them.
            let mut fixed = w.clone();
            for (k, v) in tarski_compiler::semantics::derived_values(&w.request) {
                if fixed.request.context.get(k).is_some() {
                    fixed.request.context.set(k, v.into_iter().collect());
                }
            }
            if tarski_compiler::semantics::derived_key_conflict(&fixed.request).is_none()
                && replay(&fixed, &problem).is_ok()
            {
                drop_contradicted_owner(&mut fixed);
                witnesses.push(fixed);
                continue;
            }
            // The same value may also stand elsewhere in the request: a policy variable
            // (`.../role/${aws:PrincipalAccount}/...`) copies it into the resource. Renaming it
            // everywhere to AWS's value keeps every equality the policy tests; the replay judges.
            if let Some(mut renamed) = renamed_to_derived(&w) {
                if tarski_compiler::semantics::derived_key_conflict(&renamed.request).is_none()
                    && replay(&renamed, &problem).is_ok()
                {
                    drop_contradicted_owner(&mut renamed);
                    witnesses.push(renamed);
                    continue;
                }
            }
            derived_conflict.get_or_insert(why);
            continue;
        }
        drop_contradicted_owner(&mut w);
        witnesses.push(w);
    }
    stats.replay = searched.elapsed();
    stats.elapsed = start.elapsed();
    Ok(Report {
        verdict: if let (true, Some(why)) = (witnesses.is_empty(), &derived_conflict) {
            Verdict::Unknown(format!("{why}{DERIVED_KEYS_UNKNOWN}"))
        } else if let (true, Some(why)) = (witnesses.is_empty(), &ill_typed) {
            Verdict::Unknown(why.clone())
        } else if witnesses.is_empty() && spurious > 0 {
            Verdict::Unknown(
                "the solver's candidate request did not replay through the evaluator: a \
                 policy variable after a wildcard (`*/${...}`) is encoded over-approximately \
                 where it must not match (docs/encoding.md)"
                    .to_string(),
            )
        } else if witnesses.is_empty() {
            Verdict::Proved
        } else {
            Verdict::Witnesses(witnesses)
        },
        stats,
    })
}

/// A candidate of the template abstraction (`relax::abstract_templates`) made to agree with
/// its own Booleans (issue 12): `w` is the request of the point `pt`. With the candidate's key values
/// substituted, every template is a plain glob; each string compared with templates (the
/// resource, a context value) is realized again (`cells::realize`) with the same truth value
/// for every pattern of the goal over it, and for every template the value the model gave its
/// Boolean. Then every atom of the abstract goal keeps its value and each Boolean equals its
/// template atom, so the request satisfies the original goal; the caller's replay checks it.
/// `None` when some string cannot be realized that way (the candidate stays spurious), or a
/// string compared with a template is itself read by a policy variable.
fn realize_templates(
    w: &Witness,
    pt: &Assignment,
    p: &Problem,
    goal_atoms: &[AtomId],
) -> Option<Witness> {
    use tarski_compiler::glob::Glob;
    use tarski_compiler::logic::ir::{eval_atom, template_glob, Atom};
    use tarski_compiler::logic::relax::ABSTRACT_KEY_PREFIX;
    let atoms = p.builder.atoms();
    let req = &w.request;
    // The abstracted template atoms, with the model's value of their Booleans: a pattern atom
    // over the stand-in key's cells (as `encode` states it, `Problem::atom_cells`).
    let mut templates: Vec<(AtomId, bool)> = Vec::new();
    for &id in goal_atoms {
        if let Atom::Like(v @ StrVar::Slot(k, 0), _) = atoms.get(id) {
            if let Some(n) = k.strip_prefix(ABSTRACT_KEY_PREFIX) {
                let orig: AtomId = n.parse().ok()?;
                if orig as usize >= atoms.len() {
                    return None;
                }
                let cell = match pt.values.get(v) {
                    Some(Value::Cell(c)) => *c as u32,
                    None => 0,
                    Some(_) => return None,
                };
                let holds = p.atom_cells.get(&id)?.contains(&cell);
                templates.push((orig, holds));
            }
        }
    }
    if templates.is_empty() {
        return None;
    }
    let read: Vec<String> = templates
        .iter()
        .filter_map(|(id, _)| match atoms.get(*id) {
            Atom::Template { template, .. } => {
                Some(template.vars().map(|v| v.key.to_ascii_lowercase()))
            }
            _ => None,
        })
        .flatten()
        .collect();
    let mut out = w.clone();
    let mut vars: Vec<StrVar> = templates
        .iter()
        .filter_map(|(id, _)| match atoms.get(*id) {
            Atom::Template { var, .. } => Some(var.clone()),
            _ => None,
        })
        .collect();
    vars.sort();
    vars.dedup();
    for var in vars {
        if matches!(&var, StrVar::Slot(k, _) if read.contains(k)) || var == StrVar::Action {
            return None;
        }
        let mut lits: Vec<(Glob, bool)> = Vec::new();
        for &id in goal_atoms {
            if let a @ Atom::Like(v, g) = atoms.get(id) {
                if *v == var {
                    lits.push((g.clone(), eval_atom(a, req)));
                }
            }
        }
        for (id, truth) in &templates {
            let Atom::Template {
                var: v,
                template,
                mode,
            } = atoms.get(*id)
            else {
                continue;
            };
            if *v != var {
                continue;
            }
            match template_glob(template, *mode, &|k| req.context.single(k)) {
                Some(g) => lits.push((g, *truth)),
                // A variable without value: the atom is false, as the model must have it.
                None if *truth => return None,
                None => {}
            }
        }
        let domain: Vec<Glob> = match var {
            StrVar::Resource => vec![Glob::literal("*"), Glob::wild("arn:*")],
            _ => Vec::new(),
        };
        let s = tarski_compiler::logic::cells::realize(&lits, &[], &domain, 200_000).ok()??;
        match &var {
            StrVar::Resource => out.request.resource = s,
            StrVar::Slot(k, n) => {
                let mut values = req.context.get(k)?.to_vec();
                *values.get_mut(*n as usize)? = s;
                let name = req
                    .context
                    .iter()
                    .find(|(x, _)| x.eq_ignore_ascii_case(k))
                    .map(|(x, _)| x.to_string())?;
                out.request.context.set(&name, values);
            }
            StrVar::Action => return None,
        }
    }
    Some(out)
}

/// A well-typed request next to the ill-typed witness `w` that still replays (issue 10): the
/// same action on a resource of its types (the witness's resource extended, or a sample of
/// each type), or the same resource with another action of the resource's service (or the
/// witness action's service) that takes it. At most a few dozen replays.
fn typed_neighbour(
    w: &Witness,
    p: &Problem,
    replay: &Replay,
    found: &[Witness],
) -> Option<Witness> {
    use tarski_compiler::logic::problem::{type_sample, type_sample_owned};
    use tarski_compiler::semantics::{resource_types, well_typed};
    let (action, resource) = (&w.request.action, &w.request.resource);
    let mut resources: Vec<String> = Vec::new();
    // The accounts a resource may be moved to: the witness's resource account, or its caller's
    // (the owner is the ARN's account field: another account would make the request
    // cross-account).
    let mut owners: Vec<String> = Vec::new();
    owners.extend(w.request.resource_account());
    owners.extend(tarski_compiler::request::Caller::of(&w.request.principal).account);
    owners.dedup();
    // The witness's resource with its empty partition, region and account fields filled in,
    // and an account `aws` of a type AWS owns none of replaced (`catalog::arn_glob`: those
    // fields are never empty; `semantics::of_type`).
    let filled: Vec<String> = owners
        .iter()
        .flat_map(|o| filled_fields(resource, o))
        .collect();
    if let Some(t) = resource_types(action) {
        // First a resource of the action's types that every resource pattern of the goal (and
        // every template, with the witness's key values) judges as it judges the witness's
        // (`cells::realize`, issue 12): the goal's other atoms are unchanged, so it replays
        // unless the owner or a derived key moved; the replay below judges.
        if let Some(r) = same_signature_of_type(w, p, &t) {
            resources.push(r);
        }
        if t.star {
            resources.push("*".to_string());
        }
        for suffix in ["/example", "example", ":example"] {
            resources.push(format!("{resource}{suffix}"));
        }
        // The filled resource; a name part the type needs may be missing too.
        for f in &filled {
            resources.extend(["", "/example", "example"].map(|x| format!("{f}{x}")));
        }
        // A sample of each type owned by one of `owners`, then the plain sample.
        for t in &t.arns {
            resources.extend(owners.iter().map(|o| type_sample_owned(t, o)));
            resources.push(type_sample(t));
        }
        resources.dedup();
    }
    let mut actions: Vec<String> = Vec::new();
    let cat = tarski_compiler::catalog::catalog();
    let mut services: Vec<String> = Vec::new();
    if let Some([_, _, svc, _, _, _]) = tarski_compiler::value::split_arn(resource) {
        services.push(svc.to_string());
    }
    services.extend(action.split(':').next().map(str::to_string));
    for svc in &services {
        actions.extend(
            cat.service_actions(svc)
                .iter()
                .map(|a| a.full_name())
                .filter(|a| well_typed(a, resource))
                .take(32),
        );
    }
    // The filled resource (a name part its type needs may be missing: extended) with an
    // action of those services that takes it.
    let mut on_filled: Vec<(String, String)> = Vec::new();
    for f in filled
        .iter()
        .flat_map(|f| [f.clone(), format!("{f}/example")])
    {
        for svc in &services {
            on_filled.extend(
                cat.service_actions(svc)
                    .iter()
                    .map(|a| a.full_name())
                    .filter(|a| well_typed(a, &f))
                    .take(8)
                    .map(|a| (a, f.clone())),
            );
        }
    }
    // Actions the goal names literally (a policy's `sqs:SendMessage`), each on a resource of
    // its types that every resource pattern of the goal judges as it judges the witness's:
    // the witness's action may be one no pattern names (`sts:GetCallerIdentity`, which every
    // caller may call) on a resource no action takes.
    let mut named: Vec<(String, String)> = Vec::new();
    let mut ids: Vec<AtomId> = Vec::new();
    p.goal.atoms_into(&mut ids);
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        if let tarski_compiler::logic::ir::Atom::Like(StrVar::Action, g) = p.builder.atoms().get(id)
        {
            let Some(lit) = g.as_literal() else {
                continue;
            };
            let Some(a) = cat.lookup(&lit).map(|a| a.full_name()) else {
                continue;
            };
            if a == *action || named.len() >= 16 {
                continue;
            }
            if let Some(t) = resource_types(&a) {
                if let Some(r) = same_signature_of_type(w, p, &t) {
                    named.push((a, r));
                }
            }
        }
    }
    let candidates = resources
        .into_iter()
        .filter(|r| well_typed(action, r))
        .map(|r| (action.clone(), r))
        .chain(actions.into_iter().map(|a| (a, resource.clone())))
        .chain(on_filled)
        .chain(named.into_iter().filter(|(a, r)| well_typed(a, r)));
    // Distinct witnesses stay distinct (`--witnesses N`).
    let seen = |a: &str, r: &str| {
        found
            .iter()
            .any(|x| x.request.action == a && x.request.resource == r)
    };
    // Context keys holding the witness's resource itself: a policy's `Resource:
    // ${tarski:Ref/Topic}` (a value known only at deploy time, docs/iac.md) moves with it.
    let carried: Vec<String> = w
        .request
        .context
        .iter()
        .filter(|(_, v)| v.len() == 1 && v[0] == *resource)
        .map(|(k, _)| k.to_string())
        .collect();
    for (a, r) in candidates.filter(|(a, r)| !seen(a, r)).take(64) {
        let mut c = w.clone();
        c.request.action = a;
        c.request.resource = r.clone();
        if replay(&c, p).is_ok() {
            return Some(c);
        }
        if !carried.is_empty() {
            for k in &carried {
                c.request.context.set(k, vec![r.clone()]);
            }
            if replay(&c, p).is_ok() {
                return Some(c);
            }
        }
    }
    None
}

/// `arn` with its empty partition written as `aws`, or its empty region as `us-east-1`, or
/// both (a format may have an empty region: IAM), and an empty account or the account `aws`
/// as `owner`; empty when `arn` is no ARN. Every variant differs from `arn` or is left out.
fn filled_fields(arn: &str, owner: &str) -> Vec<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for fill_region in [false, true] {
        let mut p = parts.clone();
        if p[1].is_empty() {
            p[1] = "aws";
        }
        if fill_region && p[3].is_empty() {
            p[3] = "us-east-1";
        }
        if p[4].is_empty() || p[4] == tarski_compiler::semantics::AWS_OWNER {
            p[4] = owner;
        }
        let s = p.join(":");
        if s != arn && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// A resource of the types `t` with the same truth value as the witness's resource for every
/// resource pattern and resource template of the goal, and the same owner (account field), if
/// one exists (`typed_neighbour`).
fn same_signature_of_type(
    w: &Witness,
    p: &Problem,
    t: &tarski_compiler::semantics::ResourceTypes,
) -> Option<String> {
    use tarski_compiler::glob::Glob;
    use tarski_compiler::logic::ir::{eval_atom, template_glob, Atom};
    let req = &w.request;
    let mut ids: Vec<AtomId> = Vec::new();
    p.goal.atoms_into(&mut ids);
    ids.sort_unstable();
    ids.dedup();
    let atoms = p.builder.atoms();
    let mut lits: Vec<(Glob, bool)> = Vec::new();
    for id in ids {
        match atoms.get(id) {
            a @ Atom::Like(StrVar::Resource, g) => lits.push((g.clone(), eval_atom(a, req))),
            a @ Atom::Template {
                var: StrVar::Resource,
                template,
                mode,
            } => {
                let truth = eval_atom(a, req);
                match template_glob(template, *mode, &|k| req.context.single(k)) {
                    Some(g) => lits.push((g, truth)),
                    None if truth => return None,
                    None => {}
                }
            }
            _ => {}
        }
    }
    // The witness's owner; for a resource with no account field, or one AWS owns, first the
    // caller's account (types with an account field name one), then any.
    let own = tarski_compiler::semantics::resource_owner(&req.resource)
        .filter(|o| *o != tarski_compiler::semantics::AWS_OWNER);
    let caller = tarski_compiler::request::Caller::of(&req.principal).account;
    let owners: Vec<Option<String>> = match own {
        Some(o) => vec![Some(o.to_string())],
        None => vec![caller, None],
    };
    owners.into_iter().find_map(|o| {
        let require: Vec<Glob> = o
            .map(|o| vec![tarski_compiler::logic::problem::owner_glob(Some(&o))])
            .unwrap_or_default();
        let mut domain: Vec<Glob> = Vec::new();
        if t.star && require.is_empty() {
            domain.push(Glob::literal("*"));
        }
        domain.extend(t.arns.iter().cloned());
        tarski_compiler::logic::cells::realize(&lits, &require, &domain, 200_000)
            .ok()
            .flatten()
    })
}

/// Is the relaxed problem (`logic::relax`) unsatisfiable? Only when decided without string
/// theory; anything else (a model, unknown, strings left) is no conclusion.
fn relaxation_unsat(p: &Problem, opts: &Options) -> bool {
    if p.unsupported.is_some() || p.vars.values().any(|k| matches!(k, VarKind::Strings)) {
        return false;
    }
    if let Some(b) = p.goal.as_const() {
        return !b;
    }
    let mut ids: Vec<AtomId> = Vec::new();
    p.goal.atoms_into(&mut ids);
    ids.sort_unstable();
    ids.dedup();
    // A quarter of the time limit: the full question still gets all of it afterwards.
    let one = Options {
        witnesses: 1,
        timeout: opts.timeout / 4,
        ..opts.clone()
    };
    match enumerate_single_var(p, &ids, 1) {
        Some(points) => points.is_empty(),
        // No model at all, from an exact encoding: the relaxation is unsatisfiable.
        None => matches!(
            solver_points(p, &ids, &one, &mut Stats::default()),
            Ok(Ok((points, false))) if points.is_empty()
        ),
    }
}

/// Drop what the witness does not need: context keys whose removal keeps it a witness, and
/// an explicit resource account when the default (from the ARN or the caller) does as well.
/// Each step is checked by replaying through the evaluator.
fn minimise(w: &mut Witness, p: &Problem, replay: &Replay) {
    let keys: Vec<String> = w
        .request
        .context
        .iter()
        .map(|(k, _)| k.to_string())
        // Deploy-time values stay: a witness without them describes no real deployment.
        .filter(|k| !is_deploy_value(k))
        .collect();
    for k in keys {
        let mut trial = w.clone();
        trial.request.context.set(&k, Vec::new());
        if replay(&trial, p).is_ok() {
            *w = trial;
        }
    }
    if w.request.resource_account.is_some() {
        let mut trial = w.clone();
        trial.request.resource_account = None;
        if replay(&trial, p).is_ok() {
            *w = trial;
        }
    }
}

/// The model leaves the keys AWS derives from the request (`aws:PrincipalArn`, `aws:username`,
/// `aws:PrincipalAccount`, `aws:ResourceAccount`) independent of the principal and the resource
/// (docs/encoding.md §8). When a witness gives them, try the principal (and resource account)
/// they describe, and keep it if the witness still replays, so that the request reads like one
/// AWS could see (`aws:username = bob` from user `bob`). Proofs are unaffected.
fn harmonize(w: &mut Witness, p: &Problem, replay: &Replay) {
    let ctx = &w.request.context;
    let principal = w.request.principal.clone();
    let caller = tarski_compiler::request::Caller::of(&principal);
    let account = ctx
        .single("aws:PrincipalAccount")
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .or_else(|| caller.account.clone());
    let mut candidates: Vec<String> = Vec::new();
    if let Some(arn) = ctx.single("aws:PrincipalArn") {
        // For a role session AWS gives the role's ARN; the caller is a session of it.
        match tarski_compiler::request::role_session(&arn, "tarski-session") {
            Some(session) => candidates.push(session),
            None if matches!(
                tarski_compiler::value::split_arn(&arn),
                Some([_, _, "iam", "", _, _])
            ) =>
            {
                candidates.push(arn)
            }
            None => {}
        }
    }
    if let (Some(user), Some(acct)) = (ctx.single("aws:username"), account.as_ref()) {
        candidates.push(format!("arn:aws:iam::{acct}:user/{user}"));
    }
    if let (Some(acct), Some(have)) = (account.as_ref(), caller.account.as_ref()) {
        if acct != have {
            let mut parts: Vec<String> = principal.splitn(6, ':').map(String::from).collect();
            if parts.len() == 6 {
                parts[4] = acct.clone();
                candidates.push(parts.join(":"));
            }
        }
    }
    for c in candidates {
        if c == principal {
            continue;
        }
        let mut trial = w.clone();
        trial.request.principal = c;
        // Only a caller AWS can have, whose keys are its own.
        if tarski_compiler::semantics::derived_key_conflict(&trial.request).is_some() {
            continue;
        }
        if replay(&trial, p).is_ok() {
            *w = trial;
            break;
        }
    }
    // `aws:ResourceAccount` is the account that owns the resource.
    if let Some(acct) = w.request.context.single("aws:ResourceAccount") {
        if w.request.resource_account() != Some(acct.clone()) {
            let mut trial = w.clone();
            trial.request.resource_account = Some(acct);
            if replay(&trial, p).is_ok() {
                *w = trial;
            }
        }
    }
}

/// The cells' shortest strings leave an ARN's variable fields empty (`arn::aps:::workspace/`)
/// or fill them with a filler (`arn:x:aps:...`): the untyped question admits that, but AWS
/// never names a resource so. For a resource with an empty or unknown partition, fill the
/// partition and the empty region, account and resource name with readable values
/// (the account of `aws:ResourceAccount` or of the caller; a caller moved into the resource's
/// partition first) and keep the first request that is still a resource of the action's types
/// and still replays; otherwise the witness stays as it is. Proofs are unaffected.
fn readable_resource(w: &mut Witness, p: &Problem, replay: &Replay) {
    const MAX_TRIES: usize = 32;
    let r = &w.request;
    let Some([arn, part, svc, region, account, name]) =
        tarski_compiler::value::split_arn(&r.resource)
    else {
        return;
    };
    // An empty partition, or one AWS does not have (the cells' filler `x`, now that the typed
    // formats' partition is never empty, `catalog::arn_glob`), a region that is no region's
    // name (the filler, or a word of a pattern: `kms`), or an empty name between two `/`, marks
    // a string no AWS resource has (an empty region, account or `…/` name can be the
    // resource's own: S3 buckets, folder keys).
    let known_partition = tarski_compiler::semantics::PARTITIONS.contains(&part);
    let odd_region = !region.is_empty() && !region_shaped(region);
    if arn != "arn" || (known_partition && !odd_region && !name.contains("//")) {
        return;
    }
    let name_empty =
        name.is_empty() || name.ends_with('/') || name.ends_with(':') || name.contains("//");
    let one = |s: &str| vec![s.to_string()];
    let partitions: Vec<String> = if known_partition {
        one(part)
    } else {
        vec!["aws".into(), "aws-cn".into(), "aws-us-gov".into()]
    };
    let mut accounts = Vec::new();
    if account.is_empty() {
        accounts.extend(r.context.single("aws:ResourceAccount"));
        accounts.extend(tarski_compiler::request::Caller::of(&r.principal).account);
        accounts.dedup();
    }
    accounts.push(account.to_string());
    let names = if name_empty {
        let mut filled = name.replace("//", "/example/");
        while filled.contains("//") {
            filled = filled.replace("//", "/example/");
        }
        if filled.is_empty() || filled.ends_with('/') || filled.ends_with(':') {
            filled.push_str("example");
        }
        vec![filled, name.to_string()]
    } else {
        one(name)
    };
    let mut tries = 0;
    for pt in &partitions {
        let regions = if region.is_empty() || odd_region {
            let fill = match pt.as_str() {
                "aws-cn" => "cn-north-1",
                "aws-us-gov" => "us-gov-west-1",
                _ => "us-east-1",
            };
            vec![fill.to_string(), region.to_string()]
        } else {
            one(region)
        };
        for n in &names {
            for a in &accounts {
                for rg in &regions {
                    let cand = format!("arn:{pt}:{svc}:{rg}:{a}:{n}");
                    if cand == w.request.resource
                        || !tarski_compiler::semantics::well_typed(&w.request.action, &cand)
                    {
                        continue;
                    }
                    // A caller in the resource's partition first (no request crosses one).
                    let mut callers = Vec::new();
                    if let Some([a0, cp, rest @ ..]) =
                        tarski_compiler::value::split_arn(&w.request.principal)
                    {
                        if a0 == "arn" && cp != pt {
                            callers.push(format!("arn:{pt}:{}", rest.join(":")));
                        }
                    }
                    callers.push(w.request.principal.clone());
                    for caller in callers {
                        if tries == MAX_TRIES {
                            return;
                        }
                        tries += 1;
                        let mut trial = w.clone();
                        trial.request.resource = cand.clone();
                        trial.request.principal = caller;
                        if trial.request.owner_conflict().is_some() {
                            trial.request.resource_account = None;
                        }
                        if tarski_compiler::semantics::derived_key_conflict(&trial.request)
                            .is_none()
                            && replay(&trial, p).is_ok()
                        {
                            *w = trial;
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// `aws:RequestedRegion` is the Region a request was made to ("AWS global condition context
/// keys"): never empty, never a filler. A witness's value that is no Region's name is replaced
/// by the resource's Region, `us-east-1`, `us-west-2` or `eu-west-1`, the first with which the
/// witness still replays; otherwise it stays. Proofs are unaffected.
fn readable_region(w: &mut Witness, p: &Problem, replay: &Replay) {
    const KEY: &str = "aws:RequestedRegion";
    let Some(v) = w.request.context.single(KEY) else {
        return;
    };
    if region_shaped(&v) {
        return;
    }
    let mut regions: Vec<String> = Vec::new();
    if let Some([_, _, _, r, _, _]) = tarski_compiler::value::split_arn(&w.request.resource) {
        if region_shaped(r) {
            regions.push(r.to_string());
        }
    }
    regions.extend(["us-east-1", "us-west-2", "eu-west-1"].map(String::from));
    for r in regions {
        let mut trial = w.clone();
        trial.request.context.set(KEY, vec![r]);
        if replay(&trial, p).is_ok() {
            *w = trial;
            return;
        }
    }
}

/// Shaped like the name of an AWS Region (`us-east-1`, `us-gov-west-1`, `cn-north-1`,
/// `us-isob-east-1`): letters, then `-`-separated words, the last a number. "Regions and zones",
/// Amazon EC2 User Guide; only used to make a witness readable, never to decide.
fn region_shaped(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Z3 picks any string that fits a deploy-time value (`tarski:GetAtt/Bucket.Arn =
/// arn:A:B:::CDEFG`). Try readable values in its place — everywhere it occurs in the request —
/// and keep the first with which the witness still replays.
fn readable_deploy_values(w: &mut Witness, p: &Problem, replay: &Replay) {
    const ARNS: &[&str] = &[
        "arn:aws:s3:::tarski-example-bucket",
        "arn:aws:iam::999900000001:role/tarski-example-role",
        "arn:aws:sqs:us-east-1:999900000001:tarski-example-queue",
        "arn:aws:sns:us-east-1:999900000001:tarski-example-topic",
        "arn:aws:lambda:us-east-1:999900000001:function:tarski-example-function",
        "arn:aws:dynamodb:us-east-1:999900000001:table/tarski-example-table",
        "arn:aws:kms:us-east-1:999900000001:key/tarski-example-key",
    ];
    // ARNs of the action's service first: a function's ARN for `lambda:InvokeFunction`.
    let service = w.request.action.split(':').next().unwrap_or("").to_string();
    let mut arns: Vec<&str> = ARNS.to_vec();
    arns.sort_by_key(|a| a.split(':').nth(2) != Some(service.as_str()));
    let keys: Vec<(String, String)> = w
        .request
        .context
        .iter()
        .filter(|(k, v)| v.len() == 1 && k.to_ascii_lowercase().starts_with("tarski:"))
        .map(|(k, v)| (k.to_string(), v[0].clone()))
        .collect();
    for (key, value) in keys {
        let k = key.to_ascii_lowercase();
        let candidates: Vec<&str> = if k.starts_with("tarski:getatt/") && k.ends_with(".arn") {
            arns.clone()
        } else if k == "tarski:aws::accountid" {
            vec!["999900000001"]
        } else if k == "tarski:aws::region" {
            vec!["us-east-1"]
        } else if k == "tarski:aws::partition" {
            vec!["aws"]
        } else {
            continue;
        };
        for nice in candidates {
            if value == nice {
                break;
            }
            let mut trial = w.clone();
            if !value.is_empty() {
                trial.request.resource = trial.request.resource.replace(&value, nice);
            }
            trial.request.context.set(&key, vec![nice.to_string()]);
            if replay(&trial, p).is_ok() {
                *w = trial;
                break;
            }
        }
    }
}

/// When every atom of the goal is a pattern atom over one cell variable, try each cell.
fn enumerate_single_var(
    p: &Problem,
    goal_atoms: &[AtomId],
    want: usize,
) -> Option<Vec<Assignment>> {
    let atoms = p.builder.atoms();
    let mut var: Option<StrVar> = None;
    for id in goal_atoms {
        match atoms.get(*id) {
            tarski_compiler::logic::ir::Atom::Like(v, _) if var.as_ref().is_none_or(|x| x == v) => {
                var = Some(v.clone())
            }
            _ => return None,
        }
    }
    let var = var?;
    // A derived key is tied to the principal (`Problem::derived`): the solver decides it.
    if p.derived
        .iter()
        .any(|r| matches!(&var, StrVar::Slot(k, _) if *k == r.key))
    {
        return None;
    }
    let Some(VarKind::Cells(cs)) = p.vars.get(&var) else {
        return None;
    };
    let mut out = Vec::new();
    for i in 0..cs.len() {
        let holds = p.goal.eval_with(&mut |id| {
            p.atom_cells
                .get(&id)
                .is_some_and(|c| c.binary_search(&(i as u32)).is_ok())
        });
        if holds {
            let mut a = Assignment::default();
            a.values.insert(var.clone(), Value::Cell(i));
            out.push(a);
            if out.len() >= want {
                break;
            }
        }
    }
    Some(out)
}

/// The points a solver finds (up to `opts.witnesses`), whether the encoding was inexact; an
/// `Err` inside is `unknown` with its reason; an `Err` outside is a solver disagreement.
type Points = Result<(Vec<Assignment>, bool), String>;

/// One backend's points, or why it gave no definitive answer.
type Found = Result<Vec<Assignment>, String>;

fn solver_points(
    p: &Problem,
    goal_atoms: &[AtomId],
    opts: &Options,
    stats: &mut Stats,
) -> Result<Points, Box<InternalError>> {
    let enc = match Encoded::new(p, goal_atoms) {
        Ok(e) => e,
        Err(e) => return Ok(Err(format!("not encoded exactly: {e}"))),
    };
    if opts.emit_smt2 {
        match enc.script.file() {
            Ok(text) => stats.smt2.push(text),
            Err(s) => return Ok(Err(format!("cannot write {s:?} in SMT-LIB"))),
        }
    }
    let want = opts.witnesses.max(1);
    let limit = opts.limit();
    let inexact = enc.inexact();
    // Z3's incremental mode (`backend::Z3::start_incremental`), except where keys AWS derives
    // from the caller are encoded in part for a class of callers (`Problem::derived`): there
    // a model may describe no single caller, and the models of the default mode are the ones
    // the derived-key tests were written against (with the incremental mode one of them,
    // `witnesses_carry_their_callers_keys`, became `unknown`).
    let incremental = p.derived.is_empty();
    let (found, backend) = if opts.cross_check {
        cross_check(&enc, limit, want, incremental)?
    } else {
        match opts.solver {
            SolverChoice::Z3 => (z3_run(&enc, limit, want, incremental), "z3"),
            SolverChoice::Cvc5 => (cvc5_run(&enc, limit, want, &Canceller::default()), "cvc5"),
            SolverChoice::Portfolio if enc.uses_strings() && backend::cvc5_path().is_ok() => {
                race(&enc, limit, want)?
            }
            SolverChoice::Portfolio => (z3_run(&enc, limit, want, incremental), "z3"),
        }
    };
    stats.backend = Some(backend);
    Ok(found.map(|pts| (pts, inexact)))
}

/// Check, read a model, block it, and check again, up to `want` points.
fn points(s: &mut dyn Session, enc: &Encoded, want: usize) -> Result<Vec<Assignment>, String> {
    let name = s.name();
    let wanted = enc.wanted();
    let mut out = Vec::new();
    while out.len() < want {
        match s.check().map_err(|e| e.to_string())? {
            Answer::Unsat => break,
            Answer::Unknown(_) if !out.is_empty() => break,
            Answer::Unknown(why) => return Err(gave_up(name, &why)),
            Answer::Sat => {
                let vals = s.values(&wanted).map_err(|e| e.to_string())?;
                let a = match enc.decode(&vals) {
                    // A combination of resource patterns no string realizes (too many cells
                    // to enumerate, `VarKind::Signatures`): exclude it and ask again. Each
                    // round excludes at least the model's combination, so this ends; the
                    // solver's limit bounds it like any other search.
                    Err(EncodeError::Unrealized(core)) => {
                        s.assert(&enc.exclude(&core)).map_err(|e| e.to_string())?;
                        continue;
                    }
                    r => r.map_err(|e| e.to_string())?,
                };
                s.assert(&enc.block(&a)).map_err(|e| e.to_string())?;
                out.push(a);
            }
        }
    }
    Ok(out)
}

fn gave_up(name: &str, why: &GaveUp) -> String {
    // As users (and tests/batch.rs) read it: "Z3 gave up after the 10s time limit".
    let name = if name == "z3" { "Z3" } else { name };
    match why {
        GaveUp::TimeLimit(t) => format!("{name} gave up after the {t:?} time limit"),
        GaveUp::ResourceLimit(n) => {
            format!("{name} ran out of its resource limit (rlimit {n})")
        }
        GaveUp::Interrupted => format!("{name} was interrupted"),
        GaveUp::Incomplete(r) => {
            format!("{name} could not decide the query (its procedure is incomplete here: {r})")
        }
    }
}

fn z3_run(
    enc: &Encoded,
    limit: Limit,
    want: usize,
    incremental: bool,
) -> Result<Vec<Assignment>, String> {
    let start = if incremental {
        Z3::start_incremental
    } else {
        Z3::start
    };
    let mut s = start(&enc.script, limit).map_err(|e| e.to_string())?;
    points(&mut s, enc, want)
}

fn cvc5_run(
    enc: &Encoded,
    limit: Limit,
    want: usize,
    cancel: &Canceller,
) -> Result<Vec<Assignment>, String> {
    let mut s = Cvc5::start(&enc.script, limit, cancel).map_err(|e| e.to_string())?;
    points(&mut s, enc, want)
}

/// Two definitive answers must agree on satisfiability.
fn agree(
    z: &Result<Vec<Assignment>, String>,
    c: &Result<Vec<Assignment>, String>,
) -> Result<(), Box<InternalError>> {
    match (z, c) {
        (Ok(a), Ok(b)) if a.is_empty() != b.is_empty() => {
            let (sat, unsat) = if a.is_empty() {
                ("cvc5", "z3")
            } else {
                ("z3", "cvc5")
            };
            Err(Box::new(InternalError::Disagreement { sat, unsat }))
        }
        _ => Ok(()),
    }
}

/// Both solvers to the end, in parallel; a contradiction is an internal error.
fn cross_check(
    enc: &Encoded,
    limit: Limit,
    want: usize,
    incremental: bool,
) -> Result<(Found, &'static str), Box<InternalError>> {
    let (z, c) = std::thread::scope(|sc| {
        let h = sc.spawn(|| cvc5_run(enc, limit, want, &Canceller::default()));
        let z = z3_run(enc, limit, want, incremental);
        let c = h
            .join()
            .unwrap_or_else(|_| Err("the cvc5 thread panicked".into()));
        (z, c)
    });
    agree(&z, &c)?;
    Ok(match (z, c) {
        (Ok(p), _) => (Ok(p), "z3"),
        (Err(_), Ok(p)) => (Ok(p), "cvc5"),
        (Err(a), Err(b)) => (Err(format!("{a}; {b}")), "z3"),
    })
}

/// Z3 (in this thread, in a context of its own so that an interrupt reaches only this query)
/// against cvc5 (a process, from another thread): the first definitive answer wins and the
/// other is cancelled.
fn race(
    enc: &Encoded,
    limit: Limit,
    want: usize,
) -> Result<(Found, &'static str), Box<InternalError>> {
    use std::sync::Mutex;
    let winner: Mutex<Option<&'static str>> = Mutex::new(None);
    let claim = |who: &'static str| {
        let mut w = winner.lock().unwrap_or_else(|e| e.into_inner());
        *w.get_or_insert(who) == who
    };
    let cancel = Canceller::default();
    let z3_running = Mutex::new(true);
    let (z, c) = z3::with_z3_config(&z3::Config::new(), || {
        let intr = Z3Interrupt::current();
        std::thread::scope(|sc| {
            let h = sc.spawn(|| {
                let r = cvc5_run(enc, limit, want, &cancel);
                if r.is_ok() && claim("cvc5") {
                    // Interrupt Z3 until it has stopped (an interrupt before its check
                    // starts would be lost).
                    loop {
                        let running = z3_running.lock().unwrap_or_else(|e| e.into_inner());
                        if !*running {
                            break;
                        }
                        intr.interrupt();
                        drop(running);
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                r
            });
            // Strings: `start_incremental` would keep the default mode anyway.
            let z = z3_run(enc, limit, want, false);
            *z3_running.lock().unwrap_or_else(|e| e.into_inner()) = false;
            if z.is_ok() && claim("z3") {
                cancel.cancel();
            }
            let c = h
                .join()
                .unwrap_or_else(|_| Err("the cvc5 thread panicked".into()));
            (z, c)
        })
    });
    agree(&z, &c)?;
    let first = winner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or("z3");
    Ok(match (z, c) {
        (Ok(p), _) if first == "z3" => (Ok(p), "z3"),
        (_, Ok(p)) => (Ok(p), "cvc5"),
        (Ok(p), Err(_)) => (Ok(p), "z3"),
        (Err(a), Err(b)) => (Err(format!("no solver decided the query: {a}; {b}")), "z3"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running out of time reads "Z3 gave up after the ... time limit", as before the backends
    /// (users and tests/batch.rs look for it); a resource limit never does.
    #[test]
    fn limits_read_as_the_limit_reached() {
        let t = GaveUp::TimeLimit(Duration::from_secs(10));
        assert!(gave_up("z3", &t).starts_with("Z3 gave up after the 10s time limit"));
        assert!(gave_up("cvc5", &t).starts_with("cvc5 gave up after"));
        let r = gave_up("z3", &GaveUp::ResourceLimit(300_000));
        assert!(r.contains("resource limit (rlimit 300000)") && !r.contains("time"));
        let i = gave_up("z3", &GaveUp::Incomplete("(incomplete quantifiers)".into()));
        assert!(i.contains("could not decide") && i.contains("incomplete quantifiers"));
    }

    /// An ill-typed witness of the untyped pass whose resource the action does not take
    /// (`AmazonLaunchWizard_Fullaccess` v14 → v15 in W5: `autoscaling:CreateOrUpdateTags` on
    /// a resource-groups ARN): the typed neighbour is a resource of the action's type that the
    /// policy's patterns judge the same way (`same_signature_of_type`), so the typed question
    /// need not be asked. The type samples alone (`example` names) miss the policy's
    /// `autoScalingGroupName/LaunchWizard*`.
    #[test]
    fn an_ill_typed_witness_gets_a_resource_of_the_actions_type_with_its_signature() {
        use tarski_compiler::load::load;
        use tarski_compiler::policy::PolicyKind;
        use tarski_compiler::request::Request;
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Action":"autoscaling:CreateOrUpdateTags",
            "Resource":["arn:aws:*:*:*:*LaunchWizard*"]}]}"#;
        let l = load("p.json", text, Some(PolicyKind::Identity), false);
        assert!(!l.has_errors());
        let set = PolicySet {
            identity: l.policies,
            ..PolicySet::default()
        };
        let builder = Builder::default();
        let slots = slots(&[&set], None);
        let view = SymbolicView {
            builder: &builder,
            slots: &slots,
        };
        let goal = view.lower_set(&set).allowed;
        let dopts = DomainOptions {
            known_actions: false,
            max_states: 50_000,
            iam_callers: true,
            typed: false,
        };
        let p = Problem::new(builder, goal, slots, &[], &dopts);
        let w = Witness {
            request: Request {
                principal: "arn:aws:iam::111122223333:user/u".into(),
                action: "autoscaling:CreateOrUpdateTags".into(),
                resource: "arn:aws:resource-groups:us-east-1:111122223333:group/LaunchWizard"
                    .into(),
                ..Request::default()
            },
            notes: Vec::new(),
        };
        let allowed = |w: &Witness, _: &Problem| {
            if evaluate(&set, &w.request).decision == Decision::Allow {
                Ok(())
            } else {
                Err(("Allow".to_string(), "not".to_string()))
            }
        };
        assert!(allowed(&w, &p).is_ok());
        let r = tarski_compiler::semantics::resource_types(&w.request.action).unwrap();
        let same = same_signature_of_type(&w, &p, &r).expect("a resource of the type");
        assert!(
            tarski_compiler::semantics::well_typed(&w.request.action, &same),
            "{same}"
        );
        assert!(
            same.contains("LaunchWizard") && same.contains(":111122223333:"),
            "{same}"
        );
        let n = typed_neighbour(&w, &p, &allowed, &[]).expect("a typed neighbour");
        assert!(tarski_compiler::semantics::well_typed(
            &n.request.action,
            &n.request.resource
        ));
        assert!(allowed(&n, &p).is_ok());
    }
}
