//! Handing tasks to `event` and `webhook` systems through a durable outbox.
//!
//! A task for such a system is listed for hand-over (`TASK_OUTBOX#<shard>`
//! / `<task_id>`) in the same write that creates it. The drain
//! ([`Requests::deliver_tasks`], run by the mail outbox's function at once
//! and on its schedule) claims each entry with a conditional write, hands
//! the task to the system through the [`TaskConnector`] port, and on
//! success marks it `sent`. A failure is retried with exponential backoff up
//! to a cap; after the last attempt the task is `failed` (dead-lettered:
//! the team must answer it) and an error is logged for the alarm.
//!
//! A system may receive a task more than once (a hand-over whose outcome
//! could not be recorded is repeated): it should treat `task_id` as the key
//! of the work.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{delivery_key, delivery_partition, SystemTask, TaskKind, TaskStatus, DELIVERY_SHARDS};
use crate::dsr::{Corrections, DsrError, RequestEvent, RequestEventKind, RequestType, Requests, ATTEMPTS};
use crate::register::{entity, System};
use crate::store::{Cursor, Precondition, Query, Record, StoreError, Write};

/// How long a claim keeps other drains off an entry.
const CLAIM: SignedDuration = SignedDuration::from_secs(120);

/// The log message the dead-letter alarm counts.
pub const DEAD_LETTER_LOG: &str = "task dead-lettered";

/// What a system receives: the detail of the `privacy.request.task` event,
/// and the body of the webhook POST. Only what the system needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task_id: String,
    pub request_id: String,
    pub system: String,
    pub kind: TaskKind,
    pub request_type: RequestType,
    pub due_on: jiff::civil::Date,
    pub subject_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<Corrections>,
    /// Where the system posts its signed answer.
    pub answer_url: String,
}

/// Why a hand-over failed (a status code, a timeout; never personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HandOverError(pub String);

/// The port that reaches systems of record: EventBridge for `event`
/// systems, a signed HTTPS POST for `webhook` ones (adapters in `privacy-aws`).
#[async_trait]
pub trait TaskConnector: Send + Sync {
    /// Hands the task over; `Ok` once the system (or its bus) has accepted it.
    async fn hand_over(&self, system: &System, message: &TaskMessage) -> Result<(), HandOverError>;
}

/// The retry schedule: the first retry after `first`, each next one after
/// twice as long, never longer than `cap`; `attempts` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: SignedDuration,
    pub cap: SignedDuration,
    pub attempts: u32,
}

