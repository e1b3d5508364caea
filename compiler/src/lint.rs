//! Warnings about policies that are valid but probably not what their author meant. Each has
//! a stable code (docs/diagnostics.md). Warnings never change a policy's meaning.

use std::collections::HashMap;

use crate::catalog::{catalog, KeyType};
use crate::diagnostic::{Code, Diagnostic};
use crate::glob::has_wildcard;
use crate::operator::{Family, Qualifier};
use crate::policy::{Effect, Policy, PrincipalEntry};

/// T0220: a `Sid` with characters other than ASCII letters and digits. "The Sid element
/// supports ASCII uppercase letters (A-Z), lowercase letters (a-z), and numbers (0-9)" (IAM
/// JSON policy elements: Sid): IAM refuses other characters in the policies it stores
/// (identity policies and permissions boundaries). Other services accept more in resource
/// policies, so there only control and bidirectional-override characters are reported: they
/// rewrite what a terminal or review tool shows (issue 15: a Sid holding
/// `\r\u001b[1A\u001b[2K` made an allowed request look like "ImplicitDeny").
fn sid_characters(
    kind: crate::policy::PolicyKind,
    sid: &crate::span::Spanned<String>,
) -> Option<Diagnostic> {
    use crate::policy::PolicyKind;
    let hostile = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    };
    let escaped: String = sid.value.escape_debug().collect();
    if sid.value.chars().any(hostile) {
        return Some(Diagnostic::warning(
            Code::BadSid,
            sid.span,
            format!(
                "`Sid` \"{escaped}\" holds control or text-direction characters, which change \
                 what a terminal shows"
            ),
        ));
    }
    let iam_stored = matches!(kind, PolicyKind::Identity | PolicyKind::Boundary);
    if iam_stored && !sid.value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Some(
            Diagnostic::warning(
                Code::BadSid,
                sid.span,
                format!(
                    "`Sid` \"{escaped}\" has characters other than A-Z, a-z and 0-9, which IAM \
                     does not accept in {} policies",
                    kind.as_str()
                ),
            )
            .with_note("IAM JSON policy elements: Sid"),
        );
    }
    None
}

/// T0221: a `Resource` ARN pattern that no resource of the statement's actions matches, so the
/// statement applies to no request AWS sends (`semantics::well_typed`: a request's resource is
/// an ARN of one of its action's resource types, Service Authorization Reference, "Resource
/// types" column). Typical: `arn:aws:ec2:::instance/*`, whose empty region and account no
/// instance has (`catalog::arn_glob`). Only for statements whose actions are all in the
/// catalog, and for patterns without policy variables; the catalog may lag AWS, so a warning.
fn resources_of_no_type(st: &crate::policy::Statement) -> Vec<Diagnostic> {
    let Some(r) = &st.resource else {
        return Vec::new();
    };
    if r.negated || st.action.negated {
        return Vec::new();
    }
    let cat = catalog();
    let mut types: Vec<crate::glob::Glob> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for p in &st.action.patterns {
        let raw = &p.value.raw;
        if raw.chars().all(|c| c == '*') {
            return Vec::new();
        }
        let actions = cat.expand(raw);
        if actions.is_empty() {
            return Vec::new();
        }
        for a in actions {
            let name = a.full_name();
            let Some(t) = crate::semantics::resource_types(&name) else {
                return Vec::new();
            };
            types.extend(t.arns);
            if names.len() < 3 {
                names.push(name);
            }
        }
    }
    types.sort();
    types.dedup();
    let mut out = Vec::new();
    for p in &r.patterns {
        if p.value.vars().next().is_some() {
            continue;
        }
        let text = p.value.to_string();
        if !text.starts_with("arn:") {
            continue;
        }
        let g = crate::glob::Glob::wild(&text).arn_segments();
        if types.iter().any(|t| crate::logic::problem::meets(t, &g)) {
            continue;
        }
        let more = if names.len() < 3 { "" } else { ", ..." };
        out.push(
            Diagnostic::warning(
                Code::ResourceOfNoType,
                p.span,
                format!(
                    "`{text}` matches no resource that the statement's actions take ({}{more}): \
                     AWS never sends such a request, so this ARN grants or denies nothing here",
                    names.join(", ")
                ),
            )
            .with_note(
                "Service Authorization Reference, \"Resource types\" column; an ARN names its \
                 partition, Region and account unless its format has none",
            ),
        );
    }
    out
}

