//! Newsletter issues: written by the privacy team, planned over the list's
//! audience index, sent one reader at a time at the mail service's rate.
//!
//! Records:
//!
//! - `ISSUES` / `ISSUE#<issue_id>`: the [`Issue`]: content, status and the
//!   planner's progress; no person. The id starts with the inverted creation
//!   time, so the partition read in key order lists the newest first. Kept.
//! - `ISSUE_DUE` / `<send_at>#<issue_id>`: the issue waits for its planner
//!   (written with the issue, deleted when planning ends or it is cancelled).
//! - `ISSUECOUNT#<issue_id>#<nn>` / `COUNT`: one of [`COUNTER_SHARDS`] counter
//!   shards (atomic adds on separate partitions: no hot item). Kept.
//! - `ISSUESEND#<issue_id>#<nn>` / `<subject>`: the send record of one reader,
//!   written (conditionally: absent) before the mail leaves, so a retried
//!   batch never mails anyone twice. On the subject index; 90 days (mail log).
//!
//! How an issue is sent: `POST /admin/newsletter/issues` writes the issue and
//! its due entry; the planner (every minute, [`planner::IssuePlanner`]) takes
//! due issues, reads the list's audience shard by shard and queues the
//! readers in batches ([`RecipientQueue`]); the sender
//! ([`sender::IssueSender`]) re-checks each reader (subscription,
//! suppression, objection, restriction) at send time and mails them.

pub mod mail;
pub mod planner;
pub mod sender;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::email::EmailAddress;
use crate::mail::{MailError, Mailer};
use crate::newsletter::{Links, ListId};
use crate::ports::Ports;
use crate::register::entity;
use crate::store::{Precondition, Query, Record, RecordKey, StoreError, Write};
use crate::subject::{Pepper, SubjectKey};
use crate::tokens::TokenKey;
use crate::FieldError;

/// How many partitions an issue's counters are spread over.
pub const COUNTER_SHARDS: u32 = 8;
/// Readers per queued batch (one SQS message: subject keys only, about 3.5 KB).
pub const RECIPIENTS_PER_BATCH: usize = 50;
const ISSUES_PARTITION: &str = "ISSUES";
const DUE_PARTITION: &str = "ISSUE_DUE";
const SUBJECT_MAX: usize = 200;
const TEXT_MAX: usize = 100_000;
const HTML_MAX: usize = 200_000;
/// Markup an issue's HTML may not hold: mail clients strip it or treat the
/// mail as hostile, and the console previews the HTML.
const REFUSED_MARKUP: &[&str] = &["<script", "javascript:", "<iframe", "<object", "<embed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    /// Waiting for `send_at` and the planner.
    Scheduled,
    /// The planner is queueing the audience.
    Planning,
    /// Every reader is queued; the sender works through them.
    Sending,
    /// Every queued reader has been handled (derived from the counts).
    Sent,
    Cancelled,
}

/// Where the planner stands: the shard it reads and the index cursor in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanProgress {
    pub shard: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A newsletter issue as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub issue_id: String,
    pub list: ListId,
    /// The subject line (`subject` is the store's attribute for the person).
    #[serde(rename = "subject_line")]
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    pub send_at: Timestamp,
    pub created_at: Timestamp,
    /// Who wrote it: the admin token's `sub`.
    pub created_by: String,
    pub status: IssueStatus,
    pub plan: PlanProgress,
    /// Readers queued so far (the audience once planning is done).
    pub audience: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    #[serde(default)]
    pub test_sends: u32,
}

/// What the sender did for one reader (a send record's `outcome`, a counter's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendOutcome {
    Sent,
    /// Unsubscribed, bounced, complained or erased since (or no longer confirmed).
    SkippedSuppressed,
    /// The reader's data is restricted (GDPR Art. 18).
    SkippedRestricted,
    /// The reader objected to marketing (Art. 21(2)).
    SkippedObjected,
    /// The mail service refused the mail for good.
    Failed,
    /// The mail service reported a hard bounce (from the SES feedback).
    Bounced,
}

impl SendOutcome {
    pub const ALL: [SendOutcome; 6] = [
        Self::Sent,
        Self::SkippedSuppressed,
        Self::SkippedRestricted,
        Self::SkippedObjected,
        Self::Failed,
        Self::Bounced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::SkippedSuppressed => "skipped_suppressed",
            Self::SkippedRestricted => "skipped_restricted",
            Self::SkippedObjected => "skipped_objected",
            Self::Failed => "failed",
            Self::Bounced => "bounced",
        }
    }

    /// Whether the outcome settles a queued reader (a bounce comes on top of a send).
    fn settles(self) -> bool {
        self != Self::Bounced
    }
}

