//! Infrastructure-as-code inputs on the command line (docs/iac.md): the flags, and which files
//! to read (`inputs`, with nested stacks). `check.rs`: `check --template / --terraform-plan /
//! --account-snapshot`. `principal.rs`: `--principal-of` for `eval` and `can`. `batch.rs`:
//! their policies and principals as batch subjects.

mod batch;
mod check;
mod principal;

pub use batch::{batch, BatchCx};
pub use check::{check, Counts};
pub use principal::{default_principal, policy_set, principal_pin};

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use tarski_compiler::iac::{self, cloudformation};

use crate::run::Location;
/// `tarski check` inputs that hold policies among other things.
#[derive(Args, Debug, Clone, Default)]
pub struct IacCheckArgs {
    /// A CloudFormation / CDK / SAM template (JSON or YAML), a glob such as `stacks/*.yaml`, or a
    /// directory such as `cdk.out` (every template below it, recognised by content; nested stacks
    /// through their parents); every policy in it is checked.
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
    /// A directory of AWS managed policy documents named `NAME.json`, for names that are not
    /// built in (the latest version of every AWS managed policy is built into Tarski).
    #[arg(long, value_name = "DIR")]
    pub managed_policies: Option<PathBuf>,
    /// Do not model values known only at deploy time as symbolic strings: questions about a
    /// policy with any such value are `unknown`. By default an unknown in a resource or a
    /// condition value is a fresh symbolic string: proofs hold for every value it could take,
    /// and witnesses show the value they need (as a context key such as `tarski:GetAtt/Bucket.Arn`).
    #[arg(long)]
    pub no_model_unknowns: bool,
    /// `[trusted]` of tarski.toml, (accounts, organizations): the zone of trust of the
    /// `no-external-access` check (docs/ci.md). Not a flag.
    #[arg(skip)]
    pub trusted: Option<std::sync::Arc<(Vec<String>, Vec<String>)>>,
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

/// One IaC input to read.
struct Input {
    path: PathBuf,
    /// 0 template, 1 plan, 2 snapshot.
    what: u8,
    opts: cloudformation::Options,
    /// For a nested stack's template: which parent names it.
    from: Option<String>,
    /// Why the input is not read (a nested template outside the allowed tree); reported as
    /// the input's error.
    refused: Option<String>,
}

impl Input {
    /// The input's text, or why it is not read.
    pub(crate) fn read(&self) -> anyhow::Result<String> {
        match &self.refused {
            Some(why) => Err(anyhow::anyhow!("{why}")),
            None => crate::load::read_text(&self.path),
        }
    }
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
    // Inputs that stand for nothing (a glob that matches no file, a directory with no
    // template): an input error each, never an empty pass.
    let mut nothing: Vec<(PathBuf, String)> = Vec::new();
    let mut plans: Vec<PathBuf> = a.terraform_plans.clone();
    let mut snapshots: Vec<PathBuf> = a.account_snapshots.clone();
    for t in &a.templates {
        let text = t.display().to_string();
        if t.is_dir() || text.contains(['*', '?']) {
            // Every template below the directory (or matching the glob), by content: a
            // directory of `*.yaml` templates, a CDK `cdk.out`; plans and snapshots found
            // there are read as what they are.
            let found = iac_files(t);
            if found.is_empty() {
                nothing.push((
                    t.clone(),
                    if t.is_dir() {
                        format!(
                            "no template, plan or snapshot in the directory {}",
                            t.display()
                        )
                    } else {
                        format!("no file matches `{}`", t.display())
                    },
                ));
            }
            for (p, kind) in found {
                match kind {
                    iac::InputKind::Template => given.push(p),
                    iac::InputKind::TerraformPlan => plans.push(p),
                    iac::InputKind::AccountSnapshot => snapshots.push(p),
                }
            }
        } else {
            given.push(t.clone());
        }
    }
    // A template that another given template names as its nested stack is read through that
    // parent, with the parameters it passes.
    let children: std::collections::HashSet<PathBuf> = given
        .iter()
        .filter_map(|p| Some((p, crate::load::read_text(p).ok()?)))
        .flat_map(|(p, text)| {
            let dir = p.parent().map(PathBuf::from).unwrap_or_default();
            cloudformation::extract(&p.display().to_string(), &text, opts)
                .nested
                .into_iter()
                .map(move |n| normal(&dir.join(&n.path)))
        })
        .collect();
    if given.len() > 1 {
        given.retain(|p| !children.contains(&normal(p)));
    }
    struct Queued {
        path: PathBuf,
        opts: cloudformation::Options,
        depth: usize,
        from: Option<String>,
        /// The tree the template's nested stacks must stay in: the directory of the template
        /// given on the command line (issue 15, finding 3), or an `--allow-path` directory.
        root: Option<PathBuf>,
        refused: Option<String>,
    }
    let mut queue: std::collections::VecDeque<Queued> = given
        .into_iter()
        .map(|path| Queued {
            root: crate::load::root_of(&path).ok(),
            path,
            opts: opts.clone(),
            depth: 0,
            from: None,
            refused: None,
        })
        .collect();
    // Reading such an input fails (a directory, a path that does not exist), with why first.
    queue.extend(nothing.into_iter().map(|(path, why)| Queued {
        path,
        opts: opts.clone(),
        depth: 8,
        from: Some(why),
        root: None,
        refused: None,
    }));
    while let Some(q) = queue.pop_front() {
        // Each file once, by its canonical path: nested stacks that name each other through
        // `../` or links are read once (issue 15, finding 9).
        if !seen.insert(std::fs::canonicalize(&q.path).unwrap_or_else(|_| q.path.clone())) {
            continue;
        }
        if q.depth < 8 && q.refused.is_none() {
            if let Ok(text) = crate::load::read_text(&q.path) {
                let ex = cloudformation::extract(&q.path.display().to_string(), &text, &q.opts);
                let dir = q.path.parent().map(PathBuf::from).unwrap_or_default();
                for n in ex.nested {
                    let child = cloudformation::Options {
                        parameters: n.parameters,
                        parameter_vars: n.parameter_vars,
                        ..q.opts.clone()
                    };
                    let from = format!(
                        "the template of nested stack `{}` in {}",
                        n.id,
                        q.path.display()
                    );
                    let path = dir.join(&n.path);
                    // A nested template is named inside an input: it must resolve inside the
                    // tree of the template given (never `/etc/passwd` or `../../secrets`).
                    // (A missing one is reported by the read, as any missing input.)
                    let refused = q
                        .root
                        .as_deref()
                        .filter(|_| path.exists())
                        .and_then(|root| {
                            crate::load::check_inside(root, &path, &format!("`{}`", n.path))
                                .err()
                                .map(|e| format!("{e:#}"))
                        });
                    queue.push_back(Queued {
                        path,
                        opts: child,
                        depth: q.depth + 1,
                        from: Some(from),
                        root: q.root.clone(),
                        refused,
                    });
                }
            }
        }
        out.push(Input {
            path: q.path,
            what: 0,
            opts: q.opts,
            from: q.from,
            refused: q.refused,
        });
    }
    out.extend(plans.iter().map(|p| Input {
        path: p.clone(),
        what: 1,
        opts: opts.clone(),
        from: None,
        refused: None,
    }));
    out.extend(snapshots.iter().map(|p| Input {
        path: p.clone(),
        what: 2,
        opts: opts.clone(),
        from: None,
        refused: None,
    }));
    out
}

/// `a/./b/../c` as `a/c`, to compare paths without touching the file system.
fn normal(p: &std::path::Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Extensions of files a directory's templates, plans and snapshots may have (none counts).
const IAC_EXTENSIONS: &[&str] = &["json", "yaml", "yml", "template", "tpl", "cfn"];

/// The templates, plans and snapshots under a directory (recursively) or matching a glob
/// (`stacks/*.yaml`), recognised by content (`iac::sniff`), in a stable order. Only regular
/// files are read (a FIFO would block); unreadable files and files of other kinds are left out.
pub fn iac_files(input: &std::path::Path) -> Vec<(PathBuf, iac::InputKind)> {
    let (found, skipped) = scan(input);
    if !skipped.is_empty() {
        // Never skipped without a word: files there that are not inputs of this kind.
        eprintln!(
            "note: {}: {} file{} not a template, plan or snapshot, not read: {}{}",
            input.display(),
            skipped.len(),
            if skipped.len() == 1 { " is" } else { "s are" },
            skipped
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if skipped.len() > 5 { ", ..." } else { "" }
        );
    }
    found
}

/// The templates, plans and snapshots under `input` (see `iac_files`), and the other files
/// (with why, when they could not be read).
pub fn scan(input: &std::path::Path) -> (Vec<(PathBuf, iac::InputKind)>, Vec<String>) {
    let text = input.display().to_string();
    let candidates = if text.contains(['*', '?']) {
        let cut = text.find(['*', '?']).unwrap_or(0);
        let dir_end = text[..cut].rfind('/').map_or(0, |x| x + 1);
        let (dir, pat) = text.split_at(dir_end);
        let dir = if dir.is_empty() { "." } else { dir };
        crate::spec_load::glob_files(std::path::Path::new(dir), pat)
    } else {
        crate::spec_load::glob_files(input, "*")
            .into_iter()
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_none_or(|e| IAC_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect()
    };
    let mut skipped: Vec<String> = Vec::new();
    let found: Vec<(PathBuf, iac::InputKind)> = candidates
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .filter_map(|p| {
            let text = match crate::load::read_text(&p) {
                Ok(t) => t,
                Err(e) => {
                    skipped.push(format!("{e:#}"));
                    return None;
                }
            };
            // A template that does not parse is still a template: read it, so its error is
            // reported rather than the file skipped.
            let kind = iac::sniff(&p.display().to_string(), &text).or_else(|| {
                (text.contains("AWSTemplateFormatVersion")
                    || text.lines().any(|l| l.trim_end() == "Resources:"))
                .then_some(iac::InputKind::Template)
            });
            match kind {
                Some(k) => Some((p, k)),
                None => {
                    skipped.push(p.display().to_string());
                    None
                }
            }
        })
        .collect();
    (found, skipped)
}

/// Split `batch`'s positional inputs: templates, plans and snapshots (by content) go to the IaC
/// inputs; the rest are policy files.
pub fn split_inputs(files: Vec<(PathBuf, bool)>, iac: &mut IacCheckArgs) -> Vec<(PathBuf, bool)> {
    let mut policies = Vec::new();
    for (f, named) in files {
        let kind = std::fs::metadata(&f)
            .is_ok_and(|m| m.is_file())
            .then(|| crate::load::read_text(&f).ok())
            .flatten()
            .and_then(|t| iac::sniff(&f.display().to_string(), &t));
        match kind {
            Some(iac::InputKind::Template) => iac.templates.push(f),
            Some(iac::InputKind::TerraformPlan) => iac.terraform_plans.push(f),
            Some(iac::InputKind::AccountSnapshot) => iac.account_snapshots.push(f),
            None => policies.push((f, named)),
        }
    }
    policies
}

fn loc(o: &iac::Origin) -> Location {
    Location {
        file: o.file.clone(),
        line: o.line,
        column: o.column,
    }
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
