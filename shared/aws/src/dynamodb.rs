//! The record store on a single DynamoDB table.
//!
//! | record field | attribute | note |
//! |---|---|---|
//! | key | `PK`, `SK` (S) | table keys |
//! | subject | `SubjectPK` (S), `SubjectSK` = `PK SK` | GSI `subject` |
//! | due | `DuePK` = `DUE#yyyy-mm-dd`, `DueSK` = `PK SK` | sparse GSI `due` |
//! | audience | `AudiencePK` = `AUDIENCE#<list>#<shard>`, `AudienceSK` = `PK SK` | sparse GSI `audience` |
//! | expires_at | `expires_at` (N, epoch seconds) | the table's TTL attribute |
//! | entity, version | `entity` (S), `version` (N) | |
//! | attributes | one attribute each | |
//!
//! [`Write::Add`] is an UpdateItem (`SET entity ADD version, counters`), alone or in a transaction.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use jiff::civil::Date;
use jiff::Timestamp;
use privacy_domain::store::{
    Cursor, Page, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write, RESERVED_ATTRIBUTES,
};
use privacy_domain::subject::SubjectKey;

use crate::attributes::{from_attribute_map, to_attribute_map};

/// The GSI holding every record about one person.
pub const SUBJECT_INDEX: &str = "subject";
/// The sparse GSI holding records by the day they fall due.
pub const DUE_INDEX: &str = "due";
/// The sparse GSI holding a list's confirmed subscriptions, sharded.
pub const AUDIENCE_INDEX: &str = "audience";

const BATCH_SIZE: usize = 25;
const BATCH_GET_SIZE: usize = 100;
const TRANSACTION_LIMIT: usize = 100;
const BATCH_ATTEMPTS: u32 = 8;

#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    table: String,
}

impl DynamoRecordStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn key_attributes(key: &RecordKey) -> HashMap<String, AttributeValue> {
    HashMap::from([("PK".to_owned(), s(&key.partition)), ("SK".to_owned(), s(&key.sort))])
}

fn index_sort(key: &RecordKey) -> String {
    format!("{} {}", key.partition, key.sort)
}

fn due_partition(day: Date) -> String {
    format!("DUE#{day}")
}

/// The DynamoDB item a record is stored as (for tools and tests that load
/// records in bulk with BatchWriteItem).
pub fn to_item(record: &Record) -> Result<HashMap<String, AttributeValue>, StoreError> {
    if let Some(name) = record.reserved_attribute() {
        return Err(StoreError::Invalid(format!("reserved attribute name {name}")));
    }
    let mut item = to_attribute_map(&record.attributes);
    item.extend(key_attributes(&record.key));
    item.insert("entity".to_owned(), s(&record.entity));
    item.insert("version".to_owned(), AttributeValue::N(record.version.to_string()));
    if let Some(subject) = &record.subject {
        item.insert("SubjectPK".to_owned(), s(subject.as_str()));
        item.insert("SubjectSK".to_owned(), s(index_sort(&record.key)));
    }
    if let Some(day) = record.due {
        item.insert("DuePK".to_owned(), s(due_partition(day)));
        item.insert("DueSK".to_owned(), s(index_sort(&record.key)));
    }
    if let Some(audience) = &record.audience {
        item.insert("AudiencePK".to_owned(), s(audience));
        item.insert("AudienceSK".to_owned(), s(index_sort(&record.key)));
    }
    if let Some(at) = record.expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.as_second().to_string()));
    }
    Ok(item)
}

fn from_item(mut item: HashMap<String, AttributeValue>) -> Result<Record, StoreError> {
    let corrupt = |what: &str| StoreError::Unavailable(format!("stored item without a valid {what}"));
    let mut take_s = |name: &str| match item.remove(name) {
        Some(AttributeValue::S(text)) => Some(text),
        _ => None,
    };
    let partition = take_s("PK").ok_or_else(|| corrupt("PK"))?;
    let sort = take_s("SK").ok_or_else(|| corrupt("SK"))?;
    let entity = take_s("entity").ok_or_else(|| corrupt("entity"))?;
    let subject = take_s("SubjectPK")
        .map(|text| SubjectKey::try_from(text).map_err(|_| corrupt("SubjectPK")))
        .transpose()?;
    let due = take_s("DuePK")
        .map(|text| {
            text.strip_prefix("DUE#")
                .and_then(|day| day.parse::<Date>().ok())
                .ok_or_else(|| corrupt("DuePK"))
        })
        .transpose()?;
    let audience = take_s("AudiencePK");
    for derived in ["SubjectSK", "DueSK", "AudienceSK"] {
        item.remove(derived);
    }
    let number = |value: Option<AttributeValue>, what: &str| -> Result<Option<i64>, StoreError> {
        match value {
            None => Ok(None),
            Some(AttributeValue::N(text)) => text.parse().map(Some).map_err(|_| corrupt(what)),
            Some(_) => Err(corrupt(what)),
        }
    };
    let version = number(item.remove("version"), "version")?.ok_or_else(|| corrupt("version"))?;
    let expires_at = number(item.remove("expires_at"), "expires_at")?
        .map(|second| Timestamp::from_second(second).map_err(|_| corrupt("expires_at")))
        .transpose()?;
    let attributes = from_attribute_map(&item).ok_or_else(|| corrupt("attribute"))?;
    Ok(Record {
        key: RecordKey { partition, sort },
        entity,
        subject,
        expires_at,
        due,
        audience,
        version: u64::try_from(version).map_err(|_| corrupt("version"))?,
        attributes,
    })
}

