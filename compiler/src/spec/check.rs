//! Semantic checks of a parsed spec: every name used is declared once, kinds and set fields
//! are known, and conditions compare keys with operators of their documented type (the same
//! type table `tarski check` lints policies with).

use std::collections::HashMap;

use crate::catalog::catalog;
use crate::diagnostic::{Code, Diagnostic};
use crate::policy::PolicyKind;
use crate::query::Expr;
use crate::spec::ast::{Item, Ref, SetValue};

const SET_FIELDS: &[&str] = &[
    "identity", "boundary", "scps", "rcps", "session", "resource",
];

/// What a declared name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decl {
    Policy,
    Policies,
    Set,
}

/// Check a spec (after includes are spliced in). Returns declarations and diagnostics, each
/// with the index of the item it is about (items can come from different files).
pub fn check(items: &[Item]) -> (HashMap<String, Decl>, Vec<(usize, Diagnostic)>) {
    let mut decls: HashMap<String, Decl> = HashMap::new();
    let mut diags = Vec::new();
    let mut tagged: Vec<(usize, Diagnostic)> = Vec::new();
    for (idx, it) in items.iter().enumerate() {
        tagged.extend(diags.drain(..).map(|d| (idx.saturating_sub(1), d)));
        let (name, d, kind) = match it {
            Item::Policy { name, kind, .. } => (name, Decl::Policy, kind.as_ref()),
            Item::Policies { name, kind, .. } => (name, Decl::Policies, kind.as_ref()),
            Item::Set { name, .. } | Item::SetManifest { name, .. } => (name, Decl::Set, None),
            _ => continue,
        };
        if let Some(k) = kind {
            if PolicyKind::parse(&k.value).is_none() {
                diags.push(Diagnostic::error(Code::UnknownPolicyKind, k.span, format!("unknown policy kind `{}`; expected identity, resource, trust, scp, rcp, boundary or session", k.value)));
            }
        }
        if decls.insert(name.value.clone(), d).is_some() {
            diags.push(Diagnostic::error(
                Code::DuplicateName,
                name.span,
                format!("`{}` is declared twice", name.value),
            ));
        }
        tagged.extend(diags.drain(..).map(|d| (idx, d)));
    }
    let check_ref = |r: &Ref, diags: &mut Vec<Diagnostic>| {
        if let Ref::Name(n) = r {
            match decls.get(&n.value) {
                Some(Decl::Policy) => {}
                Some(_) => diags.push(Diagnostic::error(
                    Code::NotASinglePolicy,
                    n.span,
                    format!(
                        "`{}` is not a single policy; a set field takes policies",
                        n.value
                    ),
                )),
                None => diags.push(unknown(&n.value, n.span, &decls)),
            }
        }
    };
    for (idx, it) in items.iter().enumerate() {
        match it {
            Item::Set { fields, .. } => {
                for (f, v) in fields {
                    if !SET_FIELDS.contains(&f.value.as_str()) {
                        diags.push(Diagnostic::error(
                            Code::UnknownSetField,
                            f.span,
                            format!(
                                "unknown set field `{}`; expected one of {}",
                                f.value,
                                SET_FIELDS.join(", ")
                            ),
                        ));
                    }
                    walk_set(v, &mut |r| check_ref(r, &mut diags));
                }
            }
            Item::Assert(a) => {
                if let Some(sev) = &a.severity_word {
                    if !["error", "warning", "info"].contains(&sev.value.as_str()) {
                        diags.push(Diagnostic::error(
                            Code::UnknownSeverity,
                            sev.span,
                            format!(
                                "unknown severity `{}`; expected error, warning or info",
                                sev.value
                            ),
                        ));
                    }
                }
                for s in &a.subjects {
                    if !decls.contains_key(&s.value) && s.value != "policy" {
                        diags.push(unknown(&s.value, s.span, &decls));
                    }
                }
                if let Some(c) = &a.constraint {
                    check_types(c, &mut diags);
                }
            }
            _ => {}
        }
        tagged.extend(diags.drain(..).map(|d| (idx, d)));
    }
    (decls, tagged)
}

