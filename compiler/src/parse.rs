//! JSON → policy AST, with validation. Never fails and never panics: it returns the policy it
//! could read (if any) and every problem it found. A document with an error-severity diagnostic
//! has no policy.
//!
//! Rules come from the IAM User Guide's "IAM JSON policy element reference" and "Grammar of the
//! IAM JSON policy language"; each check names the element it is about.

use crate::diagnostic::{Code, Diagnostic};
use crate::glob::Glob;
use crate::json::{Json, JsonKind, Member};
use crate::operator::{Base, Family, Operator, OperatorError};
use crate::policy::*;
use crate::span::{Span, Spanned};
use crate::template::Template;
use crate::value::{is_base64, parse_bool, parse_date, split_arn, Cidr, Decimal};

/// The result of reading one document.
#[derive(Debug)]
pub struct Parsed {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

const TOP_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// Read a policy document from its JSON. `kind` is what the user said; `None` infers it
/// (a `Principal`/`NotPrincipal` anywhere makes it a resource policy, or a trust policy when
/// every action is `sts:AssumeRole*`).
pub fn parse_policy(doc: &Json, kind: Option<PolicyKind>) -> Parsed {
    let mut p = Reader { diags: Vec::new() };
    let policy = p.policy(doc, kind);
    let policy = if p.diags.iter().any(Diagnostic::is_error) {
        None
    } else {
        policy
    };
    Parsed {
        policy,
        diagnostics: p.diags,
    }
}

struct Reader {
    diags: Vec<Diagnostic>,
}

fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                crate::operator::edit_distance(&key.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                *k,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// A string, or an array of strings (the common shape of `Action`, `Resource`, principals).
fn string_list(v: &Json) -> Result<Vec<Spanned<String>>, (Span, String)> {
    match &v.kind {
        JsonKind::String(s) => Ok(vec![Spanned::new(s.clone(), v.span)]),
        JsonKind::Array(items) => items
            .iter()
            .map(|i| match &i.kind {
                JsonKind::String(s) => Ok(Spanned::new(s.clone(), i.span)),
                _ => Err((
                    i.span,
                    format!("expected a string, found {}", i.type_name()),
                )),
            })
            .collect(),
        _ => Err((
            v.span,
            format!(
                "expected a string or an array of strings, found {}",
                v.type_name()
            ),
        )),
    }
}

impl Reader {
    fn error(&mut self, code: Code, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, span, msg));
    }

