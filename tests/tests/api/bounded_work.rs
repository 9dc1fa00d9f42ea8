//! Bounded work per request (SPEC 3.1, 3.3), attacked through the built
//! binaries against the emulators: a consent id is linked to a person only
//! when that person confirms or verifies, never away from the person it is
//! linked to, and its receipts are read a page at a time.

use jiff::Timestamp;
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::consent::{verify_chain, ConsentId, RECEIPTS_KEPT};
use privacy_domain::testing::World;
use privacy_tests::dsr::{confirm_sign_up, record_consent, sign_up};
use privacy_tests::events::{http_event, link_button};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, unique_address, Deployment, PUBLIC_BASE_URL};
use serde_json::{json, Value};

const VERIFY: &str = "/dsr/verify";

/// Follows the latest link of `path` mailed to `address` (the page's button).
async fn follow(function: &Function, address: &str, path: &str) {
    let token = mails_to(address)
        .await
        .iter()
        .rev()
        .find_map(|mail| mail.token(&format!("{PUBLIC_BASE_URL}{path}")))
        .expect("a mailed link");
    let page = function.http(link_button(path, &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// Files a request, then runs what the table's stream starts on its write:
/// the outbox's drain, which mails the link.
async fn submit(deployment: &Deployment, intake: &Function, body: Value) {
    let response = intake
        .http(http_event("POST /dsr", "/dsr", Some(&body.to_string())))
        .await;
    assert_eq!(response.status, 202, "{}", response.body);
    let address = body["email"].as_str().filter(|address| !address.is_empty());
    deployment.drain_outbox(&[], address.as_slice()).await;
}

/// Every item stored under the consent id, as text, in key order.
async fn consent_items(table: &str, consent_id: &str) -> Vec<String> {
    privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, table)
        .await
        .into_iter()
        .filter(|item| item.contains(&format!("CONSENT#{consent_id}")))
        .collect()
}

fn receipts_event(consent_id: &str, query: &[(&str, &str)]) -> Value {
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = format!("/consent/{consent_id}/receipts");
    let path = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    http_event("GET /consent/{consent_id}/receipts", &path, None)
}

#[tokio::test]
async fn an_unverified_submission_with_someone_elses_consent_id_links_and_rewrites_nothing() {
    let deployment = Deployment::new().await;
    let consent = deployment.start("consent-capture", &[]).await;
    let subscribe = deployment.start("newsletter-subscribe", &[]).await;
    let intake = deployment.start("dsr-intake", &[]).await;
    // The victim's browser holds this consent id (it leaks: a shared
    // computer, a screenshot, a log of the website).
    let victim = uuid::Uuid::new_v4().to_string();
    for marketing in [true, false, true] {
        record_consent(&consent, &victim, marketing).await;
    }
    let before = consent_items(&deployment.table, &victim).await;
    assert_eq!(before.len(), 4, "three receipts and the state");

    // The attacker offers it with their own address, confirming nothing:
    // a sign-up, an access request, and an opt-out (which acts at once).
    let attacker = unique_address("attacker");
    sign_up(&subscribe, &json!({"email": attacker, "consent_id": victim})).await;
    submit(
        &deployment,
        &intake,
        json!({"type": "access", "email": attacker, "consent_id": victim}),
    )
    .await;
    privacy_tests::aws::forget_link_mails(&deployment.table, &attacker).await;
    submit(
        &deployment,
        &intake,
        json!({"type": "ccpa_opt_out", "email": attacker, "consent_id": victim}),
    )
    .await;

    let after = consent_items(&deployment.table, &victim).await;
    for item in &before {
        if item.contains("RECEIPT#") {
            assert!(after.contains(item), "a receipt was rewritten: {item}");
        }
    }
    for item in &after {
        assert!(
            !item.contains("SubjectPK") && !item.contains("consent_link"),
            "an unverified submission linked the consent id: {item}"
        );
    }
    // The opt-out only turned marketing off, with one receipt more.
    assert_eq!(after.len(), before.len() + 1);
    let state = consent
        .http(http_event(
            "GET /consent/{consent_id}",
            &format!("/consent/{victim}"),
            None,
        ))
        .await;
    assert_eq!(state.json()["categories"]["marketing"], false);
    consent.stop_checking_logs(&[]).await;
    subscribe.stop_checking_logs(&[&attacker]).await;
    intake.stop_checking_logs(&[&attacker]).await;
}

#[tokio::test]
async fn a_consent_id_linked_to_one_person_is_never_relinked_to_another() {
    let deployment = Deployment::new().await;
    let consent = deployment.start("consent-capture", &[]).await;
    let subscribe = deployment.start("newsletter-subscribe", &[]).await;
    let intake = deployment.start("dsr-intake", &[]).await;
    let consent_id = uuid::Uuid::new_v4().to_string();
    record_consent(&consent, &consent_id, true).await;

    // The visitor signs up with their consent id and confirms: linked to them.
    let visitor = unique_address("visitor");
    sign_up(&subscribe, &json!({"email": visitor, "consent_id": consent_id})).await;
    // The sign-up queues its confirmation: the table's stream drains it.
    confirm_sign_up(&deployment, &subscribe, &visitor).await;
    // The attacker signs up with the same id and confirms their own address.
    let attacker = unique_address("attacker");
    sign_up(&subscribe, &json!({"email": attacker, "consent_id": consent_id})).await;
    confirm_sign_up(&deployment, &subscribe, &attacker).await;
    // And asks, verified, for everything held about them.
    submit(
        &deployment,
        &intake,
        json!({"type": "access", "email": attacker, "consent_id": consent_id}),
    )
    .await;
    follow(&intake, &attacker, VERIFY).await;

    let export = mails_to(&attacker)
        .await
        .into_iter()
        .find_map(|mail| mail.attachment("personal-data.json").map(|a| a.content.clone()))
        .expect("the attacker's export");
    let export: Value = serde_json::from_slice(&export).unwrap();
    let leaked: Vec<&Value> = export["personal_data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["entity"].as_str().unwrap_or_default().starts_with("consent_"))
        .collect();
    assert!(
        leaked.is_empty(),
        "the victim's consent history reached the attacker: {leaked:?}"
    );

    // The visitor's own verified request still finds it.
    privacy_tests::aws::forget_link_mails(&deployment.table, &visitor).await;
    submit(&deployment, &intake, json!({"type": "access", "email": visitor})).await;
    follow(&intake, &visitor, VERIFY).await;
    let export = mails_to(&visitor)
        .await
        .into_iter()
        .find_map(|mail| mail.attachment("personal-data.json").map(|a| a.content.clone()))
        .expect("the visitor's export");
    let export: Value = serde_json::from_slice(&export).unwrap();
    assert!(
        export["personal_data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["entity"] == "consent_receipt" && item["record"]["consent_id"] == consent_id.as_str()),
        "the first link stays: {export}"
    );
    consent.stop_checking_logs(&[]).await;
    subscribe.stop_checking_logs(&[&visitor, &attacker]).await;
    intake.stop_checking_logs(&[&visitor, &attacker]).await;
}

#[tokio::test]
async fn the_receipts_endpoint_pages_and_refuses_bad_limits_and_cursors() {
    let deployment = Deployment::new().await;
    let consent = deployment.start("consent-capture", &[]).await;
    let consent_id = uuid::Uuid::new_v4().to_string();
    let decisions = RECEIPTS_KEPT + 5;
    for n in 0..decisions {
        record_consent(&consent, &consent_id, n % 2 == 0).await;
    }

    // Pages of 40: the checkpoint first, then every receipt kept, once, in order.
    let mut sequences = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "40")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let page = consent.http(receipts_event(&consent_id, &query)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let body = page.json();
        let receipts = body["receipts"].as_array().unwrap();
        assert!(receipts.len() <= 40);
        if pages == 0 {
            assert_eq!(body["checkpoint"]["through_sequence"], 5, "{}", body["checkpoint"]);
            assert_eq!(body["checkpoint"]["folded"], 5);
        } else {
            assert!(body.get("checkpoint").is_none());
        }
        pages += 1;
        sequences.extend(receipts.iter().map(|r| r["sequence"].as_u64().unwrap()));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(sequences, (6..=decisions).collect::<Vec<_>>());
    // The default page holds 50.
    let first = consent.http(receipts_event(&consent_id, &[])).await;
    assert_eq!(first.json()["receipts"].as_array().unwrap().len(), 50);

    // The chain, read back through the adapter, verifies from the checkpoint.
    let store = DynamoRecordStore::new(privacy_tests::aws::dynamodb().await, &deployment.table);
    let world = World::on(store, Timestamp::now());
    let ledger = world.ports().consent_ledger();
    let id = ConsentId::parse("consent_id", &consent_id).unwrap();
    let checkpoint = ledger.checkpoint(id).await.unwrap();
    assert_eq!(
        verify_chain(
            &ledger.current(id).await.unwrap(),
            checkpoint.as_ref(),
            &ledger.receipts(id).await.unwrap()
        ),
        Ok(())
    );

    for (name, value) in [
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "ten"),
        ("limit", ""),
        ("cursor", "abc"),
        ("cursor", "-1"),
        ("cursor", ""),
    ] {
        let answer = consent.http(receipts_event(&consent_id, &[(name, value)])).await;
        assert_eq!(answer.status, 400, "{name}={value}: {}", answer.body);
        assert_eq!(answer.json()["error"]["field"], name, "{}", answer.body);
    }
    consent.stop_checking_logs(&[]).await;
}

/// The `Timeout` template.yaml gives a function, in seconds.
fn timeout_of(logical_id: &str) -> u64 {
    privacy_tests::template::template()["Resources"][logical_id]["Properties"]["Timeout"]
        .as_u64()
        .unwrap_or_else(|| panic!("{logical_id} has a Timeout in template.yaml"))
}

/// What a person accumulates over years: the receipts of many consent ids
/// linked to them (40 browsers × 100 receipts, their states and links), mail
/// log records, and earlier requests (with their address, to be minimised).
fn five_thousand_records_of(address: &str) -> (Vec<privacy_domain::store::Record>, Vec<String>) {
    use privacy_domain::consent::{Categories, ConsentAction, ConsentReceipt, ConsentSource, PolicyVersion};
    use privacy_domain::store::{Record, RecordKey};
    let subject = privacy_tests::newsletter::subject_of(address);
    let at: jiff::Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();
    let attributes = |value: Value| match value {
        Value::Object(fields) => fields,
        _ => unreachable!(),
    };
    let mut records = Vec::new();
    let mut consent_ids = Vec::new();
    for _ in 0..40 {
        let id = ConsentId::parse("consent_id", &uuid::Uuid::new_v4().to_string()).unwrap();
        consent_ids.push(id.to_string());
        let mut previous: Option<String> = None;
        for sequence in 1..=100u64 {
            let mut receipt = ConsentReceipt {
                receipt_id: uuid::Uuid::new_v4(),
                consent_id: id,
                sequence,
                action: ConsentAction::Given,
                recorded_at: at,
                policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
                language: None,
                notice_sha256: None,
                categories: Categories::chosen(sequence % 2 == 0, false),
                source: ConsentSource::Banner,
                gpc: false,
                network: Some("198.51.100.0/24".to_owned()),
                user_agent_family: "Firefox".to_owned(),
                previous_receipt_sha256: previous.take(),
                receipt_sha256: String::new(),
            };
            receipt.receipt_sha256 = receipt.digest();
            previous = Some(receipt.receipt_sha256.clone());
            let mut record = Record::new(
                RecordKey::new(format!("CONSENT#{id}"), format!("RECEIPT#{sequence:010}")),
                "consent_receipt",
            );
            record.attributes = attributes(serde_json::to_value(&receipt).unwrap());
            records.push(record);
        }
        let mut state = Record::new(RecordKey::new(format!("CONSENT#{id}"), "STATE"), "consent_state");
        state.version = 100;
        state.attributes = attributes(json!({
            "consent_id": id, "receipt_id": uuid::Uuid::new_v4(), "recorded_at": at,
            "policy_version": "2026-01", "categories": {"necessary": true, "analytics": false, "marketing": false},
            "gpc": false, "renew_after": "2027-06-01T08:00:00Z", "withdrawn": false, "sequence": 100,
            "last_receipt_sha256": previous, "folded_through": 0}));
        records.push(state);
        let mut link = Record::new(RecordKey::new(format!("CONSENT#{id}"), "LINK"), "consent_link");
        link.subject = Some(subject.clone());
        link.attributes = attributes(json!({"consent_id": id, "linked_at": at}));
        records.push(link);
    }
    for n in 0..420 {
        let mut log = Record::new(
            RecordKey::new(format!("MAILLOG#{}", subject.as_str()), format!("{at}#{n:04}")),
            "mail_log",
        );
        log.subject = Some(subject.clone());
        log.attributes = attributes(json!({"mail_id": uuid::Uuid::new_v4(), "template": "newsletter",
            "status": "sent", "queued_at": at, "finished_at": at, "attempts": 1, "message_id": null}));
        records.push(log);
    }
    for _ in 0..500 {
        let id = uuid::Uuid::new_v4().to_string();
        let mut request = Record::new(RecordKey::new(format!("DSR#{id}"), "REQUEST"), "dsr_request");
        request.subject = Some(subject.clone());
        request.attributes = attributes(json!({"request_id": id, "type": "access", "status": "completed",
            "jurisdiction": "gdpr", "email": address, "channel": "api", "received_at": at,
            "received_on": "2026-06-01", "due_on": "2026-07-01", "extended": false, "closed_at": at, "events": []}));
        records.push(request);
    }
    assert_eq!(records.len(), 5_000);
    (records, consent_ids)
}

#[tokio::test]
async fn an_erasure_of_five_thousand_records_finishes_in_runs_each_within_its_functions_time_limit() {
    let _turn = FIVE_THOUSAND_RECORDS.lock().await;
    let deployment = Deployment::new().await;
    // Each invocation gets the time limit its function has in AWS: one that
    // ran over would come back as timed out.
    let intake_limit = timeout_of("DsrIntakeFunction");
    let outbox_limit = timeout_of("MailOutboxFunction");
    let intake = deployment
        .start("dsr-intake", &[])
        .await
        .with_timeout(std::time::Duration::from_secs(intake_limit));
    let outbox = deployment
        .start("mail-outbox", &[])
        .await
        .with_timeout(std::time::Duration::from_secs(outbox_limit));
    let address = unique_address("prolific");
    let (records, consent_ids) = five_thousand_records_of(&address);
    seed(&deployment.table, &records).await;

    submit(&deployment, &intake, json!({"type": "erasure", "email": address})).await;
    let started = std::time::Instant::now();
    follow(&intake, &address, VERIFY).await;
    let first = started.elapsed();
    // An invocation that ran over its Timeout would have come back timed out.
    println!("dsr-intake (verification and the first run): {first:?} (Timeout {intake_limit} s)");
    assert!(first.as_secs() < intake_limit, "{first:?}");

    // The scheduled outbox run goes on, a run's work at a time, until the reply is mailed.
    let mut resumptions = 0;
    while !mails_to(&address)
        .await
        .iter()
        .any(|mail| mail.raw.contains("Your data is erased"))
    {
        assert!(resumptions < 10, "the erasure does not finish");
        let started = std::time::Instant::now();
        let report = match outbox
            .invoke(privacy_tests::events::sample("mail-outbox-schedule"))
            .await
        {
            privacy_tests::lambda_emulator::Invocation::Response(report) => report,
            other => panic!("{other:?}"),
        };
        let took = started.elapsed();
        println!(
            "mail-outbox run {}: {took:?} (Timeout {outbox_limit} s): {report}",
            resumptions + 1
        );
        assert!(took.as_secs() < outbox_limit, "{took:?}");
        assert_eq!(report["fulfilment_runs"], 1, "{report}");
        resumptions += 1;
    }
    // Over 5,000 deletions and rewrites, a few hundred in the verification's run and 1,000 in each after.
    assert!(resumptions >= 4, "{resumptions} runs after the first");

    let items = privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &deployment.table).await;
    let local_part = address.split('@').next().unwrap();
    for item in &items {
        assert!(!item.contains(local_part), "the address survived erasure in {item}");
        for id in &consent_ids {
            assert!(!item.contains(id.as_str()), "a consent record survived erasure: {item}");
        }
    }
    let subject = privacy_tests::newsletter::subject_of(&address);
    let logs = items
        .iter()
        .filter(|item| item.contains(&format!("MAILLOG#{}", subject.as_str())) && item.contains("newsletter"))
        .count();
    assert_eq!(logs, 0, "the mail log records are erased");
    let requests = items.iter().filter(|item| item.contains("dsr_request")).count();
    assert_eq!(requests, 501, "the records of requests are kept, without the address");
    assert!(
        !items.iter().any(|item| item.contains("fulfilment_continuation")),
        "nothing is left to resume"
    );
    intake.stop_checking_logs(&[&address]).await;
    outbox.stop_checking_logs(&[&address]).await;
    drop_table(&deployment.table).await;
}

/// The tests of a person with 5,000 records take turns: the emulator serves
/// one request at a time and copies every table on each transaction, so two
/// such tables at once would slow every test sharing it.
static FIVE_THOUSAND_RECORDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writes `records` straight into the table, 25 a batch.
async fn seed(table: &str, records: &[privacy_domain::store::Record]) {
    let client = privacy_tests::aws::dynamodb().await;
    for batch in records.chunks(25) {
        let writes = batch
            .iter()
            .map(|record| {
                let item = privacy_aws::dynamodb::to_item(record).expect("an item");
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .expect("a put request");
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build()
            })
            .collect();
        let written = client
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .expect("seed the person's records");
        assert!(
            written.unprocessed_items.unwrap_or_default().is_empty(),
            "the emulator took every item"
        );
    }
}

/// The emulator copies every table on each transaction: a table this large
/// left behind would slow every later test sharing the emulator.
async fn drop_table(table: &str) {
    privacy_tests::aws::dynamodb()
        .await
        .delete_table()
        .table_name(table)
        .send()
        .await
        .expect("drop the large table");
}

#[tokio::test]
async fn an_export_of_five_thousand_records_is_read_within_the_verifications_time_limit_and_goes_to_the_team() {
    let _turn = FIVE_THOUSAND_RECORDS.lock().await;
    let deployment = Deployment::new().await;
    let team = unique_address("team");
    let intake_limit = timeout_of("DsrIntakeFunction");
    let outbox_limit = timeout_of("MailOutboxFunction");
    let extra = [("PRIVACY_TEAM_ADDRESS", team.as_str())];
    // One that ran over its Timeout would come back timed out, failing `follow`.
    let intake = deployment
        .start("dsr-intake", &extra)
        .await
        .with_timeout(std::time::Duration::from_secs(intake_limit));
    let outbox = deployment
        .start("mail-outbox", &extra)
        .await
        .with_timeout(std::time::Duration::from_secs(outbox_limit));
    let address = unique_address("prolific");
    let (records, _) = five_thousand_records_of(&address);
    seed(&deployment.table, &records).await;

    submit(&deployment, &intake, json!({"type": "access", "email": address})).await;
    let started = std::time::Instant::now();
    follow(&intake, &address, VERIFY).await;
    let took = started.elapsed();
    println!("dsr-intake (verification and the export's first run): {took:?} (Timeout {intake_limit} s)");
    assert!(took.as_secs() < intake_limit, "{took:?}");

    // Known too large to mail after a few hundred records: the scheduled
    // outbox runs count the rest for the summary, a run's work at a time.
    let mut runs = 0;
    while !mails_to(&team)
        .await
        .iter()
        .any(|mail| mail.raw.contains("Export too large to mail"))
    {
        assert!(runs < 10, "the export does not finish");
        let started = std::time::Instant::now();
        let report = match outbox
            .invoke(privacy_tests::events::sample("mail-outbox-schedule"))
            .await
        {
            privacy_tests::lambda_emulator::Invocation::Response(report) => report,
            other => panic!("{other:?}"),
        };
        let took = started.elapsed();
        println!(
            "mail-outbox run {}: {took:?} (Timeout {outbox_limit} s): {report}",
            runs + 1
        );
        assert!(took.as_secs() < outbox_limit, "{took:?}");
        assert_eq!(report["fulfilment_runs"], 1, "{report}");
        runs += 1;
    }

    // Several MiB of JSON, over what one mail carries: the person is mailed
    // the summary of everything (every record counted) and told how the file
    // reaches them; the team is told to deliver it.
    let mails = mails_to(&address).await;
    assert!(mails.iter().all(|mail| mail.attachments.is_empty()), "nothing attached");
    let told = mails
        .iter()
        .find(|mail| {
            mail.raw
                .contains("Subject: Your personal data: how you will receive it")
        })
        .expect("the person is told how the export reaches them");
    let counted: usize = told
        .text
        .lines()
        .filter_map(|line| line.trim().strip_suffix(" items"))
        .filter_map(|line| line.rsplit(": ").next())
        .filter_map(|n| n.parse::<usize>().ok())
        .sum();
    assert!(
        counted >= records.len(),
        "{counted} items in the summary: {}",
        told.text
    );
    assert!(told.text.contains("another secure channel"), "{}", told.text);
    assert!(
        mails_to(&team)
            .await
            .iter()
            .any(|mail| mail.raw.contains("Export too large to mail")),
        "the team is told"
    );
    assert!(
        !privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &deployment.table)
            .await
            .iter()
            .any(|item| item.contains("fulfilment_continuation")),
        "nothing is left to resume"
    );
    intake.stop_checking_logs(&[&address]).await;
    outbox.stop_checking_logs(&[&address]).await;
    drop_table(&deployment.table).await;
}
