//! CloudFormation and CDK templates (JSON or YAML with short tags): every policy document in
//! the IAM, S3, SQS, SNS, KMS, Secrets Manager and ECR resources and in SAM functions' inline
//! `Policies`, with intrinsic functions resolved where their values are known and recorded as
//! unknown where they are not (docs/iac.md).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::attachments::{Facts, Item};
use super::{origin, ptr_escape, Extraction, FoundPolicy, Unknown};
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{self, Json, JsonKind, Member};
use crate::policy::PolicyKind;
use crate::source::SourceFile;
use crate::span::Span;

/// Values given by the user: parameters and pseudo parameters. Anything not given (and not
/// a parameter default) stays unknown.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub parameters: BTreeMap<String, String>,
    pub account_id: Option<String>,
    pub partition: Option<String>,
    pub region: Option<String>,
    pub url_suffix: Option<String>,
    /// Parameters whose value is a wildcard-free deploy-time value of a parent stack (a nested
    /// stack's `Parameters: {P: !GetAtt Bucket.Arn}`): parameter -> (variable key, what).
    pub parameter_vars: BTreeMap<String, (String, String)>,
    /// Model unknowns in resources and condition values as fresh symbolic strings (the policy
    /// variables `${tarski:GetAtt/Bucket.Arn}`, ...) instead of leaving the policy unchecked.
    pub model_unknowns: bool,
}

const MARK: char = '\u{1}';

