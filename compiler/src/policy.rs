//! The policy document AST. Every node keeps the span it came from so that diagnostics,
//! explanations and witnesses can point at the statement a reviewer must fix.
//!
//! Grammar: IAM User Guide, "Grammar of the IAM JSON policy language" and "IAM JSON policy
//! element reference".

use crate::glob::Glob;
use crate::operator::Operator;
use crate::span::{Span, Spanned};
use crate::template::Template;
use crate::value::{Cidr, Decimal, Instant};

/// Where a policy is attached; decides which elements are required and how it combines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Identity,
    Resource,
    Trust,
    Scp,
    Rcp,
    Boundary,
    Session,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 7] = [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
        PolicyKind::Scp,
        PolicyKind::Rcp,
        PolicyKind::Boundary,
        PolicyKind::Session,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity",
            PolicyKind::Resource => "resource",
            PolicyKind::Trust => "trust",
            PolicyKind::Scp => "scp",
            PolicyKind::Rcp => "rcp",
            PolicyKind::Boundary => "boundary",
            PolicyKind::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Resource-based kinds name a principal; the others apply to the caller.
    pub fn has_principal(self) -> bool {
        matches!(
            self,
            PolicyKind::Resource | PolicyKind::Trust | PolicyKind::Rcp
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: policy variables are recognised.
    V2012,
    /// `2008-10-17`: `${...}` is literal text.
    V2008,
    /// No `Version`: AWS treats it as `2008-10-17`.
    Missing,
}

impl Version {
    pub fn variables(self) -> bool {
        self == Version::V2012
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub kind: PolicyKind,
    /// True when `kind` was inferred from the document rather than given.
    pub kind_inferred: bool,
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Position in the document's `Statement` list, from 0.
    pub index: usize,
    pub sid: Option<Spanned<String>>,
    pub effect: Effect,
    pub principal: Option<PrincipalElem>,
    pub action: ActionElem,
    /// `None` for resource-based policies that omit it (the attached resource is implied).
    pub resource: Option<ResourceElem>,
    pub conditions: Vec<Condition>,
    pub span: Span,
}

impl Statement {
    /// `Sid` if present, else `#index`.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.value.is_empty() => s.value.clone(),
            _ => format!("#{}", self.index),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionElem {
    /// `NotAction`.
    pub negated: bool,
    pub patterns: Vec<Spanned<ActionPattern>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionPattern {
    pub raw: String,
    /// Lower-cased: actions match case-insensitively ("IAM JSON policy elements: Action").
    pub glob: Glob,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceElem {
    /// `NotResource`.
    pub negated: bool,
    pub patterns: Vec<Spanned<Template>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrincipalElem {
    /// `NotPrincipal`.
    pub negated: bool,
    pub entries: Vec<Spanned<PrincipalEntry>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalEntry {
    /// `"Principal": "*"` or `{"AWS": "*"}`: everyone, including anonymous callers.
    Any,
    Aws(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub op: Operator,
    pub op_span: Span,
    /// The key as written; keys compare case-insensitively.
    pub key: String,
    pub key_span: Span,
    pub values: Vec<Spanned<CondValue>>,
    pub span: Span,
}

/// A policy-side condition value, parsed for its operator's family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CondValue {
    /// String and ARN operators (may hold policy variables).
    Text(Template),
    Number(Decimal),
    Date(Instant),
    Bool(bool),
    Ip(Cidr),
    /// Base64 text, compared as text.
    Binary(String),
    /// `Null`: `true` means "the key is absent".
    Null(bool),
}
