//! The durable outbox: a mail the product promised is stored before it is
//! sent, and stays stored until the mail service has taken it.
//!
//! [`Outbox::deliver`] writes the mail as an outbox entry, tries to send it at
//! once, and on success replaces the entry by a mail-log record that keeps no
//! content (recipient key, template, status). A mail that could not be sent
//! stays in the outbox; [`Outbox::retry`] (a scheduled task) sends it later.
//! Entries are claimed with a conditional write before sending, so two runs
//! never send the same mail twice at once.
//!
//! [`Outbox::queue`] instead gives the write of an entry to a caller that
//! stores it in its own transaction and sends nothing itself: the drain
//! ([`Outbox::retry`], run at once by the table's stream and every 10 minutes)
//! sends it. A caller whose request must cost the same whatever it decided
//! (the newsletter sign-up: no answer may reveal an address's state) queues
//! [`Outbox::nothing_to_send`] where no mail is due; the drain deletes that
//! entry without calling the mail service.
//!
//! An entry keeps the whole mail, attachments included (base64), until it is
//! sent: it is one item of the table, and a DynamoDB item holds at most
//! 400 KB, so a mail's attachments may weigh at most
//! [`MAX_STORED_ATTACHMENTS_BYTES`] together; `deliver` refuses a heavier one
//! without storing it (the export checks the limit first and sends a larger
//! export another way).

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Clock;
use crate::email::EmailAddress;
use crate::mail::{Attachment, Mail, MailError, Mailer};
use crate::register::{entity, CategoryId, Register};
use crate::store::{Cursor, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;

/// The outbox's partitions: `OUTBOX#0` … `OUTBOX#7`, an entry's shard
/// picked by its mail id, so that queued mail (a write per sign-up) spreads
/// over [`OUTBOX_SHARDS`] partitions instead of capping at one partition's
/// 1,000 writes per second. The drain reads every shard, and the single
/// partition `OUTBOX` that entries queued before the sharding live in
/// (rewrites keep an entry's key, so those drain where they are; the
/// partition stays empty once they have, and its read can then go).
const OUTBOX_PARTITION: &str = "OUTBOX";
pub const OUTBOX_SHARDS: u8 = 8;

/// The partition of the entry of `mail_id`.
pub fn outbox_partition(mail_id: &Uuid) -> String {
    let shard = Sha256::digest(mail_id.as_bytes())[0] % OUTBOX_SHARDS;
    format!("{OUTBOX_PARTITION}#{shard}")
}

/// Every partition the drain reads: the shards, then the one of the entries
/// queued before the sharding.
fn outbox_partitions() -> impl Iterator<Item = String> {
    (0..OUTBOX_SHARDS)
        .map(|shard| format!("{OUTBOX_PARTITION}#{shard}"))
        .chain(std::iter::once(OUTBOX_PARTITION.to_owned()))
}
/// How long a claim keeps other senders off an entry.
const CLAIM: SignedDuration = SignedDuration::from_secs(120);
/// The most a stored mail's attachments may weigh together: base64 makes them
/// a third larger (256 KiB → 342 KiB), which leaves room within DynamoDB's
/// 400 KB per item for the mail's text, HTML and the entry's other fields.
pub const MAX_STORED_ATTACHMENTS_BYTES: usize = 256 * 1024;

/// What happened to a mail handed to the outbox. A mail-log record's
/// `status` is `sent` or `rejected`; only those were ever stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The mail service took it.
    Sent,
    /// It is stored and will be retried.
    Queued,
    /// The mail service refused it for good (logged, not retried).
    Rejected,
}

/// A stored, not yet sent mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OutboxEntry {
    mail_id: Uuid,
    template: String,
    to: String,
    subject_line: String,
    text: String,
    html: String,
    list_unsubscribe: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<StoredAttachment>,
    queued_at: Timestamp,
    attempts: u32,
    claimed_until: Option<Timestamp>,
    last_error: Option<String>,
    /// An entry that stands for a decision to send nothing: the drain deletes
    /// it without calling the mail service.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    nothing_to_send: bool,
}

