//! Policies where users keep them: CloudFormation / CDK templates (JSON and YAML), Terraform
//! plan JSON, and account snapshots (`aws iam get-account-authorization-details`). No I/O:
//! callers pass text. Each policy found keeps its origin (file, logical id or address, JSON
//! pointer, line) and its kind; values known only at deploy time are never guessed (see
//! docs/iac.md for what Tarski does with them and which answers stay valid).
//!
//! Diagnostic codes `T03xx` (docs/diagnostics.md).

pub mod attachments;
pub mod bounds;
pub mod cloudformation;
pub mod managed;
pub mod sam;
pub mod snapshot;
pub mod terraform;
pub mod yaml;

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::json::Json;
use crate::load::SourceDiagnostics;
use crate::parse::parse_policy;
use crate::policy::PolicyKind;
use crate::policy_set::LoadedPolicy;
use crate::source::SourceFile;
use crate::span::Span;

/// Where a policy was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The input file.
    pub file: String,
    /// CloudFormation logical id, Terraform resource address, or `role/NAME`,
    /// `user/NAME`, `group/NAME`, `policy/ARN` in a snapshot.
    pub address: String,
    /// JSON pointer (RFC 6901) of the document in the input; for YAML the same path.
    pub pointer: String,
    /// 1-based line and column of the document in the input.
    pub line: usize,
    pub column: usize,
}

/// A value Tarski could not resolve (known only at deploy or apply time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// What the value is, e.g. ``Fn::GetAtt DataBucket.Arn``.
    pub what: String,
    /// Where it is written (in `FoundPolicy::source`).
    pub span: Span,
    /// The text standing in for it in the document Tarski validates.
    pub placeholder: String,
    /// The span of the document value that holds it.
    pub value_span: Span,
    /// Modelled as the policy variable `${tarski:GetAtt/Bucket.Arn}` (a fresh symbolic string that
    /// questions range over), rather than left as an opaque placeholder.
    pub modelled: bool,
    /// Named by an input of the template rather than computed: a template parameter (its
    /// own, or passed by a parent stack) or an `Fn::ImportValue` export. The same expression
    /// in two versions of a template is then the same value (`batch --no-new-access`).
    /// Decisions read this, never `what`.
    pub named: bool,
}

/// One policy document found in an input.
#[derive(Clone, Debug)]
pub struct FoundPolicy {
    pub origin: Origin,
    /// The kind it is read as; `None` when the input does not say (inferred from the document).
    pub kind: Option<PolicyKind>,
    /// The source `document`'s spans (and `errors`' spans) point into.
    pub source: Arc<SourceFile>,
    /// The document with every known value resolved; `None` when it could not be built.
    pub document: Option<Json>,
    /// Values that could not be resolved; a policy with any is `symbolic`.
    pub unknowns: Vec<Unknown>,
    /// Errors (the policy could not be modelled) and warnings found while extracting it.
    pub diagnostics: Vec<Diagnostic>,
}

impl FoundPolicy {
    /// A document from outside the input (an AWS managed policy built into Tarski,
    /// `managed.rs`): part of the principals that attach it, not a subject of its own.
    pub fn external(&self) -> bool {
        self.origin.pointer.starts_with("aws-managed/")
    }

    /// True when some value in the policy is known only at deploy / apply time.
    pub fn symbolic(&self) -> bool {
        !self.unknowns.is_empty()
    }

    /// Some unknown value could not be modelled as a symbolic string (it stands as an opaque
    /// placeholder): questions about this policy are `unknown`.
    pub fn opaque(&self) -> bool {
        self.unknowns.iter().any(|u| !u.modelled)
    }

    /// For a policy with opaque values: the concrete documents that allow at least
    /// (`Over`) or at most (`Under`) what any deployment allows (`bounds.rs`). Modelled
    /// values stay policy variables in both.
    pub fn bounded(&self, b: bounds::Bound) -> Option<FoundPolicy> {
        let doc = self.document.as_ref()?;
        let opaque: Vec<Span> = self
            .unknowns
            .iter()
            .filter(|u| !u.modelled)
            .map(|u| u.value_span)
            .collect();
        Some(FoundPolicy {
            document: Some(bounds::bound(doc, &opaque, b)),
            unknowns: self
                .unknowns
                .iter()
                .filter(|u| u.modelled)
                .cloned()
                .collect(),
            ..self.clone()
        })
    }

