//! The concrete evaluator: decide one request against a policy set, as AWS does, and explain
//! the decision (which statements allowed or denied, which policy type blocked it).
//!
//! All rules live in `semantics` (combination, conditions, `Not*`) and `atoms` (comparisons);
//! this module only supplies the concrete request view and gathers the explanation.

use crate::atoms;
use crate::operator::Base;
use crate::policy::{ActionPattern, CondValue, Effect, PrincipalEntry};
use crate::policy_set::{PolicySet, Role};
use crate::request::{Caller, CallerKind, Request};
use crate::semantics::{self, Concrete, PrincipalMatch, RequestView, Scope};
use crate::template::Template;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        [
            Decision::Allow,
            Decision::ExplicitDeny,
            Decision::ImplicitDeny,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A statement that applied to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub role: Role,
    pub file: String,
    pub statement: String,
    pub effect: Effect,
    /// 1-based line of the statement.
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct Evaluation {
    pub decision: Decision,
    pub matched: Vec<Matched>,
    /// For an implicit deny: the policy types that did not allow, in evaluation order.
    pub blocked_by: Vec<String>,
}

/// The request as the semantics sees it, decided with plain Booleans.
pub struct ConcreteView<'a> {
    req: &'a Request,
    caller: Caller,
    action: String,
}

impl<'a> ConcreteView<'a> {
    pub fn new(req: &'a Request) -> ConcreteView<'a> {
        ConcreteView {
            req,
            caller: Caller::of(&req.principal),
            action: req.action.to_lowercase(),
        }
    }

    fn lookup(&self, key: &str) -> Option<String> {
        self.req.context.single(key)
    }
}

impl RequestView for ConcreteView<'_> {
    type L = Concrete;

    fn logic(&self) -> &Concrete {
        &Concrete
    }

    fn action_matches(&self, pattern: &ActionPattern) -> bool {
        atoms::action_matches(&pattern.glob, &self.action)
    }

    fn resource_matches(&self, pattern: &Template) -> bool {
        pattern
            .resolve(true, &|k| self.lookup(k))
            .is_some_and(|g| atoms::arn_like(&g, &self.req.resource))
    }

    fn resource_is(&self, glob: &crate::glob::Glob) -> bool {
        glob.matches(&self.req.resource, false)
    }

    fn principal_matches(&self, entry: &PrincipalEntry) -> PrincipalMatch<bool> {
        principal_match(entry, &self.req.principal, &self.caller)
    }

    fn scope(&self) -> Scope<bool> {
        let acct = self.caller.account.clone();
        let none = acct.is_none()
            || matches!(
                self.caller.kind,
                CallerKind::Anonymous | CallerKind::Service
            );
        // A resource AWS owns is reached by the caller's own policies (`semantics::aws_owned`).
        let same = !none
            && (acct == self.req.resource_account()
                || crate::semantics::aws_owned(&self.req.resource));
        Scope {
            same_account: same,
            cross_account: !none && !same,
            no_account: none,
            root: self.caller.kind == CallerKind::Root,
        }
    }

    fn key_present(&self, key: &str) -> bool {
        self.req.context.get(key).is_some()
    }

    fn key_slots(&self, key: &str) -> Vec<(bool, usize)> {
        let n = self.req.context.get(key).map_or(0, <[String]>::len);
        (0..n).map(|i| (true, i)).collect()
    }

    fn compare(&self, key: &str, slot: usize, base: Base, value: &CondValue) -> bool {
        let Some(actual) = self.req.context.get(key).and_then(|v| v.get(slot)) else {
            return false;
        };
        let resolved = match value {
            CondValue::Text(t) => t.resolve(base.has_wildcards(), &|k| self.lookup(k)),
            _ => None,
        };
        atoms::compare(base, value, resolved.as_ref(), actual)
    }
}

