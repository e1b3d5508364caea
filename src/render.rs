//! Rendering diagnostics: rustc-style text (codespan-reporting) or JSON lines.
//!
//! Text rendering shows an excerpt, never the whole input: each diagnostic gets the line(s)
//! its span starts and ends on, each clipped to a window around the span (as rustc does), so a
//! minified policy on one 2.8 MB line prints a few hundred bytes per diagnostic, not the line
//! (issue 15, finding 10). Control characters are never printed raw (finding 4): in snippets
//! they become `?`, in messages, notes and file names `\u{..}` escapes (`clean`).

use std::borrow::Cow;
use std::io::Write;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{
    self,
    termcolor::{ColorChoice, StandardStream},
};
use serde_json::json;
use tarski_compiler::diagnostic::{Diagnostic, Severity};
use tarski_compiler::load::SourceDiagnostics;
use tarski_compiler::source::SourceFile;

pub fn color_choice() -> ColorChoice {
    if std::env::var_os("NO_COLOR").is_some()
        || !std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    }
}

/// Whether a character must not reach a terminal raw: C0/C1 controls and DEL (cursor moves,
/// `\r` overwriting a line), and the bidirectional overrides and isolates that reorder text.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Text from an input, safe to print on a terminal: hostile characters (see `is_hostile`)
/// as `\u{1b}` escapes. A Sid of `\r\u001b[1A\u001b[2K` made a terminal show an allowed
/// request as "ImplicitDeny".
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hostile(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `clean` for multi-line text (error messages): line breaks stay.
pub fn clean_lines(s: &str) -> String {
    s.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Widest excerpt of one line shown, in bytes, and how much context is kept before a span.
const WINDOW: usize = 120;
const BEFORE: usize = 40;

/// One excerpt line: where it came from and how it maps back.
struct ExcerptLine {
    /// 1-based line number in the source.
    line: usize,
    /// Byte offset in the source of the first byte kept.
    from: usize,
    /// Byte range of this line in the excerpt text.
    range: Range<usize>,
    /// Bytes of the `…` marker before the kept text.
    prefix: usize,
}

/// The lines of one diagnostic, clipped, as a codespan file whose line and column numbers are
/// those of the source.
struct Excerpt<'a> {
    name: String,
    text: String,
    lines: Vec<ExcerptLine>,
    source: &'a SourceFile,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl<'a> Excerpt<'a> {
    /// The excerpt for a span, and the span mapped into it.
    fn new(source: &'a SourceFile, span: Range<usize>) -> (Excerpt<'a>, Range<usize>) {
        let text = source.text.as_str();
        let start = floor_boundary(text, span.start);
        let end = ceil_boundary(text, span.end.max(start));
        let (l1, _) = source.line_col(start);
        let (l2, _) = source.line_col(end);
        let mut ex = Excerpt {
            name: clean(&source.name).into_owned(),
            text: String::new(),
            lines: Vec::new(),
            source,
        };
        let mut mapped = 0..0;
        for (k, line) in [l1, l2].into_iter().enumerate() {
            if k == 1 && line == l1 {
                break;
            }
            let lr = source.line_range(line);
            // The part of the span on this line.
            let a = if k == 0 {
                start.max(lr.start)
            } else {
                lr.start
            };
            let b = if line == l2 { end.min(lr.end) } else { lr.end }.max(a);
            let (from, to) = if lr.end - lr.start <= WINDOW {
                (lr.start, lr.end)
            } else {
                let from = floor_boundary(text, a.saturating_sub(BEFORE).max(lr.start));
                let to = ceil_boundary(text, (from + WINDOW).max(a + 1).min(lr.end));
                (from, to)
            };
            if k == 1 {
                ex.text.push('\n');
            }
            let line_start = ex.text.len();
            let prefix = if from > lr.start { "…" } else { "" };
            ex.text.push_str(prefix);
            // Control characters become `?` byte for byte, so offsets stay valid.
            for c in text[from..to].chars() {
                if is_hostile(c) {
                    ex.text.extend(std::iter::repeat_n('?', c.len_utf8()));
                } else {
                    ex.text.push(c);
                }
            }
            let kept_end = ex.text.len();
            if to < lr.end {
                ex.text.push('…');
            }
            let to_ex = |o: usize| line_start + prefix.len() + (o.clamp(from, to) - from);
            if k == 0 {
                mapped.start = to_ex(a);
                mapped.end = to_ex(b);
            }
            if line == l2 {
                mapped.end = to_ex(b).min(kept_end);
            }
            ex.lines.push(ExcerptLine {
                line,
                from,
                range: line_start..ex.text.len(),
                prefix: prefix.len(),
            });
        }
        (ex, mapped)
    }

    fn line_of(&self, byte: usize) -> usize {
        self.lines
            .iter()
            .rposition(|l| l.range.start <= byte)
            .unwrap_or(0)
    }
}

impl<'f> Files<'f> for Excerpt<'_> {
    type FileId = ();
    type Name = &'f str;
    type Source = &'f str;

    fn name(&'f self, (): ()) -> Result<&'f str, FilesError> {
        Ok(&self.name)
    }

    fn source(&'f self, (): ()) -> Result<&'f str, FilesError> {
        Ok(&self.text)
    }

    fn line_index(&'f self, (): (), byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.line_of(byte_index))
    }

    fn line_number(&'f self, (): (), line_index: usize) -> Result<usize, FilesError> {
        self.lines
            .get(line_index)
            .map(|l| l.line)
            .ok_or(FilesError::LineTooLarge {
                given: line_index,
                max: self.lines.len(),
            })
    }

    fn column_number(
        &'f self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        let l = self.lines.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: self.lines.len(),
        })?;
        let offset = l.from + byte_index.saturating_sub(l.range.start + l.prefix);
        Ok(self.source.line_col(offset).1)
    }

    fn line_range(&'f self, (): (), line_index: usize) -> Result<Range<usize>, FilesError> {
        self.lines
            .get(line_index)
            .map(|l| l.range.clone())
            .ok_or(FilesError::LineTooLarge {
                given: line_index,
                max: self.lines.len(),
            })
    }
}

