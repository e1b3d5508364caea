//! The meaning of a policy set, written once, generic over the logic it is computed in.
//!
//! The concrete evaluator instantiates it with `bool` on one request; the symbolic lowering
//! instantiates it with formulas over request variables. Both therefore share every rule in
//! this file: how condition operators treat missing and multivalued keys, how `Not*` elements
//! negate, and the order in which policy types combine. What differs between the two is only
//! the `RequestView`: how an atom (an action pattern, a comparison of one key value with one
//! policy value) is decided.
//!
//! Sources (IAM User Guide): "Condition operators" (missing keys, `...IfExists`, `Null`,
//! negated operators with several values), "Set operators for multivalued context keys"
//! (`ForAllValues`/`ForAnyValue`), "Creating a condition with multiple keys or values" (values
//! of one key are OR, keys and operators are AND), "How AWS enforcement code logic evaluates
//! requests to allow or deny access" and "Cross-account policy evaluation logic".

use crate::operator::{Base, Qualifier};
use crate::policy::{
    ActionPattern, CondValue, Condition, Effect, Policy, PrincipalEntry, Statement,
};
use crate::template::Template;

/// A Boolean algebra to compute in: `bool` for evaluation, formulas for lowering.
pub trait Logic {
    type B: Clone;
    fn lit(&self, b: bool) -> Self::B;
    fn not(&self, b: Self::B) -> Self::B;
    fn and(&self, v: Vec<Self::B>) -> Self::B;
    fn or(&self, v: Vec<Self::B>) -> Self::B;
}

/// Plain Booleans.
pub struct Concrete;

impl Logic for Concrete {
    type B = bool;
    fn lit(&self, b: bool) -> bool {
        b
    }
    fn not(&self, b: bool) -> bool {
        !b
    }
    fn and(&self, v: Vec<bool>) -> bool {
        v.into_iter().all(|b| b)
    }
    fn or(&self, v: Vec<bool>) -> bool {
        v.into_iter().any(|b| b)
    }
}

/// How a principal entry in a resource-based policy matched the caller. The distinction
/// decides whether boundaries and session policies still limit the grant (same account).
#[derive(Clone, Debug)]
pub struct PrincipalMatch<B> {
    /// Names the caller itself: its user, role session or federated session ARN, a service
    /// principal, or everyone (`*`). Not limited by an implicit deny elsewhere.
    pub direct: B,
    /// Names the role of a role session: limited by boundaries and session policies.
    pub role: B,
    /// Names the caller's account: delegates to the account's identity policies.
    pub account: B,
}

/// Where the caller stands relative to the resource's account. Exactly one holds.
#[derive(Clone, Debug)]
pub struct Scope<B> {
    pub same_account: B,
    pub cross_account: B,
    /// Callers with no account (anonymous, AWS services): only resource policies apply.
    pub no_account: B,
    /// The caller is the account's root user, which has full access within its account
    /// ("How AWS enforcement code logic evaluates requests": "with the exception of the AWS
    /// account root user, which has full access"); SCPs and explicit denies still apply.
    pub root: B,
}

/// Requests with evaluation rules of their own (set by `decide_set`).
#[derive(Clone, Debug)]
pub struct Special<B> {
    /// The resource-based policy must allow: a role's trust policy for `sts:` actions on the
    /// role, a KMS key's key policy. Only when the set has a resource-based policy: without
    /// one the key or trust policy is unknown, and the identity side decides as for other
    /// resources (docs/semantics.md).
    pub resource_must_allow: B,
    /// `sts:GetCallerIdentity` (on `*`) by a caller with credentials: allowed whatever the
    /// policies say.
    pub always_allowed: B,
}

/// The request as seen by the semantics: each method decides one atom.
pub trait RequestView {
    type L: Logic;
    fn logic(&self) -> &Self::L;
    /// Does the action match this (lower-cased) pattern?
    fn action_matches(&self, pattern: &ActionPattern) -> <Self::L as Logic>::B;
    /// Does the resource match this pattern (policy variables resolved from the context)?
    fn resource_matches(&self, pattern: &Template) -> <Self::L as Logic>::B;
    /// Is the resource a string of this exact glob (no ARN wildcard rules applied: the glob
    /// is the semantics' own, e.g. the shape of a role ARN)?
    fn resource_is(&self, glob: &crate::glob::Glob) -> <Self::L as Logic>::B;
    fn principal_matches(&self, entry: &PrincipalEntry) -> PrincipalMatch<<Self::L as Logic>::B>;
    fn scope(&self) -> Scope<<Self::L as Logic>::B>;
    /// Is the context key present (with at least one value)?
    fn key_present(&self, key: &str) -> <Self::L as Logic>::B;
    /// The key's value slots: each is (is this slot a value of the key, slot id). A concrete
    /// request has one slot per value; a symbolic one a bounded number (docs/encoding.md).
    fn key_slots(&self, key: &str) -> Vec<(<Self::L as Logic>::B, usize)>;
    /// Does slot `slot` of `key` satisfy the positive `base` operator against `value`?
    fn compare(
        &self,
        key: &str,
        slot: usize,
        base: Base,
        value: &CondValue,
    ) -> <Self::L as Logic>::B;
}

type B<V> = <<V as RequestView>::L as Logic>::B;

/// One condition (one operator, one key, its values).
pub fn condition<V: RequestView>(v: &V, c: &Condition) -> B<V> {
    let l = v.logic();
    let present = v.key_present(&c.key);
    if c.op.base == Base::Null {
        // `Null: true` holds when the key is absent; several values are OR.
        let vals = c
            .values
            .iter()
            .map(|x| match x.value {
                CondValue::Null(true) => l.not(present.clone()),
                _ => present.clone(),
            })
            .collect();
        return l.or(vals);
    }
    // One value slot against the policy values: OR over the values.
    let slot_matches = |slot: usize| -> B<V> {
        l.or(c
            .values
            .iter()
            .map(|x| v.compare(&c.key, slot, c.op.base, &x.value))
            .collect())
    };
    // Negated operators negate the match of one value against all policy values (NOR).
    let per_slot = |slot: usize| -> B<V> {
        let m = slot_matches(slot);
        if c.op.negated {
            l.not(m)
        } else {
            m
        }
    };
    let slots = v.key_slots(&c.key);
    let result = match c.op.qualifier {
        None => {
            // Unqualified: true when some value of the key matches; negated: when none does
            // (so a missing key makes a positive operator false and a negated one true).
            let any = l.or(slots
                .iter()
                .map(|(member, s)| l.and(vec![member.clone(), slot_matches(*s)]))
                .collect());
            if c.op.negated {
                l.not(any)
            } else {
                any
            }
        }
        // ForAnyValue: at least one value satisfies the operator; false when missing/empty.
        Some(Qualifier::ForAnyValue) => l.or(slots
            .iter()
            .map(|(member, s)| l.and(vec![member.clone(), per_slot(*s)]))
            .collect()),
        // ForAllValues: every value satisfies the operator; true when missing/empty.
        Some(Qualifier::ForAllValues) => l.and(
            slots
                .iter()
                .map(|(member, s)| l.or(vec![l.not(member.clone()), per_slot(*s)]))
                .collect(),
        ),
    };
    if c.op.if_exists {
        // `...IfExists`: when the key is absent the condition holds.
        l.or(vec![l.not(present), result])
    } else {
        result
    }
}

