//! A batch run (`tarski batch`, `Engine::batch`): hold a corpus of policies to built-in
//! checks and spec assertions, with deterministic sharding; templates, plans and snapshots
//! among the inputs go to `iac::batch`. A bad input is an error record for its file; the rest
//! of the run goes on. The records come back as data; the CLI renders them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use tarski_compiler::checks::{builtin, constraint_text, BUILTINS};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::parse_expr;
use tarski_compiler::spec::ast::{Level, Quantifier};

use crate::iac::IacCheckArgs;
use crate::run::{input_error, question, Job, Location, Question, Record};
use crate::spec_load::{glob_files, set_of_policies};

/// What a batch run checks (the options of `tarski batch`).
#[derive(Clone, Debug, Default)]
pub struct BatchInputs {
    /// Policy files, directories, globs, list files (`.txt`/`.list`); templates, plans and
    /// snapshots among them are read as what they are.
    pub inputs: Vec<String>,
    /// Read every policy file as this kind (default: inferred).
    pub kind: Option<PolicyKind>,
    /// Built-in checks by name (none, no spec, no boundary, no baseline: all of them).
    pub checks: Vec<String>,
    pub spec: Option<PathBuf>,
    pub within_boundary: Option<PathBuf>,
    pub no_new_access: bool,
    pub baseline: Option<PathBuf>,
    /// Templates, plans and snapshots, and their values.
    pub iac: IacCheckArgs,
    /// `tarski.toml` (default: found from the working directory up).
    pub config: Option<PathBuf>,
    pub baseline_findings: Option<PathBuf>,
    /// `I/N`: only the jobs of shard I of N.
    pub shard: Option<String>,
    /// What else shapes the answers (the CLI: its arguments other than output options), so that
    /// the shards of one run share an identity and other runs do not.
    pub run_key: String,
}

/// Which shard of which run a report is.
#[derive(Clone, Debug)]
pub struct Shard {
    pub run: String,
    pub index: u64,
    pub count: u64,
}

/// A batch run's records, sorted by file, check and subject, with `tarski.toml` applied.
#[derive(Debug)]
pub struct BatchReport {
    pub records: Vec<Record>,
    /// Input files read (in this shard).
    pub inputs: usize,
    /// Check name -> description, for SARIF rules.
    pub descriptions: BTreeMap<String, String>,
    pub shard: Option<Shard>,
    config: crate::config::Config,
}

impl BatchReport {
    /// Whether a record decides the run's outcome (its severity is in `fail-on`).
    pub fn blocks(&self, r: &Record) -> bool {
        self.config.blocks(r)
    }
}

/// Expand the inputs to files, in a stable order; `true` marks a file named on the command
/// line (which may be any kind of file, `<(...)` too), `false` one found in a directory, by a
/// glob or in a list file (a regular file inside its tree, or an error record).
fn collect(inputs: &[String]) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for i in inputs {
        let p = Path::new(i);
        if i.contains(['*', '?']) {
            // The directory part before the first wildcard, then match below it.
            let cut = i.find(['*', '?']).unwrap_or(0);
            let dir_end = i[..cut].rfind('/').map_or(0, |x| x + 1);
            let (dir, pat) = i.split_at(dir_end);
            let dir = if dir.is_empty() {
                Path::new(".")
            } else {
                Path::new(dir)
            };
            let found = glob_files(dir, pat);
            if found.is_empty() {
                bail!("no file matches `{i}`");
            }
            out.extend(found.into_iter().map(|f| (f, false)));
        } else if p.is_dir() {
            let before = out.len();
            out.extend(glob_files(p, "*.json").into_iter().map(|f| (f, false)));
            // Templates in YAML too (read as templates by content, src/iac/mod.rs; quietly:
            // the JSON files there are policies).
            for (f, _) in crate::iac::scan(p).0 {
                if !out[before..].iter().any(|(g, _)| *g == f) {
                    out.push((f, false));
                }
            }
            if out.len() == before {
                // Nothing to check is not a pass.
                bail!("{i}: no policy file (*.json) or template in this directory");
            }
        } else if p.extension().is_some_and(|e| e == "txt" || e == "list") {
            let text = crate::load::read_text(p)?;
            let base = p.parent().unwrap_or(Path::new("."));
            let root = crate::load::root_of(p)?;
            for (n, l) in text.lines().enumerate() {
                let l = l.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let f = crate::load::resolve_inside(&root, base, l, "listed file")
                    .map_err(|e| anyhow!("{}:{}: {e:#}", p.display(), n + 1))?;
                out.push((f, false));
            }
        } else {
            out.push((p.to_path_buf(), true));
        }
    }
    // A file named twice (or reached by two routes) is checked once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(f, _)| std::fs::canonicalize(f).map_or(true, |c| seen.insert(c)));
    Ok(out)
}

