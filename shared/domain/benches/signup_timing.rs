//! How long `POST /newsletter/subscribe`'s work takes, per state of the
//! address: new, pending, confirmed, unsubscribed (by the person), suppressed
//! after a hard bounce or a complaint, and paced (mailed minutes ago).
//!
//! The sign-up runs against the in-memory store and a mailer, each wrapped so
//! that every call waits as long as the AWS call it stands for would (drawn
//! from a distribution with a tail: `privacy_domain::testing::latency`): the time measured is the real
//! domain work (serialisation, token generation, HMAC, composing the mail)
//! plus the modelled latency of exactly the calls the sign-up makes. Each
//! run measures one sign-up per state, in a shuffled order, on a fresh store.
//!
//! Prints the median, p90 and p99 per state (milliseconds) and fails when a
//! state's median is 2× another's or more.
//!
//! `cargo bench -p privacy-domain --bench signup_timing [-- runs]`

use std::time::Instant;

use jiff::SignedDuration;
use privacy_domain::clock::Clock;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::Mailer;
use privacy_domain::newsletter::{
    DeliveryFeedback, FeedbackKind, ListId, Newsletter, NoticeShown, SignUp, SuppressionReason,
};
use privacy_domain::ports::Ports;
use privacy_domain::store::RecordStore;
use privacy_domain::testing::latency::{Slow, GET_MS, SEND_MS, WRITE_MS};
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
        "{runs} runs per state in {:.0} s; latency model: GetItem {GET_MS} ms, PutItem {WRITE_MS} ms, \
         TransactWriteItems 10 + 2/item ms, SES {SEND_MS} ms (±20 %, tail to 4×)\n",
        started.elapsed().as_secs_f64(),
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