/// The `Condition` block: every condition must hold (AND across operators and keys).
pub fn conditions<V: RequestView>(v: &V, st: &Statement) -> B<V> {
    let l = v.logic();
    l.and(st.conditions.iter().map(|c| condition(v, c)).collect())
}

fn action_elem<V: RequestView>(v: &V, st: &Statement) -> B<V> {
    let l = v.logic();
    let any = l.or(st
        .action
        .patterns
        .iter()
        .map(|p| v.action_matches(&p.value))
        .collect());
    if st.action.negated {
        l.not(any)
    } else {
        any
    }
}

fn resource_elem<V: RequestView>(v: &V, st: &Statement) -> B<V> {
    let l = v.logic();
    let Some(r) = &st.resource else {
        // Omitted in a resource-based policy: the resource it is attached to.
        return l.lit(true);
    };
    let any = l.or(r
        .patterns
        .iter()
        .map(|p| v.resource_matches(&p.value))
        .collect());
    if r.negated {
        l.not(any)
    } else {
        any
    }
}

/// How the statement's `Principal`/`NotPrincipal` matches the caller. Policies without a
/// principal element (identity, boundary, SCP, session) match every caller directly.
pub fn principal_elem<V: RequestView>(v: &V, st: &Statement) -> PrincipalMatch<B<V>> {
    let l = v.logic();
    let Some(p) = &st.principal else {
        return PrincipalMatch {
            direct: l.lit(true),
            role: l.lit(false),
            account: l.lit(false),
        };
    };
    let ms: Vec<_> = p
        .entries
        .iter()
        .map(|e| v.principal_matches(&e.value))
        .collect();
    if p.negated {
        // NotPrincipal: every caller not named. Listing an account does not exempt the
        // account's other principals: the account ARN must be listed beside the exempted
        // principal because AWS checks the account, then the principal ("IAM JSON policy
        // elements: NotPrincipal"). Such a grant names nobody specifically, so it is treated
        // as `*` (direct).
        let named = l.or(ms
            .into_iter()
            .map(|m| l.or(vec![m.direct, m.role]))
            .collect());
        return PrincipalMatch {
            direct: l.not(named),
            role: l.lit(false),
            account: l.lit(false),
        };
    }
    PrincipalMatch {
        direct: l.or(ms.iter().map(|m| m.direct.clone()).collect()),
        role: l.or(ms.iter().map(|m| m.role.clone()).collect()),
        account: l.or(ms.iter().map(|m| m.account.clone()).collect()),
    }
}

/// Whether the statement applies to the request, apart from its principal element.
pub fn statement_matches<V: RequestView>(v: &V, st: &Statement) -> B<V> {
    let l = v.logic();
    l.and(vec![
        action_elem(v, st),
        resource_elem(v, st),
        conditions(v, st),
    ])
}

/// What one policy says about the request.
#[derive(Clone, Debug)]
pub struct PolicyEffect<B> {
    /// Some Deny statement applies.
    pub deny: B,
    /// Some Allow statement applies, by how its principal matched.
    pub allow: PrincipalMatch<B>,
}

impl<B: Clone> PolicyEffect<B> {
    /// Some Allow applies, however the principal matched.
    pub fn allows<L: Logic<B = B>>(&self, l: &L) -> B {
        l.or(vec![
            self.allow.direct.clone(),
            self.allow.role.clone(),
            self.allow.account.clone(),
        ])
    }
}

/// Fold a policy's statements, given each statement's match and principal match.
/// `caller_has_boundary`: "If you use `NotPrincipal` with `Deny`, IAM users and roles that
/// have a permissions boundary are always denied, regardless of the values in `NotPrincipal`"
/// ("IAM JSON policy elements: NotPrincipal" and "Permissions boundaries for IAM entities").
pub fn policy_effect<V: RequestView>(
    v: &V,
    policy: &Policy,
    caller_has_boundary: bool,
) -> PolicyEffect<B<V>> {
    let l = v.logic();
    let mut deny = Vec::new();
    let (mut direct, mut role, mut account) = (Vec::new(), Vec::new(), Vec::new());
    for st in &policy.statements {
        let m = statement_matches(v, st);
        let p = principal_elem(v, st);
        match st.effect {
            Effect::Deny => {
                let not_principal = st.principal.as_ref().is_some_and(|p| p.negated);
                let who = if not_principal && caller_has_boundary {
                    l.lit(true)
                } else {
                    l.or(vec![p.direct, p.role, p.account])
                };
                deny.push(l.and(vec![m, who]));
            }
            Effect::Allow => {
                direct.push(l.and(vec![m.clone(), p.direct]));
                role.push(l.and(vec![m.clone(), p.role]));
                account.push(l.and(vec![m, p.account]));
            }
        }
    }
    PolicyEffect {
        deny: l.or(deny),
        allow: PrincipalMatch {
            direct: l.or(direct),
            role: l.or(role),
            account: l.or(account),
        },
    }
}

/// The effects of every policy in a set, in the set's structure.
#[derive(Clone, Debug)]
pub struct SetEffects<B> {
    pub identity: Vec<PolicyEffect<B>>,
    pub boundary: Option<PolicyEffect<B>>,
    pub scps: Vec<Vec<PolicyEffect<B>>>,
    pub rcps: Vec<Vec<PolicyEffect<B>>>,
    pub session: Option<PolicyEffect<B>>,
    pub resource: Option<PolicyEffect<B>>,
}

/// The final decision, as two Booleans: `allowed` implies `!explicit_deny`.
#[derive(Clone, Debug)]
pub struct Outcome<B> {
    pub explicit_deny: B,
    pub allowed: B,
    /// Which step blocked an implicitly denied request (for explanations).
    pub steps: Steps<B>,
}

#[derive(Clone, Debug)]
pub struct Steps<B> {
    pub scps_allow: B,
    pub rcps_allow: B,
    pub identity_allows: B,
    pub boundary_allows: B,
    pub session_allows: B,
    pub resource_grants: B,
}

