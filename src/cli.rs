//! Command-line arguments (clap derive). Only what the user typed; no I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "tarski", version, about = "Prove things about AWS IAM policies", after_help = HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Let files named inside inputs (spec `include`/`policy`/`set`, manifest entries, batch
    /// list files) resolve below DIR too. By default they must stay in the directory tree of
    /// the file naming them (the top spec's, the manifest's, the list's).
    #[arg(long, global = true, value_name = "DIR")]
    pub allow_path: Vec<PathBuf>,
    /// Memory limit of the whole run in MiB, solver processes included. Past it a question
    /// answers `unknown` (exit 2) and any other command stops without a report (exit 2).
    #[arg(long, global = true, value_name = "MIB", default_value_t = crate::memory::DEFAULT_MIB)]
    pub max_memory: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and validate policy documents; print errors and lint warnings.
    Check(CheckArgs),
    /// Decide one request against a policy set, as AWS would, and explain the decision.
    Eval(Box<EvalArgs>),
    /// List the IAM actions a pattern such as `s3:Get*` matches.
    Expand(ExpandArgs),
    /// Is some request allowed that meets a constraint? (exit 0 reachable, 1 not reachable)
    Can(Box<CanArgs>),
    /// Does everything A allows stay inside B? (exit 0 holds, 1 does not hold)
    Subset(Box<CompareArgs>),
    /// Do A and B allow exactly the same requests? (exit 0 holds, 1 does not hold)
    Equiv(Box<CompareArgs>),
    /// Check every assertion of a spec file (.tq); exit 0 only when all hold.
    Verify(Box<VerifyArgs>),
    /// Check a corpus of policies against built-in checks and spec assertions, in parallel.
    Batch(Box<BatchArgs>),
    /// Join the JSON results of several (sharded) batch runs into one report.
    Merge(MergeArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    /// JSON lines: one record per subject × check (docs/batch.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

/// Solver options for many questions.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Per-query time limit in seconds.
    #[arg(long, default_value = "30")]
    pub timeout: f64,
    /// Witnesses per failing check.
    #[arg(long, default_value = "1")]
    pub witnesses: usize,
    /// Only consider actions in the embedded catalog.
    #[arg(long)]
    pub known_actions: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Write the report here instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Put each check's wall time in the report (JSON `elapsed_ms`, the slowest checks in
    /// text). Without it a report depends only on the inputs and flags, byte for byte.
    #[arg(long)]
    pub timings: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The spec file.
    pub spec: PathBuf,
    #[command(flatten)]
    pub values: crate::iac::IacValueArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Policy files, directories (every *.json below), glob patterns, or list files (.txt:
    /// one path per line).
    #[arg(required_unless_present_any = ["templates", "terraform_plans", "account_snapshots"])]
    pub inputs: Vec<String>,
    /// Assertions to hold each policy to; `policy` in an assertion names the policy checked.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Built-in checks: no-admin, no-public-access, no-passrole-wildcard (default: all three,
    /// unless --spec, --within-boundary or --no-new-access is given).
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
    /// Every identity policy must stay inside this permissions boundary.
    #[arg(long, value_name = "FILE")]
    pub within_boundary: Option<PathBuf>,
    /// Compare each policy with its counterpart (same relative path) under --baseline.
    #[arg(long, requires = "baseline")]
    pub no_new_access: bool,
    /// The baseline tree for --no-new-access.
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,
    /// Read every input as this kind (default: inferred per file).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Run only shard I of N (1-based), e.g. 2/8; shards split the work deterministically.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Templates, Terraform plans and account snapshots (docs/iac.md, docs/ci.md).
    #[command(flatten)]
    pub iac: crate::iac::IacCheckArgs,
    /// The configuration (suppressions, severities, what blocks, template values; docs/ci.md)
    /// (default: `tarski.toml` in the working directory or the nearest one above it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A JSON report of an earlier run (`batch --format json`): only findings not in it block.
    #[arg(long, value_name = "FILE")]
    pub baseline_findings: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// JSON-lines results of `tarski batch --format json` (one per shard).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Keep the wall times of shards run with `--timings` (JSON `elapsed_ms`, slowest checks).
    #[arg(long)]
    pub timings: bool,
}

/// Options shared by the solver commands.
#[derive(Args, Debug, Clone)]
pub struct SolveArgs {
    /// Per-query time limit in seconds; a query that runs out is "unknown", never "proved".
    #[arg(long, default_value = "30")]
    pub timeout: f64,
    /// Look for up to N distinct witnesses (different action, resource or principal).
    #[arg(long, default_value = "1")]
    pub witnesses: usize,
    /// Only consider actions in the embedded catalog (today's actions), not future ones.
    #[arg(long)]
    pub known_actions: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Print solver statistics (atoms, cells, whether Z3 ran, time).
    #[arg(long)]
    pub stats: bool,
    /// Skip the syntactic shortcuts and always run the cell/Z3 engine (for measurement).
    #[arg(long)]
    pub no_fast_path: bool,
    /// Which solver answers: `portfolio` races Z3 and cvc5 on policy-variable (string)
    /// queries, first definitive answer wins (docs/z3.md).
    #[arg(long, value_enum, default_value = "portfolio")]
    pub solver: SolverArg,
    /// Run Z3 and cvc5 to the end on every solver query; a contradiction is an internal
    /// error (exit 4).
    #[arg(long)]
    pub cross_check: bool,
    /// Write every solver problem to DIR as an SMT-LIB file (query-N.smt2) that the
    /// standalone `z3` and `cvc5 --strings-exp` accept.
    #[arg(long, value_name = "DIR")]
    pub emit_smt2: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    Z3,
    Cvc5,
    Portfolio,
}

/// A request constraint: flags and a `--where` expression (docs/cli.md).
#[derive(Args, Debug, Clone)]
pub struct ConstraintArgs {
    /// Only requests whose action matches this pattern (e.g. `s3:Get*`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only requests whose resource matches this ARN pattern.
    #[arg(long)]
    pub resource: Option<String>,
    /// Only requests from this principal (ARN, account ID, service or `anonymous`).
    #[arg(long)]
    pub principal: Option<String>,
    /// A condition on the request, e.g. `!aws:MultiFactorAuthPresent`,
    /// `aws:SourceIp in 10.0.0.0/8`, `s3:prefix like "home/*"`.
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
}

#[derive(Args, Debug)]
pub struct CanArgs {
    #[command(flatten)]
    pub set: SetArgs,
    #[command(flatten)]
    pub principal_of: crate::iac::PrincipalOfArgs,
    #[command(flatten)]
    pub constraint: ConstraintArgs,
    #[command(flatten)]
    pub solve: SolveArgs,
    #[command(flatten)]
    pub values: crate::iac::IacValueArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The first policy: a policy file or a policy-set manifest (`.toml`, or JSON with
    /// `identity`/`boundary`/... keys).
    pub a: PathBuf,
    /// The second policy, in the same forms.
    pub b: PathBuf,
    /// Read single policy files as this kind (default: identity).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    #[command(flatten)]
    pub constraint: ConstraintArgs,
    #[command(flatten)]
    pub solve: SolveArgs,
    #[command(flatten)]
    pub values: crate::iac::IacValueArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Identity,
    Resource,
    Trust,
    Scp,
    Rcp,
    Boundary,
    Session,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Policy files (a document, an array of documents, `get-policy-version` output, or a
    /// URL-encoded document).
    #[arg(required_unless_present_any = ["templates", "terraform_plans", "account_snapshots"])]
    pub files: Vec<PathBuf>,
    /// The kind of policy; inferred from the document when omitted.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit with 1 when there are warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    #[command(flatten)]
    pub iac: crate::iac::IacCheckArgs,
}

impl SetArgs {
    /// The files these flags name, for the engine.
    pub fn files(&self) -> tarski::SetFiles {
        tarski::SetFiles {
            identity: self.identity.clone(),
            manifest: self.manifest.clone(),
            boundary: self.boundary.clone(),
            scps: self.scps.clone(),
            rcps: self.rcps.clone(),
            session_policy: self.session_policy.clone(),
            resource_policy: self.resource_policy.clone(),
        }
    }
}

/// The policies of a set, from flags or from a manifest.
#[derive(Args, Debug, Clone)]
pub struct SetArgs {
    /// Identity-based policy files of the caller.
    pub identity: Vec<PathBuf>,
    /// A policy-set manifest (JSON or TOML) naming the policies by role.
    #[arg(long = "set")]
    pub manifest: Option<PathBuf>,
    /// Permissions boundary.
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    /// An SCP; each occurrence is one layer (root, OU, ..., account), and every layer must allow.
    #[arg(long = "scp")]
    pub scps: Vec<PathBuf>,
    /// An RCP; each occurrence is one layer.
    #[arg(long = "rcp")]
    pub rcps: Vec<PathBuf>,
    /// Session policy.
    #[arg(long = "session-policy")]
    pub session_policy: Option<PathBuf>,
    /// Resource-based policy of the resource.
    #[arg(long = "resource-policy")]
    pub resource_policy: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub set: SetArgs,
    #[command(flatten)]
    pub principal_of: crate::iac::PrincipalOfArgs,
    /// The caller: user ARN, role session ARN (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION),
    /// service principal (ec2.amazonaws.com) or `anonymous`.
    #[arg(long)]
    pub principal: Option<String>,
    /// The action, e.g. s3:GetObject.
    #[arg(long)]
    pub action: Option<String>,
    /// The resource ARN.
    #[arg(long)]
    pub resource: Option<String>,
    /// The account owning the resource (default: from the resource ARN, else the caller's).
    #[arg(long)]
    pub resource_account: Option<String>,
    /// A context key value, KEY=VALUE; repeat a key to give it several values.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Context keys from a JSON object (key → string, number, boolean or array).
    #[arg(long)]
    pub context_json: Option<PathBuf>,
    /// The whole request as JSON: {"principal", "action", "resource", "resource_account", "context"}.
    #[arg(long)]
    pub request: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub values: crate::iac::IacValueArgs,
}

#[derive(Args, Debug)]
pub struct ExpandArgs {
    /// An action pattern, e.g. `s3:Get*` (case-insensitive; `*` and `?`).
    pub pattern: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

impl KindArg {
    pub fn kind(self) -> tarski_compiler::policy::PolicyKind {
        use tarski_compiler::policy::PolicyKind as K;
        match self {
            KindArg::Identity => K::Identity,
            KindArg::Resource => K::Resource,
            KindArg::Trust => K::Trust,
            KindArg::Scp => K::Scp,
            KindArg::Rcp => K::Rcp,
            KindArg::Boundary => K::Boundary,
            KindArg::Session => K::Session,
        }
    }
}

/// The exit codes (src/exit.rs), under `tarski --help`.
pub const HELP: &str = "\
Exit codes:
  0  yes: allowed (eval), clean (check), holds (subset/equiv), reachable (can)
  1  no: denied (eval), errors found (check), does not hold, not reachable
  2  unknown: the solver gave up (timeout or incompleteness)
  3  bad input: unreadable file, malformed policy or request, bad arguments;
     or the answer could not be written (full disk)
  4  internal error: a bug in Tarski; please report it
  130  interrupted (Ctrl-C); no report was written
  141  standard output closed by its reader (`| head`): the answer was not delivered";
