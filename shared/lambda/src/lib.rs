//! What every function's `main` shares: configuration from the environment,
//! clients built once, and the translation between API Gateway HTTP API
//! (payload format 2.0) events and the API's requests and responses.

use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use aws_lambda_events::sns::SnsEvent;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_aws::ses::SesMailer;
use privacy_aws::systems::SystemsConnector;
use privacy_domain::clock::{Clock, SystemClock};
use privacy_domain::dsr::tasks::config::{SystemsConfig, SystemsConfigError};
use privacy_domain::dsr::tasks::delivery::{DeliveryReport, RetryPolicy};
use privacy_domain::dsr::Requests;
use privacy_domain::holds::keeping::HoldAwareStore;
use privacy_domain::mail::{Mail, MailError, Mailer, MessageId};
use privacy_domain::newsletter::{Links, Subscriptions};
use privacy_domain::register::{Register, RegisterError};
use privacy_domain::subject::Pepper;
use privacy_domain::tokens::TokenKey;
use privacy_http::{ApiRequest, ApiResponse, App, Area, Principal, Settings};

pub mod issues;
pub mod sweep;

#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error("the secret {0} is shorter than 32 bytes")]
    WeakSecret(&'static str),
    #[error("the SSM parameter named by {0} could not be read: {1}")]
    Parameter(&'static str, String),
    #[error("the systems configuration in {0} is refused: {1}")]
    Systems(&'static str, SystemsConfigError),
    #[error("the environment variable {0} is not a whole number")]
    NotANumber(&'static str),
    #[error("the HTTPS client could not load the system's trusted roots: {0}")]
    Tls(String),
    #[error(transparent)]
    Register(#[from] RegisterError),
}

/// A function that refuses to start prints `Error: <this>` (`main`'s
/// `Termination`): one line that names the variable or parameter.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// What a function needs besides the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The subject pepper (the function meets addresses).
    pub pepper: bool,
    /// The token key (the function signs or checks tokens, links or cursors).
    pub token_key: bool,
    /// SES, with `SENDER_ADDRESS`.
    pub mail: bool,
    /// The systems of record's endpoints and secrets (`SYSTEMS_CONFIG`, or
    /// the SSM parameter named by `SYSTEMS_PARAMETER`).
    pub systems: bool,
}

/// Builds the app from the environment: `TABLE_NAME`, `ALLOWED_ORIGINS`,
/// `PUBLIC_BASE_URL`, `SENDER_ADDRESS`, `SES_CONFIGURATION_SET`, the secrets,
/// and the SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials).
pub async fn app_from_env(needs: Needs) -> Result<App, ConfigError> {
    let table = required("TABLE_NAME")?;
    let sdk = privacy_aws::sdk_config().await;
    let store = DynamoRecordStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let mailer: Arc<dyn Mailer> = if needs.mail {
        let sender = required("SENDER_ADDRESS")?;
        let domain = sender
            .rsplit_once('@')
            .map_or("localhost", |(_, domain)| domain)
            .trim_end_matches('>');
        let mut mailer = SesMailer::new(aws_sdk_ses::Client::new(&sdk), sender.clone(), domain.to_owned());
        if let Some(set) = optional("SES_CONFIGURATION_SET") {
            mailer = mailer.with_configuration_set(set);
        }
        Arc::new(mailer)
    } else {
        Arc::new(NoMail)
    };
    // Each function reads only the secrets it needs (and may read only those: template.yaml).
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let pepper = if needs.pepper {
        let pepper = secret(&ssm, "SUBJECT_PEPPER", "SUBJECT_PEPPER_PARAMETER").await?;
        Some(Pepper::new(pepper).map_err(|_| ConfigError::WeakSecret("SUBJECT_PEPPER"))?)
    } else {
        None
    };
    let token_key = if needs.token_key {
        let token_key = secret(&ssm, "TOKEN_KEY", "TOKEN_KEY_PARAMETER").await?;
        Some(TokenKey::new(token_key).map_err(|_| ConfigError::WeakSecret("TOKEN_KEY"))?)
    } else {
        None
    };
    let register = Register::standard()?;
    let systems = if needs.systems {
        systems_config(&ssm, &register).await?.map(Arc::new)
    } else {
        None
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(App {
        // Every write is stamped with the legal holds and restriction in force on its person.
        store: Arc::new(HoldAwareStore::new(store, register.clone(), clock.clone())),
        mailer,
        clock,
        register,
        pepper,
        token_key,
        systems,
        settings: Settings::from_env(|name| std::env::var(name).ok()),
    })
}

/// A secret from the environment itself (`SUBJECT_PEPPER`, `TOKEN_KEY`:
/// local runs and tests) or, in AWS, from the SecureString SSM parameter
/// named by `SUBJECT_PEPPER_PARAMETER` / `TOKEN_KEY_PARAMETER`.
async fn secret(
    ssm: &aws_sdk_ssm::Client,
    value: &'static str,
    parameter: &'static str,
) -> Result<Vec<u8>, ConfigError> {
    if let Some(secret) = optional(value) {
        return Ok(secret.into_bytes());
    }
    let name = optional(parameter).ok_or(ConfigError::Missing(parameter))?;
    let output = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|error| ConfigError::Parameter(parameter, error.code().unwrap_or("no error code").to_owned()))?;
    output
        .parameter
        .and_then(|parameter| parameter.value)
        .map(String::into_bytes)
        .ok_or(ConfigError::Parameter(parameter, "no value".to_owned()))
}

/// The systems configuration: the JSON itself in `SYSTEMS_CONFIG` (local
/// runs and tests) or, in AWS, the SecureString SSM parameter named by
/// `SYSTEMS_PARAMETER`. Neither set: `None`, and requests are answered for
/// this product's own data only (said once, at start).
pub async fn systems_config(
    ssm: &aws_sdk_ssm::Client,
    register: &Register,
) -> Result<Option<SystemsConfig>, ConfigError> {
    let (source, json) = if let Some(json) = optional("SYSTEMS_CONFIG") {
        ("SYSTEMS_CONFIG", json.into_bytes())
    } else if optional("SYSTEMS_PARAMETER").is_some() {
        (
            "SYSTEMS_PARAMETER",
            secret(ssm, "SYSTEMS_CONFIG", "SYSTEMS_PARAMETER").await?,
        )
    } else {
        tracing::warn!(
            "no systems configuration (SYSTEMS_PARAMETER / SYSTEMS_CONFIG): requests ask no other system of record"
        );
        return Ok(None);
    };
    let json = String::from_utf8(json)
        .map_err(|_| ConfigError::Systems(source, SystemsConfigError::Malformed("not UTF-8".to_owned())))?;
    let config = SystemsConfig::parse(&json, register).map_err(|error| ConfigError::Systems(source, error))?;
    tracing::info!(
        source,
        "systems of record configured: verified requests ask every registered system"
    );
    Ok(Some(config))
}

/// The mailer of a function that sends no mail.
struct NoMail;

#[async_trait::async_trait]
impl Mailer for NoMail {
    async fn send(&self, _mail: &Mail) -> Result<MessageId, MailError> {
        Err(MailError::Rejected(
            "this function is not configured to send mail".to_owned(),
        ))
    }
}

/// Runs the Lambda runtime loop, serving the routes of `areas`.
pub async fn serve_http(app: App, areas: &'static [Area]) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let response = privacy_http::handle(app, areas, api_request(event.payload)).await;
            Ok::<_, Infallible>(gateway_response(response))
        },
    ))
    .await
}

