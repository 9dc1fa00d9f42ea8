//! One newsletter issue to N readers on the in-memory store and queue: the
//! structural half of SPEC 11's "a newsletter issue to 100,000 recipients:
//! planning reads ≤ 1.1 items per recipient, and the sender keeps SES's
//! configured rate", at sizes the emulator cannot reach in reasonable time.
//!
//! The planner and sender are the deployed ones (`newsletter::issues`), run by
//! the harness the emulator benchmark also uses (`testing::issue_run`): N
//! confirmed readers, an issue planned run after run onto a queue, every
//! batch sent by `ISSUE_BENCH_SENDERS` senders each paced at its share of
//! `ISSUE_BENCH_RATE`, then every batch delivered a second time. Items read
//! and calls per mail are counted by the same wrappers as on the emulator,
//! so they are the same at the same N. With `ISSUE_BENCH_LATENCY=modelled`
//! every call waits as long as its AWS call would (`testing::latency`:
//! GetItem 4 ms, PutItem/UpdateItem 6 ms, Query 6 ms, SendRawEmail 60 ms,
//! with a tail), so the rate measured is the pacer's under AWS's latency.
//!
//! `ISSUE_BENCH_READERS=100000 cargo bench -p privacy-domain --bench issue_run`
//! (`infra/bench-issue --in-memory N` runs it). Exits non-zero when a reader
//! is mailed twice or not at all, or planning reads over 1.1 items per reader.

use async_trait::async_trait;
use jiff::SignedDuration;
use privacy_domain::clock::SystemClock;
use privacy_domain::mail::{Mail, MailError, Mailer, MessageId};
use privacy_domain::newsletter::issues::MemoryQueue;
use privacy_domain::ports::Ports;
use privacy_domain::store::memory::{Calls, CountingStore, MemoryStore};
use privacy_domain::store::{Precondition, RecordStore, Write};
use privacy_domain::testing::issue_run::{confirmed_reader, CountingQueue, IssueRun, Summary, TallyMailer};
use privacy_domain::testing::latency::Slow;
use privacy_domain::testing::World;

/// A mail service that takes every mail and keeps none (100,000 composed
/// mails would only fill memory).
struct Sink;

#[async_trait]
impl Mailer for Sink {
    async fn send(&self, _mail: &Mail) -> Result<MessageId, MailError> {
        Ok(MessageId(uuid::Uuid::new_v4().to_string()))
    }
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Plans and sends the issue over `store` and `mailer` (slow or not).
async fn run<S: RecordStore, M: Mailer>(
    world: &World,
    store: S,
    mailer: &M,
    readers: usize,
    senders: usize,
    rate: f64,
) -> Summary {
    let calls = Calls::default();
    let store = CountingStore::new(store, calls.clone());
    let tally = TallyMailer::new(mailer, calls.clone());
    let memory_queue = MemoryQueue::new();
    let queue = CountingQueue {
        inner: &memory_queue,
        calls: calls.clone(),
    };
    let issue = IssueRun {
        ports: Ports {
            store: &store,
            mailer: &tally,
            clock: &SystemClock,
            register: &world.register,
        },
        calls: &calls,
        queue: &queue,
        token_key: &world.secrets.token_key,
        links: &world.links,
    };
    // The planner's Lambda time (60 s) less its margin (10 s), as deployed.
    let planned = issue.create_and_plan(SignedDuration::from_secs(50)).await;
    let batches = memory_queue.take_all();
    let first = issue.send(&batches, senders, rate).await;
    let again = issue.send(&batches, senders, 0.0).await;
    Summary::of(
        readers,
        &planned,
        batches.len(),
        &first,
        &again,
        (senders, rate),
        &tally,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let readers: usize = setting("ISSUE_BENCH_READERS", 100_000);
    let rate: f64 = setting("ISSUE_BENCH_RATE", 0.0);
    let senders: usize = setting("ISSUE_BENCH_SENDERS", 2);
    let modelled = setting("ISSUE_BENCH_LATENCY", "none".to_owned()) == "modelled";
    let world = World::at("2026-06-01T09:00:00Z");
    let now = jiff::Timestamp::now();
    let store = MemoryStore::new();
    let seeding = std::time::Instant::now();
    for chunk in (0..readers).collect::<Vec<_>>().chunks(25) {
        let writes = chunk
            .iter()
            .map(|n| Write::Put {
                record: confirmed_reader(&world, *n, now),
                precondition: Precondition::None,
            })
            .collect();
        store.write(writes).await.expect("seeded");
    }
    let seeding = seeding.elapsed();
    let summary = if modelled {
        run(&world, Slow(&store), &Slow(&Sink), readers, senders, rate).await
    } else {
        run(&world, store, &Sink, readers, senders, rate).await
    };
    println!(
        "bench-issue: mode=in-memory latency={} seeding_s={:.1} {summary}",
        if modelled { "modelled" } else { "none" },
        seeding.as_secs_f64()
    );
    summary.check();
}
