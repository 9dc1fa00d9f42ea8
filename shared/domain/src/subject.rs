//! Subject keys: the one key under which everything about a person is stored.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::email::EmailAddress;

/// The secret that turns an address into a subject key. Never logged.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    /// The pepper must hold at least 32 bytes of secret material.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WeakSecret> {
        let secret = secret.into();
        if secret.len() < 32 {
            return Err(WeakSecret);
        }
        Ok(Self(secret))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a secret must be at least 32 bytes long")]
pub struct WeakSecret;

/// HMAC-SHA256(pepper, normalised address), lower-case hex.
///
/// It identifies a person without revealing the address: suppression entries
/// hold nothing else, and every item about the person is indexed under it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubjectKey(String);

impl SubjectKey {
    pub fn derive(pepper: &Pepper, address: &EmailAddress) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(pepper.bytes()).expect("HMAC accepts keys of any length");
        mac.update(address.comparison_form().as_bytes());
        Self(hex::encode(mac.finalize().into_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits: enough to follow one person through the logs
    /// without making the log a lookup table.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl TryFrom<String> for SubjectKey {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.len() == 64 && value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(value))
        } else {
            Err("a subject key is 64 lower-case hex digits".to_owned())
        }
    }
}

impl From<SubjectKey> for String {
    fn from(key: SubjectKey) -> Self {
        key.0
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({}…)", self.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper(byte: u8) -> Pepper {
        Pepper::new(vec![byte; 32]).unwrap()
    }

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse("email", raw).unwrap()
    }

    #[test]
    fn the_same_person_gets_the_same_key_whatever_the_case() {
        let a = SubjectKey::derive(&pepper(1), &address("Ada@Example.com"));
        let b = SubjectKey::derive(&pepper(1), &address(" ada@example.COM"));
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
    }

    #[test]
    fn the_key_depends_on_the_pepper_and_the_address() {
        let ada = address("ada@example.com");
        assert_ne!(
            SubjectKey::derive(&pepper(1), &ada),
            SubjectKey::derive(&pepper(2), &ada)
        );
        assert_ne!(
            SubjectKey::derive(&pepper(1), &ada),
            SubjectKey::derive(&pepper(1), &address("grace@example.com"))
        );
    }

    #[test]
    fn matches_a_known_hmac() {
        // HMAC-SHA256(key = 32 × 0x01, "ada@example.com"), computed independently with Python's hmac module.
        let key = SubjectKey::derive(&pepper(1), &address("ada@example.com"));
        assert_eq!(key.as_str(), KNOWN_ADA_KEY);
    }

    const KNOWN_ADA_KEY: &str = "cd0779a6ee2092a88db69b0d568dd6e9bb308884e58645aadbc55e5419d1e275";

    #[test]
    fn short_pepper_is_refused() {
        assert_eq!(Pepper::new(vec![0; 31]).unwrap_err(), WeakSecret);
    }

    #[test]
    fn parses_only_hex_keys() {
        assert!(SubjectKey::try_from("ab".repeat(32)).is_ok());
        assert!(SubjectKey::try_from("AB".repeat(32)).is_err());
        assert!(SubjectKey::try_from("ab".repeat(31)).is_err());
    }
}
