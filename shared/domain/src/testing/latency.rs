//! Modelled AWS latency for the benchmarks on the in-memory adapters
//! (`cargo bench -p privacy-domain`): [`Slow`] makes every store and mailer
//! call wait as long as the AWS call it stands for would, so that a bench
//! measures the real domain work plus exactly the calls it makes, without an
//! emulator's own speed (moto answers in Python, on shared cores).

use std::time::Duration;

use async_trait::async_trait;

use crate::mail::{Mail, MailError, Mailer, MessageId};
use crate::store::{Cursor, Page, Query, Record, RecordKey, RecordStore, StoreError, Write};

/// Median latencies in milliseconds of each call from a Lambda function in
/// the table's region: DynamoDB GetItem, a one-item write (PutItem,
/// DeleteItem, UpdateItem), Query; SES SendRawEmail.
pub const GET_MS: f64 = 4.0;
pub const WRITE_MS: f64 = 6.0;
pub const QUERY_MS: f64 = 6.0;
pub const SEND_MS: f64 = 60.0;

/// The median latency of a write: one item, or TransactWriteItems (10 ms + 2 per item).
pub fn write_ms(writes: &[Write]) -> f64 {
    match writes.len() {
        0 => 0.0,
        1 => WRITE_MS,
        items => 10.0 + 2.0 * items as f64,
    }
}

/// A latency drawn around `median`: most calls within ±20 %, one in ten up
/// to 2×, one in a hundred up to 4× (the tail AWS calls show).
pub async fn wait_about(median: f64) {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let unit = |byte: u8| f64::from(byte) / 255.0;
    let spread = 0.8 + 0.4 * unit(bytes[0]);
    let tail = match bytes[1] {
        0..=2 => 1.0 + 3.0 * unit(bytes[2]),
        3..=25 => 1.0 + unit(bytes[2]),
        _ => 1.0,
    };
    tokio::time::sleep(Duration::from_secs_f64(median * spread * tail / 1000.0)).await;
}

/// A store or mailer whose every call first waits its modelled latency.
pub struct Slow<T>(pub T);

#[async_trait]
impl<S: RecordStore> RecordStore for Slow<&S> {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        wait_about(GET_MS).await;
        self.0.get(key).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        wait_about(write_ms(&writes)).await;
        self.0.write(writes).await
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        wait_about(QUERY_MS).await;
        self.0.query(query, limit, cursor).await
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        wait_about(QUERY_MS).await;
        self.0.delete_all(keys).await
    }
}

#[async_trait]
impl<M: Mailer> Mailer for Slow<&M> {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        wait_about(SEND_MS).await;
        self.0.send(mail).await
    }
}
