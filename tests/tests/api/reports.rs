//! The privacy team's reports through the built binaries, against the
//! DynamoDB/SES emulator: requests filed and verified through dsr-intake,
//! decided through dsr-admin, then the request report (JSON and CSV), the
//! consent report and the proof of consent, each behind the admin scope.

use privacy_tests::events::{http_event, link_button, with_header, with_jwt, with_jwt_claims, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, unique_address, Deployment};
use serde_json::{json, Value};

const VERIFY: &str = "https://privacy.example.com/dsr/verify";

struct Backend {
    deployment: Deployment,
    intake: Function,
    admin: Function,
    consent: Function,
}

impl Backend {
    async fn start() -> Self {
        let deployment = Deployment::new().await;
        let team = unique_address("team");
        let extra = [("PRIVACY_TEAM_ADDRESS", team.as_str())];
        let intake = deployment.start("dsr-intake", &extra).await;
        let admin = deployment.start("dsr-admin", &extra).await;
        let consent = deployment.start("consent-capture", &[]).await;
        Self {
            deployment,
            intake,
            admin,
            consent,
        }
    }

    async fn submit(&self, body: Value) -> Value {
        let answer = self
            .intake
            .http(http_event("POST /dsr", "/dsr", Some(&body.to_string())))
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        answer.json()
    }

    /// Files a request and follows its verification link; the request id.
    async fn verified(&self, kind: &str, address: &str) -> String {
        self.verified_body(json!({"type": kind, "email": address})).await
    }

    async fn verified_body(&self, body: Value) -> String {
        let address = body["email"].as_str().unwrap().to_owned();
        let address = address.as_str();
        privacy_tests::aws::forget_link_mails(&self.deployment.table, address).await;
        let answer = self.submit(body).await;
        self.deployment.drain_outbox(&[], &[address]).await;
        let mails = mails_to(address).await;
        let token = mails.last().unwrap().token(VERIFY).expect("a verification link");
        let page = self.intake.http(link_button("/dsr/verify", &token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        answer["request_id"].as_str().unwrap().to_owned()
    }

    async fn admin(&self, route_key: &str, path: &str, body: Option<Value>) -> HttpResponse {
        let body = body.map(|body| body.to_string());
        self.admin
            .http(with_jwt(http_event(route_key, path, body.as_deref()), "team-member-1"))
            .await
    }

    async fn report(&self, query: &str, accept: &str) -> HttpResponse {
        let event = http_event(
            "GET /admin/reports/requests",
            &format!("/admin/reports/requests?{query}"),
            None,
        );
        self.admin
            .http(with_header(with_jwt(event, "team-member-1"), "accept", Some(accept)))
            .await
    }
}

fn this_year() -> i16 {
    // The controller's calendar (Europe/Stockholm) decides the year of receipt.
    let stockholm = jiff::tz::TimeZone::get("Europe/Stockholm").unwrap();
    jiff::Timestamp::now().to_zoned_datetime(stockholm).year()
}

fn row<'r>(report: &'r Value, kind: &str) -> &'r Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["type"] == kind))
        .unwrap_or_else(|| panic!("a row for {kind}: {report}"))
}

