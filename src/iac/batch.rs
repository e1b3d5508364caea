//! `tarski batch --template / --terraform-plan / --account-snapshot`: every policy document and
//! every principal (snapshot users and roles, template roles and users) as a subject, bounded
//! where deploy-time values are opaque, with records pointing at the input line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use tarski_compiler::checks::{constraint_for, PROBE_ACCOUNT};
use tarski_compiler::diagnostic::Code;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, Extraction, FoundPolicy};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::{parse_expr, Expr};
use tarski_compiler::spec::ast::{Level, Quantifier};

use super::principal::template_principal_sets;
use super::{first_error, inputs, loc, IacCheckArgs, Input};
use crate::run::{input_error, question, Job, Location, Question, Record, Status};
use crate::spec_load::set_of_policies;

/// What a batch run needs to turn a policy set into jobs.
pub struct BatchCx<'a> {
    pub checks: &'a [&'static tarski_compiler::checks::Builtin],
    pub spec: Option<(
        &'a crate::spec_load::Spec,
        &'a std::collections::HashMap<String, crate::spec_load::Resolved>,
    )>,
    pub boundary: Option<&'a Arc<PolicySet>>,
    pub in_shard: &'a dyn Fn(&str) -> bool,
    /// `--no-new-access --baseline DIR`.
    pub baseline: Option<&'a std::path::Path>,
}

/// The IaC part of a batch run: jobs to run, records already decided (input errors, unknowns
/// of symbolic policies, parts not read), and where records about each subject point.
#[derive(Default)]
pub struct BatchIac {
    pub jobs: Vec<Job>,
    pub records: Vec<Record>,
    /// IaC input files read.
    pub inputs: usize,
    /// Subject -> the location of its policy (or principal) in the input file.
    origins: HashMap<String, Location>,
    /// Source name of a decoded document (a JSON string in a plan or snapshot) -> where that
    /// string is in the input file.
    decoded: HashMap<String, Location>,
    /// Subject -> its deploy-time values modelled as symbolic strings, for record messages.
    modelled: HashMap<String, String>,
    /// `--no-model-unknowns` was given.
    no_model: bool,
    /// `[trusted]` of tarski.toml (accounts, organizations): the `no-external-access` check
    /// runs on every resource and trust policy, with the input's own account in the zone.
    trusted: Option<(Vec<String>, Vec<String>)>,
    /// The account of the input being read (`--account-id`, else `PROBE_ACCOUNT`).
    own: String,
    /// Subjects that are resource or trust policies: their `cannot` questions are asked as
    /// "allowed by the policy and not without it" (`beyond_owner`).
    resource_subjects: std::collections::HashSet<String>,
    /// With `--no-new-access`: the baseline's extraction of the input being read (`Some(None)`:
    /// the input has no baseline counterpart, so all it grants is new).
    base: Option<Option<Extraction>>,
}

fn diag_loc(source: &tarski_compiler::source::SourceFile, span_start: u32) -> Location {
    let (line, column) = source.line_col(span_start as usize);
    Location {
        file: source.name.clone(),
        line,
        column,
    }
}

/// The subject name of a policy document found in an input: `FILE#POINTER`.
pub fn doc_subject(p: &FoundPolicy) -> String {
    format!("{}#{}", p.origin.file, p.origin.pointer)
}

type Sets = (Arc<PolicySet>, Arc<PolicySet>);

fn empty_sets() -> Sets {
    let e = Arc::new(PolicySet::default());
    (e.clone(), e)
}

/// A found policy's widest and narrowest sets (the same set unless it has opaque values).
fn doc_sets(p: &FoundPolicy, kind: PolicyKind) -> Option<Sets> {
    let one = |fp: &FoundPolicy| {
        iac::check(fp, false)
            .policy
            .map(|lp| Arc::new(set_of_policies(vec![lp], kind)))
    };
    if p.opaque() {
        Some((
            one(&p.bounded(iac::bounds::Bound::Over)?)?,
            one(&p.bounded(iac::bounds::Bound::Under)?)?,
        ))
    } else {
        let s = one(p)?;
        Some((s.clone(), s))
    }
}

