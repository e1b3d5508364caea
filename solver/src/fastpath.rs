//! Answers from syntax, before any cells or Z3 (issue 5: "decide without the solver when
//! syntax suffices"):
//! - containment by statements: if B keeps every Allow statement of A and A keeps every Deny
//!   statement of B, in every policy of the same set shape, then A ⊆ B (monotonicity of the
//!   evaluation: more allows and fewer denies never allow less);
//! - guessed witnesses: a request built from an Allow statement A has and B lacks, kept only if
//!   the evaluator confirms that A allows it and B does not (the replay is the proof).

use std::collections::{BTreeMap, BTreeSet};

use tarski_compiler::catalog::catalog;
use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::glob::{Glob, Tok};
use tarski_compiler::operator::{Base, Ordering, Qualifier};
use tarski_compiler::policy::CondValue;
use tarski_compiler::policy::{Effect, Statement};
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::request::{Context, Request};
use tarski_compiler::value::{format_date, Decimal};

/// A statement with spans and order removed.
fn key(s: &Statement) -> String {
    format!("{}|{}", rest_key(s), action_key(s))
}

fn action_key(s: &Statement) -> String {
    let mut actions: Vec<String> = s
        .action
        .patterns
        .iter()
        .map(|p| p.value.raw.to_lowercase())
        .collect();
    actions.sort();
    actions.dedup();
    format!("{}{:?}", s.action.negated, actions)
}

/// Everything but the `Action` element.
fn rest_key(s: &Statement) -> String {
    let mut resources: Vec<String> = s
        .resource
        .iter()
        .flat_map(|r| r.patterns.iter().map(|p| format!("{:?}", p.value)))
        .collect();
    resources.sort();
    resources.dedup();
    let mut principals: Vec<String> = s
        .principal
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| format!("{:?}", e.value)))
        .collect();
    principals.sort();
    principals.dedup();
    let mut conds: Vec<String> = s
        .conditions
        .iter()
        .map(|c| {
            let mut vals: Vec<String> = c.values.iter().map(|v| format!("{:?}", v.value)).collect();
            vals.sort();
            vals.dedup();
            format!(
                "{}|{}|{}",
                c.op.name(),
                c.key.to_ascii_lowercase(),
                vals.join(",")
            )
        })
        .collect();
    conds.sort();
    format!(
        "{:?}|{}{:?}|{}{:?}|{:?}|{:?}",
        s.effect,
        s.resource.as_ref().is_some_and(|r| r.negated),
        resources,
        s.principal.as_ref().is_some_and(|p| p.negated),
        principals,
        s.resource.is_none(),
        conds
    )
}

/// Statements of one effect, grouped by everything but `Action`: for positive `Action`
/// elements the group allows or denies the union of its action patterns; statements with
/// `NotAction` stay whole.
fn groups(ps: &[&LoadedPolicy], effect: Effect) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in ps
        .iter()
        .flat_map(|p| p.policy.statements.iter())
        .filter(|s| s.effect == effect)
    {
        if s.action.negated {
            out.entry(key(s)).or_default();
        } else {
            out.entry(rest_key(s))
                .or_default()
                .extend(s.action.patterns.iter().map(|p| p.value.raw.to_lowercase()));
        }
    }
    out
}

/// `x ⊆ y` group by group.
fn covered(x: &BTreeMap<String, BTreeSet<String>>, y: &BTreeMap<String, BTreeSet<String>>) -> bool {
    x.iter()
        .all(|(k, acts)| y.get(k).is_some_and(|ya| acts.is_subset(ya)))
}

/// `a`'s part is at most as permissive as `b`'s: allows ⊆, denies ⊇.
fn weaker(a: &[&LoadedPolicy], b: &[&LoadedPolicy]) -> bool {
    covered(&groups(a, Effect::Allow), &groups(b, Effect::Allow))
        && covered(&groups(b, Effect::Deny), &groups(a, Effect::Deny))
}

fn opt(p: &Option<LoadedPolicy>) -> Vec<&LoadedPolicy> {
    p.iter().collect()
}