/// An API Gateway HTTP API event as the API's request.
pub fn api_request(event: ApiGatewayV2httpRequest) -> ApiRequest {
    let body = match event.body {
        None => Vec::new(),
        Some(text) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .unwrap_or_else(|_| text.into_bytes()),
        Some(text) => text.into_bytes(),
    };
    let query = event
        .raw_query_string
        .as_deref()
        .map(|raw| {
            form_urlencoded::parse(raw.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    ApiRequest {
        method: event.request_context.http.method.as_str().to_owned(),
        path: event.raw_path.unwrap_or_else(|| "/".to_owned()),
        query,
        headers: header_pairs(&event.headers),
        body,
        source_ip: event
            .request_context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        // API Gateway's JWT authoriser has checked the token before the event
        // reaches the function; the claims are only present when it did.
        principal: event
            .request_context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .and_then(principal_of),
    }
}

/// The principal of a JWT the authoriser accepted: its `sub`, its scopes
/// (the authoriser's list, or the space-separated `scope` claim) and its
/// `cognito:groups` (API Gateway passes an array claim as `[a b]`).
fn principal_of(jwt: &aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription) -> Option<Principal> {
    let sub = jwt.claims.get("sub")?.clone();
    let mut scopes: Vec<String> = jwt.scopes.clone().unwrap_or_default();
    if let Some(claim) = jwt.claims.get("scope") {
        scopes.extend(claim.split_whitespace().map(str::to_owned));
    }
    let groups = jwt
        .claims
        .get("cognito:groups")
        .map(|claim| {
            claim
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split([' ', ','])
                .map(|group| group.trim_matches('"'))
                .filter(|group| !group.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(Principal { sub, scopes, groups })
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// The API's response as an API Gateway HTTP API response.
pub fn gateway_response(response: ApiResponse) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.insert(name, value);
        }
    }
    let mut gateway = ApiGatewayV2httpResponse::default();
    gateway.status_code = i64::from(response.status);
    gateway.headers = headers;
    gateway.body = (!response.body.is_empty()).then_some(Body::Text(response.body));
    gateway.is_base64_encoded = false;
    gateway
}

/// Runs the runtime loop for SES notifications delivered by SNS: bounces
/// and complaints suppress, transient bounces are counted. A record that
/// cannot be stored fails the invocation, so SNS/Lambda retry it and, after
/// that, it lands in the dead-letter queue: no report is lost.
pub async fn serve_ses_feedback(app: App) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        let pepper = app.pepper().map_err(|_| "the subject pepper is not configured")?;
        let subscriptions = Subscriptions { ports: app.ports() };
        for record in &event.payload.records {
            match privacy_aws::ses_feedback::parse(&record.sns.message) {
                Ok(Some(feedback)) => subscriptions.record_feedback(pepper, &feedback).await?,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, message_id = %record.sns.message_id, "SNS message ignored"),
            }
        }
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}

/// How long before the Lambda deadline a batch job stops taking new work.
const DEADLINE_MARGIN: SignedDuration = SignedDuration::from_secs(5);

/// What starts the outbox's drain: the schedule, or a batch of the table's
/// stream (new outbox entries). Neither carries anything the drain needs: it
/// reads the outbox itself. Anything else is refused.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum OutboxTrigger {
    Stream {
        #[serde(rename = "Records")]
        records: Vec<StreamRecord>,
    },
    Schedule(EventBridgeEvent<serde_json::Value>),
}

/// One record of a DynamoDB stream batch, as far as the drain looks at it.
#[derive(Debug, serde::Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventSource")]
    pub event_source: String,
}

