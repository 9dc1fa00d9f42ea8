//! What every function's `main` shares: configuration from the environment,
//! clients built once, and the translation between API Gateway HTTP API
//! (payload format 2.0) events and the API's requests and responses.
//!
//! A function picks what it serves with this crate's cargo features (README,
//! "Lean functions"): the route groups of `privacy-http` (`consent`,
//! `newsletter`, `dsr`, `systems`, `admin`), the AWS clients besides
//! DynamoDB's (`mail`: SES, `ssm`: secrets from Parameter Store) and the
//! loops that are not HTTP (`feedback`, `outbox`, `sweep`, `issues`). What it does not
//! pick is not linked.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::calls::Tally;
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::clock::{Clock, SystemClock};
use privacy_domain::dsr::tasks::config::{SystemsConfig, SystemsConfigError};
use privacy_domain::holds::keeping::HoldAwareStore;
use privacy_domain::mail::{Mail, MailError, Mailer, MessageId};
use privacy_domain::register::{Register, RegisterError};
use privacy_domain::subject::Pepper;
use privacy_domain::tokens::TokenKey;
use privacy_http::{ApiRequest, ApiResponse, App, Area, Principal, Settings};

#[cfg(feature = "feedback")]
mod feedback;
#[cfg(feature = "issues")]
pub mod issues;
#[cfg(feature = "outbox")]
mod outbox;
#[cfg(feature = "sweep")]
pub mod sweep;

#[cfg(feature = "feedback")]
pub use feedback::serve_ses_feedback;
#[cfg(feature = "outbox")]
pub use outbox::{
    serve_outbox_retry, task_connector_from_env, task_retry_policy, OutboxTrigger, StreamRecord, TASK_EVENT_BUS,
    TASK_RETRY_FIRST_SECONDS,
};

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
    #[error("this function is built without the `{0}` feature it needs")]
    NotBuilt(&'static str),
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
    /// SES, with `SENDER_ADDRESS` (feature `mail`).
    pub mail: bool,
    /// The systems of record's endpoints and secrets (`SYSTEMS_CONFIG`, or
    /// the SSM parameter named by `SYSTEMS_PARAMETER`).
    pub systems: bool,
}

/// A secret: its value in the first variable (local runs and tests), or, in
/// AWS, the SecureString SSM parameter named by the second.
type Secret = (&'static str, &'static str);
const PEPPER: Secret = ("SUBJECT_PEPPER", "SUBJECT_PEPPER_PARAMETER");
const TOKEN_KEY: Secret = ("TOKEN_KEY", "TOKEN_KEY_PARAMETER");
const SYSTEMS: Secret = ("SYSTEMS_CONFIG", "SYSTEMS_PARAMETER");