/// An issue's counts, summed over its counter shards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueCounts(pub BTreeMap<SendOutcome, u64>);

impl IssueCounts {
    pub fn get(&self, outcome: SendOutcome) -> u64 {
        self.0.get(&outcome).copied().unwrap_or(0)
    }

    /// Readers the sender has settled (sent, skipped or failed).
    pub fn settled(&self) -> u64 {
        self.0
            .iter()
            .filter(|(outcome, _)| outcome.settles())
            .map(|(_, count)| count)
            .sum()
    }

    fn add(&mut self, outcome: SendOutcome, count: u64) {
        *self.0.entry(outcome).or_default() += count;
    }
}

/// An issue with its counts and the status they imply.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueReport {
    pub issue: Issue,
    pub status: IssueStatus,
    pub counts: IssueCounts,
    /// Readers queued but not mailed because the issue was cancelled.
    pub not_sent: u64,
}

/// A batch of readers for the sender: subject keys only, no address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientBatch {
    pub issue_id: String,
    pub recipients: Vec<SubjectKey>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the recipient queue failed: {0}")]
pub struct QueueError(pub String);

/// Where the planner puts batches of readers (SQS in AWS, a memory queue
/// locally and in tests).
#[async_trait]
pub trait RecipientQueue: Send + Sync {
    async fn enqueue(&self, batches: Vec<RecipientBatch>) -> Result<(), QueueError>;
}

/// The in-process queue: the local server's and the tests'.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    batches: Mutex<VecDeque<RecipientBatch>>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every queued batch, oldest first.
    pub fn take_all(&self) -> Vec<RecipientBatch> {
        self.batches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain(..)
            .collect()
    }
}

