//! Cookie consent: decisions, their receipts, and the ledger that records them.
//!
//! Every decision appends a [`ConsentReceipt`] (modelled on the Kantara
//! Consent Receipt and ISO/IEC 27560) under the visitor's [`ConsentId`], and
//! replaces the latest [`ConsentState`], in one transaction. Each receipt
//! holds the SHA-256 of the one before it, so a removed or altered receipt is
//! detectable ([`verify_chain`]).
//!
//! Context `consent`: may use `register`, `store` and the kernel (README, "The domain crate's contexts").

mod chain;
mod proof;
pub mod tally;

pub use chain::{verify_chain, ChainBreak};
pub use proof::{ChainVerdict, ConsentProof};

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Clock;
use crate::network::{truncated_network, user_agent_family};
use crate::register::{entity, CategoryId, Register};
use crate::store::{self, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;
use crate::FieldError;

/// The random identifier an anonymous visitor's consent is kept under
/// (the website keeps it in a first-party cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsentId(Uuid);

impl ConsentId {
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// The hyphenated form only (36 characters, as the website kit writes
    /// it and openapi.yaml states): not the simple, braced or URN forms.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Some(raw)
            .filter(|raw| raw.len() == 36)
            .and_then(|raw| Uuid::try_parse(raw).ok())
            .filter(|uuid| uuid.get_version_num() == 4)
            .map(Self)
            .ok_or_else(|| FieldError::new(field, "invalid_consent_id", "A consent id is a UUID version 4."))
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The version of the privacy/cookie policy the visitor was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyVersion(String);

impl PolicyVersion {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
        if raw.is_empty() {
            return Err(FieldError::missing(field));
        }
        if !valid {
            return Err(FieldError::invalid(
                field,
                "A policy version is 1 to 64 letters, digits, dots, dashes, underscores or pluses.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The language the notice was shown in (a BCP 47 tag such as `sv` or `en-GB`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut subtags = raw.split('-');
        let primary_ok = subtags.next().is_some_and(|primary| {
            (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic())
        });
        let rest_ok = subtags.all(|tag| (1..=8).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_alphanumeric()));
        if primary_ok && rest_ok && raw.len() <= 35 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::invalid(
                field,
                "A language is a BCP 47 tag such as `en` or `sv-SE`.",
            ))
        }
    }
}

/// The SHA-256 of the notice text the visitor was shown, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoticeDigest(String);

impl NoticeDigest {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.len() == 64 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(FieldError::invalid(
                field,
                "A notice digest is a SHA-256 in 64 hex digits.",
            ))
        }
    }
}

/// Where a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    Banner,
    Settings,
    Api,
}

impl ConsentSource {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            "banner" => Ok(Self::Banner),
            "settings" => Ok(Self::Settings),
            "api" => Ok(Self::Api),
            _ => Err(FieldError::invalid(
                field,
                "The source is one of `banner`, `settings` or `api`.",
            )),
        }
    }
}

/// Whether a receipt records consent given (or changed) or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Given,
    Withdrawn,
}

/// The cookie categories. `necessary` is always true: those cookies need no consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Categories {
    pub necessary: bool,
    pub analytics: bool,
    pub marketing: bool,
}

impl Categories {
    pub const CHOOSABLE: [&'static str; 2] = ["analytics", "marketing"];

    pub fn chosen(analytics: bool, marketing: bool) -> Self {
        Self {
            necessary: true,
            analytics,
            marketing,
        }
    }
}

/// What a visitor decided, validated.
#[derive(Debug, Clone)]
pub struct ConsentDecision {
    pub consent_id: Option<ConsentId>,
    pub policy_version: PolicyVersion,
    pub categories: Categories,
    pub source: ConsentSource,
    pub language: Option<LanguageTag>,
    pub notice_sha256: Option<NoticeDigest>,
}

/// What the product may keep about the client that sent a decision.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The `Sec-GPC: 1` header: an opt-out of sale and sharing.
    pub global_privacy_control: bool,
}

/// One recorded consent event. Append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentReceipt {
    pub receipt_id: Uuid,
    pub consent_id: ConsentId,
    pub sequence: u64,
    pub action: ConsentAction,
    pub recorded_at: Timestamp,
    pub policy_version: PolicyVersion,
    pub language: Option<LanguageTag>,
    pub notice_sha256: Option<NoticeDigest>,
    pub categories: Categories,
    pub source: ConsentSource,
    pub gpc: bool,
    /// The client's network, truncated to /24 or /48.
    pub network: Option<String>,
    pub user_agent_family: String,
    pub previous_receipt_sha256: Option<String>,
    pub receipt_sha256: String,
}

