//! SAM policy templates (`S3ReadPolicy: {BucketName: !Ref Uploads}` in an
//! `AWS::Serverless::Function`'s `Policies`), expanded as the SAM transform does: the template's
//! `Definition` with each `Ref` to one of its parameters replaced by the value given. The data
//! is `compiler/data/sam-policy-templates.json`, written by
//! `corpus/scripts/refresh-sam-templates.py` from the PyPI package `aws-sam-translator`
//! (Apache-2.0; see `compiler/data/SAM_POLICY_TEMPLATES_SOURCE.md`).

use std::sync::OnceLock;

use crate::diagnostic::{Code, Diagnostic};
use crate::json::{self, Json, JsonKind, Member};
use crate::span::Span;

const DATA: &str = include_str!("../../data/sam-policy-templates.json");

fn templates() -> Option<&'static Json> {
    static PARSED: OnceLock<Option<Json>> = OnceLock::new();
    PARSED
        .get_or_init(|| json::parse(DATA).ok())
        .as_ref()
        .and_then(|d| d.get("templates"))
}

/// Every node of `j` with span `at` (the definition's own spans point into the data file).
pub(crate) fn respan(j: &Json, at: Span) -> Json {
    Json {
        kind: match &j.kind {
            JsonKind::Array(v) => JsonKind::Array(v.iter().map(|x| respan(x, at)).collect()),
            JsonKind::Object(ms) => JsonKind::Object(
                ms.iter()
                    .map(|m| Member {
                        key: m.key.clone(),
                        key_span: at,
                        value: respan(&m.value, at),
                    })
                    .collect(),
            ),
            k => k.clone(),
        },
        span: at,
    }
}

/// Replace `{"Ref": P}` for the template's parameters with the given values.
pub(crate) fn substitute(j: &Json, args: &[Member]) -> Json {
    if let Some(p) = j.get("Ref").and_then(Json::as_str) {
        if j.as_object().is_some_and(|m| m.len() == 1) {
            if let Some(a) = args.iter().find(|a| a.key == p) {
                return a.value.clone();
            }
        }
    }
    Json {
        kind: match &j.kind {
            JsonKind::Array(v) => JsonKind::Array(v.iter().map(|x| substitute(x, args)).collect()),
            JsonKind::Object(ms) => JsonKind::Object(
                ms.iter()
                    .map(|m| Member {
                        value: substitute(&m.value, args),
                        ..m.clone()
                    })
                    .collect(),
            ),
            k => k.clone(),
        },
        span: j.span,
    }
}

/// Whether `name` is a SAM policy template.
pub fn is_template(name: &str) -> bool {
    templates().and_then(|t| t.get(name)).is_some()
}

/// The policy document `name` expands to with `args` (an object of parameter values, as written
/// in the template), spans at `at`. A missing parameter is an error, as in SAM.
pub fn expand(name: &str, args: &Json, at: Span) -> Result<Json, Diagnostic> {
    let t = templates().and_then(|t| t.get(name)).ok_or_else(|| {
        Diagnostic::error(
            Code::UnsupportedConstruct,
            at,
            format!("`{name}` is not a SAM policy template"),
        )
    })?;
    let given: &[Member] = match &args.kind {
        JsonKind::Object(ms) => ms,
        _ => &[],
    };
    if let Some(JsonKind::Array(ps)) = t.get("Parameters").map(|p| &p.kind) {
        for p in ps.iter().filter_map(Json::as_str) {
            if !given.iter().any(|g| g.key == p) {
                return Err(Diagnostic::error(
                    Code::BadReference,
                    args.span,
                    format!("SAM policy template `{name}` needs the parameter `{p}`"),
                ));
            }
        }
    }
    let def = t.get("Definition").ok_or_else(|| {
        Diagnostic::error(
            Code::UnsupportedConstruct,
            at,
            format!("`{name}` has no definition"),
        )
    })?;
    Ok(substitute(&respan(def, at), given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_templates_parse_and_expand() {
        assert!(is_template("S3ReadPolicy"));
        assert!(is_template("DynamoDBCrudPolicy"));
        assert!(!is_template("NoSuchPolicy"));
        let args = json::parse(r#"{"BucketName": {"Ref": "Uploads"}}"#).unwrap();
        let doc = expand("S3ReadPolicy", &args, Span::default()).unwrap();
        let text = format!("{doc:?}");
        assert!(
            text.contains("Uploads") && !text.contains("\"BucketName\""),
            "{text}"
        );
        let none = json::parse("{}").unwrap();
        assert!(expand("S3ReadPolicy", &none, Span::default()).is_err());
    }
}
