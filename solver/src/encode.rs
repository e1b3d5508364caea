//! The only module that states problems for a solver: a `Problem` becomes an SMT-LIB `Script`
//! (`smt`) over finite choices (cells, candidates), exact integers (numbers, dates),
//! bit-vectors (IP addresses), and strings only where policy variables couple them. Every
//! backend (`backend`) reads that script; `decode` reads a model's values back into an
//! `Assignment`.
//!
//! A case the encoder does not expect is an `EncodeError`, which the caller answers `unknown`
//! with its reason: falling back to `false` could turn into an unsound "proved" that no
//! replay would catch (issue 11, finding 7).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use tarski_compiler::atoms;
use tarski_compiler::glob::{Glob, Tok};
use tarski_compiler::logic::cells::{core, realize};
use tarski_compiler::logic::ir::{eval_atom, Atom, AtomId, Formula, StrVar, TemplateMode};
use tarski_compiler::logic::problem::{owner_glob, Owned, Problem, TypedResources, VarKind};
use tarski_compiler::operator::{Base, Family, Ordering};
use tarski_compiler::policy::CondValue;
use tarski_compiler::request::Request;
use tarski_compiler::template::Piece;
use tarski_compiler::value::Decimal;

use crate::assignment::{Assignment, Value};
use crate::smt::{self, and, app, eq, not, or, re_concat, re_lit, sym, Script, Sort, Term, Val};

/// A case the encoder cannot state exactly; the question is answered `unknown` with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("internal: pattern atom over `{0}`, which has neither cells nor a string encoding")]
    LikeOnNonString(String),
    #[error("internal: policy-variable template over `{0}`, which is not a string variable")]
    TemplateOnNonString(String),
    #[error("internal: policy variable `{0}` has no string variable for its value")]
    TemplateValueMissing(String),
    #[error("internal: `{base:?}` comparison of `{var}` with {value}: no exact encoding")]
    Comparison {
        var: String,
        base: Base,
        value: String,
    },
    #[error("internal: slot {1} of key `{0}` was not declared")]
    SlotMissing(String, u32),
    #[error("internal: atom {0} of the goal has no definition")]
    AtomMissing(AtomId),

    #[error(
        "the string {0:?} holds a character beyond U+2FFFF, which SMT-LIB strings cannot hold"
    )]
    Unrepresentable(String),
    #[error("internal: the solver's model gives no value for `{0}`")]
    ModelMissing(String),
    #[error("internal: `{0}` is compared with `{1}`, which is not a policy variable alone")]
    KeyEquality(String, String),
    #[error("internal: the model puts more distinct values in a cell of `{0}` than it holds")]
    CellOverflow(String),
    /// The model's choice of resource patterns is realized by no string; the literals (index
    /// of the tracked pattern, truth value) are a subset no string realizes either. Not an
    /// answer: the caller excludes it (`Encoded::exclude`) and asks again.
    #[error("internal: no resource matches exactly the patterns the model chose")]
    Unrealized(Vec<(usize, bool)>),
    #[error("the resource's pattern combination could not be checked within {0} automaton states")]
    SignatureBudget(usize),
    /// An empty core would exclude every model (`Encoded::exclude` of nothing is `false`) and
    /// turn the question into a proof that rests on the refinement alone, not on the solver.
    #[error(
        "internal: no resource at all meets the resource's required patterns; not taken as a proof"
    )]
    EmptyCore,
}

/// Automaton states for checking one combination of resource patterns (`cells::realize`).
const REALIZE_STATES: usize = 200_000;

/// A request's resource: the literal `*` (an action without resource types) or an ARN, as
/// for the resource's cells (`Problem`) and its string encoding.
fn resource_domain() -> [Glob; 2] {
    [Glob::literal("*"), Glob::wild("arn:*")]
}

/// A resource with too many cells (`VarKind::Signatures`): one Boolean per distinct pattern.
#[derive(Clone, Debug, Default)]
struct SigVar {
    require: Vec<Glob>,
    /// Each tracked pattern and its Boolean ("the resource matches it").
    bools: Vec<(Glob, String)>,
    index: HashMap<Glob, usize>,
}

/// A group of key variables compared by equality (`logic::keyeq`): cell variables with a
/// Boolean per pair saying whether the two values are the same string.
#[derive(Clone, Debug)]
struct EqGroup {
    vars: Vec<StrVar>,
    /// Distinct strings of each cell (`KeyGroup::values`).
    values: Vec<Vec<String>>,
    /// The "equal" constant of each pair `(i, j)`, `i < j`.
    pairs: BTreeMap<(usize, usize), String>,
}

impl EqGroup {
    fn pair(&self, i: usize, j: usize) -> Term {
        if i == j {
            return Term::Bool(true);
        }
        sym(&self.pairs[&(i.min(j), i.max(j))])
    }
}

#[derive(Clone, Debug)]
enum VarTerm {
    Choice(String),
    Number {
        ok: String,
        n: String,
        scale: u32,
    },
    Date {
        ok: String,
        t: String,
    },
    Ip {
        ok: String,
        v6: String,
        a: String,
    },
    Str(String),
    /// `VarKind::Signatures`: the patterns' Booleans are in `Encoded::sig`.
    Sig,
}

pub struct Encoded {
    pub script: Script,
    vars: BTreeMap<StrVar, VarTerm>,
    members: BTreeMap<String, Vec<String>>,
    principal: String,
    resource_account: String,
    atoms: HashMap<AtomId, String>,
    /// Some template was encoded with existential parts (inexact under negation).
    inexact: bool,
    /// Atoms that occur under a negation in the goal.
    negative: HashSet<AtomId>,
    /// Does the script use the theory of strings (policy variables, string fallbacks)?
    strings: bool,
    fresh: usize,
    groups: Vec<EqGroup>,
    sig: Option<SigVar>,
}

/// Collect the atoms that occur negatively in `f` (`neg`: under an odd number of negations).
fn negative_atoms(f: &Formula, neg: bool, out: &mut HashSet<AtomId>) {
    match f {
        Formula::Const(_) => {}
        Formula::Atom(a) => {
            if neg {
                out.insert(*a);
            }
        }
        Formula::Not(g) => negative_atoms(g, !neg, out),
        Formula::And(fs) | Formula::Or(fs) => {
            for g in fs.iter() {
                negative_atoms(g, neg, out);
            }
        }
    }
}

fn num(k: usize) -> Term {
    Term::Int(k as i128)
}

