//! The only module that builds Z3 terms: a `Problem` becomes Z3 assertions over finite
//! choices (cells, candidates), exact integers (numbers, dates), bit-vectors (IP addresses),
//! and strings only where policy variables couple them. `decode` reads a model back into an
//! `Assignment`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::str::FromStr;

use tarski_compiler::glob::{Glob, Tok};
use tarski_compiler::logic::ir::{eval_atom, Atom, AtomId, Formula, StrVar, TemplateMode};
use tarski_compiler::logic::problem::{Problem, TypedResources, VarKind};
use tarski_compiler::operator::{Base, Family, Ordering};
use tarski_compiler::policy::CondValue;
use tarski_compiler::request::Request;
use tarski_compiler::template::Piece;
use tarski_compiler::value::Decimal;
use z3::ast::{Bool, Int, Regexp, String as ZString, BV};
use z3::{Model, Solver};

use crate::assignment::{Assignment, Value};

/// Latest instant a witness date may take (9999-12-31T23:59:59Z), for readable witnesses.
const MAX_DATE_NANOS: i128 = 253_402_300_799 * 1_000_000_000;

enum VarTerm {
    Choice(Int),
    Number { ok: Bool, n: Int, scale: u32 },
    Date { ok: Bool, t: Int },
    Ip { ok: Bool, v6: Bool, a: BV },
    Str(ZString),
}

pub struct Encoded {
    vars: BTreeMap<StrVar, VarTerm>,
    members: BTreeMap<String, Vec<Bool>>,
    principal: Int,
    resource_account: Int,
    atoms: HashMap<AtomId, Bool>,
    /// Some template was encoded with existential parts (inexact under negation).
    inexact: std::cell::Cell<bool>,
    /// Atoms that occur under a negation in the goal.
    negative: HashSet<AtomId>,
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

fn int(v: i128) -> Int {
    Int::from_str(&v.to_string()).unwrap_or_else(|_| Int::from_i64(0))
}

fn any_eq(x: &Int, ks: impl Iterator<Item = usize>) -> Bool {
    let v: Vec<Bool> = ks.map(|k| x.eq(Int::from_u64(k as u64))).collect();
    Bool::or(&v)
}

/// `x` is one of the (sorted) cells: runs of consecutive cells become ranges, which keeps the
/// encoding of broad patterns (`s3:*` over hundreds of cells) small.
fn in_cells(x: &Int, sorted: &[u32]) -> Bool {
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
            x.eq(Int::from_u64(u64::from(lo)))
        } else {
            Bool::and(&[
                x.ge(Int::from_u64(u64::from(lo))),
                x.le(Int::from_u64(u64::from(hi))),
            ])
        });
        i += 1;
    }
    Bool::or(&parts)
}

fn rel(a: &Int, r: Ordering, b: &Int) -> Bool {
    match r {
        Ordering::Eq => a.eq(b),
        Ordering::Lt => a.lt(b),
        Ordering::Le => a.le(b),
        Ordering::Gt => a.gt(b),
        Ordering::Ge => a.ge(b),
    }
}

fn var_name(v: &StrVar) -> String {
    match v {
        StrVar::Action => "action".into(),
        StrVar::Resource => "resource".into(),
        StrVar::Slot(k, n) => format!("{k}#{n}"),
    }
}

/// Text for Z3's string literals, which interpret backslash escapes: everything but plain
/// ASCII letters, digits and a few safe marks is written as `\u{hex}` (NUL included).
fn z3_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_./: ".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

fn lit(s: &str) -> Regexp {
    Regexp::literal(&z3_text(s))
}

fn zstr(s: &str) -> ZString {
    ZString::from_str(&z3_text(s)).unwrap_or_else(|_| ZString::fresh_const("unrepresentable"))
}