/// Where the deployment's own task events go (`event` systems that name no
/// bus of their own): the bus template.yaml creates or is given.
pub const TASK_EVENT_BUS: &str = "TASK_EVENT_BUS";
/// The wait before a failed hand-over's first retry, in seconds (default:
/// [`RetryPolicy::default`]'s minute). Tests shorten it; the template does not set it.
pub const TASK_RETRY_FIRST_SECONDS: &str = "TASK_RETRY_FIRST_SECONDS";

/// The connector that hands tasks to the systems of record, when the app
/// has a systems configuration (`None`: no other system is asked).
pub async fn task_connector_from_env(app: &App) -> Result<Option<SystemsConnector>, ConfigError> {
    let Some(config) = app.systems.clone() else {
        return Ok(None);
    };
    let sdk = privacy_aws::sdk_config().await;
    let connector = SystemsConnector::new(
        config,
        aws_sdk_eventbridge::Client::new(&sdk),
        optional(TASK_EVENT_BUS),
        app.clock.clone(),
    )
    .map_err(|error| ConfigError::Tls(error.kind().to_string()))?;
    Ok(Some(connector))
}

/// The retry schedule of the hand-over: the domain's default, or a first
/// wait of `TASK_RETRY_FIRST_SECONDS` (a whole number of seconds).
pub fn task_retry_policy() -> Result<RetryPolicy, ConfigError> {
    let mut policy = RetryPolicy::default();
    if let Some(seconds) = optional(TASK_RETRY_FIRST_SECONDS) {
        let seconds: u32 = seconds
            .trim()
            .parse()
            .map_err(|_| ConfigError::NotANumber(TASK_RETRY_FIRST_SECONDS))?;
        policy.first = SignedDuration::from_secs(i64::from(seconds));
        policy.cap = policy.cap.max(policy.first);
    }
    Ok(policy)
}

