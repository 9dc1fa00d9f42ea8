//! The newsletter functions, fed real API Gateway v2 events, against the
//! DynamoDB/SES emulator: double opt-in with mails read back and links
//! followed, one-click unsubscribe, suppression, tokens, rate limits and races.

use aws_sdk_dynamodb::types::AttributeValue;
use privacy_domain::newsletter::{SubscriptionStatus, SuppressionReason};
use privacy_tests::events::{http_event, link_button, link_page, with_header, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, subject_of, unique_address, Deployment, SentMail, PUBLIC_BASE_URL};
use serde_json::json;

const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm";

fn subscribe(address: &str) -> serde_json::Value {
    let body = json!({"email": address, "name": "Ada <script>alert(1)</script>"}).to_string();
    http_event("POST /newsletter/subscribe", "/newsletter/subscribe", Some(&body))
}

/// The confirmation page's button (its GET only shows the page).
fn confirm(token: &str) -> serde_json::Value {
    link_button("/newsletter/confirm", token)
}

fn unsubscribe_get(token: &str) -> serde_json::Value {
    http_event(
        "GET /newsletter/unsubscribe",
        &format!("/newsletter/unsubscribe?token={token}"),
        None,
    )
}

/// RFC 8058 one-click, as a mailbox provider sends it: a form post with no Origin.
fn one_click(token: &str) -> serde_json::Value {
    let event = http_event(
        "POST /newsletter/unsubscribe",
        &format!("/newsletter/unsubscribe?token={token}"),
        Some("List-Unsubscribe=One-Click"),
    );
    let event = with_header(event, "content-type", Some("application/x-www-form-urlencoded"));
    with_header(event, "origin", None)
}

struct Newsletter {
    deployment: Deployment,
    subscribe: Function,
    unsubscribe: Function,
}

impl Newsletter {
    async fn start() -> Self {
        let deployment = Deployment::new().await;
        let subscribe = deployment.start("newsletter-subscribe", &[]).await;
        // Each function loads only the secrets it needs: unsubscribing needs the token key alone.
        let unsubscribe = deployment
            .start("newsletter-unsubscribe", &[("SUBJECT_PEPPER", "")])
            .await;
        Self {
            deployment,
            subscribe,
            unsubscribe,
        }
    }

    async fn stop(self, personal_data: &[&str]) {
        self.subscribe.stop_checking_logs(personal_data).await;
        self.unsubscribe.stop_checking_logs(personal_data).await;
    }

    /// Posts a sign-up, then runs the outbox's drain as the table's stream
    /// does once the sign-up has queued its mail (the function answers
    /// without calling SES, whatever the address's state).
    async fn post(&self, event: serde_json::Value) -> privacy_tests::events::HttpResponse {
        let response = self.subscribe.http(event).await;
        self.deployment.drain_outbox(&[], &[]).await;
        response
    }

    /// Signs up and returns the confirmation mail.
    async fn sign_up(&self, address: &str) -> SentMail {
        let before = mails_to(address).await.len();
        let response = self.post(subscribe(address)).await;
        assert_eq!(response.status, 202, "{}", response.body);
        let mut mails = mails_to(address).await;
        assert_eq!(mails.len(), before + 1, "one confirmation mail");
        mails.pop().unwrap()
    }

    /// Rewrites when the confirmation mails of the last 24 hours were sent, as if time had passed.
    async fn set_mail_history(&self, address: &str, hours_ago: &[i64]) {
        let now = jiff::Timestamp::now();
        let history = hours_ago
            .iter()
            .map(|hours| AttributeValue::S((now - jiff::SignedDuration::from_hours(*hours)).to_string()))
            .collect();
        privacy_tests::aws::dynamodb()
            .await
            .update_item()
            .table_name(&self.deployment.table)
            .key(
                "PK",
                AttributeValue::S(format!("NEWSLETTER#{}", subject_of(address).as_str())),
            )
            .key("SK", AttributeValue::S("LIST#news".into()))
            .update_expression("SET confirmation_mails = :history")
            .expression_attribute_values(":history", AttributeValue::L(history))
            .send()
            .await
            .unwrap();
    }