fn any_eq(x: &str, ks: impl Iterator<Item = usize>) -> Term {
    or(ks.map(|k| eq(sym(x), num(k))).collect())
}

/// `x` is one of the (sorted) cells: runs of consecutive cells become ranges, which keeps the
/// encoding of broad patterns (`s3:*` over hundreds of cells) small.
fn in_cells(x: &str, sorted: &[u32]) -> Term {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let lo = sorted[i];
        let mut hi = lo;
        while i + 1 < sorted.len() && sorted[i + 1] == hi + 1 {
            i += 1;
            hi = sorted[i];
        }
        parts.push(if lo == hi {
            eq(sym(x), num(lo as usize))
        } else {
            and(vec![
                app(">=", vec![sym(x), num(lo as usize)]),
                app("<=", vec![sym(x), num(hi as usize)]),
            ])
        });
        i += 1;
    }
    or(parts)
}

fn rel(a: Term, r: Ordering, b: Term) -> Term {
    let f = match r {
        Ordering::Eq => "=",
        Ordering::Lt => "<",
        Ordering::Le => "<=",
        Ordering::Gt => ">",
        Ordering::Ge => ">=",
    };
    app(f, vec![a, b])
}

fn var_name(v: &StrVar) -> String {
    match v {
        StrVar::Action => "action".into(),
        StrVar::Resource => "resource".into(),
        StrVar::Slot(k, n) => format!("{k}#{n}"),
    }
}

/// A symbol SMT-LIB reads as a simple symbol: `prefix_N_text` with the text's other
/// characters replaced (the index keeps names distinct).
fn symbol(prefix: &str, index: usize, text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("{prefix}_{index}_{clean}")
}

/// Check a literal can be written (SMT-LIB strings stop at U+2FFFF).
fn literal(s: &str) -> Result<Term, EncodeError> {
    if s.chars().any(|c| c as u32 > smt::MAX_CHAR) {
        return Err(EncodeError::Unrepresentable(s.to_string()));
    }
    Ok(Term::Str(s.to_string()))
}

fn lit(s: &str) -> Result<Term, EncodeError> {
    Ok(app("str.to_re", vec![literal(s)?]))
}

/// A glob as a regular expression (only for string-theory variables); runs of literal
/// characters become one `str.to_re`.
fn regex(g: &Glob) -> Result<Term, EncodeError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    for t in &g.0 {
        if let Tok::Char(c) = t {
            text.push(*c);
            continue;
        }
        if !text.is_empty() {
            parts.push(lit(&std::mem::take(&mut text))?);
        }
        parts.push(match t {
            Tok::Char(_) => continue,
            Tok::Fold(c) => {
                let lo = c.to_lowercase().to_string();
                let up = c.to_uppercase().to_string();
                if lo == up {
                    lit(&lo)?
                } else {
                    app("re.union", vec![lit(&lo)?, lit(&up)?])
                }
            }
            Tok::One => app("re.allchar", vec![]),
            Tok::OneSeg => app("re.diff", vec![app("re.allchar", vec![]), re_lit(":")]),
            Tok::Star => app("re.all", vec![]),
            Tok::StarSeg => app(
                "re.*",
                vec![app("re.diff", vec![app("re.allchar", vec![]), re_lit(":")])],
            ),
        });
    }
    if !text.is_empty() {
        parts.push(lit(&text)?);
    }
    Ok(re_concat(parts))
}

/// One or more characters of an IAM name (`semantics::is_iam_name`; the length limit is a
/// separate `str.len` constraint).
fn iam_name_re() -> Result<Term, EncodeError> {
    let mut parts = vec![
        app("re.range", vec![literal("a")?, literal("z")?]),
        app("re.range", vec![literal("A")?, literal("Z")?]),
        app("re.range", vec![literal("0")?, literal("9")?]),
    ];
    for c in tarski_compiler::semantics::IAM_NAME_PUNCTUATION.chars() {
        parts.push(lit(&c.to_string())?);
    }
    Ok(app("re.+", vec![app("re.union", parts)]))
}

fn in_re(s: Term, re: Term) -> Term {
    app("str.in_re", vec![s, re])
}

impl Encoded {
    /// Some policy-variable template has a wildcard before a variable: it was encoded with
    /// existential parts, which over-approximate where the template is used negatively. A
    /// model is then only a candidate: one that does not replay is not a bug but "unknown".
    pub fn inexact(&self) -> bool {
        self.inexact
    }

    /// Does the problem use the theory of strings (the queries the portfolio races)?
    pub fn uses_strings(&self) -> bool {
        self.strings
    }

    fn fresh(&mut self, sort: Sort, what: &str) -> Term {
        self.fresh += 1;
        let name = symbol("fresh", self.fresh, what);
        self.script.declare(name, sort)
    }