/// A glob as a Z3 regular expression (only for string-theory variables).
fn regex(g: &Glob) -> Regexp {
    let no_colon = Regexp::allchar().diff(lit(":"));
    let parts: Vec<Regexp> =
        g.0.iter()
            .map(|t| match t {
                Tok::Char(c) => lit(&c.to_string()),
                Tok::Fold(c) => {
                    let lo = c.to_lowercase().to_string();
                    let up = c.to_uppercase().to_string();
                    Regexp::union(&[lit(&lo), lit(&up)])
                }
                Tok::One => Regexp::allchar(),
                Tok::Star => Regexp::full(),
                Tok::StarSeg => no_colon.star(),
            })
            .collect();
    match parts.len() {
        0 => lit(""),
        1 => parts.into_iter().next().unwrap_or_else(|| lit("")),
        _ => Regexp::concat(&parts),
    }
}

impl Encoded {
    /// Some policy-variable template has a wildcard before a variable: it was encoded with
    /// existential parts, which over-approximate where the template is used negatively. A
    /// model is then only a candidate: one that does not replay is not a bug but "unknown".
    pub fn inexact(&self) -> bool {
        self.inexact.get()
    }

    /// Declare the variables and side constraints and define every atom the goal uses.
    pub fn new(p: &Problem, solver: &Solver, goal_atoms: &[AtomId]) -> Encoded {
        let mut vars = BTreeMap::new();
        for (v, kind) in &p.vars {
            let name = var_name(v);
            let term = match kind {
                VarKind::Cells(cs) => {
                    let x = Int::new_const(format!("cell:{name}"));
                    solver.assert(x.ge(Int::from_u64(0)));
                    solver.assert(x.lt(Int::from_u64(cs.len() as u64)));
                    VarTerm::Choice(x)
                }
                VarKind::Numeric { scale } => VarTerm::Number {
                    ok: Bool::new_const(format!("isnum:{name}")),
                    n: Int::new_const(format!("num:{name}")),
                    scale: *scale,
                },
                VarKind::Date => {
                    let t = Int::new_const(format!("date:{name}"));
                    solver.assert(t.ge(Int::from_i64(0)));
                    solver.assert(t.le(int(MAX_DATE_NANOS)));
                    VarTerm::Date {
                        ok: Bool::new_const(format!("isdate:{name}")),
                        t,
                    }
                }
                VarKind::Ip => {
                    let a = BV::new_const(format!("ip:{name}"), 128);
                    let v6 = Bool::new_const(format!("v6:{name}"));
                    // An IPv4 address lives in the low 32 bits.
                    solver.assert(v6.not().implies(a.extract(127, 32).eq(BV::from_u64(0, 96))));
                    VarTerm::Ip {
                        ok: Bool::new_const(format!("isip:{name}")),
                        v6,
                        a,
                    }
                }
                VarKind::Strings => {
                    let x = ZString::new_const(format!("str:{name}"));
                    // The same domains the cells use: resources are ARNs, actions `service:name`.
                    match v {
                        StrVar::Resource => {
                            solver.assert(x.regex_matches(&regex(&Glob::wild("arn:*"))))
                        }
                        StrVar::Action => solver
                            .assert(x.regex_matches(&regex(&Glob::wild("?*:?*").arn_segments()))),
                        StrVar::Slot(..) => {}
                    }
                    VarTerm::Str(x)
                }
            };
            vars.insert(v.clone(), term);
        }
        // Slots: a key is present iff some slot holds a value.
        let mut members: BTreeMap<String, Vec<Bool>> = BTreeMap::new();
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
        for v in p.vars.keys() {
            if let StrVar::Slot(k, _) = v {
                keys.push(k.clone());
            }
        }
        keys.sort();
        keys.dedup();
        for k in keys {
            let n = p.slots.count(&k);
            let ms: Vec<Bool> = (0..n)
                .map(|j| Bool::new_const(format!("member:{k}#{j}")))
                .collect();
            members.insert(k, ms);
        }
        let principal = Int::new_const("principal");
        solver.assert(principal.ge(Int::from_u64(0)));
        solver.assert(principal.lt(Int::from_u64(p.domains.principals.len().max(1) as u64)));
        let resource_account = Int::new_const("resource_account");
        solver.assert(resource_account.ge(Int::from_u64(0)));
        solver.assert(resource_account.lt(Int::from_u64(
            p.domains.resource_accounts.len().max(1) as u64
        )));
        let mut enc = Encoded {
            vars,
            members,
            principal,
            resource_account,
            atoms: HashMap::new(),
            inexact: std::cell::Cell::new(false),
            negative: HashSet::new(),
        };
        negative_atoms(&p.goal, false, &mut enc.negative);
        for id in goal_atoms {
            let t = enc.atom(p, *id);
            enc.atoms.insert(*id, t);
        }
        drop(atoms);
        enc
    }

