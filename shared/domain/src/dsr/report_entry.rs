//! The request report's source (SPEC 10, CCPA regulations § 7102): one small
//! entry per request, without personal data, written in the same transaction
//! as the request record whenever a request is created or changes status.
//!
//! Record: `DSR_REPORT#<year>` / `<received_on>#<request_id>` (the year and
//! day of receipt), entity [`entity::DSR_REPORT_ENTRY`](crate::register::entity::DSR_REPORT_ENTRY): the request's type,
//! jurisdiction, day of receipt, status, outcome, reason code and days to
//! respond. A year's report is one Query of its partition, never a Scan. An
//! entry is kept as long as a closed request (the register's
//! `requests_closed`: 3 years after closing, more than the 24 months § 7101
//! asks for), and it carries no subject key, so nothing about a person finds it.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::dsr::deadline::Jurisdiction;
use crate::dsr::{
    parse_request, queue_partitions, DataSubjectRequest, DsrError, RequestEventKind, RequestStatus, RequestType,
};
use crate::register::{entity, CategoryId, Register};
use crate::store::{self, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::FieldError;

pub const REPORT_PARTITION_PREFIX: &str = "DSR_REPORT#";

/// The partition of the requests received in `year`.
pub fn report_partition(year: i16) -> String {
    format!("{REPORT_PARTITION_PREFIX}{year}")
}

pub fn report_key(received_on: Date, request_id: &str) -> RecordKey {
    RecordKey::new(
        report_partition(received_on.year()),
        format!("{received_on}#{request_id}"),
    )
}

/// How a closed request was answered (§ 7102(a)(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Complied with in whole.
    Whole,
    /// Complied with in part: something was withheld or kept.
    Part,
    Denied,
}

/// Why a request was denied: the team's `reason_code` on a rejection, or
/// `unverified` for a request never verified (it expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialReason {
    IdentityNotVerified,
    ManifestlyUnfounded,
    Excessive,
    LegalExemption,
    Other,
    /// Never verified by the requester (set by expiry, not by the team).
    Unverified,
}

impl DenialReason {
    pub const ALL: [DenialReason; 6] = [
        Self::IdentityNotVerified,
        Self::ManifestlyUnfounded,
        Self::Excessive,
        Self::LegalExemption,
        Self::Other,
        Self::Unverified,
    ];

    /// The codes the team may give when rejecting.
    pub const CHOSEN_BY_THE_TEAM: [DenialReason; 5] = [
        Self::IdentityNotVerified,
        Self::ManifestlyUnfounded,
        Self::Excessive,
        Self::LegalExemption,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdentityNotVerified => "identity_not_verified",
            Self::ManifestlyUnfounded => "manifestly_unfounded",
            Self::Excessive => "excessive",
            Self::LegalExemption => "legal_exemption",
            Self::Other => "other",
            Self::Unverified => "unverified",
        }
    }

    /// A rejection's `reason_code` (`unverified` is not one the team gives).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::CHOSEN_BY_THE_TEAM
            .into_iter()
            .find(|reason| reason.as_str() == raw)
            .ok_or_else(|| {
                FieldError::invalid(
                    field,
                    "The reason code is `identity_not_verified`, `manifestly_unfounded`, `excessive`, `legal_exemption` or `other`.",
                )
            })
    }
}

/// One request as the report counts it. No address, name, details or subject key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub jurisdiction: Jurisdiction,
    pub received_on: Date,
    pub status: RequestStatus,
    /// `None` while the request is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<DenialReason>,
    /// Whole days from receipt to completion or rejection in the controller's
    /// time zone; `None` while open and for a request that expired unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_to_respond: Option<i32>,
    /// The request's due day as it stands (an extension moves it), on the
    /// controller's calendar: whether it was answered on time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<Date>,
    /// The day of the completion or rejection on the controller's calendar;
    /// `None` while open and for a request that expired unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_on: Option<Date>,
}

/// How a request was answered, and why when it was denied; `None` while open.
///
/// - completed: `part` when the request says something was withheld or kept
///   ([`DataSubjectRequest::answered_in_part`]: an erasure that kept records
///   under a legal hold or an exemption) or a rectification whose new
///   address could not be applied, otherwise `whole` (an opt-out acted on at
///   once, an access whose export went to the team as too large);
/// - rejected: `denied`, with the team's reason code (`other` when none);
/// - expired (never verified): `denied`, `unverified`.
pub fn outcome_of(request: &DataSubjectRequest) -> Option<(Outcome, Option<DenialReason>)> {
    match request.status {
        RequestStatus::Completed => {
            let rectification = matches!(
                request.request_type,
                RequestType::Rectification | RequestType::CcpaCorrect
            );
            let in_part =
                request.answered_in_part || (rectification && request.has_event(RequestEventKind::NewAddressRefused));
            Some((if in_part { Outcome::Part } else { Outcome::Whole }, None))
        }
        RequestStatus::Rejected => Some((
            Outcome::Denied,
            Some(request.reason_code.unwrap_or(DenialReason::Other)),
        )),
        RequestStatus::Expired => Some((Outcome::Denied, Some(DenialReason::Unverified))),
        _ => None,
    }
}

fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned_datetime(tz.clone()).date()
}

/// Whole days from receipt to `closed_at`, both read as dates in `tz`
/// (answered the day it arrived: 0).
pub fn days_between(received_at: Timestamp, closed_at: Timestamp, tz: &TimeZone) -> i32 {
    (local_date(closed_at, tz) - local_date(received_at, tz)).get_days()
}

