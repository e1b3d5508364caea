//! The query expression language of `tarski can --where EXPR` (and, later, of spec files):
//! constraints on the request's action, resource, principal and condition keys.
//!
//! ```text
//! expr  := or ;  or := and (("or" | "||") and)* ;  and := unary (("and" | "&&") unary)*
//! unary := ("not" | "!") unary | "(" expr ")" | cmp
//! cmp   := NAME                              -- a Bool key is true: aws:SecureTransport
//!        | NAME ("==" | "!=") value          -- StringEquals / Bool / NumericEquals / DateEquals
//!        | NAME ["not"] "like" STRING        -- StringLike / StringNotLike
//!        | NAME ["not"] "in" (CIDR | "[" value ("," value)* "]")   -- IpAddress / any-of
//!        | NAME ("<" | "<=" | ">" | ">=") (NUMBER | STRING-date)
//!        | NAME ("present" | "absent")       -- Null
//! NAME  := action | resource | principal | a condition key (aws:SourceIp, s3:prefix, ...)
//! ```
//! Each comparison on a condition key means exactly what the corresponding IAM condition
//! operator means (it is lowered through the same semantics), so `x != "a"` holds when `x`
//! is absent, as `StringNotEquals` does.

use crate::glob::Glob;
use crate::operator::{Base, Operator};
use crate::policy::{CondValue, Condition};
use crate::span::{Span, Spanned};
use crate::template::Template;
use crate::value::{parse_date, Cidr, Decimal};

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// The action matches this (lower-cased) wildcard pattern.
    Action(Glob),
    /// The resource matches this ARN pattern.
    Resource(Glob),
    /// The caller is this principal (ARN, account ID, service, `anonymous`).
    Principal(String),
    /// A condition on a context key, as in a policy.
    Cond(Condition),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub span: Span,
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at column {}: {}", self.span.start + 1, self.message)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    /// Numbers, CIDRs and other bare words.
    Word(String),
    Op(&'static str),
}

