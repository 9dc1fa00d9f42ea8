//! Data subject requests through the built dsr-intake and dsr-admin
//! binaries, against the DynamoDB/SES emulator: every type end to end, mails
//! read back and links followed, verification, erasure, holds, admin API.

use privacy_domain::dsr::export::EXPORT_FILENAME;
use privacy_http::{Area, ROUTES};
use privacy_tests::dsr::{confirm_sign_up, record_consent, sign_up, DsrBackend, VERIFY};
use privacy_tests::events::{http_event, link_button, link_page, with_header, with_jwt};
use privacy_tests::function::Function;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::{mails_to, unique_address, Deployment, SentMail};
use serde_json::{json, Value};

/// The `personal-data.json` attached to an export mail.
fn export_of(mail: &SentMail) -> Value {
    let attachment = mail.attachment(EXPORT_FILENAME).expect("an export attachment");
    serde_json::from_slice(&attachment.content).expect("the export is JSON")
}

fn is_export(mail: &SentMail) -> bool {
    mail.attachment(EXPORT_FILENAME).is_some()
}

/// A visitor gives consent (`marketing` as given), later signs up for the
/// newsletter as Ada Lovelace at `address` with the same consent id and
/// confirms: the consent id is linked to her. The consent-capture and
/// newsletter-subscribe functions, still running.
async fn consenting_subscriber(
    backend: &DsrBackend,
    address: &str,
    consent_id: &str,
    marketing: bool,
) -> (Function, Function) {
    let consent = backend.deployment.start("consent-capture", &[]).await;
    record_consent(&consent, consent_id, marketing).await;
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    sign_up(
        &subscribe,
        &json!({"email": address, "name": "Ada Lovelace", "consent_id": consent_id}),
    )
    .await;
    confirm_sign_up(&backend.deployment, &subscribe, address).await;
    (consent, subscribe)
}

#[tokio::test]
async fn every_request_type_end_to_end() {
    let backend = DsrBackend::start().await;
    for kind in [
        "access",
        "portability",
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "source",
        "ccpa_know",
        "ccpa_delete",
        "ccpa_correct",
        "ccpa_opt_out",
    ] {
        let address = unique_address(kind);
        let mut body = json!({"type": kind, "email": address, "name": "Ada Lovelace"});
        if kind.contains("correct") || kind == "rectification" {
            body["corrections"] = json!({"name": "Ada King"});
        }
        if matches!(kind, "objection" | "ccpa_opt_out") {
            let answer = backend.submit(body).await;
            assert_eq!(answer.status, 202, "{kind}: {}", answer.body);
            assert_eq!(answer.json()["status"], "completed", "{kind} acts at once");
            assert!(
                mails_to(&address).await.is_empty(),
                "{kind}: no mail to an unverified address"
            );
            continue;
        }
        let verified = backend.submit_and_verify(body).await;
        let (answer, page) = (verified.answer, verified.page);
        assert_eq!(answer["status"], "awaiting_verification", "{kind}");
        assert_eq!(page.status, 200, "{kind}: {}", page.body);
        let mails = mails_to(&address).await;
        let status = backend.status_page(&address).await;
        assert_eq!(status.status, 200, "{kind}: {}", status.body);
        let status = status.json();
        assert_eq!(status["request_id"], answer["request_id"]);
        assert_eq!(status["type"], kind);
        // The product holds no subscription for these addresses: a
        // rectification has nothing it can correct and goes to the team.
        let expected = if matches!(kind, "restriction" | "rectification" | "ccpa_correct") {
            "awaiting_team"
        } else {
            "completed"
        };
        assert_eq!(status["status"], expected, "{kind}: {status}");
        assert!(status["days_left"].as_i64().unwrap() >= 28, "{kind}: {status}");
        let events: Vec<&str> = status["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert!(
            events.starts_with(&["received", "verified", "in_progress"]),
            "{kind}: {events:?}"
        );
        let subjects: Vec<String> = mails.iter().map(|mail| mail.raw.clone()).collect();
        match kind {
            "access" | "portability" | "source" | "ccpa_know" => {
                let export = mails.iter().find(|mail| is_export(mail)).expect("an export mail");
                assert!(export_of(export)["article_15"].is_object());
            }
            "erasure" | "ccpa_delete" => assert!(subjects.iter().any(|raw| raw.contains("Your data is erased"))),
            _ => {}
        }
        let team_mails = mails_to(&backend.team).await;
        assert!(
            team_mails
                .iter()
                .any(|mail| mail.text.contains(answer["request_id"].as_str().unwrap())),
            "{kind}: the privacy team is told"
        );
    }
    backend.stop(&["Ada Lovelace", "@example.com"]).await;
}

