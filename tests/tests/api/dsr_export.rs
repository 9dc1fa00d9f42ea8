//! The export and the erasure through the built dsr-intake and dsr-admin
//! binaries, against the DynamoDB/SES emulator: the access reply read back
//! from the emulator's raw messages carries `personal-data.json`; a CCPA
//! export names CCPA categories; an export too large to mail goes to the team;
//! an erasure leaves a suppression the admin API respects and request records
//! without personal data.

use privacy_domain::dsr::export::{EXPORT_FILENAME, MAX_EXPORT_BYTES};
use privacy_domain::dsr::DataSubjectRequest;
use privacy_domain::newsletter::SuppressionReason;
use privacy_domain::store::{Precondition, Record, RecordKey};
use privacy_tests::dsr::{press_confirmation, record_consent, sign_up, DsrBackend};
use privacy_tests::events::HttpResponse;
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, subject_of, unique_address, SentMail};
use serde_json::{json, Value};

/// Signs up with double opt-in (through the outbox's drain) and follows the confirmation link.
async fn confirmed_subscriber(backend: &DsrBackend, subscribe: &Function, address: &str, consent_id: Option<&str>) {
    let before = mails_to(address).await.len();
    let mut body = json!({"email": address, "name": "Ada Lovelace"});
    if let Some(consent_id) = consent_id {
        body["consent_id"] = json!(consent_id);
    }
    sign_up(subscribe, &body).await;
    backend.deployment.drain_outbox(&[], &[address]).await;
    assert_eq!(mails_to(address).await.len(), before + 1, "one confirmation mail");
    press_confirmation(subscribe, address).await;
}

/// The team adds `address` as a customer (legitimate interest).
async fn add_customer(backend: &DsrBackend, address: &str) -> HttpResponse {
    let body = json!({"email": address, "name": "Ada Lovelace", "basis": "legitimate_interest"});
    backend
        .admin(
            "POST /admin/newsletter/subscribers",
            "/admin/newsletter/subscribers",
            Some(body),
        )
        .await
}

/// Stops the functions; none of `personal_data` reached their logs.
async fn stop(backend: DsrBackend, subscribe: Function, consent: Function, personal_data: &[&str]) {
    backend.stop(personal_data).await;
    subscribe.stop_checking_logs(personal_data).await;
    consent.stop_checking_logs(personal_data).await;
}

/// The mail to `address` that carries `personal-data.json`.
fn export_mail(mails: &[SentMail]) -> &SentMail {
    mails
        .iter()
        .find(|mail| mail.attachment(EXPORT_FILENAME).is_some())
        .expect("a mail with personal-data.json attached")
}

fn export_of(mail: &SentMail) -> Value {
    let attachment = mail.attachment(EXPORT_FILENAME).unwrap();
    assert_eq!(attachment.content_type, "application/json");
    assert!(attachment.disposition_attachment, "an attachment, not an inline part");
    serde_json::from_slice(&attachment.content).expect("personal-data.json is JSON")
}

fn items<'a>(export: &'a Value, entity: &str) -> Vec<&'a Value> {
    export["personal_data"]
        .as_array()
        .expect("personal_data is a list")
        .iter()
        .filter(|item| item["entity"] == entity)
        .collect()
}

