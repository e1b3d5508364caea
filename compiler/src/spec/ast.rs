//! Spec files (`.tq`): declarations of policies, policy globs and policy sets, and assertions
//! about them.

use crate::query::Expr;
use crate::span::{Span, Spanned};

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `include "other.tq"`
    Include(Spanned<String>),
    /// `policy NAME = [KIND] "path.json"`
    Policy {
        name: Spanned<String>,
        kind: Option<Spanned<String>>,
        path: Spanned<String>,
    },
    /// `policies NAME = [KIND] glob "dir/*.json"`: each matching file is checked separately.
    Policies {
        name: Spanned<String>,
        kind: Option<Spanned<String>>,
        pattern: Spanned<String>,
    },
    /// `set NAME = { identity = [a, "b.json"], boundary = c, scps = [[x], [y]], ... }`
    Set {
        name: Spanned<String>,
        fields: Vec<(Spanned<String>, SetValue)>,
    },
    /// `set NAME = "manifest.json"`
    SetManifest {
        name: Spanned<String>,
        path: Spanned<String>,
    },
    Assert(Assertion),
}

/// A reference to a policy: a declared name or a file path.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    Name(Spanned<String>),
    Path(Spanned<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    One(Ref),
    List(Vec<SetValue>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// Some allowed request meets the constraint.
    Can,
    /// No allowed request meets the constraint.
    Cannot,
    /// Everything the first allows, the second allows.
    Subset,
    /// Both allow the same requests.
    Equiv,
}

impl Quantifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Quantifier::Can => "can",
            Quantifier::Cannot => "cannot",
            Quantifier::Subset => "subset",
            Quantifier::Equiv => "equiv",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub quantifier: Quantifier,
    pub subjects: Vec<Spanned<String>>,
    pub constraint: Option<Expr>,
    pub label: Option<String>,
    pub severity: Level,
    /// The severity as written, for checking.
    pub severity_word: Option<Spanned<String>>,
    pub span: Span,
}

/// `label "..."` or `severity error` after an assertion.
#[derive(Clone, Debug, PartialEq)]
pub enum Meta {
    Label(String),
    Severity(Spanned<String>),
}