fn lex(src: &str) -> Result<Vec<(Tok, Span)>, QueryError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |i: usize, m: &str| QueryError {
        span: Span::new(i, (i + 1).min(src.len())),
        message: m.to_string(),
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        for op in ["==", "!=", "<=", ">=", "&&", "||"] {
            if src[i..].starts_with(op) {
                out.push((Tok::Op(op), Span::new(i, i + 2)));
                i += 2;
            }
        }
        if i != start {
            continue;
        }
        match c {
            b'(' | b')' | b'[' | b']' | b',' | b'<' | b'>' | b'!' => {
                let op = match c {
                    b'(' => "(",
                    b')' => ")",
                    b'[' => "[",
                    b']' => "]",
                    b',' => ",",
                    b'<' => "<",
                    b'>' => ">",
                    _ => "!",
                };
                out.push((Tok::Op(op), Span::new(i, i + 1)));
                i += 1;
            }
            b'"' | b'\'' => {
                let q = c;
                i += 1;
                let mut s = String::new();
                loop {
                    match b.get(i) {
                        None => return Err(err(start, "unterminated string")),
                        Some(&x) if x == q => break,
                        Some(b'\\') if b.get(i + 1).is_some() => {
                            let ch = src[i + 1..].chars().next().unwrap_or('\\');
                            s.push(ch);
                            i += 1 + ch.len_utf8();
                        }
                        Some(_) => {
                            let ch = src[i..].chars().next().unwrap_or('?');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                i += 1;
                out.push((Tok::Str(s), Span::new(start, i)));
            }
            _ => {
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !b"()[],<>!=\"'&|".contains(&b[i])
                {
                    i += 1;
                }
                if i == start {
                    return Err(err(
                        start,
                        &format!(
                            "unexpected character `{}`",
                            src[start..].chars().next().unwrap_or('?')
                        ),
                    ));
                }
                let w = &src[start..i];
                let tok = if w.contains(':')
                    && !w.contains('/')
                    && !w.chars().next().is_some_and(|c| c.is_ascii_digit())
                    || ["action", "resource", "principal"].contains(&w)
                    || w.contains(':')
                        && w.contains('/')
                        && !w.chars().next().is_some_and(|c| c.is_ascii_digit())
                {
                    Tok::Name(w.to_string())
                } else {
                    Tok::Word(w.to_string())
                };
                out.push((tok, Span::new(start, i)));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    end: usize,
}

/// Parse a query expression.
pub fn parse_expr(src: &str) -> Result<Expr, QueryError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: src.len(),
    };
    let e = p.or()?;
    if let Some((t, span)) = p.toks.get(p.pos) {
        return Err(QueryError {
            span: *span,
            message: format!("unexpected {}", describe(t)),
        });
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Name(n) => format!("name `{n}`"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Op(o) => format!("`{o}`"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .map_or(Span::new(self.end, self.end), |(_, s)| *s)
    }

    fn error<T>(&self, m: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            span: self.span(),
            message: m.into(),
        })
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut v = vec![self.and()?];
        while self.is_word("or") || self.peek() == Some(&Tok::Op("||")) {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut v = vec![self.unary()?];
        while self.is_word("and") || self.peek() == Some(&Tok::Op("&&")) {
            self.pos += 1;
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.is_word("not") || self.peek() == Some(&Tok::Op("!")) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::Op("(")) {
            self.pos += 1;
            let e = self.or()?;
            if self.peek() != Some(&Tok::Op(")")) {
                return self.error("expected `)`");
            }
            self.pos += 1;
            return Ok(e);
        }
        self.cmp()
    }

    fn value(&mut self) -> Result<(String, bool, Span), QueryError> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Str(s), span)) => {
                self.pos += 1;
                Ok((s, true, span))
            }
            Some((Tok::Word(w), span)) | Some((Tok::Name(w), span)) => {
                self.pos += 1;
                Ok((w, false, span))
            }
            _ => self.error("expected a value"),
        }
    }

    fn cmp(&mut self) -> Result<Expr, QueryError> {
        let Some((Tok::Name(name), name_span)) = self.toks.get(self.pos).cloned() else {
            return self.error(
                "expected a condition key (e.g. aws:SourceIp), `action`, `resource` or `principal`",
            );
        };
        self.pos += 1;
        let negate_next = if self.is_word("not") {
            self.pos += 1;
            true
        } else {
            false
        };
        let op: String = match self.peek() {
            Some(Tok::Op(o)) if ["==", "!=", "<", "<=", ">", ">="].contains(o) => o.to_string(),
            Some(Tok::Word(w))
                if ["like", "in", "present", "absent"]
                    .contains(&w.to_ascii_lowercase().as_str()) =>
            {
                w.to_ascii_lowercase()
            }
            _ if negate_next => return self.error("expected `like` or `in` after `not`"),
            _ => {
                // A bare key: true when the Bool key is true.
                if ["action", "resource", "principal"].contains(&name.as_str()) {
                    return self.error(format!(
                        "`{name}` needs a comparison, e.g. `{name} like \"...\"`"
                    ));
                }
                return Ok(Expr::Cond(cond(
                    &name,
                    name_span,
                    "Bool",
                    vec![("true".into(), name_span)],
                )?));
            }
        };
        self.pos += 1;
        if negate_next && !["like", "in"].contains(&op.as_str()) {
            return self.error("`not` goes with `like` or `in`");
        }
        let wrap = |e: Expr| {
            if negate_next {
                Expr::Not(Box::new(e))
            } else {
                e
            }
        };
        let lname = name.to_ascii_lowercase();
        if ["action", "resource", "principal"].contains(&lname.as_str()) {
            let values: Vec<(String, Span)> = if op == "in" {
                self.list()?
            } else {
                let (v, _, s) = self.value()?;
                vec![(v, s)]
            };
            let one = |v: &str| match lname.as_str() {
                "action" => Expr::Action(Glob::wild(v).to_lowercase()),
                "resource" => Expr::Resource(Glob::wild(v)),
                _ => Expr::Principal(v.to_string()),
            };
            let any = Expr::Or(values.iter().map(|(v, _)| one(v)).collect());
            return Ok(match op.as_str() {
                "==" | "like" | "in" => wrap(any),
                "!=" => Expr::Not(Box::new(any)),
                _ => return self.error(format!("`{op}` does not apply to `{name}`")),
            });
        }
        let e = match op.as_str() {
            "present" => cond(&name, name_span, "Null", vec![("false".into(), name_span)])?,
            "absent" => cond(&name, name_span, "Null", vec![("true".into(), name_span)])?,
            "like" => {
                let (v, _, s) = self.value()?;
                cond(&name, name_span, "StringLike", vec![(v, s)])?
            }
            "in" => {
                if self.peek() == Some(&Tok::Op("[")) {
                    let vals = self.list()?;
                    cond(&name, name_span, "StringEquals", vals)?
                } else {
                    let (v, _, s) = self.value()?;
                    if Cidr::parse(&v).is_none() {
                        return Err(QueryError { span: s, message: format!("`{v}` is not a CIDR block; use `in [\"a\", \"b\"]` for a list of strings") });
                    }
                    cond(&name, name_span, "IpAddress", vec![(v, s)])?
                }
            }
            "==" | "!=" => {
                let (v, quoted, s) = self.value()?;
                let neg = op == "!=";
                let opname = if !quoted && (v == "true" || v == "false") {
                    if neg {
                        return Err(QueryError {
                            span: s,
                            message: "use `!key` or `key == false` for Booleans".into(),
                        });
                    }
                    "Bool"
                } else if !quoted && Decimal::parse(&v).is_some() {
                    if neg {
                        "NumericNotEquals"
                    } else {
                        "NumericEquals"
                    }
                } else if neg {
                    "StringNotEquals"
                } else {
                    "StringEquals"
                };
                cond(&name, name_span, opname, vec![(v, s)])?
            }
            rel => {
                let (v, quoted, s) = self.value()?;
                let family = if !quoted && Decimal::parse(&v).is_some() {
                    "Numeric"
                } else if parse_date(&v).is_some() {
                    "Date"
                } else {
                    return Err(QueryError {
                        span: s,
                        message: format!("`{v}` is neither a number nor a date"),
                    });
                };
                let suffix = match rel {
                    "<" => "LessThan",
                    "<=" => "LessThanEquals",
                    ">" => "GreaterThan",
                    _ => "GreaterThanEquals",
                };
                cond(&name, name_span, &format!("{family}{suffix}"), vec![(v, s)])?
            }
        };
        Ok(wrap(Expr::Cond(e)))
    }

    fn list(&mut self) -> Result<Vec<(String, Span)>, QueryError> {
        if self.peek() != Some(&Tok::Op("[")) {
            let (v, _, s) = self.value()?;
            return Ok(vec![(v, s)]);
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let (v, _, s) = self.value()?;
            out.push((v, s));
            match self.peek() {
                Some(Tok::Op(",")) => self.pos += 1,
                Some(Tok::Op("]")) => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return self.error("expected `,` or `]`"),
            }
        }
    }
}