/// An attachment as the outbox stores it: the content in base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAttachment {
    filename: String,
    content_type: String,
    content_base64: String,
}

impl OutboxEntry {
    fn of(mail: &Mail, template: &str, now: Timestamp, claimed_until: Option<Timestamp>) -> Self {
        Self {
            mail_id: Uuid::new_v4(),
            template: template.to_owned(),
            to: mail.to.as_str().to_owned(),
            subject_line: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            list_unsubscribe: mail.list_unsubscribe.clone(),
            attachments: mail.attachments.iter().map(StoredAttachment::of).collect(),
            queued_at: now,
            attempts: 0,
            claimed_until,
            last_error: None,
            nothing_to_send: false,
        }
    }
}

impl StoredAttachment {
    fn of(attachment: &Attachment) -> Self {
        Self {
            filename: attachment.filename.clone(),
            content_type: attachment.content_type.clone(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(&attachment.content),
        }
    }

    fn attachment(&self) -> Option<Attachment> {
        Some(Attachment {
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            content: base64::engine::general_purpose::STANDARD
                .decode(&self.content_base64)
                .ok()?,
        })
    }
}

/// What is kept of a mail once it has left: no address, no content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailLogEntry {
    pub mail_id: Uuid,
    pub template: String,
    pub status: Delivery,
    pub queued_at: Timestamp,
    pub finished_at: Timestamp,
    pub attempts: u32,
    pub message_id: Option<String>,
}

/// Counts of one retry run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    pub sent: usize,
    pub still_queued: usize,
    pub rejected: usize,
    pub skipped: usize,
    /// Entries that stood for a decision to send nothing, deleted unsent.
    pub nothing_to_send: usize,
}

/// A mail stored claimed in a caller's transaction, to be sent at once.
pub struct ClaimedMail {
    entry: OutboxEntry,
    record: Record,
    mail: Mail,
}

pub struct Outbox<'a> {
    pub store: &'a dyn RecordStore,
    pub mailer: &'a dyn Mailer,
    pub clock: &'a dyn Clock,
    pub register: &'a Register,
}

