//! One newsletter issue planned and sent with every call counted: the
//! benchmark behind SPEC 11's "a newsletter issue to 100,000 recipients:
//! planning reads ≤ 1.1 items per recipient, and the sender keeps SES's
//! configured rate".
//!
//! The same run is made over two sets of adapters: the black-box benchmark
//! on the emulator (`infra/bench-issue`: DynamoDB and SQS on moto, SES a stub
//! answering with SES's latency and rate limit) and `cargo bench -p
//! privacy-domain --bench issue_run` (the in-memory store and queue, with
//! modelled latency, for 100,000 readers). Items read and calls per mail are
//! counted here, by the wrappers every call goes through, so at the same size
//! they are the same in both: they are the planner's and sender's structure,
//! not the adapters'.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::mail::{Mail, MailError, Mailer, MessageId};
use crate::newsletter::audience::audience_of;
use crate::newsletter::issues::planner::IssuePlanner;
use crate::newsletter::issues::sender::{IssueSender, Pacer};
use crate::newsletter::issues::{IssueDraft, Issues, QueueError, RecipientBatch, RecipientQueue, SendOutcome};
use crate::newsletter::{LawfulBasis, Links, ListId, Subscription, SubscriptionStatus};
use crate::ports::Ports;
use crate::register::entity;
use crate::store::memory::Calls;
use crate::store::{Record, RecordKey};
use crate::testing::World;
use crate::tokens::TokenKey;

/// SQS takes ten messages per `SendMessageBatch`: the queue adapter's calls
/// for `n` messages (`privacy_aws::sqs`).
pub const SQS_MESSAGES_PER_CALL: usize = 10;

/// Reader `n` as a confirmed sign-up leaves them: the subscription record
/// with its audience key, under the test world's pepper (so both modes put
/// the same readers in the same audience shards). Every tenth is a
/// customer (legitimate interest).
pub fn confirmed_reader(world: &World, n: usize, now: Timestamp) -> Record {
    let address = format!("reader{n}@example.com");
    let subject = world.subject_of(&address);
    let subscription = Subscription {
        list: ListId::default_list(),
        email: address,
        name: None,
        status: SubscriptionStatus::Confirmed,
        basis: if n % 10 == 0 {
            LawfulBasis::LegitimateInterest
        } else {
            LawfulBasis::Consent
        },
        token_digest: None,
        signed_up_at: Some(now),
        confirmed_at: Some(now),
        unsubscribed_at: None,
        confirmation_mails: Vec::new(),
        transient_bounces: 0,
        events: Vec::new(),
    };
    let mut record = Record::with_body(
        RecordKey::new(format!("NEWSLETTER#{}", subject.as_str()), "LIST#news"),
        entity::NEWSLETTER_SUBSCRIPTION,
        &subscription,
    );
    record.audience = audience_of(&subject, &subscription);
    record.subject = Some(subject);
    record
}

/// A recipient queue that counts the `SendMessageBatch` calls its batches take.
pub struct CountingQueue<'a> {
    pub inner: &'a dyn RecipientQueue,
    pub calls: Calls,
}

#[async_trait]
impl RecipientQueue for CountingQueue<'_> {
    async fn enqueue(&self, batches: Vec<RecipientBatch>) -> Result<(), QueueError> {
        for _ in 0..batches.len().div_ceil(SQS_MESSAGES_PER_CALL) {
            self.calls.record("SendMessageBatch");
        }
        self.inner.enqueue(batches).await
    }
}

/// A mailer that counts its calls, the mails sent to each recipient, and
/// when each was sent (for the rate). Addresses stay in memory.
pub struct TallyMailer<'a> {
    pub inner: &'a dyn Mailer,
    pub calls: Calls,
    started: Instant,
    sent: Mutex<(HashMap<String, u64>, Vec<Duration>)>,
}

impl<'a> TallyMailer<'a> {
    pub fn new(inner: &'a dyn Mailer, calls: Calls) -> Self {
        Self {
            inner,
            calls,
            started: Instant::now(),
            sent: Mutex::new((HashMap::new(), Vec::new())),
        }
    }

    /// Mails sent, distinct recipients, and mails beyond one per recipient.
    pub fn tally(&self) -> (u64, u64, u64) {
        let sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mails: u64 = sent.0.values().sum();
        let recipients = sent.0.len() as u64;
        (mails, recipients, mails - recipients)
    }

