//! The query expression language of `tarski can --where EXPR` and of spec files (grammar in
//! `spec/grammar.lalrpop`, one parser for both):
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
use crate::operator::Operator;
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

/// A comparison operator as written in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// A bare key: the Bool key is true.
    Bare,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    In,
    NotIn,
    Present,
    Absent,
}

/// A value as written: its text, whether it was quoted, where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Val {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

/// Parse a query expression (the `--where` language; same grammar as spec files).
pub fn parse_expr(src: &str) -> Result<Expr, QueryError> {
    crate::spec::parse_expr(src)
}

/// Build the expression for one comparison `key op values` (called by the grammar).
/// `list` says the values were written as a `[...]` list.
pub fn build_cmp(
    key: &str,
    key_span: Span,
    op: CmpOp,
    vals: Vec<Val>,
    list: bool,
) -> Result<Expr, QueryError> {
    let err = |span: Span, m: String| Err(QueryError { span, message: m });
    let lname = key.to_ascii_lowercase();
    if ["action", "resource", "principal"].contains(&lname.as_str()) {
        // A principal is compared exactly, as AWS compares a Principal element ("You cannot use
        // a wildcard to match part of a principal name or ARN"); `*` or `?` inside one would
        // silently match no caller, so a pattern is refused with the key that takes one.
        if lname == "principal" {
            if let Some(v) = vals
                .iter()
                .find(|v| v.text != "*" && v.text.contains(['*', '?']))
            {
                return err(
                    v.span,
                    format!(
                        "`principal` is compared exactly, not as a pattern; to match callers by \
                         pattern compare their ARN: `aws:PrincipalArn like \"{}\"` (for a role \
                         session, aws:PrincipalArn is the role's ARN)",
                        v.text
                    ),
                );
            }
        }
        let one = |v: &str| match lname.as_str() {
            "action" => Expr::Action(Glob::wild(v).to_lowercase()),
            "resource" => Expr::Resource(Glob::wild(v)),
            _ => Expr::Principal(v.to_string()),
        };
        let any = Expr::Or(vals.iter().map(|v| one(&v.text)).collect());
        return match op {
            CmpOp::Eq | CmpOp::Like | CmpOp::In => Ok(any),
            CmpOp::Ne | CmpOp::NotLike | CmpOp::NotIn => Ok(Expr::Not(Box::new(any))),
            CmpOp::Bare => err(
                key_span,
                format!("`{key}` needs a comparison, e.g. `{key} like \"...\"`"),
            ),
            _ => err(
                key_span,
                format!("this comparison does not apply to `{key}`; use ==, !=, like or in"),
            ),
        };
    }
    let first = vals.first().cloned().unwrap_or(Val {
        text: String::new(),
        quoted: false,
        span: key_span,
    });
    let pairs = |vals: &[Val]| {
        vals.iter()
            .map(|v| (v.text.clone(), v.span))
            .collect::<Vec<_>>()
    };
    let negate = |e: Expr| Expr::Not(Box::new(e));
    let c = |op: &str, vals: Vec<(String, Span)>| cond(key, key_span, op, vals).map(Expr::Cond);
    match op {
        CmpOp::Bare => c("Bool", vec![("true".into(), key_span)]),
        CmpOp::Present => c("Null", vec![("false".into(), key_span)]),
        CmpOp::Absent => c("Null", vec![("true".into(), key_span)]),
        CmpOp::Like => c("StringLike", pairs(&vals)),
        CmpOp::NotLike => c("StringLike", pairs(&vals)).map(negate),
        CmpOp::In | CmpOp::NotIn => {
            let e = if list {
                c("StringEquals", pairs(&vals))?
            } else {
                if Cidr::parse(&first.text).is_none() {
                    return err(first.span, format!("`{}` is not a CIDR block; use `in [\"a\", \"b\"]` for a list of strings", first.text));
                }
                c("IpAddress", pairs(&vals))?
            };
            Ok(if op == CmpOp::NotIn { negate(e) } else { e })
        }
        CmpOp::Eq | CmpOp::Ne => {
            let neg = op == CmpOp::Ne;
            let is_bool = !first.quoted && (first.text == "true" || first.text == "false");
            if is_bool {
                let e = c("Bool", pairs(&vals))?;
                return Ok(if neg { negate(e) } else { e });
            }
            let name = if !first.quoted && Decimal::parse(&first.text).is_some() {
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
            c(name, pairs(&vals))
        }
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let family = if !first.quoted && Decimal::parse(&first.text).is_some() {
                "Numeric"
            } else if parse_date(&first.text).is_some() {
                "Date"
            } else {
                return err(
                    first.span,
                    format!("`{}` is neither a number nor a date", first.text),
                );
            };
            let suffix = match op {
                CmpOp::Lt => "LessThan",
                CmpOp::Le => "LessThanEquals",
                CmpOp::Gt => "GreaterThan",
                _ => "GreaterThanEquals",
            };
            c(&format!("{family}{suffix}"), pairs(&vals))
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
    use crate::operator::Base;

    /// Issue 10: `not (principal like "arn:aws:iam::*:user/*")` once held for every caller (the
    /// text was compared as one exact principal), so its witness was a user.
    #[test]
    fn a_principal_pattern_is_refused_with_the_key_that_takes_one() {
        for src in [
            r#"principal like "arn:aws:iam::*:user/*""#,
            r#"not (principal like "arn:aws:iam::*:user/*")"#,
            r#"principal in ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/?"]"#,
        ] {
            let e = parse_expr(src).unwrap_err();
            assert!(
                e.message.contains("aws:PrincipalArn like"),
                "{src}: {}",
                e.message
            );
            assert!(
                src[e.span.start as usize..].starts_with('"'),
                "{src}: {:?}",
                e.span
            );
        }
        // Exact principals, `*` (everyone) and the pattern on the ARN key still parse.
        for src in [
            r#"principal == "arn:aws:iam::111122223333:user/alice""#,
            r#"principal == "*""#,
            r#"not (aws:PrincipalArn like "arn:aws:iam::*:user/*")"#,
        ] {
            parse_expr(src).unwrap();
        }
    }

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
