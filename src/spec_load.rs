//! Reading spec files from disk: includes, parse and check errors (rendered like every other
//! diagnostic), and resolving declarations to policy sets. Turns assertions into jobs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use tarski_compiler::diagnostic::{Code, Diagnostic};
use tarski_compiler::glob::Glob;
use tarski_compiler::load::SourceDiagnostics;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::{LoadedPolicy, PolicySet};
use tarski_compiler::source::SourceFile;
use tarski_compiler::spec::ast::{Item, Ref, SetValue};
use tarski_compiler::spec::{check::check, parse_spec};

use crate::run::{question, Job};

/// A spec with its includes spliced in; each item remembers the directory paths are relative to
/// and the source file it was written in.
pub struct Spec {
    pub items: Vec<(PathBuf, Item)>,
    /// The directory tree every path in the spec must stay in (the top spec's directory;
    /// `--allow-path` widens it): see `load::resolve_inside`.
    pub root: PathBuf,
    sources: Vec<Arc<SourceFile>>,
    item_source: Vec<usize>,
}

pub fn read(path: &Path) -> Result<Spec> {
    let mut spec = Spec {
        items: Vec::new(),
        root: crate::load::root_of(path)?,
        sources: Vec::new(),
        item_source: Vec::new(),
    };
    let mut stack = Vec::new();
    let mut seen = std::collections::HashSet::new();
    read_into(path, &mut spec, &mut stack, &mut seen)?;
    // Check names and types over the whole; each error is shown in the file it is in.
    let items: Vec<Item> = spec.items.iter().map(|(_, i)| i.clone()).collect();
    let (_, diags) = check(&items);
    if !diags.is_empty() {
        let n = diags.len();
        let mut by_source: BTreeMap<usize, Vec<Diagnostic>> = BTreeMap::new();
        for (idx, d) in diags {
            by_source
                .entry(spec.item_source.get(idx).copied().unwrap_or(0))
                .or_default()
                .push(d);
        }
        // Each error is shown in the file it is in.
        let found: Vec<SourceDiagnostics> = by_source
            .into_iter()
            .filter_map(|(src, ds)| {
                Some(SourceDiagnostics {
                    source: spec.sources.get(src)?.clone(),
                    diagnostics: ds,
                })
            })
            .collect();
        return Err(crate::load::invalid(
            format!(
                "{}: {n} error{} in the spec",
                path.display(),
                if n == 1 { "" } else { "s" }
            ),
            found,
        ));
    }
    Ok(spec)
}

