//! Reading policy files and policy sets from disk, with diagnostics on failure.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use tarski_compiler::load::{load, Loaded, SourceDiagnostics};
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{Entry, LoadedPolicy, Manifest, PolicySet};

/// The files of one policy set, by role (what `tarski can` takes as flags).
#[derive(Clone, Debug, Default)]
pub struct SetFiles {
    /// Identity-based policy files of the caller.
    pub identity: Vec<PathBuf>,
    /// A policy-set manifest (JSON or TOML) naming the policies by role.
    pub manifest: Option<PathBuf>,
    pub boundary: Option<PathBuf>,
    /// SCP layers, from the organization root down.
    pub scps: Vec<PathBuf>,
    /// RCP layers.
    pub rcps: Vec<PathBuf>,
    pub session_policy: Option<PathBuf>,
    pub resource_policy: Option<PathBuf>,
}

/// An input with errors, with the diagnostics that explain them (file, span, code, message)
/// as data: the façade returns them (`Error::Invalid`); the command line has them on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
    pub diagnostics: Vec<SourceDiagnostics>,
}

/// Render `diagnostics` on stderr as they are found (the command line's output, unchanged)
/// and make the error that carries them.
pub fn invalid(message: String, diagnostics: Vec<SourceDiagnostics>) -> anyhow::Error {
    crate::render::text(&diagnostics);
    Invalid {
        message,
        diagnostics,
    }
    .into()
}