/// A ⊆ B, decided from statements alone; `false` means "not decided", not "not contained".
pub fn contained_by_statements(a: &PolicySet, b: &PolicySet) -> bool {
    let shape = |s: &PolicySet| {
        (
            s.identity.is_empty(),
            s.boundary.is_some(),
            s.session.is_some(),
            s.resource.is_some(),
            s.scps.len(),
            s.rcps.len(),
        )
    };
    if shape(a) != shape(b) {
        return false;
    }
    let layers_ok = |x: &Vec<Vec<LoadedPolicy>>, y: &Vec<Vec<LoadedPolicy>>| {
        x.iter().zip(y).all(|(lx, ly)| {
            weaker(
                &lx.iter().collect::<Vec<_>>(),
                &ly.iter().collect::<Vec<_>>(),
            )
        })
    };
    weaker(
        &a.identity.iter().collect::<Vec<_>>(),
        &b.identity.iter().collect::<Vec<_>>(),
    ) && weaker(&opt(&a.boundary), &opt(&b.boundary))
        && weaker(&opt(&a.session), &opt(&b.session))
        && weaker(&opt(&a.resource), &opt(&b.resource))
        && layers_ok(&a.scps, &b.scps)
        && layers_ok(&a.rcps, &b.rcps)
}

/// `a` without the Allow statements that `b` also has (issue 12: consecutive versions of a
/// policy share most statements, and the solver's goal grows with them), when that does not
/// change whether `a ⊆ b`: both sets hold identity policies only, and every Deny of `b` is one
/// of `a`'s (`b`'s deny groups covered by `a`'s). Then a request that `a` allows through a
/// shared statement `s` is denied by no statement of `a`, so by none of `b`, and `b`'s copy of
/// `s` allows it; so `a ⊆ b` exactly when `a' ⊆ b`, and a witness of `a' ⊄ b` is a request `a`
/// allows (`a'` has fewer allows and the same denies). An Allow statement is shared when `b`
/// has a statement with the same everything but `Action` whose actions include all of its
/// actions (`groups`), or the same statement with `NotAction`. `None` when nothing is removed
/// or the shapes do not qualify.
pub fn without_shared_allows(a: &PolicySet, b: &PolicySet) -> Option<PolicySet> {
    let identity_only = |s: &PolicySet| {
        s.boundary.is_none()
            && s.session.is_none()
            && s.resource.is_none()
            && s.scps.is_empty()
            && s.rcps.is_empty()
            && !s.is_bounded()
    };
    if !identity_only(a) || !identity_only(b) {
        return None;
    }
    let ra: Vec<&LoadedPolicy> = a.identity.iter().collect();
    let rb: Vec<&LoadedPolicy> = b.identity.iter().collect();
    if !covered(&groups(&rb, Effect::Deny), &groups(&ra, Effect::Deny)) {
        return None;
    }
    let b_allows = groups(&rb, Effect::Allow);
    let shared = |s: &Statement| {
        if s.effect != Effect::Allow {
            return false;
        }
        if s.action.negated {
            return b_allows.contains_key(&key(s));
        }
        b_allows.get(&rest_key(s)).is_some_and(|acts| {
            s.action
                .patterns
                .iter()
                .all(|p| acts.contains(&p.value.raw.to_lowercase()))
        })
    };
    let mut out = a.clone();
    let mut removed = 0;
    for p in &mut out.identity {
        let before = p.policy.statements.len();
        p.policy.statements.retain(|s| !shared(s));
        removed += before - p.policy.statements.len();
    }
    (removed > 0).then_some(out)
}

