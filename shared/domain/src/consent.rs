//! Cookie consent: decisions, their receipts, and the ledger that records them.
//!
//! Every decision appends a [`ConsentReceipt`] (modelled on the Kantara
//! Consent Receipt and ISO/IEC 27560) under the visitor's [`ConsentId`], and
//! replaces the latest [`ConsentState`], in one transaction. Each receipt
//! holds the SHA-256 of the one before it, so a removed or altered receipt is
//! detectable ([`verify_chain`]).

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Clock;
use crate::network::{truncated_network, user_agent_family};
use crate::register::{CategoryId, Register};
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

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Uuid::try_parse(raw)
            .ok()
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

/// Where a chain of receipts fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("receipt {sequence} was altered: its digest does not match its content")]
    Altered { sequence: u64 },
    #[error("receipt {sequence} is missing")]
    Missing { sequence: u64 },
    #[error("receipt {sequence} does not link to the receipt before it")]
    Unlinked { sequence: u64 },
    #[error("the latest state does not point at the last receipt")]
    Tail,
}

/// Checks a consent id's receipts, oldest first, against each other and its state.
///
/// Receipts older than the register's retention are deleted, so the chain is
/// checked from the oldest receipt still held; from there on, any altered,
/// removed or reordered receipt is found.
pub fn verify_chain(state: &ConsentState, receipts: &[ConsentReceipt]) -> Result<(), ChainBreak> {
    let mut previous: Option<&ConsentReceipt> = None;
    for receipt in receipts {
        if receipt.digest() != receipt.receipt_sha256 {
            return Err(ChainBreak::Altered {
                sequence: receipt.sequence,
            });
        }
        match previous {
            None if receipt.sequence == 1 && receipt.previous_receipt_sha256.is_some() => {
                return Err(ChainBreak::Unlinked { sequence: 1 });
            }
            None => {}
            Some(before) => {
                if receipt.sequence != before.sequence + 1 {
                    return Err(ChainBreak::Missing {
                        sequence: before.sequence + 1,
                    });
                }
                if receipt.previous_receipt_sha256.as_deref() != Some(before.receipt_sha256.as_str()) {
                    return Err(ChainBreak::Unlinked {
                        sequence: receipt.sequence,
                    });
                }
            }
        }
        previous = Some(receipt);
    }
    match previous {
        Some(last) if last.sequence == state.sequence && last.receipt_sha256 == state.last_receipt_sha256 => Ok(()),
        Some(last) if last.sequence < state.sequence => Err(ChainBreak::Missing {
            sequence: last.sequence + 1,
        }),
        _ => Err(ChainBreak::Tail),
    }
}

const STATE_ENTITY: &str = "consent_state";
const RECEIPT_ENTITY: &str = "consent_receipt";
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

fn to_attributes<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => fields,
        _ => unreachable!("consent records serialise to JSON objects"),
    }
}

fn from_record<T: for<'de> Deserialize<'de>>(record: Record) -> Result<T, ConsentError> {
    serde_json::from_value(Value::Object(record.attributes))
        .map_err(|error| ConsentError::Corrupt(crate::store::decode_failure(&error)))
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
            Some(record) if !record.is_expired(now) => from_record(record),
            _ => Err(ConsentError::NotFound),
        }
    }

    /// Every live receipt, oldest first.
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
            .map(from_record)
            .collect()
    }

    /// Links a visitor's consent history to the person who later gave an
    /// address with this consent id, so that access and erasure include it.
    /// Unknown (or expired) consent ids are ignored. Receipts keep their
    /// content, so the hash chain still holds.
    pub async fn link_subject(&self, consent_id: ConsentId, subject: &SubjectKey) -> Result<(), ConsentError> {
        let query = Query::Partition {
            partition: partition(&consent_id),
            sort_prefix: String::new(),
        };
        'attempt: for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let records = store::query_all(self.store, &query).await?;
            if !records
                .iter()
                .any(|record| record.key.sort == "STATE" && !record.is_expired(now))
            {
                return Ok(());
            }
            let writes: Vec<Write> = records
                .into_iter()
                .filter(|record| record.subject.as_ref() != Some(subject))
                .map(|mut record| {
                    let precondition = Precondition::Version(record.version);
                    record.subject = Some(subject.clone());
                    Write::Put { record, precondition }
                })
                .collect();
            for batch in writes.chunks(25) {
                match self.store.write(batch.to_vec()).await {
                    Ok(()) => {}
                    // A decision was recorded meanwhile: read again and link what is left.
                    Err(StoreError::Conflict) => continue 'attempt,
                    Err(error) => return Err(error.into()),
                }
            }
            return Ok(());
        }
        Err(ConsentError::Contended)
    }

    async fn append(
        &self,
        event: Event,
        client: &ClientContext,
        must_exist: bool,
    ) -> Result<ConsentState, ConsentError> {
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let stored = self.store.get(&state_key(&event.consent_id)).await?;
            let (precondition, before) = match &stored {
                Some(record) => (
                    Precondition::Version(record.version),
                    Some((
                        record.version,
                        record.subject.clone(),
                        from_record::<ConsentState>(record.clone())?,
                    ))
                    .filter(|_| !record.is_expired(now)),
                ),
                None => (Precondition::Absent, None),
            };
            if must_exist && before.is_none() {
                return Err(ConsentError::NotFound);
            }
            // Sequence numbers continue past an expired state so no receipt key is reused.
            let sequence = stored.as_ref().map_or(0, |record| record.version) + 1;
            let subject = before.as_ref().and_then(|(_, subject, _)| subject.clone());
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
            };
            let writes = vec![
                Write::Put {
                    record: self.stored(
                        receipt_key(&event.consent_id, sequence),
                        RECEIPT_ENTITY,
                        &receipt,
                        &subject,
                        now,
                        1,
                    ),
                    precondition: Precondition::Absent,
                },
                Write::Put {
                    record: self.stored(
                        state_key(&event.consent_id),
                        STATE_ENTITY,
                        &state,
                        &subject,
                        now,
                        sequence,
                    ),
                    precondition,
                },
            ];
            match self.store.write(writes).await {
                Ok(()) => return Ok(state),
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ConsentError::Contended)
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
        record.attributes = to_attributes(value);
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
    use crate::clock::FixedClock;
    use crate::memory::MemoryStore;

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

    struct Fixture {
        store: MemoryStore,
        clock: FixedClock,
        register: Register,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                store: MemoryStore::new(),
                clock: FixedClock::new("2026-05-01T08:00:00Z".parse().unwrap()),
                register: Register::standard().unwrap(),
            }
        }

        fn ledger(&self) -> ConsentLedger<'_> {
            ConsentLedger {
                store: &self.store,
                clock: &self.clock,
                register: &self.register,
            }
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
        assert_eq!(verify_chain(&state, &receipts), Ok(()));
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
        assert_eq!(verify_chain(&withdrawn, &receipts), Ok(()));
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
        assert_eq!(verify_chain(&state, &receipts), Ok(()));
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
        assert_eq!(verify_chain(&renewed, &receipts), Ok(()));
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