#[tokio::test]
async fn the_access_reply_carries_personal_data_json_with_the_subscription_and_linked_consent() {
    let backend = DsrBackend::start().await;
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    let consent = backend.deployment.start("consent-capture", &[]).await;
    let address = unique_address("export");
    let consent_id = uuid::Uuid::new_v4().to_string();
    record_consent(&consent, &consent_id, false).await;
    confirmed_subscriber(&backend, &subscribe, &address, Some(&consent_id)).await;
    backend
        .verified_request(json!({"type": "access", "email": address}))
        .await;

    let mails = mails_to(&address).await;
    let mail = export_mail(&mails);
    assert!(
        mail.raw.contains("Content-Type: multipart/mixed;"),
        "a mixed message around the alternative"
    );
    assert!(
        !mail.text.contains("\"personal_data\""),
        "the body is a summary, not the JSON"
    );
    for expected in [
        "personal-data.json",
        // The subscription and its opt-in evidence.
        "Newsletter subscriptions: 2 items",
        "Cookie consent records:",
        "How long we keep it",
        "Automated decisions",
        "(IMY)",
    ] {
        assert!(
            mail.text.contains(expected),
            "{expected:?} missing from:\n{}",
            mail.text
        );
    }
    assert!(mail.html.contains("<h2>What we hold about you</h2>"), "{}", mail.html);

    let export = export_of(mail);
    let subscription = items(&export, "newsletter_subscription");
    assert_eq!(subscription.len(), 1);
    assert_eq!(subscription[0]["record"]["email"], address.as_str());
    assert_eq!(subscription[0]["record"]["status"], "confirmed");
    assert_eq!(subscription[0]["category"], "newsletter_subscribed");
    let receipts = items(&export, "consent_receipt");
    assert!(!receipts.is_empty(), "the linked consent receipts");
    assert!(receipts
        .iter()
        .all(|r| r["record"]["consent_id"] == consent_id.as_str()));
    assert!(receipts.iter().all(|r| r["category"] == "consent_records"));
    for item in export["personal_data"].as_array().unwrap() {
        assert!(
            item["category"].is_string(),
            "every item names its register category: {item}"
        );
        assert!(item.get("ccpa").is_none(), "no CCPA fields in a GDPR access export");
    }
    assert!(export["article_15"]["f_complaint"]["name"]
        .as_str()
        .unwrap()
        .contains("IMY"));
    stop(backend, subscribe, consent, &[&address, "Ada Lovelace"]).await;
}

#[tokio::test]
async fn a_ccpa_know_export_names_ccpa_category_source_purpose_and_the_persons_disclosures() {
    let backend = DsrBackend::start().await;
    let address = unique_address("know");
    assert_eq!(add_customer(&backend, &address).await.status, 201);
    backend
        .verified_request(json!({"type": "ccpa_know", "email": address}))
        .await;
    let mails = mails_to(&address).await;
    let mail = export_mail(&mails);
    let export = export_of(mail);
    let subscription = items(&export, "newsletter_subscription")[0];
    assert_eq!(subscription["ccpa"]["category"], "Identifiers");
    assert!(subscription["ccpa"]["source"]
        .as_str()
        .unwrap()
        .contains("customer records"));
    assert!(subscription["ccpa"]["business_purpose"]
        .as_str()
        .unwrap()
        .contains("newsletter"));
    for item in export["personal_data"].as_array().unwrap() {
        assert!(item["ccpa"]["category"].is_string(), "{item}");
    }
    // A customer without cookie consent or invoices: identifiers only.
    let disclosed = export["ccpa"]["disclosed_for_business_purpose_last_12_months"]
        .as_array()
        .unwrap();
    let categories: Vec<&str> = disclosed.iter().map(|d| d["category"].as_str().unwrap()).collect();
    assert_eq!(categories, ["Identifiers"]);
    let recipients: Vec<&str> = disclosed[0]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, ["aws", "support"]);
    assert!(mail.text.contains("California (CCPA/CPRA)"), "{}", mail.text);
    backend.stop(&[&address, "Ada Lovelace"]).await;
}

/// Gives `address` consent receipts of about 1 KiB each, written straight
/// to the table under the person's subject key.
async fn receipts(backend: &DsrBackend, address: &str, count: usize) {
    let store = backend.store().await;
    let subject = subject_of(address);
    let filler = "x".repeat(1000);
    let mut records = Vec::new();
    for n in 0..count {
        let mut record = Record::new(
            RecordKey::new(format!("CONSENT#{}", uuid::Uuid::new_v4()), "RECEIPT#0"),
            "consent_receipt",
        );
        record.subject = Some(subject.clone());
        record.attributes = json!({"n": n, "notice": filler}).as_object().unwrap().clone();
        records.push(record);
    }
    for record in records {
        privacy_domain::store::put(&store, record, Precondition::Absent)
            .await
            .expect("write a receipt");
    }
}

