//! One storage conformance suite, run against the in-memory store and against
//! the DynamoDB adapter on the emulator: the two cannot drift apart.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::civil::date;
use jiff::Timestamp;
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::store::memory::MemoryStore;
use privacy_domain::store::{
    query_all, Cursor, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write,
};
use privacy_domain::subject::SubjectKey;
use serde_json::json;

fn subject(byte: char) -> SubjectKey {
    SubjectKey::try_from(byte.to_string().repeat(64)).unwrap()
}

fn record(partition: &str, sort: &str) -> Record {
    let mut record = Record::new(RecordKey::new(partition, sort), "test_entity");
    record.attributes.insert("note".to_owned(), json!("hello"));
    record
}

fn put(record: Record, precondition: Precondition) -> Write {
    Write::Put { record, precondition }
}

async fn put_all(store: &dyn RecordStore, records: impl IntoIterator<Item = Record>) {
    for record in records {
        store.write(vec![put(record, Precondition::None)]).await.unwrap();
    }
}

fn keys(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|record| format!("{}/{}", record.key.partition, record.key.sort))
        .collect()
}

mod cases {
    use super::*;

    pub async fn a_record_round_trips_with_every_field(store: &dyn RecordStore) {
        let mut stored = record("P#1", "S#1");
        stored.subject = Some(subject('a'));
        stored.due = Some(date(2027, 3, 1));
        stored.audience = Some("AUDIENCE#news#07".to_owned());
        stored.expires_at = Some(Timestamp::from_second(1_803_000_000).unwrap());
        stored.version = 7;
        stored.attributes.insert(
            "nested".to_owned(),
            json!({"list": [1, "two", null, true], "empty": "", "map": {"n": -3}}),
        );
        store
            .write(vec![put(stored.clone(), Precondition::Absent)])
            .await
            .unwrap();
        assert_eq!(store.get(&stored.key).await.unwrap(), Some(stored));
    }

    pub async fn a_missing_record_is_none(store: &dyn RecordStore) {
        assert_eq!(store.get(&RecordKey::new("P#none", "S")).await.unwrap(), None);
    }

    pub async fn absent_conflicts_with_an_existing_record(store: &dyn RecordStore) {
        store
            .write(vec![put(record("P#2", "S"), Precondition::Absent)])
            .await
            .unwrap();
        let mut second = record("P#2", "S");
        second.attributes.insert("note".to_owned(), json!("overwritten"));
        assert_eq!(
            store.write(vec![put(second, Precondition::Absent)]).await,
            Err(StoreError::Conflict)
        );
        let kept = store.get(&RecordKey::new("P#2", "S")).await.unwrap().unwrap();
        assert_eq!(kept.attributes["note"], json!("hello"));
    }

    pub async fn version_preconditions_admit_only_the_expected_version(store: &dyn RecordStore) {
        let mut first = record("P#3", "S");
        first.version = 1;
        store
            .write(vec![put(first.clone(), Precondition::Absent)])
            .await
            .unwrap();
        let mut second = first.clone();
        second.version = 2;
        store
            .write(vec![put(second.clone(), Precondition::Version(1))])
            .await
            .unwrap();
        let mut stale = first.clone();
        stale.version = 2;
        stale.attributes.insert("note".to_owned(), json!("stale"));
        assert_eq!(
            store.write(vec![put(stale, Precondition::Version(1))]).await,
            Err(StoreError::Conflict)
        );
        assert_eq!(store.get(&first.key).await.unwrap(), Some(second));
        assert_eq!(
            store
                .write(vec![put(record("P#3", "missing"), Precondition::Version(1))])
                .await,
            Err(StoreError::Conflict),
            "a version precondition fails on a missing record"
        );
    }

    pub async fn conditional_deletes(store: &dyn RecordStore) {
        let key = RecordKey::new("P#4", "S");
        assert_eq!(
            store
                .write(vec![Write::Delete {
                    key: key.clone(),
                    precondition: Precondition::Present
                }])
                .await,
            Err(StoreError::Conflict)
        );
        store
            .write(vec![put(record("P#4", "S"), Precondition::Absent)])
            .await
            .unwrap();
        assert_eq!(
            store
                .write(vec![Write::Delete {
                    key: key.clone(),
                    precondition: Precondition::Version(9)
                }])
                .await,
            Err(StoreError::Conflict)
        );
        store
            .write(vec![Write::Delete {
                key: key.clone(),
                precondition: Precondition::Version(1),
            }])
            .await
            .unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
    }