/// Directories that files named inside inputs (spec `include`/`policy`/`set`, manifest
/// entries, batch list files) may resolve into besides their own root: `--allow-path DIR`.
static ALLOWED: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// Set the `--allow-path` directories (once, at start-up).
pub fn allow_paths(dirs: &[PathBuf]) -> Result<()> {
    let mut canon = Vec::new();
    for d in dirs {
        canon.push(
            std::fs::canonicalize(d).with_context(|| format!("--allow-path {}", d.display()))?,
        );
    }
    // Process-wide: a second, different set is refused rather than silently ignored (an
    // engine built with other roots would otherwise resolve paths against the first ones).
    if let Err(canon) = ALLOWED.set(canon) {
        if ALLOWED.get() != Some(&canon) {
            bail!(
                "allowed roots are process-wide and already set to {:?}; cannot set {:?}",
                ALLOWED.get().map(|v| v
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()),
                canon
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

/// The directory tree a file's references must stay in by default: the canonical directory of
/// the file that was named on the command line (a spec, a manifest, a list file).
pub fn root_of(file: &Path) -> Result<PathBuf> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir).with_context(|| format!("cannot read {}", file.display()))
}

/// Resolve a path written inside an input (`rel`, relative to `base`) and refuse it unless it
/// lands, after following symbolic links and `..`, inside `root` or an `--allow-path`
/// directory, and is a regular file. Issue 15: `include "/proc/self/environ"` printed the
/// environment as an error snippet, a manifest could name `/dev/zero` or a FIFO. The path is
/// returned as written (joined to `base`), so reports keep the names users wrote.
/// A policy reference `FILE#SELECTOR` is checked by its file part.
pub fn resolve_inside(root: &Path, base: &Path, rel: &str, what: &str) -> Result<PathBuf> {
    let joined = base.join(rel);
    check_inside(root, &joined, &format!("{what} `{rel}`"))?;
    Ok(joined)
}

/// The check of `resolve_inside` for a path already joined: inside `root` (or an
/// `--allow-path` directory) after following links, and a regular file.
pub fn check_inside(root: &Path, path: &Path, what: &str) -> Result<()> {
    let file = match crate::reference::split(path) {
        Some((file, _)) => file,
        None => path.to_path_buf(),
    };
    let canon = std::fs::canonicalize(&file)
        .with_context(|| format!("{what}: cannot read {}", file.display()))?;
    let allowed = ALLOWED.get().map(Vec::as_slice).unwrap_or(&[]);
    if !canon.starts_with(root) && !allowed.iter().any(|a| canon.starts_with(a)) {
        bail!(
            "{what} resolves to {}, outside {}; files named inside an input must stay in its \
             directory tree (pass --allow-path DIR to allow another)",
            canon.display(),
            root.display()
        );
    }
    let meta = std::fs::metadata(&canon)
        .with_context(|| format!("{what}: cannot read {}", file.display()))?;
    if !meta.is_file() {
        bail!(
            "{what}: {} is {}, not a regular file",
            file.display(),
            file_type_name(&meta)
        );
    }
    Ok(())
}

fn file_type_name(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Refuse anything but a regular file (for files found by walking a directory or named in a
/// list: a FIFO there would block the run forever).
pub fn check_regular(path: &Path) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is {}, not a regular file",
            path.display(),
            file_type_name(&meta)
        );
    }
    Ok(())
}

/// Read a file as text; a clear error for missing files, directories and non-UTF-8. The size
/// limit holds for every kind of file: a device or `/proc` file reports length 0, so the read
/// itself stops one byte past the limit (`check /dev/zero` reached 3 GB in 2 s).
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read as _;
    let limit = tarski_compiler::json::MAX_BYTES;
    let too_big = || {
        anyhow!(
            "{} is larger than the limit of {limit} bytes",
            path.display()
        )
    };
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory, not a policy file", path.display());
    }
    if meta.len() > limit as u64 {
        return Err(too_big());
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > limit {
        return Err(too_big());
    }
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
        return crate::reference::policies(&file, &read_text(&file)?, &selector, kind);
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

pub fn from_text(name: &str, text: &str, kind: PolicyKind) -> Result<Vec<LoadedPolicy>> {
    let loaded: Loaded = load(name, text, Some(kind), false);
    if loaded.has_errors() {
        return Err(invalid(
            format!("{name}: the policy has errors (run `tarski check` for details)"),
            loaded.diagnostics,
        ));
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

fn entry(
    root: &Path,
    base: &Path,
    e: &Entry,
    kind: PolicyKind,
    what: &str,
) -> Result<Vec<LoadedPolicy>> {
    match e {
        Entry::Path(p) => policies(&resolve_inside(root, base, p, what)?, kind),
        Entry::Inline(text) => {
            from_text(&format!("{} (inline {what})", base.display()), text, kind)
        }
    }
}

fn single(
    root: &Path,
    base: &Path,
    e: &Entry,
    kind: PolicyKind,
    what: &str,
) -> Result<LoadedPolicy> {
    let mut ps = entry(root, base, e, kind, what)?;
    if ps.len() != 1 {
        bail!("{what}: expected one policy document, found {}", ps.len());
    }
    Ok(ps.remove(0))
}

/// Build the policy set from a manifest and/or flags (flags add to the manifest). The
/// manifest's entries must stay in its directory tree (`resolve_inside`).
pub fn policy_set(args: &SetFiles) -> Result<PolicySet> {
    policy_set_in(args, None)
}

/// `policy_set`, with the manifest's entries held to `root` (a spec's tree) instead of the
/// manifest's own directory.
pub fn policy_set_in(args: &SetFiles, root: Option<&Path>) -> Result<PolicySet> {
    let mut set = PolicySet::default();
    if let Some(m) = &args.manifest {
        let root = match root {
            Some(r) => r.to_path_buf(),
            None => root_of(m)?,
        };
        let root = root.as_path();
        let text = read_text(m)?;
        let toml = m.extension().is_some_and(|e| e == "toml");
        let man = Manifest::parse(&text, toml).map_err(|e| anyhow!("{}: {e}", m.display()))?;
        let base: PathBuf = m.parent().map(Path::to_path_buf).unwrap_or_default();
        for e in &man.identity {
            set.identity
                .extend(entry(root, &base, e, PolicyKind::Identity, "identity")?);
        }
        set.boundary = man
            .boundary
            .as_ref()
            .map(|e| single(root, &base, e, PolicyKind::Boundary, "boundary"))
            .transpose()?;
        for layer in &man.scps {
            let mut l = Vec::new();
            for e in layer {
                l.extend(entry(root, &base, e, PolicyKind::Scp, "scp")?);
            }
            set.scps.push(l);
        }
        for layer in &man.rcps {
            let mut l = Vec::new();
            for e in layer {
                l.extend(entry(root, &base, e, PolicyKind::Rcp, "rcp")?);
            }
            set.rcps.push(l);
        }
        set.session = man
            .session
            .as_ref()
            .map(|e| single(root, &base, e, PolicyKind::Session, "session"))
            .transpose()?;
        set.resource = man
            .resource
            .as_ref()
            .map(|e| single(root, &base, e, PolicyKind::Resource, "resource"))
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

/// A policy file read as `kind` (or `FILE#SELECTOR`), or a policy-set manifest, as a set.
pub fn set_of(path: &Path, kind: PolicyKind) -> Result<PolicySet> {
    let reference = crate::reference::split(path).is_some();
    let text = if reference {
        String::new()
    } else {
        read_text(path)?
    };
    let is_manifest = !reference && path.extension().is_some_and(|e| e == "toml")
        || serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|o| {
                !o.is_empty()
                    && o.keys().all(|k| {
                        [
                            "identity", "boundary", "scps", "rcps", "session", "resource",
                        ]
                        .contains(&k.as_str())
                    })
            });
    if is_manifest {
        return policy_set(&SetFiles {
            manifest: Some(path.to_path_buf()),
            ..SetFiles::default()
        });
    }
    let policies = policies(path, kind)?;
    let mut set = PolicySet::default();
    match kind {
        PolicyKind::Resource | PolicyKind::Trust => {
            set.resource = policies.into_iter().next();
        }
        PolicyKind::Scp => set.scps.push(policies),
        PolicyKind::Rcp => set.rcps.push(policies),
        _ => set.identity = policies,
    }
    Ok(set)
}
