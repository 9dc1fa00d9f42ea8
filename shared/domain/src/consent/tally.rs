//! The consent report's counters: every recorded decision adds to one
//! counter record per day (on the controller's calendar) and policy version,
//! in the same transaction as its receipt, so the report reads counters and
//! never a receipt.
//!
//! Counter records hold counts only: no consent id, no network, no time
//! finer than the day. They are spread over [`TALLY_SHARDS`] partitions
//! (`CONSENT_TALLY#<shard>`, sort key `<day>#<policy version>`), the shard
//! taken from the receipt's random id: DynamoDB keeps one item to about
//! 1,000 write units a second, and a transaction spends two per item, so one
//! counter per day would cap the whole site at some 500 decisions a second.
//! Eight shards lift that to some 4,000 a second (far above a banner's peak)
//! while a report reads eight items a day: one range Query per shard.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde_json::Value;

use super::ConsentReceipt;
use crate::register::entity;
use crate::register::Register;
use crate::store::{self, Query, Record, RecordKey, RecordStore, StoreError, Write};

/// How many partitions the counters of one day are spread over.
pub const TALLY_SHARDS: u32 = 8;

/// Set on a receipt record (beside, not inside, the receipt's own fields, so
/// its digest is untouched) once its decision is counted: the backfill
/// counts only receipts without it.
pub const COUNTED_ATTRIBUTE: &str = "counted_in_report";

/// The counter names of one counter record.
pub const CHOICES: &str = "choices";
pub const GPC: &str = "gpc";

/// The choosable categories the report covers.
pub const CATEGORIES: [&str; 2] = ["analytics", "marketing"];

fn tally_partition(shard: u32) -> String {
    format!("CONSENT_TALLY#{shard}")
}

/// The counter name of a category's accepted or refused choices.
pub fn choice_counter(category: &str, accepted: bool) -> String {
    format!("{category}_{}", if accepted { "accepted" } else { "refused" })
}

/// The day a receipt counts on: its recording time on the controller's calendar.
pub fn day_of(receipt: &ConsentReceipt, register: &Register) -> Date {
    receipt
        .recorded_at
        .to_zoned_datetime(register.time_zone().clone())
        .date()
}

/// The atomic add that counts one receipt's decision.
pub fn count(receipt: &ConsentReceipt, register: &Register) -> Write {
    let shard = (receipt.receipt_id.as_u128() % u128::from(TALLY_SHARDS)) as u32;
    let day = day_of(receipt, register);
    let mut counts = BTreeMap::from([(CHOICES.to_owned(), 1), (GPC.to_owned(), u64::from(receipt.gpc))]);
    for (category, accepted) in [
        ("analytics", receipt.categories.analytics),
        ("marketing", receipt.categories.marketing),
    ] {
        counts.insert(choice_counter(category, accepted), 1);
    }
    Write::Add {
        key: RecordKey::new(
            tally_partition(shard),
            format!("{day}#{}", receipt.policy_version.as_str()),
        ),
        entity: entity::CONSENT_TALLY.to_owned(),
        counts,
    }
}

/// The counts of one day and policy version, summed over the shards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTally {
    pub counts: BTreeMap<String, u64>,
}

impl DayTally {
    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }
}

/// The counters of the days `from` through `to`, keyed by day and policy
/// version: one range Query per shard (paged by the store at 1,000 items),
/// each reading one item per day and policy version.
pub async fn read_tallies(
    store: &dyn RecordStore,
    from: Date,
    to: Date,
) -> Result<BTreeMap<(Date, String), DayTally>, StoreError> {
    let mut tallies: BTreeMap<(Date, String), DayTally> = BTreeMap::new();
    for shard in 0..TALLY_SHARDS {
        let query = Query::SortRange {
            partition: tally_partition(shard),
            from: format!("{from}#"),
            // `~` sorts after every character a policy version may hold.
            to: format!("{to}#~"),
        };
        for record in store::query_all_in_pages_of(store, &query, store::BULK_PAGE_SIZE).await? {
            let Some((day, policy)) = record
                .key
                .sort
                .split_once('#')
                .and_then(|(day, policy)| Some((day.parse::<Date>().ok()?, policy.to_owned())))
            else {
                tracing::warn!("a consent counter with an unreadable key is left out of the report");
                continue;
            };
            let tally = tallies.entry((day, policy)).or_default();
            for (name, value) in &record.attributes {
                if let Some(count) = value.as_u64() {
                    *tally.counts.entry(name.clone()).or_default() += count;
                }
            }
        }
    }
    Ok(tallies)
}

