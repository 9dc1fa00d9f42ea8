//! template.yaml and the handlers agree on every route and function.

use std::collections::BTreeSet;

use privacy_http::ROUTES;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::Deployment;
use privacy_tests::{aws, template};
use serde_json::json;

/// What the retention sweep and the newsletter planner need besides the
/// shared test environment.
const SWEEP_ENVIRONMENT: &[(&str, &str)] = &[
    ("PRIVACY_TEAM_ADDRESS", "privacy-team@example.com"),
    ("ALLOW_NOW_OVERRIDE", "true"),
    (
        "RECIPIENT_QUEUE_URL",
        "http://127.0.0.1:1/123456789012/recipients-never-used",
    ),
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

/// `sam build` runs `cargo lambda build` in each function's `CodeUri`: from
/// the crate's own directory cargo builds that package alone, with only its
/// features. From the repository root (`CodeUri: .`) it would build every
/// member's features into every binary: each function would link every route
/// and AWS client.
#[test]
fn every_function_is_built_alone_from_its_own_crate_directory() {
    for function in template::functions() {
        let directory = format!("functions/{}", function.binary);
        assert_eq!(
            function.code_uri, directory,
            "{} is built from its own crate's directory",
            function.logical_id
        );
        let manifest = aws::workspace_root().join(&directory).join("Cargo.toml");
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
// tests/tests/api/invoke_cli.rs (through `infra/invoke`, the table in events/README.md).

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

/// Each function is given, and may read, only the secrets it loads: the
/// pepper where it meets addresses, the token key where it signs or checks
/// tokens, links or cursors (`Needs` in each function's `main.rs`).
#[test]
fn each_function_may_read_only_the_secrets_it_needs() {
    const PEPPER: &str = "SubjectPepperParameterName";
    const TOKEN_KEY: &str = "TokenKeyParameterName";
    // The systems of record's endpoints and secrets: the function that hands
    // tasks over and the one that checks the systems' signed answers.
    const SYSTEMS: &str = "SystemsParameterName";
    let expected: &[(&str, &[&str])] = &[
        ("consent-capture", &[]),
        ("newsletter-subscribe", &[PEPPER, TOKEN_KEY]),
        ("newsletter-unsubscribe", &[TOKEN_KEY]),
        ("ses-feedback", &[PEPPER]),
        ("mail-outbox", &[PEPPER, TOKEN_KEY, SYSTEMS]),
        ("dsr-intake", &[PEPPER, TOKEN_KEY, SYSTEMS]),
        ("dsr-admin", &[PEPPER, TOKEN_KEY]),
        ("retention-sweep", &[PEPPER]),
        ("newsletter-planner", &[]),
        ("newsletter-sender", &[TOKEN_KEY]),
    ];
    let template = template::template();
    for function in template::functions() {
        let properties = &template["Resources"][function.logical_id.as_str()]["Properties"];
        let variables = properties["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        let configured: BTreeSet<&str> = [
            ("SUBJECT_PEPPER_PARAMETER", PEPPER),
            ("TOKEN_KEY_PARAMETER", TOKEN_KEY),
            ("SYSTEMS_PARAMETER", SYSTEMS),
        ]
        .into_iter()
        .filter(|(variable, _)| variables.contains_key(*variable))
        .map(|(_, parameter)| parameter)
        .collect();
        let statements: Vec<String> = properties["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| policy["Statement"].as_sequence().cloned().unwrap_or_default())
            .flat_map(conditional_branches)
            .filter(|statement| serde_yaml::to_string(&statement["Action"]).unwrap().contains("ssm:"))
            .map(|statement| serde_yaml::to_string(&statement).unwrap())
            .collect();
        let readable: BTreeSet<&str> = [PEPPER, TOKEN_KEY, SYSTEMS]
            .into_iter()
            .filter(|parameter| statements.iter().any(|statement| statement.contains(parameter)))
            .collect();
        let (_, needed) = expected
            .iter()
            .find(|(binary, _)| *binary == function.binary)
            .unwrap_or_else(|| panic!("{} is in the table of secrets", function.binary));
        let needed: BTreeSet<&str> = needed.iter().copied().collect();
        assert_eq!(
            configured, needed,
            "{}: the secrets named in its environment",
            function.binary
        );
        assert_eq!(readable, needed, "{}: the secrets its role may read", function.binary);
    }
}

/// A statement as it is, or both branches of a `!If [condition, then, else]`
/// (a statement granted only under a condition still names what it grants).
fn conditional_branches(statement: serde_yaml::Value) -> Vec<serde_yaml::Value> {
    match &statement {
        serde_yaml::Value::Tagged(tagged) if tagged.tag == "If" => tagged
            .value
            .as_sequence()
            .map(|branches| {
                branches
                    .iter()
                    .skip(1)
                    .filter(|branch| branch.is_mapping())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![statement],
    }
}