/// `b` without the Allow statements no request that `a` allows can match, by service prefix:
/// each of their action patterns names a service none of `a`'s Allow patterns can (`a` with
/// `NotAction` allows: none removed). For the goal "`a` allows, `b` does not", such a
/// statement is false on every request `a` allows, so dropping it changes no answer: a witness
/// matches an Allow of `a`, hence none of the dropped ones, and `b` allows it exactly when the
/// rest of `b` does; a proof over the rest holds for `b` (fewer allows, the same denies).
/// Identity-only sets, as `without_shared_allows`. `None` when nothing is removed.
pub fn without_unrelated_allows(a: &PolicySet, b: &PolicySet) -> Option<PolicySet> {
    let identity_only = |s: &PolicySet| {
        s.boundary.is_none()
            && s.session.is_none()
            && s.resource.is_none()
            && s.scps.is_empty()
            && s.rcps.is_empty()
            && !s.is_bounded()
    };
    if !identity_only(a) || !identity_only(b) {
        return None;
    }
    let mut services: Vec<Glob> = Vec::new();
    for s in a
        .identity
        .iter()
        .flat_map(|p| p.policy.statements.iter())
        .filter(|s| s.effect == Effect::Allow)
    {
        if s.action.negated {
            return None;
        }
        for p in &s.action.patterns {
            let raw = p.value.raw.to_lowercase();
            match raw.split_once(':') {
                Some((svc, _)) => services.push(Glob::wild(svc)),
                None => return None,
            }
        }
    }
    let may_meet = |raw: &str| -> bool {
        let raw = raw.to_lowercase();
        let Some((svc, _)) = raw.split_once(':') else {
            return true;
        };
        let g = Glob::wild(svc);
        services
            .iter()
            .any(|h| match (g.as_literal(), h.as_literal()) {
                (Some(x), Some(y)) => x == y,
                (Some(x), None) => h.matches(&x, false),
                (None, Some(y)) => g.matches(&y, false),
                (None, None) => true,
            })
    };
    let mut out = b.clone();
    let mut removed = 0;
    for p in &mut out.identity {
        let before = p.policy.statements.len();
        p.policy.statements.retain(|s| {
            s.effect != Effect::Allow
                || s.action.negated
                || s.action.patterns.iter().any(|p| may_meet(&p.value.raw))
        });
        removed += before - p.policy.statements.len();
    }
    (removed > 0).then_some(out)
}

/// Requests to try: from each Allow statement of `a` that `b` lacks, its literal actions (or
/// the first catalog actions its patterns match) on its literal resources (or a stand-in
/// where the pattern has wildcards), from a same-account IAM user.
pub fn guesses(a: &PolicySet, b: &PolicySet) -> Vec<Request> {
    let mut out = Vec::new();
    each_guess(a, b, &mut |r| {
        out.push(r);
        false
    });
    out
}

/// `guesses`, one at a time, in the same order, until `f` returns true; the request `f` took.
fn each_guess(a: &PolicySet, b: &PolicySet, f: &mut dyn FnMut(Request) -> bool) -> bool {
    let all_b: Vec<&LoadedPolicy> = b.all().into_iter().map(|(_, p)| p).collect();
    let b_allows = groups(&all_b, Effect::Allow);
    let mut typed = TypedChoices {
        memo: BTreeMap::new(),
        searches: REALIZE_BUDGET,
    };
    for (_, p) in a.all() {
        for s in &p.policy.statements {
            if s.effect != Effect::Allow || s.action.negated {
                continue;
            }
            // One context per choice of condition value (varying one condition at a time), so a
            // value a new version added is tried too.
            let contexts = condition_variants(s);
            if contexts.is_empty() {
                continue;
            }
            for context in contexts {
                if statement_guesses(s, context, &b_allows, &mut typed, f) {
                    return true;
                }
            }
        }
    }
    false
}