/// Combine policy effects in AWS's evaluation order ("How AWS enforcement code logic evaluates
/// requests to allow or deny access"):
/// 1. an explicit Deny in any policy denies;
/// 2. every RCP layer and every SCP layer must allow (each layer: some policy in it allows);
/// 3. same account: the request is allowed if the identity side allows (identity policies,
///    and the boundary and session policy when present), or the resource-based policy names
///    the caller directly, or names its role and the boundary and session policy allow
///    (a grant to the account delegates to the identity side);
/// 4. cross account: both the identity side and the resource-based policy must allow
///    ("Cross-account policy evaluation logic");
/// 5. callers with no account (anonymous, services): only the resource-based policy grants.
pub fn combine<L: Logic>(
    l: &L,
    scope: Scope<L::B>,
    special: Special<L::B>,
    e: &SetEffects<L::B>,
) -> Outcome<L::B> {
    let layers_allow = |layers: &Vec<Vec<PolicyEffect<L::B>>>| {
        l.and(
            layers
                .iter()
                .map(|layer| l.or(layer.iter().map(|p| p.allows(l)).collect()))
                .collect(),
        )
    };
    // SCPs limit the principals of the organization's member accounts ("Service control
    // policies (SCPs)": "SCPs affect only IAM users and roles that are managed by accounts that
    // are part of the organization"): not anonymous callers nor AWS service principals.
    let scp_deny = l.or(e.scps.iter().flatten().map(|p| p.deny.clone()).collect());
    let other_deny = l.or(e
        .identity
        .iter()
        .chain(e.boundary.iter())
        .chain(e.rcps.iter().flatten())
        .chain(e.session.iter())
        .chain(e.resource.iter())
        .map(|p| p.deny.clone())
        .collect());
    let explicit_deny = l.or(vec![
        other_deny,
        l.and(vec![l.not(scope.no_account.clone()), scp_deny]),
    ]);
    let scps_allow = l.or(vec![scope.no_account.clone(), layers_allow(&e.scps)]);
    let rcps_allow = layers_allow(&e.rcps);
    let identity_allows = l.or(e.identity.iter().map(|p| p.allows(l)).collect());
    let boundary_allows = e.boundary.as_ref().map_or(l.lit(true), |p| p.allows(l));
    let session_allows = e.session.as_ref().map_or(l.lit(true), |p| p.allows(l));
    let identity_side = l.or(vec![
        scope.root.clone(),
        l.and(vec![
            identity_allows.clone(),
            boundary_allows.clone(),
            session_allows.clone(),
        ]),
    ]);
    let (res_direct, res_role, res_any) = match &e.resource {
        Some(r) => (r.allow.direct.clone(), r.allow.role.clone(), r.allows(l)),
        None => (l.lit(false), l.lit(false), l.lit(false)),
    };
    // "IAM role trust policies and KMS key policies are exceptions to this logic, because they
    // must explicitly allow access for principals" (Policy evaluation logic, "Policy evaluation
    // for requests within a single account"; AWS KMS Developer Guide, "Key policies": "Without
    // permission from the key policy, IAM policies that allow permissions have no effect"):
    // for those, the identity side counts only where the resource policy names the account.
    let res_account = match &e.resource {
        Some(r) => r.allow.account.clone(),
        None => l.lit(false),
    };
    let identity_same = l.or(vec![
        l.and(vec![
            identity_side.clone(),
            l.not(special.resource_must_allow.clone()),
        ]),
        l.and(vec![identity_side.clone(), res_account]),
    ]);
    let same = l.or(vec![
        identity_same,
        res_direct.clone(),
        l.and(vec![
            res_role,
            boundary_allows.clone(),
            session_allows.clone(),
        ]),
    ]);
    let cross = l.and(vec![identity_side, res_any.clone()]);
    let grant = l.or(vec![
        l.and(vec![scope.same_account, same]),
        l.and(vec![scope.cross_account, cross]),
        l.and(vec![scope.no_account, res_direct]),
    ]);
    let allowed = l.and(vec![
        l.not(explicit_deny.clone()),
        rcps_allow.clone(),
        scps_allow.clone(),
        grant,
    ]);
    // `sts:GetCallerIdentity` (AWS STS API Reference, GetCallerIdentity): "No permissions are
    // required to perform this operation. If an administrator attaches a policy to your
    // identity that explicitly denies access to the sts:GetCallerIdentity action, you can
    // still perform this operation." Callers with credentials only (not anonymous).
    let free = special.always_allowed;
    let explicit_deny = l.and(vec![explicit_deny, l.not(free.clone())]);
    let allowed = l.or(vec![free, allowed]);
    Outcome {
        explicit_deny,
        allowed,
        steps: Steps {
            scps_allow,
            rcps_allow,
            identity_allows,
            boundary_allows,
            session_allows,
            resource_grants: res_any,
        },
    }
}

/// The decision of a whole policy set on the view's request: every policy's effect, then
/// `combine`. The one place where a set's structure meets the semantics.
pub fn decide_set<V: RequestView>(v: &V, set: &crate::policy_set::PolicySet) -> Outcome<B<V>> {
    let has_boundary = set.boundary.is_some();
    let effect = |p: &crate::policy_set::LoadedPolicy| policy_effect(v, &p.policy, has_boundary);
    let effects = SetEffects {
        identity: set.identity.iter().map(effect).collect(),
        boundary: set.boundary.as_ref().map(effect),
        scps: set
            .scps
            .iter()
            .map(|l| l.iter().map(effect).collect())
            .collect(),
        rcps: set
            .rcps
            .iter()
            .map(|l| l.iter().map(effect).collect())
            .collect(),
        session: set.session.as_ref().map(effect),
        resource: set.resource.as_ref().map(effect),
    };
    let l = v.logic();
    let action = |p: &str| {
        v.action_matches(&ActionPattern {
            raw: p.to_string(),
            glob: crate::glob::Glob::wild(p),
        })
    };
    // The shapes of a role ARN and a KMS key ARN, field by field (no `*` crosses a colon).
    let shape = |fields: [&str; 4], rest: &str| {
        use crate::glob::{Glob, Tok};
        let mut g = Glob::literal("arn:");
        for f in fields {
            if f.is_empty() {
                g.0.push(Tok::StarSeg);
            } else if f != "-" {
                g.push_literal(f);
            }
            g.0.push(Tok::Char(':'));
        }
        g.push_literal(rest);
        g.0.push(Tok::Star);
        v.resource_is(&g)
    };
    let scope = v.scope();
    let special = Special {
        resource_must_allow: if set.resource.is_some() {
            l.or(vec![
                // arn:PARTITION:iam::ACCOUNT:role/...
                l.and(vec![action("sts:*"), shape(["", "iam", "-", ""], "role/")]),
                // arn:PARTITION:kms:REGION:ACCOUNT:key/...
                shape(["", "kms", "", ""], "key/"),
            ])
        } else {
            l.lit(false)
        },
        // The request AWS sends for it is on `*` (no resource type, `well_typed`).
        always_allowed: l.and(vec![
            action("sts:getcalleridentity"),
            v.resource_is(&crate::glob::Glob::literal("*")),
            l.not(scope.no_account.clone()),
        ]),
    };
    combine(l, scope, special, &effects)
}

