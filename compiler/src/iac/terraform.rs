//! Terraform: the JSON of `terraform show -json PLAN` (or of the state, `terraform show
//! -json`). Policies are read from `resource_changes[].change.after`, with
//! `after_unknown` telling which values are known only after apply; without
//! `resource_changes`, from `planned_values` (or the state's `values`) and child modules.
//!
//! Terraform renders a policy attribute as a whole: a policy that mentions one computed value
//! (a bucket ARN created in the same apply) is entirely unknown in the plan. When the policy
//! is a `data.aws_iam_policy_document`'s `json` (the data source is then read during apply,
//! but its statement blocks are in the plan with only the computed values unknown), the
//! document is rendered from the blocks and the resource is linked to it through the plan's
//! `configuration`; the unknown values are opaque and bounded (docs/iac.md). Any other
//! unknown policy (`jsonencode(...)` with a computed value) is an error (`T0302`): it cannot be
//! checked, and it is never passed silently.

use std::collections::HashMap;
use std::sync::Arc;

use super::attachments::TemplatePrincipal;
use super::{origin, ptr_escape, Extraction, FoundPolicy, Unknown};
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{self, Json, JsonKind, Member};
use crate::policy::PolicyKind;
use crate::source::SourceFile;
use crate::span::Span;

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
    // Resource-based policies of the other services (AWS provider docs of each resource; the
    // types of Access Analyzer's `CheckNoPublicAccess` among them).
    (
        "managed",
        "aws_s3_bucket",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3_access_point",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3control_access_point_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3control_bucket_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3control_object_lambda_access_point_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3tables_table_bucket_policy",
        "resource_policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_s3tables_table_policy",
        "resource_policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_glacier_vault",
        "access_policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_sqs_queue",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_sns_topic",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_secretsmanager_secret",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_ecr_registry_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_ecrpublic_repository_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_dynamodb_resource_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_kinesis_resource_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_opensearch_domain",
        "access_policies",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_opensearch_domain_policy",
        "access_policies",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_elasticsearch_domain",
        "access_policies",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_elasticsearch_domain_policy",
        "access_policies",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_backup_vault_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_codeartifact_domain_permissions_policy",
        "policy_document",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_codeartifact_repository_permissions_policy",
        "policy_document",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_api_gateway_rest_api",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_api_gateway_rest_api_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_efs_file_system_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_cloudwatch_log_resource_policy",
        "policy_document",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_cloudwatch_event_bus_policy",
        "policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_cloudtrail_event_data_store",
        "resource_policy",
        Some(PolicyKind::Resource),
    ),
    (
        "managed",
        "aws_kms_replica_key",
        "policy",
        Some(PolicyKind::Resource),
    ),
];

