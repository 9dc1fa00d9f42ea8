//! The retention sweep (SPEC 5) through the built `retention-sweep`
//! function and real EventBridge events, against the DynamoDB/SES emulator:
//! every register category goes exactly when the register says, legal holds
//! keep what they hold, one sweep reads only what is due, a sweep cut short
//! ends like an uninterrupted one, the digest reaches the privacy team, and a
//! changed register changes what the sweep does.

use std::time::Instant;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use privacy_domain::email::EmailAddress;
use privacy_domain::register::{CategoryId, Register};
use privacy_domain::retention::{category_name, PrivacyTeam, SweepOutcome};
use privacy_domain::store::{Record, RecordKey};
use privacy_domain::testing::World;
use privacy_tests::events::sample;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::mails_to;
use privacy_tests::sweep::{closed_request, emf_lines, entity_of, queue_entry, record_of, subject, SweepDeployment};
use serde_json::{json, Value};

fn at(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

fn day(text: &str) -> Date {
    text.parse().expect("a date")
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn count(run: &Value, field: &str) -> u64 {
    run[field]
        .as_u64()
        .unwrap_or_else(|| panic!("the run has a count `{field}`: {run}"))
}

fn deleted_in(run: &Value, category: CategoryId) -> u64 {
    run["categories"][category_name(Some(category))]["deleted"]
        .as_u64()
        .unwrap_or(0)
}

/// A record of a fixture: what it is and when it must be gone (or shed fields).
struct Boundary {
    what: String,
    at: Timestamp,
    key: RecordKey,
    category: CategoryId,
    minimise: bool,
}

#[tokio::test]
async fn every_category_goes_exactly_when_the_register_says() {
    let deployment = SweepDeployment::new().await;
    let register = Register::standard().expect("the standard register");
    let person = subject(1);
    // One event a day apart per category, so that no two share a boundary.
    let event_at = |n: i64| at("2027-02-15T10:30:00Z") + SignedDuration::from_hours(24 * n);
    let mut boundaries = Vec::new();
    let mut suppression = None;
    for (n, category) in CategoryId::ALL.into_iter().enumerate() {
        let key = RecordKey::new(format!("FIXTURE#{n}"), entity_of(category).0.to_uppercase());
        let record = if category == CategoryId::RequestsClosed {
            let record = closed_request(&register, "closed-fixture", person.clone(), event_at(n as i64));
            boundaries.push(Boundary {
                what: "requests_closed loses address and name".to_owned(),
                at: register
                    .minimisation_due(category, event_at(n as i64))
                    .expect("closed requests shed fields"),
                key: record.key.clone(),
                category,
                minimise: true,
            });
            record
        } else {
            record_of(&register, category, key, Some(person.clone()), event_at(n as i64))
        };
        match record.expires_at {
            Some(expires_at) => boundaries.push(Boundary {
                what: format!("{category:?} expires"),
                at: expires_at,
                key: record.key.clone(),
                category,
                minimise: false,
            }),
            None => suppression = Some(record.key.clone()),
        }
        deployment.put(record).await;
    }
    boundaries.sort_by_key(|boundary| boundary.at);
    let expected = [
        ("NewsletterPending expires", "2027-02-23T10:30:00Z"),
        ("NewsletterSubscribed expires", "2027-03-19T10:30:00Z"),
        ("requests_closed loses address and name", "2027-03-22T10:30:00Z"),
        // 90 days on the Stockholm calendar: summer time began meanwhile.
        ("MailLog expires", "2027-05-22T09:30:00Z"),
        // Minimised 30 days after receipt, then kept 24 months (CCPA regulations § 7101).
        ("RequestsUnverified expires", "2029-03-21T10:30:00Z"),
        ("ConsentRecords expires", "2030-02-15T10:30:00Z"),
        ("RequestsClosed expires", "2030-02-20T10:30:00Z"),
        // Fiscal year closed in 2027: kept through 2034, gone at midnight in Stockholm.
        ("Invoicing expires", "2034-12-31T23:00:00Z"),
    ];
    let found: Vec<(String, Timestamp)> = boundaries.iter().map(|b| (b.what.clone(), b.at)).collect();
    let expected: Vec<(String, Timestamp)> = expected
        .iter()
        .map(|(what, when)| (what.to_string(), at(when)))
        .collect();
    assert_eq!(found, expected, "the register's periods");

    let function = deployment.start(true).await;
    let started = Instant::now();
    let mut last_swept = None::<Timestamp>;
    for boundary in &boundaries {
        // Years between boundaries: as if daily runs had swept the empty days
        // (one Query each; the first run's walk from the first day is kept).
        if last_swept.is_some_and(|last| boundary.at - last > SignedDuration::from_hours(24 * 60)) {
            let two_days_before = (boundary.at - SignedDuration::from_hours(48))
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            deployment.set_checkpoint(two_days_before).await;
        }
        last_swept = Some(boundary.at);
        let before = function.sweep_at(boundary.at - secs(1)).await;
        assert_eq!(before["outcome"], "completed", "{before}");
        let record = deployment.get(&boundary.key).await;
        let record = record.unwrap_or_else(|| panic!("{}: still there a second before {}", boundary.what, boundary.at));
        if boundary.minimise {
            assert!(
                record.attributes.contains_key("email"),
                "{}: not a second early",
                boundary.what
            );
        }

        let after = function.sweep_at(boundary.at + secs(1)).await;
        assert_eq!(after["outcome"], "completed", "{after}");
        if boundary.minimise {
            let record = deployment
                .get(&boundary.key)
                .await
                .expect("a minimised request is kept");
            assert!(!record.attributes.contains_key("email") && !record.attributes.contains_key("name"));
            assert_eq!(record.attributes["type"], "access", "the rest is kept");
            assert_eq!(record.due, Some(day("2030-02-20")), "re-stamped to its expiry day");
            assert_eq!(after["categories"]["requests_closed"]["minimised"], 1);
        } else {
            assert!(
                !deployment.exists(&boundary.key).await,
                "{}: gone a second after {}",
                boundary.what,
                boundary.at
            );
            assert_eq!(deleted_in(&after, boundary.category), 1, "{}: {after}", boundary.what);
            assert_eq!(count(&after, "deleted"), 1, "nothing else went: {after}");
        }
    }
    let suppression = suppression.expect("the suppression fixture");
    assert!(
        deployment.exists(&suppression).await,
        "suppression entries are kept indefinitely"
    );
    eprintln!("16 sweeps over eight years: {:?}", started.elapsed());
    function
        .stop_checking_logs(&["closed-fixture@example.com", "Ada Lovelace", &deployment.team])
        .await;
}

#[tokio::test]
async fn a_legal_hold_keeps_a_record_until_the_hold_ends() {
    let deployment = SweepDeployment::new().await;
    let store = deployment.store();
    let register = Register::standard().expect("the standard register");
    let held_person = subject(2);
    let hold_ends = at("2027-06-01T12:00:00Z");
    World::on(store, at("2027-01-01T00:00:00Z"))
        .ports()
        .legal_holds()
        .place(
            &held_person,
            CategoryId::MailLog,
            hold_ends,
            "Bokföringslagen 7:2".to_owned(),
            "team-member-1",
        )
        .await
        .expect("place a hold");
    let queued = at("2027-01-10T08:00:00Z");
    let held = record_of(
        &register,
        CategoryId::MailLog,
        RecordKey::new("MAILLOG#held", "1"),
        Some(held_person.clone()),
        queued,
    );
    let free = record_of(
        &register,
        CategoryId::MailLog,
        RecordKey::new("MAILLOG#free", "1"),
        Some(subject(3)),
        queued,
    );
    let other_category = record_of(
        &register,
        CategoryId::NewsletterPending,
        RecordKey::new("NEWSLETTER#held", "LIST#news"),
        Some(held_person.clone()),
        queued,
    );
    let expires_at = held.expires_at.expect("mail logs expire");
    for record in [&held, &free, &other_category] {
        deployment.put(record.clone()).await;
    }
    deployment.set_checkpoint(day("2027-01-15")).await;
    let function = deployment.start(true).await;

    let run = function.sweep_at(expires_at + secs(1)).await;
    assert!(deployment.exists(&held.key).await, "held past its expiry");
    assert!(!deployment.exists(&free.key).await, "a hold covers its own person only");
    assert!(
        !deployment.exists(&other_category.key).await,
        "and its own category only"
    );
    assert_eq!((count(&run, "held"), count(&run, "deleted")), (1, 2), "{run}");
    assert_eq!(run["categories"]["mail_log"]["held"], 1);
    // The record predates the hold's re-stamp (written past the functions); the
    // sweep's rewrite goes through the hold-aware store, so TTL now waits for the
    // hold's end as well, and the record is due again that day.
    let moved = deployment.get(&held.key).await.expect("held");
    assert_eq!(moved.expires_at, Some(hold_ends), "the TTL attribute is the hold's end");
    assert_eq!(moved.due, Some(day("2027-06-01")), "due again when the hold ends");

    let run = function.sweep_at(hold_ends - secs(1)).await;
    assert!(deployment.exists(&held.key).await, "kept until the hold ends");
    assert_eq!(count(&run, "deleted"), 0, "{run}");

    let run = function.sweep_at(hold_ends + secs(1)).await;
    assert!(!deployment.exists(&held.key).await, "gone once the hold has ended");
    assert_eq!(count(&run, "held"), 0);
    assert_eq!(
        deleted_in(&run, CategoryId::MailLog),
        2,
        "the record and the ended hold itself (a hold counts under the category it protects)"
    );
    function.stop_checking_logs(&[&deployment.team]).await;
}

/// How many live items the scale test seeds (20,000 unless `SWEEP_SCALE_LIVE` says otherwise).
fn live_items() -> usize {
    std::env::var("SWEEP_SCALE_LIVE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000)
}

/// 20,000 live items and 200 due ones, shaped like a day in production: most
/// of what falls due is anonymous consent records; some is sign-ups that were
/// never confirmed (a person with a subscription, a token and a mail log).
fn scale_fixture(register: &Register, live: usize) -> (Vec<Record>, Vec<RecordKey>) {
    let now = at("2027-06-15T12:00:00Z");
    let mut records = Vec::with_capacity(live + 200);
    let mut due = Vec::new();
    // Due: 180 anonymous consent receipts recorded three years ago over three days.
    for n in 0..180i64 {
        let recorded = at("2024-06-13T00:30:00Z") + SignedDuration::from_mins(19 * n);
        let record = record_of(
            register,
            CategoryId::ConsentRecords,
            RecordKey::new(format!("CONSENT#due-{n:04}"), "RECEIPT#0000000001"),
            None,
            recorded,
        );
        assert!(record.expires_at.expect("consent expires") < now);
        due.push(record.key.clone());
        records.push(record);
    }
    // Due: 10 sign-ups never confirmed (subscription + token), each with a live mail log.
    for n in 0..10u32 {
        let person = subject(1_000_000 + n);
        let signed_up = at("2027-06-07T09:00:00Z") + SignedDuration::from_mins(17 * i64::from(n));
        for (key, entity) in [
            (
                RecordKey::new(format!("NEWSLETTER#{}", person.as_str()), "LIST#news"),
                None,
            ),
            (
                RecordKey::new(format!("TOKEN#pending-{n}"), "TOKEN"),
                Some("newsletter_confirmation_token"),
            ),
        ] {
            let mut record = record_of(
                register,
                CategoryId::NewsletterPending,
                key,
                Some(person.clone()),
                signed_up,
            );
            if let Some(entity) = entity {
                record.entity = entity.to_owned();
                record.attributes.remove("status");
            }
            due.push(record.key.clone());
            records.push(record);
        }
        records.push(record_of(
            register,
            CategoryId::MailLog,
            RecordKey::new(format!("MAILLOG#{}", person.as_str()), "confirmation"),
            Some(person),
            signed_up,
        ));
    }
    assert_eq!(due.len(), 200);
    // Live: consent records, subscribers with their mail logs and suppression entries.
    let mut n = 0usize;
    while records.len() < live + 200 {
        let kind = n % 10;
        let recorded = at("2026-07-01T00:00:00Z") + SignedDuration::from_mins(37 * n as i64);
        let record = match kind {
            0..=5 => record_of(
                register,
                CategoryId::ConsentRecords,
                RecordKey::new(format!("CONSENT#live-{n:06}"), "RECEIPT#0000000001"),
                None,
                recorded,
            ),
            6 => record_of(
                register,
                CategoryId::ConsentRecords,
                RecordKey::new(format!("CONSENT#live-{n:06}"), "STATE"),
                None,
                recorded,
            ),
            7 => {
                let mut record = Record::new(
                    RecordKey::new(format!("NEWSLETTER#{}", subject(n as u32).as_str()), "LIST#news"),
                    "newsletter_subscription",
                );
                record.subject = Some(subject(n as u32));
                record.attributes.insert("status".to_owned(), json!("confirmed"));
                record
            }
            8 => record_of(
                register,
                CategoryId::MailLog,
                RecordKey::new(format!("MAILLOG#{}", subject(n as u32 - 1).as_str()), format!("{n}")),
                Some(subject(n as u32 - 1)),
                now - SignedDuration::from_hours(24 * 80) + SignedDuration::from_mins(n as i64),
            ),
            _ => record_of(
                register,
                CategoryId::Suppression,
                RecordKey::new(format!("SUPPRESSION#{}", subject(n as u32 - 2).as_str()), "NEWSLETTER"),
                Some(subject(n as u32 - 2)),
                recorded,
            ),
        };
        assert!(record
            .expires_at
            .is_none_or(|expires_at| expires_at > now + SignedDuration::from_hours(12)));
        records.push(record);
        n += 1;
    }
    (records, due)
}

#[tokio::test]
async fn one_sweep_reads_only_what_is_due_and_deletes_exactly_that() {
    let live = live_items();
    let deployment = SweepDeployment::new().await;
    let register = Register::standard().expect("the standard register");
    let (records, due) = scale_fixture(&register, live);
    let seeding = Instant::now();
    deployment.seed(&records).await;
    let seeded_in = seeding.elapsed();
    // The steady state: yesterday's run swept through the day before.
    deployment.set_checkpoint(day("2027-06-12")).await;
    assert_eq!(deployment.count().await, live + 200 + 1);

    let function = deployment.start(true).await;
    let (run, took) = function.timed_sweep_at(at("2027-06-15T12:00:00Z")).await;
    eprintln!(
        "scale: {live} live + 200 due, seeded in {seeded_in:?}; one sweep took {took:?} \
         (run duration {} ms, {} pages of the due index), read {} items: {}, deleted {}",
        run["duration_ms"], run["pages"], run["items_read"], run["reads"], run["deleted"]
    );
    assert_eq!(run["outcome"], "completed", "{run}");
    assert_eq!(count(&run, "deleted"), 200, "{run}");
    assert_eq!(
        run["reads"]["due_index"], 200,
        "only the due records were read from the due index"
    );
    assert_eq!(
        run["reads"]["holds"], 30,
        "hold checks: the 10 people with due records, 3 records each"
    );
    assert!(count(&run, "items_read") <= 250, "at most 250 items read: {run}");
    assert_eq!(deleted_in(&run, CategoryId::ConsentRecords), 180);
    assert_eq!(deleted_in(&run, CategoryId::NewsletterPending), 20);

    // Exactly the 200 are gone: the live items, the checkpoint and the run record remain.
    assert_eq!(deployment.count().await, live + 2);
    for key in due.iter().step_by(7) {
        assert!(!deployment.exists(key).await, "{key:?} was due");
    }
    let run_records = deployment.run_records().await;
    assert_eq!(run_records.len(), 1);
    assert_eq!(run_records[0].attributes["items_read"], run["items_read"]);
    function.stop_checking_logs(&[]).await;
}

/// The same records in any table: due mail logs over two days (one person's
/// under a hold), a closed request to minimise, one due later today, live ones.
fn resumable_fixture(register: &Register) -> Vec<Record> {
    let mut records = Vec::new();
    for n in 0..260u32 {
        let (day, hour) = if n < 150 {
            ("2027-03-01", n % 24)
        } else {
            ("2027-03-02", n % 10)
        };
        let mut record = Record::new(RecordKey::new(format!("MAILLOG#{n:03}"), "1"), "mail_log");
        record.subject = Some(subject(n % 5));
        record.expires_at = Some(at(&format!("{day}T{hour:02}:00:00Z")));
        record.due = Some(self::day(day));
        records.push(record);
    }
    let mut hold = Record::new(RecordKey::new("HOLD#fixture", "HOLD"), "legal_hold");
    hold.subject = Some(subject(3));
    hold.expires_at = Some(at("2027-04-01T00:00:00Z"));
    hold.due = Some(day("2027-04-01"));
    hold.attributes = match json!({
        "hold_id": "6f1c4b9e-0d2a-4e8f-9b3c-7a5d1e2f3c4b",
        "category": "mail_log",
        "until": "2027-04-01T00:00:00Z",
        "reason": "audit",
        "placed_at": "2027-01-01T00:00:00Z",
    }) {
        Value::Object(fields) => fields,
        _ => unreachable!(),
    };
    records.push(hold);
    records.push(closed_request(
        register,
        "resumable",
        subject(9),
        at("2027-01-31T10:00:00Z"),
    ));
    let mut later_today = Record::new(RecordKey::new("MAILLOG#later", "1"), "mail_log");
    later_today.expires_at = Some(at("2027-03-03T23:00:00Z"));
    later_today.due = Some(day("2027-03-03"));
    records.push(later_today);
    for n in 0..50 {
        records.push(record_of(
            register,
            CategoryId::ConsentRecords,
            RecordKey::new(format!("CONSENT#{n}"), "STATE"),
            None,
            at("2027-02-01T00:00:00Z"),
        ));
    }
    records
}

#[tokio::test]
async fn a_sweep_cut_off_after_its_first_page_ends_like_an_uninterrupted_one() {
    let register = Register::standard().expect("the standard register");
    let now = at("2027-03-03T12:00:00Z");
    let mut tables = Vec::new();
    for _ in 0..3 {
        let deployment = SweepDeployment::new().await;
        deployment.seed(&resumable_fixture(&register)).await;
        deployment.set_checkpoint(day("2027-02-28")).await;
        tables.push(deployment);
    }
    let (whole, cut, concurrent) = (&tables[0], &tables[1], &tables[2]);

    let function = whole.start(true).await;
    let run = function.sweep_at(now).await;
    assert_eq!(run["outcome"], "completed", "{run}");
    assert_eq!(
        (count(&run, "deleted"), count(&run, "held"), count(&run, "minimised")),
        (208, 52, 1),
        "{run}"
    );
    function.stop_checking_logs(&["resumable@example.com"]).await;

    // Cut off after its first page (the tiny budget), then run again.
    let function = cut.start(true).await;
    let first = function.run(json!({"now": now.to_string(), "max_pages": 1})).await;
    assert_eq!(first["outcome"], "stopped_at_page_limit", "{first}");
    assert_eq!(
        (count(&first, "pages"), first["reads"]["due_index"].as_u64()),
        (1, Some(100))
    );
    assert_eq!(first["swept_through"], "2027-02-28", "nothing fully swept yet");
    assert_ne!(
        cut.contents().await,
        whole.contents().await,
        "the first page alone is not the whole"
    );
    let second = function.sweep_at(now).await;
    assert_eq!(second["outcome"], "completed", "{second}");
    assert_eq!(count(&first, "deleted") + count(&second, "deleted"), 208);
    assert_eq!(
        cut.contents().await,
        whole.contents().await,
        "the same table either way"
    );
    function.stop_checking_logs(&["resumable@example.com"]).await;

    // Two runs at once do no harm either.
    let (a, b) = (concurrent.start(true).await, concurrent.start(true).await);
    let (run_a, run_b) = tokio::join!(a.sweep_at(now), b.sweep_at(now));
    assert_eq!(
        count(&run_a, "deleted") + count(&run_b, "deleted"),
        208,
        "{run_a}\n{run_b}"
    );
    assert_eq!(
        concurrent.contents().await,
        whole.contents().await,
        "the same table with two runs at once"
    );
    for function in [a, b] {
        function.stop_checking_logs(&["resumable@example.com"]).await;
    }
}

#[tokio::test]
async fn the_digest_lists_the_right_requests_in_due_order_once_a_day() {
    let deployment = SweepDeployment::new().await;
    let id = |name: &str| format!("{name}-{}", uuid::Uuid::new_v4().simple());
    let (overdue, today, a, b, horizon) = (id("overdue"), id("today"), id("a"), id("b"), id("horizon"));
    let (done, rejected, too_late) = (id("done"), id("rejected"), id("too-late"));
    for (due_on, request_id, kind, status) in [
        ("2027-03-01", &done, "access", "completed"),
        ("2027-03-08", &overdue, "erasure", "awaiting_team"),
        ("2027-03-10", &today, "access", "in_progress"),
        ("2027-03-12", &rejected, "access", "rejected"),
        ("2027-03-13", &b, "ccpa_know", "verified"),
        ("2027-03-13", &a, "portability", "awaiting_verification"),
        ("2027-03-17", &horizon, "rectification", "verified"),
        ("2027-03-18", &too_late, "access", "verified"),
    ] {
        deployment.put(queue_entry(day(due_on), request_id, kind, status)).await;
    }
    deployment.set_checkpoint(day("2027-03-09")).await;
    let function = deployment.start(true).await;

    // 06:00 UTC on 10 March: 07:00 in Stockholm, the team's calendar.
    let run = function.sweep_at(at("2027-03-10T06:00:00Z")).await;
    assert_eq!(
        run["digest"],
        json!({"status": "sent", "entries": 4, "overdue": 1}),
        "{run}"
    );
    let mails = mails_to(&deployment.team).await;
    assert_eq!(mails.len(), 1, "one digest");
    let mail = &mails[0];
    let unfolded = mail.raw.replace("\r\n ", " ");
    assert!(
        unfolded.contains("Subject: Privacy requests: 4 due within 7 days, 1 overdue (2027-03-10)"),
        "the subject says how many: {}",
        mail.raw
    );
    let listed: Vec<String> = mail
        .text
        .lines()
        .filter_map(|line| line.split("request ").nth(1))
        .map(|id| id.trim().to_owned())
        .collect();
    assert_eq!(
        listed,
        // Never an unverified request (an entry an earlier version wrote at intake).
        [&overdue, &today, &b, &horizon].map(String::clone),
        "soonest first:\n{}",
        mail.text
    );
    let line = |request_id: &str| {
        mail.text
            .lines()
            .find(|line| line.trim_end().ends_with(request_id))
            .unwrap_or_else(|| panic!("{request_id} in\n{}", mail.text))
            .to_owned()
    };
    for (request_id, days) in [
        (&overdue, "2 days overdue"),
        (&today, "due today"),
        (&b, "3 days left"),
        (&horizon, "7 days left"),
    ] {
        assert!(line(request_id).contains(days), "{}", line(request_id));
    }
    assert!(line(&overdue).contains("2027-03-08") && line(&overdue).contains("erasure"));
    for absent in [&done, &rejected, &too_late, &a] {
        assert!(!mail.text.contains(absent.as_str()), "{absent} is not listed");
    }
    assert!(mail.html.contains(&format!("<td>{overdue}</td>")));

    // A second run the same day sends nothing more.
    let again = function.sweep_at(at("2027-03-10T09:00:00Z")).await;
    assert_eq!(again["digest"]["status"], "already_sent");
    assert_eq!(mails_to(&deployment.team).await.len(), 1);
    function.stop_checking_logs(&[&deployment.team]).await;

    // Nothing due: no mail at all.
    let quiet = SweepDeployment::new().await;
    quiet
        .put(queue_entry(day("2027-04-30"), &id("later"), "access", "verified"))
        .await;
    quiet.set_checkpoint(day("2027-03-09")).await;
    let function = quiet.start(true).await;
    let run = function.sweep_at(at("2027-03-10T06:00:00Z")).await;
    assert_eq!(run["digest"]["status"], "nothing_due");
    assert!(mails_to(&quiet.team).await.is_empty(), "nothing when there is nothing");
    function.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn now_is_refused_unless_allowed_and_the_schedule_runs_at_the_clocks_now() {
    let deployment = SweepDeployment::new().await;
    let register = Register::standard().expect("the standard register");
    let real_now = Timestamp::now();
    let expired = record_of(
        &register,
        CategoryId::NewsletterPending,
        RecordKey::new("NEWSLETTER#expired", "LIST#news"),
        Some(subject(5)),
        real_now - SignedDuration::from_hours(24 * 8),
    );
    let live = record_of(
        &register,
        CategoryId::NewsletterPending,
        RecordKey::new("NEWSLETTER#live", "LIST#news"),
        Some(subject(6)),
        real_now - SignedDuration::from_hours(24 * 3),
    );
    deployment.put(expired.clone()).await;
    deployment.put(live.clone()).await;

    let function = deployment.start(false).await;
    let far_future = json!({"now": (real_now + SignedDuration::from_hours(24 * 365)).to_string()});
    for event in [
        far_future,
        json!({"max_pages": 1}),
        json!(["not", "an", "event"]),
        json!({}),
    ] {
        match function.invoke(event.clone()).await {
            Invocation::Error { error_message, .. } => {
                assert!(!error_message.is_empty(), "{event}");
            }
            other => panic!("{event} was not refused: {other:?}"),
        }
    }
    assert!(deployment.exists(&expired.key).await && deployment.exists(&live.key).await);
    assert!(
        deployment.run_records().await.is_empty(),
        "a refused event runs nothing"
    );

    // The real schedule event: "now" is the clock's. The first run starts at the first day.
    let run = function.run(sample("retention-sweep-schedule")).await;
    assert_eq!(run["outcome"], "completed", "{run}");
    assert_eq!(run["swept_from"], "2026-01-01");
    assert!(!deployment.exists(&expired.key).await, "expired by the clock");
    assert!(deployment.exists(&live.key).await, "not yet expired by the clock");
    let judged_at: Timestamp = run["now"].as_str().expect("now").parse().expect("a timestamp");
    assert!(judged_at >= real_now && judged_at - real_now < SignedDuration::from_mins(5));

    // The run record and the metrics say the same.
    let records = deployment.run_records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attributes["deleted"], 1);
    assert_eq!(records[0].attributes["run_id"], run["run_id"]);
    let logs = function.stop_checking_logs(&[&deployment.team]).await;
    let metrics = emf_lines(&logs);
    assert_eq!(metrics.len(), 1, "one EMF line per run:\n{logs}");
    let emf = &metrics[0];
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "PrivacyBackend/RetentionSweep");
    assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
    assert_eq!(emf["FunctionName"], "retention-sweep");
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metric definitions")
        .iter()
        .map(|metric| metric["Name"].as_str().expect("a name"))
        .collect();
    for name in [
        "ItemsRead",
        "Deleted",
        "Minimised",
        "Held",
        "Duration",
        "Deleted.newsletter_pending",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
        assert!(emf[name].is_u64(), "{name} has a value: {emf}");
    }
    assert_eq!(emf["Deleted"], run["deleted"]);
    assert_eq!(emf["ItemsRead"], run["items_read"]);
    assert_eq!(emf["Deleted.newsletter_pending"], 1);
    assert_eq!(emf["Completed"], 1);

    // Where the deployment allows it, the sample override event is honoured.
    let function = deployment.start(true).await;
    let run = function.run(sample("retention-sweep-now")).await;
    assert_eq!(run["now"], "2027-03-31T08:00:01Z");
    assert!(!deployment.exists(&live.key).await, "expired at the event's now");
    function.stop_checking_logs(&[]).await;
}

/// The register drives the sweep: a test register with shorter periods, on the
/// DynamoDB adapter, through the domain API.
#[tokio::test]
async fn a_changed_register_changes_what_the_sweep_does() {
    let standard = Register::standard().expect("the standard register");
    let mut document = serde_json::to_value(standard.document()).expect("the register as JSON");
    for category in document["categories"].as_array_mut().expect("categories") {
        if category["id"] == "mail_log" {
            category["retention"]["period"] = json!("P10D");
        }
        if category["id"] == "requests_closed" {
            category["minimise"]["period"] = json!("P5D");
        }
    }
    let register = Register::from_json(&document.to_string()).expect("the changed register");

    let deployment = SweepDeployment::new().await;
    let store = deployment.store();
    let queued = at("2027-01-10T12:00:00Z");
    let key = RecordKey::new("MAILLOG#changed", "1");
    let log = record_of(&register, CategoryId::MailLog, key.clone(), Some(subject(7)), queued);
    let standard_log = record_of(&standard, CategoryId::MailLog, key, Some(subject(7)), queued);
    assert_eq!(log.expires_at, Some(at("2027-01-20T12:00:00Z")), "10 days");
    assert_eq!(
        standard_log.expires_at,
        Some(at("2027-04-10T11:00:00Z")),
        "not the standard 90"
    );
    let request = closed_request(&register, "changed", subject(8), queued);
    assert_eq!(request.due, Some(day("2027-01-15")), "shed after 5 days");
    deployment.put(log.clone()).await;
    deployment.put(request.clone()).await;
    deployment.set_checkpoint(day("2027-01-09")).await;

    let team = PrivacyTeam {
        address: EmailAddress::parse("team", &deployment.team).expect("an address"),
        subject: subject(99),
    };
    let world = World::on(store, at("2027-01-01T00:00:00Z")).with_register(register.clone());
    let sweep = world.sweep(&team);
    let deadline = at("2027-01-01T01:00:00Z");
    let run = |now: Timestamp| sweep.run(now, deadline);

    run(at("2027-01-15T11:59:59Z")).await.expect("a sweep");
    assert!(deployment
        .get(&request.key)
        .await
        .expect("kept")
        .attributes
        .contains_key("email"));
    let swept = run(at("2027-01-15T12:00:01Z")).await.expect("a sweep");
    assert_eq!(swept.minimised, 1);
    assert!(!deployment
        .get(&request.key)
        .await
        .expect("kept")
        .attributes
        .contains_key("email"));

    run(at("2027-01-20T11:59:59Z")).await.expect("a sweep");
    assert!(deployment.exists(&log.key).await);
    let swept = run(at("2027-01-20T12:00:01Z")).await.expect("a sweep");
    assert_eq!(swept.outcome, SweepOutcome::Completed);
    assert!(
        !deployment.exists(&log.key).await,
        "gone after 10 days, as the changed register says"
    );
    assert!(world.mailer.sent().is_empty(), "no digest: the queue is empty");
}
