//! Rendering diagnostics: rustc-style text (codespan-reporting) or JSON lines.

use std::io::Write;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{
    self,
    termcolor::{ColorChoice, StandardStream},
};
use serde_json::json;
use tarski_compiler::diagnostic::{Diagnostic, Severity};
use tarski_compiler::load::SourceDiagnostics;

pub fn color_choice() -> ColorChoice {
    if std::env::var_os("NO_COLOR").is_some()
        || !std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    }
}

/// Print diagnostics as text to stderr.
pub fn text(groups: &[SourceDiagnostics]) {
    let writer = StandardStream::stderr(color_choice());
    let config = term::Config::default();
    for g in groups {
        let file = SimpleFile::new(g.source.name.as_str(), g.source.text.as_str());
        for d in &g.diagnostics {
            let cs = to_codespan(d, &g.source.text);
            if term::emit(&mut writer.lock(), &config, &file, &cs).is_err() {
                // Fall back to one plain line if the terminal refuses (e.g. a closed pipe).
                let (l, c) = g.source.line_col(d.span.start as usize);
                let _ = writeln!(
                    std::io::stderr(),
                    "{}:{l}:{c}: {}[{}]: {}",
                    g.source.name,
                    d.severity.as_str(),
                    d.code,
                    d.message
                );
            }
        }
    }
}

fn to_codespan(d: &Diagnostic, text: &str) -> CsDiagnostic<()> {
    let sev = match d.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut range = d.span.range();
    range.end = range.end.min(text.len());
    range.start = range.start.min(range.end);
    while !text.is_char_boundary(range.start) {
        range.start -= 1;
    }
    while !text.is_char_boundary(range.end) {
        range.end += 1;
    }
    CsDiagnostic::new(sev)
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(vec![Label::primary((), range)])
        .with_notes(d.notes.clone())
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
        "code": d.code,
        "severity": d.severity.as_str(),
        "message": d.message,
        "notes": d.notes,
    })
}
