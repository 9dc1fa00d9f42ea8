//! The consent-capture binary, fed real API Gateway v2 events, against the
//! DynamoDB emulator: every row of SPEC 3.1 and every error path.

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{Timestamp, ToSpan};
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::consent::{verify_chain, ChainBreak, ConsentId};
use privacy_domain::testing::World;
use privacy_tests::aws;
use privacy_tests::events::{http_event, sample, with_header, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::lambda_emulator::Invocation;
use serde_json::{json, Value};

/// What the sample events carry that must never reach a log.
const SAMPLE_IP: &str = "203.0.113.77";
const SAMPLE_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0";

async fn start() -> (Function, String) {
    let client = aws::dynamodb().await;
    let table = aws::create_table(&client).await;
    (
        Function::start(
            "consent-capture",
            &table,
            &[("ALLOWED_ORIGINS", "https://www.example.com")],
        )
        .await,
        table,
    )
}

fn post(body: &Value) -> Value {
    http_event("POST /consent", "/consent", Some(&body.to_string()))
}

fn decision(analytics: bool, marketing: bool) -> Value {
    json!({"policy_version": "2026-01", "categories": {"analytics": analytics, "marketing": marketing}, "source": "banner"})
}

fn get(id: &str) -> Value {
    http_event("GET /consent/{consent_id}", &format!("/consent/{id}"), None)
}

fn receipts(id: &str) -> Value {
    http_event(
        "GET /consent/{consent_id}/receipts",
        &format!("/consent/{id}/receipts"),
        None,
    )
}

fn delete(id: &str) -> Value {
    http_event("DELETE /consent/{consent_id}", &format!("/consent/{id}"), None)
}

fn timestamp(value: &Value) -> Timestamp {
    value.as_str().expect("a timestamp string").parse().expect("RFC 3339")
}

#[tokio::test]
async fn the_sample_post_records_consent_readable_in_one_get() {
    let (function, _) = start().await;
    let created = function.http(sample("consent-post")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let id = body["consent_id"].as_str().unwrap().to_owned();
    assert!(ConsentId::parse("consent_id", &id).is_ok());
    assert_eq!(created.header("location"), Some(format!("/consent/{id}").as_str()));
    assert_eq!(
        created.header("access-control-allow-origin"),
        Some("https://www.example.com")
    );
    assert_eq!(
        body["categories"],
        json!({"necessary": true, "analytics": true, "marketing": false})
    );
    assert_eq!(body["policy_version"], "2026-01");
    assert_eq!(body["gpc"], false);
    let recorded_at = timestamp(&body["recorded_at"]);
    let renew_after = timestamp(&body["renew_after"]);
    let expected_renewal = recorded_at
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .checked_add(12.months())
        .unwrap()
        .timestamp();
    assert_eq!(renew_after, expected_renewal);
    assert!(body["receipt_id"].as_str().is_some_and(|r| r.len() == 36));

    let read = function.http(get(&id)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), body, "GET answers the latest state in the same shape");
    let logs = function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
    assert!(
        logs.contains("request served"),
        "the check above read real logs:\n{logs}"
    );
}

#[tokio::test]
async fn global_privacy_control_forces_marketing_off() {
    let (function, _) = start().await;
    let created = function.http(sample("consent-post-gpc")).await;
    assert_eq!(created.status, 201);
    let body = created.json();
    assert_eq!(
        body["categories"]["marketing"], false,
        "Sec-GPC: 1 overrides the body's marketing: true"
    );
    assert_eq!(body["gpc"], true);
    let receipts = function
        .http(receipts(body["consent_id"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(receipts["receipts"][0]["gpc"], true);
    function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
}

#[tokio::test]
async fn changes_and_withdrawal_append_chained_receipts_oldest_first() {
    let (function, _) = start().await;
    let first = function.http(post(&decision(true, true))).await.json();
    let id = first["consent_id"].as_str().unwrap().to_owned();
    let mut change = decision(true, false);
    change["consent_id"] = json!(id);
    change["source"] = json!("settings");
    let second = function.http(post(&change)).await;
    assert_eq!(second.status, 201);
    assert_eq!(
        second.json()["consent_id"],
        id.as_str(),
        "a known consent id is updated, not replaced"
    );

    let withdrawn = function.http(delete(&id)).await;
    assert_eq!(withdrawn.status, 200);
    assert_eq!(
        withdrawn.json()["categories"],
        json!({"necessary": true, "analytics": false, "marketing": false})
    );
    assert_eq!(function.http(get(&id)).await.json()["categories"]["analytics"], false);

    let listed = function.http(receipts(&id)).await;
    assert_eq!(listed.status, 200);
    let receipts = listed.json()["receipts"].as_array().unwrap().clone();
    assert_eq!(receipts.len(), 3);
    let sequences: Vec<u64> = receipts.iter().map(|r| r["sequence"].as_u64().unwrap()).collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert_eq!(receipts[0]["previous_receipt_sha256"], Value::Null);
    assert_eq!(receipts[1]["previous_receipt_sha256"], receipts[0]["receipt_sha256"]);
    assert_eq!(receipts[2]["previous_receipt_sha256"], receipts[1]["receipt_sha256"]);
    assert_eq!(receipts[1]["source"], "settings");
    assert_eq!(receipts[2]["action"], "withdrawn");
    for receipt in &receipts {
        assert_eq!(receipt["network"], "203.0.113.0/24");
        assert_eq!(receipt["user_agent_family"], "Firefox");
        assert_eq!(receipt["policy_version"], "2026-01");
    }
    function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
}

#[tokio::test]
async fn bad_decisions_get_a_4xx_naming_the_field() {
    let (function, _) = start().await;
    let oversized = json!({"policy_version": "2026-01", "categories": {"analytics": true, "marketing": true},
        "source": "banner", "padding": "x".repeat(17 * 1024)});
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "unknown category",
            post(
                &json!({"policy_version": "2026-01", "categories": {"analytics": true, "marketing": false, "tracking": true}, "source": "banner"}),
            ),
            400,
            "unknown_category",
            Some("categories"),
        ),
        (
            "missing policy version",
            post(&json!({"categories": {"analytics": true, "marketing": false}, "source": "banner"})),
            400,
            "missing_field",
            Some("policy_version"),
        ),
        (
            "necessary refused",
            post(
                &json!({"policy_version": "2026-01", "categories": {"necessary": false, "analytics": true, "marketing": false}, "source": "banner"}),
            ),
            400,
            "necessary_required",
            Some("categories.necessary"),
        ),
        (
            "a category without a choice",
            post(&json!({"policy_version": "2026-01", "categories": {"analytics": true}, "source": "banner"})),
            400,
            "missing_field",
            Some("categories.marketing"),
        ),
        (
            "a choice that is not a boolean",
            post(
                &json!({"policy_version": "2026-01", "categories": {"analytics": "yes", "marketing": false}, "source": "banner"}),
            ),
            400,
            "invalid_field",
            Some("categories.analytics"),
        ),
        (
            "missing categories",
            post(&json!({"policy_version": "2026-01", "source": "banner"})),
            400,
            "missing_field",
            Some("categories"),
        ),
        (
            "unknown source",
            post(
                &json!({"policy_version": "2026-01", "categories": {"analytics": true, "marketing": false}, "source": "popup"}),
            ),
            400,
            "invalid_field",
            Some("source"),
        ),
        (
            "invalid consent id",
            post(
                &json!({"consent_id": "not-a-uuid", "policy_version": "2026-01", "categories": {"analytics": true, "marketing": false}, "source": "banner"}),
            ),
            400,
            "invalid_consent_id",
            Some("consent_id"),
        ),
        (
            "unknown field",
            post(
                &json!({"policy_version": "2026-01", "categories": {"analytics": true, "marketing": false}, "source": "banner", "email": "x"}),
            ),
            400,
            "unknown_field",
            Some("email"),
        ),
        (
            "malformed JSON",
            http_event("POST /consent", "/consent", Some("{\"policy_version\": ")),
            400,
            "malformed_json",
            None,
        ),
        (
            "a JSON array",
            http_event("POST /consent", "/consent", Some("[]")),
            400,
            "malformed_json",
            None,
        ),
        ("oversized body", post(&oversized), 413, "payload_too_large", None),
        (
            "wrong content type",
            with_header(post(&decision(true, true)), "content-type", Some("text/plain")),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "an origin that is not the website",
            with_header(post(&decision(true, true)), "origin", Some("https://evil.example.net")),
            403,
            "origin_not_allowed",
            None,
        ),
        (
            "unknown consent id",
            get("3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05"),
            404,
            "consent_not_found",
            None,
        ),
        (
            "receipts of an unknown consent id",
            receipts("3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05"),
            404,
            "consent_not_found",
            None,
        ),
        (
            "withdrawing an unknown consent id",
            delete("3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05"),
            404,
            "consent_not_found",
            None,
        ),
        (
            "a path id that is not a UUID",
            get("12345"),
            400,
            "invalid_consent_id",
            Some("consent_id"),
        ),
    ];
    for (case, event, status, code, field) in cases {
        let response = function.http(event).await;
        assert_eq!(response.status, status, "{case}: {}", response.body);
        assert_eq!(response.header("content-type"), Some("application/json"), "{case}");
        assert_eq!(response.error(), (code.to_owned(), field.map(str::to_owned)), "{case}");
    }
    function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
}

#[tokio::test]
async fn the_stored_receipt_keeps_no_full_ip_and_links_to_the_previous_one() {
    let (function, table) = start().await;
    let first = function.http(sample("consent-post")).await.json();
    let id = first["consent_id"].as_str().unwrap().to_owned();
    let mut change = decision(false, false);
    change["consent_id"] = json!(id);
    function.http(post(&change)).await;

    let client = aws::dynamodb().await;
    let items = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :receipt)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CONSENT#{id}")),
        )
        .expression_attribute_values(
            ":receipt",
            aws_sdk_dynamodb::types::AttributeValue::S("RECEIPT#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 2);
    let text = |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str| {
        item[name].as_s().unwrap().clone()
    };
    assert_eq!(text(&items[0], "network"), "203.0.113.0/24");
    assert_eq!(
        text(&items[1], "previous_receipt_sha256"),
        text(&items[0], "receipt_sha256")
    );
    assert!(items[0].contains_key("expires_at"), "every receipt carries its TTL");
    for item in aws::scan_text(&client, &table).await {
        assert!(!item.contains(SAMPLE_IP), "a full IP address was stored: {item}");
        assert!(!item.contains("Gecko/20100101"), "a full user agent was stored: {item}");
    }
    function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
}

/// Records three decisions under one consent id through the function; returns the table and the id.
async fn three_receipts() -> (String, String) {
    let (function, table) = start().await;
    let first = function.http(post(&decision(true, false))).await.json();
    let id = first["consent_id"].as_str().unwrap().to_owned();
    for (analytics, marketing) in [(true, true), (false, false)] {
        let mut change = decision(analytics, marketing);
        change["consent_id"] = json!(id);
        assert_eq!(function.http(post(&change)).await.status, 201);
    }
    function.stop_checking_logs(&[SAMPLE_IP]).await;
    (table, id)
}

/// Reads the state and the receipts back through the DynamoDB adapter and verifies the chain.
async fn verify_stored_chain(table: &str, id: &str) -> Result<(), ChainBreak> {
    let store = DynamoRecordStore::new(aws::dynamodb().await, table);
    let world = World::on(store, Timestamp::now());
    let ledger = world.ports().consent_ledger();
    let id = ConsentId::parse("consent_id", id).unwrap();
    verify_chain(
        &ledger.current(id).await.unwrap(),
        ledger.checkpoint(id).await.unwrap().as_ref(),
        &ledger.receipts(id).await.unwrap(),
    )
}

fn receipt_key(id: &str, sequence: u64) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([
        ("PK".to_owned(), AttributeValue::S(format!("CONSENT#{id}"))),
        ("SK".to_owned(), AttributeValue::S(format!("RECEIPT#{sequence:010}"))),
    ])
}

#[tokio::test]
async fn altering_a_stored_receipt_is_detected() {
    let (table, id) = three_receipts().await;
    assert_eq!(verify_stored_chain(&table, &id).await, Ok(()));
    // Someone turns the first receipt's refusal of marketing into consent.
    aws::dynamodb()
        .await
        .update_item()
        .table_name(&table)
        .set_key(Some(receipt_key(&id, 1)))
        .update_expression("SET categories.marketing = :yes")
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_stored_chain(&table, &id).await,
        Err(ChainBreak::Altered { sequence: 1 })
    );
}

