//! SMT-LIB terms, written from the logic IR by `encode` and read by every backend (`backend`):
//! Z3 in process parses the same text that the cvc5 process reads and that `--emit-smt2` writes,
//! so all three see one problem. The printer is ours, not Z3's (Z3 prints an empty `or` as a
//! bare `or`, which other solvers reject): `and`/`or` of no or one argument are folded here.
//!
//! Strings follow SMT-LIB 2.6's theory of strings: a literal is printable ASCII, `""` is a
//! quote, and `\u{h..}` (at most five hex digits, at most 0x2FFFF) is any other character.

use std::fmt::Write as _;

/// The sorts the encoding declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Bool,
    Int,
    String,
    BitVec(u32),
}

impl Sort {
    fn smt(self) -> String {
        match self {
            Sort::Bool => "Bool".into(),
            Sort::Int => "Int".into(),
            Sort::String => "String".into(),
            Sort::BitVec(w) => format!("(_ BitVec {w})"),
        }
    }
}

/// A term (Boolean, integer, string, regular expression or bit-vector).
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Bool(bool),
    Int(i128),
    /// An integer numeral of any size (`-` first when negative): policy numbers have up to 38
    /// digits before scaling (issue 11, finding 6).
    Num(String),
    /// A string literal (its characters, unescaped).
    Str(String),
    Bv {
        width: u32,
        value: u128,
    },
    /// A declared constant or a defined atom.
    Sym(String),
    App(&'static str, Vec<Term>),
    /// `((_ extract hi lo) t)`.
    Extract(u32, u32, Box<Term>),
}

/// The largest character SMT-LIB strings hold (Z3 and cvc5 agree).
pub const MAX_CHAR: u32 = 0x2FFFF;

pub fn and(ts: Vec<Term>) -> Term {
    let mut out = Vec::with_capacity(ts.len());
    for t in ts {
        match t {
            Term::Bool(true) => {}
            Term::Bool(false) => return Term::Bool(false),
            t => out.push(t),
        }
    }
    match out.len() {
        0 => Term::Bool(true),
        1 => out.pop().unwrap_or(Term::Bool(true)),
        _ => Term::App("and", out),
    }
}

pub fn or(ts: Vec<Term>) -> Term {
    let mut out = Vec::with_capacity(ts.len());
    for t in ts {
        match t {
            Term::Bool(false) => {}
            Term::Bool(true) => return Term::Bool(true),
            t => out.push(t),
        }
    }
    match out.len() {
        0 => Term::Bool(false),
        1 => out.pop().unwrap_or(Term::Bool(false)),
        _ => Term::App("or", out),
    }
}

pub fn not(t: Term) -> Term {
    match t {
        Term::Bool(b) => Term::Bool(!b),
        Term::App("not", mut a) if a.len() == 1 => a.pop().unwrap_or(Term::Bool(false)),
        t => Term::App("not", vec![t]),
    }
}

pub fn app(f: &'static str, args: Vec<Term>) -> Term {
    Term::App(f, args)
}

pub fn eq(a: Term, b: Term) -> Term {
    app("=", vec![a, b])
}

pub fn sym(s: impl Into<String>) -> Term {
    Term::Sym(s.into())
}

/// Regular expression for one literal string.
pub fn re_lit(s: &str) -> Term {
    app("str.to_re", vec![Term::Str(s.to_string())])
}

/// Concatenation of regular expressions (one part is itself; none is the empty word).
pub fn re_concat(mut parts: Vec<Term>) -> Term {
    match parts.len() {
        0 => re_lit(""),
        1 => parts.pop().unwrap_or_else(|| re_lit("")),
        _ => app("re.++", parts),
    }
}

/// Concatenation of strings.
pub fn str_concat(mut parts: Vec<Term>) -> Term {
    match parts.len() {
        0 => Term::Str(String::new()),
        1 => parts.pop().unwrap_or_else(|| Term::Str(String::new())),
        _ => app("str.++", parts),
    }
}

/// A string literal in SMT-LIB 2.6 syntax; `None` for a character beyond `MAX_CHAR`.
pub fn quote(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_./: *?$#@!,;=+~&%^|<>[]{}()'`".contains(c) {
            out.push(c);
        } else if (c as u32) <= MAX_CHAR {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            return None;
        }
    }
    out.push('"');
    Some(out)
}

