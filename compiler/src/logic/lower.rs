//! Lowering: a policy set becomes formulas over request atoms. There are no rules here: the
//! semantics in `semantics.rs` are instantiated with the `Builder` logic and a symbolic
//! request view whose methods return atoms instead of deciding them. The lowering therefore
//! agrees with `eval::evaluate` wherever the atoms agree with the evaluator's comparisons,
//! which `ir::eval_atom` guarantees by calling the same functions.

use std::collections::BTreeMap;

use crate::catalog::catalog;
use crate::logic::ir::{Atom, Builder, Formula, PrincipalHow, ScopeAtom, StrVar, TemplateMode};
use crate::operator::{Base, Family};
use crate::policy::{ActionPattern, CondValue, Condition, PrincipalEntry};
use crate::policy_set::PolicySet;
use crate::semantics::{self, Logic, Outcome, PrincipalMatch, RequestView, Scope};
use crate::template::Template;

/// How many value slots each context key gets. A key the catalog documents as multivalued
/// (or that a policy uses with a set operator) gets one slot per condition on it plus one:
/// enough to decide every condition exactly (docs/encoding.md). Other keys carry one value.
#[derive(Clone, Debug, Default)]
pub struct Slots {
    counts: BTreeMap<String, u32>,
}

impl Slots {
    pub fn for_conditions<'a>(conds: impl Iterator<Item = &'a Condition>) -> Slots {
        let mut uses: BTreeMap<String, (u32, bool)> = BTreeMap::new();
        for c in conds {
            let e = uses.entry(c.key.to_ascii_lowercase()).or_insert((0, false));
            e.0 += 1;
            e.1 |= c.op.qualifier.is_some();
        }
        let counts = uses
            .into_iter()
            .map(|(k, (n, qualified))| {
                // The catalog's documented type decides; a set operator on a key it does not
                // know makes the key multivalued.
                let multi = match catalog().condition_key_type(&k) {
                    Some(t) if t != crate::catalog::KeyType::Unknown => t.is_multivalued(),
                    _ => qualified,
                };
                (k, if multi { n + 1 } else { 1 })
            })
            .collect();
        Slots { counts }
    }

    /// Make room for every value a concrete request carries (to evaluate the IR on it).
    pub fn fit(&mut self, req: &crate::request::Request) {
        for (k, v) in req.context.iter() {
            let n = u32::try_from(v.len()).unwrap_or(u32::MAX);
            let e = self.counts.entry(k.to_ascii_lowercase()).or_insert(1);
            *e = (*e).max(n);
        }
    }

    /// Slots for a key (1 for keys no condition mentions: policy variables only need one).
    pub fn count(&self, key: &str) -> u32 {
        self.counts
            .get(&key.to_ascii_lowercase())
            .copied()
            .unwrap_or(1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.counts.iter().map(|(k, n)| (k.as_str(), *n))
    }
}

/// Every condition in a policy set.
pub fn conditions(set: &PolicySet) -> impl Iterator<Item = &Condition> {
    set.all()
        .into_iter()
        .flat_map(|(_, p)| p.policy.statements.iter().flat_map(|s| s.conditions.iter()))
}

/// The symbolic request.
pub struct SymbolicView<'a> {
    pub builder: &'a Builder,
    pub slots: &'a Slots,
}

