//! A Lambda Runtime API emulator for black-box tests.
//!
//! [`LambdaProcess::start`] binds an HTTP/1.1 server on `127.0.0.1:0`, spawns a
//! Lambda binary (one built with the `lambda_runtime` crate, or any custom
//! runtime) with `AWS_LAMBDA_RUNTIME_API` pointing at that server, and lets the
//! test feed it events with [`LambdaProcess::invoke`]. No Docker, no AWS.
//!
//! Emulated endpoints (see
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>):
//!
//! - `GET  /2018-06-01/runtime/invocation/next` blocks until an event is queued.
//! - `POST /2018-06-01/runtime/invocation/{id}/response`
//! - `POST /2018-06-01/runtime/invocation/{id}/error`
//! - `POST /2018-06-01/runtime/init/error`
//!
//! Anything else (SnapStart's `/runtime/restore/next`, extensions, telemetry)
//! answers 404 and leaves a `[lambda-emulator]` note in the logs.
//!
//! Every wait is bounded: an invocation ends with the function's response or
//! error, an init error, the process exiting, or a timeout.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Region every emulated function runs in (unless `env` overrides `AWS_REGION`).
pub const REGION: &str = "eu-north-1";
/// Account id used in the invoked function ARN.
pub const ACCOUNT_ID: &str = "123456789012";
/// How long [`LambdaProcess::invoke`] waits, and the deadline handed to the function.
pub const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`LambdaProcess::stop`] waits for the killed process to be reaped.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for stdout/stderr to reach EOF once the process has exited
/// (a grandchild holding the pipes open must not hang the test).
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

const API_PREFIX: &str = "/2018-06-01/runtime/";

/// Variables of the parent environment passed through to the function. Everything
/// else is cleared so a developer's `AWS_*` credentials or profile never leak into
/// a test (a real Lambda sandbox does not inherit them either).
const PASSTHROUGH_ENV: &[&str] = &["PATH", "RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "RUST_LOG", "TMPDIR"];

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function posted `/invocation/{id}/response`. A body that is not JSON
    /// is returned as a JSON string.
    Response(Value),
    /// The function posted `/invocation/{id}/error`. A body that is not the usual
    /// `{"errorType","errorMessage"}` JSON yields an empty `error_type` and the raw
    /// body as `error_message`.
    Error { error_type: String, error_message: String },
    /// The function posted `/init/error` (now or earlier): `"{errorType}: {errorMessage}"`,
    /// or the raw body if it is not the usual JSON.
    InitError(String),
    /// The process exited before answering: its exit code, `None` if killed by a
    /// signal (e.g. SIGABRT from `panic = "abort"`). The logs say which signal.
    Exited(Option<i32>),
    /// Nothing happened within the timeout. The event may still be queued or being
    /// processed; as on AWS, the process should be considered unusable (stop it).
    TimedOut,
}

/// An event waiting for `/invocation/next`.
struct QueuedEvent {
    payload: Value,
    timeout: Duration,
    reply: oneshot::Sender<Invocation>,
}

/// State shared by the HTTP server and the [`LambdaProcess`] handle.
struct Shared {
    function_arn: String,
    /// Events queued by `invoke`, consumed by `/invocation/next`. The receiver is
    /// behind an async mutex because a `/next` request holds it while it waits.
    events_tx: mpsc::UnboundedSender<QueuedEvent>,
    events_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<QueuedEvent>>,
    /// Invocations handed to the function, by request id, awaiting its answer.
    in_flight: Mutex<HashMap<String, oneshot::Sender<Invocation>>>,
    /// Set once the function posts `/init/error`.
    init_error: watch::Sender<Option<String>>,
    /// stdout + stderr of the process, plus `[lambda-emulator]` notes.
    logs: Arc<Mutex<Vec<u8>>>,
    /// The request id of the last event handed to the function, and when.
    last_dispatch: Mutex<Option<(String, Instant)>>,
}

impl Shared {
    fn note(&self, message: &str) {
        append_log(&self.logs, format!("[lambda-emulator] {message}\n").as_bytes());
    }
}

/// A Lambda binary running against an emulated Runtime API.
///
/// The process is killed when this handle is dropped.
pub struct LambdaProcess {
    shared: Arc<Shared>,
    addr: SocketAddr,
    pid: Option<u32>,
    timeout: Duration,
    /// `None` until the process has exited (and its output has been drained);
    /// then `Some(exit code)`, the code being `None` for a signal.
    exit: watch::Receiver<Option<Option<i32>>>,
    /// Sending (or dropping) this asks the supervisor task to kill the process.
    kill: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    started_at: Instant,
}

