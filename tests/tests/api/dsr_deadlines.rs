//! Which law sets a request's due date (SPEC §3.3), through the built
//! dsr-intake and dsr-admin binaries against the DynamoDB/SES emulator.
//!
//! The expected dates are computed here from the statutes with plain
//! calendar arithmetic, not with the product's deadline engine: GDPR one
//! calendar month from the day of receipt in Stockholm (+2 months on the
//! first due date when extended), CCPA 45 days and Nevada 60 days from the
//! day of receipt in California.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use privacy_domain::dsr::request_key;
use privacy_domain::store::{Precondition, RecordStore, Write};
use privacy_tests::dsr::DsrBackend;
use privacy_tests::newsletter::{mails_to, unique_address, SentMail};
use serde_json::{json, Value};

/// Submits and verifies a request; its id, the verification mail and the
/// status view (through the acknowledgement mail's link).
async fn verified_with_status(backend: &DsrBackend, body: Value) -> (String, SentMail, Value) {
    let address = body["email"].as_str().unwrap().to_owned();
    let verified = backend.submit_and_verify(body).await;
    assert_eq!(verified.page.status, 200, "{}", verified.page.body);
    let id = verified.request_id();
    let status = backend.status(&address).await;
    assert_eq!(status["request_id"], id.as_str());
    (id, verified.mail, status)
}

fn stockholm() -> TimeZone {
    TimeZone::get("Europe/Stockholm").unwrap()
}

fn california() -> TimeZone {
    TimeZone::get("America/Los_Angeles").unwrap()
}

/// Each law's first due date for a request received at `at` (Art. 12(3)
/// GDPR; 11 CCR § 7021; NRS 603A.345).
struct Statutes {
    gdpr: Date,
    ccpa: Date,
    nevada: Date,
}

fn statutes(at: Timestamp) -> Statutes {
    let in_stockholm = at.to_zoned_datetime(stockholm()).date();
    let in_california = at.to_zoned_datetime(california()).date().min(in_stockholm);
    Statutes {
        gdpr: in_stockholm.checked_add(1.month()).unwrap(),
        ccpa: in_california.checked_add(45.days()).unwrap(),
        nevada: in_california.checked_add(60.days()).unwrap(),
    }
}

fn received_at(status: &Value) -> Timestamp {
    status["received_at"].as_str().unwrap().parse().unwrap()
}

fn due_on(view: &Value) -> Date {
    view["due_on"].as_str().unwrap().parse().unwrap()
}

/// The end of `day` in Stockholm: midnight starting the next day.
fn end_of(day: Date) -> Timestamp {
    day.tomorrow()
        .unwrap()
        .to_zoned_datetime(stockholm())
        .unwrap()
        .timestamp()
}

