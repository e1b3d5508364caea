//! Policy variables decided without string theory where a proof does not need their values
//! (issue 11, finding 5: `ArnLike arn:aws:iam::*:user/${aws:username}` inside
//! `ArnLike arn:aws:iam::*:user/*` was `unknown` even at 60 s).
//!
//! A template atom `s ~ T[v]` ("`s` matches `T` with the key's value `v` substituted as
//! literal text") implies `s ~ hull(T)`, where `hull(T)` is `T` with every variable replaced by
//! a `*` that may cross colons (a substituted value is literal text of any length and any
//! characters), and implies that each variable without default has a value. Replacing every
//! template atom that occurs only *positively* in a goal by that implication gives a weaker
//! goal (more models, never fewer) made of glob atoms only, which cells decide exactly. So:
//! the relaxed goal unsatisfiable ⇒ the original goal unsatisfiable, a proof; satisfiable ⇒ no
//! conclusion (the caller asks the original goal). Templates under a negation are kept.

use std::collections::{HashMap, HashSet};

use crate::glob::{Glob, Tok};
use crate::logic::ir::{template_glob, Atom, AtomId, Builder, Formula, TemplateMode};
use crate::semantics::Logic;
use crate::template::Template;

/// Stands for a variable's value while the template is turned into a glob (a private-use
/// code point; a template that contains it is not relaxed).
const SENTINEL: char = '\u{10FFFD}';

/// A glob matched by every string that matches `t` under some substitution of its variables
/// (with or without their defaults), compared as `mode` compares.
pub fn template_hull(t: &Template, mode: TemplateMode) -> Option<Glob> {
    if t.to_string().contains(SENTINEL) {
        return None;
    }
    let g = template_glob(t, mode, &|_| Some(SENTINEL.to_string()))?;
    let mut out: Vec<Tok> = Vec::with_capacity(g.0.len());
    for tok in g.0 {
        match tok {
            Tok::Char(SENTINEL) | Tok::Fold(SENTINEL) => {
                // Whether a `*` just before a variable ends its ARN segment depends on the
                // value (empty, or starting with `:`): keep the wider reading.
                if let Some(last @ Tok::StarSeg) = out.last_mut() {
                    *last = Tok::Star;
                }
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star);
                }
            }
            t => out.push(t),
        }
    }
    Some(Glob(out))
}

/// The goal with every template atom that occurs only positively replaced by its hull and
/// the presence of its variables' keys (see the module comment); `None` when no atom was
/// replaced.
pub fn relax_positive_templates(b: &Builder, goal: &Formula) -> Option<Formula> {
    let mut pos: HashSet<AtomId> = HashSet::new();
    let mut neg: HashSet<AtomId> = HashSet::new();
    polarity(goal, false, &mut pos, &mut neg);
    let atoms = b.atoms().clone();
    let mut map: HashMap<AtomId, Formula> = HashMap::new();
    for &id in &pos {
        if neg.contains(&id) {
            continue;
        }
        let Atom::Template {
            var,
            template,
            mode,
        } = atoms.get(id)
        else {
            continue;
        };
        let Some(hull) = template_hull(template, *mode) else {
            continue;
        };
        let mut parts = vec![b.atom(Atom::Like(var.clone(), hull))];
        for v in template.vars().filter(|v| v.default.is_none()) {
            parts.push(b.atom(Atom::Present(v.key.to_ascii_lowercase())));
        }
        map.insert(id, b.and(parts));
    }
    (!map.is_empty()).then(|| b.replace(goal, &map))
}

/// The prefix of the context keys that stand for template atoms in `abstract_templates`:
/// never a real key (AWS keys have a service prefix of their own), and left out of witnesses.
pub const ABSTRACT_KEY_PREFIX: &str = "tarski:template/";

