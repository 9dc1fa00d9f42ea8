//! Data subject requests (GDPR Art. 12–22, CCPA/CPRA): intake, verification
//! by a mailed link, law-aware deadlines, and the privacy team's queue.
//!
//! Records:
//! - `DSR#<request_id>` / `REQUEST`: the [`DataSubjectRequest`] with its events.
//! - `DSR_QUEUE#<shard>` / `<due_on>#<request_id>`: the queue entry (no
//!   personal data), for the team and the deadline digest. The shard (0 … 3)
//!   is picked by the request id ([`queue_partition`]), so that queue writes
//!   spread over four partitions; readers query every shard, and the single
//!   partition `DSR_QUEUE` of the entries written before the sharding, and
//!   merge them soonest due first (the sort key is one order across them).
//! - `TOKEN#<sha256(token)>` / `TOKEN`: finds the request a verification link
//!   is for. Single-use.
//! - `TOKEN#<sha256(token)>` / `TOKEN` of entity `dsr_new_address_token`:
//!   finds the rectification a new address's confirmation link is for.
//!   Single-use; it works as long as a newsletter confirmation link.
//!
//! Fulfilment (what each type does once verified) is in [`crate::dsr::fulfilment`].
//!
//! Context `dsr`: may use `consent`, `holds`, `mail`, `newsletter`, `ports`, `register`, `store` and the kernel (README, "The domain crate's contexts").

pub mod deadline;
pub mod detail;
pub mod export;
pub mod fulfilment;
pub mod queue;
pub mod report_entry;
pub mod tasks;

mod decisions;
mod events;
mod intake;
mod mails;
mod verification;

use std::fmt;
use std::net::IpAddr;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::consent::ConsentId;
use crate::dsr::deadline::{Deadline, ExtensionRefused, Jurisdiction};
use crate::dsr::tasks::{SystemsScope, TaskSummary};
use crate::email::EmailAddress;
use crate::mail::outbox::Outbox;
use crate::mail::{escape_html, link_mails_in_window, may_mail_link, Mail};
use crate::network::truncated_network;
use crate::newsletter::{Links, Newsletter, SuppressionReason};
use crate::person::PersonName;
use crate::ports::Ports;
use crate::register::{entity, CategoryId, Register};
use crate::store::{Precondition, Record, RecordKey, StoreError, Write};
use crate::subject::SubjectKey;
use crate::tokens::{token_digest, OneTimeToken, Secrets};
use crate::FieldError;

pub use events::RequestEventKind;

/// The queue's partitions: `DSR_QUEUE#0` … `DSR_QUEUE#3`, an entry's shard
/// picked by its request id, so that queue writes (one per verification and
/// per change of an open request) spread over [`QUEUE_SHARDS`] partitions
/// instead of capping at one partition's 1,000 writes per second (SPEC 11).
/// Four hold 4,000 writes a second, four times that budget; every page of
/// the queue reads every partition, so each shard more is one more Query
/// per page (and, in a function's first request, one more connection).
/// Entries written before the sharding stay in the single partition
/// `DSR_QUEUE` until their request is next saved: every write of an entry
/// deletes that entry's old key in the same transaction, so a request is
/// never listed twice; readers read that partition too (it empties as the
/// old requests change or close, and its read can then go).
pub(crate) const QUEUE_PARTITION: &str = "DSR_QUEUE";
pub const QUEUE_SHARDS: u8 = 4;
const ATTEMPTS: usize = 5;
pub const MAX_DETAILS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    Access,
    Portability,
    Rectification,
    Erasure,
    Restriction,
    Objection,
    Source,
    CcpaKnow,
    CcpaDelete,
    CcpaCorrect,
    CcpaOptOut,
}

impl RequestType {
    pub const ALL: [RequestType; 11] = [
        Self::Access,
        Self::Portability,
        Self::Rectification,
        Self::Erasure,
        Self::Restriction,
        Self::Objection,
        Self::Source,
        Self::CcpaKnow,
        Self::CcpaDelete,
        Self::CcpaCorrect,
        Self::CcpaOptOut,
    ];

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "unknown_request_type", "This is not a type of request we know."))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Portability => "portability",
            Self::Rectification => "rectification",
            Self::Erasure => "erasure",
            Self::Restriction => "restriction",
            Self::Objection => "objection",
            Self::Source => "source",
            Self::CcpaKnow => "ccpa_know",
            Self::CcpaDelete => "ccpa_delete",
            Self::CcpaCorrect => "ccpa_correct",
            Self::CcpaOptOut => "ccpa_opt_out",
        }
    }

    /// Objection to marketing and the CCPA opt-out act at once, without
    /// verification: they disclose nothing and only reduce processing
    /// (11 CCR § 7026 forbids demanding verification for an opt-out). An
    /// objection to other processing stops marketing at once too, and is then
    /// verified and weighed by the team (GDPR Art. 21(1)).
    pub fn acts_at_once(self, scope: Option<ObjectionScope>) -> bool {
        match self {
            Self::Objection => scope.unwrap_or_default() == ObjectionScope::Marketing,
            Self::CcpaOptOut => true,
            _ => false,
        }
    }

    /// Whether marketing stops at once, before any verification.
    pub fn stops_marketing_at_once(self) -> bool {
        matches!(self, Self::Objection | Self::CcpaOptOut)
    }

    pub fn default_jurisdiction(self) -> Jurisdiction {
        match self {
            Self::CcpaKnow | Self::CcpaDelete | Self::CcpaCorrect | Self::CcpaOptOut => Jurisdiction::Ccpa,
            _ => Jurisdiction::Gdpr,
        }
    }

    /// What the request is called in mails and pages.
    pub fn title(self) -> &'static str {
        match self {
            Self::Access => "access to your personal data",
            Self::Portability => "a copy of your data to take elsewhere (portability)",
            Self::Rectification | Self::CcpaCorrect => "correction of your personal data",
            Self::Erasure | Self::CcpaDelete => "erasure of your personal data",
            Self::Restriction => "restriction of processing",
            Self::Objection => "objection to processing",
            Self::Source => "information on where your data came from",
            Self::CcpaKnow => "the right to know",
            Self::CcpaOptOut => "opt-out of sale and sharing",
        }
    }
}

/// What an objection is to (SPEC 3.3): direct marketing (GDPR Art. 21(2)-(3),
/// absolute) or processing on legitimate interest (Art. 21(1), weighed by the
/// team).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionScope {
    #[default]
    Marketing,
    Processing,
}

impl ObjectionScope {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            "marketing" => Ok(Self::Marketing),
            "processing" => Ok(Self::Processing),
            _ => Err(FieldError::invalid(field, "The scope is `marketing` or `processing`.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Processing => "processing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    AwaitingVerification,
    Verified,
    InProgress,
    AwaitingTeam,
    Completed,
    Rejected,
    /// Never verified: minimised 30 days after receipt and kept as a record
    /// of the request (CCPA regulations § 7101).
    Expired,
}

impl RequestStatus {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        serde_json::from_value(Value::String(raw.to_owned()))
            .map_err(|_| FieldError::invalid(field, "Not a request status."))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingVerification => "awaiting_verification",
            Self::Verified => "verified",
            Self::InProgress => "in_progress",
            Self::AwaitingTeam => "awaiting_team",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Expired)
    }

    /// Whether the request is for the team's queue and digest: verified (and
    /// not expired, which only unverified requests become).
    pub fn is_queued(self) -> bool {
        !matches!(self, Self::AwaitingVerification | Self::Expired)
    }
}