/// The guesses for one statement under one context. Every guess is a request AWS can send
/// (the typed request space, `semantics::well_typed`, issue 10): an ill-typed rendering of the
/// statement's action and resource patterns is replaced by a well-typed one the patterns also
/// match (`typed_choice`), or dropped. Only guesses: the evaluator decides.
fn statement_guesses(
    s: &Statement,
    mut context: Context,
    b_allows: &BTreeMap<String, BTreeSet<String>>,
    typed: &mut TypedChoices,
    f: &mut dyn FnMut(Request) -> bool,
) -> bool {
    let known = b_allows.get(&rest_key(s));
    // Each resource pattern as a glob (`None`: any resource) and its rendering (empty for
    // `Resource: "*"`).
    let resources: Vec<(Option<Glob>, String)> = match &s.resource {
        Some(r) if !r.negated => r
            .patterns
            .iter()
            .take(20)
            .filter_map(|t| {
                let g = t.value.resolve(true, &|k| {
                    Some(context.single(k).unwrap_or_else(|| stand_in(k)))
                })?;
                Some(if g.is_universal() {
                    (None, String::new())
                } else {
                    let r = render(&g);
                    (Some(g), r)
                })
            })
            .collect(),
        _ => vec![(
            None,
            "arn:aws:s3:::tarski-example-bucket/example-object".to_string(),
        )],
    };
    // Keys a resource's policy variables read must be in the request too.
    if let Some(r) = &s.resource {
        for t in &r.patterns {
            for v in t.value.vars() {
                if context.get(&v.key).is_none() {
                    context.set(&v.key, vec![stand_in(&v.key)]);
                }
            }
        }
    }
    let new_patterns = s
        .action
        .patterns
        .iter()
        .filter(|ap| known.is_none_or(|k| !k.contains(&ap.value.raw.to_lowercase())))
        .take(50);
    for ap in new_patterns {
        let actions = if ap.value.glob.is_literal() {
            std::sync::Arc::new(vec![(
                tarski_compiler::semantics::typing_group(&ap.value.raw),
                ap.value.raw.clone(),
            )])
        } else {
            group_representatives(&ap.value.raw)
        };
        let Some((_, first)) = actions.first() else {
            continue;
        };
        let service = first.split(':').next().unwrap_or("s3").to_lowercase();
        for (g, r) in &resources {
            // `Resource: "*"`: an ARN of the action's service reads better than `*`.
            let r = if r.is_empty() {
                format!("arn:aws:{service}:us-east-1:999900000001:tarski-example")
            } else {
                r.clone()
            };
            // The same patterns come back under each condition context: decided once.
            let key = (
                ap.value.raw.to_lowercase(),
                g.as_ref().map(|g| format!("{g:?}")).unwrap_or_default(),
                r.clone(),
            );
            let choice = match typed.memo.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let c = typed_choice(&actions, g.as_ref(), r, &mut typed.searches);
                    typed.memo.insert(key, c.clone());
                    c
                }
            };
            let Some((action, r)) = choice else {
                continue;
            };
            let account = r
                .split(':')
                .nth(4)
                .filter(|x| x.len() == 12 && x.bytes().all(|c| c.is_ascii_digit()))
                .unwrap_or(GUESS_ACCOUNT)
                .to_string();
            let taken = f(Request {
                principal: format!("arn:aws:iam::{account}:user/tarski-user"),
                action,
                resource: r,
                // Same account as the caller: the statement is an identity grant.
                resource_account: Some(account.clone()),
                context: context.clone(),
            });
            if taken {
                return true;
            }
        }
    }
    false
}

/// The caller's account of a guess whose resource names none.
const GUESS_ACCOUNT: &str = "999900000001";

/// How many typing groups of a wildcard action pattern `typed_choice` tries.
const TYPED_GROUPS: usize = 16;

/// How many automaton searches (`cells::realize`) one question's guesses may run: guesses
/// are a shortcut, and a question with no escape tries every one of them.
const REALIZE_BUDGET: usize = 64;

/// `typed_choice`'s answers for one question, by (action pattern, resource pattern,
/// rendering), and the automaton searches left.
struct TypedChoices {
    memo: BTreeMap<(String, String, String), Option<(String, String)>>,
    searches: usize,
}

/// The catalog actions an action pattern matches, one per typing group (`None`: actions the
/// catalog types no resource for), each the first of its group in catalog order. Computed
/// once per pattern and process: a guess needs an action of the right types, not every action.
type Representatives = std::sync::Arc<Vec<(Option<u32>, String)>>;

fn group_representatives(pattern: &str) -> Representatives {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static MEMO: OnceLock<Mutex<HashMap<String, Representatives>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = pattern.to_lowercase();
    if let Some(r) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return r.clone();
    }
    let mut seen: BTreeSet<Option<u32>> = BTreeSet::new();
    let mut reps = Vec::new();
    for a in catalog().expand(pattern) {
        let name = a.full_name();
        let group = tarski_compiler::semantics::typing_group(&name);
        if seen.insert(group) {
            reps.push((group, name));
        }
    }
    let reps = std::sync::Arc::new(reps);
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, reps.clone());
    reps
}