/// The same document (ignoring where it is written) with the same deploy-time values.
fn unchanged(a: &FoundPolicy, b: &FoundPolicy) -> bool {
    fn same(x: &tarski_compiler::json::Json, y: &tarski_compiler::json::Json) -> bool {
        use tarski_compiler::json::JsonKind as K;
        match (&x.kind, &y.kind) {
            (K::Array(u), K::Array(v)) => {
                u.len() == v.len() && u.iter().zip(v).all(|(p, q)| same(p, q))
            }
            (K::Object(u), K::Object(v)) => {
                u.len() == v.len()
                    && u.iter()
                        .zip(v)
                        .all(|(p, q)| p.key == q.key && same(&p.value, &q.value))
            }
            (k, l) => k == l,
        }
    }
    // Each value as written (the intrinsic's text): the same expression of the same inputs is
    // the same value in both versions; a description alone ("Fn::Select on values known only at
    // deploy time") would not tell two expressions apart.
    let whats = |p: &FoundPolicy| {
        p.unknowns
            .iter()
            .map(|u| {
                let text = p
                    .source
                    .text
                    .get(u.span.start as usize..u.span.end as usize)
                    .unwrap_or("");
                (u.what.clone(), text.to_string())
            })
            .collect::<Vec<_>>()
    };
    // Only values named by what they are (variables, parameters, imports) are the same in
    // both versions; a compound expression (`Fn::If` on a condition whose definition may have
    // changed) or a value computed at apply is not.
    let named = |p: &FoundPolicy| p.unknowns.iter().all(|u| u.modelled || u.named);
    match (&a.document, &b.document) {
        (Some(x), Some(y)) => named(a) && named(b) && same(x, y) && whats(a) == whats(b),
        _ => false,
    }
}

/// `no-new-access`: the new version allows nothing its baseline did not (for every value of
/// opaque deploy-time values when `bounded`).
fn no_new_access_job(file: &str, subject: &str, new: Sets, old: Sets, bounded: bool) -> Job {
    Job {
        file: file.to_string(),
        subject: subject.to_string(),
        check: "no-new-access".into(),
        severity: Level::Error,
        question: Question::Subset {
            a: new.0,
            b: old.0,
            expr: None,
        },
        under: bounded.then_some(Question::Subset {
            a: new.1,
            b: old.1,
            expr: None,
        }),
    }
}

/// The deploy-time values of a policy and how they were treated, for a record message.
fn modelled_text(p: &FoundPolicy) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let vars: Vec<String> = p
        .unknowns
        .iter()
        .filter(|u| u.modelled && seen.insert(u.placeholder.clone()))
        .map(|u| {
            let (l, c) = p.source.line_col(u.span.start as usize);
            let var = u.placeholder.trim_start_matches("${").trim_end_matches('}');
            format!("{var} = {} ({}:{l}:{c})", u.what, p.source.name)
        })
        .collect();
    let opaque: Vec<String> = p
        .unknowns
        .iter()
        .filter(|u| !u.modelled)
        .map(|u| {
            let (l, c) = p.source.line_col(u.span.start as usize);
            format!("{} ({}:{l}:{c})", u.what, p.source.name)
        })
        .collect();
    let mut parts = Vec::new();
    if !vars.is_empty() {
        parts.push(format!(
            "deploy-time value{} modelled as symbolic: {}",
            if vars.len() == 1 { "" } else { "s" },
            vars.join("; ")
        ));
    }
    if !opaque.is_empty() {
        parts.push(format!(
            "bounded for every value of (docs/iac.md, Bounds): {}",
            opaque.join("; ")
        ));
    }
    parts.join("; ")
}

/// The unknown values of a symbolic policy, for a record message.
fn unknowns_text(p: &FoundPolicy) -> String {
    p.unknowns
        .iter()
        .map(|u| {
            let (l, c) = p.source.line_col(u.span.start as usize);
            format!("{} ({}:{l}:{c})", u.what, p.source.name)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Who a principal subject's requests come from (issue 10, "subjects pinned"): a template's or
/// snapshot's role as a subject means requests made by sessions of that role, a user requests
/// made by that user, in its own account — nothing else. Without the pin the question ranges over
/// every caller, and the account's root user (which has full access within its account, "Policy
/// evaluation logic") "reaches" everything for a role with no policy at all.
#[derive(Clone, Debug)]
pub struct Pin {
    /// One alternative per account the principal may be in: (account, `principal == SESSION
    /// and aws:PrincipalArn ... and aws:PrincipalAccount == ACCOUNT`). One when the account is
    /// known; when it is not, each account the policies name and one they do not (so a policy
    /// that singles out an account is judged for that account too: no answer depends on the
    /// stand-in).
    pub alts: Vec<(String, Expr)>,
}

impl Pin {
    /// Any of the alternatives, each with `per_account(account)` (the built-in probes, in the
    /// principal's own account).
    pub fn expr(&self, per_account: &dyn Fn(&str) -> Option<Expr>) -> Expr {
        Expr::Or(
            self.alts
                .iter()
                .map(|(a, e)| match per_account(a) {
                    Some(x) => Expr::And(vec![x, e.clone()]),
                    None => e.clone(),
                })
                .collect(),
        )
    }
}

/// Keys derived from the principal that some policy of a set mentions (a condition, or a policy
/// variable), case-insensitively.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mentioned {
    pub principal_arn: bool,
    pub principal_account: bool,
}

fn mentioned(set: &PolicySet) -> Mentioned {
    let mut m = Mentioned::default();
    for (_, lp) in set.all() {
        let text = format!("{:?}", lp.policy.statements).to_ascii_lowercase();
        m.principal_arn |= text.contains("aws:principalarn");
        m.principal_account |= text.contains("aws:principalaccount");
    }
    m
}

/// The 12-digit account IDs a policy set names (in any element).
fn accounts_named(set: &PolicySet) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (_, lp) in set.all() {
        let text = format!("{:?}", lp.policy.statements);
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let j = (i..b.len())
                    .find(|&k| !b[k].is_ascii_digit())
                    .unwrap_or(b.len());
                if j - i == 12 {
                    out.insert(text[i..j].to_string());
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }
    out
}

/// An IAM name (role, user; "IAM identifiers", name requirements) or path, safe to quote in
/// a constraint.
fn iam_name(s: &str, path: bool) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) || (path && c == '/'))
        && (!path || (s.starts_with('/') && s.ends_with('/')))
}

