//! Infrastructure-as-code inputs on the command line: `check --template / --terraform-plan /
//! --account-snapshot`, and `--principal-of` for `eval` and `can` (docs/iac.md).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Value};
use tarski_compiler::checks::constraint_text;
use tarski_compiler::diagnostic::Severity;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, Extraction, FoundPolicy};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::query::parse_expr;
use tarski_compiler::spec::ast::{Level, Quantifier};

use crate::cli::{CheckArgs, Format, SetArgs};
use crate::run::{input_error, question, Job, Location, Question, Record, Status};
use crate::spec_load::set_of_policies;

/// `tarski check` inputs that hold policies among other things.
#[derive(Args, Debug, Clone, Default)]
pub struct IacCheckArgs {
    /// A CloudFormation / CDK / SAM template (JSON or YAML), or a directory such as `cdk.out`
    /// (its `*.template.json|yaml` files; nested stacks through their parents); every policy in
    /// it is checked.
    #[arg(long = "template", value_name = "FILE")]
    pub templates: Vec<PathBuf>,
    /// The JSON of `terraform show -json PLANFILE` (or of the state).
    #[arg(long = "terraform-plan", value_name = "FILE")]
    pub terraform_plans: Vec<PathBuf>,
    /// The output of `aws iam get-account-authorization-details`.
    #[arg(long = "account-snapshot", value_name = "FILE")]
    pub account_snapshots: Vec<PathBuf>,
    #[command(flatten)]
    pub values: IacValueArgs,
}

impl IacCheckArgs {
    pub fn count(&self) -> usize {
        self.templates.len() + self.terraform_plans.len() + self.account_snapshots.len()
    }

    fn options(&self) -> Result<cloudformation::Options> {
        self.values.options()
    }
}

/// Values for templates, known on the command line: every command that reads templates
/// (`check`, `batch`, and `FILE#POLICY` references anywhere a policy file is accepted).
#[derive(Args, Debug, Clone, Default)]
pub struct IacValueArgs {
    /// A template parameter value, NAME=VALUE (overrides the parameter's default).
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// AWS::AccountId for templates (unknown when not given).
    #[arg(long)]
    pub account_id: Option<String>,
    /// AWS::Partition for templates, e.g. `aws` (unknown when not given).
    #[arg(long)]
    pub partition: Option<String>,
    /// AWS::Region for templates (unknown when not given).
    #[arg(long)]
    pub region: Option<String>,
    /// A directory of AWS managed policy documents named `NAME.json` (such as `corpus/aws-managed`
    /// of the Tarski repository), for templates whose roles attach them by ARN.
    #[arg(long, value_name = "DIR")]
    pub managed_policies: Option<PathBuf>,
    /// Do not model values known only at deploy time as symbolic strings: questions about a
    /// policy with any such value are `unknown`. By default an unknown in a resource or a
    /// condition value is a fresh symbolic string: proofs hold for every value it could take,
    /// and witnesses show the value they need (as a context key such as `tarski:GetAtt/Bucket.Arn`).
    #[arg(long)]
    pub no_model_unknowns: bool,
}

impl IacValueArgs {
    pub fn options(&self) -> Result<cloudformation::Options> {
        let mut parameters = BTreeMap::new();
        for p in &self.parameters {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("--parameter `{p}`: expected NAME=VALUE"))?;
            parameters.insert(k.to_string(), v.to_string());
        }
        Ok(cloudformation::Options {
            parameters,
            account_id: self.account_id.clone(),
            partition: self.partition.clone(),
            region: self.region.clone(),
            url_suffix: None,
            model_unknowns: !self.no_model_unknowns,
            parameter_vars: BTreeMap::new(),
        })
    }
}

/// `--principal-of` for `eval` and `can`.
#[derive(Args, Debug, Clone, Default)]
pub struct PrincipalOfArgs {
    /// Use the policies of this principal in the account snapshot: `role/NAME`, `user/NAME` or
    /// its ARN (inline, attached and group policies as identity policies; its boundary).
    #[arg(long, value_name = "role/NAME|user/NAME")]
    pub principal_of: Option<String>,
    /// The output of `aws iam get-account-authorization-details`.
    #[arg(long, value_name = "FILE", conflicts_with = "template")]
    pub account_snapshot: Option<PathBuf>,
    /// A CloudFormation / CDK template: `--principal-of LOGICAL_ID` (or `role/LOGICAL_ID`) is a
    /// role or user it defines, with its inline, attached and group policies and boundary.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}

/// Totals of a check run.
#[derive(Default)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub unreadable: usize,
}

