//! YAML (CloudFormation's dialect) → the span-keeping `Json` tree, so one resolver handles
//! JSON and YAML templates alike.
//!
//! Built on `yaml-rust2`'s event parser because it reports the position of every node and keeps
//! custom tags: the short forms `!Ref X`, `!GetAtt A.B`, `!Sub ...`, `!Join [...]`, ... become
//! the long forms `{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, ... exactly as CloudFormation
//! reads them. Duplicate mapping keys are an error (as in `json.rs`): a YAML reader that keeps
//! the last one silently loses a statement. Anchors and aliases are expanded.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::json::{Json, JsonKind, Member};
use crate::span::Span;

/// A YAML problem: message and span (byte offsets into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

/// Short-form tags and the long-form key they stand for.
const TAGS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("FindInMap", "Fn::FindInMap"),
    ("ImportValue", "Fn::ImportValue"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("GetAZs", "Fn::GetAZs"),
    ("Transform", "Fn::Transform"),
    ("Length", "Fn::Length"),
    ("ToJsonString", "Fn::ToJsonString"),
];

pub fn parse(text: &str) -> Result<Json, YamlError> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut b = Builder {
        text,
        line_starts,
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        error: None,
    };
    let mut p = Parser::new_from_str(text);
    if let Err(e) = p.load(&mut b, false) {
        let at = b.offset(e.marker());
        return Err(YamlError {
            message: format!("invalid YAML: {}", e.info()),
            span: Span::new(at, (at + 1).min(text.len())),
        });
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    b.docs.pop().ok_or(YamlError {
        message: "the YAML file holds no document".into(),
        span: Span::new(0, 0),
    })
}

enum Frame {
    Seq {
        items: Vec<Json>,
        start: usize,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        members: Vec<Member>,
        key: Option<(String, Span)>,
        start: usize,
        anchor: usize,
        tag: Option<Tag>,
    },
}

struct Builder<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Json>,
    docs: Vec<Json>,
    error: Option<YamlError>,
}

impl Builder<'_> {
    /// Byte offset of a marker, from its line and column (robust to how the index counts).
    fn offset(&self, m: &Marker) -> usize {
        let line = m.line().max(1) - 1;
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        start
            + rest
                .char_indices()
                .nth(m.col())
                .map(|(i, _)| i)
                .unwrap_or(rest.len())
    }

    fn fail(&mut self, span: Span, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                message: message.into(),
                span,
            });
        }
    }

    /// Wrap a node in its tag's long form, or reject an unknown tag.
    fn tagged(&mut self, node: Json, tag: Option<Tag>) -> Json {
        let Some(tag) = tag else { return node };
        if tag.handle == "!!" || tag.handle.starts_with("tag:yaml.org") {
            return node; // standard tags (`!!str`, ...): the value as is
        }
        if tag.handle != "!" {
            self.fail(
                node.span,
                format!("unknown YAML tag `{}{}`", tag.handle, tag.suffix),
            );
            return node;
        }
        let Some((_, long)) = TAGS.iter().find(|(s, _)| *s == tag.suffix) else {
            self.fail(
                node.span,
                format!("unknown CloudFormation tag `!{}`", tag.suffix),
            );
            return node;
        };
        let span = node.span;
        // `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`.
        let node = match (&node.kind, *long) {
            (JsonKind::String(s), "Fn::GetAtt") => match s.split_once('.') {
                Some((a, b)) => Json {
                    kind: JsonKind::Array(vec![
                        Json {
                            kind: JsonKind::String(a.into()),
                            span,
                        },
                        Json {
                            kind: JsonKind::String(b.into()),
                            span,
                        },
                    ]),
                    span,
                },
                None => node,
            },
            _ => node,
        };
        Json {
            kind: JsonKind::Object(vec![Member {
                key: (*long).to_string(),
                key_span: span,
                value: node,
            }]),
            span,
        }
    }

    fn push_value(&mut self, v: Json, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { members, key, .. }) => match key.take() {
                None => match &v.kind {
                    JsonKind::String(s) => *key = Some((s.clone(), v.span)),
                    JsonKind::Number(s) => *key = Some((s.clone(), v.span)),
                    JsonKind::Bool(b) => *key = Some((b.to_string(), v.span)),
                    _ => {
                        let span = v.span;
                        self.fail(span, "a mapping key must be a scalar");
                    }
                },
                Some((k, key_span)) => {
                    if members.iter().any(|m| m.key == k) {
                        let msg = format!("duplicate key `{k}`: a YAML reader would silently keep only one of them");
                        self.fail(key_span, msg);
                        return;
                    }
                    members.push(Member {
                        key: k,
                        key_span,
                        value: v,
                    });
                }
            },
        }
    }
}

