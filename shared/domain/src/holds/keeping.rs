//! The stamp a record carries: `expires_at` (DynamoDB's TTL attribute,
//! which deletes whatever the sweep decides) and its due day. The register
//! gives the stamp; a legal hold in force on the person for the record's
//! category raises it to the hold's end, and a restriction of processing
//! (GDPR Art. 18(1)(b)-(c)) removes it while the restriction lasts. What is in
//! force on a person is summed up in one record per person, the
//! [`HoldSummary`] (`HOLDS#<subject>` / `SUMMARY`), so that a new write reads
//! it with one GetItem ([`HoldAwareStore`]) and placing or lifting a hold or
//! a restriction re-stamps the person's records ([`restamp_person`]).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::register::{category_of, entity, CategoryId, Register, RetentionRule};
use crate::store::{self, Cursor, Page, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;

/// Verification and confirmation tokens: their expiry is how long a link
/// works, so neither a hold nor a restriction lengthens it.
const TOKEN_ENTITIES: &[&str] = &[
    entity::DSR_VERIFICATION_TOKEN,
    entity::DSR_NEW_ADDRESS_TOKEN,
    entity::NEWSLETTER_CONFIRMATION_TOKEN,
];
const ATTEMPTS: usize = 5;

/// One hold in a person's [`HoldSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummarisedHold {
    pub hold_id: Uuid,
    pub category: CategoryId,
    pub until: Timestamp,
}

/// What keeps a person's data past the register's retention: their legal
/// holds and whether their processing is restricted. One record per person,
/// written in the same transaction as the hold or restriction it sums up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HoldSummary {
    #[serde(default)]
    pub holds: Vec<SummarisedHold>,
    #[serde(default)]
    pub restricted: bool,
}

/// How long a record must be kept beyond what the register says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// As the register says.
    ByRegister,
    /// At least until the end of the latest hold in force on its category.
    Until(Timestamp),
    /// Not deleted at all while the person's processing is restricted.
    WhileRestricted,
}

impl HoldSummary {
    pub fn key(subject: &SubjectKey) -> RecordKey {
        RecordKey::new(format!("HOLDS#{}", subject.as_str()), "SUMMARY")
    }

    /// The person's summary and the stored version (`None`: no summary).
    pub async fn read(store: &dyn RecordStore, subject: &SubjectKey) -> Result<(Self, Option<u64>), StoreError> {
        match store.get(&Self::key(subject)).await? {
            Some(record) => Ok((record.body()?, Some(record.version))),
            None => Ok((Self::default(), None)),
        }
    }

    /// What keeps a record of `category` at `now`.
    pub fn keeps(&self, category: CategoryId, now: Timestamp) -> Keep {
        if self.restricted {
            return Keep::WhileRestricted;
        }
        self.holds
            .iter()
            .filter(|hold| hold.category == category && hold.until > now)
            .map(|hold| hold.until)
            .max()
            .map_or(Keep::ByRegister, Keep::Until)
    }

    fn is_empty(&self) -> bool {
        self.holds.is_empty() && !self.restricted
    }

    /// The summary as a record: it goes when the last hold ends (TTL), and
    /// is kept while a restriction lasts. It is keyed by the subject key but
    /// is not on the subject index: an erasure keeps the holds it sums up.
    fn to_record(&self, subject: &SubjectKey, version: u64) -> Record {
        let mut record = Record::new(Self::key(subject), entity::HOLD_SUMMARY);
        record.version = version;
        record.expires_at = if self.restricted {
            None
        } else {
            self.holds.iter().map(|hold| hold.until).max()
        };
        record.set_body(self);
        record
    }
}