impl ConsentReceipt {
    /// SHA-256 of the receipt's JSON with sorted keys, without its own digest.
    pub fn digest(&self) -> String {
        let mut fields = match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => unreachable!("a receipt serialises to a JSON object"),
        };
        fields.remove("receipt_sha256");
        // serde_json's Map keeps keys sorted, so this text is canonical.
        hex::encode(Sha256::digest(Value::Object(fields).to_string().as_bytes()))
    }
}

/// The latest decision of one consent id: readable in one GetItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentState {
    pub consent_id: ConsentId,
    pub receipt_id: Uuid,
    pub recorded_at: Timestamp,
    pub policy_version: PolicyVersion,
    pub categories: Categories,
    pub gpc: bool,
    pub renew_after: Timestamp,
    pub withdrawn: bool,
    pub sequence: u64,
    pub last_receipt_sha256: String,
    /// The last sequence not kept as a receipt of its own: folded into the
    /// checkpoint, or from before this chain began. Receipts kept one by one
    /// are `sequence - folded_through` at most.
    #[serde(default)]
    pub folded_through: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("no consent is recorded under this id")]
    NotFound,
    #[error("the consent changed concurrently too many times; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored consent record is corrupt: {0}")]
    Corrupt(String),
}

/// Receipts kept one by one per consent id. Older ones are folded into the
/// id's [`ConsentCheckpoint`], so that no history (and no read of it) grows
/// without bound however often one id records a decision. 100 covers years of
/// a real visitor's choices (a banner asks again after 12 months or a policy
/// change) while keeping a full read of one id within one page of the store.
pub const RECEIPTS_KEPT: u64 = 100;

/// At most this many receipts are folded by one decision (an older history
/// kept whole before the cap shrinks a little with each new decision), so
/// that a decision stays one transaction of bounded size.
const FOLD_BATCH: usize = 20;

/// Receipts per page of [`ConsentLedger::receipts_page`] unless asked otherwise, and at most.
pub const RECEIPTS_PAGE_DEFAULT: usize = 50;
pub const RECEIPTS_PAGE_MAX: usize = 200;

/// What the oldest receipts of a consent id were folded into: the digest of
/// the last one folded (which the first receipt kept links to) and a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentCheckpoint {
    pub consent_id: ConsentId,
    /// The sequence of the last receipt folded in.
    pub through_sequence: u64,
    /// That receipt's digest: the next receipt's `previous_receipt_sha256`.
    pub last_receipt_sha256: String,
    /// How many receipts were folded in, and how many of them withdrew consent.
    pub folded: u64,
    pub withdrawals: u64,
    pub first_recorded_at: Timestamp,
    pub last_recorded_at: Timestamp,
}

/// The link from a consent id to the person who gave an address with it
/// (confirmed or verified): one record, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentLink {
    pub consent_id: ConsentId,
    pub linked_at: Timestamp,
}

/// What [`ConsentLedger::link_subject`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// Already linked to this person: nothing written.
    AlreadyLinked,
    /// Linked to another person: refused, the first link stays.
    Refused,
    /// No (live) consent under this id: nothing to link.
    Unknown,
}

/// One page of a consent id's receipts, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptsPage {
    /// Where the receipts kept one by one start (on the first page only).
    pub checkpoint: Option<ConsentCheckpoint>,
    pub receipts: Vec<ConsentReceipt>,
    /// The sequence to hand back as the next page's cursor, when there may be more.
    pub next: Option<u64>,
}

/// The consent ids linked to a person, among the records about them.
pub fn linked_consent_ids(records: &[Record]) -> Vec<ConsentId> {
    let mut ids: Vec<ConsentId> = records
        .iter()
        .filter(|record| record.entity == entity::CONSENT_LINK || record.entity == entity::CONSENT_STATE)
        .filter_map(|record| record.attributes.get("consent_id"))
        .filter_map(|id| serde_json::from_value::<ConsentId>(id.clone()).ok())
        .collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    ids
}