/// A well-typed (action, resource) pair for a guess (`semantics::well_typed`): an action of
/// `actions` (`group_representatives` of a statement's action pattern) that takes the
/// rendered resource `rendered`; else, for the first `TYPED_GROUPS` typed ones, a resource of
/// one of the action's types that the resource pattern `pattern` (`None`: any resource)
/// matches (at most `searches` automaton searches in all).
fn typed_choice(
    actions: &[(Option<u32>, String)],
    pattern: Option<&Glob>,
    rendered: String,
    searches: &mut usize,
) -> Option<(String, String)> {
    use tarski_compiler::semantics::typing_group_types;
    // `semantics::well_typed`, per group: typed actions of the resource's service first (an
    // ARN type almost always belongs to its action's service), then the catalog's untyped ones.
    let service = tarski_compiler::value::split_arn(&rendered).map(|f| f[2].to_string());
    let of_service = |a: &str| {
        service.as_deref().is_none_or(|s| {
            a.split(':')
                .next()
                .is_some_and(|x| x.eq_ignore_ascii_case(s))
        })
    };
    let takes = actions
        .iter()
        .filter(|(g, a)| g.is_some() && of_service(a))
        .take(TYPED_GROUPS * 4)
        .find(|(g, _)| g.is_some_and(|g| typing_group_types(g).admits(&rendered)))
        .or_else(|| actions.iter().find(|(g, _)| g.is_none()));
    if let Some((_, a)) = takes {
        return Some((a.clone(), rendered));
    }
    actions
        .iter()
        .filter_map(|(g, a)| Some((typing_group_types((*g)?), a)))
        .take(TYPED_GROUPS)
        .find_map(|(types, a)| Some((a.clone(), typed_resource(types, pattern, searches)?)))
}

/// A resource of one of these types that `pattern` (`None`: any) matches as the `Resource`
/// element does (`atoms::arn_like`): `*` where the types admit it, a readable sample of a
/// type (`type_sample_owned`), else the shortest string of both (`cells::realize`).
fn typed_resource(
    types: &tarski_compiler::semantics::ResourceTypes,
    pattern: Option<&Glob>,
    searches: &mut usize,
) -> Option<String> {
    use tarski_compiler::atoms::arn_like;
    use tarski_compiler::logic::problem::type_sample_owned;
    let fits = |r: &str| pattern.is_none_or(|g| arn_like(g, r));
    let mut samples = types
        .arns
        .iter()
        .map(|t| type_sample_owned(t, GUESS_ACCOUNT));
    // An ARN reads better than `*` for `Resource: "*"`.
    if let Some(r) = samples.find(|r| fits(r)) {
        return Some(r);
    }
    if types.star && fits("*") {
        return Some("*".to_string());
    }
    let g = pattern?.arn_segments();
    types.arns.iter().find_map(|t| {
        *searches = searches.checked_sub(1)?;
        tarski_compiler::logic::cells::realize(
            &[(g.clone(), true)],
            &[],
            std::slice::from_ref(t),
            10_000,
        )
        .ok()
        .flatten()
    })
}

/// Contexts that make the statement's conditions hold: the first value of every positive
/// condition, then, for each condition with several values, each other value in turn.
fn condition_variants(s: &Statement) -> Vec<Context> {
    let mut base = Context::default();
    if !guess_conditions(s, &mut base, &[]) {
        return Vec::new();
    }
    let mut out = vec![base];
    for (ci, c) in s.conditions.iter().enumerate() {
        for vi in 1..c.values.len().min(10) {
            let mut ctx = Context::default();
            if guess_conditions(s, &mut ctx, &[(ci, vi)]) {
                out.push(ctx);
            }
        }
    }
    out
}

/// A value for a key a policy variable reads when no condition fixes it.
fn stand_in(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    if k.ends_with("account") || k == "tarski:aws::accountid" {
        GUESS_ACCOUNT.to_string()
    } else if k == "tarski:aws::partition" {
        "aws".to_string()
    } else if k == "tarski:aws::region" {
        "us-east-1".to_string()
    } else if k == "aws:username" {
        // The guesses' caller, `user/tarski-user` (`semantics::derived_key`).
        "tarski-user".to_string()
    } else if k.starts_with("tarski:getatt/") && k.ends_with(".arn") {
        // A resource's ARN (deploy-time value, docs/iac.md): shaped like one.
        "arn:aws:tarski:us-east-1:999900000001:resource".to_string()
    } else {
        "tarski".to_string()
    }
}

