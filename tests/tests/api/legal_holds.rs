//! Legal holds and restrictions against DynamoDB's TTL, through the built
//! consent-capture, newsletter-subscribe, dsr-intake, dsr-admin and
//! retention-sweep binaries on the emulator: the `expires_at` TTL attribute
//! is read back with the SDK, because TTL deletes by it whatever the sweep
//! decides (SPEC 3.3 and 4).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp, ToSpan};
use privacy_tests::dsr::{press_confirmation, record_consent, sign_up, DsrBackend};
use privacy_tests::events::{http_event, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, subject_of, unique_address, Deployment};
use privacy_tests::sweep::SweepDeployment;
use serde_json::{json, Value};

const HOLD_ENDS: &str = "2040-01-01T00:00:00Z";

/// What links a consent to a person: consent-capture, newsletter-subscribe,
/// and the outbox that mails the sign-up's confirmation.
struct ConsentLinking {
    outbox: Function,
    consent: Function,
    subscribe: Function,
}

impl ConsentLinking {
    async fn start(deployment: &Deployment) -> Self {
        Self {
            outbox: deployment.start("mail-outbox", &[]).await,
            consent: deployment.start("consent-capture", &[]).await,
            subscribe: deployment.start("newsletter-subscribe", &[]).await,
        }
    }

    /// Records a consent and links it to `address` by a newsletter sign-up with the same consent id.
    async fn consent_of(&self, address: &str) -> String {
        let consent_id = uuid::Uuid::new_v4().to_string();
        record_consent(&self.consent, &consent_id, false).await;
        sign_up(&self.subscribe, &json!({"email": address, "consent_id": consent_id})).await;
        // The consent id is linked when the sign-up is confirmed: the outbox's
        // drain sends the queued confirmation, and its page's button confirms.
        let drained = self
            .outbox
            .invoke_with_timeout(
                privacy_tests::events::sample("mail-outbox-stream"),
                std::time::Duration::from_secs(60),
            )
            .await;
        assert!(
            matches!(drained, privacy_tests::lambda_emulator::Invocation::Response(_)),
            "{drained:?}"
        );
        press_confirmation(&self.subscribe, address).await;
        consent_id
    }

    async fn stop(self, personal_data: &[&str]) {
        for function in [self.outbox, self.consent, self.subscribe] {
            function.stop_checking_logs(personal_data).await;
        }
    }
}

/// Places a legal hold through the admin API.
async fn place_hold(backend: &DsrBackend, body: Value) -> HttpResponse {
    backend.admin("POST /admin/holds", "/admin/holds", Some(body)).await
}

/// `expires_at` (the TTL attribute, epoch seconds) and `DuePK` of every item
/// of the person with `entity`, read with the SDK from the subject index and the table.
async fn stamps(backend: &DsrBackend, address: &str, entity: &str) -> BTreeMap<String, (Option<i64>, Option<String>)> {
    let table = backend.deployment.table.as_str();
    let client = privacy_tests::aws::dynamodb().await;
    let keys = client
        .query()
        .table_name(table)
        .index_name("subject")
        .key_condition_expression("SubjectPK = :subject")
        .expression_attribute_values(":subject", AttributeValue::S(subject_index_key(address)))
        .send()
        .await
        .expect("query the subject index");
    // Consent records are the person's through their link (`CONSENT#<id>` /
    // `LINK` on the subject index), not a subject key of their own.
    let mut items: Vec<std::collections::HashMap<String, AttributeValue>> = keys.items().to_vec();
    for link in keys.items() {
        if link
            .get("entity")
            .and_then(|value| value.as_s().ok())
            .map(String::as_str)
            != Some("consent_link")
        {
            continue;
        }
        let partition = link["PK"].clone();
        let history = client
            .query()
            .table_name(table)
            .key_condition_expression("PK = :partition")
            .expression_attribute_values(":partition", partition)
            .send()
            .await
            .expect("query a consent history");
        items.extend(history.items().iter().cloned());
    }
    let mut found = BTreeMap::new();
    for item in &items {
        if item
            .get("entity")
            .and_then(|value| value.as_s().ok())
            .map(String::as_str)
            != Some(entity)
        {
            continue;
        }
        let (pk, sk) = (item["PK"].clone(), item["SK"].clone());
        let stored = client
            .get_item()
            .table_name(table)
            .key("PK", pk.clone())
            .key("SK", sk.clone())
            .consistent_read(true)
            .send()
            .await
            .expect("get the item");
        let stored = stored.item().expect("the item exists");
        let expires_at = stored
            .get("expires_at")
            .map(|value| value.as_n().expect("a number").parse::<i64>().expect("epoch seconds"));
        let due = stored.get("DuePK").map(|value| value.as_s().expect("a string").clone());
        found.insert(
            format!("{}/{}", pk.as_s().unwrap(), sk.as_s().unwrap()),
            (expires_at, due),
        );
    }
    found
}

