//! A rectification cannot move someone's data to an address nobody has
//! confirmed: the built dsr-intake, newsletter-subscribe and ses-feedback
//! binaries on the DynamoDB/SES emulator, the table and the mails read back.

use privacy_tests::events::{http_event, link_button, link_page, ses_notification};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, secrets, subject_of, unique_address, Deployment};
use serde_json::{json, Value};

const VERIFY: &str = "https://privacy.example.com/dsr/verify";
const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm";

struct Backend {
    deployment: Deployment,
    team: String,
    intake: Function,
    subscribe: Function,
}

impl Backend {
    async fn start() -> Self {
        let deployment = Deployment::new().await;
        let team = unique_address("team");
        let intake = deployment
            .start("dsr-intake", &[("PRIVACY_TEAM_ADDRESS", team.as_str())])
            .await;
        let subscribe = deployment.start("newsletter-subscribe", &[]).await;
        Self {
            deployment,
            team,
            intake,
            subscribe,
        }
    }

    /// Signs up with double opt-in and presses the confirmation page's button.
    async fn confirmed_subscriber(&self, address: &str) {
        let sign_up = json!({"email": address, "name": "Ada Lovelace"}).to_string();
        let answer = self
            .subscribe
            .http(http_event(
                "POST /newsletter/subscribe",
                "/newsletter/subscribe",
                Some(&sign_up),
            ))
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        // The sign-up queues its confirmation; the outbox's drain sends it.
        self.deployment.drain_outbox(&[], &[address]).await;
        let token = mails_to(address).await.last().unwrap().token(CONFIRM).unwrap();
        let page = self.subscribe.http(link_button("/newsletter/confirm", &token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(self.deployment.state(address).await.0.is_some());
    }

    /// Files a request as anyone can (no proof of the address); its id.
    async fn file(&self, body: &Value) -> String {
        let answer = self
            .intake
            .http(http_event("POST /dsr", "/dsr", Some(&body.to_string())))
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        answer.json()["request_id"].as_str().unwrap().to_owned()
    }

    /// The newest `/dsr/verify` link mailed to `address`.
    async fn link_to(&self, address: &str) -> String {
        mails_to(address)
            .await
            .iter()
            .rev()
            .find_map(|mail| mail.token(VERIFY))
            .expect("a /dsr/verify link")
    }

    /// The request as its requester's status link shows it.
    async fn status(&self, request_id: &str) -> Value {
        let token = secrets().token_key.request_status_token(request_id);
        let path = format!("/dsr/{request_id}");
        let answer = self
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
    async fn newsletter_items_of(&self, address: &str) -> Vec<String> {
        let partition = format!("NEWSLETTER#{}", subject_of(address).as_str());
        privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &self.deployment.table)
            .await
            .into_iter()
            .filter(|item| item.contains(&partition))
            .collect()
    }
}

/// An attacker files a rectification of the victim's data with their own
/// address as the new one. The victim's verification (or a mail scanner
/// pressing through) moves nothing: the attacker's address gets only its own
/// confirmation link, and an export the attacker asks for holds nothing of
/// the victim. Only the POST of that link's page would move the data.
#[tokio::test]
async fn a_rectification_to_an_unconfirmed_address_moves_nothing_until_that_address_confirms() {
    let backend = Backend::start().await;
    let victim = unique_address("victim");
    let attacker = unique_address("attacker");
    backend.confirmed_subscriber(&victim).await;
    let victims_items = backend.newsletter_items_of(&victim).await;
    assert!(!victims_items.is_empty());

    let request_id = backend
        .file(&json!({"type": "rectification", "email": victim, "corrections": {"email": attacker}}))
        .await;
    let verification = mails_to(&victim).await.pop().unwrap();
    assert!(
        verification
            .text
            .contains(&format!("your e-mail address, to {attacker}")),
        "the verification mail states the change: {}",
        verification.text
    );
    let token = backend.link_to(&victim).await;
    let page = backend.intake.http(link_button("/dsr/verify", &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);

    // Nothing moved: the victim's subscription is as it was, the attacker's address holds nothing.
    assert_eq!(backend.newsletter_items_of(&victim).await, victims_items);
    assert!(backend.newsletter_items_of(&attacker).await.is_empty());
    assert!(
        backend.deployment.state(&attacker).await.0.is_none(),
        "no subscription at the attacker's address"
    );
    let status = backend.status(&request_id).await;
    assert_eq!(status["status"], "in_progress", "{status}");
    let to_attacker = mails_to(&attacker).await;
    assert_eq!(to_attacker.len(), 1, "the attacker's address gets one mail");
    assert!(to_attacker[0].attachments.is_empty());
    assert!(!to_attacker[0].raw.contains(&victim), "nothing of the victim in it");
    let attackers_link = to_attacker[0].token(VERIFY).expect("its own confirmation link");

    // The attacker asks for an export of "their" data: nothing of the victim's.
    privacy_tests::aws::forget_link_mails(&backend.deployment.table, &attacker).await;
    backend.file(&json!({"type": "access", "email": attacker})).await;
    let access = backend.link_to(&attacker).await;
    assert_ne!(access, attackers_link);
    let done = backend.intake.http(link_button("/dsr/verify", &access)).await;
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
    assert_eq!(backend.newsletter_items_of(&victim).await, victims_items);
    assert!(backend.newsletter_items_of(&attacker).await.is_empty());
    let pressed = backend.intake.http(link_button("/dsr/verify", &attackers_link)).await;
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    // The subscription moved; the proof of the victim's own opt-in stays where it was given.
    let left: Vec<String> = backend.newsletter_items_of(&victim).await;
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
    assert_eq!(backend.status(&request_id).await["status"], "completed");
    let again = backend.intake.http(link_button("/dsr/verify", &attackers_link)).await;
    assert_eq!(again.status, 400, "single use: {}", again.body);

    backend.intake.stop_checking_logs(&[&victim, &attacker]).await;
    backend.subscribe.stop_checking_logs(&[&victim, &attacker]).await;
}

/// A new address that bounced hard or complained is refused: it is mailed
/// nothing, nothing moves, and the request goes to the team, who are told
/// why; the requester's view does not say.
#[tokio::test]
async fn a_suppressed_new_address_is_refused_and_mailed_nothing() {
    let backend = Backend::start().await;
    let feedback = backend.deployment.start("ses-feedback", &[]).await;
    let bounced = unique_address("bounced");
    let complained = unique_address("complained");
    feedback.invoke(ses_notification("Bounce", "Permanent", &bounced)).await;
    feedback.invoke(ses_notification("Complaint", "", &complained)).await;
    feedback.stop_checking_logs(&[&bounced, &complained]).await;

    for (suppressed, why) in [(&bounced, "bounced permanently"), (&complained, "complained")] {
        let person = unique_address("person");
        backend.confirmed_subscriber(&person).await;
        let items = backend.newsletter_items_of(&person).await;
        let request_id = backend
            .file(&json!({"type": "ccpa_correct", "email": person, "corrections": {"email": suppressed}}))
            .await;
        let token = backend.link_to(&person).await;
        let page = backend.intake.http(link_button("/dsr/verify", &token)).await;
        assert_eq!(page.status, 200, "{}", page.body);

        assert!(mails_to(suppressed).await.is_empty(), "nothing mailed to {suppressed}");
        assert_eq!(backend.newsletter_items_of(&person).await, items, "nothing moved");
        assert!(backend.newsletter_items_of(suppressed).await.is_empty());
        let status = backend.status(&request_id).await;
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
    backend.intake.stop_checking_logs(&[&bounced, &complained]).await;
    backend.subscribe.stop_checking_logs(&[]).await;
}
