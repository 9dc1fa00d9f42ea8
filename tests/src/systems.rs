//! Systems of record for the tests (SPEC 8): a webhook receiver on
//! 127.0.0.1 that records what it is sent, and an EventBridge bus in the
//! emulator whose task events a rule copies to an SQS queue to read back.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Per path: how many more POSTs are answered 500 before a 200.
    failures: HashMap<String, u32>,
}

/// A webhook receiver: answers 200, or 500 for the first `n` POSTs to a
/// path given by [`WebhookReceiver::fail_first`].
pub struct WebhookReceiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("a local address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| receive(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, state, server }
    }

    /// The next `times` POSTs to `path` are answered 500.
    pub fn fail_first(&self, path: &str, times: u32) {
        self.state
            .lock()
            .expect("the receiver's state")
            .failures
            .insert(path.to_owned(), times);
    }

    /// Every POST so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("the receiver's state").received.clone()
    }

    /// The POSTs so far to `path`.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|post| post.path == path).collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(state: Arc<Mutex<State>>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|body| body.to_bytes().to_vec())
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let path = parts.uri.path().to_owned();
    let mut state = state.lock().expect("the receiver's state");
    let status = match state.failures.get_mut(&path) {
        Some(left) if *left > 0 => {
            *left -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::OK,
    };
    state.received.push(Received {
        path,
        signature: header("privacy-signature"),
        content_type: header("content-type"),
        body,
        status: status.as_u16(),
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

/// A bus in the emulator, and a queue that a rule on detail-type
/// `privacy.request.task` copies its events to.
pub struct TaskEvents {
    pub bus: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl TaskEvents {
    pub async fn create() -> Self {
        let sdk = crate::aws::sdk_config().await;
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let bus = format!("privacy-tasks-{unique}");
        events.create_event_bus().name(&bus).send().await.expect("create a bus");
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("task-events-{unique}"))
            .send()
            .await
            .expect("create a queue")
            .queue_url
            .expect("a queue URL");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("the queue's attributes")
            .attributes
            .and_then(|attributes| {
                attributes
                    .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("the queue's ARN");
        // What an in-house service's own rule looks like (docs/deploy.md).
        events
            .put_rule()
            .name("privacy-request-tasks")
            .event_bus_name(&bus)
            .event_pattern(r#"{"detail-type": ["privacy.request.task"]}"#)
            .send()
            .await
            .expect("create a rule");
        events
            .put_targets()
            .rule("privacy-request-tasks")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("a target"),
            )
            .send()
            .await
            .expect("target the queue");
        Self { bus, queue_url, sqs }
    }

    /// The events the rule has copied so far (each read once).
    pub async fn received(&self) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("read the queue");
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                let body = message.body.unwrap_or_default();
                events.push(serde_json::from_str(&body).expect("an event is JSON"));
                if let Some(receipt) = message.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .expect("delete a read message");
                }
            }
        }
    }
}
