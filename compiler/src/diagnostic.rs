//! Diagnostics: a stable code, a severity, a message and the span it points at. Rendering
//! (rustc-style text, JSON) lives in the CLI; this crate only produces plain data.

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Declares [`Code`]: one variant per diagnostic code, with its stable text.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// A stable diagnostic code. Users suppress and search for the text (`T0102`), so a code
        /// is never reused or renumbered; each is documented in docs/diagnostics.md or
        /// docs/iac.md (`tests/codes.rs` checks both directions).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code's stable text, e.g. `"T0102"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }
        }
    };
}

codes! {
    /// `T0000` (docs/diagnostics.md).
    UnreadableFile = "T0000",
    /// `T0001` (docs/diagnostics.md).
    MalformedJson = "T0001",
    /// `T0002` (docs/diagnostics.md).
    DuplicateKey = "T0002",
    /// `T0003` (docs/diagnostics.md).
    DocumentTooLarge = "T0003",
    /// `T0004` (docs/diagnostics.md).
    NestingTooDeep = "T0004",
    /// `T0101` (docs/diagnostics.md).
    WrongType = "T0101",
    /// `T0102` (docs/diagnostics.md).
    UnknownElement = "T0102",
    /// `T0103` (docs/diagnostics.md).
    NoStatement = "T0103",
    /// `T0104` (docs/diagnostics.md).
    BadVersion = "T0104",
    /// `T0110` (docs/diagnostics.md).
    BadEffect = "T0110",
    /// `T0111` (docs/diagnostics.md).
    BadAction = "T0111",
    /// `T0112` (docs/diagnostics.md).
    BadResourceElement = "T0112",
    /// `T0113` (docs/diagnostics.md).
    PrincipalNotAllowed = "T0113",
    /// `T0114` (docs/diagnostics.md).
    PrincipalMissing = "T0114",
    /// `T0115` (docs/diagnostics.md).
    BadPrincipal = "T0115",
    /// `T0120` (docs/diagnostics.md).
    MalformedAction = "T0120",
    /// `T0121` (docs/diagnostics.md).
    MalformedResource = "T0121",
    /// `T0130` (docs/diagnostics.md).
    UnknownOperator = "T0130",
    /// `T0131` (docs/diagnostics.md).
    NullQualified = "T0131",
    /// `T0132` (docs/diagnostics.md).
    BadNullValue = "T0132",
    /// `T0133` (docs/diagnostics.md).
    BadConditionValue = "T0133",
    /// `T0134` (docs/diagnostics.md).
    BadCondition = "T0134",
    /// `T0135` (docs/diagnostics.md).
    EmptyConditionValues = "T0135",
    /// `T0201` (docs/diagnostics.md).
    UnknownAction = "T0201",
    /// `T0202` (docs/diagnostics.md).
    PatternMatchesNoAction = "T0202",
    /// `T0203` (docs/diagnostics.md).
    OperatorKeyTypeMismatch = "T0203",
    /// `T0204` (docs/diagnostics.md).
    VariableWithoutVersion = "T0204",
    /// `T0205` (docs/diagnostics.md).
    DuplicateSid = "T0205",
    /// `T0206` (docs/diagnostics.md).
    NegationOfStar = "T0206",
    /// `T0207` (docs/diagnostics.md).
    AllowWithNegation = "T0207",
    /// `T0208` (docs/diagnostics.md).
    MalformedVariable = "T0208",
    /// `T0209` (docs/diagnostics.md).
    SetOperatorMismatch = "T0209",
    /// `T0210` (docs/diagnostics.md).
    UnknownGlobalKey = "T0210",
    /// `T0212` (docs/diagnostics.md).
    WildcardInPrincipal = "T0212",
    /// `T0220` (docs/diagnostics.md).
    BadSid = "T0220",
    /// `T0221` (docs/diagnostics.md).
    ResourceOfNoType = "T0221",
    /// `T0300` (docs/diagnostics.md).
    UnreadableInput = "T0300",
    /// `T0301` (docs/diagnostics.md).
    DeployTimeValues = "T0301",
    /// `T0302` (docs/diagnostics.md).
    UnsupportedConstruct = "T0302",
    /// `T0303` (docs/diagnostics.md).
    BadReference = "T0303",
    /// `T0304` (docs/diagnostics.md).
    ConditionalResource = "T0304",
    /// `T0305` (docs/diagnostics.md).
    NotRead = "T0305",
    /// `T0306` (docs/diagnostics.md).
    NoDefaultVersion = "T0306",
    /// `T0307` (docs/diagnostics.md).
    SamModelled = "T0307",
    /// `T0308` (docs/diagnostics.md).
    DuplicateYamlKey = "T0308",
    /// `T0400` (docs/diagnostics.md).
    SpecSyntax = "T0400",
    /// `T0401` (docs/diagnostics.md).
    UnknownName = "T0401",
    /// `T0402` (docs/diagnostics.md).
    UnknownPolicyKind = "T0402",
    /// `T0403` (docs/diagnostics.md).
    DuplicateName = "T0403",
    /// `T0404` (docs/diagnostics.md).
    NotASinglePolicy = "T0404",
    /// `T0405` (docs/diagnostics.md).
    UnknownSetField = "T0405",
    /// `T0406` (docs/diagnostics.md).
    OperatorTypeMismatch = "T0406",
    /// `T0407` (docs/diagnostics.md).
    UnknownSeverity = "T0407",
    /// `T0501` (docs/diagnostics.md).
    IllTypedRequest = "T0501",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One finding about one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code such as `T0103` ([`Code`]); the catalogue is in docs/diagnostics.md.
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Extra lines, e.g. "help: did you mean `s3:GetObject`?".
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Warning,
            message: message.into(),
            span,
            notes: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