pub fn lint(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let cat = catalog();
    let mut sids: HashMap<&str, usize> = HashMap::new();
    for st in &policy.statements {
        if let Some(sid) = &st.sid {
            if let Some(d) = sid_characters(policy.kind, sid) {
                out.push(d);
            }
            if let Some(first) = sids.insert(sid.value.as_str(), st.index) {
                out.push(Diagnostic::warning(
                    Code::DuplicateSid,
                    sid.span,
                    format!("duplicate `Sid` `{}` (also statement #{first})", sid.value),
                ));
            }
        }
        for p in &st.action.patterns {
            let a = &p.value.raw;
            if a == "*" {
                continue;
            }
            let known = !cat.expand(a).is_empty();
            if known {
                continue;
            }
            let svc = a.split_once(':').map_or("", |(s, _)| s);
            let (code, msg) = if !has_wildcard(svc) && !cat.has_service(svc) {
                (
                    Code::UnknownAction,
                    format!("unknown service prefix `{svc}` in action `{a}`"),
                )
            } else if has_wildcard(a) {
                (
                    Code::PatternMatchesNoAction,
                    format!("`{a}` matches no action in the catalog"),
                )
            } else {
                (Code::UnknownAction, format!("unknown action `{a}`"))
            };
            let mut d = Diagnostic::warning(code, p.span, msg);
            if let Some(s) = cat.suggest(a) {
                d = d.with_note(format!("help: did you mean `{s}`?"));
            }
            d = d.with_note(format!(
                "note: checked against the IAM action catalog {}",
                cat.package_version()
            ));
            out.push(d);
        }
        if st.action.negated
            && st
                .action
                .patterns
                .iter()
                .any(|p| p.value.glob.is_universal())
        {
            out.push(Diagnostic::warning(
                Code::NegationOfStar,
                st.action.span,
                "`NotAction` with `*` excludes every action: this statement can never match",
            ));
        }
        out.extend(resources_of_no_type(st));
        if let Some(r) = &st.resource {
            if r.negated && r.patterns.iter().any(|p| p.value.to_string() == "*") {
                out.push(Diagnostic::warning(
                    Code::NegationOfStar,
                    r.span,
                    "`NotResource` with `*` excludes every resource: this statement can never match",
                ));
            }
            if r.negated && st.effect == Effect::Allow {
                out.push(Diagnostic::warning(
                    Code::AllowWithNegation,
                    r.span,
                    "`Allow` with `NotResource` grants the actions on every resource not listed, including resources that do not exist yet",
                ));
            }
        }
        if let Some(p) = &st.principal {
            if p.negated && p.entries.iter().any(|e| e.value == PrincipalEntry::Any) {
                out.push(Diagnostic::warning(
                    Code::NegationOfStar,
                    p.span,
                    "`NotPrincipal` with `*` excludes every principal: this statement can never match",
                ));
            }
        }
        if st.action.negated && st.effect == Effect::Allow {
            out.push(Diagnostic::warning(
                Code::AllowWithNegation,
                st.action.span,
                "`Allow` with `NotAction` grants every action not listed, in every service, including actions AWS adds later",
            ));
        }
        for c in &st.conditions {
            let fam = c.op.base.family();
            let Some(kt) = cat.condition_key_type(&c.key) else {
                if c.key.to_ascii_lowercase().starts_with("aws:") {
                    let mut d = Diagnostic::warning(
                        Code::UnknownGlobalKey,
                        c.key_span,
                        format!("unknown global condition key `{}`", c.key),
                    );
                    if let Some(s) = closest_global_key(&c.key) {
                        d = d.with_note(format!("help: did you mean `{s}`?"));
                    }
                    out.push(d);
                }
                continue;
            };
            if let Some(expected) = type_mismatch(fam, kt) {
                out.push(
                    Diagnostic::warning(
                        Code::OperatorKeyTypeMismatch,
                        c.op_span,
                        format!(
                            "`{}` compares {expected}, but `{}` is of type {kt:?}",
                            c.op.name(),
                            c.key
                        ),
                    )
                    .with_note(
                        "note: a request value that does not parse for the operator never matches",
                    ),
                );
            }
            if fam != Family::Null {
                match (c.op.qualifier, kt.is_multivalued()) {
                    (Some(Qualifier::ForAllValues), false) | (Some(Qualifier::ForAnyValue), false) => out.push(Diagnostic::warning(
                        Code::SetOperatorMismatch,
                        c.op_span,
                        format!("set operator on the single-valued key `{}`", c.key),
                    ).with_note("note: `ForAllValues` on a single-valued key is true when the key is missing, which can grant more than intended (\"Set operators for multivalued context keys\")")),
                    (None, true) => out.push(Diagnostic::warning(
                        Code::SetOperatorMismatch,
                        c.op_span,
                        format!("`{}` is multivalued; use `ForAllValues:` or `ForAnyValue:` to say how its values combine", c.key),
                    )),
                    _ => {}
                }
            }
        }
    }
    out
}