impl RequestView for SymbolicView<'_> {
    type L = Builder;

    fn logic(&self) -> &Builder {
        self.builder
    }

    fn action_matches(&self, pattern: &ActionPattern) -> Formula {
        self.builder
            .atom(Atom::Like(StrVar::Action, pattern.glob.clone()))
    }

    fn resource_matches(&self, pattern: &Template) -> Formula {
        match pattern.as_glob(true) {
            Some(g) => self
                .builder
                .atom(Atom::Like(StrVar::Resource, g.arn_segments())),
            None => self.builder.atom(Atom::Template {
                var: StrVar::Resource,
                template: pattern.clone(),
                mode: TemplateMode::Resource,
            }),
        }
    }

    fn resource_is(&self, glob: &crate::glob::Glob) -> Formula {
        self.builder
            .atom(Atom::Like(StrVar::Resource, glob.clone()))
    }

    fn principal_matches(&self, entry: &PrincipalEntry) -> PrincipalMatch<Formula> {
        if *entry == PrincipalEntry::Any {
            return PrincipalMatch {
                direct: Formula::Const(true),
                role: Formula::Const(false),
                account: Formula::Const(false),
            };
        }
        let a = |how| self.builder.atom(Atom::Principal(entry.clone(), how));
        PrincipalMatch {
            direct: a(PrincipalHow::Direct),
            role: a(PrincipalHow::Role),
            account: a(PrincipalHow::Account),
        }
    }

    fn scope(&self) -> Scope<Formula> {
        let a = |s| self.builder.atom(Atom::Scope(s));
        Scope {
            same_account: a(ScopeAtom::SameAccount),
            cross_account: a(ScopeAtom::CrossAccount),
            no_account: a(ScopeAtom::NoAccount),
            root: a(ScopeAtom::Root),
        }
    }

    fn key_present(&self, key: &str) -> Formula {
        self.builder.atom(Atom::Present(key.to_ascii_lowercase()))
    }

    fn key_slots(&self, key: &str) -> Vec<(Formula, usize)> {
        let k = key.to_ascii_lowercase();
        (0..self.slots.count(&k))
            .map(|n| (self.builder.atom(Atom::Member(k.clone(), n)), n as usize))
            .collect()
    }

    fn compare(&self, key: &str, slot: usize, base: Base, value: &CondValue) -> Formula {
        let var = StrVar::Slot(key.to_ascii_lowercase(), slot as u32);
        match (base.family(), value) {
            (Family::String | Family::Arn, CondValue::Text(t)) if t.has_vars() => {
                self.builder.atom(Atom::Template {
                    var,
                    template: t.clone(),
                    mode: TemplateMode::Cond(base),
                })
            }
            (Family::String | Family::Arn | Family::Bool | Family::Binary, _) => {
                let resolved = match value {
                    CondValue::Text(t) => t.as_glob(base.has_wildcards()),
                    _ => None,
                };
                match crate::atoms::string_glob(base, value, resolved.as_ref()) {
                    Some(g) => self.builder.atom(Atom::Like(var, g)),
                    None => Formula::Const(false),
                }
            }
            _ => self.builder.atom(Atom::Cmp {
                var,
                base,
                value: value.clone(),
            }),
        }
    }
}

impl SymbolicView<'_> {
    /// The set's decision as formulas.
    pub fn lower_set(&self, set: &PolicySet) -> Outcome<Formula> {
        semantics::decide_set(self, set)
    }

    /// A condition written in a query (`--where`), with the same semantics as in a policy.
    pub fn lower_condition(&self, c: &Condition) -> Formula {
        semantics::condition(self, c)
    }

    pub fn not(&self, f: Formula) -> Formula {
        self.builder.not(f)
    }
}

impl SymbolicView<'_> {
    /// A query expression (`--where`, spec files) as a formula.
    pub fn lower_expr(&self, e: &crate::query::Expr) -> Formula {
        use crate::query::Expr;
        let b = self.builder;
        match e {
            Expr::And(v) => b.and(v.iter().map(|x| self.lower_expr(x)).collect()),
            Expr::Or(v) => b.or(v.iter().map(|x| self.lower_expr(x)).collect()),
            Expr::Not(x) => b.not(self.lower_expr(x)),
            Expr::Action(g) => b.atom(Atom::Like(StrVar::Action, g.clone())),
            Expr::Resource(g) => b.atom(Atom::Like(StrVar::Resource, g.arn_segments())),
            Expr::Principal(p) => {
                let entry = principal_entry(p);
                let how = if crate::eval::account_of_principal_entry(p).is_some() {
                    PrincipalHow::Account
                } else if crate::request::role_session(p, "s").is_some() {
                    // A role never calls: `principal == ROLE` means any session of the role
                    // (docs/semantics.md, "Evaluation order").
                    PrincipalHow::Role
                } else {
                    PrincipalHow::Direct
                };
                b.atom(Atom::Principal(entry, how))
            }
            Expr::Cond(c) => self.lower_condition(c),
        }
    }
}

/// The principal entry a query's `principal == "..."` names.
pub fn principal_entry(p: &str) -> PrincipalEntry {
    if p.ends_with(".amazonaws.com") || p.ends_with(".amazonaws.com.cn") {
        PrincipalEntry::Service(p.to_string())
    } else {
        PrincipalEntry::Aws(p.to_string())
    }
}

/// Decide a concrete request through the logic IR: lower the set (with enough slots for the
/// request's values) and decide every atom on the request. Must equal `eval::evaluate`; tests
/// hold the two together.
pub fn decide_via_ir(set: &PolicySet, req: &crate::request::Request) -> crate::eval::Decision {
    use crate::eval::Decision;
    use crate::logic::ir::eval;
    let mut slots = Slots::for_conditions(conditions(set));
    slots.fit(req);
    let builder = Builder::default();
    let out = SymbolicView {
        builder: &builder,
        slots: &slots,
    }
    .lower_set(set);
    let atoms = builder.atoms();
    if eval(&out.explicit_deny, &atoms, req) {
        Decision::ExplicitDeny
    } else if eval(&out.allowed, &atoms, req) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}
