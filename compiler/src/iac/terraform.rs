//! Terraform: the JSON of `terraform show -json PLAN` (or of the state, `terraform show
//! -json`). Policies are read from `resource_changes[].change.after`, with
//! `after_unknown` telling which values are known only after apply; without
//! `resource_changes`, from `planned_values` (or the state's `values`) and child modules.
//!
//! Terraform renders a policy attribute as a whole: a policy that mentions one computed value
//! (a bucket ARN created in the same apply) is entirely unknown in the plan. Such a policy is
//! an error (`T0302`): it cannot be checked, and it is never passed silently.

use std::sync::Arc;

use super::{origin, ptr_escape, Extraction, FoundPolicy};
use crate::diagnostic::Diagnostic;
use crate::document::read_documents;
use crate::json::{self, Json, JsonKind};
use crate::policy::PolicyKind;
use crate::source::SourceFile;

/// Resource types and the attributes holding policy documents. `None`: inferred.
const TYPES: &[(&str, &str, &str, Option<PolicyKind>)] = &[
    (
        "managed",
        "aws_iam_policy",
        "policy",
        Some(PolicyKind::Identity),
    ),
    (
        "managed",
        "aws_iam_role_policy",
        "policy",
        Some(PolicyKind::Identity),
    ),
    (
        "managed",
        "aws_iam_user_policy",
        "policy",
        Some(PolicyKind::Identity),
    ),
    (
        "managed",
        "aws_iam_group_policy",
        "policy",
        Some(PolicyKind::Identity),
    ),
    (
        "managed",
        "aws_iam_role",
        "assume_role_policy",
        Some(PolicyKind::Trust),
    ),
    (
        "managed",
        "aws_s3_bucket_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_sqs_queue_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_sns_topic_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_kms_key",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_ecr_repository_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_secretsmanager_secret_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    ("data", "aws_iam_policy_document", "json", None),
];

struct Res<'a> {
    address: String,
    mode: String,
    ty: String,
    values: &'a Json,
    unknown: Option<&'a Json>,
    pointer: String,
}

pub fn extract(name: &str, text: &str) -> Extraction {
    let source = Arc::new(SourceFile::new(name, text));
    let mut out = Extraction::default();
    let root = match json::parse(text) {
        Ok(r) => r,
        Err(e) => {
            out.file_diag(&source, Diagnostic::error("T0300", e.span, e.message));
            return out;
        }
    };
    let mut res = Vec::new();
    if let Some(JsonKind::Array(rcs)) = root.get("resource_changes").map(|r| &r.kind) {
        for (i, rc) in rcs.iter().enumerate() {
            let Some(change) = rc.get("change") else {
                continue;
            };
            let deleted = matches!(change.get("actions").map(|a| &a.kind),
                Some(JsonKind::Array(a)) if a.len() == 1 && a[0].as_str() == Some("delete"));
            let Some(after) = change.get("after") else {
                continue;
            };
            if deleted || after.as_object().is_none() {
                continue;
            }
            res.push(Res {
                address: str_of(rc, "address"),
                mode: str_of(rc, "mode"),
                ty: str_of(rc, "type"),
                values: after,
                unknown: change.get("after_unknown"),
                pointer: format!("/resource_changes/{i}/change/after"),
            });
        }
    } else {
        let (m, base) = match (root.get("planned_values"), root.get("values")) {
            (Some(p), _) => (p.get("root_module"), "/planned_values/root_module"),
            (None, Some(v)) => (v.get("root_module"), "/values/root_module"),
            _ => (None, ""),
        };
        match m {
            Some(m) => walk(m, base.to_string(), &mut res),
            None => out.file_diag(
                &source,
                Diagnostic::error(
                    "T0300",
                    root.span,
                    "not Terraform JSON: no `resource_changes`, `planned_values` or `values` (run `terraform show -json PLANFILE`)",
                ),
            ),
        }
    }
    for r in res {
        for (mode, ty, attr, kind) in TYPES {
            if r.ty != *ty || r.mode != *mode {
                continue;
            }
            let ptr = format!("{}/{attr}", r.pointer);
            let unknown = r.unknown.and_then(|u| u.get(attr));
            one(
                &source,
                &r,
                attr,
                r.values.get(attr),
                unknown,
                ptr,
                *kind,
                &mut out,
            );
        }
        if r.ty == "aws_iam_role" && r.mode == "managed" {
            let items = match r.values.get("inline_policy").map(|v| &v.kind) {
                Some(JsonKind::Array(items)) => items.as_slice(),
                _ => &[],
            };
            let unk = r.unknown.and_then(|u| u.get("inline_policy"));
            if matches!(unk.map(|u| &u.kind), Some(JsonKind::Bool(true))) {
                out.policies.push(unknown_policy(
                    &source,
                    &r.address,
                    format!("{}/inline_policy", r.pointer),
                    unk.unwrap(),
                    "inline_policy",
                    Some(PolicyKind::Identity),
                ));
            }
            for (i, it) in items.iter().enumerate() {
                let u = match unk.map(|u| &u.kind) {
                    Some(JsonKind::Array(us)) => us.get(i).and_then(|x| x.get("policy")),
                    _ => None,
                };
                let attr = format!("inline_policy[{i}].policy");
                one(
                    &source,
                    &r,
                    &attr,
                    it.get("policy"),
                    u,
                    format!("{}/inline_policy/{i}/policy", r.pointer),
                    Some(PolicyKind::Identity),
                    &mut out,
                );
            }
        }
    }
    out
}