fn policy_record(p: &FoundPolicy, valid: bool, kind: Option<&str>) -> Value {
    let unknowns: Vec<Value> = p
        .unknowns
        .iter()
        .map(|u| {
            let (line, column) = p.source.line_col(u.span.start as usize);
            json!({"what": u.what, "line": line, "column": column, "placeholder": u.placeholder,
                   "modelled": u.modelled})
        })
        .collect();
    json!({
        "file": p.origin.file,
        "policy": {
            "address": p.origin.address,
            "pointer": p.origin.pointer,
            "line": p.origin.line,
            "column": p.origin.column,
            "kind": kind.or(p.kind.map(|k| k.as_str())),
            "symbolic": p.symbolic(),
            "opaque": p.opaque(),
            "valid": valid,
            "unknowns": unknowns,
        }
    })
}

/// One IaC input to read.
struct Input {
    path: PathBuf,
    /// 0 template, 1 plan, 2 snapshot.
    what: u8,
    opts: cloudformation::Options,
    /// For a nested stack's template: which parent names it.
    from: Option<String>,
}

/// The IaC inputs with their kind (0 template, 1 plan, 2 snapshot) and template values: the
/// templates given, then the nested stacks' templates they name as local files (CDK's
/// `aws:asset:path`, SAM's `Location`), each with the parameter values its parent passes.
fn inputs(a: &IacCheckArgs, opts: &cloudformation::Options) -> Vec<Input> {
    let mut out: Vec<Input> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // A directory (a CDK `cdk.out`) stands for its templates; nested ones are read through
    // their parents, with the parameters those pass.
    let mut given: Vec<PathBuf> = Vec::new();
    for t in &a.templates {
        match std::fs::read_dir(t) {
            Ok(entries) => {
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        [".template.json", ".template.yaml", ".template.yml"]
                            .iter()
                            .any(|x| n.ends_with(x))
                            && !n.contains(".nested.template.")
                    })
                    .collect();
                found.sort();
                given.extend(found);
            }
            Err(_) => given.push(t.clone()),
        }
    }
    type Queued = (PathBuf, cloudformation::Options, usize, Option<String>);
    let mut queue: std::collections::VecDeque<Queued> = given
        .into_iter()
        .map(|p| (p, opts.clone(), 0, None))
        .collect();
    while let Some((path, o, depth, from)) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        if depth < 8 {
            if let Ok(text) = crate::load::read_text(&path) {
                let ex = cloudformation::extract(&path.display().to_string(), &text, &o);
                let dir = path.parent().map(PathBuf::from).unwrap_or_default();
                for n in ex.nested {
                    let child = cloudformation::Options {
                        parameters: n.parameters,
                        parameter_vars: n.parameter_vars,
                        ..o.clone()
                    };
                    let from = format!(
                        "the template of nested stack `{}` in {}",
                        n.id,
                        path.display()
                    );
                    queue.push_back((dir.join(&n.path), child, depth + 1, Some(from)));
                }
            }
        }
        out.push(Input {
            path,
            what: 0,
            opts: o,
            from,
        });
    }
    out.extend(a.terraform_plans.iter().map(|p| Input {
        path: p.clone(),
        what: 1,
        opts: opts.clone(),
        from: None,
    }));
    out.extend(a.account_snapshots.iter().map(|p| Input {
        path: p.clone(),
        what: 2,
        opts: opts.clone(),
        from: None,
    }));
    out
}

/// Check every policy in the IaC inputs of `check`; adds to `counts` and `records`.
pub fn check(args: &CheckArgs, counts: &mut Counts, records: &mut Vec<Value>) -> Result<()> {
    let a = &args.iac;
    let opts = a.options()?;
    for Input {
        path,
        what,
        opts,
        from,
    } in inputs(a, &opts)
    {
        let name = path.display().to_string();
        let text = match crate::load::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                let e = match &from {
                    Some(f) => e.context(f.clone()),
                    None => e,
                };
                counts.unreadable += 1;
                match args.format {
                    Format::Text => eprintln!("error: {e:#}"),
                    Format::Json => records.push(json!({"file": name, "severity": "error", "code": "T0000", "message": format!("{e:#}")})),
                }
                continue;
            }
        };
        let ex: Extraction = match what {
            0 => cloudformation::extract(&name, &text, &opts),
            1 => terraform::extract(&name, &text),
            _ => snapshot::extract(&name, &text),
        };
        let mut groups = ex.diagnostics;
        let mut found = Vec::new();
        for p in &ex.policies {
            let c = iac::check(p, true);
            let kind = c.policy.as_ref().map(|l| l.policy.kind.as_str());
            found.push((p, c.policy.is_some(), kind.map(String::from)));
            if !c.diagnostics.diagnostics.is_empty() {
                groups.push(c.diagnostics);
            }
        }
        for g in &groups {
            for d in &g.diagnostics {
                match d.severity {
                    Severity::Error => counts.errors += 1,
                    Severity::Warning => counts.warnings += 1,
                }
            }
        }
        match args.format {
            Format::Text => {
                crate::render::text(&groups);
                for (p, valid, kind) in &found {
                    eprintln!(
                        "note: {}:{}: {} ({}): {} policy{}{}",
                        p.origin.file,
                        p.origin.line,
                        p.origin.address,
                        p.origin.pointer,
                        kind.as_deref()
                            .or(p.kind.map(|k| k.as_str()))
                            .unwrap_or("unknown-kind"),
                        if p.opaque() {
                            format!(
                                ", symbolic ({} unknown values, some bounded rather than modelled)",
                                p.unknowns.len()
                            )
                        } else if p.symbolic() {
                            format!(
                                ", symbolic ({} unknown values modelled as symbolic strings)",
                                p.unknowns.len()
                            )
                        } else {
                            String::new()
                        },
                        if *valid { "" } else { ", not checked: errors" }
                    );
                }
                eprintln!("{name}: {} policies found", found.len());
            }
            Format::Json => {
                for g in &groups {
                    records.extend(
                        g.diagnostics
                            .iter()
                            .map(|d| crate::render::json_value(g, d)),
                    );
                }
                for (p, valid, kind) in &found {
                    records.push(policy_record(p, *valid, kind.as_deref()));
                }
            }
        }
    }
    Ok(())
}

