//! The register of processing and the proof it promises, through the built
//! binaries against the DynamoDB/SES emulator: `GET /privacy/register` names
//! the controller of the privacy policy and every purpose with the system
//! holding its data; the newsletter's opt-in evidence records the notice shown,
//! holds no address, and outlives the subscription through a real sweep; the
//! deadline digest shows dates on the controller's calendar.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use privacy_domain::store::{RecordKey, RecordStore};
use privacy_tests::events::{http_event, with_header, HttpResponse};
use privacy_tests::newsletter::{mails_to, subject_of, unique_address, Deployment};
use privacy_tests::openapi;
use privacy_tests::sweep::{queue_entry, SweepDeployment};
use serde_json::{json, Value};

const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm";
const NOTICE: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

fn stockholm() -> TimeZone {
    TimeZone::get("Europe/Stockholm").expect("the zone database knows Stockholm")
}

fn subscribe(body: &Value) -> Value {
    http_event(
        "POST /newsletter/subscribe",
        "/newsletter/subscribe",
        Some(&body.to_string()),
    )
}

fn evidence_key(address: &str) -> RecordKey {
    RecordKey::new(format!("NEWSLETTER#{}", subject_of(address).as_str()), "EVIDENCE#news")
}

fn subscription_key(address: &str) -> RecordKey {
    RecordKey::new(format!("NEWSLETTER#{}", subject_of(address).as_str()), "LIST#news")
}