    /// Mails per second from the first mail to the last, and the most mails
    /// sent in any one-second window.
    pub fn rate(&self) -> (f64, usize) {
        let sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        observed_rate(&sent.1)
    }
}

/// Mails per second from the first to the last of `times` (sorted), and the
/// most of them in any one-second window.
pub fn observed_rate(times: &[Duration]) -> (f64, usize) {
    let (mut most, mut start) = (0, 0);
    for (end, at) in times.iter().enumerate() {
        while *at - times[start] >= Duration::from_secs(1) {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    let rate = match (times.first(), times.last()) {
        (Some(first), Some(last)) if last > first => (times.len() - 1) as f64 / (*last - *first).as_secs_f64(),
        _ => 0.0,
    };
    (rate, most)
}

#[async_trait]
impl Mailer for TallyMailer<'_> {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        self.calls.record("SendRawEmail");
        let at = self.started.elapsed();
        let result = self.inner.send(mail).await;
        if result.is_ok() {
            let mut sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *sent.0.entry(mail.to.comparison_form()).or_default() += 1;
            // When the call was made, as the mail service's rate limit counts it.
            let index = sent.1.partition_point(|earlier| *earlier <= at);
            sent.1.insert(index, at);
        }
        result
    }
}

/// What planning an issue took.
#[derive(Debug, Clone)]
pub struct Planned {
    pub issue_id: String,
    /// Planner runs (each stops at its budget, as the schedule's runs do).
    pub runs: usize,
    pub elapsed: Duration,
    /// Items the store returned to the planner (index pages, the issue, the due entries).
    pub items_read: u64,
    /// Readers queued (the issue's audience).
    pub audience: u64,
    pub calls: Vec<&'static str>,
}

/// What sending (or re-delivering) every batch took.
#[derive(Debug, Clone)]
pub struct Sent {
    pub elapsed: Duration,
    pub outcomes: BTreeMap<SendOutcome, u64>,
    /// Readers passed over because an earlier delivery handled them.
    pub already_handled: u64,
    pub calls: Vec<&'static str>,
}

/// One issue over given adapters: `ports.store` counts into `calls`, the
/// queue is a [`CountingQueue`] and the mailer a [`TallyMailer`] on the same
/// `calls`.
pub struct IssueRun<'a> {
    pub ports: Ports<'a>,
    pub calls: &'a Calls,
    pub queue: &'a CountingQueue<'a>,
    pub token_key: &'a TokenKey,
    pub links: &'a Links,
}

impl IssueRun<'_> {
    /// Writes an issue to the default list, due now, and plans it run after
    /// run, each with `budget` (the planner's Lambda time less its margin).
    pub async fn create_and_plan(&self, budget: SignedDuration) -> Planned {
        let issues = Issues { ports: self.ports };
        let now = self.ports.clock.now();
        let draft = IssueDraft::parse("news", "Benchmark", "Hello.", None, None, now).expect("a valid issue");
        let issue = issues.create(draft, "bench").await.expect("the issue is written");
        self.calls.take();
        self.calls.take_items_read();
        let planner = IssuePlanner {
            ports: self.ports,
            queue: self.queue,
        };
        let started = Instant::now();
        let mut runs = 0;
        loop {
            runs += 1;
            let report = planner
                .plan_due(self.ports.clock.now() + budget)
                .await
                .expect("a planner run");
            if !report.unfinished {
                break;
            }
        }
        let elapsed = started.elapsed();
        let calls = self.calls.take();
        let items_read = self.calls.take_items_read();
        let audience = issues
            .report(&issue.issue_id)
            .await
            .expect("the issue's report")
            .issue
            .audience;
        self.calls.take();
        self.calls.take_items_read();
        Planned {
            issue_id: issue.issue_id,
            runs,
            elapsed,
            items_read,
            audience,
            calls,
        }
    }

    /// Sends every batch with `senders` senders at once, each pacing its
    /// mails at its share of `rate` (as each deployed sender does:
    /// `SENDER_CONCURRENCY / SEND_RATE_PER_SECOND` apart; 0: unpaced), taking
    /// batches from one list as they take messages from the queue.
    pub async fn send(&self, batches: &[RecipientBatch], senders: usize, rate: f64) -> Sent {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(senders as f64 / rate)
        } else {
            Duration::ZERO
        };
        let pacers: Vec<Pacer> = (0..senders.max(1)).map(|_| Pacer::new(interval)).collect();
        let next = AtomicUsize::new(0);
        let totals = Mutex::new((BTreeMap::<SendOutcome, u64>::new(), 0u64));
        self.calls.take();
        let started = Instant::now();
        let work = pacers.iter().map(|pacer| {
            let sender = IssueSender {
                ports: self.ports,
                token_key: self.token_key,
                links: self.links,
                pacer,
            };
            let (next, totals) = (&next, &totals);
            async move {
                loop {
                    let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let report = sender.send_batch(batch, Timestamp::MAX).await.expect("a batch is sent");
                    let mut totals = totals.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    for (outcome, count) in report.counts {
                        *totals.0.entry(outcome).or_default() += count;
                    }
                    totals.1 += report.already_handled;
                }
            }
        });
        crate::concurrently::join_all(work).await;
        let elapsed = started.elapsed();
        let (outcomes, already_handled) = totals.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        Sent {
            elapsed,
            outcomes,
            already_handled,
            calls: self.calls.take(),
        }
    }
}