impl LambdaProcess {
    /// Spawns `binary` with `env` plus `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT`,
    /// `AWS_LAMBDA_FUNCTION_NAME` (file name of the binary),
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`, `AWS_LAMBDA_FUNCTION_VERSION=$LATEST`,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_LAMBDA_LOG_GROUP_NAME`, `_HANDLER`,
    /// `AWS_REGION`/`AWS_DEFAULT_REGION=eu-north-1`; entries of `env` override these.
    /// The parent environment is not inherited, except `PATH`, `TMPDIR` and the
    /// `RUST_BACKTRACE`/`RUST_LOG` family.
    ///
    /// stdout and stderr are captured continuously; see [`LambdaProcess::logs`].
    ///
    /// Panics (it is a test helper) if the server cannot bind or the binary cannot
    /// be spawned; [`LambdaProcess::try_start`] returns those errors instead.
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> Self {
        Self::try_start(binary, env)
            .await
            .unwrap_or_else(|err| panic!("lambda emulator: cannot start {}: {err}", binary.display()))
    }

    /// [`LambdaProcess::start`], with binding the server or spawning the binary
    /// failing as an error.
    pub async fn try_start(binary: &Path, env: &[(&str, &str)]) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;

        let function_name = binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the binary path has no file name"))?;
        let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}");

        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn,
            events_tx,
            events_rx: tokio::sync::Mutex::new(events_rx),
            in_flight: Mutex::new(HashMap::new()),
            init_error: watch::Sender::new(None),
            logs: Arc::new(Mutex::new(Vec::new())),
            last_dispatch: Mutex::new(None),
        });
        // The listener is bound before the process starts, so its first connection
        // attempt is queued by the kernel even if the accept loop is not running yet.
        let server = tokio::spawn(serve(listener, shared.clone()));

        let mut command = Command::new(binary);
        command.env_clear();
        for name in PASSTHROUGH_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let log_stream = format!(
            "{}/[$LATEST]{}",
            jiff::Timestamp::now().strftime("%Y/%m/%d"),
            uuid::Uuid::new_v4().simple()
        );
        command
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}"))
            .env("_HANDLER", "bootstrap")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Backstop: if the supervisor task is dropped (e.g. the test's runtime
            // shuts down) the child is killed with it.
            .kill_on_drop(true);

        let started_at = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                server.abort();
                return Err(err);
            }
        };
        let pid = child.id();

        let stdout = child.stdout.take().expect("lambda emulator: child stdout is piped");
        let stderr = child.stderr.take().expect("lambda emulator: child stderr is piped");
        let readers = [
            tokio::spawn(capture(stdout, shared.logs.clone())),
            tokio::spawn(capture(stderr, shared.logs.clone())),
        ];

        // Supervisor: owns the child, waits for it to exit or for a kill request,
        // drains its output, then publishes the exit code. Publishing after the
        // drain means logs are complete once `invoke` reports `Exited`.
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(None);
        let supervisor_shared = shared.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                // Ok: `stop` asked; Err: the handle was dropped. Kill either way.
                _ = kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            for reader in readers {
                let _ = tokio::time::timeout(LOG_DRAIN_TIMEOUT, reader).await;
            }
            let code = match status {
                Ok(status) => {
                    supervisor_shared.note(&format!("process exited: {status}"));
                    status.code()
                }
                Err(err) => {
                    supervisor_shared.note(&format!("cannot wait for the process: {err}"));
                    None
                }
            };
            let _ = exit_tx.send(Some(code));
        });

        Ok(LambdaProcess {
            shared,
            addr,
            pid,
            timeout: DEFAULT_INVOKE_TIMEOUT,
            exit: exit_rx,
            kill: Some(kill_tx),
            server,
            started_at,
        })
    }

    /// Sets the timeout used by [`LambdaProcess::invoke`] (and so the deadline
    /// header the function sees). Defaults to [`DEFAULT_INVOKE_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Address of the emulated Runtime API (the value of `AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_api(&self) -> SocketAddr {
        self.addr
    }

    /// OS process id of the function, if it was available at spawn time.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// When the process was spawned.
    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// The request id of the last event handed to the function by
    /// `/invocation/next`, and when it was handed over.
    pub fn last_dispatch(&self) -> Option<(String, Instant)> {
        self.shared
            .last_dispatch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Queues one event and waits (default 10 s, see [`LambdaProcess::with_timeout`])
    /// for the response, error, init error, or the process exiting.
    pub async fn invoke(&self, event: Value) -> Invocation {
        self.invoke_with_timeout(event, self.timeout).await
    }

    /// [`LambdaProcess::invoke`] with an explicit timeout, which is also the
    /// function's deadline (`Lambda-Runtime-Deadline-Ms`).
    pub async fn invoke_with_timeout(&self, event: Value, timeout: Duration) -> Invocation {
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let queued = QueuedEvent {
            payload: event,
            timeout,
            reply: reply_tx,
        };
        if self.shared.events_tx.send(queued).is_err() {
            unreachable!("the receiver lives in `Shared`, which `self` keeps alive");
        }

        let mut init_error = self.shared.init_error.subscribe();
        let mut exit = self.exit.clone();
        // Biased: an answer that did arrive wins over the process exiting right
        // after it (the server records the answer before acknowledging it, so the
        // process cannot have exited "before" its answer was recorded).
        tokio::select! {
            biased;
            Ok(invocation) = &mut reply_rx => invocation,
            Ok(message) = async { init_error.wait_for(Option::is_some).await.map(|m| m.clone()) } => {
                Invocation::InitError(message.unwrap_or_default())
            }
            Ok(code) = async { exit.wait_for(Option::is_some).await.map(|c| *c) } => {
                Invocation::Exited(code.flatten())
            }
            () = tokio::time::sleep(timeout) => Invocation::TimedOut,
        }
    }

    /// Everything the process printed so far (stdout and stderr interleaved as
    /// read), plus `[lambda-emulator]` notes (exit status, unexpected requests).
    pub fn logs(&self) -> String {
        let logs = self.shared.logs.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&logs).into_owned()
    }

    /// Kills the process (if still running), waits for it to be reaped (bounded)
    /// and returns all logs.
    pub async fn stop(mut self) -> String {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        let mut exit = self.exit.clone();
        if tokio::time::timeout(STOP_TIMEOUT, exit.wait_for(Option::is_some))
            .await
            .is_err()
        {
            self.shared
                .note("process still not reaped after kill; giving up waiting");
        }
        self.logs()
        // Drop stops the server.
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        // Wakes the supervisor, which kills the process; `kill_on_drop` covers the
        // case where the runtime (and so the supervisor task) is gone first.
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        // Aborting the accept loop drops its `JoinSet`, aborting every connection.
        self.server.abort();
    }
}

