//! The lexer shared by spec files and `--where` expressions: identifiers (which include
//! condition keys such as `aws:PrincipalTag/team`), quoted strings, bare numbers/CIDRs/dates,
//! operators and keywords. Comments run from `#` or `//` to the end of the line.

use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    /// A bare word starting with a digit: a number, a CIDR block, a date.
    Num(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Bang,
    AndAnd,
    OrOr,
    And,
    Or,
    Not,
    Like,
    In,
    Present,
    Absent,
    True,
    False,
    Assert,
    Can,
    Cannot,
    Subset,
    Equiv,
    Policy,
    Policies,
    Set,
    Include,
    Label,
    Severity,
    Glob,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "name `{s}`"),
            Tok::Str(s) => write!(f, "string \"{s}\""),
            Tok::Num(s) => write!(f, "`{s}`"),
            other => write!(f, "`{}`", keyword_text(other)),
        }
    }
}

const KEYWORDS: &[(&str, Tok)] = &[
    ("and", Tok::And),
    ("or", Tok::Or),
    ("not", Tok::Not),
    ("like", Tok::Like),
    ("in", Tok::In),
    ("present", Tok::Present),
    ("absent", Tok::Absent),
    ("true", Tok::True),
    ("false", Tok::False),
    ("assert", Tok::Assert),
    ("can", Tok::Can),
    ("cannot", Tok::Cannot),
    ("subset", Tok::Subset),
    ("equiv", Tok::Equiv),
    ("policy", Tok::Policy),
    ("policies", Tok::Policies),
    ("set", Tok::Set),
    ("include", Tok::Include),
    ("label", Tok::Label),
    ("severity", Tok::Severity),
    ("glob", Tok::Glob),
];

const PUNCT: &[(&str, Tok)] = &[
    ("==", Tok::EqEq),
    ("!=", Tok::NotEq),
    ("<=", Tok::Le),
    (">=", Tok::Ge),
    ("&&", Tok::AndAnd),
    ("||", Tok::OrOr),
    ("(", Tok::LParen),
    (")", Tok::RParen),
    ("[", Tok::LBracket),
    ("]", Tok::RBracket),
    ("{", Tok::LBrace),
    ("}", Tok::RBrace),
    (",", Tok::Comma),
    ("=", Tok::Assign),
    ("<", Tok::Lt),
    (">", Tok::Gt),
    ("!", Tok::Bang),
];

fn keyword_text(t: &Tok) -> &'static str {
    KEYWORDS
        .iter()
        .chain(PUNCT.iter())
        .find(|(_, k)| k == t)
        .map_or("?", |(s, _)| s)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub span: Span,
    pub message: String,
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_:./-".contains(c)
}

/// Tokens with their byte ranges, as lalrpop's external-lexer interface wants them.
pub fn lex(src: &str) -> Vec<Result<(usize, Tok, usize), LexError>> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    'outer: while i < b.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if c == '#' || src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        for (p, t) in PUNCT {
            if src[i..].starts_with(p) {
                out.push(Ok((i, t.clone(), i + p.len())));
                i += p.len();
                continue 'outer;
            }
        }
        let start = i;
        if c == '"' || c == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                let Some(ch) = src[i..].chars().next() else {
                    out.push(Err(LexError {
                        span: Span::new(start, src.len()),
                        message: "unterminated string".into(),
                    }));
                    return out;
                };
                i += ch.len_utf8();
                if ch == c {
                    break;
                }
                if ch == '\\' {
                    if let Some(n) = src[i..].chars().next() {
                        s.push(n);
                        i += n.len_utf8();
                        continue;
                    }
                }
                s.push(ch);
            }
            out.push(Ok((start, Tok::Str(s), i)));
            continue;
        }
        if c.is_ascii_digit() {
            while let Some(ch) = src[i..].chars().next() {
                if ch.is_ascii_alphanumeric() || ".:/-+_".contains(ch) {
                    i += ch.len_utf8();
                } else {
                    break;
                }
            }
            out.push(Ok((start, Tok::Num(src[start..i].to_string()), i)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while let Some(ch) = src[i..].chars().next() {
                if ident_char(ch) {
                    i += ch.len_utf8();
                } else {
                    break;
                }
            }
            let w = &src[start..i];
            let tok = KEYWORDS
                .iter()
                .find(|(k, _)| *k == w)
                .map_or_else(|| Tok::Ident(w.to_string()), |(_, t)| t.clone());
            out.push(Ok((start, tok, i)));
            continue;
        }
        out.push(Err(LexError {
            span: Span::new(start, start + c.len_utf8()),
            message: format!("unexpected character `{c}`"),
        }));
        return out;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_keys_cidrs_and_keywords() {
        let toks: Vec<Tok> =
            lex("aws:SourceIp in 10.0.0.0/8 and not aws:PrincipalTag/team == \"x\" # c")
                .into_iter()
                .map(|r| r.unwrap().1)
                .collect();
        assert_eq!(
            toks,
            vec![
                Tok::Ident("aws:SourceIp".into()),
                Tok::In,
                Tok::Num("10.0.0.0/8".into()),
                Tok::And,
                Tok::Not,
                Tok::Ident("aws:PrincipalTag/team".into()),
                Tok::EqEq,
                Tok::Str("x".into()),
            ]
        );
    }

    #[test]
    fn reports_bad_characters_and_unterminated_strings() {
        assert!(lex("a @ b").iter().any(Result::is_err));
        assert!(lex("\"abc").iter().any(Result::is_err));
    }
}
