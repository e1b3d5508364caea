//! A strict JSON reader (RFC 8259) that keeps the byte span of every key and value, rejects
//! duplicate object keys, and bounds nesting depth and input size. `serde_json` drops spans and
//! silently keeps the last duplicate key, which for a policy would lose data without a word.

use crate::diagnostic::Code;
use crate::span::Span;

/// Deepest nesting accepted. Real policies nest at most 5 deep; this leaves room for wrappers.
pub const MAX_DEPTH: usize = 64;
/// Largest document accepted, in bytes. AWS's largest policy documents (resource policies) are
/// tens of kilobytes; 8 MiB leaves room for arrays of documents and CLI output wrappers.
pub const MAX_BYTES: usize = 8 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    pub kind: JsonKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonKind {
    Null,
    Bool(bool),
    /// The number's source text, kept exact (no float rounding).
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<Member>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub code: Code,
    pub message: String,
    pub span: Span,
}

impl Json {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            JsonKind::Null => "null",
            JsonKind::Bool(_) => "a boolean",
            JsonKind::Number(_) => "a number",
            JsonKind::String(_) => "a string",
            JsonKind::Array(_) => "an array",
            JsonKind::Object(_) => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            JsonKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.kind {
            JsonKind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Member by exact key.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }
}

pub fn parse(text: &str) -> Result<Json, JsonError> {
    if text.len() > MAX_BYTES {
        return Err(JsonError {
            code: Code::DocumentTooLarge,
            message: format!(
                "document is {} bytes; the limit is {} bytes",
                text.len(),
                MAX_BYTES
            ),
            span: Span::new(0, 0),
        });
    }
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    // A UTF-8 byte order mark is common in files saved by Windows editors.
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err(Code::MalformedJson, "unexpected text after the JSON value"));
    }
    Ok(v)
}

/// Parse strictly (duplicate keys, depth and size limits as [`parse`]) into a
/// `serde_json::Value`, for inputs that are not policies: manifests, request and context files,
/// batch records. `serde_json::from_str` would keep the last of two duplicate keys without a
/// word (issue 15: a duplicated `identity` or `scps` key in a manifest dropped a layer).
/// The error names the 1-based line and column.
pub fn parse_value(text: &str) -> Result<serde_json::Value, String> {
    let j = parse(text).map_err(|e| {
        let (line, col) = crate::source::SourceFile::new("", text).line_col(e.span.start as usize);
        format!("line {line}, column {col}: {} [{}]", e.message, e.code)
    })?;
    Ok(to_value(&j))
}