#[tokio::test]
async fn a_ccpa_request_is_due_on_the_gdpr_month_when_that_is_earlier() {
    let backend = DsrBackend::start().await;
    let address = unique_address("ccpa");
    let (_, verification, status) = verified_with_status(
        &backend,
        json!({"type": "restriction", "email": address, "jurisdiction": "ccpa"}),
    )
    .await;
    assert_eq!(status["jurisdiction"], "ccpa");
    let laws = statutes(received_at(&status));
    // A month is never longer than 45 days: the GDPR's date wins.
    assert!(laws.gdpr < laws.ccpa);
    assert_eq!(due_on(&status), laws.gdpr, "{status}");
    let due_at: Timestamp = status["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due_at, end_of(laws.gdpr), "{status}");

    // CCPA §7021(a): the verification mail says when to expect an answer.
    let promise = format!("We will answer by {} at the latest", laws.gdpr);
    assert!(verification.text.contains(&promise), "{}", verification.text);
    let promise = format!("We will answer by <strong>{}</strong> at the latest", laws.gdpr);
    assert!(verification.html.contains(&promise), "{}", verification.html);
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn a_ccpa_type_defaults_to_ccpa_and_is_still_due_on_the_gdpr_month() {
    let backend = DsrBackend::start().await;
    let address = unique_address("ccpa-know");
    let (_, verification, status) =
        verified_with_status(&backend, json!({"type": "ccpa_know", "email": address})).await;
    assert_eq!(status["jurisdiction"], "ccpa");
    let laws = statutes(received_at(&status));
    assert_eq!(due_on(&status), laws.gdpr.min(laws.ccpa), "{status}");
    assert!(verification
        .text
        .contains(&format!("We will answer by {} at the latest", laws.gdpr)));
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn a_nevada_request_is_accepted_and_due_on_the_earliest_of_gdpr_and_nevada() {
    let backend = DsrBackend::start().await;
    let address = unique_address("nevada");
    let (_, verification, status) = verified_with_status(
        &backend,
        json!({"type": "restriction", "email": address, "jurisdiction": "nevada"}),
    )
    .await;
    assert_eq!(status["jurisdiction"], "nevada");
    let laws = statutes(received_at(&status));
    assert_eq!(due_on(&status), laws.gdpr.min(laws.nevada), "{status}");
    assert!(verification
        .text
        .contains(&format!("We will answer by {} at the latest", due_on(&status))));

    // The team's queue shows the same date.
    let entry = backend
        .queue("?status=awaiting_team")
        .await
        .into_iter()
        .find(|entry| entry["request_id"] == status["request_id"])
        .expect("the request in the queue");
    assert_eq!(
        (entry["jurisdiction"].as_str(), due_on(&entry)),
        (Some("nevada"), due_on(&status))
    );
    backend.stop(&[&address]).await;
}

#[tokio::test]
async fn an_unknown_jurisdiction_is_a_400_naming_the_field() {
    let backend = DsrBackend::start().await;
    for jurisdiction in [json!("california"), json!("NEVADA"), json!(""), json!(7)] {
        let address = unique_address("unknown");
        let answer = backend
            .submit(json!({"type": "access", "email": address, "jurisdiction": jurisdiction}))
            .await;
        assert_eq!(answer.status, 400, "{jurisdiction}: {}", answer.body);
        let (_, field) = answer.error();
        assert_eq!(
            field.as_deref(),
            Some("jurisdiction"),
            "{jurisdiction}: {}",
            answer.body
        );
        assert!(!answer.body.contains(&address), "no address in the error");
        assert!(mails_to(&address).await.is_empty(), "nothing mailed");
    }
    backend.stop(&[]).await;
}

/// A GDPR extension adds two months to the first due date, not three to the
/// receipt: received on 31 January, due 28 February (29 in a leap year),
/// extended to 28 (29) April, not 30 April. The request is made through the
/// API, then its record is dated to the next 31 January (so that the
/// extension is decided before that first due date whatever today is).
#[tokio::test]
async fn a_gdpr_extension_through_the_admin_api_lands_two_months_after_the_first_due_date() {
    let backend = DsrBackend::start().await;
    let address = unique_address("extend");
    let (id, _, _) = verified_with_status(
        &backend,
        json!({"type": "restriction", "email": address, "jurisdiction": "gdpr"}),
    )
    .await;

    let tz = stockholm();
    let today = Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let mut year = today.year();
    if today >= jiff::civil::date(year, 1, 31) {
        year += 1;
    }
    let received = jiff::civil::date(year, 1, 31);
    let first_due = jiff::civil::date(year, 2, 1).last_of_month(); // 28 or 29 February
    let extended_due = jiff::civil::date(year, 4, first_due.day()); // + two months
    let store = backend.store().await;
    let mut record = store.get(&request_key(&id)).await.unwrap().expect("the request");
    let old_due = record.attributes["due_on"].as_str().unwrap().to_owned();
    let received_at = received
        .at(12, 0, 0, 0)
        .to_zoned_datetime(tz.clone())
        .unwrap()
        .timestamp();
    record.attributes.insert("received_at".into(), json!(received_at));
    record.attributes.insert("received_on".into(), json!(received));
    record.attributes.insert("due_on".into(), json!(first_due));
    store
        .write(vec![
            Write::Put {
                record: record.clone(),
                precondition: Precondition::Version(record.version),
            },
            Write::Delete {
                key: privacy_domain::dsr::queue_key(old_due.parse().unwrap(), &id),
                precondition: Precondition::Present,
            },
        ])
        .await
        .unwrap();
    let status = backend.status(&address).await;
    assert_eq!(due_on(&status), first_due, "{status}");

    let extended = backend
        .admin(
            "POST /admin/dsr/{request_id}/extend",
            &format!("/admin/dsr/{id}/extend"),
            Some(json!({"reason": "Several systems to search"})),
        )
        .await;
    assert_eq!(extended.status, 200, "{}", extended.body);
    assert_eq!(due_on(&extended.json()), extended_due, "{}", extended.body);
    let status = backend.status(&address).await;
    assert_eq!(
        (due_on(&status), status["extended"].as_bool()),
        (extended_due, Some(true))
    );
    let due_at: Timestamp = status["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due_at, end_of(extended_due));
    let notice = mails_to(&address).await.pop().unwrap();
    assert!(
        notice.text.contains(&format!("The new deadline is {extended_due}")),
        "{}",
        notice.text
    );
    backend.stop(&[&address]).await;
}
