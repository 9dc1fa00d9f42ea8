//! The whole API on one port of 127.0.0.1, with the embedded in-memory store.
//!
//! Every request goes to the same `privacy_http::handle` the Lambda functions
//! call: there is no second implementation of any route.
//!
//! `PORT` (default 3000) chooses the port; `ALLOWED_ORIGINS` defaults to the
//! server's own origin. Mail goes to `.local-outbox/` (`OUTBOX_DIR`) as one
//! `.eml` file per message, and its links are printed on the console. The
//! secrets are random for each run unless `SUBJECT_PEPPER` and `TOKEN_KEY`
//! are set. With `SYSTEMS_CONFIG`, tasks are handed to the systems of record
//! after each POST, as the outbox's function does in AWS: webhooks by their
//! signed POST, events on `TASK_EVENT_BUS` through the SDK's endpoint
//! (`AWS_ENDPOINT_URL`, e.g. the emulator); a hand-over that fails is retried
//! with backoff on a later POST. Without `SYSTEMS_CONFIG` (and unless
//! `DEMO_SYSTEMS=off`), demo systems answer the tasks (see [`demo_systems`]).
//! Newsletter issues are planned and sent in process after each POST and
//! every 15 seconds (`issues`).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use privacy_aws::systems::SystemsConnector;
use privacy_domain::clock::{Clock, SystemClock};
use privacy_domain::dsr::tasks::config::SystemsConfig;
use privacy_domain::dsr::tasks::delivery::{RetryPolicy, TaskConnector};
use privacy_domain::dsr::Requests;
use privacy_domain::email::EmailAddress;
use privacy_domain::holds::keeping::HoldAwareStore;
use privacy_domain::mail::{Mail, MailError, Mailer, MessageId};
use privacy_domain::newsletter::Links;
use privacy_domain::register::Register;
use privacy_domain::store::memory::MemoryStore;
use privacy_domain::subject::Pepper;
use privacy_domain::tokens::{OneTimeToken, TokenKey};
use privacy_http::{ApiRequest, ApiResponse, App, Area, Principal, Settings};
use tokio::net::TcpListener;

mod demo_systems;
mod file_outbox;
mod issues;
mod site;
mod sweep;

use file_outbox::FileOutbox;