    fn member(&self, k: &str, j: u32) -> Bool {
        self.members
            .get(k)
            .and_then(|m| m.get(j as usize))
            .cloned()
            .unwrap_or_else(|| Bool::from_bool(false))
    }

    fn present(&self, k: &str) -> Bool {
        match self.members.get(k) {
            Some(ms) if !ms.is_empty() => Bool::or(ms),
            _ => Bool::from_bool(false),
        }
    }

    fn atom(&self, p: &Problem, id: AtomId) -> Bool {
        let atoms = p.builder.atoms();
        let a = atoms.get(id).clone();
        drop(atoms);
        match &a {
            Atom::Like(v, g) => match self.vars.get(v) {
                Some(VarTerm::Choice(x)) => {
                    let holds = p.atom_cells.get(&id).cloned().unwrap_or_default();
                    in_cells(x, &holds)
                }
                Some(VarTerm::Str(s)) => s.regex_matches(&regex(g)),
                _ => Bool::from_bool(false),
            },
            Atom::Template {
                var,
                template,
                mode,
            } => {
                let Some(VarTerm::Str(s)) = self.vars.get(var) else {
                    return Bool::from_bool(false);
                };
                self.template(s, template, *mode, self.negative.contains(&id))
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
                any_eq(&self.principal, yes)
            }
            // The typed request space (issue 10): each rule of `Problem::typing` says which
            // resources its action cells take.
            Atom::WellTyped => {
                let Some(VarTerm::Choice(action)) = self.vars.get(&StrVar::Action) else {
                    return Bool::from_bool(true);
                };
                let rules: Vec<Bool> = p
                    .typing
                    .iter()
                    .map(|r| {
                        let takes = match (&r.resources, self.vars.get(&StrVar::Resource)) {
                            (TypedResources::Cells(cs), Some(VarTerm::Choice(x))) => {
                                in_cells(x, cs)
                            }
                            (TypedResources::Types(t), Some(VarTerm::Str(s))) => {
                                let mut any: Vec<Bool> =
                                    t.arns.iter().map(|g| s.regex_matches(&regex(g))).collect();
                                if t.star {
                                    any.push(s.regex_matches(&regex(&Glob::literal("*"))));
                                }
                                Bool::or(&any)
                            }
                            _ => Bool::from_bool(true),
                        };
                        Bool::or(&[in_cells(action, &r.actions).not(), takes])
                    })
                    .collect();
                Bool::and(&rules)
            }
            Atom::Scope(_) => {
                let mut cases = Vec::new();
                for (i, pr) in p.domains.principals.iter().enumerate() {
                    for (j, ra) in p.domains.resource_accounts.iter().enumerate() {
                        let req = Request {
                            principal: pr.clone(),
                            resource: "arn:aws:s3:::tarski-example-bucket".into(),
                            resource_account: Some(ra.clone()),
                            ..Request::default()
                        };
                        if eval_atom(&a, &req) {
                            cases.push(Bool::and(&[
                                self.principal.eq(Int::from_u64(i as u64)),
                                self.resource_account.eq(Int::from_u64(j as u64)),
                            ]));
                        }
                    }
                }
                Bool::or(&cases)
            }
        }
    }