/// A condition as a policy would write it, with values parsed for the operator.
fn cond(
    key: &str,
    key_span: Span,
    op: &str,
    values: Vec<(String, Span)>,
) -> Result<Condition, QueryError> {
    let op = Operator::parse(op).map_err(|_| QueryError {
        span: key_span,
        message: format!("internal: operator {op}"),
    })?;
    let mut vals = Vec::new();
    for (v, span) in values {
        let bad = |what: &str| QueryError {
            span,
            message: format!("`{v}` is not {what}"),
        };
        let cv = match op.base.family() {
            crate::operator::Family::String | crate::operator::Family::Arn => {
                CondValue::Text(Template::literal(&v))
            }
            crate::operator::Family::Numeric => {
                CondValue::Number(Decimal::parse(&v).ok_or_else(|| bad("a number"))?)
            }
            crate::operator::Family::Date => {
                CondValue::Date(parse_date(&v).ok_or_else(|| bad("a date"))?)
            }
            crate::operator::Family::Bool => {
                CondValue::Bool(crate::value::parse_bool(&v).ok_or_else(|| bad("true or false"))?)
            }
            crate::operator::Family::Null => {
                CondValue::Null(crate::value::parse_bool(&v).ok_or_else(|| bad("true or false"))?)
            }
            crate::operator::Family::Ip => {
                CondValue::Ip(Cidr::parse(&v).ok_or_else(|| bad("a CIDR block"))?)
            }
            crate::operator::Family::Binary => CondValue::Binary(v.clone()),
        };
        vals.push(Spanned::new(cv, span));
    }
    let _ = Base::Null;
    Ok(Condition {
        op,
        op_span: key_span,
        key: key.to_string(),
        key_span,
        values: vals,
        span: key_span,
    })
}