    /// Read the document from a JSON string (a Terraform attribute, a URL-encoded snapshot
    /// document) named `name`; `at` is where the string is, for the "not one document" error.
    pub(crate) fn read_string(&mut self, name: &str, text: &str, at: Span) {
        match crate::document::read_documents(name, text) {
            Ok(mut d) if d.len() == 1 => {
                let d = d.remove(0);
                self.source = d.source;
                self.document = Some(d.json);
            }
            Ok(_) => self.diagnostics.push(Diagnostic::error(
                Code::UnreadableInput,
                at,
                "expected one policy document",
            )),
            Err(e) => {
                self.source = e.source;
                self.diagnostics.push(e.diagnostic);
            }
        }
    }

    /// The policy could not be built at all (an error while extracting it).
    pub fn failed(&self) -> bool {
        self.document.is_none() || self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Everything found in one input.
#[derive(Debug, Default)]
pub struct Extraction {
    pub policies: Vec<FoundPolicy>,
    /// The roles and users a template defines, with their policies (indices into `policies`).
    pub principals: Vec<attachments::TemplatePrincipal>,
    /// Nested stacks whose templates are local files, for the caller to read.
    pub nested: Vec<Nested>,
    /// Problems with the input as a whole (unreadable, unsupported parts).
    pub diagnostics: Vec<SourceDiagnostics>,
}

impl Extraction {
    fn file_diag(&mut self, source: &Arc<SourceFile>, d: Diagnostic) {
        if let Some(g) = self
            .diagnostics
            .iter_mut()
            .find(|g| Arc::ptr_eq(&g.source, source))
        {
            g.diagnostics.push(d);
        } else {
            self.diagnostics.push(SourceDiagnostics {
                source: source.clone(),
                diagnostics: vec![d],
            });
        }
    }
}

/// A nested stack of a template (`AWS::CloudFormation::Stack`, `AWS::Serverless::Application`)
/// whose template is a local file.
#[derive(Clone, Debug)]
pub struct Nested {
    pub id: String,
    /// Relative to the parent template's directory.
    pub path: String,
    /// The parameters the parent passes whose values are known (the others stay unknown in the
    /// nested template).
    pub parameters: std::collections::BTreeMap<String, String>,
    /// Parameters the parent passes a wildcard-free deploy-time value (`!GetAtt Bucket.Arn`):
    /// parameter -> (variable key, what), so both stacks name the same value.
    pub parameter_vars: std::collections::BTreeMap<String, (String, String)>,
    pub span: Span,
}

/// A checked policy: the parsed policy (if valid) and every diagnostic about it.
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<LoadedPolicy>,
    pub diagnostics: SourceDiagnostics,
}

/// Parse (and optionally lint) a found policy. Unknown values get one `T0301` warning listing
/// them; lint warnings caused only by a placeholder are dropped; parse errors inside a
/// placeholder get a note saying the value is unknown.
pub fn check(p: &FoundPolicy, lint: bool) -> Checked {
    let mut diags = p.diagnostics.clone();
    let mut policy = None;
    if let Some(doc) = &p.document {
        if !p.unknowns.is_empty() {
            let mut d = Diagnostic::warning(
                Code::DeployTimeValues,
                doc.span,
                format!(
                    "{} value{} in this policy {} known only at deploy time; the policy is symbolic",
                    p.unknowns.len(),
                    if p.unknowns.len() == 1 { "" } else { "s" },
                    if p.unknowns.len() == 1 { "is" } else { "are" }
                ),
            );
            for u in &p.unknowns {
                let (l, c) = p.source.line_col(u.span.start as usize);
                d = d.with_note(format!(
                    "{}:{l}:{c}: {} (stands as `{}`)",
                    p.source.name, u.what, u.placeholder
                ));
            }
            d = d.with_note(if p.opaque() {
                "validation and lint hold for every value; values that cannot be policy \
                 variables are bounded: `batch` answers for every value, or `unknown` (docs/iac.md)"
            } else {
                "each value is a fresh symbolic string `${tarski:...}`: proofs hold for \
                 every value it could take, witnesses show the value they need (docs/iac.md)"
            });
            diags.push(d);
        }
        if !p.failed() {
            let parsed = parse_policy(doc, p.kind);
            let inside = |s: Span| {
                p.unknowns
                    .iter()
                    .any(|u| u.value_span.start <= s.start && s.end <= u.value_span.end)
            };
            for d in parsed.diagnostics {
                if inside(d.span) {
                    if d.is_error() {
                        diags.push(d.with_note(
                            "this value is known only at deploy time; Tarski checked a placeholder",
                        ));
                    }
                } else {
                    diags.push(d);
                }
            }
            if let Some(pol) = parsed.policy {
                if lint {
                    diags.extend(
                        crate::lint::lint(&pol)
                            .into_iter()
                            .filter(|d| !inside(d.span)),
                    );
                }
                if !diags.iter().any(Diagnostic::is_error) {
                    policy = Some(LoadedPolicy::exact(p.source.clone(), pol));
                }
            }
        }
    }
    diags.sort_by_key(|d| (d.span.start, d.code));
    Checked {
        policy,
        diagnostics: SourceDiagnostics {
            source: p.source.clone(),
            diagnostics: diags,
        },
    }
}

/// The conditions Lambda's `AddPermission` writes into a function's policy (Lambda developer
/// guide, "Viewing resource-based IAM policies in Lambda"), one rule for CloudFormation's
/// `AWS::Lambda::Permission` and Terraform's `aws_lambda_permission`: (CloudFormation property,
/// Terraform attribute, operator, condition key).
pub(crate) const LAMBDA_PERMISSION_CONDITIONS: &[(&str, &str, &str, &str)] = &[
    ("SourceArn", "source_arn", "ArnLike", "AWS:SourceArn"),
    (
        "SourceAccount",
        "source_account",
        "StringEquals",
        "AWS:SourceAccount",
    ),
    (
        "PrincipalOrgID",
        "principal_org_id",
        "StringEquals",
        "aws:PrincipalOrgID",
    ),
    (
        "FunctionUrlAuthType",
        "function_url_auth_type",
        "StringEquals",
        "lambda:FunctionUrlAuthType",
    ),
    (
        "EventSourceToken",
        "event_source_token",
        "StringEquals",
        "lambda:EventSourceToken",
    ),
];

/// How a Lambda permission's `Principal` is written in the statement (same source): `*` as is,
/// a service (`s3.amazonaws.com`) as `Service`, an account or ARN as `AWS`.
pub(crate) fn lambda_principal_kind(p: &str) -> Option<&'static str> {
    if p == "*" {
        None
    } else if p.ends_with(".amazonaws.com") || p.ends_with(".amazonaws.com.cn") {
        Some("Service")
    } else {
        Some("AWS")
    }
}