impl Outbox<'_> {
    /// Stores the mail, then tries to send it. `Err` only when the mail could
    /// not even be stored: then nothing was promised.
    ///
    /// A person who restricted processing gets no mail but what their own
    /// requests need (templates named `dsr_…`).
    pub async fn deliver(&self, mail: Mail, template: &str, subject: &SubjectKey) -> Result<Delivery, StoreError> {
        let now = self.clock.now();
        if !template.starts_with("dsr_") && crate::holds::keeping::is_restricted(self.store, subject, now).await? {
            tracing::info!(
                template,
                subject = subject.short(),
                "mail not sent: processing is restricted"
            );
            return Ok(Delivery::Rejected);
        }
        if mail.attachments_bytes() > MAX_STORED_ATTACHMENTS_BYTES {
            tracing::error!(
                template,
                subject = subject.short(),
                bytes = mail.attachments_bytes(),
                "mail not stored: its attachments are larger than an outbox entry holds"
            );
            return Ok(Delivery::Rejected);
        }
        let entry = OutboxEntry::of(&mail, template, now, Some(now + CLAIM));
        let record = self.entry_record(&entry, subject, 1);
        crate::store::put(self.store, record.clone(), Precondition::Absent).await?;
        Ok(self.attempt(entry, record, mail).await)
    }

    /// The write that queues `mail` for the drain, unclaimed, for the caller
    /// to store in its own transaction. Whether the person restricted
    /// processing is checked when the drain sends it. `None` when its
    /// attachments are heavier than an entry holds.
    pub fn queue(&self, mail: &Mail, template: &str, subject: &SubjectKey) -> Option<Write> {
        if mail.attachments_bytes() > MAX_STORED_ATTACHMENTS_BYTES {
            tracing::error!(
                template,
                subject = subject.short(),
                bytes = mail.attachments_bytes(),
                "mail not queued: its attachments are larger than an outbox entry holds"
            );
            return None;
        }
        let entry = OutboxEntry::of(mail, template, self.clock.now(), None);
        Some(Write::Put {
            record: self.entry_record(&entry, subject, 1),
            precondition: Precondition::Absent,
        })
    }

    /// The write that stores `mail` claimed for sending at once, for the
    /// caller to store in its own transaction, and what [`Outbox::send_claimed`]
    /// then sends: the mail is promised exactly when the transaction holds,
    /// and a send that fails is the drain's after the claim. `None` when its
    /// attachments are heavier than an entry holds.
    pub fn queue_claimed(&self, mail: Mail, template: &str, subject: &SubjectKey) -> Option<(Write, ClaimedMail)> {
        if mail.attachments_bytes() > MAX_STORED_ATTACHMENTS_BYTES {
            tracing::error!(
                template,
                subject = subject.short(),
                bytes = mail.attachments_bytes(),
                "mail not queued: its attachments are larger than an outbox entry holds"
            );
            return None;
        }
        let now = self.clock.now();
        let entry = OutboxEntry::of(&mail, template, now, Some(now + CLAIM));
        let record = self.entry_record(&entry, subject, 1);
        let write = Write::Put {
            record: record.clone(),
            precondition: Precondition::Absent,
        };
        Some((write, ClaimedMail { entry, record, mail }))
    }

    /// Sends a mail stored by [`Outbox::queue_claimed`]'s write once that write is stored.
    pub async fn send_claimed(&self, claimed: ClaimedMail) -> Delivery {
        self.attempt(claimed.entry, claimed.record, claimed.mail).await
    }

    /// The write of an entry that stands for "no mail": stored like a queued
    /// mail (same kind of write, in the same place), deleted unsent by the drain.
    pub fn nothing_to_send(&self, template: &str, subject: &SubjectKey) -> Write {
        let entry = OutboxEntry {
            mail_id: Uuid::new_v4(),
            template: template.to_owned(),
            to: String::new(),
            subject_line: String::new(),
            text: String::new(),
            html: String::new(),
            list_unsubscribe: None,
            attachments: Vec::new(),
            queued_at: self.clock.now(),
            attempts: 0,
            claimed_until: None,
            last_error: None,
            nothing_to_send: true,
        };
        Write::Put {
            record: self.entry_record(&entry, subject, 1),
            precondition: Precondition::Absent,
        }
    }

    /// Sends what is queued, oldest first, until `deadline` (a Lambda's time budget).
    pub async fn retry(&self, deadline: Timestamp) -> Result<RetryReport, StoreError> {
        let mut report = RetryReport::default();
        for partition in outbox_partitions() {
            if self.clock.now() >= deadline {
                break;
            }
            self.drain_partition(partition, deadline, &mut report).await?;
        }
        Ok(report)
    }

    /// Sends what one partition holds, oldest first, until `deadline`.
    async fn drain_partition(
        &self,
        partition: String,
        deadline: Timestamp,
        report: &mut RetryReport,
    ) -> Result<(), StoreError> {
        let query = Query::Partition {
            partition,
            sort_prefix: String::new(),
        };
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = self.store.query(&query, 25, cursor).await?;
            for record in page.records {
                let now = self.clock.now();
                if now >= deadline {
                    return Ok(());
                }
                if record.is_expired(now) {
                    continue;
                }
                let Ok(mut entry) = record.body::<OutboxEntry>() else {
                    tracing::error!(key = %record.key.sort, "an outbox entry is unreadable; it is left for its expiry");
                    report.skipped += 1;
                    continue;
                };
                if entry.claimed_until.is_some_and(|until| until > now) {
                    report.skipped += 1;
                    continue;
                }
                if entry.nothing_to_send {
                    let gone = Write::Delete {
                        key: record.key.clone(),
                        precondition: Precondition::Version(record.version),
                    };
                    match self.store.write(vec![gone]).await {
                        Ok(()) => report.nothing_to_send += 1,
                        Err(StoreError::Conflict) => report.skipped += 1,
                        Err(error) => return Err(error),
                    }
                    continue;
                }
                entry.claimed_until = Some(now + CLAIM);
                let Some(subject) = record.subject.clone() else {
                    report.skipped += 1;
                    continue;
                };
                let mut claimed = self.entry_record(&entry, &subject, record.version + 1);
                // Where it is stored (an entry queued before the sharding stays put).
                claimed.key = record.key.clone();
                match crate::store::put(self.store, claimed.clone(), Precondition::Version(record.version)).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict) => {
                        report.skipped += 1;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
                // Whoever restricted processing since the mail was queued gets none.
                if !entry.template.starts_with("dsr_")
                    && crate::holds::keeping::is_restricted(self.store, &subject, now).await?
                {
                    tracing::info!(template = %entry.template, subject = subject.short(), "mail not sent: processing is restricted");
                    self.finish(&entry, &claimed, Delivery::Rejected, None, now).await;
                    report.rejected += 1;
                    continue;
                }
                let Ok(to) = EmailAddress::parse("to", &entry.to) else {
                    report.skipped += 1;
                    continue;
                };
                let Some(attachments) = entry
                    .attachments
                    .iter()
                    .map(StoredAttachment::attachment)
                    .collect::<Option<Vec<_>>>()
                else {
                    tracing::error!(mail_id = %entry.mail_id, "an outbox entry's attachment is unreadable; it is left for its expiry");
                    report.skipped += 1;
                    continue;
                };
                let mail = Mail {
                    to,
                    subject: entry.subject_line.clone(),
                    text: entry.text.clone(),
                    html: entry.html.clone(),
                    list_unsubscribe: entry.list_unsubscribe.clone(),
                    attachments,
                };
                match self.attempt(entry, claimed, mail).await {
                    Delivery::Sent => report.sent += 1,
                    Delivery::Queued => report.still_queued += 1,
                    Delivery::Rejected => report.rejected += 1,
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Sends once and records the outcome. A failure to record a sent mail
    /// leaves the entry claimed; it would be sent again after the claim, which
    /// is the lesser harm than losing it.
    async fn attempt(&self, mut entry: OutboxEntry, stored: Record, mail: Mail) -> Delivery {
        let subject = stored.subject.clone();
        entry.attempts += 1;
        let outcome = self.mailer.send(&mail).await;
        let now = self.clock.now();
        let (delivery, message_id) = match &outcome {
            Ok(id) => (Delivery::Sent, Some(id.0.clone())),
            Err(MailError::Rejected(_)) => (Delivery::Rejected, None),
            Err(MailError::Unavailable(_)) => (Delivery::Queued, None),
        };
        if let Err(error) = &outcome {
            tracing::warn!(template = %entry.template, mail_id = %entry.mail_id, %error, "mail not sent");
        }
        if delivery == Delivery::Queued {
            entry.claimed_until = None;
            entry.last_error = outcome.err().map(|error| error.to_string());
            let Some(subject) = &subject else { return delivery };
            let mut record = self.entry_record(&entry, subject, stored.version + 1);
            record.key = stored.key.clone();
            let writes = vec![Write::Put {
                record,
                precondition: Precondition::Version(stored.version),
            }];
            if let Err(error) = self.store.write(writes).await {
                tracing::error!(mail_id = %entry.mail_id, %error, "the outcome of a mail could not be recorded");
            }
        } else {
            self.finish(&entry, &stored, delivery, message_id, now).await;
        }
        delivery
    }

    /// Replaces a sent or refused entry by its mail-log record (no content).
    async fn finish(
        &self,
        entry: &OutboxEntry,
        stored: &Record,
        status: Delivery,
        message_id: Option<String>,
        now: Timestamp,
    ) {
        let subject = stored.subject.clone();
        let log = MailLogEntry {
            mail_id: entry.mail_id,
            template: entry.template.clone(),
            status,
            queued_at: entry.queued_at,
            finished_at: now,
            attempts: entry.attempts,
            message_id,
        };
        let mut record = Record::new(
            RecordKey::new(
                format!("MAILLOG#{}", subject.as_ref().map_or("unknown", |s| s.as_str())),
                format!("{}#{}", now, entry.mail_id),
            ),
            entity::MAIL_LOG,
        );
        record.subject = subject;
        record.set_body(&log);
        self.register.stamp(&mut record, CategoryId::MailLog, entry.queued_at);
        let writes = vec![
            Write::Delete {
                key: stored.key.clone(),
                precondition: Precondition::Version(stored.version),
            },
            Write::Put {
                record,
                precondition: Precondition::Absent,
            },
        ];
        if let Err(error) = self.store.write(writes).await {
            tracing::error!(mail_id = %entry.mail_id, %error, "the outcome of a mail could not be recorded");
        }
    }

    fn entry_record(&self, entry: &OutboxEntry, subject: &SubjectKey, version: u64) -> Record {
        let mut record = Record::new(
            RecordKey::new(
                outbox_partition(&entry.mail_id),
                format!("{}#{}", entry.queued_at, entry.mail_id),
            ),
            entity::MAIL_OUTBOX,
        );
        record.subject = Some(subject.clone());
        record.version = version;
        record.set_body(entry);
        self.register.stamp(&mut record, CategoryId::MailLog, entry.queued_at);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::mail::RecordingMailer;
    use crate::store::memory::MemoryStore;
    use crate::subject::Pepper;

    fn mail_with(content: Vec<u8>) -> Mail {
        Mail {
            to: EmailAddress::parse("to", "ada@example.com").unwrap(),
            subject: "Your personal data".to_owned(),
            text: "Attached.\n".to_owned(),
            html: "<p>Attached.</p>".to_owned(),
            list_unsubscribe: None,
            attachments: vec![Attachment {
                filename: "personal-data.json".to_owned(),
                content_type: "application/json".to_owned(),
                content,
            }],
        }
    }

    #[tokio::test]
    async fn a_queued_mail_keeps_its_attachment_until_a_retry_sends_it() {
        let store = MemoryStore::new();
        let mailer = RecordingMailer::new();
        let clock = FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap());
        let register = Register::standard().unwrap();
        let outbox = Outbox {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
        };
        let subject = SubjectKey::derive(
            &Pepper::new(vec![1; 32]).unwrap(),
            &EmailAddress::parse("to", "ada@example.com").unwrap(),
        );
        let mail = mail_with(b"{\"every byte\": \"\\u0000 \xc3\xa5\"}".to_vec());
        mailer.fail_next(1);
        assert_eq!(
            outbox.deliver(mail.clone(), "dsr_export", &subject).await.unwrap(),
            Delivery::Queued
        );
        let stored = store.snapshot();
        let entry = stored
            .iter()
            .find(|record| record.entity == entity::MAIL_OUTBOX)
            .unwrap();
        assert_eq!(entry.attributes["attachments"][0]["filename"], "personal-data.json");

        clock.advance(SignedDuration::from_mins(5));
        let report = outbox.retry(clock.now() + SignedDuration::from_mins(1)).await.unwrap();
        assert_eq!(report.sent, 1);
        assert_eq!(mailer.sent(), vec![mail], "the attachment is sent as it was given");
        let after = store.snapshot();
        assert!(!after.iter().any(|record| record.entity == entity::MAIL_OUTBOX));
        let log = after.iter().find(|record| record.entity == entity::MAIL_LOG).unwrap();
        assert_eq!(log.attributes["status"], "sent");
        assert!(
            !log.attributes.contains_key("attachments"),
            "the mail log keeps no content"
        );
    }

    #[tokio::test]
    async fn a_thousand_queued_mails_spread_over_every_shard_and_all_are_drained() {
        let store = MemoryStore::new();
        let mailer = RecordingMailer::new();
        let clock = FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap());
        let register = Register::standard().unwrap();
        let outbox = Outbox {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
        };
        let subject = SubjectKey::derive(
            &Pepper::new(vec![1; 32]).unwrap(),
            &EmailAddress::parse("to", "ada@example.com").unwrap(),
        );
        // A second's worth of sign-ups at 1,000 per second: one queued mail each.
        let writes: Vec<Write> = (0..1000)
            .map(|_| {
                outbox
                    .queue(&mail_with(Vec::new()), "newsletter_confirmation", &subject)
                    .unwrap()
            })
            .collect();
        let mut per_partition: std::collections::BTreeMap<String, usize> = Default::default();
        for write in &writes {
            let Write::Put { record, .. } = write else {
                panic!("a put")
            };
            *per_partition.entry(record.key.partition.clone()).or_default() += 1;
        }
        assert_eq!(per_partition.len(), usize::from(OUTBOX_SHARDS), "{per_partition:?}");
        let busiest = per_partition.values().max().copied().unwrap_or_default();
        assert!(
            busiest < 1000 / usize::from(OUTBOX_SHARDS) * 3 / 2,
            "one partition takes {busiest} of 1,000 writes: {per_partition:?}"
        );
        for write in writes {
            store.write(vec![write]).await.unwrap();
        }
        // An entry queued before the sharding, in the single partition, is drained too.
        let entry = OutboxEntry::of(&mail_with(Vec::new()), "newsletter_confirmation", clock.now(), None);
        let mut legacy = outbox.entry_record(&entry, &subject, 1);
        legacy.key.partition = OUTBOX_PARTITION.to_owned();
        store
            .write(vec![Write::Put {
                record: legacy,
                precondition: Precondition::Absent,
            }])
            .await
            .unwrap();

        let report = outbox.retry(clock.now() + SignedDuration::from_mins(1)).await.unwrap();
        assert_eq!(report.sent, 1001);
        assert!(!store
            .snapshot()
            .iter()
            .any(|record| record.entity == entity::MAIL_OUTBOX));
    }

    #[tokio::test]
    async fn a_mail_whose_attachments_an_entry_cannot_hold_is_refused_unstored() {
        let store = MemoryStore::new();
        let mailer = RecordingMailer::new();
        let clock = FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap());
        let register = Register::standard().unwrap();
        let outbox = Outbox {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
        };
        let subject = SubjectKey::derive(
            &Pepper::new(vec![1; 32]).unwrap(),
            &EmailAddress::parse("to", "ada@example.com").unwrap(),
        );
        let at_limit = mail_with(vec![b'x'; MAX_STORED_ATTACHMENTS_BYTES]);
        assert_eq!(
            outbox.deliver(at_limit, "dsr_export", &subject).await.unwrap(),
            Delivery::Sent
        );
        let over = mail_with(vec![b'x'; MAX_STORED_ATTACHMENTS_BYTES + 1]);
        assert_eq!(
            outbox.deliver(over, "dsr_export", &subject).await.unwrap(),
            Delivery::Rejected
        );
        assert_eq!(mailer.attempts(), 1);
        assert!(!store
            .snapshot()
            .iter()
            .any(|record| record.entity == entity::MAIL_OUTBOX));
    }

    #[test]
    fn a_mail_log_status_is_stored_under_its_old_name() {
        for (delivery, name) in [
            (Delivery::Sent, "sent"),
            (Delivery::Queued, "queued"),
            (Delivery::Rejected, "rejected"),
        ] {
            assert_eq!(serde_json::to_value(delivery).unwrap(), serde_json::json!(name));
        }
        let stored = serde_json::json!({
            "mail_id": "0b6f1d3c-5a4e-4f7b-8c2d-1e9a0b3c4d5e", "template": "dsr_rejected",
            "status": "rejected", "queued_at": "2026-03-01T12:00:00Z", "finished_at": "2026-03-01T12:00:01Z",
            "attempts": 1, "message_id": null,
        });
        let log: MailLogEntry = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(log.status, Delivery::Rejected);
        assert_eq!(serde_json::to_value(&log).unwrap(), stored);
    }
}
