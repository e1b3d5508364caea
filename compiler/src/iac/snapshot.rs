//! Account snapshots: the output of `aws iam get-account-authorization-details`. Users,
//! groups and roles with their inline policies, attached managed policies (resolved from
//! `Policies[].PolicyVersionList`, the version with `IsDefaultVersion`), group memberships and
//! permissions boundaries. Documents are objects (AWS CLI output) or URL-encoded strings (the
//! raw API). Everything in a snapshot is concrete: no unknowns.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{origin, ptr_escape, Extraction, FoundPolicy, Origin};
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{self, Json, JsonKind};
use crate::policy::PolicyKind;
use crate::source::SourceFile;

/// A user, group or role.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `user`, `group` or `role`.
    pub kind: &'static str,
    pub name: String,
    pub arn: String,
    pub inline: Vec<FoundPolicy>,
    pub attached: Vec<String>,
    pub groups: Vec<String>,
    pub boundary: Option<String>,
    pub trust: Option<FoundPolicy>,
    /// Where the principal's entry is in the snapshot.
    pub origin: Origin,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub principals: Vec<Principal>,
    /// Managed policies by ARN: the default version's document.
    pub managed: BTreeMap<String, FoundPolicy>,
    /// Problems with the file as a whole.
    pub problems: Extraction,
}

/// The policies that apply to one principal.
#[derive(Debug)]
pub struct PrincipalPolicies {
    pub arn: String,
    /// Inline, attached, and (for users) their groups' inline and attached policies.
    pub identity: Vec<FoundPolicy>,
    pub boundary: Option<FoundPolicy>,
}

fn list<'a>(j: &'a Json, k: &str) -> &'a [Json] {
    match j.get(k).map(|v| &v.kind) {
        Some(JsonKind::Array(a)) => a,
        _ => &[],
    }
}

fn text(j: &Json, k: &str) -> String {
    j.get(k).and_then(Json::as_str).unwrap_or("").to_string()
}

fn doc(
    source: &Arc<SourceFile>,
    address: &str,
    ptr: String,
    v: &Json,
    kind: PolicyKind,
) -> FoundPolicy {
    let mut fp = FoundPolicy {
        origin: origin(source, address, ptr, v.span),
        kind: Some(kind),
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: Vec::new(),
    };
    match &v.kind {
        JsonKind::Object(_) => fp.document = Some(v.clone()),
        JsonKind::String(s) => {
            let name = format!("{}: {address} {}", source.name, fp.origin.pointer);
            fp.read_string(&name, s, v.span);
        }
        _ => fp.diagnostics.push(Diagnostic::error(
            Code::UnreadableInput,
            v.span,
            format!("expected a policy document, found {}", v.type_name()),
        )),
    }
    fp
}

pub fn read(name: &str, text_in: &str) -> Snapshot {
    let source = Arc::new(SourceFile::new(name, text_in));
    let mut snap = Snapshot::default();
    let root = match json::parse(text_in) {
        Ok(r) => r,
        Err(e) => {
            snap.problems.file_diag(
                &source,
                Diagnostic::error(Code::UnreadableInput, e.span, e.message),
            );
            return snap;
        }
    };
    if [
        "UserDetailList",
        "GroupDetailList",
        "RoleDetailList",
        "Policies",
    ]
    .iter()
    .all(|k| root.get(k).is_none())
    {
        snap.problems.file_diag(&source, Diagnostic::error(
            Code::UnreadableInput,
            root.span,
            "not an account snapshot: expected the output of `aws iam get-account-authorization-details`",
        ));
        return snap;
    }
    for (list_key, kind, name_key, pol_key) in [
        ("UserDetailList", "user", "UserName", "UserPolicyList"),
        ("GroupDetailList", "group", "GroupName", "GroupPolicyList"),
        ("RoleDetailList", "role", "RoleName", "RolePolicyList"),
    ] {
        for (i, p) in list(&root, list_key).iter().enumerate() {
            let pname = text(p, name_key);
            let address = format!("{kind}/{pname}");
            let inline = list(p, pol_key)
                .iter()
                .enumerate()
                .filter_map(|(j, ip)| {
                    let d = ip.get("PolicyDocument")?;
                    let mut fp = doc(
                        &source,
                        &address,
                        format!("/{list_key}/{i}/{pol_key}/{j}/PolicyDocument"),
                        d,
                        PolicyKind::Identity,
                    );
                    fp.origin.address = format!("{address}/inline/{}", text(ip, "PolicyName"));
                    Some(fp)
                })
                .collect();
            let trust = p.get("AssumeRolePolicyDocument").map(|d| {
                doc(
                    &source,
                    &address,
                    format!("/{list_key}/{i}/AssumeRolePolicyDocument"),
                    d,
                    PolicyKind::Trust,
                )
            });
            snap.principals.push(Principal {
                kind,
                name: pname.clone(),
                arn: text(p, "Arn"),
                inline,
                attached: list(p, "AttachedManagedPolicies")
                    .iter()
                    .map(|a| text(a, "PolicyArn"))
                    .collect(),
                groups: list(p, "GroupList")
                    .iter()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect(),
                boundary: p
                    .get("PermissionsBoundary")
                    .map(|b| text(b, "PermissionsBoundaryArn")),
                trust,
                origin: origin(&source, &address, format!("/{list_key}/{i}"), p.span),
            });
        }
    }
    for (i, mp) in list(&root, "Policies").iter().enumerate() {
        let arn = text(mp, "Arn");
        let address = format!("policy/{}", text(mp, "PolicyName"));
        let versions = list(mp, "PolicyVersionList");
        let default = versions.iter().enumerate().find(|(_, v)| {
            matches!(
                v.get("IsDefaultVersion").map(|b| &b.kind),
                Some(JsonKind::Bool(true))
            )
        });
        let used_as_boundary = snap
            .principals
            .iter()
            .any(|p| p.boundary.as_deref() == Some(&arn));
        let attached = snap.principals.iter().any(|p| p.attached.contains(&arn));
        let kind = if used_as_boundary && !attached {
            PolicyKind::Boundary
        } else {
            PolicyKind::Identity
        };
        let fp = match default.and_then(|(j, v)| v.get("Document").map(|d| (j, d))) {
            Some((j, d)) => doc(&source, &address, format!("/Policies/{i}/PolicyVersionList/{j}/Document"), d, kind),
            None => FoundPolicy {
                origin: origin(&source, &address, format!("/Policies/{i}"), mp.span),
                kind: Some(kind),
                source: source.clone(),
                document: None,
                unknowns: Vec::new(),
                diagnostics: vec![Diagnostic::error(Code::NoDefaultVersion, mp.span, format!("managed policy `{arn}` has no default version with a document in the snapshot"))],
            },
        };
        snap.managed.insert(arn, fp);
    }
    let _ = ptr_escape;
    snap
}