    fn warn(&mut self, code: Code, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(code, span, msg));
    }

    fn unknown_keys(&mut self, members: &[Member], known: &[&str], what: &str) {
        for m in members {
            if !known.contains(&m.key.as_str()) {
                let mut d = Diagnostic::error(
                    Code::UnknownElement,
                    m.key_span,
                    format!("unknown {what} element `{}`", m.key),
                );
                if let Some(k) = closest(&m.key, known) {
                    d = d.with_note(format!(
                        "help: did you mean `{k}`? (element names are case-sensitive)"
                    ));
                }
                self.diags.push(d);
            }
        }
    }

    fn policy(&mut self, doc: &Json, kind: Option<PolicyKind>) -> Option<Policy> {
        let Some(members) = doc.as_object() else {
            self.error(
                Code::WrongType,
                doc.span,
                format!(
                    "a policy document must be a JSON object, found {}",
                    doc.type_name()
                ),
            );
            return None;
        };
        self.unknown_keys(members, TOP_KEYS, "policy");
        let version = match doc.get("Version") {
            None => Version::Missing,
            Some(v) => match v.as_str() {
                Some("2012-10-17") => Version::V2012,
                Some("2008-10-17") => Version::V2008,
                _ => {
                    self.error(
                        Code::BadVersion,
                        v.span,
                        "`Version` must be \"2012-10-17\" or \"2008-10-17\"",
                    );
                    Version::Missing
                }
            },
        };
        let id = match doc.get("Id") {
            None => None,
            Some(v) => match v.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    self.error(Code::WrongType, v.span, "`Id` must be a string");
                    None
                }
            },
        };
        let Some(stmts) = doc.get("Statement") else {
            self.error(
                Code::NoStatement,
                doc.span,
                "the policy has no `Statement` element",
            );
            return None;
        };
        let stmt_jsons: Vec<&Json> = match &stmts.kind {
            JsonKind::Object(_) => vec![stmts],
            JsonKind::Array(items) => items.iter().collect(),
            _ => {
                self.error(
                    Code::WrongType,
                    stmts.span,
                    format!(
                        "`Statement` must be an object or an array of objects, found {}",
                        stmts.type_name()
                    ),
                );
                return None;
            }
        };
        let kind_given = kind;
        let kind = kind.unwrap_or_else(|| infer_kind(&stmt_jsons));
        let mut statements = Vec::new();
        for (index, s) in stmt_jsons.into_iter().enumerate() {
            if let Some(st) = self.statement(s, index, kind, version) {
                statements.push(st);
            }
        }
        Some(Policy {
            kind,
            kind_inferred: kind_given.is_none(),
            version,
            id,
            statements,
            span: doc.span,
        })
    }

    fn statement(
        &mut self,
        s: &Json,
        index: usize,
        kind: PolicyKind,
        version: Version,
    ) -> Option<Statement> {
        let Some(members) = s.as_object() else {
            self.error(
                Code::WrongType,
                s.span,
                format!("a statement must be a JSON object, found {}", s.type_name()),
            );
            return None;
        };
        self.unknown_keys(members, STATEMENT_KEYS, "statement");
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();

        let sid = match s.get("Sid") {
            None => None,
            Some(v) => match v.as_str() {
                Some(x) => Some(Spanned::new(x.to_string(), v.span)),
                None => {
                    self.error(Code::WrongType, v.span, "`Sid` must be a string");
                    None
                }
            },
        };

        let effect = match s.get("Effect") {
            None => {
                self.error(Code::BadEffect, s.span, "statement has no `Effect`");
                None
            }
            Some(v) => match v.as_str() {
                Some("Allow") => Some(Effect::Allow),
                Some("Deny") => Some(Effect::Deny),
                _ => {
                    let mut d = Diagnostic::error(
                        Code::BadEffect,
                        v.span,
                        "`Effect` must be \"Allow\" or \"Deny\"",
                    );
                    if let Some(x) = v.as_str() {
                        if x.eq_ignore_ascii_case("allow") || x.eq_ignore_ascii_case("deny") {
                            d = d.with_note("help: the value is case-sensitive");
                        }
                    }
                    self.diags.push(d);
                    None
                }
            },
        };

        let principal = self.principal(s, kind);
        let action = self.action(s);
        let resource = self.resource(s, kind, version);
        let conditions = self.conditions(s, version);

        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return None;
        }
        Some(Statement {
            index,
            sid,
            effect: effect?,
            principal,
            action: action?,
            resource,
            conditions,
            span: s.span,
        })
    }

    /// One of `X` / `NotX`: returns (negated, value). Both or neither is reported.
    fn pair<'j>(
        &mut self,
        s: &'j Json,
        pos: &str,
        neg: &str,
        required: bool,
        code: Code,
    ) -> Option<(bool, &'j Json)> {
        match (s.get(pos), s.get(neg)) {
            (Some(_), Some(n)) => {
                self.error(
                    code,
                    n.span,
                    format!("a statement cannot have both `{pos}` and `{neg}`"),
                );
                None
            }
            (Some(p), None) => Some((false, p)),
            (None, Some(n)) => Some((true, n)),
            (None, None) => {
                if required {
                    self.error(
                        code,
                        s.span,
                        format!("statement has neither `{pos}` nor `{neg}`"),
                    );
                }
                None
            }
        }
    }

    /// An `X`/`NotX` element holding a non-empty string or list of strings.
    fn element<'j>(
        &mut self,
        s: &'j Json,
        (pos, neg): (&str, &str),
        required: bool,
        code: Code,
        what: &str,
    ) -> Option<(bool, &'j Json, Vec<Spanned<String>>)> {
        let (negated, v) = self.pair(s, pos, neg, required, code)?;
        let items = match string_list(v) {
            Ok(i) => i,
            Err((span, msg)) => {
                self.error(Code::WrongType, span, msg);
                return None;
            }
        };
        if items.is_empty() {
            self.error(code, v.span, format!("the {what} list is empty"));
            return None;
        }
        Some((negated, v, items))
    }

    fn action(&mut self, s: &Json) -> Option<ActionElem> {
        let (negated, v, items) =
            self.element(s, ("Action", "NotAction"), true, Code::BadAction, "action")?;
        let mut patterns = Vec::new();
        for it in items {
            if let Some(why) = action_syntax_error(&it.value) {
                let mut d = Diagnostic::error(
                    Code::MalformedAction,
                    it.span,
                    format!("invalid action `{}`: {why}", it.value),
                );
                d = d.with_note("help: actions are `*` or `service:action`, e.g. `s3:GetObject` or `ec2:Describe*`");
                self.diags.push(d);
                continue;
            }
            patterns.push(Spanned::new(
                ActionPattern {
                    glob: Glob::wild(&it.value).to_lowercase(),
                    raw: it.value,
                },
                it.span,
            ));
        }
        Some(ActionElem {
            negated,
            patterns,
            span: v.span,
        })
    }

    fn resource(&mut self, s: &Json, kind: PolicyKind, version: Version) -> Option<ResourceElem> {
        // Resource-based and trust policies may omit it: the policy's own resource is implied.
        let required = !matches!(
            kind,
            PolicyKind::Resource | PolicyKind::Trust | PolicyKind::Scp | PolicyKind::Rcp
        );
        let (negated, v, items) = self.element(
            s,
            ("Resource", "NotResource"),
            required,
            Code::BadResourceElement,
            "resource",
        )?;
        let mut patterns = Vec::new();
        for it in items {
            if it.value.is_empty() {
                self.error(Code::MalformedResource, it.span, "empty resource");
                continue;
            }
            if it.value != "*" && !it.value.starts_with("arn:") && !it.value.contains("${") {
                self.error(Code::MalformedResource, it.span, format!("invalid resource `{}`: expected `*` or an ARN (`arn:partition:service:region:account:resource`)", it.value));
                continue;
            }
            if it.value.starts_with("arn:")
                && split_arn(&it.value).is_none()
                && !it.value.contains('*')
            {
                self.error(
                    Code::MalformedResource,
                    it.span,
                    format!(
                        "invalid resource ARN `{}`: an ARN has six colon-separated parts",
                        it.value
                    ),
                );
                continue;
            }
            let t = self.template(&it, version);
            patterns.push(Spanned::new(t, it.span));
        }
        Some(ResourceElem {
            negated,
            patterns,
            span: v.span,
        })
    }

    fn template(&mut self, it: &Spanned<String>, version: Version) -> Template {
        let (t, issues) = Template::parse(&it.value, version.variables());
        for i in issues {
            self.warn(Code::MalformedVariable, it.span, i.message);
        }
        if !version.variables() && it.value.contains("${") {
            let d = Diagnostic::warning(
                Code::VariableWithoutVersion,
                it.span,
                "policy variable in a document without `\"Version\": \"2012-10-17\"` is literal text",
            )
            .with_note("help: add `\"Version\": \"2012-10-17\"` to the policy to use policy variables");
            self.diags.push(d);
        }
        t
    }

    fn principal(&mut self, s: &Json, kind: PolicyKind) -> Option<PrincipalElem> {
        let present = s.get("Principal").or_else(|| s.get("NotPrincipal"));
        if !kind.has_principal() {
            if let Some(v) = present {
                self.error(
                    Code::PrincipalNotAllowed,
                    v.span,
                    format!("{} {} policy cannot have `Principal` or `NotPrincipal`: it applies to the principal it is attached to", if kind.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }, kind.as_str()),
                );
            }
            return None;
        }
        let required = kind != PolicyKind::Rcp;
        let (negated, v) = self.pair(
            s,
            "Principal",
            "NotPrincipal",
            required,
            Code::PrincipalMissing,
        )?;
        let mut entries = Vec::new();
        match &v.kind {
            JsonKind::String(x) if x == "*" => entries.push(Spanned::new(PrincipalEntry::Any, v.span)),
            JsonKind::Object(members) => {
                if members.is_empty() {
                    self.error(Code::BadPrincipal, v.span, "the principal map is empty");
                }
                for m in members {
                    let make: fn(String) -> PrincipalEntry = match m.key.as_str() {
                        "AWS" => PrincipalEntry::Aws,
                        "Service" => PrincipalEntry::Service,
                        "Federated" => PrincipalEntry::Federated,
                        "CanonicalUser" => PrincipalEntry::CanonicalUser,
                        other => {
                            self.error(Code::BadPrincipal, m.key_span, format!("unknown principal type `{other}`; expected `AWS`, `Service`, `Federated` or `CanonicalUser`"));
                            continue;
                        }
                    };
                    match string_list(&m.value) {
                        Ok(items) => {
                            for it in items {
                                if let Some(why) = principal_syntax_error(&m.key, &it.value) {
                                    self.error(Code::BadPrincipal, it.span, format!("invalid principal `{}`: {why}", it.value));
                                    continue;
                                }
                                if m.key == "AWS" && it.value != "*" && it.value.contains('*') {
                                    // "You cannot use a wildcard to match part of a principal name or
                                    // ARN" (IAM JSON policy elements: Principal): it is literal text.
                                    self.diags.push(
                                        Diagnostic::warning(Code::WildcardInPrincipal, it.span, format!("`*` inside the principal `{}` is not a wildcard: it only matches this exact text", it.value))
                                            .with_note("help: to match principals by pattern, use `\"Principal\": \"*\"` with an `ArnLike` condition on `aws:PrincipalArn`"),
                                    );
                                }
                                let e = if m.key == "AWS" && it.value == "*" {
                                    PrincipalEntry::Any
                                } else {
                                    make(it.value)
                                };
                                entries.push(Spanned::new(e, it.span));
                            }
                        }
                        Err((span, msg)) => self.error(Code::WrongType, span, msg),
                    }
                }
            }
            _ => self.error(Code::BadPrincipal, v.span, "`Principal` must be \"*\" or a map of `AWS`, `Service`, `Federated`, `CanonicalUser`"),
        }
        Some(PrincipalElem {
            negated,
            entries,
            span: v.span,
        })
    }

    fn conditions(&mut self, s: &Json, version: Version) -> Vec<Condition> {
        let mut out = Vec::new();
        let Some(block) = s.get("Condition") else {
            return out;
        };
        let Some(ops) = block.as_object() else {
            self.error(
                Code::BadCondition,
                block.span,
                format!(
                    "`Condition` must be an object of operator → {{key → value}}, found {}",
                    block.type_name()
                ),
            );
            return out;
        };
        for opm in ops {
            let op = match Operator::parse(&opm.key) {
                Ok(op) => op,
                Err(OperatorError::Unknown { suggestion }) => {
                    let mut d = Diagnostic::error(
                        Code::UnknownOperator,
                        opm.key_span,
                        format!("unknown condition operator `{}`", opm.key),
                    );
                    if let Some(sug) = suggestion {
                        d = d.with_note(format!("help: did you mean `{sug}`?"));
                    }
                    self.diags.push(d);
                    continue;
                }
                Err(OperatorError::NotAllowedOnNull(what)) => {
                    self.error(Code::NullQualified, opm.key_span, format!("`{}`: {what} cannot be used with `Null`, which tests whether a key is present", opm.key));
                    continue;
                }
            };
            let Some(keys) = opm.value.as_object() else {
                self.error(
                    Code::BadCondition,
                    opm.value.span,
                    format!(
                        "the operator `{}` must map to an object of key → value(s), found {}",
                        opm.key,
                        opm.value.type_name()
                    ),
                );
                continue;
            };
            if keys.is_empty() {
                self.error(
                    Code::BadCondition,
                    opm.value.span,
                    format!("the operator `{}` has no keys", opm.key),
                );
            }
            for km in keys {
                if let Some(c) = self.condition(op, opm, km, version) {
                    out.push(c);
                }
            }
        }
        out
    }

    fn condition(
        &mut self,
        op: Operator,
        opm: &Member,
        km: &Member,
        version: Version,
    ) -> Option<Condition> {
        if km.key.is_empty() {
            self.error(Code::BadCondition, km.key_span, "empty condition key");
            return None;
        }
        let raw: Vec<Spanned<String>> = match &km.value.kind {
            JsonKind::Array(items) => {
                let mut v = Vec::new();
                for i in items {
                    match scalar_text(i) {
                        Some(t) => v.push(Spanned::new(t, i.span)),
                        None => self.error(
                            Code::BadConditionValue,
                            i.span,
                            format!(
                                "condition values must be strings, numbers or booleans, found {}",
                                i.type_name()
                            ),
                        ),
                    }
                }
                v
            }
            _ => match scalar_text(&km.value) {
                Some(t) => vec![Spanned::new(t, km.value.span)],
                None => {
                    self.error(
                        Code::BadConditionValue,
                        km.value.span,
                        format!(
                            "condition values must be strings, numbers or booleans, found {}",
                            km.value.type_name()
                        ),
                    );
                    return None;
                }
            },
        };
        if raw.is_empty() {
            self.error(
                Code::EmptyConditionValues,
                km.value.span,
                "the condition has no values",
            );
            return None;
        }
        let mut values = Vec::new();
        for r in raw {
            match self.cond_value(op.base, &r, version) {
                Some(v) => values.push(Spanned::new(v, r.span)),
                None => continue,
            }
        }
        Some(Condition {
            op,
            op_span: opm.key_span,
            key: km.key.clone(),
            key_span: km.key_span,
            values,
            span: km.key_span.cover(km.value.span),
        })
    }

    fn cond_value(
        &mut self,
        base: Base,
        r: &Spanned<String>,
        version: Version,
    ) -> Option<CondValue> {
        let s = r.value.as_str();
        let bad = |what: &str| format!("`{s}` is not {what}, which `{base:?}` operators compare");
        let v = match base.family() {
            Family::String => CondValue::Text(self.template(r, version)),
            Family::Arn => {
                let ok = s == "*"
                    || s.contains("${")
                    || s.starts_with("arn:") && (split_arn(s).is_some() || s.contains('*'));
                if !ok {
                    self.error(
                        Code::BadConditionValue,
                        r.span,
                        bad("an ARN (`arn:partition:service:region:account:resource`)"),
                    );
                    return None;
                }
                CondValue::Text(self.template(r, version))
            }
            Family::Numeric => match Decimal::parse(s) {
                Some(d) => CondValue::Number(d),
                None => {
                    // "Numeric condition operators": an integer or decimal value.
                    self.error(
                        Code::BadConditionValue,
                        r.span,
                        bad("an integer or decimal number (such as `10` or `-2.5`; no exponent, at most 38 digits)"),
                    );
                    return None;
                }
            },
            Family::Date => {
                match parse_date(s) {
                    Some(d) => CondValue::Date(d),
                    None => {
                        self.error(Code::BadConditionValue, r.span, bad("a date (ISO 8601 such as `2024-01-31T12:00:00Z`, or epoch seconds)"));
                        return None;
                    }
                }
            }
            Family::Bool => match parse_bool(s) {
                Some(b) => CondValue::Bool(b),
                None => {
                    self.error(Code::BadConditionValue, r.span, bad("`true` or `false`"));
                    return None;
                }
            },
            Family::Null => {
                match parse_bool(s) {
                    Some(b) => CondValue::Null(b),
                    None => {
                        self.error(Code::BadNullValue, r.span, format!("`Null` takes `true` (key absent) or `false` (key present), not `{s}`"));
                        return None;
                    }
                }
            }
            Family::Ip => match Cidr::parse(s) {
                Some(c) => CondValue::Ip(c),
                None => {
                    self.error(
                        Code::BadConditionValue,
                        r.span,
                        bad("an IPv4 or IPv6 address or CIDR block"),
                    );
                    return None;
                }
            },
            Family::Binary => {
                if !is_base64(s) {
                    self.error(
                        Code::BadConditionValue,
                        r.span,
                        bad("base64-encoded binary"),
                    );
                    return None;
                }
                CondValue::Binary(s.to_string())
            }
        };
        Some(v)
    }
}