    /// `s` matches the template with its variables' values substituted; false when a
    /// variable without default is absent (the key has no value, as `Context::single`).
    fn template(
        &self,
        s: &ZString,
        t: &tarski_compiler::template::Template,
        mode: TemplateMode,
        negative: bool,
    ) -> Bool {
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
            Str(ZString),
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
                        Some(VarTerm::Str(x)) => x.clone(),
                        _ => ZString::fresh_const("unread"),
                    };
                    let present = self.member(&k, 0);
                    match &v.default {
                        Some(d) => {
                            let dv = ZString::from_str(d)
                                .unwrap_or_else(|_| ZString::fresh_const("default"));
                            seq.push(Part::Str(present.ite(&val, &dv)));
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
            let mut pos = int(0);
            let len = s.length();
            for (i, part) in seq.iter().enumerate() {
                match part {
                    Part::Re(g) if i + 1 == n => {
                        conds.push(pos.le(&len));
                        let rest = Int::sub(&[&len, &pos]);
                        conds.push(s.substr(&pos, &rest).regex_matches(&regex(g)));
                        pos = len.clone();
                    }
                    Part::Re(g) => {
                        let l = int(fixed(g).unwrap_or(0) as i128);
                        conds.push(s.substr(&pos, &l).regex_matches(&regex(g)));
                        pos = Int::add(&[&pos, &l]);
                    }
                    Part::Str(v) => {
                        conds.push(s.substr(&pos, v.length()).eq(v));
                        pos = Int::add(&[&pos, &v.length()]);
                    }
                }
            }
            conds.push(len.eq(&pos));
            return Bool::and(&conds);
        }
        // Otherwise split `s` with fresh constants (easier for Z3's string solver). This is
        // exact where the atom is used positively; under a negation (a wildcard before a
        // variable) it over-approximates (more models, never fewer): proofs stay sound, and a
        // spurious witness is caught by replay and answered `unknown` (`inexact`).
        if negative {
            self.inexact.set(true);
        }
        let mut pieces: Vec<ZString> = Vec::new();
        for (i, part) in seq.into_iter().enumerate() {
            match part {
                Part::Re(g) => {
                    let fresh = ZString::fresh_const(&format!("tpl{i}"));
                    conds.push(fresh.regex_matches(&regex(&g)));
                    pieces.push(fresh);
                }
                Part::Str(v) => pieces.push(v),
            }
        }
        let whole = match pieces.len() {
            0 => zstr(""),
            1 => pieces[0].clone(),
            _ => ZString::concat(&pieces),
        };
        conds.push(s.eq(&whole));
        Bool::and(&conds)
    }

    fn cmp(&self, var: &StrVar, base: Base, value: &CondValue) -> Bool {
        match (self.vars.get(var), value) {
            (Some(VarTerm::Number { ok, n, scale }), CondValue::Number(d)) => {
                let Some(r) = base.ordering() else {
                    return Bool::from_bool(false);
                };
                let k = d.mantissa * 10i128.pow(scale.saturating_sub(d.scale));
                Bool::and(&[ok.clone(), rel(n, r, &int(k))])
            }
            (Some(VarTerm::Date { ok, t }), CondValue::Date(d)) => {
                let Some(r) = base.ordering() else {
                    return Bool::from_bool(false);
                };
                Bool::and(&[ok.clone(), rel(t, r, &int(*d))])
            }
            (Some(VarTerm::Ip { ok, v6, a }), CondValue::Ip(c)) => {
                let (is6, bits, width): (bool, u128, u32) = match c.addr {
                    IpAddr::V4(x) => (false, u128::from(u32::from(x)), 32),
                    IpAddr::V6(x) => (true, u128::from(x), 128),
                };
                let fam = if is6 { v6.clone() } else { v6.not() };
                let prefix = u32::from(c.prefix);
                let net = if prefix == 0 {
                    Bool::from_bool(true)
                } else {
                    let shift = width - prefix;
                    let want = bits >> shift;
                    let got = a.extract(width - 1, shift);
                    let want_bv = BV::from_str(prefix, &want.to_string())
                        .unwrap_or_else(|| BV::from_u64(0, prefix));
                    got.eq(&want_bv)
                };
                Bool::and(&[ok.clone(), fam, net])
            }
            _ => Bool::from_bool(false),
        }
    }

