//! Legal holds: what erasure and the retention sweep must keep, for how long
//! and why (GDPR Art. 17(3)(b) and (e); the Swedish Bookkeeping Act).
//!
//! A hold names a person (subject key) and a register category; while it is
//! in force, that person's records of that category are neither erased nor
//! swept. The hold record itself expires when the hold ends
//! (`HOLD#<id>` / `HOLD`, on the subject index).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::clock::Clock;
use crate::register::CategoryId;
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

fn key(hold_id: Uuid) -> RecordKey {
    RecordKey::new(format!("HOLD#{hold_id}"), "HOLD")
}

pub struct LegalHolds<'a> {
    pub store: &'a dyn RecordStore,
    pub clock: &'a dyn Clock,
}

impl LegalHolds<'_> {
    pub async fn place(
        &self,
        subject: &SubjectKey,
        category: CategoryId,
        until: Timestamp,
        reason: String,
    ) -> Result<LegalHold, StoreError> {
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
        store::put(self.store, record, Precondition::Absent).await?;
        tracing::info!(hold_id = %hold.hold_id, subject = subject.short(), ?category, "legal hold placed");
        Ok(hold)
    }

    /// Lifts a hold. `false` when there is no such hold.
    pub async fn lift(&self, hold_id: Uuid) -> Result<bool, StoreError> {
        let write = Write::Delete {
            key: key(hold_id),
            precondition: Precondition::Present,
        };
        match self.store.write(vec![write]).await {
            Ok(()) => {
                tracing::info!(%hold_id, "legal hold lifted");
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error),
        }
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