impl ReportEntry {
    pub fn of(request: &DataSubjectRequest, tz: &TimeZone) -> Self {
        let outcome = outcome_of(request);
        let responded = matches!(request.status, RequestStatus::Completed | RequestStatus::Rejected);
        Self {
            request_id: request.request_id.clone(),
            request_type: request.request_type,
            jurisdiction: request.jurisdiction,
            received_on: request.received_on,
            status: request.status,
            outcome: outcome.map(|(outcome, _)| outcome),
            reason_code: outcome.and_then(|(_, reason)| reason),
            days_to_respond: request
                .closed_at
                .filter(|_| responded)
                .map(|closed_at| days_between(request.received_at, closed_at, tz)),
            due_on: Some(request.due_on),
            responded_on: request
                .closed_at
                .filter(|_| responded)
                .map(|closed_at| local_date(closed_at, tz)),
        }
    }
}

/// The entry record of `request`: kept as long as a closed request, from its
/// closing; while never verified, as long as the unverified request (the
/// expiry rewrites it); while open and verified, until it closes.
pub fn entry_record(request: &DataSubjectRequest, register: &Register) -> Record {
    let entry = ReportEntry::of(request, register.time_zone());
    let mut record = Record::with_body(
        report_key(request.received_on, &request.request_id),
        entity::DSR_REPORT_ENTRY,
        &entry,
    );
    record.expires_at = match (request.status, request.closed_at) {
        (status, Some(closed_at)) if status.is_closed() => register.expiry(CategoryId::RequestsClosed, closed_at),
        (RequestStatus::AwaitingVerification, _) => {
            register.expiry(CategoryId::RequestsUnverified, request.received_at)
        }
        _ => None,
    }
    .map(whole_second_after);
    record
}

/// The write of `request`'s entry, to go in the transaction of its record.
pub fn entry_write(request: &DataSubjectRequest, register: &Register) -> Write {
    Write::Put {
        record: entry_record(request, register),
        precondition: Precondition::None,
    }
}

/// The entry write of a stored request record (the sweep's expiry), or
/// `None` for any other record or one that does not decode.
pub fn entry_write_of_record(record: &Record, register: &Register) -> Option<Write> {
    if record.entity != entity::DSR_REQUEST {
        return None;
    }
    parse_request(record)
        .ok()
        .map(|request| entry_write(&request, register))
}

fn whole_second_after(at: Timestamp) -> Timestamp {
    let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
    Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
}

/// What a backfill run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    /// Request records looked at (each once).
    pub requests: usize,
    /// Entries written.
    pub written: usize,
    /// Requests that already had an entry (written when they changed, or by an earlier run).
    pub already: usize,
    /// Entries written before entries carried the due day and the day of
    /// response, rewritten with them (the on-time rate reads them).
    pub dated: usize,
}

/// Writes the entry of every request stored before entries were written:
/// the verified ones through the team's queue, every partition (every verified
/// request has a queue entry, open or closed, and open verified requests have
/// no due day), the rest (never verified, expired, closed) through the due
/// index from `from` through `through`, day by day. Never a Scan. An entry is
/// written only where none exists (`Precondition::Absent`), so a second or
/// concurrent run writes nothing again and never overwrites the entry a
/// live change wrote.
pub async fn backfill(
    store: &dyn RecordStore,
    register: &Register,
    from: Date,
    through: Date,
) -> Result<BackfillReport, DsrError> {
    let mut report = BackfillReport::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut queued = Vec::new();
    for partition in queue_partitions() {
        let queue = Query::Partition {
            partition,
            sort_prefix: String::new(),
        };
        queued.extend(store::query_all(store, &queue).await?);
    }
    for entry in queued {
        if entry.entity != entity::DSR_QUEUE_ENTRY {
            continue;
        }
        let Some(request_id) = entry.attributes.get("request_id").and_then(|id| id.as_str()) else {
            continue;
        };
        if !seen.insert(request_id.to_owned()) {
            continue;
        }
        if let Some(record) = store.get(&crate::dsr::request_key(request_id)).await? {
            backfill_one(store, register, &record, &mut report).await?;
        }
    }
    let mut day = from;
    while day <= through {
        for record in store::query_all(store, &Query::DueOn(day)).await? {
            let request_id = record.attributes.get("request_id").and_then(|id| id.as_str());
            if record.entity != entity::DSR_REQUEST || !request_id.is_some_and(|id| seen.insert(id.to_owned())) {
                continue;
            }
            backfill_one(store, register, &record, &mut report).await?;
        }
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    Ok(report)
}

async fn backfill_one(
    store: &dyn RecordStore,
    register: &Register,
    record: &Record,
    report: &mut BackfillReport,
) -> Result<(), DsrError> {
    let request = parse_request(record)?;
    report.requests += 1;
    let mut entry = entry_record(&request, register);
    // An entry from before entries carried their days gets them, on the
    // condition of its version: a live change in between wins.
    let existing = store.get(&entry.key).await?;
    let (precondition, dating) = match &existing {
        None => (Precondition::Absent, false),
        Some(stored) if !stored.attributes.contains_key("due_on") => {
            entry.version = stored.version + 1;
            (Precondition::Version(stored.version), true)
        }
        Some(_) => {
            report.already += 1;
            return Ok(());
        }
    };
    let write = Write::Put {
        record: entry,
        precondition,
    };
    match store.write(vec![write]).await {
        Ok(()) if dating => report.dated += 1,
        Ok(()) => report.written += 1,
        Err(StoreError::Conflict) => report.already += 1,
        Err(error) => return Err(error.into()),
    }
    Ok(())
}
