//! Finding policy documents in the shapes users have them: a plain document, a JSON array of
//! documents, the AWS CLI's `get-policy-version` output (`PolicyVersion.Document`, an object
//! or a URL-encoded string), or a URL-encoded document string as the IAM API returns it.
//! Each document found gets its own `SourceFile`, so spans stay exact even inside decoded text.

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::json::{self, Json, JsonKind};
use crate::source::SourceFile;
use crate::span::Span;

/// One policy document with the source its spans point into.
#[derive(Clone, Debug)]
pub struct Document {
    pub source: Arc<SourceFile>,
    pub json: Json,
}

/// A problem reading a file as documents, with the source it points into.
#[derive(Debug)]
pub struct ReadError {
    pub source: Arc<SourceFile>,
    pub diagnostic: Diagnostic,
}

pub fn read_documents(name: &str, text: &str) -> Result<Vec<Document>, ReadError> {
    let source = Arc::new(SourceFile::new(name, text));
    let trimmed = text.trim_start();
    // A whole file that is a URL-encoded document (`%7B%22Version%22...`).
    if trimmed.starts_with("%7B") || trimmed.starts_with("%7b") {
        return decoded(name, trimmed.trim_end(), &source, Span::new(0, text.len()));
    }
    let json = json::parse(text).map_err(|e| ReadError {
        source: source.clone(),
        diagnostic: Diagnostic::error(e.code, e.span, e.message),
    })?;
    unwrap(name, json, &source)
}

fn unwrap(name: &str, json: Json, source: &Arc<SourceFile>) -> Result<Vec<Document>, ReadError> {
    match &json.kind {
        JsonKind::Array(items) => {
            // A JSON array of documents; each element is read as a document (or wrapper).
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let mut docs = unwrap(&format!("{name}[{i}]"), item.clone(), source)?;
                out.append(&mut docs);
            }
            if items.is_empty() {
                return Err(ReadError {
                    source: source.clone(),
                    diagnostic: Diagnostic::error(
                        Code::WrongType,
                        json.span,
                        "an empty array holds no policy documents",
                    ),
                });
            }
            Ok(out)
        }
        JsonKind::String(s) => decoded(name, s, source, json.span),
        JsonKind::Object(_) => {
            if let Some(pv) = json.get("PolicyVersion") {
                if let Some(doc) = pv.get("Document") {
                    return unwrap(
                        &format!("{name} (PolicyVersion.Document)"),
                        doc.clone(),
                        source,
                    );
                }
            }
            Ok(vec![Document {
                source: source.clone(),
                json,
            }])
        }
        _ => Err(ReadError {
            source: source.clone(),
            diagnostic: Diagnostic::error(
                Code::WrongType,
                json.span,
                format!(
                    "expected a policy document (a JSON object), found {}",
                    json.type_name()
                ),
            ),
        }),
    }
}

/// A string holding a (possibly URL-encoded) JSON document.
fn decoded(
    name: &str,
    s: &str,
    outer: &Arc<SourceFile>,
    span: Span,
) -> Result<Vec<Document>, ReadError> {
    let text = if s.trim_start().starts_with('{') {
        s.to_string()
    } else {
        percent_decode(s).ok_or_else(|| ReadError {
            source: outer.clone(),
            diagnostic: Diagnostic::error(
                Code::MalformedJson,
                span,
                "the string is neither a JSON document nor a URL-encoded one",
            ),
        })?
    };
    let inner_name = format!("{name} (decoded)");
    let source = Arc::new(SourceFile::new(inner_name, text));
    let json = json::parse(&source.text).map_err(|e| ReadError {
        source: source.clone(),
        diagnostic: Diagnostic::error(e.code, e.span, e.message),
    })?;
    if json.as_object().is_none() {
        return Err(ReadError {
            source: source.clone(),
            diagnostic: Diagnostic::error(
                Code::WrongType,
                json.span,
                "the decoded string is not a JSON object",
            ),
        });
    }
    Ok(vec![Document { source, json }])
}

/// RFC 3986 percent-decoding; `None` on a malformed escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;

    #[test]
    fn plain_document() {
        let d = read_documents("p.json", DOC).unwrap();
        assert_eq!(d.len(), 1);
        assert!(d[0].json.get("Statement").is_some());
    }

    #[test]
    fn cli_get_policy_version_output_with_encoded_document() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        let text = format!(r#"{{"PolicyVersion": {{"Document": "{enc}", "VersionId": "v2"}}}}"#);
        let d = read_documents("v.json", &text).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].json.get("Version").and_then(Json::as_str),
            Some("2012-10-17")
        );
        assert!(d[0].source.name.contains("decoded"));
    }

    #[test]
    fn array_of_documents_and_raw_encoded_file() {
        let d = read_documents("a.json", &format!("[{DOC}, {DOC}]")).unwrap();
        assert_eq!(d.len(), 2);
        let d = read_documents("e.txt", "%7B%22Statement%22%3A%5B%5D%7D\n").unwrap();
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert!(read_documents("x", "[]").is_err());
        assert!(read_documents("x", "42").is_err());
        assert!(read_documents("x", "\"%ZZ\"").is_err());
        assert!(read_documents("x", "%7B%E2%28").is_err());
    }
}