/// Whether a receipt record was counted when it was written (or by an
/// earlier backfill).
pub fn is_counted(record: &Record) -> bool {
    record.entity == entity::CONSENT_RECEIPT && record.attributes.get(COUNTED_ATTRIBUTE) == Some(&Value::Bool(true))
}

/// What a backfill run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackfillReport {
    /// Due days read.
    pub days: u64,
    /// Receipts counted by this run.
    pub counted: u64,
    /// Receipts already counted (when written, or by an earlier run).
    pub already_counted: u64,
    /// Receipts another writer changed while this run counted them: left for the next run.
    pub contended: u64,
}

/// Counts the receipts recorded before the counters existed.
///
/// It finds them the way the retention sweep does, on the due index, day by
/// day from `from` through `through` (a receipt falls due when its
/// retention ends: 3 years after recording unless a hold keeps it longer),
/// so it never scans the table. Each uncounted receipt is counted in one
/// transaction that also marks it counted, conditional on the receipt's
/// version: a second run (or a concurrent one) finds the mark, or fails the
/// condition, and adds nothing. Receipts already folded into a checkpoint or
/// past their retention are gone and cannot be counted.
pub async fn backfill(
    store: &dyn RecordStore,
    register: &Register,
    from: Date,
    through: Date,
    now: jiff::Timestamp,
) -> Result<BackfillReport, StoreError> {
    let mut report = BackfillReport::default();
    let mut day = from;
    while day <= through {
        report.days += 1;
        for record in store::query_all(store, &Query::DueOn(day)).await? {
            if record.entity != entity::CONSENT_RECEIPT || record.is_expired(now) {
                continue;
            }
            if is_counted(&record) {
                report.already_counted += 1;
                continue;
            }
            let receipt: ConsentReceipt = record.body()?;
            let mut marked = record.clone();
            marked.version = record.version + 1;
            marked
                .attributes
                .insert(COUNTED_ATTRIBUTE.to_owned(), Value::Bool(true));
            let writes = vec![
                Write::Put {
                    record: marked,
                    precondition: store::Precondition::Version(record.version),
                },
                count(&receipt, register),
            ];
            match store.write(writes).await {
                Ok(()) => report.counted += 1,
                Err(StoreError::Conflict) => report.contended += 1,
                Err(error) => return Err(error),
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use jiff::ToSpan;

    use super::*;
    use crate::consent::{Categories, ClientContext, ConsentDecision, ConsentSource, PolicyVersion};
    use crate::store::Precondition;
    use crate::testing::World;

    #[tokio::test]
    async fn the_backfill_counts_old_receipts_once_however_often_it_runs() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        for analytics in [true, true, false] {
            let decision = ConsentDecision {
                consent_id: None,
                policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
                categories: Categories::chosen(analytics, false),
                source: ConsentSource::Banner,
                language: None,
                notice_sha256: None,
            };
            ledger.record(decision, &ClientContext::default()).await.unwrap();
        }
        // As if recorded before the counters existed: no counters, no marks.
        for record in world.store.snapshot() {
            if record.entity == entity::CONSENT_TALLY {
                world.store.delete_all(&[record.key]).await.unwrap();
            } else if record.entity == entity::CONSENT_RECEIPT {
                let mut old = record.clone();
                old.attributes.remove(COUNTED_ATTRIBUTE);
                store::put(&world.store, old, Precondition::None).await.unwrap();
            }
        }
        let day = date(2026, 5, 1);
        assert!(read_tallies(&world.store, day, day).await.unwrap().is_empty());
        let today = date(2026, 5, 1);
        let through = today.checked_add(3.years()).unwrap().checked_add(1.day()).unwrap();
        let first = backfill(&world.store, &world.register, today, through, world.now())
            .await
            .unwrap();
        assert_eq!((first.counted, first.already_counted), (3, 0));
        let second = backfill(&world.store, &world.register, today, through, world.now())
            .await
            .unwrap();
        assert_eq!((second.counted, second.already_counted), (0, 3));
        let tallies = read_tallies(&world.store, day, day).await.unwrap();
        let tally = &tallies[&(day, "2026-01".to_owned())];
        assert_eq!(
            (
                tally.get(CHOICES),
                tally.get("analytics_accepted"),
                tally.get("analytics_refused")
            ),
            (3, 2, 1)
        );
        // The receipts still verify: the mark is beside their fields, not in them.
        let id = world
            .store
            .snapshot()
            .into_iter()
            .find(|record| record.entity == entity::CONSENT_RECEIPT)
            .and_then(|record| record.body::<ConsentReceipt>().ok())
            .unwrap()
            .consent_id;
        assert!(ledger.proof(id).await.unwrap().verification.intact);
    }
}