/// The same value without spans. Numbers keep their text when `serde_json` can hold it.
pub fn to_value(j: &Json) -> serde_json::Value {
    use serde_json::Value;
    match &j.kind {
        JsonKind::Null => Value::Null,
        JsonKind::Bool(b) => Value::Bool(*b),
        JsonKind::Number(n) => n
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(n.clone())),
        JsonKind::String(s) => Value::String(s.clone()),
        JsonKind::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        JsonKind::Object(members) => Value::Object(
            members
                .iter()
                .map(|m| (m.key.clone(), to_value(&m.value)))
                .collect(),
        ),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, code: Code, msg: impl Into<String>) -> JsonError {
        let end = (self.pos + 1).min(self.s.len());
        JsonError {
            code,
            message: msg.into(),
            span: Span::new(self.pos.min(self.s.len()), end),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.err(
                Code::NestingTooDeep,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let start = self.pos;
        let kind = match self.peek() {
            None => {
                return Err(self.err(
                    Code::MalformedJson,
                    "unexpected end of input, expected a value",
                ))
            }
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => self.keyword("true", JsonKind::Bool(true))?,
            Some(b'f') => self.keyword("false", JsonKind::Bool(false))?,
            Some(b'n') => self.keyword("null", JsonKind::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => {
                let c = self.text[self.pos..].chars().next().unwrap_or('?');
                return Err(self.err(
                    Code::MalformedJson,
                    format!("unexpected character `{c}`, expected a value"),
                ));
            }
        };
        Ok(Json {
            kind,
            span: Span::new(start, self.pos),
        })
    }

    fn keyword(&mut self, word: &str, kind: JsonKind) -> Result<JsonKind, JsonError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.err(
                Code::MalformedJson,
                "invalid literal, expected `true`, `false` or `null`",
            ))
        }
    }

    fn number(&mut self) -> Result<JsonKind, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err(Code::MalformedJson, "invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(
                    Code::MalformedJson,
                    "invalid number: digits expected after `.`",
                ));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(
                    Code::MalformedJson,
                    "invalid number: digits expected in exponent",
                ));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        Ok(JsonKind::Number(self.text[start..self.pos].to_string()))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // Caller saw the opening quote.
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.err(Code::MalformedJson, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self
                        .peek()
                        .ok_or_else(|| self.err(Code::MalformedJson, "unterminated string"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => {
                            self.pos -= 1;
                            return Err(
                                self.err(Code::MalformedJson, "invalid escape sequence in string")
                            );
                        }
                    }
                }
                Some(_) => {
                    return Err(self.err(
                        Code::MalformedJson,
                        "control character in string must be escaped",
                    ))
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                self.err(
                    Code::MalformedJson,
                    "invalid \\u escape: four hex digits expected",
                )
            })?;
        self.pos += 4;
        u32::from_str_radix(digits, 16)
            .map_err(|_| self.err(Code::MalformedJson, "invalid \\u escape"))
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.s[self.pos..].starts_with(b"\\u") {
                return Err(self.err(Code::MalformedJson, "unpaired surrogate in \\u escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err(Code::MalformedJson, "unpaired surrogate in \\u escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| self.err(Code::MalformedJson, "invalid code point in \\u escape"))
    }

    fn array(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonKind::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonKind::Array(items));
                }
                _ => return Err(self.err(Code::MalformedJson, "expected `,` or `]` in array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.pos += 1;
        let mut members: Vec<Member> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonKind::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(Code::MalformedJson, "expected a string key in object"));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            if let Some(first) = members.iter().find(|m| m.key == key) {
                let (l, _) = line_of(self.text, first.key_span.start as usize);
                return Err(JsonError {
                    code: Code::DuplicateKey,
                    message: format!(
                        "duplicate key `{key}` (first on line {l}); JSON readers keep only one of them, so the policy would silently lose data"
                    ),
                    span: key_span,
                });
            }
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err(Code::MalformedJson, "expected `:` after object key"));
            }
            self.pos += 1;
            self.ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonKind::Object(members));
                }
                _ => return Err(self.err(Code::MalformedJson, "expected `,` or `}` in object")),
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_value_rejects_duplicate_keys_with_line_and_column() {
        let e = super::parse_value("{\"identity\": [\"A.json\"],\n \"identity\": [\"R.json\"]}")
            .unwrap_err();
        assert!(e.contains("duplicate key `identity`"), "{e}");
        assert!(e.contains("line 2, column 2"), "{e}");
        let v = super::parse_value(r#"{"a": [1, 2.50, "x", null, true]}"#).unwrap();
        assert_eq!(v["a"][1].to_string(), "2.5");
        assert_eq!(v["a"][2], "x");
    }

    use super::*;

    #[test]
    fn parses_nested_values_with_spans() {
        let src = r#" {"a": [1, -2.5e3, "x\u00e9"], "b": {"c": null, "d": true}} "#;
        let v = parse(src).unwrap();
        let a = v.get("a").unwrap();
        assert_eq!(&src[a.span.range()], r#"[1, -2.5e3, "x\u00e9"]"#);
        match &a.kind {
            JsonKind::Array(items) => {
                assert_eq!(items[1].kind, JsonKind::Number("-2.5e3".into()));
                assert_eq!(items[2].kind, JsonKind::String("xé".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_duplicate_keys_with_span_of_second() {
        let src = r#"{"Effect": "Allow", "Effect": "Deny"}"#;
        let e = parse(src).unwrap_err();
        assert_eq!(e.code, Code::DuplicateKey);
        assert_eq!(e.span.start, 20);
    }

    #[test]
    fn rejects_deep_nesting_without_overflow() {
        let src = "[".repeat(100_000);
        assert_eq!(parse(&src).unwrap_err().code, Code::NestingTooDeep);
    }

    #[test]
    fn rejects_malformed_inputs() {
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "[1,]",
            "01",
            "\"\\x\"",
            "tru",
            "{} x",
            "\"\u{1}\"",
            "1.",
            "\"\\ud800\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn surrogate_pairs_decode() {
        assert_eq!(
            parse("\"\\ud83d\\ude00\"").unwrap().kind,
            JsonKind::String("😀".into())
        );
    }
}