/// The partition holding everything recorded under a consent id (its receipts,
/// checkpoint, state and link), for readers that page through it.
pub fn consent_partition(id: &ConsentId) -> Query {
    Query::Partition {
        partition: partition(id),
        sort_prefix: String::new(),
    }
}
const ATTEMPTS: usize = 5;

fn partition(id: &ConsentId) -> String {
    format!("CONSENT#{id}")
}

fn state_key(id: &ConsentId) -> RecordKey {
    RecordKey::new(partition(id), "STATE")
}

fn receipt_key(id: &ConsentId, sequence: u64) -> RecordKey {
    RecordKey::new(partition(id), format!("RECEIPT#{sequence:010}"))
}

fn checkpoint_key(id: &ConsentId) -> RecordKey {
    RecordKey::new(partition(id), "CHECKPOINT")
}

fn link_key(id: &ConsentId) -> RecordKey {
    RecordKey::new(partition(id), "LINK")
}

/// The consent use cases.
pub struct ConsentLedger<'a> {
    pub store: &'a dyn RecordStore,
    pub clock: &'a dyn Clock,
    pub register: &'a Register,
}

impl ConsentLedger<'_> {
    /// Records a decision: appends a receipt and makes it the latest state.
    /// A decision without a consent id starts a new one.
    pub async fn record(
        &self,
        decision: ConsentDecision,
        client: &ClientContext,
    ) -> Result<ConsentState, ConsentError> {
        let consent_id = decision.consent_id.unwrap_or_else(ConsentId::generate);
        let mut categories = decision.categories;
        if client.global_privacy_control {
            categories.marketing = false;
        }
        let event = Event {
            consent_id,
            action: ConsentAction::Given,
            policy_version: decision.policy_version,
            language: decision.language,
            notice_sha256: decision.notice_sha256,
            categories,
            source: decision.source,
        };
        self.append(event, client, false).await
    }

    /// Withdraws consent to everything but the strictly necessary: as easy as giving it.
    pub async fn withdraw(&self, consent_id: ConsentId, client: &ClientContext) -> Result<ConsentState, ConsentError> {
        let current = self.current(consent_id).await?;
        let event = Event {
            consent_id,
            action: ConsentAction::Withdrawn,
            policy_version: current.policy_version,
            language: None,
            notice_sha256: None,
            categories: Categories::chosen(false, false),
            source: ConsentSource::Api,
        };
        self.append(event, client, true).await
    }

    /// The latest state, or `NotFound` when nothing (live) is recorded.
    pub async fn current(&self, consent_id: ConsentId) -> Result<ConsentState, ConsentError> {
        let now = self.clock.now();
        match self.store.get(&state_key(&consent_id)).await? {
            Some(record) if !record.is_expired(now) => record.body().map_err(ConsentError::from),
            _ => Err(ConsentError::NotFound),
        }
    }

    /// Every live receipt kept one by one, oldest first (at most
    /// [`RECEIPTS_KEPT`] plus what an older history held before the cap).
    pub async fn receipts(&self, consent_id: ConsentId) -> Result<Vec<ConsentReceipt>, ConsentError> {
        self.current(consent_id).await?;
        let now = self.clock.now();
        let query = Query::Partition {
            partition: partition(&consent_id),
            sort_prefix: "RECEIPT#".to_owned(),
        };
        store::query_all(self.store, &query)
            .await?
            .into_iter()
            .filter(|record| !record.is_expired(now))
            .map(|record| record.body().map_err(ConsentError::from))
            .collect()
    }

    /// The live checkpoint the oldest receipts were folded into, if any.
    pub async fn checkpoint(&self, consent_id: ConsentId) -> Result<Option<ConsentCheckpoint>, ConsentError> {
        let now = self.clock.now();
        match self.store.get(&checkpoint_key(&consent_id)).await? {
            Some(record) if !record.is_expired(now) => record.body().map_err(ConsentError::from).map(Some),
            _ => Ok(None),
        }
    }

    /// One page of at most `limit` live receipts, oldest first, starting
    /// after the receipt with sequence `after` (the previous page's `next`).
    /// The first page also carries the checkpoint. Reads at most `limit`
    /// receipts, however long the history.
    pub async fn receipts_page(
        &self,
        consent_id: ConsentId,
        limit: usize,
        after: Option<u64>,
    ) -> Result<ReceiptsPage, ConsentError> {
        self.current(consent_id).await?;
        let now = self.clock.now();
        let limit = limit.clamp(1, RECEIPTS_PAGE_MAX);
        let checkpoint = match after {
            None => self.checkpoint(consent_id).await?,
            Some(_) => None,
        };
        // The receipts kept one by one are capped (RECEIPTS_KEPT), so walking
        // them from the oldest reads a bounded number of records.
        let query = Query::Partition {
            partition: partition(&consent_id),
            sort_prefix: "RECEIPT#".to_owned(),
        };
        let after = after.unwrap_or(0);
        let mut receipts = Vec::with_capacity(limit);
        let mut cursor = None;
        loop {
            let page = self.store.query(&query, store::PAGE_SIZE, cursor).await?;
            for record in page.records.into_iter().filter(|record| !record.is_expired(now)) {
                let receipt: ConsentReceipt = record.body().map_err(ConsentError::from)?;
                if receipt.sequence <= after {
                    continue;
                }
                if receipts.len() == limit {
                    let next = receipts.last().map(|last: &ConsentReceipt| last.sequence);
                    return Ok(ReceiptsPage {
                        checkpoint,
                        receipts,
                        next,
                    });
                }
                receipts.push(receipt);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => {
                    return Ok(ReceiptsPage {
                        checkpoint,
                        receipts,
                        next: None,
                    })
                }
            }
        }
    }

    /// Links a visitor's consent history to the person who gave an address
    /// with this consent id and then confirmed it (a newsletter sign-up) or
    /// verified it (a request), so that access and erasure include it.
    ///
    /// One conditional write of one small record, whatever the history's
    /// length: receipts are not rewritten (they are found through the link).
    /// An id already linked to another person stays theirs: the second link
    /// is refused, and only logged, without the id or any address.
    pub async fn link_subject(&self, consent_id: ConsentId, subject: &SubjectKey) -> Result<LinkOutcome, ConsentError> {
        let now = self.clock.now();
        let state = match self.store.get(&state_key(&consent_id)).await? {
            Some(record) if !record.is_expired(now) => record,
            _ => return Ok(LinkOutcome::Unknown),
        };
        // Histories linked before links had a record of their own carry the subject on the state.
        if let Some(linked) = &state.subject {
            return Ok(self.outcome_for(linked, subject));
        }
        let link = ConsentLink {
            consent_id,
            linked_at: now,
        };
        let record = self.stored(
            link_key(&consent_id),
            entity::CONSENT_LINK,
            &link,
            &Some(subject.clone()),
            now,
            1,
        );
        match store::put(self.store, record, Precondition::Absent).await {
            Ok(()) => {
                tracing::info!(subject = subject.short(), "consent history linked to its person");
                Ok(LinkOutcome::Linked)
            }
            Err(StoreError::Conflict) => match self.store.get(&link_key(&consent_id)).await? {
                Some(existing) => match &existing.subject {
                    Some(linked) => Ok(self.outcome_for(linked, subject)),
                    None => Ok(LinkOutcome::Refused),
                },
                None => Err(ConsentError::Contended),
            },
            Err(error) => Err(error.into()),
        }
    }

    fn outcome_for(&self, linked: &SubjectKey, subject: &SubjectKey) -> LinkOutcome {
        if linked == subject {
            LinkOutcome::AlreadyLinked
        } else {
            tracing::warn!("a consent id already linked to another person was offered again; the link stays as it was");
            LinkOutcome::Refused
        }
    }

    async fn append(
        &self,
        event: Event,
        client: &ClientContext,
        must_exist: bool,
    ) -> Result<ConsentState, ConsentError> {
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            // The state and the link (the person the history is about, if
            // any) in one round trip.
            let mut found = self
                .store
                .get_many(&[state_key(&event.consent_id), link_key(&event.consent_id)])
                .await?
                .into_iter();
            let stored = found.next().flatten();
            let link = found.next().flatten();
            let (precondition, before) = match &stored {
                Some(record) => (
                    Precondition::Version(record.version),
                    Some((record.version, record.subject.clone(), record.body::<ConsentState>()?))
                        .filter(|_| !record.is_expired(now)),
                ),
                None => (Precondition::Absent, None),
            };
            if must_exist && before.is_none() {
                return Err(ConsentError::NotFound);
            }
            // Sequence numbers continue past an expired state so no receipt key is reused.
            let sequence = stored.as_ref().map_or(0, |record| record.version) + 1;
            // A linked history's new records carry the person's key (so holds
            // and restrictions stamp them as they are written); the older ones
            // are found through the link.
            let subject = match before.as_ref().and_then(|(_, subject, _)| subject.clone()) {
                Some(subject) => Some(subject),
                None => link.filter(|link| !link.is_expired(now)).and_then(|link| link.subject),
            };
            let previous_receipt_sha256 = before.as_ref().map(|(_, _, state)| state.last_receipt_sha256.clone());
            let mut receipt = ConsentReceipt {
                receipt_id: Uuid::new_v4(),
                consent_id: event.consent_id,
                sequence,
                action: event.action,
                recorded_at: now,
                policy_version: event.policy_version.clone(),
                language: event.language.clone(),
                notice_sha256: event.notice_sha256.clone(),
                categories: event.categories,
                source: event.source,
                gpc: client.global_privacy_control,
                network: client.ip.map(truncated_network),
                user_agent_family: user_agent_family(client.user_agent.as_deref()).to_owned(),
                previous_receipt_sha256,
                receipt_sha256: String::new(),
            };
            receipt.receipt_sha256 = receipt.digest();
            let state = ConsentState {
                consent_id: event.consent_id,
                receipt_id: receipt.receipt_id,
                recorded_at: now,
                policy_version: receipt.policy_version.clone(),
                categories: receipt.categories,
                gpc: receipt.gpc,
                renew_after: self.register.consent_renewal(now),
                withdrawn: event.action == ConsentAction::Withdrawn,
                sequence,
                last_receipt_sha256: receipt.receipt_sha256.clone(),
                folded_through: before
                    .as_ref()
                    .map_or(sequence - 1, |(_, _, state)| state.folded_through),
            };
            let mut state = state;
            let fold = self.fold(&mut state, &subject).await?;
            let mut receipt_record = self.stored(
                receipt_key(&event.consent_id, sequence),
                entity::CONSENT_RECEIPT,
                &receipt,
                &subject,
                now,
                1,
            );
            // Counted in the consent report by this very transaction.
            receipt_record
                .attributes
                .insert(tally::COUNTED_ATTRIBUTE.to_owned(), Value::Bool(true));
            let mut writes = vec![
                Write::Put {
                    record: receipt_record,
                    precondition: Precondition::Absent,
                },
                Write::Put {
                    record: self.stored(
                        state_key(&event.consent_id),
                        entity::CONSENT_STATE,
                        &state,
                        &subject,
                        now,
                        sequence,
                    ),
                    precondition,
                },
            ];
            writes.extend(fold);
            writes.push(tally::count(&receipt, self.register));
            match self.store.write(writes).await {
                Ok(()) => return Ok(state),
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ConsentError::Contended)
    }

    /// The writes that fold the oldest receipts beyond [`RECEIPTS_KEPT`] into
    /// the checkpoint (at most [`FOLD_BATCH`] of them), and the state's new
    /// `folded_through`. Part of the decision's transaction, so the state's
    /// version guards it like the rest.
    async fn fold(&self, state: &mut ConsentState, subject: &Option<SubjectKey>) -> Result<Vec<Write>, ConsentError> {
        let kept = state.sequence - state.folded_through;
        if kept <= RECEIPTS_KEPT {
            return Ok(Vec::new());
        }
        let count = (kept - RECEIPTS_KEPT).min(FOLD_BATCH as u64);
        let through = state.folded_through + count;
        let mut folded = Vec::new();
        for sequence in state.folded_through + 1..=through {
            if let Some(record) = self.store.get(&receipt_key(&state.consent_id, sequence)).await? {
                folded.push(record.body::<ConsentReceipt>()?);
            }
        }
        let Some(last) = folded.last().filter(|last| last.sequence == through) else {
            // The receipt the checkpoint would end on is gone (past its
            // retention): the chain is checked from the oldest held instead.
            tracing::warn!(sequence = through, "a receipt to fold is missing; nothing folded");
            return Ok(Vec::new());
        };
        let previous = self
            .checkpoint(state.consent_id)
            .await?
            .filter(|checkpoint| checkpoint.through_sequence == state.folded_through);
        let withdrawals = folded
            .iter()
            .filter(|receipt| receipt.action == ConsentAction::Withdrawn)
            .count() as u64;
        let checkpoint = ConsentCheckpoint {
            consent_id: state.consent_id,
            through_sequence: through,
            last_receipt_sha256: last.receipt_sha256.clone(),
            folded: previous.as_ref().map_or(0, |p| p.folded) + folded.len() as u64,
            withdrawals: previous.as_ref().map_or(0, |p| p.withdrawals) + withdrawals,
            first_recorded_at: previous.as_ref().map_or(folded[0].recorded_at, |p| p.first_recorded_at),
            last_recorded_at: last.recorded_at,
        };
        let mut writes = vec![Write::Put {
            // Kept as long as the last receipt folded into it would have been.
            record: self.stored(
                checkpoint_key(&state.consent_id),
                entity::CONSENT_CHECKPOINT,
                &checkpoint,
                subject,
                last.recorded_at,
                1,
            ),
            precondition: Precondition::None,
        }];
        writes.extend((state.folded_through + 1..=through).map(|sequence| Write::Delete {
            key: receipt_key(&state.consent_id, sequence),
            precondition: Precondition::None,
        }));
        state.folded_through = through;
        Ok(writes)
    }

    fn stored<T: Serialize>(
        &self,
        key: RecordKey,
        entity: &str,
        value: &T,
        subject: &Option<SubjectKey>,
        recorded_at: Timestamp,
        version: u64,
    ) -> Record {
        let mut record = Record::new(key, entity);
        record.set_body(value);
        record.subject = subject.clone();
        record.version = version;
        self.register
            .stamp(&mut record, CategoryId::ConsentRecords, recorded_at);
        record
    }
}