    /// The goal as a Z3 term.
    pub fn formula(&self, f: &Formula) -> Bool {
        match f {
            Formula::Const(b) => Bool::from_bool(*b),
            Formula::Atom(a) => self
                .atoms
                .get(a)
                .cloned()
                .unwrap_or_else(|| Bool::from_bool(false)),
            Formula::Not(g) => self.formula(g).not(),
            Formula::And(fs) => Bool::and(&fs.iter().map(|g| self.formula(g)).collect::<Vec<_>>()),
            Formula::Or(fs) => Bool::or(&fs.iter().map(|g| self.formula(g)).collect::<Vec<_>>()),
        }
    }

    /// Read the model back.
    pub fn decode(&self, m: &Model) -> Assignment {
        let int_of = |x: &Int| m.eval(x, true).and_then(|v| v.as_i128()).unwrap_or(0);
        let bool_of = |x: &Bool| m.eval(x, true).and_then(|v| v.as_bool()).unwrap_or(false);
        let mut out = Assignment::default();
        for (v, t) in &self.vars {
            let val = match t {
                VarTerm::Choice(x) => Value::Cell(usize::try_from(int_of(x)).unwrap_or(0)),
                VarTerm::Number { ok, n, scale } => Value::Number(bool_of(ok).then(|| Decimal {
                    mantissa: int_of(n),
                    scale: *scale,
                })),
                VarTerm::Date { ok, t } => Value::Date(bool_of(ok).then(|| int_of(t))),
                VarTerm::Ip { ok, v6, a } => Value::Ip(bool_of(ok).then(|| {
                    // Read the 128 bits as two 64-bit numerals (a `bv2int` term is not a numeral).
                    let half = |hi: u32, lo: u32| {
                        m.eval(&a.extract(hi, lo), true)
                            .and_then(|b| b.as_u64())
                            .unwrap_or(0)
                    };
                    let bits = (u128::from(half(127, 64)) << 64) | u128::from(half(63, 0));
                    if bool_of(v6) {
                        IpAddr::V6(bits.into())
                    } else {
                        IpAddr::V4((bits as u32).into())
                    }
                })),
                VarTerm::Str(s) => Value::Text(
                    m.eval(s, true)
                        .and_then(|x| x.as_string())
                        .unwrap_or_default(),
                ),
            };
            out.values.insert(v.clone(), val);
        }
        for (k, ms) in &self.members {
            out.members
                .insert(k.clone(), ms.iter().map(bool_of).collect());
        }
        out.principal = usize::try_from(int_of(&self.principal)).unwrap_or(0);
        out.resource_account = usize::try_from(int_of(&self.resource_account)).unwrap_or(0);
        out
    }

    /// A clause excluding this witness's action and resource cells (for `--witnesses N`), so
    /// the next witness shows another part of the difference; the principal when neither
    /// varies.
    pub fn block(&self, a: &Assignment) -> Bool {
        let mut same = Vec::new();
        for v in [StrVar::Action, StrVar::Resource] {
            if let (Some(VarTerm::Choice(x)), Some(Value::Cell(i))) =
                (self.vars.get(&v), a.values.get(&v))
            {
                same.push(x.eq(Int::from_u64(*i as u64)));
            }
        }
        if same.is_empty() {
            same.push(self.principal.eq(Int::from_u64(a.principal as u64)));
        }
        Bool::and(&same).not()
    }
}
