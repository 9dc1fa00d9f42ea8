//! What a person tells about themselves besides their address.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A name as a person typed it: trimmed, 1 to 100 characters, no control
/// characters (so it can go into a mail header or a page only escaped, and
/// never as a line break). `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::missing(field));
        }
        if trimmed.chars().count() > 100 {
            return Err(FieldError::invalid(field, "A name is at most 100 characters."));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::invalid(
                field,
                "A name cannot hold line breaks or control characters.",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("name", "  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(PersonName::parse("name", " ").unwrap_err().code, "missing_field");
        assert!(PersonName::parse("name", &"x".repeat(101)).is_err());
        assert!(PersonName::parse("name", "Ada\r\nBcc: someone@example.com").is_err());
        assert!(
            PersonName::parse("name", "<script>alert(1)</script>").is_ok(),
            "escaped where shown, not refused"
        );
    }
}
