//! How long `POST /newsletter/subscribe`'s work takes, per state of the
//! address: new, pending, confirmed, unsubscribed (by the person), suppressed
//! after a hard bounce or a complaint, and paced (mailed minutes ago).
//!
//! The sign-up runs against the in-memory store and a mailer, each wrapped so
//! that every call waits as long as the AWS call it stands for would (drawn
//! from a distribution with a tail, below): the time measured is the real
//! domain work (serialisation, token generation, HMAC, composing the mail)
//! plus the modelled latency of exactly the calls the sign-up makes. Each
//! run measures one sign-up per state, in a shuffled order, on a fresh store.
//!
//! Prints the median, p90 and p99 per state (milliseconds) and fails when a
//! state's median is 2× another's or more.
//!
//! `cargo bench -p privacy-domain --bench signup_timing [-- runs]`

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::SignedDuration;
use privacy_domain::clock::Clock;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::{Mail, MailError, Mailer, MessageId, RecordingMailer};
use privacy_domain::newsletter::{
    DeliveryFeedback, FeedbackKind, ListId, Newsletter, NoticeShown, SignUp, SuppressionReason,
};
use privacy_domain::ports::Ports;
use privacy_domain::store::memory::MemoryStore;
use privacy_domain::store::{Cursor, Page, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use privacy_domain::testing::World;

const STATES: [&str; 7] = [
    "new",
    "pending",
    "confirmed",
    "unsubscribed",
    "bounced",
    "complained",
    "paced",
];

/// Modelled latencies (milliseconds, the median of each call from a Lambda in
/// the table's region): DynamoDB GetItem 4, PutItem/DeleteItem 6,
/// TransactWriteItems 10 + 2 per item, Query 6; SES SendRawEmail 60.
fn store_latency(call: &[Write]) -> f64 {
    match call.len() {
        0 => 0.0,
        1 => 6.0,
        items => 10.0 + 2.0 * items as f64,
    }
}
const GET: f64 = 4.0;
const QUERY: f64 = 6.0;
const SEND: f64 = 60.0;

/// A latency drawn around `median`: most calls within ±20 %, one in ten up
/// to 2×, one in a hundred up to 4× (the tail AWS calls show).
async fn wait_about(median: f64) {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let unit = |byte: u8| f64::from(byte) / 255.0;
    let spread = 0.8 + 0.4 * unit(bytes[0]);
    let tail = match bytes[1] {
        0..=2 => 1.0 + 3.0 * unit(bytes[2]),
        3..=25 => 1.0 + unit(bytes[2]),
        _ => 1.0,
    };
    tokio::time::sleep(Duration::from_secs_f64(median * spread * tail / 1000.0)).await;
}

struct Slow<T>(T);

#[async_trait]
impl RecordStore for Slow<&MemoryStore> {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        wait_about(GET).await;
        self.0.get(key).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        wait_about(store_latency(&writes)).await;
        self.0.write(writes).await
    }

    async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
        wait_about(QUERY).await;
        self.0.query(query, limit, cursor).await
    }

    async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
        wait_about(QUERY).await;
        self.0.delete_all(keys).await
    }
}

#[async_trait]
impl Mailer for Slow<&RecordingMailer> {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        wait_about(SEND).await;
        self.0.send(mail).await
    }
}

fn address(state: &str) -> EmailAddress {
    EmailAddress::parse("email", &format!("{state}@example.com")).expect("a valid address")
}

fn sign_up(state: &str) -> SignUp {
    SignUp {
        email: address(state),
        name: None,
        lists: vec![ListId::default_list()],
        consent_id: None,
        channel: "form",
        ip: None,
        notice: NoticeShown::default(),
    }
}

/// The newsletter of `world` over another store and mailer (the slow ones).
fn newsletter_on<'a>(world: &'a World, store: &'a dyn RecordStore, mailer: &'a dyn Mailer) -> Newsletter<'a> {
    Newsletter {
        ports: Ports {
            store,
            mailer,
            ..world.ports()
        },
        secrets: &world.secrets,
        links: &world.links,
    }
}

