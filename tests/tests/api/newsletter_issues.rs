//! Newsletter issues end to end through the built binaries on the emulator:
//! the admin function writes an issue, the planner (its schedule's event)
//! queues the audience on SQS, the sender (fed the SQS event Lambda would
//! give it) mails each reader who should get it, once.

use std::time::Duration;

use privacy_domain::holds::keeping::restriction_key;
use privacy_domain::newsletter::{ListId, SubscriptionStatus, SuppressionReason};
use privacy_domain::register::entity;
use privacy_domain::store::{self, Precondition, Record};
use privacy_tests::events::{http_event, with_header};
use privacy_tests::issues::{batch_item_failures, receive_all, sqs_event, IssueBackend};
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::{mails_to, secrets, subject_of, unique_address, SentMail};

/// RFC 8058 one-click, as a mailbox provider posts the List-Unsubscribe URL.
fn one_click(url: &str) -> serde_json::Value {
    let path = url
        .strip_prefix(privacy_tests::newsletter::PUBLIC_BASE_URL)
        .expect("our URL");
    let event = http_event("POST /newsletter/unsubscribe", path, Some("List-Unsubscribe=One-Click"));
    let event = with_header(event, "content-type", Some("application/x-www-form-urlencoded"));
    with_header(event, "origin", None)
}

async fn issue_mails(address: &str, subject_line: &str) -> Vec<SentMail> {
    mails_to(address)
        .await
        .into_iter()
        .filter(|mail| mail.raw.contains(&format!("Subject: {subject_line}")))
        .collect()
}

