//! The sender: one batch of readers of an issue at a time, at the mail
//! service's rate.
//!
//! For each reader, at send time: the subscription must still be confirmed
//! (else: suppressed), there must be no suppression (an objection counts as
//! objected, anything else as suppressed) and no restriction of processing
//! (restricted). Then the send record is written with the outcome, on the
//! condition that none exists: a reader whose record exists was handled by
//! an earlier attempt and is passed over, so a retried batch never mails
//! anyone twice. Only then is the mail service called. A transient failure
//! of the mail service gives the reader's record back (deleted) and fails
//! the batch, to be retried; a permanent one is recorded as failed.
//!
//! The batch's counts go to one counter shard in one atomic add, also when
//! the batch fails part-way. A sender killed between a send and that add
//! under-counts those mails; the send records (90 days) are the exact account.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::mail::{issue_mail, Reason};
use super::{count_write, issue_key, send_key, Issue, IssueError, IssueStatus, RecipientBatch, SendOutcome};
use crate::email::EmailAddress;
use crate::holds::keeping::is_restricted;
use crate::mail::MailError;
use crate::newsletter::{Links, Subscription, SubscriptionStatus, Suppression, SuppressionReason};
use crate::ports::Ports;
use crate::register::{entity, CategoryId};
use crate::store::{Precondition, Record, RecordKey, StoreError, Write};
use crate::subject::SubjectKey;
use crate::tokens::TokenKey;

/// A send record: what was done for one reader of an issue. No address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub issue_id: String,
    pub outcome: SendOutcome,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// What one batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub counts: BTreeMap<SendOutcome, u64>,
    /// Readers passed over because an earlier attempt handled them.
    pub already_handled: u64,
    /// The batch's issue was cancelled: nobody was mailed.
    pub cancelled: bool,
}

/// Keeps one sender's calls to the mail service at least `interval` apart,
/// across batches and invocations (built once per process).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    last_call: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    /// `interval`: the configured rate's share of one sender; zero for no pacing.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_call: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until the next call may start, and counts it as started.
    pub async fn wait(&self) {
        let mut last_call = self.last_call.lock().await;
        if let Some(previous) = *last_call {
            tokio::time::sleep_until(previous + self.interval).await;
        }
        *last_call = Some(tokio::time::Instant::now());
    }
}

pub struct IssueSender<'a> {
    pub ports: Ports<'a>,
    pub token_key: &'a TokenKey,
    pub links: &'a Links,
    pub pacer: &'a Pacer,
}