#[tokio::test]
async fn removing_a_stored_receipt_is_detected() {
    let (table, id) = three_receipts().await;
    let client = aws::dynamodb().await;
    client
        .delete_item()
        .table_name(&table)
        .set_key(Some(receipt_key(&id, 2)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_stored_chain(&table, &id).await,
        Err(ChainBreak::Missing { sequence: 2 })
    );
    client
        .delete_item()
        .table_name(&table)
        .set_key(Some(receipt_key(&id, 3)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_stored_chain(&table, &id).await,
        Err(ChainBreak::Missing { sequence: 2 }),
        "removing the newest receipts is found through the state"
    );
}

#[tokio::test]
async fn a_malformed_event_is_a_lambda_error_and_the_function_keeps_serving() {
    let (function, _) = start().await;
    match function.invoke(json!({"hello": "not an API Gateway event"})).await {
        Invocation::Error { error_message, .. } => assert!(!error_message.is_empty()),
        other => panic!("expected a Lambda error, got {other:?}"),
    }
    assert_eq!(function.http(sample("consent-post")).await.status, 201);
    function.stop_checking_logs(&[SAMPLE_IP]).await;
}

#[tokio::test]
async fn a_store_failure_is_a_500_that_reveals_nothing() {
    let function = Function::start(
        "consent-capture",
        "no-such-table",
        &[("ALLOWED_ORIGINS", "https://www.example.com")],
    )
    .await;
    let response: HttpResponse = function.http(sample("consent-post")).await;
    assert_eq!(response.status, 500);
    assert_eq!(response.error(), ("internal_error".to_owned(), None));
    assert!(!response.body.contains("no-such-table") && !response.body.contains("ResourceNotFound"));
    let logs = function.stop_checking_logs(&[SAMPLE_IP, SAMPLE_USER_AGENT]).await;
    assert!(
        logs.contains("ResourceNotFoundException"),
        "the cause is logged for operators:\n{logs}"
    );
}