    pub async fn a_transaction_is_all_or_nothing(store: &dyn RecordStore) {
        store
            .write(vec![put(record("P#5", "taken"), Precondition::Absent)])
            .await
            .unwrap();
        let result = store
            .write(vec![
                put(record("P#5", "new"), Precondition::Absent),
                put(record("P#5", "taken"), Precondition::Absent),
            ])
            .await;
        assert_eq!(result, Err(StoreError::Conflict));
        assert_eq!(store.get(&RecordKey::new("P#5", "new")).await.unwrap(), None);
        store
            .write(vec![
                put(record("P#5", "new"), Precondition::Absent),
                Write::Delete {
                    key: RecordKey::new("P#5", "taken"),
                    precondition: Precondition::Present,
                },
            ])
            .await
            .unwrap();
        assert!(store.get(&RecordKey::new("P#5", "new")).await.unwrap().is_some());
        assert_eq!(store.get(&RecordKey::new("P#5", "taken")).await.unwrap(), None);
    }

    pub async fn partition_queries_keep_sort_order_and_honour_the_prefix(store: &dyn RecordStore) {
        put_all(
            store,
            [
                "RECEIPT#0000000003",
                "STATE",
                "RECEIPT#0000000001",
                "RECEIPT#0000000002",
            ]
            .map(|sort| record("P#6", sort)),
        )
        .await;
        put_all(store, [record("P#6-other", "RECEIPT#0000000001")]).await;
        let query = Query::Partition {
            partition: "P#6".to_owned(),
            sort_prefix: "RECEIPT#".to_owned(),
        };
        assert_eq!(
            keys(&query_all(store, &query).await.unwrap()),
            [
                "P#6/RECEIPT#0000000001",
                "P#6/RECEIPT#0000000002",
                "P#6/RECEIPT#0000000003"
            ]
        );
        let everything = Query::Partition {
            partition: "P#6".to_owned(),
            sort_prefix: String::new(),
        };
        assert_eq!(query_all(store, &everything).await.unwrap().len(), 4);
    }