/// Splice `path` and its includes into `spec`. A file is read once: a second include of the
/// same file (after following links) adds nothing, as its declarations are already in (issue
/// 15: a diamond of includes 30 deep never finished).
fn read_into(
    path: &Path,
    spec: &mut Spec,
    stack: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<()> {
    let canon =
        std::fs::canonicalize(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    if stack.contains(&canon) {
        bail!("{}: include cycle", path.display());
    }
    if !seen.insert(canon.clone()) {
        return Ok(());
    }
    let text = crate::load::read_text(path)?;
    let items = match parse_spec(&text) {
        Ok(i) => i,
        Err(e) => {
            return Err(crate::load::invalid(
                format!("{}: the spec does not parse", path.display()),
                vec![SourceDiagnostics {
                    source: Arc::new(SourceFile::new(path.display().to_string(), text)),
                    diagnostics: vec![Diagnostic::error(Code::SpecSyntax, e.span, e.message)],
                }],
            ));
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    stack.push(canon);
    let src = spec.sources.len();
    spec.sources
        .push(Arc::new(SourceFile::new(path.display().to_string(), text)));
    for it in items {
        if let Item::Include(f) = &it {
            let p = crate::load::resolve_inside(&spec.root, &dir, &f.value, "include")
                .map_err(|e| anyhow!("{}: {e:#}", path.display()))?;
            read_into(&p, spec, stack, seen)?;
        } else {
            spec.items.push((dir.clone(), it));
            spec.item_source.push(src);
        }
    }
    stack.pop();
    Ok(())
}

/// What a declared name resolves to.
#[derive(Clone)]
pub enum Resolved {
    One(Arc<PolicySet>, String),
    Many(Vec<(Arc<PolicySet>, String)>),
}

fn kind_of(k: Option<&tarski_compiler::span::Spanned<String>>) -> PolicyKind {
    k.and_then(|k| PolicyKind::parse(&k.value))
        .unwrap_or(PolicyKind::Identity)
}

/// A single policy file as a set, by kind.
pub fn set_of_policies(ps: Vec<LoadedPolicy>, kind: PolicyKind) -> PolicySet {
    let mut set = PolicySet::default();
    match kind {
        PolicyKind::Resource | PolicyKind::Trust => set.resource = ps.into_iter().next(),
        PolicyKind::Boundary => set.boundary = ps.into_iter().next(),
        PolicyKind::Session => set.session = ps.into_iter().next(),
        PolicyKind::Scp => set.scps.push(ps),
        PolicyKind::Rcp => set.rcps.push(ps),
        PolicyKind::Identity => set.identity = ps,
    }
    set
}

/// Files under `dir` whose path relative to `dir` matches the glob (`*` crosses `/`). Each
/// directory is entered once (after following links: a symlink cycle neither loops nor
/// counts a file twice) and each file is listed once, under its first name in sorted order.
/// Entries that are not directories are all listed, FIFOs and devices too, so the caller can
/// report them instead of skipping them silently.
pub fn glob_files(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let g = Glob::wild(pattern);
    let mut out = Vec::new();
    let mut dirs_seen = std::collections::HashSet::new();
    if let Ok(c) = std::fs::canonicalize(dir) {
        dirs_seen.insert(c);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if let Ok(c) = std::fs::canonicalize(&p) {
                    if dirs_seen.insert(c) {
                        stack.push(p);
                    }
                }
            } else if let Ok(rel) = p.strip_prefix(dir) {
                if g.matches(&rel.to_string_lossy().replace('\\', "/"), false) {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    let mut files_seen = std::collections::HashSet::new();
    out.retain(|p| std::fs::canonicalize(p).map_or(true, |c| files_seen.insert(c)));
    out
}

pub fn resolve(spec: &Spec) -> Result<HashMap<String, Resolved>> {
    let mut out: HashMap<String, Resolved> = HashMap::new();
    let mut singles: HashMap<String, (LoadedPolicy, PolicyKind)> = HashMap::new();
    for (dir, it) in &spec.items {
        match it {
            Item::Policy { name, kind, path } => {
                let k = kind_of(kind.as_ref());
                let p = crate::load::resolve_inside(&spec.root, dir, &path.value, "policy")?;
                let ps = crate::load::policies(&p, k)?;
                if ps.len() == 1 {
                    singles.insert(name.value.clone(), (ps[0].clone(), k));
                }
                out.insert(
                    name.value.clone(),
                    Resolved::One(Arc::new(set_of_policies(ps, k)), p.display().to_string()),
                );
            }
            Item::Policies {
                name,
                kind,
                pattern,
            } => {
                let k = kind_of(kind.as_ref());
                let mut many = Vec::new();
                for f in glob_files(dir, &pattern.value) {
                    crate::load::check_inside(
                        &spec.root,
                        &f,
                        &format!("policies `{}`: {}", pattern.value, f.display()),
                    )?;
                    many.push((
                        Arc::new(set_of_policies(crate::load::policies(&f, k)?, k)),
                        f.display().to_string(),
                    ));
                }
                if many.is_empty() {
                    bail!(
                        "`{}`: no file matches `{}` under {}",
                        name.value,
                        pattern.value,
                        dir.display()
                    );
                }
                out.insert(name.value.clone(), Resolved::Many(many));
            }
            _ => {}
        }
    }
    for (dir, it) in &spec.items {
        match it {
            Item::SetManifest { name, path } => {
                let p = crate::load::resolve_inside(&spec.root, dir, &path.value, "set")?;
                let set = crate::load::policy_set_in(
                    &crate::load::SetFiles {
                        manifest: Some(p.clone()),
                        ..Default::default()
                    },
                    Some(&spec.root),
                )?;
                out.insert(
                    name.value.clone(),
                    Resolved::One(Arc::new(set), p.display().to_string()),
                );
            }
            Item::Set { name, fields } => {
                let mut set = PolicySet::default();
                let get = |r: &Ref, kind: PolicyKind| -> Result<LoadedPolicy> {
                    match r {
                        Ref::Name(n) => singles
                            .get(&n.value)
                            .map(|(p, _)| {
                                let mut p = p.clone();
                                p.set_kind(kind);
                                p
                            })
                            .ok_or_else(|| anyhow!("`{}` is not a single policy", n.value)),
                        Ref::Path(p) => {
                            let path = crate::load::resolve_inside(
                                &spec.root,
                                dir,
                                &p.value,
                                "set member",
                            )?;
                            let mut ps = crate::load::policies(&path, kind)?;
                            if ps.len() != 1 {
                                bail!("{}: expected one policy document", p.value);
                            }
                            Ok(ps.remove(0))
                        }
                    }
                };
                let flat = |v: &SetValue| -> Vec<Ref> {
                    let mut refs = Vec::new();
                    fn walk(v: &SetValue, out: &mut Vec<Ref>) {
                        match v {
                            SetValue::One(r) => out.push(r.clone()),
                            SetValue::List(vs) => vs.iter().for_each(|x| walk(x, out)),
                        }
                    }
                    walk(v, &mut refs);
                    refs
                };
                for (f, v) in fields {
                    match f.value.as_str() {
                        "identity" => {
                            for r in flat(v) {
                                set.identity.push(get(&r, PolicyKind::Identity)?);
                            }
                        }
                        "boundary" => {
                            set.boundary = flat(v)
                                .first()
                                .map(|r| get(r, PolicyKind::Boundary))
                                .transpose()?
                        }
                        "session" => {
                            set.session = flat(v)
                                .first()
                                .map(|r| get(r, PolicyKind::Session))
                                .transpose()?
                        }
                        "resource" => {
                            set.resource = flat(v)
                                .first()
                                .map(|r| get(r, PolicyKind::Resource))
                                .transpose()?
                        }
                        "scps" | "rcps" => {
                            let kind = if f.value == "scps" {
                                PolicyKind::Scp
                            } else {
                                PolicyKind::Rcp
                            };
                            let layers: Vec<Vec<LoadedPolicy>> = match v {
                                SetValue::List(ls) => ls
                                    .iter()
                                    .map(|l| {
                                        flat(l).iter().map(|r| get(r, kind)).collect::<Result<_>>()
                                    })
                                    .collect::<Result<_>>()?,
                                one => vec![flat(one)
                                    .iter()
                                    .map(|r| get(r, kind))
                                    .collect::<Result<_>>()?],
                            };
                            if kind == PolicyKind::Scp {
                                set.scps = layers;
                            } else {
                                set.rcps = layers;
                            }
                        }
                        _ => {}
                    }
                }
                out.insert(
                    name.value.clone(),
                    Resolved::One(Arc::new(set), format!("set {}", name.value)),
                );
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Jobs for every assertion. The subject name `policy` stands for `each` (batch inputs).
pub fn jobs(
    spec: &Spec,
    names: &HashMap<String, Resolved>,
    each: Option<&(Arc<PolicySet>, String)>,
) -> Vec<Job> {
    let mut out = Vec::new();
    let lookup = |n: &str| -> Option<Resolved> {
        if n == "policy" {
            return each.map(|(s, f)| Resolved::One(s.clone(), f.clone()));
        }
        names.get(n).cloned()
    };
    let members = |r: Resolved| match r {
        Resolved::One(s, f) => vec![(s, f)],
        Resolved::Many(v) => v,
    };
    let names = check_names(spec);
    for (idx, (_, it)) in spec.items.iter().enumerate() {
        let Item::Assert(a) = it else { continue };
        let uses_each = a.subjects.iter().any(|s| s.value == "policy");
        if uses_each != each.is_some() {
            continue;
        }
        let Some(check) = names.get(&idx).cloned() else {
            continue;
        };
        let Some(first) = a.subjects.first().and_then(|s| lookup(&s.value)) else {
            continue;
        };
        let second = a.subjects.get(1).and_then(|s| lookup(&s.value));
        let seconds: Vec<Option<(Arc<PolicySet>, String)>> = match second {
            None => vec![None],
            Some(r) => members(r).into_iter().map(Some).collect(),
        };
        for (set, file) in members(first) {
            for b in &seconds {
                let Some(q) = question(
                    a.quantifier,
                    set.clone(),
                    b.as_ref().map(|(s, _)| s.clone()),
                    a.constraint.clone(),
                ) else {
                    continue;
                };
                // Template policies with opaque values carry their bounds; the job asks both
                // sides (`run::run`, docs/iac.md "Bounds").
                out.push(Job {
                    file: file.clone(),
                    subject: match b {
                        Some((_, bf)) => format!("{file} vs {bf}"),
                        None => file.clone(),
                    },
                    check: check.clone(),
                    severity: a.severity,
                    question: q,
                    under: None,
                });
            }
        }
    }
    out
}

/// The check name of every assertion, by item index: its label, or `quantifier(subjects)`.
/// A name two assertions would share gets the place of each (` at FILE:LINE`): records, SARIF
/// rules and `merge` key on it (issue 15: two unlabelled assertions shared one rule id).
fn check_names(spec: &Spec) -> HashMap<usize, String> {
    let mut names = HashMap::new();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for (idx, (_, it)) in spec.items.iter().enumerate() {
        let Item::Assert(a) = it else { continue };
        let name = a.label.clone().unwrap_or_else(|| {
            format!(
                "{}({})",
                a.quantifier.as_str(),
                a.subjects
                    .iter()
                    .map(|s| s.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        *uses.entry(name.clone()).or_default() += 1;
        names.insert(idx, name);
    }
    for (idx, name) in names.iter_mut() {
        if uses.get(name.as_str()).copied().unwrap_or(0) > 1 {
            let Some((_, Item::Assert(a))) = spec.items.get(*idx) else {
                continue;
            };
            if let Some(src) = spec
                .item_source
                .get(*idx)
                .and_then(|i| spec.sources.get(*i))
            {
                let (line, _) = src.line_col(a.span.start as usize);
                name.push_str(&format!(" at {}:{line}", src.name));
            }
        }
    }
    names
}

/// Assertion descriptions by check name (for SARIF rules).
pub fn descriptions(spec: &Spec) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let names = check_names(spec);
    for (idx, (_, it)) in spec.items.iter().enumerate() {
        if let (Item::Assert(a), Some(name)) = (it, names.get(&idx)) {
            if let Some(l) = &a.label {
                m.insert(name.clone(), l.clone());
            }
        }
    }
    m
}