/// JSON pointer escaping (RFC 6901).
pub(crate) fn ptr_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn origin(source: &SourceFile, address: &str, pointer: String, span: Span) -> Origin {
    let (line, column) = source.line_col(span.start as usize);
    Origin {
        file: source.name.clone(),
        address: address.to_string(),
        pointer,
        line,
        column,
    }
}

/// The kinds of input that hold policies among other things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Template,
    TerraformPlan,
    AccountSnapshot,
}

impl InputKind {
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Template => "a CloudFormation template",
            InputKind::TerraformPlan => "Terraform JSON (`terraform show -json`)",
            InputKind::AccountSnapshot => {
                "an account snapshot (`aws iam get-account-authorization-details`)"
            }
        }
    }
}

/// Which kind of IaC input `text` is, by its top-level keys; `None` for anything else (a
/// policy document, a manifest, or text that is not JSON or YAML).
pub fn sniff(name: &str, text: &str) -> Option<InputKind> {
    let yaml = [".yaml", ".yml", ".template"]
        .iter()
        .any(|e| name.to_ascii_lowercase().ends_with(e));
    // By content: JSON when it starts as an object; otherwise YAML (whatever the file is
    // named), when it has a top-level key a template, plan or snapshot has.
    let keys = [
        "Resources",
        "AWSTemplateFormatVersion",
        "resource_changes",
        "planned_values",
    ];
    let root = if text.trim_start().starts_with('{') {
        crate::json::parse(text).ok()?
    } else if yaml
        || text
            .lines()
            .any(|l| keys.iter().any(|k| l.starts_with(&format!("{k}:"))))
    {
        yaml::parse_lenient(text).ok()?.0
    } else {
        return None;
    };
    let has = |k: &str| root.get(k).is_some();
    if has("Resources") || has("AWSTemplateFormatVersion") {
        Some(InputKind::Template)
    } else if has("resource_changes") || has("planned_values") || has("format_version") {
        Some(InputKind::TerraformPlan)
    } else if has("UserDetailList") || has("RoleDetailList") || has("GroupDetailList") {
        Some(InputKind::AccountSnapshot)
    } else {
        None
    }
}
