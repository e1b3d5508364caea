//! From text to parsed policies: read the documents in a text (with its wrappers), parse each
//! as a policy of the given kind, and collect diagnostics with the source they point into.
//! No I/O: callers pass file contents.

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::document::read_documents;
use crate::parse::parse_policy;
use crate::policy::PolicyKind;
use crate::policy_set::LoadedPolicy;
use crate::source::SourceFile;

/// Diagnostics for one source.
#[derive(Debug)]
pub struct SourceDiagnostics {
    pub source: Arc<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The outcome of loading one text: the policies read, and every diagnostic (errors and
/// warnings) grouped by source. A document with errors yields no policy.
#[derive(Debug, Default)]
pub struct Loaded {
    pub policies: Vec<LoadedPolicy>,
    pub diagnostics: Vec<SourceDiagnostics>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|s| s.diagnostics.iter().any(Diagnostic::is_error))
    }

    /// The first error, as `file:line:col: message`, for one-line reports.
    pub fn first_error(&self) -> Option<String> {
        self.diagnostics.iter().find_map(|s| {
            s.diagnostics.iter().find(|d| d.is_error()).map(|d| {
                let (l, c) = s.source.line_col(d.span.start as usize);
                format!("{}:{l}:{c}: {} [{}]", s.source.name, d.message, d.code)
            })
        })
    }
}

/// Load every policy document in `text`. With `lint`, warnings from `crate::lint` are added.
pub fn load(name: &str, text: &str, kind: Option<PolicyKind>, lint: bool) -> Loaded {
    let mut out = Loaded::default();
    let docs = match read_documents(name, text) {
        Ok(d) => d,
        Err(e) => {
            out.diagnostics.push(SourceDiagnostics {
                source: e.source,
                diagnostics: vec![e.diagnostic],
            });
            return out;
        }
    };
    for doc in docs {
        let parsed = parse_policy(&doc.json, kind);
        let mut diags = parsed.diagnostics;
        if let Some(policy) = parsed.policy {
            if lint {
                diags.extend(crate::lint::lint(&policy));
            }
            out.policies
                .push(LoadedPolicy::exact(doc.source.clone(), policy));
        }
        diags.sort_by_key(|d| (d.span.start, d.code));
        if !diags.is_empty() {
            out.diagnostics.push(SourceDiagnostics {
                source: doc.source,
                diagnostics: diags,
            });
        }
    }
    out
}
