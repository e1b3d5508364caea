//! Key-to-key equality without string theory (issue 12).
//!
//! A condition value that is a policy variable and nothing else (`"StringEquals":
//! {"aws:ResourceAccount": "${aws:PrincipalAccount}"}`) says that two request values are
//! equal: the value compared and the variable's key's value (`Template::resolve` substitutes
//! the value literally, so with or without wildcards in the operator it is one string). When
//! the strings involved are otherwise only compared with patterns, no string theory is needed:
//!
//! - the variables linked by such equalities form a *group*; every variable of the group ranges
//!   over the cells of one shared partition (all the group's patterns, and each default value
//!   as a literal pattern), so a pattern atom is a set of cells as usual;
//! - each pair of the group gets a Boolean "equal" (`encode` in the solver crate), which
//!   implies the same cell, is transitive, and respects the size of each cell: a cell with `s`
//!   strings (counted up to the group's size) holds at most `s` distinct values.
//!
//! Exact in both directions: real strings give cells and an equality relation meeting these
//! constraints; and from any cells and relation meeting them, strings are built by giving each
//! class of a cell its own string of the cell (`KeyGroup::values` lists enough of them).
//! A variable also used inside a longer template, compared as a number, date or IP address,
//! with a Bool or IP value domain, or the action or resource, keeps the string encoding.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::atoms::{value_domain, ValueDomain};
use crate::glob::Glob;
use crate::logic::cells::{cells, Cell, CellError, CellProblem};
use crate::logic::ir::{Atom, AtomId, Atoms, StrVar, TemplateMode};
use crate::logic::lower::Slots;
use crate::operator::Base;
use crate::template::{Piece, Template, Var};

/// Larger groups keep the string encoding (the cell-size constraints grow with subsets).
pub const MAX_GROUP: usize = 6;

/// Variables whose values are compared with each other only by equality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGroup {
    /// The members (sorted); each is a `VarKind::Cells` over `cells`.
    pub vars: Vec<StrVar>,
    /// The shared partition.
    pub cells: Vec<Cell>,
    /// For each cell, distinct strings of it: `vars.len()` of them, or all the cell has when
    /// it has fewer (then the length is the cell's size).
    pub values: Vec<Vec<String>>,
    /// The cell of each default value (`${key, 'default'}`): a cell holding only that string.
    pub literals: BTreeMap<String, u32>,
}

/// The variable of a template that is one policy variable and nothing else.
pub fn bare_var(t: &Template) -> Option<&Var> {
    match t.pieces.as_slice() {
        [Piece::Var(v)] => Some(v),
        _ => None,
    }
}

fn key_var(v: &Var) -> StrVar {
    StrVar::Slot(v.key.to_ascii_lowercase(), 0)
}

/// Groups of variables linked by bare-variable equalities in the goal's atoms `ids`, where
/// every member qualifies (see the module comment). `kinds` are the kinds of comparison each
/// variable takes part in (as in `Problem::classify_and_partition`).
pub fn find(
    atoms: &Atoms,
    ids: &[AtomId],
    kinds: &BTreeMap<StrVar, BTreeSet<&'static str>>,
    slots: &Slots,
) -> Vec<Vec<StrVar>> {
    let mut parent: BTreeMap<StrVar, StrVar> = BTreeMap::new();
    fn root(p: &mut BTreeMap<StrVar, StrVar>, v: &StrVar) -> StrVar {
        let mut r = v.clone();
        while let Some(q) = p.get(&r) {
            if *q == r {
                break;
            }
            r = q.clone();
        }
        p.insert(v.clone(), r.clone());
        r
    }
    let mut blocked: BTreeSet<StrVar> = BTreeSet::new();
    for &id in ids {
        let Atom::Template {
            var,
            template,
            mode,
        } = atoms.get(id)
        else {
            continue;
        };
        let fold = *mode == TemplateMode::Cond(Base::StringEqualsIgnoreCase);
        match bare_var(template) {
            Some(v) if !fold => {
                let (a, b) = (var.clone(), key_var(v));
                parent.entry(a.clone()).or_insert_with(|| a.clone());
                parent.entry(b.clone()).or_insert_with(|| b.clone());
                let (ra, rb) = (root(&mut parent, &a), root(&mut parent, &b));
                if ra != rb {
                    parent.insert(ra, rb);
                }
                // A multivalued key read as a policy variable is not supported (problem.rs).
                if let StrVar::Slot(k, _) = &b {
                    if slots.count(k) > 1 {
                        blocked.insert(b.clone());
                    }
                }
            }
            _ => {
                blocked.insert(var.clone());
                for v in template.vars() {
                    blocked.insert(key_var(v));
                }
            }
        }
    }
    for (v, ks) in kinds {
        let other_kind = ks.iter().any(|k| !["template", "string"].contains(k));
        let domain = match v {
            StrVar::Slot(k, _) => value_domain(k) != ValueDomain::Any,
            _ => true,
        };
        if other_kind || domain {
            blocked.insert(v.clone());
        }
    }
    let vars: Vec<StrVar> = parent.keys().cloned().collect();
    let mut groups: BTreeMap<StrVar, Vec<StrVar>> = BTreeMap::new();
    for v in vars {
        let r = root(&mut parent, &v);
        groups.entry(r).or_default().push(v);
    }
    groups
        .into_values()
        .filter(|g| g.len() <= MAX_GROUP && !g.iter().any(|v| blocked.contains(v)))
        .collect()
}

