//! The retention sweep against the emulator: the built `retention-sweep`
//! function, fixtures written through the DynamoDB adapter or seeded in bulk
//! with `BatchWriteItem`, and what a run left behind.

use privacy_domain::register::entity;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use jiff::civil::Date;
use jiff::Timestamp;
use privacy_aws::attributes::{from_attribute_map, to_attribute_map};
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::register::{CategoryId, Register};
use privacy_domain::retention::{next_due_day, SweepCheckpoint, SWEEP_PARTITION};
use privacy_domain::store::{self, Precondition, Record, RecordKey, RecordStore};
use privacy_domain::subject::SubjectKey;
use serde_json::{json, Map, Value};

use crate::lambda_emulator::{workspace_binary, Invocation, LambdaProcess};
use crate::newsletter::{unique_address, Deployment};

/// How long a sweep invocation may take in the tests (the function stops 10 s before).
pub const SWEEP_TIMEOUT: Duration = Duration::from_secs(120);

/// A table, a verified sender and a privacy-team address of its own.
pub struct SweepDeployment {
    pub deployment: Deployment,
    pub team: String,
    pub client: aws_sdk_dynamodb::Client,
}

impl SweepDeployment {
    pub async fn new() -> Self {
        Self {
            deployment: Deployment::new().await,
            team: unique_address("privacy-team"),
            client: crate::aws::dynamodb().await,
        }
    }

    pub fn table(&self) -> &str {
        &self.deployment.table
    }

    pub fn store(&self) -> DynamoRecordStore {
        DynamoRecordStore::new(self.client.clone(), self.table())
    }

    /// Starts the built function; `allow_now_override` sets `ALLOW_NOW_OVERRIDE=true`.
    pub async fn start(&self, allow_now_override: bool) -> SweepProcess {
        let mut env = crate::aws::lambda_environment(self.table());
        env.push(("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned()));
        env.extend(
            self.deployment
                .environment()
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned())),
        );
        env.push(("PRIVACY_TEAM_ADDRESS".to_owned(), self.team.clone()));
        if allow_now_override {
            env.push(("ALLOW_NOW_OVERRIDE".to_owned(), "true".to_owned()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        SweepProcess {
            process: LambdaProcess::start(&workspace_binary("retention-sweep"), &pairs)
                .await
                .with_timeout(SWEEP_TIMEOUT),
        }
    }

    pub async fn put(&self, record: Record) {
        store::put(&self.store(), record, Precondition::Absent)
            .await
            .expect("write a fixture record");
    }

    pub async fn get(&self, key: &RecordKey) -> Option<Record> {
        self.store().get(key).await.expect("read a record")
    }

    pub async fn exists(&self, key: &RecordKey) -> bool {
        self.get(key).await.is_some()
    }

    /// Records the sweep as done through `swept_through` (a deployment's steady state).
    pub async fn set_checkpoint(&self, swept_through: Date) {
        let checkpoint = SweepCheckpoint::starting_after(swept_through, Timestamp::now());
        store::put(&self.store(), checkpoint.to_record(1), Precondition::None)
            .await
            .expect("write the checkpoint");
    }

    /// Writes records with `BatchWriteItem` (25 per call, several calls at
    /// once, unprocessed items retried), in the layout of the DynamoDB adapter.
    pub async fn seed(&self, records: &[Record]) {
        let chunks: Vec<Vec<WriteRequest>> = records
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|record| {
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(item(record)))
                                    .build()
                                    .expect("a put request"),
                            )
                            .build()
                    })
                    .collect()
            })
            .collect();
        let mut batches = chunks.into_iter();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            while tasks.len() < 4 {
                let Some(batch) = batches.next() else { break };
                let (client, table) = (self.client.clone(), self.table().to_owned());
                tasks.spawn(async move { write_batch(&client, &table, batch).await });
            }
            match tasks.join_next().await {
                Some(result) => result.expect("a seeding task"),
                None => break,
            }
        }
    }

    /// Every item of the table outside the sweep's own partition, as sorted
    /// JSON text (for "the same table" comparisons).
    pub async fn contents(&self) -> Vec<String> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(self.table())
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the test table");
            for item in output.items.unwrap_or_default() {
                if matches!(item.get("PK"), Some(AttributeValue::S(pk)) if pk == SWEEP_PARTITION) {
                    continue;
                }
                let fields: BTreeMap<String, Value> = from_attribute_map(&item)
                    .expect("a readable item")
                    .into_iter()
                    .collect();
                items.push(serde_json::to_string(&fields).expect("JSON"));
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        items.sort();
        items
    }

    /// The number of items in the table (a Scan with `Select: COUNT`).
    pub async fn count(&self) -> usize {
        let mut count = 0;
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(self.table())
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count the test table");
            count += usize::try_from(output.count).unwrap_or_default();
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return count,
            }
        }
    }

    /// The run records the sweep wrote, oldest first.
    pub async fn run_records(&self) -> Vec<Record> {
        store::query_all(
            &self.store(),
            &privacy_domain::store::Query::Partition {
                partition: SWEEP_PARTITION.to_owned(),
                sort_prefix: privacy_domain::retention::RUN_SORT_PREFIX.to_owned(),
            },
        )
        .await
        .expect("read the run records")
    }
}

