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
use z3::{Params, SatResult, Solver};

use crate::assignment::{Assignment, Value, Witness};
use crate::encode::Encoded;

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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(30),
            witnesses: 1,
            known_actions: false,
            syntactic: true,
        }
    }
}

/// The answer to one satisfiability question.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Unsatisfiable: no request is a witness.
    None,
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
}

#[derive(Clone, Debug)]
pub struct Report {
    pub verdict: Verdict,
    pub stats: Stats,
}

/// A witness the evaluator does not confirm: a bug in Tarski, reported loudly.
#[derive(Clone, Debug)]
pub struct ReplayMismatch {
    pub witness: Witness,
    pub expected: String,
    pub got: String,
}

impl std::fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "internal error: the solver's witness does not replay through the evaluator (expected {}, evaluator says {}); this is a bug in Tarski. Witness: {:?}",
            self.expected, self.got, self.witness.request
        )
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

/// Is some request (satisfying `constraint`) allowed by `a` but not by `b`?
///
/// Without a constraint, syntax is tried first (`fastpath`): statement containment proves
/// `a ⊆ b`, and a guessed request that the evaluator confirms is a witness.
pub fn escapes(
    a: &PolicySet,
    b: &PolicySet,
    constraint: Option<&Expr>,
    opts: &Options,
) -> Result<Report, Box<ReplayMismatch>> {
    if constraint.is_none() && opts.syntactic {
        let start = Instant::now();
        let fast = |verdict: Verdict| Report {
            verdict,
            stats: Stats {
                elapsed: start.elapsed(),
                search: start.elapsed(),
                ..Stats::default()
            },
        };
        if crate::fastpath::contained_by_statements(a, b) {
            return Ok(fast(Verdict::None));
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
    let builder = Builder::default();
    let slots = slots(&[a, b], constraint);
    let view = SymbolicView {
        builder: &builder,
        slots: &slots,
    };
    let in_a = view.lower_set(a).allowed;
    let in_b = view.lower_set(b).allowed;
    let c = constraint.map_or(Formula::Const(true), |e| view.lower_expr(e));
    let goal = builder.and(vec![in_a, builder.not(in_b), c.clone()]);
    let goal = with_deploy_values(&builder, goal);
    let principals: Vec<&str> = constraint.map(Expr::principals).unwrap_or_default();
    let iam = iam_callers(&[a, b]);
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
            // The partitions of docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-
            // boundaries/partitions.html.
            let ps = [
                "aws",
                "aws-cn",
                "aws-us-gov",
                "aws-iso",
                "aws-iso-b",
                "aws-iso-e",
                "aws-iso-f",
                "aws-eusc",
            ];
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
    let first = solve_in(
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
        Verdict::None => true,
        Verdict::Witnesses(ws) => ws.iter().all(|w| {
            tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        }),
        Verdict::Unknown(_) => false,
    };
    if done {
        return Ok(first);
    }
    let mut r = solve_in(
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
    Ok(r)
}

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
    let dopts = DomainOptions {
        known_actions: opts.known_actions,
        max_states: 50_000,
        iam_callers,
        typed,
    };
    let problem = Problem::new(builder, goal, slots, principals, &dopts);
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
    let mut inexact = false;
    let points: Vec<Assignment> = match problem.goal.as_const() {
        Some(false) => Vec::new(),
        Some(true) => vec![Assignment::default()],
        None => match enumerate_single_var(&problem, &goal_atoms, opts.witnesses.max(1)) {
            Some(points) => points,
            None => {
                stats.used_z3 = true;
                match z3_points(&problem, &goal_atoms, opts) {
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
    for pt in points {
        let mut w = pt.to_request(&problem, &goal_atoms);
        if replay(&w, &problem).is_ok() {
            minimise(&mut w, &problem, replay);
            harmonize(&mut w, &problem, replay);
            readable_deploy_values(&mut w, &problem, replay);
        }
        // The typed request space (issue 10): a witness is a request AWS sends.
        if typed
            && problem.untyped.is_none()
            && !tarski_compiler::semantics::well_typed(&w.request.action, &w.request.resource)
        {
            return Err(Box::new(ReplayMismatch {
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
            return Err(Box::new(ReplayMismatch {
                witness: w,
                expected,
                got,
            }));
        }
        witnesses.push(w);
    }
    stats.replay = searched.elapsed();
    stats.elapsed = start.elapsed();
    Ok(Report {
        verdict: if witnesses.is_empty() && spurious > 0 {
            Verdict::Unknown(
                "the solver's candidate request did not replay through the evaluator: a \
                 policy variable after a wildcard (`*/${...}`) is encoded over-approximately \
                 where it must not match (docs/encoding.md)"
                    .to_string(),
            )
        } else if witnesses.is_empty() {
            Verdict::None
        } else {
            Verdict::Witnesses(witnesses)
        },
        stats,
    })
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

fn z3_points(
    p: &Problem,
    goal_atoms: &[AtomId],
    opts: &Options,
) -> Result<(Vec<Assignment>, bool), String> {
    let solver = Solver::new();
    let mut params = Params::new();
    params.set_u32(
        "timeout",
        u32::try_from(opts.timeout.as_millis()).unwrap_or(u32::MAX),
    );
    solver.set_params(&params);
    let enc = Encoded::new(p, &solver, goal_atoms);
    solver.assert(enc.formula(&p.goal));
    let mut out = Vec::new();
    while out.len() < opts.witnesses.max(1) {
        match solver.check() {
            SatResult::Unsat => break,
            SatResult::Unknown => {
                if !out.is_empty() {
                    break;
                }
                let reason = solver
                    .get_reason_unknown()
                    .unwrap_or_else(|| "no reason given".into());
                return Err(
                    if reason.contains("timeout") || reason.contains("canceled") {
                        format!(
                            "Z3 gave up after the {:?} time limit ({reason})",
                            opts.timeout
                        )
                    } else {
                        format!("Z3 could not decide the query ({reason})")
                    },
                );
            }
            SatResult::Sat => {
                let Some(m) = solver.get_model() else {
                    return Err("Z3 reported sat without a model".into());
                };
                let a = enc.decode(&m);
                solver.assert(enc.block(&a));
                out.push(a);
            }
        }
    }
    Ok((out, enc.inexact()))
}