impl Expr {
    /// Every condition in the expression (for slot counting).
    pub fn conditions(&self) -> Vec<&Condition> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Cond(c) = e {
                out.push(c);
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.walk(f)),
            Expr::Not(e) => e.walk(f),
            _ => {}
        }
    }

    /// Principals named in the expression (they become candidate callers).
    pub fn principals(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Principal(p) = e {
                out.push(p.as_str());
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_mission_example() {
        let e = parse_expr(r#"resource like "arn:aws:s3:::CompanyConfidential*" and not aws:MultiFactorAuthPresent"#).unwrap();
        match e {
            Expr::And(v) => {
                assert_eq!(
                    v[0],
                    Expr::Or(vec![Expr::Resource(Glob::wild(
                        "arn:aws:s3:::CompanyConfidential*"
                    ))])
                );
                assert!(
                    matches!(&v[1], Expr::Not(b) if matches!(&**b, Expr::Cond(c) if c.op.base == Base::Bool))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn operators_map_to_iam_operators() {
        let op = |s: &str| match parse_expr(s).unwrap() {
            Expr::Cond(c) => c.op.name(),
            Expr::Not(b) => match *b {
                Expr::Cond(c) => format!("not {}", c.op.name()),
                other => format!("{other:?}"),
            },
            other => format!("{other:?}"),
        };
        assert_eq!(op("aws:SourceIp in 10.0.0.0/8"), "IpAddress");
        assert_eq!(op("s3:prefix like \"home/*\""), "StringLike");
        assert_eq!(op("s3:prefix not like \"home/*\""), "not StringLike");
        assert_eq!(op("aws:MultiFactorAuthAge < 3600"), "NumericLessThan");
        assert_eq!(
            op("aws:CurrentTime >= \"2024-01-01T00:00:00Z\""),
            "DateGreaterThanEquals"
        );
        assert_eq!(
            op("aws:RequestedRegion != \"us-east-1\""),
            "StringNotEquals"
        );
        assert_eq!(op("aws:SourceVpc present"), "Null");
        assert_eq!(op("aws:SecureTransport == false"), "Bool");
        assert_eq!(op("aws:PrincipalTag/team == \"dev\""), "StringEquals");
    }

    #[test]
    fn errors_point_at_the_problem() {
        for bad in [
            "",
            "aws:SourceIp in banana",
            "(aws:SecureTransport",
            "action",
            "aws:x <",
            "\"unterminated",
            "aws:a and or",
        ] {
            assert!(parse_expr(bad).is_err(), "{bad}");
        }
        let e = parse_expr("aws:SourceIp in banana").unwrap_err();
        assert_eq!(e.span.start, 16);
    }
}
