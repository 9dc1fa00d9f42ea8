//! The life of a data subject request through the built dsr-intake, dsr-admin
//! and retention-sweep binaries, against the DynamoDB/SES emulator: what the
//! team's queue holds, how a never-verified request ends (expired, minimised,
//! kept 24 months), objections to processing, and what refusals and
//! extensions tell the requester.

use jiff::{SignedDuration, Timestamp};
use privacy_domain::store::RecordKey;
use privacy_domain::tokens::token_digest;
use privacy_tests::dsr::DsrBackend;
use privacy_tests::events::{http_event, with_header, HttpResponse};
use privacy_tests::newsletter::{mails_to, unique_address};
use privacy_tests::sweep::SweepDeployment;
use serde_json::{json, Value};

/// `POST /dsr` from the HTML form, then the outbox's drain the table's
/// stream starts on the request's write.
async fn submit_form(backend: &DsrBackend, body: &str) -> HttpResponse {
    let event = with_header(
        http_event("POST /dsr", "/dsr", Some(body)),
        "content-type",
        Some("application/x-www-form-urlencoded"),
    );
    let answer = backend.intake.http(event).await;
    backend.deployment.drain_outbox(&[], &[]).await;
    answer
}

fn listed(queue: &[Value], request_id: &str) -> bool {
    queue.iter().any(|entry| entry["request_id"] == request_id)
}

#[tokio::test]
async fn a_never_verified_request_expires_into_a_minimised_record_kept_24_months_and_is_never_queued() {
    let deployment = SweepDeployment::new().await;
    let backend = DsrBackend::with_sweep(&deployment).await;
    let address = unique_address("unverified");
    let unverified = backend
        .file(json!({
            "type": "rectification", "email": address, "name": "Ada Lovelace",
            "details": "My surname is misspelt", "corrections": {"name": "Ada King"},
            "consent_id": "7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d",
        }))
        .await;
    let token = backend.verification_token(&address).await;

    // A verified request beside it is queued; the unverified one is not.
    let other = unique_address("verified");
    let verified = backend
        .verified_request(json!({"type": "restriction", "email": other}))
        .await;
    let queue = backend.queue("").await;
    assert!(listed(&queue, &verified), "{queue:?}");
    assert!(!listed(&queue, &unverified), "{queue:?}");
    assert!(backend.queue("?status=awaiting_verification").await.is_empty());

    let received = backend.request_record(&unverified).await;
    let received_at: Timestamp = received.attributes["received_at"].as_str().unwrap().parse().unwrap();
    let expires_at = received.expires_at.expect("an expiry");
    let kept = expires_at.duration_since(received_at);
    assert!(
        kept >= SignedDuration::from_hours(24 * (730 + 29)) && kept <= SignedDuration::from_hours(24 * (731 + 31)),
        "TTL keeps it 24 months after it expires at 30 days: {kept:?}"
    );

    // The sweep 31 days on: expired, minimised, kept.
    let sweep = deployment.start(true).await;
    let now = Timestamp::now();
    deployment
        .set_checkpoint(
            now.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .yesterday()
                .unwrap(),
        )
        .await;
    let run = sweep.sweep_at(now + SignedDuration::from_hours(24 * 31)).await;
    assert_eq!(run["outcome"], "completed", "{run}");
    assert!(run["minimised"].as_u64() >= Some(1), "{run}");
    let record = backend.request_record(&unverified).await;
    assert_eq!(record.attributes["status"], "expired", "{:?}", record.attributes);
    for field in [
        "email",
        "name",
        "details",
        "corrections",
        "consent_id",
        "verification_digest",
    ] {
        assert!(!record.attributes.contains_key(field), "{field} is removed");
    }
    let stored = serde_json::to_string(&record.attributes).unwrap();
    for personal in [address.as_str(), "Ada", "misspelt", "7d1c2b3a"] {
        assert!(!stored.contains(personal), "{personal} in {stored}");
    }
    assert_eq!(record.attributes["type"], "rectification");
    assert_eq!(record.attributes["jurisdiction"], "gdpr");
    assert_eq!(record.attributes["channel"], "api");
    assert!(record.attributes.contains_key("received_on") && record.attributes.contains_key("closed_at"));
    assert_eq!(record.expires_at, Some(expires_at), "kept until its 24 months end");
    assert!(
        !deployment
            .exists(&RecordKey::new(format!("TOKEN#{}", token_digest(&token)), "TOKEN"))
            .await,
        "the link's token record is gone at 30 days"
    );
    assert_eq!(backend.verify(&token).await.status, 400, "the link no longer works");
    assert!(!listed(&backend.queue("").await, &unverified));
    assert!(backend.queue("?status=expired").await.is_empty());
    sweep.stop_checking_logs(&[&address, "Ada"]).await;
    backend.stop(&[&address, &other, "Ada"]).await;
}