impl IssueSender<'_> {
    /// Sends one batch. `Err` when the mail service was unavailable (the
    /// batch is to be retried; the readers already mailed stay mailed) or
    /// the store failed.
    /// `deadline`: no reader is started after it (the rest of the batch is
    /// handed back as [`IssueError::Deadline`], for the retry).
    pub async fn send_batch(&self, batch: &RecipientBatch, deadline: Timestamp) -> Result<BatchReport, IssueError> {
        let mut report = BatchReport::default();
        let Some(stored) = self.ports.store.get(&issue_key(&batch.issue_id)).await? else {
            tracing::warn!(issue_id = %batch.issue_id, "a batch for an unknown issue was dropped");
            return Ok(report);
        };
        let issue: Issue = stored.body()?;
        if issue.status == IssueStatus::Cancelled {
            report.cancelled = true;
            return Ok(report);
        }
        let shard = batch.recipients.first().map_or(0, |subject| {
            u32::from(crate::newsletter::audience::audience_shard(subject))
        });
        let mut outcome = Ok(());
        for subject in &batch.recipients {
            if self.ports.clock.now() >= deadline {
                outcome = Err(IssueError::Deadline);
                break;
            }
            match self.send_one(&issue, subject).await {
                Ok(Some(done)) => *report.counts.entry(done).or_default() += 1,
                Ok(None) => report.already_handled += 1,
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        if let Some(write) = count_write(&issue.issue_id, shard, &report.counts) {
            self.ports.store.write(vec![write]).await?;
        }
        tracing::info!(
            issue_id = %issue.issue_id,
            sent = report.counts.get(&SendOutcome::Sent).copied().unwrap_or(0),
            already_handled = report.already_handled,
            "newsletter batch handled"
        );
        outcome.map(|()| report)
    }

    /// One reader: `Some(outcome)`, or `None` when an earlier attempt handled them.
    async fn send_one(&self, issue: &Issue, subject: &SubjectKey) -> Result<Option<SendOutcome>, IssueError> {
        let now = self.ports.clock.now();
        let live = |record: Option<Record>| record.filter(|record| !record.is_expired(now));
        let subscription_key = RecordKey::new(
            format!("NEWSLETTER#{}", subject.as_str()),
            format!("LIST#{}", issue.list.as_str()),
        );
        let subscription: Option<Subscription> = live(self.ports.store.get(&subscription_key).await?)
            .map(|record| record.body())
            .transpose()?;
        let suppression: Option<Suppression> = live(
            self.ports
                .store
                .get(&RecordKey::new(
                    format!("SUPPRESSION#{}", subject.as_str()),
                    "NEWSLETTER",
                ))
                .await?,
        )
        .map(|record| record.body())
        .transpose()?;
        let decided = match (&subscription, &suppression) {
            (_, Some(suppression)) if suppression.reason == SuppressionReason::Objection => {
                SendOutcome::SkippedObjected
            }
            (_, Some(_)) => SendOutcome::SkippedSuppressed,
            (Some(s), None) if s.status == SubscriptionStatus::Confirmed => {
                if is_restricted(self.ports.store, subject, now).await? {
                    SendOutcome::SkippedRestricted
                } else {
                    SendOutcome::Sent
                }
            }
            _ => SendOutcome::SkippedSuppressed,
        };
        let mut record = Record::new(send_key(&issue.issue_id, subject), entity::NEWSLETTER_SEND);
        record.subject = Some(subject.clone());
        record.set_body(&SendRecord {
            issue_id: issue.issue_id.clone(),
            outcome: decided,
            at: now,
            message_id: None,
        });
        self.ports.register.stamp(&mut record, CategoryId::MailLog, now);
        match crate::store::put(self.ports.store, record.clone(), Precondition::Absent).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(None),
            Err(error) => return Err(error.into()),
        }
        let (SendOutcome::Sent, Some(subscription)) = (decided, subscription) else {
            return Ok(Some(decided));
        };
        let Ok(to) = EmailAddress::parse("email", &subscription.email) else {
            return self.settle(record, SendOutcome::Failed, None).await;
        };
        let mail = issue_mail(
            self.ports.register,
            self.links,
            self.token_key,
            issue,
            &to,
            subject,
            Reason::of(&subscription),
        );
        self.pacer.wait().await;
        match self.ports.mailer.send(&mail).await {
            Ok(_) => Ok(Some(SendOutcome::Sent)),
            Err(MailError::Rejected(reason)) => {
                tracing::warn!(issue_id = %issue.issue_id, subject = subject.short(), %reason, "issue mail rejected");
                self.settle(record, SendOutcome::Failed, None).await
            }
            Err(error) => {
                // Give the reader back to the retry of the batch.
                self.ports
                    .store
                    .write(vec![Write::Delete {
                        key: record.key,
                        precondition: Precondition::Version(record.version),
                    }])
                    .await?;
                Err(error.into())
            }
        }
    }

    /// Rewrites a send record with its final outcome.
    async fn settle(
        &self,
        mut record: Record,
        outcome: SendOutcome,
        message_id: Option<String>,
    ) -> Result<Option<SendOutcome>, IssueError> {
        let mut body: SendRecord = record.body()?;
        body.outcome = outcome;
        body.message_id = message_id;
        let version = record.version;
        record.version += 1;
        record.set_body(&body);
        crate::store::put(self.ports.store, record, Precondition::Version(version)).await?;
        Ok(Some(outcome))
    }
}
