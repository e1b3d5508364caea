//! The logic IR: Boolean formulas over atoms about one request. Atoms are the only places
//! where the request appears; each atom can be decided on a concrete request with the same
//! functions the evaluator uses (`atoms`, `eval::principal_match`, `eval::ConcreteView`), so
//! `formula.eval(request)` and `eval::evaluate` agree by construction (and by a property test).
//!
//! Formulas are built only through `Builder` (the smart constructors), which folds constants,
//! flattens `and`/`or` and removes double negation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::atoms;
use crate::eval::{principal_match, ConcreteView};
use crate::glob::Glob;
use crate::operator::Base;
use crate::policy::{CondValue, PrincipalEntry};
use crate::request::{Caller, Request};
use crate::semantics::{Logic, RequestView};
use crate::template::Template;

/// A string-valued part of the request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrVar {
    /// The action, lower-cased (actions match case-insensitively).
    Action,
    Resource,
    /// Value slot `n` of a context key (key lower-cased).
    Slot(String, u32),
}

/// How a principal entry matched (see `semantics::PrincipalMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalHow {
    Direct,
    Role,
    Account,
}

/// The caller relative to the resource's account (see `semantics::Scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeAtom {
    SameAccount,
    CrossAccount,
    NoAccount,
    Root,
}

/// How a template's resolved text is compared (after substitution).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateMode {
    /// A condition value of this operator family.
    Cond(Base),
    /// A `Resource` pattern.
    Resource,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Atom {
    /// The string matches the glob.
    Like(StrVar, Glob),
    /// The string matches the template once its policy variables are substituted; false when
    /// a variable without default is missing. Couples `var` with the variables' keys.
    Template {
        var: StrVar,
        template: Template,
        mode: TemplateMode,
    },
    /// A numeric, date or IP comparison of a slot's value with a policy value.
    Cmp {
        var: StrVar,
        base: Base,
        value: CondValue,
    },
    /// The context key has at least one value.
    Present(String),
    /// Slot `n` of the key holds a value.
    Member(String, u32),
    Principal(PrincipalEntry, PrincipalHow),
    Scope(ScopeAtom),
}

pub type AtomId = u32;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Formula {
    Const(bool),
    Atom(AtomId),
    Not(Rc<Formula>),
    And(Rc<[Formula]>),
    Or(Rc<[Formula]>),
}

impl Formula {
    pub fn as_const(&self) -> Option<bool> {
        match self {
            Formula::Const(b) => Some(*b),
            _ => None,
        }
    }

    /// Evaluate with a truth value for each atom.
    pub fn eval_with(&self, atom: &mut dyn FnMut(AtomId) -> bool) -> bool {
        match self {
            Formula::Const(b) => *b,
            Formula::Atom(a) => atom(*a),
            Formula::Not(f) => !f.eval_with(atom),
            Formula::And(fs) => fs.iter().all(|f| f.eval_with(atom)),
            Formula::Or(fs) => fs.iter().any(|f| f.eval_with(atom)),
        }
    }

    /// Every atom id occurring in the formula.
    pub fn atoms_into(&self, out: &mut Vec<AtomId>) {
        match self {
            Formula::Const(_) => {}
            Formula::Atom(a) => out.push(*a),
            Formula::Not(f) => f.atoms_into(out),
            Formula::And(fs) | Formula::Or(fs) => fs.iter().for_each(|f| f.atoms_into(out)),
        }
    }

    /// Number of nodes (for reports).
    pub fn size(&self) -> usize {
        match self {
            Formula::Const(_) | Formula::Atom(_) => 1,
            Formula::Not(f) => 1 + f.size(),
            Formula::And(fs) | Formula::Or(fs) => 1 + fs.iter().map(Formula::size).sum::<usize>(),
        }
    }
}

/// Interned atoms.
#[derive(Debug, Default, Clone)]
pub struct Atoms {
    list: Vec<Atom>,
    index: HashMap<Atom, AtomId>,
}

impl Atoms {
    pub fn intern(&mut self, a: Atom) -> AtomId {
        if let Some(id) = self.index.get(&a) {
            return *id;
        }
        let id = AtomId::try_from(self.list.len()).unwrap_or(AtomId::MAX);
        self.list.push(a.clone());
        self.index.insert(a, id);
        id
    }

    pub fn get(&self, id: AtomId) -> &Atom {
        &self.list[id as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (AtomId, &Atom)> {
        self.list.iter().enumerate().map(|(i, a)| (i as AtomId, a))
    }
}

/// The smart constructors, and the `Logic` the semantics are lowered with.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    atoms: RefCell<Atoms>,
}

impl Builder {
    pub fn atom(&self, a: Atom) -> Formula {
        // Atoms that are constant whatever the request fold here.
        if let Atom::Like(_, g) = &a {
            if g.is_universal() {
                return Formula::Const(true);
            }
        }
        Formula::Atom(self.atoms.borrow_mut().intern(a))
    }

    pub fn atoms(&self) -> std::cell::Ref<'_, Atoms> {
        self.atoms.borrow()
    }

    pub fn into_atoms(self) -> Atoms {
        self.atoms.into_inner()
    }