#[tokio::test]
async fn a_processing_objection_stops_marketing_at_once_and_reaches_the_team_once_verified() {
    let backend = DsrBackend::start().await;
    let address = unique_address("objection");
    let answer = backend
        .submit(json!({"type": "objection", "scope": "processing", "email": address,
                       "details": "I object to the analysis of my usage"}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.json()["status"], "awaiting_verification");
    let id = answer.json()["request_id"].as_str().unwrap().to_owned();
    let (_, suppression) = backend.deployment.state(&address).await;
    assert!(suppression.is_some(), "marketing stopped before verification");
    let mails = mails_to(&address).await;
    assert_eq!(mails.len(), 1, "the verification mail only");
    assert!(
        mails[0].text.contains("already stopped all marketing"),
        "{}",
        mails[0].text
    );
    assert!(
        !mails_to(&backend.team).await.iter().any(|mail| mail.text.contains(&id)),
        "the team hears of it once verified"
    );
    assert!(!listed(&backend.queue("").await, &id));

    let page = backend.verify(&backend.verification_token(&address).await).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let notice = mails_to(&backend.team)
        .await
        .into_iter()
        .find(|mail| mail.text.contains(&id))
        .expect("the privacy team's mailbox gets the notice");
    assert!(notice.text.contains("Scope: processing"), "{}", notice.text);
    let status = backend.status(&address).await;
    assert_eq!(
        (&status["status"], &status["scope"]),
        (&json!("awaiting_team"), &json!("processing"))
    );
    let queue = backend.queue("?status=awaiting_team").await;
    let entry = queue
        .iter()
        .find(|entry| entry["request_id"] == id.as_str())
        .expect("queued");
    assert_eq!(entry["scope"], "processing");

    // A marketing objection (the default scope) still acts at once, form or JSON.
    let marketing = unique_address("marketing");
    let form = submit_form(
        &backend,
        &format!("type=objection&scope=marketing&email={}", marketing.replace('@', "%40")),
    )
    .await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert!(
        mails_to(&marketing).await.is_empty(),
        "no mail to an unverified address"
    );
    let (_, suppression) = backend.deployment.state(&marketing).await;
    assert!(suppression.is_some());
    backend.stop(&[&address, &marketing]).await;
}

#[tokio::test]
async fn refusals_and_extensions_name_the_reasons_imy_and_the_courts() {
    let backend = DsrBackend::start().await;
    let address = unique_address("decided");
    let extended = backend
        .verified_request(json!({"type": "restriction", "email": address}))
        .await;
    let response = backend
        .admin(
            "POST /admin/dsr/{request_id}/extend",
            &format!("/admin/dsr/{extended}/extend"),
            Some(json!({"reason": "Three systems hold your data"})),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    // A second open restriction of the same address would be the first one again.
    let other = unique_address("refused");
    let refused = backend
        .verified_request(json!({"type": "restriction", "email": other, "details": "again"}))
        .await;
    let response = backend
        .admin(
            "POST /admin/dsr/{request_id}/reject",
            &format!("/admin/dsr/{refused}/reject"),
            Some(json!({"reason": "The processing is required by law"})),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let mut mails = mails_to(&address).await;
    mails.extend(mails_to(&other).await);
    for (subject, reason) in [
        ("We need more time", "Three systems hold your data"),
        ("was declined", "The processing is required by law"),
    ] {
        let mail = mails
            .iter()
            .find(|mail| mail.raw.contains(subject))
            .unwrap_or_else(|| panic!("a mail `{subject}`"));
        assert!(mail.text.contains(reason), "{}", mail.text);
        assert!(
            mail.text.contains("(IMY)") && mail.text.contains("https://www.imy.se"),
            "{}",
            mail.text
        );
        assert!(
            mail.text.contains("judicial remedy against us (GDPR Art. 79)"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("court in Sweden"), "{}", mail.text);
        assert!(mail.text.contains("where you habitually reside"), "{}", mail.text);
    }
    backend.stop(&[&address, &other]).await;
}

#[tokio::test]
async fn a_rectification_with_nothing_to_correct_ends_awaiting_team() {
    let backend = DsrBackend::start().await;
    let address = unique_address("rectify");
    // The product holds no subscription for the address: nothing the corrections apply to.
    let id = backend
        .verified_request(json!({"type": "rectification", "email": address, "corrections": {"name": "Ada King"}}))
        .await;
    let record = backend.request_record(&id).await;
    assert_eq!(record.attributes["status"], "awaiting_team");
    let events = record.attributes["events"].as_array().unwrap();
    assert!(events.iter().any(|event| event["event"] == "needs_team"), "{events:?}");
    assert!(
        !mails_to(&address)
            .await
            .iter()
            .any(|mail| mail.text.contains("We corrected")),
        "never \"We corrected: .\""
    );
    assert!(listed(&backend.queue("?status=awaiting_team").await, &id));

    // Where the product holds a subscription, the correction is applied and the request completed.
    let customer = unique_address("customer");
    let added = backend
        .admin(
            "POST /admin/newsletter/subscribers",
            "/admin/newsletter/subscribers",
            Some(json!({"email": customer, "name": "Ada Lovelace", "basis": "legitimate_interest"})),
        )
        .await;
    assert!(added.status < 300, "{}", added.body);
    let corrected = backend
        .verified_request(json!({"type": "rectification", "email": customer, "corrections": {"name": "Ada King"}}))
        .await;
    assert_eq!(
        backend.request_record(&corrected).await.attributes["status"],
        "completed"
    );
    assert!(mails_to(&customer)
        .await
        .iter()
        .any(|mail| mail.text.contains("We corrected: subscriber name.")));
    backend.stop(&[&address, &customer, "Ada King", "Ada Lovelace"]).await;
}

#[tokio::test]
async fn a_bad_scope_gets_a_400_naming_scope() {
    let backend = DsrBackend::start().await;
    let address = unique_address("scope");
    let post = |body: Value| http_event("POST /dsr", "/dsr", Some(&body.to_string()));
    let cases = [
        (
            "unknown scope",
            post(json!({"type": "objection", "scope": "everything", "email": address})),
        ),
        (
            "scope that is not text",
            post(json!({"type": "objection", "scope": 1, "email": address})),
        ),
        (
            "scope on another type",
            post(json!({"type": "access", "scope": "processing", "email": address})),
        ),
    ];
    for (case, event) in cases {
        let response = backend.intake.http(event).await;
        assert_eq!(response.status, 400, "{case}: {}", response.body);
        assert_eq!(
            response.error(),
            ("invalid_field".to_owned(), Some("scope".to_owned())),
            "{case}"
        );
    }
    let form = submit_form(
        &backend,
        &format!("type=objection&scope=everything&email={}", address.replace('@', "%40")),
    )
    .await;
    assert_eq!(form.status, 400, "{}", form.body);
    assert!(form.body.contains("scope:"), "{}", form.body);
    assert!(mails_to(&address).await.is_empty());
    assert!(
        backend.deployment.state(&address).await.1.is_none(),
        "nothing was acted on"
    );
    backend.stop(&[&address]).await;
}
