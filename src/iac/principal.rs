//! `--principal-of` for `eval` and `can`: a principal's policies from an account snapshot or a
//! template, and the policy sets of template principals (also used by `batch`).

use anyhow::{anyhow, bail, Result};
use tarski_compiler::iac::{self, cloudformation, snapshot, Extraction, FoundPolicy};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};

use super::{first_error, PrincipalOfArgs};
use crate::load::SetFiles as SetArgs;

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
                    "`{}` attaches the AWS managed policy `{name}`, which is not in the template or plan: \
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

/// `can --principal-of`: the requests the question ranges over are those of the principal —
/// sessions of the role (or the user itself) in its account, as for a batch subject
/// (`batch::pin`, docs/iac.md). `set` is the policy set of the question (its accounts and keys).
pub fn principal_pin(
    p: &PrincipalOfArgs,
    set: &PolicySet,
) -> Result<Option<tarski_compiler::query::Expr>> {
    let Some(who) = &p.principal_of else {
        return Ok(None);
    };
    if let Some(path) = &p.template {
        let (ex, i, opts) = find_template_principal(who, path)?;
        let pin = super::batch::template_pin(&ex.principals[i], &opts, set)?;
        return Ok(Some(pin.expr(&|_| None)));
    }
    match principal(p)? {
        Some(pp) => {
            let kind = if pp.arn.contains(":role/") {
                "role"
            } else {
                "user"
            };
            let pin = super::batch::pin_of_arn(kind, &pp.arn)?;
            Ok(Some(pin.expr(&|_| None)))
        }
        None => Ok(None),
    }
}

/// The template (or plan) principal `who` of `path`: its extraction, its index among the
/// extraction's principals, and the template values it was read with.
fn find_template_principal(
    who: &str,
    path: &std::path::Path,
) -> Result<(Extraction, usize, cloudformation::Options)> {
    let text = crate::load::read_text(path)?;
    let values = crate::reference::values_args();
    let name = path.display().to_string();
    // A Terraform plan's roles work the same way (`--template plan.json`).
    let ex = match iac::sniff(&name, &text) {
        Some(iac::InputKind::TerraformPlan) => {
            tarski_compiler::iac::terraform::extract(&name, &text)
        }
        _ => cloudformation::extract(&name, &text, &values.0),
    };
    let id = who
        .strip_prefix("role/")
        .or_else(|| who.strip_prefix("user/"))
        .unwrap_or(who);
    let i = ex
        .principals
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(|| {
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
    Ok((ex, i, values.0))
}

fn template_principal(who: &str, path: &std::path::Path) -> Result<PolicySet> {
    let values = crate::reference::values_args();
    let (ex, i, _) = find_template_principal(who, path)?;
    let tp = &ex.principals[i];
    let (over, under) = template_principal_sets(&ex, tp, values.1.as_deref())
        .map_err(|(m, _)| anyhow!("{}: {m}", path.display()))?;
    // Policies with opaque values are bounded: each widened policy carries its narrowed one
    // (docs/iac.md, "Bounds"), as for a `FILE#SELECTOR`.
    let mut over = over;
    for (o, u) in over.identity.iter_mut().zip(under.identity) {
        *o = LoadedPolicy::bounded(o.clone(), u);
    }
    if let (Some(o), Some(u)) = (&mut over.boundary, under.boundary) {
        *o = LoadedPolicy::bounded(o.clone(), u);
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
    Ok(Some(
        tarski_compiler::request::role_session(&pp.arn, "tarski").unwrap_or(pp.arn),
    ))
}
