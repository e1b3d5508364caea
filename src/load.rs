//! Reading policy files and policy sets from disk, with diagnostics on failure.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use tarski_compiler::load::{load, Loaded};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{Entry, LoadedPolicy, Manifest, PolicySet};

use crate::cli::SetArgs;

/// Read a file as text; a clear error for missing files, directories and non-UTF-8.
pub fn read_text(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory, not a policy file", path.display());
    }
    if meta.len() > tarski_compiler::json::MAX_BYTES as u64 {
        bail!(
            "{} is {} bytes; the limit is {} bytes",
            path.display(),
            meta.len(),
            tarski_compiler::json::MAX_BYTES
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Load a file's policies as `kind`; print diagnostics; fail on errors.
/// `path` may name a policy inside a template, plan or snapshot: `FILE#SELECTOR`.
pub fn policies(path: &Path, kind: PolicyKind) -> Result<Vec<LoadedPolicy>> {
    if let Some((file, selector)) = crate::reference::split(path) {
        return crate::reference::policies(&file, &selector, kind);
    }
    let text = read_text(path)?;
    let name = path.display().to_string();
    if let Some(input) = tarski_compiler::iac::sniff(&name, &text) {
        let found = crate::reference::extract(path, &text, input);
        let list: Vec<String> = found
            .policies
            .iter()
            .map(|p| format!("  {name}#{}  ({})", p.origin.pointer, p.origin.address))
            .collect();
        bail!(
            "{name} is {}, not a policy: name one of its policies as FILE#POINTER or \
             FILE#ADDRESS (docs/iac.md), or check all of them with `tarski batch --template / \
             --terraform-plan / --account-snapshot`; its policies:\n{}",
            input.describe(),
            if list.is_empty() {
                "  (none)".to_string()
            } else {
                list.join("\n")
            }
        );
    }
    from_text(&name, &text, kind)
}

fn from_text(name: &str, text: &str, kind: PolicyKind) -> Result<Vec<LoadedPolicy>> {
    let loaded: Loaded = load(name, text, Some(kind), false);
    if loaded.has_errors() {
        crate::render::text(&loaded.diagnostics);
        bail!("{name}: the policy has errors (run `tarski check` for details)");
    }
    Ok(loaded.policies)
}

fn one(path: &Path, kind: PolicyKind) -> Result<LoadedPolicy> {
    let mut ps = policies(path, kind)?;
    if ps.len() != 1 {
        bail!(
            "{}: expected one policy document, found {}",
            path.display(),
            ps.len()
        );
    }
    Ok(ps.remove(0))
}

fn entry(base: &Path, e: &Entry, kind: PolicyKind, what: &str) -> Result<Vec<LoadedPolicy>> {
    match e {
        Entry::Path(p) => policies(&base.join(p), kind),
        Entry::Inline(text) => {
            from_text(&format!("{} (inline {what})", base.display()), text, kind)
        }
    }
}

fn single(base: &Path, e: &Entry, kind: PolicyKind, what: &str) -> Result<LoadedPolicy> {
    let mut ps = entry(base, e, kind, what)?;
    if ps.len() != 1 {
        bail!("{what}: expected one policy document, found {}", ps.len());
    }
    Ok(ps.remove(0))
}

/// Build the policy set from a manifest and/or flags (flags add to the manifest).
pub fn policy_set(args: &SetArgs) -> Result<PolicySet> {
    let mut set = PolicySet::default();
    if let Some(m) = &args.manifest {
        let text = read_text(m)?;
        let toml = m.extension().is_some_and(|e| e == "toml");
        let man = Manifest::parse(&text, toml).map_err(|e| anyhow!("{}: {e}", m.display()))?;
        let base: PathBuf = m.parent().map(Path::to_path_buf).unwrap_or_default();
        for e in &man.identity {
            set.identity
                .extend(entry(&base, e, PolicyKind::Identity, "identity")?);
        }
        set.boundary = man
            .boundary
            .as_ref()
            .map(|e| single(&base, e, PolicyKind::Boundary, "boundary"))
            .transpose()?;
        for layer in &man.scps {
            let mut l = Vec::new();
            for e in layer {
                l.extend(entry(&base, e, PolicyKind::Scp, "scp")?);
            }
            set.scps.push(l);
        }
        for layer in &man.rcps {
            let mut l = Vec::new();
            for e in layer {
                l.extend(entry(&base, e, PolicyKind::Rcp, "rcp")?);
            }
            set.rcps.push(l);
        }
        set.session = man
            .session
            .as_ref()
            .map(|e| single(&base, e, PolicyKind::Session, "session"))
            .transpose()?;
        set.resource = man
            .resource
            .as_ref()
            .map(|e| single(&base, e, PolicyKind::Resource, "resource"))
            .transpose()?;
    }
    for p in &args.identity {
        set.identity.extend(policies(p, PolicyKind::Identity)?);
    }
    if let Some(b) = &args.boundary {
        set.boundary = Some(one(b, PolicyKind::Boundary)?);
    }
    for s in &args.scps {
        set.scps.push(policies(s, PolicyKind::Scp)?);
    }
    for r in &args.rcps {
        set.rcps.push(policies(r, PolicyKind::Rcp)?);
    }
    if let Some(s) = &args.session_policy {
        set.session = Some(one(s, PolicyKind::Session)?);
    }
    if let Some(r) = &args.resource_policy {
        set.resource = Some(one(r, PolicyKind::Resource)?);
    }
    if set.all().is_empty() {
        bail!(
            "no policies given: pass identity policy files, --set MANIFEST, or --resource-policy"
        );
    }
    Ok(set)
}
