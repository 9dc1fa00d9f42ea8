//! A rectification cannot move someone's data to an address nobody has
//! confirmed: the built dsr-intake, newsletter-subscribe and ses-feedback
//! binaries on the DynamoDB/SES emulator, the table and the mails read back.

use privacy_tests::dsr::{confirm_sign_up, sign_up, DsrBackend, VERIFY};
use privacy_tests::events::{http_event, link_page, ses_notification};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, secrets, subject_of, unique_address};
use serde_json::{json, Value};

/// Signs up with double opt-in and presses the confirmation page's button.
async fn confirmed_subscriber(backend: &DsrBackend, subscribe: &Function, address: &str) {
    sign_up(subscribe, &json!({"email": address, "name": "Ada Lovelace"})).await;
    // The sign-up queues its confirmation; the outbox's drain sends it.
    confirm_sign_up(&backend.deployment, subscribe, address).await;
    assert!(backend.deployment.state(address).await.0.is_some());
}

/// The request as its requester's status link shows it.
async fn request_status(backend: &DsrBackend, request_id: &str) -> Value {
    let token = secrets().token_key.request_status_token(request_id);
    let path = format!("/dsr/{request_id}");
    let answer = backend
        .intake
        .http(http_event(
            "GET /dsr/{request_id}",
            &format!("{path}?token={token}"),
            None,
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// Every item of the table that belongs to `address`'s newsletter
/// subscription, as text.
async fn newsletter_items_of(backend: &DsrBackend, address: &str) -> Vec<String> {
    let partition = format!("NEWSLETTER#{}", subject_of(address).as_str());
    privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &backend.deployment.table)
        .await
        .into_iter()
        .filter(|item| item.contains(&partition))
        .collect()
}

/// An attacker files a rectification of the victim's data with their own
/// address as the new one. The victim's verification (or a mail scanner
/// pressing through) moves nothing: the attacker's address gets only its own
/// confirmation link, and an export the attacker asks for holds nothing of
/// the victim. Only the POST of that link's page would move the data.
#[tokio::test]
async fn a_rectification_to_an_unconfirmed_address_moves_nothing_until_that_address_confirms() {
    let backend = DsrBackend::start().await;
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    let victim = unique_address("victim");
    let attacker = unique_address("attacker");
    confirmed_subscriber(&backend, &subscribe, &victim).await;
    let victims_items = newsletter_items_of(&backend, &victim).await;
    assert!(!victims_items.is_empty());

    let request_id = backend
        .file(json!({"type": "rectification", "email": victim, "corrections": {"email": attacker}}))
        .await;
    let verification = mails_to(&victim).await.pop().unwrap();
    assert!(
        verification
            .text
            .contains(&format!("your e-mail address, to {attacker}")),
        "the verification mail states the change: {}",
        verification.text
    );
    let token = backend.verification_token(&victim).await;
    let page = backend.verify(&token).await;
    assert_eq!(page.status, 200, "{}", page.body);

    // Nothing moved: the victim's subscription is as it was, the attacker's address holds nothing.
    assert_eq!(newsletter_items_of(&backend, &victim).await, victims_items);
    assert!(newsletter_items_of(&backend, &attacker).await.is_empty());
    assert!(
        backend.deployment.state(&attacker).await.0.is_none(),
        "no subscription at the attacker's address"
    );
    let status = request_status(&backend, &request_id).await;
    assert_eq!(status["status"], "in_progress", "{status}");
    let to_attacker = mails_to(&attacker).await;
    assert_eq!(to_attacker.len(), 1, "the attacker's address gets one mail");
    assert!(to_attacker[0].attachments.is_empty());
    assert!(!to_attacker[0].raw.contains(&victim), "nothing of the victim in it");
    let attackers_link = to_attacker[0].token(VERIFY).expect("its own confirmation link");

    // The attacker asks for an export of "their" data: nothing of the victim's.
    privacy_tests::aws::forget_link_mails(&backend.deployment.table, &attacker).await;
    backend.file(json!({"type": "access", "email": attacker})).await;
    let access = backend.verification_token(&attacker).await;
    assert_ne!(access, attackers_link);
    let done = backend.verify(&access).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let export = mails_to(&attacker)
        .await
        .into_iter()
        .find(|mail| mail.attachment("personal-data.json").is_some())
        .expect("the attacker's export");
    let json = String::from_utf8(export.attachment("personal-data.json").unwrap().content.clone()).unwrap();
    assert!(!json.contains(&victim) && !json.contains("Ada Lovelace"), "{json}");
    assert!(!json.contains("newsletter_subscription"), "{json}");

    // The link's page (a scanner's GET) moves nothing either; only its button does.
    for _ in 0..3 {
        let page = backend.intake.http(link_page("/dsr/verify", &attackers_link)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Confirm your new address"), "{}", page.body);
        assert!(!page.body.contains(&victim), "the page names no one: {}", page.body);
    }
    assert_eq!(newsletter_items_of(&backend, &victim).await, victims_items);
    assert!(newsletter_items_of(&backend, &attacker).await.is_empty());
    let pressed = backend.verify(&attackers_link).await;
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    // The subscription moved; the proof of the victim's own opt-in stays where it was given.
    let left: Vec<String> = newsletter_items_of(&backend, &victim).await;
    assert!(
        left.iter().all(|item| !item.contains("newsletter_subscription")),
        "{left:?}"
    );
    let moved = backend
        .deployment
        .state(&attacker)
        .await
        .0
        .expect("moved by the button");
    assert_eq!(moved.email, attacker);
    assert_eq!(request_status(&backend, &request_id).await["status"], "completed");
    let again = backend.verify(&attackers_link).await;
    assert_eq!(again.status, 400, "single use: {}", again.body);

    backend.stop(&[&victim, &attacker]).await;
    subscribe.stop_checking_logs(&[&victim, &attacker]).await;
}

/// A new address that bounced hard or complained is refused: it is mailed
/// nothing, nothing moves, and the request goes to the team, who are told
/// why; the requester's view does not say.
#[tokio::test]
async fn a_suppressed_new_address_is_refused_and_mailed_nothing() {
    let backend = DsrBackend::start().await;
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    let feedback = backend.deployment.start("ses-feedback", &[]).await;
    let bounced = unique_address("bounced");
    let complained = unique_address("complained");
    feedback.invoke(ses_notification("Bounce", "Permanent", &bounced)).await;
    feedback.invoke(ses_notification("Complaint", "", &complained)).await;
    feedback.stop_checking_logs(&[&bounced, &complained]).await;

    for (suppressed, why) in [(&bounced, "bounced permanently"), (&complained, "complained")] {
        let person = unique_address("person");
        confirmed_subscriber(&backend, &subscribe, &person).await;
        let items = newsletter_items_of(&backend, &person).await;
        let request_id = backend
            .file(json!({"type": "ccpa_correct", "email": person, "corrections": {"email": suppressed}}))
            .await;
        let token = backend.verification_token(&person).await;
        let page = backend.verify(&token).await;
        assert_eq!(page.status, 200, "{}", page.body);

        assert!(mails_to(suppressed).await.is_empty(), "nothing mailed to {suppressed}");
        assert_eq!(newsletter_items_of(&backend, &person).await, items, "nothing moved");
        assert!(newsletter_items_of(&backend, suppressed).await.is_empty());
        let status = request_status(&backend, &request_id).await;
        assert_eq!(status["status"], "awaiting_team", "{status}");
        let shown = status["events"].to_string();
        assert!(shown.contains("new_address_refused"), "{shown}");
        assert!(!shown.contains(why) && !shown.contains("suppress"), "{shown}");
        let team = mails_to(&backend.team)
            .await
            .into_iter()
            .find(|mail| mail.text.contains(&request_id) && mail.text.contains("new address"))
            .expect("the team is told");
        assert!(team.text.contains(why), "{}", team.text);
    }
    backend.stop(&[&bounced, &complained]).await;
    subscribe.stop_checking_logs(&[]).await;
}
