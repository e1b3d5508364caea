//! The built-in checks of `tarski batch`, written in the spec language so that they mean
//! exactly what the same assertion in a spec file would mean.

use crate::spec::ast::Quantifier;

/// A built-in check: a quantifier over the checked policy and a constraint.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub quantifier: Quantifier,
    pub constraint: &'static str,
    /// Only for resource-based policies (`no-public-access`), else for identity-side ones.
    pub resource_policies: bool,
    pub description: &'static str,
}

/// Keys whose presence in a resource policy's condition restricts who can get in; a request
/// without any of them stands for "someone outside, with nothing to show".
const RESTRICTING_KEYS: &[&str] = &[
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:SourceIp",
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:VpcSourceIp",
    "aws:userid",
    "aws:username",
    // A bucket policy that delegates to access points (S3 user guide, "Configuring IAM policies
    // for using access points", delegating access control to access points): a request through
    // an access point must also be allowed by the access point's policy, which is checked on
    // its own; Access Analyzer does not judge the delegation public.
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
];

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "no-admin",
        quantifier: Quantifier::Cannot,
        // An action of a service nobody names, on a resource nobody names: only `*`-style
        // grants (Action "*", NotAction, "*:*") reach it.
        constraint: r#"action == "tarskiprobe:TarskiProbeAction" and resource == "arn:aws:tarskiprobe:us-east-1:999900000001:probe/tarski""#,
        resource_policies: false,
        description: "must not allow every action on every resource (an action and a resource no policy names are allowed)",
    },
    Builtin {
        name: "no-passrole-wildcard",
        quantifier: Quantifier::Cannot,
        constraint: r#"action == "iam:PassRole" and resource == "arn:aws:iam::999900000001:role/tarski-probe-role""#,
        resource_policies: false,
        description: "must not allow iam:PassRole on any role (a role in an account no policy names can be passed)",
    },
    Builtin {
        name: "no-public-access",
        quantifier: Quantifier::Cannot,
        constraint: "",
        resource_policies: true,
        description: "must not be reachable by an anonymous caller or a principal of an unrelated account without a restricting condition (source VPC, IP, organization, account, ARN)",
    },
];

pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The account of the probes of `no-admin` and `no-passrole-wildcard` when the subject's own
/// account is not known (a policy document on its own): an account no policy names.
pub const PROBE_ACCOUNT: &str = "999900000001";

/// The constraint text of a built-in check.
pub fn constraint_text(b: &Builtin) -> String {
    constraint_in(b, PROBE_ACCOUNT)
}

/// The constraint text of a built-in check whose subject is a principal of `account`: the
/// probes of `no-admin` and `no-passrole-wildcard` are in the caller's own account (a role can
/// only be passed in its own account, IAM user guide, "Grant a user permissions to pass a role
/// to an AWS service"; "every resource" starts with the account's own).
pub fn constraint_in(b: &Builtin, account: &str) -> String {
    if b.name == "no-public-access" {
        let absent: Vec<String> = RESTRICTING_KEYS
            .iter()
            .map(|k| format!("{k} absent"))
            .collect();
        // `sts:GetCallerIdentity` needs no permission (docs/semantics.md) and is a request to
        // no resource: it is not access to the policy's resource.
        format!(
            r#"(principal == "anonymous" or principal == "arn:aws:iam::999900000009:user/tarski-outsider") and not action like "sts:GetCallerIdentity" and {}"#,
            absent.join(" and ")
        )
    } else {
        b.constraint.replace(PROBE_ACCOUNT, account)
    }
}

/// Real actions (Service Authorization Reference, via the catalog) of services few policies
/// name, each with a resource of one of its resource types; `{A}` is the account.
const ADMIN_PROBES: &[(&str, &str)] = &[
    (
        "ssm-contacts:GetContact",
        "arn:aws:ssm-contacts:us-east-1:{A}:contact/tarski-probe",
    ),
    (
        "codeguru-profiler:DescribeProfilingGroup",
        "arn:aws:codeguru-profiler:us-east-1:{A}:profilingGroup/tarski-probe",
    ),
    (
        "braket:GetQuantumTask",
        "arn:aws:braket:us-east-1:{A}:quantum-task/tarski-probe",
    ),
];