/// A condition expression with its names and values.
struct Condition {
    expression: Option<&'static str>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

fn condition(precondition: Precondition) -> Condition {
    let plain = |expression| Condition {
        expression: Some(expression),
        names: None,
        values: None,
    };
    match precondition {
        Precondition::None => Condition {
            expression: None,
            names: None,
            values: None,
        },
        Precondition::Absent => plain("attribute_not_exists(PK)"),
        Precondition::Present => plain("attribute_exists(PK)"),
        Precondition::Version(version) => Condition {
            expression: Some("#version = :version"),
            names: Some(HashMap::from([("#version".to_owned(), "version".to_owned())])),
            values: Some(HashMap::from([(
                ":version".to_owned(),
                AttributeValue::N(version.to_string()),
            )])),
        },
    }
}

/// Turns an SDK error into a store error that names no data: the code only.
fn unavailable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> StoreError {
    let code = error.code().unwrap_or("no error code");
    StoreError::Unavailable(format!("DynamoDB: {code}"))
}

fn is_conflict<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error.code(),
        Some("ConditionalCheckFailedException" | "TransactionCanceledException" | "TransactionConflictException")
    )
}

/// The update expression of [`Write::Add`]: `SET entity ADD version 1, each count`.
struct Addition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

fn addition(entity: &str, counts: &std::collections::BTreeMap<String, u64>) -> Result<Addition, StoreError> {
    if let Some(name) = counts.keys().find(|name| RESERVED_ATTRIBUTES.contains(&name.as_str())) {
        return Err(StoreError::Invalid(format!("reserved attribute name {name}")));
    }
    let mut names = HashMap::from([
        ("#entity".to_owned(), "entity".to_owned()),
        ("#version".to_owned(), "version".to_owned()),
    ]);
    let mut values = HashMap::from([
        (":entity".to_owned(), s(entity)),
        (":one".to_owned(), AttributeValue::N("1".to_owned())),
    ]);
    let mut adds = vec!["#version :one".to_owned()];
    for (index, (name, count)) in counts.iter().enumerate() {
        names.insert(format!("#c{index}"), name.clone());
        values.insert(format!(":c{index}"), AttributeValue::N(count.to_string()));
        adds.push(format!("#c{index} :c{index}"));
    }
    Ok(Addition {
        expression: format!("SET #entity = :entity ADD {}", adds.join(", ")),
        names,
        values,
    })
}

impl DynamoRecordStore {
    async fn add(
        &self,
        key: &RecordKey,
        entity: &str,
        counts: &std::collections::BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        let addition = addition(entity, counts)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(addition.expression)
            .set_expression_attribute_names(Some(addition.names))
            .set_expression_attribute_values(Some(addition.values))
            .send()
            .await
            .map(drop)
            .map_err(|error| unavailable(&error))
    }

