//! The storage port: one table of records, three ways in.
//!
//! Every record lives under a partition and a sort key. A record that holds
//! personal data about an identified person carries that person's
//! [`SubjectKey`], so that access and erasure are one query on the subject
//! index. A record with a retention period carries the day it falls due, so
//! that the retention sweep queries the due index day by day instead of
//! scanning. `expires_at` is the moment the record stops existing for every
//! reader, whether or not anything has deleted it yet.
//!
//! Adapters: [`crate::store::memory::MemoryStore`] and the DynamoDB store in
//! `privacy-aws`. Both pass the same conformance suite.
//!
//! Context `store`: may use nothing but the kernel (README, "The domain crate's contexts").

pub mod memory;

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::subject::SubjectKey;

/// Where a record lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub partition: String,
    pub sort: String,
}

impl RecordKey {
    pub fn new(partition: impl Into<String>, sort: impl Into<String>) -> Self {
        Self {
            partition: partition.into(),
            sort: sort.into(),
        }
    }
}

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: RecordKey,
    /// What the record is (`consent_receipt`, …): the register category and
    /// the export are read from it.
    pub entity: String,
    /// The person the record is about, if it is about an identified person.
    pub subject: Option<SubjectKey>,
    /// The moment the record stops existing (the TTL attribute).
    pub expires_at: Option<Timestamp>,
    /// The day the retention sweep must look at the record.
    pub due: Option<Date>,
    /// The audience a newsletter is sent to (`AUDIENCE#<list>#<shard>`): set
    /// on a confirmed subscription only, so that an issue's planner reads
    /// its list's readers by [`Query::Audience`] (a sparse index).
    pub audience: Option<String>,
    /// Incremented by every conditional update; the precondition of the next.
    pub version: u64,
    /// The entity's own fields. Names must not clash with [`RESERVED_ATTRIBUTES`].
    pub attributes: Map<String, Value>,
}

/// Attribute names the adapters use for the fields above.
pub const RESERVED_ATTRIBUTES: &[&str] = &[
    "PK",
    "SK",
    "entity",
    "subject",
    "expires_at",
    "version",
    "SubjectPK",
    "SubjectSK",
    "DuePK",
    "DueSK",
    "AudiencePK",
    "AudienceSK",
];

impl Record {
    pub fn new(key: RecordKey, entity: impl Into<String>) -> Self {
        Self {
            key,
            entity: entity.into(),
            subject: None,
            expires_at: None,
            due: None,
            audience: None,
            version: 1,
            attributes: Map::new(),
        }
    }

    /// Whether the record has expired at `now`: readers treat it as gone even
    /// if TTL has not yet deleted it.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The entity's fields from a serialisable body (the one codec every
    /// entity uses: a struct that serialises to a JSON object).
    pub fn set_body<T: Serialize>(&mut self, body: &T) {
        self.attributes = match serde_json::to_value(body) {
            Ok(Value::Object(fields)) => fields,
            // Every entity body is a struct; anything else stores no fields.
            _ => Map::new(),
        };
    }

    /// A record of `entity` at `key` with the fields of `body`.
    pub fn with_body<T: Serialize>(key: RecordKey, entity: impl Into<String>, body: &T) -> Self {
        let mut record = Self::new(key, entity);
        record.set_body(body);
        record
    }

    /// The entity's fields read back as `T`; a record that does not decode is
    /// [`StoreError::Invalid`], without quoting any stored value.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(Value::Object(self.attributes.clone()))
            .map_err(|error| StoreError::Invalid(decode_failure(&error)))
    }

    /// The first attribute name that clashes with the adapters' own.
    pub fn reserved_attribute(&self) -> Option<&str> {
        self.attributes
            .keys()
            .map(String::as_str)
            .find(|name| RESERVED_ATTRIBUTES.contains(name))
    }
}

