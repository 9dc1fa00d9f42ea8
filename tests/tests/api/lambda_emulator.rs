//! Tests of the Lambda Runtime API emulator, driving `echo-lambda`
//! (tests/src/bin/echo-lambda.rs), a real `lambda_runtime` 1.5 function.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use privacy_tests::lambda_emulator::{workspace_binary, Invocation, LambdaProcess};
use serde_json::json;

fn echo_lambda() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_echo-lambda"))
}

#[tokio::test]
async fn two_events_round_trip_through_the_same_process() {
    let lambda = LambdaProcess::start(echo_lambda(), &[]).await;

    let first = json!({"hello": "world", "nested": {"n": [1, 2, 3]}});
    assert_eq!(
        lambda.invoke(first.clone()).await,
        Invocation::Response(first),
        "{}",
        lambda.logs()
    );
    let second = json!("a bare string event");
    assert_eq!(
        lambda.invoke(second.clone()).await,
        Invocation::Response(second),
        "{}",
        lambda.logs()
    );

    let pid = lambda.pid().expect("pid of a freshly spawned process");
    let logs = lambda.stop().await;
    assert!(logs.contains("echo-lambda: starting"), "stdout is captured: {logs}");
    assert_eq!(
        logs.matches("echo-lambda: handling request").count(),
        2,
        "both events went through the same process (pid {pid}): {logs}"
    );
    assert!(
        logs.contains("[lambda-emulator] process exited: signal: 9"),
        "stop kills: {logs}"
    );
}