/// Signs up without latency and sends what is queued (as the drain does).
async fn signed_up(world: &World, state: &str) -> String {
    let newsletter = world.newsletter();
    newsletter.sign_up(sign_up(state)).await.expect("a sign-up");
    world
        .ports()
        .outbox()
        .retry(world.clock.now() + SignedDuration::from_mins(1))
        .await
        .expect("a drain");
    let mail = world
        .mailer
        .sent_to(&address(state))
        .pop()
        .expect("a confirmation mail");
    let prefix = "/newsletter/confirm?token=";
    let start = mail.text.find(prefix).expect("a link") + prefix.len();
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Every state but `new`, each on its own address.
async fn prepare(world: &World) {
    let newsletter = world.newsletter();
    signed_up(world, "pending").await;
    for state in ["confirmed", "unsubscribed"] {
        let token = signed_up(world, state).await;
        newsletter.confirm(&token, None).await.expect("confirmed");
    }
    let subject = newsletter.subject_of(&address("unsubscribed"));
    newsletter
        .subscriptions()
        .end_subscription(&subject, &ListId::default_list(), SuppressionReason::Unsubscribed)
        .await
        .expect("unsubscribed");
    for (state, kind) in [
        ("bounced", FeedbackKind::PermanentBounce),
        ("complained", FeedbackKind::Complaint),
    ] {
        let feedback = DeliveryFeedback {
            kind,
            recipients: vec![address(state)],
        };
        newsletter
            .subscriptions()
            .record_feedback(&world.secrets.pepper, &feedback)
            .await
            .expect("feedback");
    }
    world.clock.advance(SignedDuration::from_mins(10));
    signed_up(world, "paced").await;
    world.clock.advance(SignedDuration::from_mins(1));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(300);
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); STATES.len()];
    let started = Instant::now();
    for _ in 0..runs {
        let world = World::at("2026-06-01T09:00:00Z");
        prepare(&world).await;
        let store = Slow(&world.store);
        let mailer = Slow(&world.mailer);
        let newsletter = newsletter_on(&world, &store, &mailer);
        let mut order: Vec<usize> = (0..STATES.len()).collect();
        let shuffle = *uuid::Uuid::new_v4().as_bytes();
        for i in (1..order.len()).rev() {
            order.swap(i, usize::from(shuffle[i]) % (i + 1));
        }
        for index in order {
            let began = Instant::now();
            newsletter.sign_up(sign_up(STATES[index])).await.expect("a sign-up");
            times[index].push(began.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!(
        "{runs} runs per state in {:.0} s; latency model: GetItem {GET} ms, PutItem {} ms, \
         TransactWriteItems 10 + 2/item ms, SES {SEND} ms (±20 %, tail to 4×)\n",
        started.elapsed().as_secs_f64(),
        store_latency(&[Write::Delete {
            key: RecordKey::new("", ""),
            precondition: Precondition::None
        }]),
    );
    println!("| state | median (ms) | p90 (ms) | p99 (ms) |");
    println!("|---|---:|---:|---:|");
    let mut medians = Vec::new();
    for (state, samples) in STATES.iter().zip(&mut times) {
        samples.sort_by(f64::total_cmp);
        let median = percentile(samples, 50.0);
        medians.push(median);
        println!(
            "| {state} | {median:.1} | {:.1} | {:.1} |",
            percentile(samples, 90.0),
            percentile(samples, 99.0)
        );
    }
    let fastest = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = medians.iter().copied().fold(0.0, f64::max);
    let ratio = slowest / fastest;
    println!("\nslowest median / fastest median: {ratio:.2}");
    if ratio >= 2.0 {
        eprintln!("FAIL: a state's median is 2× another's or more: the answer's timing tells the state");
        std::process::exit(1);
    }
}