/// Read a template (YAML unless the text is a JSON object) and extract its policies.
pub fn extract(name: &str, text: &str, opts: &Options) -> Extraction {
    let source = Arc::new(SourceFile::new(name, text));
    let mut out = Extraction::default();
    let mut duplicates: Vec<super::yaml::YamlError> = Vec::new();
    let root = if text.trim_start().starts_with('{') {
        json::parse(text).map_err(|e| Diagnostic::error(Code::UnreadableInput, e.span, e.message))
    } else {
        super::yaml::parse_lenient(text)
            .map(|(j, d)| {
                duplicates = d;
                j
            })
            .map_err(|e| Diagnostic::error(Code::UnreadableInput, e.span, e.message))
    };
    let root = match root {
        Ok(r) => r,
        Err(d) => {
            out.file_diag(&source, d);
            return out;
        }
    };
    let Some(resources) = root.get("Resources").and_then(Json::as_object) else {
        out.file_diag(
            &source,
            Diagnostic::error(
                Code::UnreadableInput,
                root.span,
                "not a CloudFormation template: no `Resources` object",
            ),
        );
        return out;
    };
    let mut cx = Cx {
        root: &root,
        opts,
        resources: resources.iter().map(|m| m.key.clone()).collect(),
        conds: HashMap::new(),
        cond_stack: Vec::new(),
        unknowns: Vec::new(),
        variables: false,
    };
    if let Some(t) = root.get("Transform") {
        let names: Vec<String> = match &t.kind {
            JsonKind::String(s) => vec![s.clone()],
            JsonKind::Array(v) => v
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        for n in names {
            let msg = if n == "AWS::Serverless-2016-10-31" {
                // Not a gap of its own: what SAM generates is read per resource (the execution
                // roles of functions and state machines, with `Policies`, policy templates,
                // managed policies), and each part not read is reported where it is (T0305).
                out.file_diag(
                    &source,
                    Diagnostic::warning(
                        Code::SamModelled,
                        t.span,
                        "the SAM transform is modelled, not run: the roles SAM creates for \
                         functions and state machines are read with their `Policies` (documents, \
                         SAM policy templates, managed policies) and the managed policies SAM \
                         adds; parts SAM generates that Tarski does not build are reported \
                         where they are (T0305)",
                    ),
                );
                continue;
            } else if n == "AWS::LanguageExtensions" {
                continue;
            } else {
                format!("the macro `{n}` is not expanded; policies it would add are not checked")
            };
            out.file_diag(&source, Diagnostic::warning(Code::NotRead, t.span, msg));
        }
    }
    // Managed policies used as permissions boundaries are read as boundaries.
    let mut boundaries = HashSet::new();
    for m in resources {
        if let Some(b) = m
            .value
            .get("Properties")
            .and_then(|p| p.get("PermissionsBoundary"))
        {
            if let Some(r) = b.get("Ref").and_then(Json::as_str) {
                boundaries.insert(r.to_string());
            }
        }
    }
    let mut facts: Vec<Facts> = Vec::new();
    for m in resources {
        let id = &m.key;
        let res = &m.value;
        let ty = res.get("Type").and_then(Json::as_str).unwrap_or("");
        let mut cond_note = None;
        if let Some(c) = res.get("Condition") {
            let name = c.as_str().unwrap_or("");
            match cx.condition(name, c.span) {
                Ok(Some(false)) => continue,
                Ok(Some(true)) => {}
                Ok(None) => cond_note = Some((name.to_string(), c.span)),
                Err(d) => {
                    out.file_diag(&source, d);
                    continue;
                }
            }
        }
        let props = res.get("Properties");
        let base = format!("/Resources/{}/Properties", ptr_escape(id));
        let mut docs: Docs<'_> = Vec::new();
        // Documents built here (SAM policy templates, Lambda permissions) rather than read.
        let mut sam_expanded: Vec<(String, Result<Json, Diagnostic>, Span)> = Vec::new();
        let mut sam_kind = PolicyKind::Identity;
        let prop = |k: &str| props.and_then(|p| p.get(k));
        let key_span = m.key_span;
        match ty {
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                let kind = if boundaries.contains(id) && ty == "AWS::IAM::ManagedPolicy" {
                    PolicyKind::Boundary
                } else {
                    PolicyKind::Identity
                };
                docs.push((
                    format!("{base}/PolicyDocument"),
                    prop("PolicyDocument"),
                    kind,
                    key_span,
                ));
            }
            "AWS::IAM::Role" => {
                docs.push((
                    format!("{base}/AssumeRolePolicyDocument"),
                    prop("AssumeRolePolicyDocument"),
                    PolicyKind::Trust,
                    key_span,
                ));
                policies_list(&mut cx, props, &base, &mut docs);
            }
            "AWS::IAM::User" | "AWS::IAM::Group" => policies_list(&mut cx, props, &base, &mut docs),
            "AWS::SSO::PermissionSet" => {
                // The inline policy of an IAM Identity Center permission set becomes an identity
                // policy of the role it provisions in each account (CloudFormation reference,
                // AWS::SSO::PermissionSet `InlinePolicy`).
                if let Some(p) = prop("InlinePolicy") {
                    docs.push((
                        format!("{base}/InlinePolicy"),
                        Some(p),
                        PolicyKind::Identity,
                        key_span,
                    ));
                }
            }
            "AWS::IAM::RolePolicy" | "AWS::IAM::UserPolicy" | "AWS::IAM::GroupPolicy" => {
                docs.push((
                    format!("{base}/PolicyDocument"),
                    prop("PolicyDocument"),
                    PolicyKind::Identity,
                    key_span,
                ));
            }
            _ if resource_policy_paths(ty).is_some() => {
                for path in resource_policy_paths(ty).unwrap_or_default() {
                    for (ptr, v) in at_path(props, &base, path) {
                        docs.push((ptr, Some(v), PolicyKind::Resource, v.span));
                    }
                }
                if let Some(r) = required_policy(ty) {
                    if prop(r).is_none() {
                        docs.push((format!("{base}/{r}"), None, PolicyKind::Resource, key_span));
                    }
                }
            }
            "AWS::Events::EventBusPolicy" => match props {
                Some(p) => {
                    sam_expanded.push((base.clone(), event_bus_policy(p, key_span), key_span));
                    sam_kind = PolicyKind::Resource;
                }
                None => out.policies.push(failed(
                    &source,
                    id,
                    base.clone(),
                    key_span,
                    PolicyKind::Resource,
                    Diagnostic::error(
                        Code::BadReference,
                        key_span,
                        format!("`{id}` has no Properties"),
                    ),
                )),
            },
            "AWS::Lambda::LayerVersionPermission" => match props {
                Some(p) => {
                    sam_expanded.push((base.clone(), Ok(layer_permission(p, key_span)), key_span));
                    sam_kind = PolicyKind::Resource;
                }
                None => out.policies.push(failed(
                    &source,
                    id,
                    base.clone(),
                    key_span,
                    PolicyKind::Resource,
                    Diagnostic::error(
                        Code::BadReference,
                        key_span,
                        format!("`{id}` has no Properties"),
                    ),
                )),
            },
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
                match prop("Policies").map(|p| &p.kind) {
                    Some(JsonKind::Array(items)) => {
                        for (i, it) in items.iter().enumerate() {
                            let ptr = format!("{base}/Policies/{i}");
                            let Some(it) = cx.pick(it) else { continue };
                            if it.get("Statement").is_some() {
                                docs.push((ptr, Some(it), PolicyKind::Identity, it.span));
                            } else if intrinsic(it).is_some() {
                                // A managed policy ARN from a parameter or an import: attached to
                                // the role SAM creates (`sam_role` below).
                            } else if let Some(ms) = it.as_object() {
                                // A SAM policy template such as `S3ReadPolicy: {BucketName: ...}`.
                                let what = ms.first().map(|m| m.key.as_str()).unwrap_or("?");
                                if let (1, true) = (ms.len(), super::sam::is_template(what)) {
                                    sam_expanded.push((
                                        ptr,
                                        super::sam::expand(what, &ms[0].value, it.span),
                                        it.span,
                                    ));
                                    continue;
                                }
                                out.policies.push(failed(
                                &source, id, ptr, it.span, PolicyKind::Identity,
                                Diagnostic::error(Code::UnsupportedConstruct, it.span, format!(
                                    "`{what}` is not a SAM policy template Tarski knows (aws-sam-translator 1.115.0)"
                                )).with_note("help: write the statements inline, or check the template produced by `sam build` / `sam package`"),
                            ));
                            }
                            // A string is a managed policy name or ARN: attached to the role
                            // SAM creates (`sam_role` below).
                        }
                    }
                    Some(JsonKind::Object(ms))
                        if ms.len() == 1 && super::sam::is_template(&ms[0].key) =>
                    {
                        // One SAM policy template written as a map, not a list.
                        let it = prop("Policies").unwrap_or(&root);
                        sam_expanded.push((
                            format!("{base}/Policies"),
                            super::sam::expand(&ms[0].key, &ms[0].value, it.span),
                            it.span,
                        ));
                    }
                    Some(JsonKind::Object(_)) => docs.push((
                        format!("{base}/Policies"),
                        prop("Policies"),
                        PolicyKind::Identity,
                        key_span,
                    )),
                    _ => {}
                }
            }
            "AWS::Lambda::Permission" => match props {
                Some(p) => {
                    let doc = lambda_permission(&mut cx, p, key_span);
                    sam_expanded.push((base.clone(), Ok(doc), key_span));
                    sam_kind = PolicyKind::Resource;
                }
                None => out.policies.push(failed(
                    &source,
                    id,
                    base.clone(),
                    key_span,
                    PolicyKind::Resource,
                    Diagnostic::error(
                        Code::BadReference,
                        key_span,
                        format!("`{id}` has no Properties"),
                    ),
                )),
            },
            "AWS::CloudFormation::Stack" | "AWS::Serverless::Application" => {
                // A nested stack whose template is a local file: CDK writes it beside the parent
                // and names it in `Metadata.aws:asset:path`; SAM's `Location` (and a
                // `TemplateURL`) may be a relative path. The caller reads it (no I/O here).
                let local = |v: Option<&Json>| {
                    v.and_then(Json::as_str)
                        .filter(|p| !p.contains("://") && !p.starts_with("https:"))
                        .map(String::from)
                };
                let path = local(res.get("Metadata").and_then(|m| m.get("aws:asset:path")))
                    .or_else(|| local(prop("Location")))
                    .or_else(|| local(prop("TemplateURL")));
                match path {
                    Some(path) => {
                        let mut parameters = BTreeMap::new();
                        let mut vars = BTreeMap::new();
                        if let Some(ps) = prop("Parameters").and_then(Json::as_object) {
                            for p in ps {
                                cx.unknowns.clear();
                                let Ok(Some(v)) = cx.resolve(&p.value) else {
                                    continue;
                                };
                                let Some(t) = v.as_str() else { continue };
                                if !t.contains(MARK) {
                                    parameters.insert(p.key.clone(), t.to_string());
                                } else if let [(what, _, Some(key), _)] = cx.unknowns.as_slice() {
                                    // Exactly one wildcard-free unknown and nothing else: the
                                    // nested stack sees the same variable.
                                    if t.trim_matches(MARK).chars().all(|c| c.is_ascii_digit()) {
                                        vars.insert(p.key.clone(), (key.clone(), what.clone()));
                                    }
                                }
                            }
                        }
                        out.nested.push(super::Nested {
                            id: id.clone(),
                            path,
                            parameters,
                            parameter_vars: vars,
                            span: key_span,
                        });
                    }
                    None => out.file_diag(
                        &source,
                        Diagnostic::warning(
                            Code::NotRead,
                            key_span,
                            format!("nested stack `{id}` is not read (its template is not a local file); check its template with another --template"),
                        ),
                    ),
                }
            }
            _ => {
                if let Some(ms) = props.and_then(Json::as_object) {
                    for p in ms {
                        if p.value.get("Statement").is_some() {
                            out.file_diag(&source, Diagnostic::warning(
                                Code::NotRead,
                                p.key_span,
                                format!("`{id}.{}` looks like a policy document, but Tarski does not read resource type `{ty}`; it is not checked", p.key),
                            ));
                        }
                    }
                }
            }
        }
        let mut fact = Facts {
            id: id.clone(),
            ty: ty.to_string(),
            span: key_span,
            ..Facts::default()
        };
        if ty.starts_with("AWS::IAM::") {
            let list = |cx: &mut Cx, k: &str| prop(k).map(|v| cx.items(v)).unwrap_or_default();
            fact.roles = list(&mut cx, "Roles");
            fact.users = list(&mut cx, "Users");
            fact.groups = list(&mut cx, "Groups");
            fact.managed_arns = list(&mut cx, "ManagedPolicyArns");
            // `!If [Cond, X, !Ref AWS::NoValue]` with the condition false: no boundary.
            fact.boundary = prop("PermissionsBoundary")
                .and_then(|b| cx.pick(b))
                .map(|b| (cx.item(b), b.span));
            if ty == "AWS::IAM::UserToGroupAddition" {
                if let Some(v) = prop("GroupName") {
                    fact.groups.push((cx.item(v), v.span));
                }
            }
            // `AWS::IAM::RolePolicy` (and the user and group forms) name the one principal
            // they are embedded in (CloudFormation resource reference, AWS::IAM::RolePolicy).
            for (k, list) in [
                ("RoleName", &mut fact.roles),
                ("UserName", &mut fact.users),
                ("GroupName", &mut fact.groups),
            ] {
                if ty.ends_with(&format!("::{}Policy", &k[..k.len() - 4])) {
                    if let Some(v) = prop(k) {
                        list.push((cx.item(v), v.span));
                    }
                }
            }
            let name_key = match ty {
                "AWS::IAM::Role" => "RoleName",
                "AWS::IAM::User" => "UserName",
                "AWS::IAM::Group" => "GroupName",
                _ => "ManagedPolicyName",
            };
            fact.name = prop(name_key).and_then(|n| match cx.item(n) {
                Item::Text(t) => Some(t),
                _ => None,
            });
            if let Some(v) = prop("Path") {
                match cx.item(v) {
                    Item::Text(t) => fact.path = Some(t),
                    _ => fact.path_unknown = true,
                }
            }
        }
        if matches!(
            ty,
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine"
        ) && prop("Role").is_none()
        {
            // SAM creates the execution role: the function's `Policies` (documents, policy
            // templates, managed policy names or ARNs) and, for a function,
            // AWSLambdaBasicExecutionRole (SAM specification, AWS::Serverless::Function,
            // `Policies` and `Role`).
            fact.sam_role = true;
            if ty == "AWS::Serverless::Function" {
                fact.managed_arns.push((
                    Item::Text(
                        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into(),
                    ),
                    key_span,
                ));
            }
            let names: Vec<&Json> = match prop("Policies").map(|p| &p.kind) {
                Some(JsonKind::String(_)) => prop("Policies").into_iter().collect(),
                Some(JsonKind::Array(items)) => items.iter().collect(),
                _ => Vec::new(),
            };
            for it in names {
                let Some(it) = cx.pick(it) else { continue };
                if it.as_object().is_some() && intrinsic(it).is_none() {
                    continue;
                }
                let item = match cx.item(it) {
                    Item::Text(t) if !t.starts_with("arn:") => {
                        Item::Text(format!("arn:aws:iam::aws:policy/{t}"))
                    }
                    other => other,
                };
                fact.managed_arns.push((item, it.span));
            }
            // `!If [Cond, X, !Ref AWS::NoValue]` with the condition false: no boundary.
            fact.boundary = prop("PermissionsBoundary")
                .and_then(|b| cx.pick(b))
                .map(|b| (cx.item(b), b.span));
            // What SAM adds to the role it creates (SAM specification, AWS::Serverless::Function:
            // `Tracing`, `VpcConfig`, and the event sources that Lambda polls with the
            // function's role).
            let aws = |n: &str| Item::Text(format!("arn:aws:iam::aws:policy/{n}"));
            if ty == "AWS::Serverless::Function" {
                if let Some(t) = prop("Tracing") {
                    if t.as_str() == Some("Active") {
                        fact.managed_arns
                            .push((aws("AWSXrayWriteOnlyAccess"), t.span));
                    }
                }
                if let Some(v) = prop("VpcConfig") {
                    fact.managed_arns
                        .push((aws("service-role/AWSLambdaVPCAccessExecutionRole"), v.span));
                }
            }
            let mut unread: Vec<(Span, String)> = Vec::new();
            if let Some(d) = prop("DeadLetterQueue").or_else(|| prop("DeadLetterConfig")) {
                unread.push((
                    d.span,
                    "the dead-letter permission SAM adds to the role".into(),
                ));
            }
            if let Some(evs) = prop("Events").and_then(Json::as_object) {
                for e in evs {
                    let ety = e.value.get("Type").and_then(Json::as_str).unwrap_or("");
                    match (ty, ety) {
                        ("AWS::Serverless::Function", "SQS") => fact.managed_arns.push((
                            aws("service-role/AWSLambdaSQSQueueExecutionRole"),
                            e.key_span,
                        )),
                        ("AWS::Serverless::Function", "Kinesis") => fact.managed_arns.push((
                            aws("service-role/AWSLambdaKinesisExecutionRole"),
                            e.key_span,
                        )),
                        ("AWS::Serverless::Function", "DynamoDB") => fact.managed_arns.push((
                            aws("service-role/AWSLambdaDynamoDBExecutionRole"),
                            e.key_span,
                        )),
                        (
                            "AWS::Serverless::Function",
                            "MSK" | "MQ" | "SelfManagedKafka" | "DocumentDB",
                        ) => unread.push((
                            e.key_span,
                            format!("the `{ety}` event source's permissions SAM adds to the role"),
                        )),
                        _ => {}
                    }
                }
            }
            for (at, what) in unread {
                out.file_diag(
                    &source,
                    Diagnostic::warning(
                        Code::NotRead,
                        at,
                        format!("`{id}`: {what} are not read; the role's permissions are checked without them"),
                    ),
                );
            }
        }
        match ty {
            "AWS::Serverless::Connector" => out.file_diag(
                &source,
                Diagnostic::warning(
                    Code::NotRead,
                    key_span,
                    format!("`{id}`: the policies SAM generates for a connector are not read; check the template `sam build` writes"),
                ),
            ),
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi"
                if prop("Auth").and_then(|a| a.get("ResourcePolicy")).is_some() =>
            {
                out.file_diag(
                    &source,
                    Diagnostic::warning(
                        Code::NotRead,
                        key_span,
                        format!("`{id}`: the API's `Auth.ResourcePolicy` (which SAM turns into a policy) is not read"),
                    ),
                )
            }
            _ => {}
        }
        for (ptr, doc, kind, at) in docs {
            fact.documents.push((ptr.clone(), out.policies.len()));
            let Some(doc) = doc else {
                out.policies.push(failed(
                    &source,
                    id,
                    ptr.clone(),
                    at,
                    kind,
                    Diagnostic::error(
                        Code::BadReference,
                        at,
                        format!("`{id}` has no policy document at {ptr}"),
                    ),
                ));
                continue;
            };
            let mut fp = cx.policy(&source, id, ptr, doc, kind);
            if let Some((c, span)) = &cond_note {
                fp.diagnostics.push(Diagnostic::warning(
                    Code::ConditionalResource,
                    *span,
                    format!("`{id}` exists only when condition `{c}` holds, which depends on unknown values; its policies are checked as if it exists"),
                ));
            }
            out.policies.push(fp);
        }
        for (ptr, doc, at) in sam_expanded {
            fact.documents.push((ptr.clone(), out.policies.len()));
            match doc {
                Ok(doc) => {
                    let fp = cx.policy(&source, id, ptr, &doc, sam_kind);
                    out.policies.push(fp);
                }
                Err(d) => out.policies.push(failed(&source, id, ptr, at, sam_kind, d)),
            }
        }
        facts.push(fact);
    }
    out.principals = super::attachments::link(&facts);
    super::managed::resolve(&mut out, name);
    // A duplicate key (cfn-lint: E0000) is an error of the policies of the resource holding it;
    // in Parameters, Mappings or Conditions (values every resource may use) of the template;
    // elsewhere (Outputs, Metadata, a resource with no policy) a warning.
    for d in duplicates {
        let inside = |sp: Span| sp.start <= d.span.start && d.span.end <= sp.end;
        let holder = resources.iter().find(|m| inside(m.value.span));
        let in_values = ["Parameters", "Mappings", "Conditions"]
            .iter()
            .any(|k| root.get(k).is_some_and(|v| inside(v.span)));
        let diag = Diagnostic::error(Code::UnreadableInput, d.span, d.message.clone());
        let mut hit = false;
        if let Some(m) = holder {
            for p in out
                .policies
                .iter_mut()
                .filter(|p| p.origin.address == m.key)
            {
                p.diagnostics.push(diag.clone());
                hit = true;
            }
        }
        if !hit {
            let diag = if in_values {
                diag
            } else {
                Diagnostic::warning(Code::DuplicateYamlKey, d.span, d.message)
            };
            out.file_diag(&source, diag);
        }
    }
    out
}

