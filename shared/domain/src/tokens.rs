//! Tokens in links: stateless signed unsubscribe tokens and random
//! single-use tokens stored only as a hash.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::subject::{Pepper, SubjectKey, WeakSecret};

/// The product's two secrets, from configuration (SSM Parameter Store in AWS).
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Turns addresses into subject keys.
    pub pepper: Pepper,
    /// Signs unsubscribe links.
    pub token_key: TokenKey,
}

/// The key that signs unsubscribe tokens. Never logged.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    /// The key must hold at least 32 bytes of secret material.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WeakSecret> {
        let secret = secret.into();
        if secret.len() < 32 {
            return Err(WeakSecret);
        }
        Ok(Self(secret))
    }

    fn mac(&self, purpose: &str, subject: &SubjectKey, list: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(list.as_bytes());
        mac
    }

    /// A token that unsubscribes `subject` from `list`, forever valid, bound
    /// to both: `v1.<subject key>.<list>.<HMAC>`.
    pub fn unsubscribe_token(&self, subject: &SubjectKey, list: &str) -> String {
        let tag = self.mac("unsubscribe", subject, list).finalize().into_bytes();
        format!("v1.{}.{list}.{}", subject.as_str(), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The subject and list of a genuine unsubscribe token, checked in constant time.
    pub fn verify_unsubscribe_token(&self, token: &str) -> Option<(SubjectKey, String)> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(subject), Some(list), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let subject = SubjectKey::try_from(subject.to_owned()).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac("unsubscribe", &subject, list).verify_slice(&tag).ok()?;
        Some((subject, list.to_owned()))
    }

    /// A token that opens `subject`'s preference centre (every list, and
    /// "unsubscribe from everything"), forever valid, bound to the subject
    /// alone: `p1.<subject key>.<HMAC>`. Its purpose differs from an
    /// unsubscribe token's, so neither verifies as the other.
    pub fn preferences_token(&self, subject: &SubjectKey) -> String {
        let tag = self.mac("preferences", subject, "").finalize().into_bytes();
        format!("p1.{}.{}", subject.as_str(), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The subject of a genuine preference-centre token, checked in constant time.
    pub fn verify_preferences_token(&self, token: &str) -> Option<SubjectKey> {
        let mut parts = token.split('.');
        let (Some("p1"), Some(subject), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let subject = SubjectKey::try_from(subject.to_owned()).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac("preferences", &subject, "").verify_slice(&tag).ok()?;
        Some(subject)
    }
}

impl TokenKey {
    /// The token of a data-subject request's status link: bound to the
    /// request id, valid as long as the request exists.
    pub fn request_status_token(&self, request_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"request-status\0");
        mac.update(request_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn verify_request_status_token(&self, request_id: &str, token: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"request-status\0");
        mac.update(request_id.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }
}

impl TokenKey {
    /// A paging cursor of the store, sealed for a client to hand back:
    /// `<base64url(cursor)>.<base64url(HMAC(purpose, cursor))>`. The client
    /// can read it (it holds only keys of the queue, no personal data) but
    /// cannot forge or alter it.
    pub fn seal_cursor(&self, purpose: &str, cursor: &str) -> String {
        let tag = self.cursor_mac(purpose, cursor).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(cursor), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The store cursor inside a sealed one, or `None` if it was not sealed
    /// by this key for this purpose.
    pub fn open_cursor(&self, purpose: &str, sealed: &str) -> Option<String> {
        let (cursor, tag) = sealed.split_once('.')?;
        let cursor = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.cursor_mac(purpose, &cursor).verify_slice(&tag).ok()?;
        Some(cursor)
    }

    fn cursor_mac(&self, purpose: &str, cursor: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"cursor\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(cursor.as_bytes());
        mac
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// A random single-use token (confirmation, verification links). Only its
/// [`OneTimeToken::digest`] is stored.
pub struct OneTimeToken(String);

impl OneTimeToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The token as it goes into a link.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        token_digest(&self.0)
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken(<redacted>)")
    }
}

/// SHA-256 of a presented token, hex: what a stored token is looked up by.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> TokenKey {
        TokenKey::new(vec![byte; 32]).unwrap()
    }

    fn subject(c: char) -> SubjectKey {
        SubjectKey::try_from(c.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn a_preferences_token_opens_its_subjects_centre_only() {
        let token = key(1).preferences_token(&subject('a'));
        assert_eq!(key(1).verify_preferences_token(&token), Some(subject('a')));
        assert_eq!(key(2).verify_preferences_token(&token), None, "another key");
        let moved = token.replace(&"a".repeat(64), &"b".repeat(64));
        assert_eq!(
            key(1).verify_preferences_token(&moved),
            None,
            "moved to another subject"
        );
        let unsubscribe = key(1).unsubscribe_token(&subject('a'), "news");
        assert_eq!(
            key(1).verify_preferences_token(&unsubscribe),
            None,
            "an unsubscribe token"
        );
        assert_eq!(
            key(1).verify_unsubscribe_token(&token),
            None,
            "used as an unsubscribe token"
        );
    }

    #[test]
    fn a_genuine_unsubscribe_token_verifies() {
        let token = key(1).unsubscribe_token(&subject('a'), "news");
        assert_eq!(
            key(1).verify_unsubscribe_token(&token),
            Some((subject('a'), "news".to_owned()))
        );
    }

    #[test]
    fn forged_moved_or_altered_tokens_do_not_verify() {
        let token = key(1).unsubscribe_token(&subject('a'), "news");
        assert_eq!(key(2).verify_unsubscribe_token(&token), None, "another key");
        let moved = token.replace(&"a".repeat(64), &"b".repeat(64));
        assert_eq!(
            key(1).verify_unsubscribe_token(&moved),
            None,
            "moved to another subject"
        );
        let other_list = token.replace(".news.", ".offers.");
        assert_eq!(
            key(1).verify_unsubscribe_token(&other_list),
            None,
            "moved to another list"
        );
        let mut altered = token.clone();
        altered.pop();
        altered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(key(1).verify_unsubscribe_token(&altered), None, "altered tag");
        for garbage in ["", "v1", "v2.x.news.y", &format!("{token}.extra")] {
            assert_eq!(key(1).verify_unsubscribe_token(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn request_status_tokens_are_bound_to_the_request() {
        let token = key(1).request_status_token("request-a");
        assert!(key(1).verify_request_status_token("request-a", &token));
        assert!(!key(1).verify_request_status_token("request-b", &token));
        assert!(!key(2).verify_request_status_token("request-a", &token));
        assert!(!key(1).verify_request_status_token("request-a", "garbage!"));
    }

    #[test]
    fn one_time_tokens_are_random_and_stored_as_a_digest() {
        let (a, b) = (OneTimeToken::generate(), OneTimeToken::generate());
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(a.reveal().len(), 43);
        assert_eq!(a.digest(), token_digest(a.reveal()));
        assert!(!a.digest().contains(a.reveal()));
    }

    #[test]
    fn a_sealed_cursor_opens_only_unaltered_for_its_purpose_and_key() {
        let key = TokenKey::new(vec![7; 32]).unwrap();
        let sealed = key.seal_cursor("dsr-queue", r#"{"PK":"DSR_QUEUE","SK":"2027-01-01#x"}"#);
        assert_eq!(
            key.open_cursor("dsr-queue", &sealed).as_deref(),
            Some(r#"{"PK":"DSR_QUEUE","SK":"2027-01-01#x"}"#)
        );
        assert_eq!(key.open_cursor("receipts", &sealed), None);
        assert_eq!(
            TokenKey::new(vec![8; 32]).unwrap().open_cursor("dsr-queue", &sealed),
            None
        );
        let (cursor, tag) = sealed.split_once('.').unwrap();
        let forged = key.seal_cursor("dsr-queue", r#"{"PK":"CONSENT#x","SK":"y"}"#);
        let (forged_cursor, _) = forged.split_once('.').unwrap();
        assert_eq!(key.open_cursor("dsr-queue", &format!("{forged_cursor}.{tag}")), None);
        for bad in ["", ".", "x", cursor, &format!("{cursor}."), &format!(".{tag}")] {
            assert_eq!(key.open_cursor("dsr-queue", bad), None, "{bad}");
        }
    }
}
