//! What every function's `main` shares: configuration from the environment,
//! clients built once, and the translation between API Gateway HTTP API
//! (payload format 2.0) events and the API's requests and responses.

use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::clock::SystemClock;
use privacy_domain::register::{Register, RegisterError};
use privacy_http::{ApiRequest, ApiResponse, App, Area, Settings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    Register(#[from] RegisterError),
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// Builds the app from the environment: `TABLE_NAME`, `ALLOWED_ORIGINS`, and
/// the SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials).
pub async fn app_from_env() -> Result<App, ConfigError> {
    let table = required("TABLE_NAME")?;
    let sdk = privacy_aws::sdk_config().await;
    let store = DynamoRecordStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    Ok(App {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
        register: Register::standard()?,
        settings: Settings::from_env(|name| std::env::var(name).ok()),
    })
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
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
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
