//! What a piece of opt-in evidence records: the `event` of a [`super::SubscriptionEvent`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a [`super::SubscriptionEvent`], stored as its snake_case name
/// (`signed_up`, `confirmed`, …).
///
/// Reading is tolerant: a name this build does not know (one written by a
/// newer or older deployment) reads as [`Self::Other`] and is written back
/// unchanged, so the proof of an opt-in (GDPR Art. 7(1)) is never lost for
/// one unreadable event. The product itself only records the named kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionEventKind {
    /// The person signed up and was mailed a confirmation link.
    SignedUp,
    /// The person followed the confirmation link (double opt-in).
    Confirmed,
    /// A customer added by the privacy team (legitimate interest).
    SubscribedByTeam,
    /// A list added where the address was already proven: the preference
    /// centre's signed link, or the Service's account settings (`channel`).
    Subscribed,
    /// The subscription ended; the event's `reason` says why.
    Unsubscribed,
    /// The subscriber's data was erased at their request.
    Erased,
    /// A stored name this build does not know, kept as it was.
    #[serde(untagged)]
    Other(String),
}

impl SubscriptionEventKind {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SignedUp => "signed_up",
            Self::Confirmed => "confirmed",
            Self::SubscribedByTeam => "subscribed_by_team",
            Self::Subscribed => "subscribed",
            Self::Unsubscribed => "unsubscribed",
            Self::Erased => "erased",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for SubscriptionEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SubscriptionEventKind::{self, *};
    use crate::newsletter::{OptInEvidence, Subscription};

    /// Every kind and the name it was stored under before it had a type.
    const NAMES: [(SubscriptionEventKind, &str); 6] = [
        (SignedUp, "signed_up"),
        (Confirmed, "confirmed"),
        (SubscribedByTeam, "subscribed_by_team"),
        (Subscribed, "subscribed"),
        (Unsubscribed, "unsubscribed"),
        (Erased, "erased"),
    ];

    #[test]
    fn each_kind_is_stored_under_its_old_name() {
        for (kind, name) in NAMES {
            assert_eq!(serde_json::to_value(&kind).unwrap(), json!(name));
            assert_eq!(
                serde_json::from_value::<SubscriptionEventKind>(json!(name)).unwrap(),
                kind
            );
            assert_eq!((kind.as_str(), kind.to_string().as_str()), (name, name));
        }
    }

    #[test]
    fn an_unknown_stored_name_reads_and_is_written_back_unchanged() {
        let kind: SubscriptionEventKind = serde_json::from_value(json!("resubscribed")).unwrap();
        assert_eq!(kind, Other("resubscribed".to_owned()));
        assert_eq!(
            (kind.as_str(), serde_json::to_value(&kind).unwrap()),
            ("resubscribed", json!("resubscribed"))
        );
    }

    #[test]
    fn evidence_stored_with_string_events_still_reads_and_writes_the_same_json() {
        let notice = "ab".repeat(32);
        let stored = json!({
            "list": "news",
            "events": [
                {"event": "signed_up", "at": "2026-01-05T09:00:00Z", "network": "192.0.2.0/24", "channel": "form",
                 "policy_version": "2026-05", "notice_sha256": notice, "basis": "consent"},
                {"event": "confirmed", "at": "2026-01-05T09:10:00Z", "policy_version": "2026-05",
                 "notice_sha256": notice, "basis": "consent"},
                {"event": "unsubscribed", "at": "2026-02-01T00:00:00Z", "reason": "unsubscribed"},
                {"event": "subscribed_by_team", "at": "2026-03-01T00:00:00Z", "basis": "legitimate_interest"},
                {"event": "resubscribed", "at": "2026-03-02T00:00:00Z"},
                {"event": "erased", "at": "2026-04-01T00:00:00Z"},
            ],
            "ended_at": "2026-04-01T00:00:00Z",
        });
        let evidence: OptInEvidence = serde_json::from_value(stored.clone()).unwrap();
        let kinds: Vec<&SubscriptionEventKind> = evidence.events.iter().map(|event| &event.event).collect();
        let other = Other("resubscribed".to_owned());
        assert_eq!(
            kinds,
            [&SignedUp, &Confirmed, &Unsubscribed, &SubscribedByTeam, &other, &Erased]
        );
        assert_eq!(serde_json::to_value(&evidence).unwrap(), stored);

        // Events written on the subscription itself before the evidence had a record.
        let legacy: Subscription = serde_json::from_value(json!({
            "list": "news", "email": "ada@example.com", "name": null, "status": "confirmed",
            "basis": "consent", "token_digest": null, "confirmed_at": "2025-01-01T00:00:00Z",
            "unsubscribed_at": null, "confirmation_mails": [], "transient_bounces": 0,
            "events": [{"event": "signed_up", "at": "2024-12-31T00:00:00Z"},
                       {"event": "confirmed", "at": "2025-01-01T00:00:00Z"}],
        }))
        .unwrap();
        let kinds: Vec<&SubscriptionEventKind> = legacy.events.iter().map(|event| &event.event).collect();
        assert_eq!(kinds, [&SignedUp, &Confirmed]);
    }
}