#[tokio::test]
async fn an_issue_mails_exactly_the_readers_who_should_get_it_once_each() {
    let backend = IssueBackend::start().await;
    let world = backend.world().await;
    let readers: Vec<String> = (0..3).map(|_| unique_address("reader")).collect();
    let unsubscribed = unique_address("unsubscribed");
    let bounced = unique_address("bounced");
    let restricted = unique_address("restricted");
    let customer = unique_address("customer");
    for address in readers.iter().chain([&unsubscribed, &bounced, &restricted]) {
        backend.confirmed(&world, address).await;
    }
    world
        .newsletter()
        .subscribe_customer(
            &privacy_domain::testing::email(&customer),
            None,
            &ListId::default_list(),
        )
        .await
        .unwrap();
    let token = secrets()
        .token_key
        .unsubscribe_token(&subject_of(&unsubscribed), "news");
    world
        .subscriptions()
        .unsubscribe(&secrets().token_key, &token)
        .await
        .unwrap();
    // The bounce comes back through the SES feedback function.
    let feedback = backend.deployment.start("ses-feedback", &[("TOKEN_KEY", "")]).await;
    let outcome = feedback
        .invoke(privacy_tests::events::ses_notification("Bounce", "Permanent", &bounced))
        .await;
    assert!(matches!(outcome, Invocation::Response(_)), "{outcome:?}");
    let mut restriction = Record::new(
        restriction_key(&subject_of(&restricted)),
        entity::PROCESSING_RESTRICTION,
    );
    restriction.subject = Some(subject_of(&restricted));
    store::put(&world.store, restriction, Precondition::None).await.unwrap();

    let subject_line = format!("News {}", uuid::Uuid::new_v4().simple());
    let issue_id = backend.write_issue(&subject_line).await;
    let report = backend.plan().await;
    // The index holds the confirmed: three readers, the restricted one and the customer.
    assert_eq!(report["queued"], 5, "{report}");
    let messages = receive_all(&backend.queue_url).await;
    assert!(!messages.is_empty());
    for message in &messages {
        assert!(!message.body.contains('@'), "no address on the queue: {}", message.body);
    }
    let sender = backend.sender("1000").await;
    let event = sqs_event(&messages);
    let invocation = sender.invoke(event.clone()).await;
    assert!(batch_item_failures(&invocation).is_empty(), "{invocation:?}");

    let mut expected: Vec<&String> = readers.iter().collect();
    expected.push(&customer);
    for address in &expected {
        let mails = issue_mails(address, &subject_line).await;
        assert_eq!(mails.len(), 1, "{address} gets the issue once");
        let mail = &mails[0];
        assert_eq!(
            mail.list_unsubscribe_post.as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(mail
            .text
            .contains("IOT Communications International AB, Org.nr 559161-6122"));
        assert!(mail.html.contains("/newsletter/preferences?token="));
        let preferences = mail.token("/newsletter/preferences").expect("a preference link");
        assert_eq!(
            secrets().token_key.verify_preferences_token(&preferences),
            Some(subject_of(address))
        );
        if *address == &customer {
            assert!(mail.text.contains("because you are a customer"), "{}", mail.text);
            assert!(mail.text.contains("Marknadsföringslagen 19 §"));
            assert!(mail.text.contains("opt out at any time"));
        } else {
            assert!(mail.text.contains("(your consent)"), "{}", mail.text);
        }
    }
    for address in [&unsubscribed, &bounced, &restricted] {
        assert!(
            issue_mails(address, &subject_line).await.is_empty(),
            "{address} gets nothing"
        );
    }

    // SQS delivers the same event again: nobody gets a second mail.
    let again = sender.invoke(event).await;
    assert!(batch_item_failures(&again).is_empty());
    for address in &expected {
        assert_eq!(
            issue_mails(address, &subject_line).await.len(),
            1,
            "{address}: still once"
        );
    }

    let shown = backend.on_issue(&issue_id, None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let shown = shown.json();
    assert_eq!(shown["status"], "sent", "{shown}");
    assert_eq!(shown["counts"]["audience"], 5, "{shown}");
    assert_eq!(shown["counts"]["sent"], 4, "{shown}");
    assert_eq!(shown["counts"]["skipped"]["restricted"], 1, "{shown}");

    // A hard bounce of the issue's mail comes back through the SES feedback function: counted once.
    for _ in 0..2 {
        let outcome = feedback
            .invoke(privacy_tests::events::ses_notification(
                "Bounce",
                "Permanent",
                &readers[2],
            ))
            .await;
        assert!(matches!(outcome, Invocation::Response(_)), "{outcome:?}");
    }
    let shown = backend.on_issue(&issue_id, None).await.json();
    assert_eq!(shown["counts"]["bounced"], 1, "{shown}");
    assert_eq!(shown["counts"]["sent"], 4, "{shown}");

    // Each reader's List-Unsubscribe works with one click.
    let first = &readers[0];
    let mail = issue_mails(first, &subject_line).await.remove(0);
    let url = mail
        .list_unsubscribe
        .as_deref()
        .unwrap()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let response = backend.unsubscribe.http(one_click(&url)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let (subscription, suppression) = backend.deployment.state(first).await;
    assert_eq!(subscription.unwrap().status, SubscriptionStatus::Unsubscribed);
    assert_eq!(suppression.unwrap().reason, SuppressionReason::Unsubscribed);

    let mut personal: Vec<&str> = expected.iter().map(|a| a.as_str()).collect();
    personal.extend([unsubscribed.as_str(), bounced.as_str(), restricted.as_str()]);
    sender.stop_checking_logs(&personal).await;
    feedback.stop_checking_logs(&personal).await;
    backend.stop(&personal).await;
}

#[tokio::test]
async fn a_sender_stopped_half_way_and_retried_mails_no_one_twice() {
    let backend = IssueBackend::start().await;
    let world = backend.world().await;
    let readers: Vec<String> = (0..6).map(|_| unique_address("halfway")).collect();
    for address in &readers {
        backend.confirmed(&world, address).await;
    }
    let subject_line = format!("News {}", uuid::Uuid::new_v4().simple());
    backend.write_issue(&subject_line).await;
    backend.plan().await;
    let messages = receive_all(&backend.queue_url).await;
    let event = sqs_event(&messages);
    // One mail a second, and an invocation that ends 13 s after it starts
    // (the sender stops taking work 10 s before): it stops half-way.
    let sender = backend.sender("1").await;
    let first = sender.invoke_with_timeout(event.clone(), Duration::from_secs(13)).await;
    let handed_back = batch_item_failures(&first);
    let mut sent = 0;
    for address in &readers {
        sent += issue_mails(address, &subject_line).await.len();
    }
    assert!(
        sent > 0 && sent < readers.len(),
        "{sent} of {} sent before the deadline",
        readers.len()
    );
    assert!(!handed_back.is_empty(), "the rest is handed back for a retry");
    // SQS redelivers the whole event (the worst case): each reader once, in all.
    let fast = backend.sender("1000").await;
    let retry = fast.invoke(event).await;
    assert!(batch_item_failures(&retry).is_empty(), "{retry:?}");
    for address in &readers {
        assert_eq!(issue_mails(address, &subject_line).await.len(), 1, "{address}: once");
    }
    let personal: Vec<&str> = readers.iter().map(String::as_str).collect();
    sender.stop_checking_logs(&personal).await;
    fast.stop_checking_logs(&personal).await;
    backend.stop(&personal).await;
}

#[tokio::test]
async fn cancel_stops_what_is_not_yet_sent() {
    let backend = IssueBackend::start().await;
    let world = backend.world().await;
    let readers: Vec<String> = (0..6).map(|_| unique_address("cancel")).collect();
    for address in &readers {
        backend.confirmed(&world, address).await;
    }
    let subject_line = format!("News {}", uuid::Uuid::new_v4().simple());
    let issue_id = backend.write_issue(&subject_line).await;
    backend.plan().await;
    let messages = receive_all(&backend.queue_url).await;
    assert!(messages.len() >= 2, "the readers are in several batches");
    let sender = backend.sender("1000").await;
    let (first, rest) = messages.split_at(1);
    assert!(batch_item_failures(&sender.invoke(sqs_event(first)).await).is_empty());
    let cancelled = backend.on_issue(&issue_id, Some("cancel")).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert!(batch_item_failures(&sender.invoke(sqs_event(rest)).await).is_empty());
    let mut sent = 0;
    for address in &readers {
        sent += issue_mails(address, &subject_line).await.len();
    }
    assert!(sent >= 1 && sent < readers.len(), "{sent}");
    let shown = backend.on_issue(&issue_id, None).await.json();
    assert_eq!(shown["status"], "cancelled", "{shown}");
    assert_eq!(shown["counts"]["sent"], sent, "{shown}");
    assert_eq!(shown["counts"]["not_sent"], readers.len() - sent, "{shown}");
    let again = backend.on_issue(&issue_id, Some("cancel")).await;
    assert_eq!(again.status, 409, "{}", again.body);
    let personal: Vec<&str> = readers.iter().map(String::as_str).collect();
    sender.stop_checking_logs(&personal).await;
    backend.stop(&personal).await;
}

/// A setting of the issue benchmark (`infra/bench-issue`): readers
/// (`ISSUE_BENCH_READERS`, 300 in the ordinary test run), the configured
/// rate (`ISSUE_BENCH_RATE`, mails/s) and the senders sharing it
/// (`ISSUE_BENCH_SENDERS`, the template's default of 2).
fn bench_setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The issue benchmark: N confirmed readers seeded with BatchWriteItem, one
/// issue planned from the audience index onto SQS and sent from it through
/// the DynamoDB and SES adapters (the planner's and sender's code, in
/// process, by the harness `privacy_domain::testing::issue_run`, which
/// counts every call), then every message delivered a second time. Prints
/// items read per reader, AWS calls per mail, mails per second at the
/// configured rate, and duplicates (asserted 0). SES is moto's unless
/// `AWS_ENDPOINT_URL_SES` points at the stub (`infra/ses-stub.py`, started
/// by `infra/bench-issue`), whose own count of mails per recipient and
/// observed rate are printed and checked too.
#[tokio::test]
async fn bench_an_issue_plans_and_sends_at_the_configured_rate() {
    use privacy_domain::store::memory::{Calls, CountingStore};
    use privacy_domain::testing::issue_run::{confirmed_reader, CountingQueue, IssueRun, Summary, TallyMailer};

    let readers: usize = bench_setting("ISSUE_BENCH_READERS", 300);
    let rate: f64 = bench_setting("ISSUE_BENCH_RATE", 100.0);
    let senders: usize = bench_setting("ISSUE_BENCH_SENDERS", 2);
    let deployment = privacy_tests::newsletter::Deployment::new().await;
    let queue_url = privacy_tests::issues::recipient_queue().await;
    let dynamodb = privacy_tests::aws::dynamodb().await;
    let now = jiff::Timestamp::now();
    // The in-memory mode's world: the same readers, in the same shards (the
    // table is this test's own, so no other test sees them).
    let world = privacy_domain::testing::World::at("2026-06-01T09:00:00Z");
    // Seed: confirmed subscriptions shaped as the sign-up writes them.
    let seeding = std::time::Instant::now();
    let records: Vec<Record> = (0..readers).map(|n| confirmed_reader(&world, n, now)).collect();
    for chunk in records.chunks(25) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|record| {
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(privacy_aws::dynamodb::to_item(record).unwrap()))
                    .build()
                    .unwrap();
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build()
            })
            .collect();
        let written = dynamodb
            .batch_write_item()
            .request_items(&deployment.table, requests)
            .send()
            .await
            .unwrap();
        assert!(written.unprocessed_items.unwrap_or_default().is_empty());
    }
    let seeding = seeding.elapsed();

    let calls = Calls::default();
    let store = CountingStore::new(
        privacy_aws::dynamodb::DynamoRecordStore::new(dynamodb.clone(), &deployment.table),
        calls.clone(),
    );
    // The SDK configuration the functions build: `AWS_ENDPOINT_URL_SES` reaches the stub.
    let ses = privacy_aws::ses::SesMailer::new(
        privacy_aws::ses_client(&privacy_aws::sdk_config().await),
        deployment.sender.clone(),
        "example.com".to_owned(),
    );
    let mailer = TallyMailer::new(&ses, calls.clone());
    let sqs_queue = privacy_aws::sqs::SqsRecipientQueue::new(privacy_tests::issues::sqs().await, &queue_url);
    let queue = CountingQueue {
        inner: &sqs_queue,
        calls: calls.clone(),
    };
    let run = IssueRun {
        ports: privacy_domain::ports::Ports {
            store: &store,
            mailer: &mailer,
            clock: &privacy_domain::clock::SystemClock,
            register: &world.register,
        },
        calls: &calls,
        queue: &queue,
        token_key: &world.secrets.token_key,
        links: &world.links,
    };
    // The planner's Lambda time (60 s) less its margin (10 s), as deployed.
    let planned = run.create_and_plan(jiff::SignedDuration::from_secs(50)).await;
    let receiving = std::time::Instant::now();
    let messages = receive_all(&queue_url).await;
    let batches: Vec<privacy_domain::newsletter::issues::RecipientBatch> = messages
        .iter()
        .map(|message| serde_json::from_str(&message.body).unwrap())
        .collect();
    let receiving = receiving.elapsed();
    let first = run.send(&batches, senders, rate).await;
    // Every message delivered again (SQS's at-least-once): nothing more is mailed.
    let again = run.send(&batches, senders, 0.0).await;
    let summary = Summary::of(
        readers,
        &planned,
        batches.len(),
        &first,
        &again,
        (senders, rate),
        &mailer,
    );
    println!(
        "bench-issue: mode=moto seeding_s={:.1} receiving_s={:.1} {summary}",
        seeding.as_secs_f64(),
        receiving.as_secs_f64()
    );
    summary.check();
    if let Ok(stub) = std::env::var("AWS_ENDPOINT_URL_SES") {
        let (status, body) = privacy_tests::ses::http_get(&format!("{stub}/stats")).await;
        assert_eq!(status, 200);
        let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();
        println!("bench-issue-ses-stub: {seen}");
        assert_eq!(seen["mails"], readers, "the stub got every mail: {seen}");
        assert_eq!(seen["duplicates"], 0, "the stub saw nobody twice: {seen}");
        assert_eq!(seen["throttled"], 0, "never over SES's rate: {seen}");
    }
    let issues = privacy_domain::newsletter::issues::Issues { ports: run.ports };
    let counted = issues.report(&planned.issue_id).await.unwrap();
    assert_eq!(
        counted
            .counts
            .get(privacy_domain::newsletter::issues::SendOutcome::Sent),
        readers as u64
    );
}
