//! E-mail addresses: the identifier of a data subject.

use std::fmt;

use crate::FieldError;

/// A syntactically valid, normalised e-mail address.
///
/// Normalisation trims surrounding white space and lower-cases the domain; the
/// local part is kept as typed (mail is delivered to it as typed) but two
/// addresses that differ only in the case of the local part are the same
/// person ([`EmailAddress::comparison_form`]).
///
/// `Debug` never shows the address, so that it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    address: String,
}

const MAX_LENGTH: usize = 254;
const MAX_LOCAL_LENGTH: usize = 64;

impl EmailAddress {
    /// Parses what a person typed into a form field called `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(field, "invalid_email", "This is not a valid e-mail address.");
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::missing(field));
        }
        // Lengths in characters, as openapi.yaml states them (the domain is ASCII).
        if trimmed.chars().count() > MAX_LENGTH {
            return Err(invalid());
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
        if !valid_local_part(local) || !valid_domain(domain) {
            return Err(invalid());
        }
        Ok(Self {
            address: format!("{local}@{}", domain.to_ascii_lowercase()),
        })
    }

    /// The address to deliver mail to.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The form two addresses are compared in: wholly lower-cased.
    pub fn comparison_form(&self) -> String {
        self.address.to_lowercase()
    }
}

fn valid_local_part(local: &str) -> bool {
    const FORBIDDEN: &[char] = &['<', '>', '(', ')', '[', ']', '\\', ',', ';', ':', '"', '@'];
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_LENGTH
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !FORBIDDEN.contains(&c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"))
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let address = EmailAddress::parse("email", "  Ada.Lovelace@Example.COM \n").unwrap();
        assert_eq!(address.as_str(), "Ada.Lovelace@example.com");
        assert_eq!(address.comparison_form(), "ada.lovelace@example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for raw in [
            "plain",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@exa mple.com",
            "ada lovelace@example.com",
            "ada@-example.com",
            "ada..l@example.com",
            "ada@example.com\r\nBcc: victim@example.org",
            "<ada@example.com>",
            "ada@example.123",
        ] {
            let error = EmailAddress::parse("email", raw).unwrap_err();
            assert_eq!(error.code, "invalid_email", "{raw:?}");
            assert_eq!(error.field.as_deref(), Some("email"));
        }
    }

    #[test]
    fn an_empty_address_is_missing() {
        assert_eq!(EmailAddress::parse("email", "   ").unwrap_err().code, "missing_field");
    }

    #[test]
    fn rejects_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse("email", &long).is_err());
        // Characters, not bytes: 64 two-byte characters are a local part of 64.
        let accented = format!("{}@example.com", "\u{e9}".repeat(64));
        assert!(EmailAddress::parse("email", &accented).is_ok());
        let accented = format!("{}@example.com", "\u{e9}".repeat(65));
        assert!(EmailAddress::parse("email", &accented).is_err());
    }

    #[test]
    fn debug_output_hides_the_address() {
        let address = EmailAddress::parse("email", "ada@example.com").unwrap();
        assert!(!format!("{address:?}").contains("ada"));
    }
}