const ALL_AREAS: &[Area] = &[
    Area::Consent,
    Area::Newsletter,
    Area::Unsubscribe,
    Area::Requests,
    Area::Register,
    Area::Systems,
    Area::Admin,
];
/// The bearer token of the admin routes (`ADMIN_TOKEN`, random when unset):
/// the local stand-in for API Gateway's JWT authoriser.
static ADMIN_TOKEN: OnceLock<String> = OnceLock::new();
/// Hands tasks to the systems of record (set when systems are configured).
static CONNECTOR: OnceLock<Box<dyn TaskConnector>> = OnceLock::new();
/// Bodies are read up to this size; the API itself refuses more than 16 KiB with 413.
const READ_LIMIT: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(text) => text.parse()?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let address = listener.local_addr()?;
    let port = address.port();
    let own_origin = format!("http://{address}");
    let mut settings = Settings::from_env(|name| std::env::var(name).ok());
    if settings.allowed_origins.is_empty() {
        settings.allowed_origins = vec![own_origin.clone(), format!("http://localhost:{}", address.port())];
    }
    if settings.public_base_url.is_empty() {
        settings.public_base_url = own_origin.clone();
    }
    // The demo site's thank-you pages, unless configured otherwise.
    if std::env::var("NEWSLETTER_THANK_YOU_URL").is_err() {
        settings.newsletter_thank_you_url = "/thanks/newsletter".to_owned();
    }
    if std::env::var("DSR_THANK_YOU_URL").is_err() {
        settings.dsr_thank_you_url = "/thanks/request".to_owned();
    }
    if settings.privacy_team_address.is_none() {
        settings.privacy_team_address = EmailAddress::parse("PRIVACY_TEAM_ADDRESS", "privacy-team@example.com").ok();
    }
    let admin_token = ADMIN_TOKEN.get_or_init(|| String::from_utf8_lossy(&secret("ADMIN_TOKEN")).into_owned());
    let outbox_dir = std::env::var("OUTBOX_DIR").unwrap_or_else(|_| ".local-outbox".to_owned());
    let outbox = FileOutbox::open(&outbox_dir, "Privacy <privacy@example.com>", "example.com")?;
    let register = Register::standard()?;
    // Endpoints and secrets of the systems of record (SPEC 8); without them a
    // verified request asks no other system.
    let configured = std::env::var("SYSTEMS_CONFIG").ok().filter(|json| !json.is_empty());
    let demo = match (&configured, std::env::var("DEMO_SYSTEMS").as_deref()) {
        (None, Ok("off")) | (Some(_), _) => None,
        (None, _) => Some(demo_systems::DemoSystems::bind().await?),
    };
    let systems = match configured.or_else(|| demo.as_ref().map(|demo| demo.config.clone())) {
        Some(json) => Some(Arc::new(SystemsConfig::parse(&json, &register).map_err(|error| {
            format!("the systems configuration in SYSTEMS_CONFIG is refused: {error}")
        })?)),
        None => None,
    };
    let site = Arc::new(site::Site::new(&outbox_dir, &register.document().controller.name));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let connector = match &systems {
        Some(systems) => {
            // The functions' SDK configuration: the environment's region,
            // credentials and endpoint, no probing of instance metadata.
            let sdk = privacy_aws::sdk_config().await;
            let bus = std::env::var("TASK_EVENT_BUS").ok();
            Some(SystemsConnector::new(
                systems.clone(),
                privacy_aws::eventbridge_client(&sdk),
                bus,
                clock.clone(),
            )?)
        }
        None => None,
    };
    let app = Arc::new(App {
        store: Arc::new(HoldAwareStore::new(MemoryStore::new(), register.clone(), clock.clone())),
        mailer: Arc::new(PrintedLinks(outbox)),
        clock,
        register,
        pepper: Some(Pepper::new(secret("SUBJECT_PEPPER"))?),
        token_key: Some(TokenKey::new(secret("TOKEN_KEY"))?),
        systems,
        settings,
    });
    let mut demo_receiver = None;
    match (connector, demo) {
        (Some(connector), Some(demo)) => {
            demo_receiver = Some(demo.receiver_url());
            let _ = CONNECTOR.set(Box::new(demo.start(app.clone(), connector)));
        }
        (Some(connector), None) => {
            let _ = CONNECTOR.set(Box::new(connector));
        }
        (None, _) => {}
    }
    issues::spawn_ticker(Arc::clone(&app));
    println!("Mail is written to {outbox_dir}/ and its links printed here.");
    println!("Admin API: Authorization: Bearer {admin_token}");
    tracing::info!("privacy backend listening on {own_origin}");
    println!("Serving every route on {own_origin} (in-memory store; stop with Ctrl-C)");
    if let Some(receiver) = demo_receiver {
        println!(
            "Demo systems of record: the Service (task events, in-process) and the support desk and CRM (signed webhooks to a receiver on {receiver}) answer their tasks; bookkeeping and analytics are answered on the console (DEMO_SYSTEMS=off: none)."
        );
    }
    println!("Demo site: {own_origin}/   outbox: {own_origin}/outbox   request queue: {own_origin}/queue.html   console: {own_origin}/console/");
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = Arc::clone(&app);
        let site = Arc::clone(&site);
        tokio::spawn(async move {
            let service = service_fn(move |request| serve(Arc::clone(&app), Arc::clone(&site), peer, port, request));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

async fn serve(
    app: Arc<App>,
    site: Arc<site::Site>,
    peer: SocketAddr,
    local_port: u16,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // DNS rebinding: a page on another site whose name resolves to 127.0.0.1
    // reaches this port with its own name in Host. Only our own names serve.
    if !is_own_host(parts.headers.get(hyper::header::HOST), local_port) {
        return Ok(to_hyper(
            privacy_http::ApiError::new(
                421,
                "unknown_host",
                "This server answers only to 127.0.0.1 and localhost.",
            )
            .into(),
        ));
    }
    // The demo site and the outbox page (GET and HEAD of their own paths); the rest is the API.
    if let Some(page) = site.respond(&parts.method, parts.uri.path()).await {
        return Ok(page);
    }
    let body = match Limited::new(body, READ_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let principal = admin_principal(
        parts.headers.get("authorization").and_then(|value| value.to_str().ok()),
        &app.settings.admin_scope,
    );
    if parts.uri.path() == sweep::PATH && parts.method == hyper::Method::POST {
        let response = match principal {
            Some(_) => {
                let now = parts.uri.query().and_then(|query| {
                    form_urlencoded::parse(query.as_bytes())
                        .find(|(name, _)| name == "now")
                        .map(|(_, now)| now.into_owned())
                });
                sweep::run(&app, now.as_deref()).await
            }
            None => privacy_http::ApiError::new(401, "unauthorized", "Valid credentials are required.").into(),
        };
        return Ok(to_hyper(response));
    }
    let api_request = ApiRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .map(|raw| {
                form_urlencoded::parse(raw.as_bytes())
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        principal,
        body,
        source_ip: Some(peer.ip()),
    };
    let state_change = api_request.method == "POST";
    let response = privacy_http::handle(&app, ALL_AREAS, api_request).await;
    if state_change {
        // What the table's stream does in AWS: a mail the request queued (a
        // sign-up's confirmation, a request's link) leaves at once, after the answer.
        tokio::spawn(drain_outbox(app));
    }
    Ok(to_hyper(response))
}

/// One run of the outbox's drain: sends what is queued, then hands the
/// tasks listed for hand-over to their systems.
pub(crate) async fn drain_outbox(app: Arc<App>) {
    let outbox = app.ports().outbox();
    let deadline = app.clock.now() + jiff::SignedDuration::from_secs(30);
    if let Err(error) = outbox.retry(deadline).await {
        tracing::error!(%error, "the outbox's drain failed; the next request retries it");
    }
    // What the planner's schedule and the sender's queue do in AWS.
    issues::run(&app).await;
    let (Some(connector), Ok(secrets)) = (CONNECTOR.get(), app.secrets()) else {
        return;
    };
    let links = Links::new(&app.settings.public_base_url);
    let requests = Requests {
        ports: app.ports(),
        secrets: &secrets,
        links: &links,
        privacy_team: app.settings.privacy_team_address.as_ref(),
        systems: app.systems_scope(),
    };
    if let Err(error) = requests
        .deliver_tasks(connector.as_ref(), RetryPolicy::default(), deadline)
        .await
    {
        tracing::error!(%error, "the tasks' hand-over failed; the next request retries it");
    }
}

fn to_hyper(response: ApiResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR))
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// `local-admin`, with the privacy team's scope, when the request carries
/// the admin bearer token (compared in constant time).
fn admin_principal(authorization: Option<&str>, admin_scope: &str) -> Option<Principal> {
    let presented = authorization?.strip_prefix("Bearer ")?.as_bytes();
    let expected = ADMIN_TOKEN.get()?.as_bytes();
    let same = presented.len() == expected.len()
        && presented.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0;
    same.then(|| Principal {
        sub: "local-admin".to_owned(),
        scopes: vec![admin_scope.to_owned()],
        groups: Vec::new(),
    })
}

/// Whether `Host` names this server: `127.0.0.1`, `localhost` or `[::1]`
/// on its own port (HTTP/1.1 requires the header).
fn is_own_host(host: Option<&hyper::header::HeaderValue>, port: u16) -> bool {
    let Some(host) = host.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}") || (port == 80 && host == *name))
}

/// A secret from the environment, or a random one for this run.
fn secret(name: &str) -> Vec<u8> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| OneTimeToken::generate().reveal().to_owned())
        .into_bytes()
}

/// The local outbox, plus the links of each mail on the console, so that a
/// developer can follow a confirmation link without a mail client.
struct PrintedLinks(FileOutbox);

#[async_trait]
impl Mailer for PrintedLinks {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        let id = self.0.send(mail).await?;
        println!("mail {id}: {}", mail.subject);
        for link in mail.text.split_whitespace().filter(|word| word.starts_with("http")) {
            println!("  link: {link}");
        }
        if let Some(unsubscribe) = &mail.list_unsubscribe {
            println!("  List-Unsubscribe: {unsubscribe}");
        }
        Ok(id)
    }
}