/// The identity of a sharded run: the same for every shard of one run, different when the
/// inputs or the options that shape the answers differ (a hash of the version, the caller's
/// `run_key` and the expanded input list).
fn run_identity(run_key: &str, files: &[(PathBuf, bool)]) -> String {
    let mut key = String::from(env!("CARGO_PKG_VERSION"));
    key.push_str(run_key);
    for (f, _) in files {
        key.push('\u{1}');
        key.push_str(&f.display().to_string());
    }
    format!("{:016x}", stable_hash(&key))
}

/// FNV-1a: a stable hash, so a job's shard does not depend on what else is in the run.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| anyhow!("--shard takes I/N, e.g. 2/8"))?;
    let (i, n): (u64, u64) = (i.trim().parse()?, n.trim().parse()?);
    if n == 0 || i == 0 || i > n {
        bail!("--shard {s}: need 1 <= I <= N");
    }
    Ok((i - 1, n))
}

/// Assemble and run a batch: built-in checks, spec assertions, `--within-boundary` and
/// `--no-new-access` over every input, the jobs run by `run_jobs` (the engine's workers);
/// input errors as records; `tarski.toml` applied.
pub fn run(
    args: &BatchInputs,
    run_jobs: &dyn Fn(&[Job]) -> Result<Vec<Record>>,
) -> Result<BatchReport> {
    // tarski.toml (src/config.rs): template values here, the rest on the records.
    let config = crate::config::load(args.config.as_deref())?;
    let baseline_findings = args
        .baseline_findings
        .as_deref()
        .map(crate::config::read_baseline)
        .transpose()?;
    // Templates, plans and snapshots among the inputs are read as what they are.
    let mut iac_args = args.iac.clone();
    config.template_values(&mut iac_args.values);
    let files = crate::iac::split_inputs(collect(&args.inputs)?, &mut iac_args);
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let mut checks: Vec<&'static tarski_compiler::checks::Builtin> = Vec::new();
    for c in &args.checks {
        let b = builtin(c).ok_or_else(|| {
            anyhow!(
                "unknown check `{c}`; built-in checks: {}",
                BUILTINS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        checks.push(b);
    }
    if checks.is_empty()
        && args.spec.is_none()
        && args.within_boundary.is_none()
        && !args.no_new_access
    {
        checks = BUILTINS.iter().collect();
    }
    let spec = args
        .spec
        .as_deref()
        .map(crate::spec_load::read)
        .transpose()?;
    let names = spec.as_ref().map(crate::spec_load::resolve).transpose()?;
    let boundary = match &args.within_boundary {
        Some(b) => Some(Arc::new(set_of_policies(
            crate::load::policies(b, PolicyKind::Identity)?,
            PolicyKind::Identity,
        ))),
        None => None,
    };
    let mut descriptions: BTreeMap<String, String> = checks
        .iter()
        .map(|b| (b.name.to_string(), b.description.to_string()))
        .collect();
    if let Some(s) = &spec {
        descriptions.extend(crate::spec_load::descriptions(s));
    }
    descriptions.insert(
        "within-boundary".into(),
        "every permission must stay inside the permissions boundary".into(),
    );
    descriptions.insert(
        "no-new-access".into(),
        "a change must not grant anything its baseline did not".into(),
    );

    let mut records: Vec<Record> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let in_shard = |key: &str| shard.is_none_or(|(i, n)| stable_hash(key) % n == i);
    // Spec assertions that do not name `policy` run once (in shard 1).
    if let (Some(s), Some(n)) = (&spec, &names) {
        jobs.extend(
            crate::spec_load::jobs(s, n, None)
                .into_iter()
                .filter(|j| in_shard(&format!("{}\u{0}{}", j.subject, j.check))),
        );
    }
    for (f, named) in &files {
        let name = f.display().to_string();
        if !in_shard(&name) {
            continue;
        }
        let text = match (if *named {
            Ok(())
        } else {
            crate::load::check_regular(f)
        })
        .and_then(|()| crate::load::read_text(f))
        {
            Ok(t) => t,
            Err(e) => {
                records.push(input_error(&name, format!("{e:#}"), None));
                continue;
            }
        };
        let loaded = load(&name, &text, args.kind, false);
        if loaded.has_errors() || loaded.policies.is_empty() {
            let (msg, loc) = first_error(&loaded)
                .unwrap_or_else(|| ("no policy document found".to_string(), None));
            records.push(input_error(&name, msg, loc));
            continue;
        }
        let kind = loaded.policies[0].policy.kind;
        let set = Arc::new(set_of_policies(loaded.policies, kind));
        let is_resource = matches!(kind, PolicyKind::Resource | PolicyKind::Trust);
        let mut add = |check: String, severity: Level, q: Question| {
            jobs.push(Job {
                file: name.clone(),
                subject: name.clone(),
                check,
                severity,
                question: q,
                under: None,
            })
        };
        for b in &checks {
            if b.resource_policies != is_resource {
                continue;
            }
            let expr = parse_expr(&constraint_text(b))
                .map_err(|e| anyhow!("built-in check {}: {e}", b.name))?;
            if let Some(q) = question(b.quantifier, set.clone(), None, Some(expr)) {
                add(b.name.to_string(), Level::Error, q);
            }
        }
        if let Some(bd) = &boundary {
            if !is_resource {
                if let Some(q) = question(Quantifier::Subset, set.clone(), Some(bd.clone()), None) {
                    add("within-boundary".into(), Level::Error, q);
                }
            }
        }
        if args.no_new_access {
            if let Some(base) = &args.baseline {
                let rel = args
                    .inputs
                    .iter()
                    .filter_map(|i| f.strip_prefix(i).ok())
                    .find(|r| !r.as_os_str().is_empty())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| f.file_name().map(PathBuf::from).unwrap_or_default());
                let counterpart = base.join(&rel);
                let old = if counterpart.exists() {
                    match crate::load::policies(&counterpart, kind) {
                        Ok(ps) => set_of_policies(ps, kind),
                        Err(e) => {
                            records.push(input_error(
                                &counterpart.display().to_string(),
                                format!("{e:#}"),
                                None,
                            ));
                            continue;
                        }
                    }
                } else {
                    // A new policy: everything it grants is new.
                    PolicySet::default()
                };
                if let Some(q) =
                    question(Quantifier::Subset, set.clone(), Some(Arc::new(old)), None)
                {
                    add("no-new-access".into(), Level::Error, q);
                }
            }
        }
        if let (Some(s), Some(n)) = (&spec, &names) {
            jobs.extend(crate::spec_load::jobs(
                s,
                n,
                Some(&(set.clone(), name.clone())),
            ));
        }
    }
    // Templates, plans and snapshots (src/iac.rs).
    let iac = crate::iac::batch(
        &iac_args,
        &crate::iac::BatchCx {
            checks: &checks,
            spec: spec.as_ref().zip(names.as_ref()),
            boundary: boundary.as_ref(),
            in_shard: &in_shard,
            baseline: args.baseline.as_deref().filter(|_| args.no_new_access),
        },
    )?;
    jobs.extend(iac.jobs.iter().cloned());
    records.extend(iac.records.iter().cloned());
    let mut finished = run_jobs(&jobs)?;
    iac.relocate(&mut finished);
    records.append(&mut finished);
    config.apply(
        &mut records,
        baseline_findings.as_ref(),
        &crate::config::today(),
    );
    records.sort_by(|a, b| (&a.file, &a.check, &a.subject).cmp(&(&b.file, &b.check, &b.subject)));
    let inputs = files
        .iter()
        .filter(|(f, _)| in_shard(&f.display().to_string()))
        .count()
        + iac.inputs;
    let shard = shard.map(|(i, n)| Shard {
        run: run_identity(&args.run_key, &files),
        index: i + 1,
        count: n,
    });
    Ok(BatchReport {
        records,
        inputs,
        descriptions,
        shard,
        config,
    })
}

fn first_error(l: &tarski_compiler::load::Loaded) -> Option<(String, Option<Location>)> {
    l.diagnostics.iter().find_map(|s| {
        s.diagnostics.iter().find(|d| d.is_error()).map(|d| {
            let (line, column) = s.source.line_col(d.span.start as usize);
            (
                format!("{} [{}]", d.message, d.code),
                Some(Location {
                    file: s.source.name.clone(),
                    line,
                    column,
                }),
            )
        })
    })
}
