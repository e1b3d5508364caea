//! The IAM principals a template defines (`AWS::IAM::Role`, `User`, `Group`) and the
//! policies that apply to each: its inline `Policies`, `AWS::IAM::Policy` and
//! `AWS::IAM::ManagedPolicy` resources that name it in `Roles`/`Users`/`Groups`, the managed
//! policies in its `ManagedPolicyArns`, a user's groups' policies, and its
//! `PermissionsBoundary`. Attachments Tarski cannot resolve are problems of that principal:
//! leaving a policy out would under-approximate what it may do.

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// A reference to another resource or a name, as written in a property list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `Ref` (or `Fn::GetAtt X.Arn`) to a resource of the template.
    Resource(String),
    /// A known string: a name or an ARN.
    Text(String),
    /// Known only at deploy time.
    Unknown(String),
}

/// What extraction found about one resource, for linking.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub id: String,
    pub ty: String,
    pub span: Span,
    /// `RoleName` / `UserName` / `GroupName` / `ManagedPolicyName`, when known.
    pub name: Option<String>,
    /// `Path` of a role or user, when known (`None`: not given, so `/`, or not known).
    pub path: Option<String>,
    /// `Path` is given but known only at deploy time.
    pub path_unknown: bool,
    /// `Roles`, `Users`, `Groups` of a policy resource; `Groups` of a user.
    pub roles: Vec<(Item, Span)>,
    pub users: Vec<(Item, Span)>,
    pub groups: Vec<(Item, Span)>,
    pub managed_arns: Vec<(Item, Span)>,
    pub boundary: Option<(Item, Span)>,
    /// A SAM function or state machine without `Role`: SAM creates its execution role, with its
    /// `Policies` as the role's policies.
    pub sam_role: bool,
    /// Indices into `Extraction::policies` of this resource's own documents, by pointer suffix
    /// (`PolicyDocument`, `Policies/0/PolicyDocument`, ...).
    pub documents: Vec<(String, usize)>,
}

/// A principal the template defines, with the policies that apply to it.
#[derive(Clone, Debug)]
pub struct TemplatePrincipal {
    /// `role`, `user`.
    pub kind: &'static str,
    /// The logical id.
    pub id: String,
    pub span: Span,
    /// The role's or user's name when the template or plan gives it literally (CloudFormation
    /// `RoleName`/`UserName`, Terraform `name`); `None`: generated at deploy time.
    pub name: Option<String>,
    /// Its path (`/` when not given); `None`: given, but known only at deploy time.
    pub path: Option<String>,
    /// Indices into `Extraction::policies`.
    pub identity: Vec<usize>,
    pub boundary: Option<usize>,
    /// AWS managed policies attached by ARN (`arn:...:iam::aws:policy/PATH/NAME`): their names,
    /// for the caller to resolve (they are not in the template).
    pub aws_managed: Vec<(String, Span)>,
    /// Attachments that cannot be resolved: the principal cannot be checked.
    pub problems: Vec<Diagnostic>,
}