/// The resources AWS sends with one catalog action: the typed request space.
///
/// Service Authorization Reference, "Actions defined by ..." tables: "The Resource types column
/// of the Actions table indicates whether each action supports resource-level permissions. If
/// there is no value for this column, you must specify all resources ("*") ... If the column
/// includes a resource type, then you can specify an ARN of that type in a statement with that
/// action." A request's resource is therefore an ARN of one of the action's resource types, or
/// `*` for an action that declares none. Tarski also admits `*` when none of the action's
/// types is marked required (conservative: more requests, never fewer).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceTypes {
    /// The request may name `*`.
    pub star: bool,
    /// The ARN formats of the action's resource types (`catalog::arn_glob`), sorted, unique.
    pub arns: Vec<crate::glob::Glob>,
}

impl ResourceTypes {
    /// Can a request for the action name this resource?
    pub fn admits(&self, resource: &str) -> bool {
        (self.star && resource == "*") || self.arns.iter().any(|g| of_type(g, resource))
    }
}

struct TypingTable {
    groups: Vec<ResourceTypes>,
    /// Every ARN glob of every group, unique.
    globs: Vec<crate::glob::Glob>,
    /// Lower-cased `service:name` → index in `groups`.
    of_action: std::collections::HashMap<String, u32>,
}

fn typing_table() -> &'static TypingTable {
    static TABLE: std::sync::OnceLock<TypingTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let cat = crate::catalog::catalog();
        let mut index: std::collections::BTreeMap<ResourceTypes, Vec<String>> = Default::default();
        for a in cat.actions() {
            // A resource type without an ARN format leaves the action untyped.
            if let Some(t) = action_types(a) {
                index
                    .entry(t)
                    .or_default()
                    .push(a.full_name().to_lowercase());
            }
        }
        let mut groups = Vec::with_capacity(index.len());
        let mut of_action = std::collections::HashMap::new();
        for (i, (g, actions)) in index.into_iter().enumerate() {
            groups.push(g);
            for a in actions {
                of_action.insert(a, i as u32);
            }
        }
        let mut globs: Vec<crate::glob::Glob> =
            groups.iter().flat_map(|g| g.arns.iter().cloned()).collect();
        globs.sort();
        globs.dedup();
        TypingTable {
            groups,
            globs,
            of_action,
        }
    })
}

/// The typing group of a catalog action (actions with the same `ResourceTypes` share one);
/// `None` for an action the catalog does not know: its resource is untyped.
pub fn typing_group(action: &str) -> Option<u32> {
    typing_table()
        .of_action
        .get(&action.to_lowercase())
        .copied()
}

/// The resource types of a typing group.
pub fn typing_group_types(group: u32) -> &'static ResourceTypes {
    &typing_table().groups[group as usize]
}

/// The resource types of a catalog action; `None` when the catalog does not know it (or one of
/// its resource types has no ARN format): its resource is untyped.
pub fn resource_types(action: &str) -> Option<ResourceTypes> {
    typing_group(action).map(|g| typing_group_types(g).clone())
}

/// Resource types AWS documents for an action outside the Service Authorization Reference's
/// Resource types column, added to the catalog's (the action keeps `*` and the types the
/// column gives): (action, service of the type, type name).
///
/// - `ssmmessages:OpenDataChannel` on an SSM session. The Reference's Amazon Message Gateway
///   Service page lists no resource type for it, yet the Systems Manager User Guide's
///   "Quickstart end user policies for Session Manager" grant it on
///   `arn:aws:ssm:*:*:session/${aws:userid}-*`, and AWS's own managed policies grant it on
///   `arn:aws:ssm:*:*:session/*` (AmazonECSServiceRolePolicy, with
///   `aws:PrincipalAccount` = `${aws:ResourceAccount}`; AmazonEKSConnectorServiceRolePolicy;
///   AWSSystemsManagerJustInTimeAccessTokenPolicy; AmazonSSMAutomationRole v6). With the
///   Reference alone, every such statement matched no request AWS sends, and a question
///   about them was "proved" where AWS allows the request. Admitting both readings keeps
///   every proof sound under each.
const DOCUMENTED_TYPES: &[(&str, &str, &str)] =
    &[("ssmmessages:OpenDataChannel", "ssm", "session")];

/// The ARN formats of the resource types `DOCUMENTED_TYPES` adds to an action.
fn documented_types(action: &str) -> Vec<String> {
    let cat = crate::catalog::catalog();
    DOCUMENTED_TYPES
        .iter()
        .filter(|(a, _, _)| a.eq_ignore_ascii_case(action))
        .filter_map(|(_, svc, name)| {
            cat.service(svc)?
                .resource_types
                .iter()
                .find(|t| t.name == *name)
                .map(|t| t.arn.clone())
        })
        .collect()
}

fn action_types(a: &crate::catalog::Action) -> Option<ResourceTypes> {
    let mut arns = Vec::new();
    for r in &a.resource_types {
        arns.push(crate::catalog::arn_glob(r.arn.as_deref()?));
    }
    for arn in documented_types(&a.full_name()) {
        arns.push(crate::catalog::arn_glob(&arn));
    }
    arns.sort();
    arns.dedup();
    Some(ResourceTypes {
        star: a.resource_types.iter().all(|r| !r.required),
        arns,
    })
}

/// Can AWS send this (action, resource) pair? Always for actions the catalog does not know
/// (future actions: untyped). The one rule behind the symbolic request space
/// (`logic::problem`) and `eval`'s warning.
pub fn well_typed(action: &str, resource: &str) -> bool {
    typing_group(action).is_none_or(|g| typing_group_types(g).admits(resource))
}

/// Why AWS never sends this (action, resource) pair, if so (`tarski eval`'s warning T0501):
/// the action's resource types from the catalog do not include the resource. `None` for
/// well-typed pairs and for actions the catalog does not know.
pub fn ill_typed(action: &str, resource: &str) -> Option<String> {
    let t = resource_types(action)?;
    if t.admits(resource) {
        return None;
    }
    let a = crate::catalog::catalog().lookup(action)?;
    let types: Vec<String> = a
        .resource_types
        .iter()
        .map(|r| {
            format!(
                "{}{} ({})",
                r.name,
                if r.required { "*" } else { "" },
                r.arn.as_deref().unwrap_or("no ARN format")
            )
        })
        .chain(
            documented_types(action)
                .into_iter()
                .map(|arn| format!("{arn} (documented outside the Reference)")),
        )
        .collect();
    let takes = if types.is_empty() {
        "declares no resource type, so it is requested on `*`".to_string()
    } else if t.star {
        format!("takes {} or `*`", types.join(", "))
    } else {
        format!("takes {}", types.join(", "))
    };
    Some(format!(
        "AWS never sends `{}` with the resource `{resource}`: the action {takes} (Service Authorization Reference, Resource types column); the decision is for the request as given",
        a.full_name()
    ))
}

