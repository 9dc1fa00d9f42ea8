//! The consent report (SPEC 10): per day, policy version and category, the
//! choices made, the opt-in rate and the share sent with Global Privacy
//! Control, read from the counters the ledger keeps ([`crate::consent::tally`]).
//! Small cells are suppressed: no count under [`SMALL_CELL`] is shown, nor any
//! rate that would give one away.

use jiff::civil::Date;
use serde::Serialize;

use super::{DayRange, SMALL_CELL};
use crate::consent::tally::{choice_counter, read_tallies, DayTally, CATEGORIES, CHOICES, GPC};
use crate::store::{RecordStore, StoreError};

/// A count as the report shows it: the number, or `"<10"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Count(u64),
    Small,
}

impl Cell {
    pub fn of(count: u64) -> Self {
        if count < SMALL_CELL {
            Self::Small
        } else {
            Self::Count(count)
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(count) => serializer.serialize_u64(*count),
            Self::Small => serializer.serialize_str("<10"),
        }
    }
}

/// `part / whole`, rounded to four places, unless the part, the rest or the
/// whole is a small cell (a rate times a shown total would give it away).
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    let rest = whole.saturating_sub(part);
    if whole == 0 || part < SMALL_CELL || rest < SMALL_CELL {
        return None;
    }
    Some((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentReportRow {
    pub day: Date,
    pub policy_version: String,
    pub category: &'static str,
    /// Decisions recorded (each one chooses every category).
    pub choices: Cell,
    pub opted_in: Cell,
    pub opted_out: Cell,
    /// `opted_in / choices`; null when suppressed.
    pub opt_in_rate: Option<f64>,
    /// Decisions sent with `Sec-GPC: 1`.
    pub gpc: Cell,
    /// `gpc / choices`; null when suppressed.
    pub gpc_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentReport {
    pub from: Date,
    pub to: Date,
    pub rows: Vec<ConsentReportRow>,
}

/// The rows of one day and policy version.
pub fn rows_of(day: Date, policy_version: &str, tally: &DayTally) -> Vec<ConsentReportRow> {
    let choices = tally.get(CHOICES);
    let gpc = tally.get(GPC);
    CATEGORIES
        .iter()
        .map(|category| {
            let opted_in = tally.get(&choice_counter(category, true));
            let opted_out = tally.get(&choice_counter(category, false));
            ConsentReportRow {
                day,
                policy_version: policy_version.to_owned(),
                category,
                choices: Cell::of(choices),
                opted_in: Cell::of(opted_in),
                opted_out: Cell::of(opted_out),
                opt_in_rate: rate(opted_in, choices),
                gpc: Cell::of(gpc),
                gpc_share: rate(gpc, choices),
            }
        })
        .collect()
}

/// The report of the days in `range`, by day, policy version and category.
pub async fn consent_report(store: &dyn RecordStore, range: DayRange) -> Result<ConsentReport, StoreError> {
    let tallies = read_tallies(store, range.from, range.to).await?;
    let rows = tallies
        .iter()
        .flat_map(|((day, policy), tally)| rows_of(*day, policy, tally))
        .collect();
    Ok(ConsentReport {
        from: range.from,
        to: range.to,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use jiff::civil::date;
    use jiff::ToSpan;
    use serde_json::json;

    use super::*;
    use crate::consent::tally::TALLY_SHARDS;
    use crate::consent::{Categories, ClientContext, ConsentDecision, ConsentSource, PolicyVersion};
    use crate::store::memory::{Calls, CountingStore, MemoryStore};
    use crate::store::{Cursor, Page, Query, Record, RecordKey, Write};
    use crate::testing::World;

    fn tally(counts: &[(&str, u64)]) -> DayTally {
        DayTally {
            counts: counts
                .iter()
                .map(|(name, count)| ((*name).to_owned(), *count))
                .collect(),
        }
    }

    #[test]
    fn small_cells_are_suppressed_at_nine_and_shown_at_ten() {
        let day = date(2026, 5, 1);
        let counts = tally(&[
            ("choices", 20),
            ("analytics_accepted", 10),
            ("analytics_refused", 10),
            ("marketing_accepted", 9),
            ("marketing_refused", 11),
            ("gpc", 9),
        ]);
        let rows = rows_of(day, "2026-01", &counts);
        let shown: Vec<_> = rows.iter().map(|row| serde_json::to_value(row).unwrap()).collect();
        assert_eq!(
            shown[0],
            json!({"day": "2026-05-01", "policy_version": "2026-01", "category": "analytics", "choices": 20,
                   "opted_in": 10, "opted_out": 10, "opt_in_rate": 0.5, "gpc": "<10", "gpc_share": null})
        );
        assert_eq!(
            shown[1],
            json!({"day": "2026-05-01", "policy_version": "2026-01", "category": "marketing", "choices": 20,
                   "opted_in": "<10", "opted_out": 11, "opt_in_rate": null, "gpc": "<10", "gpc_share": null})
        );
        // A rate is suppressed when its complement is small too (1 − rate would give it away).
        assert_eq!(rate(11, 20), None);
        assert_eq!(rate(10, 20), Some(0.5));
        assert_eq!(rate(10, 30), Some(0.3333));
        assert_eq!(rate(0, 0), None);
        assert_eq!(Cell::of(0), Cell::Small);
    }

    #[tokio::test]
    async fn recorded_decisions_are_counted_by_day_policy_and_category() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        let decision = |analytics: bool, marketing: bool| ConsentDecision {
            consent_id: None,
            policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
            categories: Categories::chosen(analytics, marketing),
            source: ConsentSource::Banner,
            language: None,
            notice_sha256: None,
        };
        let gpc = ClientContext {
            global_privacy_control: true,
            ..ClientContext::default()
        };
        // 12 accept everything, 10 refuse everything, 10 accept everything with GPC
        // (which records marketing refused).
        for _ in 0..12 {
            ledger
                .record(decision(true, true), &ClientContext::default())
                .await
                .unwrap();
        }
        for _ in 0..10 {
            ledger
                .record(decision(false, false), &ClientContext::default())
                .await
                .unwrap();
        }
        for _ in 0..10 {
            ledger.record(decision(true, true), &gpc).await.unwrap();
        }
        let day = date(2026, 5, 1);
        let report = consent_report(&world.store, DayRange { from: day, to: day })
            .await
            .unwrap();
        let by_category: BTreeMap<&str, &ConsentReportRow> =
            report.rows.iter().map(|row| (row.category, row)).collect();
        let analytics = by_category["analytics"];
        assert_eq!(
            (analytics.choices, analytics.opted_in, analytics.opted_out),
            (Cell::Count(32), Cell::Count(22), Cell::Count(10))
        );
        assert_eq!(analytics.opt_in_rate, Some(0.6875));
        assert_eq!((analytics.gpc, analytics.gpc_share), (Cell::Count(10), Some(0.3125)));
        let marketing = by_category["marketing"];
        assert_eq!(
            (marketing.opted_in, marketing.opted_out, marketing.opt_in_rate),
            (Cell::Count(12), Cell::Count(20), Some(0.375))
        );
        // The day before and after hold nothing.
        let before = consent_report(
            &world.store,
            DayRange {
                from: date(2026, 4, 1),
                to: date(2026, 4, 30),
            },
        )
        .await
        .unwrap();
        assert!(before.rows.is_empty());
    }

    /// Counts the records the queries return.
    struct ReadCounter {
        inner: CountingStore<MemoryStore>,
        records: AtomicUsize,
    }

    #[async_trait]
    impl RecordStore for ReadCounter {
        async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
            self.inner.get(key).await
        }
        async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            self.inner.write(writes).await
        }
        async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
            let page = self.inner.query(query, limit, cursor).await?;
            self.records.fetch_add(page.records.len(), Ordering::SeqCst);
            Ok(page)
        }
        async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
            self.inner.delete_all(keys).await
        }
    }

    #[tokio::test]
    async fn a_twelve_month_report_reads_one_counter_per_shard_and_day() {
        let calls = Calls::default();
        let store = ReadCounter {
            inner: CountingStore::new(MemoryStore::new(), calls.clone()),
            records: AtomicUsize::new(0),
        };
        let first = date(2025, 6, 1);
        let last = date(2026, 5, 31);
        // Every shard counted something every day of the year, and of the days around it.
        let mut day = first.checked_sub(3.days()).unwrap();
        while day <= last.checked_add(3.days()).unwrap() {
            for shard in 0..TALLY_SHARDS {
                store
                    .write(vec![Write::Add {
                        key: RecordKey::new(format!("CONSENT_TALLY#{shard}"), format!("{day}#2026-01")),
                        entity: crate::register::entity::CONSENT_TALLY.to_owned(),
                        counts: BTreeMap::from([("choices".to_owned(), 2), ("analytics_accepted".to_owned(), 1)]),
                    }])
                    .await
                    .unwrap();
            }
            day = day.tomorrow().unwrap();
        }
        calls.take();
        store.records.store(0, Ordering::SeqCst);
        let report = consent_report(&store, DayRange { from: first, to: last })
            .await
            .unwrap();
        let days = (last - first).get_days() as usize + 1;
        assert_eq!(days, 365);
        assert_eq!(report.rows.len(), days * 2, "two categories a day");
        assert_eq!(
            calls.take(),
            vec!["query"; TALLY_SHARDS as usize],
            "one Query per shard"
        );
        assert_eq!(
            store.records.load(Ordering::SeqCst),
            days * TALLY_SHARDS as usize,
            "one counter per shard and day, nothing outside the range"
        );
        assert_eq!(report.rows[0].choices, Cell::Count(16));
    }
}
