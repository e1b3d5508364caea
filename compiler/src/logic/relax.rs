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
    (!map.is_empty()).then(|| b.replace(goal, &map))
}

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
}