type Docs<'a> = Vec<(String, Option<&'a Json>, PolicyKind, Span)>;

/// Resource types that hold a resource-based policy, with the property paths of their documents
/// (`*` steps into every item of a list). From the CloudFormation resource and property
/// reference of each type; the types of Access Analyzer's `CheckNoPublicAccess` (IAM Access
/// Analyzer API reference, `resourceType` valid values) are all here that CloudFormation can
/// carry a policy for.
const RESOURCE_POLICIES: &[(&str, &[&str])] = &[
    ("AWS::S3::BucketPolicy", &["PolicyDocument"]),
    ("AWS::S3::AccessPoint", &["Policy"]),
    ("AWS::S3::MultiRegionAccessPointPolicy", &["Policy"]),
    ("AWS::S3Express::BucketPolicy", &["PolicyDocument"]),
    ("AWS::S3Express::AccessPoint", &["Policy"]),
    ("AWS::S3Outposts::BucketPolicy", &["PolicyDocument"]),
    ("AWS::S3Outposts::AccessPoint", &["Policy"]),
    ("AWS::S3Tables::TableBucketPolicy", &["ResourcePolicy"]),
    ("AWS::S3Tables::TablePolicy", &["ResourcePolicy"]),
    ("AWS::SQS::QueuePolicy", &["PolicyDocument"]),
    ("AWS::SQS::QueueInlinePolicy", &["PolicyDocument"]),
    ("AWS::SNS::TopicPolicy", &["PolicyDocument"]),
    ("AWS::SNS::TopicInlinePolicy", &["PolicyDocument"]),
    ("AWS::KMS::Key", &["KeyPolicy"]),
    ("AWS::KMS::ReplicaKey", &["KeyPolicy"]),
    ("AWS::SecretsManager::ResourcePolicy", &["ResourcePolicy"]),
    ("AWS::ECR::Repository", &["RepositoryPolicyText"]),
    ("AWS::ECR::RegistryPolicy", &["PolicyText"]),
    ("AWS::OpenSearchService::Domain", &["AccessPolicies"]),
    ("AWS::Elasticsearch::Domain", &["AccessPolicies"]),
    ("AWS::Logs::ResourcePolicy", &["PolicyDocument"]),
    (
        "AWS::DynamoDB::Table",
        &[
            "ResourcePolicy/PolicyDocument",
            "StreamSpecification/ResourcePolicy/PolicyDocument",
        ],
    ),
    (
        "AWS::DynamoDB::GlobalTable",
        &[
            "Replicas/*/ResourcePolicy/PolicyDocument",
            "Replicas/*/ReplicaStreamSpecification/ResourcePolicy/PolicyDocument",
        ],
    ),
    ("AWS::Kinesis::ResourcePolicy", &["ResourcePolicy"]),
    ("AWS::Backup::BackupVault", &["AccessPolicy"]),
    ("AWS::CodeArtifact::Domain", &["PermissionsPolicyDocument"]),
    (
        "AWS::CodeArtifact::Repository",
        &["PermissionsPolicyDocument"],
    ),
    ("AWS::ApiGateway::RestApi", &["Policy"]),
    ("AWS::EFS::FileSystem", &["FileSystemPolicy"]),
    ("AWS::CloudTrail::ResourcePolicy", &["ResourcePolicy"]),
    ("AWS::Events::EventBus", &["Policy"]),
];

fn resource_policy_paths(ty: &str) -> Option<&'static [&'static str]> {
    RESOURCE_POLICIES
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, p)| *p)
}

/// The policy property a resource of this type cannot be without (a missing one is an error of
/// the template, reported rather than read as "no policy").
fn required_policy(ty: &str) -> Option<&'static str> {
    match ty {
        "AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
            Some("PolicyDocument")
        }
        "AWS::SecretsManager::ResourcePolicy" | "AWS::Kinesis::ResourcePolicy" => {
            Some("ResourcePolicy")
        }
        _ => None,
    }
}

/// The values at `path` (`A/B`, `A/*/B`) under `props`, with their JSON pointers.
fn at_path<'a>(props: Option<&'a Json>, base: &str, path: &str) -> Vec<(String, &'a Json)> {
    let mut cur: Vec<(String, &'a Json)> = match props {
        Some(p) => vec![(base.to_string(), p)],
        None => return Vec::new(),
    };
    for step in path.split('/') {
        let mut next = Vec::new();
        for (ptr, v) in cur {
            if step == "*" {
                if let JsonKind::Array(items) = &v.kind {
                    for (i, it) in items.iter().enumerate() {
                        next.push((format!("{ptr}/{i}"), it));
                    }
                }
            } else if let Some(x) = v.get(step) {
                next.push((format!("{ptr}/{step}"), x));
            }
        }
        cur = next;
    }
    cur
}

/// A policy document built from `text` (JSON, every span at `at`), with each `{"Ref": "$NAME"}`
/// replaced by the template value given for it.
fn built(text: &str, at: Span, values: Vec<(&str, Json)>) -> Json {
    let doc = json::parse(text).unwrap_or_else(|_| s("", at));
    let args: Vec<Member> = values
        .into_iter()
        .map(|(k, v)| Member {
            key: k.to_string(),
            key_span: v.span,
            value: v,
        })
        .collect();
    super::sam::substitute(&super::sam::respan(&doc, at), &args)
}