#[async_trait]
impl RecipientQueue for MemoryQueue {
    async fn enqueue(&self, batches: Vec<RecipientBatch>) -> Result<(), QueueError> {
        self.batches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(batches);
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no such issue")]
    NotFound,
    /// The issue is sent or cancelled already: nothing left to stop.
    #[error("the issue is already {0:?}")]
    Finished(IssueStatus),
    #[error("the issue changed concurrently too many times")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The run's time is up: the rest of the batch is for the retry.
    #[error("the run's deadline came before the batch was done")]
    Deadline,
    /// The mail service is unavailable: retry the batch later.
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// A new issue, validated: what `POST /admin/newsletter/issues` takes.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueDraft {
    pub list: ListId,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// When to send; `None` is now.
    pub send_at: Option<Timestamp>,
}

impl IssueDraft {
    /// Checks every field, naming the first that is wrong: an unknown list,
    /// an empty or over-long subject (or one with line breaks), an empty
    /// text, HTML with script (refused, not cleaned: the team must see what
    /// is sent), a `send_at` that is not RFC 3339 or lies in the past.
    pub fn parse(
        list: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
        send_at: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, FieldError> {
        let list = ListId::parse("list", list)?;
        let subject = subject.trim();
        if subject.is_empty() {
            return Err(FieldError::new("subject", "empty", "An issue needs a subject line."));
        }
        if subject.chars().count() > SUBJECT_MAX || subject.chars().any(char::is_control) {
            return Err(FieldError::invalid(
                "subject",
                "A subject line is one line of at most 200 characters.",
            ));
        }
        if text.trim().is_empty() {
            return Err(FieldError::new("text", "empty", "An issue needs a text part."));
        }
        if text.len() > TEXT_MAX {
            return Err(FieldError::invalid(
                "text",
                "The text part may be at most 100,000 bytes.",
            ));
        }
        let html = html.filter(|html| !html.trim().is_empty());
        if let Some(html) = html {
            if html.len() > HTML_MAX {
                return Err(FieldError::invalid(
                    "html",
                    "The HTML part may be at most 200,000 bytes.",
                ));
            }
            let lower = html.to_ascii_lowercase();
            if REFUSED_MARKUP.iter().any(|markup| lower.contains(markup)) {
                return Err(FieldError::new(
                    "html",
                    "unsafe_html",
                    "The HTML part may not hold scripts, javascript: links, frames or embedded objects.",
                ));
            }
        }
        let send_at = send_at
            .map(|raw| {
                raw.parse::<Timestamp>()
                    .map_err(|_| FieldError::invalid("send_at", "An RFC 3339 time like 2026-12-31T09:00:00Z."))
            })
            .transpose()?;
        if send_at.is_some_and(|at| at < now) {
            return Err(FieldError::new("send_at", "in_the_past", "`send_at` lies in the past."));
        }
        Ok(Self {
            list,
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: html.map(str::to_owned),
            send_at,
        })
    }
}

/// Whether `raw` has the shape of an issue id (13 digits, `-`, 8 hex digits).
pub fn is_issue_id(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.len() == 22
        && bytes[..13].iter().all(u8::is_ascii_digit)
        && bytes[13] == b'-'
        && bytes[14..]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// A new issue id: the inverted creation time in milliseconds (newest sorts
/// first), then 8 random hex digits.
fn new_issue_id(now: Timestamp) -> String {
    let inverted = 9_999_999_999_999_i64.saturating_sub(now.as_millisecond()).max(0);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{inverted:013}-{}", &random[..8])
}

pub(crate) fn issue_key(issue_id: &str) -> RecordKey {
    RecordKey::new(ISSUES_PARTITION, format!("ISSUE#{issue_id}"))
}

fn due_key(send_at: Timestamp, issue_id: &str) -> RecordKey {
    RecordKey::new(DUE_PARTITION, format!("{send_at}#{issue_id}"))
}

fn counter_key(issue_id: &str, shard: u32) -> RecordKey {
    RecordKey::new(format!("ISSUECOUNT#{issue_id}#{shard:02}"), "COUNT")
}

/// The send record of one reader of an issue.
pub(crate) fn send_key(issue_id: &str, subject: &SubjectKey) -> RecordKey {
    RecordKey::new(
        format!(
            "ISSUESEND#{issue_id}#{:02}",
            crate::newsletter::audience::audience_shard(subject)
        ),
        subject.as_str(),
    )
}

/// The write that adds `counts` to one counter shard of an issue.
pub(crate) fn count_write(issue_id: &str, shard: u32, counts: &BTreeMap<SendOutcome, u64>) -> Option<Write> {
    let counts: BTreeMap<String, u64> = counts
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(outcome, count)| (outcome.as_str().to_owned(), *count))
        .collect();
    (!counts.is_empty()).then(|| Write::Add {
        key: counter_key(issue_id, shard % COUNTER_SHARDS),
        entity: entity::NEWSLETTER_ISSUE_COUNT.to_owned(),
        counts,
    })
}

/// How long after an issue's mail a hard bounce is still counted on it.
const BOUNCE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(14 * 24);

/// A hard bounce from the mail service, counted on the issue whose mail the
/// reader got last (within 14 days): the reader's send records are on the
/// subject index, and the one counted is marked, so a repeated notification
/// counts once. Mail that was not an issue's counts nowhere.
pub async fn count_bounce(ports: Ports<'_>, subject: &SubjectKey) -> Result<(), StoreError> {
    let now = ports.clock.now();
    let records = crate::store::query_all(ports.store, &Query::Subject(subject.clone())).await?;
    let latest = records
        .into_iter()
        .filter(|record| record.entity == entity::NEWSLETTER_SEND && !record.is_expired(now))
        .filter_map(|record| record.body::<sender::SendRecord>().ok().map(|body| (record, body)))
        .filter(|(_, body)| body.outcome == SendOutcome::Sent && body.at > now - BOUNCE_WINDOW)
        .max_by_key(|(_, body)| body.at);
    let Some((stored, mut body)) = latest else {
        return Ok(());
    };
    body.outcome = SendOutcome::Bounced;
    let mut record = stored.clone();
    record.version += 1;
    record.set_body(&body);
    let shard = u32::from(crate::newsletter::audience::audience_shard(subject));
    let mut writes = vec![Write::Put {
        record,
        precondition: Precondition::Version(stored.version),
    }];
    writes.extend(count_write(
        &body.issue_id,
        shard,
        &BTreeMap::from([(SendOutcome::Bounced, 1)]),
    ));
    match ports.store.write(writes).await {
        // A concurrent notification counted it already.
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The privacy team's side of issues: write, list, read, test, cancel.
pub struct Issues<'a> {
    pub ports: Ports<'a>,
}

impl Issues<'_> {
    /// Stores a new issue and its due entry; the planner takes it from
    /// `send_at` (now when absent).
    pub async fn create(&self, draft: IssueDraft, created_by: &str) -> Result<Issue, IssueError> {
        let now = self.ports.clock.now();
        let issue = Issue {
            issue_id: new_issue_id(now),
            list: draft.list,
            subject: draft.subject,
            text: draft.text,
            html: draft.html,
            send_at: draft.send_at.unwrap_or(now),
            created_at: now,
            created_by: created_by.to_owned(),
            status: IssueStatus::Scheduled,
            plan: PlanProgress::default(),
            audience: 0,
            planned_at: None,
            cancelled_at: None,
            cancelled_by: None,
            test_sends: 0,
        };
        let record = Record::with_body(issue_key(&issue.issue_id), entity::NEWSLETTER_ISSUE, &issue);
        let due = Record::with_body(
            due_key(issue.send_at, &issue.issue_id),
            entity::NEWSLETTER_ISSUE_DUE,
            &serde_json::json!({"issue_id": issue.issue_id}),
        );
        self.ports
            .store
            .write(vec![
                Write::Put {
                    record,
                    precondition: Precondition::Absent,
                },
                Write::Put {
                    record: due,
                    precondition: Precondition::Absent,
                },
            ])
            .await?;
        tracing::info!(issue_id = %issue.issue_id, list = issue.list.as_str(), "newsletter issue written");
        Ok(issue)
    }

    pub(crate) async fn stored(&self, issue_id: &str) -> Result<(Record, Issue), IssueError> {
        if !is_issue_id(issue_id) {
            return Err(IssueError::NotFound);
        }
        let record = self
            .ports
            .store
            .get(&issue_key(issue_id))
            .await?
            .ok_or(IssueError::NotFound)?;
        let issue = record.body()?;
        Ok((record, issue))
    }

    /// The counts of an issue, summed over its shards.
    pub async fn counts(&self, issue_id: &str) -> Result<IssueCounts, IssueError> {
        let mut counts = IssueCounts::default();
        for shard in 0..COUNTER_SHARDS {
            if let Some(record) = self.ports.store.get(&counter_key(issue_id, shard)).await? {
                for outcome in SendOutcome::ALL {
                    if let Some(count) = record.attributes.get(outcome.as_str()).and_then(|v| v.as_u64()) {
                        counts.add(outcome, count);
                    }
                }
            }
        }
        Ok(counts)
    }

    /// An issue, its counts and the status they imply: `sending` becomes
    /// `sent` once every queued reader is settled.
    pub async fn report(&self, issue_id: &str) -> Result<IssueReport, IssueError> {
        let (_, issue) = self.stored(issue_id).await?;
        let counts = self.counts(issue_id).await?;
        let settled = counts.settled();
        let status = match issue.status {
            IssueStatus::Sending if settled >= issue.audience => IssueStatus::Sent,
            status => status,
        };
        let not_sent = if status == IssueStatus::Cancelled {
            issue.audience.saturating_sub(settled)
        } else {
            0
        };
        Ok(IssueReport {
            issue,
            status,
            counts,
            not_sent,
        })
    }

    /// The newest issues first, at most `limit`.
    pub async fn newest(&self, limit: usize) -> Result<Vec<Issue>, IssueError> {
        let query = Query::Partition {
            partition: ISSUES_PARTITION.to_owned(),
            sort_prefix: "ISSUE#".to_owned(),
        };
        let page = self.ports.store.query(&query, limit.max(1), None).await?;
        Ok(page
            .records
            .iter()
            .map(Record::body)
            .collect::<Result<Vec<Issue>, _>>()?)
    }

    /// Stops what is not yet sent: the planner queues no more readers and
    /// the sender mails none of those still queued.
    pub async fn cancel(&self, issue_id: &str, cancelled_by: &str) -> Result<Issue, IssueError> {
        for _ in 0..5 {
            let report = self.report(issue_id).await?;
            if matches!(report.status, IssueStatus::Sent | IssueStatus::Cancelled) {
                return Err(IssueError::Finished(report.status));
            }
            let (stored, mut issue) = self.stored(issue_id).await?;
            let now = self.ports.clock.now();
            issue.status = IssueStatus::Cancelled;
            issue.cancelled_at = Some(now);
            issue.cancelled_by = Some(cancelled_by.to_owned());
            let mut record = stored.clone();
            record.version += 1;
            record.set_body(&issue);
            let writes = vec![
                Write::Put {
                    record,
                    precondition: Precondition::Version(stored.version),
                },
                Write::Delete {
                    key: due_key(issue.send_at, issue_id),
                    precondition: Precondition::None,
                },
            ];
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(issue_id, "newsletter issue cancelled");
                    return Ok(issue);
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(IssueError::Contended)
    }

    /// Sends one test mail of the issue to `to`, marked as a test, and counts
    /// it on the issue. The address is neither stored nor logged.
    pub async fn send_test(
        &self,
        issue_id: &str,
        to: &EmailAddress,
        secrets: (&Pepper, &TokenKey),
        links: &Links,
        mailer: &dyn Mailer,
    ) -> Result<(), IssueError> {
        let (stored, mut issue) = self.stored(issue_id).await?;
        let subject = SubjectKey::derive(secrets.0, to);
        let mail = mail::test_mail(self.ports.register, links, secrets.1, &issue, to, &subject);
        mailer.send(&mail).await?;
        tracing::info!(issue_id, subject = subject.short(), "test mail of an issue sent");
        issue.test_sends += 1;
        let mut record = stored.clone();
        record.version += 1;
        record.set_body(&issue);
        // The count of tests is a courtesy: a concurrent change of the issue wins.
        match crate::store::put(self.ports.store, record, Precondition::Version(stored.version)).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    // Issues end to end on the in-memory adapters: who is mailed, once each,
    // with what; the planner's reads; retries; cancelling.

    use jiff::SignedDuration;

    use super::planner::IssuePlanner;
    use super::sender::IssueSender;
    use super::*;
    use crate::holds::keeping::restriction_key;
    use crate::mail::Mail;
    use crate::newsletter::{NoticeShown, SignUp, SuppressionReason};
    use crate::store::memory::{Calls, CountingStore, MemoryStore};
    use crate::store::RecordStore;
    use crate::testing::{email, World};

    const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm?token=";
    /// A deadline no test reaches.
    const FAR: Timestamp = Timestamp::MAX;

    fn world() -> World {
        World::at("2026-06-01T09:00:00Z")
    }

    async fn confirmed<S: RecordStore>(world: &World<S>, address: &str) {
        let sign_up = SignUp {
            email: email(address),
            name: None,
            lists: vec![ListId::default_list()],
            consent_id: None,
            channel: "api",
            ip: None,
            notice: NoticeShown::default(),
        };
        world.newsletter().sign_up(sign_up).await.unwrap();
        world
            .ports()
            .outbox()
            .retry(world.now() + SignedDuration::from_mins(1))
            .await
            .unwrap();
        let mail = world.mailer.sent().pop().unwrap();
        let start = mail.text.find(CONFIRM).unwrap() + CONFIRM.len();
        let token = mail.text[start..].split_whitespace().next().unwrap().to_owned();
        world.newsletter().confirm(&token, None).await.unwrap();
    }

    fn draft(send_at: Option<&str>, now: Timestamp) -> Result<IssueDraft, FieldError> {
        IssueDraft::parse(
            "news",
            "June news",
            "Hello readers.\n\nNew features.",
            None,
            send_at,
            now,
        )
    }

    async fn create<S: RecordStore>(world: &World<S>) -> Issue {
        let issues = Issues { ports: world.ports() };
        issues
            .create(draft(None, world.now()).unwrap(), "team-member")
            .await
            .unwrap()
    }

    async fn plan<S: RecordStore>(world: &World<S>, queue: &MemoryQueue) -> planner::PlanReport {
        let planner = IssuePlanner {
            ports: world.ports(),
            queue,
        };
        planner
            .plan_due(world.now() + SignedDuration::from_secs(50))
            .await
            .unwrap()
    }

    static UNPACED: std::sync::LazyLock<sender::Pacer> =
        std::sync::LazyLock::new(|| sender::Pacer::new(std::time::Duration::ZERO));

    fn sender<S: RecordStore>(world: &World<S>) -> IssueSender<'_> {
        IssueSender {
            ports: world.ports(),
            token_key: &world.secrets.token_key,
            links: &world.links,
            pacer: &UNPACED,
        }
    }

    /// Every queued reader in one batch (the planner makes one batch per page of each shard).
    fn one_batch(queue: &MemoryQueue) -> RecipientBatch {
        let batches = queue.take_all();
        RecipientBatch {
            issue_id: batches[0].issue_id.clone(),
            recipients: batches.into_iter().flat_map(|b| b.recipients).collect(),
        }
    }

    async fn send_all<S: RecordStore>(world: &World<S>, queue: &MemoryQueue) {
        for batch in queue.take_all() {
            sender(world).send_batch(&batch, FAR).await.unwrap();
        }
    }

    fn issue_mails(world: &World) -> Vec<Mail> {
        world
            .mailer
            .sent()
            .into_iter()
            .filter(|mail| mail.subject == "June news" || mail.subject == "[Test] June news")
            .collect()
    }

    /// The audience of the acceptance: 3 readers on consent, 1 unsubscribed, 1
    /// suppressed by a bounce, 1 restricted, 1 objected, 1 customer.
    async fn audience(world: &World) {
        for address in [
            "ada@example.com",
            "bo@example.com",
            "cy@example.com",
            "gone@example.com",
            "bounced@example.com",
            "restricted@example.com",
            "objected@example.com",
        ] {
            confirmed(world, address).await;
        }
        world
            .newsletter()
            .subscribe_customer(&email("customer@example.com"), None, &ListId::default_list())
            .await
            .unwrap();
        let subscriptions = world.subscriptions();
        let token = world
            .secrets
            .token_key
            .unsubscribe_token(&world.subject_of("gone@example.com"), "news");
        subscriptions
            .unsubscribe(&world.secrets.token_key, &token)
            .await
            .unwrap();
        subscriptions
            .end_subscription(
                &world.subject_of("bounced@example.com"),
                &ListId::default_list(),
                SuppressionReason::HardBounce,
            )
            .await
            .unwrap();
        let mut restriction = Record::new(
            restriction_key(&world.subject_of("restricted@example.com")),
            entity::PROCESSING_RESTRICTION,
        );
        restriction.subject = Some(world.subject_of("restricted@example.com"));
        crate::store::put(&world.store, restriction, Precondition::None)
            .await
            .unwrap();
    }

    #[test]
    fn a_draft_names_the_field_it_refuses() {
        let now: Timestamp = "2026-06-01T09:00:00Z".parse().unwrap();
        let refused = |list: &str, subject: &str, text: &str, html: Option<&str>, send_at: Option<&str>| {
            let error = IssueDraft::parse(list, subject, text, html, send_at, now).unwrap_err();
            (error.field.unwrap(), error.code)
        };
        assert_eq!(
            refused("sales", "S", "T", None, None),
            ("list".to_owned(), "unknown_list")
        );
        assert_eq!(refused("news", "  ", "T", None, None), ("subject".to_owned(), "empty"));
        assert_eq!(
            refused("news", "a\nb", "T", None, None),
            ("subject".to_owned(), "invalid_field")
        );
        assert_eq!(refused("news", "S", " ", None, None), ("text".to_owned(), "empty"));
        assert_eq!(
            refused("news", "S", "T", Some("<p>x</p><SCRIPT>alert(1)</script>"), None),
            ("html".to_owned(), "unsafe_html")
        );
        assert_eq!(
            refused("news", "S", "T", None, Some("2026-05-31T09:00:00Z")),
            ("send_at".to_owned(), "in_the_past")
        );
        assert_eq!(
            refused("news", "S", "T", None, Some("tomorrow")),
            ("send_at".to_owned(), "invalid_field")
        );
        assert_eq!(
            refused("news", "S", "T", None, Some("")),
            ("send_at".to_owned(), "invalid_field")
        );
        let draft =
            IssueDraft::parse("news", " S ", "T", Some("<p>ok</p>"), Some("2026-06-02T09:00:00Z"), now).unwrap();
        assert_eq!(draft.subject, "S");
    }

    #[tokio::test]
    async fn only_confirmed_subscriptions_are_in_the_audience_index() {
        let world = world();
        confirmed(&world, "ada@example.com").await;
        let subject = world.subject_of("ada@example.com");
        let key = crate::newsletter::audience::audience_key(
            &ListId::default_list(),
            crate::newsletter::audience::audience_shard(&subject),
        );
        let in_index = || async {
            crate::store::query_all(&world.store, &Query::Audience(key.clone()))
                .await
                .unwrap()
                .len()
        };
        assert_eq!(in_index().await, 1);
        let token = world.secrets.token_key.unsubscribe_token(&subject, "news");
        world
            .subscriptions()
            .unsubscribe(&world.secrets.token_key, &token)
            .await
            .unwrap();
        assert_eq!(in_index().await, 0, "an unsubscribed reader leaves the audience");
    }

    #[tokio::test]
    async fn an_issue_mails_each_reader_who_should_get_it_once_with_why() {
        let world = world();
        audience(&world).await;
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        let report = plan(&world, &queue).await;
        assert_eq!(
            report.queued, 6,
            "the audience index holds the six confirmed subscriptions"
        );
        // Between planning and sending, one reader objects: checked at send time.
        world
            .subscriptions()
            .end_subscription(
                &world.subject_of("objected@example.com"),
                &ListId::default_list(),
                SuppressionReason::Objection,
            )
            .await
            .unwrap();
        send_all(&world, &queue).await;
        let mails = issue_mails(&world);
        let mut to: Vec<&str> = mails.iter().map(|mail| mail.to.as_str()).collect();
        to.sort();
        assert_eq!(
            to,
            [
                "ada@example.com",
                "bo@example.com",
                "customer@example.com",
                "cy@example.com"
            ]
        );
        let customer = mails.iter().find(|m| m.to.as_str() == "customer@example.com").unwrap();
        assert!(customer
            .text
            .contains("because you are a customer of IOT Communications International AB"));
        assert!(customer.text.contains("Marknadsföringslagen 19 §"));
        assert!(customer.text.contains("opt out at any time"));
        let ada = mails.iter().find(|m| m.to.as_str() == "ada@example.com").unwrap();
        assert!(
            ada.text.contains("confirmed your subscription on 2026-06-01"),
            "{}",
            ada.text
        );
        assert!(ada.text.contains("Org.nr 559161-6122"));
        let unsubscribe = ada.list_unsubscribe.as_deref().unwrap();
        let token = unsubscribe.split("token=").nth(1).unwrap();
        assert_eq!(
            world.secrets.token_key.verify_unsubscribe_token(token).unwrap().0,
            world.subject_of("ada@example.com")
        );
        let preferences = ada.text.split("/newsletter/preferences?token=").nth(1).unwrap();
        let preferences = preferences.split_whitespace().next().unwrap();
        assert_eq!(
            world.secrets.token_key.verify_preferences_token(preferences),
            Some(world.subject_of("ada@example.com"))
        );
        assert!(ada.html.contains("/newsletter/preferences?token="));
        let report = Issues { ports: world.ports() }.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.status, IssueStatus::Sent);
        assert_eq!(report.issue.audience, 6);
        assert_eq!(report.counts.get(SendOutcome::Sent), 4);
        assert_eq!(report.counts.get(SendOutcome::SkippedRestricted), 1);
        assert_eq!(report.counts.get(SendOutcome::SkippedObjected), 1);
    }

    #[tokio::test]
    async fn a_retried_batch_mails_nobody_twice() {
        let world = world();
        for address in ["ada@example.com", "bo@example.com", "cy@example.com"] {
            confirmed(&world, address).await;
        }
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        plan(&world, &queue).await;
        let batch = one_batch(&queue);
        sender(&world).send_batch(&batch, FAR).await.unwrap();
        assert_eq!(issue_mails(&world).len(), 3);
        // The same batch delivered again (SQS delivers at least once): nothing more is sent.
        let again = sender(&world).send_batch(&batch, FAR).await.unwrap();
        assert_eq!(again.already_handled, 3);
        assert_eq!(issue_mails(&world).len(), 3);
        let report = Issues { ports: world.ports() }.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.counts.get(SendOutcome::Sent), 3);
    }