/// What must hold for a write to take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there.
    None,
    /// Only if no record exists at the key.
    Absent,
    /// Only if the stored record's version is this one.
    Version(u64),
    /// Only if a record exists at the key.
    Present,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        record: Record,
        precondition: Precondition,
    },
    Delete {
        key: RecordKey,
        precondition: Precondition,
    },
    /// Adds to number attributes of the record at `key`, creating it (as
    /// `entity`, version 1) when absent; every add increments its version.
    /// Atomic and without a read, so concurrent adds never lose a count
    /// (DynamoDB: UpdateItem `ADD`). Counter names must not clash with
    /// [`RESERVED_ATTRIBUTES`].
    Add {
        key: RecordKey,
        entity: String,
        counts: std::collections::BTreeMap<String, u64>,
    },
    /// Writes nothing: the writes fail together ([`StoreError::Conflict`])
    /// unless `precondition` holds for the record at `key` (DynamoDB: a
    /// `ConditionCheck` in the transaction). Lets a writer rely on a record
    /// staying as it is without reading it first.
    Check {
        key: RecordKey,
        precondition: Precondition,
    },
}

/// The ways records are read in bulk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// The records of one partition whose sort key starts with a prefix, in sort-key order.
    Partition { partition: String, sort_prefix: String },
    /// Every record about one person, ordered by key.
    Subject(SubjectKey),
    /// Every record due on one day, ordered by key.
    DueOn(Date),
    /// The records carrying one audience key, ordered by key (a confirmed
    /// subscription's `AUDIENCE#<list>#<shard>`).
    Audience(String),
    /// The records of one partition whose sort key lies between `from` and
    /// `to` (both included), in sort-key order.
    SortRange {
        partition: String,
        from: String,
        to: String,
    },
}

/// Where a paginated query left off. Opaque to everyone but the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// Present when there may be more records.
    pub next: Option<Cursor>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A precondition did not hold; nothing was written.
    #[error("a write's precondition did not hold")]
    Conflict,
    /// The record cannot be stored as it is (a reserved attribute name, a cursor from elsewhere).
    #[error("invalid record or query: {0}")]
    Invalid(String),
    /// The store could not be reached or failed. The message holds no personal data.
    #[error("the store failed: {0}")]
    Unavailable(String),
}

/// The storage port.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError>;

    /// The records at `keys`, in their order (`None` where there is none):
    /// several reads in one round trip where the store can (DynamoDB:
    /// BatchGetItem, strongly consistent). One by one unless overridden.
    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<Record>>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(self.get(key).await?);
        }
        Ok(found)
    }

    /// Applies every write or none. With more than one write, the
    /// preconditions of all are checked together (a transaction).
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// One page of at most `limit` records.
    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError>;

    /// Deletes the records unconditionally, in as many batches as it takes.
    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError>;
}

/// The page size bulk readers use.
pub const PAGE_SIZE: usize = 100;

/// The page size of reads that take everything about one person (an export,
/// an erasure's plan): few round trips (DynamoDB still stops a page at 1 MB).
pub const BULK_PAGE_SIZE: usize = 1000;

/// Reads every page of a query.
pub async fn query_all(store: &dyn RecordStore, query: &Query) -> Result<Vec<Record>, StoreError> {
    query_all_in_pages_of(store, query, PAGE_SIZE).await
}

/// Reads every page of a query, `page_size` records a page.
pub async fn query_all_in_pages_of(
    store: &dyn RecordStore,
    query: &Query,
    page_size: usize,
) -> Result<Vec<Record>, StoreError> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(query, page_size, cursor).await?;
        records.extend(page.records);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}

/// Convenience for a single write.
pub async fn put(store: &dyn RecordStore, record: Record, precondition: Precondition) -> Result<(), StoreError> {
    store.write(vec![Write::Put { record, precondition }]).await
}

/// Why a stored record did not decode, without quoting any stored value
/// (serde's messages may quote one, and values can be personal data).
pub fn decode_failure(error: &serde_json::Error) -> String {
    format!("a stored record does not decode ({:?} error)", error.classify())
}
