//! Demo systems of record for a local run (SPEC 8), so that a verified
//! request visibly goes out to three systems and comes back:
//!
//! - the Service's accounts (`service`, an `event` system): in AWS it
//!   consumes `privacy.request.task` events with a rule of its own; here the
//!   connector hands its events to an in-process consumer instead of a bus;
//! - the support desk and the CRM (`support_desk`, `crm`, `webhook`
//!   systems): a small HTTP receiver on 127.0.0.1 (a port of its own) that
//!   checks each POST's `Privacy-Signature` and refuses a wrong one with 401.
//!
//! Each answers its task a moment later through the signed route,
//! `POST /systems/tasks/{task_id}` (the same `privacy_http::handle` the
//! server serves), signed with its secret: the Service returns demo account
//! data to an access request (its own file in the export), the support desk
//! finds nothing, the CRM acts. The manual systems (bookkeeping, analytics)
//! stay for the team to answer on the console.
//!
//! On unless `SYSTEMS_CONFIG` is set (then the configured systems are used)
//! or `DEMO_SYSTEMS=off`. The systems' secret is random for each run, like
//! the server's other secrets: nothing secret is in the repository.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use privacy_aws::systems::SystemsConnector;
use privacy_domain::dsr::tasks::answers::answers_with_export;
use privacy_domain::dsr::tasks::delivery::{HandOverError, TaskConnector, TaskMessage};
use privacy_domain::dsr::tasks::signature::{sign, verify, SIGNATURE_HEADER};
use privacy_domain::dsr::tasks::TaskKind;
use privacy_domain::register::{System, SystemAccess};
use privacy_domain::tokens::OneTimeToken;
use privacy_http::{ApiRequest, App, Area};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The server's app, once built (the receiver starts before it: the
/// systems configuration names the receiver's port).
static APP: OnceLock<Arc<App>> = OnceLock::new();

/// How long a demo system takes to answer (so that the console shows the
/// task sent before it shows it answered).
const ANSWER_DELAY: Duration = Duration::from_millis(500);

/// The demo systems' configuration and the receiver, not yet serving.
pub struct DemoSystems {
    /// The `SYSTEMS_CONFIG` JSON of the three demo systems.
    pub config: String,
    secret: String,
    listener: TcpListener,
}

impl DemoSystems {
    /// Binds the webhook receiver and makes the configuration that names it.
    pub async fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let secret = OneTimeToken::generate().reveal().to_owned();
        let config = json!({"systems": {
            "service": {"secret": secret},
            "support_desk": {"secret": secret, "url": format!("{url}/support_desk")},
            "crm": {"secret": secret, "url": format!("{url}/crm")},
        }})
        .to_string();
        Ok(Self {
            config,
            secret,
            listener,
        })
    }

    /// Serves the receiver and returns the connector that hands `event`
    /// tasks to the demo Service and the rest to `inner`.
    pub fn start(self, app: Arc<App>, inner: SystemsConnector) -> DemoConnector {
        let _ = APP.set(app);
        let secret: Arc<str> = Arc::from(self.secret.as_str());
        let listener = self.listener;
        let receiver_secret = secret.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let secret = receiver_secret.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| receive(secret.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        DemoConnector { inner, secret }
    }

    /// Where the webhook receiver listens.
    pub fn receiver_url(&self) -> String {
        self.listener
            .local_addr()
            .map(|address| format!("http://{address}"))
            .unwrap_or_default()
    }
}

/// The connector of a local run with the demo systems.
pub struct DemoConnector {
    inner: SystemsConnector,
    secret: Arc<str>,
}

#[async_trait]
impl TaskConnector for DemoConnector {
    async fn hand_over(&self, system: &System, message: &TaskMessage) -> Result<(), HandOverError> {
        if system.access == SystemAccess::Event {
            // The local stand-in for the bus and the Service's rule.
            println!(
                "demo Service: task event {} ({})",
                message.task_id,
                message.request_type.as_str()
            );
            answer_later(self.secret.clone(), message.clone());
            return Ok(());
        }
        self.inner.hand_over(system, message).await
    }
}