/// Every policy in the snapshot, for `check`: inline and trust policies of every principal
/// and the default version of every managed policy (other versions are not in effect).
pub fn extract(name: &str, text: &str) -> Extraction {
    let snap = read(name, text);
    let mut out = snap.problems;
    for p in snap.principals {
        out.policies.extend(p.trust);
        out.policies.extend(p.inline);
    }
    out.policies.extend(snap.managed.into_values());
    out
}

impl Snapshot {
    /// The policies of `role/NAME` or `user/NAME` (or the principal's ARN). A policy the
    /// snapshot does not hold (an attached policy or boundary missing from `Policies`) is an
    /// error: leaving it out would under-approximate what the principal may do.
    pub fn principal(&self, who: &str) -> Result<PrincipalPolicies, String> {
        let (kind, name) = who.split_once('/').unwrap_or(("", who));
        let p = self
            .principals
            .iter()
            .find(|p| (p.kind == kind && p.name == name) || p.arn == who)
            .filter(|p| p.kind != "group")
            .ok_or_else(|| {
                format!("no user or role `{who}` in the snapshot (use role/NAME or user/NAME)")
            })?;
        let managed = |arn: &str, kind: PolicyKind| -> Result<FoundPolicy, String> {
            // An AWS managed policy the snapshot leaves out (it holds them only with
            // `--filter AWSManagedPolicy`) is the one built into Tarski (`managed.rs`).
            let built_in = || {
                super::attachments::aws_managed_name(arn)
                    .filter(|_| arn.contains(":iam::aws:policy/"))
                    .and_then(|n| super::managed::found(n, &p.origin.file))
            };
            let mut fp = self.managed.get(arn).cloned().or_else(built_in).ok_or_else(|| {
                format!("`{who}`: managed policy `{arn}` is not in the snapshot (AWS managed policies are included only with `--filter AWSManagedPolicy`); without it the answer would be unsound")
            })?;
            fp.kind = Some(kind);
            Ok(fp)
        };
        let mut identity = p.inline.clone();
        for a in &p.attached {
            identity.push(managed(a, PolicyKind::Identity)?);
        }
        for g in &p.groups {
            let grp = self
                .principals
                .iter()
                .find(|x| x.kind == "group" && &x.name == g)
                .ok_or_else(|| {
                    format!("`{who}` is in group `{g}`, which is not in the snapshot")
                })?;
            identity.extend(grp.inline.iter().cloned());
            for a in &grp.attached {
                identity.push(managed(a, PolicyKind::Identity)?);
            }
        }
        let boundary = p
            .boundary
            .as_deref()
            .map(|b| managed(b, PolicyKind::Boundary))
            .transpose()?;
        Ok(PrincipalPolicies {
            arn: p.arn.clone(),
            identity,
            boundary,
        })
    }
}