/// Decode a solver's string value: SMT-LIB 2.6 escapes `\u{h..}` and `\uhhhh` (Z3 also writes
/// them in its own string values), and `""` for a quote when `quoted` (the text of a literal).
pub fn unescape(s: &str) -> Option<String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < cs.len() {
        if cs[i] == '\\' && i + 1 < cs.len() && cs[i + 1] == 'u' {
            if i + 2 < cs.len() && cs[i + 2] == '{' {
                if let Some(close) = cs[i + 3..].iter().position(|&c| c == '}') {
                    let hex: String = cs[i + 3..i + 3 + close].iter().collect();
                    if (1..=5).contains(&hex.len()) {
                        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                        {
                            out.push(c);
                            i += 3 + close + 1;
                            continue;
                        }
                    }
                }
            } else if i + 6 <= cs.len() {
                let hex: String = cs[i + 2..i + 6].iter().collect();
                if hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                        i += 6;
                        continue;
                    }
                }
            }
        }
        out.push(cs[i]);
        i += 1;
    }
    Some(out)
}

/// A term's text; `Err` with the offending string when a literal cannot be written.
pub fn write_term(t: &Term, out: &mut String) -> Result<(), String> {
    match t {
        Term::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Term::Int(v) if *v < 0 => {
            let _ = write!(out, "(- {})", v.unsigned_abs());
        }
        Term::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Term::Num(n) => match n.strip_prefix('-') {
            Some(abs) => {
                let _ = write!(out, "(- {abs})");
            }
            None => out.push_str(n),
        },
        Term::Str(s) => out.push_str(&quote(s).ok_or_else(|| s.clone())?),
        Term::Bv { width, value } => {
            let _ = write!(out, "(_ bv{value} {width})");
        }
        Term::Sym(s) => out.push_str(s),
        Term::App(f, args) if args.is_empty() => out.push_str(f),
        Term::App(f, args) => {
            out.push('(');
            out.push_str(f);
            for a in args {
                out.push(' ');
                write_term(a, out)?;
            }
            out.push(')');
        }
        Term::Extract(hi, lo, a) => {
            let _ = write!(out, "((_ extract {hi} {lo}) ");
            write_term(a, out)?;
            out.push(')');
        }
    }
    Ok(())
}

/// A problem: declarations, defined atoms and assertions, in that order.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub decls: Vec<(String, Sort)>,
    pub defs: Vec<(String, Term)>,
    pub asserts: Vec<Term>,
}

impl Script {
    pub fn declare(&mut self, name: String, sort: Sort) -> Term {
        self.decls.push((name.clone(), sort));
        Term::Sym(name)
    }

    pub fn assert(&mut self, t: Term) {
        if t != Term::Bool(true) {
            self.asserts.push(t);
        }
    }

    /// The body: declarations, definitions, assertions (no logic, options or `check-sat`).
    pub fn body(&self) -> Result<String, String> {
        let mut out = String::new();
        for (n, s) in &self.decls {
            let _ = writeln!(out, "(declare-fun {n} () {})", s.smt());
        }
        for (n, t) in &self.defs {
            let _ = write!(out, "(define-fun {n} () Bool ");
            write_term(t, &mut out)?;
            out.push_str(")\n");
        }
        for t in &self.asserts {
            out.push_str("(assert ");
            write_term(t, &mut out)?;
            out.push_str(")\n");
        }
        Ok(out)
    }

    /// A complete SMT-LIB file for standalone solvers (`--emit-smt2`).
    pub fn file(&self) -> Result<String, String> {
        Ok(format!(
            "(set-logic ALL)\n(set-option :produce-models true)\n{}(check-sat)\n(exit)\n",
            self.body()?
        ))
    }
}

/// One value of a model.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Bool(bool),
    Int(i128),
    /// An integer beyond `i128`, as decimal text (`-` first when negative).
    BigInt(String),
    Str(String),
    Bv(u128),
}

/// S-expressions, for reading a solver's answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Sexp {
    Atom(String),
    /// A string literal, already decoded.
    Str(String),
    List(Vec<Sexp>),
}

/// Parse one S-expression from `s`; `None` if it is not one.
pub fn parse_sexp(s: &str) -> Option<Sexp> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let e = sexp_at(&cs, &mut i)?;
    Some(e)
}