/// A string the glob matches: literals as they are, one `x` per `?`, `tarski` per `*`; in an
/// ARN, a `*` in the partition, region or account field is `aws`, `us-east-1` or
/// `GUESS_ACCOUNT` (the guess's caller is then in the resource's account, as the resource's
/// owner is its ARN's account field, `semantics::resource_owner`).
fn render(g: &Glob) -> String {
    let arn = g.0.starts_with(&[
        Tok::Char('a'),
        Tok::Char('r'),
        Tok::Char('n'),
        Tok::Char(':'),
    ]);
    let mut field = 0;
    let mut out = String::new();
    for (i, t) in g.0.iter().enumerate() {
        match t {
            Tok::Char(c) | Tok::Fold(c) => {
                field += (*c == ':') as usize;
                out.push(*c);
            }
            Tok::One => out.push('x'),
            // A non-empty field (`catalog::arn_glob`): the `*` after it writes the value.
            Tok::OneSeg if g.0.get(i + 1) == Some(&Tok::StarSeg) => {}
            Tok::OneSeg => out.push('x'),
            Tok::Star | Tok::StarSeg => out.push_str(match (arn, field) {
                (true, 1) => "aws",
                (true, 3) => "us-east-1",
                (true, 4) => GUESS_ACCOUNT,
                _ => "tarski",
            }),
        }
    }
    out
}

/// Context values that make each condition of `s` hold, where that is easy to see: the first
/// value of a positive operator; nothing for negated operators, `...IfExists` and
/// `ForAllValues` (an absent key satisfies them). `false` when no easy choice exists. Only a
/// guess: the evaluator decides.
fn guess_conditions(s: &Statement, ctx: &mut Context, pick: &[(usize, usize)]) -> bool {
    for (ci, c) in s.conditions.iter().enumerate() {
        let absent_ok =
            c.op.negated || c.op.if_exists || c.op.qualifier == Some(Qualifier::ForAllValues);
        if c.op.base == Base::Null {
            if matches!(
                c.values.first().map(|v| &v.value),
                Some(CondValue::Null(false))
            ) {
                ctx.push(&c.key, "tarski");
            }
            continue;
        }
        if absent_ok {
            continue;
        }
        let vi = pick.iter().find(|(i, _)| *i == ci).map_or(0, |(_, v)| *v);
        let Some(v) = c.values.get(vi) else {
            return false;
        };
        // Keys the value's policy variables read get a stand-in, in the request too.
        if let CondValue::Text(t) = &v.value {
            for var in t.vars() {
                if ctx.get(&var.key).is_none() {
                    ctx.set(&var.key, vec![stand_in(&var.key)]);
                }
            }
        }
        let text = match &v.value {
            CondValue::Text(t) => match t.resolve(c.op.base.has_wildcards(), &|k| {
                Some(ctx.single(k).unwrap_or_else(|| stand_in(k)))
            }) {
                Some(g) => render(&g),
                None => return false,
            },
            CondValue::Number(d) => {
                let step = Decimal {
                    mantissa: 1,
                    scale: d.scale,
                };
                match c.op.base.ordering() {
                    Some(Ordering::Lt) => Decimal {
                        mantissa: d.mantissa - step.mantissa,
                        scale: d.scale,
                    }
                    .to_string(),
                    Some(Ordering::Gt) => Decimal {
                        mantissa: d.mantissa + step.mantissa,
                        scale: d.scale,
                    }
                    .to_string(),
                    _ => d.to_string(),
                }
            }
            CondValue::Date(t) => {
                let second = 1_000_000_000;
                format_date(match c.op.base.ordering() {
                    Some(Ordering::Lt) => t - second,
                    Some(Ordering::Gt) => t + second,
                    _ => *t,
                })
            }
            CondValue::Bool(b) => b.to_string(),
            CondValue::Ip(cidr) => cidr.addr.to_string(),
            CondValue::Binary(b) => b.clone(),
            CondValue::Null(_) => continue,
        };
        ctx.push(&c.key, text);
    }
    true
}