/// What the operator family compares, when the key's documented type does not fit it.
pub fn type_mismatch(fam: Family, kt: KeyType) -> Option<&'static str> {
    use KeyType as K;
    let ok = match fam {
        Family::String => !matches!(
            kt,
            K::Bool | K::ArrayOfBool | K::Numeric | K::ArrayOfNumeric | K::Date | K::IpAddress
        ),
        Family::Arn => matches!(
            kt,
            K::Arn | K::ArrayOfArn | K::String | K::ArrayOfString | K::Unknown
        ),
        Family::Numeric => matches!(kt, K::Numeric | K::ArrayOfNumeric | K::Date | K::Unknown),
        Family::Date => matches!(kt, K::Date | K::Numeric | K::Unknown),
        Family::Bool => matches!(kt, K::Bool | K::ArrayOfBool | K::Unknown),
        Family::Ip => matches!(kt, K::IpAddress | K::Unknown),
        Family::Binary => matches!(kt, K::Binary | K::String | K::Unknown),
        Family::Null => true,
    };
    if ok {
        return None;
    }
    Some(match fam {
        Family::String => "strings",
        Family::Arn => "ARNs",
        Family::Numeric => "numbers",
        Family::Date => "dates",
        Family::Bool => "booleans",
        Family::Ip => "IP addresses",
        Family::Binary => "binary values",
        Family::Null => "presence",
    })
}

fn closest_global_key(key: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    catalog()
        .global_condition_keys()
        .map(|g| {
            (
                crate::operator::edit_distance(&k, &g.key.to_ascii_lowercase()),
                g.key.clone(),
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;
    use crate::load::load;
    use crate::policy::PolicyKind;

    fn codes(sid: &str, kind: PolicyKind) -> Vec<(Code, String)> {
        let mut st = serde_json::json!(
            {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        if kind == PolicyKind::Resource {
            st["Principal"] = serde_json::json!({"AWS": "arn:aws:iam::111122223333:root"});
        }
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [st]});
        load("p.json", &doc.to_string(), Some(kind), true)
            .diagnostics
            .iter()
            .flat_map(|g| g.diagnostics.iter())
            .map(|d| (d.code, d.message.clone()))
            .collect()
    }

    /// Issue 15 finding 4: Sids are linted by IAM's rule (ASCII letters and digits); control
    /// characters are reported for every kind, escaped in the message.
    #[test]
    fn sids_outside_iams_alphabet_are_t0220() {
        assert!(codes("ReadReports2", PolicyKind::Identity).is_empty());
        let d = codes("read-reports", PolicyKind::Identity);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].0, Code::BadSid);
        assert!(d[0].1.contains("A-Z, a-z and 0-9"), "{d:?}");
        // S3 and KMS accept more in resource policies.
        assert!(codes("Allow get requests", PolicyKind::Resource).is_empty());
        let d = codes("ok\r\u{1b}[1A\u{1b}[2K", PolicyKind::Resource);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].0, Code::BadSid);
        assert!(d[0].1.contains("\\r\\u{1b}[1A"), "{d:?}");
        assert!(!d[0].1.contains('\u{1b}'), "{d:?}");
        let d = codes("abc\u{202e}fed", PolicyKind::Boundary);
        assert_eq!(d[0].0, Code::BadSid);
    }
}