/// The statement `AWS::Events::EventBusPolicy` adds to the event bus's policy (CloudFormation
/// reference, AWS::Events::EventBusPolicy): `Statement` as written, or the older form
/// `Principal` (an account or `*`), `Action` and `Condition {Type, Key, Value}` on the bus
/// `EventBusName` (default `default`).
fn event_bus_policy(p: &Json, at: Span) -> Result<Json, Diagnostic> {
    let sid = p.get("StatementId").cloned().unwrap_or_else(|| s("s", at));
    if let Some(st) = p.get("Statement") {
        let mut st = st.clone();
        if let JsonKind::Object(ms) = &mut st.kind {
            if !ms.iter().any(|m| m.key == "Sid") {
                ms.insert(
                    0,
                    Member {
                        key: "Sid".into(),
                        key_span: sid.span,
                        value: sid,
                    },
                );
            }
        }
        return Ok(Json {
            kind: JsonKind::Object(vec![
                Member {
                    key: "Version".into(),
                    key_span: at,
                    value: s("2012-10-17", at),
                },
                Member {
                    key: "Statement".into(),
                    key_span: at,
                    value: Json {
                        kind: JsonKind::Array(vec![st]),
                        span: at,
                    },
                },
            ]),
            span: at,
        });
    }
    let principal = p.get("Principal").ok_or_else(|| {
        Diagnostic::error(
            Code::BadReference,
            at,
            "an EventBusPolicy needs `Statement`, or `Principal` and `Action`",
        )
    })?;
    let bus = p
        .get("EventBusName")
        .cloned()
        .unwrap_or_else(|| s("default", at));
    let star = principal.as_str() == Some("*");
    let mut values = vec![
        ("$Sid", sid),
        (
            "$Action",
            p.get("Action")
                .cloned()
                .unwrap_or_else(|| s("events:PutEvents", at)),
        ),
        ("$Principal", principal.clone()),
        ("$Bus", bus),
    ];
    let cond = p.get("Condition");
    let text = match cond {
        Some(c) => {
            let get = |k: &str| c.get(k).cloned().unwrap_or_else(|| s("", at));
            values.push(("$Key", get("Key")));
            values.push(("$Value", get("Value")));
            let op = c
                .get("Type")
                .and_then(Json::as_str)
                .unwrap_or("StringEquals")
                .to_string();
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": {{"Ref": "$Sid"}}, "Effect": "Allow", "Principal": {}, "Action": {{"Ref": "$Action"}}, "Resource": {{"Fn::Sub": ["arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/${{B}}", {{"B": {{"Ref": "$Bus"}}}}]}}, "Condition": {{"{op}": {{"tarski-key": {{"Ref": "$Value"}}}}}}}}]}}"#,
                if star {
                    r#""*""#
                } else {
                    r#"{"AWS": {"Ref": "$Principal"}}"#
                }
            )
        }
        None => format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": {{"Ref": "$Sid"}}, "Effect": "Allow", "Principal": {}, "Action": {{"Ref": "$Action"}}, "Resource": {{"Fn::Sub": ["arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/${{B}}", {{"B": {{"Ref": "$Bus"}}}}]}}}}]}}"#,
            if star {
                r#""*""#
            } else {
                r#"{"AWS": {"Ref": "$Principal"}}"#
            }
        ),
    };
    let mut doc = built(&text, at, values.clone());
    // The condition key is a template value too: rename the placeholder key.
    if let Some(k) = cond.and_then(|c| c.get("Key")).and_then(Json::as_str) {
        rename_key(&mut doc, "tarski-key", k);
    }
    Ok(doc)
}

fn rename_key(j: &mut Json, from: &str, to: &str) {
    match &mut j.kind {
        JsonKind::Object(ms) => {
            for m in ms {
                if m.key == from {
                    m.key = to.to_string();
                }
                rename_key(&mut m.value, from, to);
            }
        }
        JsonKind::Array(v) => v.iter_mut().for_each(|x| rename_key(x, from, to)),
        _ => {}
    }
}

/// The statement `AWS::Lambda::LayerVersionPermission` adds to the layer version's policy, as
/// Lambda's `AddLayerVersionPermission` writes it (Lambda developer guide, "Granting layer
/// access to other accounts"): `Principal` an account ID or `*`, the action, the layer version
/// ARN, and with `OrganizationId` the condition `StringEquals aws:PrincipalOrgID`.
fn layer_permission(p: &Json, at: Span) -> Json {
    let principal = p.get("Principal").cloned().unwrap_or_else(|| s("*", at));
    let star = principal.as_str() == Some("*");
    let org = p.get("OrganizationId").cloned();
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {}, "Action": {{"Ref": "$Action"}}, "Resource": {{"Ref": "$Layer"}}{}}}]}}"#,
        if star {
            r#""*""#
        } else {
            r#"{"AWS": {"Ref": "$Principal"}}"#
        },
        if org.is_some() {
            r#", "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "$Org"}}}"#
        } else {
            ""
        }
    );
    let mut values = vec![
        (
            "$Action",
            p.get("Action")
                .cloned()
                .unwrap_or_else(|| s("lambda:GetLayerVersion", at)),
        ),
        ("$Principal", principal),
        (
            "$Layer",
            p.get("LayerVersionArn")
                .cloned()
                .unwrap_or_else(|| s("*", at)),
        ),
    ];
    if let Some(o) = org {
        values.push(("$Org", o));
    }
    built(&text, at, values)
}

fn policies_list<'a>(cx: &mut Cx, props: Option<&'a Json>, base: &str, docs: &mut Docs<'a>) {
    if let Some(JsonKind::Array(items)) = props.and_then(|p| p.get("Policies")).map(|p| &p.kind) {
        for (i, it) in items.iter().enumerate() {
            // `Fn::If` as an item, on a condition known from the parameters: its branch
            // (`AWS::NoValue` removes the item).
            let Some(it) = cx.pick(it) else { continue };
            if intrinsic(it).is_some_and(|(f, _)| f == "Fn::If") {
                // Its condition depends on unknown values: reading it reports that (T0302,
                // with which parameters to give), rather than "no policy document".
                docs.push((
                    format!("{base}/Policies/{i}"),
                    Some(it),
                    PolicyKind::Identity,
                    it.span,
                ));
                continue;
            }
            docs.push((
                format!("{base}/Policies/{i}/PolicyDocument"),
                it.get("PolicyDocument"),
                PolicyKind::Identity,
                it.span,
            ));
        }
    }
}

fn failed(
    source: &Arc<SourceFile>,
    id: &str,
    ptr: String,
    span: Span,
    kind: PolicyKind,
    d: Diagnostic,
) -> FoundPolicy {
    FoundPolicy {
        origin: origin(source, id, ptr, span),
        kind: Some(kind),
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: vec![d],
    }
}

struct Cx<'a> {
    root: &'a Json,
    opts: &'a Options,
    resources: HashSet<String>,
    conds: HashMap<String, Option<bool>>,
    cond_stack: Vec<String>,
    /// Unknowns of the policy being resolved: what, where, and the variable naming it when
    /// the value cannot hold a wildcard (`None`: it may, so it cannot be a policy variable,
    /// whose value IAM matches literally).
    /// (what, where, variable key when wildcard-free, named by an input: `Unknown::named`)
    unknowns: Vec<(String, Span, Option<String>, bool)>,
    /// The document being finished is `2012-10-17`: unknowns can be policy variables.
    variables: bool,
}

type R<T> = Result<T, Diagnostic>;

fn s(text: impl Into<String>, span: Span) -> Json {
    Json {
        kind: JsonKind::String(text.into()),
        span,
    }
}

