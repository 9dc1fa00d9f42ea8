//! template.yaml, the handlers and the sample events agree on every route.

use std::collections::BTreeSet;

use privacy_http::ROUTES;
use privacy_tests::events::{http_event, sample, sample_names};
use privacy_tests::function::Function;
use privacy_tests::{aws, template};
use serde_json::json;

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

/// The status each sample event gets from its function, on a table where the
/// sample consent id (`3f8a7c2e-…`) has been recorded.
fn expected_status(name: &str) -> u16 {
    match name {
        "consent-post" | "consent-post-gpc" => 201,
        "consent-get" | "consent-receipts-get" | "consent-delete" => 200,
        other => panic!("events/{other}.json has no expected status in this test: add it"),
    }
}

#[tokio::test]
async fn every_sample_event_passes_through_its_built_function() {
    let routes: Vec<(String, String, String)> = template::functions()
        .into_iter()
        .flat_map(|function| {
            let binary = function.binary.clone();
            function
                .routes
                .into_iter()
                .map(move |(method, path)| (format!("{method} {path}"), binary.clone(), path))
        })
        .collect();
    let client = aws::dynamodb().await;
    let table = aws::create_table(&client).await;
    let consent = Function::start(
        "consent-capture",
        &table,
        &[("ALLOWED_ORIGINS", "https://www.example.com")],
    )
    .await;
    let seed = json!({"consent_id": "3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05", "policy_version": "2026-01",
        "categories": {"analytics": false, "marketing": false}, "source": "banner"});
    assert_eq!(
        consent
            .http(http_event(
                "POST /consent",
                "/consent",
                Some(&seed.to_string())
            ))
            .await
            .status,
        201
    );
    consent.stop_checking_logs(&[]).await;

    let names = sample_names();
    assert!(!names.is_empty());
    for name in names {
        let event = sample(&name);
        let route_key = event["routeKey"]
            .as_str()
            .expect("a sample event has a routeKey");
        let (_, binary, _) = routes
            .iter()
            .find(|(key, _, _)| key == route_key)
            .unwrap_or_else(|| {
                panic!("events/{name}.json is for {route_key}, which template.yaml does not route")
            });
        let function = Function::start(
            binary,
            &table,
            &[("ALLOWED_ORIGINS", "https://www.example.com")],
        )
        .await;
        let response = function.http(event).await;
        assert_eq!(
            response.status,
            expected_status(&name),
            "events/{name}.json: {}",
            response.body
        );
        function.stop_checking_logs(&["203.0.113.77"]).await;
    }
}