async fn write_batch(client: &aws_sdk_dynamodb::Client, table: &str, mut batch: Vec<WriteRequest>) {
    for attempt in 0..8 {
        if batch.is_empty() {
            return;
        }
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
        }
        let output = client
            .batch_write_item()
            .request_items(table, batch)
            .send()
            .await
            .expect("BatchWriteItem on the emulator");
        batch = output
            .unprocessed_items
            .and_then(|mut unprocessed| unprocessed.remove(table))
            .unwrap_or_default();
    }
    assert!(batch.is_empty(), "the emulator kept leaving items unprocessed");
}

/// A record as the DynamoDB adapter stores it (see `privacy_aws::dynamodb`).
pub fn item(record: &Record) -> HashMap<String, AttributeValue> {
    let s = |text: &str| AttributeValue::S(text.to_owned());
    let index_sort = format!("{} {}", record.key.partition, record.key.sort);
    let mut item = to_attribute_map(&record.attributes);
    item.insert("PK".to_owned(), s(&record.key.partition));
    item.insert("SK".to_owned(), s(&record.key.sort));
    item.insert("entity".to_owned(), s(&record.entity));
    item.insert("version".to_owned(), AttributeValue::N(record.version.to_string()));
    if let Some(subject) = &record.subject {
        item.insert("SubjectPK".to_owned(), s(subject.as_str()));
        item.insert("SubjectSK".to_owned(), s(&index_sort));
    }
    if let Some(day) = record.due {
        item.insert("DuePK".to_owned(), s(&format!("DUE#{day}")));
        item.insert("DueSK".to_owned(), s(&index_sort));
    }
    if let Some(at) = record.expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.as_second().to_string()));
    }
    item
}

/// The built function, with a long enough deadline for a real sweep.
pub struct SweepProcess {
    process: LambdaProcess,
}

impl SweepProcess {
    pub async fn invoke(&self, event: Value) -> Invocation {
        self.process.invoke(event).await
    }

    /// Invokes and expects the run's counts back.
    pub async fn run(&self, event: Value) -> Value {
        match self.process.invoke(event).await {
            Invocation::Response(run) => run,
            other => panic!("expected a sweep run, got {other:?}\nlogs:\n{}", self.process.logs()),
        }
    }

    /// A sweep judged at `now`.
    pub async fn sweep_at(&self, now: Timestamp) -> Value {
        self.run(json!({"now": now.to_string()})).await
    }

    /// A sweep judged at `now`, and how long the invocation took.
    pub async fn timed_sweep_at(&self, now: Timestamp) -> (Value, Duration) {
        let started = Instant::now();
        let run = self.sweep_at(now).await;
        (run, started.elapsed())
    }

    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Stops the function and asserts that none of `personal_data` reached its logs.
    pub async fn stop_checking_logs(self, personal_data: &[&str]) -> String {
        let logs = self.process.stop().await;
        for value in personal_data {
            assert!(
                !logs.contains(value),
                "personal data `{value}` reached the logs:\n{logs}"
            );
        }
        logs
    }
}