/// The subject index's partition value for an address (as the DynamoDB adapter writes it).
fn subject_index_key(address: &str) -> String {
    subject_of(address).as_str().to_owned()
}

fn epoch(text: &str) -> i64 {
    text.parse::<Timestamp>().unwrap().as_second()
}

#[tokio::test]
async fn a_hold_on_consent_records_raises_their_ttl_and_lifting_it_restores_the_registers() {
    let backend = DsrBackend::start().await;
    let linking = ConsentLinking::start(&backend.deployment).await;
    let address = unique_address("held");
    let consent_id = linking.consent_of(&address).await;
    let before = stamps(&backend, &address, "consent_receipt").await;
    assert!(!before.is_empty(), "the consent is linked to the person");
    for (expires_at, due) in before.values() {
        let expires_at = expires_at.expect("consent records expire by the register");
        assert!(expires_at < epoch("2031-01-01T00:00:00Z"), "3 years from now");
        assert!(due.is_some());
    }

    let hold = place_hold(
        &backend,
        json!({"email": address, "category": "consent_records", "until": HOLD_ENDS,
            "reason": "Evidence in a dispute (GDPR Art. 17(3)(e))"}),
    )
    .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold_id = hold.json()["hold_id"].as_str().unwrap().to_owned();
    let held = stamps(&backend, &address, "consent_receipt").await;
    assert_eq!(held.len(), before.len());
    for (key, (expires_at, due)) in &held {
        assert_eq!(
            *expires_at,
            Some(epoch(HOLD_ENDS)),
            "{key}: TTL waits for the hold's end"
        );
        assert_eq!(
            due.as_deref(),
            Some("DUE#2040-01-01"),
            "{key}: the due index moves with it"
        );
    }
    let states = stamps(&backend, &address, "consent_state").await;
    assert!(states
        .values()
        .all(|(expires_at, _)| *expires_at == Some(epoch(HOLD_ENDS))));

    // A new write for the held person and category is stamped with the hold.
    let withdrawn = linking
        .consent
        .http(http_event(
            "DELETE /consent/{consent_id}",
            &format!("/consent/{consent_id}"),
            None,
        ))
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let with_new = stamps(&backend, &address, "consent_receipt").await;
    assert_eq!(with_new.len(), before.len() + 1, "the withdrawal's receipt");
    assert!(
        with_new
            .values()
            .all(|(expires_at, _)| *expires_at == Some(epoch(HOLD_ENDS))),
        "{with_new:?}"
    );

    // Records of the person's other categories are not held.
    // (A confirmed subscription has no expiry; the hold must not give it the hold's.)
    let requests_before = stamps(&backend, &address, "newsletter_subscription").await;
    assert!(!requests_before.is_empty());
    assert!(
        requests_before
            .values()
            .all(|(expires_at, _)| *expires_at != Some(epoch(HOLD_ENDS))),
        "{requests_before:?}"
    );

    let lifted = backend
        .admin(
            "DELETE /admin/holds/{hold_id}",
            &format!("/admin/holds/{hold_id}"),
            None,
        )
        .await;
    assert_eq!(lifted.status, 204, "{}", lifted.body);
    let after = stamps(&backend, &address, "consent_receipt").await;
    for (key, stamp) in &before {
        assert_eq!(after.get(key), Some(stamp), "{key}: the register's expiry again");
    }
    assert!(after
        .values()
        .all(|(expires_at, _)| expires_at.is_some_and(|at| at < epoch("2031-01-01T00:00:00Z"))));
    linking.stop(&[&address]).await;
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn an_invoicing_hold_from_a_fiscal_year_end_lasts_through_the_seventh_year_after() {
    let backend = DsrBackend::start().await;
    let address = unique_address("books");
    let hold = place_hold(
        &backend,
        json!({"email": address, "category": "invoicing", "fiscal_year_end": "2027-06-30",
            "reason": "Bokföringslagen 7:2"}),
    )
    .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    // Kept through 2034-12-31: until the first instant of 2035 in Stockholm.
    assert_eq!(hold.json()["until"], "2034-12-31T23:00:00Z");
    let stored = stamps(&backend, &address, "legal_hold").await;
    assert_eq!(
        stored.values().cloned().collect::<Vec<_>>(),
        vec![(Some(epoch("2034-12-31T23:00:00Z")), Some("DUE#2034-12-31".to_owned()))]
    );
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn bad_hold_input_is_a_400_naming_the_field() {
    let backend = DsrBackend::start().await;
    let address = unique_address("bad-hold");
    let reason = "Bokföringslagen 7:2";
    for (body, code, field) in [
        (
            json!({"email": address, "category": "invoicing", "fiscal_year_end": "30/06/2027", "reason": reason}),
            "invalid_field",
            "fiscal_year_end",
        ),
        (
            json!({"email": address, "category": "invoicing", "fiscal_year_end": "2027-02-30", "reason": reason}),
            "invalid_field",
            "fiscal_year_end",
        ),
        (
            json!({"email": address, "category": "consent_records", "fiscal_year_end": "2027-06-30", "reason": reason}),
            "invalid_field",
            "fiscal_year_end",
        ),
        (
            json!({"email": address, "category": "invoicing", "fiscal_year_end": "2027-06-30",
                "until": HOLD_ENDS, "reason": reason}),
            "invalid_field",
            "fiscal_year_end",
        ),
        (
            json!({"email": address, "category": "invoicing", "reason": reason}),
            "invalid_field",
            "until",
        ),
        (
            json!({"email": address, "category": "consent_records", "reason": reason}),
            "missing_field",
            "until",
        ),
        (
            json!({"email": address, "category": "invoicing", "until": "2020-01-01T00:00:00Z", "reason": reason}),
            "invalid_field",
            "until",
        ),
        (
            json!({"email": address, "category": "invoicing", "fiscal_year_end": "2010-12-31", "reason": reason}),
            "invalid_field",
            "fiscal_year_end",
        ),
    ] {
        let response = place_hold(&backend, body.clone()).await;
        let (found_code, found_field) = response.error();
        assert_eq!(
            (response.status, found_code.as_str(), found_field.as_deref()),
            (400, code, Some(field)),
            "{body}: {}",
            response.body
        );
    }
    assert!(
        stamps(&backend, &address, "legal_hold").await.is_empty(),
        "nothing placed"
    );
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn a_restricted_persons_expired_records_survive_the_sweep_and_ttl() {
    let sweep_deployment = SweepDeployment::new().await;
    let backend = DsrBackend::with_sweep(&sweep_deployment).await;
    let linking = ConsentLinking::start(&backend.deployment).await;
    let restricted = unique_address("restricted");
    let other = unique_address("unrestricted");
    linking.consent_of(&restricted).await;
    linking.consent_of(&other).await;
    let registered = stamps(&backend, &restricted, "consent_receipt").await;
    let expires_at = registered.values().filter_map(|(at, _)| *at).max().expect("an expiry");

    let request_id = backend
        .verified_request(json!({"type": "restriction", "email": restricted}))
        .await;

    // A sweep a month after the consent records' retention ended.
    let expired_on = Timestamp::from_second(expires_at)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    sweep_deployment
        .set_checkpoint(expired_on.checked_sub(2.days()).unwrap())
        .await;
    let sweep = sweep_deployment.start(true).await;
    let now = Timestamp::from_second(expires_at).unwrap() + SignedDuration::from_hours(24 * 30);
    sweep.sweep_at(now).await;
    assert!(
        stamps(&backend, &other, "consent_receipt").await.is_empty(),
        "the sweep deletes everyone else's expired records"
    );
    let while_restricted = stamps(&backend, &restricted, "consent_receipt").await;
    assert_eq!(
        while_restricted.len(),
        registered.len(),
        "the restricted person's records are kept"
    );
    assert!(
        while_restricted.values().all(|stamp| *stamp == (None, None)),
        "no TTL and no due day while restricted: {while_restricted:?}"
    );

    // Lifting the restriction gives the records the register's expiry back.
    let lifted = backend
        .admin(
            "POST /admin/dsr/{request_id}/lift-restriction",
            &format!("/admin/dsr/{request_id}/lift-restriction"),
            Some(json!({"reason": "The accuracy of the data was verified"})),
        )
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let after = stamps(&backend, &restricted, "consent_receipt").await;
    assert_eq!(
        after.values().map(|(at, _)| *at).collect::<Vec<_>>(),
        registered.values().map(|(at, _)| *at).collect::<Vec<_>>()
    );
    assert!(after.values().all(|(_, due)| due.is_some()), "back on the due index");
    sweep.stop_checking_logs(&[&restricted, &other]).await;
    linking.stop(&[&restricted, &other]).await;
    backend.stop(&[&restricted, &other]).await;
}

#[tokio::test]
async fn lifting_a_restriction_mails_the_person_first_and_is_refused_for_other_requests() {
    let backend = DsrBackend::start().await;
    let address = unique_address("lift");
    let restriction = backend
        .verified_request(json!({"type": "restriction", "email": address}))
        .await;
    let access = backend
        .verified_request(json!({"type": "access", "email": address}))
        .await;
    let lift = |id: &str| format!("/admin/dsr/{id}/lift-restriction");
    let route = "POST /admin/dsr/{request_id}/lift-restriction";

    let not_a_restriction = backend
        .admin(route, &lift(&access), Some(json!({"reason": "Verified"})))
        .await;
    assert_eq!(
        (not_a_restriction.status, not_a_restriction.error().0.as_str()),
        (409, "not_restricted")
    );
    let no_reason = backend.admin(route, &lift(&restriction), Some(json!({}))).await;
    assert_eq!(
        (no_reason.status, no_reason.error().1.as_deref()),
        (400, Some("reason"))
    );
    let unknown = backend
        .admin(
            route,
            &lift("0d3c4a1e-2f5b-4c6d-8e7f-9a0b1c2d3e4f"),
            Some(json!({"reason": "Verified"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let mails_before = mails_to(&address).await.len();

    let lifted = backend
        .admin(
            route,
            &lift(&restriction),
            Some(json!({"reason": "The accuracy of the data was verified"})),
        )
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(lifted.json()["request_id"], restriction.as_str());
    let mails = mails_to(&address).await;
    assert_eq!(mails.len(), mails_before + 1, "one notice");
    let notice = mails.last().unwrap();
    assert!(notice.text.contains("will now be") && notice.text.contains("lifted"));
    assert!(notice.text.contains("The accuracy of the data was verified"));
    assert!(notice.text.contains(&restriction));

    let client = privacy_tests::aws::dynamodb().await;
    let restriction_item = client
        .get_item()
        .table_name(&backend.deployment.table)
        .key(
            "PK",
            AttributeValue::S(format!("RESTRICTION#{}", subject_index_key(&address))),
        )
        .key("SK", AttributeValue::S("RESTRICTION".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(restriction_item.item().is_none(), "the restriction is gone");
    let request = client
        .get_item()
        .table_name(&backend.deployment.table)
        .key("PK", AttributeValue::S(format!("DSR#{restriction}")))
        .key("SK", AttributeValue::S("REQUEST".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let events = format!("{:?}", request.item().unwrap().get("events"));
    assert!(
        events.contains("restriction_lifted") && events.contains("team-member-1"),
        "the event names who lifted it: {events}"
    );

    let again = backend
        .admin(route, &lift(&restriction), Some(json!({"reason": "Verified"})))
        .await;
    assert_eq!(
        (again.status, again.error().0.as_str()),
        (409, "not_restricted"),
        "no restriction in force any more"
    );
    assert_eq!(mails_to(&address).await.len(), mails_before + 1, "no second notice");
    backend.stop(&[&address]).await;
}
