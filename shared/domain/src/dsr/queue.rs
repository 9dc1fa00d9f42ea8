//! Reading the team's queue in due order, for the digest and the console.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::store::{self, Query, Record, RecordStore, StoreError};

/// One open request in the queue, as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRequest {
    pub request_id: String,
    pub request_type: String,
    pub status: String,
    pub due_on: Date,
    pub received_on: Option<Date>,
    /// Calendar days from today to `due_on` in the controller's time zone; negative: overdue.
    pub days_left: i64,
    /// The tasks of other systems that are open and past their own due day.
    pub overdue_tasks: Vec<TaskSummary>,
}

/// The open requests in the queue due on or before `through`, soonest
/// first. Reads every partition of the queue in due order, each up to the
/// horizon, all at once. Dates are on the controller's calendar (`zone`), as deadlines are.
pub async fn due_requests(
    store: &dyn RecordStore,
    now: Timestamp,
    today: Date,
    through: Date,
    zone: &TimeZone,
) -> Result<Vec<DueRequest>, StoreError> {
    // Every partition at once, each read in due order up to the horizon.
    let partitions = crate::concurrently::join_all(queue_partitions().map(|partition| async move {
        let query = Query::Partition {
            partition,
            sort_prefix: String::new(),
        };
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.query(&query, store::PAGE_SIZE, cursor).await?;
            for record in page.records {
                let due_on = record
                    .attributes
                    .get("due_on")
                    .and_then(Value::as_str)
                    .or_else(|| record.key.sort.split('#').next())
                    .and_then(|text| text.parse::<Date>().ok());
                let Some(due_on) = due_on else {
                    tracing::warn!("a queue entry without a valid due_on is left out of the digest");
                    continue;
                };
                if due_on > through {
                    return Ok::<_, StoreError>(entries);
                }
                if let Some(entry) = due_request(&record, due_on, now, today, zone) {
                    entries.push(entry);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }))
    .await;
    let mut entries = Vec::new();
    for partition in partitions {
        entries.extend(partition?);
    }
    entries.sort_by(|a, b| (a.due_on, &a.request_id).cmp(&(b.due_on, &b.request_id)));
    let entries = latest_of_each(entries, |a, b| a.request_id == b.request_id);
    Ok(entries)
}

/// The digest's line of one queue entry due on `due_on`: `None` when it is
/// expired, unverified or closed.
fn due_request(record: &Record, due_on: Date, now: Timestamp, today: Date, zone: &TimeZone) -> Option<DueRequest> {
    if record.is_expired(now) {
        return None;
    }
    let text = |name: &str| record.attributes.get(name).and_then(Value::as_str).map(str::to_owned);
    let status = text("status").unwrap_or_default();
    // Only open, verified requests: never unverified, expired or closed ones.
    if RequestStatus::parse("status", &status).is_ok_and(|status| !status.is_queued() || status.is_closed()) {
        return None;
    }
    let request_id = text("request_id")
        .or_else(|| record.key.sort.split_once('#').map(|(_, id)| id.to_owned()))
        .unwrap_or_default();
    let received_on = text("received_at").and_then(|at| {
        at.parse::<Timestamp>()
            .ok()
            .map(|at| at.to_zoned_datetime(zone.clone()).date())
            .or_else(|| at.get(..10).and_then(|day| day.parse().ok()))
    });
    Some(DueRequest {
        request_id,
        request_type: text("type").unwrap_or_default(),
        status,
        due_on,
        received_on,
        days_left: i64::from((due_on - today).get_days()),
        overdue_tasks: record
            .attributes
            .get("tasks")
            .and_then(|tasks| serde_json::from_value::<Vec<TaskSummary>>(tasks.clone()).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|task| task.is_overdue(today))
            .collect(),
    })
}

/// One entry per request from entries sorted so that a request's are
/// adjacent, the old partition's (read last, so last of equals in a stable
/// sort) kept. Both exist only while a rolling deploy runs the version
/// before the sharding beside this one: that version writes the old
/// partition only, so its entry is the later one.
fn latest_of_each<T>(sorted: Vec<T>, same: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(sorted.len());
    for item in sorted {
        match kept.last_mut() {
            Some(last) if same(last, &item) => *last = item,
            _ => kept.push(item),
        }
    }
    kept
}

impl Requests<'_> {
    /// The team's queue: soonest due first, optionally by status and due date.
    pub async fn queue(
        &self,
        status: Option<RequestStatus>,
        due_before: Option<Date>,
    ) -> Result<Vec<QueueEntry>, DsrError> {
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .queue_page(status, due_before, store::PAGE_SIZE, cursor.as_deref())
                .await?;
            entries.extend(page.entries);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// The entries of one partition of the queue after the sort key `after`
    /// that pass the filters, at most `limit`, in order; and whether the
    /// partition may hold more.
    async fn queue_partition_page(
        &self,
        partition: String,
        after: &str,
        status: Option<RequestStatus>,
        due_before: Option<Date>,
        limit: usize,
    ) -> Result<(Vec<(String, QueueEntry)>, bool), DsrError> {
        let now = self.ports.clock.now();
        // No sort key extends another (a due day, then a fixed-length
        // request id), so the keys strictly after `after` are those from
        // `after` + "!" on; every key starts with a digit, below "~".
        let query = Query::SortRange {
            partition,
            from: format!("{after}!"),
            to: "~".to_owned(),
        };
        let mut found = Vec::new();
        let mut wanted = limit;
        let mut next = None;
        loop {
            // Never more records than entries still wanted from this partition.
            let page = self.ports.store.query(&query, wanted, next.take()).await?;
            for record in page.records.into_iter().filter(|record| !record.is_expired(now)) {
                let entry = record.body::<QueueEntry>().map_err(|error| match error {
                    StoreError::Invalid(why) => DsrError::Corrupt(why),
                    other => other.into(),
                })?;
                // Entries written by earlier versions at intake: never shown.
                if entry.status.is_queued()
                    && status.is_none_or(|status| entry.status == status)
                    && due_before.is_none_or(|before| entry.due_on < before)
                {
                    found.push((record.key.sort, entry));
                    wanted -= 1;
                }
            }
            match page.next {
                Some(cursor) if wanted > 0 => next = Some(cursor),
                Some(_) => return Ok((found, true)),
                None => return Ok((found, false)),
            }
        }
    }

    /// One page of the team's queue: at most `limit` entries, soonest due
    /// first, and the sealed cursor of the next page when there may be more.
    /// A cursor that was not sealed by this deployment for this (an older
    /// format included) is [`DsrError::BadCursor`].
    ///
    /// The cursor is the sort key of the last entry returned: every partition
    /// of the queue shares one order by sort key, so a page reads, in each
    /// partition, the entries after it (at most `limit` that pass the
    /// filters), merges them and returns the first `limit`. One Query per
    /// partition ([`QUEUE_SHARDS`] and the one from before the sharding), all
    /// at once; more only in a partition whose records the filters leave out.
    pub async fn queue_page(
        &self,
        status: Option<RequestStatus>,
        due_before: Option<Date>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<QueuePage, DsrError> {
        let key = &self.secrets.token_key;
        let after = match cursor {
            Some(sealed) => key.open_cursor(QUEUE_CURSOR, sealed).ok_or(DsrError::BadCursor)?,
            None => String::new(),
        };
        let limit = limit.max(1);
        // Every partition at once: one round trip, not one per partition.
        let partitions = crate::concurrently::join_all(
            queue_partitions().map(|partition| self.queue_partition_page(partition, &after, status, due_before, limit)),
        )
        .await;
        // (sort key, entry) of every partition, each partition's in order.
        let mut found: Vec<(String, QueueEntry)> = Vec::new();
        let mut more = false;
        for partition in partitions {
            let (entries, partition_has_more) = partition?;
            found.extend(entries);
            more |= partition_has_more;
        }
        found.sort_by(|(a, _), (b, _)| a.cmp(b));
        let mut found = latest_of_each(found, |(a, _), (b, _)| a == b);
        more |= found.len() > limit;
        found.truncate(limit);
        let next = match found.last() {
            Some((sort, _)) if more => Some(key.seal_cursor(QUEUE_CURSOR, sort)),
            _ => None,
        };
        Ok(QueuePage {
            entries: found.into_iter().map(|(_, entry)| entry).collect(),
            next,
        })
    }
}