#[tokio::test]
async fn the_register_names_the_controller_of_the_privacy_policy_and_every_purpose_with_its_system() {
    let deployment = Deployment::new().await;
    let intake = deployment.start("dsr-intake", &[]).await;
    let response: HttpResponse = intake
        .http(http_event("GET /privacy/register", "/privacy/register", None))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    openapi::check_response(
        &openapi::document(),
        "get",
        "/privacy/register",
        response.status,
        response.header("content-type"),
        &response.body,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let register = response.json();

    let controller = &register["controller"];
    assert_eq!(controller["name"], "IOT Communications International AB");
    assert_eq!(controller["org_number"], "559161-6122");
    assert_eq!(
        controller["address"],
        "Magnus Ladulåsgatan 13, 118 65 Stockholm, Sweden"
    );
    assert_eq!(controller["contact"], "info@iotcomms.io");
    assert_eq!(register["supervisory_authority"]["url"], "https://www.imy.se");
    assert!(register["supervisory_authority"]["name"]
        .as_str()
        .unwrap()
        .contains("IMY"));

    let systems = register["systems"].as_array().expect("a list of systems");
    let purposes = register["purposes"].as_array().expect("a list of purposes");
    // The purposes of the privacy policy (SPEC 0), each with the system holding its data.
    for (id, words) in [
        ("service", "user accounts"),
        ("support", "support"),
        ("invoicing", "invoicing"),
        ("administration", "administration"),
        ("newsletters", "newsletters"),
        ("prospects", "prospects"),
        ("cookies", "cookies"),
        ("security", "protecting"),
    ] {
        let purpose = purposes
            .iter()
            .find(|purpose| purpose["id"] == id)
            .unwrap_or_else(|| panic!("the purpose {id} is missing: {purposes:?}"));
        assert!(
            purpose["name"].as_str().unwrap().to_lowercase().contains(words),
            "{purpose}"
        );
        for category in purpose["categories"].as_array().unwrap() {
            let holders: Vec<&Value> = systems
                .iter()
                .filter(|system| system["holds"].as_array().unwrap().contains(category))
                .collect();
            assert!(!holders.is_empty(), "no system holds {category} of {id}");
            for system in holders {
                match system["access"]["via"].as_str() {
                    Some("this_product") => {}
                    Some("event" | "webhook") => assert!(
                        !system["instructions"].as_str().unwrap_or_default().is_empty(),
                        "{system}"
                    ),
                    Some("manual") => assert!(
                        !system["access"]["instructions"].as_str().unwrap_or_default().is_empty(),
                        "{system}"
                    ),
                    other => panic!("unexpected access {other:?} in {system}"),
                }
            }
        }
    }
    let this_product = systems
        .iter()
        .find(|system| system["access"]["via"] == "this_product")
        .expect("this product is a system of record");
    for category in register["categories"].as_array().unwrap() {
        assert!(
            this_product["holds"].as_array().unwrap().contains(&category["id"]),
            "{}",
            category["id"]
        );
    }
    for elsewhere in [
        "service_accounts",
        "support_cases",
        "prospects",
        "website_analytics",
        "security_logs",
    ] {
        assert!(
            register["categories_elsewhere"]
                .as_array()
                .unwrap()
                .iter()
                .any(|category| category["id"] == elsewhere),
            "{elsewhere}"
        );
    }
    // Lawful bases are grounded in EU or Swedish law, never a California rule.
    for category in register["categories"]
        .as_array()
        .unwrap()
        .iter()
        .chain(register["categories_elsewhere"].as_array().unwrap())
    {
        let reference = category["lawful_basis"]["reference"].as_str().unwrap();
        assert!(reference.starts_with("GDPR Art. 6(1)("), "{reference}");
        assert!(!reference.contains("CCR") && !reference.contains("CCPA"), "{reference}");
    }
    intake.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn the_opt_in_evidence_names_the_notice_holds_no_address_and_outlives_the_subscription() {
    let deployment = SweepDeployment::new().await;
    let subscribe_function = deployment.deployment.start("newsletter-subscribe", &[]).await;
    let unsubscribe_function = deployment.deployment.start("newsletter-unsubscribe", &[]).await;
    let address = unique_address("proof");

    // Bad notice fields are refused, naming the field, and nothing is stored.
    for (field, value) in [("policy_version", "v 1"), ("notice_sha256", "abc")] {
        let mut body = json!({"email": address});
        body[field] = json!(value);
        let refused = subscribe_function.http(subscribe(&body)).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.error().1.as_deref(), Some(field), "{}", refused.body);
    }
    assert!(deployment.get(&evidence_key(&address)).await.is_none());

    let accepted = subscribe_function
        .http(subscribe(&json!({"email": address, "name": "Grace Hopper",
            "policy_version": "2026-05", "notice_sha256": NOTICE})))
        .await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    deployment.deployment.drain_outbox(&[], &[&address]).await;
    let mail = mails_to(&address).await.pop().expect("a confirmation mail");
    let token = mail.token(CONFIRM).expect("a confirmation link");
    let confirmed = subscribe_function
        .http(privacy_tests::events::link_button("/newsletter/confirm", &token))
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);

    // The evidence, read back from DynamoDB: both events name the notice; no address, no name.
    let evidence = deployment.get(&evidence_key(&address)).await.expect("the evidence");
    assert_eq!(evidence.entity, "newsletter_evidence");
    assert_eq!(evidence.expires_at, None, "kept while subscribed");
    let events = evidence.attributes["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|event| event["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["signed_up", "confirmed"]);
    for event in events {
        assert_eq!(event["policy_version"], "2026-05", "{event}");
        assert_eq!(event["notice_sha256"], NOTICE, "{event}");
    }
    let local_part = address.split('@').next().unwrap();
    let items = privacy_tests::aws::scan_text(&deployment.client, deployment.table()).await;
    let evidence_item = items
        .iter()
        .find(|item| item.contains("newsletter_evidence"))
        .expect("the evidence item");
    assert!(!evidence_item.contains(local_part), "{evidence_item}");
    assert!(!evidence_item.contains("Grace"), "{evidence_item}");

    // Unsubscribe (RFC 8058 one-click).
    let one_click = with_header(
        with_header(
            http_event(
                "POST /newsletter/unsubscribe",
                &format!("/newsletter/unsubscribe?token={}", mail.unsubscribe_token().unwrap()),
                Some("List-Unsubscribe=One-Click"),
            ),
            "content-type",
            Some("application/x-www-form-urlencoded"),
        ),
        "origin",
        None,
    );
    let before = Timestamp::now();
    let unsubscribed = unsubscribe_function.http(one_click).await;
    let after = Timestamp::now();
    assert_eq!(unsubscribed.status, 200, "{}", unsubscribed.body);

    // A sweep 31 days on: the subscription (address) is gone, the evidence stays ~3 years.
    let today: Date = before.to_zoned_datetime(TimeZone::UTC).date();
    deployment.set_checkpoint(today.checked_add(29.days()).unwrap()).await;
    let sweep = deployment.start(true).await;
    let run = sweep.sweep_at(after + SignedDuration::from_hours(31 * 24)).await;
    assert_eq!(run["outcome"], "completed", "{run}");
    assert!(
        deployment.get(&subscription_key(&address)).await.is_none(),
        "the subscription went 30 days after the unsubscribe: {run}"
    );
    let kept = deployment
        .store()
        .get(&evidence_key(&address))
        .await
        .unwrap()
        .expect("the evidence outlives the subscription");
    let three_years = |at: Timestamp| {
        at.to_zoned_datetime(stockholm())
            .checked_add(3.years())
            .unwrap()
            .timestamp()
    };
    let expires_at = kept.expires_at.expect("an expiry once the subscription ended");
    assert!(
        expires_at >= three_years(before) - SignedDuration::from_secs(1)
            && expires_at <= three_years(after) + SignedDuration::from_secs(1),
        "expires {expires_at}, unsubscribed between {before} and {after}"
    );
    let kinds: Vec<String> = kept.attributes["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["signed_up", "confirmed", "unsubscribed"]);

    sweep.stop_checking_logs(&[&address]).await;
    subscribe_function.stop_checking_logs(&[&address]).await;
    unsubscribe_function.stop_checking_logs(&[&address]).await;
}

#[tokio::test]
async fn the_digest_shows_dates_on_the_stockholm_calendar() {
    let deployment = SweepDeployment::new().await;
    let request_id = format!("late-{}", uuid::Uuid::new_v4().simple());
    let mut entry = queue_entry("2027-03-02".parse().unwrap(), &request_id, "access", "verified");
    // 23:30 UTC on 1 February is 00:30 on 2 February in Stockholm.
    entry
        .attributes
        .insert("received_at".into(), json!("2027-02-01T23:30:00Z"));
    deployment.put(entry).await;
    deployment.set_checkpoint("2027-02-28".parse().unwrap()).await;
    let sweep = deployment.start(true).await;
    // 23:30 UTC on 1 March is 2 March in Stockholm.
    let run = sweep.sweep_at("2027-03-01T23:30:00Z".parse().unwrap()).await;
    assert_eq!(run["digest"]["status"], "sent", "{run}");
    let mails = mails_to(&deployment.team).await;
    let digest = mails.first().expect("a digest");
    assert!(
        digest.raw.replace("\r\n ", " ").contains("(2027-03-02)"),
        "the subject is dated 2 March: {}",
        digest.raw
    );
    let line = digest
        .text
        .lines()
        .find(|line| line.trim_end().ends_with(request_id.as_str()))
        .unwrap_or_else(|| panic!("{request_id} in\n{}", digest.text));
    assert!(line.contains("due today"), "{line}");
    assert!(line.contains("received 2027-02-02"), "{line}");
    assert!(!digest.text.contains("2027-02-01"), "no UTC date: {}", digest.text);
    sweep.stop_checking_logs(&[&deployment.team]).await;
}

#[tokio::test]
async fn erasure_ends_the_subscription_but_keeps_the_opt_in_evidence_three_years() {
    let deployment = Deployment::new().await;
    let subscribe_function = deployment.start("newsletter-subscribe", &[]).await;
    let team = unique_address("team");
    let intake = deployment
        .start("dsr-intake", &[("PRIVACY_TEAM_ADDRESS", team.as_str())])
        .await;
    let address = unique_address("erased");
    let accepted = subscribe_function
        .http(subscribe(&json!({"email": address, "policy_version": "2026-05"})))
        .await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    deployment.drain_outbox(&[], &[&address]).await;
    let token = mails_to(&address).await.pop().unwrap().token(CONFIRM).unwrap();
    let confirmed = subscribe_function
        .http(privacy_tests::events::link_button("/newsletter/confirm", &token))
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);

    let submitted = intake
        .http(http_event(
            "POST /dsr",
            "/dsr",
            Some(&json!({"type": "erasure", "email": address}).to_string()),
        ))
        .await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    deployment.drain_outbox(&[], &[&address]).await;
    let verify = mails_to(&address)
        .await
        .pop()
        .and_then(|mail| mail.token("https://privacy.example.com/dsr/verify"))
        .expect("a verification link");
    let before = Timestamp::now();
    let page = intake
        .http(privacy_tests::events::link_button("/dsr/verify", &verify))
        .await;
    let after = Timestamp::now();
    assert_eq!(page.status, 200, "{}", page.body);

    let store = privacy_aws::dynamodb::DynamoRecordStore::new(privacy_tests::aws::dynamodb().await, &deployment.table);
    assert!(
        store.get(&subscription_key(&address)).await.unwrap().is_none(),
        "the subscription is erased"
    );
    let kept = store
        .get(&evidence_key(&address))
        .await
        .unwrap()
        .expect("the opt-in evidence is kept");
    let kinds: Vec<&str> = kept.attributes["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signed_up", "confirmed", "erased"]);
    let three_years = |at: Timestamp| {
        at.to_zoned_datetime(stockholm())
            .checked_add(3.years())
            .unwrap()
            .timestamp()
    };
    let expires_at = kept.expires_at.expect("3 years from the erasure");
    assert!(
        expires_at >= three_years(before) - SignedDuration::from_secs(1)
            && expires_at <= three_years(after) + SignedDuration::from_secs(1),
        "{expires_at}"
    );
    let reply = mails_to(&address)
        .await
        .into_iter()
        .find(|mail| mail.raw.contains("Your data is erased"))
        .expect("the erasure reply");
    assert!(
        reply.text.contains("Art. 7(1)"),
        "why the proof is kept: {}",
        reply.text
    );
    subscribe_function.stop_checking_logs(&[&address]).await;
    intake.stop_checking_logs(&[&address]).await;
}