    #[tokio::test]
    async fn a_mail_service_failure_half_way_is_retried_without_duplicates() {
        let world = world();
        for address in ["ada@example.com", "bo@example.com", "cy@example.com", "di@example.com"] {
            confirmed(&world, address).await;
        }
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        plan(&world, &queue).await;
        let batch = one_batch(&queue);
        let sent_before = world.mailer.sent().len();
        // Two mails go, then the service is unavailable.
        let sender = sender(&world);
        let mut partial = batch.clone();
        partial.recipients.truncate(2);
        sender.send_batch(&partial, FAR).await.unwrap();
        world.mailer.fail_next(1);
        assert!(matches!(sender.send_batch(&batch, FAR).await, Err(IssueError::Mail(_))));
        assert_eq!(world.mailer.sent().len(), sent_before + 2);
        sender.send_batch(&batch, FAR).await.unwrap();
        let mails = issue_mails(&world);
        let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
        to.sort();
        to.dedup();
        assert_eq!(mails.len(), 4, "each of the four once");
        assert_eq!(to.len(), 4);
        let report = Issues { ports: world.ports() }.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.counts.get(SendOutcome::Sent), 4);
        assert_eq!(report.status, IssueStatus::Sent);
    }

    #[tokio::test]
    async fn cancel_stops_what_is_not_yet_sent() {
        let world = world();
        for n in 0..120 {
            confirmed(&world, &format!("reader{n}@example.com")).await;
        }
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        plan(&world, &queue).await;
        let mut batches = queue.take_all().into_iter();
        sender(&world).send_batch(&batches.next().unwrap(), FAR).await.unwrap();
        let issues = Issues { ports: world.ports() };
        issues.cancel(&issue.issue_id, "team-member").await.unwrap();
        for batch in batches {
            let report = sender(&world).send_batch(&batch, FAR).await.unwrap();
            assert!(report.cancelled);
        }
        let report = issues.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.status, IssueStatus::Cancelled);
        let sent = report.counts.get(SendOutcome::Sent);
        assert!(sent > 0 && sent < 120, "{sent}");
        assert_eq!(issue_mails(&world).len() as u64, sent);
        assert_eq!(report.not_sent, 120 - sent);
        assert!(matches!(
            issues.cancel(&issue.issue_id, "team-member").await,
            Err(IssueError::Finished(IssueStatus::Cancelled))
        ));
    }

    #[tokio::test]
    async fn an_issue_waits_for_its_send_at() {
        let world = world();
        confirmed(&world, "ada@example.com").await;
        let issues = Issues { ports: world.ports() };
        let later = draft(Some("2026-06-01T12:00:00Z"), world.now()).unwrap();
        let issue = issues.create(later, "team-member").await.unwrap();
        let queue = MemoryQueue::new();
        assert_eq!(plan(&world, &queue).await.queued, 0);
        world.clock.set("2026-06-01T12:00:00Z".parse().unwrap());
        assert_eq!(plan(&world, &queue).await.queued, 1);
        assert_eq!(
            issues.report(&issue.issue_id).await.unwrap().status,
            IssueStatus::Sending
        );
        // Planned once: a second run queues nothing.
        assert_eq!(plan(&world, &queue).await.queued, 0);
    }

    /// A store on which every query takes ten seconds of the world's clock.
    struct SlowQueries<'a> {
        inner: &'a CountingStore<MemoryStore>,
        clock: &'a crate::clock::FixedClock,
    }

    #[async_trait]
    impl RecordStore for SlowQueries<'_> {
        async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
            self.inner.get(key).await
        }
        async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            self.inner.write(writes).await
        }
        async fn query(
            &self,
            query: &Query,
            limit: usize,
            cursor: Option<crate::store::Cursor>,
        ) -> Result<crate::store::Page, StoreError> {
            self.clock.advance(SignedDuration::from_secs(10));
            self.inner.query(query, limit, cursor).await
        }
        async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
            self.inner.delete_all(keys).await
        }
    }

    #[tokio::test]
    async fn the_planner_resumes_where_it_stopped_and_reads_one_item_per_reader() {
        let calls = Calls::default();
        let world = World::on(
            CountingStore::new(MemoryStore::new(), calls.clone()),
            "2026-06-01T09:00:00Z".parse().unwrap(),
        );
        let readers = 1_200;
        for n in 0..readers {
            confirmed(&world, &format!("reader{n}@example.com")).await;
        }
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        let slow = SlowQueries {
            inner: &world.store,
            clock: &world.clock,
        };
        let planner = IssuePlanner {
            ports: world.ports().with_store(&slow),
            queue: &queue,
        };
        calls.take();
        let (mut runs, mut items) = (0, 0);
        loop {
            runs += 1;
            // Each run may take 35 seconds: three or four queries.
            let report = planner
                .plan_due(world.now() + SignedDuration::from_secs(35))
                .await
                .unwrap();
            items += report.items_read;
            if !report.unfinished {
                break;
            }
            assert!(runs < 50);
        }
        assert!(
            runs > 3,
            "planning took {runs} runs: it stopped at deadlines and resumed"
        );
        let queued: usize = queue.take_all().iter().map(|b| b.recipients.len()).sum();
        assert_eq!(queued, readers, "every reader queued once");
        let gets = calls.take().iter().filter(|call| **call == "get").count() as u64;
        // Items read: the index's, one issue per run and its due entry.
        let per_reader = (items + gets + runs) as f64 / readers as f64;
        assert!(per_reader <= 1.1, "{per_reader} items read per reader");
        let report = Issues { ports: world.ports() }.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.issue.audience, readers as u64);
        assert_eq!(report.status, IssueStatus::Sending);
    }

    #[tokio::test]
    async fn a_test_send_is_marked_and_counted() {
        let world = world();
        let issue = create(&world).await;
        let issues = Issues { ports: world.ports() };
        issues
            .send_test(
                &issue.issue_id,
                &email("team@example.com"),
                (&world.secrets.pepper, &world.secrets.token_key),
                &world.links,
                &world.mailer,
            )
            .await
            .unwrap();
        let mails = issue_mails(&world);
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "[Test] June news");
        assert!(mails[0].text.contains("This is a test"));
        assert_eq!(issues.report(&issue.issue_id).await.unwrap().issue.test_sends, 1);
        assert!(matches!(
            issues.report("0000000000000-zzzzzzzz").await,
            Err(IssueError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_hard_bounce_is_counted_once_on_the_issue_the_reader_got() {
        let world = world();
        confirmed(&world, "ada@example.com").await;
        let issue = create(&world).await;
        let queue = MemoryQueue::new();
        plan(&world, &queue).await;
        send_all(&world, &queue).await;
        let feedback = crate::newsletter::DeliveryFeedback {
            kind: crate::newsletter::FeedbackKind::PermanentBounce,
            recipients: vec![email("ada@example.com")],
        };
        for _ in 0..2 {
            world
                .subscriptions()
                .record_feedback(&world.secrets.pepper, &feedback)
                .await
                .unwrap();
        }
        let report = Issues { ports: world.ports() }.report(&issue.issue_id).await.unwrap();
        assert_eq!(report.counts.get(SendOutcome::Bounced), 1, "counted once");
        assert_eq!(report.counts.get(SendOutcome::Sent), 1);
        assert_eq!(report.status, IssueStatus::Sent);
    }

    #[tokio::test]
    async fn issues_list_newest_first() {
        let world = world();
        let first = create(&world).await;
        world.clock.advance(SignedDuration::from_mins(1));
        let second = create(&world).await;
        let newest = Issues { ports: world.ports() }.newest(10).await.unwrap();
        let ids: Vec<&str> = newest.iter().map(|i| i.issue_id.as_str()).collect();
        assert_eq!(ids, [second.issue_id.as_str(), first.issue_id.as_str()]);
    }
}