/// A condition value's text: strings as they are, numbers and booleans as written.
fn scalar_text(v: &Json) -> Option<String> {
    match &v.kind {
        JsonKind::String(s) => Some(s.clone()),
        JsonKind::Number(n) => Some(n.clone()),
        JsonKind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why an action string is malformed, if it is. Accepts `*` and `service:pattern`, where the
/// service prefix is letters, digits and `-` (or wildcards) ("IAM JSON policy elements: Action").
pub fn action_syntax_error(a: &str) -> Option<&'static str> {
    if a == "*" {
        return None;
    }
    let Some((svc, name)) = a.split_once(':') else {
        return Some("missing `:` between service prefix and action name");
    };
    if svc.is_empty() {
        return Some("empty service prefix");
    }
    if name.is_empty() {
        return Some("empty action name");
    }
    if !svc
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*' || c == '?')
    {
        return Some("the service prefix may contain only letters, digits, `-` and wildcards");
    }
    if name.contains(':') {
        return Some("more than one `:`");
    }
    if name.chars().any(|c| c.is_whitespace()) {
        return Some("whitespace in action name");
    }
    None
}

fn principal_syntax_error(kind: &str, v: &str) -> Option<&'static str> {
    if v.is_empty() {
        return Some("empty principal");
    }
    match kind {
        "AWS" => {
            let is_account = v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit());
            if v == "*" || is_account || v.starts_with("arn:") && split_arn(v).is_some() {
                None
            } else {
                Some("expected `*`, a 12-digit account ID or an ARN")
            }
        }
        _ => None,
    }
}

fn infer_kind(stmts: &[&Json]) -> PolicyKind {
    let has_principal = stmts
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some());
    if !has_principal {
        return PolicyKind::Identity;
    }
    let all_assume = stmts.iter().all(|s| {
        s.get("Action")
            .and_then(|a| string_list(a).ok())
            .is_some_and(|l| {
                !l.is_empty()
                    && l.iter().all(|x| {
                        x.value.to_ascii_lowercase().starts_with("sts:assumerole")
                            || x.value.eq_ignore_ascii_case("sts:TagSession")
                            || x.value.eq_ignore_ascii_case("sts:SetSourceIdentity")
                    })
            })
    });
    if all_assume {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    }
}