/// Path of a workspace binary built by `cargo build` (`target/debug/NAME`).
///
/// Derived from the running test executable (`…/target/debug/deps/test-bin` →
/// `…/target/debug/NAME`), which also covers `CARGO_TARGET_DIR`, `--release` and
/// `--target`; falls back to `$CARGO_TARGET_DIR/<profile>/NAME`. Within the
/// `privacy-tests` package itself prefer `env!("CARGO_BIN_EXE_NAME")`, which makes
/// cargo build the binary.
///
/// Panics with instructions if the binary is missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().expect("cannot determine the path of the test executable");
    // Test executables live in <profile dir>/deps; examples in <profile dir>/examples.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable location: {}", exe.display()));

    let mut candidates = vec![profile_dir.join(&file_name)];
    if let (Some(target_dir), Some(profile)) = (std::env::var_os("CARGO_TARGET_DIR"), profile_dir.file_name()) {
        let target_dir = PathBuf::from(target_dir);
        // A relative CARGO_TARGET_DIR is relative to where cargo ran; assume the workspace root.
        let target_dir = if target_dir.is_relative() {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(target_dir)
        } else {
            target_dir
        };
        candidates.push(target_dir.join(profile).join(&file_name));
    }

    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            let looked_in: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            panic!(
                "workspace binary `{name}` not found (looked in {}): run `cargo build --workspace --bins` first",
                looked_in.join(", ")
            )
        })
}

/* ------------------------------------------------------------------------------------------- */

fn append_log(logs: &Mutex<Vec<u8>>, bytes: &[u8]) {
    logs.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(bytes);
}