    /// Declare the variables and side constraints, define every atom the goal uses, and
    /// assert the goal.
    pub fn new(p: &Problem, goal_atoms: &[AtomId]) -> Result<Encoded, EncodeError> {
        let mut script = Script::default();
        let mut vars = BTreeMap::new();
        let mut strings = false;
        let mut sig: Option<SigVar> = None;
        for (i, (v, kind)) in p.vars.iter().enumerate() {
            let name = var_name(v);
            let term = match kind {
                VarKind::Cells(cs) => {
                    let x = symbol("cell", i, &name);
                    script.declare(x.clone(), Sort::Int);
                    script.assert(app(">=", vec![sym(&x), num(0)]));
                    script.assert(app("<", vec![sym(&x), num(cs.len())]));
                    VarTerm::Choice(x)
                }
                VarKind::Numeric { scale } => {
                    let ok = symbol("isnum", i, &name);
                    let n = symbol("num", i, &name);
                    script.declare(ok.clone(), Sort::Bool);
                    script.declare(n.clone(), Sort::Int);
                    VarTerm::Number {
                        ok,
                        n,
                        scale: *scale,
                    }
                }
                VarKind::Date => {
                    let ok = symbol("isdate", i, &name);
                    let t = symbol("date", i, &name);
                    script.declare(ok.clone(), Sort::Bool);
                    script.declare(t.clone(), Sort::Int);
                    // Exactly the instants the evaluator's dates denote (value::in_date_domain):
                    // ISO dates of years 0000-9999 with offsets, or whole epoch seconds
                    // (t = secs * 10^9: linear, no `mod`). Issue 11, finding 2.
                    use tarski_compiler::value as v;
                    let (lo, hi) = v::DATE_EPOCH_SECONDS;
                    let secs = symbol("datesecs", i, &name);
                    script.declare(secs.clone(), Sort::Int);
                    script.assert(or(vec![
                        and(vec![
                            app(">=", vec![sym(&t), Term::Int(v::DATE_ISO_MIN)]),
                            app("<=", vec![sym(&t), Term::Int(v::DATE_ISO_MAX)]),
                        ]),
                        and(vec![
                            app(">=", vec![sym(&secs), Term::Int(i128::from(lo))]),
                            app("<=", vec![sym(&secs), Term::Int(i128::from(hi))]),
                            eq(
                                sym(&t),
                                app("*", vec![sym(&secs), Term::Int(v::DATE_EPOCH_STEP)]),
                            ),
                        ]),
                    ]));
                    VarTerm::Date { ok, t }
                }
                VarKind::Ip => {
                    let ok = symbol("isip", i, &name);
                    let v6 = symbol("v6", i, &name);
                    let a = symbol("ip", i, &name);
                    script.declare(ok.clone(), Sort::Bool);
                    script.declare(v6.clone(), Sort::Bool);
                    script.declare(a.clone(), Sort::BitVec(128));
                    // An IPv4 address lives in the low 32 bits.
                    script.assert(app(
                        "=>",
                        vec![
                            not(sym(&v6)),
                            eq(
                                Term::Extract(127, 32, Box::new(sym(&a))),
                                Term::Bv {
                                    width: 96,
                                    value: 0,
                                },
                            ),
                        ],
                    ));
                    // A key of type IPAddress always holds an address (atoms::value_domain;
                    // issue 11, finding 3).
                    if let StrVar::Slot(k, _) = v {
                        if atoms::value_domain(k) == atoms::ValueDomain::Ip {
                            script.assert(sym(&ok));
                        }
                    }
                    VarTerm::Ip { ok, v6, a }
                }
                VarKind::Signatures { require } => {
                    sig = Some(SigVar {
                        require: require.clone(),
                        ..SigVar::default()
                    });
                    VarTerm::Sig
                }
                VarKind::Strings => {
                    strings = true;
                    let x = symbol("str", i, &name);
                    script.declare(x.clone(), Sort::String);
                    // The same domains the cells use: resources are ARNs or `*` (the resource
                    // of an action with no resource type, e.g. sts:GetCallerIdentity), actions
                    // `service:name`. (`*` was left out here: a resource compared as a string
                    // could not be `*`, and `can` proved GetCallerIdentity unreachable.)
                    match v {
                        StrVar::Resource => script.assert(or(vec![
                            in_re(sym(&x), regex(&Glob::wild("arn:*"))?),
                            in_re(sym(&x), regex(&Glob::literal("*"))?),
                        ])),
                        StrVar::Action => script
                            .assert(in_re(sym(&x), regex(&Glob::wild("?*:?*").arn_segments())?)),
                        StrVar::Slot(..) => {}
                    }
                    VarTerm::Str(x)
                }
            };
            vars.insert(v.clone(), term);
        }
        // Slots: a key is present iff some slot holds a value.
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let atoms = p.builder.atoms();
        let mut keys: Vec<String> = Vec::new();
        for id in goal_atoms {
            match atoms.get(*id) {
                Atom::Present(k) | Atom::Member(k, _) => keys.push(k.clone()),
                Atom::Template { template, .. } => {
                    keys.extend(template.vars().map(|v| v.key.to_ascii_lowercase()))
                }
                _ => {}
            }
        }
        drop(atoms);
        for v in p.vars.keys() {
            if let StrVar::Slot(k, _) = v {
                keys.push(k.clone());
            }
        }
        keys.sort();
        keys.dedup();
        for (i, k) in keys.into_iter().enumerate() {
            let n = p.slots.count(&k);
            let ms: Vec<String> = (0..n)
                .map(|j| {
                    // The slot number goes before the (truncated) key text: names stay distinct.
                    let m = symbol(&format!("member_{i}"), j as usize, &k);
                    script.declare(m.clone(), Sort::Bool);
                    m
                })
                .collect();
            members.insert(k, ms);
        }
        let principal = "principal".to_string();
        script.declare(principal.clone(), Sort::Int);
        script.assert(app(">=", vec![sym(&principal), num(0)]));
        script.assert(app(
            "<",
            vec![sym(&principal), num(p.domains.principals.len().max(1))],
        ));
        let resource_account = "resource_account".to_string();
        script.declare(resource_account.clone(), Sort::Int);
        script.assert(app(">=", vec![sym(&resource_account), num(0)]));
        script.assert(app(
            "<",
            vec![
                sym(&resource_account),
                num(p.domains.resource_accounts.len().max(1)),
            ],
        ));
        let mut enc = Encoded {
            script,
            vars,
            members,
            principal,
            resource_account,
            atoms: HashMap::new(),
            // Left-out owner rules make witnesses candidates (`Problem::owner_relaxed`).
            inexact: p.owner_relaxed,
            negative: HashSet::new(),
            strings,
            fresh: 0,
            groups: Vec::new(),
            sig,
        };
        // The resource's owner is the ARN's account field (issue 10; `Problem::owner`).
        for r in &p.owner {
            let owned = match (&r.resources, enc.vars.get(&StrVar::Resource)) {
                (Owned::All, _) => Term::Bool(true),
                (Owned::Cells(cs), Some(VarTerm::Choice(x))) => in_cells(x, cs),
                (Owned::Globs { yes, no }, Some(VarTerm::Str(x))) => {
                    let mut all = vec![or(yes
                        .iter()
                        .map(|g| Ok(in_re(sym(x), regex(g)?)))
                        .collect::<Result<_, EncodeError>>()?)];
                    for g in no {
                        all.push(not(in_re(sym(x), regex(g)?)));
                    }
                    and(all)
                }
                (Owned::Globs { yes, no }, Some(VarTerm::Sig)) => {
                    let mut all = vec![or(yes.iter().map(|g| enc.sig_bool(g)).collect())];
                    for g in no {
                        all.push(not(enc.sig_bool(g)));
                    }
                    and(all)
                }
                _ => continue,
            };
            let accounts = any_eq(
                &enc.resource_account,
                r.accounts.iter().map(|&i| i as usize),
            );
            enc.script.assert(or(vec![not(owned), accounts]));
        }
        enc.derived(p)?;
        enc.key_groups(p)?;
        negative_atoms(&p.goal, false, &mut enc.negative);
        for id in goal_atoms {
            let t = enc.atom(p, *id)?;
            let name = format!("atom_{id}");
            enc.script.defs.push((name.clone(), t));
            enc.atoms.insert(*id, name);
        }
        let goal = enc.formula(&p.goal)?;
        enc.script.assert(goal);
        Ok(enc)
    }