#[tokio::test]
async fn the_request_report_counts_seeded_requests_as_json_and_csv() {
    let backend = Backend::start().await;
    let mut addresses = Vec::new();
    let mut restrictions = Vec::new();
    for n in 0..4 {
        let address = unique_address(&format!("restrict{n}"));
        restrictions.push(backend.verified("restriction", &address).await);
        addresses.push(address);
    }
    let reject = |id: &str| format!("/admin/dsr/{id}/reject");
    let route = "POST /admin/dsr/{request_id}/reject";
    for (id, body) in [
        (
            &restrictions[0],
            json!({"reason": "Asked four times this month.", "reason_code": "excessive"}),
        ),
        (
            &restrictions[1],
            json!({"reason": "The identity could not be confirmed.", "reason_code": "identity_not_verified"}),
        ),
        (&restrictions[2], json!({"reason": "No grounds."})),
    ] {
        let answer = backend.admin(route, &reject(id), Some(body)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let completed = backend
        .admin(
            "POST /admin/dsr/{request_id}/complete",
            &format!("/admin/dsr/{}/complete", restrictions[3]),
            Some(json!({"note": "Restricted everywhere."})),
        )
        .await;
    assert_eq!(completed.status, 200, "{}", completed.body);
    // An unknown reason code is refused, naming the field; nothing changes.
    // An objection to processing waits for the team's weighing: open.
    let objector = unique_address("objector");
    let open = backend
        .verified_body(json!({"type": "objection", "scope": "processing", "email": objector}))
        .await;
    let refused = backend
        .admin(
            route,
            &reject(&open),
            Some(json!({"reason": "x", "reason_code": "unverified"})),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.error().1.as_deref(), Some("reason_code"));
    // Acted on at once, and answered at verification.
    let opt_out = unique_address("optout");
    backend.submit(json!({"type": "ccpa_opt_out", "email": opt_out})).await;
    let reader = unique_address("reader");
    backend.verified("access", &reader).await;
    // Filed and never verified: open.
    let silent = unique_address("silent");
    backend.submit(json!({"type": "erasure", "email": silent})).await;

    let year = this_year();
    let answer = backend.report(&format!("year={year}"), "application/json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let report = answer.json();
    assert_eq!(report["year"], year);
    assert_eq!(report["rows"].as_array().map(Vec::len), Some(11), "one row per type");
    let restriction = row(&report, "restriction");
    assert_eq!(restriction["received"], 4, "{report}");
    assert_eq!(restriction["complied_in_whole"], 1);
    assert_eq!(restriction["complied_in_part"], 0);
    assert_eq!(restriction["denied"], 3);
    assert_eq!(
        restriction["denied_by_reason"],
        json!({"identity_not_verified": 1, "manifestly_unfounded": 0, "excessive": 1,
               "legal_exemption": 0, "other": 1, "unverified": 0})
    );
    // Everything was answered the day it arrived.
    assert_eq!(restriction["responded"], 4);
    assert_eq!(restriction["median_days"], 0.0);
    assert_eq!(restriction["mean_days"], 0.0);
    let objection = row(&report, "objection");
    assert_eq!(
        (objection["received"].as_u64(), objection["open"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(objection["median_days"], Value::Null);
    assert_eq!(row(&report, "ccpa_opt_out")["complied_in_whole"], 1);
    assert_eq!(row(&report, "access")["complied_in_whole"], 1);
    let erasure = row(&report, "erasure");
    assert_eq!(
        (erasure["received"].as_u64(), erasure["open"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(row(&report, "portability")["received"], 0);

    let csv = backend.report(&format!("year={year}"), "text/csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.header("content-type")
            .is_some_and(|value| value.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let lines: Vec<&str> = csv.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "type,received,complied_in_whole,complied_in_part,denied,denied_identity_not_verified,\
         denied_manifestly_unfounded,denied_excessive,denied_legal_exemption,denied_other,\
         denied_unverified,open,responded,median_days,mean_days"
    );
    assert_eq!(lines.len(), 13, "header, 11 types, and the final CRLF: {}", csv.body);
    assert_eq!(lines[12], "");
    assert!(
        lines.contains(&"restriction,4,1,0,3,1,0,1,0,1,0,0,4,0,0"),
        "{}",
        csv.body
    );
    assert!(lines.contains(&"portability,0,0,0,0,0,0,0,0,0,0,0,0,,"), "{}", csv.body);

    // Another year: every type, nothing received.
    let last_year = backend.report(&format!("year={}", year - 1), "application/json").await;
    assert_eq!(last_year.status, 200);
    assert!(last_year.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["received"] == 0));

    // No address in the report or its entries.
    let entries: Vec<String> =
        privacy_tests::aws::scan_text(&privacy_tests::aws::dynamodb().await, &backend.deployment.table)
            .await
            .into_iter()
            .filter(|item| item.contains("DSR_REPORT#"))
            .collect();
    assert_eq!(entries.len(), 8, "one entry per request: {entries:#?}");
    let mut everyone: Vec<&str> = addresses.iter().map(String::as_str).collect();
    everyone.extend([objector.as_str(), opt_out.as_str(), reader.as_str(), silent.as_str()]);
    for address in &everyone {
        assert!(!answer.body.contains(address) && !csv.body.contains(address));
        assert!(entries.iter().all(|entry| !entry.contains(address)), "{address}");
    }
    backend.intake.stop_checking_logs(&everyone).await;
    backend.admin.stop_checking_logs(&everyone).await;
    backend.consent.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn the_reports_answer_only_the_privacy_team_and_name_a_bad_year() {
    let backend = Backend::start().await;
    // A consent decision to prove and count.
    let consent_id = uuid::Uuid::new_v4().to_string();
    let body = json!({"consent_id": consent_id, "policy_version": "2026-01", "source": "banner",
        "categories": {"analytics": true, "marketing": false}})
    .to_string();
    let recorded = backend
        .consent
        .http(http_event("POST /consent", "/consent", Some(&body)))
        .await;
    assert_eq!(recorded.status, 201, "{}", recorded.body);

    let proof_route = "GET /admin/consent/{consent_id}/proof";
    let proof_path = format!("/admin/consent/{consent_id}/proof");
    let proof = backend.admin(proof_route, &proof_path, None).await;
    assert_eq!(proof.status, 200, "{}", proof.body);
    assert_eq!(proof.json()["verification"]["intact"], true, "{}", proof.body);
    let consent_report = backend
        .admin("GET /admin/reports/consent", "/admin/reports/consent", None)
        .await;
    assert_eq!(consent_report.status, 200, "{}", consent_report.body);
    assert!(consent_report.json()["rows"].is_array());

    let year = this_year();
    for bad in [
        "1999".to_owned(),
        "26".to_owned(),
        "year".to_owned(),
        format!("{}", year + 2),
        String::new(),
    ] {
        let answer = backend.report(&format!("year={bad}"), "application/json").await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
        assert_eq!(answer.error().1.as_deref(), Some("year"), "{bad}");
    }
    let csv_refused = backend.report("year=20x6", "text/csv").await;
    assert_eq!(csv_refused.status, 400, "a bad year is JSON whatever the Accept");
    assert_eq!(csv_refused.error().1.as_deref(), Some("year"));

    // 401 without credentials, 403 with a token that lacks the scope.
    let report_path = format!("/admin/reports/requests?year={year}");
    let routes = [
        ("GET /admin/reports/requests", report_path.as_str()),
        ("GET /admin/reports/consent", "/admin/reports/consent"),
        (proof_route, proof_path.as_str()),
    ];
    for (route_key, path) in routes {
        let anonymous = backend.admin.http(http_event(route_key, path, None)).await;
        assert_eq!(anonymous.status, 401, "{route_key}: {}", anonymous.body);
        let unscoped = with_jwt_claims(
            http_event(route_key, path, None),
            json!({"sub": "someone", "iss": "https://auth.example.com/", "client_id": "privacy-admin",
                   "token_use": "access", "scope": "openid"}),
        );
        let forbidden = backend.admin.http(unscoped).await;
        assert_eq!(forbidden.status, 403, "{route_key}: {}", forbidden.body);
        assert!(!forbidden.body.contains("rows") && !forbidden.body.contains("receipts"));
    }
    backend.intake.stop_checking_logs(&[]).await;
    backend.admin.stop_checking_logs(&[]).await;
    backend.consent.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn the_proof_of_consent_for_a_person_proves_each_history_linked_to_their_address_and_no_other() {
    let backend = Backend::start().await;
    let record = |consent_id: &str| {
        let body = json!({"consent_id": consent_id, "policy_version": "2026-01", "source": "banner",
            "categories": {"analytics": true, "marketing": false}})
        .to_string();
        backend
            .consent
            .http(http_event("POST /consent", "/consent", Some(&body)))
    };
    // Ada's history, linked to her when she verifies a request with its id,
    // and a history nobody linked.
    let (hers, unlinked) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    for id in [&hers, &unlinked] {
        assert_eq!(record(id).await.status, 201);
    }
    let ada = unique_address("ada");
    backend
        .verified_body(json!({"type": "access", "email": ada, "consent_id": hers}))
        .await;

    let route = "POST /admin/consent/proofs";
    let path = "/admin/consent/proofs";
    let proofs = backend.admin(route, path, Some(json!({"email": ada}))).await;
    assert_eq!(proofs.status, 200, "{}", proofs.body);
    let proofs = proofs.json()["proofs"].as_array().cloned().unwrap();
    assert_eq!(proofs.len(), 1, "{proofs:#?}");
    assert_eq!(proofs[0]["consent_id"], hers.as_str());
    assert_eq!(proofs[0]["verification"]["intact"], true);
    assert_eq!(proofs[0]["receipts"].as_array().unwrap().len(), 1);
    assert!(!proofs[0].to_string().contains(&ada), "a proof holds no address");

    // Someone with no linked history: an empty list, not an error.
    let nobody = backend
        .admin(route, path, Some(json!({"email": unique_address("nobody")})))
        .await;
    assert_eq!((nobody.status, nobody.json()["proofs"].clone()), (200, json!([])));

    // Bad input names the field; credentials are required.
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": "not an address"}), "email"),
        (json!({"email": ada, "consent_id": hers}), "consent_id"),
    ] {
        let refused = backend.admin(route, path, Some(body.clone())).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert_eq!(refused.error().1.as_deref(), Some(field), "{body}");
    }
    let body = json!({"email": ada}).to_string();
    let anonymous = backend.admin.http(http_event(route, path, Some(&body))).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert!(!anonymous.body.contains("receipts"));

    backend.intake.stop_checking_logs(&[&ada]).await;
    backend.admin.stop_checking_logs(&[&ada]).await;
    backend.consent.stop_checking_logs(&[]).await;
}

/// A report entry as the request's record would have written it, stored directly.
#[allow(clippy::too_many_arguments)]
fn seeded_entry(
    received: &str,
    request_type: privacy_domain::dsr::RequestType,
    status: privacy_domain::dsr::RequestStatus,
    outcome: Option<privacy_domain::dsr::report_entry::Outcome>,
    reason: Option<privacy_domain::dsr::report_entry::DenialReason>,
    responded: Option<&str>,
    due: &str,
) -> privacy_domain::store::Record {
    use privacy_domain::dsr::report_entry::{report_key, ReportEntry};
    let received_on: jiff::civil::Date = received.parse().unwrap();
    let responded_on: Option<jiff::civil::Date> = responded.map(|day| day.parse().unwrap());
    let id = uuid::Uuid::new_v4().to_string();
    let entry = ReportEntry {
        request_id: id.clone(),
        request_type,
        jurisdiction: privacy_domain::dsr::deadline::Jurisdiction::Gdpr,
        received_on,
        status,
        outcome,
        reason_code: reason,
        days_to_respond: responded_on.map(|on| (on - received_on).get_days()),
        due_on: Some(due.parse().unwrap()),
        responded_on,
    };
    privacy_domain::store::Record::with_body(
        report_key(received_on, &id),
        privacy_domain::register::entity::DSR_REPORT_ENTRY,
        &entry,
    )
}

#[tokio::test]
async fn the_monthly_report_counts_outcomes_per_month_and_the_on_time_rate_as_computed_by_hand() {
    use privacy_domain::dsr::report_entry::{DenialReason, Outcome};
    use privacy_domain::dsr::{RequestStatus, RequestType};
    use privacy_domain::store::{Precondition, RecordStore, Write};
    let backend = Backend::start().await;
    let store =
        privacy_aws::dynamodb::DynamoRecordStore::new(privacy_tests::aws::dynamodb().await, &backend.deployment.table);
    let seeded = vec![
        // July 2024: answered in whole, on time.
        seeded_entry(
            "2024-07-10",
            RequestType::Access,
            RequestStatus::Completed,
            Some(Outcome::Whole),
            None,
            Some("2024-08-01"),
            "2024-08-10",
        ),
        // Received before the window (May 2024), answered in it, late.
        seeded_entry(
            "2024-05-20",
            RequestType::Erasure,
            RequestStatus::Completed,
            Some(Outcome::Whole),
            None,
            Some("2024-07-02"),
            "2024-06-20",
        ),
        // March 2025: in part and late; denied and on time.
        seeded_entry(
            "2025-03-05",
            RequestType::Erasure,
            RequestStatus::Completed,
            Some(Outcome::Part),
            None,
            Some("2025-04-10"),
            "2025-04-05",
        ),
        seeded_entry(
            "2025-03-20",
            RequestType::Restriction,
            RequestStatus::Rejected,
            Some(Outcome::Denied),
            Some(DenialReason::Excessive),
            Some("2025-03-22"),
            "2025-04-20",
        ),
        // May 2025: expired unverified (denied, never responded to).
        seeded_entry(
            "2025-05-01",
            RequestType::Access,
            RequestStatus::Expired,
            Some(Outcome::Denied),
            Some(DenialReason::Unverified),
            None,
            "2025-06-01",
        ),
        // June 2025: still open.
        seeded_entry(
            "2025-06-02",
            RequestType::Access,
            RequestStatus::InProgress,
            None,
            None,
            None,
            "2025-07-02",
        ),
    ];
    let writes = seeded
        .into_iter()
        .map(|record| Write::Put {
            record,
            precondition: Precondition::Absent,
        })
        .collect();
    store.write(writes).await.expect("seed the entries");

    let monthly = |query: &str| {
        let event = http_event(
            "GET /admin/reports/requests/monthly",
            &format!("/admin/reports/requests/monthly{query}"),
            None,
        );
        backend.admin.http(with_jwt(event, "team-member-1"))
    };
    let answer = monthly("?through=2025-06").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let report = answer.json();
    assert_eq!(
        (report["from"].as_str(), report["through"].as_str()),
        (Some("2024-07"), Some("2025-06"))
    );
    let months = report["months"].as_array().expect("months");
    assert_eq!(months.len(), 12);
    let counts = |month: &str| {
        let row = months
            .iter()
            .find(|row| row["month"] == month)
            .unwrap_or_else(|| panic!("{month}: {report}"));
        ["received", "complied_in_whole", "complied_in_part", "denied", "open"]
            .map(|field| row[field].as_u64().unwrap())
    };
    // By hand: July 2024 one whole; March 2025 one in part, one denied;
    // May 2025 one denied (unverified); June 2025 one open; the rest nothing.
    assert_eq!(counts("2024-07"), [1, 1, 0, 0, 0]);
    assert_eq!(counts("2025-03"), [2, 0, 1, 1, 0]);
    assert_eq!(counts("2025-05"), [1, 0, 0, 1, 0]);
    assert_eq!(counts("2025-06"), [1, 0, 0, 0, 1]);
    assert_eq!(counts("2024-12"), [0, 0, 0, 0, 0]);
    // Responded to in the window: 2024-08-01 (on time), 2024-07-02 (late),
    // 2025-04-10 (late), 2025-03-22 (on time): 2 of 4.
    assert_eq!(
        report["on_time"],
        json!({"responded": 4, "on_time": 2, "rate": 0.5, "undated": 0})
    );

    // Through July 2025 the window starts in August 2024: the answer of
    // 2024-07-02 leaves it, 2024-08-01 stays: 2 of 3.
    let later = monthly("?through=2025-07").await.json();
    assert_eq!(later["on_time"]["responded"], 3, "{later}");
    assert_eq!(later["on_time"]["rate"], 0.667, "{later}");

    // A request rejected today counts in this month, on time.
    let address = unique_address("monthly");
    let id = backend.verified("restriction", &address).await;
    let rejected = backend
        .admin(
            "POST /admin/dsr/{request_id}/reject",
            &format!("/admin/dsr/{id}/reject"),
            Some(json!({"reason": "No grounds."})),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    let now = monthly("").await.json();
    let this_month = now["months"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (this_month["received"].as_u64(), this_month["denied"].as_u64()),
        (Some(1), Some(1)),
        "{now}"
    );
    assert_eq!(
        (now["on_time"]["responded"].as_u64(), now["on_time"]["on_time"].as_u64()),
        (Some(1), Some(1)),
        "{now}"
    );

    // A bad or future month is refused naming `through`; without the team's token, 401.
    for bad in ["?through=2025-13", "?through=2999-01", "?through=June"] {
        let refused = monthly(bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(refused.json()["error"]["field"], "through", "{bad}");
    }
    let anonymous = backend
        .admin
        .http(http_event(
            "GET /admin/reports/requests/monthly",
            "/admin/reports/requests/monthly",
            None,
        ))
        .await;
    assert_eq!(anonymous.status, 401);
    backend.intake.stop_checking_logs(&[&address]).await;
    backend.admin.stop_checking_logs(&[&address]).await;
    backend.consent.stop_checking_logs(&[]).await;
}