/// Changes a person's summary together with `writes` (the hold or
/// restriction record it sums up), in one transaction, retried when the
/// summary changed meanwhile. Holds that have ended are dropped. `Conflict`
/// when a precondition of `writes` keeps failing.
pub async fn change_hold_summary(
    store: &dyn RecordStore,
    subject: &SubjectKey,
    now: Timestamp,
    change: impl Fn(&mut HoldSummary),
    writes: Vec<Write>,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let (mut summary, version) = HoldSummary::read(store, subject).await?;
        change(&mut summary);
        summary.holds.retain(|hold| hold.until > now);
        let mut all = writes.clone();
        all.push(match (summary.is_empty(), version) {
            (true, Some(version)) => Write::Delete {
                key: HoldSummary::key(subject),
                precondition: Precondition::Version(version),
            },
            (true, None) => Write::Delete {
                key: HoldSummary::key(subject),
                precondition: Precondition::Absent,
            },
            (false, Some(version)) => Write::Put {
                record: summary.to_record(subject, version + 1),
                precondition: Precondition::Version(version),
            },
            (false, None) => Write::Put {
                record: summary.to_record(subject, 1),
                precondition: Precondition::Absent,
            },
        });
        match store.write(all).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::Conflict)
}

/// When a record's retention ends by the register alone: `Some(None)` for no
/// end (yet), `None` when the record does not say (no category, or its
/// category's event time is not on it).
pub fn register_expiry(register: &Register, record: &Record) -> Option<Option<Timestamp>> {
    let category = category_of(record)?;
    match &register.category(category).retention {
        RetentionRule::Indefinite => Some(None),
        RetentionRule::ThroughYearsAfterYearEnd { .. } => None,
        RetentionRule::AfterEvent { event, .. } => {
            let event_at = record
                .attributes
                .get(&format!("{event}_at"))
                .and_then(Value::as_str)
                .and_then(|text| text.parse::<Timestamp>().ok())?;
            let mut stamped = record.clone();
            register.stamp(&mut stamped, category, event_at);
            Some(stamped.expires_at)
        }
    }
}

/// The record as it must be stamped: the register's expiry (or, where the
/// record does not say, the one it has), raised by a hold or removed by a
/// restriction, and the due day that follows (a pending minimisation first).
/// `None` when the stamp it has is right.
pub fn stamped(register: &Register, record: &Record, keep: Keep) -> Option<Record> {
    if record.entity == entity::LEGAL_HOLD || record.entity == entity::HOLD_SUMMARY {
        return None;
    }
    let keep = if TOKEN_ENTITIES.contains(&record.entity.as_str()) {
        Keep::ByRegister
    } else {
        keep
    };
    let base = match register_expiry(register, record) {
        Some(expiry) => expiry,
        // A record that does not say when its retention started keeps its
        // stamp, except that a hold or restriction may only lengthen it.
        None if keep == Keep::ByRegister => return None,
        None => record.expires_at,
    };
    let expires_at = match keep {
        Keep::ByRegister => base,
        Keep::Until(until) => base.map(|at| at.max(whole_second(until))),
        Keep::WhileRestricted => None,
    };
    let mut restamped = record.clone();
    restamped.expires_at = expires_at;
    restamped.due = match keep {
        Keep::WhileRestricted => None,
        _ => next_due_day(register, &restamped),
    };
    (restamped.expires_at != record.expires_at || restamped.due != record.due).then_some(restamped)
}

/// The day a record next needs the sweep: the sooner of a pending
/// minimisation and its expiry (UTC). `None`: never (it leaves the due index).
/// Writers of records whose category minimises should stamp `due` with this.
pub fn next_due_day(register: &Register, record: &Record) -> Option<Date> {
    [pending_minimisation(register, record), record.expires_at]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.to_zoned_datetime(TimeZone::UTC).date())
}

/// When the record must shed fields it still has, by its category's minimisation.
pub(crate) fn pending_minimisation(register: &Register, record: &Record) -> Option<Timestamp> {
    let category = category_of(record)?;
    let rule = register.category(category).minimise.as_ref()?;
    if !rule.remove.iter().any(|field| has_value(record, field)) {
        return None;
    }
    let event_at = record
        .attributes
        .get(&format!("{}_at", rule.event))
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<Timestamp>().ok())?;
    register.minimisation_due(category, event_at)
}