fn str_of(j: &Json, k: &str) -> String {
    j.get(k).and_then(Json::as_str).unwrap_or("").to_string()
}

fn walk<'a>(module: &'a Json, base: String, out: &mut Vec<Res<'a>>) {
    if let Some(JsonKind::Array(rs)) = module.get("resources").map(|r| &r.kind) {
        for (i, r) in rs.iter().enumerate() {
            if let Some(values) = r.get("values") {
                out.push(Res {
                    address: str_of(r, "address"),
                    mode: str_of(r, "mode"),
                    ty: str_of(r, "type"),
                    values,
                    unknown: None,
                    pointer: format!("{base}/resources/{i}/values"),
                });
            }
        }
    }
    if let Some(JsonKind::Array(ms)) = module.get("child_modules").map(|r| &r.kind) {
        for (i, m) in ms.iter().enumerate() {
            walk(m, format!("{base}/child_modules/{i}"), out);
        }
    }
}

fn unknown_policy(
    source: &Arc<SourceFile>,
    address: &str,
    ptr: String,
    at: &Json,
    attr: &str,
    kind: Option<PolicyKind>,
) -> FoundPolicy {
    FoundPolicy {
        origin: origin(source, address, ptr, at.span),
        kind,
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: vec![Diagnostic::error(
            "T0302",
            at.span,
            format!("`{address}.{attr}` is known only after apply (it depends on a value computed during the apply); Tarski cannot check it"),
        )
        .with_note("help: apply the resources it depends on first (or `-target` them), then plan again; or check the state with `terraform show -json` after apply")],
    }
}

#[allow(clippy::too_many_arguments)]
fn one(
    source: &Arc<SourceFile>,
    r: &Res,
    attr: &str,
    value: Option<&Json>,
    unknown: Option<&Json>,
    ptr: String,
    kind: Option<PolicyKind>,
    out: &mut Extraction,
) {
    let _ = ptr_escape;
    if let Some(u) = unknown {
        if matches!(u.kind, JsonKind::Bool(true)) {
            out.policies
                .push(unknown_policy(source, &r.address, ptr, u, attr, kind));
            return;
        }
    }
    let Some(v) = value else { return };
    let text = match &v.kind {
        JsonKind::String(t) if !t.trim().is_empty() => t,
        _ => return, // null or empty: no policy set
    };
    let mut fp = FoundPolicy {
        origin: origin(source, &r.address, ptr, v.span),
        kind,
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: Vec::new(),
    };
    match read_documents(&format!("{}: {}.{attr}", source.name, r.address), text) {
        Ok(mut docs) if docs.len() == 1 => {
            let d = docs.remove(0);
            fp.source = d.source;
            fp.document = Some(d.json);
        }
        Ok(_) => fp.diagnostics.push(Diagnostic::error(
            "T0300",
            v.span,
            "expected one policy document",
        )),
        Err(e) => {
            fp.source = e.source;
            fp.diagnostics.push(e.diagnostic);
        }
    }
    out.policies.push(fp);
}