    async fn put(&self, record: &Record, precondition: Precondition) -> Result<(), StoreError> {
        let condition = condition(precondition);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)?))
            .set_condition_expression(condition.expression.map(str::to_owned))
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await
            .map(drop)
            .map_err(|error| {
                if is_conflict(&error) {
                    StoreError::Conflict
                } else {
                    unavailable(&error)
                }
            })
    }

    async fn delete(&self, key: &RecordKey, precondition: Precondition) -> Result<(), StoreError> {
        let condition = condition(precondition);
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition.expression.map(str::to_owned))
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await
            .map(drop)
            .map_err(|error| {
                if is_conflict(&error) {
                    StoreError::Conflict
                } else {
                    unavailable(&error)
                }
            })
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > TRANSACTION_LIMIT {
            return Err(StoreError::Invalid(format!(
                "a transaction holds at most {TRANSACTION_LIMIT} writes"
            )));
        }
        let invalid = |error: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(error.to_string());
        let mut items = Vec::with_capacity(writes.len());
        for write in &writes {
            let item = match write {
                Write::Put { record, precondition } => {
                    let condition = condition(*precondition);
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_item(record)?))
                        .set_condition_expression(condition.expression.map(str::to_owned))
                        .set_expression_attribute_names(condition.names)
                        .set_expression_attribute_values(condition.values)
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().put(put).build()
                }
                Write::Delete { key, precondition } => {
                    let condition = condition(*precondition);
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .set_condition_expression(condition.expression.map(str::to_owned))
                        .set_expression_attribute_names(condition.names)
                        .set_expression_attribute_values(condition.values)
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                Write::Add { key, entity, counts } => {
                    let addition = addition(entity, counts)?;
                    let update = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .update_expression(addition.expression)
                        .set_expression_attribute_names(Some(addition.names))
                        .set_expression_attribute_values(Some(addition.values))
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().update(update).build()
                }
                Write::Check { key, precondition } => {
                    let condition = condition(*precondition);
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .set_condition_expression(condition.expression.map(str::to_owned))
                        .set_expression_attribute_names(condition.names)
                        .set_expression_attribute_values(condition.values)
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            items.push(item);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(drop)
            .map_err(|error| {
                if is_conflict(&error) {
                    StoreError::Conflict
                } else {
                    unavailable(&error)
                }
            })
    }
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Result<Cursor, StoreError> {
    let fields: serde_json::Map<String, serde_json::Value> = key
        .iter()
        .map(|(name, value)| match value {
            AttributeValue::S(text) => Ok((name.clone(), serde_json::Value::String(text.clone()))),
            _ => Err(StoreError::Unavailable("a non-string key attribute".to_owned())),
        })
        .collect::<Result<_, _>>()?;
    Ok(Cursor(serde_json::Value::Object(fields).to_string()))
}

fn decode_cursor(cursor: &Cursor) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let fields: HashMap<String, String> =
        serde_json::from_str(&cursor.0).map_err(|_| StoreError::Invalid("cursor".to_owned()))?;
    Ok(fields.into_iter().map(|(name, value)| (name, s(value))).collect())
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| unavailable(&error))?;
        output.item.map(from_item).transpose()
    }

    /// One BatchGetItem (strongly consistent) per 100 distinct keys, again
    /// for any keys DynamoDB leaves unprocessed.
    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<Record>>, StoreError> {
        if keys.len() == 1 {
            return Ok(vec![self.get(&keys[0]).await?]);
        }
        let mut distinct: Vec<&RecordKey> = Vec::new();
        for key in keys {
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        let mut found: HashMap<RecordKey, Record> = HashMap::new();
        for chunk in distinct.chunks(BATCH_GET_SIZE) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(|key| key_attributes(key)).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|error| StoreError::Invalid(error.to_string()))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| unavailable(&error))?;
                for item in output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default()
                {
                    let record = from_item(item)?;
                    found.insert(record.key.clone(), record);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table))
                    .filter(|rest| !rest.keys.is_empty());
                if pending.is_some() {
                    attempt += 1;
                    if attempt >= BATCH_ATTEMPTS {
                        return Err(StoreError::Unavailable("BatchGetItem left keys unprocessed".to_owned()));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
            }
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    async fn write(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        match writes.len() {
            0 => Ok(()),
            1 => match writes.remove(0) {
                Write::Put { record, precondition } => self.put(&record, precondition).await,
                Write::Delete { key, precondition } => self.delete(&key, precondition).await,
                Write::Add { key, entity, counts } => self.add(&key, &entity, &counts).await,
                // A check alone writes nothing: read whether it holds.
                Write::Check { key, precondition } => {
                    let found = self.get(&key).await?;
                    let holds = match precondition {
                        Precondition::None => true,
                        Precondition::Absent => found.is_none(),
                        Precondition::Present => found.is_some(),
                        Precondition::Version(version) => found.is_some_and(|record| record.version == version),
                    };
                    if holds {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict)
                    }
                }
            },
            _ => self.transact(writes).await,
        }
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(cursor.as_ref().map(decode_cursor).transpose()?);
        let request = match query {
            Query::Partition { partition, sort_prefix } if sort_prefix.is_empty() => request
                .key_condition_expression("PK = :partition")
                .expression_attribute_values(":partition", s(partition))
                .consistent_read(true),
            Query::Partition { partition, sort_prefix } => request
                .key_condition_expression("PK = :partition AND begins_with(SK, :prefix)")
                .expression_attribute_values(":partition", s(partition))
                .expression_attribute_values(":prefix", s(sort_prefix))
                .consistent_read(true),
            Query::Subject(subject) => request
                .index_name(SUBJECT_INDEX)
                .key_condition_expression("SubjectPK = :subject")
                .expression_attribute_values(":subject", s(subject.as_str())),
            Query::SortRange { partition, from, to } => request
                .key_condition_expression("PK = :partition AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":partition", s(partition))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to))
                .consistent_read(true),
            Query::Audience(audience) => request
                .index_name(AUDIENCE_INDEX)
                .key_condition_expression("AudiencePK = :audience")
                .expression_attribute_values(":audience", s(audience)),
            Query::DueOn(day) => request
                .index_name(DUE_INDEX)
                .key_condition_expression("DuePK = :day")
                .expression_attribute_values(":day", s(due_partition(*day))),
        };
        let output = request.send().await.map_err(|error| unavailable(&error))?;
        let records = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = output
            .last_evaluated_key
            .filter(|key| !key.is_empty())
            .map(|key| encode_cursor(&key))
            .transpose()?;
        Ok(Page { records, next })
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_SIZE) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key_attributes(key)))
                        .build()
                        .map_err(|error| StoreError::Invalid(error.to_string()))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, StoreError>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                if attempt == BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left batch deletes unprocessed".to_owned(),
                    ));
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
                attempt += 1;
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|error| unavailable(&error))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}