/// Attributes a provider computes when they are not configured (the resource's current policy,
/// or a block of the role): unknown in a plan, and no policy of the configuration.
fn computed_when_absent(ty: &str, attr: &str) -> bool {
    matches!(
        (ty, attr),
        ("aws_iam_role", "inline_policy")
            | ("aws_kms_key" | "aws_kms_replica_key", "policy")
            | (
                "aws_s3_bucket"
                    | "aws_sqs_queue"
                    | "aws_sns_topic"
                    | "aws_secretsmanager_secret"
                    | "aws_api_gateway_rest_api",
                "policy"
            )
            | (
                "aws_opensearch_domain" | "aws_elasticsearch_domain",
                "access_policies"
            )
            | ("aws_glacier_vault", "access_policy")
            | ("aws_cloudtrail_event_data_store", "resource_policy")
    )
}

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
            out.file_diag(
                &source,
                Diagnostic::error(Code::UnreadableInput, e.span, e.message),
            );
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
                    Code::UnreadableInput,
                    root.span,
                    "not Terraform JSON: no `resource_changes`, `planned_values` or `values` (run `terraform show -json PLANFILE`)",
                ),
            ),
        }
    }
    // Policy documents Terraform reads only during apply, rendered from their statements with
    // the values known after apply as opaque unknowns.
    let mut rendered: HashMap<String, Result<(Json, Vec<Unknown>), Diagnostic>> = HashMap::new();
    for r in &res {
        if r.mode == "data"
            && r.ty == "aws_iam_policy_document"
            && is_unknown(r.unknown.and_then(|u| u.get("json")))
        {
            let mut rd = Render {
                address: &r.address,
                unknowns: Vec::new(),
            };
            let doc = rd.document(r.values, r.unknown);
            rendered.insert(r.address.clone(), doc.map(|d| (d, rd.unknowns)));
        }
    }
    let config = configuration(&root);
    for r in &res {
        for (mode, ty, attr, kind) in TYPES {
            if r.ty != *ty || r.mode != *mode {
                continue;
            }
            let ptr = format!("{}/{attr}", r.pointer);
            let unknown = r.unknown.and_then(|u| u.get(attr));
            if is_unknown(unknown)
                && computed_when_absent(ty, attr)
                && !configured(&config, &r.address, attr)
            {
                // Not in the configuration: the provider reads it back after apply; the policy
                // Terraform manages (if any) is another resource of the plan.
                continue;
            }
            if is_unknown(unknown) {
                // The data source itself, or a resource whose policy is a data source's `json`.
                let source_doc = if r.mode == "data" {
                    Some(r.address.clone())
                } else {
                    linked_document(&config, &r.address, attr, &rendered)
                };
                if let Some(Some(doc)) = source_doc.as_ref().map(|a| rendered.get(a)) {
                    let at = unknown.map_or(r.values.span, |u| u.span);
                    let mut fp = FoundPolicy {
                        origin: origin(&source, &r.address, ptr, at),
                        kind: *kind,
                        source: source.clone(),
                        document: None,
                        unknowns: Vec::new(),
                        diagnostics: Vec::new(),
                    };
                    match doc {
                        Ok((d, us)) => {
                            fp.document = Some(d.clone());
                            fp.unknowns = us.clone();
                        }
                        Err(e) => fp.diagnostics.push(e.clone()),
                    }
                    out.policies.push(fp);
                    continue;
                }
            }
            one(
                &source,
                r,
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
            if let Some(unk) = unk.filter(|u| {
                matches!(u.kind, JsonKind::Bool(true))
                    && configured(&config, &r.address, "inline_policy")
            }) {
                out.policies.push(unknown_policy(
                    &source,
                    &r.address,
                    format!("{}/inline_policy", r.pointer),
                    unk,
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
                    r,
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
    for r in res.iter().filter(|r| r.mode == "managed") {
        match r.ty.as_str() {
            "aws_lambda_permission" | "aws_lambda_layer_version_permission" => {
                permission(&source, r, &mut out)
            }
            ty if !TYPES.iter().any(|(_, t, _, _)| *t == ty) => {
                // A policy-looking attribute of a type Tarski does not read: reported, never
                // skipped silently.
                if let Some(ms) = r.values.as_object() {
                    for m in ms {
                        let looks = m.value.as_str().is_some_and(|t| {
                            t.contains("\"Statement\"") && t.trim_start().starts_with('{')
                        });
                        if looks && !ty.starts_with("aws_iam_") {
                            out.file_diag(&source, Diagnostic::warning(
                                Code::NotRead,
                                m.value.span,
                                format!("`{}.{}` looks like a policy document, but Tarski does not read resource type `{ty}`; it is not checked", r.address, m.key),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.principals = roles(&res, &config, &out.policies);
    super::managed::resolve(&mut out, name);
    out
}

type Config<'a> = HashMap<String, (String, &'a Json)>;

/// The resources an attribute's configuration expression refers to (module prefix applied,
/// instance keys dropped), e.g. `aws_iam_policy.deploy`.
fn refs(config: &Config, address: &str, attr: &str) -> Vec<String> {
    let Some((prefix, exprs)) = config.get(&strip_keys(address)) else {
        return Vec::new();
    };
    match exprs
        .get(attr)
        .and_then(|e| e.get("references"))
        .map(|r| &r.kind)
    {
        Some(JsonKind::Array(v)) => v
            .iter()
            .filter_map(Json::as_str)
            .map(|r| strip_keys(&format!("{prefix}{r}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the references name `target` (an address) or one of its attributes.
fn names(refs: &[String], target: &str) -> bool {
    let t = strip_keys(target);
    refs.iter()
        .any(|r| *r == t || r.starts_with(&format!("{t}.")))
}

/// `aws_iam_role`s with the policies that apply to them, as for a template's roles
/// (attachments.rs): inline policies, `aws_iam_role_policy` and
/// `aws_iam_role_policy_attachment` / `aws_iam_policy_attachment` naming the role (by
/// configuration reference, or by a name known at plan time), `managed_policy_arns`, and
/// `permissions_boundary`. Policies created in the same plan are followed by reference; AWS
/// managed ones are left to the caller (`aws_managed`); anything else is a problem of the role.
fn roles(res: &[Res], config: &Config, policies: &[FoundPolicy]) -> Vec<TemplatePrincipal> {
    let docs_of = |address: &str| -> Vec<usize> {
        policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.origin.address == address && p.origin.pointer.ends_with("/policy"))
            .map(|(i, _)| i)
            .collect()
    };
    let policy_resource = |refs: &[String]| {
        res.iter()
            .find(|x| x.mode == "managed" && x.ty == "aws_iam_policy" && names(refs, &x.address))
    };
    let mut out = Vec::new();
    for role in res
        .iter()
        .filter(|r| r.mode == "managed" && r.ty == "aws_iam_role")
    {
        let name = role.values.get("name").and_then(Json::as_str);
        let mut tp = TemplatePrincipal {
            kind: "role",
            id: role.address.clone(),
            span: role.values.span,
            name: name.map(str::to_string),
            // The provider shows the default path `/` in the plan; absent: computed at apply.
            path: role
                .values
                .get("path")
                .and_then(Json::as_str)
                .map(str::to_string),
            identity: policies
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.origin.address == role.address && p.origin.pointer.contains("/inline_policy/")
                })
                .map(|(i, _)| i)
                .collect(),
            boundary: None,
            aws_managed: Vec::new(),
            problems: Vec::new(),
        };
        let names_role = |x: &Res, attr: &str| {
            names(&refs(config, &x.address, attr), &role.address)
                || (name.is_some() && x.values.get(attr).and_then(Json::as_str) == name)
        };
        // A managed policy by ARN (known) or by reference to a policy of the plan.
        let attach = |tp: &mut TemplatePrincipal,
                      arn: Option<&Json>,
                      refs: Vec<String>,
                      at: Span,
                      boundary: bool| {
            if let Some(p) = policy_resource(&refs) {
                let d = docs_of(&p.address);
                if boundary {
                    tp.boundary = d.first().copied();
                } else {
                    tp.identity.extend(d);
                }
                return;
            }
            match arn.and_then(Json::as_str) {
                Some(a) if !boundary && super::attachments::aws_managed_name(a).is_some() => {
                    let n = super::attachments::aws_managed_name(a).unwrap_or_default();
                    tp.aws_managed.push((n.to_string(), at));
                }
                Some(a) => tp.problems.push(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    at,
                    format!("`{}` {} `{a}`, which is not a policy of this plan; its permissions cannot be checked", role.address, if boundary { "has the permissions boundary" } else { "attaches" }),
                )),
                None => tp.problems.push(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    at,
                    format!("`{}` {} a policy known only after apply", role.address, if boundary { "has as permissions boundary" } else { "attaches" }),
                )),
            }
        };
        for x in res.iter().filter(|x| x.mode == "managed") {
            match x.ty.as_str() {
                "aws_iam_role_policy" if names_role(x, "role") => {
                    tp.identity.extend(docs_of(&x.address))
                }
                "aws_iam_role_policy_attachment" if names_role(x, "role") => attach(
                    &mut tp,
                    x.values.get("policy_arn"),
                    refs(config, &x.address, "policy_arn"),
                    x.values.span,
                    false,
                ),
                "aws_iam_policy_attachment"
                    if names(&refs(config, &x.address, "roles"), &role.address)
                        || matches!(x.values.get("roles").map(|v| &v.kind), Some(JsonKind::Array(v))
                            if name.is_some() && v.iter().any(|r| r.as_str() == name)) =>
                {
                    attach(
                        &mut tp,
                        x.values.get("policy_arn"),
                        refs(config, &x.address, "policy_arn"),
                        x.values.span,
                        false,
                    )
                }
                _ => {}
            }
        }
        let role_refs = |attr: &str| refs(config, &role.address, attr);
        match role.values.get("managed_policy_arns").map(|v| &v.kind) {
            Some(JsonKind::Array(arns)) => {
                for a in arns {
                    attach(&mut tp, Some(a), Vec::new(), a.span, false);
                }
            }
            // Unknown and configured (not configured, the provider computes it from the
            // attachments, which are read above).
            _ if is_unknown(role.unknown.and_then(|u| u.get("managed_policy_arns")))
                && config
                    .get(&strip_keys(&role.address))
                    .is_some_and(|(_, e)| e.get("managed_policy_arns").is_some()) =>
            {
                let rs = role_refs("managed_policy_arns");
                let ps: Vec<&Res> = res
                    .iter()
                    .filter(|x| {
                        x.mode == "managed" && x.ty == "aws_iam_policy" && names(&rs, &x.address)
                    })
                    .collect();
                if ps.is_empty() {
                    attach(&mut tp, None, Vec::new(), role.values.span, false);
                }
                for p in ps {
                    tp.identity.extend(docs_of(&p.address));
                }
                // Other entries of the list (literal AWS managed ARNs) are in the configuration.
                if let Some((_, e)) = config.get(&strip_keys(&role.address)) {
                    if let Some(JsonKind::Array(v)) = e
                        .get("managed_policy_arns")
                        .and_then(|m| m.get("constant_value"))
                        .map(|c| &c.kind)
                    {
                        for a in v {
                            attach(&mut tp, Some(a), Vec::new(), a.span, false);
                        }
                    }
                }
            }
            _ => {}
        }
        let b = role.values.get("permissions_boundary");
        let b_unknown = is_unknown(role.unknown.and_then(|u| u.get("permissions_boundary")));
        if b_unknown || b.and_then(Json::as_str).is_some_and(|s| !s.is_empty()) {
            attach(
                &mut tp,
                if b_unknown { None } else { b },
                role_refs("permissions_boundary"),
                b.map_or(role.values.span, |b| b.span),
                true,
            );
        }
        tp.identity.sort_unstable();
        tp.identity.dedup();
        out.push(tp);
    }
    out
}

/// `configuration`: full resource address (module path + address, no instance keys) ->
/// (module prefix, expressions).
fn configuration(root: &Json) -> HashMap<String, (String, &Json)> {
    fn walk<'a>(m: &'a Json, prefix: &str, out: &mut HashMap<String, (String, &'a Json)>) {
        if let Some(JsonKind::Array(rs)) = m.get("resources").map(|r| &r.kind) {
            for r in rs {
                if let Some(e) = r.get("expressions") {
                    out.insert(
                        format!("{prefix}{}", str_of(r, "address")),
                        (prefix.to_string(), e),
                    );
                }
            }
        }
        if let Some(JsonKind::Object(calls)) = m.get("module_calls").map(|c| &c.kind) {
            for c in calls {
                if let Some(sub) = c.value.get("module") {
                    walk(sub, &format!("{prefix}module.{}.", c.key), out);
                }
            }
        }
    }
    let mut out = HashMap::new();
    if let Some(m) = root.get("configuration").and_then(|c| c.get("root_module")) {
        walk(m, "", &mut out);
    }
    out
}

/// Drop instance keys: `module.m[0].aws_x.y["a"]` -> `module.m.aws_x.y`.
fn strip_keys(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The rendered data source whose `json` is the whole value of `address`'s attribute, when its
/// configuration expression refers to exactly one `aws_iam_policy_document` and nothing else.
fn linked_document(
    config: &HashMap<String, (String, &Json)>,
    address: &str,
    attr: &str,
    rendered: &HashMap<String, Result<(Json, Vec<Unknown>), Diagnostic>>,
) -> Option<String> {
    let (prefix, exprs) = config.get(&strip_keys(address))?;
    let refs = match exprs.get(attr)?.get("references").map(|r| &r.kind) {
        Some(JsonKind::Array(v)) => v,
        _ => return None,
    };
    let mut target: Option<String> = None;
    let mut by_instance = false;
    for r in refs {
        let r = r.as_str()?;
        // `data.X[each.key].json` (a `for_each` resource using the data source's instance of
        // the same key) references `each.key` / `count.index` beside the data source.
        if matches!(r, "each.key" | "each.value" | "count.index") {
            by_instance = true;
            continue;
        }
        let base = strip_keys(r.strip_suffix(".json").unwrap_or(r));
        let base = base.strip_suffix(".json").unwrap_or(&base).to_string();
        if !base.starts_with("data.aws_iam_policy_document.")
            || target.as_ref().is_some_and(|t| *t != base)
        {
            return None;
        }
        target = Some(base);
    }
    let want = format!("{prefix}{}", target?);
    let candidates: Vec<&String> = rendered
        .keys()
        .filter(|a| strip_keys(a) == strip_keys(&want))
        .collect();
    match candidates.as_slice() {
        [one] => Some((*one).clone()),
        many if by_instance => {
            // The instance with the resource's own key (`aws_iam_role.r["a"]` uses
            // `data.aws_iam_policy_document.d["a"]`).
            let key = instance_key(address);
            let hits: Vec<&&String> = many.iter().filter(|a| instance_key(a) == key).collect();
            match hits.as_slice() {
                [one] => Some((**one).clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The instance key at the end of an address (`["a"]`, `[0]`), or "".
fn instance_key(address: &str) -> &str {
    if address.ends_with(']') {
        address.rfind('[').map_or("", |i| &address[i..])
    } else {
        ""
    }
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
            Code::UnsupportedConstruct,
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
    fp.read_string(
        &format!("{}: {}.{attr}", source.name, r.address),
        text,
        v.span,
    );
    out.policies.push(fp);
}

// ---------------------------------------------------------------------------------------------
// `data.aws_iam_policy_document` read during apply
// ---------------------------------------------------------------------------------------------

/// Whether the configuration sets `attr` of the resource at `address` (instance keys dropped).
/// Without a `configuration` section (a state file) an attribute counts as configured.
fn configured(config: &Config, address: &str, attr: &str) -> bool {
    if config.is_empty() {
        return true;
    }
    let key = strip_keys(address);
    match config.get(&key) {
        Some((_, e)) => e.get(attr).is_some(),
        None => true,
    }
}

/// The statement `aws_lambda_permission` (Lambda's `AddPermission`) or
/// `aws_lambda_layer_version_permission` (`AddLayerVersionPermission`) adds to the function's
/// or layer version's policy (Lambda developer guide, "Viewing resource-based IAM policies in
/// Lambda", "Granting layer access to other accounts"): the principal (a service, an account
/// or ARN, or `*`), the action, the function or layer version, and `source_arn` /
/// `source_account` / `principal_org_id` / `function_url_auth_type` / `event_source_token`
/// (layers: `organization_id`) as conditions. A value known only after apply in the principal
/// or a condition makes the policy unknown (reported); in the function name, the statement is
/// read for any function of the account.
fn permission(source: &Arc<SourceFile>, r: &Res, out: &mut Extraction) {
    let layer = r.ty == "aws_lambda_layer_version_permission";
    let get = |k: &str| r.values.get(k).and_then(Json::as_str).map(String::from);
    let unknown = |k: &str| is_unknown(r.unknown.and_then(|u| u.get(k)));
    let conds: &[(&str, &str, &str)] = if layer {
        &[("organization_id", "StringEquals", "aws:PrincipalOrgID")]
    } else {
        &[
            ("source_arn", "ArnLike", "AWS:SourceArn"),
            ("source_account", "StringEquals", "AWS:SourceAccount"),
            ("principal_org_id", "StringEquals", "aws:PrincipalOrgID"),
            (
                "function_url_auth_type",
                "StringEquals",
                "lambda:FunctionUrlAuthType",
            ),
            (
                "event_source_token",
                "StringEquals",
                "lambda:EventSourceToken",
            ),
        ]
    };
    let principal_key = "principal";
    let ptr = r.pointer.clone();
    for k in std::iter::once(principal_key).chain(conds.iter().map(|c| c.0)) {
        if unknown(k) {
            out.policies.push(unknown_policy(
                source,
                &r.address,
                ptr.clone(),
                r.unknown.and_then(|u| u.get(k)).unwrap_or(r.values),
                k,
                Some(PolicyKind::Resource),
            ));
            return;
        }
    }
    let principal = get(principal_key).unwrap_or_else(|| "*".into());
    let principal = if principal == "*" {
        serde_json::json!("*")
    } else if principal.ends_with(".amazonaws.com") || principal.ends_with(".amazonaws.com.cn") {
        serde_json::json!({"Service": principal})
    } else {
        serde_json::json!({"AWS": principal})
    };
    let resource = if layer {
        get("layer_name")
            .filter(|_| !unknown("layer_name"))
            .map(|n| {
                let v = get("version_number").unwrap_or_else(|| "*".into());
                if n.starts_with("arn:") {
                    format!("{n}:{v}")
                } else {
                    format!("arn:aws:lambda:*:*:layer:{n}:{v}")
                }
            })
            .unwrap_or_else(|| "arn:aws:lambda:*:*:layer:*".into())
    } else {
        match get("function_name").filter(|_| !unknown("function_name")) {
            Some(f) if f.starts_with("arn:") => f,
            Some(f) => format!("arn:aws:lambda:*:*:function:{f}"),
            None => "arn:aws:lambda:*:*:function:*".into(),
        }
    };
    let action = get("action").unwrap_or_else(|| {
        if layer {
            "lambda:GetLayerVersion".into()
        } else {
            "lambda:InvokeFunction".into()
        }
    });
    let mut condition = serde_json::Map::new();
    for (k, op, key) in conds {
        if let Some(v) = get(k).filter(|v| !v.is_empty()) {
            condition
                .entry(op.to_string())
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
                .map(|m| m.insert(key.to_string(), serde_json::json!(v)));
        }
    }
    let mut st = serde_json::json!({"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource});
    if !condition.is_empty() {
        st["Condition"] = serde_json::Value::Object(condition);
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [st]}).to_string();
    let mut fp = FoundPolicy {
        origin: origin(source, &r.address, ptr, r.values.span),
        kind: Some(PolicyKind::Resource),
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: Vec::new(),
    };
    fp.read_string(
        &format!("{}: {} (the statement it adds)", source.name, r.address),
        &doc,
        r.values.span,
    );
    out.policies.push(fp);
}

/// A value of `after` with its `after_unknown` counterpart: `true` when the value is unknown.
fn is_unknown(u: Option<&Json>) -> bool {
    matches!(u.map(|u| &u.kind), Some(JsonKind::Bool(true)))
}

fn unknown_at<'a>(u: Option<&'a Json>, key: &str) -> Option<&'a Json> {
    u.and_then(|u| u.get(key))
}

fn unknown_item(u: Option<&Json>, i: usize) -> Option<&Json> {
    match u.map(|u| &u.kind) {
        Some(JsonKind::Array(v)) => v.get(i),
        _ => None,
    }
}

/// Builds the document the data source renders (provider docs, `aws_iam_policy_document`:
/// `statement` blocks become statements; `principals`/`condition` blocks become the
/// `Principal`/`Condition` maps; `&{...}` is written for a policy variable `${...}`), with each
/// value known only after apply an opaque unknown (bounded, docs/iac.md).
struct Render<'a> {
    address: &'a str,
    unknowns: Vec<Unknown>,
}

type Rendered = Result<Json, Diagnostic>;

fn j(kind: JsonKind, span: Span) -> Json {
    Json { kind, span }
}

fn member(key: &str, value: Json) -> Member {
    Member {
        key: key.to_string(),
        key_span: value.span,
        value,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Place {
    Action,
    Arn,
    Other,
}

impl Render<'_> {
    fn unknown(&mut self, what: String, span: Span, place: Place) -> Json {
        let n = self.unknowns.len() + 1;
        let placeholder = match place {
            Place::Action => format!("tarski-unknown:Unknown{n}"),
            Place::Arn => format!("arn:tarski-unknown:unknown:unknown:unknown:unknown-{n}"),
            Place::Other => format!("tarski-unknown-{n}"),
        };
        self.unknowns.push(Unknown {
            what: format!("`{}` {what} (known after apply)", self.address),
            span,
            placeholder: placeholder.clone(),
            value_span: span,
            modelled: false,
            named: false,
        });
        j(JsonKind::String(placeholder), span)
    }

    fn text(&self, v: &Json, what: &str) -> Result<String, Diagnostic> {
        v.as_str().map(|t| t.replace("&{", "${")).ok_or_else(|| {
            Diagnostic::error(
                Code::UnreadableInput,
                v.span,
                format!("`{}` {what}: expected a string", self.address),
            )
        })
    }

    /// A list of strings (`actions`, `resources`, `identifiers`, `values`); `None` when absent
    /// or empty.
    fn strings(
        &mut self,
        v: Option<&Json>,
        u: Option<&Json>,
        what: &str,
        place: Place,
        at: Span,
    ) -> Result<Option<Json>, Diagnostic> {
        if is_unknown(u) {
            // A wholly unknown list: any number of unknown values, which bound like one.
            let span = v.map_or(at, |v| v.span);
            return Ok(Some(j(
                JsonKind::Array(vec![self.unknown(what.to_string(), span, place)]),
                span,
            )));
        }
        let items = match v.map(|v| &v.kind) {
            Some(JsonKind::Array(items)) if !items.is_empty() => items,
            _ => return Ok(None),
        };
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            if is_unknown(unknown_item(u, i)) {
                out.push(self.unknown(format!("{what}[{i}]"), it.span, place));
            } else {
                out.push(j(JsonKind::String(self.text(it, what)?), it.span));
            }
        }
        Ok(Some(j(JsonKind::Array(out), v.map_or(at, |v| v.span))))
    }

    fn known_text(
        &self,
        v: Option<&Json>,
        u: Option<&Json>,
        what: &str,
        at: Span,
    ) -> Result<Option<String>, Diagnostic> {
        if is_unknown(u) {
            return Err(Diagnostic::error(
                Code::UnsupportedConstruct,
                at,
                format!("`{}` {what} is known only after apply; Tarski cannot bound a policy whose {what} is unknown", self.address),
            ));
        }
        match v {
            None => Ok(None),
            Some(x) if matches!(x.kind, JsonKind::Null) => Ok(None),
            Some(x) => self.text(x, what).map(Some),
        }
    }

    fn principals(
        &mut self,
        v: Option<&Json>,
        u: Option<&Json>,
        what: &str,
        at: Span,
    ) -> Result<Option<Json>, Diagnostic> {
        if is_unknown(u) {
            return Err(Diagnostic::error(
                Code::UnsupportedConstruct,
                at,
                format!("`{}` {what} is known only after apply", self.address),
            ));
        }
        let items = match v.map(|v| &v.kind) {
            Some(JsonKind::Array(items)) if !items.is_empty() => items,
            _ => return Ok(None),
        };
        let mut map: Vec<Member> = Vec::new();
        for (i, p) in items.iter().enumerate() {
            let pu = unknown_item(u, i);
            let ty = self
                .known_text(
                    p.get("type"),
                    unknown_at(pu, "type"),
                    &format!("{what}[{i}].type"),
                    p.span,
                )?
                .unwrap_or_default();
            let ids = self
                .strings(
                    p.get("identifiers"),
                    unknown_at(pu, "identifiers"),
                    &format!("{what}[{i}].identifiers"),
                    if ty == "AWS" {
                        Place::Arn
                    } else {
                        Place::Other
                    },
                    p.span,
                )?
                .unwrap_or_else(|| j(JsonKind::Array(Vec::new()), p.span));
            if ty == "*" {
                return Ok(Some(j(JsonKind::String("*".into()), p.span)));
            }
            match map.iter_mut().find(|m| m.key == ty) {
                Some(m) => {
                    if let (JsonKind::Array(a), JsonKind::Array(b)) = (&mut m.value.kind, ids.kind)
                    {
                        a.extend(b);
                    }
                }
                None => map.push(member(&ty, ids)),
            }
        }
        Ok(Some(j(JsonKind::Object(map), v.map_or(at, |v| v.span))))
    }

    fn statement(&mut self, st: &Json, u: Option<&Json>, i: usize) -> Rendered {
        let what = |k: &str| format!("statement[{i}].{k}");
        let mut out: Vec<Member> = Vec::new();
        if let Some(sid) =
            self.known_text(st.get("sid"), unknown_at(u, "sid"), &what("sid"), st.span)?
        {
            if !sid.is_empty() {
                out.push(member("Sid", j(JsonKind::String(sid), st.span)));
            }
        }
        let effect = self
            .known_text(
                st.get("effect"),
                unknown_at(u, "effect"),
                &what("effect"),
                st.span,
            )?
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "Allow".to_string());
        out.push(member("Effect", j(JsonKind::String(effect), st.span)));
        for (attr, key, place) in [
            ("actions", "Action", Place::Action),
            ("not_actions", "NotAction", Place::Action),
            ("resources", "Resource", Place::Arn),
            ("not_resources", "NotResource", Place::Arn),
        ] {
            if let Some(v) = self.strings(
                st.get(attr),
                unknown_at(u, attr),
                &what(attr),
                place,
                st.span,
            )? {
                out.push(member(key, v));
            }
        }
        for (attr, key) in [
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ] {
            if let Some(v) =
                self.principals(st.get(attr), unknown_at(u, attr), &what(attr), st.span)?
            {
                out.push(member(key, v));
            }
        }
        if is_unknown(unknown_at(u, "condition")) {
            return Err(Diagnostic::error(
                Code::UnsupportedConstruct,
                st.span,
                format!(
                    "`{}` {} is known only after apply",
                    self.address,
                    what("condition")
                ),
            ));
        }
        if let Some(JsonKind::Array(conds)) = st.get("condition").map(|c| &c.kind) {
            let mut ops: Vec<Member> = Vec::new();
            for (k, c) in conds.iter().enumerate() {
                let cu = unknown_item(unknown_at(u, "condition"), k);
                let w = what(&format!("condition[{k}]"));
                let test = self
                    .known_text(
                        c.get("test"),
                        unknown_at(cu, "test"),
                        &format!("{w}.test"),
                        c.span,
                    )?
                    .unwrap_or_default();
                let var = self
                    .known_text(
                        c.get("variable"),
                        unknown_at(cu, "variable"),
                        &format!("{w}.variable"),
                        c.span,
                    )?
                    .unwrap_or_default();
                let values = self
                    .strings(
                        c.get("values"),
                        unknown_at(cu, "values"),
                        &format!("{w}.values"),
                        Place::Other,
                        c.span,
                    )?
                    .unwrap_or_else(|| j(JsonKind::Array(Vec::new()), c.span));
                match ops.iter_mut().find(|m| m.key == test) {
                    Some(m) => {
                        if let JsonKind::Object(keys) = &mut m.value.kind {
                            keys.push(member(&var, values));
                        }
                    }
                    None => ops.push(member(
                        &test,
                        j(JsonKind::Object(vec![member(&var, values)]), c.span),
                    )),
                }
            }
            if !ops.is_empty() {
                out.push(member("Condition", j(JsonKind::Object(ops), st.span)));
            }
        }
        Ok(j(JsonKind::Object(out), st.span))
    }

    fn document(&mut self, after: &Json, u: Option<&Json>) -> Rendered {
        for attr in [
            "source_policy_documents",
            "override_policy_documents",
            "source_json",
            "override_json",
        ] {
            let present = match after.get(attr).map(|v| &v.kind) {
                Some(JsonKind::Array(v)) => !v.is_empty(),
                Some(JsonKind::String(s)) => !s.is_empty(),
                _ => false,
            };
            if present || is_unknown(unknown_at(u, attr)) {
                return Err(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    after.span,
                    format!("`{}` merges other documents (`{attr}`) and is read only during apply; Tarski does not merge them", self.address),
                ));
            }
        }
        let mut out = Vec::new();
        let version = self
            .known_text(
                after.get("version"),
                unknown_at(u, "version"),
                "version",
                after.span,
            )?
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "2012-10-17".to_string());
        out.push(member("Version", j(JsonKind::String(version), after.span)));
        if let Some(id) = self.known_text(
            after.get("policy_id"),
            unknown_at(u, "policy_id"),
            "policy_id",
            after.span,
        )? {
            out.push(member("Id", j(JsonKind::String(id), after.span)));
        }
        if is_unknown(unknown_at(u, "statement")) {
            return Err(Diagnostic::error(
                Code::UnsupportedConstruct,
                after.span,
                format!("`{}` statements are known only after apply", self.address),
            ));
        }
        let mut stmts = Vec::new();
        if let Some(JsonKind::Array(items)) = after.get("statement").map(|v| &v.kind) {
            for (i, st) in items.iter().enumerate() {
                stmts.push(self.statement(st, unknown_item(unknown_at(u, "statement"), i), i)?);
            }
        }
        out.push(member("Statement", j(JsonKind::Array(stmts), after.span)));
        Ok(j(JsonKind::Object(out), after.span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_are_stripped() {
        assert_eq!(
            strip_keys(r#"module.m[0].aws_x.y["a[1]"]"#),
            "module.m.aws_x.y"
        );
        assert_eq!(strip_keys("aws_x.y"), "aws_x.y");
    }

    /// The data source's rendering: defaults, `&{...}` for policy variables, principal and
    /// condition blocks, unknown list items as opaque placeholders.
    #[test]
    fn a_data_source_renders_its_statements() {
        let after = json::parse(
            r#"{"version": null, "statement": [{"sid": "", "effect": null,
                "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/&{aws:username}/*", null],
                "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::111122223333:root"]}],
                "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}]}]}"#,
        )
        .unwrap();
        let unknown =
            json::parse(r#"{"json": true, "statement": [{"resources": [false, true]}]}"#).unwrap();
        let mut r = Render {
            address: "data.aws_iam_policy_document.x",
            unknowns: Vec::new(),
        };
        let doc = r.document(&after, Some(&unknown)).unwrap();
        let st = match &doc.get("Statement").unwrap().kind {
            JsonKind::Array(v) => v[0].clone(),
            _ => unreachable!(),
        };
        assert_eq!(
            doc.get("Version").and_then(Json::as_str),
            Some("2012-10-17")
        );
        assert_eq!(st.get("Effect").and_then(Json::as_str), Some("Allow"));
        assert!(st.get("Sid").is_none());
        let res = match &st.get("Resource").unwrap().kind {
            JsonKind::Array(v) => v
                .iter()
                .filter_map(Json::as_str)
                .map(String::from)
                .collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        assert_eq!(res[0], "arn:aws:s3:::b/${aws:username}/*");
        assert!(res[1].starts_with("arn:tarski-unknown:"));
        assert_eq!(r.unknowns.len(), 1);
        assert!(r.unknowns[0].what.contains("statement[0].resources[1]"));
        assert!(st.get("Principal").and_then(|p| p.get("AWS")).is_some());
        assert!(st
            .get("Condition")
            .and_then(|c| c.get("Bool"))
            .and_then(|b| b.get("aws:SecureTransport"))
            .is_some());
    }
}
