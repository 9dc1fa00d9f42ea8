//! Validation failures that name the field a client got wrong.

use std::fmt;

/// A value a client sent that the domain cannot accept.
///
/// `message` is a sentence for people and never repeats the rejected value:
/// the value may be personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the client named it (`categories.necessary`), or `None`
    /// when the request as a whole is wrong.
    pub field: Option<String>,
    /// A stable `snake_case` code clients can switch on.
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            code,
            message: message.into(),
        }
    }

    pub fn missing(field: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("The field `{field}` is required.");
        Self::new(field, "missing_field", message)
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(field, "invalid_field", message)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FieldError {}