fn set_given(s: &SetArgs) -> bool {
    !s.identity.is_empty()
        || s.manifest.is_some()
        || s.boundary.is_some()
        || !s.scps.is_empty()
        || !s.rcps.is_empty()
        || s.session_policy.is_some()
        || s.resource_policy.is_some()
}

fn loaded(p: &FoundPolicy) -> Result<LoadedPolicy> {
    if p.opaque() {
        // Snapshots have no unknowns; an opaque placeholder is never used in a proof.
        bail!(
            "{}: the policy has unknown values; proofs over it are not supported",
            p.origin.address
        );
    }
    let c = iac::check(p, false);
    match c.policy {
        Some(l) => Ok(l),
        None => {
            crate::render::text(std::slice::from_ref(&c.diagnostics));
            bail!(
                "{} ({}): the policy has errors",
                p.origin.address,
                p.origin.file
            )
        }
    }
}

/// A template principal's policy sets: the widest and the narrowest (equal unless a policy has
/// opaque values, docs/iac.md "Bounds"). An attachment Tarski cannot resolve is an error:
/// leaving a policy out would under-approximate what the principal may do.
pub fn template_principal_sets(
    ex: &Extraction,
    tp: &iac::attachments::TemplatePrincipal,
    managed_dir: Option<&std::path::Path>,
) -> std::result::Result<(PolicySet, PolicySet), (String, Option<iac::Origin>)> {
    if let Some(d) = tp.problems.first() {
        return Err((format!("{} [{}]", d.message, d.code), None));
    }
    let mut over = PolicySet::default();
    let mut under = PolicySet::default();
    let both = |fp: &FoundPolicy, kind: PolicyKind| {
        let side = |b| -> std::result::Result<LoadedPolicy, (String, Option<iac::Origin>)> {
            let mut f = if fp.opaque() {
                fp.bounded(b).unwrap_or_else(|| fp.clone())
            } else {
                fp.clone()
            };
            f.kind = Some(kind);
            let c = iac::check(&f, false);
            let (msg, _) = first_error(&c);
            c.policy.ok_or_else(|| {
                (
                    format!("policy {} has errors: {msg}", fp.origin.address),
                    Some(fp.origin.clone()),
                )
            })
        };
        Ok::<_, (String, Option<iac::Origin>)>((
            side(iac::bounds::Bound::Over)?,
            side(iac::bounds::Bound::Under)?,
        ))
    };
    for &i in &tp.identity {
        let (o, u) = both(&ex.policies[i], PolicyKind::Identity)?;
        over.identity.push(o);
        under.identity.push(u);
    }
    if let Some(b) = tp.boundary {
        let (o, u) = both(&ex.policies[b], PolicyKind::Boundary)?;
        over.boundary = Some(o);
        under.boundary = Some(u);
    }
    for (name, _) in &tp.aws_managed {
        let Some(dir) = managed_dir else {
            return Err((
                format!(
                    "`{}` attaches the AWS managed policy `{name}`, which is not in the template: \
                     pass --managed-policies DIR (a directory of NAME.json documents, such as \
                     corpus/aws-managed)",
                    tp.id
                ),
                None,
            ));
        };
        let path = dir.join(format!("{name}.json"));
        let lp = crate::load::policies(&path, PolicyKind::Identity)
            .map_err(|e| (format!("`{}` attaches `{name}`: {e:#}", tp.id), None))?;
        over.identity.extend(lp.iter().cloned());
        under.identity.extend(lp);
    }
    Ok((over, under))
}