/// Each kind of call and how many times it was made, by name.
pub fn by_kind(calls: &[&'static str]) -> BTreeMap<&'static str, usize> {
    let mut kinds = BTreeMap::new();
    for call in calls {
        *kinds.entry(*call).or_default() += 1;
    }
    kinds
}

/// `kind:count,…`, for a report line.
pub fn kinds_line(kinds: &BTreeMap<&'static str, usize>) -> String {
    kinds
        .iter()
        .map(|(kind, count)| format!("{}:{count}", kind.replace(' ', "_")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The figures of one run, as both modes print them (one `bench-issue:`
/// line of `name=value`s, read by `infra/bench-issue`).
#[derive(Debug, Clone)]
pub struct Summary {
    pub readers: usize,
    pub planner_runs: usize,
    pub planning: Duration,
    pub items_read: u64,
    pub index_queries: usize,
    pub audience: u64,
    pub sqs_messages: usize,
    pub senders: usize,
    pub configured_rate: f64,
    pub mails: u64,
    pub sending: Duration,
    /// Mails per second from the first call to the mail service to the last.
    pub rate: f64,
    /// The most calls to the mail service in any one second.
    pub max_per_second: usize,
    /// Calls to AWS while planning and sending, by kind.
    pub calls: BTreeMap<&'static str, usize>,
    pub redelivery: Duration,
    /// Calls while every message was delivered a second time.
    pub redelivery_calls: usize,
    pub redelivered_mails: u64,
    pub duplicates: u64,
}

impl Summary {
    pub fn of(
        readers: usize,
        planned: &Planned,
        batches: usize,
        first: &Sent,
        again: &Sent,
        (senders, configured_rate): (usize, f64),
        mailer: &TallyMailer<'_>,
    ) -> Self {
        let (mails, _, duplicates) = mailer.tally();
        let (rate, max_per_second) = mailer.rate();
        let mut calls = by_kind(&planned.calls);
        for (kind, count) in by_kind(&first.calls) {
            *calls.entry(kind).or_default() += count;
        }
        Self {
            readers,
            planner_runs: planned.runs,
            planning: planned.elapsed,
            items_read: planned.items_read,
            index_queries: planned.calls.iter().filter(|call| **call == "query").count(),
            audience: planned.audience,
            sqs_messages: batches,
            senders,
            configured_rate,
            mails,
            sending: first.elapsed,
            rate,
            max_per_second,
            calls,
            redelivery: again.elapsed,
            redelivery_calls: again.calls.len(),
            redelivered_mails: again.outcomes.get(&SendOutcome::Sent).copied().unwrap_or(0),
            duplicates,
        }
    }

    pub fn items_read_per_reader(&self) -> f64 {
        self.items_read as f64 / self.readers as f64
    }

    pub fn calls_per_mail(&self) -> f64 {
        self.calls.values().sum::<usize>() as f64 / self.mails.max(1) as f64
    }

    /// Panics unless every reader got one mail, none two, and planning read
    /// at most 1.1 items per reader.
    pub fn check(&self) {
        assert_eq!(self.audience, self.readers as u64, "every reader queued: {self}");
        assert_eq!(self.mails, self.readers as u64, "every reader mailed: {self}");
        assert_eq!(self.duplicates, 0, "nobody mailed twice: {self}");
        assert_eq!(self.redelivered_mails, 0, "a second delivery mails nobody: {self}");
        assert!(
            self.items_read_per_reader() <= 1.1,
            "at most 1.1 items read per reader: {self}"
        );
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "readers={} planner_runs={} planning_s={:.1} items_read={} items_read_per_reader={:.4} \
             index_queries={} sqs_messages={} senders={} configured_rate={} mails={} sending_s={:.1} \
             mails_per_s={:.2} max_per_s={} aws_calls={} aws_calls_per_mail={:.3} calls={} \
             redelivery_s={:.1} redelivery_calls_per_reader={:.2} duplicates={}",
            self.readers,
            self.planner_runs,
            self.planning.as_secs_f64(),
            self.items_read,
            self.items_read_per_reader(),
            self.index_queries,
            self.sqs_messages,
            self.senders,
            self.configured_rate,
            self.mails,
            self.sending.as_secs_f64(),
            self.rate,
            self.max_per_second,
            self.calls.values().sum::<usize>(),
            self.calls_per_mail(),
            kinds_line(&self.calls),
            self.redelivery.as_secs_f64(),
            self.redelivery_calls as f64 / self.readers.max(1) as f64,
            self.duplicates,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::mail::RecordingMailer;
    use crate::newsletter::issues::MemoryQueue;
    use crate::store::memory::{CountingStore, MemoryStore};
    use crate::store::{Precondition, RecordStore, Write};

    /// What an issue costs per reader, pinned: planning reads one item per
    /// reader (plus the due entry and the issue), sending makes three reads,
    /// a conditional put and one call to SES per reader and two calls per
    /// batch, and a second delivery mails nobody.
    #[tokio::test]
    async fn an_issue_reads_one_item_per_reader_to_plan_and_makes_five_calls_per_mail() {
        let world = World::at("2026-06-01T09:00:00Z");
        let store = MemoryStore::new();
        let readers = 1_000;
        let now = Timestamp::now();
        for n in 0..readers {
            let record = confirmed_reader(&world, n, now);
            store
                .write(vec![Write::Put {
                    record,
                    precondition: Precondition::None,
                }])
                .await
                .unwrap();
        }
        let calls = Calls::default();
        let store = CountingStore::new(store, calls.clone());
        let recording = RecordingMailer::new();
        let mailer = TallyMailer::new(&recording, calls.clone());
        let memory_queue = MemoryQueue::new();
        let queue = CountingQueue {
            inner: &memory_queue,
            calls: calls.clone(),
        };
        let run = IssueRun {
            ports: Ports {
                store: &store,
                mailer: &mailer,
                clock: &SystemClock,
                register: &world.register,
            },
            calls: &calls,
            queue: &queue,
            token_key: &world.secrets.token_key,
            links: &world.links,
        };
        let planned = run.create_and_plan(SignedDuration::from_secs(50)).await;
        let batches = memory_queue.take_all();
        let first = run.send(&batches, 2, 0.0).await;
        let again = run.send(&batches, 2, 0.0).await;
        let summary = Summary::of(readers, &planned, batches.len(), &first, &again, (2, 0.0), &mailer);
        summary.check();

        // 16 audience shards of about 62 readers: one page each.
        let pages = by_kind(&planned.calls)["query"] - 1;
        assert_eq!(pages, 16, "{summary}");
        assert_eq!(planned.items_read, readers as u64 + 2, "{summary}");
        let b = batches.len();
        assert_eq!(
            by_kind(&first.calls),
            BTreeMap::from([
                ("get", 3 * readers + b),
                ("conditional put", readers),
                ("SendRawEmail", readers),
                ("update", b),
            ]),
            "{summary}"
        );
        assert!(summary.calls_per_mail() < 5.2, "{summary}");
        // A second delivery reads as much, writes nothing that sticks, mails nobody.
        assert_eq!(
            by_kind(&again.calls),
            BTreeMap::from([("get", 3 * readers + b), ("conditional put", readers)]),
            "{summary}"
        );
        assert_eq!(again.already_handled, readers as u64);
    }
}