impl Default for RetryPolicy {
    /// 1, 2, 4, … minutes, at most an hour apart, 10 attempts (about 5 hours).
    fn default() -> Self {
        Self {
            first: SignedDuration::from_secs(60),
            cap: SignedDuration::from_secs(3600),
            attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failed`-th failed attempt (1-based).
    pub fn backoff(&self, failed: u32) -> SignedDuration {
        let factor = 2_i32.saturating_pow(failed.saturating_sub(1).min(30));
        self.first.checked_mul(factor).unwrap_or(self.cap).min(self.cap)
    }
}

/// An entry of the hand-over outbox (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub task_id: String,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Delivery {
    pub fn new(task_id: &str, now: Timestamp) -> Self {
        Self {
            task_id: task_id.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            last_error: None,
        }
    }

    pub fn record(&self, version: u64) -> Record {
        let mut record = Record::with_body(delivery_key(&self.task_id), entity::DSR_TASK_DELIVERY, self);
        record.version = version;
        record
    }
}

/// Counts of one drain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub dead_lettered: usize,
    /// Claimed elsewhere, or not yet due for a retry.
    pub waiting: usize,
}

impl Requests<'_> {
    /// Hands every listed task that is due to its system, until `deadline`.
    pub async fn deliver_tasks(
        &self,
        connector: &dyn TaskConnector,
        policy: RetryPolicy,
        deadline: Timestamp,
    ) -> Result<DeliveryReport, DsrError> {
        let mut report = DeliveryReport::default();
        for shard in 0..DELIVERY_SHARDS {
            let query = Query::Partition {
                partition: delivery_partition(shard),
                sort_prefix: String::new(),
            };
            let mut cursor: Option<Cursor> = None;
            loop {
                let page = self.ports.store.query(&query, 25, cursor).await?;
                for record in page.records {
                    if self.ports.clock.now() >= deadline {
                        return Ok(report);
                    }
                    self.deliver_one(connector, policy, record, &mut report).await?;
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(report)
    }

    async fn deliver_one(
        &self,
        connector: &dyn TaskConnector,
        policy: RetryPolicy,
        record: Record,
        report: &mut DeliveryReport,
    ) -> Result<(), DsrError> {
        let now = self.ports.clock.now();
        let mut entry: Delivery = record.body()?;
        if entry.next_attempt_at > now || entry.claimed_until.is_some_and(|until| until > now) {
            report.waiting += 1;
            return Ok(());
        }
        entry.claimed_until = Some(now + CLAIM);
        let claimed = entry.record(record.version + 1);
        match crate::store::put(self.ports.store, claimed.clone(), Precondition::Version(record.version)).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                report.waiting += 1;
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        }
        let done_with_entry = Write::Delete {
            key: claimed.key.clone(),
            precondition: Precondition::Version(claimed.version),
        };
        let task = match self.task(&entry.task_id).await? {
            Some((task, _)) if !task.status.has_ended() => task,
            // Answered (by the team) or gone: nothing to hand over.
            _ => {
                self.ports.store.write(vec![done_with_entry]).await?;
                return Ok(());
            }
        };
        let system = self
            .ports
            .register
            .document()
            .systems
            .iter()
            .find(|system| system.id == task.system);
        let outcome = match (system, self.message(&task)) {
            (Some(system), Some(message)) => connector.hand_over(system, &message).await,
            (None, _) => Err(HandOverError("the system is no longer in the register".to_owned())),
            (_, None) => Err(HandOverError("the task has no payload".to_owned())),
        };
        entry.attempts += 1;
        match outcome {
            Ok(()) => {
                self.mark(&entry, TaskStatus::Sent, None, done_with_entry).await?;
                tracing::info!(task_id = %entry.task_id, attempts = entry.attempts, "task handed over");
                report.sent += 1;
            }
            Err(HandOverError(error)) if entry.attempts >= policy.attempts => {
                self.mark(&entry, TaskStatus::Failed, Some(error.clone()), done_with_entry)
                    .await?;
                tracing::error!(task_id = %entry.task_id, attempts = entry.attempts, %error, "{DEAD_LETTER_LOG}");
                report.dead_lettered += 1;
            }
            Err(HandOverError(error)) => {
                tracing::warn!(task_id = %entry.task_id, attempts = entry.attempts, %error, "task hand-over failed; retried later");
                entry.next_attempt_at = now + policy.backoff(entry.attempts);
                entry.claimed_until = None;
                entry.last_error = Some(error);
                let retry = entry.record(claimed.version + 1);
                match crate::store::put(self.ports.store, retry, Precondition::Version(claimed.version)).await {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(error) => return Err(error.into()),
                }
                report.retrying += 1;
            }
        }
        Ok(())
    }

    /// What the system is sent; `None` for a task without payload (ended).
    fn message(&self, task: &SystemTask) -> Option<TaskMessage> {
        let payload = task.payload.clone()?;
        Some(TaskMessage {
            task_id: task.task_id.clone(),
            request_id: task.request_id.clone(),
            system: task.system.clone(),
            kind: task.kind,
            request_type: task.request_type,
            due_on: task.due_on,
            subject_key: payload.subject_key,
            email: payload.email,
            corrections: payload.corrections,
            answer_url: self.links.system_task_answer(&task.task_id),
        })
    }

    /// Records a hand-over's outcome on the task and its request, and
    /// removes the outbox entry, in one write. An answer that arrived in the
    /// meantime wins: an ended task stays as it is.
    async fn mark(
        &self,
        entry: &Delivery,
        status: TaskStatus,
        error: Option<String>,
        done_with_entry: Write,
    ) -> Result<(), DsrError> {
        for _ in 0..ATTEMPTS {
            let Some((mut task, version)) = self.task(&entry.task_id).await? else {
                return Ok(());
            };
            if task.status.has_ended() {
                self.ports.store.write(vec![done_with_entry]).await?;
                return Ok(());
            }
            task.status = status;
            task.attempts = entry.attempts;
            task.last_error = error.clone();
            if status == TaskStatus::Sent {
                task.sent_at = Some(self.ports.clock.now());
            }
            let writes = vec![
                Write::Put {
                    record: task.record(version + 1),
                    precondition: Precondition::Version(version),
                },
                done_with_entry.clone(),
            ];
            let event = (status == TaskStatus::Failed).then(|| {
                RequestEvent::new(
                    RequestEventKind::TaskFailed,
                    self.ports.clock.now(),
                    "system",
                    Some(format!(
                        "{}: not handed over after {} attempts; the team answers it",
                        task.system, entry.attempts
                    )),
                )
            });
            match self
                .save_task_change(&task.request_id, &task.summary(), writes, event)
                .await
            {
                Ok(_) => return Ok(()),
                Err(DsrError::Store(StoreError::Conflict)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(DsrError::Contended)
    }
}