/// Builds the app from the environment: `TABLE_NAME`, `ALLOWED_ORIGINS`,
/// `PUBLIC_BASE_URL`, `SENDER_ADDRESS`, `SES_CONFIGURATION_SET`, the secrets,
/// and the SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials).
///
/// Start-up makes at most one AWS call: the secrets that are not in the
/// environment are read from SSM in one `GetParameters`.
pub async fn app_from_env(needs: Needs) -> Result<App, ConfigError> {
    let table = required("TABLE_NAME")?;
    let sdk = privacy_aws::sdk_config().await;
    let store = DynamoRecordStore::new(privacy_aws::dynamodb_client(&sdk), table);
    let mailer = mailer(needs.mail, &sdk)?;
    // Each function reads only the secrets it needs (and may read only those: template.yaml).
    let mut wanted = Vec::new();
    if needs.pepper {
        wanted.push(PEPPER);
    }
    if needs.token_key {
        wanted.push(TOKEN_KEY);
    }
    if needs.systems && (optional(SYSTEMS.0).is_some() || optional(SYSTEMS.1).is_some()) {
        wanted.push(SYSTEMS);
    }
    let mut secrets = secrets(&sdk, &wanted).await?;
    let pepper = match secrets.remove(PEPPER.0) {
        Some(pepper) => Some(Pepper::new(pepper).map_err(|_| ConfigError::WeakSecret("SUBJECT_PEPPER"))?),
        None => None,
    };
    let token_key = match secrets.remove(TOKEN_KEY.0) {
        Some(key) => Some(TokenKey::new(key).map_err(|_| ConfigError::WeakSecret("TOKEN_KEY"))?),
        None => None,
    };
    let register = Register::standard()?;
    let systems = if needs.systems {
        systems_config(secrets.remove(SYSTEMS.0), &register)?.map(Arc::new)
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

/// SES when the function sends mail (feature `mail`), else a mailer that refuses.
fn mailer(mail: bool, sdk: &aws_config::SdkConfig) -> Result<Arc<dyn Mailer>, ConfigError> {
    if !mail {
        return Ok(Arc::new(NoMail));
    }
    #[cfg(feature = "mail")]
    {
        let sender = required("SENDER_ADDRESS")?;
        let domain = sender
            .rsplit_once('@')
            .map_or("localhost", |(_, domain)| domain)
            .trim_end_matches('>');
        let client = privacy_aws::ses_client(sdk);
        let mut mailer = privacy_aws::ses::SesMailer::new(client, sender.clone(), domain.to_owned());
        if let Some(set) = optional("SES_CONFIGURATION_SET") {
            mailer = mailer.with_configuration_set(set);
        }
        Ok(Arc::new(mailer))
    }
    #[cfg(not(feature = "mail"))]
    {
        let _ = sdk;
        Err(ConfigError::NotBuilt("mail"))
    }
}

/// The `wanted` secrets by their value variable: from the environment, or
/// (the rest) from SSM in one call. A secret neither names is missing.
async fn secrets(
    sdk: &aws_config::SdkConfig,
    wanted: &[Secret],
) -> Result<HashMap<&'static str, Vec<u8>>, ConfigError> {
    let mut found = HashMap::new();
    let mut from_ssm: Vec<(Secret, String)> = Vec::new();
    for &(value, parameter) in wanted {
        if let Some(secret) = optional(value) {
            found.insert(value, secret.into_bytes());
        } else {
            let name = optional(parameter).ok_or(ConfigError::Missing(parameter))?;
            from_ssm.push(((value, parameter), name));
        }
    }
    if from_ssm.is_empty() {
        return Ok(found);
    }
    #[cfg(feature = "ssm")]
    {
        use privacy_aws::ssm::{get_parameters, ParameterError};
        let names: Vec<String> = from_ssm.iter().map(|(_, name)| name.clone()).collect();
        let values = get_parameters(&privacy_aws::ssm_client(sdk), &names)
            .await
            .map_err(|error| {
                // The variable naming the parameter SSM refused, or the first one asked for.
                let variable = match &error {
                    ParameterError::Invalid(refused) => from_ssm.iter().find(|(_, name)| name == refused),
                    ParameterError::Call(_) => None,
                }
                .unwrap_or(&from_ssm[0])
                .0
                 .1;
                ConfigError::Parameter(variable, error.to_string())
            })?;
        for ((value, parameter), name) in from_ssm {
            let secret = values
                .get(&name)
                .ok_or(ConfigError::Parameter(parameter, "no value".to_owned()))?;
            found.insert(value, secret.clone().into_bytes());
        }
        Ok(found)
    }
    #[cfg(not(feature = "ssm"))]
    {
        let _ = sdk;
        Err(ConfigError::NotBuilt("ssm"))
    }
}

/// The systems configuration: the JSON itself in `SYSTEMS_CONFIG` (local
/// runs and tests) or, in AWS, the SecureString SSM parameter named by
/// `SYSTEMS_PARAMETER` (read with the other secrets). Neither set: `None`,
/// and requests are answered for this product's own data only (said once,
/// at start).
fn systems_config(json: Option<Vec<u8>>, register: &Register) -> Result<Option<SystemsConfig>, ConfigError> {
    let Some(json) = json else {
        tracing::warn!(
            "no systems configuration (SYSTEMS_PARAMETER / SYSTEMS_CONFIG): requests ask no other system of record"
        );
        return Ok(None);
    };
    let source = if optional(SYSTEMS.0).is_some() {
        SYSTEMS.0
    } else {
        SYSTEMS.1
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

/// Logs the AWS calls an invocation made (`aws calls aws_calls=N …`): the
/// benchmark and the budget test read this line.
pub fn report_calls(start: &Tally) {
    let tally = Tally::since(start);
    tracing::info!(
        aws_calls = tally.calls,
        capacity_units = tally.capacity_units,
        operations = %tally,
        "aws calls"
    );
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
            let calls = Tally::begin();
            let response = privacy_http::handle(app, areas, api_request(event.payload)).await;
            report_calls(&calls);
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
