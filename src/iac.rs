//! Infrastructure-as-code inputs on the command line: `check --template / --terraform-plan /
//! --account-snapshot`, and `--principal-of` for `eval` and `can` (docs/iac.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Value};
use tarski_compiler::diagnostic::Severity;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, Extraction, FoundPolicy};
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};

use crate::cli::{CheckArgs, Format, SetArgs};

/// `tarski check` inputs that hold policies among other things.
#[derive(Args, Debug, Clone, Default)]
pub struct IacCheckArgs {
    /// A CloudFormation / CDK / SAM template (JSON or YAML); every policy in it is checked.
    #[arg(long = "template", value_name = "FILE")]
    pub templates: Vec<PathBuf>,
    /// The JSON of `terraform show -json PLANFILE` (or of the state).
    #[arg(long = "terraform-plan", value_name = "FILE")]
    pub terraform_plans: Vec<PathBuf>,
    /// The output of `aws iam get-account-authorization-details`.
    #[arg(long = "account-snapshot", value_name = "FILE")]
    pub account_snapshots: Vec<PathBuf>,
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
}

impl IacCheckArgs {
    pub fn count(&self) -> usize {
        self.templates.len() + self.terraform_plans.len() + self.account_snapshots.len()
    }

    fn options(&self) -> Result<cloudformation::Options> {
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
        })
    }
}

/// `--principal-of` for `eval` and `can`.
#[derive(Args, Debug, Clone, Default)]
pub struct PrincipalOfArgs {
    /// Use the policies of this principal in the account snapshot: `role/NAME`, `user/NAME` or
    /// its ARN (inline, attached and group policies as identity policies; its boundary).
    #[arg(
        long,
        value_name = "role/NAME|user/NAME",
        requires = "account_snapshot"
    )]
    pub principal_of: Option<String>,
    /// The output of `aws iam get-account-authorization-details`.
    #[arg(long, value_name = "FILE")]
    pub account_snapshot: Option<PathBuf>,
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
            json!({"what": u.what, "line": line, "column": column, "placeholder": u.placeholder})
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
            "valid": valid,
            "unknowns": unknowns,
        }
    })
}

/// Check every policy in the IaC inputs of `check`; adds to `counts` and `records`.
pub fn check(args: &CheckArgs, counts: &mut Counts, records: &mut Vec<Value>) -> Result<()> {
    let a = &args.iac;
    let opts = a.options()?;
    let mut inputs: Vec<(PathBuf, u8)> = Vec::new();
    inputs.extend(a.templates.iter().map(|p| (p.clone(), 0)));
    inputs.extend(a.terraform_plans.iter().map(|p| (p.clone(), 1)));
    inputs.extend(a.account_snapshots.iter().map(|p| (p.clone(), 2)));
    for (path, what) in inputs {
        let name = path.display().to_string();
        let text = match crate::load::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
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
                        if p.symbolic() {
                            format!(", symbolic ({} unknown values)", p.unknowns.len())
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
    if p.symbolic() {
        // Snapshots have no unknowns; a symbolic policy is never used in a proof.
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

fn principal(p: &PrincipalOfArgs) -> Result<Option<snapshot::PrincipalPolicies>> {
    let Some(who) = &p.principal_of else {
        return Ok(None);
    };
    let path = p
        .account_snapshot
        .as_ref()
        .ok_or_else(|| anyhow!("--principal-of needs --account-snapshot FILE"))?;
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