    /// The keys AWS derives from the caller and the resource's owner (issue 10,
    /// `Problem::derived`): "principal = i implies the key holds AWS's value for i".
    fn derived(&mut self, p: &Problem) -> Result<(), EncodeError> {
        use tarski_compiler::logic::problem::{DerivedValue, DerivedWhen};
        use tarski_compiler::semantics::Derived;
        for r in &p.derived {
            let Some(ms) = self.members.get(&r.key).cloned() else {
                continue;
            };
            let when = match r.when {
                DerivedWhen::Principal(i) => eq(sym(&self.principal), num(i as usize)),
                DerivedWhen::ResourceAccount(j) => eq(sym(&self.resource_account), num(j as usize)),
            };
            let then = match &r.value {
                DerivedValue::Absent => and(ms.iter().map(|m| not(sym(m))).collect()),
                DerivedValue::Value {
                    present,
                    cells,
                    strings,
                } => {
                    let mut all = Vec::new();
                    if *present {
                        all.push(or(ms.iter().map(sym).collect()));
                    }
                    for (slot, m) in ms.iter().enumerate() {
                        let var = StrVar::Slot(r.key.clone(), slot as u32);
                        let holds = match self.vars.get(&var) {
                            Some(VarTerm::Choice(x)) => match cells.get(&(slot as u32)) {
                                Some(cs) => in_cells(x, cs),
                                None => continue,
                            },
                            Some(VarTerm::Str(x)) => {
                                let x = sym(x);
                                match strings {
                                    Derived::Absent => Term::Bool(false),
                                    Derived::Maybe(_) => Term::Bool(true),
                                    Derived::Is(v) => eq(x, literal(v)?),
                                    Derived::Some {
                                        like,
                                        unlike,
                                        iam_name,
                                    } => {
                                        let mut c = Vec::new();
                                        if !like.is_empty() {
                                            c.push(or(like
                                                .iter()
                                                .map(|g| Ok(in_re(x.clone(), regex(g)?)))
                                                .collect::<Result<_, EncodeError>>()?));
                                        }
                                        for u in unlike {
                                            c.push(not(eq(x.clone(), literal(u)?)));
                                        }
                                        if *iam_name {
                                            c.push(in_re(x.clone(), iam_name_re()?));
                                            c.push(app(
                                                "<=",
                                                vec![app("str.len", vec![x.clone()]), num(64)],
                                            ));
                                        }
                                        and(c)
                                    }
                                }
                            }
                            _ => continue,
                        };
                        all.push(app("=>", vec![sym(m), holds]));
                    }
                    and(all)
                }
            };
            self.script.assert(app("=>", vec![when, then]));
        }
        Ok(())
    }

    fn member(&self, k: &str, j: u32) -> Result<Term, EncodeError> {
        self.members
            .get(k)
            .and_then(|m| m.get(j as usize))
            .map(sym)
            .ok_or_else(|| EncodeError::SlotMissing(k.to_string(), j))
    }

    fn present(&self, k: &str) -> Result<Term, EncodeError> {
        // A key with no slots at all cannot hold a value.
        let ms = self
            .members
            .get(k)
            .ok_or_else(|| EncodeError::SlotMissing(k.to_string(), 0))?;
        Ok(or(ms.iter().map(sym).collect()))
    }

    fn atom(&mut self, p: &Problem, id: AtomId) -> Result<Term, EncodeError> {
        let atoms = p.builder.atoms();
        let a = atoms.get(id).clone();
        drop(atoms);
        match &a {
            Atom::Like(v, g) => match self.vars.get(v) {
                Some(VarTerm::Choice(x)) => {
                    let holds = p.atom_cells.get(&id).cloned().unwrap_or_default();
                    Ok(in_cells(x, &holds))
                }
                Some(VarTerm::Str(s)) => Ok(in_re(sym(s), regex(g)?)),
                Some(VarTerm::Sig) => Ok(self.sig_bool(g)),
                _ => Err(EncodeError::LikeOnNonString(var_name(v))),
            },
            Atom::Template {
                var,
                template,
                mode,
            } => {
                if let Some(VarTerm::Choice(x)) = self.vars.get(var).cloned() {
                    return self.key_equality(p, &x, var, template);
                }
                let Some(VarTerm::Str(s)) = self.vars.get(var).cloned() else {
                    return Err(EncodeError::TemplateOnNonString(var_name(var)));
                };
                let negative = self.negative.contains(&id);
                self.template(&s, template, *mode, negative)
            }
            Atom::Cmp { var, base, value } => self.cmp(var, *base, value),
            Atom::Present(k) => self.present(k),
            Atom::Member(k, j) => self.member(k, *j),
            Atom::Principal(..) => {
                let yes = p
                    .domains
                    .principals
                    .iter()
                    .enumerate()
                    .filter(|(_, pr)| {
                        eval_atom(
                            &a,
                            &Request {
                                principal: (*pr).clone(),
                                ..Request::default()
                            },
                        )
                    })
                    .map(|(i, _)| i);
                Ok(any_eq(&self.principal, yes))
            }
            // The typed request space (issue 10): each rule of `Problem::typing` says which
            // resources its action cells take.
            Atom::WellTyped => {
                let Some(VarTerm::Choice(action)) = self.vars.get(&StrVar::Action).cloned() else {
                    return Ok(Term::Bool(true));
                };
                let mut rules = Vec::new();
                for r in &p.typing {
                    let takes = match (&r.resources, self.vars.get(&StrVar::Resource).cloned()) {
                        (TypedResources::Cells(cs), Some(VarTerm::Choice(x))) => in_cells(&x, cs),
                        (TypedResources::Types(t), Some(VarTerm::Str(s))) => {
                            let mut any = Vec::new();
                            // An ARN naming `aws` as its account is of the type only if AWS
                            // owns resources of it (`semantics::of_type`).
                            let aws = owner_glob(Some(tarski_compiler::semantics::AWS_OWNER));
                            for g in &t.arns {
                                let mut of = in_re(sym(&s), regex(g)?);
                                if !tarski_compiler::semantics::aws_may_own(g) {
                                    of = and(vec![of, not(in_re(sym(&s), regex(&aws)?))]);
                                }
                                any.push(of);
                            }
                            if t.star {
                                any.push(in_re(sym(&s), regex(&Glob::literal("*"))?));
                            }
                            or(any)
                        }
                        (TypedResources::Types(t), Some(VarTerm::Sig)) => {
                            let mut any: Vec<Term> =
                                t.arns.iter().map(|g| self.sig_bool(g)).collect();
                            if t.star {
                                any.push(self.sig_bool(&Glob::literal("*")));
                            }
                            or(any)
                        }
                        _ => Term::Bool(true),
                    };
                    rules.push(or(vec![not(in_cells(&action, &r.actions)), takes]));
                }
                Ok(and(rules))
            }
            Atom::Scope(_) => {
                let mut cases = Vec::new();
                for (i, pr) in p.domains.principals.iter().enumerate() {
                    for (j, ra) in p.domains.resource_accounts.iter().enumerate() {
                        // The scope reads the owner; a resource AWS owns is one whose ARN
                        // names `aws` (`semantics::aws_owned`).
                        let req = if ra == tarski_compiler::semantics::AWS_OWNER {
                            Request {
                                principal: pr.clone(),
                                resource: "arn:aws:iam::aws:policy/tarski-example".into(),
                                ..Request::default()
                            }
                        } else {
                            Request {
                                principal: pr.clone(),
                                resource: "arn:aws:s3:::tarski-example-bucket".into(),
                                resource_account: Some(ra.clone()),
                                ..Request::default()
                            }
                        };
                        if eval_atom(&a, &req) {
                            cases.push(and(vec![
                                eq(sym(&self.principal), num(i)),
                                eq(sym(&self.resource_account), num(j)),
                            ]));
                        }
                    }
                }
                Ok(or(cases))
            }
        }
    }