/// The `no-admin` probe for a set, in `account`: a real action and resource (readable
/// witnesses) that every statement of the set treats exactly as it treats the built-in
/// stand-in (an action of a service nobody names, `tarskiprobe:TarskiProbeAction`, on
/// `arn:aws:tarskiprobe:us-east-1:ACCOUNT:probe/tarski`): each `Action`/`NotAction` pattern
/// matches both or neither, each `Resource`/`NotResource` pattern (without policy variables)
/// matches both or neither, the service is named nowhere in the set, and the resource is one AWS
/// sends with the action (`semantics::well_typed`). So the question is the same question, and
/// only the witness reads differently. `None`: keep the stand-in.
pub fn admin_probe(set: &crate::policy_set::PolicySet, account: &str) -> Option<(String, String)> {
    use crate::atoms::{action_matches, arn_like};
    let fake_action = "tarskiprobe:tarskiprobeaction";
    let fake_resource = format!("arn:aws:tarskiprobe:us-east-1:{account}:probe/tarski");
    let all = set.all();
    let statements: Vec<&crate::policy::Statement> = all
        .iter()
        .flat_map(|(_, lp)| lp.policy.statements.iter())
        .collect();
    let text = all
        .iter()
        .map(|(_, lp)| format!("{:?}", lp.policy.statements).to_ascii_lowercase())
        .collect::<String>();
    'candidate: for (action, tpl) in ADMIN_PROBES {
        let resource = tpl.replace("{A}", account);
        let lower = action.to_ascii_lowercase();
        let service = lower.split(':').next().unwrap_or("");
        if crate::semantics::resource_types(action).is_none()
            || !crate::semantics::well_typed(action, &resource)
            || text.contains(service)
        {
            continue;
        }
        for st in &statements {
            for p in &st.action.patterns {
                if action_matches(&p.value.glob, &lower)
                    != action_matches(&p.value.glob, fake_action)
                {
                    continue 'candidate;
                }
            }
            for p in st.resource.iter().flat_map(|r| r.patterns.iter()) {
                let Some(g) = p.value.as_glob(true) else {
                    continue 'candidate;
                };
                if arn_like(&g, &resource) != arn_like(&g, &fake_resource) {
                    continue 'candidate;
                }
            }
        }
        return Some((action.to_string(), resource));
    }
    None
}

/// The constraint of a built-in check for a set, with its probes in `account` and, for
/// `no-admin`, a real action where one means the same question (`admin_probe`).
pub fn constraint_for(b: &Builtin, set: &crate::policy_set::PolicySet, account: &str) -> String {
    if b.name == "no-admin" {
        if let Some((action, resource)) = admin_probe(set, account) {
            return format!(r#"action == "{action}" and resource == "{resource}""#);
        }
    }
    constraint_in(b, account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(stmts: &str) -> crate::policy_set::PolicySet {
        let text = format!(r#"{{"Version": "2012-10-17", "Statement": [{stmts}]}}"#);
        let l = crate::load::load(
            "p.json",
            &text,
            Some(crate::policy::PolicyKind::Identity),
            false,
        );
        assert!(!l.policies.is_empty(), "{text}");
        crate::policy_set::PolicySet {
            identity: l.policies,
            ..Default::default()
        }
    }

    /// The real `no-admin` probe is chosen only where every statement treats it as it treats
    /// the stand-in; else another candidate, or the stand-in.
    #[test]
    fn admin_probe_means_the_same_question() {
        let a = "111122223333";
        let p = |s: &str| admin_probe(&identity(s), a).map(|x| x.0);
        let all = r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#;
        assert_eq!(p(all).as_deref(), Some("ssm-contacts:GetContact"));
        // PowerUserAccess's shape: NotAction on iam, organizations, account.
        assert_eq!(
            p(r#"{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}"#).as_deref(),
            Some("ssm-contacts:GetContact")
        );
        // A pattern that matches the candidate and not the stand-in: the next candidate.
        for named in [
            r#"{"Effect": "Allow", "Action": "*:Get*", "Resource": "*"}"#,
            r#"{"Effect": "Deny", "NotAction": "ssm-contacts:Get*", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ssm-contacts:*"}"#,
            r#"{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:CalledVia": "ssm-contacts.amazonaws.com"}}}"#,
        ] {
            assert_eq!(
                p(named).as_deref(),
                Some("codeguru-profiler:DescribeProfilingGroup"),
                "{named}"
            );
        }
        // Every candidate's service named: the stand-in.
        assert_eq!(
            p(
                r#"{"Effect": "Allow", "Action": ["ssm-contacts:*", "codeguru-profiler:*", "braket:*"], "Resource": "*"}"#
            ),
            None
        );
        // A resource pattern with a policy variable: the stand-in (it cannot be compared).
        assert_eq!(
            p(r#"{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:${aws:username}:*"}"#),
            None
        );
        let (_, r) = admin_probe(&identity(all), a).unwrap();
        assert!(crate::semantics::well_typed("ssm-contacts:GetContact", &r));
        assert!(r.contains(":111122223333:"), "{r}");
    }

    #[test]
    fn every_builtin_constraint_parses() {
        for b in BUILTINS {
            crate::query::parse_expr(&constraint_text(b))
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
    }
}
