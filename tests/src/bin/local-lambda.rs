//! `infra/invoke` and `infra/emulator seed`: runs one function of
//! template.yaml locally like `sam local invoke`, or seeds the emulator.
//!
//! ```text
//! local-lambda invoke <LogicalId> <event.json | ->
//! local-lambda seed
//! local-lambda env <LogicalId>     # the resolved environment, as JSON
//! ```
//!
//! `invoke` prints the function's response JSON on stdout and, on stderr,
//! START, the function's log lines, END and the REPORT line (duration, peak
//! memory). Exit codes: 0 the function answered, 1 it failed (error, crash,
//! timeout), 2 a problem before it ran (usage, unknown function, unreadable or
//! non-JSON event, no emulator), always with one line on stderr.

use std::process::ExitCode;

use privacy_tests::aws::workspace_root;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::local::{self, LocalError};
use serde_json::json;

const USAGE: &str = "usage: infra/invoke <LogicalId> <event.json | ->  |  infra/emulator seed";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("local-lambda: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match arguments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["invoke", logical_id, event] => runtime.block_on(invoke(logical_id, event)),
        ["seed"] => runtime.block_on(seed()),
        ["env", logical_id] => local::function(&workspace_root(), logical_id).map(|function| {
            println!("{}", json!(function.environment));
            ExitCode::SUCCESS
        }),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "{}: {error}",
                if arguments[0] == "seed" {
                    "infra/emulator"
                } else {
                    "infra/invoke"
                }
            );
            ExitCode::from(2)
        }
    }
}

async fn invoke(logical_id: &str, event: &str) -> Result<ExitCode, LocalError> {
    let root = workspace_root();
    let function = local::function(&root, logical_id)?;
    let event = local::read_event(event)?;
    let endpoint = local::endpoint()?;
    local::check_emulator(&endpoint)?;
    let binary = local::built_binary(&root, &function.binary)?;
    let report = local::invoke(&function, &binary, &endpoint, event).await?;

    let request_id = report.request_id.as_deref().unwrap_or("-");
    eprintln!("START RequestId: {request_id} Version: $LATEST");
    eprint!("{}", report.logs);
    let (response, code) = match &report.invocation {
        Invocation::Response(response) => (response.clone(), 0),
        Invocation::Error {
            error_type,
            error_message,
        } => (json!({"errorType": error_type, "errorMessage": error_message}), 1),
        Invocation::InitError(message) => (json!({"errorType": "Runtime.InitError", "errorMessage": message}), 1),
        Invocation::Exited(status) => (
            json!({"errorType": "Runtime.ExitError", "errorMessage": format!("the process exited ({status:?}) before answering")}),
            1,
        ),
        Invocation::TimedOut => (
            json!({"errorType": "Sandbox.Timedout", "errorMessage": format!("Task timed out after {} seconds", function.timeout.as_secs())}),
            1,
        ),
    };
    eprintln!("END RequestId: {request_id}");
    eprintln!("{}", report.line());
    println!("{response}");
    Ok(ExitCode::from(code))
}

async fn seed() -> Result<ExitCode, LocalError> {
    let endpoint = local::endpoint()?;
    for line in local::seed(&workspace_root(), &endpoint).await? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
