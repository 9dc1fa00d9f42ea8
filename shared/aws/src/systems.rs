//! The systems of record's connectors ([`TaskConnector`], SPEC 8): a task is
//! handed to an `event` system as an EventBridge event and to a `webhook`
//! system as a signed HTTPS POST. Where each system is reached comes from
//! the deployment's systems configuration, never from the register.
//!
//! - `event`: `PutEvents` of one entry on the system's bus (its `bus` in the
//!   configuration, else the deployment's `TASK_EVENT_BUS`): source
//!   [`EVENT_SOURCE`], detail-type [`EVENT_DETAIL_TYPE`], detail the
//!   [`TaskMessage`] as JSON. Accepted when the bus accepted the entry.
//! - `webhook`: `POST <url>` with the [`TaskMessage`] as the JSON body and
//!   `Privacy-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` under the
//!   system's secret. Accepted on a 2xx answer within the timeout; any other
//!   answer, a connection error or a timeout is a failed attempt, which the
//!   domain retries with backoff.
//!
//! The errors name a status code or an error code, never the URL, the body
//! or anything the system answered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use privacy_domain::clock::Clock;
use privacy_domain::dsr::tasks::config::{Endpoint, SystemsConfig};
use privacy_domain::dsr::tasks::delivery::{HandOverError, TaskConnector, TaskMessage};
use privacy_domain::dsr::tasks::signature::{sign, SIGNATURE_HEADER};
use privacy_domain::register::System;

/// The `source` of every task event.
pub const EVENT_SOURCE: &str = "privacy.backend";
/// The `detail-type` of every task event: what a consumer's rule matches.
pub const EVENT_DETAIL_TYPE: &str = "privacy.request.task";
/// How long a webhook receiver has to answer, connection included.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The `User-Agent` of the webhook POSTs.
const USER_AGENT: &str = "privacy-backend-tasks/1";

/// Hands tasks to `event` and `webhook` systems as their configuration says.
pub struct SystemsConnector {
    config: Arc<SystemsConfig>,
    events: aws_sdk_eventbridge::Client,
    /// The deployment's bus, for `event` systems that name none.
    default_bus: Option<String>,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl SystemsConnector {
    /// A connector with the system's trusted roots for HTTPS (and plain HTTP,
    /// which the configuration allows only to a loopback receiver).
    pub fn new(
        config: Arc<SystemsConfig>,
        events: aws_sdk_eventbridge::Client,
        default_bus: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(Self {
            config,
            events,
            default_bus: default_bus.filter(|bus| !bus.trim().is_empty()),
            http,
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
            clock,
        })
    }

    /// Another webhook timeout than [`DEFAULT_WEBHOOK_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn put_event(&self, bus: &str, message: &TaskMessage) -> Result<(), HandOverError> {
        let detail = serde_json::to_string(message).map_err(|error| HandOverError(format!("detail: {error}")))?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(EVENT_SOURCE)
            .detail_type(EVENT_DETAIL_TYPE)
            .detail(detail)
            .build();
        let output = self.events.put_events().entries(entry).send().await.map_err(|error| {
            HandOverError(format!(
                "PutEvents failed: {}",
                error
                    .code()
                    .unwrap_or("no error code (a connection error or a timeout)")
            ))
        })?;
        if output.failed_entry_count() > 0 {
            let code = output
                .entries()
                .iter()
                .find_map(|entry| entry.error_code())
                .unwrap_or("no error code");
            return Err(HandOverError(format!("PutEvents refused the entry: {code}")));
        }
        Ok(())
    }

    async fn post(&self, url: &str, secret: &[u8], message: &TaskMessage) -> Result<(), HandOverError> {
        let body = serde_json::to_vec(message).map_err(|error| HandOverError(format!("body: {error}")))?;
        let signature = sign(secret, &body, self.clock.now());
        let request = hyper::Request::post(url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| HandOverError("the webhook URL is not a valid request target".to_owned()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|error| HandOverError(connection_error(&error)))?;
            let status = response.status();
            // Read (and drop) the answer, so that the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok::<_, HandOverError>(status)
        };
        let status = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HandOverError(format!("no answer within {} s", self.timeout.as_secs())))??;
        if status.is_success() {
            Ok(())
        } else {
            Err(HandOverError(format!("the webhook answered {}", status.as_u16())))
        }
    }
}

/// What kind of connection error it was (hyper's messages may name the host).
fn connection_error(error: &hyper_util::client::legacy::Error) -> String {
    if error.is_connect() {
        "the webhook could not be reached".to_owned()
    } else {
        "the webhook connection failed".to_owned()
    }
}

#[async_trait]
impl TaskConnector for SystemsConnector {
    async fn hand_over(&self, system: &System, message: &TaskMessage) -> Result<(), HandOverError> {
        let entry = self
            .config
            .get(&system.id)
            .ok_or_else(|| HandOverError("the system has no entry in the systems configuration".to_owned()))?;
        match &entry.endpoint {
            Endpoint::Event { bus } => {
                let bus = bus.as_deref().or(self.default_bus.as_deref()).ok_or_else(|| {
                    HandOverError(
                        "no event bus: neither the system's configuration nor TASK_EVENT_BUS names one".to_owned(),
                    )
                })?;
                self.put_event(bus, message).await
            }
            Endpoint::Webhook { url } => self.post(url, entry.secret.as_bytes(), message).await,
        }
    }
}