    async fn confirmed(&self, address: &str) -> SentMail {
        let mail = self.sign_up(address).await;
        let page = self.subscribe.http(confirm(&mail.token(CONFIRM).unwrap())).await;
        assert_eq!(page.status, 200, "{}", page.body);
        mail
    }
}

fn assert_page(response: &HttpResponse, status: u16, heading: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(response.header("referrer-policy"), Some("same-origin"));
    assert!(
        response.body.contains(&format!("<h1>{heading}</h1>")),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn double_opt_in_unsubscribe_and_a_new_opt_in_end_to_end() {
    let newsletter = Newsletter::start().await;
    let address = unique_address("ada");

    // Subscribe: one confirmation mail, a valid MIME message with both parts and both RFC 8058 headers.
    let mail = newsletter.sign_up(&address).await;
    assert!(mail.raw.contains("multipart/alternative"));
    assert!(!mail.text.is_empty() && !mail.html.is_empty());
    // The name came with an unproven address: the mail echoes none of it
    // ("Ada " with its space: the random tokens of the links can hold "Ada").
    for part in [&mail.text, &mail.html] {
        assert!(!part.contains("Ada ") && !part.contains("alert(1)"), "{part}");
    }
    assert_eq!(
        mail.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(mail
        .list_unsubscribe
        .as_deref()
        .unwrap()
        .starts_with(&format!("<{PUBLIC_BASE_URL}/newsletter/unsubscribe?token=v1.")));
    let (subscription, _) = newsletter.deployment.state(&address).await;
    assert_eq!(subscription.unwrap().status, SubscriptionStatus::Pending);

    // Follow the link: confirmed, with evidence of both steps.
    let page = newsletter.subscribe.http(confirm(&mail.token(CONFIRM).unwrap())).await;
    assert_page(&page, 200, "You are subscribed");
    let subscription = newsletter.deployment.state(&address).await.0.unwrap();
    assert_eq!(subscription.status, SubscriptionStatus::Confirmed);
    let events = newsletter.deployment.evidence_events(&address).await;
    let kinds: Vec<&str> = events.iter().map(|event| event["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["signed_up", "confirmed"]);
    assert_eq!(events[0]["network"], "203.0.113.0/24");

    // One-click unsubscribe: unsubscribed and suppressed, by subject key alone.
    let page = newsletter
        .unsubscribe
        .http(one_click(&mail.unsubscribe_token().unwrap()))
        .await;
    assert_page(&page, 200, "You are unsubscribed");
    let (subscription, suppression) = newsletter.deployment.state(&address).await;
    assert_eq!(subscription.unwrap().status, SubscriptionStatus::Unsubscribed);
    assert_eq!(suppression.unwrap().reason, SuppressionReason::Unsubscribed);
    let client = privacy_tests::aws::dynamodb().await;
    let suppression_item = client
        .get_item()
        .table_name(&newsletter.deployment.table)
        .key(
            "PK",
            AttributeValue::S(format!("SUPPRESSION#{}", subject_of(&address).as_str())),
        )
        .key("SK", AttributeValue::S("NEWSLETTER".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        !format!("{suppression_item:?}").contains(&address),
        "a suppression entry holds no address"
    );

    // An hour later the person signs up again: a new opt-in mail (their own action, within the
    // rate limits), and nothing more.
    newsletter.set_mail_history(&address, &[1]).await;
    let second = newsletter.sign_up(&address).await;
    assert!(second.token(CONFIRM).is_some());
    let again = newsletter.post(subscribe(&address)).await;
    assert_eq!(again.status, 202);
    assert_eq!(
        mails_to(&address).await.len(),
        2,
        "nothing is sent to the suppressed address beyond the opt-in mail"
    );
    assert!(
        newsletter.deployment.state(&address).await.1.is_some(),
        "still suppressed until confirmed"
    );

    // Confirming the new opt-in lifts the suppression.
    assert_eq!(
        newsletter
            .subscribe
            .http(confirm(&second.token(CONFIRM).unwrap()))
            .await
            .status,
        200
    );
    let (subscription, suppression) = newsletter.deployment.state(&address).await;
    assert_eq!(subscription.unwrap().status, SubscriptionStatus::Confirmed);
    assert!(suppression.is_none());
    newsletter.stop(&[&address, "203.0.113.77", "Ada"]).await;
}

#[tokio::test]
async fn the_answer_is_byte_identical_whatever_the_address_state() {
    let newsletter = Newsletter::start().await;
    let new = unique_address("new");
    let pending = unique_address("pending");
    newsletter.sign_up(&pending).await;
    let confirmed = unique_address("confirmed");
    newsletter.confirmed(&confirmed).await;
    let unsubscribed = unique_address("unsubscribed");
    let mail = newsletter.confirmed(&unsubscribed).await;
    newsletter
        .unsubscribe
        .http(one_click(&mail.unsubscribe_token().unwrap()))
        .await;
    let bounced = unique_address("bounced");
    newsletter.confirmed(&bounced).await;
    let feedback = newsletter.deployment.start("ses-feedback", &[("TOKEN_KEY", "")]).await;
    feedback
        .invoke(privacy_tests::events::ses_notification("Bounce", "Permanent", &bounced))
        .await;
    feedback.stop_checking_logs(&[&bounced]).await;
    assert_eq!(
        newsletter.deployment.state(&bounced).await.1.unwrap().reason,
        SuppressionReason::HardBounce
    );

    let mut answers = Vec::new();
    for address in [&new, &pending, &confirmed, &unsubscribed, &bounced] {
        let response = newsletter.post(subscribe(address)).await;
        answers.push((response.status, response.headers.clone(), response.body.clone()));
    }
    assert_eq!(answers[0].0, 202);
    assert_eq!(answers[0].2, r#"{"status":"pending_confirmation"}"#);
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(
        mails_to(&bounced).await.len(),
        1,
        "a hard-bounced address gets no new mail"
    );
    newsletter
        .stop(&[&new, &pending, &confirmed, &unsubscribed, &bounced])
        .await;
}

#[tokio::test]
async fn forged_altered_expired_and_replayed_tokens_get_400_and_change_nothing() {
    let newsletter = Newsletter::start().await;
    let address = unique_address("tokens");
    let mail = newsletter.sign_up(&address).await;
    let token = mail.token(CONFIRM).unwrap();
    let before = newsletter.deployment.state(&address).await;

    let mut altered = token.clone();
    altered.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    for bad in ["Zm9yZ2VkLXRva2VuLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA", altered.as_str(), ""] {
        assert_page(
            &newsletter.subscribe.http(confirm(bad)).await,
            400,
            "This link is not valid",
        );
    }
    assert_eq!(
        newsletter.deployment.state(&address).await,
        before,
        "bad confirmation links change nothing"
    );

    // Expired: the token record's expiry has passed (TTL may not have deleted it yet).
    privacy_tests::aws::expire_token(&newsletter.deployment.table, &token).await;
    assert_page(
        &newsletter.subscribe.http(confirm(&token)).await,
        400,
        "This link is not valid",
    );
    assert_eq!(
        newsletter.deployment.state(&address).await,
        before,
        "an expired link changes nothing"
    );

    // Replayed: a fresh link works once, then never again.
    let address = unique_address("replay");
    let mail = newsletter.sign_up(&address).await;
    let token = mail.token(CONFIRM).unwrap();
    assert_eq!(newsletter.subscribe.http(confirm(&token)).await.status, 200);
    let confirmed = newsletter.deployment.state(&address).await;
    assert_page(
        &newsletter.subscribe.http(confirm(&token)).await,
        400,
        "This link is not valid",
    );
    assert_eq!(newsletter.deployment.state(&address).await, confirmed);

    // Unsubscribe links: forged, altered or moved to another address get 400; GET changes nothing.
    let unsubscribe = mail.unsubscribe_token().unwrap();
    let moved = unsubscribe.replace(
        subject_of(&address).as_str(),
        subject_of("someone@example.com").as_str(),
    );
    let mut tampered = unsubscribe.clone();
    tampered.pop();
    tampered.push(if unsubscribe.ends_with('A') { 'B' } else { 'A' });
    for bad in [moved.as_str(), tampered.as_str(), "v1.x.news.y", ""] {
        assert_page(
            &newsletter.unsubscribe.http(one_click(bad)).await,
            400,
            "This link is not valid",
        );
        assert_page(
            &newsletter.unsubscribe.http(unsubscribe_get(bad)).await,
            400,
            "This link is not valid",
        );
    }
    let page = newsletter.unsubscribe.http(unsubscribe_get(&unsubscribe)).await;
    assert_page(&page, 200, "Unsubscribe from the newsletter");
    assert!(page.body.contains("<form method=\"post\""));
    assert_eq!(
        newsletter.deployment.state(&address).await,
        confirmed,
        "GET on the unsubscribe link changes nothing"
    );
    newsletter.stop(&[&address]).await;
}

#[tokio::test]
async fn a_sixth_subscribe_within_a_day_sends_no_sixth_mail() {
    let newsletter = Newsletter::start().await;
    let address = unique_address("limit");
    newsletter.sign_up(&address).await;
    // Within ten minutes: no second mail, the same answer.
    let response = newsletter.post(subscribe(&address)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (202, r#"{"status":"pending_confirmation"}"#)
    );
    assert_eq!(mails_to(&address).await.len(), 1);

    // Five mails were sent in the last 24 hours (none in the last 10 minutes): the sixth is not sent.
    newsletter.set_mail_history(&address, &[20, 15, 10, 5, 1]).await;
    let response = newsletter.post(subscribe(&address)).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (202, r#"{"status":"pending_confirmation"}"#)
    );
    assert_eq!(mails_to(&address).await.len(), 1, "no sixth mail");

    // With four in the window, a fifth is sent.
    newsletter.set_mail_history(&address, &[20, 15, 10, 5]).await;
    newsletter.sign_up(&address).await;
    newsletter.stop(&[&address]).await;
}

#[tokio::test]
async fn concurrent_confirm_and_unsubscribe_always_end_unsubscribed() {
    let newsletter = Newsletter::start().await;
    for round in 0..12 {
        let address = unique_address(&format!("race{round}"));
        let mail = newsletter.sign_up(&address).await;
        let (confirmed, unsubscribed) = tokio::join!(
            newsletter.subscribe.http(confirm(&mail.token(CONFIRM).unwrap())),
            newsletter
                .unsubscribe
                .http(one_click(&mail.unsubscribe_token().unwrap())),
        );
        assert!(confirmed.status == 200 || confirmed.status == 400, "{}", confirmed.body);
        assert_eq!(unsubscribed.status, 200, "{}", unsubscribed.body);
        let (subscription, suppression) = newsletter.deployment.state(&address).await;
        assert_eq!(
            subscription.unwrap().status,
            SubscriptionStatus::Unsubscribed,
            "round {round}"
        );
        assert!(suppression.is_some(), "round {round}");
    }
    newsletter.stop(&[]).await;
}

#[tokio::test]
async fn bounces_and_complaints_suppress_but_a_transient_bounce_does_not() {
    let newsletter = Newsletter::start().await;
    // SES feedback needs the pepper alone (an address becomes its subject key).
    let feedback = newsletter.deployment.start("ses-feedback", &[("TOKEN_KEY", "")]).await;
    let cases = [
        ("Bounce", "Permanent", Some(SuppressionReason::HardBounce)),
        ("Complaint", "", Some(SuppressionReason::Complaint)),
        ("Bounce", "Transient", None),
    ];
    let mut addresses = Vec::new();
    for (kind, bounce_type, expected) in cases {
        let address = unique_address("feedback");
        newsletter.confirmed(&address).await;
        let outcome = feedback
            .invoke(privacy_tests::events::ses_notification(kind, bounce_type, &address))
            .await;
        assert!(
            matches!(outcome, privacy_tests::lambda_emulator::Invocation::Response(_)),
            "{outcome:?}"
        );
        let (subscription, suppression) = newsletter.deployment.state(&address).await;
        let subscription = subscription.unwrap();
        match expected {
            Some(reason) => {
                assert_eq!(suppression.unwrap().reason, reason, "{kind} {bounce_type}");
                assert_eq!(subscription.status, SubscriptionStatus::Unsubscribed);
                // A new sign-up gets no mail at all.
                let response = newsletter.post(subscribe(&address)).await;
                assert_eq!(response.status, 202);
                assert_eq!(mails_to(&address).await.len(), 1, "{kind}: nothing more is sent");
            }
            None => {
                assert!(suppression.is_none());
                assert_eq!(subscription.status, SubscriptionStatus::Confirmed);
                assert_eq!(subscription.transient_bounces, 1);
            }
        }
        addresses.push(address);
    }
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    feedback.stop_checking_logs(&refs).await;
    newsletter.stop(&refs).await;
}

#[tokio::test]
async fn form_posts_are_answered_with_a_redirect_or_a_page_naming_the_field() {
    let newsletter = Newsletter::start().await;
    let address = unique_address("form");
    let form = |body: &str| {
        with_header(
            http_event("POST /newsletter/subscribe", "/newsletter/subscribe", Some(body)),
            "content-type",
            Some("application/x-www-form-urlencoded"),
        )
    };
    let response = newsletter
        .post(form(&format!(
            "email={}&name=Grace+Hopper&consent_id=",
            address.replace('@', "%40")
        )))
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(
        response.header("location"),
        Some("https://www.example.com/newsletter/thanks")
    );
    assert_eq!(mails_to(&address).await.len(), 1);

    let response = newsletter.subscribe.http(form("email=not-an-address")).await;
    assert_page(&response, 400, "Please check the form");
    assert!(response.body.contains("email:"));

    // The way back works under the page's policy (no script runs there): a
    // link to the form's page on the website, never a script or foreign URL.
    assert!(!response.body.contains("javascript:"), "{}", response.body);
    let from = |referer: &str| with_header(form("email=not-an-address"), "referer", Some(referer));
    let page = newsletter
        .subscribe
        .http(from("https://www.example.com/newsletter?lang=en&x=\"y\""))
        .await;
    assert!(
        page.body.contains(
            "<a href=\"https://www.example.com/newsletter?lang=en&amp;x=&quot;y&quot;\">Back to the form</a>"
        ),
        "{}",
        page.body
    );
    for foreign in [
        "https://attacker.example/newsletter",
        "javascript:alert(1)//https://www.example.com/",
    ] {
        let page = newsletter.subscribe.http(from(foreign)).await;
        assert_page(&page, 400, "Please check the form");
        assert!(!page.body.contains("<a href"), "{foreign}: {}", page.body);
        assert!(page.body.contains("back button"), "{}", page.body);
    }
    newsletter.stop(&[&address]).await;
}

#[tokio::test]
async fn bad_json_sign_ups_get_a_4xx_naming_the_field() {
    let newsletter = Newsletter::start().await;
    let post = |body: &str| http_event("POST /newsletter/subscribe", "/newsletter/subscribe", Some(body));
    let cases = [
        (
            "no address",
            post(r#"{"name": "Ada"}"#),
            400,
            "missing_field",
            Some("email"),
        ),
        (
            "not an address",
            post(r#"{"email": "ada"}"#),
            400,
            "invalid_email",
            Some("email"),
        ),
        (
            "unknown list",
            post(r#"{"email": "ada@example.com", "list": "offers"}"#),
            400,
            "unknown_list",
            Some("list"),
        ),
        (
            "bad consent id",
            post(r#"{"email": "ada@example.com", "consent_id": "x"}"#),
            400,
            "invalid_consent_id",
            Some("consent_id"),
        ),
        (
            "a name with a line break",
            post(r#"{"email": "ada@example.com", "name": "A\r\nBcc: x@example.com"}"#),
            400,
            "invalid_field",
            Some("name"),
        ),
        (
            "unknown field",
            post(r#"{"email": "ada@example.com", "phone": "1"}"#),
            400,
            "unknown_field",
            Some("phone"),
        ),
        ("malformed JSON", post("{"), 400, "malformed_json", None),
        (
            "wrong content type",
            with_header(post("email=x"), "content-type", Some("text/plain")),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "oversized",
            post(&format!(
                r#"{{"email": "ada@example.com", "name": "{}"}}"#,
                "x".repeat(17_000)
            )),
            413,
            "payload_too_large",
            None,
        ),
    ];
    for (case, event, status, code, field) in cases {
        let response = newsletter.subscribe.http(event).await;
        assert_eq!(response.status, status, "{case}: {}", response.body);
        assert_eq!(response.error(), (code.to_owned(), field.map(str::to_owned)), "{case}");
    }
    newsletter.stop(&["ada@example.com"]).await;
}

#[tokio::test]
async fn a_mail_that_ses_refused_for_the_moment_is_kept_and_sent_by_the_outbox_run() {
    let deployment = Deployment::new().await;
    let function = deployment.start("newsletter-subscribe", &[]).await;
    let address = unique_address("outage");
    let response = function.http(subscribe(&address)).await;
    assert_eq!(response.status, 202, "{}", response.body);
    assert!(mails_to(&address).await.is_empty(), "the sign-up itself sends nothing");
    function.stop_checking_logs(&[&address]).await;

    // The drain the stream starts, with SES unreachable: the mail stays queued.
    deployment.drain_outbox_while_ses_is_down(&[&address]).await;
    assert!(mails_to(&address).await.is_empty());

    // The scheduled outbox run, with SES back, sends it.
    let outbox = deployment.start("mail-outbox", &[]).await;
    let report = outbox
        .invoke(privacy_tests::events::sample("mail-outbox-schedule"))
        .await;
    match report {
        privacy_tests::lambda_emulator::Invocation::Response(report) => {
            assert_eq!(report["sent"], 1, "{report}");
        }
        other => panic!("{other:?}"),
    }
    let mails = mails_to(&address).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].token(CONFIRM).is_some());
    // Sent once: a second run finds nothing.
    match outbox
        .invoke(privacy_tests::events::sample("mail-outbox-schedule"))
        .await
    {
        privacy_tests::lambda_emulator::Invocation::Response(report) => assert_eq!(report["sent"], 0),
        other => panic!("{other:?}"),
    }
    outbox.stop_checking_logs(&[&address]).await;
}

#[tokio::test]
async fn a_mail_scanner_following_the_confirmation_link_subscribes_no_one() {
    let newsletter = Newsletter::start().await;
    let address = unique_address("prefetched");
    let mail = newsletter.sign_up(&address).await;
    let token = mail.token(CONFIRM).unwrap();

    for _ in 0..3 {
        let page = newsletter
            .subscribe
            .http(link_page("/newsletter/confirm", &token))
            .await;
        assert_page(&page, 200, "Confirm your subscription");
        assert!(page
            .body
            .contains("<form method=\"post\" action=\"/newsletter/confirm\">"));
        assert!(page.body.contains(&format!("name=\"token\" value=\"{token}\"")));
    }
    let (subscription, _) = newsletter.deployment.state(&address).await;
    assert_eq!(
        subscription.unwrap().status,
        SubscriptionStatus::Pending,
        "a GET of the confirmation link confirms nothing"
    );

    let page = newsletter.subscribe.http(confirm(&token)).await;
    assert_page(&page, 200, "You are subscribed");
    let (subscription, _) = newsletter.deployment.state(&address).await;
    assert_eq!(subscription.unwrap().status, SubscriptionStatus::Confirmed);
    assert_page(
        &newsletter
            .subscribe
            .http(link_page("/newsletter/confirm", &token))
            .await,
        400,
        "This link is not valid",
    );

    // A token of another kind (a request's verification link) is not a confirmation link.
    let requests = newsletter.deployment.start("dsr-intake", &[]).await;
    let other = unique_address("other");
    let submitted = requests
        .http(http_event(
            "POST /dsr",
            "/dsr",
            Some(&serde_json::json!({"type": "access", "email": other}).to_string()),
        ))
        .await;
    assert_eq!(submitted.status, 202);
    newsletter.deployment.drain_outbox(&[], &[&other]).await;
    let verification = privacy_tests::newsletter::mails_to(&other).await[0]
        .token("https://privacy.example.com/dsr/verify")
        .unwrap();
    for event in [link_page("/newsletter/confirm", &verification), confirm(&verification)] {
        assert_page(&newsletter.subscribe.http(event).await, 400, "This link is not valid");
    }
    requests.stop_checking_logs(&[&other]).await;
}
