//! A tiny `lambda_runtime` function used only to test the Lambda Runtime API
//! emulator (`privacy_tests::lambda_emulator`).
//!
//! - `{"fail": true}`: returns an `Err`, which the runtime reports as an invocation error.
//! - `{"panic": true}`: panics inside the handler.
//! - `{"sleep_ms": N}`: sleeps N ms, then echoes the event (to exercise timeouts).
//! - `{"context": true}`: returns `{"event": <event>, "context": <lambda_runtime::Context>}`
//!   so tests can check the headers and environment the runtime saw.
//! - anything else: returned unchanged.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    eprintln!("echo-lambda: handling request {}", context.request_id);

    if payload.get("panic") == Some(&Value::Bool(true)) {
        panic!("echo-lambda was asked to panic");
    }
    if payload.get("fail") == Some(&Value::Bool(true)) {
        return Err("echo-lambda was asked to fail".into());
    }
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if payload.get("context") == Some(&Value::Bool(true)) {
        return Ok(json!({ "event": payload, "context": context }));
    }
    Ok(payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    println!("echo-lambda: starting");
    lambda_runtime::run(service_fn(handler)).await
}