/// The goal with every template atom (in either polarity) replaced by a fresh Boolean `b` with
/// `b ⇒ hull ∧ presence` (the implication of the module comment), except a policy variable
/// alone (`keyeq` decides those exactly without string theory). The fresh Boolean is a
/// pattern atom over a key of its own (`ABSTRACT_KEY_PREFIX`), which no policy reads. Every
/// request gives the fresh Booleans the truth values of their template atoms, so this is an
/// over-approximation in both polarities: unsatisfiable ⇒ the goal is unsatisfiable (a proof);
/// a model is only a candidate, which the caller replays (issue 12: the SageMaker Studio
/// policies, whose resources hold `${aws:PrincipalTag/...}`, time out in string theory).
/// `None` when no atom was replaced.
pub fn abstract_templates(b: &Builder, goal: &Formula) -> Option<Formula> {
    let mut ids: Vec<AtomId> = Vec::new();
    goal.atoms_into(&mut ids);
    ids.sort_unstable();
    ids.dedup();
    let atoms = b.atoms().clone();
    let mut map: HashMap<AtomId, Formula> = HashMap::new();
    for id in ids {
        let Atom::Template {
            var,
            template,
            mode,
        } = atoms.get(id)
        else {
            continue;
        };
        if crate::logic::keyeq::bare_var(template).is_some() {
            continue;
        }
        let fresh = b.atom(Atom::Like(
            crate::logic::ir::StrVar::Slot(format!("{ABSTRACT_KEY_PREFIX}{id}"), 0),
            Glob::literal("true"),
        ));
        let mut implied = Vec::new();
        if let Some(hull) = template_hull(template, *mode) {
            implied.push(b.atom(Atom::Like(var.clone(), hull)));
        }
        for v in template.vars().filter(|v| v.default.is_none()) {
            implied.push(b.atom(Atom::Present(v.key.to_ascii_lowercase())));
        }
        let f = if implied.is_empty() {
            fresh
        } else {
            implied.push(fresh.clone());
            b.and(implied)
        };
        map.insert(id, f);
    }
    if map.is_empty() {
        return None;
    }
    let mut ids: Vec<AtomId> = map.keys().copied().collect();
    ids.sort_unstable();
    let mut parts = vec![b.replace(goal, &map)];
    // Facts every request satisfies (`template_implications`): with them the abstraction
    // stays an over-approximation, and proofs that rest on one template containing another
    // (`${v}/output` inside `${v}/*`) need no string theory.
    for (i, j) in template_implications(&atoms, &ids) {
        parts.push(b.or(vec![b.not(map[&i].clone()), map[&j].clone()]));
    }
    Some(b.and(parts))
}

/// One private-use code point per variable while a template is cut at its variables
/// (`template_pieces`); a template holding one is not compared.
const VAR_BASE: u32 = 0x10FE00;

/// A template atom's glob cut at its variables: the glob pieces between them, and the
/// sequence of variables (each a sentinel token: which key, and whether compared by case).
/// `None` when the cut is not the same for every value: a `*` just before a variable in an
/// ARN comparison ends its segment or not depending on the value (`Glob::arn_segments`).
type Pieces = (Vec<Glob>, Vec<Tok>);

fn template_pieces(t: &Template, mode: TemplateMode, keys: &[String]) -> Option<Pieces> {
    if t.to_string()
        .chars()
        .any(|c| (VAR_BASE..VAR_BASE + 0x100).contains(&(c as u32)))
    {
        return None;
    }
    let sentinel = |k: &str| -> Option<char> {
        let i = keys.iter().position(|x| x.eq_ignore_ascii_case(k))?;
        char::from_u32(VAR_BASE + u32::try_from(i).ok()?)
    };
    let g = template_glob(t, mode, &|k| sentinel(k).map(String::from))?;
    let is_var = |tok: &Tok| match tok {
        Tok::Char(c) | Tok::Fold(c) => (VAR_BASE..VAR_BASE + 0x100).contains(&(*c as u32)),
        _ => false,
    };
    let arn_mode = match mode {
        TemplateMode::Resource => true,
        TemplateMode::Cond(base) => base.family() == crate::operator::Family::Arn,
    };
    let mut pieces = vec![Glob(Vec::new())];
    let mut vars = Vec::new();
    for (i, tok) in g.0.iter().enumerate() {
        if is_var(tok) {
            if arn_mode && i > 0 && matches!(g.0[i - 1], Tok::Star | Tok::StarSeg) {
                return None;
            }
            vars.push(*tok);
            pieces.push(Glob(Vec::new()));
        } else if let Some(last) = pieces.last_mut() {
            last.0.push(*tok);
        }
    }
    Some((pieces, vars))
}