/// The statement `AWS::Lambda::Permission` adds to its function's resource policy, as Lambda's
/// `AddPermission` writes it (Lambda developer guide, "Viewing resource-based IAM policies in
/// Lambda"): `Principal` a service (`s3.amazonaws.com`), an account or ARN (`AWS`), or `*`;
/// `Resource` the function's ARN; `SourceArn` as `ArnLike AWS:SourceArn`, `SourceAccount` as
/// `StringEquals AWS:SourceAccount`, `PrincipalOrgID` as `aws:PrincipalOrgID`,
/// `FunctionUrlAuthType` as `lambda:FunctionUrlAuthType`, `EventSourceToken` as
/// `lambda:EventSourceToken`. Values stay as written (intrinsics resolve with the document).
fn lambda_permission(cx: &mut Cx, p: &Json, at: Span) -> Json {
    let obj = |ms: Vec<(&str, Json)>| Json {
        kind: JsonKind::Object(
            ms.into_iter()
                .map(|(k, v)| Member {
                    key: k.to_string(),
                    key_span: v.span,
                    value: v,
                })
                .collect(),
        ),
        span: at,
    };
    let text = |t: &str| s(t, at);
    let principal = match p.get("Principal") {
        None => text("*"),
        Some(v) => match cx.item(v) {
            Item::Text(t) => match super::lambda_principal_kind(&t) {
                None => s("*", v.span),
                Some(k) => obj(vec![(k, v.clone())]),
            },
            _ => obj(vec![("AWS", v.clone())]),
        },
    };
    let function = p.get("FunctionName").cloned().unwrap_or_else(|| text("*"));
    let resource = match cx.item(&function) {
        // An ARN (`!GetAtt Fn.Arn`, a literal ARN) is the resource; a name (`!Ref Fn`, a
        // literal name) is placed in the function's ARN.
        Item::Text(t) if t.starts_with("arn:") => function,
        Item::Resource(_) if function.get("Fn::GetAtt").is_some() => function,
        _ => obj(vec![(
            "Fn::Join",
            Json {
                kind: JsonKind::Array(vec![
                    text(""),
                    Json {
                        kind: JsonKind::Array(vec![
                            text("arn:"),
                            obj(vec![("Ref", text("AWS::Partition"))]),
                            text(":lambda:"),
                            obj(vec![("Ref", text("AWS::Region"))]),
                            text(":"),
                            obj(vec![("Ref", text("AWS::AccountId"))]),
                            text(":function:"),
                            function,
                        ]),
                        span: at,
                    },
                ]),
                span: at,
            },
        )]),
    };
    let mut conds: Vec<(&str, Json)> = Vec::new();
    for &(prop, _, op, key) in super::LAMBDA_PERMISSION_CONDITIONS {
        if let Some(v) = p.get(prop) {
            match conds.iter_mut().find(|(o, _)| *o == op) {
                Some((_, existing)) => {
                    if let JsonKind::Object(ms) = &mut existing.kind {
                        ms.push(Member {
                            key: key.to_string(),
                            key_span: v.span,
                            value: v.clone(),
                        });
                    }
                }
                None => conds.push((op, obj(vec![(key, v.clone())]))),
            }
        }
    }
    let mut st = vec![
        ("Effect", text("Allow")),
        ("Principal", principal),
        (
            "Action",
            p.get("Action")
                .cloned()
                .unwrap_or_else(|| text("lambda:InvokeFunction")),
        ),
        ("Resource", resource),
    ];
    if !conds.is_empty() {
        st.push(("Condition", obj(conds)));
    }
    obj(vec![
        ("Version", text("2012-10-17")),
        (
            "Statement",
            Json {
                kind: JsonKind::Array(vec![obj(st)]),
                span: at,
            },
        ),
    ])
}

/// The context key naming a deploy-time value, `tarski:KIND/NAME`; a name with characters a
/// policy variable cannot hold is made safe and tagged with its hash (so two names never meet).
fn var_key(kind: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_/.@+=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == name && !name.is_empty() {
        format!("tarski:{kind}/{name}")
    } else {
        format!("tarski:{kind}/{safe}-{:08x}", fnv(name))
    }
}

/// A parameter whose `AllowedValues` or `AllowedPattern` rule out `*` and `?`, so its value is
/// matched literally wherever it is used. The pattern check is conservative: any construct that
/// could match `*` or `?` (`.`, a negated class, `\S`, `\W`, `\D`, `\*`, a class holding
/// them) makes the parameter wildcard-capable.
fn wildcard_free_parameter(p: &Json) -> bool {
    if let Some(JsonKind::Array(vs)) = p.get("AllowedValues").map(|v| &v.kind) {
        if !vs.is_empty()
            && vs
                .iter()
                .all(|v| v.as_str().is_some_and(|t| !t.contains(['*', '?'])))
        {
            return true;
        }
    }
    let Some(pat) = p.get("AllowedPattern").and_then(Json::as_str) else {
        return false;
    };
    let mut in_class = false;
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('*' | '?' | 'S' | 'W' | 'D' | 'p' | 'P' | 'x' | 'u' | 'Q') | None => {
                    return false
                }
                Some(_) => {}
            },
            '[' if !in_class => {
                in_class = true;
                if chars.peek() == Some(&'^') {
                    return false;
                }
            }
            ']' if in_class => in_class = false,
            '*' | '?' if in_class => return false,
            '.' if !in_class => return false,
            _ => {}
        }
    }
    true
}

/// FNV-1a: a stable hash (unlike `DefaultHasher`, the same in every build).
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn marked(j: &Json) -> bool {
    match &j.kind {
        JsonKind::String(t) => t.contains(MARK),
        JsonKind::Array(v) => v.iter().any(marked),
        JsonKind::Object(m) => m.iter().any(|m| marked(&m.value)),
        _ => false,
    }
}

/// A whole-marker string: an unknown value, possibly standing for a list.
fn is_whole_marker(j: &Json) -> bool {
    j.as_str()
        .is_some_and(|t| t.starts_with(MARK) && t.ends_with(MARK) && t.matches(MARK).count() == 2)
}

fn scalar(j: &Json, what: &str) -> R<String> {
    match &j.kind {
        JsonKind::String(t) => Ok(t.clone()),
        JsonKind::Number(n) => Ok(n.clone()),
        JsonKind::Bool(b) => Ok(b.to_string()),
        _ => Err(Diagnostic::error(
            Code::BadReference,
            j.span,
            format!("{what} expects a string here, found {}", j.type_name()),
        )),
    }
}

fn intrinsic(j: &Json) -> Option<(&str, &Json)> {
    match j.as_object() {
        Some([m]) if m.key == "Ref" || m.key.starts_with("Fn::") => Some((&m.key, &m.value)),
        _ => None,
    }
}

fn args<'j>(v: &'j Json, f: &str, n: usize) -> R<&'j [Json]> {
    match &v.kind {
        JsonKind::Array(a) if a.len() == n => Ok(a),
        _ => Err(Diagnostic::error(
            Code::BadReference,
            v.span,
            format!("`{f}` takes a list of {n} arguments"),
        )),
    }
}

