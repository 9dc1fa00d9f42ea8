//! What a step in a request's life was: the `event` of a [`super::RequestEvent`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a [`super::RequestEvent`], stored and shown as its snake_case
/// name (`received`, `export_sent`, …).
///
/// Reading is tolerant: a name this build does not know (one written by a
/// newer or older deployment) reads as [`Self::Other`] and is written back
/// unchanged, so a request record never becomes unreadable for its history.
/// The product itself only records the named kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestEventKind {
    /// The request arrived (`by` the requester; the note is their network).
    Received,
    /// The requester followed the verification link.
    Verified,
    /// Fulfilment started.
    InProgress,
    /// Processing restricted (restriction, or an objection being weighed).
    Restricted,
    /// Unsubscribed, suppressed and marketing consent withdrawn.
    MarketingStopped,
    /// Names corrected; the note lists what.
    Corrected,
    /// A rectification's new address was mailed its own confirmation link.
    NewAddressLinkMailed,
    /// The new address's owner followed that link.
    NewAddressConfirmed,
    /// The new address could not be confirmed automatically.
    NewAddressRefused,
    /// Nothing could be done automatically: the privacy team takes over.
    NeedsTeam,
    /// The export is too large to mail.
    ExportTooLarge,
    /// The export's counts go on in scheduled runs.
    ExportContinues,
    /// The erasure goes on in scheduled runs.
    ErasureContinues,
    /// The export was mailed.
    ExportSent,
    /// The corrections were applied.
    Rectified,
    /// The person's records were erased.
    Erased,
    /// The privacy team lifted a restriction.
    RestrictionLifted,
    /// The privacy team extended the deadline.
    Extended,
    /// Tasks were created for the other systems of record; the note names them.
    TasksCreated,
    /// This product's part is done; the request waits for other systems' answers.
    AwaitingSystems,
    /// A system of record (or the team for it) answered its task; the note
    /// says which system and what it answered.
    SystemAnswered,
    /// A task could not be handed to its system after every retry.
    TaskFailed,
    /// The request was closed as done.
    Completed,
    /// The privacy team declined the request.
    Rejected,
    /// Never verified: minimised and closed.
    Expired,
    /// A stored name this build does not know, kept as it was.
    #[serde(untagged)]
    Other(String),
}

impl RequestEventKind {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Received => "received",
            Self::Verified => "verified",
            Self::InProgress => "in_progress",
            Self::Restricted => "restricted",
            Self::MarketingStopped => "marketing_stopped",
            Self::Corrected => "corrected",
            Self::NewAddressLinkMailed => "new_address_link_mailed",
            Self::NewAddressConfirmed => "new_address_confirmed",
            Self::NewAddressRefused => "new_address_refused",
            Self::NeedsTeam => "needs_team",
            Self::ExportTooLarge => "export_too_large",
            Self::ExportContinues => "export_continues",
            Self::ErasureContinues => "erasure_continues",
            Self::ExportSent => "export_sent",
            Self::Rectified => "rectified",
            Self::Erased => "erased",
            Self::RestrictionLifted => "restriction_lifted",
            Self::Extended => "extended",
            Self::TasksCreated => "tasks_created",
            Self::AwaitingSystems => "awaiting_systems",
            Self::SystemAnswered => "system_answered",
            Self::TaskFailed => "task_failed",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for RequestEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::RequestEventKind::{self, *};
    use crate::dsr::{DataSubjectRequest, RequestEvent};

