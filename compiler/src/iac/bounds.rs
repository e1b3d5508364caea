//! Bounds for a policy with opaque deploy-time values (docs/iac.md, "Bounds"): two concrete
//! documents, `over` allowing at least what any deployment allows and `under` at most. A
//! proof about `over` ("nothing gets through") holds for every deployment; a witness that
//! `under` lets through gets through every deployment.
//!
//! The rewrite is per statement, on the element an opaque value sits in. "Applies more" for
//! an `Allow` (over) or a `Deny` (under): a listed `Action`/`Resource`/`Principal` entry
//! holding the value becomes `*`; a `NotAction`/`NotResource`/`NotPrincipal` entry is dropped
//! (an empty list becomes the positive `*`); a condition key whose values hold it is dropped
//! (its block is a conjunction: dropping a conjunct only widens). "Applies less": a listed entry
//! is dropped (no entry left: the statement goes), and a statement with the value in a
//! `Not...` list or a condition goes. Allowing more statements, or denying fewer, never allows
//! less (the evaluation logic is monotone in them: an explicit deny wins, an allow is needed).

use crate::json::{Json, JsonKind, Member};
use crate::span::Span;

/// Which bound to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Allows at least what any deployment allows (for proofs).
    Over,
    /// Allows at most what any deployment allows (for witnesses).
    Under,
}

/// The document with every string whose span is in `opaque` rewritten for `bound`.
pub fn bound(doc: &Json, opaque: &[Span], bound: Bound) -> Json {
    let holds = |j: &Json| contains_opaque(j, opaque);
    let JsonKind::Object(members) = &doc.kind else {
        return doc.clone();
    };
    let mut out = Vec::new();
    for m in members {
        if m.key != "Statement" {
            out.push(m.clone());
            continue;
        }
        let stmts: Vec<&Json> = match &m.value.kind {
            JsonKind::Array(v) => v.iter().collect(),
            _ => vec![&m.value],
        };
        let kept: Vec<Json> = stmts
            .into_iter()
            .filter_map(|st| {
                if !holds(st) {
                    return Some(st.clone());
                }
                let deny = st.get("Effect").and_then(Json::as_str) == Some("Deny");
                // Over-approximating what is allowed: allows apply more, denies less.
                let more = (bound == Bound::Over) != deny;
                statement(st, opaque, more)
            })
            .collect();
        out.push(Member {
            value: Json {
                kind: JsonKind::Array(kept),
                span: m.value.span,
            },
            ..m.clone()
        });
    }
    Json {
        kind: JsonKind::Object(out),
        span: doc.span,
    }
}

/// A string holding an opaque value: at an opaque value's span and holding a placeholder (an
/// expanded SAM policy template gives all its strings one span). Taking a string for opaque
/// when it is not would only loosen the bounds, never make them wrong.
fn is_opaque(j: &Json, opaque: &[Span]) -> bool {
    matches!(&j.kind, JsonKind::String(t) if t.contains("tarski-unknown") && opaque.contains(&j.span))
}

fn contains_opaque(j: &Json, opaque: &[Span]) -> bool {
    match &j.kind {
        JsonKind::String(_) => is_opaque(j, opaque),
        JsonKind::Array(v) => v.iter().any(|x| contains_opaque(x, opaque)),
        JsonKind::Object(ms) => ms.iter().any(|m| contains_opaque(&m.value, opaque)),
        _ => false,
    }
}

fn star(span: Span) -> Json {
    Json {
        kind: JsonKind::String("*".into()),
        span,
    }
}

/// The statement made to apply more (`more`) or less; `None` when it applies to nothing.
fn statement(st: &Json, opaque: &[Span], more: bool) -> Option<Json> {
    let JsonKind::Object(members) = &st.kind else {
        return Some(st.clone());
    };
    let mut out: Vec<Member> = Vec::new();
    for m in members {
        if !contains_opaque(&m.value, opaque) {
            out.push(m.clone());
            continue;
        }
        match m.key.as_str() {
            "Action" | "Resource" | "Principal" => {
                let v = entries(&m.value, opaque, more)?;
                out.push(Member {
                    value: v,
                    ..m.clone()
                });
            }
            "NotAction" | "NotResource" | "NotPrincipal" => {
                if !more {
                    return None;
                }
                match entries(&m.value, opaque, false) {
                    Some(v) => out.push(Member {
                        value: v,
                        ..m.clone()
                    }),
                    // Excluding nothing: the statement applies to every action / resource /
                    // principal.
                    None => out.push(Member {
                        key: m.key["Not".len()..].to_string(),
                        value: star(m.value.span),
                        ..m.clone()
                    }),
                }
            }
            "Condition" => {
                if !more {
                    return None;
                }
                let JsonKind::Object(ops) = &m.value.kind else {
                    return None;
                };
                let mut kept_ops = Vec::new();
                for op in ops {
                    let JsonKind::Object(keys) = &op.value.kind else {
                        kept_ops.push(op.clone());
                        continue;
                    };
                    let kept: Vec<Member> = keys
                        .iter()
                        .filter(|k| !contains_opaque(&k.value, opaque))
                        .cloned()
                        .collect();
                    if !kept.is_empty() {
                        kept_ops.push(Member {
                            value: Json {
                                kind: JsonKind::Object(kept),
                                span: op.value.span,
                            },
                            ..op.clone()
                        });
                    }
                }
                if !kept_ops.is_empty() {
                    out.push(Member {
                        value: Json {
                            kind: JsonKind::Object(kept_ops),
                            span: m.value.span,
                        },
                        ..m.clone()
                    });
                }
            }
            // Elsewhere (Sid, ...) a value does not change what the statement matches.
            _ => out.push(m.clone()),
        }
    }
    Some(Json {
        kind: JsonKind::Object(out),
        span: st.span,
    })
}

/// A list of entries (a string, an array, or a principal map of them) with each opaque entry
/// made `*` (`wide`) or dropped; `None` when nothing is left.
fn entries(v: &Json, opaque: &[Span], wide: bool) -> Option<Json> {
    match &v.kind {
        JsonKind::String(_) if is_opaque(v, opaque) => wide.then(|| star(v.span)),
        JsonKind::Array(items) => {
            let kept: Vec<Json> = items
                .iter()
                .filter_map(|x| entries(x, opaque, wide))
                .collect();
            (!kept.is_empty()).then_some(Json {
                kind: JsonKind::Array(kept),
                span: v.span,
            })
        }
        JsonKind::Object(ms) => {
            let kept: Vec<Member> = ms
                .iter()
                .filter_map(|m| {
                    entries(&m.value, opaque, wide).map(|value| Member { value, ..m.clone() })
                })
                .collect();
            (!kept.is_empty()).then_some(Json {
                kind: JsonKind::Object(kept),
                span: v.span,
            })
        }
        _ => Some(v.clone()),
    }
}
