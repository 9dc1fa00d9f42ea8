//! The signature on what passes between this product and a system of record
//! (SPEC 8): the webhook POST that hands a task over, and the system's
//! answer to `POST /systems/tasks/{task_id}`.
//!
//! `Privacy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! under the system's secret. A receiver recomputes the HMAC over the
//! timestamp it was given and the raw body, compares in constant time, and
//! refuses a timestamp more than five minutes from its own clock, either way
//! (a replay, or a clock far off). Several `v1=` entries may be given (a
//! secret being rotated): one that matches is enough.

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Privacy-Signature";

/// How far a signature's timestamp may be from the receiver's clock, either way.
pub const SIGNATURE_WINDOW: SignedDuration = SignedDuration::from_secs(300);

/// Why a signature was refused (said to nobody but the log: the answer is a plain 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or not of the form t=<unix>,v1=<hex>")]
    Malformed,
    #[error("the signature's timestamp is more than five minutes from now")]
    OutsideWindow,
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], unix: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `at` under `secret`.
pub fn sign(secret: &[u8], body: &[u8], at: Timestamp) -> String {
    let unix = at.as_second();
    let tag = mac(secret, unix, body).finalize().into_bytes();
    format!("t={unix},v1={}", hex::encode(tag))
}

/// Checks a header value against the raw `body` at `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: Timestamp) -> Result<(), SignatureError> {
    let mut unix: Option<i64> = None;
    let mut tags: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match name {
            "t" if unix.is_none() => unix = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
            "t" => return Err(SignatureError::Malformed),
            "v1" => tags.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            // Later schemes are ignored, as a receiver of a newer sender must.
            _ => {}
        }
    }
    let unix = unix.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let signed_at = Timestamp::from_second(unix).map_err(|_| SignatureError::OutsideWindow)?;
    if now.duration_since(signed_at).abs() > SIGNATURE_WINDOW {
        return Err(SignatureError::OutsideWindow);
    }
    let expected = mac(secret, unix, body);
    // `verify_slice` compares in constant time.
    if tags.iter().any(|tag| expected.clone().verify_slice(tag).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-0123456789abcdef0123456789abcdef";

    fn at(unix: i64) -> Timestamp {
        Timestamp::from_second(unix).unwrap()
    }

    #[test]
    fn the_header_is_the_documented_hmac_of_timestamp_dot_body() {
        let body = br#"{"status":"done"}"#;
        let header = sign(SECRET, body, at(1_767_225_600));
        // printf '1767225600.{"status":"done"}' | openssl dgst -sha256 -hmac "$SECRET"
        assert_eq!(
            header,
            "t=1767225600,v1=a3d0ed1491857503683ba0cc9c33a559ae1299f77cd65d64229f64a400f6d92f"
        );
    }

    #[test]
    fn a_signature_verifies_within_five_minutes_either_way() {
        let body = br#"{"status":"done"}"#;
        let header = sign(SECRET, body, at(1_000_000));
        for now in [1_000_000, 1_000_300, 999_700, 1_000_001] {
            assert_eq!(verify(SECRET, &header, body, at(now)), Ok(()), "{now}");
        }
    }

    #[test]
    fn a_replay_outside_the_window_is_refused_both_ways() {
        let body = br#"{"status":"done"}"#;
        let header = sign(SECRET, body, at(1_000_000));
        assert_eq!(
            verify(SECRET, &header, body, at(1_000_301)),
            Err(SignatureError::OutsideWindow)
        );
        assert_eq!(
            verify(SECRET, &header, body, at(999_699)),
            Err(SignatureError::OutsideWindow)
        );
    }

    #[test]
    fn a_tampered_body_a_moved_timestamp_or_another_secret_is_refused() {
        let body = br#"{"status":"not_found"}"#;
        let header = sign(SECRET, body, at(1_000_000));
        let now = at(1_000_010);
        assert_eq!(
            verify(SECRET, &header, br#"{"status":"done"}"#, now),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=1000000", "t=1000005");
        assert_eq!(verify(SECRET, &moved, body, now), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(b"another-secret-0123456789abcdef01234", &header, body, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_matching_tag_of_several_is_enough_and_unknown_schemes_are_ignored() {
        let body = b"{}";
        let good = sign(SECRET, body, at(1_000_000));
        let tag = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1000000, v0=abc, v1={}, v1={tag}", "00".repeat(32));
        assert_eq!(verify(SECRET, &header, body, at(1_000_000)), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"{}";
        let now = at(1_000_000);
        for header in [
            "",
            "t=1000000",
            "v1=00",
            "t=abc,v1=00",
            "t=1000000,v1=zz",
            "t=1000000,t=1000000,v1=00",
            "1000000,00",
        ] {
            assert_eq!(
                verify(SECRET, header, body, now),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        // A timestamp no clock can hold is outside any window.
        assert_eq!(
            verify(SECRET, &format!("t={},v1=00", i64::MAX), body, now),
            Err(SignatureError::OutsideWindow)
        );
    }
}