/// How one principal entry matches a concrete caller ("IAM JSON policy elements: Principal").
/// Principal ARNs are compared exactly (no wildcards inside them), an account ID or
/// `arn:...:iam::ACCT:root` names the whole account, a role ARN names the role's sessions.
pub fn principal_match(
    entry: &PrincipalEntry,
    principal: &str,
    caller: &Caller,
) -> PrincipalMatch<bool> {
    let none = PrincipalMatch {
        direct: false,
        role: false,
        account: false,
    };
    match entry {
        PrincipalEntry::Any => PrincipalMatch {
            direct: true,
            ..none
        },
        PrincipalEntry::Aws(v) => {
            if let Some(acct) = account_of_principal_entry(v) {
                return PrincipalMatch {
                    // The root user is the account principal itself.
                    direct: v == principal,
                    account: caller.account.as_deref() == Some(acct),
                    ..none
                };
            }
            if v == principal {
                return PrincipalMatch {
                    direct: true,
                    ..none
                };
            }
            if let (Some(role), Some([_, _, "iam", _, acct, res])) =
                (&caller.role_name, crate::value::split_arn(v))
            {
                let name = res.strip_prefix("role/").and_then(|r| r.rsplit('/').next());
                if name == Some(role.as_str()) && caller.account.as_deref() == Some(acct) {
                    return PrincipalMatch { role: true, ..none };
                }
            }
            none
        }
        PrincipalEntry::Service(s)
        | PrincipalEntry::Federated(s)
        | PrincipalEntry::CanonicalUser(s) => PrincipalMatch {
            direct: s == principal,
            ..none
        },
    }
}

/// `123456789012` or `arn:PARTITION:iam::123456789012:root` name an account.
pub fn account_of_principal_entry(v: &str) -> Option<&str> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(v);
    }
    match crate::value::split_arn(v) {
        Some(["arn", _, "iam", "", acct, "root"]) => Some(acct),
        _ => None,
    }
}

/// Decide a request against a policy set.
pub fn evaluate(set: &PolicySet, req: &Request) -> Evaluation {
    let view = ConcreteView::new(req);
    let outcome = semantics::decide_set(&view, set);
    let decision = if outcome.explicit_deny {
        Decision::ExplicitDeny
    } else if outcome.allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    };

    let mut matched = Vec::new();
    for (role, lp) in set.all() {
        for st in &lp.policy.statements {
            let p = semantics::principal_elem(&view, st);
            if semantics::statement_matches(&view, st) && (p.direct || p.role || p.account) {
                matched.push(Matched {
                    role,
                    file: lp.source.name.clone(),
                    statement: st.label(),
                    effect: st.effect,
                    line: lp.source.line_col(st.span.start as usize).0,
                });
            }
        }
    }

    let mut blocked_by = Vec::new();
    if decision == Decision::ImplicitDeny {
        let s = &outcome.steps;
        if !s.rcps_allow {
            blocked_by.push("RCPs (a layer has no applicable Allow)".to_string());
        }
        if !s.scps_allow {
            blocked_by.push("SCPs (a layer has no applicable Allow)".to_string());
        }
        if !s.identity_allows && !s.resource_grants {
            blocked_by
                .push("no identity-based or resource-based policy allows the request".to_string());
        } else {
            if !s.identity_allows {
                blocked_by.push("identity-based policies (no applicable Allow)".to_string());
            }
            if set.resource.is_some() && !s.resource_grants {
                blocked_by.push(
                    "resource-based policy (no applicable Allow for this principal)".to_string(),
                );
            }
        }
        if !s.boundary_allows {
            blocked_by.push("permissions boundary (no applicable Allow)".to_string());
        }
        if !s.session_allows {
            blocked_by.push("session policy (no applicable Allow)".to_string());
        }
        if blocked_by.is_empty() {
            blocked_by.push("the grant does not reach across accounts: both the identity side and the resource-based policy must allow".to_string());
        }
    }
    Evaluation {
        decision,
        matched,
        blocked_by,
    }
}