/// Pairs `(i, j)` of template atoms over the same variable such that, for every request,
/// atom `i` holding implies atom `j` holding. Sufficient condition checked here: both hold
/// the same variables (key and default) in the same order, and cut at them (`template_pieces`)
/// each glob piece of `i` is contained in the matching piece of `j`. Then any split of a string
/// that matches `i` (pieces and substituted values, which are literal text and the same in
/// both) is a split for `j`: glob matching is the concatenation of the tokens' languages, and
/// no token's meaning depends on the substituted value (a `*` before a variable in an ARN
/// comparison is left out). An absent key without default makes both atoms false; with a
/// default, both read the same default. Containment of pieces: `cells::realize` finds no
/// string in the one and not the other (an exhaustive search; a search over budget counts as
/// "not contained").
pub fn template_implications(
    atoms: &crate::logic::ir::Atoms,
    ids: &[AtomId],
) -> Vec<(AtomId, AtomId)> {
    use std::collections::BTreeMap;
    type Sig = (crate::logic::ir::StrVar, Vec<(String, Option<String>)>);
    let mut groups: BTreeMap<Sig, Vec<(AtomId, Pieces)>> = BTreeMap::new();
    for &id in ids {
        let Atom::Template {
            var,
            template,
            mode,
        } = atoms.get(id)
        else {
            continue;
        };
        let vars: Vec<(String, Option<String>)> = template
            .vars()
            .map(|v| (v.key.to_ascii_lowercase(), v.default.clone()))
            .collect();
        let mut keys: Vec<String> = vars.iter().map(|(k, _)| k.clone()).collect();
        keys.sort();
        keys.dedup();
        if keys.len() > 0x100 {
            continue;
        }
        if let Some(p) = template_pieces(template, *mode, &keys) {
            groups.entry((var.clone(), vars)).or_default().push((id, p));
        }
    }
    let mut contained: HashMap<(Glob, Glob), bool> = HashMap::new();
    let mut within = |a: &Glob, b: &Glob| -> bool {
        if a == b {
            return true;
        }
        if let Some(l) = a.as_literal() {
            return b.matches(&l, false);
        }
        *contained.entry((a.clone(), b.clone())).or_insert_with(|| {
            matches!(
                crate::logic::cells::realize(
                    &[(a.clone(), true), (b.clone(), false)],
                    &[],
                    &[],
                    PIECE_STATES
                ),
                Ok(None)
            )
        })
    };
    let mut out = Vec::new();
    for members in groups.values() {
        for (i, (pi, vi)) in members {
            for (j, (pj, vj)) in members {
                if i == j || vi != vj || pi.len() != pj.len() {
                    continue;
                }
                if pi.iter().zip(pj).all(|(a, b)| within(a, b)) {
                    out.push((*i, *j));
                }
            }
        }
    }
    out
}

/// Automaton states for one piece containment check (`template_implications`).
const PIECE_STATES: usize = 20_000;

