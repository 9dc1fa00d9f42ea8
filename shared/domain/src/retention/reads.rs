//! Counting what a run reads, per way in (the due index, the subject index,
//! single records), for the run record and its metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::ItemsRead;
use crate::store::{Cursor, Page, Query, Record, RecordKey, RecordStore, StoreError, Write};

/// The store, seen through counters of the items each purpose read.
pub(super) struct Stores<'a> {
    pub(super) due: CountingStore<'a>,
    pub(super) holds: CountingStore<'a>,
    pub(super) queue: CountingStore<'a>,
    pub(super) outbox: CountingStore<'a>,
    pub(super) bookkeeping: CountingStore<'a>,
}

impl<'a> Stores<'a> {
    pub(super) fn new(store: &'a dyn RecordStore) -> Self {
        Self {
            due: CountingStore::new(store),
            holds: CountingStore::new(store),
            queue: CountingStore::new(store),
            outbox: CountingStore::new(store),
            bookkeeping: CountingStore::new(store),
        }
    }

    pub(super) fn reads(&self) -> ItemsRead {
        ItemsRead {
            due_index: self.due.items(),
            holds: self.holds.items(),
            queue: self.queue.items(),
            outbox: self.outbox.items(),
            bookkeeping: self.bookkeeping.items(),
        }
    }
}

/// Counts the items a store returns (GetItem: one if found; Query: the page's items).
pub(super) struct CountingStore<'a> {
    inner: &'a dyn RecordStore,
    items: AtomicU64,
}

impl<'a> CountingStore<'a> {
    pub(super) fn new(inner: &'a dyn RecordStore) -> Self {
        Self {
            inner,
            items: AtomicU64::new(0),
        }
    }

    pub(super) fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl RecordStore for CountingStore<'_> {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let record = self.inner.get(key).await?;
        if record.is_some() {
            self.items.fetch_add(1, Ordering::Relaxed);
        }
        Ok(record)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.write(writes).await
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        let page = self.inner.query(query, limit, cursor).await?;
        self.items.fetch_add(page.records.len() as u64, Ordering::Relaxed);
        Ok(page)
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        self.inner.delete_all(keys).await
    }
}
