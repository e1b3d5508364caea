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
    // Rule functions (the template's `Rules` section), which cfn-lint accepts.
    ("ValueOf", "Fn::ValueOf"),
    ("ValueOfAll", "Fn::ValueOfAll"),
    ("RefAll", "Fn::RefAll"),
    ("Contains", "Fn::Contains"),
    ("EachMemberEquals", "Fn::EachMemberEquals"),
    ("EachMemberIn", "Fn::EachMemberIn"),
    ("ForEach", "Fn::ForEach"),
];

/// At most this many nodes may come from expanding aliases (issue 15: a few hundred bytes of
/// nested aliases would otherwise expand to gigabytes). Real templates use a handful.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Parse a template, strictly: a duplicate key is an error (`parse_lenient` reports it and
/// goes on).
pub fn parse(text: &str) -> Result<Json, YamlError> {
    let (j, dups) = parse_lenient(text)?;
    match dups.into_iter().next() {
        Some(d) => Err(d),
        None => Ok(j),
    }
}

/// Parse a template; duplicate mapping keys are returned beside the tree (the first value is
/// kept), so the caller can make them errors of the values that hold them rather than of the
/// whole file. Continuation lines that YAML 1.2 wants indented further but PyYAML (so cfn-lint
/// and the AWS CLI) accepts — a multi-line quoted scalar or flow collection whose later lines
/// sit at the parent's indentation — are read as PyYAML reads them.
pub fn parse_lenient(text: &str) -> Result<(Json, Vec<YamlError>), YamlError> {
    match parse_with(text, None) {
        Err(e) if e.message.contains("indentation") => {
            let (padded, pad) = pad_continuations(text);
            if pad.iter().all(|&p| p == 0) {
                return Err(e);
            }
            parse_with(text, Some((&padded, pad))).map_err(|_| e)
        }
        r => r,
    }
}

/// `text` with continuation lines of multi-line quoted scalars and flow collections indented
/// one column past the line that opened them, and how many spaces each line got.
fn pad_continuations(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut pad = Vec::new();
    // Open construct: (indent of its first line, depth of flow brackets, in a quote char).
    let mut open_indent = 0usize;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut block_scalar: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(bi) = block_scalar {
            if body.trim().is_empty() || indent > bi {
                pad.push(0);
                out.push_str(line);
                continue;
            }
            block_scalar = None;
        }
        let inside = depth > 0 || quote.is_some();
        let add = if inside && !body.trim().is_empty() && indent <= open_indent {
            open_indent + 1 - indent
        } else {
            0
        };
        pad.push(add);
        out.extend(std::iter::repeat_n(' ', add));
        out.push_str(line);
        if !inside {
            open_indent = indent;
        }
        // Scan the line for quotes, brackets and comments.
        let chars: Vec<char> = body.chars().collect();
        let mut i = 0;
        let mut prev = ' ';
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some('\'') if c == '\'' => {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
                Some('"') if c == '\\' => i += 1,
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '\'' | '"' if " \t[{,:-".contains(prev) || i == indent => quote = Some(c),
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
            i += 1;
        }
        if quote.is_none() && depth == 0 {
            let t = body.trim_end();
            let last = t.rsplit([' ', ':']).next().unwrap_or("");
            if (t.ends_with('|')
                || t.ends_with('>')
                || last.starts_with('|')
                || last.starts_with('>'))
                && last.len() <= 3
                && last
                    .chars()
                    .skip(1)
                    .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
            {
                block_scalar = Some(indent);
            }
        }
    }
    (out, pad)
}

fn parse_with(
    text: &str,
    padded: Option<(&str, Vec<usize>)>,
) -> Result<(Json, Vec<YamlError>), YamlError> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let (source, pad) = match padded {
        Some((t, p)) => (t, p),
        None => (text, Vec::new()),
    };
    let mut b = Builder {
        text,
        line_starts,
        pad,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        duplicates: Vec::new(),
        docs: Vec::new(),
        error: None,
    };
    let mut p = Parser::new_from_str(source);
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
    let doc = b.docs.pop().ok_or(YamlError {
        message: "the YAML file holds no document".into(),
        span: Span::new(0, 0),
    })?;
    Ok((doc, b.duplicates))
}

fn nodes(j: &Json) -> usize {
    1 + match &j.kind {
        JsonKind::Array(v) => v.iter().map(nodes).sum(),
        JsonKind::Object(ms) => ms.iter().map(|m| nodes(&m.value)).sum(),
        _ => 0,
    }
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
    /// Spaces added at the start of each line (`pad_continuations`), taken off again here.
    pad: Vec<usize>,
    stack: Vec<Frame>,
    /// Anchored values and their node counts.
    anchors: HashMap<usize, (Json, usize)>,
    /// Nodes added by expanding aliases so far (bounded by `MAX_ALIAS_NODES`).
    alias_nodes: usize,
    duplicates: Vec<YamlError>,
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
        let col = m
            .col()
            .saturating_sub(self.pad.get(line).copied().unwrap_or(0));
        start
            + rest
                .char_indices()
                .nth(col)
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
            let n = nodes(&v);
            self.anchors.insert(anchor, (v.clone(), n));
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
                        // cfn-lint rejects it (E0000); the value holding it is in error, the
                        // rest of the file is read.
                        self.duplicates.push(YamlError {
                            message: format!(
                                "duplicate key `{k}`: a YAML reader would silently keep only one of them"
                            ),
                            span: key_span,
                        });
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
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, n)) if self.alias_nodes + n > MAX_ALIAS_NODES => self.fail(
                    Span::new(at, at),
                    format!(
                        "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); \
                         Tarski reads no further"
                    ),
                ),
                Some((v, n)) => {
                    let (v, n) = (v.clone(), *n);
                    self.alias_nodes += n;
                    self.push_value(v, 0);
                }
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
    fn alias_bombs_are_bounded() {
        // Nine levels of ten aliases: 10^9 nodes if expanded.
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&t).unwrap_err();
        assert!(e.message.contains("alias"), "{e:?}");
        // A few aliases are fine.
        let j = parse("a: &x {k: v}\nb: *x\nc: *x\n").unwrap();
        assert_eq!(
            j.get("c").and_then(|c| c.get("k")).and_then(Json::as_str),
            Some("v")
        );
    }

    #[test]
    fn pyyaml_continuation_indentation_is_accepted_with_true_spans() {
        let text = "Outputs:\n  A:\n    Value: 'one\n    two'\n  B:\n    K: [\n      x,\n    y\n    ]\n    L: z\n";
        let j = parse(text).unwrap();
        let a = j
            .get("Outputs")
            .unwrap()
            .get("A")
            .unwrap()
            .get("Value")
            .unwrap();
        assert_eq!(a.as_str(), Some("one two"));
        let l = j
            .get("Outputs")
            .unwrap()
            .get("B")
            .unwrap()
            .get("L")
            .unwrap();
        assert_eq!(&text[l.span.range()], "z");
        // Still an error when it is not about indentation.
        assert!(parse("a: [\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_reported_beside_the_tree() {
        let (j, d) = parse_lenient("a: 1\nb: {c: 1, c: 2}\n").unwrap();
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("duplicate key `c`"));
        assert!(j.get("a").is_some());
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
