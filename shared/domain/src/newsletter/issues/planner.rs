//! The planner: takes the issues that are due, reads each list's audience
//! index shard by shard (a Query, never a Scan; one item read per reader)
//! and queues the readers in batches. It saves its place (shard and index
//! cursor) on the issue after every page, so a run that ends at its
//! deadline is continued by the next one; a page queued twice (a run
//! stopped between queueing and saving) costs nothing but SQS messages: the
//! sender's send records keep every reader to one mail.
//!
//! Suppression, restriction and objection are checked by the sender, at
//! send time: that is when they must hold, and it keeps planning at one
//! read per reader.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{due_key, issue_key, Issue, IssueError, IssueStatus, RecipientBatch, RecipientQueue, RECIPIENTS_PER_BATCH};
use crate::newsletter::audience::{audience_key, AUDIENCE_SHARDS};
use crate::newsletter::{Subscription, SubscriptionStatus};
use crate::ports::Ports;
use crate::register::entity;
use crate::store::{Cursor, Precondition, Query, Record, StoreError, Write};
use crate::subject::SubjectKey;

/// Readers read per page of the audience index.
pub const PLAN_PAGE: usize = 500;

/// What one planner run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    /// Issues whose planning finished in this run.
    pub issues_planned: usize,
    /// Readers queued.
    pub queued: u64,
    /// Items read from the audience index.
    pub items_read: u64,
    /// Batches put on the queue.
    pub batches: u64,
    /// Whether the run stopped at its deadline with work left.
    pub unfinished: bool,
}

pub struct IssuePlanner<'a> {
    pub ports: Ports<'a>,
    pub queue: &'a dyn RecipientQueue,
}

impl IssuePlanner<'_> {
    /// Plans every due issue until `deadline`.
    pub async fn plan_due(&self, deadline: Timestamp) -> Result<PlanReport, IssueError> {
        let mut report = PlanReport::default();
        let now = self.ports.clock.now();
        let due = Query::SortRange {
            partition: super::DUE_PARTITION.to_owned(),
            // DynamoDB refuses an empty key value; every RFC 3339 time sorts after it.
            from: "0".to_owned(),
            to: format!("{now}#~"),
        };
        let entries = crate::store::query_all(self.ports.store, &due).await?;
        for entry in entries {
            if self.ports.clock.now() >= deadline {
                report.unfinished = true;
                break;
            }
            let Some(issue_id) = entry.attributes.get("issue_id").and_then(|id| id.as_str()) else {
                continue;
            };
            if !self.plan_issue(issue_id, deadline, &mut report).await? {
                report.unfinished = true;
                break;
            }
        }
        tracing::info!(
            issues_planned = report.issues_planned,
            queued = report.queued,
            batches = report.batches,
            unfinished = report.unfinished,
            "newsletter planner run"
        );
        Ok(report)
    }

    /// Plans one issue until it is fully queued (`true`) or the deadline (`false`).
    async fn plan_issue(
        &self,
        issue_id: &str,
        deadline: Timestamp,
        report: &mut PlanReport,
    ) -> Result<bool, IssueError> {
        let Some(mut stored) = self.ports.store.get(&issue_key(issue_id)).await? else {
            return Ok(true);
        };
        let mut issue: Issue = stored.body()?;
        loop {
            if matches!(
                issue.status,
                IssueStatus::Cancelled | IssueStatus::Sending | IssueStatus::Sent
            ) {
                self.ports
                    .store
                    .write(vec![Write::Delete {
                        key: due_key(issue.send_at, issue_id),
                        precondition: Precondition::None,
                    }])
                    .await?;
                return Ok(true);
            }
            if self.ports.clock.now() >= deadline {
                return Ok(false);
            }
            let mut next = issue.clone();
            next.status = IssueStatus::Planning;
            let finished = if issue.plan.shard >= AUDIENCE_SHARDS {
                true
            } else {
                let query = Query::Audience(audience_key(&issue.list, issue.plan.shard));
                let page = self
                    .ports
                    .store
                    .query(&query, PLAN_PAGE, issue.plan.cursor.clone().map(Cursor))
                    .await?;
                report.items_read += page.records.len() as u64;
                let readers = readers(&page.records, &issue, self.ports.clock.now());
                let batches: Vec<RecipientBatch> = readers
                    .chunks(RECIPIENTS_PER_BATCH)
                    .map(|chunk| RecipientBatch {
                        issue_id: issue_id.to_owned(),
                        recipients: chunk.to_vec(),
                    })
                    .collect();
                report.batches += batches.len() as u64;
                report.queued += readers.len() as u64;
                if !batches.is_empty() {
                    self.queue.enqueue(batches).await?;
                }
                next.audience += readers.len() as u64;
                match page.next {
                    Some(cursor) => next.plan.cursor = Some(cursor.0),
                    None => {
                        next.plan.shard += 1;
                        next.plan.cursor = None;
                    }
                }
                next.plan.shard >= AUDIENCE_SHARDS
            };
            let mut writes = Vec::new();
            if finished {
                next.status = IssueStatus::Sending;
                next.planned_at = Some(self.ports.clock.now());
                writes.push(Write::Delete {
                    key: due_key(issue.send_at, issue_id),
                    precondition: Precondition::None,
                });
            }
            let mut record = Record::with_body(issue_key(issue_id), entity::NEWSLETTER_ISSUE, &next);
            record.version = stored.version + 1;
            writes.push(Write::Put {
                record: record.clone(),
                precondition: Precondition::Version(stored.version),
            });
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    stored = record;
                    issue = next;
                    if finished {
                        report.issues_planned += 1;
                        tracing::info!(issue_id, audience = issue.audience, "newsletter issue planned");
                        return Ok(true);
                    }
                }
                // Changed meanwhile (cancelled, a test send counted): read it again.
                Err(StoreError::Conflict) => {
                    let Some(again) = self.ports.store.get(&issue_key(issue_id)).await? else {
                        return Ok(true);
                    };
                    stored = again;
                    let fresh: Issue = stored.body()?;
                    // The page just queued is queued again unless the issue stopped.
                    issue = fresh;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The readers of a page of the audience index: live confirmed subscriptions to the issue's list.
fn readers(records: &[Record], issue: &Issue, now: Timestamp) -> Vec<SubjectKey> {
    records
        .iter()
        .filter(|record| record.entity == entity::NEWSLETTER_SUBSCRIPTION && !record.is_expired(now))
        .filter(|record| {
            record
                .body::<Subscription>()
                .is_ok_and(|s| s.status == SubscriptionStatus::Confirmed && s.list == issue.list)
        })
        .filter_map(|record| record.subject.clone())
        .collect()
}
