//! template.yaml and the handlers agree on every route and function.

use std::collections::BTreeSet;

use privacy_http::ROUTES;
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

// Every sample event through its function, with the outcome it must give:
// tests/tests/invoke_cli.rs (through `infra/invoke`, the table in events/README.md).

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
