//! Strings that may contain policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`,
//! defaults `${aws:username, 'nobody'}`, and the escapes `${*}`, `${?}`, `${$}`.
//!
//! Source: IAM User Guide, "IAM policy elements: Variables and tags". Variables are only
//! recognised in documents with `"Version": "2012-10-17"`; elsewhere `${...}` is literal text.
//! A variable whose key is absent from the request (and has no default) makes the string
//! match nothing.

use crate::glob::Glob;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Source text; `*`/`?` in it are wildcards where the operator has wildcards.
    Text(String),
    /// A literal character from `${*}`, `${?}` or `${$}`.
    Escaped(char),
    Var(Var),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Var {
    /// The key as written; context keys compare case-insensitively.
    pub key: String,
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

/// A problem found while reading `${...}`; the template still parses (as literal text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateIssue {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn literal(s: &str) -> Template {
        Template {
            pieces: vec![Piece::Text(s.to_string())],
        }
    }

    /// Parse `s`; with `variables == false` (not a 2012-10-17 document) all of it is text.
    pub fn parse(s: &str, variables: bool) -> (Template, Vec<TemplateIssue>) {
        let mut issues = Vec::new();
        if !variables {
            return (Template::literal(s), issues);
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        let mut offset = 0;
        while let Some(i) = rest.find("${") {
            text.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(close) = after.find('}') else {
                issues.push(TemplateIssue {
                    offset: offset + i,
                    message: "`${` without a closing `}` is literal text".into(),
                });
                text.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let inner = &after[..close];
            let piece = match inner {
                "*" => Piece::Escaped('*'),
                "?" => Piece::Escaped('?'),
                "$" => Piece::Escaped('$'),
                _ => match parse_var(inner) {
                    Some(v) => Piece::Var(v),
                    None => {
                        issues.push(TemplateIssue {
                            offset: offset + i,
                            message: format!("`${{{inner}}}` is not a valid policy variable"),
                        });
                        text.push_str(&rest[i..i + 3 + close]);
                        offset += i + 3 + close;
                        rest = &after[close + 1..];
                        continue;
                    }
                },
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            offset += i + 3 + close;
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(text));
        }
        (Template { pieces }, issues)
    }

    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v),
            _ => None,
        })
    }

    pub fn has_vars(&self) -> bool {
        self.vars().next().is_some()
    }

    /// Substitute variables. `lookup` gives a key's single value; `None` when the key is absent.
    /// Returns `None` when a variable without default is absent: the string matches nothing.
    pub fn resolve(
        &self,
        wildcards: bool,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Glob> {
        let mut g = Glob::default();
        for p in &self.pieces {
            match p {
                Piece::Text(t) if wildcards => g.push_wild(t),
                Piece::Text(t) => g.push_literal(t),
                Piece::Escaped(c) => g.push_literal(&c.to_string()),
                Piece::Var(v) => match lookup(&v.key).or_else(|| v.default.clone()) {
                    Some(val) => g.push_literal(&val),
                    None => return None,
                },
            }
        }
        Some(g)
    }

    /// The template as a glob when it has no variables.
    pub fn as_glob(&self, wildcards: bool) -> Option<Glob> {
        if self.has_vars() {
            return None;
        }
        self.resolve(wildcards, &|_| None)
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => f.write_str(t)?,
                Piece::Escaped(c) => write!(f, "${{{c}}}")?,
                Piece::Var(Var { key, default: None }) => write!(f, "${{{key}}}")?,
                Piece::Var(Var {
                    key,
                    default: Some(d),
                }) => write!(f, "${{{key}, '{d}'}}")?,
            }
        }
        Ok(())
    }
}

/// `aws:username` or `aws:username, 'default'` (spaces around the comma are allowed).
fn parse_var(inner: &str) -> Option<Var> {
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.to_string()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty()
        && key.contains(':')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:/.@+=".contains(c));
    valid.then(|| Var {
        key: key.to_string(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_defaults_and_escapes() {
        let (t, issues) = Template::parse(
            "home/${aws:username, 'nobody'}/${*}x${aws:PrincipalTag/team}",
            true,
        );
        assert!(issues.is_empty());
        assert_eq!(
            t.pieces,
            vec![
                Piece::Text("home/".into()),
                Piece::Var(Var {
                    key: "aws:username".into(),
                    default: Some("nobody".into())
                }),
                Piece::Text("/".into()),
                Piece::Escaped('*'),
                Piece::Text("x".into()),
                Piece::Var(Var {
                    key: "aws:PrincipalTag/team".into(),
                    default: None
                }),
            ]
        );
    }

    #[test]
    fn old_versions_keep_text_literal() {
        let (t, _) = Template::parse("home/${aws:username}/*", false);
        assert!(!t.has_vars());
        let g = t.as_glob(true).unwrap();
        assert!(g.matches("home/${aws:username}/x", false));
        assert!(!g.matches("home/alice/x", false));
    }

    #[test]
    fn resolve_substitutes_literally_and_fails_on_missing() {
        let (t, _) = Template::parse("home/${aws:username}/*", true);
        let g = t
            .resolve(true, &|k| (k == "aws:username").then(|| "a*".to_string()))
            .unwrap();
        assert!(g.matches("home/a*/x", false));
        assert!(!g.matches("home/ab/x", false));
        assert!(t.resolve(true, &|_| None).is_none());
    }

    #[test]
    fn malformed_variables_are_reported_and_literal() {
        let (t, issues) = Template::parse("a${b", true);
        assert_eq!(issues.len(), 1);
        assert_eq!(t, Template::literal("a${b"));
        let (t, issues) = Template::parse("a${not a var}c", true);
        assert_eq!(issues.len(), 1);
        assert_eq!(t, Template::literal("a${not a var}c"));
    }
}