fn template_principal(who: &str, path: &std::path::Path) -> Result<PolicySet> {
    let text = crate::load::read_text(path)?;
    let values = crate::reference::values_args();
    let ex = cloudformation::extract(&path.display().to_string(), &text, &values.0);
    let id = who
        .strip_prefix("role/")
        .or_else(|| who.strip_prefix("user/"))
        .unwrap_or(who);
    let tp = ex.principals.iter().find(|t| t.id == id).ok_or_else(|| {
        let names: Vec<String> = ex
            .principals
            .iter()
            .map(|t| format!("{}/{}", t.kind, t.id))
            .collect();
        anyhow!(
            "{}: no role or user `{id}` in the template (it defines: {})",
            path.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )
    })?;
    let (over, _) = template_principal_sets(&ex, tp, values.1.as_deref())
        .map_err(|(m, _)| anyhow!("{}: {m}", path.display()))?;
    let opaque = tp
        .identity
        .iter()
        .chain(tp.boundary.iter())
        .any(|&i| ex.policies[i].opaque());
    if opaque {
        bail!(
            "{}: `{id}` has policies with values known only at deploy time that cannot be \
             policy variables; give them (--parameter, ...), or check it with `tarski batch \
             --template` (which bounds them)",
            path.display()
        );
    }
    Ok(over)
}

fn principal(p: &PrincipalOfArgs) -> Result<Option<snapshot::PrincipalPolicies>> {
    let Some(who) = &p.principal_of else {
        return Ok(None);
    };
    if p.template.is_some() {
        return Ok(None);
    }
    let path = p.account_snapshot.as_ref().ok_or_else(|| {
        anyhow!("--principal-of needs --account-snapshot FILE or --template FILE")
    })?;
    let text = crate::load::read_text(path)?;
    let snap = snapshot::read(&path.display().to_string(), &text);
    if !snap.problems.diagnostics.is_empty() {
        crate::render::text(&snap.problems.diagnostics);
        bail!("{}: not a readable account snapshot", path.display());
    }
    snap.principal(who).map(Some).map_err(|e| anyhow!(e))
}

/// The policy set from flags, plus the policies of `--principal-of`.
pub fn policy_set(set: &SetArgs, p: &PrincipalOfArgs) -> Result<PolicySet> {
    if let (Some(who), Some(t)) = (&p.principal_of, &p.template) {
        let mut out = if set_given(set) {
            crate::load::policy_set(set)?
        } else {
            PolicySet::default()
        };
        let tset = template_principal(who, t)?;
        out.identity.extend(tset.identity);
        if let Some(b) = tset.boundary {
            if out.boundary.is_some() {
                bail!("--boundary given, but `{who}` has a permissions boundary in the template");
            }
            out.boundary = Some(b);
        }
        return Ok(out);
    }
    let Some(pp) = principal(p)? else {
        return crate::load::policy_set(set);
    };
    let mut out = if set_given(set) {
        crate::load::policy_set(set)?
    } else {
        PolicySet::default()
    };
    for fp in &pp.identity {
        out.identity.push(loaded(fp)?);
    }
    if let Some(b) = &pp.boundary {
        if out.boundary.is_some() {
            bail!(
                "--boundary given, but {} has a permissions boundary in the snapshot",
                pp.arn
            );
        }
        out.boundary = Some(loaded(b)?);
    }
    Ok(out)
}

/// The request principal for `--principal-of`: the user's ARN, or a session of the role.
pub fn default_principal(p: &PrincipalOfArgs) -> Result<Option<String>> {
    let Some(pp) = principal(p)? else {
        return Ok(None);
    };
    let arn = pp.arn;
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME -> arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/tarski
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[5].starts_with("role/") {
        let name = parts[5].rsplit('/').next().unwrap_or("");
        return Ok(Some(format!(
            "arn:{}:sts::{}:assumed-role/{name}/tarski",
            parts[1], parts[4]
        )));
    }
    Ok(Some(arn))
}

// ---------------------------------------------------------------------------------------------
// `tarski batch --template / --terraform-plan / --account-snapshot`
// ---------------------------------------------------------------------------------------------

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

fn loc(o: &iac::Origin) -> Location {
    Location {
        file: o.file.clone(),
        line: o.line,
        column: o.column,
    }
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

/// The first error of a checked policy, as a record message.
fn first_error(c: &iac::Checked) -> (String, Option<u32>) {
    c.diagnostics
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| (format!("{} [{}]", d.message, d.code), Some(d.span.start)))
        .unwrap_or_else(|| ("the policy could not be built".to_string(), None))
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
            for d in &g.diagnostics {
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
                        severity: Level::Warning,
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
        for p in &ex.policies {
            out.document(cx, p)?;
        }
        out.template_principals(cx, &name, &ex, a.values.managed_policies.as_deref())?;
    }
    Ok(out)
}