#[tokio::test]
async fn an_export_near_the_limit_is_mailed_and_one_over_it_goes_to_the_team() {
    let backend = DsrBackend::start().await;
    // Near the limit: it fits one outbox entry and one mail.
    let near = unique_address("near");
    // About 1.2 KiB per receipt in the pretty-printed export.
    receipts(&backend, &near, MAX_EXPORT_BYTES / 1300).await;
    backend
        .verified_request(json!({"type": "portability", "email": near}))
        .await;
    let mails = mails_to(&near).await;
    let attachment = export_mail(&mails).attachment(EXPORT_FILENAME).unwrap();
    assert!(
        attachment.content.len() > MAX_EXPORT_BYTES * 3 / 4 && attachment.content.len() <= MAX_EXPORT_BYTES,
        "{} bytes",
        attachment.content.len()
    );

    // Over the limit: the team delivers it another way, within the deadline.
    let over = unique_address("over");
    receipts(&backend, &over, MAX_EXPORT_BYTES / 1000 + 20).await;
    let request_id = backend.verified_request(json!({"type": "access", "email": over})).await;
    let mails = mails_to(&over).await;
    assert!(mails.iter().all(|mail| mail.attachments.is_empty()), "nothing attached");
    let told = mails
        .iter()
        .find(|mail| {
            mail.raw
                .contains("Subject: Your personal data: how you will receive it")
        })
        .expect("the person is told how the export reaches them");
    assert!(told.text.contains("another secure channel"), "{}", told.text);
    assert!(
        told.text.contains("Cookie consent records:"),
        "the summary: {}",
        told.text
    );
    let record = backend.request_record(&request_id).await;
    let stored: DataSubjectRequest = serde_json::from_value(Value::Object(record.attributes)).unwrap();
    assert_eq!(stored.status.as_str(), "awaiting_team");
    assert!(told.text.contains(&stored.due_on.to_string()), "{}", told.text);
    assert!(stored.events.iter().any(|e| e.event.as_str() == "export_too_large"));
    let team = mails_to(&backend.team).await;
    assert!(
        team.iter()
            .any(|mail| mail.raw.contains("Export too large to mail") && mail.text.contains(&request_id)),
        "the team is told"
    );
    backend.stop(&[&near, &over]).await;
}

#[tokio::test]
async fn erasure_suppresses_the_subscriber_refuses_a_re_add_and_keeps_no_personal_data_on_requests() {
    let backend = DsrBackend::start().await;
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    let consent = backend.deployment.start("consent-capture", &[]).await;
    let address = unique_address("erased");
    let consent_id = uuid::Uuid::new_v4().to_string();
    record_consent(&consent, &consent_id, false).await;
    confirmed_subscriber(&backend, &subscribe, &address, Some(&consent_id)).await;
    // An earlier request, never verified, with everything a person can type.
    let earlier_id = backend
        .file(
            json!({"type": "rectification", "email": address, "name": "Ada Lovelace",
                "details": "I was Ada Byron", "corrections": {"name": "Ada King"}, "consent_id": consent_id}),
        )
        .await;
    let erasure_id = backend
        .verified_request(json!({"type": "erasure", "email": address, "name": "Ada Lovelace",
            "details": "Forget Ada Byron", "consent_id": consent_id}))
        .await;

    let (subscription, suppression) = backend.deployment.state(&address).await;
    assert!(subscription.is_none(), "the subscription is erased");
    assert_eq!(suppression.map(|s| s.reason), Some(SuppressionReason::Erasure));

    let refused = add_customer(&backend, &address).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.error(), ("suppressed".to_owned(), Some("email".to_owned())));

    for id in [&erasure_id, &earlier_id] {
        let record = backend.request_record(id).await;
        for field in ["email", "name", "details", "corrections", "consent_id"] {
            assert!(
                !record.attributes.contains_key(field),
                "{field} kept on request {id}: {:?}",
                record.attributes.keys().collect::<Vec<_>>()
            );
        }
        let text = serde_json::to_string(&record.attributes).unwrap();
        for personal in ["Lovelace", "Byron", "King", consent_id.as_str()] {
            assert!(!text.contains(personal), "{personal} kept on request {id}");
        }
    }

    let reply = mails_to(&address)
        .await
        .into_iter()
        .find(|mail| mail.raw.contains("Your data is erased"))
        .expect("the erasure reply");
    assert!(reply.text.contains("Newsletter subscriptions (1)"), "{}", reply.text);
    assert!(
        reply
            .text
            .contains("Suppression list (1): so that we never mail you again"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("Art. 17(3)(e)"), "{}", reply.text);
    for californian in ["CCR", "CCPA", "California", "7101"] {
        assert!(!reply.text.contains(californian), "{californian} in:\n{}", reply.text);
    }

    // The person's own new double opt-in lifts the suppression; then the team may add them.
    confirmed_subscriber(&backend, &subscribe, &address, None).await;
    let (_, suppression) = backend.deployment.state(&address).await;
    assert!(suppression.is_none(), "opted in again");
    assert_eq!(add_customer(&backend, &address).await.status, 201);
    stop(backend, subscribe, consent, &[&address, "Ada Lovelace", "Byron"]).await;
}