    /// Replace atoms by formulas where `map` has one, and fold.
    pub fn replace(&self, f: &Formula, map: &HashMap<AtomId, Formula>) -> Formula {
        match f {
            Formula::Const(_) => f.clone(),
            Formula::Atom(a) => map.get(a).cloned().unwrap_or_else(|| f.clone()),
            Formula::Not(g) => self.not(self.replace(g, map)),
            Formula::And(fs) => self.and(fs.iter().map(|g| self.replace(g, map)).collect()),
            Formula::Or(fs) => self.or(fs.iter().map(|g| self.replace(g, map)).collect()),
        }
    }

    /// Replace atoms by constants where `value` knows them, and fold.
    pub fn substitute(&self, f: &Formula, value: &dyn Fn(AtomId) -> Option<bool>) -> Formula {
        match f {
            Formula::Const(_) => f.clone(),
            Formula::Atom(a) => value(*a).map_or_else(|| f.clone(), Formula::Const),
            Formula::Not(g) => self.not(self.substitute(g, value)),
            Formula::And(fs) => self.and(fs.iter().map(|g| self.substitute(g, value)).collect()),
            Formula::Or(fs) => self.or(fs.iter().map(|g| self.substitute(g, value)).collect()),
        }
    }
}

impl Logic for Builder {
    type B = Formula;

    fn lit(&self, b: bool) -> Formula {
        Formula::Const(b)
    }

    fn not(&self, b: Formula) -> Formula {
        match b {
            Formula::Const(v) => Formula::Const(!v),
            Formula::Not(inner) => (*inner).clone(),
            other => Formula::Not(Rc::new(other)),
        }
    }

    fn and(&self, v: Vec<Formula>) -> Formula {
        let mut out: Vec<Formula> = Vec::with_capacity(v.len());
        for f in v {
            match f {
                Formula::Const(true) => {}
                Formula::Const(false) => return Formula::Const(false),
                Formula::And(inner) => out.extend(inner.iter().cloned()),
                other => out.push(other),
            }
        }
        dedup(&mut out);
        match out.len() {
            0 => Formula::Const(true),
            1 => out.pop().unwrap_or(Formula::Const(true)),
            _ => Formula::And(out.into()),
        }
    }

    fn or(&self, v: Vec<Formula>) -> Formula {
        let mut out: Vec<Formula> = Vec::with_capacity(v.len());
        for f in v {
            match f {
                Formula::Const(false) => {}
                Formula::Const(true) => return Formula::Const(true),
                Formula::Or(inner) => out.extend(inner.iter().cloned()),
                other => out.push(other),
            }
        }
        dedup(&mut out);
        match out.len() {
            0 => Formula::Const(false),
            1 => out.pop().unwrap_or(Formula::Const(false)),
            _ => Formula::Or(out.into()),
        }
    }
}

/// Drop repeated operands (merges literal alternatives such as the same action listed twice).
fn dedup(v: &mut Vec<Formula>) {
    if v.len() < 2 {
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.retain(|f| seen.insert(f.clone()));
}

/// Decide one atom on a concrete request, with the evaluator's own functions.
pub fn eval_atom(atom: &Atom, req: &Request) -> bool {
    let value = |var: &StrVar| -> Option<String> {
        match var {
            StrVar::Action => Some(req.action.to_lowercase()),
            StrVar::Resource => Some(req.resource.clone()),
            StrVar::Slot(k, n) => req.context.get(k).and_then(|v| v.get(*n as usize)).cloned(),
        }
    };
    match atom {
        Atom::Like(StrVar::Action, g) => atoms::action_matches(g, &req.action),
        Atom::Like(var, g) => value(var).is_some_and(|v| g.matches(&v, false)),
        Atom::Template {
            var,
            template,
            mode,
        } => {
            let Some(v) = value(var) else { return false };
            match template_glob(template, *mode, &|k| req.context.single(k)) {
                Some(g) => g.matches(&v, false),
                None => false,
            }
        }
        Atom::Cmp {
            var,
            base,
            value: pv,
        } => value(var).is_some_and(|v| atoms::compare(*base, pv, None, &v)),
        Atom::Present(k) => req.context.get(k).is_some(),
        Atom::Member(k, n) => req.context.get(k).is_some_and(|v| (*n as usize) < v.len()),
        Atom::Principal(entry, how) => {
            let m = principal_match(entry, &req.principal, &Caller::of(&req.principal));
            match how {
                PrincipalHow::Direct => m.direct,
                PrincipalHow::Role => m.role,
                PrincipalHow::Account => m.account,
            }
        }
        Atom::Scope(s) => {
            let sc = ConcreteView::new(req).scope();
            match s {
                ScopeAtom::SameAccount => sc.same_account,
                ScopeAtom::CrossAccount => sc.cross_account,
                ScopeAtom::NoAccount => sc.no_account,
                ScopeAtom::Root => sc.root,
            }
        }
    }
}

/// The glob a template stands for once its variables are resolved; `None` when a variable
/// without default is missing.
pub fn template_glob(
    t: &Template,
    mode: TemplateMode,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<Glob> {
    match mode {
        TemplateMode::Resource => t.resolve(true, lookup).map(|g| g.arn_segments()),
        TemplateMode::Cond(base) => {
            let g = t.resolve(base.has_wildcards(), lookup)?;
            atoms::string_glob(base, &CondValue::Text(t.clone()), Some(&g))
        }
    }
}

/// Evaluate a formula on a concrete request.
pub fn eval(f: &Formula, atoms: &Atoms, req: &Request) -> bool {
    f.eval_with(&mut |id| eval_atom(atoms.get(id), req))
}