/// Print diagnostics as text to stderr.
pub fn text(groups: &[SourceDiagnostics]) {
    let writer = StandardStream::stderr(color_choice());
    let config = term::Config::default();
    for g in groups {
        for d in &g.diagnostics {
            let (excerpt, range) = Excerpt::new(&g.source, d.span.range());
            let cs = to_codespan(d, range);
            if term::emit(&mut writer.lock(), &config, &excerpt, &cs).is_err() {
                // Fall back to one plain line if the terminal refuses (e.g. a closed pipe).
                let (l, c) = g.source.line_col(d.span.start as usize);
                let _ = writeln!(
                    std::io::stderr(),
                    "{}:{l}:{c}: {}[{}]: {}",
                    clean(&g.source.name),
                    d.severity.as_str(),
                    d.code,
                    clean(&d.message)
                );
            }
        }
    }
}

fn to_codespan(d: &Diagnostic, range: Range<usize>) -> CsDiagnostic<()> {
    let sev = match d.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    CsDiagnostic::new(sev)
        .with_code(d.code)
        .with_message(clean(&d.message))
        .with_labels(vec![Label::primary((), range)])
        .with_notes(d.notes.iter().map(|n| clean(n).into_owned()).collect())
}

/// One JSON object per diagnostic (schema in docs/cli.md).
pub fn json_value(g: &SourceDiagnostics, d: &Diagnostic) -> serde_json::Value {
    let (line, column) = g.source.line_col(d.span.start as usize);
    let (end_line, end_column) = g.source.line_col(d.span.end as usize);
    json!({
        "file": g.source.name,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "code": d.code.as_str(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "notes": d.notes,
    })
}
