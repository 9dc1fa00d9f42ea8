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
//! [`crate::holds::keeping::restamp_person`]. The person's
//! [`HoldSummary`](crate::holds::keeping::HoldSummary) changes in the same
//! transaction as the hold, so new writes are stamped with it at once.
//!
//! Lifting a hold deletes it and, in the same transaction, writes a
//! [`LiftedHold`] (`HOLD#<id>` / `LIFTED`): who placed and who lifted it,
//! when and why. It names no person (no subject key), so it outlives an
//! erasure; it is kept as long as the team's records of requests
//! (`requests_closed`: 3 years).
//!
//! Context `holds`: may use `consent` (to find a person's consent records through their links), `register`, `store` and the kernel (README, "The domain crate's contexts").

pub mod keeping;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use jiff::civil::Date;

use crate::clock::Clock;
use crate::holds::keeping::{change_hold_summary, restamp_person, RestampReport, SummarisedHold};
use crate::register::{entity, CategoryId, Register};
use crate::store::{self, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;
use crate::FieldError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegalHold {
    pub hold_id: Uuid,
    pub category: CategoryId,
    pub until: Timestamp,
    /// Why the data must be kept (a legal reference, not personal data).
    pub reason: String,
    pub placed_at: Timestamp,
    /// Who placed it: the admin token's `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_by: Option<String>,
}

impl LegalHold {
    pub fn is_in_force(&self, now: Timestamp) -> bool {
        self.until > now
    }

    pub fn covers(&self, category: CategoryId, now: Timestamp) -> bool {
        self.category == category && self.is_in_force(now)
    }
}

/// What is kept of a hold once lifted: the team's accountability (GDPR
/// Art. 5(2)) for ending it, without the person it named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftedHold {
    pub hold_id: Uuid,
    pub category: CategoryId,
    /// The end the hold had when it was lifted.
    pub until: Timestamp,
    pub reason: String,
    pub placed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_by: Option<String>,
    pub lifted_at: Timestamp,
    /// Who lifted it: the admin token's `sub`.
    pub lifted_by: String,
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

fn lifted_key(hold_id: Uuid) -> RecordKey {
    RecordKey::new(format!("HOLD#{hold_id}"), "LIFTED")
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
        placed_by: &str,
    ) -> Result<(LegalHold, RestampReport), StoreError> {
        let hold = LegalHold {
            hold_id: Uuid::new_v4(),
            category,
            until,
            reason,
            placed_at: self.clock.now(),
            placed_by: Some(placed_by.to_owned()),
        };
        let mut record = Record::new(key(hold.hold_id), entity::LEGAL_HOLD);
        record.subject = Some(subject.clone());
        record.expires_at = Some(until);
        record.due = Some(until.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
        record.set_body(&hold);
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

    /// Lifts a hold, keeps a [`LiftedHold`] naming `lifted_by`, and gives
    /// the records it covered back the register's expiry (or what other
    /// holds in force still say). `None` when there is no such hold.
    pub async fn lift(&self, hold_id: Uuid, lifted_by: &str) -> Result<Option<RestampReport>, StoreError> {
        let Some(stored) = self.store.get(&key(hold_id)).await? else {
            return Ok(None);
        };
        let Some(subject) = stored.subject.clone() else {
            return Err(StoreError::Invalid("a legal hold without its person".to_owned()));
        };
        let hold: LegalHold = stored.body()?;
        let now = self.clock.now();
        let lifted = LiftedHold {
            hold_id,
            category: hold.category,
            until: hold.until,
            reason: hold.reason,
            placed_at: hold.placed_at,
            placed_by: hold.placed_by,
            lifted_at: now,
            lifted_by: lifted_by.to_owned(),
        };
        let mut record = Record::new(lifted_key(hold_id), entity::LEGAL_HOLD_LIFTED);
        record.expires_at = self.register.expiry(CategoryId::RequestsClosed, now);
        record.due = record
            .expires_at
            .map(|end| end.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
        record.set_body(&lifted);
        let writes = vec![
            Write::Delete {
                key: key(hold_id),
                precondition: Precondition::Version(stored.version),
            },
            Write::Put {
                record,
                precondition: Precondition::Absent,
            },
        ];
        match change_hold_summary(
            self.store,
            &subject,
            now,
            |summary| summary.holds.retain(|hold| hold.hold_id != hold_id),
            writes,
        )
        .await
        {
            Ok(()) => {}
            // Lifted meanwhile by someone else.
            Err(StoreError::Conflict) if self.store.get(&key(hold_id)).await?.is_none() => return Ok(None),
            Err(error) => return Err(error),
        }
        tracing::info!(%hold_id, lifted_by, "legal hold lifted");
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
        .filter(|record| record.entity == entity::LEGAL_HOLD && !record.is_expired(now))
        .filter_map(|record| record.body::<LegalHold>().ok())
        .filter(|hold| hold.is_in_force(now))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::FixedClock;
    use crate::holds::keeping::{HoldAwareStore, HoldSummary};
    use crate::store::memory::MemoryStore;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn subject(n: u8) -> SubjectKey {
        SubjectKey::try_from(format!("{n:02x}").repeat(32)).unwrap()
    }

    /// A consent receipt of `subject` recorded at `recorded_at`, stamped by the register.
    fn receipt(register: &Register, subject: &SubjectKey, n: u32, recorded_at: &str) -> Record {
        let mut record = Record::new(
            RecordKey::new(format!("CONSENT#{n}"), "RECEIPT#0000000001"),
            "consent_receipt",
        );
        record.subject = Some(subject.clone());
        record.attributes.insert("recorded_at".to_owned(), json!(recorded_at));
        register.stamp(&mut record, CategoryId::ConsentRecords, at(recorded_at));
        record
    }

    struct Fixture {
        store: HoldAwareStore<MemoryStore>,
        clock: Arc<FixedClock>,
        register: Register,
    }

    impl Fixture {
        fn new() -> Self {
            let clock = Arc::new(FixedClock::new(at("2026-06-01T12:00:00Z")));
            let register = Register::standard().unwrap();
            Self {
                store: HoldAwareStore::new(MemoryStore::new(), register.clone(), clock.clone()),
                clock,
                register,
            }
        }

        fn holds(&self) -> LegalHolds<'_> {
            LegalHolds {
                store: &self.store,
                clock: self.clock.as_ref(),
                register: &self.register,
            }
        }

        async fn stamp(&self, key: &RecordKey) -> (Option<Timestamp>, Option<Date>) {
            let record = self.store.get(key).await.unwrap().unwrap();
            (record.expires_at, record.due)
        }
    }

    #[tokio::test]
    async fn a_hold_raises_the_expiry_of_what_it_covers_and_lifting_it_gives_back_the_registers() {
        let fixture = Fixture::new();
        let ada = subject(1);
        let held = receipt(&fixture.register, &ada, 1, "2026-05-01T10:00:00Z");
        let other_person = receipt(&fixture.register, &subject(2), 2, "2026-05-01T10:00:00Z");
        let mut mail = Record::new(RecordKey::new("MAILLOG#1", "x"), "mail_log");
        mail.subject = Some(ada.clone());
        mail.attributes
            .insert("queued_at".to_owned(), json!("2026-05-01T10:00:00Z"));
        fixture
            .register
            .stamp(&mut mail, CategoryId::MailLog, at("2026-05-01T10:00:00Z"));
        for record in [held.clone(), other_person.clone(), mail.clone()] {
            store::put(&fixture.store, record, Precondition::Absent).await.unwrap();
        }
        let registers = (held.expires_at, held.due);
        assert_eq!(registers.0, Some(at("2029-05-01T10:00:00Z")));

        let (first, report) = fixture
            .holds()
            .place(
                &ada,
                CategoryId::ConsentRecords,
                at("2031-03-01T00:00:00Z"),
                "dispute".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        assert_eq!(report.restamped, 1);
        assert_eq!(
            fixture.stamp(&held.key).await,
            (Some(at("2031-03-01T00:00:00Z")), Some(jiff::civil::date(2031, 3, 1)))
        );
        assert_eq!(
            fixture.stamp(&other_person.key).await,
            (other_person.expires_at, other_person.due),
            "another person's records are not held"
        );
        assert_eq!(
            fixture.stamp(&mail.key).await,
            (mail.expires_at, mail.due),
            "nor records of another category"
        );

        // A second, shorter hold; lifting the longer one leaves the shorter in force.
        let (second, _) = fixture
            .holds()
            .place(
                &ada,
                CategoryId::ConsentRecords,
                at("2030-01-01T00:00:00Z"),
                "audit".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        assert_eq!(fixture.stamp(&held.key).await.0, Some(at("2031-03-01T00:00:00Z")));
        fixture.clock.set(at("2026-06-02T08:00:00Z"));
        assert!(fixture
            .holds()
            .lift(first.hold_id, "team-member-2")
            .await
            .unwrap()
            .is_some());
        let lifted = fixture.store.get(&lifted_key(first.hold_id)).await.unwrap().unwrap();
        assert_eq!(lifted.entity, entity::LEGAL_HOLD_LIFTED);
        assert_eq!(lifted.subject, None, "the record of a lifted hold names no person");
        assert_eq!(
            lifted.body::<LiftedHold>().unwrap(),
            LiftedHold {
                hold_id: first.hold_id,
                category: CategoryId::ConsentRecords,
                until: at("2031-03-01T00:00:00Z"),
                reason: "dispute".to_owned(),
                placed_at: at("2026-06-01T12:00:00Z"),
                placed_by: Some("team-member-1".to_owned()),
                lifted_at: at("2026-06-02T08:00:00Z"),
                lifted_by: "team-member-2".to_owned(),
            },
            "who placed and who lifted the hold, when and why"
        );
        assert_eq!(
            (lifted.expires_at, lifted.due),
            (Some(at("2029-06-02T08:00:00Z")), Some(jiff::civil::date(2029, 6, 2))),
            "kept as long as the team's records of requests"
        );
        assert_eq!(
            fixture.stamp(&held.key).await,
            (Some(at("2030-01-01T00:00:00Z")), Some(jiff::civil::date(2030, 1, 1))),
            "the hold still in force"
        );
        assert!(fixture
            .holds()
            .lift(second.hold_id, "team-member-2")
            .await
            .unwrap()
            .is_some());
        assert_eq!(fixture.stamp(&held.key).await, registers, "the register's again");
        assert!(fixture
            .holds()
            .lift(second.hold_id, "team-member-2")
            .await
            .unwrap()
            .is_none());
        assert!(
            fixture.store.get(&HoldSummary::key(&ada)).await.unwrap().is_none(),
            "no summary without holds"
        );
    }

    #[tokio::test]
    async fn a_new_write_for_a_held_person_and_category_is_stamped_with_the_hold() {
        let fixture = Fixture::new();
        let ada = subject(1);
        fixture
            .holds()
            .place(
                &ada,
                CategoryId::ConsentRecords,
                at("2031-03-01T00:00:00Z"),
                "dispute".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        let written = receipt(&fixture.register, &ada, 1, "2026-06-01T12:00:00Z");
        let unheld = receipt(&fixture.register, &subject(2), 2, "2026-06-01T12:00:00Z");
        for record in [written.clone(), unheld.clone()] {
            store::put(&fixture.store, record, Precondition::Absent).await.unwrap();
        }
        assert_eq!(fixture.stamp(&written.key).await.0, Some(at("2031-03-01T00:00:00Z")));
        assert_eq!(fixture.stamp(&unheld.key).await.0, unheld.expires_at);

        // Once the hold has ended, new writes follow the register alone.
        fixture.clock.set(at("2031-03-01T00:00:00Z"));
        let later = receipt(&fixture.register, &ada, 3, "2031-03-01T00:00:00Z");
        store::put(&fixture.store, later.clone(), Precondition::Absent)
            .await
            .unwrap();
        assert_eq!(fixture.stamp(&later.key).await.0, later.expires_at);
    }

    #[tokio::test]
    async fn a_restriction_removes_the_expiry_until_it_is_lifted() {
        let fixture = Fixture::new();
        let ada = subject(1);
        let held = receipt(&fixture.register, &ada, 1, "2026-05-01T10:00:00Z");
        store::put(&fixture.store, held.clone(), Precondition::Absent)
            .await
            .unwrap();
        let now = fixture.clock.now();
        change_hold_summary(
            &fixture.store,
            &ada,
            now,
            |summary| summary.restricted = true,
            Vec::new(),
        )
        .await
        .unwrap();
        restamp_person(&fixture.store, &fixture.register, &ada, now)
            .await
            .unwrap();
        assert_eq!(fixture.stamp(&held.key).await, (None, None), "TTL cannot delete it");
        let written = receipt(&fixture.register, &ada, 2, "2026-06-01T12:00:00Z");
        store::put(&fixture.store, written.clone(), Precondition::Absent)
            .await
            .unwrap();
        assert_eq!(
            fixture.stamp(&written.key).await,
            (None, None),
            "nor what is written meanwhile"
        );

        change_hold_summary(
            &fixture.store,
            &ada,
            now,
            |summary| summary.restricted = false,
            Vec::new(),
        )
        .await
        .unwrap();
        restamp_person(&fixture.store, &fixture.register, &ada, now)
            .await
            .unwrap();
        assert_eq!(fixture.stamp(&held.key).await, (held.expires_at, held.due));
        assert_eq!(fixture.stamp(&written.key).await, (written.expires_at, written.due));
    }

    #[tokio::test]
    async fn held_consent_records_are_still_read_after_the_registers_retention() {
        use crate::consent::{Categories, ClientContext, ConsentDecision, ConsentLedger, ConsentSource, PolicyVersion};
        let fixture = Fixture::new();
        let ada = subject(1);
        let ledger = ConsentLedger {
            store: &fixture.store,
            clock: fixture.clock.as_ref(),
            register: &fixture.register,
        };
        let decision = ConsentDecision {
            consent_id: None,
            policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
            categories: Categories {
                necessary: true,
                analytics: true,
                marketing: false,
            },
            source: ConsentSource::Banner,
            language: None,
            notice_sha256: None,
        };
        let state = ledger.record(decision, &ClientContext::default()).await.unwrap();
        ledger.link_subject(state.consent_id, &ada).await.unwrap();
        fixture
            .holds()
            .place(
                &ada,
                CategoryId::ConsentRecords,
                at("2031-03-01T00:00:00Z"),
                "dispute".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();

        // Three years and a day later the register alone would have them gone.
        fixture.clock.set(at("2029-06-02T12:00:00Z"));
        assert_eq!(
            ledger.current(state.consent_id).await.unwrap().consent_id,
            state.consent_id
        );
        assert_eq!(ledger.receipts(state.consent_id).await.unwrap().len(), 1);
    }

    #[test]
    fn an_invoicing_hold_runs_through_the_seventh_calendar_year_after_the_fiscal_year_ended() {
        let register = Register::standard().unwrap();
        for (fiscal_year_end, until) in [
            // Bokföringslagen 7:2: through the 7th year after the end of the calendar year
            // in which the fiscal year ended, i.e. until the first instant of the 8th, Stockholm time (CET).
            ("2027-06-30", "2034-12-31T23:00:00Z"),
            ("2027-12-31", "2034-12-31T23:00:00Z"),
            ("2028-01-01", "2035-12-31T23:00:00Z"),
            ("2028-02-29", "2035-12-31T23:00:00Z"),
        ] {
            assert_eq!(
                bookkeeping_hold_end(&register, fiscal_year_end.parse().unwrap()),
                Some(at(until)),
                "{fiscal_year_end}"
            );
        }
    }
}