    /// The pair constraints of each key group (`logic::keyeq`): "equal" implies the same
    /// cell and is transitive, and a cell with `s < n` strings holds at most `s` distinct
    /// values (no `s + 1` members in it pairwise unequal).
    fn key_groups(&mut self, p: &Problem) -> Result<(), EncodeError> {
        for (gi, g) in p.key_groups.iter().enumerate() {
            let n = g.vars.len();
            let mut cell = Vec::new();
            for v in &g.vars {
                match self.vars.get(v) {
                    Some(VarTerm::Choice(x)) => cell.push(x.clone()),
                    _ => return Err(EncodeError::TemplateValueMissing(var_name(v))),
                }
            }
            let mut pairs = BTreeMap::new();
            for i in 0..n {
                for j in i + 1..n {
                    let e = format!("eq_{gi}_{i}_{j}");
                    self.script.declare(e.clone(), Sort::Bool);
                    self.script
                        .assert(app("=>", vec![sym(&e), eq(sym(&cell[i]), sym(&cell[j]))]));
                    pairs.insert((i, j), e);
                }
            }
            let eg = EqGroup {
                vars: g.vars.clone(),
                values: g.values.clone(),
                pairs,
            };
            for i in 0..n {
                for j in 0..n {
                    for k in 0..n {
                        if i != j && j != k && i != k && i < k {
                            self.script.assert(app(
                                "=>",
                                vec![and(vec![eg.pair(i, j), eg.pair(j, k)]), eg.pair(i, k)],
                            ));
                        }
                    }
                }
            }
            // Cells by size, for the sizes below the group's size.
            let mut by_size: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
            for (c, vs) in g.values.iter().enumerate() {
                if vs.len() < n {
                    by_size.entry(vs.len()).or_default().push(c as u32);
                }
            }
            for (size, cs) in by_size {
                for subset in subsets(n, size + 1) {
                    let first = subset[0];
                    let mut all = vec![in_cells(&cell[first], &cs)];
                    for (a, &x) in subset.iter().enumerate() {
                        if x != first {
                            all.push(eq(sym(&cell[x]), sym(&cell[first])));
                        }
                        for &y in &subset[a + 1..] {
                            all.push(not(eg.pair(x, y)));
                        }
                    }
                    self.script.assert(not(and(all)));
                }
            }
            self.groups.push(eg);
        }
        Ok(())
    }