/// The shared partition of a group over `globs` (every pattern of every member, and the
/// defaults as literals), with up to `n` distinct strings per cell: each round asks for the
/// cells again with every string found so far forbidden, so a cell that reappears has another
/// string (`cells` is exact: a signature is returned iff some allowed string has it).
pub fn shared_cells(
    globs: &[Glob],
    defaults: &[String],
    n: usize,
    max_states: usize,
) -> Result<KeyGroup, CellError> {
    let mut all: Vec<Glob> = globs.to_vec();
    all.extend(defaults.iter().map(|d| Glob::literal(d)));
    let problem = |forbid: &[Glob]| {
        cells(&CellProblem {
            globs: &all,
            require: &[],
            forbid,
            prefer: &[],
            filler: 'x',
            max_states,
            unions: &[],
        })
    };
    let mut cs = problem(&[])?;
    // Ordered by witness, so that neighbouring patterns give ranges of cells (see encode).
    cs.sort_by(|a, b| a.witness.cmp(&b.witness));
    let index: HashMap<Vec<u32>, usize> = cs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.matches.clone(), i))
        .collect();
    let mut values: Vec<Vec<String>> = cs.iter().map(|c| vec![c.witness.clone()]).collect();
    let mut forbid: Vec<Glob> = cs.iter().map(|c| Glob::literal(&c.witness)).collect();
    for _ in 1..n {
        let more = problem(&forbid)?;
        if more.is_empty() {
            break;
        }
        for c in more {
            let i = index[&c.matches];
            forbid.push(Glob::literal(&c.witness));
            values[i].push(c.witness);
        }
    }
    let mut literals = BTreeMap::new();
    for d in defaults {
        let sig: Vec<u32> = (0..all.len() as u32)
            .filter(|&i| all[i as usize].matches(d, false))
            .collect();
        if let Some(&i) = index.get(&sig) {
            literals.insert(d.clone(), i as u32);
        }
    }
    Ok(KeyGroup {
        vars: Vec::new(),
        cells: cs,
        values,
        literals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_counted_up_to_the_group_size() {
        // `a` is one string, `b?` (minus `bc`) many, `bc` one, and the rest many.
        let globs = vec![Glob::literal("a"), Glob::wild("b?"), Glob::literal("bc")];
        let g = shared_cells(&globs, &["dflt".to_string()], 3, 10_000).unwrap();
        for (c, vs) in g.cells.iter().zip(&g.values) {
            let distinct: BTreeSet<&String> = vs.iter().collect();
            assert_eq!(distinct.len(), vs.len(), "{vs:?}");
            for v in vs {
                let sig: Vec<u32> = (0..4u32)
                    .filter(|&i| {
                        globs
                            .get(i as usize)
                            .map_or(v == "dflt", |g| g.matches(v, false))
                    })
                    .collect();
                assert_eq!(sig, c.matches, "{v:?} is not in its cell");
            }
            let singleton = c.matches == vec![0] || c.matches == vec![1, 2] || c.matches == vec![3];
            assert_eq!(vs.len(), if singleton { 1 } else { 3 }, "{c:?} {vs:?}");
        }
        assert_eq!(g.cells.len(), 5);
        let d = g.literals["dflt"] as usize;
        assert_eq!(g.values[d], vec!["dflt".to_string()]);
    }

    #[test]
    fn no_patterns_is_one_infinite_cell() {
        let g = shared_cells(&[], &[], 4, 10_000).unwrap();
        assert_eq!(g.cells.len(), 1);
        assert_eq!(g.values[0].len(), 4);
    }
}
