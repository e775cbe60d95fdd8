//! Diagnostics: what is wrong or risky in a profile, and exactly where.

use crate::json::{LineCol, Span};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable short name for scripts and tests, e.g. `unknown-action`.
    pub code: &'static str,
    /// JSON path of the value concerned, e.g. `syscalls[3].action`.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        code: &'static str,
        text: &str,
        span: Span,
        path: String,
        message: String,
    ) -> Self {
        Diagnostic::at(severity, code, LineCol::of(text, span.start), path, message)
    }

    /// A diagnostic at a place already worked out (see [`crate::json::Lines`]).
    pub fn at(
        severity: Severity,
        code: &'static str,
        at: LineCol,
        path: String,
        message: String,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            path,
            line: at.line,
            column: at.col,
            message,
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// `file:line:col: error[code]: path: message` and an indented hint line.
    pub fn render(&self, file: &str) -> String {
        let mut out = format!(
            "{file}:{}:{}: {}[{}]",
            self.line,
            self.column,
            self.severity.label(),
            self.code
        );
        if !self.path.is_empty() {
            out += &format!(": {}", self.path);
        }
        out += &format!(": {}", self.message);
        if let Some(hint) = &self.hint {
            out += &format!("\n  hint: {hint}");
        }
        out
    }
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (standard input: `<stdin>`).
    #[error(transparent)]
    File(#[from] crate::error::FileError),
    #[error("{}", render_all(file, problems))]
    Invalid {
        file: String,
        problems: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The file (or `<stdin>`) the profile was to come from.
    pub fn file(&self) -> std::borrow::Cow<'_, str> {
        match self {
            LoadError::File(e) => e.path.to_string_lossy(),
            LoadError::Invalid { file, .. } => file.into(),
        }
    }

    pub fn problems(&self) -> &[Diagnostic] {
        match self {
            LoadError::File(_) => &[],
            LoadError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_all(file: &str, problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .map(|d| d.render(file))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value as written in the file, shortened for a one-line message.
pub fn excerpt(text: &str, span: Span) -> String {
    let written = text.get(span.start..span.end).unwrap_or("");
    let one_line: String = written.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(57).collect::<String>())
    } else {
        one_line
    }
}