/// Corrections a rectification request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrections {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One step in a request's life. `note` never holds personal data beyond
/// what the team itself wrote as a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEvent {
    pub event: RequestEventKind,
    pub at: Timestamp,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RequestEvent {
    pub fn new(event: RequestEventKind, at: Timestamp, by: &str, note: Option<String>) -> Self {
        Self {
            event,
            at,
            by: by.to_owned(),
            note,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSubjectRequest {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub jurisdiction: Jurisdiction,
    /// For objections: what the person objects to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ObjectionScope>,
    /// Removed 30 days after closing (register: requests, closed), or at once
    /// after an erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<Corrections>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<ConsentId>,
    pub channel: String,
    pub received_at: Timestamp,
    pub received_on: Date,
    pub due_on: Date,
    pub extended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_digest: Option<String>,
    /// A rectification to a new address: the digest of the confirmation link
    /// mailed to that address. Nothing moves to it until the link is followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_address_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    pub events: Vec<RequestEvent>,
    /// Why the team rejected it, for the request report (`other` when not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<report_entry::DenialReason>,
    /// Completed, but something was withheld or kept (an erasure's records
    /// kept under a legal hold or an exemption): complied with in part.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answered_in_part: bool,
    /// The tasks of the other systems of record (SPEC 8), as they stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskSummary>,
    /// This product's own part is done; the request completes when the
    /// last task ends.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_part_done: bool,
    /// The team's notes (personal data: see [`detail`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<detail::RequestNote>,
}

impl fmt::Debug for DataSubjectRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataSubjectRequest")
            .field("request_id", &self.request_id)
            .field("type", &self.request_type)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl DataSubjectRequest {
    /// The deadline under every applicable law, from the moment of receipt;
    /// `tz` is the controller's time zone.
    pub fn deadline(&self, tz: &jiff::tz::TimeZone) -> Deadline {
        Deadline::of_request(self.jurisdiction, self.received_at, self.extended, tz)
    }

    fn push(&mut self, event: RequestEvent) {
        self.events.push(event);
    }

    /// Whether the requester ever proved control of the address. Only such
    /// requests enter the team's queue.
    pub fn was_verified(&self) -> bool {
        self.has_event(RequestEventKind::Verified)
    }

    /// Whether the request's history has an event of this kind.
    pub fn has_event(&self, kind: RequestEventKind) -> bool {
        self.events.iter().any(|event| event.event == kind)
    }

    /// Whether a task of another system is still open.
    pub fn has_open_tasks(&self) -> bool {
        !tasks::all_ended(&self.tasks)
    }
}

/// The queue's view of a request: no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub jurisdiction: Jurisdiction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ObjectionScope>,
    pub received_at: Timestamp,
    pub due_on: Date,
    #[serde(default)]
    pub extended: bool,
    /// The tasks of the other systems of record, as they stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskSummary>,
}

/// One page of the team's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub entries: Vec<QueueEntry>,
    /// The sealed cursor of the next page, when there may be more.
    pub next: Option<String>,
}

/// What the queue's cursors are sealed for. A cursor holds the sort key of
/// the last entry of its page; the purpose changed with that format (it held
/// the store's cursor of the single queue partition before the sharding), so
/// a cursor of the old format does not open.
const QUEUE_CURSOR: &str = "dsr-queue-after";

/// A request as received from the website or the API, validated.
#[derive(Debug, Clone)]
pub struct Submission {
    pub request_type: RequestType,
    pub email: EmailAddress,
    pub name: Option<PersonName>,
    pub jurisdiction: Option<Jurisdiction>,
    /// Objections only (the HTTP layer refuses it on other types).
    pub scope: Option<ObjectionScope>,
    pub details: Option<String>,
    pub corrections: Option<Corrections>,
    pub consent_id: Option<ConsentId>,
    /// `form` or `api`.
    pub channel: &'static str,
    pub ip: Option<IpAddr>,
}

/// Free text a requester may add: at most 2000 characters.
pub fn parse_details(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
    let details = raw.trim();
    if details.chars().count() > MAX_DETAILS {
        return Err(FieldError::invalid(field, "Details are at most 2000 characters."));
    }
    Ok((!details.is_empty()).then(|| details.to_owned()))
}

#[derive(Debug, thiserror::Error)]
pub enum DsrError {
    #[error("the link is not valid")]
    InvalidToken,
    #[error("no such request")]
    NotFound,
    #[error("the request is closed")]
    Closed,
    #[error(transparent)]
    Extension(#[from] ExtensionRefused),
    #[error("the request changed concurrently too many times")]
    Contended,
    #[error("the paging cursor is not one this deployment issued")]
    BadCursor,
    #[error("the request has no restriction in force")]
    NotRestricted,
    #[error("tasks of other systems are still open")]
    TasksOpen,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored request record is corrupt: {0}")]
    Corrupt(String),
}

pub fn request_key(request_id: &str) -> RecordKey {
    RecordKey::new(format!("DSR#{request_id}"), "REQUEST")
}

/// The partition of the queue entry of `request_id`: the first byte of its
/// SHA-256, modulo [`QUEUE_SHARDS`] (request ids are random, so any hash
/// spreads them; this one is stable across releases and platforms).
pub fn queue_partition(request_id: &str) -> String {
    let shard = Sha256::digest(request_id.as_bytes())[0] % QUEUE_SHARDS;
    format!("{QUEUE_PARTITION}#{shard}")
}

/// Every partition the queue's readers read: the shards, then the one of the
/// entries written before the sharding.
pub(crate) fn queue_partitions() -> impl Iterator<Item = String> {
    (0..QUEUE_SHARDS)
        .map(|shard| format!("{QUEUE_PARTITION}#{shard}"))
        .chain(std::iter::once(QUEUE_PARTITION.to_owned()))
}

/// Where the queue entry of `request_id` due on `due_on` is written.
pub fn queue_key(due_on: Date, request_id: &str) -> RecordKey {
    RecordKey::new(queue_partition(request_id), queue_sort_key(due_on, request_id))
}

/// The queue's sort key: one order (due day, then request id) across every
/// partition of the queue, which is what lets readers merge them.
fn queue_sort_key(due_on: Date, request_id: &str) -> String {
    format!("{due_on}#{request_id}")
}

/// Where an entry with this sort key lived before the sharding.
fn legacy_queue_key(sort: &str) -> RecordKey {
    RecordKey::new(QUEUE_PARTITION, sort)
}

/// The writes that store a queue entry: the entry in its shard, and the
/// unconditional delete of the same entry's key from before the sharding, in
/// the same transaction (a no-op once that key is gone), so that a request
/// is never in both partitions.
fn queue_entry_writes(entry: Record) -> [Write; 2] {
    let legacy = legacy_queue_key(&entry.key.sort);
    [
        Write::Put {
            record: entry,
            precondition: Precondition::None,
        },
        Write::Delete {
            key: legacy,
            precondition: Precondition::None,
        },
    ]
}

/// The writes that remove the entry of `request_id` due on `due_on`, wherever
/// it is: its shard and the partition from before the sharding.
fn queue_entry_deletes(due_on: Date, request_id: &str) -> [Write; 2] {
    let key = queue_key(due_on, request_id);
    let legacy = legacy_queue_key(&key.sort);
    [key, legacy].map(|key| Write::Delete {
        key,
        precondition: Precondition::None,
    })
}

pub(crate) fn token_key(digest: &str) -> RecordKey {
    RecordKey::new(format!("TOKEN#{digest}"), "TOKEN")
}

pub(crate) fn utc_date(at: Timestamp) -> Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// The TTL attribute counts whole seconds: round up so nothing expires early.
fn whole_second_after(at: Timestamp) -> Timestamp {
    let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
    Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
}

/// The retention sweep's minimisation of a request record that was never
/// verified (the register's `requests_unverified` rule has already removed the
/// address, name, details, corrections, consent link and verification
/// digest): it becomes `expired`, a closed record of the request (type,
/// jurisdiction, dates, channel, outcome) kept for CCPA regulations § 7101.
/// The note on its `received` event (the requester's network) goes too.
/// Other records are left as they are.
pub fn expire_unverified(record: &mut Record, now: Timestamp) {
    if record.entity != entity::DSR_REQUEST
        || record.attributes.get("status").and_then(Value::as_str) != Some(RequestStatus::AwaitingVerification.as_str())
    {
        return;
    }
    record.attributes.insert(
        "status".to_owned(),
        Value::String(RequestStatus::Expired.as_str().to_owned()),
    );
    record.attributes.insert("closed_at".to_owned(), serde_json::json!(now));
    if let Some(Value::Array(events)) = record.attributes.get_mut("events") {
        for event in events.iter_mut() {
            if let Some(event) = event.as_object_mut() {
                event.remove("note");
            }
        }
        events.push(serde_json::json!(RequestEvent::new(
            RequestEventKind::Expired,
            now,
            "system",
            Some("never verified".to_owned())
        )));
    }
}

pub(crate) fn parse_request(record: &Record) -> Result<DataSubjectRequest, DsrError> {
    record.body().map_err(DsrError::from)
}

/// The record of abuse limits on one person's requests (`DSR_INTAKE#<subject
/// key>` / `LIMITS`): the verification mails sent inside the pacing window,
/// and the open request of each type that was mailed a link. Kept as a mail
/// log (register: 90 days); it holds no address.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RequestIntake {
    #[serde(default)]
    verification_mails: Vec<Timestamp>,
    /// Request type (wire name) → request id.
    #[serde(default)]
    open: std::collections::BTreeMap<String, String>,
}

fn intake_key(subject: &SubjectKey) -> RecordKey {
    RecordKey::new(format!("DSR_INTAKE#{}", subject.as_str()), "LIMITS")
}

/// What the answer to a submission says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub request_id: String,
    pub status: RequestStatus,
}

