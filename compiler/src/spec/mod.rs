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
    #[allow(clippy::all, clippy::pedantic, unused)]
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

/// Parse a spec file's text.
pub fn parse_spec(src: &str) -> Result<Vec<Item>, SpecError> {
    grammar::SpecParser::new()
        .parse(tokens(src))
        .map_err(|e| convert(e, src.len()))
}

/// Parse a query expression.
pub fn parse_expr(src: &str) -> Result<Expr, QueryError> {
    grammar::QueryParser::new().parse(tokens(src)).map_err(|e| {
        let e = convert(e, src.len());
        QueryError {
            span: e.span,
            message: e.message,
        }
    })
}
