//! The spec language: one lalrpop grammar (`grammar.lalrpop`) for spec files and for the
//! `--where` expressions of `tarski can`, one lexer (`lexer.rs`), the AST (`ast.rs`) and the
//! semantic checks (`check.rs`). Parse errors carry byte spans; nothing here panics on input.

pub mod ast;
pub mod check;
pub mod lexer;

use lalrpop_util::{lalrpop_mod, ParseError};

use crate::query::{build_cmp, CmpOp, Expr, QueryError, Val};
use crate::span::{Span, Spanned};
use ast::{Assertion, Item, Level, Meta, Quantifier};
use lexer::Tok;

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, clippy::restriction, unused)]
    grammar,
    "/spec/grammar.rs"
);

/// A parse error in a spec or expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub span: Span,
    pub message: String,
}

impl From<QueryError> for SpecError {
    fn from(e: QueryError) -> SpecError {
        SpecError {
            span: e.span,
            message: e.message,
        }
    }
}

pub(crate) fn cmp(
    k: Spanned<String>,
    op: CmpOp,
    v: Vec<Val>,
    list: bool,
) -> Result<Expr, ParseError<usize, Tok, SpecError>> {
    build_cmp(&k.value, k.span, op, v, list).map_err(|e| ParseError::User { error: e.into() })
}

pub(crate) fn assertion(
    q: Quantifier,
    subjects: Vec<Spanned<String>>,
    constraint: Option<Expr>,
    meta: Vec<Meta>,
    l: usize,
    r: usize,
) -> Assertion {
    let mut a = Assertion {
        quantifier: q,
        subjects,
        constraint,
        label: None,
        severity: Level::Error,
        severity_word: None,
        span: Span::new(l, r),
    };
    for m in meta {
        match m {
            Meta::Label(s) => a.label = Some(s),
            Meta::Severity(s) => {
                a.severity_word = Some(s.clone());
                a.severity = match s.value.as_str() {
                    "info" => Level::Info,
                    "warning" => Level::Warning,
                    _ => Level::Error,
                }
            }
        }
    }
    a
}

fn describe_expected(expected: &[String]) -> String {
    let mut e: Vec<String> = expected
        .iter()
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    e.sort();
    e.dedup();
    if e.len() > 8 {
        e.truncate(8);
        e.push("...".into());
    }
    e.join(", ")
}

fn convert(e: ParseError<usize, Tok, SpecError>, len: usize) -> SpecError {
    match e {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => SpecError {
            span: Span::new(location, location + 1),
            message: "invalid token".into(),
        },
        ParseError::UnrecognizedEof { location, expected } => SpecError {
            span: Span::new(location.min(len), len),
            message: format!(
                "unexpected end of input; expected one of: {}",
                describe_expected(&expected)
            ),
        },
        ParseError::UnrecognizedToken {
            token: (l, t, r),
            expected,
        } => SpecError {
            span: Span::new(l, r),
            message: format!(
                "unexpected {t}; expected one of: {}",
                describe_expected(&expected)
            ),
        },
        ParseError::ExtraToken { token: (l, t, r) } => SpecError {
            span: Span::new(l, r),
            message: format!("unexpected {t}"),
        },
    }
}

fn tokens(src: &str) -> Vec<Result<(usize, Tok, usize), SpecError>> {
    lexer::lex(src)
        .into_iter()
        .map(|r| {
            r.map_err(|e| SpecError {
                span: e.span,
                message: e.message,
            })
        })
        .collect()
}

/// Deepest nesting of expressions (parentheses, brackets, braces, `not`) accepted. Real specs
/// nest a handful of levels; the checks and the lowering recurse once per level, so 10,000
/// nested `not` overflowed a worker's stack and aborted (issue 15, finding 8).
pub const MAX_NESTING: usize = 100;

/// Refuse input nested deeper than `MAX_NESTING`, before the parser builds the tree. Counted
/// on tokens: a bracket opens a level (closed by its partner); a `not` adds one until the next
/// `and`, `or` or `,` at its level.
fn check_nesting(toks: &[Result<(usize, Tok, usize), SpecError>]) -> Result<(), SpecError> {
    let mut depth = 0usize;
    let mut base = 0usize;
    let mut open: Vec<(usize, usize)> = Vec::new();
    for (l, t, r) in toks.iter().flatten() {
        match t {
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                open.push((depth, base));
                depth += 1;
                base = depth;
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                (depth, base) = open.pop().unwrap_or((0, 0));
            }
            Tok::Not | Tok::Bang => depth += 1,
            Tok::And | Tok::Or | Tok::AndAnd | Tok::OrOr | Tok::Comma => depth = base,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(SpecError {
                span: Span::new(*l, *r),
                message: format!("expression nested deeper than {MAX_NESTING} levels"),
            });
        }
    }
    Ok(())
}

/// Parse a spec file's text.
pub fn parse_spec(src: &str) -> Result<Vec<Item>, SpecError> {
    let toks = tokens(src);
    check_nesting(&toks)?;
    grammar::SpecParser::new()
        .parse(toks)
        .map_err(|e| convert(e, src.len()))
}

/// Parse a query expression.
pub fn parse_expr(src: &str) -> Result<Expr, QueryError> {
    let toks = tokens(src);
    check_nesting(&toks).map_err(|e| QueryError {
        span: e.span,
        message: e.message,
    })?;
    grammar::QueryParser::new().parse(toks).map_err(|e| {
        let e = convert(e, src.len());
        QueryError {
            span: e.span,
            message: e.message,
        }
    })
}

#[cfg(test)]
mod nesting_tests {
    use super::{parse_expr, parse_spec, MAX_NESTING};

    /// Issue 15 finding 8: 10,000 nested `not` (40 KB) overflowed the stack in `verify`.
    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        let deep = format!("{}action == \"s3:GetObject\"", "not ".repeat(10_000));
        let e = parse_expr(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper than"), "{e:?}");
        let spec = format!("policy p = \"p.json\"\nassert cannot(p, {deep})\n");
        let e = parse_spec(&spec).unwrap_err();
        assert!(e.message.contains("nested deeper than"), "{e:?}");
        let parens = format!(
            "{}action == \"a:b\"{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(parse_expr(&parens).is_err());
        let set = format!(
            "set s = {{ scps = {}{} }}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_spec(&set).is_err());
        // At the limit, and long flat chains, are fine.
        let ok = format!("{}action == \"a:b\"", "not ".repeat(MAX_NESTING));
        assert!(parse_expr(&ok).is_ok());
        let chain = vec!["not action == \"a:b\""; 10_000].join(" and ");
        assert!(parse_expr(&chain).is_ok());
    }
}