/// What a link of `/dsr/verify` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The requester proves control of the address the request came from.
    Verification,
    /// The owner of a rectification's new address confirms that it is theirs;
    /// only then does anything move to it.
    NewAddress,
}

/// The data-subject-request use cases.
pub struct Requests<'a> {
    pub ports: Ports<'a>,
    pub secrets: &'a Secrets,
    pub links: &'a Links,
    /// Where every verified request is announced (`PRIVACY_TEAM_ADDRESS`).
    pub privacy_team: Option<&'a EmailAddress>,
    /// Whether verified requests create tasks for the register's other systems.
    pub systems: SystemsScope,
}

impl Requests<'_> {
    pub(crate) fn outbox(&self) -> Outbox<'_> {
        self.ports.outbox()
    }

    /// The newsletter's use cases, on the same ports and secrets.
    pub(crate) fn newsletter(&self) -> Newsletter<'_> {
        Newsletter {
            ports: self.ports,
            secrets: self.secrets,
            links: self.links,
        }
    }

    pub fn subject_of(&self, email: &EmailAddress) -> SubjectKey {
        SubjectKey::derive(&self.secrets.pepper, email)
    }

    /// One more link mail to `subject` under the pacing of every link mail
    /// (one per 10 minutes, 5 per day): the write that records it, to be
    /// written with the link's token, or `None` when the limits withhold it.
    pub(crate) async fn reserve_link_mail(&self, subject: &SubjectKey) -> Result<Option<Write>, DsrError> {
        let now = self.ports.clock.now();
        let (stored, mut intake) = self.intake(subject).await?;
        let in_window = link_mails_in_window(&intake.verification_mails, now);
        if !may_mail_link(&in_window, now) {
            return Ok(None);
        }
        intake.verification_mails = in_window;
        intake.verification_mails.push(now);
        Ok(Some(self.intake_write(subject, stored.as_ref(), &intake)))
    }

    /// Why the address is suppressed, if it is (unsubscribed, objected,
    /// erased, bounced hard or complained).
    pub(crate) async fn suppression_of(&self, subject: &SubjectKey) -> Result<Option<SuppressionReason>, DsrError> {
        let newsletter = self.newsletter();
        match newsletter.subscriptions().suppression(subject).await {
            Ok(suppression) => Ok(suppression.map(|found| found.reason)),
            Err(crate::newsletter::NewsletterError::Store(error)) => Err(error.into()),
            Err(other) => Err(DsrError::Corrupt(other.to_string())),
        }
    }

    /// The requester's view of the request, for the status link's token.
    pub async fn status(&self, request_id: &str, token: &str) -> Result<DataSubjectRequest, DsrError> {
        if !self.secrets.token_key.verify_request_status_token(request_id, token) {
            return Err(DsrError::NotFound);
        }
        let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
        parse_request(&stored)
    }

    pub(crate) async fn live_request(&self, request_id: &str) -> Result<Option<Record>, StoreError> {
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .store
            .get(&request_key(request_id))
            .await?
            .filter(|record| !record.is_expired(now)))
    }

    /// Stores a new request with its queue entry, its token record (when a
    /// link is mailed) and `also` (the intake limits of a verified type).
    async fn write_new(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        token: Option<&OneTimeToken>,
        also: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut record = self.request_record(subject, request, 1);
        self.stamp_unverified(&mut record, request.received_at);
        let mut writes = vec![Write::Put {
            record,
            precondition: Precondition::Absent,
        }];
        if let Some(token) = token {
            let mut token_record = Record::new(token_key(&token.digest()), entity::DSR_VERIFICATION_TOKEN);
            token_record.subject = Some(subject.clone());
            token_record
                .set_body(&serde_json::json!({"request_id": request.request_id, "received_at": request.received_at}));
            // The link works until the request expires unverified.
            let expires_at = self
                .ports
                .register
                .minimisation_due(CategoryId::RequestsUnverified, request.received_at)
                .map(whole_second_after);
            token_record.expires_at = expires_at;
            token_record.due = expires_at.map(utc_date);
            writes.push(Write::Put {
                record: token_record,
                precondition: Precondition::Absent,
            });
        }
        writes.extend(also);
        writes.push(report_entry::entry_write(request, self.ports.register));
        self.ports.store.write(writes).await
    }

    /// Saves a request whose due date did not change.
    pub(crate) async fn save(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        version: u64,
    ) -> Result<(), DsrError> {
        self.save_with_queue(subject, request, version, request.due_on, Vec::new())
            .await
    }

    /// Saves a request whose due date did not change together with `also`
    /// (the changes of its tasks), all or nothing.
    pub(crate) async fn save_with_writes(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        version: u64,
        also: Vec<Write>,
    ) -> Result<(), DsrError> {
        self.save_with_queue(subject, request, version, request.due_on, also)
            .await
    }

    /// Saves the request and its queue entry together (the entry moves when
    /// an extension moves the due date). Closed requests are stamped with the
    /// register's retention and minimisation.
    async fn save_with_queue(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        version: u64,
        old_due: Date,
        also: Vec<Write>,
    ) -> Result<(), DsrError> {
        let mut record = self.request_record(subject, request, version + 1);
        let mut queue = self.queue_record(request);
        match (request.status, request.closed_at) {
            (status, Some(closed_at)) if status.is_closed() => {
                self.ports
                    .register
                    .stamp(&mut record, CategoryId::RequestsClosed, closed_at);
                queue.expires_at = record.expires_at;
                if let Some(minimise_at) = self
                    .ports
                    .register
                    .minimisation_due(CategoryId::RequestsClosed, closed_at)
                {
                    record.due = Some(minimise_at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
                }
            }
            (RequestStatus::AwaitingVerification, _) => {
                self.stamp_unverified(&mut record, request.received_at);
            }
            _ => {}
        }
        let queued = request.was_verified();
        let mut writes = vec![Write::Put {
            record,
            precondition: Precondition::Version(version),
        }];
        if queued {
            writes.extend(queue_entry_writes(queue));
        }
        if queued && old_due != request.due_on {
            writes.extend(queue_entry_deletes(old_due, &request.request_id));
        }
        writes.push(report_entry::entry_write(request, self.ports.register));
        writes.extend(also);
        self.ports.store.write(writes).await.map_err(DsrError::from)
    }

    /// An unverified request expires with the register's `requests_unverified`
    /// retention (kept, minimised, as a record of the request) and falls due
    /// for the sweep when its minimisation does (it then becomes `expired`).
    fn stamp_unverified(&self, record: &mut Record, received_at: Timestamp) {
        self.ports
            .register
            .stamp(record, CategoryId::RequestsUnverified, received_at);
        if let Some(minimise_at) = self
            .ports
            .register
            .minimisation_due(CategoryId::RequestsUnverified, received_at)
        {
            record.due = Some(utc_date(minimise_at));
        }
    }

    pub(crate) fn request_record(&self, subject: &SubjectKey, request: &DataSubjectRequest, version: u64) -> Record {
        let mut record = Record::new(request_key(&request.request_id), entity::DSR_REQUEST);
        record.subject = Some(subject.clone());
        record.version = version;
        record.set_body(request);
        record
    }

    fn queue_record(&self, request: &DataSubjectRequest) -> Record {
        let entry = QueueEntry {
            request_id: request.request_id.clone(),
            request_type: request.request_type,
            status: request.status,
            jurisdiction: request.jurisdiction,
            scope: request.scope,
            received_at: request.received_at,
            due_on: request.due_on,
            extended: request.extended,
            tasks: request.tasks.clone(),
        };
        let mut record = Record::new(queue_key(request.due_on, &request.request_id), entity::DSR_QUEUE_ENTRY);
        record.set_body(&entry);
        record
    }

    /// Goes on with erasures, and the counting of exports too large to mail,
    /// that one run did not finish (the outbox's scheduled run calls it), as
    /// long as `deadline` allows. Returns the runs done.
    pub async fn resume_fulfilment(&self, deadline: Timestamp) -> Result<usize, DsrError> {
        self.fulfilment().resume(deadline).await
    }

    pub(crate) fn fulfilment(&self) -> crate::dsr::fulfilment::Fulfilment<'_> {
        crate::dsr::fulfilment::Fulfilment { requests: self }
    }
}