fn polarity(f: &Formula, negated: bool, pos: &mut HashSet<AtomId>, neg: &mut HashSet<AtomId>) {
    match f {
        Formula::Const(_) => {}
        Formula::Atom(a) => {
            if negated {
                neg.insert(*a);
            } else {
                pos.insert(*a);
            }
        }
        Formula::Not(g) => polarity(g, !negated, pos, neg),
        Formula::And(fs) | Formula::Or(fs) => {
            for g in fs.iter() {
                polarity(g, negated, pos, neg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::Base;

    fn hull(t: &str, mode: TemplateMode) -> Glob {
        template_hull(&Template::parse(t, true).0, mode).unwrap()
    }

    #[test]
    fn hull_contains_every_substitution() {
        let arn = TemplateMode::Cond(Base::ArnLike);
        let cases = [
            ("arn:aws:iam::*:user/${aws:username}", arn),
            ("arn:aws:s3:::b/*${aws:username}", TemplateMode::Resource),
            ("arn:aws:s3:::b/*${aws:username}:x", TemplateMode::Resource),
            (
                "home/${aws:username, 'none'}/*",
                TemplateMode::Cond(Base::StringLike),
            ),
            (
                "${aws:username}",
                TemplateMode::Cond(Base::StringEqualsIgnoreCase),
            ),
            ("a*${aws:username}", TemplateMode::Cond(Base::StringEquals)),
        ];
        let values = ["", "bob", "a:b", "*", ":", "x/y", "ÉQUIPE", "a\\b"];
        let texts = [
            "arn:aws:iam::1:user/bob",
            "arn:aws:iam::1:user/a:b",
            "arn:aws:iam::1:user/",
            "arn:aws:s3:::b/",
            "arn:aws:s3:::b/q:x",
            "arn:aws:s3:::b/a:b",
            "arn:aws:s3:::b/::x",
            "home/none/k",
            "home/bob/",
            "BOB",
            "a*bob",
            "a*",
            "a\\b",
        ];
        for (t, mode) in cases {
            let tpl = Template::parse(t, true).0;
            let h = hull(t, mode);
            for v in values {
                let Some(g) = template_glob(&tpl, mode, &|_| Some(v.to_string())) else {
                    continue;
                };
                for s in texts.iter().copied().chain([v]) {
                    if g.matches(s, false) {
                        assert!(h.matches(s, false), "{t} with {v:?}: {s} escapes {h}");
                    }
                }
            }
        }
        // The hull is not everything: the literal parts stay.
        assert!(!hull("arn:aws:iam::*:user/${aws:username}", arn)
            .matches("arn:aws:iam::1:role/x", false));
    }

    fn template_atoms(b: &Builder, list: &[(&str, TemplateMode)]) -> Vec<AtomId> {
        list.iter()
            .map(|(t, mode)| {
                let f = b.atom(Atom::Template {
                    var: crate::logic::ir::StrVar::Resource,
                    template: Template::parse(t, true).0,
                    mode: *mode,
                });
                let mut ids = Vec::new();
                f.atoms_into(&mut ids);
                ids[0]
            })
            .collect()
    }

    /// Every implication `template_implications` claims holds on concrete values and strings
    /// (the evaluator's own matching), and the ones the SageMaker Studio policies need are
    /// found; a `*` just before a variable in an ARN is never used.
    #[test]
    fn template_implications_hold_for_every_value() {
        let arn = TemplateMode::Cond(Base::ArnLike);
        let res = TemplateMode::Resource;
        let like = TemplateMode::Cond(Base::StringLike);
        let list = [
            (
                "arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L}/output",
                res,
            ),
            ("arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L}/*", res),
            ("arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L}", res),
            (
                "arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L}:log-stream:*",
                res,
            ),
            ("arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L}*", res),
            ("arn:aws:logs:*:*:log-group:*${aws:PrincipalTag/L}", res),
            ("arn:aws:logs:*:*:log-group:*/${aws:PrincipalTag/L}/*", res),
            ("arn:aws:logs:*:*:log-group:${aws:PrincipalTag/M}/*", res),
            (
                "arn:aws:logs:*:*:log-group:${aws:PrincipalTag/L, 'd'}/*",
                res,
            ),
            ("arn:aws:ec2:*:*:instance/${ec2:InstanceId}", arn),
            ("*${ec2:InstanceId}", like),
            ("*${ec2:InstanceId}", arn),
        ];
        let b = Builder::default();
        let ids = template_atoms(&b, &list);
        let atoms = b.atoms().clone();
        let found = template_implications(&atoms, &ids);
        let has = |i: usize, j: usize| found.contains(&(ids[i], ids[j]));
        assert!(has(0, 1), "{found:?}");
        assert!(has(1, 4) && !has(4, 1));
        assert!(!has(1, 0));
        assert!(!has(0, 7), "another key");
        assert!(
            !has(8, 1) && !has(1, 8),
            "a default changes the absent case"
        );
        // A `*` before the variable: ARN matching depends on the value; not compared.
        assert!(found.iter().all(|&(i, j)| i != ids[5] && j != ids[5]));
        assert!(found.iter().all(|&(i, j)| i != ids[11] && j != ids[11]));
        // Different operators over the same key: the ARN inside the suffix pattern.
        assert!(has(9, 10));
        let values = [
            "",
            "g",
            "g/output",
            "a:b",
            ":",
            "*",
            "g/x:log-stream:y",
            "i-1",
        ];
        let texts = [
            "arn:aws:logs:us-east-1:1:log-group:g/output",
            "arn:aws:logs:us-east-1:1:log-group:g/x",
            "arn:aws:logs:us-east-1:1:log-group:g",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s",
            "arn:aws:logs:us-east-1:1:log-group:a:b/output",
            "arn:aws:logs:us-east-1:1:log-group::/y",
            "arn:aws:logs:us-east-1:1:log-group:*/output",
            "arn:aws:logs:us-east-1:1:log-group:/",
            "arn:aws:logs:us-east-1:1:log-group:d/x",
            "arn:aws:ec2:us-east-1:1:instance/i-1",
            "xi-1",
        ];
        let mut checked = 0;
        for &(i, j) in &found {
            let (ti, mi) = list[ids.iter().position(|x| *x == i).unwrap()];
            let (tj, mj) = list[ids.iter().position(|x| *x == j).unwrap()];
            let (ti, tj) = (Template::parse(ti, true).0, Template::parse(tj, true).0);
            for v in values {
                for present in [true, false] {
                    let look = |_: &str| present.then(|| v.to_string());
                    let gi = template_glob(&ti, mi, &look);
                    let gj = template_glob(&tj, mj, &look);
                    for s in texts.iter().copied().chain([v]) {
                        if gi.as_ref().is_some_and(|g| g.matches(s, false)) {
                            checked += 1;
                            assert!(
                                gj.as_ref().is_some_and(|g| g.matches(s, false)),
                                "{ti} => {tj} fails on {s} with {v:?}"
                            );
                        }
                    }
                }
            }
        }
        assert!(checked > 10, "the check saw matching strings: {checked}");
    }
}