struct Event {
    consent_id: ConsentId,
    action: ConsentAction,
    policy_version: PolicyVersion,
    language: Option<LanguageTag>,
    notice_sha256: Option<NoticeDigest>,
    categories: Categories,
    source: ConsentSource,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::World;

    fn decision(analytics: bool, marketing: bool, consent_id: Option<ConsentId>) -> ConsentDecision {
        ConsentDecision {
            consent_id,
            policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
            categories: Categories::chosen(analytics, marketing),
            source: ConsentSource::Banner,
            language: Some(LanguageTag::parse("language", "sv-SE").unwrap()),
            notice_sha256: None,
        }
    }

    fn client(gpc: bool) -> ClientContext {
        ClientContext {
            ip: Some("198.51.100.23".parse().unwrap()),
            user_agent: Some("Mozilla/5.0 Firefox/128.0".to_owned()),
            global_privacy_control: gpc,
        }
    }

    /// The test world, with the ledger these tests use.
    struct Fixture(World);

    impl std::ops::Deref for Fixture {
        type Target = World;

        fn deref(&self) -> &World {
            &self.0
        }
    }

    impl Fixture {
        fn new() -> Self {
            Self(World::at("2026-05-01T08:00:00Z"))
        }

        fn ledger(&self) -> ConsentLedger<'_> {
            self.ports().consent_ledger()
        }
    }

    #[tokio::test]
    async fn a_decision_is_recorded_with_its_receipt_and_renewal_date() {
        let fixture = Fixture::new();
        let state = fixture
            .ledger()
            .record(decision(true, false, None), &client(false))
            .await
            .unwrap();
        assert_eq!(state.categories, Categories::chosen(true, false));
        assert_eq!(state.renew_after, "2027-05-01T08:00:00Z".parse().unwrap());
        let receipts = fixture.ledger().receipts(state.consent_id).await.unwrap();
        assert_eq!(receipts.len(), 1);
        assert_eq!(receipts[0].network.as_deref(), Some("198.51.100.0/24"));
        assert_eq!(receipts[0].user_agent_family, "Firefox");
        assert_eq!(verify_chain(&state, None, &receipts), Ok(()));
    }

    #[tokio::test]
    async fn gpc_turns_marketing_off_but_not_analytics() {
        let fixture = Fixture::new();
        let state = fixture
            .ledger()
            .record(decision(true, true, None), &client(true))
            .await
            .unwrap();
        assert_eq!(state.categories, Categories::chosen(true, false));
        assert!(state.gpc);
    }

    #[tokio::test]
    async fn withdrawal_needs_a_recorded_consent_and_refuses_everything_optional() {
        let fixture = Fixture::new();
        let unknown = ConsentId::generate();
        assert!(matches!(
            fixture.ledger().withdraw(unknown, &client(false)).await,
            Err(ConsentError::NotFound)
        ));
        let given = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        let withdrawn = fixture
            .ledger()
            .withdraw(given.consent_id, &client(false))
            .await
            .unwrap();
        assert_eq!(withdrawn.categories, Categories::chosen(false, false));
        assert!(withdrawn.withdrawn);
        assert_eq!(withdrawn.policy_version, given.policy_version);
        let receipts = fixture.ledger().receipts(given.consent_id).await.unwrap();
        assert_eq!(receipts[1].action, ConsentAction::Withdrawn);
        assert_eq!(verify_chain(&withdrawn, None, &receipts), Ok(()));
    }

    #[tokio::test]
    async fn concurrent_decisions_on_one_id_all_land_in_one_chain() {
        let fixture = std::sync::Arc::new(Fixture::new());
        let first = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for n in 0..4 {
            let fixture = std::sync::Arc::clone(&fixture);
            tasks.push(tokio::spawn(async move {
                let choice = decision(n % 2 == 0, false, Some(first.consent_id));
                fixture.ledger().record(choice, &client(false)).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let state = fixture.ledger().current(first.consent_id).await.unwrap();
        let receipts = fixture.ledger().receipts(first.consent_id).await.unwrap();
        assert_eq!(receipts.len(), 5);
        assert_eq!(verify_chain(&state, None, &receipts), Ok(()));
    }

    #[tokio::test]
    async fn records_past_their_retention_read_as_gone_and_a_new_chain_starts() {
        let fixture = Fixture::new();
        let old = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        fixture.clock.set("2029-05-02T00:00:00Z".parse().unwrap());
        assert!(matches!(
            fixture.ledger().current(old.consent_id).await,
            Err(ConsentError::NotFound)
        ));
        let renewed = fixture
            .ledger()
            .record(decision(false, false, Some(old.consent_id)), &client(false))
            .await
            .unwrap();
        let receipts = fixture.ledger().receipts(renewed.consent_id).await.unwrap();
        assert_eq!(receipts.len(), 1, "the expired receipt is not shown");
        assert_eq!(receipts[0].sequence, 2, "no receipt key is reused");
        assert_eq!(receipts[0].previous_receipt_sha256, None);
        assert_eq!(verify_chain(&renewed, None, &receipts), Ok(()));
    }

    #[tokio::test]
    async fn receipts_beyond_the_cap_fold_into_a_checkpoint_and_the_chain_still_verifies() {
        let fixture = Fixture::new();
        let first = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        let id = first.consent_id;
        for n in 1..130 {
            fixture
                .ledger()
                .record(decision(n % 2 == 0, false, Some(id)), &client(false))
                .await
                .unwrap();
        }
        fixture.ledger().withdraw(id, &client(false)).await.unwrap();
        let state = fixture.ledger().current(id).await.unwrap();
        assert_eq!(state.sequence, 131);
        let receipts = fixture.ledger().receipts(id).await.unwrap();
        assert_eq!(receipts.len() as u64, RECEIPTS_KEPT, "older receipts are folded");
        assert_eq!(receipts[0].sequence, 32);
        let checkpoint = fixture.ledger().checkpoint(id).await.unwrap().expect("a checkpoint");
        assert_eq!(checkpoint.through_sequence, 31);
        assert_eq!(checkpoint.folded, 31);
        assert_eq!(
            checkpoint.last_receipt_sha256,
            receipts[0].previous_receipt_sha256.clone().unwrap()
        );
        assert_eq!(verify_chain(&state, Some(&checkpoint), &receipts), Ok(()));

        // Tampering is still found: a removed first kept receipt, an altered
        // receipt, an altered checkpoint.
        assert_eq!(
            verify_chain(&state, Some(&checkpoint), &receipts[1..]),
            Err(ChainBreak::Missing { sequence: 32 })
        );
        let mut altered = receipts.clone();
        altered[5].categories.marketing = !altered[5].categories.marketing;
        assert_eq!(
            verify_chain(&state, Some(&checkpoint), &altered),
            Err(ChainBreak::Altered { sequence: 37 })
        );
        let mut forged = checkpoint.clone();
        forged.last_receipt_sha256 = "0".repeat(64);
        assert_eq!(
            verify_chain(&state, Some(&forged), &receipts),
            Err(ChainBreak::Unlinked { sequence: 32 })
        );
    }

    #[tokio::test]
    async fn a_consent_id_linked_to_one_person_is_never_relinked_to_another() {
        let fixture = Fixture::new();
        let state = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        let ada = SubjectKey::try_from("a".repeat(64)).unwrap();
        let mallory = SubjectKey::try_from("b".repeat(64)).unwrap();
        let ledger = fixture.ledger();
        assert_eq!(
            ledger.link_subject(state.consent_id, &ada).await.unwrap(),
            LinkOutcome::Linked
        );
        assert_eq!(
            ledger.link_subject(state.consent_id, &ada).await.unwrap(),
            LinkOutcome::AlreadyLinked
        );
        assert_eq!(
            ledger.link_subject(state.consent_id, &mallory).await.unwrap(),
            LinkOutcome::Refused
        );
        let link = fixture.store.get(&link_key(&state.consent_id)).await.unwrap().unwrap();
        assert_eq!(link.subject, Some(ada), "the first link stays");
        let receipt = fixture
            .store
            .get(&receipt_key(&state.consent_id, 1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(receipt.version, 1, "no receipt is rewritten by a link");
        assert_eq!(
            ledger.link_subject(ConsentId::generate(), &mallory).await.unwrap(),
            LinkOutcome::Unknown
        );
    }

    #[tokio::test]
    async fn the_receipts_are_read_page_by_page_each_once() {
        let fixture = Fixture::new();
        let first = fixture
            .ledger()
            .record(decision(true, true, None), &client(false))
            .await
            .unwrap();
        for _ in 1..7 {
            fixture
                .ledger()
                .record(decision(false, false, Some(first.consent_id)), &client(false))
                .await
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = fixture
                .ledger()
                .receipts_page(first.consent_id, 3, after)
                .await
                .unwrap();
            assert!(page.receipts.len() <= 3);
            seen.extend(page.receipts.iter().map(|r| r.sequence));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, (1..=7).collect::<Vec<_>>());
    }

    #[test]
    fn a_receipt_digest_covers_every_field() {
        let receipt = ConsentReceipt {
            receipt_id: Uuid::nil(),
            consent_id: ConsentId::parse("consent_id", "3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05").unwrap(),
            sequence: 1,
            action: ConsentAction::Given,
            recorded_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            policy_version: PolicyVersion::parse("policy_version", "1").unwrap(),
            language: None,
            notice_sha256: None,
            categories: Categories::chosen(false, false),
            source: ConsentSource::Banner,
            gpc: false,
            network: None,
            user_agent_family: "unknown".to_owned(),
            previous_receipt_sha256: None,
            receipt_sha256: String::new(),
        };
        let mut altered = receipt.clone();
        altered.categories.marketing = true;
        assert_ne!(receipt.digest(), altered.digest());
        let mut rehashed = receipt.clone();
        rehashed.receipt_sha256 = "anything".to_owned();
        assert_eq!(receipt.digest(), rehashed.digest(), "the digest excludes itself");
    }

    #[test]
    fn validates_consent_fields() {
        assert!(ConsentId::parse("consent_id", "3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05").is_ok());
        assert!(
            ConsentId::parse("consent_id", "3f8a7c2e-5b1d-1e9a-8c6f-2d4b7e1a9c05").is_err(),
            "v1 UUID"
        );
        for other_form in [
            "3f8a7c2e5b1d4e9a8c6f2d4b7e1a9c05",
            "{3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05}",
            "urn:uuid:3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05",
        ] {
            assert!(
                ConsentId::parse("consent_id", other_form).is_err(),
                "{other_form}: only the hyphenated form openapi.yaml states"
            );
        }
        assert_eq!(
            PolicyVersion::parse("policy_version", "").unwrap_err().code,
            "missing_field"
        );
        assert!(PolicyVersion::parse("policy_version", "v 1").is_err());
        assert!(LanguageTag::parse("language", "en-GB").is_ok());
        assert!(LanguageTag::parse("language", "english").is_err());
        assert!(NoticeDigest::parse("notice_sha256", &"A".repeat(64)).is_ok());
        assert!(NoticeDigest::parse("notice_sha256", "abc").is_err());
    }
}