    pub async fn pagination_goes_past_one_page(store: &dyn RecordStore) {
        put_all(store, (0..23).map(|n| record("P#7", &format!("S#{n:03}")))).await;
        let query = Query::Partition {
            partition: "P#7".to_owned(),
            sort_prefix: String::new(),
        };
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        let mut pages = 0;
        loop {
            let page = store.query(&query, 10, cursor).await.unwrap();
            assert!(page.records.len() <= 10);
            pages += 1;
            seen.extend(keys(&page.records));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let expected: Vec<String> = (0..23).map(|n| format!("P#7/S#{n:03}")).collect();
        assert_eq!(seen, expected);
        assert!(
            pages >= 3,
            "23 records in pages of 10 take at least 3 pages, took {pages}"
        );
    }

    pub async fn query_all_reads_beyond_the_default_page_size(store: &dyn RecordStore) {
        let who = subject('b');
        put_all(
            store,
            (0..130).map(|n| {
                let mut record = record(&format!("P#8-{n:03}"), "S");
                record.subject = Some(who.clone());
                record
            }),
        )
        .await;
        let found = query_all(store, &Query::Subject(who)).await.unwrap();
        let distinct: BTreeSet<String> = keys(&found).into_iter().collect();
        assert_eq!((found.len(), distinct.len()), (130, 130));
    }

    pub async fn the_subject_index_finds_a_person_everywhere_and_no_one_else(store: &dyn RecordStore) {
        let ada = subject('c');
        let grace = subject('d');
        let mut records = Vec::new();
        for (partition, who) in [("CONSENT#1", &ada), ("NEWSLETTER#x", &ada), ("DSR#9", &grace)] {
            let mut record = record(partition, "S");
            record.subject = Some(who.clone());
            records.push(record);
        }
        records.push(record("ANON#1", "S"));
        put_all(store, records).await;
        let found: BTreeSet<String> = keys(&query_all(store, &Query::Subject(ada.clone())).await.unwrap())
            .into_iter()
            .collect();
        assert_eq!(
            found,
            BTreeSet::from(["CONSENT#1/S".to_owned(), "NEWSLETTER#x/S".to_owned()])
        );

        // Rewriting a record without its subject takes it out of the index.
        store
            .write(vec![put(record("CONSENT#1", "S"), Precondition::Present)])
            .await
            .unwrap();
        assert_eq!(
            keys(&query_all(store, &Query::Subject(ada)).await.unwrap()),
            ["NEWSLETTER#x/S"]
        );
    }

    pub async fn the_due_index_is_sparse_and_by_day(store: &dyn RecordStore) {
        let mut records = Vec::new();
        for (sort, day) in [
            ("a", Some(date(2027, 1, 1))),
            ("b", Some(date(2027, 1, 1))),
            ("c", Some(date(2027, 1, 2))),
            ("d", None),
        ] {
            let mut record = record("P#10", sort);
            record.due = day;
            records.push(record);
        }
        put_all(store, records).await;
        let due: BTreeSet<String> = keys(&query_all(store, &Query::DueOn(date(2027, 1, 1))).await.unwrap())
            .into_iter()
            .collect();
        assert_eq!(due, BTreeSet::from(["P#10/a".to_owned(), "P#10/b".to_owned()]));
        assert_eq!(
            keys(&query_all(store, &Query::DueOn(date(2027, 1, 2))).await.unwrap()),
            ["P#10/c"]
        );
        assert!(query_all(store, &Query::DueOn(date(2027, 1, 3)))
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn the_audience_index_is_sparse_paginated_and_dropped_on_rewrite(store: &dyn RecordStore) {
        let mut records = Vec::new();
        for n in 0..7 {
            let mut record = record(&format!("NEWSLETTER#{n}"), "LIST#news");
            record.audience = Some(if n < 5 { "AUDIENCE#news#03" } else { "AUDIENCE#news#04" }.to_owned());
            records.push(record);
        }
        records.push(record("NEWSLETTER#9", "LIST#news"));
        put_all(store, records).await;
        let shard = Query::Audience("AUDIENCE#news#03".to_owned());
        let first = store.query(&shard, 3, None).await.unwrap();
        assert_eq!(first.records.len(), 3);
        assert_eq!(first.records[0].audience.as_deref(), Some("AUDIENCE#news#03"));
        let rest = store.query(&shard, 3, first.next).await.unwrap();
        assert_eq!(rest.records.len() + 3, 5);
        // Rewritten without the key (a subscription that ended), a record leaves the index.
        put_all(store, [record("NEWSLETTER#0", "LIST#news")]).await;
        assert_eq!(query_all(store, &shard).await.unwrap().len(), 4);
        assert_eq!(
            keys(
                &query_all(store, &Query::Audience("AUDIENCE#news#04".to_owned()))
                    .await
                    .unwrap()
            ),
            ["NEWSLETTER#5/LIST#news", "NEWSLETTER#6/LIST#news"]
        );
    }

    pub async fn delete_all_works_in_batches(store: &dyn RecordStore) {
        put_all(store, (0..60).map(|n| record("P#11", &format!("S#{n:03}")))).await;
        let doomed: Vec<RecordKey> = (0..57).map(|n| RecordKey::new("P#11", format!("S#{n:03}"))).collect();
        store.delete_all(&doomed).await.unwrap();
        let query = Query::Partition {
            partition: "P#11".to_owned(),
            sort_prefix: String::new(),
        };
        assert_eq!(
            keys(&query_all(store, &query).await.unwrap()),
            ["P#11/S#057", "P#11/S#058", "P#11/S#059"]
        );
        store.delete_all(&doomed).await.unwrap();
    }

    pub async fn reserved_attribute_names_are_refused(store: &dyn RecordStore) {
        let mut bad = record("P#12", "S");
        bad.attributes.insert("SubjectPK".to_owned(), json!("spoofed"));
        assert!(matches!(
            store.write(vec![put(bad, Precondition::None)]).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(store.get(&RecordKey::new("P#12", "S")).await.unwrap(), None);
    }

    fn add(partition: &str, sort: &str, counts: &[(&str, u64)]) -> Write {
        Write::Add {
            key: RecordKey::new(partition, sort),
            entity: "test_counter".to_owned(),
            counts: counts
                .iter()
                .map(|(name, count)| ((*name).to_owned(), *count))
                .collect(),
        }
    }

    pub async fn adds_create_then_increment_counters(store: &dyn RecordStore) {
        store
            .write(vec![add("P#14", "S", &[("accepted", 1), ("gpc", 0)])])
            .await
            .unwrap();
        store
            .write(vec![add("P#14", "S", &[("accepted", 2), ("refused", 1)])])
            .await
            .unwrap();
        let counter = store.get(&RecordKey::new("P#14", "S")).await.unwrap().unwrap();
        assert_eq!(counter.entity, "test_counter");
        assert_eq!(counter.version, 2, "each add increments the version");
        assert_eq!(
            serde_json::Value::Object(counter.attributes),
            json!({"accepted": 3, "gpc": 0, "refused": 1})
        );
        assert!(matches!(
            store.write(vec![add("P#14", "S", &[("PK", 1)])]).await,
            Err(StoreError::Invalid(_))
        ));
    }

    pub async fn an_add_in_a_transaction_is_all_or_nothing(store: &dyn RecordStore) {
        store
            .write(vec![put(record("P#15", "taken"), Precondition::Absent)])
            .await
            .unwrap();
        let refused = store
            .write(vec![
                put(record("P#15", "taken"), Precondition::Absent),
                add("P#15", "COUNTER", &[("n", 1)]),
            ])
            .await;
        assert_eq!(refused, Err(StoreError::Conflict));
        assert_eq!(store.get(&RecordKey::new("P#15", "COUNTER")).await.unwrap(), None);
        store
            .write(vec![
                put(record("P#15", "new"), Precondition::Absent),
                add("P#15", "COUNTER", &[("n", 1)]),
            ])
            .await
            .unwrap();
        let counter = store.get(&RecordKey::new("P#15", "COUNTER")).await.unwrap().unwrap();
        assert_eq!(counter.attributes["n"], json!(1));
        // An add to a record that exists is undone as well.
        let refused = store
            .write(vec![
                put(record("P#15", "new"), Precondition::Absent),
                add("P#15", "COUNTER", &[("n", 1)]),
            ])
            .await;
        assert_eq!(refused, Err(StoreError::Conflict));
        let counter = store.get(&RecordKey::new("P#15", "COUNTER")).await.unwrap().unwrap();
        assert_eq!(counter.attributes["n"], json!(1));
    }

    pub async fn sort_ranges_include_both_ends_and_nothing_else(store: &dyn RecordStore) {
        put_all(
            store,
            [
                "2026-04-30#v1",
                "2026-05-01#v1",
                "2026-05-01#v2",
                "2026-05-31#v1",
                "2026-06-01#v1",
            ]
            .map(|sort| record("P#16", sort)),
        )
        .await;
        put_all(store, [record("P#16-other", "2026-05-10#v1")]).await;
        let query = Query::SortRange {
            partition: "P#16".to_owned(),
            from: "2026-05-01#".to_owned(),
            to: "2026-05-31#~".to_owned(),
        };
        assert_eq!(
            keys(&query_all(store, &query).await.unwrap()),
            ["P#16/2026-05-01#v1", "P#16/2026-05-01#v2", "P#16/2026-05-31#v1"]
        );
    }

    pub async fn concurrent_adds_lose_no_count(store: Arc<dyn RecordStore>) {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store.write(vec![add("P#17", "S", &[("n", 1)])]).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let counter = store.get(&RecordKey::new("P#17", "S")).await.unwrap().unwrap();
        assert_eq!(counter.attributes["n"], json!(8));
    }

    pub async fn concurrent_creates_have_exactly_one_winner(store: Arc<dyn RecordStore>) {
        let mut tasks = Vec::new();
        for n in 0..8 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let mut contender = record("P#13", "S");
                contender.attributes.insert("winner".to_owned(), json!(n));
                store.write(vec![put(contender, Precondition::Absent)]).await
            }));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => winners += 1,
                Err(StoreError::Conflict) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners, 1);
    }
}

async fn dynamo_store() -> DynamoRecordStore {
    let client = privacy_tests::aws::dynamodb().await;
    let table = privacy_tests::aws::create_table(&client).await;
    DynamoRecordStore::new(client, table)
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&super::MemoryStore::new()).await;
                }
            )*
            #[tokio::test]
            async fn concurrent_creates_have_exactly_one_winner() {
                super::cases::concurrent_creates_have_exactly_one_winner(std::sync::Arc::new(super::MemoryStore::new())).await;
            }
            #[tokio::test]
            async fn concurrent_adds_lose_no_count() {
                super::cases::concurrent_adds_lose_no_count(std::sync::Arc::new(super::MemoryStore::new())).await;
            }
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&super::dynamo_store().await).await;
                }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_creates_have_exactly_one_winner() {
                super::cases::concurrent_creates_have_exactly_one_winner(std::sync::Arc::new(super::dynamo_store().await)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_adds_lose_no_count() {
                super::cases::concurrent_adds_lose_no_count(std::sync::Arc::new(super::dynamo_store().await)).await;
            }
        }
    };
}

conformance!(
    a_record_round_trips_with_every_field,
    a_missing_record_is_none,
    absent_conflicts_with_an_existing_record,
    version_preconditions_admit_only_the_expected_version,
    conditional_deletes,
    a_transaction_is_all_or_nothing,
    partition_queries_keep_sort_order_and_honour_the_prefix,
    pagination_goes_past_one_page,
    query_all_reads_beyond_the_default_page_size,
    the_subject_index_finds_a_person_everywhere_and_no_one_else,
    the_due_index_is_sparse_and_by_day,
    the_audience_index_is_sparse_paginated_and_dropped_on_rewrite,
    delete_all_works_in_batches,
    reserved_attribute_names_are_refused,
    adds_create_then_increment_counters,
    an_add_in_a_transaction_is_all_or_nothing,
    sort_ranges_include_both_ends_and_nothing_else,
);
