//! `POST /dsr` cannot be used to bomb an inbox or to learn anything: the
//! built dsr-intake binary on the DynamoDB/SES emulator, mails read back.

use privacy_tests::events::{http_event, ses_notification, HttpResponse};
use privacy_tests::newsletter::{mails_to, unique_address, Deployment};
use serde_json::{json, Value};

const VERIFY: &str = "https://privacy.example.com/dsr/verify";

fn submit(body: &Value) -> Value {
    http_event("POST /dsr", "/dsr", Some(&body.to_string()))
}

/// The answer without the request id (a fresh random id for a new request).
fn shape(response: &HttpResponse) -> (u16, Vec<String>, Value) {
    let mut body = response.json();
    assert!(body["request_id"].as_str().is_some_and(|id| id.len() == 36), "{body}");
    body["request_id"] = json!("…");
    let mut headers: Vec<String> = response
        .headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    headers.sort();
    (response.status, headers, body)
}

async fn dsr_requests_of(table: &str) -> usize {
    let client = privacy_tests::aws::dynamodb().await;
    privacy_tests::aws::scan_text(&client, table)
        .await
        .iter()
        .filter(|item| item.contains(r#"S(\"dsr_request\")"#))
        .count()
}

#[tokio::test]
async fn one_open_request_per_address_and_type_and_one_link_mail_per_ten_minutes() {
    let deployment = Deployment::new().await;
    let intake = deployment.start("dsr-intake", &[]).await;
    let address = unique_address("flood");
    let access = json!({"type": "access", "email": address});

    let first = intake.http(submit(&access)).await;
    deployment.drain_outbox(&[], &[]).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let first_id = first.json()["request_id"].as_str().unwrap().to_owned();
    // The same request again, many times: the same answer, nothing new mailed or stored.
    for _ in 0..5 {
        let again = intake.http(submit(&access)).await;
        assert_eq!(shape(&again), shape(&first));
        assert_eq!(again.json()["request_id"], first_id.as_str(), "the open request's id");
    }
    deployment.drain_outbox(&[], &[]).await;
    assert_eq!(mails_to(&address).await.len(), 1, "one verification mail");
    assert_eq!(dsr_requests_of(&deployment.table).await, 1);

    // Another type within ten minutes: accepted and stored, answered alike, but no second mail.
    let erasure = intake.http(submit(&json!({"type": "erasure", "email": address}))).await;
    deployment.drain_outbox(&[], &[]).await;
    assert_eq!(shape(&erasure), shape(&first));
    assert_eq!(
        mails_to(&address).await.len(),
        1,
        "no second link mail within ten minutes"
    );
    assert_eq!(
        dsr_requests_of(&deployment.table).await,
        2,
        "the request itself is kept"
    );

    // Once the first request is verified and done, a new access request is a new request.
    let token = mails_to(&address).await[0].token(VERIFY).unwrap();
    let page = intake
        .http(privacy_tests::events::link_button("/dsr/verify", &token))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    privacy_tests::aws::forget_link_mails(&deployment.table, &address).await;
    let before = mails_to(&address).await.len();
    let later = intake.http(submit(&access)).await;
    deployment.drain_outbox(&[], &[]).await;
    assert_ne!(later.json()["request_id"], first_id.as_str(), "the first one is closed");
    assert_eq!(mails_to(&address).await.len(), before + 1, "its own verification mail");
    intake.stop_checking_logs(&[&address]).await;
}

#[tokio::test]
async fn an_address_that_bounced_or_complained_is_mailed_nothing_and_answered_alike() {
    let deployment = Deployment::new().await;
    let intake = deployment.start("dsr-intake", &[]).await;
    let feedback = deployment.start("ses-feedback", &[]).await;
    let bounced = unique_address("bounced");
    let complained = unique_address("complained");
    feedback.invoke(ses_notification("Bounce", "Permanent", &bounced)).await;
    feedback.invoke(ses_notification("Complaint", "", &complained)).await;
    feedback.stop_checking_logs(&[&bounced, &complained]).await;

    let fresh = unique_address("fresh");
    let reference = intake.http(submit(&json!({"type": "access", "email": fresh}))).await;
    deployment.drain_outbox(&[], &[]).await;
    assert_eq!(reference.status, 202);
    assert_eq!(mails_to(&fresh).await.len(), 1);
    for address in [&bounced, &complained] {
        let answer = intake.http(submit(&json!({"type": "access", "email": address}))).await;
        assert_eq!(shape(&answer), shape(&reference), "{address}");
        deployment.drain_outbox(&[], &[]).await;
        assert!(mails_to(address).await.is_empty(), "no mail to {address}");
    }
    intake.stop_checking_logs(&[&bounced, &complained, &fresh]).await;
}