#[tokio::test]
async fn the_function_sees_lambda_headers_and_environment() {
    let lambda = LambdaProcess::start(echo_lambda(), &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")])
        .await
        .with_timeout(Duration::from_secs(7));
    let before_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;

    let Invocation::Response(answer) = lambda.invoke(json!({"context": true})).await else {
        panic!("expected a response; logs:\n{}", lambda.logs());
    };
    let context = &answer["context"];

    let request_id = context["request_id"].as_str().expect("request_id");
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_eq!(
        context["invoked_function_arn"],
        "arn:aws:lambda:eu-north-1:123456789012:function:echo-lambda"
    );
    let deadline = context["deadline"].as_u64().expect("deadline");
    assert!(
        (before_ms + 6_000..=before_ms + 8_000).contains(&deadline),
        "deadline {deadline} should be about now ({before_ms}) + 7 s"
    );
    assert!(context["xray_trace_id"]
        .as_str()
        .expect("trace id")
        .starts_with("Root=1-"));

    let env = &context["env_config"];
    assert_eq!(env["function_name"], "echo-lambda");
    assert_eq!(env["memory"], 512, "env entries override the defaults");
    assert_eq!(env["version"], "$LATEST");
    assert_eq!(env["log_group"], "/aws/lambda/echo-lambda");
    assert!(env["log_stream"].as_str().unwrap().contains("[$LATEST]"));
}

#[tokio::test]
async fn an_err_from_the_handler_is_an_error_response_and_the_process_lives_on() {
    let lambda = LambdaProcess::start(echo_lambda(), &[]).await;

    let outcome = lambda.invoke(json!({"fail": true})).await;
    assert_eq!(
        outcome,
        Invocation::Error {
            // lambda_runtime's `From<Error> for Diagnostic` uses the Rust type name
            // of a *reference* to the boxed error as errorType (note the `&`).
            error_type: "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"
                .to_owned(),
            error_message: "echo-lambda was asked to fail".to_owned(),
        },
        "{}",
        lambda.logs()
    );

    let after = json!({"still": "alive"});
    assert_eq!(lambda.invoke(after.clone()).await, Invocation::Response(after));
}

#[tokio::test]
async fn a_panic_in_the_handler_becomes_an_error_response_in_unwinding_builds() {
    let lambda = LambdaProcess::start(echo_lambda(), &[]).await;

    let outcome = lambda.invoke(json!({"panic": true})).await;
    // lambda_runtime wraps the handler in a catch_unwind layer: with panic=unwind
    // (test/dev builds) the panic is reported as an invocation error and the
    // process keeps serving. (With the workspace's release profile, panic=abort,
    // the process would abort instead: `Exited(None)`.)
    let Invocation::Error {
        error_type,
        error_message,
    } = outcome
    else {
        panic!("expected an error response, got {outcome:?}; logs:\n{}", lambda.logs());
    };
    assert_eq!(error_message, "Lambda panicked: echo-lambda was asked to panic");
    // The type name of a reference to the panic payload box (note the `&`).
    assert_eq!(
        error_type,
        "&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>"
    );

    let after = json!({"after": "panic"});
    assert_eq!(lambda.invoke(after.clone()).await, Invocation::Response(after));

    let logs = lambda.stop().await;
    assert!(
        logs.contains("panicked at"),
        "the default panic hook printed to stderr: {logs}"
    );
    assert!(logs.contains("echo-lambda was asked to panic"), "{logs}");
}

#[tokio::test]
async fn a_binary_that_exits_at_start_gives_exited() {
    let lambda = LambdaProcess::start(Path::new("/bin/false"), &[]).await;
    assert_eq!(lambda.invoke(json!({})).await, Invocation::Exited(Some(1)));
    // Once exited, every further invocation says so immediately.
    assert_eq!(lambda.invoke(json!({})).await, Invocation::Exited(Some(1)));
}

#[tokio::test]
async fn a_lambda_runtime_binary_with_bad_configuration_panics_at_start() {
    // lambda_runtime reads its configuration with `expect`: a bad variable is a
    // panic (exit code 101) before any request, not a `/init/error`.
    let lambda = LambdaProcess::start(echo_lambda(), &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots")]).await;
    assert_eq!(lambda.invoke(json!({})).await, Invocation::Exited(Some(101)));
    let logs = lambda.logs();
    assert!(
        logs.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE env var is not <i32>"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_init_error_is_reported() {
    // lambda_runtime only posts `/init/error` for SnapStart failures. With
    // SnapStart on, it calls `/runtime/restore/next`, which the emulator does not
    // implement (404): lambda_runtime reports that as an init error and exits.
    let lambda = LambdaProcess::start(echo_lambda(), &[("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")]).await;
    let outcome = lambda.invoke(json!({})).await;
    let Invocation::InitError(message) = outcome else {
        panic!("expected an init error, got {outcome:?}; logs:\n{}", lambda.logs());
    };
    assert!(
        message.contains("/restore/next returned a non-success status: 404"),
        "{message}"
    );
    let logs = lambda.stop().await;
    assert!(
        logs.contains("404 for unsupported request GET /2018-06-01/runtime/restore/next"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_slow_invocation_times_out() {
    let lambda = LambdaProcess::start(echo_lambda(), &[]).await;
    let started = std::time::Instant::now();
    let outcome = lambda
        .invoke_with_timeout(json!({"sleep_ms": 5_000}), Duration::from_millis(300))
        .await;
    assert_eq!(outcome, Invocation::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(3), "bounded wait");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dropping_the_handle_kills_the_process() {
    let lambda = LambdaProcess::start(echo_lambda(), &[]).await;
    let event = json!({"ready": true});
    assert_eq!(lambda.invoke(event.clone()).await, Invocation::Response(event));
    let pid = lambda.pid().expect("pid");
    let proc_dir = format!("/proc/{pid}");
    assert!(Path::new(&proc_dir).exists());

    drop(lambda);
    // The supervisor task kills and reaps the process in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while Path::new(&proc_dir).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} still alive after drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn workspace_binary_finds_binaries_next_to_the_test_executable() {
    let found = workspace_binary("echo-lambda");
    assert_eq!(
        found.canonicalize().unwrap(),
        echo_lambda().canonicalize().unwrap(),
        "workspace_binary and CARGO_BIN_EXE agree"
    );
}

#[test]
#[should_panic(expected = "run `cargo build --workspace --bins` first")]
fn workspace_binary_explains_a_missing_binary() {
    workspace_binary("no-such-lambda-binary");
}