impl Cx<'_> {
    /// One entry of `Roles`, `ManagedPolicyArns`, `PermissionsBoundary`, ...: a resource of the
    /// template, a known name or ARN, or a value known only at deploy time.
    fn item(&mut self, j: &Json) -> Item {
        let Some(j) = self.pick(j) else {
            return Item::Unknown("AWS::NoValue".to_string());
        };
        if let Some(r) = j.get("Ref").and_then(Json::as_str) {
            if self.resources.contains(r) {
                return Item::Resource(r.to_string());
            }
        }
        if let Some(JsonKind::Array(a)) = j.get("Fn::GetAtt").map(|g| &g.kind) {
            if let (Some(r), Some("Arn")) = (
                a.first().and_then(Json::as_str),
                a.get(1).and_then(Json::as_str),
            ) {
                if self.resources.contains(r) {
                    return Item::Resource(r.to_string());
                }
            }
        }
        match self.resolve(j) {
            Ok(Some(v)) => match v.as_str() {
                Some(t) if !t.contains(MARK) => Item::Text(t.to_string()),
                // An AWS managed policy ARN whose partition is not given is still that policy.
                Some(t)
                    if super::attachments::aws_managed_name(t)
                        .is_some_and(|n| !n.contains(MARK)) =>
                {
                    Item::Text(t.to_string())
                }
                _ => Item::Unknown("a value known only at deploy time".to_string()),
            },
            _ => Item::Unknown("a value Tarski cannot resolve".to_string()),
        }
    }

    /// What a value stands for when it is an `Fn::If` whose condition is known (CloudFormation
    /// user guide, "Condition functions": `Fn::If` returns one value if the condition is true
    /// and another if it is false; `AWS::NoValue` removes the property or list item): the chosen
    /// branch, `None` for `AWS::NoValue`. Anything else, and an `Fn::If` whose condition depends
    /// on unknown values, stands for itself (resolved, or reported, later).
    fn pick<'j>(&mut self, j: &'j Json) -> Option<&'j Json> {
        if j.get("Ref").and_then(Json::as_str) == Some("AWS::NoValue")
            && j.as_object().is_some_and(|m| m.len() == 1)
        {
            return None;
        }
        if let Some(("Fn::If", JsonKind::Array(a))) = intrinsic(j).map(|(f, v)| (f, &v.kind)) {
            if let ([_, yes, no], Some(name)) = (a.as_slice(), a.first().and_then(Json::as_str)) {
                let mark = self.unknowns.len();
                let v = self.condition(name, j.span);
                self.unknowns.truncate(mark);
                match v {
                    Ok(Some(true)) => return self.pick(yes),
                    Ok(Some(false)) => return self.pick(no),
                    _ => {}
                }
            }
        }
        Some(j)
    }

    /// A property holding a list of items.
    fn items(&mut self, j: &Json) -> Vec<(Item, Span)> {
        match &j.kind {
            JsonKind::Array(v) => {
                let mut out = Vec::new();
                for x in v {
                    if let Some(x) = self.pick(x) {
                        out.push((self.item(x), x.span));
                    }
                }
                out
            }
            _ => match self.resolve(j) {
                Ok(Some(Json {
                    kind: JsonKind::Array(v),
                    ..
                })) => v.iter().map(|x| (self.item(x), x.span)).collect(),
                _ => vec![(
                    Item::Unknown("a list known only at deploy time".into()),
                    j.span,
                )],
            },
        }
    }

    /// A value known only at deploy time whose structure is unknown too (a `Fn::Join` of an
    /// unknown list, ...). It may hold any text, wildcards included, so it is never a policy
    /// variable: in a `Resource` the deployed `*` would be a wildcard, which a variable's
    /// literally matched value cannot stand for.
    fn unknown(&mut self, what: String, span: Span) -> Json {
        self.push_unknown(what, None, span)
    }

    /// A value known only at deploy time that cannot contain `*` or `?` (a resource attribute
    /// or physical id: AWS names and ARNs never do; a pseudo parameter; a parameter whose
    /// `AllowedValues`/`AllowedPattern` exclude them), named by what it is
    /// (`tarski:GetAtt/Bucket.Arn`, `tarski:Ref/Param`, `tarski:AWS::AccountId`): the same value
    /// in two policies, or in two versions of a template, is the same variable.
    fn unknown_named(&mut self, what: String, key: String, span: Span) -> Json {
        self.push_unknown(what, Some(key), span)
    }

    /// A value named by an input of the template (a parameter, an import): `Unknown::named`.
    fn unknown_input(&mut self, what: String, key: Option<String>, span: Span) -> Json {
        let i = self.unknowns.len();
        self.unknowns.push((what, span, key, true));
        s(format!("{MARK}{i}{MARK}"), span)
    }

    fn push_unknown(&mut self, what: String, key: Option<String>, span: Span) -> Json {
        let i = self.unknowns.len();
        self.unknowns.push((what, span, key, false));
        s(format!("{MARK}{i}{MARK}"), span)
    }

    fn policy(
        &mut self,
        source: &Arc<SourceFile>,
        id: &str,
        ptr: String,
        doc: &Json,
        kind: PolicyKind,
    ) -> FoundPolicy {
        self.unknowns.clear();
        let mut fp = FoundPolicy {
            origin: origin(source, id, ptr, doc.span),
            kind: Some(kind),
            source: source.clone(),
            document: None,
            unknowns: Vec::new(),
            diagnostics: Vec::new(),
        };
        match self.resolve(doc) {
            Err(d) => fp.diagnostics.push(d),
            Ok(None) => fp.diagnostics.push(Diagnostic::error(
                Code::BadReference,
                doc.span,
                "the policy document is AWS::NoValue",
            )),
            Ok(Some(j)) => match &j.kind {
                JsonKind::String(t) if !t.contains(MARK) => {
                    // A document written as a JSON string.
                    let src = Arc::new(SourceFile::new(
                        format!("{}: {id} (policy string)", source.name),
                        t.clone(),
                    ));
                    match json::parse(&src.text) {
                        Ok(d) => {
                            fp.source = src;
                            fp.document = Some(d);
                        }
                        Err(e) => {
                            fp.source = src;
                            fp.diagnostics
                                .push(Diagnostic::error(e.code, e.span, e.message));
                        }
                    }
                }
                JsonKind::String(_) => fp.diagnostics.push(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    doc.span,
                    "the whole policy document is known only at deploy time; Tarski cannot model it",
                )),
                _ => {
                    let mut unknowns: Vec<Option<Unknown>> = vec![None; self.unknowns.len()];
                    // In a 2012-10-17 document an unknown inside a resource or a condition value
                    // becomes a policy variable (`${tarski:GetAtt/Bucket.Arn}`): a fresh symbolic string, so
                    // a proof holds for every value it could take and a witness shows the value it
                    // needs (docs/iac.md). Elsewhere (actions, principals) it stays a placeholder.
                    let variables = self.opts.model_unknowns && j.get("Version").and_then(Json::as_str) == Some("2012-10-17");
                    self.variables = variables;
                    let d = self.finish(j, Ctx::Other, &mut unknowns);
                    fp.unknowns = unknowns.into_iter().flatten().collect();
                    fp.document = Some(d);
                }
            },
        }
        fp
    }

    /// Replace markers with placeholders that keep the document valid: a value standing at
    /// the start of a `Resource` or principal gets an ARN-shaped placeholder.
    fn finish(&self, j: Json, cx: Ctx, out: &mut Vec<Option<Unknown>>) -> Json {
        let span = j.span;
        match j.kind {
            JsonKind::String(t) if t.contains(MARK) => {
                let mut text = String::new();
                for (k, part) in t.split(MARK).enumerate() {
                    if k % 2 == 0 {
                        text.push_str(part);
                        continue;
                    }
                    let i: usize = part.parse().unwrap_or(0);
                    let n = i + 1;
                    let key = self.unknowns.get(i).and_then(|u| u.2.as_ref());
                    let modelled = self.variables
                        && key.is_some()
                        && matches!(cx, Ctx::Resource | Ctx::Condition | Ctx::ArnCondition);
                    let ph = if let (true, Some(key)) = (modelled, key) {
                        format!("${{{key}}}")
                    } else if text.is_empty()
                        && !t.starts_with("arn:")
                        && matches!(cx, Ctx::Arn | Ctx::Resource | Ctx::ArnCondition)
                    {
                        format!("arn:tarski-unknown:unknown:unknown:unknown:unknown-{n}")
                    } else if text.is_empty() && cx == Ctx::Action {
                        format!("tarski-unknown:Unknown{n}")
                    } else {
                        format!("tarski-unknown-{n}")
                    };
                    text.push_str(&ph);
                    if let (Some(slot), Some((what, at, _, named))) =
                        (out.get_mut(i), self.unknowns.get(i))
                    {
                        if slot.is_none() {
                            *slot = Some(Unknown {
                                what: what.clone(),
                                span: *at,
                                placeholder: ph,
                                value_span: span,
                                modelled,
                                named: *named,
                            });
                        }
                    }
                }
                s(text, span)
            }
            JsonKind::Array(v) => Json {
                kind: JsonKind::Array(v.into_iter().map(|x| self.finish(x, cx, out)).collect()),
                span,
            },
            JsonKind::Object(ms) => Json {
                kind: JsonKind::Object(
                    ms.into_iter()
                        .map(|m| {
                            let c = match m.key.as_str() {
                                "Resource" | "NotResource" if self.variables => Ctx::Resource,
                                "Condition" => Ctx::Condition,
                                // The values of an `Arn*` operator: an unknown one stands as
                                // an ARN-shaped placeholder (IAM user guide, "ARN condition
                                // operators": the value must be an ARN).
                                k if cx == Ctx::Condition
                                    && k.rsplit(':')
                                        .next()
                                        .is_some_and(|op| op.starts_with("Arn")) =>
                                {
                                    Ctx::ArnCondition
                                }
                                _ if cx == Ctx::ArnCondition => Ctx::ArnCondition,
                                "Resource" | "NotResource" | "Principal" | "NotPrincipal" => {
                                    Ctx::Arn
                                }
                                "Action" | "NotAction" => Ctx::Action,
                                _ if cx == Ctx::Arn => Ctx::Arn,
                                _ if cx == Ctx::Condition => Ctx::Condition,
                                _ => Ctx::Other,
                            };
                            Member {
                                value: self.finish(m.value, c, out),
                                ..m
                            }
                        })
                        .collect(),
                ),
                span,
            },
            kind => Json { kind, span },
        }
    }

    /// Resolve intrinsics; `None` is `AWS::NoValue` (the property is removed).
    fn resolve(&mut self, j: &Json) -> R<Option<Json>> {
        if let Some((f, v)) = intrinsic(j) {
            return self.call(f, v, j.span);
        }
        Ok(Some(match &j.kind {
            JsonKind::Array(items) => {
                let mut out = Vec::new();
                for it in items {
                    if let Some(x) = self.resolve(it)? {
                        out.push(x);
                    }
                }
                Json {
                    kind: JsonKind::Array(out),
                    span: j.span,
                }
            }
            JsonKind::Object(ms) => {
                let mut out = Vec::new();
                for m in ms {
                    if let Some(x) = self.resolve(&m.value)? {
                        out.push(Member {
                            key: m.key.clone(),
                            key_span: m.key_span,
                            value: x,
                        });
                    }
                }
                Json {
                    kind: JsonKind::Object(out),
                    span: j.span,
                }
            }
            _ => j.clone(),
        }))
    }

    fn known(&mut self, j: &Json, what: &str) -> R<Json> {
        self.resolve(j)?.ok_or_else(|| {
            Diagnostic::error(
                Code::BadReference,
                j.span,
                format!("{what}: AWS::NoValue is not a value here"),
            )
        })
    }

    fn call(&mut self, f: &str, v: &Json, span: Span) -> R<Option<Json>> {
        let out = match f {
            "Ref" => {
                let name = scalar(v, "Ref")?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(&name, span)?
            }
            "Fn::GetAtt" => {
                let (res, attr) = match &v.kind {
                    JsonKind::String(t) => match t.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => (t.clone(), String::new()),
                    },
                    _ => {
                        let a = args(v, f, 2)?;
                        let attr = self.known(&a[1], f)?;
                        (scalar(&a[0], f)?, scalar(&attr, f)?)
                    }
                };
                if !self.resources.contains(&res) {
                    return Err(Diagnostic::error(
                        Code::BadReference,
                        span,
                        format!("`Fn::GetAtt` of `{res}`, which is not a resource of the template"),
                    ));
                }
                self.unknown_named(
                    format!("Fn::GetAtt {res}.{attr} (a resource attribute, known after deploy)"),
                    var_key("GetAtt", &format!("{res}.{attr}")),
                    span,
                )
            }
            "Fn::ImportValue" => {
                let name = self.known(v, f)?;
                let n = scalar(&name, f).unwrap_or_default().replace(MARK, "");
                self.unknown_input(
                    format!("Fn::ImportValue {n} (another stack's export; may hold any text)"),
                    None,
                    span,
                )
            }
            "Fn::Join" => {
                let a = args(v, f, 2)?;
                let delim = scalar(&self.known(&a[0], f)?, f)?;
                let list = self.known(&a[1], f)?;
                match &list.kind {
                    JsonKind::Array(items) => {
                        let parts: R<Vec<String>> = items.iter().map(|x| scalar(x, f)).collect();
                        s(parts?.join(&delim), span)
                    }
                    _ if is_whole_marker(&list) => {
                        self.unknown("Fn::Join of a list known only at deploy time".into(), span)
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            Code::BadReference,
                            a[1].span,
                            "`Fn::Join` needs a list",
                        ))
                    }
                }
            }
            "Fn::Sub" => self.sub(v, span)?,
            "Fn::Select" => {
                let a = args(v, f, 2)?;
                let idx = self.known(&a[0], f)?;
                let list = self.known(&a[1], f)?;
                if marked(&idx) || is_whole_marker(&list) {
                    self.unknown(
                        "Fn::Select on values known only at deploy time".into(),
                        span,
                    )
                } else {
                    let i: usize = scalar(&idx, f)?.parse().map_err(|_| {
                        Diagnostic::error(
                            Code::BadReference,
                            a[0].span,
                            "`Fn::Select` index is not a number",
                        )
                    })?;
                    match &list.kind {
                        JsonKind::Array(items) => items.get(i).cloned().ok_or_else(|| {
                            Diagnostic::error(
                                Code::BadReference,
                                span,
                                format!("`Fn::Select` index {i} is out of range (the list has {} items)", items.len()),
                            )
                        })?,
                        _ => return Err(Diagnostic::error(Code::BadReference, a[1].span, "`Fn::Select` needs a list")),
                    }
                }
            }
            "Fn::Split" => {
                let a = args(v, f, 2)?;
                let delim = scalar(&self.known(&a[0], f)?, f)?;
                let text = scalar(&self.known(&a[1], f)?, f)?;
                if text.contains(MARK) || delim.is_empty() {
                    // The number of items is unknown: an unknown list.
                    self.unknown(
                        "Fn::Split of a value known only at deploy time".into(),
                        span,
                    )
                } else {
                    Json {
                        kind: JsonKind::Array(text.split(&delim).map(|p| s(p, span)).collect()),
                        span,
                    }
                }
            }
            "Fn::If" => {
                let a = args(v, f, 3)?;
                let name = scalar(&a[0], f)?;
                match self.condition(&name, a[0].span)? {
                    Some(true) => return self.resolve(&a[1]),
                    Some(false) => return self.resolve(&a[2]),
                    None => {
                        let x = self.resolve(&a[1])?;
                        let y = self.resolve(&a[2])?;
                        let stringy = |o: &Option<Json>| {
                            o.as_ref().is_some_and(|j| {
                                matches!(j.kind, JsonKind::String(_) | JsonKind::Number(_))
                            })
                        };
                        if stringy(&x) && stringy(&y) {
                            self.unknown(
                                format!(
                                    "Fn::If on condition `{name}`, which depends on unknown values"
                                ),
                                span,
                            )
                        } else {
                            return Err(Diagnostic::error(
                                Code::UnsupportedConstruct,
                                span,
                                format!("`Fn::If` on condition `{name}` depends on unknown values and chooses between structures; Tarski cannot model it"),
                            ).with_note("help: give the parameters it depends on with --parameter NAME=VALUE"));
                        }
                    }
                }
            }
            "Fn::FindInMap" => {
                let a = match &v.kind {
                    JsonKind::Array(a) if a.len() >= 3 => a,
                    _ => {
                        return Err(Diagnostic::error(
                            Code::BadReference,
                            v.span,
                            "`Fn::FindInMap` takes [map, key, key]",
                        ))
                    }
                };
                let mut keys = Vec::new();
                for k in &a[..3] {
                    keys.push(scalar(&self.known(k, f)?, f)?);
                }
                if keys.iter().any(|k| k.contains(MARK)) {
                    self.unknown(
                        "Fn::FindInMap with keys known only at deploy time".into(),
                        span,
                    )
                } else {
                    let found = self
                        .root
                        .get("Mappings")
                        .and_then(|m| m.get(&keys[0]))
                        .and_then(|m| m.get(&keys[1]))
                        .and_then(|m| m.get(&keys[2]))
                        .cloned();
                    match found {
                        Some(x) => return self.resolve(&x),
                        None => {
                            return Err(Diagnostic::error(
                                Code::BadReference,
                                span,
                                format!(
                                    "`Fn::FindInMap`: no entry {}.{}.{} in Mappings",
                                    keys[0], keys[1], keys[2]
                                ),
                            ))
                        }
                    }
                }
            }
            "Fn::Transform" => {
                let name = v.get("Name").and_then(Json::as_str).unwrap_or("?");
                return Err(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    span,
                    format!("the macro `{name}` (`Fn::Transform`) builds this value when the stack is deployed; macros are not expanded, so this policy cannot be checked"),
                )
                .with_note("help: check the processed template (`aws cloudformation get-template --template-stage Processed`)"));
            }
            _ => {
                return Err(Diagnostic::error(
                    Code::UnsupportedConstruct,
                    span,
                    format!("`{f}` in a policy document: Tarski cannot model it"),
                ))
            }
        };
        Ok(Some(out))
    }

    fn reference(&mut self, name: &str, span: Span) -> R<Json> {
        let o = self.opts;
        let pseudo = |v: &Option<String>| v.clone();
        let given = match name {
            "AWS::AccountId" => Some(pseudo(&o.account_id)),
            "AWS::Partition" => Some(pseudo(&o.partition)),
            "AWS::Region" => Some(pseudo(&o.region)),
            "AWS::URLSuffix" => Some(o.url_suffix.clone().or_else(|| {
                o.partition.as_deref().map(|p| {
                    if p == "aws-cn" {
                        "amazonaws.com.cn"
                    } else {
                        "amazonaws.com"
                    }
                    .to_string()
                })
            })),
            "AWS::StackName" | "AWS::StackId" | "AWS::NotificationARNs" => Some(None),
            _ => None,
        };
        if let Some(g) = given {
            return Ok(match g {
                Some(v) => s(v, span),
                None => self.unknown_named(
                    format!("the pseudo parameter {name} (not given)"),
                    format!("tarski:{name}"),
                    span,
                ),
            });
        }
        if let Some((key, what)) = self.opts.parameter_vars.get(name) {
            if !self.opts.parameters.contains_key(name) {
                return Ok(self.unknown_input(
                    format!("the parameter {name} = {what}, from the parent stack"),
                    Some(key.clone()),
                    span,
                ));
            }
        }
        if let Some(p) = self.root.get("Parameters").and_then(|p| p.get(name)) {
            let ty = p.get("Type").and_then(Json::as_str).unwrap_or("String");
            let value = match o.parameters.get(name) {
                Some(v) => Some(v.clone()),
                None if ty.starts_with("AWS::SSM::Parameter::Value") => None,
                None => p.get("Default").map(|d| scalar(d, "Default")).transpose()?,
            };
            let Some(value) = value else {
                let why = if ty.starts_with("AWS::SSM") {
                    "an SSM parameter, read at deploy time"
                } else {
                    "no default"
                };
                let what = format!("the parameter {name} ({why}; give --parameter {name}=VALUE)");
                let key = wildcard_free_parameter(p).then(|| var_key("Ref", name));
                return Ok(self.unknown_input(what, key, span));
            };
            if ty == "CommaDelimitedList" || ty.starts_with("List<") {
                return Ok(Json {
                    kind: JsonKind::Array(value.split(',').map(|x| s(x.trim(), span)).collect()),
                    span,
                });
            }
            return Ok(s(value, span));
        }
        if self.resources.contains(name) {
            return Ok(self.unknown_named(
                format!("Ref {name} (a resource's physical id, known after deploy)"),
                var_key("Ref", name),
                span,
            ));
        }
        // SAM's references to what it generates for a function (`!Ref Fn.Alias` with
        // `AutoPublishAlias`, `!Ref Fn.Version`; SAM specification, "Referencing generated
        // CloudFormation resources"): an ARN known after deploy.
        if let Some((res, "Alias" | "Version")) = name.split_once('.') {
            if self.resources.contains(res) {
                return Ok(self.unknown_named(
                    format!("Ref {name} (generated by SAM, known after deploy)"),
                    var_key("Ref", name),
                    span,
                ));
            }
        }
        Err(Diagnostic::error(
            Code::BadReference,
            span,
            format!("`Ref` to `{name}`, which is neither a parameter, a pseudo parameter nor a resource"),
        ))
    }

    fn sub(&mut self, v: &Json, span: Span) -> R<Json> {
        let (tpl, vars) = match &v.kind {
            JsonKind::String(t) => (t.clone(), None),
            JsonKind::Array(a) if a.len() == 2 => (scalar(&a[0], "Fn::Sub")?, Some(&a[1])),
            _ => {
                return Err(Diagnostic::error(
                    Code::BadReference,
                    v.span,
                    "`Fn::Sub` takes a string or [string, {variables}]",
                ))
            }
        };
        let mut out = String::new();
        let mut rest = tpl.as_str();
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
                continue;
            }
            let var = var.trim();
            let value = if let Some(x) = vars.and_then(|m| m.get(var)) {
                self.known(x, "Fn::Sub")?
            } else if let Some((res, attr)) = var.split_once('.') {
                if !self.resources.contains(res) {
                    return Err(Diagnostic::error(Code::BadReference, span, format!("`Fn::Sub` refers to `${{{var}}}`, but `{res}` is not a resource of the template")));
                }
                self.unknown_named(
                    format!("Fn::GetAtt {res}.{attr} (in Fn::Sub; known after deploy)"),
                    var_key("GetAtt", var),
                    span,
                )
            } else {
                self.reference(var, span)?
            };
            out.push_str(&scalar(&value, "Fn::Sub")?);
        }
        out.push_str(rest);
        Ok(s(out, span))
    }

    /// A condition's value: `None` when it depends on unknown values.
    fn condition(&mut self, name: &str, span: Span) -> R<Option<bool>> {
        if let Some(v) = self.conds.get(name) {
            return Ok(*v);
        }
        if self.cond_stack.iter().any(|c| c == name) {
            return Err(Diagnostic::error(
                Code::BadReference,
                span,
                format!("condition `{name}` depends on itself"),
            ));
        }
        let Some(expr) = self
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .cloned()
        else {
            return Err(Diagnostic::error(
                Code::BadReference,
                span,
                format!("no condition `{name}` in Conditions"),
            ));
        };
        self.cond_stack.push(name.to_string());
        let mark = self.unknowns.len();
        let v = self.cond_expr(&expr);
        self.unknowns.truncate(mark);
        self.cond_stack.pop();
        let v = v?;
        self.conds.insert(name.to_string(), v);
        Ok(v)
    }

    fn cond_expr(&mut self, e: &Json) -> R<Option<bool>> {
        let Some([m]) = e.as_object() else {
            return Err(Diagnostic::error(
                Code::BadReference,
                e.span,
                "a condition must be a condition function",
            ));
        };
        let list = |v: &Json| -> R<Vec<Json>> {
            match &v.kind {
                JsonKind::Array(a) => Ok(a.clone()),
                _ => Err(Diagnostic::error(
                    Code::BadReference,
                    v.span,
                    format!("`{}` takes a list", m.key),
                )),
            }
        };
        match m.key.as_str() {
            "Condition" => {
                let n = scalar(&m.value, "Condition")?;
                self.condition(&n, m.value.span)
            }
            "Fn::Equals" => {
                let a = args(&m.value, "Fn::Equals", 2)?;
                let x = self.known(&a[0], "Fn::Equals")?;
                let y = self.known(&a[1], "Fn::Equals")?;
                if marked(&x) || marked(&y) {
                    return Ok(None);
                }
                Ok(Some(scalar(&x, "Fn::Equals")? == scalar(&y, "Fn::Equals")?))
            }
            "Fn::Not" => {
                let a = args(&m.value, "Fn::Not", 1)?;
                Ok(self.cond_expr(&a[0])?.map(|b| !b))
            }
            "Fn::And" | "Fn::Or" => {
                let and = m.key == "Fn::And";
                let mut unknown = false;
                for x in list(&m.value)? {
                    match self.cond_expr(&x)? {
                        Some(b) if b != and => return Ok(Some(b)),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                Ok(if unknown { None } else { Some(and) })
            }
            k => Err(Diagnostic::error(
                Code::BadReference,
                m.key_span,
                format!("`{k}` is not a condition function"),
            )),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Arn,
    Action,
    Other,
    /// A `Resource`/`NotResource` value in a `2012-10-17` document.
    Resource,
    /// A condition block (values modelled only in a `2012-10-17` document).
    Condition,
    /// The values of an `Arn*` condition operator.
    ArnCondition,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(text: &str) -> Json {
        json::parse(text).unwrap()
    }

    #[test]
    fn parameters_that_cannot_hold_wildcards() {
        for p in [
            r#"{"AllowedValues": ["dev", "prod"]}"#,
            r#"{"AllowedPattern": "^[a-z0-9-]+$"}"#,
            r#"{"AllowedPattern": "^arn:aws:s3:::[a-z0-9.-]{3,63}$"}"#,
            r#"{"AllowedPattern": "\\d{12}"}"#,
        ] {
            assert!(wildcard_free_parameter(&param(p)), "{p}");
        }
        for p in [
            r#"{}"#,
            r#"{"AllowedValues": ["dev", "*"]}"#,
            r#"{"AllowedPattern": ".*"}"#,
            r#"{"AllowedPattern": "^[^/]+$"}"#,
            r#"{"AllowedPattern": "^[a-z*]+$"}"#,
            r#"{"AllowedPattern": "^\\S+$"}"#,
            r#"{"AllowedPattern": "^a\\*$"}"#,
        ] {
            assert!(!wildcard_free_parameter(&param(p)), "{p}");
        }
    }

    /// A value that may hold a wildcard stays opaque in a `Resource`: the deployed `*` would
    /// match everything, which a literally matched policy variable cannot stand for.
    #[test]
    fn an_if_policy_item_on_an_unknown_condition_says_so() {
        let t = "Parameters:\n  K:\n    Type: String\nConditions:\n  HasK: !Not [!Equals [!Ref K, '']]\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}\n      Policies:\n        - !If [HasK, {PolicyName: p, PolicyDocument: {Version: '2012-10-17', Statement: []}}, !Ref AWS::NoValue]\n";
        let ex = extract("t.yaml", t, &Options::default());
        let p = ex
            .policies
            .iter()
            .find(|p| p.origin.pointer.ends_with("Policies/0"))
            .unwrap();
        let d = &p.diagnostics[0];
        assert_eq!(d.code, Code::UnsupportedConstruct);
        assert!(d.message.contains("HasK"), "{}", d.message);
    }

    #[test]
    fn a_boundary_removed_by_its_condition_is_no_boundary() {
        let t = "Parameters:\n  B:\n    Type: String\n    Default: ''\nConditions:\n  HasB: !Not [!Equals [!Ref B, '']]\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}\n      PermissionsBoundary: !If [HasB, !Ref B, !Ref AWS::NoValue]\n";
        let ex = extract("t.yaml", t, &Options::default());
        let r = ex.principals.iter().find(|p| p.id == "R").unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(r.boundary.is_none());
    }

    #[test]
    fn sam_alias_references_are_deploy_time_values() {
        let t = r#"{"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"AutoPublishAlias": "live"}},
          "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Ref": "Fn.Alias"}}]}}}}}"#;
        let ex = extract("t.json", t, &Options::default());
        let p = ex
            .policies
            .iter()
            .find(|p| p.origin.address == "P")
            .unwrap();
        assert!(!p.failed(), "{:?}", p.diagnostics);
        assert_eq!(p.unknowns.len(), 1);
    }

    #[test]
    fn an_unknown_arn_condition_value_stands_as_an_arn_in_a_versionless_document() {
        let t = r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic"}, "Q": {"Type": "AWS::SQS::Queue"},
          "P": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Q"}], "PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
              "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "T"}}}}]}}}}}"#;
        let ex = extract("t.json", t, &Options::default());
        let c = super::super::check(&ex.policies[0], false);
        assert!(
            !c.diagnostics.diagnostics.iter().any(|d| d.is_error()),
            "{:?}",
            c.diagnostics.diagnostics
        );
        assert!(c.policy.is_some());
    }

    #[test]
    fn wildcard_capable_unknowns_are_not_policy_variables() {
        let t = r#"{"Parameters": {"Res": {"Type": "String"}, "Env": {"Type": "String", "AllowedValues": ["dev", "prod"]}},
          "Resources": {"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument":
          {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:aws:s3:::${Env}-data/*"}},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Ref": "Res"}}]}}}}}"#;
        let ex = extract(
            "t.json",
            t,
            &Options {
                model_unknowns: true,
                ..Options::default()
            },
        );
        let p = &ex.policies[0];
        let by_what = |w: &str| p.unknowns.iter().find(|u| u.what.contains(w)).unwrap();
        assert!(by_what("parameter Env").modelled);
        assert_eq!(by_what("parameter Env").placeholder, "${tarski:Ref/Env}");
        assert!(!by_what("parameter Res").modelled);
        assert!(p.opaque());
    }

    /// Whether a deploy-time value is named by an input of the template (a parameter, an
    /// import) is data on the unknown (`named`), set where the value is read: `batch
    /// --no-new-access` decides by it, not by the wording of `what`.
    #[test]
    fn parameters_and_imports_are_named_inputs() {
        let t = r#"{"Parameters": {"Res": {"Type": "String"}, "Env": {"Type": "String", "AllowedValues": ["dev", "prod"]}},
          "Resources": {"B": {"Type": "AWS::S3::Bucket"}, "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument":
          {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:aws:s3:::${Env}-data/*"}},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Ref": "Res"}},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::ImportValue": "Shared"}},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["B", "Arn"]}}]}}}}}"#;
        let ex = extract(
            "t.json",
            t,
            &Options {
                model_unknowns: true,
                ..Options::default()
            },
        );
        let p = &ex.policies[0];
        let by_what = |w: &str| p.unknowns.iter().find(|u| u.what.contains(w)).unwrap();
        assert!(by_what("parameter Env").named);
        assert!(by_what("parameter Res").named);
        assert!(by_what("ImportValue").named);
        assert!(!by_what("GetAtt").named);
        assert_eq!(p.unknowns.len(), 4, "{:?}", p.unknowns);
    }
}