/// Runs the runtime loop of the outbox's drain: sends queued mail, then
/// hands listed tasks to their systems (with `connector`), until shortly
/// before the invocation's deadline, and reports the counts.
pub async fn serve_outbox_retry(
    app: App,
    connector: Option<SystemsConnector>,
    policy: RetryPolicy,
) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    let connector = connector.as_ref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<OutboxTrigger>| async move {
        if let OutboxTrigger::Stream { records } = &event.payload {
            if records.iter().any(|record| record.event_source != "aws:dynamodb") {
                return Err("a batch of records that is not the table's stream".into());
            }
        }
        let deadline = Timestamp::from_millisecond(i64::try_from(event.context.deadline).unwrap_or(i64::MAX))
            .unwrap_or(Timestamp::MAX)
            - DEADLINE_MARGIN;
        let outbox = app.ports().outbox();
        // The mail first: a sign-up's confirmation does not wait for an erasure.
        let report = outbox.retry(deadline).await?;
        let secrets = app.secrets().map_err(|_| "the secrets are not configured")?;
        let links = Links::new(&app.settings.public_base_url);
        let requests = Requests {
            ports: app.ports(),
            secrets: &secrets,
            links: &links,
            privacy_team: app.settings.privacy_team_address.as_ref(),
            systems: app.systems_scope(),
        };
        // Tasks listed for hand-over (a new task starts a run through the stream; a retry is due on a later run).
        let tasks = match connector {
            Some(connector) => requests.deliver_tasks(connector, policy, deadline).await?,
            None => DeliveryReport::default(),
        };
        // Erasures and exports too large for one run go on in the scheduled runs, a run's work each.
        let resumed = match &event.payload {
            OutboxTrigger::Schedule(_) => requests.resume_fulfilment(deadline).await?,
            OutboxTrigger::Stream { .. } => 0,
        };
        tracing::info!(
            sent = report.sent,
            still_queued = report.still_queued,
            rejected = report.rejected,
            skipped = report.skipped,
            nothing_to_send = report.nothing_to_send,
            fulfilment_runs = resumed,
            tasks_sent = tasks.sent,
            tasks_retrying = tasks.retrying,
            tasks_dead_lettered = tasks.dead_lettered,
            tasks_waiting = tasks.waiting,
            "outbox drained"
        );
        let mut body = serde_json::to_value(report)?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("fulfilment_runs".to_owned(), serde_json::json!(resumed));
            fields.insert("tasks".to_owned(), serde_json::to_value(tasks)?);
        }
        Ok::<_, lambda_runtime::Error>(body)
    }))
    .await
}
