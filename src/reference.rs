//! `FILE#SELECTOR`: a policy inside a CloudFormation template, Terraform plan or account
//! snapshot, accepted wherever a policy file is (`can`, `subset`, `equiv`, `eval`, manifests,
//! spec `policy` declarations). The selector is a JSON pointer (`#/Resources/R/Properties/
//! PolicyDocument`, as `batch` prints subjects) or an address (`#AppRole`, the logical id;
//! `#aws_iam_policy.x`; `#role/NAME`), which names every policy of that resource of the kind
//! asked for (docs/iac.md, "Policies of a template as inputs").

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};
use tarski_compiler::iac::bounds::Bound;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform, FoundPolicy, InputKind};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::LoadedPolicy;

/// Template values given on the command line (set once, by `main`), and the directory of AWS
/// managed policies.
static VALUES: OnceLock<(cloudformation::Options, Option<PathBuf>)> = OnceLock::new();

/// Record the template values of this run.
/// Record the template values of this run (process-wide, once): `false` when values were set
/// already (they are kept; the caller says so).
pub fn set_values(opts: cloudformation::Options, managed: Option<PathBuf>) -> bool {
    VALUES.set((opts, managed)).is_ok()
}

/// The template values and managed-policy directory of this run.
pub fn values_args() -> (cloudformation::Options, Option<PathBuf>) {
    VALUES.get().cloned().unwrap_or((
        cloudformation::Options {
            model_unknowns: true,
            ..Default::default()
        },
        None,
    ))
}

fn values() -> cloudformation::Options {
    values_args().0
}

/// Split `FILE#SELECTOR` when `path` is not itself a file and some prefix before a `#` is.
pub fn split(path: &Path) -> Option<(PathBuf, String)> {
    let s = path.to_str()?;
    if path.exists() {
        return None;
    }
    s.match_indices('#').find_map(|(i, _)| {
        let file = PathBuf::from(&s[..i]);
        file.is_file().then(|| (file, s[i + 1..].to_string()))
    })
}

/// The policies found in an IaC input.
pub fn extract(path: &Path, text: &str, kind: InputKind) -> iac::Extraction {
    let name = path.display().to_string();
    match kind {
        InputKind::Template => cloudformation::extract(&name, text, &values()),
        InputKind::TerraformPlan => terraform::extract(&name, text),
        InputKind::AccountSnapshot => snapshot::extract(&name, text),
    }
}

/// Identity-side kinds read a policy attached to a principal; the others a resource's policy.
fn resource_side(k: PolicyKind) -> bool {
    matches!(k, PolicyKind::Resource | PolicyKind::Trust)
}

/// The policies `selector` names in `file`, read as `kind`.
pub fn policies(
    file: &Path,
    text: &str,
    selector: &str,
    kind: PolicyKind,
) -> Result<Vec<LoadedPolicy>> {
    let name = file.display().to_string();
    let Some(input) = iac::sniff(&name, text) else {
        bail!(
            "{name}#{selector}: {name} is not a CloudFormation template, Terraform plan JSON or \
             account snapshot, so `#{selector}` names nothing in it"
        );
    };
    let ex = extract(file, text, input);
    if !ex.diagnostics.is_empty() && ex.policies.is_empty() {
        return Err(crate::load::invalid(
            format!("{name}: cannot read it as {}", input.describe()),
            ex.diagnostics,
        ));
    }
    let by_pointer = selector.starts_with('/');
    let named: Vec<&FoundPolicy> = ex
        .policies
        .iter()
        .filter(|p| {
            if by_pointer {
                p.origin.pointer == selector
            } else {
                p.origin.address == selector
                    || p.origin.address.starts_with(&format!("{selector}/inline/"))
            }
        })
        .collect();
    let fits: Vec<&FoundPolicy> = named
        .iter()
        .copied()
        .filter(|p| {
            by_pointer
                || p.kind
                    .is_none_or(|k| resource_side(k) == resource_side(kind))
        })
        .collect();
    if fits.is_empty() {
        let list: Vec<String> = ex
            .policies
            .iter()
            .map(|p| {
                format!(
                    "  {name}#{}  ({}, {})",
                    p.origin.pointer,
                    p.origin.address,
                    p.kind.map_or("kind inferred", |k| k.as_str())
                )
            })
            .collect();
        bail!(
            "{name}#{selector}: no {} policy {} in {}; the policies in it are:\n{}",
            if resource_side(kind) {
                "resource or trust"
            } else {
                "identity-side"
            },
            if by_pointer {
                "at that pointer"
            } else {
                "with that address"
            },
            input.describe(),
            if list.is_empty() {
                "  (none)".to_string()
            } else {
                list.join("\n")
            }
        );
    }
    let single = !matches!(
        kind,
        PolicyKind::Identity | PolicyKind::Scp | PolicyKind::Rcp
    );
    if single && fits.len() > 1 {
        let list: Vec<String> = fits
            .iter()
            .map(|p| format!("  {name}#{}", p.origin.pointer))
            .collect();
        bail!(
            "{name}#{selector} names {} policies; a {} policy is one document, name it by its pointer:\n{}",
            fits.len(),
            kind.as_str(),
            list.join("\n")
        );
    }
    fits.into_iter().map(|p| loaded(p, kind)).collect()
}

/// Parse a found policy as `kind`; refuse one with errors. A policy with opaque values is
/// loaded widened, carrying its narrowed reading (`LoadedPolicy::narrowed`, docs/iac.md
/// "Bounds").
fn loaded(p: &FoundPolicy, kind: PolicyKind) -> Result<LoadedPolicy> {
    let at = format!("{}:{} ({})", p.origin.file, p.origin.line, p.origin.address);
    if p.opaque() {
        let side = |b| -> Result<LoadedPolicy> {
            let f = p
                .bounded(b)
                .ok_or_else(|| anyhow!("{at}: the policy could not be built"))?;
            parse_as(&f, kind, &at)
        };
        let (over, under) = (side(Bound::Over)?, side(Bound::Under)?);
        for u in p.unknowns.iter().filter(|u| !u.modelled) {
            let (line, col) = p.source.line_col(u.span.start as usize);
            eprintln!(
                "note: {}:{line}:{col}: {} is known only at deploy time and may hold a wildcard; \
                 answers hold for every value it could take, or are unknown (docs/iac.md, Bounds)",
                p.source.name, u.what
            );
        }
        return Ok(LoadedPolicy::bounded(over, under));
    }
    parse_as(p, kind, &at)
}

fn parse_as(p: &FoundPolicy, kind: PolicyKind, at: &str) -> Result<LoadedPolicy> {
    let mut as_kind = p.clone();
    as_kind.kind = Some(kind);
    let c = iac::check(&as_kind, false);
    match c.policy {
        Some(l) => {
            let mut seen = std::collections::HashSet::new();
            for u in p.unknowns.iter().filter(|u| seen.insert(&u.placeholder)) {
                let (line, col) = p.source.line_col(u.span.start as usize);
                eprintln!(
                    "note: {}:{line}:{col}: {} is known only at deploy time; answers hold for every value of `{}`",
                    p.source.name,
                    u.what,
                    u.placeholder.trim_start_matches("${").trim_end_matches('}')
                );
            }
            Ok(l)
        }
        None => Err(crate::load::invalid(
            format!("{at}: the policy has errors"),
            vec![c.diagnostics],
        )),
    }
}