    /// `x` (the cell variable of `var`) equals the value of the template's policy variable
    /// (its default when the key is absent; false without one).
    fn key_equality(
        &self,
        p: &Problem,
        x: &str,
        var: &StrVar,
        template: &tarski_compiler::template::Template,
    ) -> Result<Term, EncodeError> {
        let bad = || EncodeError::KeyEquality(var_name(var), template.to_string());
        let v = tarski_compiler::logic::keyeq::bare_var(template).ok_or_else(bad)?;
        let k = v.key.to_ascii_lowercase();
        let other = StrVar::Slot(k.clone(), 0);
        let (gi, g) = self
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.vars.contains(var))
            .ok_or_else(bad)?;
        let i = g.vars.iter().position(|w| w == var).ok_or_else(bad)?;
        let j = g.vars.iter().position(|w| *w == other).ok_or_else(bad)?;
        let same = g.pair(i, j);
        let present = self.member(&k, 0)?;
        Ok(match &v.default {
            None => and(vec![present, same]),
            Some(d) => {
                let c = *p.key_groups[gi].literals.get(d).ok_or_else(bad)?;
                app("ite", vec![present, same, in_cells(x, &[c])])
            }
        })
    }

    /// `s` matches the template with its variables' values substituted; false when a
    /// variable without default is absent (the key has no value, as `Context::single`).
    fn template(
        &mut self,
        s: &str,
        t: &tarski_compiler::template::Template,
        mode: TemplateMode,
        negative: bool,
    ) -> Result<Term, EncodeError> {
        let wild = match mode {
            TemplateMode::Resource => true,
            TemplateMode::Cond(b) => b.has_wildcards(),
        };
        let arn = matches!(mode, TemplateMode::Resource)
            || matches!(mode, TemplateMode::Cond(b) if b.family() == Family::Arn);
        let fold = matches!(mode, TemplateMode::Cond(Base::StringEqualsIgnoreCase));
        // The template as a sequence of glob parts and variable values (slot 0 of the key).
        enum Part {
            Re(Glob),
            Str(Term),
        }
        let mut conds = Vec::new();
        let mut seq: Vec<Part> = Vec::new();
        let finish_glob = |g: Glob| {
            let g = if arn { g.arn_segments() } else { g };
            if fold {
                g.fold_case()
            } else {
                g
            }
        };
        let mut text_glob = Glob::default();
        for piece in &t.pieces {
            match piece {
                Piece::Text(x) if wild => text_glob.push_wild(x),
                Piece::Text(x) => text_glob.push_literal(x),
                Piece::Escaped(c) => text_glob.push_literal(&c.to_string()),
                Piece::Var(v) => {
                    let g = finish_glob(std::mem::take(&mut text_glob));
                    if !g.0.is_empty() {
                        seq.push(Part::Re(g));
                    }
                    let k = v.key.to_ascii_lowercase();
                    let val = match self.vars.get(&StrVar::Slot(k.clone(), 0)) {
                        Some(VarTerm::Str(x)) => sym(x),
                        _ => return Err(EncodeError::TemplateValueMissing(v.key.clone())),
                    };
                    let present = self.member(&k, 0)?;
                    match &v.default {
                        Some(d) => {
                            seq.push(Part::Str(app("ite", vec![present, val, literal(d)?])));
                        }
                        None => {
                            conds.push(present);
                            seq.push(Part::Str(val));
                        }
                    }
                }
            }
        }
        let g = finish_glob(text_glob);
        if !g.0.is_empty() {
            seq.push(Part::Re(g));
        }
        // Where each part starts in `s` is determined when every glob part but a trailing one
        // has a fixed length: then the match is a conjunction over substrings of `s` with no
        // auxiliary variables, exact under negation too (a fresh constant for a part would be
        // existential, and `not (exists x. phi)` is not `not phi`).
        let fixed = |g: &Glob| {
            g.0.iter()
                .all(|t| !matches!(t, Tok::Star | Tok::StarSeg))
                .then_some(g.0.len())
        };
        let n = seq.len();
        let determined = seq
            .iter()
            .enumerate()
            .all(|(i, p)| !matches!(p, Part::Re(g) if i + 1 < n && fixed(g).is_none()));
        if negative && determined {
            let len = app("str.len", vec![sym(s)]);
            let mut pos = Term::Int(0);
            let add = |a: Term, b: Term| match (&a, &b) {
                (Term::Int(0), _) => b,
                _ => app("+", vec![a, b]),
            };
            for (i, part) in seq.iter().enumerate() {
                match part {
                    Part::Re(g) if i + 1 == n => {
                        conds.push(app("<=", vec![pos.clone(), len.clone()]));
                        let rest = app("-", vec![len.clone(), pos.clone()]);
                        conds.push(in_re(
                            app("str.substr", vec![sym(s), pos.clone(), rest]),
                            regex(g)?,
                        ));
                        pos = len.clone();
                    }
                    Part::Re(g) => {
                        let l = num(fixed(g).unwrap_or(0));
                        conds.push(in_re(
                            app("str.substr", vec![sym(s), pos.clone(), l.clone()]),
                            regex(g)?,
                        ));
                        pos = add(pos, l);
                    }
                    Part::Str(v) => {
                        let l = app("str.len", vec![v.clone()]);
                        conds.push(eq(
                            app("str.substr", vec![sym(s), pos.clone(), l.clone()]),
                            v.clone(),
                        ));
                        pos = add(pos, l);
                    }
                }
            }
            conds.push(eq(len, pos));
            return Ok(and(conds));
        }
        // Otherwise split `s` with fresh constants (easier for the string solvers). This is
        // exact where the atom is used positively; under a negation (a wildcard before a
        // variable) it over-approximates (more models, never fewer): proofs stay sound, and a
        // spurious witness is caught by replay and answered `unknown` (`inexact`).
        if negative {
            self.inexact = true;
        }
        let mut pieces: Vec<Term> = Vec::new();
        for (i, part) in seq.into_iter().enumerate() {
            match part {
                Part::Re(g) => {
                    let fresh = self.fresh(Sort::String, &format!("tpl{i}"));
                    conds.push(in_re(fresh.clone(), regex(&g)?));
                    pieces.push(fresh);
                }
                Part::Str(v) => pieces.push(v),
            }
        }
        conds.push(eq(sym(s), smt::str_concat(pieces)));
        Ok(and(conds))
    }

    fn cmp(&self, var: &StrVar, base: Base, value: &CondValue) -> Result<Term, EncodeError> {
        let unexpected = || EncodeError::Comparison {
            var: var_name(var),
            base,
            value: format!("{value:?}"),
        };
        match (self.vars.get(var), value) {
            (Some(VarTerm::Number { ok, n, scale }), CondValue::Number(d)) => {
                let r = base.ordering().ok_or_else(unexpected)?;
                // A numeral of any size: `mantissa * 10^(scale - d.scale)` can pass i128.
                let k = 10i128
                    .checked_pow(scale.saturating_sub(d.scale))
                    .and_then(|f| d.mantissa.checked_mul(f))
                    .map_or_else(|| Term::Num(d.scaled_text(*scale)), Term::Int);
                Ok(and(vec![sym(ok), rel(sym(n), r, k)]))
            }
            (Some(VarTerm::Date { ok, t }), CondValue::Date(d)) => {
                let r = base.ordering().ok_or_else(unexpected)?;
                Ok(and(vec![sym(ok), rel(sym(t), r, Term::Int(*d))]))
            }
            (Some(VarTerm::Ip { ok, v6, a }), CondValue::Ip(c)) => {
                let (is6, bits, width): (bool, u128, u32) = match c.addr {
                    IpAddr::V4(x) => (false, u128::from(u32::from(x)), 32),
                    IpAddr::V6(x) => (true, u128::from(x), 128),
                };
                let fam = if is6 { sym(v6) } else { not(sym(v6)) };
                let prefix = u32::from(c.prefix);
                if prefix > width {
                    return Err(unexpected());
                }
                let net = if prefix == 0 {
                    Term::Bool(true)
                } else {
                    let shift = width - prefix;
                    eq(
                        Term::Extract(width - 1, shift, Box::new(sym(a))),
                        Term::Bv {
                            width: prefix,
                            value: bits >> shift,
                        },
                    )
                };
                Ok(and(vec![sym(ok), fam, net]))
            }
            _ => Err(unexpected()),
        }
    }

    /// The goal as a term over the defined atoms.
    pub fn formula(&self, f: &Formula) -> Result<Term, EncodeError> {
        Ok(match f {
            Formula::Const(b) => Term::Bool(*b),
            Formula::Atom(a) => sym(self.atoms.get(a).ok_or(EncodeError::AtomMissing(*a))?),
            Formula::Not(g) => not(self.formula(g)?),
            Formula::And(fs) => and(fs
                .iter()
                .map(|g| self.formula(g))
                .collect::<Result<_, _>>()?),
            Formula::Or(fs) => or(fs
                .iter()
                .map(|g| self.formula(g))
                .collect::<Result<_, _>>()?),
        })
    }

    /// The constants whose values `decode` reads.
    pub fn wanted(&self) -> Vec<(String, Sort)> {
        let mut out = Vec::new();
        for t in self.vars.values() {
            match t {
                VarTerm::Choice(x) => out.push((x.clone(), Sort::Int)),
                VarTerm::Number { ok, n, .. } => {
                    out.push((ok.clone(), Sort::Bool));
                    out.push((n.clone(), Sort::Int));
                }
                VarTerm::Date { ok, t } => {
                    out.push((ok.clone(), Sort::Bool));
                    out.push((t.clone(), Sort::Int));
                }
                VarTerm::Ip { ok, v6, a } => {
                    out.push((ok.clone(), Sort::Bool));
                    out.push((v6.clone(), Sort::Bool));
                    out.push((a.clone(), Sort::BitVec(128)));
                }
                VarTerm::Str(s) => out.push((s.clone(), Sort::String)),
                VarTerm::Sig => {}
            }
        }
        for (_, b) in self.sig.iter().flat_map(|s| &s.bools) {
            out.push((b.clone(), Sort::Bool));
        }
        for ms in self.members.values() {
            out.extend(ms.iter().map(|m| (m.clone(), Sort::Bool)));
        }
        for g in &self.groups {
            out.extend(g.pairs.values().map(|e| (e.clone(), Sort::Bool)));
        }
        out.push((self.principal.clone(), Sort::Int));
        out.push((self.resource_account.clone(), Sort::Int));
        out
    }

    /// Read the model's values (of `wanted()`) back.
    pub fn decode(&self, m: &HashMap<String, Val>) -> Result<Assignment, EncodeError> {
        let missing = |x: &str| EncodeError::ModelMissing(x.to_string());
        let int_of = |x: &str| match m.get(x) {
            Some(Val::Int(v)) => Ok(*v),
            _ => Err(missing(x)),
        };
        let bool_of = |x: &str| match m.get(x) {
            Some(Val::Bool(v)) => Ok(*v),
            _ => Err(missing(x)),
        };
        let index = |x: &str| usize::try_from(int_of(x)?).map_err(|_| missing(x));
        let mut out = Assignment::default();
        for (v, t) in &self.vars {
            let val = match t {
                VarTerm::Choice(x) => Value::Cell(index(x)?),
                VarTerm::Number { ok, n, scale } => match (bool_of(ok)?, m.get(n)) {
                    (false, _) => Value::Number(None),
                    (true, Some(Val::Int(mantissa))) => Value::Number(Some(Decimal {
                        mantissa: *mantissa,
                        scale: *scale,
                    })),
                    // Beyond i128 (policy numbers have up to 38 digits): the numeral's text.
                    (true, Some(Val::BigInt(big))) => Value::Text(
                        tarski_compiler::value::scaled_numeral(big, *scale)
                            .ok_or_else(|| missing(n))?,
                    ),
                    (true, _) => return Err(missing(n)),
                },
                VarTerm::Date { ok, t } => {
                    Value::Date(if bool_of(ok)? { Some(int_of(t)?) } else { None })
                }
                VarTerm::Ip { ok, v6, a } => Value::Ip(if bool_of(ok)? {
                    let Some(Val::Bv(bits)) = m.get(a) else {
                        return Err(missing(a));
                    };
                    Some(if bool_of(v6)? {
                        IpAddr::V6((*bits).into())
                    } else {
                        IpAddr::V4((*bits as u32).into())
                    })
                } else {
                    None
                }),
                VarTerm::Str(s) => match m.get(s) {
                    Some(Val::Str(x)) => Value::Text(x.clone()),
                    _ => return Err(missing(s)),
                },
                VarTerm::Sig => {
                    let sv = self.sig.as_ref().ok_or_else(|| missing(&var_name(v)))?;
                    let lits = sv
                        .bools
                        .iter()
                        .map(|(g, b)| Ok((g.clone(), bool_of(b)?)))
                        .collect::<Result<Vec<_>, EncodeError>>()?;
                    let domain = resource_domain();
                    match realize(&lits, &sv.require, &domain, REALIZE_STATES) {
                        Ok(Some(w)) => Value::Text(w),
                        Ok(None) => {
                            let keep = core(&lits, &sv.require, &domain, REALIZE_STATES);
                            if keep.is_empty() {
                                return Err(EncodeError::EmptyCore);
                            }
                            return Err(EncodeError::Unrealized(
                                keep.into_iter().map(|i| (i, lits[i].1)).collect(),
                            ));
                        }
                        Err(_) => return Err(EncodeError::SignatureBudget(REALIZE_STATES)),
                    }
                }
            };
            out.values.insert(v.clone(), val);
        }
        for (k, ms) in &self.members {
            out.members.insert(
                k.clone(),
                ms.iter().map(|x| bool_of(x)).collect::<Result<_, _>>()?,
            );
        }
        // Key groups: one string per class of the "equal" relation, distinct within a cell.
        for g in &self.groups {
            let n = g.vars.len();
            let mut class: Vec<usize> = (0..n).collect();
            for i in 0..n {
                for j in 0..i {
                    if bool_of(&g.pairs[&(j, i)])? {
                        class[i] = class[j];
                        break;
                    }
                }
            }
            let mut used: BTreeMap<usize, usize> = BTreeMap::new();
            let mut chosen: BTreeMap<usize, String> = BTreeMap::new();
            for (i, v) in g.vars.iter().enumerate() {
                let Some(Value::Cell(c)) = out.values.get(v) else {
                    return Err(missing(&var_name(v)));
                };
                let c = *c;
                let s = match chosen.get(&class[i]) {
                    Some(s) => s.clone(),
                    None => {
                        let k = used.entry(c).or_insert(0);
                        let s = g
                            .values
                            .get(c)
                            .and_then(|vs| vs.get(*k))
                            .cloned()
                            .ok_or_else(|| EncodeError::CellOverflow(var_name(v)))?;
                        *k += 1;
                        chosen.insert(class[i], s.clone());
                        s
                    }
                };
                out.values.insert(v.clone(), Value::Text(s));
            }
        }
        out.principal = index(&self.principal)?;
        out.resource_account = index(&self.resource_account)?;
        Ok(out)
    }

    /// A clause excluding this witness's action and resource cells (for `--witnesses N`), so
    /// the next witness shows another part of the difference; the principal when neither
    /// varies.
    pub fn block(&self, a: &Assignment) -> Term {
        let mut same = Vec::new();
        for v in [StrVar::Action, StrVar::Resource] {
            if let (Some(VarTerm::Choice(x)), Some(Value::Cell(i))) =
                (self.vars.get(&v), a.values.get(&v))
            {
                same.push(eq(sym(x), num(*i)));
            }
        }
        // A resource decided by its patterns' Booleans: the same combination.
        if let (Some(sv), Some(Value::Text(r))) = (&self.sig, a.values.get(&StrVar::Resource)) {
            for (g, b) in &sv.bools {
                same.push(if g.matches(r, false) {
                    sym(b)
                } else {
                    not(sym(b))
                });
            }
        }
        if same.is_empty() {
            same.push(eq(sym(&self.principal), num(a.principal)));
        }
        not(and(same))
    }

    /// The clause that excludes a combination of resource patterns no string realizes
    /// (`EncodeError::Unrealized`).
    pub fn exclude(&self, core: &[(usize, bool)]) -> Term {
        let Some(sv) = &self.sig else {
            return Term::Bool(true);
        };
        or(core
            .iter()
            .map(|&(i, b)| {
                let t = sym(&sv.bools[i].1);
                if b {
                    not(t)
                } else {
                    t
                }
            })
            .collect())
    }

    /// The Boolean "the resource matches `g`" of a `VarKind::Signatures` resource, declared on
    /// first use.
    fn sig_bool(&mut self, g: &Glob) -> Term {
        let sv = self.sig.get_or_insert_with(SigVar::default);
        if let Some(&i) = sv.index.get(g) {
            return sym(&sv.bools[i].1);
        }
        let name = symbol("respat", sv.bools.len(), &g.to_string());
        self.script.declare(name.clone(), Sort::Bool);
        sv.index.insert(g.clone(), sv.bools.len());
        sv.bools.push((g.clone(), name.clone()));
        sym(&name)
    }
}