fn walk_set(v: &SetValue, f: &mut dyn FnMut(&Ref)) {
    match v {
        SetValue::One(r) => f(r),
        SetValue::List(vs) => vs.iter().for_each(|x| walk_set(x, f)),
    }
}

fn unknown(name: &str, span: crate::span::Span, decls: &HashMap<String, Decl>) -> Diagnostic {
    let mut d = Diagnostic::error(Code::UnknownName, span, format!("unknown name `{name}`"));
    if let Some((best, _)) = decls
        .keys()
        .map(|k| (k, crate::operator::edit_distance(k, name)))
        .filter(|(_, dist)| *dist <= 2)
        .min_by_key(|(_, dist)| *dist)
    {
        d = d.with_note(format!("help: did you mean `{best}`?"));
    }
    d
}

/// A condition whose operator does not fit the key's documented type is an error in a spec
/// (in a policy it is only a warning: AWS accepts it, it just never matches).
pub fn check_types(e: &Expr, diags: &mut Vec<Diagnostic>) {
    for c in e.conditions() {
        if let Some(kt) = catalog().condition_key_type(&c.key) {
            if let Some(expected) = crate::lint::type_mismatch(c.op.base.family(), kt) {
                diags.push(Diagnostic::error(
                    Code::OperatorTypeMismatch,
                    c.key_span,
                    format!(
                        "`{}` is of type {kt:?}, but this comparison treats it as {expected}",
                        c.key
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_spec;

    #[test]
    fn the_mission_example_parses_and_checks() {
        let src = r#"
            # the confidential bucket needs MFA
            policy dev_role = "roles/dev.json"
            policy boundary = boundary "boundaries/dev.json"
            set dev = { identity = [dev_role], boundary = boundary }
            assert cannot(dev_role, resource like "arn:aws:s3:::CompanyConfidential*" and not aws:MultiFactorAuthPresent) label "no confidential reads without MFA"
            assert subset(dev_role, boundary) severity warning
            assert can(dev, action == "s3:GetObject")
        "#;
        let items = parse_spec(src).unwrap();
        assert_eq!(items.len(), 6);
        let (_, diags) = check(&items);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn policy_names_each_batch_input() {
        let items = parse_spec(
            "assert cannot(policy, action == \"iam:CreateUser\") label \"no user creation\"",
        )
        .unwrap();
        let (_, diags) = check(&items);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn unknown_names_and_type_errors_have_spans() {
        let src = "policy a = \"a.json\"\nassert cannot(b, aws:SourceIp like \"10.*\")\n";
        let items = parse_spec(src).unwrap();
        let (_, diags) = check(&items);
        let codes: Vec<Code> = diags.iter().map(|(_, d)| d.code).collect();
        assert_eq!(codes, [Code::UnknownName, Code::OperatorTypeMismatch]);
        assert_eq!(&src[diags[0].1.span.range()], "b");
        assert_eq!(&src[diags[1].1.span.range()], "aws:SourceIp");
    }

    #[test]
    fn the_batch_subject_policy_parses() {
        // `policy` is a keyword (declarations), and also the subject of batch assertions.
        let src = "policy b = \"b.json\"\nassert cannot(policy, action == \"iam:PassRole\")\nassert subset(policy, b)\n";
        let items = parse_spec(src).unwrap();
        let (_, diags) = check(&items);
        assert!(diags.is_empty(), "{diags:?}");
        match &items[1] {
            Item::Assert(a) => {
                assert_eq!(a.subjects[0].value, "policy");
                assert_eq!(&src[a.subjects[0].span.range()], "policy");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_errors_point_at_the_token() {
        let src = "assert cannot(a, aws:SecureTransport ==)";
        let e = parse_spec(src).unwrap_err();
        assert_eq!(&src[e.span.range()], ")");
        assert!(e.message.contains("expected"), "{}", e.message);
        assert!(parse_spec("assert nope(a)").is_err());
        assert!(parse_spec("policy = \"x\"").is_err());
        assert!(parse_spec("policy a = \"x\" @").is_err());
    }
}
