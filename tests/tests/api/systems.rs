//! Requests across the systems of record (SPEC 8) through the built
//! binaries, against the emulator: the systems configuration, tasks, signed
//! hand-over and signed answers.

use privacy_tests::events::http_event;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::Deployment;
use serde_json::json;

const SECRET: &str = "0123456789abcdef0123456789abcdef-systems";

/// A systems configuration for the standard register: the Service by event,
/// the two webhook systems at `webhook` (a loopback receiver).
fn systems_config(webhook: &str) -> String {
    json!({"systems": {
        "service": {"secret": SECRET},
        "support_desk": {"secret": SECRET, "url": format!("{webhook}/support")},
        "crm": {"secret": SECRET, "url": format!("{webhook}/crm")},
    }})
    .to_string()
}

/// Starts `binary` with `extra` and expects it to refuse to start; returns its logs.
async fn refused_start(binary: &str, extra: &[(&str, &str)]) -> String {
    let deployment = Deployment::new().await;
    let function = deployment.start(binary, extra).await;
    let outcome = function
        .invoke(http_event("GET /privacy/register", "/privacy/register", None))
        .await;
    assert_eq!(outcome, Invocation::Exited(Some(1)), "{binary} started");
    function.stop_checking_logs(&[SECRET]).await
}

#[tokio::test]
async fn an_unknown_system_in_the_configuration_stops_the_function_at_start_naming_the_variable() {
    let config = systems_config("https://hooks.example").replace("\"crm\"", "\"payroll\"");
    for binary in ["dsr-intake", "mail-outbox"] {
        let logs = refused_start(binary, &[("SYSTEMS_CONFIG", &config)]).await;
        let line = logs
            .lines()
            .find(|line| line.contains("Error:"))
            .unwrap_or_else(|| panic!("{binary}: no error line in {logs}"));
        assert!(
            line.contains("SYSTEMS_CONFIG") && line.contains("`payroll` is not in the register"),
            "{binary}: {line}"
        );
    }
}

#[tokio::test]
async fn a_webhook_system_without_url_or_malformed_json_in_the_parameter_is_named() {
    let ssm = aws_sdk_ssm::Client::new(&privacy_tests::aws::sdk_config().await);
    let cases = [
        (
            systems_config("https://hooks.example").replace(",\"url\":\"https://hooks.example/crm\"", ""),
            "`crm` has no url",
        ),
        ("{\"systems\": [".to_owned(), "not valid JSON"),
    ];
    for (value, expected) in cases {
        let name = format!("/privacy/test/systems-{}", uuid::Uuid::new_v4().simple());
        ssm.put_parameter()
            .name(&name)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(&value)
            .send()
            .await
            .unwrap();
        let logs = refused_start("dsr-intake", &[("SYSTEMS_PARAMETER", &name)]).await;
        let line = logs.lines().find(|line| line.contains("Error:")).unwrap_or_default();
        assert!(
            line.contains("SYSTEMS_PARAMETER") && line.contains(expected),
            "{expected}: {logs}"
        );
    }
}