fn has_value(record: &Record, field: &str) -> bool {
    record.attributes.get(field).is_some_and(|value| !value.is_null())
}

fn whole_second(at: Timestamp) -> Timestamp {
    let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
    Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
}

/// What a re-stamp changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RestampReport {
    pub days: u32,
    pub read: u64,
    pub restamped: u64,
    /// Records changed meanwhile (their writer stamped them with the current register).
    pub skipped: u64,
}

/// Re-stamps `records` with the register and what keeps each (conditional
/// on the version: a record changed meanwhile was stamped by its writer).
async fn restamp_records(
    store: &dyn RecordStore,
    register: &Register,
    records: Vec<Record>,
    keep: impl Fn(&Record) -> Keep,
    now: Timestamp,
    report: &mut RestampReport,
) -> Result<(), StoreError> {
    // The sweep has walked the days before today: a due day in the past goes
    // to today, so that the sweep still sees the record (TTL needs no help).
    let today = now.to_zoned_datetime(TimeZone::UTC).date();
    for record in records {
        report.read += 1;
        let Some(mut restamped) = stamped(register, &record, keep(&record)) else {
            continue;
        };
        restamped.due = restamped.due.map(|due| due.max(today));
        if restamped.due == record.due && restamped.expires_at == record.expires_at {
            continue;
        }
        restamped.version += 1;
        let write = Write::Put {
            record: restamped,
            precondition: Precondition::Version(record.version),
        };
        match store.write(vec![write]).await {
            Ok(()) => report.restamped += 1,
            Err(StoreError::Conflict) => report.skipped += 1,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// After a hold or restriction was placed or lifted: re-stamps every record
/// of the person (one Query on the subject index) with the register and the
/// holds and restriction now in force, so that DynamoDB's TTL keeps what
/// must be kept and deletes the rest when the register says.
pub async fn restamp_person(
    store: &dyn RecordStore,
    register: &Register,
    subject: &SubjectKey,
    now: Timestamp,
) -> Result<RestampReport, StoreError> {
    let mut report = RestampReport::default();
    let (summary, _) = HoldSummary::read(store, subject).await?;
    let mut records = store::query_all(store, &Query::Subject(subject.clone())).await?;
    // Consent records from before the link are found through it.
    for consent_id in crate::consent::linked_consent_ids(&records) {
        let partition = store::query_all(store, &crate::consent::consent_partition(&consent_id)).await?;
        records.extend(partition.into_iter().filter(|record| record.subject.is_none()));
    }
    let keep = |record: &Record| category_of(record).map_or(Keep::ByRegister, |category| summary.keeps(category, now));
    restamp_records(store, register, records, keep, now, &mut report).await?;
    tracing::info!(
        subject = subject.short(),
        restamped = report.restamped,
        skipped = report.skipped,
        "records re-stamped"
    );
    Ok(report)
}

/// After a register change, re-computes `expires_at` and the due day of the
/// records of `category` that are due between `from` and `through`, from the
/// time of the event the rule names (`<event>_at` on the record), keeping
/// what holds and restrictions keep. New writes follow the register at once;
/// this brings existing records in line. It reads the due index day by day
/// (no Scan); a record without the event's time keeps its stamp.
///
/// Run it with `retention-sweep`'s `restamp` binary (see the README).
pub async fn restamp(
    store: &dyn RecordStore,
    register: &Register,
    category: CategoryId,
    from: Date,
    through: Date,
    now: Timestamp,
) -> Result<RestampReport, StoreError> {
    let mut report = RestampReport::default();
    let mut summaries: HashMap<SubjectKey, HoldSummary> = HashMap::new();
    let mut day = from;
    while day <= through {
        report.days += 1;
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = store.query(&Query::DueOn(day), 100, cursor).await?;
            let mut records = Vec::new();
            for record in page.records {
                if category_of(&record) != Some(category) {
                    report.read += 1;
                    continue;
                }
                if let Some(subject) = record
                    .subject
                    .as_ref()
                    .filter(|subject| !summaries.contains_key(*subject))
                {
                    let (summary, _) = HoldSummary::read(store, subject).await?;
                    summaries.insert(subject.clone(), summary);
                }
                records.push(record);
            }
            let keep = |record: &Record| {
                record
                    .subject
                    .as_ref()
                    .and_then(|subject| summaries.get(subject))
                    .map_or(Keep::ByRegister, |summary| summary.keeps(category, now))
            };
            restamp_records(store, register, records, keep, now, &mut report).await?;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        day = day.checked_add(1.day()).unwrap_or(Date::MAX);
        if day == Date::MAX {
            break;
        }
    }
    Ok(report)
}

/// The store every function writes through: a new or rewritten record of a
/// person is stamped with the holds and restriction in force on them, read
/// from their [`HoldSummary`] with one GetItem per person and write (only
/// for records that carry an expiry, so most writes of a person without
/// holds cost one small read and nothing else). Every writer stamps with
/// the register (`Register::stamp`) and this raises the stamp where a hold
/// or a restriction says so: no writer can forget it.
///
/// A hold placed between this read and the write is caught by the re-stamp
/// that placing it runs next, unless the write lands after that re-stamp's
/// Query: a window of one write's latency.
pub struct HoldAwareStore<S> {
    inner: S,
    register: Register,
    clock: Arc<dyn Clock>,
}

impl<S: RecordStore> HoldAwareStore<S> {
    pub fn new(inner: S, register: Register, clock: Arc<dyn Clock>) -> Self {
        Self { inner, register, clock }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: RecordStore> RecordStore for HoldAwareStore<S> {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<Record>>, StoreError> {
        self.inner.get_many(keys).await
    }

    async fn write(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        let now = self.clock.now();
        // Most people have no hold summary: the writes go out with a check
        // that the summary is absent instead of a read before them (one
        // call fewer). A check that fails (or the writer's own precondition)
        // takes the path that reads the summaries and stamps.
        let people = stamped_people(&writes);
        if people.is_empty() {
            return self.inner.write(writes).await;
        }
        let summary_keys: Vec<RecordKey> = people.iter().map(HoldSummary::key).collect();
        let writes_a_summary = writes.iter().any(|write| match write {
            Write::Put { record, .. } => summary_keys.contains(&record.key),
            Write::Delete { key, .. } | Write::Add { key, .. } | Write::Check { key, .. } => summary_keys.contains(key),
        });
        if !writes_a_summary && writes.len() + summary_keys.len() <= OPTIMISTIC_LIMIT {
            let mut optimistic = writes.clone();
            optimistic.extend(summary_keys.into_iter().map(|key| Write::Check {
                key,
                precondition: Precondition::Absent,
            }));
            match self.inner.write(optimistic).await {
                Err(StoreError::Conflict) => {}
                other => return other,
            }
        }
        let mut summaries: HashMap<SubjectKey, HoldSummary> = HashMap::new();
        for write in &mut writes {
            let Write::Put { record, .. } = write else {
                continue;
            };
            if record.entity == entity::LEGAL_HOLD {
                continue;
            }
            let (Some(subject), Some(category), Some(_)) = (&record.subject, category_of(record), record.expires_at)
            else {
                continue;
            };
            if !summaries.contains_key(subject) {
                let (summary, _) = HoldSummary::read(&self.inner, subject).await?;
                summaries.insert(subject.clone(), summary);
            }
            let keep = summaries
                .get(subject)
                .map_or(Keep::ByRegister, |summary| summary.keeps(category, now));
            if keep == Keep::ByRegister {
                continue;
            }
            if let Some(restamped) = stamped(&self.register, record, keep) {
                *record = restamped;
            }
        }
        self.inner.write(writes).await
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        self.inner.query(query, limit, cursor).await
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        self.inner.delete_all(keys).await
    }
}

/// The most writes the optimistic path sends in one transaction (DynamoDB's
/// limit is 100 items).
const OPTIMISTIC_LIMIT: usize = 100;

/// The people whose records in `writes` a hold could keep longer (the
/// records the careful path stamps), each once.
fn stamped_people(writes: &[Write]) -> Vec<SubjectKey> {
    let mut people: Vec<SubjectKey> = Vec::new();
    for write in writes {
        let Write::Put { record, .. } = write else {
            continue;
        };
        if record.entity == entity::LEGAL_HOLD {
            continue;
        }
        if let (Some(subject), Some(_), Some(_)) = (&record.subject, category_of(record), record.expires_at) {
            if !people.contains(subject) {
                people.push(subject.clone());
            }
        }
    }
    people
}

pub fn restriction_key(subject: &SubjectKey) -> RecordKey {
    RecordKey::new(format!("RESTRICTION#{}", subject.as_str()), "RESTRICTION")
}

/// Whether a person's processing is restricted (no mail but what their requests need).
pub async fn is_restricted(store: &dyn RecordStore, subject: &SubjectKey, now: Timestamp) -> Result<bool, StoreError> {
    Ok(store
        .get(&restriction_key(subject))
        .await?
        .is_some_and(|record| !record.is_expired(now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::RecordKey;
    use serde_json::json;

    #[tokio::test]
    async fn a_restamp_applies_a_changed_period_to_records_already_written() {
        let store = MemoryStore::new();
        let standard = Register::standard().unwrap();
        let recorded: Timestamp = "2026-05-01T10:00:00Z".parse().unwrap();
        let mut receipt = Record::new(RecordKey::new("CONSENT#x", "RECEIPT#0000000001"), "consent_receipt");
        receipt.attributes.insert("recorded_at".to_owned(), json!(recorded));
        standard.stamp(&mut receipt, CategoryId::ConsentRecords, recorded);
        let mut mail = Record::new(RecordKey::new("MAILLOG#y", "z"), "mail_log");
        mail.attributes.insert("queued_at".to_owned(), json!(recorded));
        standard.stamp(&mut mail, CategoryId::MailLog, recorded);
        for record in [receipt.clone(), mail.clone()] {
            crate::store::put(&store, record, Precondition::Absent).await.unwrap();
        }

        let mut document: serde_json::Value = serde_json::from_str(include_str!("../../register.json")).unwrap();
        for category in document["categories"].as_array_mut().unwrap() {
            if category["id"] == "consent_records" {
                category["retention"]["period"] = json!("P2Y");
            }
        }
        let shorter = Register::from_json(&document.to_string()).unwrap();
        let report = restamp(
            &store,
            &shorter,
            CategoryId::ConsentRecords,
            jiff::civil::date(2026, 11, 1),
            jiff::civil::date(2029, 12, 31),
            recorded,
        )
        .await
        .unwrap();
        assert_eq!((report.restamped, report.skipped), (1, 0));
        let receipt = store.get(&receipt.key).await.unwrap().unwrap();
        assert_eq!(receipt.expires_at, Some("2028-05-01T10:00:00Z".parse().unwrap()));
        assert_eq!(receipt.due, Some(jiff::civil::date(2028, 5, 1)));
        assert_eq!(
            store.get(&mail.key).await.unwrap().unwrap().expires_at,
            mail.expires_at,
            "other categories untouched"
        );
        let again = restamp(
            &store,
            &shorter,
            CategoryId::ConsentRecords,
            jiff::civil::date(2026, 11, 1),
            jiff::civil::date(2029, 12, 31),
            recorded,
        )
        .await
        .unwrap();
        assert_eq!(again.restamped, 0, "idempotent");
    }
}