/// The first guess AWS can send that `a` allows and `b` does not: well-typed
/// (`semantics::well_typed`: a resource of one of the action's resource types), with the keys
/// AWS derives from the caller as AWS sets them (`semantics::derived_key_conflict`, the rule the
/// solver's witnesses meet too). Guesses are built typed where a pattern allows
/// (`typed_choice`); a guess that is still ill-typed (`Resource: "*"`, a pattern of another
/// type) and escapes has its typed neighbours tried (`typed_variants`). Every candidate is
/// judged by the evaluator: the replay is the proof, in the typed space too.
pub fn guess_escape(a: &PolicySet, b: &PolicySet) -> Option<Request> {
    use tarski_compiler::semantics::{derived_key_conflict, derived_values, well_typed};
    let escapes = |r: &Request| {
        derived_key_conflict(r).is_none()
            && evaluate(a, r).decision == Decision::Allow
            && evaluate(b, r).decision != Decision::Allow
    };
    let mut found = None;
    let mut ill_typed_tried = 0;
    each_guess(a, b, &mut |mut r| {
        // The keys AWS derives from the caller (`aws:PrincipalArn`, `aws:username`, ...) as
        // AWS sets them, where a condition's value put another one in the context.
        if derived_key_conflict(&r).is_some() {
            for (k, v) in derived_values(&r) {
                if r.context.get(k).is_some() {
                    r.context.set(k, v.into_iter().collect());
                }
            }
        }
        if well_typed(&r.action, &r.resource) {
            if escapes(&r) {
                found = Some(r);
            }
        } else if ill_typed_tried < 20 && escapes(&r) {
            ill_typed_tried += 1;
            found = typed_variants(&r)
                .into_iter()
                .find(|v| well_typed(&v.action, &v.resource) && escapes(v));
        }
        found.is_some()
    });
    found
}

