//! Finite domains for the principal and the resource's account. Principal entries are
//! compared exactly (no partial wildcards in principals), so callers fall into finitely many
//! classes: each principal named in a policy or query, and for each account mentioned (and two
//! unmentioned ones) a generic user, a generic role session and the root user, plus anonymous
//! and an unnamed service. Every caller behaves, for every principal and scope atom, like one
//! of these candidates (docs/encoding.md), so choosing among them is exact.

use std::collections::BTreeSet;

use crate::eval::account_of_principal_entry;
use crate::logic::ir::{Atom, Atoms};
use crate::policy::PrincipalEntry;
use crate::value::split_arn;

/// Accounts no policy mentions; two, so that "same unmentioned account" and "two different
/// unmentioned accounts" are both represented.
const FRESH_ACCOUNTS: [&str; 2] = ["999900000001", "999900000002"];

/// Is `account` one of the accounts no policy mentions (`FRESH_ACCOUNTS`)?
pub fn is_fresh(account: &str) -> bool {
    FRESH_ACCOUNTS.contains(&account)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domains {
    pub principals: Vec<String>,
    pub resource_accounts: Vec<String>,
}

/// `iam_callers`: the set has identity policies (or a boundary or session policy), so the
/// caller is the IAM user or role session they are attached to: the root user, anonymous
/// callers and services carry no identity policies and are left out.
pub fn domains(atoms: &Atoms, extra: &[&str], iam_callers: bool, typed: bool) -> Domains {
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let mut roles: BTreeSet<(String, String)> = BTreeSet::new();
    let mut note = |v: &str, named: &mut BTreeSet<String>| {
        if let Some(a) = account_of_principal_entry(v) {
            accounts.insert(a.to_string());
        }
        if let Some([_, _, svc, _, acct, res]) = split_arn(v) {
            if !acct.is_empty() {
                accounts.insert(acct.to_string());
            }
            if svc == "iam" {
                if let Some(r) = res.strip_prefix("role/") {
                    let name = r.rsplit('/').next().unwrap_or(r);
                    roles.insert((acct.to_string(), name.to_string()));
                }
            }
        }
        named.insert(v.to_string());
    };
    for (_, a) in atoms.iter() {
        if let Atom::Principal(e, _) = a {
            match e {
                PrincipalEntry::Any => {}
                PrincipalEntry::Aws(v)
                | PrincipalEntry::Service(v)
                | PrincipalEntry::Federated(v)
                | PrincipalEntry::CanonicalUser(v) => note(v, &mut named),
            }
        }
    }
    for p in extra {
        note(p, &mut named);
    }
    // A role ARN names the role's sessions (added below), never a caller itself.
    let mut principals: BTreeSet<String> = named
        .into_iter()
        .filter(|p| account_of_principal_entry(p).is_none())
        .filter(|p| crate::request::role_session(p, "s").is_none())
        .collect();
    for (acct, role) in &roles {
        principals.insert(format!(
            "arn:aws:sts::{acct}:assumed-role/{role}/tarski-session"
        ));
    }
    // `aws` is not an account a caller can be in (`semantics::aws_owned`).
    accounts.remove(crate::semantics::AWS_OWNER);
    let mut all_accounts: Vec<String> = accounts.iter().cloned().collect();
    all_accounts.extend(FRESH_ACCOUNTS.iter().map(|s| s.to_string()));
    for a in &all_accounts {
        principals.insert(format!("arn:aws:iam::{a}:user/tarski-user"));
        principals.insert(format!(
            "arn:aws:sts::{a}:assumed-role/tarski-role/tarski-session"
        ));
        principals.insert(format!("arn:aws:iam::{a}:root"));
    }
    principals.insert("anonymous".to_string());
    principals.insert("tarski.amazonaws.com".to_string());
    if iam_callers {
        use crate::request::{Caller, CallerKind};
        principals.retain(|p| {
            matches!(
                Caller::of(p).kind,
                CallerKind::User | CallerKind::RoleSession | CallerKind::FederatedUser
            )
        });
    }
    // Resources AWS owns (ARN account field `aws`) are their own class: reached by every
    // caller's own policies, as within its account (`semantics::aws_owned`). Needed only where
    // the question can tell them apart from a resource of the caller's account (`reads_owner`).
    if reads_owner(atoms, typed) {
        all_accounts.push(crate::semantics::AWS_OWNER.to_string());
    }
    Domains {
        principals: principals.into_iter().collect(),
        resource_accounts: all_accounts,
    }
}

/// Does some atom tell a resource AWS owns from one of the caller's account (`domains`)?
///
/// Otherwise an AWS-owned ARN `x` has a twin `x'`, the same ARN in the caller's account, that
/// every atom judges alike: the scope is "within the caller's account" for both; a pattern
/// blind to the account field (`owner_blind`) matches both or neither; a pattern that reads
/// the field but matches no AWS-owned ARN (`arn:aws:ssm:*::document/X`) is false for `x`, and
/// for `x'` unless it names the caller's account, in which case `x'` with a fresh account is
/// the twin; and in the typed space `x'` is of every type `x` is of (`semantics::of_type`),
/// except the types whose format names `aws` itself. So the class is added only for:
/// `aws:ResourceAccount` read; a resource pattern or template that reads the account field
/// and can match an AWS-owned ARN; in the typed space, a resource pattern that can match a
/// resource of a type only AWS owns (`semantics::aws_only_types`; `*` can).
fn reads_owner(atoms: &Atoms, typed: bool) -> bool {
    use crate::logic::ir::StrVar;
    use crate::logic::problem::{meets, owner_blind, owner_glob, template_tokens};
    const KEY: &str = "aws:resourceaccount";
    let aws = owner_glob(Some(crate::semantics::AWS_OWNER));
    atoms.iter().any(|(_, a)| match a {
        // `${aws:ResourceAccount}` in any template.
        Atom::Template { template, .. }
            if template.vars().any(|v| v.key.eq_ignore_ascii_case(KEY)) =>
        {
            true
        }
        Atom::Like(StrVar::Resource, g) => {
            (!owner_blind(&g.0) && meets(g, &aws))
                || (typed
                    && crate::semantics::aws_only_types()
                        .iter()
                        .any(|t| meets(g, t)))
        }
        Atom::Template {
            var: StrVar::Resource,
            template,
            ..
        } => !owner_blind(&template_tokens(template)),
        Atom::Like(StrVar::Slot(k, _), _)
        | Atom::Template {
            var: StrVar::Slot(k, _),
            ..
        }
        | Atom::Cmp {
            var: StrVar::Slot(k, _),
            ..
        }
        | Atom::Present(k)
        | Atom::Member(k, _) => k == KEY,
        _ => false,
    })
}