fn sexp_at(cs: &[char], i: &mut usize) -> Option<Sexp> {
    while *i < cs.len() && cs[*i].is_whitespace() {
        *i += 1;
    }
    match cs.get(*i)? {
        '(' => {
            *i += 1;
            let mut items = Vec::new();
            loop {
                while *i < cs.len() && cs[*i].is_whitespace() {
                    *i += 1;
                }
                match cs.get(*i)? {
                    ')' => {
                        *i += 1;
                        return Some(Sexp::List(items));
                    }
                    _ => items.push(sexp_at(cs, i)?),
                }
            }
        }
        '"' => {
            *i += 1;
            let mut raw = String::new();
            loop {
                let c = *cs.get(*i)?;
                *i += 1;
                if c == '"' {
                    if cs.get(*i) == Some(&'"') {
                        raw.push('"');
                        *i += 1;
                    } else {
                        break;
                    }
                } else {
                    raw.push(c);
                }
            }
            Some(Sexp::Str(unescape(&raw)?))
        }
        '|' => {
            *i += 1;
            let mut raw = String::new();
            loop {
                let c = *cs.get(*i)?;
                *i += 1;
                if c == '|' {
                    break;
                }
                raw.push(c);
            }
            Some(Sexp::Atom(raw))
        }
        ')' => None,
        _ => {
            let mut raw = String::new();
            while *i < cs.len() && !cs[*i].is_whitespace() && !"()\"|".contains(cs[*i]) {
                raw.push(cs[*i]);
                *i += 1;
            }
            Some(Sexp::Atom(raw))
        }
    }
}

/// A value as a solver prints it in `get-value`: `true`, `42`, `(- 42)`, `"a\u{e9}"`, `#b0101`,
/// `#x0f`, `(_ bv5 8)`.
pub fn value_of(e: &Sexp) -> Option<Val> {
    match e {
        Sexp::Str(s) => Some(Val::Str(s.clone())),
        Sexp::Atom(a) if a == "true" => Some(Val::Bool(true)),
        Sexp::Atom(a) if a == "false" => Some(Val::Bool(false)),
        Sexp::Atom(a) if a.starts_with("#b") => u128::from_str_radix(&a[2..], 2).ok().map(Val::Bv),
        Sexp::Atom(a) if a.starts_with("#x") => u128::from_str_radix(&a[2..], 16).ok().map(Val::Bv),
        Sexp::Atom(a) => match a.parse() {
            Ok(v) => Some(Val::Int(v)),
            Err(_) if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
                Some(Val::BigInt(a.clone()))
            }
            Err(_) => None,
        },
        Sexp::List(xs) => match xs.as_slice() {
            [Sexp::Atom(m), x] if m == "-" => match value_of(x)? {
                Val::Int(v) => Some(Val::Int(-v)),
                Val::BigInt(v) => Some(Val::BigInt(format!("-{v}"))),
                _ => None,
            },
            [Sexp::Atom(u), Sexp::Atom(bv), Sexp::Atom(_w)] if u == "_" && bv.starts_with("bv") => {
                bv[2..].parse().ok().map(Val::Bv)
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_single_connectives_fold() {
        assert_eq!(or(vec![]), Term::Bool(false));
        assert_eq!(and(vec![]), Term::Bool(true));
        assert_eq!(or(vec![sym("a")]), sym("a"));
        let mut s = String::new();
        write_term(&or(vec![sym("a"), Term::Bool(false), sym("b")]), &mut s).unwrap();
        assert_eq!(s, "(or a b)");
    }

    #[test]
    fn strings_round_trip_through_escapes() {
        for s in [
            "plain",
            "équipe",
            "back\\slash",
            "quote\"d",
            "\u{0}nul",
            "a\\u{41}b",
            "日本",
        ] {
            let q = quote(s).unwrap();
            assert!(q.is_ascii(), "{q}");
            let Some(Sexp::Str(back)) = parse_sexp(&q) else {
                panic!("{q} does not parse")
            };
            assert_eq!(back, s, "via {q}");
        }
        // Beyond SMT-LIB's character range: refused, not mangled.
        assert_eq!(quote("\u{10FFFF}"), None);
        // Z3's own form of a model string.
        assert_eq!(unescape("b/\\u{e9}quipe/x").unwrap(), "b/équipe/x");
    }

    #[test]
    fn values_parse() {
        let e =
            parse_sexp(r#"((x (- 3)) (y "a\u{5c}b") (z #b101) (w (_ bv7 8)) (v true))"#).unwrap();
        let Sexp::List(pairs) = e else { panic!() };
        let vals: Vec<Val> = pairs
            .iter()
            .map(|p| match p {
                Sexp::List(kv) => value_of(&kv[1]).unwrap(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            vals,
            vec![
                Val::Int(-3),
                Val::Str("a\\b".into()),
                Val::Bv(5),
                Val::Bv(7),
                Val::Bool(true)
            ]
        );
    }
}
