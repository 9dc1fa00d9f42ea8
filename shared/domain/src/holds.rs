//! Legal holds: what erasure and the retention sweep must keep, for how long
//! and why (GDPR Art. 17(3)(b) and (e); the Swedish Bookkeeping Act).
//!
//! A hold names a person (subject key) and a register category; while it is
//! in force, that person's records of that category are neither erased nor
//! swept. The hold record itself expires when the hold ends
//! (`HOLD#<id>` / `HOLD`, on the subject index).
//!
//! DynamoDB's TTL deletes by `expires_at` whatever the sweep decides, so
//! placing a hold also raises the `expires_at` (and due day) of every record
//! it covers to at least the hold's end, and lifting it gives them back the
//! register's (or what other holds still in force say): see
//! [`crate::retention::restamp_person`]. The person's
//! [`HoldSummary`](crate::retention::HoldSummary) changes in the same
//! transaction as the hold, so new writes are stamped with it at once.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use jiff::civil::Date;

use crate::clock::Clock;
use crate::register::{CategoryId, Register};
use crate::retention::{change_hold_summary, restamp_person, RestampReport, SummarisedHold};
use crate::store::{self, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;
use crate::FieldError;

pub const HOLD_ENTITY: &str = "legal_hold";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegalHold {
    pub hold_id: Uuid,
    pub category: CategoryId,
    pub until: Timestamp,
    /// Why the data must be kept (a legal reference, not personal data).
    pub reason: String,
    pub placed_at: Timestamp,
}

impl LegalHold {
    pub fn is_in_force(&self, now: Timestamp) -> bool {
        self.until > now
    }

    pub fn covers(&self, category: CategoryId, now: Timestamp) -> bool {
        self.category == category && self.is_in_force(now)
    }
}

/// A hold's reason: 1 to 500 characters without control characters.
pub fn parse_reason(field: &str, raw: &str) -> Result<String, FieldError> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(FieldError::missing(field));
    }
    if reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::invalid(
            field,
            "A reason is at most 500 characters of text.",
        ));
    }
    Ok(reason.to_owned())
}

/// The end of an invoicing hold for the fiscal year that ended on
/// `fiscal_year_end`: Bokföringslagen 7:2 keeps the records through the 7th
/// calendar year after the one in which the fiscal year ended, so the hold
/// ends at the first instant of the 8th year, in the controller's time zone
/// (the register's `invoicing` rule). A fiscal year ending 2027-06-30 is
/// kept through 2034-12-31.
pub fn bookkeeping_hold_end(register: &Register, fiscal_year_end: Date) -> Option<Timestamp> {
    let closed = fiscal_year_end
        .to_zoned_datetime(register.time_zone().clone())
        .ok()?
        .timestamp();
    register.expiry(CategoryId::Invoicing, closed)
}

fn key(hold_id: Uuid) -> RecordKey {
    RecordKey::new(format!("HOLD#{hold_id}"), "HOLD")
}

pub struct LegalHolds<'a> {
    pub store: &'a dyn RecordStore,
    pub clock: &'a dyn Clock,
    pub register: &'a Register,
}

impl LegalHolds<'_> {
    pub async fn place(
        &self,
        subject: &SubjectKey,
        category: CategoryId,
        until: Timestamp,
        reason: String,
    ) -> Result<(LegalHold, RestampReport), StoreError> {
        let hold = LegalHold {
            hold_id: Uuid::new_v4(),
            category,
            until,
            reason,
            placed_at: self.clock.now(),
        };
        let mut record = Record::new(key(hold.hold_id), HOLD_ENTITY);
        record.subject = Some(subject.clone());
        record.expires_at = Some(until);
        record.due = Some(until.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
        record.attributes = match serde_json::to_value(&hold) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        let summarised = SummarisedHold {
            hold_id: hold.hold_id,
            category,
            until,
        };
        let write = Write::Put {
            record,
            precondition: Precondition::Absent,
        };
        let now = hold.placed_at;
        change_hold_summary(
            self.store,
            subject,
            now,
            |summary| summary.holds.push(summarised.clone()),
            vec![write],
        )
        .await?;
        tracing::info!(hold_id = %hold.hold_id, subject = subject.short(), ?category, "legal hold placed");
        let report = restamp_person(self.store, self.register, subject, now).await?;
        Ok((hold, report))
    }

    /// Lifts a hold and gives the records it covered back the register's
    /// expiry (or what other holds in force still say). `None` when there is
    /// no such hold.
    pub async fn lift(&self, hold_id: Uuid) -> Result<Option<RestampReport>, StoreError> {
        let Some(stored) = self.store.get(&key(hold_id)).await? else {
            return Ok(None);
        };
        let Some(subject) = stored.subject.clone() else {
            return Err(StoreError::Invalid("a legal hold without its person".to_owned()));
        };
        let write = Write::Delete {
            key: key(hold_id),
            precondition: Precondition::Version(stored.version),
        };
        let now = self.clock.now();
        match change_hold_summary(
            self.store,
            &subject,
            now,
            |summary| summary.holds.retain(|hold| hold.hold_id != hold_id),
            vec![write],
        )
        .await
        {
            Ok(()) => {}
            // Lifted meanwhile by someone else.
            Err(StoreError::Conflict) if self.store.get(&key(hold_id)).await?.is_none() => return Ok(None),
            Err(error) => return Err(error),
        }
        tracing::info!(%hold_id, "legal hold lifted");
        Ok(Some(restamp_person(self.store, self.register, &subject, now).await?))
    }

    /// The holds in force on a person.
    pub async fn in_force(&self, subject: &SubjectKey) -> Result<Vec<LegalHold>, StoreError> {
        let now = self.clock.now();
        Ok(holds_among(
            &store::query_all(self.store, &Query::Subject(subject.clone())).await?,
            now,
        ))
    }
}

/// The holds in force among a person's records (from one subject-index query).
pub fn holds_among(records: &[Record], now: Timestamp) -> Vec<LegalHold> {
    records
        .iter()
        .filter(|record| record.entity == HOLD_ENTITY && !record.is_expired(now))
        .filter_map(|record| serde_json::from_value::<LegalHold>(Value::Object(record.attributes.clone())).ok())
        .filter(|hold| hold.is_in_force(now))
        .collect()
}