/// Copies one output stream of the process into the shared log buffer until EOF.
async fn capture(mut stream: impl AsyncRead + Unpin, logs: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => append_log(&logs, &buf[..n]),
        }
    }
}

/// Accept loop. Each connection is served by hyper's HTTP/1 server (the runtime
/// client keeps connections alive). Connections live in a `JoinSet` owned by this
/// task, so aborting this task closes them all, including a pending `/next`.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                shared.note(&format!("accept failed: {err}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, request).await) }
            });
            // A connection error (e.g. the process was killed mid-request) only
            // concerns that connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = path.strip_prefix(API_PREFIX).unwrap_or("");

    match (&method, route.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next_invocation(shared).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = id.to_string();
            let body = read_body(request).await;
            let response = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            complete(shared, &id, Invocation::Response(response))
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = id.to_string();
            let (error_type, error_message) = parse_error(&read_body(request).await);
            complete(
                shared,
                &id,
                Invocation::Error {
                    error_type,
                    error_message,
                },
            )
        }
        (&Method::POST, ["init", "error"]) => {
            let (error_type, error_message) = parse_error(&read_body(request).await);
            let message = if error_type.is_empty() {
                error_message
            } else {
                format!("{error_type}: {error_message}")
            };
            shared.note(&format!("init error: {message}"));
            shared.init_error.send_replace(Some(message));
            accepted()
        }
        _ => {
            shared.note(&format!("404 for unsupported request {method} {path}"));
            json_response(
                StatusCode::NOT_FOUND,
                json!({"errorType": "NotFound", "errorMessage": format!("{method} {path} is not emulated")}),
            )
        }
    }
}

/// `GET /invocation/next`: waits for the next queued event and hands it over.
async fn next_invocation(shared: &Shared) -> Response<Full<Bytes>> {
    // Holding the lock while waiting serialises concurrent `/next` calls. If the
    // client goes away, hyper drops this future and `recv` is cancel-safe, so no
    // event is lost.
    let event = shared.events_rx.lock().await.recv().await;
    let Some(event) = event else {
        // Unreachable while `Shared` holds the sender, but answer sanely anyway.
        return json_response(StatusCode::INTERNAL_SERVER_ERROR, json!({"errorType": "ShuttingDown"}));
    };

    let request_id = uuid::Uuid::new_v4().to_string();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let deadline_ms = (now + event.timeout).as_millis();
    let trace_id = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        now.as_secs(),
        &uuid::Uuid::new_v4().simple().to_string()[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16],
    );
    shared
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(request_id.clone(), event.reply);
    *shared.last_dispatch.lock().unwrap_or_else(PoisonError::into_inner) = Some((request_id.clone(), Instant::now()));

    let mut response = json_response(StatusCode::OK, event.payload);
    let headers = response.headers_mut();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", shared.function_arn.clone()),
        ("lambda-runtime-trace-id", trace_id),
    ] {
        let value = HeaderValue::from_str(&value).expect("emulator header values are plain ASCII");
        headers.insert(name, value);
    }
    response
}

/// Delivers the function's answer for `request_id` to the waiting `invoke`.
fn complete(shared: &Shared, request_id: &str, invocation: Invocation) -> Response<Full<Bytes>> {
    let waiter = shared
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(request_id);
    match waiter {
        Some(waiter) => {
            // The `invoke` may have timed out and gone; the answer is then dropped.
            let _ = waiter.send(invocation);
            accepted()
        }
        None => {
            shared.note(&format!(
                "answer for unknown or already answered request id {request_id}"
            ));
            json_response(
                StatusCode::BAD_REQUEST,
                json!({"errorType": "InvalidRequestID", "errorMessage": format!("unknown request id {request_id}")}),
            )
        }
    }
}

/// Splits an error body `{"errorType","errorMessage"}`; anything else becomes
/// `("", raw body)`.
fn parse_error(body: &[u8]) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|value| value.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("errorType"), field("errorMessage")) {
        (None, None) => (String::new(), String::from_utf8_lossy(body).into_owned()),
        (error_type, error_message) => (error_type.unwrap_or_default(), error_message.unwrap_or_default()),
    }
}

async fn read_body(request: Request<Incoming>) -> Bytes {
    // A body cut short (the process died mid-request) is treated as empty.
    match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

fn accepted() -> Response<Full<Bytes>> {
    json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn json_response(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