/// Well-typed requests next to an ill-typed guess (see `guess_escape`), at most a few dozen.
fn typed_variants(r: &Request) -> Vec<Request> {
    use tarski_compiler::logic::problem::type_sample;
    use tarski_compiler::semantics::{resource_types, well_typed};
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(t) = resource_types(&r.action) {
        if t.star {
            pairs.push((r.action.clone(), "*".to_string()));
        }
        for arn in t.arns.iter().take(8) {
            pairs.push((r.action.clone(), type_sample(arn)));
        }
        for suffix in ["/example", "example", ":example"] {
            pairs.push((r.action.clone(), format!("{}{suffix}", r.resource)));
        }
    }
    if let Some([_, _, svc, _, _, _]) = tarski_compiler::value::split_arn(&r.resource) {
        pairs.extend(
            catalog()
                .service_actions(svc)
                .iter()
                .map(|a| a.full_name())
                .filter(|a| well_typed(a, &r.resource))
                .take(16)
                .map(|a| (a, r.resource.clone())),
        );
    }
    pairs
        .into_iter()
        .filter(|(a, res)| well_typed(a, res))
        .map(|(action, resource)| {
            let mut v = r.clone();
            // The owner follows the ARN's account field where it has one (a sample's is the
            // guess's stand-in account).
            if let Some([_, _, _, _, acct, _]) = tarski_compiler::value::split_arn(&resource) {
                if acct.len() == 12 && acct.bytes().all(|c| c.is_ascii_digit()) {
                    v.resource_account = Some(acct.to_string());
                }
            }
            v.action = action;
            v.resource = resource;
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use tarski_compiler::load::load;
    use tarski_compiler::policy::PolicyKind;
    use tarski_compiler::semantics::{derived_key_conflict, well_typed};

    fn identity(text: &str) -> PolicySet {
        let l = load("p.json", text, Some(PolicyKind::Identity), false);
        assert!(!l.has_errors(), "{:?}", l.first_error());
        PolicySet {
            identity: l.policies,
            ..PolicySet::default()
        }
    }

    fn allow(action: &str, resource: &str, cond: &str) -> PolicySet {
        identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"{cond}}}]}}"#
        ))
    }

    /// `Resource: "*"` used to give the guess `arn:aws:s3:us-east-1:…:tarski-example`, which
    /// no `s3:GetObject` request names: the guess was dropped and the solver asked. A typed
    /// neighbour (an object ARN) is a witness AWS can send, confirmed by the evaluator.
    #[test]
    fn a_star_resource_guess_becomes_a_well_typed_witness() {
        let a = allow("s3:GetObject", "*", "");
        let b = allow("s3:PutObject", "*", "");
        let r = guess_escape(&a, &b).expect("a guessed witness");
        assert!(well_typed(&r.action, &r.resource), "{r:?}");
        assert_eq!(r.action, "s3:GetObject");
        assert_eq!(evaluate(&a, &r).decision, Decision::Allow);
        assert_ne!(evaluate(&b, &r).decision, Decision::Allow);
        // The other direction has a typed witness too.
        let r = guess_escape(&b, &a).expect("a guessed witness");
        assert!(well_typed(&r.action, &r.resource), "{r:?}");
        // Same statements: nothing escapes, and no guess is returned.
        assert!(guess_escape(&a, &a).is_none());
    }

    /// A guess whose context gives a key AWS derives from the caller another value (the
    /// guessed caller is `user/tarski-user`, the condition wants `aws:username` = alice) is a
    /// request AWS never sends: never a witness.
    #[test]
    fn a_guess_contradicting_the_callers_keys_is_no_witness() {
        let a = allow(
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            r#","Condition":{"StringEquals":{"aws:username":"alice"}}"#,
        );
        let b = allow("s3:PutObject", "*", "");
        if let Some(r) = guess_escape(&a, &b) {
            assert!(derived_key_conflict(&r).is_none(), "{r:?}");
        }
    }

    fn statements(list: &[&str]) -> PolicySet {
        identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            list.join(",")
        ))
    }

    fn engine(syntactic: bool) -> crate::Options {
        crate::Options {
            witnesses: 1,
            syntactic,
            resources: Some(crate::backend::ResourceLimit {
                z3: 2_000_000,
                cvc5: 2_000_000,
            }),
            ..crate::Options::default()
        }
    }

    fn proved(a: &PolicySet, b: &PolicySet, syntactic: bool) -> bool {
        match crate::check::subset(a, b, None, &engine(syntactic))
            .unwrap()
            .verdict
        {
            crate::Verdict::Proved => true,
            crate::Verdict::Witnesses(_) => false,
            v => panic!("{v:?}"),
        }
    }

    /// The goal's reductions (`without_shared_allows`, `without_unrelated_allows`) decide the
    /// same questions as the full goal (the solver with syntax off), and do not apply where a
    /// deny of `b` that `a` lacks would make them wrong.
    #[test]
    fn reduced_goals_decide_the_same_questions() {
        const GET: &str = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
        const PUT: &str = r#"{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}"#;
        const EC2: &str = r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#;
        const IAM: &str = r#"{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}"#;
        const DENY: &str =
            r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret/*"}"#;
        const S3_ANY: &str = r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#;
        let cases: [(&[&str], &[&str], bool); 6] = [
            (&[GET, PUT], &[GET, PUT, EC2], true),
            (&[GET, PUT, EC2], &[GET, PUT], false),
            (&[GET, PUT, IAM], &[GET, IAM, S3_ANY, EC2], true),
            (&[GET, EC2], &[GET, DENY, EC2], false),
            (&[GET, DENY, IAM], &[GET, DENY], false),
            (&[PUT, IAM, DENY], &[S3_ANY, IAM, EC2, DENY], true),
        ];
        let mut applied = 0;
        for (x, y, holds) in cases {
            let (a, b) = (statements(x), statements(y));
            if let Some(a2) = without_shared_allows(&a, &b) {
                applied += 1;
                assert!(
                    a2.identity[0].policy.statements.len() < a.identity[0].policy.statements.len()
                );
            }
            if without_unrelated_allows(&a, &b).is_some() {
                applied += 1;
            }
            assert_eq!(proved(&a, &b, false), holds, "{x:?} within {y:?} (engine)");
            assert_eq!(proved(&a, &b, true), holds, "{x:?} within {y:?} (reduced)");
        }
        assert!(applied >= 5, "the reductions applied {applied} times");
        // A deny of `b` that `a` lacks: removing the shared allow would prove `a ⊆ b`.
        let (a, b) = (statements(&[GET, EC2]), statements(&[GET, DENY, EC2]));
        assert!(without_shared_allows(&a, &b).is_none());
    }
}