/// The `k`-element subsets of `0..n`, each ascending.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    go(0, n, k, &mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarski_compiler::load::load;
    use tarski_compiler::logic::ir::Builder;
    use tarski_compiler::logic::lower::{conditions, Slots, SymbolicView};
    use tarski_compiler::logic::problem::DomainOptions;
    use tarski_compiler::policy::PolicyKind;
    use tarski_compiler::policy_set::PolicySet;

    fn problem(statement: &str) -> Problem {
        let text = format!(r#"{{"Version": "2012-10-17", "Statement": [{statement}]}}"#);
        let loaded = load("p.json", &text, Some(PolicyKind::Identity), false);
        assert!(!loaded.has_errors());
        let set = PolicySet {
            identity: loaded.policies,
            ..PolicySet::default()
        };
        let builder = Builder::default();
        let slots = Slots::for_conditions(conditions(&set));
        let view = SymbolicView {
            builder: &builder,
            slots: &slots,
        };
        let goal = view.lower_set(&set).allowed;
        let dopts = DomainOptions {
            max_states: 50_000,
            ..DomainOptions::default()
        };
        Problem::new(builder, goal, slots, &[], &dopts)
    }

    fn atoms(p: &Problem) -> Vec<AtomId> {
        let mut v = Vec::new();
        p.goal.atoms_into(&mut v);
        v.sort_unstable();
        v.dedup();
        v
    }

    const USERNAME: &str = r#"{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/${aws:username}/*",
        "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}"#;

    /// Keys longer than a symbol's text, with several slots, get distinct names (W5 found
    /// `route53:ChangeResourceRecordSetsNormalizedRecordNames` declared twice).
    #[test]
    fn long_keys_with_several_slots_get_distinct_symbols() {
        let p = problem(
            r#"{"Effect": "Allow", "Action": "route53:ChangeResourceRecordSets", "Resource": "*",
                "Condition": {"ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["a*", "${aws:username}.b"]},
                              "ForAnyValue:StringEquals": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["x", "y"]}}}"#,
        );
        let enc = Encoded::new(&p, &atoms(&p)).unwrap();
        let mut names: Vec<&str> = enc.script.decls.iter().map(|(n, _)| n.as_str()).collect();
        let members = names.iter().filter(|n| n.starts_with("member_")).count();
        assert!(members > 1, "{names:?}");
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate declarations");
    }

    #[test]
    fn every_goal_atom_is_defined_and_the_goal_asserted() {
        let p = problem(USERNAME);
        let enc = Encoded::new(&p, &atoms(&p)).unwrap();
        assert!(enc.uses_strings());
        assert_eq!(enc.script.defs.len(), atoms(&p).len());
        assert!(enc.script.file().unwrap().contains("(check-sat)"));
    }

    /// Issue 11, finding 7: an atom the goal uses but the encoder did not define used to become
    /// `false` (an unsound proof for a positive atom); now it is an error.
    #[test]
    fn an_undefined_atom_is_an_error_not_false() {
        let p = problem(USERNAME);
        let mut ids = atoms(&p);
        let dropped = ids.pop().unwrap();
        match Encoded::new(&p, &ids) {
            Err(EncodeError::AtomMissing(a)) => assert_eq!(a, dropped),
            Err(EncodeError::SlotMissing(..)) => {}
            other => panic!("{:?}", other.err()),
        }
    }

    /// A comparison whose value does not fit the variable's encoding is an error.
    #[test]
    fn unexpected_comparison_is_an_error() {
        let p = problem(USERNAME);
        let enc = Encoded::new(&p, &atoms(&p)).unwrap();
        let num_var = p
            .vars
            .iter()
            .find(|(_, k)| matches!(k, VarKind::Numeric { .. }))
            .map(|(v, _)| v.clone())
            .unwrap();
        let date = CondValue::Date(0);
        assert!(matches!(
            enc.cmp(&num_var, Base::NumericLessThan, &date),
            Err(EncodeError::Comparison { .. })
        ));
        assert!(matches!(
            enc.cmp(&StrVar::Action, Base::NumericLessThan, &date),
            Err(EncodeError::Comparison { .. })
        ));
        assert!(matches!(
            enc.member("aws:nosuchkey", 0),
            Err(EncodeError::SlotMissing(..))
        ));
        assert!(matches!(
            enc.decode(&HashMap::new()),
            Err(EncodeError::ModelMissing(_))
        ));
    }
}