/// How many typing groups the catalog has (`typing_group` returns indices below it).
pub fn typing_group_count() -> u32 {
    typing_table().groups.len() as u32
}

/// Every resource type glob of the catalog (unique).
pub fn typing_globs() -> &'static [crate::glob::Glob] {
    &typing_table().globs
}

/// The account that owns a resource, when its ARN names one: the ARN's account field.
///
/// "Amazon Resource Names (ARNs)", ARN format: `account-id` is "The ID of the AWS account that
/// owns the resource, without the hyphens"; some ARNs omit it (S3 buckets and objects). IAM API
/// reference, `SimulatePrincipalPolicy`, `ResourceOwner`: "An account ID that specifies the
/// owner of any simulated resource that does not identify its owner in the resource ARN.
/// Examples of resource ARNs include an S3 bucket or object." So an ARN with an account field
/// identifies its owner; only for ARNs without one (and `*`) is the owner a separate fact of
/// the request. "AWS global condition context keys", `aws:ResourceAccount`: "the resource
/// owner's AWS account ID". The one rule behind `Request::resource_account`, the cross-account
/// step of `combine` and the symbolic resource account (`logic::problem`, owner rules).
pub fn resource_owner(resource: &str) -> Option<&str> {
    match crate::value::split_arn(resource) {
        Some(["arn", _, _, _, acct, _]) if !acct.is_empty() => Some(acct),
        _ => None,
    }
}

/// The AWS partitions, the first field of every ARN ("Amazon Resource Names (ARNs)";
/// docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The account field of the ARNs of resources AWS itself owns (`aws_owned`).
pub const AWS_OWNER: &str = "aws";

/// A resource AWS itself owns: its ARN's account field is `aws` (AWS managed policies,
/// `arn:aws:iam::aws:policy/...`; `arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub`;
/// `bedrock-websearch` tools, `arn:aws:bedrock-websearch:REGION:aws:tool/...`).
///
/// IAM User Guide, "AWS: Deny access to resources outside your account except AWS managed IAM
/// policies": "A service-managed account outside of your AWS Organizations owns Managed IAM
/// Policies", and the caller's identity policies grant reading them (the example exempts the
/// four IAM actions that read them from a deny on `aws:ResourceAccount`; no resource-based
/// policy is involved, and a customer cannot attach one). So such a request is decided by the
/// caller's own policies, as within its account (`scope` in eval.rs, which the solver's scope
/// atoms evaluate too), and its `aws:ResourceAccount` is an account other than the caller's
/// (`tarski eval` shows the stand-in `aws`; the solver leaves it any account ID). This is
/// authorization only: the service may still refuse the operation (an AWS managed policy
/// cannot be changed).
pub fn aws_owned(resource: &str) -> bool {
    resource_owner(resource) == Some(AWS_OWNER)
}

/// The resource types whose ARN format has an `${Account}` field and of which AWS itself owns
/// resources too (account field `aws`), with the AWS-owned ARN that shows it:
/// - IAM policies: AWS managed policies, `arn:aws:iam::aws:policy/AdministratorAccess` (IAM
///   User Guide, "AWS managed policies"; "AWS: Deny access to resources outside your account
///   except AWS managed IAM policies");
/// - AWS RAM permissions: AWS managed permissions, `arn:aws:ram::aws:permission/...` (AWS RAM
///   User Guide, "Managing permissions": "AWS managed permissions are created and maintained
///   by AWS");
/// - SageMaker hubs and hub contents: the JumpStart public hub,
///   `arn:aws:sagemaker:REGION:aws:hub/SageMakerPublicHub` and `.../aws:hub-content/...`
///   (granted so in AWS managed policies, e.g. `AmazonSageMakerFullAccess`).
///
/// Every other type with an `${Account}` field holds customer accounts' resources only: an
/// ARN of it naming `aws` is no resource AWS sends a request for (`ResourceTypes::admits`).
/// Types whose format names `aws` literally (`arn:${Partition}:eks::aws:cluster-access-policy/...`)
/// are AWS's by their format.
const AWS_OWNABLE_FORMATS: [&str; 5] = [
    "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}",
    "arn:${Partition}:ram::${Account}:permission/${ResourcePath}",
    "arn:${Partition}:ram:${Region}:${Account}:permission/${ResourcePath}",
    "arn:${Partition}:sagemaker:${Region}:${Account}:hub/${HubName}",
    "arn:${Partition}:sagemaker:${Region}:${Account}:hub-content/${HubName}/${HubContentType}/${HubContentName}",
];

/// Can a resource of this type (a `catalog::arn_glob`) be one AWS owns (`aws_owned`)? When its
/// format names `aws` as the account, or it is one of `AWS_OWNABLE_FORMATS`.
pub fn aws_may_own(t: &crate::glob::Glob) -> bool {
    static OWNABLE: std::sync::OnceLock<Vec<crate::glob::Glob>> = std::sync::OnceLock::new();
    names_aws(t)
        || OWNABLE
            .get_or_init(|| {
                AWS_OWNABLE_FORMATS
                    .iter()
                    .map(|f| crate::catalog::arn_glob(f))
                    .collect()
            })
            .contains(t)
}

/// The resource types whose format names `aws` as its account
/// (`arn:${Partition}:eks::aws:cluster-access-policy/...`): only AWS owns resources of them
/// (`logic::domain`, `reads_owner`).
pub fn aws_only_types() -> &'static [crate::glob::Glob] {
    static TYPES: std::sync::OnceLock<Vec<crate::glob::Glob>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| {
        typing_globs()
            .iter()
            .filter(|t| names_aws(t))
            .cloned()
            .collect()
    })
}

/// Does the type's format name `aws` as its account (`arn:${Partition}:eks::aws:...`)?
fn names_aws(t: &crate::glob::Glob) -> bool {
    t.splitn(6, ':')
        .get(4)
        .and_then(crate::glob::Glob::as_literal)
        .is_some_and(|a| a == AWS_OWNER)
}

/// Can a request for this action name a resource AWS owns: one of its types is (`aws_may_own`),
/// or the catalog does not know the action (its resource is untyped)?
pub fn may_name_aws_owned(action: &str) -> bool {
    resource_types(action).is_none_or(|t| t.arns.iter().any(aws_may_own))
}

/// Is `resource` of the resource type `t` (a `catalog::arn_glob`), as AWS names resources?
/// It matches the format, and names `aws` as its account only if AWS owns resources of the
/// type (`aws_may_own`).
pub fn of_type(t: &crate::glob::Glob, resource: &str) -> bool {
    t.matches(resource, false) && (!aws_owned(resource) || aws_may_own(t))
}