#[tokio::test]
async fn an_access_export_holds_consent_subscription_requests_and_article_15() {
    let backend = DsrBackend::start().await;
    let address = unique_address("export");
    let consent_id = "7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d";
    let (consent, subscribe) = consenting_subscriber(&backend, &address, consent_id, true).await;
    // An earlier request (restriction), then the access request.
    backend
        .submit_and_verify(json!({"type": "restriction", "email": address}))
        .await;
    let page = backend
        .submit_and_verify(json!({"type": "access", "email": address}))
        .await
        .page;
    assert_eq!(page.status, 200);

    let mails = mails_to(&address).await;
    let export = export_of(mails.iter().find(|mail| is_export(mail)).unwrap());
    let entities: Vec<&str> = export["personal_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["entity"].as_str().unwrap())
        .collect();
    for entity in [
        "consent_state",
        "consent_receipt",
        "newsletter_subscription",
        "dsr_request",
        "processing_restriction",
    ] {
        assert!(entities.contains(&entity), "{entity} missing from {entities:?}");
    }
    let receipt = export["personal_data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["entity"] == "consent_receipt")
        .unwrap();
    assert_eq!(receipt["record"]["consent_id"], consent_id);
    let requests = entities.iter().filter(|entity| **entity == "dsr_request").count();
    assert_eq!(requests, 2, "the request history");
    let article = &export["article_15"];
    for key in [
        "a_purposes",
        "b_categories",
        "c_recipients",
        "d_retention",
        "e_rights",
        "f_complaint",
        "g_source",
        "h_automated_decision_making",
    ] {
        assert!(
            !article[key].is_null() && article[key] != json!([]),
            "Art. 15(1) {key}: {article}"
        );
    }
    assert!(article["f_complaint"]["name"].as_str().unwrap().contains("IMY"));
    consent.stop_checking_logs(&[]).await;
    subscribe.stop_checking_logs(&[&address]).await;
    backend.stop(&[&address, "Ada Lovelace"]).await;
}

#[tokio::test]
async fn erasure_leaves_no_address_or_name_anywhere_but_keeps_what_a_hold_covers() {
    let backend = DsrBackend::start().await;
    let address = unique_address("erase");
    let consent_id = "0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e";
    let (consent, subscribe) = consenting_subscriber(&backend, &address, consent_id, false).await;
    // Litigation: the consent records must be kept.
    let hold = backend
        .admin(
            "POST /admin/holds",
            "/admin/holds",
            Some(json!({"email": address, "category": "consent_records",
            "until": "2030-01-01T00:00:00Z", "reason": "Pending dispute over cookie consent, case 2026-17"})),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);

    let page = backend
        .submit_and_verify(json!({"type": "erasure", "email": address, "name": "Ada Lovelace"}))
        .await
        .page;
    assert_eq!(page.status, 200, "{}", page.body);

    let client = privacy_tests::aws::dynamodb().await;
    let items = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;
    let local_part = address.split('@').next().unwrap();
    for item in &items {
        assert!(!item.contains(local_part), "the address survived erasure in {item}");
        assert!(!item.contains("Ada Lovelace"), "the name survived erasure in {item}");
    }
    assert!(
        items.iter().any(|item| item.contains("consent_receipt")),
        "the held consent receipt survives"
    );
    assert!(
        !items.iter().any(|item| item.contains("newsletter_subscription")),
        "the subscription is erased"
    );
    let reply = mails_to(&address)
        .await
        .into_iter()
        .find(|mail| mail.raw.contains("Your data is erased"))
        .expect("a reply");
    assert!(reply.text.contains("Cookie consent records"), "{}", reply.text);
    assert!(
        reply
            .text
            .contains("legal hold until 2030-01-01T00:00:00Z: Pending dispute over cookie consent"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("Newsletter"),
        "what was erased is listed: {}",
        reply.text
    );
    consent.stop_checking_logs(&[]).await;
    subscribe.stop_checking_logs(&[&address]).await;
    backend.stop(&[&address, "Ada Lovelace"]).await;
}

#[tokio::test]
async fn nothing_is_disclosed_or_changed_before_verification_and_bad_tokens_get_400() {
    let backend = DsrBackend::start().await;
    let address = unique_address("unverified");
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    sign_up(&subscribe, &json!({"email": address})).await;
    let client = privacy_tests::aws::dynamodb().await;
    let before: Vec<String> = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;

    let access = backend.submit(json!({"type": "access", "email": address})).await;
    privacy_tests::aws::forget_link_mails(&backend.deployment.table, &address).await;
    let erasure = backend.submit(json!({"type": "erasure", "email": address})).await;
    assert_eq!((access.status, erasure.status), (202, 202));
    let mails = mails_to(&address).await;
    assert!(!mails.iter().any(is_export), "no export before verification");
    let after = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;
    assert!(
        after.iter().any(|item| item.contains("newsletter_subscription")),
        "nothing erased before verification"
    );
    assert!(after.len() > before.len(), "the requests themselves are stored");

    let verification: Vec<String> = mails.iter().filter_map(|mail| mail.token(VERIFY)).collect();
    assert_eq!(verification.len(), 2);
    let mut altered = verification[0].clone();
    altered.replace_range(0..1, if altered.starts_with('A') { "B" } else { "A" });
    for bad in ["Zm9yZ2Vk", altered.as_str(), ""] {
        let page = backend.verify(bad).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("This link is not valid"));
    }
    // Expired: the verification token's expiry has passed.
    privacy_tests::aws::expire_token(&backend.deployment.table, &verification[1]).await;
    assert_eq!(backend.verify(&verification[1]).await.status, 400, "expired");
    let still = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;
    assert!(
        still.iter().any(|item| item.contains("newsletter_subscription")),
        "an expired erasure link erases nothing"
    );

    // Used once, then never again.
    assert_eq!(backend.verify(&verification[0]).await.status, 200);
    assert_eq!(backend.verify(&verification[0]).await.status, 400, "reused");

    // A status request without the right token: 404, and nothing said.
    let request_id = access.json()["request_id"].as_str().unwrap().to_owned();
    for token in ["", "wrong", "Vz0WHKVWL5joH5EEc57-uEPPfVDRym0hwwV_HIHl9JY"] {
        let response = backend
            .intake
            .http(http_event(
                "GET /dsr/{request_id}",
                &format!("/dsr/{request_id}?token={token}"),
                None,
            ))
            .await;
        assert_eq!(response.status, 404);
        assert_eq!(response.error().0, "request_not_found");
    }
    subscribe.stop_checking_logs(&[&address]).await;
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn bad_requests_get_a_4xx_naming_the_field() {
    let backend = DsrBackend::start().await;
    let post = |body: Value| http_event("POST /dsr", "/dsr", Some(&body.to_string()));
    let cases = [
        (
            "unknown type",
            post(json!({"type": "delete_everything", "email": "ada@example.com"})),
            400,
            "unknown_request_type",
            Some("type"),
        ),
        (
            "no type",
            post(json!({"email": "ada@example.com"})),
            400,
            "missing_field",
            Some("type"),
        ),
        (
            "no address",
            post(json!({"type": "access"})),
            400,
            "missing_field",
            Some("email"),
        ),
        (
            "bad address",
            post(json!({"type": "access", "email": "ada"})),
            400,
            "invalid_email",
            Some("email"),
        ),
        (
            "bad jurisdiction",
            post(json!({"type": "access", "email": "ada@example.com", "jurisdiction": "eu"})),
            400,
            "invalid_field",
            Some("jurisdiction"),
        ),
        (
            "details too long",
            post(json!({"type": "access", "email": "ada@example.com", "details": "x".repeat(2001)})),
            400,
            "invalid_field",
            Some("details"),
        ),
        (
            "rectification without corrections",
            post(json!({"type": "rectification", "email": "ada@example.com"})),
            400,
            "corrections_required",
            Some("corrections"),
        ),
        (
            "bad corrected address",
            post(json!({"type": "rectification", "email": "ada@example.com", "corrections": {"email": "x"}})),
            400,
            "invalid_email",
            Some("corrections.email"),
        ),
        (
            "unknown correction",
            post(json!({"type": "rectification", "email": "ada@example.com", "corrections": {"phone": "1"}})),
            400,
            "unknown_field",
            Some("corrections.phone"),
        ),
        (
            "unknown field",
            post(json!({"type": "access", "email": "ada@example.com", "ssn": "1"})),
            400,
            "unknown_field",
            Some("ssn"),
        ),
        (
            "malformed JSON",
            http_event("POST /dsr", "/dsr", Some("{")),
            400,
            "malformed_json",
            None,
        ),
        (
            "wrong content type",
            with_header(post(json!({})), "content-type", Some("text/csv")),
            415,
            "unsupported_media_type",
            None,
        ),
    ];
    for (case, event, status, code, field) in cases {
        let response = backend.intake.http(event).await;
        assert_eq!(response.status, status, "{case}: {}", response.body);
        assert_eq!(response.error(), (code.to_owned(), field.map(str::to_owned)), "{case}");
    }
    backend.stop(&["ada@example.com"]).await;
}

#[tokio::test]
async fn every_admin_route_answers_401_without_valid_credentials() {
    let backend = DsrBackend::start().await;
    let admin_routes: Vec<_> = ROUTES.iter().filter(|route| route.area == Area::Admin).collect();
    // The queue, its four decisions, holds (2), customer subscriptions, the
    // account settings' lists, the proof of consent (by id and for a
    // person), the two reports, a
    // system's answer recorded by the team, a request's detail, the team's
    // notes, the monthly request report and newsletter issues (write, list,
    // show, test, cancel).
    assert_eq!(admin_routes.len(), 22);
    for route in admin_routes {
        let path = route
            .path
            .replace("{request_id}", "0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f")
            .replace("{hold_id}", "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b")
            .replace("{consent_id}", "2f3e4d5c-6b7a-4899-8a0b-1c2d3e4f5a6b")
            .replace("{task_id}", "0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f.bookkeeping")
            .replace("{issue_id}", "9999999999999-00000000");
        let key = format!("{} {}", route.method, route.path);
        let body = (route.method == "POST").then(|| json!({"reason": "x"}).to_string());
        let anonymous = backend.admin.http(http_event(&key, &path, body.as_deref())).await;
        assert_eq!(anonymous.status, 401, "{key}");
        assert_eq!(anonymous.error(), ("unauthorized".to_owned(), None), "{key}");
        let authorised = backend
            .admin
            .http(with_jwt(http_event(&key, &path, body.as_deref()), "team-member-1"))
            .await;
        assert_ne!(authorised.status, 401, "{key}: {}", authorised.body);
    }
    backend.stop(&[]).await;
}

#[tokio::test]
async fn the_team_extends_completes_and_rejects_with_mail_to_the_requester() {
    let backend = DsrBackend::start().await;
    let address = unique_address("team");
    let answer = backend
        .submit_and_verify(json!({"type": "restriction", "email": address, "details": "Stop profiling me"}))
        .await
        .answer;
    let id = answer["request_id"].as_str().unwrap().to_owned();

    let listed = backend.queue("?status=awaiting_team").await;
    assert!(listed
        .iter()
        .any(|entry| entry["request_id"] == id.as_str() && entry["days_left"].as_i64() >= Some(28)));

    let extended = backend
        .admin(
            "POST /admin/dsr/{request_id}/extend",
            &format!("/admin/dsr/{id}/extend"),
            Some(json!({"reason": "Many systems to check"})),
        )
        .await;
    assert_eq!(extended.status, 200, "{}", extended.body);
    assert!(extended.json()["days_left"].as_i64().unwrap() >= 89);
    let decision = extended.json()["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (decision["event"].as_str(), decision["by"].as_str()),
        (Some("extended"), Some("team-member-1")),
        "the decision names who took it (the token's sub)"
    );
    let again = backend
        .admin(
            "POST /admin/dsr/{request_id}/extend",
            &format!("/admin/dsr/{id}/extend"),
            Some(json!({"reason": "More"})),
        )
        .await;
    assert_eq!((again.status, again.error().0.as_str()), (409, "extension_refused"));
    let rejected = backend
        .admin(
            "POST /admin/dsr/{request_id}/reject",
            &format!("/admin/dsr/{id}/reject"),
            Some(json!({"reason": "The processing is required by law"})),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(rejected.json()["status"], "rejected");
    let closed = backend
        .admin(
            "POST /admin/dsr/{request_id}/complete",
            &format!("/admin/dsr/{id}/complete"),
            Some(json!({"note": "x"})),
        )
        .await;
    assert_eq!((closed.status, closed.error().0.as_str()), (409, "request_closed"));
    let mails = mails_to(&address).await;
    assert!(
        mails.iter().any(|mail| mail.text.contains("Many systems to check")),
        "the extension notice gives the reasons"
    );
    assert!(
        mails
            .iter()
            .any(|mail| mail.text.contains("The processing is required by law") && mail.text.contains("IMY")),
        "the rejection gives reasons and the right to complain"
    );
    let missing = backend
        .admin(
            "POST /admin/dsr/{request_id}/complete",
            "/admin/dsr/0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f/complete",
            Some(json!({"note": "x"})),
        )
        .await;
    assert_eq!(missing.status, 404);
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn holds_and_customer_subscriptions_through_the_admin_api() {
    let backend = DsrBackend::start().await;
    let address = unique_address("customer");
    let created = backend
        .admin(
            "POST /admin/newsletter/subscribers",
            "/admin/newsletter/subscribers",
            Some(json!({"email": address, "name": "Grace Hopper", "basis": "legitimate_interest"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let (subscription, _) = backend.deployment.state(&address).await;
    let subscription = subscription.unwrap();
    assert_eq!(
        subscription.basis,
        privacy_domain::newsletter::LawfulBasis::LegitimateInterest
    );
    assert_eq!(
        backend
            .deployment
            .evidence_events(&address)
            .await
            .last()
            .map(|event| event["event"].clone()),
        Some(json!("subscribed_by_team"))
    );
    let wrong_basis = backend
        .admin(
            "POST /admin/newsletter/subscribers",
            "/admin/newsletter/subscribers",
            Some(json!({"email": address, "basis": "consent"})),
        )
        .await;
    assert_eq!(
        wrong_basis.error(),
        ("invalid_field".to_owned(), Some("basis".to_owned()))
    );

    // An objection suppresses; the team can then not re-add the person.
    let objection = backend.submit(json!({"type": "objection", "email": address})).await;
    assert_eq!(objection.json()["status"], "completed");
    let (subscription, suppression) = backend.deployment.state(&address).await;
    assert_eq!(
        subscription.unwrap().status,
        privacy_domain::newsletter::SubscriptionStatus::Unsubscribed
    );
    assert!(suppression.is_some());
    let refused = backend
        .admin(
            "POST /admin/newsletter/subscribers",
            "/admin/newsletter/subscribers",
            Some(json!({"email": address, "basis": "legitimate_interest"})),
        )
        .await;
    assert_eq!((refused.status, refused.error().0.as_str()), (409, "suppressed"));

    let hold = backend
        .admin("POST /admin/holds", "/admin/holds", Some(json!({"email": address, "category": "invoicing", "until": "2033-12-31T23:00:00Z", "reason": "Bokföringslagen 7:2"})))
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    assert_eq!(hold.json()["placed_by"], "team-member-1", "who placed it is recorded");
    let hold_id = hold.json()["hold_id"].as_str().unwrap().to_owned();
    let stored = privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &backend.deployment.table).await;
    assert!(
        stored
            .iter()
            .any(|item| item.contains(&hold_id) && item.contains(r#"S(\"team-member-1\")"#)),
        "the stored hold names who placed it"
    );
    for (body, field) in [
        (
            json!({"email": address, "category": "everything", "until": "2033-12-31T23:00:00Z", "reason": "x"}),
            "category",
        ),
        (
            json!({"email": address, "category": "invoicing", "until": "2020-01-01T00:00:00Z", "reason": "x"}),
            "until",
        ),
        (
            json!({"email": address, "category": "invoicing", "until": "soon", "reason": "x"}),
            "until",
        ),
        (
            json!({"email": address, "category": "invoicing", "until": "2033-12-31T23:00:00Z"}),
            "reason",
        ),
    ] {
        let response = backend.admin("POST /admin/holds", "/admin/holds", Some(body)).await;
        assert_eq!(
            (response.status, response.error().1.as_deref()),
            (400, Some(field)),
            "{}",
            response.body
        );
    }
    // Another member of the team lifts it.
    let lifted = backend
        .admin
        .http(with_jwt(
            http_event(
                "DELETE /admin/holds/{hold_id}",
                &format!("/admin/holds/{hold_id}"),
                None,
            ),
            "team-member-2",
        ))
        .await;
    assert_eq!(lifted.status, 204);
    let stored = privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &backend.deployment.table).await;
    let record = stored
        .iter()
        .find(|item| item.contains(&hold_id) && item.contains("legal_hold_lifted"))
        .expect("a record of the lifted hold is kept");
    assert!(
        record.contains(r#""lifted_by": "S(\"team-member-2\")""#)
            && record.contains(r#""placed_by": "S(\"team-member-1\")""#),
        "who placed and who lifted the hold: {record}"
    );
    assert!(
        !record.contains("SubjectPK") && !record.contains(&address),
        "the record of a lifted hold names no person: {record}"
    );
    let again = backend
        .admin(
            "DELETE /admin/holds/{hold_id}",
            &format!("/admin/holds/{hold_id}"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    backend.stop(&[&address, "Grace Hopper"]).await;
}

#[tokio::test]
async fn a_request_made_while_ses_is_down_is_kept_and_its_mail_sent_later() {
    let deployment = Deployment::new().await;
    let intake = deployment.start("dsr-intake", &[]).await;
    let address = unique_address("outage");
    let body = json!({"type": "access", "email": address});
    let answer = intake
        .http(http_event("POST /dsr", "/dsr", Some(&body.to_string())))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    intake.stop_checking_logs(&[&address]).await;
    // The drain the request's write starts meets SES down: the mail stays queued.
    deployment.drain_outbox_while_ses_is_down(&[&address]).await;
    assert!(mails_to(&address).await.is_empty());

    let outbox = deployment.start("mail-outbox", &[]).await;
    match outbox
        .invoke(privacy_tests::events::sample("mail-outbox-schedule"))
        .await
    {
        Invocation::Response(report) => assert_eq!(report["sent"], 1, "{report}"),
        other => panic!("{other:?}"),
    }
    let mails = mails_to(&address).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].token(VERIFY).is_some(),
        "the verification mail arrived after the outage"
    );
    outbox.stop_checking_logs(&[&address]).await;
}

#[tokio::test]
async fn the_register_is_published() {
    let backend = DsrBackend::start().await;
    let response = backend
        .intake
        .http(http_event("GET /privacy/register", "/privacy/register", None))
        .await;
    assert_eq!(response.status, 200);
    let register = response.json();
    assert_eq!(register["categories"].as_array().unwrap().len(), 8);
    assert!(register["ccpa"]["disclosed_for_business_purpose_last_12_months"]
        .as_array()
        .is_some_and(|list| !list.is_empty()));
    backend.stop(&[]).await;
}

#[tokio::test]
async fn a_mail_scanner_following_the_verification_link_carries_out_nothing() {
    let backend = DsrBackend::start().await;
    let address = unique_address("scanned");
    let subscribe = backend.deployment.start("newsletter-subscribe", &[]).await;
    sign_up(&subscribe, &json!({"email": address, "name": "Grace Hopper"})).await;
    let client = privacy_tests::aws::dynamodb().await;
    let erasure = backend.submit(json!({"type": "erasure", "email": address})).await;
    assert_eq!(erasure.status, 202, "{}", erasure.body);
    privacy_tests::aws::forget_link_mails(&backend.deployment.table, &address).await;
    let rectification = backend
        .submit(json!({"type": "rectification", "email": address, "corrections": {"name": "Grace B. Hopper"}}))
        .await;
    assert_eq!(rectification.status, 202, "{}", rectification.body);
    let mails = mails_to(&address).await;
    let tokens: Vec<String> = mails.iter().filter_map(|mail| mail.token(VERIFY)).collect();
    assert_eq!(tokens.len(), 2);
    let before = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;

    // A scanner or link preview fetches each link, as many times as it likes.
    for _ in 0..3 {
        let page = backend.intake.http(link_page("/dsr/verify", &tokens[0])).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("erasure of your personal data"), "{}", page.body);
        assert!(page.body.contains("<form method=\"post\" action=\"/dsr/verify\">"));
        assert!(page.body.contains(&format!("name=\"token\" value=\"{}\"", tokens[0])));
        let page = backend.intake.http(link_page("/dsr/verify", &tokens[1])).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("correction of your personal data"), "{}", page.body);
        assert!(
            page.body.contains("your name to \u{201c}Grace B. Hopper\u{201d}"),
            "{}",
            page.body
        );
    }
    assert_eq!(
        privacy_tests::aws::scan_text(&client, &backend.deployment.table).await,
        before,
        "a GET of the verification link changes nothing"
    );
    assert_eq!(mails_to(&address).await.len(), mails.len(), "and mails nothing");
    assert!(before.iter().any(|item| item.contains("newsletter_subscription")));

    // Only the page's button acts; after it, the link is spent.
    let page = backend.verify(&tokens[0]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Your request is confirmed"));
    let after = privacy_tests::aws::scan_text(&client, &backend.deployment.table).await;
    assert!(
        !after.iter().any(|item| item.contains("newsletter_subscription")),
        "the erasure ran on the button's POST"
    );
    assert_eq!(
        backend.intake.http(link_page("/dsr/verify", &tokens[0])).await.status,
        400
    );
    assert_eq!(backend.verify(&tokens[0]).await.status, 400);

    // The button posts from the API's own page; another site's page may not post it.
    let foreign = with_header(
        link_button("/dsr/verify", &tokens[1]),
        "origin",
        Some("https://attacker.example"),
    );
    assert_eq!(backend.intake.http(foreign).await.status, 403);
    // JSON works too, and a JSON body of anything but the token is refused by name.
    let json_body = json!({"token": tokens[1], "extra": 1}).to_string();
    let refused = backend
        .intake
        .http(http_event("POST /dsr/verify", "/dsr/verify", Some(&json_body)))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.error(), ("unknown_field".to_owned(), Some("extra".to_owned())));
    backend.stop(&[&address, "Grace", "Hopper"]).await;
}

#[tokio::test]
async fn a_requests_detail_shows_its_timeline_mails_and_the_teams_notes() {
    let backend = DsrBackend::start().await;
    let address = unique_address("detail");
    let id = backend
        .verified_request(json!({"type": "restriction", "email": address}))
        .await;
    let path = format!("/admin/dsr/{id}");
    let notes = format!("{path}/notes");
    // A note is refused naming `text`: missing, blank, too long, or beside an unknown field.
    for (body, code, field) in [
        (json!({}), "missing_field", "text"),
        (json!({"text": "   "}), "missing_field", "text"),
        (json!({"text": "x".repeat(2001)}), "invalid_field", "text"),
        (json!({"text": 5}), "invalid_field", "text"),
        (json!({"text": "ok", "by": "someone"}), "unknown_field", "by"),
    ] {
        let refused = backend
            .admin("POST /admin/dsr/{request_id}/notes", &notes, Some(body.clone()))
            .await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert_eq!(refused.error(), (code.to_owned(), Some(field.to_owned())), "{body}");
    }
    let noted = backend
        .admin(
            "POST /admin/dsr/{request_id}/notes",
            &notes,
            Some(json!({"text": "Called back: she wants the restriction kept while the dispute lasts."})),
        )
        .await;
    assert_eq!(noted.status, 201, "{}", noted.body);
    assert_eq!(noted.json()["notes"][0]["by"], "team-member-1", "the token's sub");

    let detail = backend.admin("GET /admin/dsr/{request_id}", &path, None).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let detail = detail.json();
    assert_eq!(detail["status"], "awaiting_team", "{detail}");
    assert!(
        detail["days_left"]
            .as_i64()
            .is_some_and(|days| (28..=31).contains(&days)),
        "{detail}"
    );
    let events: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["event"].as_str())
        .collect();
    assert!(
        events.contains(&"verified") && events.contains(&"restricted"),
        "{events:?}"
    );
    let mails: Vec<&str> = detail["mails"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|mail| mail["kind"].as_str())
        .collect();
    assert!(mails.contains(&"dsr_acknowledgement"), "{mails:?}");
    assert!(!detail.to_string().contains(&address), "no address in the detail");
    assert_eq!(
        detail["notes"][0]["text"],
        "Called back: she wants the restriction kept while the dispute lasts."
    );
    assert_eq!(detail["tasks"], json!([]), "no other system is asked here");

    let unknown = backend
        .admin(
            "GET /admin/dsr/{request_id}",
            "/admin/dsr/0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let unknown = backend
        .admin(
            "POST /admin/dsr/{request_id}/notes",
            "/admin/dsr/0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f/notes",
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    backend.stop(&[&address]).await;
}
