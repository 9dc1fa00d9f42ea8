//! The embedded record store: the local server's storage and the fast tests'.
//! It keeps the same promises as the DynamoDB adapter (the conformance suite
//! in `tests/` runs against both).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::store::{
    Cursor, Page, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write, RESERVED_ATTRIBUTES,
};

#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<RecordKey, Record>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, in key order (what a table scan would show).
    pub fn snapshot(&self) -> Vec<Record> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RecordKey, Record>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn holds(precondition: Precondition, existing: Option<&Record>) -> bool {
    match precondition {
        Precondition::None => true,
        Precondition::Absent => existing.is_none(),
        Precondition::Present => existing.is_some(),
        Precondition::Version(version) => existing.is_some_and(|record| record.version == version),
    }
}

fn encode_cursor(key: &RecordKey) -> Cursor {
    Cursor(serde_json::json!([key.partition, key.sort]).to_string())
}

fn decode_cursor(cursor: &Cursor) -> Result<RecordKey, StoreError> {
    let invalid = || StoreError::Invalid("cursor".to_owned());
    let (partition, sort): (String, String) = serde_json::from_str(&cursor.0).map_err(|_| invalid())?;
    Ok(RecordKey { partition, sort })
}

#[async_trait]
impl RecordStore for MemoryStore {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut records = self.lock();
        for write in &writes {
            let (key, precondition) = match write {
                Write::Put { record, precondition } => {
                    if let Some(name) = record.reserved_attribute() {
                        return Err(StoreError::Invalid(format!("reserved attribute name {name}")));
                    }
                    (&record.key, *precondition)
                }
                Write::Delete { key, precondition } => (key, *precondition),
                Write::Add { key, counts, .. } => {
                    if let Some(name) = counts.keys().find(|name| RESERVED_ATTRIBUTES.contains(&name.as_str())) {
                        return Err(StoreError::Invalid(format!("reserved attribute name {name}")));
                    }
                    (key, Precondition::None)
                }
                Write::Check { key, precondition } => (key, *precondition),
            };
            if !holds(precondition, records.get(key)) {
                return Err(StoreError::Conflict);
            }
        }
        for write in writes {
            match write {
                Write::Put { record, .. } => {
                    records.insert(record.key.clone(), record);
                }
                Write::Delete { key, .. } => {
                    records.remove(&key);
                }
                Write::Check { .. } => {}
                Write::Add { key, entity, counts } => {
                    let record = records.entry(key.clone()).or_insert_with(|| {
                        let mut record = Record::new(key, entity.clone());
                        record.version = 0;
                        record
                    });
                    record.entity = entity;
                    record.version += 1;
                    for (name, count) in counts {
                        let before = record
                            .attributes
                            .get(&name)
                            .and_then(serde_json::Value::as_u64)
                            .unwrap_or(0);
                        record.attributes.insert(name, serde_json::json!(before + count));
                    }
                }
            }
        }
        Ok(())
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        let after = cursor.as_ref().map(decode_cursor).transpose()?;
        let records = self.lock();
        let matches = records.values().filter(|record| match query {
            Query::Partition { partition, sort_prefix } => {
                record.key.partition == *partition && record.key.sort.starts_with(sort_prefix.as_str())
            }
            Query::Subject(subject) => record.subject.as_ref() == Some(subject),
            Query::DueOn(day) => record.due == Some(*day),
            Query::Audience(audience) => record.audience.as_ref() == Some(audience),
            Query::SortRange { partition, from, to } => {
                record.key.partition == *partition && record.key.sort >= *from && record.key.sort <= *to
            }
        });
        let mut page: Vec<Record> = matches
            .filter(|record| after.as_ref().is_none_or(|after| record.key > *after))
            .take(limit.max(1) + 1)
            .cloned()
            .collect();
        let next = if page.len() > limit.max(1) {
            page.truncate(limit.max(1));
            page.last().map(|record| encode_cursor(&record.key))
        } else {
            None
        };
        Ok(Page { records: page, next })
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        let mut records = self.lock();
        for key in keys {
            records.remove(key);
        }
        Ok(())
    }
}

/// The calls made on a store and a mailer, in order, by kind only (no keys,
/// no addresses): what a request costs, whatever it was about. Also the
/// items the store returned (what DynamoDB reads, as the store's adapter
/// uses no filter expressions).
#[derive(Debug, Clone, Default)]
pub struct Calls {
    kinds: std::sync::Arc<Mutex<Vec<&'static str>>>,
    items_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Calls {
    pub fn record(&self, call: &'static str) {
        self.kinds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(call);
    }

    /// The calls recorded since the last `take`.
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Counts `items` returned by the store.
    pub fn read(&self, items: usize) {
        self.items_read
            .fetch_add(items as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The items the store returned since the last `take_items_read`.
    pub fn take_items_read(&self) -> u64 {
        self.items_read.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A store that records the kind of each call it passes on (and the items
/// its reads return): `get`, `query`, `delete_all`, and for a write the DynamoDB request it becomes: `put`,
/// `conditional put`, `delete`, `conditional delete`, `update` (one item) or
/// `transaction` (several).
pub struct CountingStore<S> {
    pub inner: S,
    pub calls: Calls,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S, calls: Calls) -> Self {
        Self { inner, calls }
    }
}

fn write_kind(writes: &[Write]) -> &'static str {
    match writes {
        [] => "no write",
        [Write::Put { precondition, .. }] if *precondition == Precondition::None => "put",
        [Write::Put { .. }] => "conditional put",
        [Write::Delete { precondition, .. }] if *precondition == Precondition::None => "delete",
        [Write::Delete { .. }] => "conditional delete",
        [Write::Add { .. }] => "update",
        _ => "transaction",
    }
}

#[async_trait]
impl<S: RecordStore> RecordStore for CountingStore<S> {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.calls.record("get");
        let found = self.inner.get(key).await?;
        self.calls.read(usize::from(found.is_some()));
        Ok(found)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.calls.record(write_kind(&writes));
        self.inner.write(writes).await
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        self.calls.record("query");
        let page = self.inner.query(query, limit, cursor).await?;
        self.calls.read(page.records.len());
        Ok(page)
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        self.calls.record("delete_all");
        self.inner.delete_all(keys).await
    }
}
