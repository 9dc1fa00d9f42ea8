//! template.yaml, the handlers and the sample events agree on every route.

use std::collections::BTreeSet;

use privacy_http::ROUTES;
use privacy_tests::events::{http_event, sample, sample_names, HttpResponse};
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::Deployment;
use privacy_tests::{aws, template};
use serde_json::json;

/// What the retention sweep needs besides the shared test environment.
const SWEEP_ENVIRONMENT: &[(&str, &str)] = &[
    ("PRIVACY_TEAM_ADDRESS", "privacy-team@example.com"),
    ("ALLOW_NOW_OVERRIDE", "true"),
];

#[test]
fn the_template_deploys_exactly_the_routes_the_handlers_serve() {
    let deployed: BTreeSet<(String, String, String)> = template::functions()
        .into_iter()
        .flat_map(|function| {
            let binary = function.binary.clone();
            function
                .routes
                .into_iter()
                .map(move |(method, path)| (method, path, binary.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|route| {
            (
                route.method.to_owned(),
                route.path.to_owned(),
                route.area.function().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        deployed, served,
        "(method, path, function) in template.yaml vs privacy_http::ROUTES"
    );
}

#[test]
fn every_function_binary_exists_in_the_workspace() {
    for function in template::functions() {
        let manifest = aws::workspace_root()
            .join("functions")
            .join(&function.binary)
            .join("Cargo.toml");
        assert!(
            manifest.exists(),
            "{} builds {} from {}",
            function.logical_id,
            function.binary,
            manifest.display()
        );
    }
}

/// What each sample event gets from its function, on a table where the
/// sample consent id (`3f8a7c2e-…`) has been recorded: an HTTP status, or
/// (for SNS and schedule events) a successful invocation.
fn expected_status(name: &str) -> Option<u16> {
    match name {
        "consent-post" | "consent-post-gpc" => Some(201),
        "consent-get" | "consent-receipts-get" | "consent-delete" => Some(200),
        "newsletter-subscribe" => Some(202),
        "newsletter-subscribe-form" => Some(303),
        // A token that was never issued.
        "newsletter-confirm" => Some(400),
        // A genuine token for the test keys (tests/src/newsletter.rs).
        "newsletter-unsubscribe-get" | "newsletter-unsubscribe-post" => Some(200),
        "dsr-submit" => Some(202),
        "dsr-submit-form" => Some(303),
        // Tokens that were never issued.
        "dsr-verify" => Some(400),
        "dsr-status" => Some(404),
        "privacy-register" => Some(200),
        // With the JWT authoriser's claims, on a table without that request or hold.
        "admin-dsr-queue" => Some(200),
        "admin-dsr-extend"
        | "admin-dsr-complete"
        | "admin-dsr-reject"
        | "admin-dsr-lift-restriction"
        | "admin-holds-delete" => Some(404),
        "admin-holds-post" | "admin-newsletter-subscribers" => Some(201),
        "ses-bounce-permanent" | "ses-bounce-transient" | "ses-complaint" | "mail-outbox-schedule" => None,
        // The sweep's schedule, and its test-only "now" (ALLOW_NOW_OVERRIDE is set below).
        "retention-sweep-schedule" | "retention-sweep-now" => None,
        other => panic!("events/{other}.json has no expected outcome in this test: add it"),
    }
}

/// The binary a sample event is for: by route for HTTP events, by event
/// type (`SNS`, `Schedule`) for the others, as template.yaml wires them.
fn function_for(event: &serde_json::Value) -> String {
    let functions = template::functions();
    let by_event_type = |kind: &str| {
        functions
            .iter()
            .find(|function| function.other_events.iter().any(|event| event == kind))
            .unwrap_or_else(|| panic!("no function in template.yaml has a {kind} event"))
            .binary
            .clone()
    };
    if let Some(route_key) = event["routeKey"].as_str() {
        return functions
            .iter()
            .find(|function| {
                function
                    .routes
                    .iter()
                    .any(|(method, path)| format!("{method} {path}") == route_key)
            })
            .unwrap_or_else(|| panic!("template.yaml does not route {route_key}"))
            .binary
            .clone();
    }
    if event["Records"][0]["EventSource"] == "aws:sns" {
        return by_event_type("SNS");
    }
    if event["detail-type"] == "Scheduled Event" {
        // The rule's ARN names the function it belongs to (SAM: <Function><Event>).
        let rule = event["resources"][0].as_str().unwrap_or_default();
        return functions
            .iter()
            .find(|function| {
                function.other_events.iter().any(|kind| kind == "Schedule") && rule.contains(&function.logical_id)
            })
            .map(|function| function.binary.clone())
            .unwrap_or_else(|| by_event_type("Schedule"));
    }
    if event.get("now").is_some() {
        return "retention-sweep".to_owned();
    }
    panic!("an event of unknown shape: {event}")
}

#[tokio::test]
async fn every_sample_event_passes_through_its_built_function() {
    let deployment = Deployment::new().await;
    let consent = deployment.start("consent-capture", &[]).await;
    let seed = json!({"consent_id": "3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05", "policy_version": "2026-01",
        "categories": {"analytics": false, "marketing": false}, "source": "banner"});
    assert_eq!(
        consent
            .http(http_event("POST /consent", "/consent", Some(&seed.to_string())))
            .await
            .status,
        201
    );
    consent.stop_checking_logs(&[]).await;

    let names = sample_names();
    assert!(names.len() >= 26, "a sample per route and trigger: {names:?}");
    for name in names {
        let event = sample(&name);
        let function = deployment.start(&function_for(&event), SWEEP_ENVIRONMENT).await;
        match (expected_status(&name), function.invoke(event).await) {
            (Some(status), Invocation::Response(response)) => {
                let response = HttpResponse::from_gateway(&response);
                assert_eq!(response.status, status, "events/{name}.json: {}", response.body);
            }
            (None, Invocation::Response(_)) => {}
            (_, other) => panic!("events/{name}.json: {other:?}"),
        }
        function
            .stop_checking_logs(&["203.0.113.77", "ada@example.com", "grace@example.com"])
            .await;
    }
}

#[tokio::test]
async fn a_malformed_event_is_a_lambda_error_for_every_function() {
    let deployment = Deployment::new().await;
    for function in template::functions() {
        let process = deployment.start(&function.binary, SWEEP_ENVIRONMENT).await;
        match process.invoke(json!(["not", "an", "event"])).await {
            Invocation::Error { .. } => {}
            other => panic!("{}: a malformed event gave {other:?}", function.binary),
        }
        process.stop_checking_logs(&[]).await;
    }
}
