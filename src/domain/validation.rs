//! Collects every problem with a request at once, so a client can fix them all in one go.

use serde::Serialize;

/// One thing wrong with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `quiet_hours.start`.
    pub field: String,
    /// Stable machine-readable reason, e.g. `too_short`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), code, message: message.into() });
    }

    /// Records the error of a field parser and returns its value, if any, so callers can go on
    /// checking the other fields.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldProblem>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem.code, problem.message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.0.iter().map(|e| e.field.as_str()).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for ValidationErrors {}

/// What a single-value parser reports; the caller knows which field it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}