/// The value AWS gives `aws:PrincipalType` for a kind of caller ("AWS global condition
/// context keys", `aws:PrincipalType`: `Account` for the root user, `User` for an IAM user,
/// `FederatedUser`, `AssumedRole`, `Anonymous`); `None` where Tarski does not model it (AWS
/// service principals). One rule for the keys' values (`derived_key`).
fn principal_type(kind: crate::request::CallerKind) -> Option<&'static str> {
    use crate::request::CallerKind;
    match kind {
        CallerKind::User => Some("User"),
        CallerKind::RoleSession => Some("AssumedRole"),
        CallerKind::Root => Some("Account"),
        CallerKind::FederatedUser => Some("FederatedUser"),
        CallerKind::Anonymous => Some("Anonymous"),
        _ => None,
    }
}

/// The keys AWS derives from the caller that Tarski ties to the principal (lower case, as the
/// logic names keys). `aws:userid` (an opaque unique ID) and `aws:PrincipalTag/*` stay free.
pub const PRINCIPAL_KEYS: [&str; 4] = [
    "aws:principalaccount",
    "aws:principaltype",
    "aws:username",
    "aws:principalarn",
];

/// What AWS puts in a derived key for one caller (or one class of callers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Derived {
    /// The key is not in the request context.
    Absent,
    /// The key holds exactly this value.
    Is(String),
    /// The key is present and holds one value that matches one of `like` (any value when
    /// empty), is none of `unlike`, and, with `iam_name`, is an IAM name (`is_iam_name`).
    Some {
        like: Vec<crate::glob::Glob>,
        unlike: Vec<String>,
        iam_name: bool,
    },
    /// Absent, or present with a value of the inner kind (a class of callers of several
    /// kinds).
    Maybe(Box<Derived>),
}

/// Which callers a principal stands for: one concrete caller, or (in the solver's finite
/// domain, `logic::domain`) every IAM user / every role session of its account that the
/// question does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerClass<'a> {
    /// This caller exactly (a request, or a principal the question names).
    One,
    /// Any IAM user of the account but the named ones (`named`: every principal the question
    /// names), and any federated user of the account (`GetFederationToken`: a federated user
    /// has the permissions of the IAM user that called it, so the identity policies are the
    /// same; `logic::domain` has no federated user of its own). IAM user names are unique
    /// within an account ("IAM and AWS STS quotas", "IAM name requirements": "Names of users,
    /// groups, roles, and instance profiles must be unique within the account").
    AnyUser { named: &'a [String] },
    /// Any session of a role of the account that the question does not name.
    AnySession,
}

/// Is `s` a name IAM accepts for a user ("IAM and AWS STS quotas", "IAM name requirements":
/// "Names of users, groups, roles, ... must be alphanumeric, including the following common
/// characters: plus (+), equal (=), comma (,), period (.), at (@), underscore (_), and hyphen
/// (-)"; the user name is 1 to 64 characters, IAM API `CreateUser`, `UserName`, pattern
/// `[\w+=,.@-]+`). So an IAM user name never holds `/` or `:`.
pub fn is_iam_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// The characters of an IAM name, besides ASCII letters and digits (`is_iam_name`).
pub const IAM_NAME_PUNCTUATION: &str = "_+=,.@-";

