//! A built Lambda function running against the emulator, with the checks
//! every black-box test makes on the way out.

use serde_json::Value;

use crate::events::HttpResponse;
use crate::lambda_emulator::{workspace_binary, Invocation, LambdaProcess};

pub struct Function {
    process: LambdaProcess,
}

impl Function {
    /// Starts the binary `name` with the emulator environment plus `extra`.
    /// Each invocation gets the deadline the function has in AWS: its
    /// `Timeout` in template.yaml.
    pub async fn start(name: &str, table: &str, extra: &[(&str, &str)]) -> Self {
        let mut env = crate::aws::lambda_environment(table);
        env.push(("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned()));
        env.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        let process = LambdaProcess::start(&workspace_binary(name), &pairs).await;
        Self {
            process: match crate::template::timeout_of(name) {
                Some(timeout) => process.with_timeout(timeout),
                None => process,
            },
        }
    }

    /// Gives each invocation `timeout` (the deadline the function sees), as
    /// the function's `Timeout` in template.yaml does in AWS.
    pub fn with_timeout(self, timeout: std::time::Duration) -> Self {
        Self {
            process: self.process.with_timeout(timeout),
        }
    }

    pub async fn invoke(&self, event: Value) -> Invocation {
        self.process.invoke(event).await
    }

    /// [`Function::invoke`] with the function's own timeout (its deadline).
    pub async fn invoke_with_timeout(&self, event: Value, timeout: std::time::Duration) -> Invocation {
        self.process.invoke_with_timeout(event, timeout).await
    }

    /// Invokes with an API Gateway event and expects an HTTP response.
    pub async fn http(&self, event: Value) -> HttpResponse {
        match self.process.invoke(event).await {
            Invocation::Response(response) => HttpResponse::from_gateway(&response),
            other => panic!(
                "expected an HTTP response, got {other:?}\nlogs:\n{}",
                self.process.logs()
            ),
        }
    }

    /// The AWS calls of the latest invocation, from the `aws calls` line the
    /// function logs after each (privacy-lambda's `report_calls`).
    pub fn last_aws_calls(&self) -> AwsCalls {
        let logs = self.process.logs();
        logs.lines()
            .rev()
            .find_map(AwsCalls::parse)
            .unwrap_or_else(|| panic!("no `aws calls` line in the logs:\n{logs}"))
    }

    /// Stops the function and asserts that none of `personal_data` appears in
    /// anything it logged. Returns the logs.
    pub async fn stop_checking_logs(self, personal_data: &[&str]) -> String {
        let logs = self.process.stop().await;
        for value in personal_data {
            assert!(
                !logs.contains(value),
                "personal data `{value}` reached the logs:\n{logs}"
            );
        }
        logs
    }
}

/// What one invocation called (the `aws calls` log line).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsCalls {
    pub calls: u64,
    pub capacity_units: f64,
    /// `Service.Operation`, comma-separated, in order.
    pub operations: String,
}

impl AwsCalls {
    /// The line's fields, from the JSON log format the tests use.
    pub fn parse(line: &str) -> Option<Self> {
        if !line.contains("aws calls") {
            return None;
        }
        let value: Value = serde_json::from_str(line.trim()).ok()?;
        let fields = &value["fields"];
        (fields["message"] == "aws calls").then(|| Self {
            calls: fields["aws_calls"].as_u64().unwrap_or_default(),
            capacity_units: fields["capacity_units"].as_f64().unwrap_or_default(),
            operations: fields["operations"].as_str().unwrap_or_default().to_owned(),
        })
    }
}
