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

/// The constraint text of a built-in check.
pub fn constraint_text(b: &Builtin) -> String {
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
        b.constraint.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_constraint_parses() {
        for b in BUILTINS {
            crate::query::parse_expr(&constraint_text(b))
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
    }
}