/// A subject key for fixtures (not derived from an address).
pub fn subject(n: u32) -> SubjectKey {
    SubjectKey::try_from(format!("{n:08x}").repeat(8)).expect("64 hex digits")
}

/// The entity (and status) a record of `category` is written with.
pub fn entity_of(category: CategoryId) -> (&'static str, Option<&'static str>) {
    match category {
        CategoryId::ConsentRecords => ("consent_receipt", None),
        CategoryId::NewsletterPending => ("newsletter_subscription", Some("pending")),
        CategoryId::NewsletterSubscribed => ("newsletter_subscription", Some("unsubscribed")),
        CategoryId::Suppression => ("suppression", None),
        CategoryId::RequestsUnverified => ("dsr_request", Some("awaiting_verification")),
        CategoryId::RequestsClosed => ("dsr_request", Some("completed")),
        CategoryId::MailLog => ("mail_log", None),
        // Invoicing data is what a legal hold of that category keeps; the hold record is its record.
        CategoryId::Invoicing => ("legal_hold", None),
    }
}

/// A record of `category` whose retention started at `event_at`, stamped by the register.
pub fn record_of(
    register: &Register,
    category: CategoryId,
    key: RecordKey,
    subject: Option<SubjectKey>,
    event_at: Timestamp,
) -> Record {
    let (entity, status) = entity_of(category);
    let mut record = Record::new(key, entity);
    record.subject = subject;
    let mut attributes = Map::new();
    if let Some(status) = status {
        attributes.insert("status".to_owned(), json!(status));
    }
    if category == CategoryId::Invoicing {
        attributes.insert("category".to_owned(), json!("invoicing"));
        attributes.insert("hold_id".to_owned(), json!(uuid::Uuid::new_v4()));
        attributes.insert("reason".to_owned(), json!("Bokföringslagen 7 kap. 2 §"));
        attributes.insert("placed_at".to_owned(), json!(event_at));
    }
    record.attributes = attributes;
    register.stamp(&mut record, category, event_at);
    if category == CategoryId::Invoicing {
        record.attributes.insert("until".to_owned(), json!(record.expires_at));
    }
    record
}

/// A closed request as the request module writes it: expires three years
/// after closing, due when its address and name go (closing + 30 days).
pub fn closed_request(register: &Register, request_id: &str, subject: SubjectKey, closed_at: Timestamp) -> Record {
    let mut record = Record::new(RecordKey::new(format!("DSR#{request_id}"), "REQUEST"), "dsr_request");
    record.subject = Some(subject);
    record.attributes = match json!({
        "request_id": request_id,
        "type": "access",
        "status": "completed",
        "jurisdiction": "gdpr",
        "email": format!("{request_id}@example.com"),
        "name": "Ada Lovelace",
        "channel": "web",
        "received_at": "2026-12-01T09:00:00Z",
        "closed_at": closed_at,
        "events": [],
    }) {
        Value::Object(fields) => fields,
        _ => unreachable!(),
    };
    register.stamp(&mut record, CategoryId::RequestsClosed, closed_at);
    record.due = next_due_day(register, &record);
    record
}

/// A queue entry for the privacy team (no personal data).
pub fn queue_entry(due_on: Date, request_id: &str, kind: &str, status: &str) -> Record {
    let mut record = Record::new(
        privacy_domain::dsr::queue_key(due_on, request_id),
        entity::DSR_QUEUE_ENTRY,
    );
    record.attributes = match json!({
        "request_id": request_id,
        "type": kind,
        "status": status,
        "jurisdiction": "gdpr",
        "due_on": due_on,
        "received_at": "2027-02-01T08:00:00Z",
    }) {
        Value::Object(fields) => fields,
        _ => unreachable!(),
    };
    record
}

/// The embedded-metric-format line a function logged (the one with `_aws`).
pub fn emf_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("_aws").is_some())
        .collect()
}