/// The value AWS gives the derived key `key` (lower case, one of `PRINCIPAL_KEYS`) for the
/// caller `principal` ("AWS global condition context keys"), or `None` where Tarski does not
/// model it (the key stays free: more requests, never fewer). The one rule behind the
/// evaluator's check of a request (`derived_key_conflict`), the witnesses' repair
/// (`derived_values`) and the solver's constraints (`logic::problem`, `Problem::derived`):
/// - `aws:PrincipalAccount`: "the account to which the requesting principal belongs"; in every
///   signed request, so absent for anonymous callers. AWS service principals: not modelled.
/// - `aws:PrincipalType`: `Account` (root user), `User` (IAM user), `FederatedUser`,
///   `AssumedRole`, `Anonymous`.
/// - `aws:username`: "the requester's user name"; "always included in the request context for
///   IAM users. Anonymous requests and requests that are made using the AWS account root user
///   or IAM roles do not include this key" (nor federated users).
/// - `aws:PrincipalArn`: the IAM user's ARN; for a role session "the ARN of the role", not the
///   session's (`arn:aws:iam::ACCOUNT:role/PATH/NAME`, the path not being part of the session
///   ARN); `arn:aws:iam::ACCOUNT:root` for the root user; the federated user's ARN; absent for
///   anonymous callers.
pub fn derived_key(key: &str, principal: &str, class: CallerClass) -> Option<Derived> {
    use crate::glob::Glob;
    use crate::request::{Caller, CallerKind};
    let c = Caller::of(principal);
    let signed = matches!(
        c.kind,
        CallerKind::User | CallerKind::RoleSession | CallerKind::Root | CallerKind::FederatedUser
    );
    match key {
        "aws:principalaccount" => match (c.kind, &c.account) {
            (CallerKind::Anonymous, _) => Some(Derived::Absent),
            (_, Some(a)) if signed => Some(Derived::Is(a.clone())),
            _ => None,
        },
        "aws:principaltype" => match (c.kind, class) {
            (CallerKind::User, CallerClass::AnyUser { .. }) => Some(Derived::Some {
                like: vec![Glob::literal("User"), Glob::literal("FederatedUser")],
                unlike: Vec::new(),
                iam_name: false,
            }),
            _ => principal_type(c.kind).map(|t| Derived::Is(t.to_string())),
        },
        "aws:username" => match (c.kind, class) {
            (CallerKind::User, CallerClass::AnyUser { named }) => {
                let acct = c.account.as_deref();
                let unlike = named
                    .iter()
                    .filter(|n| {
                        let o = Caller::of(n);
                        o.kind == CallerKind::User && o.account.as_deref() == acct
                    })
                    .filter_map(|n| n.rsplit('/').next().map(str::to_string))
                    .collect();
                // Absent for the federated users of the class.
                Some(Derived::Maybe(Box::new(Derived::Some {
                    like: Vec::new(),
                    unlike,
                    iam_name: true,
                })))
            }
            (CallerKind::User, _) => principal
                .rsplit('/')
                .next()
                .map(|n| Derived::Is(n.to_string())),
            (
                CallerKind::RoleSession
                | CallerKind::Root
                | CallerKind::FederatedUser
                | CallerKind::Anonymous
                | CallerKind::Service,
                _,
            ) => Some(Derived::Absent),
            _ => None,
        },
        "aws:principalarn" => {
            let acct = c.account.clone().unwrap_or_default();
            let part = match crate::value::split_arn(principal) {
                Some([_, p, ..]) => p.to_string(),
                None => "aws".to_string(),
            };
            match (c.kind, class) {
                (CallerKind::Anonymous, _) => Some(Derived::Absent),
                (CallerKind::User, CallerClass::AnyUser { named }) => Some(Derived::Some {
                    like: vec![
                        Glob::wild(&format!("arn:{part}:iam::{acct}:user/*")),
                        Glob::wild(&format!("arn:{part}:sts::{acct}:federated-user/*")),
                    ],
                    unlike: named.to_vec(),
                    iam_name: false,
                }),
                (CallerKind::RoleSession, CallerClass::AnySession) => Some(Derived::Some {
                    like: vec![Glob::wild(&format!("arn:{part}:iam::{acct}:role/*"))],
                    unlike: Vec::new(),
                    iam_name: false,
                }),
                (CallerKind::RoleSession, _) => {
                    let role = c.role_name.clone().unwrap_or_default();
                    Some(Derived::Some {
                        like: vec![
                            Glob::wild(&format!("arn:{part}:iam::{acct}:role/{role}")),
                            Glob::wild(&format!("arn:{part}:iam::{acct}:role/*/{role}")),
                        ],
                        unlike: Vec::new(),
                        iam_name: false,
                    })
                }
                (CallerKind::User | CallerKind::Root | CallerKind::FederatedUser, _) => {
                    Some(Derived::Is(principal.to_string()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The values AWS gives the derived keys of `derived_key_conflict` for this request (`None`:
/// the key is absent), for the keys where one value is determined (`aws:PrincipalArn` of a
/// role session depends on the role's path, and is left out). From `derived_key`.
pub fn derived_values(req: &crate::request::Request) -> Vec<(&'static str, Option<String>)> {
    let names = [
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:username",
        "aws:PrincipalArn",
    ];
    let mut out = Vec::new();
    for (k, name) in PRINCIPAL_KEYS.iter().zip(names) {
        match derived_key(k, &req.principal, CallerClass::One) {
            Some(Derived::Absent) => out.push((name, None)),
            Some(Derived::Is(v)) => out.push((name, Some(v))),
            _ => {}
        }
    }
    out.push(("aws:ResourceAccount", req.resource_account()));
    out
}

/// Why the request's context contradicts the keys AWS derives from its principal and resource,
/// if it does ("AWS global condition context keys", `derived_key`; `aws:ResourceAccount` is the
/// resource's owner, `resource_owner`), or names an IAM user AWS cannot have (`is_iam_name`).
/// The solver ties these keys to the principal (`Problem::derived`), so a witness with such a
/// contradiction is a key left free or a bug caught late; it is a request AWS never sends, so
/// the answer is `unknown`, never `reachable` (`solver::check`).
pub fn derived_key_conflict(req: &crate::request::Request) -> Option<String> {
    use crate::request::{Caller, CallerKind};
    let c = Caller::of(&req.principal);
    // "Amazon Resource Names (ARNs)": the account ID is 12 digits.
    if let Some(a) = &c.account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!(
                "the witness's caller `{}` names no AWS account: an account ID is 12 digits",
                req.principal
            ));
        }
    }
    if c.kind == CallerKind::User {
        let name = req.principal.rsplit('/').next().unwrap_or("");
        if !is_iam_name(name) {
            return Some(format!(
                "the witness's caller `{}` is not an IAM user AWS can have: a user name is 1 to 64 letters, digits and `{IAM_NAME_PUNCTUATION}`",
                req.principal
            ));
        }
    }
    let one = |k: &str| req.context.get(k).map(|v| v.to_vec());
    let bad = |k: &str, v: &[String], want: &str| {
        Some(format!(
            "the witness gives `{k}` = {v:?}, but for the caller `{}` AWS sets it to {want}",
            req.principal
        ))
    };
    for (key, name) in PRINCIPAL_KEYS.iter().zip([
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:username",
        "aws:PrincipalArn",
    ]) {
        let Some(v) = one(name) else { continue };
        let d = match derived_key(key, &req.principal, CallerClass::One) {
            Some(Derived::Maybe(inner)) => Some(*inner),
            d => d,
        };
        match d {
            None | Some(Derived::Maybe(_)) => {}
            Some(Derived::Absent) => {
                return bad(
                    name,
                    &v,
                    "nothing (the key is absent for this kind of caller)",
                )
            }
            Some(Derived::Is(w)) => {
                if v != [w.clone()] {
                    return bad(name, &v, &format!("`{w}`"));
                }
            }
            Some(Derived::Some {
                like,
                unlike,
                iam_name,
            }) => {
                let ok = match v.as_slice() {
                    [x] => {
                        (like.is_empty() || like.iter().any(|g| g.matches(x, false)))
                            && !unlike.contains(x)
                            && (!iam_name || is_iam_name(x))
                    }
                    _ => false,
                };
                if !ok {
                    let shape = like
                        .iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    return bad(name, &v, &format!("one value of the form {shape}"));
                }
            }
        }
    }
    if let Some(v) = one("aws:ResourceAccount") {
        if let Some(owner) = req.resource_account() {
            if v != [owner.clone()] {
                return bad(
                    "aws:ResourceAccount",
                    &v,
                    &format!("`{owner}` (the resource's owner)"),
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod derived_tests {
    /// The formats of the resource types AWS owns some resources of are the catalog's
    /// (a typo would silently drop AWS managed policies from the typed space).
    #[test]
    fn aws_ownable_formats_are_catalog_formats() {
        let all = typing_globs();
        for f in AWS_OWNABLE_FORMATS {
            let g = crate::catalog::arn_glob(f);
            assert!(all.contains(&g), "{f}");
            assert!(aws_may_own(&g), "{f}");
        }
        let policy = "arn:aws:iam::aws:policy/AdministratorAccess";
        assert!(well_typed("iam:GetPolicy", policy));
        assert!(!well_typed(
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:aws:q"
        ));
        assert!(well_typed(
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:111122223333:q"
        ));
        assert!(aws_may_own(&crate::catalog::arn_glob(
            "arn:${Partition}:eks::aws:cluster-access-policy/${AccessPolicyName}"
        )));
        assert!(!aws_may_own(&crate::catalog::arn_glob(
            "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}"
        )));
    }

    use super::*;
    use crate::request::Request;

    fn key(k: &str, p: &str) -> Option<Derived> {
        derived_key(k, p, CallerClass::One)
    }

    /// One row per kind of caller ("AWS global condition context keys").
    #[test]
    fn derived_keys_per_kind_of_caller() {
        let user = "arn:aws:iam::111122223333:user/dev/bob";
        assert_eq!(key("aws:username", user), Some(Derived::Is("bob".into())));
        assert_eq!(
            key("aws:principalarn", user),
            Some(Derived::Is(user.into()))
        );
        assert_eq!(
            key("aws:principalaccount", user),
            Some(Derived::Is("111122223333".into()))
        );
        assert_eq!(
            key("aws:principaltype", user),
            Some(Derived::Is("User".into()))
        );
        let session = "arn:aws:sts::111122223333:assumed-role/Admin/s";
        assert_eq!(key("aws:username", session), Some(Derived::Absent));
        assert_eq!(
            key("aws:principaltype", session),
            Some(Derived::Is("AssumedRole".into()))
        );
        match key("aws:principalarn", session) {
            Some(Derived::Some { like, .. }) => {
                assert!(like
                    .iter()
                    .any(|g| g.matches("arn:aws:iam::111122223333:role/Admin", false)));
                assert!(like
                    .iter()
                    .any(|g| g.matches("arn:aws:iam::111122223333:role/ops/Admin", false)));
                assert!(!like
                    .iter()
                    .any(|g| g.matches("arn:aws:iam::111122223333:role/NotAdmin", false)));
                assert!(!like.iter().any(|g| g.matches(session, false)));
            }
            other => panic!("{other:?}"),
        }
        let root = "arn:aws:iam::111122223333:root";
        assert_eq!(
            key("aws:principalarn", root),
            Some(Derived::Is(root.into()))
        );
        assert_eq!(
            key("aws:principaltype", root),
            Some(Derived::Is("Account".into()))
        );
        assert_eq!(key("aws:username", root), Some(Derived::Absent));
        let fed = "arn:aws:sts::111122223333:federated-user/bob";
        assert_eq!(key("aws:username", fed), Some(Derived::Absent));
        assert_eq!(
            key("aws:principaltype", fed),
            Some(Derived::Is("FederatedUser".into()))
        );
        for k in ["aws:username", "aws:principalarn", "aws:principalaccount"] {
            assert_eq!(key(k, "anonymous"), Some(Derived::Absent), "{k}");
        }
        // Not modelled: free.
        assert_eq!(key("aws:userid", user), None);
    }

    /// A generic user of an account: an IAM name, not a named user's, or a federated user.
    #[test]
    fn a_generic_user_is_any_other_user_of_its_account() {
        let named = vec![
            "arn:aws:iam::111122223333:user/bob".to_string(),
            "arn:aws:iam::444455556666:user/eve".to_string(),
        ];
        let class = CallerClass::AnyUser { named: &named };
        let p = "arn:aws:iam::111122223333:user/tarski-user";
        match derived_key("aws:username", p, class) {
            Some(Derived::Maybe(inner)) => match *inner {
                Derived::Some {
                    unlike, iam_name, ..
                } => {
                    assert_eq!(unlike, vec!["bob".to_string()]);
                    assert!(iam_name);
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert!(is_iam_name("bob.smith+ci@corp=1,2_3-4"));
        for bad in ["", "bob/x", "a:b", "b o b", "bob*", &"x".repeat(65)] {
            assert!(!is_iam_name(bad), "{bad}");
        }
    }

    /// The safety net refuses what AWS never sends and accepts what it does.
    #[test]
    fn conflicts_are_what_aws_never_sends() {
        let mut r = Request {
            principal: "arn:aws:sts::111122223333:assumed-role/r/bob".into(),
            action: "s3:GetObject".into(),
            resource: "arn:aws:s3:::b/k".into(),
            ..Request::default()
        };
        r.context.set("aws:username", vec!["bob".into()]);
        assert!(derived_key_conflict(&r).is_some());
        r.context.set("aws:username", Vec::new());
        r.context.set(
            "aws:PrincipalArn",
            vec!["arn:aws:iam::111122223333:role/x/r".into()],
        );
        assert!(derived_key_conflict(&r).is_none());
        r.principal = "arn:aws:iam::111122223333:user/bob/".into();
        r.context.set("aws:PrincipalArn", Vec::new());
        assert!(derived_key_conflict(&r).is_some_and(|w| w.contains("not an IAM user")));
    }
}

#[cfg(test)]
mod typing_tests {
    use super::*;

    /// `resource_types` and `well_typed` read the typing table (one entry per typing group);
    /// the table must say, for every catalog action and in any spelling, what the action's own
    /// catalog entry says (`action_types`), and know no action the catalog does not.
    /// `ssmmessages:OpenDataChannel` takes an SSM session as well as `*` (`DOCUMENTED_TYPES`):
    /// AWS's own policies grant it on session ARNs. Its siblings keep the Reference's `*` only.
    #[test]
    fn open_data_channel_takes_a_session() {
        let session = "arn:aws:ssm:us-east-1:111122223333:session/alice-0123456789abcdef0";
        assert!(well_typed("ssmmessages:OpenDataChannel", session));
        assert!(well_typed("ssmmessages:opendatachannel", session));
        assert!(well_typed("ssmmessages:OpenDataChannel", "*"));
        let doc = "arn:aws:ssm:us-east-1:111122223333:document/d";
        assert!(!well_typed("ssmmessages:OpenDataChannel", doc));
        let why = ill_typed("ssmmessages:OpenDataChannel", doc).unwrap_or_default();
        assert!(why.contains("session/${SessionId}"), "{why}");
        assert!(!why.contains("declares no resource type"), "{why}");
        assert!(!well_typed("ssmmessages:OpenControlChannel", session));
        assert!(well_typed("ssmmessages:OpenControlChannel", "*"));
    }

    #[test]
    fn the_typing_table_is_the_catalog_per_action() {
        let cat = crate::catalog::catalog();
        let mut typed = 0;
        for a in cat.actions() {
            let name = a.full_name();
            let own = action_types(cat.lookup(&name).expect("a catalog action is found"));
            assert_eq!(resource_types(&name), own, "{name}");
            assert_eq!(resource_types(&name.to_uppercase()), own, "{name}");
            typed += own.is_some() as usize;
            if let Some(t) = &own {
                // `well_typed` agrees with the types, on `*`, on a sample of each type and
                // on a resource of another service.
                assert_eq!(well_typed(&name, "*"), t.star, "{name}");
                for g in &t.arns {
                    let sample = crate::logic::problem::type_sample(g);
                    assert_eq!(well_typed(&name, &sample), t.admits(&sample), "{name}");
                }
                assert_eq!(
                    well_typed(&name, "arn:aws:tarski-none:::x"),
                    t.admits("arn:aws:tarski-none:::x")
                );
            } else {
                assert!(well_typed(&name, "arn:aws:tarski-none:::x"), "{name}");
            }
        }
        assert!(typed > 20_000, "only {typed} typed catalog actions");
        assert_eq!(resource_types("tarski:NoSuchAction"), None);
        assert!(well_typed("tarski:NoSuchAction", "arn:aws:s3:::b"));
    }
}