/// The webhook receiver: a signed task is accepted (202) and answered later.
async fn receive(secret: Arc<str>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = request.uri().path().trim_start_matches('/').to_owned();
    let body = match Limited::new(request.into_body(), 256 * 1024).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(status(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    if verify(secret.as_bytes(), &header, &body, jiff::Timestamp::now()).is_err() {
        println!("demo receiver: refused a task without a valid Privacy-Signature");
        return Ok(status(StatusCode::UNAUTHORIZED));
    }
    let Ok(message) = serde_json::from_slice::<TaskMessage>(&body) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    if message.system != path {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    println!("demo {}: signed task {} received", message.system, message.task_id);
    answer_later(secret, message);
    Ok(status(StatusCode::ACCEPTED))
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// What each demo system answers.
pub fn demo_answer(message: &TaskMessage) -> Value {
    let returns_data = message.kind == TaskKind::Act && answers_with_export(message.request_type);
    match message.system.as_str() {
        "service" if returns_data => json!({"status": "done", "data": {
            "account": {"plan": "demo", "created_on": "2026-01-05", "last_sign_in_on": "2026-11-30"}
        }}),
        "support_desk" => json!({"status": "not_found"}),
        _ => json!({"status": "done"}),
    }
}

/// Answers the task through the signed route after [`ANSWER_DELAY`].
fn answer_later(secret: Arc<str>, message: TaskMessage) {
    tokio::spawn(async move {
        tokio::time::sleep(ANSWER_DELAY).await;
        let Some(app) = APP.get() else {
            return;
        };
        let body = demo_answer(&message).to_string();
        let signature = sign(secret.as_bytes(), body.as_bytes(), jiff::Timestamp::now());
        let request = ApiRequest {
            method: "POST".to_owned(),
            path: format!("/systems/tasks/{}", message.task_id),
            query: Vec::new(),
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                (SIGNATURE_HEADER.to_ascii_lowercase(), signature),
            ],
            principal: None,
            body: body.into_bytes(),
            source_ip: None,
        };
        let response = privacy_http::handle(app, &[Area::Systems], request).await;
        println!(
            "demo {}: answered task {} ({})",
            message.system, message.task_id, response.status
        );
        // What the table's stream does in AWS: the export the last answer queued leaves now.
        crate::drain_outbox(app.clone()).await;
    });
}

#[cfg(test)]
mod tests {
    use privacy_domain::dsr::RequestType;

    use super::*;

    fn message(system: &str, request_type: RequestType) -> TaskMessage {
        TaskMessage {
            task_id: format!("8c1c2f3e-1111-4a4a-9b9b-0123456789ab.{system}"),
            request_id: "8c1c2f3e-1111-4a4a-9b9b-0123456789ab".to_owned(),
            system: system.to_owned(),
            kind: TaskKind::Act,
            request_type,
            due_on: jiff::civil::date(2027, 1, 1),
            subject_key: "subject".to_owned(),
            email: None,
            corrections: None,
            answer_url: String::new(),
        }
    }

    #[test]
    fn the_demo_service_returns_account_data_to_an_access_request_only() {
        let access = demo_answer(&message("service", RequestType::Access));
        assert_eq!(access["status"], "done");
        assert_eq!(access["data"]["account"]["plan"], "demo");
        let erasure = demo_answer(&message("service", RequestType::Erasure));
        assert_eq!(erasure, json!({"status": "done"}), "data answers only an export");
        assert_eq!(
            demo_answer(&message("support_desk", RequestType::Access))["status"],
            "not_found"
        );
        for answer in [demo_answer(&message("crm", RequestType::Erasure)), access, erasure] {
            let body = answer;
            assert!(
                privacy_domain::dsr::tasks::answers::TaskAnswer::parse(&body).is_ok(),
                "{body}"
            );
        }
    }
}
