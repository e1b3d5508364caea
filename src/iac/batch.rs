//! `tarski batch --template / --terraform-plan / --account-snapshot`: every policy document and
//! every principal (snapshot users and roles, template roles and users) as a subject, bounded
//! where deploy-time values are opaque, with records pointing at the input line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use tarski_compiler::checks::constraint_text;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, Extraction, FoundPolicy};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::parse_expr;
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
            let expr = parse_expr(&constraint_text(b))
                .map_err(|e| anyhow!("built-in check {}: {e}", b.name))?;
            if let Some(q) = question(b.quantifier, set.clone(), None, Some(expr)) {
                out.push(job(b.name.to_string(), Level::Error, q));
            }
        }
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
        let set = Arc::new(set_of_policies(vec![lp], kind));
        let mut jobs = self.jobs_for(cx, set, is_resource, &p.origin.file, &subject)?;
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
                    let overs = self.jobs_for(cx, over, is_resource, &p.origin.file, &subject)?;
                    let unders = self.jobs_for(cx, under, is_resource, &p.origin.file, &subject)?;
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
                .filter(|d| !matches!(d.code, "T0307" | "T0308"))
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
            let mut jobs = self.jobs_for(cx, over.clone(), false, file, &subject)?;
            if bounded {
                let unders = self.jobs_for(cx, under.clone(), false, file, &subject)?;
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
            let jobs = self.jobs_for(cx, Arc::new(set), false, file, &subject)?;
            self.jobs.extend(jobs);
        }
        Ok(())
    }

    /// Point records at the input files: a statement of a decoded document (a JSON string in a
    /// plan or snapshot) at the string in the file, and a record with no location at its
    /// policy or principal.
    pub fn relocate(&self, records: &mut [Record]) {
        for r in records.iter_mut() {
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
        ..BatchIac::default()
    };
    for Input {
        path,
        what,
        opts,
        from,
    } in inputs(a, &opts)
    {
        let path = &path;
        out.inputs += 1;
        let name = path.display().to_string();
        let text = match crate::load::read_text(path) {
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
        out.template_principals(cx, &name, &ex, a.values.managed_policies.as_deref())?;
    }
    Ok(out)
}