/// The name of an AWS managed policy ARN (`arn:PARTITION:iam::aws:policy/[PATH/]NAME`); the
/// partition may be unknown (`None` segments are fine as long as the name is known).
pub fn aws_managed_name(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":iam::aws:policy/")?;
    let name = rest.rsplit('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// Link every role and user to its policies.
pub fn link(facts: &[Facts]) -> Vec<TemplatePrincipal> {
    let named = |kind: &str, item: &Item| -> Option<&Facts> {
        facts.iter().find(|f| {
            f.ty == kind
                && match item {
                    Item::Resource(id) => &f.id == id,
                    Item::Text(t) => f.name.as_deref() == Some(t.as_str()),
                    Item::Unknown(_) => false,
                }
        })
    };
    // A role's or group's own identity documents (not a role's trust policy).
    let own = |f: &Facts| -> Vec<usize> {
        f.documents
            .iter()
            .filter(|(ptr, _)| !ptr.ends_with("AssumeRolePolicyDocument"))
            .map(|(_, i)| *i)
            .collect()
    };
    // Policies attached from policy resources, by the principal they name.
    let attached_to = |p: &Facts, kind: &str| -> Vec<usize> {
        let mut out = Vec::new();
        for f in facts.iter().filter(|f| {
            matches!(
                f.ty.as_str(),
                "AWS::IAM::Policy"
                    | "AWS::IAM::ManagedPolicy"
                    | "AWS::IAM::RolePolicy"
                    | "AWS::IAM::UserPolicy"
                    | "AWS::IAM::GroupPolicy"
            )
        }) {
            let list = match kind {
                "AWS::IAM::Role" => &f.roles,
                "AWS::IAM::User" => &f.users,
                _ => &f.groups,
            };
            if list
                .iter()
                .any(|(it, _)| named(kind, it).is_some_and(|x| x.id == p.id))
            {
                out.extend(f.documents.iter().map(|(_, i)| *i));
            }
        }
        out
    };
    let mut out = Vec::new();
    for p in facts {
        let kind = match p.ty.as_str() {
            "AWS::IAM::Role" => "role",
            "AWS::IAM::User" => "user",
            _ if p.sam_role => "role",
            _ => continue,
        };
        let mut tp = TemplatePrincipal {
            kind,
            id: p.id.clone(),
            span: p.span,
            name: p.name.clone(),
            path: if p.path_unknown {
                None
            } else {
                Some(p.path.clone().unwrap_or_else(|| "/".to_string()))
            },
            identity: own(p),
            boundary: None,
            aws_managed: Vec::new(),
            problems: Vec::new(),
        };
        tp.identity.extend(attached_to(p, &p.ty));
        let managed = |tp: &mut TemplatePrincipal, list: &[(Item, Span)], whose: &str| {
            for (it, span) in list {
                match it {
                    Item::Resource(id) => match facts.iter().find(|f| &f.id == id && f.ty == "AWS::IAM::ManagedPolicy") {
                        Some(f) => tp.identity.extend(f.documents.iter().map(|(_, i)| *i)),
                        None => tp.problems.push(Diagnostic::error(Code::BadReference, *span, format!("{whose} attaches `{id}`, which is not an AWS::IAM::ManagedPolicy of the template"))),
                    },
                    Item::Text(arn) => match aws_managed_name(arn) {
                        Some(n) => tp.aws_managed.push((n.to_string(), *span)),
                        None => tp.problems.push(Diagnostic::error(Code::UnsupportedConstruct, *span, format!("{whose} attaches the customer managed policy `{arn}`, which is not in the template; its permissions cannot be checked"))),
                    },
                    Item::Unknown(what) => tp.problems.push(Diagnostic::error(Code::UnsupportedConstruct, *span, format!("{whose} attaches a managed policy known only at deploy time ({what})"))),
                }
            }
        };
        managed(&mut tp, &p.managed_arns, &format!("`{}`", p.id));
        if kind == "user" {
            // Its `Groups`, and every `AWS::IAM::UserToGroupAddition` that names it in `Users`
            // (CloudFormation resource reference: it adds users to a group).
            let mut groups: Vec<(Item, Span)> = p.groups.clone();
            for f in facts
                .iter()
                .filter(|f| f.ty == "AWS::IAM::UserToGroupAddition")
            {
                if f.users
                    .iter()
                    .any(|(it, _)| named("AWS::IAM::User", it).is_some_and(|x| x.id == p.id))
                {
                    groups.extend(f.groups.iter().cloned());
                }
            }
            for (g, span) in &groups {
                match named("AWS::IAM::Group", g) {
                    Some(gf) => {
                        tp.identity.extend(own(gf));
                        tp.identity.extend(attached_to(gf, "AWS::IAM::Group"));
                        managed(&mut tp, &gf.managed_arns, &format!("group `{}`", gf.id));
                    }
                    None => tp.problems.push(Diagnostic::error(
                        Code::UnsupportedConstruct,
                        *span,
                        format!("`{}` is in a group that is not in the template; its policies cannot be checked", p.id),
                    )),
                }
            }
        }
        if let Some((b, span)) = &p.boundary {
            match b {
                Item::Resource(id) => {
                    match facts.iter().find(|f| &f.id == id && f.ty == "AWS::IAM::ManagedPolicy") {
                        Some(f) => tp.boundary = f.documents.first().map(|(_, i)| *i),
                        None => tp.problems.push(Diagnostic::error(Code::BadReference, *span, format!("`{}`'s permissions boundary `{id}` is not an AWS::IAM::ManagedPolicy of the template", p.id))),
                    }
                }
                Item::Text(arn) => match aws_managed_name(arn) {
                    Some(n) => tp.problems.push(Diagnostic::error(Code::UnsupportedConstruct, *span, format!("`{}`'s permissions boundary is the AWS managed policy `{n}`; boundaries outside the template are not read", p.id))),
                    None => tp.problems.push(Diagnostic::error(Code::UnsupportedConstruct, *span, format!("`{}`'s permissions boundary `{arn}` is not in the template", p.id))),
                },
                Item::Unknown(what) => tp.problems.push(Diagnostic::error(Code::UnsupportedConstruct, *span, format!("`{}`'s permissions boundary is known only at deploy time ({what})", p.id))),
            }
        }
        tp.identity.sort_unstable();
        tp.identity.dedup();
        out.push(tp);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::iac::cloudformation::{extract, Options};

    const T: &str = r#"{"Resources": {
      "Dev": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "devs", "Policies": [
        {"PolicyName": "g", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}}]}},
      "Alice": {"Type": "AWS::IAM::User", "Properties": {"Groups": ["devs"],
        "PermissionsBoundary": {"Ref": "Bound"}, "ManagedPolicyArns": [{"Ref": "Mp"}, "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]}},
      "Bound": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}},
      "Mp": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}}},
      "ToGroup": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Groups": [{"Ref": "Dev"}],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}}},
      "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "ManagedPolicyArns": ["arn:aws:iam::111122223333:policy/Custom"]}}
    }}"#;

    /// `AWS::IAM::UserToGroupAddition` puts the user in the group: the group's policies are the
    /// user's (left out, the user's permissions were under-approximated).
    #[test]
    fn user_to_group_addition_adds_the_groups_policies() {
        let t = r#"{"Resources": {
          "U": {"Type": "AWS::IAM::User"},
          "G": {"Type": "AWS::IAM::Group", "Properties": {"Policies": [{"PolicyName": "p",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]}},
          "Named": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "named", "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}},
          "Add": {"Type": "AWS::IAM::UserToGroupAddition", "Properties": {"GroupName": {"Ref": "G"}, "Users": [{"Ref": "U"}]}},
          "Add2": {"Type": "AWS::IAM::UserToGroupAddition", "Properties": {"GroupName": "named", "Users": [{"Ref": "U"}]}}
        }}"#;
        let ex = extract("t.json", t, &Options::default());
        let u = ex.principals.iter().find(|p| p.id == "U").unwrap();
        assert!(u.problems.is_empty(), "{:?}", u.problems);
        let ptrs: Vec<&str> = u
            .identity
            .iter()
            .map(|&i| ex.policies[i].origin.pointer.as_str())
            .collect();
        assert!(
            ptrs.contains(&"/Resources/G/Properties/Policies/0/PolicyDocument"),
            "{ptrs:?}"
        );
        assert!(ptrs.contains(&"aws-managed/ReadOnlyAccess"), "{ptrs:?}");
    }

    #[test]
    fn a_user_gets_its_groups_attached_and_boundary_policies() {
        let ex = extract("t.json", T, &Options::default());
        let alice = ex.principals.iter().find(|p| p.id == "Alice").unwrap();
        assert!(alice.problems.is_empty(), "{:?}", alice.problems);
        let ptrs: Vec<&str> = alice
            .identity
            .iter()
            .map(|&i| ex.policies[i].origin.pointer.as_str())
            .collect();
        assert_eq!(
            ptrs.len(),
            4,
            "group inline, policy attached to the group, Mp, built-in ViewOnlyAccess: {ptrs:?}"
        );
        assert!(ptrs.contains(&"aws-managed/ViewOnlyAccess"));
        assert!(ptrs.contains(&"/Resources/Dev/Properties/Policies/0/PolicyDocument"));
        assert!(ptrs.contains(&"/Resources/ToGroup/Properties/PolicyDocument"));
        assert!(ptrs.contains(&"/Resources/Mp/Properties/PolicyDocument"));
        let b = alice.boundary.unwrap();
        assert_eq!(
            ex.policies[b].origin.pointer,
            "/Resources/Bound/Properties/PolicyDocument"
        );
        // The AWS managed policy is built in (`managed.rs`): nothing left for the caller.
        assert!(alice.aws_managed.is_empty(), "{:?}", alice.aws_managed);
        // A customer managed policy outside the template cannot be checked.
        let role = ex.principals.iter().find(|p| p.id == "Role").unwrap();
        assert_eq!(role.problems.len(), 1);
        assert!(role.identity.is_empty());
    }
}