/// The change a rectification asks for, as its verification mail states it
/// (empty for other requests). The new address is named, so that the owner of
/// this one sees where their data would go; a new name is not echoed into a
/// mail to an address nobody has verified yet (the confirmation page shows it).
fn requested_change(request: &DataSubjectRequest) -> String {
    let Some(corrections) = &request.corrections else {
        return String::new();
    };
    let mut changes = Vec::new();
    if corrections.name.is_some() {
        changes.push("your name (the new name is shown on the page the link opens)".to_owned());
    }
    if let Some(email) = &corrections.email {
        changes.push(format!(
            "your e-mail address, to {email}: your data would move there, and only once that address has confirmed it too"
        ));
    }
    if changes.is_empty() {
        return String::new();
    }
    format!("The change asked for: {}. ", changes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::newsletter::{SignUp, SignUpOutcome};
    use crate::store::RecordStore;
    use crate::testing::World;

    /// The test world, with the helpers these tests share.
    struct Fixture(World);

    impl std::ops::Deref for Fixture {
        type Target = World;

        fn deref(&self) -> &World {
            &self.0
        }
    }

    impl Fixture {
        fn new() -> Self {
            // 23:30 UTC on 31 January is 1 February in Stockholm.
            Self(World::at("2027-01-31T23:30:00Z"))
        }

        fn submission(&self, kind: RequestType) -> Submission {
            crate::testing::submission(kind, "ada@example.com")
        }

        async fn verification_token(&self) -> String {
            self.drain_outbox().await;
            let mail = self
                .mailer
                .sent()
                .into_iter()
                .rev()
                .find(|m| m.text.contains("/dsr/verify?token="))
                .unwrap();
            crate::testing::verification_token(&mail)
        }
    }

    #[tokio::test]
    async fn the_queue_pages_with_sealed_cursors_and_misses_nothing() {
        let fixture = Fixture::new();
        let mut ids = Vec::new();
        for n in 0..5 {
            let mut submission = fixture.submission(RequestType::Restriction);
            submission.email = EmailAddress::parse("email", &format!("person{n}@example.com")).unwrap();
            ids.push(fixture.requests().submit(submission).await.unwrap().request_id);
            fixture
                .requests()
                .verify(&fixture.verification_token().await)
                .await
                .unwrap();
        }
        let requests = fixture.requests();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = requests.queue_page(None, None, 2, cursor.as_deref()).await.unwrap();
            assert!(page.entries.len() <= 2);
            seen.extend(page.entries.into_iter().map(|entry| entry.request_id));
            pages += 1;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut expected = ids.clone();
        expected.sort();
        let mut listed = seen.clone();
        listed.sort();
        assert_eq!(listed, expected, "every request once");
        assert_eq!(requests.queue(None, None).await.unwrap().len(), 5);

        // A cursor the deployment did not seal, or one altered, is refused.
        let first = requests.queue_page(None, None, 2, None).await.unwrap().next.unwrap();
        let (inner, tag) = first.split_once('.').unwrap();
        let altered = format!("{inner}A.{tag}");
        for bad in [r#"{"PK":"DSR_QUEUE","SK":"x"}"#, altered.as_str(), "x.y"] {
            assert!(
                matches!(
                    requests.queue_page(None, None, 2, Some(bad)).await,
                    Err(DsrError::BadCursor)
                ),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_request_queues_its_link_mail_in_its_own_write_and_a_withheld_link_costs_the_same() {
        let calls = crate::store::memory::Calls::default();
        let world = World::on(
            crate::store::memory::CountingStore::new(crate::store::memory::MemoryStore::new(), calls.clone()),
            crate::testing::timestamp("2027-01-31T23:30:00Z"),
        );
        let bounced = world.subject_of("bounced@example.com");
        world
            .subscriptions()
            .suppress(&bounced, crate::newsletter::SuppressionReason::HardBounce)
            .await
            .unwrap();
        calls.take();
        let mut costs = Vec::new();
        for address in ["ada@example.com", "bounced@example.com"] {
            world
                .requests()
                .submit(crate::testing::submission(RequestType::Access, address))
                .await
                .unwrap();
            assert!(world.mailer.sent().is_empty(), "the request itself sends nothing");
            costs.push(calls.take());
        }
        // The two gets are one BatchGetItem in DynamoDB.
        assert_eq!(
            costs[0],
            ["get", "get", "transaction"],
            "read the limits, then one write"
        );
        assert_eq!(costs[1], costs[0], "a withheld link: the same calls");
        let report = world.drain_outbox().await;
        assert_eq!((report.sent, report.nothing_to_send), (1, 1));
        let mails = world.mailer.sent();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to.as_str(), "ada@example.com");
        assert!(mails[0].text.contains("/dsr/verify?token="));
    }

    #[tokio::test]
    async fn verification_mails_are_paced_ten_minutes_apart_and_five_a_day() {
        let fixture = Fixture::new();
        let verification_mails = || {
            fixture
                .mailer
                .sent()
                .iter()
                .filter(|mail| mail.text.contains("/dsr/verify?token="))
                .count()
        };
        let minutes = |n| jiff::SignedDuration::from_mins(n);
        let requests = fixture.requests();
        let kinds = [
            RequestType::Access,
            RequestType::Erasure,
            RequestType::Restriction,
            RequestType::Portability,
            RequestType::Source,
            RequestType::CcpaKnow,
            RequestType::CcpaDelete,
        ];
        // Five minutes after the first: stored, but no second mail.
        requests.submit(fixture.submission(kinds[0])).await.unwrap();
        fixture.clock.advance(minutes(5));
        requests.submit(fixture.submission(kinds[1])).await.unwrap();
        fixture.drain_outbox().await;
        assert_eq!(verification_mails(), 1);
        // Eleven minutes apart: one each, up to five in 24 hours.
        for kind in &kinds[1..] {
            fixture.clock.advance(minutes(11));
            requests.submit(fixture.submission(*kind)).await.unwrap();
        }
        fixture.drain_outbox().await;
        assert_eq!(verification_mails(), 5, "five a day, however far apart");
        // A day after the first mail, the window has room again.
        fixture.clock.advance(minutes(24 * 60 - 5 - 11 * 6 + 1));
        requests
            .submit(fixture.submission(RequestType::CcpaCorrect))
            .await
            .unwrap();
        fixture.drain_outbox().await;
        assert_eq!(verification_mails(), 6);
    }

    #[tokio::test]
    async fn deadlines_run_from_receipt_on_the_controllers_calendar() {
        let fixture = Fixture::new();
        let submitted = fixture
            .requests()
            .submit(fixture.submission(RequestType::Access))
            .await
            .unwrap();
        let record = fixture
            .store
            .get(&request_key(&submitted.request_id))
            .await
            .unwrap()
            .unwrap();
        let request = parse_request(&record).unwrap();
        assert_eq!(request.received_on, jiff::civil::date(2027, 2, 1));
        assert_eq!(request.due_on, jiff::civil::date(2027, 3, 1));
        assert_eq!(
            record.expires_at,
            Some("2029-03-02T23:30:00Z".parse().unwrap()),
            "unverified: kept (minimised) 24 months after it expires at 30 days"
        );
        assert_eq!(
            record.due,
            Some(jiff::civil::date(2027, 3, 2)),
            "the sweep minimises it 30 days after receipt"
        );
        let ccpa = fixture
            .requests()
            .submit(fixture.submission(RequestType::CcpaKnow))
            .await
            .unwrap();
        let request = parse_request(
            &fixture
                .store
                .get(&request_key(&ccpa.request_id))
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        // The GDPR applies too: its month (1 March) beats CCPA's 45 days
        // from California's 31 January (17 March).
        assert_eq!(
            (request.jurisdiction, request.due_on),
            (Jurisdiction::Ccpa, jiff::civil::date(2027, 3, 1))
        );
    }

    #[tokio::test]
    async fn the_verification_mail_says_when_to_expect_an_answer() {
        let fixture = Fixture::new();
        for jurisdiction in [None, Some(Jurisdiction::Ccpa), Some(Jurisdiction::Nevada)] {
            let mut submission = fixture.submission(RequestType::Access);
            submission.jurisdiction = jurisdiction;
            fixture.requests().submit(submission).await.unwrap();
            fixture.drain_outbox().await;
            let mail = fixture.mailer.sent().pop().unwrap();
            assert!(mail.text.contains("/dsr/verify?token="));
            assert!(
                mail.text.contains("We will answer by 2027-03-01 at the latest"),
                "{jurisdiction:?}: {}",
                mail.text
            );
            assert!(
                mail.html
                    .contains("We will answer by <strong>2027-03-01</strong> at the latest"),
                "{jurisdiction:?}: {}",
                mail.html
            );
        }
    }

    #[tokio::test]
    async fn a_rectifications_verification_mail_states_the_change_and_where_the_data_would_go() {
        let fixture = Fixture::new();
        let mut submission = fixture.submission(RequestType::Rectification);
        submission.corrections = Some(Corrections {
            name: Some(PersonName::parse("name", "Win A Prize At Spam Example").unwrap()),
            email: Some("grace@example.com".to_owned()),
        });
        fixture.requests().submit(submission).await.unwrap();
        fixture.drain_outbox().await;
        let mail = fixture.mailer.sent().pop().unwrap();
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("The change asked for: your name"), "{part}");
            assert!(part.contains("your e-mail address, to grace@example.com"), "{part}");
            assert!(part.contains("only once that address has confirmed it too"), "{part}");
            assert!(!part.contains("Spam"), "a submitted name is not echoed: {part}");
        }
        // Other requests state no change.
        fixture.clock.advance(jiff::SignedDuration::from_mins(11));
        fixture
            .requests()
            .submit(fixture.submission(RequestType::Access))
            .await
            .unwrap();
        fixture.drain_outbox().await;
        assert!(!fixture
            .mailer
            .sent()
            .pop()
            .unwrap()
            .text
            .contains("The change asked for"));
    }

    #[tokio::test]
    async fn a_verified_request_loses_its_expiry_and_a_closed_one_is_stamped_for_minimisation() {
        let fixture = Fixture::new();
        let submitted = fixture
            .requests()
            .submit(fixture.submission(RequestType::Restriction))
            .await
            .unwrap();
        let verified = fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        assert_eq!(verified.status, RequestStatus::AwaitingTeam);
        let record = fixture
            .store
            .get(&request_key(&submitted.request_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (record.expires_at, record.due),
            (None, None),
            "open requests are kept until they close"
        );
        fixture
            .requests()
            .complete(&submitted.request_id, "Restriction in place", "team-member-1")
            .await
            .unwrap();
        let record = fixture
            .store
            .get(&request_key(&submitted.request_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.expires_at,
            Some("2030-01-31T23:30:00Z".parse().unwrap()),
            "3 years after closing"
        );
        assert_eq!(
            record.due,
            Some(jiff::civil::date(2027, 3, 2)),
            "the address goes 30 days after closing"
        );
    }

    #[tokio::test]
    async fn a_restricted_person_gets_no_newsletter_mail_but_their_request_mail() {
        let fixture = Fixture::new();
        fixture
            .requests()
            .submit(fixture.submission(RequestType::Restriction))
            .await
            .unwrap();
        fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        let sent_before = fixture.mailer.sent().len();
        let newsletter = fixture.newsletter();
        let sign_up = SignUp {
            email: EmailAddress::parse("email", "ada@example.com").unwrap(),
            name: None,
            lists: vec![crate::newsletter::ListId::default_list()],
            consent_id: None,
            channel: "api",
            ip: None,
            notice: crate::newsletter::NoticeShown::default(),
        };
        assert_eq!(
            newsletter.sign_up(sign_up).await.unwrap(),
            SignUpOutcome::ConfirmationQueued
        );
        let drained = fixture
            .ports()
            .outbox()
            .retry(fixture.clock.now() + jiff::SignedDuration::from_mins(1))
            .await
            .unwrap();
        assert_eq!(drained.rejected, 1, "the drain refuses the queued confirmation");
        assert_eq!(fixture.mailer.sent().len(), sent_before);
        let id = fixture.requests().queue(None, None).await.unwrap()[0]
            .request_id
            .clone();
        fixture
            .requests()
            .complete(&id, "Restriction in place", "team-member-1")
            .await
            .unwrap();
        assert_eq!(
            fixture.mailer.sent().len(),
            sent_before + 1,
            "the request's own mail still goes out"
        );
    }

    #[tokio::test]
    async fn an_extension_must_come_before_the_first_deadline() {
        let fixture = Fixture::new();
        let submitted = fixture
            .requests()
            .submit(fixture.submission(RequestType::Restriction))
            .await
            .unwrap();
        fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        fixture.clock.set("2027-03-02T00:00:00Z".parse().unwrap());
        let late = fixture
            .requests()
            .extend(&submitted.request_id, "Too late", "team-member-1")
            .await;
        assert!(
            matches!(late, Err(DsrError::Extension(ExtensionRefused::TooLate { .. }))),
            "{late:?}"
        );
        fixture.clock.set("2027-02-20T00:00:00Z".parse().unwrap());
        let extended = fixture
            .requests()
            .extend(&submitted.request_id, "Several systems", "team-member-1")
            .await
            .unwrap();
        assert_eq!(extended.due_on, jiff::civil::date(2027, 5, 1));
        let queue = fixture.requests().queue(None, None).await.unwrap();
        assert_eq!(queue.len(), 1, "the queue entry moved with the due date");
        assert_eq!(queue[0].due_on, jiff::civil::date(2027, 5, 1));
    }

    /// The queue's entries wherever they are: its shards and the partition of
    /// the entries written before the sharding.
    fn queue_records(fixture: &Fixture) -> Vec<Record> {
        fixture
            .store
            .snapshot()
            .into_iter()
            .filter(|record| queue_partitions().any(|partition| partition == record.key.partition))
            .collect()
    }

    /// Moves the queue entry of `request_id` to where it would be had it been
    /// written before the sharding.
    async fn move_to_legacy_partition(fixture: &Fixture, request_id: &str) {
        let mut entry = queue_records(fixture)
            .into_iter()
            .find(|record| record.attributes["request_id"] == request_id)
            .unwrap();
        let sharded = entry.key.clone();
        entry.key.partition = QUEUE_PARTITION.to_owned();
        fixture
            .store
            .write(vec![
                Write::Delete {
                    key: sharded,
                    precondition: Precondition::Present,
                },
                Write::Put {
                    record: entry,
                    precondition: Precondition::Absent,
                },
            ])
            .await
            .unwrap();
    }

    /// Submits and verifies a restriction for `address`: a request the team's queue lists.
    async fn verified_request(fixture: &Fixture, address: &str) -> String {
        let mut submission = fixture.submission(RequestType::Restriction);
        submission.email = EmailAddress::parse("email", address).unwrap();
        let submitted = fixture.requests().submit(submission).await.unwrap();
        fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        submitted.request_id
    }

    #[tokio::test]
    async fn a_thousand_verified_requests_spread_over_every_shard_of_the_queue() {
        let fixture = Fixture::new();
        for n in 0..1000 {
            verified_request(&fixture, &format!("person{n}@example.com")).await;
        }
        let mut per_partition: std::collections::BTreeMap<String, usize> = Default::default();
        for record in queue_records(&fixture) {
            *per_partition.entry(record.key.partition).or_default() += 1;
        }
        assert_eq!(per_partition.len(), usize::from(QUEUE_SHARDS), "{per_partition:?}");
        assert!(!per_partition.contains_key(QUEUE_PARTITION), "{per_partition:?}");
        let busiest = per_partition.values().max().copied().unwrap_or_default();
        assert!(
            busiest < 1000 / usize::from(QUEUE_SHARDS) * 3 / 2,
            "one partition takes {busiest} of 1,000 entries: {per_partition:?}"
        );
        assert_eq!(fixture.requests().queue(None, None).await.unwrap().len(), 1000);
    }

    /// A store whose every Query of the team's queue waits until one of
    /// each partition is waiting: read one after another, the first waits
    /// for ever.
    struct QueueReadTogether {
        inner: crate::store::memory::MemoryStore,
        together: tokio::sync::Barrier,
    }

    #[async_trait::async_trait]
    impl RecordStore for QueueReadTogether {
        async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
            self.inner.get(key).await
        }
        async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            self.inner.write(writes).await
        }
        async fn query(
            &self,
            query: &crate::store::Query,
            limit: usize,
            cursor: Option<crate::store::Cursor>,
        ) -> Result<crate::store::Page, StoreError> {
            use crate::store::Query;
            if let Query::Partition { partition, .. } | Query::SortRange { partition, .. } = query {
                if partition.starts_with(QUEUE_PARTITION) {
                    self.together.wait().await;
                }
            }
            self.inner.query(query, limit, cursor).await
        }
        async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
            self.inner.delete_all(keys).await
        }
    }

    #[tokio::test]
    async fn the_team_and_the_digest_read_every_partition_of_the_queue_at_once() {
        let store = QueueReadTogether {
            inner: crate::store::memory::MemoryStore::new(),
            together: tokio::sync::Barrier::new(queue_partitions().count()),
        };
        let world = World::on(store, crate::testing::timestamp("2027-03-10T09:00:00Z"));
        let within = std::time::Duration::from_secs(10);
        let page = tokio::time::timeout(within, world.requests().queue_page(None, None, 10, None))
            .await
            .expect("the team's page: one round trip");
        assert!(page.unwrap().entries.is_empty());
        let today = world.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let digest = tokio::time::timeout(
            within,
            queue::due_requests(&world.store, world.now(), today, today, &jiff::tz::TimeZone::UTC),
        )
        .await
        .expect("the digest: one round trip");
        assert!(digest.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_request_with_entries_in_its_shard_and_the_old_partition_is_listed_once_as_the_later_one() {
        let fixture = Fixture::new();
        let id = verified_request(&fixture, "ada@example.com").await;
        // The version before the sharding, still running during a rolling
        // deploy, writes the old partition only, after this version's write.
        let mut later = queue_records(&fixture).pop().unwrap();
        later.key.partition = QUEUE_PARTITION.to_owned();
        later.attributes["status"] = serde_json::json!("in_progress");
        crate::store::put(&fixture.store, later, Precondition::Absent)
            .await
            .unwrap();
        assert_eq!(queue_records(&fixture).len(), 2);

        let page = fixture.requests().queue_page(None, None, 10, None).await.unwrap();
        let listed: Vec<(String, RequestStatus)> = page
            .entries
            .into_iter()
            .map(|entry| (entry.request_id, entry.status))
            .collect();
        assert_eq!(listed, vec![(id.clone(), RequestStatus::InProgress)]);
        let today = jiff::civil::date(2027, 1, 1);
        let due = crate::dsr::queue::due_requests(
            &fixture.store,
            fixture.clock.now(),
            today,
            jiff::civil::date(2030, 1, 1),
            &jiff::tz::TimeZone::UTC,
        )
        .await
        .unwrap();
        assert_eq!(
            due.iter()
                .map(|entry| (entry.request_id.as_str(), entry.status.as_str()))
                .collect::<Vec<_>>(),
            vec![(id.as_str(), "in_progress")]
        );
    }

    #[tokio::test]
    async fn paging_lists_every_open_request_once_soonest_due_first_across_shards_and_the_old_partition() {
        let fixture = Fixture::new();
        let mut ids = Vec::new();
        for n in 0..12 {
            // Received on four days: four due days, several requests on each.
            if n % 3 == 0 {
                fixture.clock.advance(jiff::SignedDuration::from_hours(24));
            }
            ids.push(verified_request(&fixture, &format!("person{n}@example.com")).await);
        }
        // A third of them were queued before the sharding.
        for id in ids.iter().step_by(3) {
            move_to_legacy_partition(&fixture, id).await;
        }
        // Entries an earlier version wrote at intake, soonest due of all and
        // in both kinds of partition: never listed, and read past.
        for n in 0..5 {
            let id = format!("unverified-{n}");
            let mut record = Record::new(queue_key(jiff::civil::date(2027, 2, 1), &id), entity::DSR_QUEUE_ENTRY);
            if n % 2 == 0 {
                record.key.partition = QUEUE_PARTITION.to_owned();
            }
            record.set_body(&serde_json::json!({
                "request_id": id, "type": "access", "status": "awaiting_verification",
                "jurisdiction": "gdpr", "received_at": "2027-01-02T10:00:00Z", "due_on": "2027-02-01",
            }));
            crate::store::put(&fixture.store, record, Precondition::Absent)
                .await
                .unwrap();
        }
        let partitions: std::collections::BTreeSet<String> = queue_records(&fixture)
            .into_iter()
            .map(|record| record.key.partition)
            .collect();
        assert!(partitions.len() > 3, "spread over several shards: {partitions:?}");
        let mut expected = Vec::new();
        for id in &ids {
            expected.push((parse_request(&stored(&fixture, id).await).unwrap().due_on, id.clone()));
        }
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

        let requests = fixture.requests();
        for limit in [1, 2, 5] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = requests.queue_page(None, None, limit, cursor.as_deref()).await.unwrap();
                assert!(page.entries.len() <= limit);
                seen.extend(page.entries.into_iter().map(|entry| entry.request_id));
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(
                seen, expected,
                "every open request once, soonest due first, {limit} a page"
            );
        }
        let soonest = requests
            .queue_page(Some(RequestStatus::AwaitingTeam), None, 3, None)
            .await
            .unwrap();
        let listed: Vec<&str> = soonest.entries.iter().map(|entry| entry.request_id.as_str()).collect();
        assert_eq!(listed, expected[..3]);
        assert!(soonest.next.is_some());
    }

    #[tokio::test]
    async fn a_request_queued_before_the_sharding_keeps_one_entry_when_it_changes() {
        let fixture = Fixture::new();
        let extended = verified_request(&fixture, "ada@example.com").await;
        let closed = verified_request(&fixture, "grace@example.com").await;
        move_to_legacy_partition(&fixture, &extended).await;
        move_to_legacy_partition(&fixture, &closed).await;
        let entries_of = |id: &str| -> Vec<RecordKey> {
            queue_records(&fixture)
                .into_iter()
                .filter(|record| record.attributes["request_id"] == id)
                .map(|record| record.key)
                .collect()
        };

        // An extension moves the due day: the old day's entry goes from the old partition.
        fixture.clock.set("2027-02-20T00:00:00Z".parse().unwrap());
        let request = fixture
            .requests()
            .extend(&extended, "Several systems", "team-member-1")
            .await
            .unwrap();
        assert_eq!(request.due_on, jiff::civil::date(2027, 5, 1));
        assert_eq!(entries_of(&extended), [queue_key(request.due_on, &extended)]);

        // A change that keeps the due day rewrites the entry in its shard.
        let request = fixture
            .requests()
            .complete(&closed, "Restriction in place", "team-member-1")
            .await
            .unwrap();
        assert_eq!(entries_of(&closed), [queue_key(request.due_on, &closed)]);

        let queue = fixture.requests().queue(None, None).await.unwrap();
        let listed: Vec<&str> = queue.iter().map(|entry| entry.request_id.as_str()).collect();
        assert_eq!(listed.iter().filter(|id| **id == extended).count(), 1, "{listed:?}");
    }

    #[tokio::test]
    async fn a_cursor_of_the_format_before_the_sharding_is_refused() {
        let fixture = Fixture::new();
        for n in 0..3 {
            verified_request(&fixture, &format!("person{n}@example.com")).await;
        }
        // Where a page ended before the sharding: the store's cursor (the
        // in-memory store's format) in the single partition, sealed as it was then.
        let first = &fixture.requests().queue(None, None).await.unwrap()[0];
        let store_cursor = serde_json::json!(["DSR_QUEUE", format!("{}#{}", first.due_on, first.request_id)]);
        let old = fixture
            .secrets
            .token_key
            .seal_cursor("dsr-queue", &store_cursor.to_string());
        let page = fixture.requests().queue_page(None, None, 2, Some(&old)).await;
        assert!(matches!(page, Err(DsrError::BadCursor)), "{page:?}");
    }

    async fn stored(fixture: &Fixture, request_id: &str) -> Record {
        fixture.store.get(&request_key(request_id)).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn only_verified_requests_enter_the_queue() {
        let fixture = Fixture::new();
        let submitted = fixture
            .requests()
            .submit(fixture.submission(RequestType::Restriction))
            .await
            .unwrap();
        assert!(queue_records(&fixture).is_empty(), "not queued before verification");
        assert!(fixture.requests().queue(None, None).await.unwrap().is_empty());
        fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        let queue = fixture.requests().queue(None, None).await.unwrap();
        assert_eq!(queue.len(), 1);
        assert_eq!(
            (queue[0].request_id.as_str(), queue[0].status),
            (submitted.request_id.as_str(), RequestStatus::AwaitingTeam)
        );
        // Acted on at once: completed at once, never queued.
        let opt_out = fixture
            .requests()
            .submit(fixture.submission(RequestType::CcpaOptOut))
            .await
            .unwrap();
        assert_eq!(opt_out.status, RequestStatus::Completed);
        assert_eq!(queue_records(&fixture).len(), 1);
    }

    #[tokio::test]
    async fn the_queue_never_lists_unverified_or_expired_entries() {
        let fixture = Fixture::new();
        for (n, status) in ["awaiting_verification", "expired", "in_progress"]
            .into_iter()
            .enumerate()
        {
            let mut record = Record::new(
                queue_key(jiff::civil::date(2027, 3, 1), &format!("r{n}")),
                entity::DSR_QUEUE_ENTRY,
            );
            record.set_body(&serde_json::json!({
                "request_id": format!("r{n}"), "type": "access", "status": status,
                "jurisdiction": "gdpr", "received_at": "2027-02-01T10:00:00Z", "due_on": "2027-03-01",
            }));
            crate::store::put(&fixture.store, record, Precondition::Absent)
                .await
                .unwrap();
        }
        let queue = fixture.requests().queue(None, None).await.unwrap();
        let ids: Vec<&str> = queue.iter().map(|entry| entry.request_id.as_str()).collect();
        assert_eq!(ids, ["r2"]);
        let asked = fixture
            .requests()
            .queue(Some(RequestStatus::Expired), None)
            .await
            .unwrap();
        assert!(asked.is_empty(), "not even when asked for");
    }

    #[tokio::test]
    async fn an_unverified_request_expires_minimised_and_is_kept_24_months() {
        use crate::retention::{PrivacyTeam, RetentionSweep};
        let fixture = Fixture::new();
        let mut submission = fixture.submission(RequestType::Rectification);
        submission.name = Some(PersonName::parse("name", "Ada Lovelace").unwrap());
        submission.details = Some("my name is wrong".to_owned());
        submission.corrections = Some(Corrections {
            name: Some(PersonName::parse("name", "Ada King").unwrap()),
            email: None,
        });
        submission.consent_id = Some(ConsentId::parse("consent_id", "7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d").unwrap());
        submission.ip = Some("192.0.2.77".parse().unwrap());
        let submitted = fixture.requests().submit(submission).await.unwrap();
        let token = fixture.verification_token().await;
        let team = PrivacyTeam {
            subject: fixture.requests().subject_of(&fixture.team),
            address: fixture.team.clone(),
        };
        let sweep = RetentionSweep {
            ports: fixture.ports(),
            privacy_team: &team,
        };
        let far = fixture.clock.now() + jiff::SignedDuration::from_hours(24 * 400);
        let received = stored(&fixture, &submitted.request_id).await;
        // A day before the 30 days end: untouched.
        sweep.run("2027-03-01T23:30:00Z".parse().unwrap(), far).await.unwrap();
        assert_eq!(stored(&fixture, &submitted.request_id).await, received);

        let run = sweep.run("2027-03-03T23:30:00Z".parse().unwrap(), far).await.unwrap();
        assert_eq!(run.minimised, 1, "{run:?}");
        let record = stored(&fixture, &submitted.request_id).await;
        for field in [
            "email",
            "name",
            "details",
            "corrections",
            "consent_id",
            "verification_digest",
        ] {
            assert!(!record.attributes.contains_key(field), "{field} removed");
        }
        assert!(!serde_json::to_string(&record.attributes).unwrap().contains("192.0.2"));
        let request = parse_request(&record).unwrap();
        assert_eq!(request.status, RequestStatus::Expired);
        assert!(request.status.is_closed());
        assert_eq!(
            (request.request_type, request.jurisdiction, request.channel.as_str()),
            (RequestType::Rectification, Jurisdiction::Gdpr, "api")
        );
        assert_eq!(request.received_on, jiff::civil::date(2027, 2, 1));
        assert_eq!(request.events.last().unwrap().event, RequestEventKind::Expired);
        assert_eq!(
            record.expires_at,
            Some("2029-03-02T23:30:00Z".parse().unwrap()),
            "kept 24 months (CCPA regulations § 7101)"
        );
        assert_eq!(
            record.due,
            Some(jiff::civil::date(2029, 3, 2)),
            "next due when it expires"
        );
        assert!(
            fixture
                .store
                .get(&token_key(&token_digest(&token)))
                .await
                .unwrap()
                .is_none(),
            "the link's token record is gone at 30 days"
        );
        assert!(matches!(
            fixture.requests().verify(&token).await,
            Err(DsrError::InvalidToken)
        ));
        assert!(fixture.requests().queue(None, None).await.unwrap().is_empty());
        assert!(queue_records(&fixture).is_empty());

        // Gone at the end of the 24 months.
        sweep
            .run(
                "2029-03-03T00:00:00Z".parse().unwrap(),
                far + jiff::SignedDuration::from_hours(24 * 800),
            )
            .await
            .unwrap();
        assert!(fixture
            .store
            .get(&request_key(&submitted.request_id))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_processing_objection_stops_marketing_at_once_then_goes_to_the_team_once_verified() {
        let fixture = Fixture::new();
        let mut submission = fixture.submission(RequestType::Objection);
        submission.scope = Some(ObjectionScope::Processing);
        let submitted = fixture.requests().submit(submission).await.unwrap();
        assert_eq!(submitted.status, RequestStatus::AwaitingVerification);
        let subject = fixture
            .requests()
            .subject_of(&EmailAddress::parse("email", "ada@example.com").unwrap());
        let newsletter = fixture.newsletter();
        assert!(
            newsletter
                .subscriptions()
                .suppression(&subject)
                .await
                .unwrap()
                .is_some(),
            "marketing stopped before verification"
        );
        let request = parse_request(&stored(&fixture, &submitted.request_id).await).unwrap();
        assert_eq!(request.scope, Some(ObjectionScope::Processing));
        assert!(request.has_event(RequestEventKind::MarketingStopped));
        assert!(queue_records(&fixture).is_empty());
        assert!(fixture.mailer.sent_to(&fixture.team).is_empty());

        let verified = fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        assert_eq!(verified.status, RequestStatus::AwaitingTeam);
        let team_mail = fixture.mailer.sent_to(&fixture.team);
        assert_eq!(team_mail.len(), 1);
        assert!(team_mail[0].text.contains("Scope: processing"), "{}", team_mail[0].text);
        assert!(fixture
            .store
            .get(&crate::holds::keeping::restriction_key(&subject))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            fixture.requests().queue(None, None).await.unwrap()[0].scope,
            Some(ObjectionScope::Processing)
        );

        // A marketing objection (the default) acts at once, without verification.
        let marketing = fixture
            .requests()
            .submit(fixture.submission(RequestType::Objection))
            .await
            .unwrap();
        assert_eq!(marketing.status, RequestStatus::Completed);
        let request = parse_request(&stored(&fixture, &marketing.request_id).await).unwrap();
        assert_eq!(request.scope, Some(ObjectionScope::Marketing));
    }

    #[tokio::test]
    async fn refusals_and_extensions_name_the_reasons_imy_and_the_courts() {
        let fixture = Fixture::new();
        let mut ids = Vec::new();
        for kind in [RequestType::Restriction, RequestType::Rectification] {
            // One verification mail per address per 10 minutes.
            fixture.clock.advance(jiff::SignedDuration::from_mins(11));
            let submitted = fixture.requests().submit(fixture.submission(kind)).await.unwrap();
            fixture
                .requests()
                .verify(&fixture.verification_token().await)
                .await
                .unwrap();
            ids.push(submitted.request_id);
        }
        fixture.clock.set("2027-02-10T10:00:00Z".parse().unwrap());
        fixture
            .requests()
            .extend(&ids[0], "Three systems hold your data", "team-member-1")
            .await
            .unwrap();
        fixture
            .requests()
            .reject(&ids[1], "Manifestly unfounded", "team-member-1")
            .await
            .unwrap();
        let ada = EmailAddress::parse("email", "ada@example.com").unwrap();
        let sent = fixture.mailer.sent_to(&ada);
        let extension = sent.iter().find(|mail| mail.subject.contains("more time")).unwrap();
        let refusal = sent.iter().find(|mail| mail.subject.contains("declined")).unwrap();
        for (mail, reason) in [
            (extension, "Three systems hold your data"),
            (refusal, "Manifestly unfounded"),
        ] {
            assert!(mail.text.contains(&format!("Why: {reason}")), "{}", mail.text);
            assert!(
                mail.text.contains("IMY") && mail.text.contains("https://www.imy.se"),
                "{}",
                mail.text
            );
            assert!(mail.text.contains("GDPR Art. 79"), "{}", mail.text);
            assert!(mail.text.contains("court"), "{}", mail.text);
            assert!(mail.text.contains("where you habitually reside"), "{}", mail.text);
        }
    }

    #[tokio::test]
    async fn a_rectification_with_nothing_to_correct_goes_to_the_team() {
        let fixture = Fixture::new();
        // Corrections for a name, but the product holds no subscription they apply to.
        let mut submission = fixture.submission(RequestType::Rectification);
        submission.corrections = Some(Corrections {
            name: Some(PersonName::parse("name", "Ada King").unwrap()),
            email: None,
        });
        fixture.requests().submit(submission).await.unwrap();
        let verified = fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        assert_eq!(verified.status, RequestStatus::AwaitingTeam);
        let note = verified.events.last().unwrap();
        assert_eq!(note.event, RequestEventKind::NeedsTeam);
        assert!(note.note.as_deref().unwrap().contains("holds nothing"));
        // Only details: nothing the product can apply by itself.
        fixture.clock.advance(jiff::SignedDuration::from_mins(11));
        let mut submission = fixture.submission(RequestType::CcpaCorrect);
        submission.details = Some("My employer is wrong".to_owned());
        fixture.requests().submit(submission).await.unwrap();
        let verified = fixture
            .requests()
            .verify(&fixture.verification_token().await)
            .await
            .unwrap();
        assert_eq!(verified.status, RequestStatus::AwaitingTeam);
        assert!(verified
            .events
            .last()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("no corrections given"));
        assert!(
            !fixture
                .mailer
                .sent()
                .iter()
                .any(|mail| mail.text.contains("We corrected")),
            "never \"We corrected: .\""
        );
        assert_eq!(
            fixture
                .requests()
                .queue(Some(RequestStatus::AwaitingTeam), None)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}