/// The pin of a role (`kind` "role") or user of `account`. `name`/`path` are `None` when known
/// only at deploy time: the session's role name is then a stand-in (a principal entry matches
/// the exact ARN, and an identity-only set names none, so any name stands for all), and
/// `aws:PrincipalArn` ranges over every role (user) ARN of the account.
#[allow(clippy::too_many_arguments)]
pub fn pin(
    kind: &str,
    partition: Option<&str>,
    account: &str,
    account_known: bool,
    name: Option<&str>,
    path: Option<&str>,
    stand_in: &str,
    mentioned: &Mentioned,
) -> Result<Pin> {
    let name = name.filter(|n| iam_name(n, false));
    let path = path.filter(|p| iam_name(p, true));
    let shown = name.unwrap_or(if iam_name(stand_in, false) {
        stand_in
    } else {
        "tarski-principal"
    });
    let part = partition.filter(|p| iam_name(p, false)).unwrap_or("aws");
    let kind = if kind == "role" { "role" } else { "user" };
    let principal = match kind {
        "role" => format!("arn:{part}:sts::{account}:assumed-role/{shown}/tarski-session"),
        _ => format!(
            "arn:{part}:iam::{account}:user{}{shown}",
            path.unwrap_or("/")
        ),
    };
    // `aws:PrincipalArn` (and `aws:PrincipalAccount`) exactly when every part is known; else a
    // pattern every possible value matches (a stand-in account or partition would decide
    // conditions a real deployment might not meet).
    // A key no policy of the set mentions cannot change an answer: it is pinned to the
    // stand-in's value, so that witnesses read like AWS's.
    let exact = partition.is_some() && account_known || !mentioned.principal_arn;
    let arn = match (name, path, exact) {
        (Some(n), Some(p), true) => {
            format!(r#"aws:PrincipalArn == "arn:{part}:iam::{account}:{kind}{p}{n}""#)
        }
        _ if !mentioned.principal_arn => format!(
            r#"aws:PrincipalArn == "arn:{part}:iam::{account}:{kind}{}{shown}""#,
            path.unwrap_or("/")
        ),
        (n, p, _) => format!(
            r#"aws:PrincipalArn like "arn:{}:iam::{}:{kind}{}{}""#,
            if partition.is_some() || !mentioned.principal_arn {
                part
            } else {
                "*"
            },
            if account_known || !mentioned.principal_arn {
                account
            } else {
                "*"
            },
            p.unwrap_or(if n.is_some() { "/*" } else { "/" }),
            n.unwrap_or("?*")
        ),
    };
    let acct = if account_known || !mentioned.principal_account {
        format!(r#"aws:PrincipalAccount == "{account}""#)
    } else {
        "aws:PrincipalAccount present".to_string()
    };
    let text = format!(r#"principal == "{principal}" and {arn} and {acct}"#);
    let expr = parse_expr(&text).map_err(|e| anyhow!("subject constraint `{text}`: {e}"))?;
    Ok(Pin {
        alts: vec![(account.to_string(), expr)],
    })
}

/// The pin of a template's or plan's role or user whose effective permissions are `set`: the
/// template's account when it is given (--account-id, tarski.toml); else each account the
/// principal's policies name and one they do not (principal entries are compared exactly, so
/// every unnamed account behaves alike, logic/domain.rs), with the keys derived from the account
/// left to range over every value. The name when the template gives it.
pub fn template_pin(
    tp: &iac::attachments::TemplatePrincipal,
    opts: &cloudformation::Options,
    set: &PolicySet,
) -> Result<Pin> {
    let accounts: Vec<String> = match &opts.account_id {
        Some(a) => vec![a.clone()],
        None => {
            let mut named = accounts_named(set);
            named.insert(PROBE_ACCOUNT.to_string());
            named.into_iter().collect()
        }
    };
    let mut alts = Vec::new();
    let keys = mentioned(set);
    for a in &accounts {
        let one = pin(
            tp.kind,
            opts.partition.as_deref(),
            a,
            opts.account_id.is_some(),
            tp.name.as_deref(),
            tp.path.as_deref(),
            &tp.id,
            &keys,
        )?;
        alts.extend(one.alts);
    }
    Ok(Pin { alts })
}

/// The pin of a snapshot principal, from its ARN.
pub fn pin_of_arn(kind: &str, arn: &str) -> Result<Pin> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (partition, account, res) = match parts.as_slice() {
        ["arn", p, "iam", "", a, r] => (*p, *a, *r),
        _ => return Err(anyhow!("`{arn}` is not an IAM {kind} ARN")),
    };
    let rest = res
        .strip_prefix(kind)
        .filter(|r| r.starts_with('/'))
        .ok_or_else(|| anyhow!("`{arn}` is not an IAM {kind} ARN"))?;
    let cut = rest.rfind('/').unwrap_or(0);
    pin(
        kind,
        Some(partition),
        account,
        true,
        Some(&rest[cut + 1..]),
        Some(&rest[..=cut]),
        "",
        &Mentioned::default(),
    )
}

/// The constraint of `no-external-access`: a caller outside the zone of trust — not a principal of
/// `own` or a trusted account (a principal entry naming an account matches its users, role
/// sessions and root), not a member of a trusted organization (`aws:PrincipalOrgID`), and no
/// source account or organization inside the zone (a service acting for a resource of the zone).
/// IAM Access Analyzer, "IAM Access Analyzer findings": "Any principal in the organization or
/// account that you choose for the analyzer is considered trusted"; an external principal "can
/// be another AWS account, a root user, an IAM user or role, a federated user, an AWS service,
/// or an anonymous user" (Access Analyzer API reference).
pub fn external_text(own: &str, accounts: &[String], orgs: &[String]) -> String {
    let mut zone: Vec<&str> = vec![own];
    zone.extend(accounts.iter().map(String::as_str).filter(|a| *a != own));
    let list = zone
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut parts: Vec<String> = zone
        .iter()
        .map(|a| format!(r#"not (principal == "{a}")"#))
        .collect();
    parts.push(format!("aws:PrincipalAccount not in [{list}]"));
    parts.push(format!("aws:SourceAccount not in [{list}]"));
    for o in orgs {
        parts.push(format!(r#"aws:PrincipalOrgID != "{o}""#));
        parts.push(format!(r#"aws:SourceOrgID != "{o}""#));
    }
    parts.join(" and ")
}

/// `e and pin`.
fn pinned(e: Option<Expr>, pin: &Pin) -> Option<Expr> {
    let p = pin.expr(&|_| None);
    Some(match e {
        None => p,
        Some(e) => Expr::And(vec![e, p]),
    })
}

fn pin_question(q: Question, pin: &Pin) -> Question {
    match q {
        Question::Can { set, expr, expect } => Question::Can {
            set,
            expr: pinned(expr, pin),
            expect,
        },
        Question::Subset { a, b, expr } => Question::Subset {
            a,
            b,
            expr: pinned(expr, pin),
        },
        Question::Equiv { a, b, expr } => Question::Equiv {
            a,
            b,
            expr: pinned(expr, pin),
        },
    }
}

impl BatchIac {
    fn error(&mut self, subject: &str, file: &str, message: String, at: Location) {
        let mut r = input_error(file, message, Some(at));
        r.subject = subject.to_string();
        self.records.push(r);
    }

    /// Jobs for one policy set: the built-in checks that apply to its kind, within-boundary,
    /// and the spec assertions that name `policy`.
    fn jobs_for(
        &self,
        cx: &BatchCx,
        set: Arc<PolicySet>,
        is_resource: bool,
        file: &str,
        subject: &str,
        pin: Option<&Pin>,
    ) -> Result<Vec<Job>> {
        let mut out = Vec::new();
        let job = |check: String, severity: Level, question: Question| Job {
            file: file.to_string(),
            subject: subject.to_string(),
            check,
            severity,
            question,
            under: None,
        };
        for b in cx.checks {
            if b.resource_policies != is_resource {
                continue;
            }
            let parse = |text: String| {
                parse_expr(&text).map_err(|e| anyhow!("built-in check {}: {e}", b.name))
            };
            let expr = match pin {
                // The probes in the principal's own account, for each account it may be in.
                Some(p) => {
                    let err = std::cell::RefCell::new(None);
                    let e = p.expr(&|a| match parse(constraint_for(b, &set, a)) {
                        Ok(x) => Some(x),
                        Err(e) => {
                            err.borrow_mut().get_or_insert(e);
                            None
                        }
                    });
                    if let Some(e) = err.into_inner() {
                        return Err(e);
                    }
                    e
                }
                None => parse(constraint_for(b, &set, PROBE_ACCOUNT))?,
            };
            if let Some(q) = question(b.quantifier, set.clone(), None, Some(expr)) {
                out.push(job(b.name.to_string(), Level::Error, q));
            }
        }
        let builtins = out.len();
        if let (Some(bd), false) = (cx.boundary, is_resource) {
            if let Some(q) = question(Quantifier::Subset, set.clone(), Some(bd.clone()), None) {
                out.push(job("within-boundary".into(), Level::Error, q));
            }
        }
        if let Some((s, n)) = cx.spec {
            for mut j in crate::spec_load::jobs(s, n, Some(&(set.clone(), subject.to_string()))) {
                j.file = file.to_string();
                out.push(j);
            }
        }
        if is_resource {
            // A resource or trust policy on its own: what it lets through beyond what the
            // resource's own account has without it (its root user has full access within the
            // account whatever the policy says, "Policy evaluation logic"), so `cannot`
            // questions are "allowed by the policy and not by no policy at all".
            // The built-in `no-public-access` asks about anonymous callers and an outsider,
            // whom no policy-less set allows: the same question, asked directly (cheaper).
            let none = Arc::new(PolicySet::default());
            for j in out.iter_mut().skip(builtins) {
                if let Question::Can {
                    set,
                    expr,
                    expect: false,
                } = &j.question
                {
                    j.question = Question::Subset {
                        a: set.clone(),
                        b: none.clone(),
                        expr: expr.clone(),
                    };
                }
            }
            if let Some((accounts, orgs)) = &self.trusted {
                // AWS service principals are out of this check's scope (docs/ci.md): the
                // services the policy names, and the unnamed one of the principal domain.
                let mut services: Vec<String> = vec!["tarski.amazonaws.com".to_string()];
                for st in set
                    .all()
                    .into_iter()
                    .flat_map(|(_, lp)| lp.policy.statements.iter())
                {
                    for e in st.principal.iter().flat_map(|p| p.entries.iter()) {
                        if let tarski_compiler::policy::PrincipalEntry::Service(v) = &e.value {
                            services.push(v.clone());
                        }
                    }
                }
                let mut text = external_text(&self.own, accounts, orgs);
                for v in services {
                    if !v.contains('"') {
                        text.push_str(&format!(r#" and not (principal == "{v}")"#));
                    }
                }
                let expr = parse_expr(&text)
                    .map_err(|e| anyhow!("no-external-access constraint `{text}`: {e}"))?;
                out.push(job(
                    "no-external-access".into(),
                    Level::Error,
                    Question::Subset {
                        a: set.clone(),
                        b: none,
                        expr: Some(expr),
                    },
                ));
            }
        }
        if let Some(p) = pin {
            // The built-in questions are pinned above, with their probes.
            for j in out.iter_mut().skip(builtins) {
                j.question = pin_question(j.question.clone(), p);
            }
        }
        Ok(out)
    }

    /// One policy document of a template or plan (or a role's trust policy in a snapshot).
    fn document(&mut self, cx: &BatchCx, p: &FoundPolicy) -> Result<()> {
        let subject = doc_subject(p);
        if !(cx.in_shard)(&subject) {
            return Ok(());
        }
        let at = loc(&p.origin);
        self.origins.insert(subject.clone(), at.clone());
        if p.source.name != p.origin.file {
            self.decoded.insert(p.source.name.clone(), at.clone());
        }
        let c = iac::check(p, false);
        let Some(lp) = c.policy.clone() else {
            let (msg, start) = first_error(&c);
            let at = match start {
                Some(s) if p.source.name == p.origin.file => diag_loc(&p.source, s),
                _ => at,
            };
            self.error(&subject, &p.origin.file, msg, at);
            return Ok(());
        };
        let kind = lp.policy.kind;
        let is_resource = matches!(kind, PolicyKind::Resource | PolicyKind::Trust);
        if is_resource {
            self.resource_subjects.insert(subject.clone());
        }
        let set = Arc::new(set_of_policies(vec![lp], kind));
        let mut jobs = self.jobs_for(cx, set, is_resource, &p.origin.file, &subject, None)?;
        if p.symbolic() {
            // Say which answers are about every value of which deploy-time values.
            self.modelled.insert(subject.clone(), modelled_text(p));
        }
        // Opaque values: ask each question of the policy's bounds (docs/iac.md, Bounds).
        let bounded = if p.opaque() {
            let side = |b| {
                p.bounded(b)
                    .and_then(|fp| iac::check(&fp, false).policy)
                    .map(|lp| Arc::new(set_of_policies(vec![lp], kind)))
            };
            match (
                side(iac::bounds::Bound::Over),
                side(iac::bounds::Bound::Under),
            ) {
                (Some(over), Some(under)) => {
                    let overs =
                        self.jobs_for(cx, over, is_resource, &p.origin.file, &subject, None)?;
                    let unders =
                        self.jobs_for(cx, under, is_resource, &p.origin.file, &subject, None)?;
                    jobs = overs
                        .into_iter()
                        .zip(unders)
                        .map(|(mut o, u)| {
                            o.under = Some(u.question);
                            o
                        })
                        .collect();
                    true
                }
                _ => false,
            }
        } else {
            false
        };
        if p.opaque() && !bounded {
            // Never a pass: every question about a policy with a value that cannot be modelled
            // is `unknown`, with the values it depends on (docs/iac.md).
            let msg = format!(
                "not checked: {} value{} known only at deploy time: {}; {} \
                 give them (--parameter, --partition, --region, --account-id)",
                p.unknowns.len(),
                if p.unknowns.len() == 1 {
                    " is"
                } else {
                    "s are"
                },
                unknowns_text(p),
                if self.no_model {
                    "they are not modelled (--no-model-unknowns);"
                } else {
                    "values in actions or principals, and values that may hold a wildcard (parameters \
                     without AllowedValues/AllowedPattern, imports, computed expressions), cannot be \
                     modelled as symbolic strings;"
                }
            );
            for j in jobs {
                self.records.push(Record {
                    file: j.file,
                    subject: j.subject,
                    check: j.check,
                    severity: j.severity,
                    status: Status::Unknown,
                    message: msg.clone(),
                    witnesses: Vec::new(),
                    location: Some(at.clone()),
                    elapsed: std::time::Duration::ZERO,
                });
            }
        } else {
            self.jobs.extend(jobs);
            if let Some(base) = &self.base {
                let old = base.as_ref().and_then(|ex| {
                    ex.policies
                        .iter()
                        .find(|q| q.origin.pointer == p.origin.pointer)
                });
                let new = doc_sets(p, kind);
                let old_sets = match old {
                    None => Some(empty_sets()),
                    Some(q) => doc_sets(q, kind),
                };
                match (new, old_sets) {
                    // Unchanged (the same document and the same deploy-time values): the
                    // same deployment on both sides, so nothing is new — which bounds, taken
                    // for each side on its own, could not show.
                    (Some(n), Some(_)) if old.is_some_and(|q| unchanged(p, q)) => {
                        let same = (n.0.clone(), n.0.clone());
                        self.jobs
                            .push(no_new_access_job(&p.origin.file, &subject, n, same, false));
                    }
                    (Some(n), Some(o)) => {
                        let opaque = p.opaque() || old.is_some_and(|q| q.opaque());
                        self.jobs.push(no_new_access_job(&p.origin.file, &subject, n, o, opaque));
                    }
                    _ => self.error(
                        &subject,
                        &p.origin.file,
                        "no-new-access: the baseline's policy at the same pointer cannot be checked (run `tarski check` on the baseline)".to_string(),
                        at.clone(),
                    ),
                }
            }
        }
        Ok(())
    }

    /// File-level problems of an extraction: errors are input errors; parts not read
    /// (transforms, nested stacks, ...) are `unknown` records, so nothing is skipped silently.
    fn file_problems(
        &mut self,
        cx: &BatchCx,
        file: &str,
        groups: &[tarski_compiler::load::SourceDiagnostics],
    ) {
        for g in groups {
            // T0307 (the SAM transform is modelled) is a note: each part not read has its own
            // T0305.
            // T0308 (a duplicate key outside policies and the values they use) is a warning
            // of `check` only.
            for d in g
                .diagnostics
                .iter()
                .filter(|d| !matches!(d.code, Code::SamModelled | Code::DuplicateYamlKey))
            {
                let at = diag_loc(&g.source, d.span.start);
                let subject = format!("{file}:{}", at.line);
                if !(cx.in_shard)(&subject) {
                    continue;
                }
                let msg = format!("{} [{}]", d.message, d.code);
                if d.is_error() {
                    self.error(&subject, file, msg, at);
                } else {
                    self.records.push(Record {
                        file: file.to_string(),
                        subject,
                        check: "input-coverage".to_string(),
                        // Not read is not clean: the run's answer is `unknown` (exit 2), unless
                        // the configuration lowers the check's severity (docs/ci.md).
                        severity: Level::Error,
                        status: Status::Unknown,
                        message: msg,
                        witnesses: Vec::new(),
                        location: Some(at),
                        elapsed: std::time::Duration::ZERO,
                    });
                }
            }
        }
    }

    /// Every user and role of a snapshot is a subject whose set is its effective permissions:
    /// inline, attached and group policies as identity policies, and its boundary.
    /// Each role and user a template defines is a subject `FILE:role/LOGICAL_ID` whose set is
    /// its effective permissions (inline, attached, group policies; its boundary), bounded
    /// when a policy has opaque values.
    fn template_principals(
        &mut self,
        cx: &BatchCx,
        file: &str,
        ex: &Extraction,
        managed: Option<&std::path::Path>,
        opts: &cloudformation::Options,
    ) -> Result<()> {
        for tp in &ex.principals {
            let subject = format!("{file}:{}/{}", tp.kind, tp.id);
            if !(cx.in_shard)(&subject) {
                continue;
            }
            let (line, column) = match ex.policies.first() {
                Some(p) => p.source.line_col(tp.span.start as usize),
                None => (0, 0),
            };
            let at = Location {
                file: file.to_string(),
                line,
                column,
            };
            self.origins.insert(subject.clone(), at.clone());
            // A statement of a built-in AWS managed policy is reported at the principal that
            // attaches it.
            for &i in &tp.identity {
                let p = &ex.policies[i];
                if p.external() {
                    self.decoded.insert(p.source.name.clone(), at.clone());
                }
            }
            let (over, under) = match template_principal_sets(ex, tp, managed) {
                Ok(s) => s,
                Err((msg, origin)) => {
                    let at = origin.as_ref().map(loc).unwrap_or(at);
                    self.error(&subject, file, format!("{}/{}: {msg}", tp.kind, tp.id), at);
                    continue;
                }
            };
            let opaque: Vec<&FoundPolicy> = tp
                .identity
                .iter()
                .chain(tp.boundary.iter())
                .map(|&i| &ex.policies[i])
                .filter(|p| p.symbolic())
                .collect();
            if !opaque.is_empty() {
                let notes: Vec<String> = opaque.iter().map(|p| modelled_text(p)).collect();
                self.modelled.insert(subject.clone(), notes.join("; "));
            }
            let bounded = opaque.iter().any(|p| p.opaque());
            let (over, under) = (Arc::new(over), Arc::new(under));
            let pin = template_pin(tp, opts, &over)?;
            let mut jobs = self.jobs_for(cx, over.clone(), false, file, &subject, Some(&pin))?;
            if bounded {
                let unders = self.jobs_for(cx, under.clone(), false, file, &subject, Some(&pin))?;
                for (j, u) in jobs.iter_mut().zip(unders) {
                    j.under = Some(u.question);
                }
            }
            self.jobs.extend(jobs);
            if let Some(base) = &self.base {
                let old = match base.as_ref().and_then(|ex| {
                    ex.principals
                        .iter()
                        .find(|t| t.id == tp.id && t.kind == tp.kind)
                        .map(|t| (ex, t))
                }) {
                    None => Ok((PolicySet::default(), PolicySet::default(), false)),
                    Some((ex, t)) => template_principal_sets(ex, t, managed).map(|(o, u)| {
                        let opaque = t
                            .identity
                            .iter()
                            .chain(t.boundary.iter())
                            .any(|&i| ex.policies[i].opaque());
                        (o, u, opaque)
                    }),
                };
                match old {
                    Ok((o, u, old_opaque)) => self.jobs.push(no_new_access_job(
                        file,
                        &subject,
                        (over, under),
                        (Arc::new(o), Arc::new(u)),
                        bounded || old_opaque,
                    )),
                    Err((msg, _)) => self.error(
                        &subject,
                        file,
                        format!("no-new-access: in the baseline, {msg}"),
                        at.clone(),
                    ),
                }
            }
        }
        Ok(())
    }

    fn snapshot(&mut self, cx: &BatchCx, file: &str, text: &str) -> Result<()> {
        let snap = snapshot::read(file, text);
        self.file_problems(cx, file, &snap.problems.diagnostics);
        // The snapshot's account (its principals' ARNs) is the zone's own account.
        if let Some(acct) = snap
            .principals
            .iter()
            .filter(|p| p.kind != "group")
            .find_map(|p| snap.principal(&format!("{}/{}", p.kind, p.name)).ok())
            .and_then(|pp| pp.arn.split(':').nth(4).map(str::to_string))
            .filter(|a| !a.is_empty())
        {
            self.own = acct;
        }
        for pr in &snap.principals {
            if pr.kind == "group" {
                continue;
            }
            if let Some(t) = &pr.trust {
                self.document(cx, t)?;
            }
            let who = format!("{}/{}", pr.kind, pr.name);
            let subject = format!("{file}:{who}");
            if !(cx.in_shard)(&subject) {
                continue;
            }
            let at = loc(&pr.origin);
            self.origins.insert(subject.clone(), at.clone());
            let pp = match snap.principal(&who) {
                Ok(pp) => pp,
                Err(e) => {
                    self.error(&subject, file, e, at);
                    continue;
                }
            };
            let mut set = PolicySet::default();
            let mut bad = None;
            let all = pp
                .identity
                .iter()
                .map(|p| (p, false))
                .chain(pp.boundary.iter().map(|p| (p, true)));
            for (fp, is_boundary) in all {
                if fp.source.name != fp.origin.file {
                    self.decoded.insert(fp.source.name.clone(), loc(&fp.origin));
                }
                let c = iac::check(fp, false);
                match c.policy {
                    Some(lp) if is_boundary => set.boundary = Some(lp),
                    Some(lp) => set.identity.push(lp),
                    None => {
                        let (msg, _) = first_error(&c);
                        bad = Some((
                            format!("{who}: policy {} has errors: {msg}", fp.origin.address),
                            loc(&fp.origin),
                        ));
                        break;
                    }
                }
            }
            if let Some((msg, l)) = bad {
                self.error(&subject, file, msg, l);
                continue;
            }
            let pin = match pin_of_arn(pr.kind, &pp.arn) {
                Ok(p) => p,
                Err(e) => {
                    self.error(&subject, file, format!("{who}: {e:#}"), at);
                    continue;
                }
            };
            let jobs = self.jobs_for(cx, Arc::new(set), false, file, &subject, Some(&pin))?;
            self.jobs.extend(jobs);
        }
        Ok(())
    }

    /// Point records at the input files: a statement of a decoded document (a JSON string in a
    /// plan or snapshot) at the string in the file, and a record with no location at its
    /// policy or principal.
    pub fn relocate(&self, records: &mut [Record]) {
        for r in records.iter_mut() {
            if self.resource_subjects.contains(&r.subject) && r.check != "no-new-access" {
                // `cannot` questions about a resource or trust policy are asked as "allowed by
                // the policy and not without it" (`jobs_for`); say it as what it means.
                if r.message.starts_with("not contained:") {
                    r.message = "reachable: the policy lets a request through that the resource's \
                                 account would not allow without it (see witness)"
                        .to_string();
                } else if r.message == "proved contained" {
                    r.message = "proved unreachable".to_string();
                }
            }
            if let Some(m) = self.modelled.get(&r.subject) {
                if r.status != Status::Error {
                    r.message = if r.message.is_empty() {
                        m.clone()
                    } else {
                        format!("{} ({m})", r.message)
                    };
                }
            }
            match &r.location {
                Some(l) => {
                    if let Some(to) = self.decoded.get(&l.file) {
                        r.location = Some(to.clone());
                    }
                }
                None if r.status != Status::Pass => {
                    if let Some(to) = self.origins.get(&r.subject) {
                        r.location = Some(to.clone());
                    }
                }
                None => {}
            }
        }
    }
}

/// Read every IaC input of `batch` and turn its policies (and a snapshot's principals) into jobs.
pub fn batch(a: &IacCheckArgs, cx: &BatchCx) -> Result<BatchIac> {
    let opts = a.options()?;
    let mut out = BatchIac {
        no_model: a.values.no_model_unknowns,
        trusted: a.values.trusted.as_deref().cloned(),
        ..BatchIac::default()
    };
    for input in inputs(a, &opts) {
        let read = input.read();
        let Input {
            path,
            what,
            opts,
            from,
            ..
        } = input;
        let path = &path;
        out.inputs += 1;
        out.own = opts
            .account_id
            .clone()
            .unwrap_or_else(|| PROBE_ACCOUNT.to_string());
        let name = path.display().to_string();
        let text = match read {
            Ok(t) => t,
            Err(e) => {
                if (cx.in_shard)(&name) {
                    let msg = match &from {
                        Some(f) => format!("{f}: {e:#}"),
                        None => format!("{e:#}"),
                    };
                    out.records.push(input_error(&name, msg, None));
                }
                continue;
            }
        };
        if what == 2 {
            out.snapshot(cx, &name, &text)?;
            continue;
        }
        let extract = |name: &str, text: &str| {
            if what == 0 {
                cloudformation::extract(name, text, &opts)
            } else {
                terraform::extract(name, text)
            }
        };
        let ex: Extraction = extract(&name, &text);
        // The baseline counterpart: the same relative path under the baseline directory (an
        // absolute path: its file name).
        out.base = match cx.baseline {
            None => None,
            Some(dir) => {
                let rel = if path.is_relative() {
                    path.to_path_buf()
                } else {
                    PathBuf::from(path.file_name().unwrap_or_default())
                };
                let counterpart = dir.join(rel);
                match std::fs::metadata(&counterpart) {
                    Err(_) => Some(None),
                    Ok(_) => {
                        let old = crate::load::read_text(&counterpart)?;
                        Some(Some(extract(&counterpart.display().to_string(), &old)))
                    }
                }
            }
        };
        out.file_problems(cx, &name, &ex.diagnostics);
        for p in ex.policies.iter().filter(|p| !p.external()) {
            out.document(cx, p)?;
        }
        out.template_principals(cx, &name, &ex, a.values.managed_policies.as_deref(), &opts)?;
    }
    Ok(out)
}