    /// Every kind and the name it was stored under before it had a type.
    const NAMES: [(RequestEventKind, &str); 25] = [
        (Received, "received"),
        (Verified, "verified"),
        (InProgress, "in_progress"),
        (Restricted, "restricted"),
        (MarketingStopped, "marketing_stopped"),
        (Corrected, "corrected"),
        (NewAddressLinkMailed, "new_address_link_mailed"),
        (NewAddressConfirmed, "new_address_confirmed"),
        (NewAddressRefused, "new_address_refused"),
        (NeedsTeam, "needs_team"),
        (ExportTooLarge, "export_too_large"),
        (ExportContinues, "export_continues"),
        (ErasureContinues, "erasure_continues"),
        (ExportSent, "export_sent"),
        (Rectified, "rectified"),
        (Erased, "erased"),
        (RestrictionLifted, "restriction_lifted"),
        (Extended, "extended"),
        (TasksCreated, "tasks_created"),
        (AwaitingSystems, "awaiting_systems"),
        (SystemAnswered, "system_answered"),
        (TaskFailed, "task_failed"),
        (Completed, "completed"),
        (Rejected, "rejected"),
        (Expired, "expired"),
    ];

    #[test]
    fn each_kind_is_stored_and_shown_under_its_old_name() {
        for (kind, name) in NAMES {
            assert_eq!(serde_json::to_value(&kind).unwrap(), json!(name));
            assert_eq!(serde_json::from_value::<RequestEventKind>(json!(name)).unwrap(), kind);
            assert_eq!((kind.as_str(), kind.to_string().as_str()), (name, name));
        }
    }

    #[test]
    fn an_unknown_stored_name_reads_and_is_written_back_unchanged() {
        let kind: RequestEventKind = serde_json::from_value(json!("escalated")).unwrap();
        assert_eq!(kind, Other("escalated".to_owned()));
        assert_eq!(
            (kind.as_str(), serde_json::to_value(&kind).unwrap()),
            ("escalated", json!("escalated"))
        );
        assert!(serde_json::from_value::<RequestEventKind>(json!(7)).is_err());
    }

    #[test]
    fn a_request_stored_with_string_events_still_reads_and_writes_the_same_json() {
        let stored = json!({
            "request_id": "5d0f3c0e-3f4a-4b8e-9c1a-2b3c4d5e6f70",
            "type": "rectification",
            "status": "completed",
            "jurisdiction": "gdpr",
            "channel": "form",
            "received_at": "2026-01-05T09:00:00Z",
            "received_on": "2026-01-05",
            "due_on": "2026-02-05",
            "extended": false,
            "closed_at": "2026-01-06T10:00:00Z",
            "events": [
                {"event": "received", "at": "2026-01-05T09:00:00Z", "by": "requester", "note": "192.0.2.0/24"},
                {"event": "verified", "at": "2026-01-05T09:05:00Z", "by": "requester"},
                {"event": "in_progress", "at": "2026-01-05T09:05:00Z", "by": "system"},
                {"event": "corrected", "at": "2026-01-05T09:05:00Z", "by": "system", "note": "name"},
                {"event": "new_address_link_mailed", "at": "2026-01-05T09:05:00Z", "by": "system"},
                {"event": "new_address_confirmed", "at": "2026-01-06T10:00:00Z", "by": "new_address"},
                {"event": "rectified", "at": "2026-01-06T10:00:00Z", "by": "system", "note": "subscriber address"},
                {"event": "completed", "at": "2026-01-06T10:00:00Z", "by": "system"},
                {"event": "escalated", "at": "2026-01-06T11:00:00Z", "by": "sub-1"},
            ],
        });
        let request: DataSubjectRequest = serde_json::from_value(stored.clone()).unwrap();
        let kinds: Vec<&RequestEventKind> = request.events.iter().map(|event| &event.event).collect();
        let escalated = Other("escalated".to_owned());
        assert_eq!(
            kinds,
            [
                &Received,
                &Verified,
                &InProgress,
                &Corrected,
                &NewAddressLinkMailed,
                &NewAddressConfirmed,
                &Rectified,
                &Completed,
                &escalated
            ]
        );
        assert!(request.was_verified());
        assert_eq!(serde_json::to_value(&request).unwrap(), stored);
        let event = RequestEvent::new(ExportSent, "2026-01-06T10:00:00Z".parse().unwrap(), "system", None);
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"export_sent","at":"2026-01-06T10:00:00Z","by":"system"}"#
        );
    }
}