fn scalar_kind(s: &str, style: TScalarStyle) -> JsonKind {
    if style != TScalarStyle::Plain {
        return JsonKind::String(s.to_string());
    }
    match s {
        "true" | "True" | "TRUE" => JsonKind::Bool(true),
        "false" | "False" | "FALSE" => JsonKind::Bool(false),
        "null" | "Null" | "NULL" | "~" | "" => JsonKind::Null,
        _ if is_number(s) => JsonKind::Number(s.to_string()),
        _ => JsonKind::String(s.to_string()),
    }
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty()
        && t.chars().next().is_some_and(|c| c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.matches('.').count() <= 1
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.offset(&mark);
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let quoted = usize::from(style != TScalarStyle::Plain) * 2;
                let end = (at + s.len() + quoted).min(self.text.len());
                let node = Json {
                    kind: if tag.as_ref().is_some_and(|t| t.handle == "!") {
                        JsonKind::String(s.clone())
                    } else {
                        scalar_kind(&s, style)
                    },
                    span: Span::new(at, end.max(at)),
                };
                let node = self.tagged(node, tag);
                self.push_value(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                start: at,
                anchor,
                tag,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                members: Vec::new(),
                key: None,
                start: at,
                anchor,
                tag,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    let end = at.max(start);
                    let node = Json {
                        kind: JsonKind::Array(items),
                        span: Span::new(start, end),
                    };
                    let node = self.tagged(node, tag);
                    self.push_value(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    members,
                    start,
                    anchor,
                    tag,
                    ..
                }) = self.stack.pop()
                {
                    let end = at.max(start);
                    let node = Json {
                        kind: JsonKind::Object(members),
                        span: Span::new(start, end),
                    };
                    let node = self.tagged(node, tag);
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => self.push_value(v, 0),
                None => self.fail(Span::new(at, at), "alias to an unknown anchor"),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_forms_with_spans() {
        let text = "Resources:\n  R:\n    Arn: !GetAtt Bucket.Arn\n    S: !Sub 'arn:${AWS::Partition}:s3:::x'\n    J: !Join ['', [a, !Ref P]]\n";
        let j = parse(text).unwrap();
        let r = j.get("Resources").unwrap().get("R").unwrap();
        let arn = r.get("Arn").unwrap().get("Fn::GetAtt").unwrap();
        assert!(matches!(&arn.kind, JsonKind::Array(v) if v.len() == 2));
        assert_eq!(&text[arn.span.range()][..6], "Bucket");
        assert!(r.get("S").unwrap().get("Fn::Sub").is_some());
        let j2 = r.get("J").unwrap().get("Fn::Join").unwrap();
        assert!(matches!(&j2.kind, JsonKind::Array(v) if v.len() == 2));
    }

    #[test]
    fn duplicate_keys_and_bad_tags_are_errors() {
        assert!(parse("a: 1\na: 2\n")
            .unwrap_err()
            .message
            .contains("duplicate"));
        assert!(parse("a: !Nope x\n").is_err());
        assert!(parse("a: [\n").is_err());
    }
}
