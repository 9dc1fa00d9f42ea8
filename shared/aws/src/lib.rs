//! AWS adapters of the privacy domain's ports.
//!
//! - [`dynamodb::DynamoRecordStore`]: the record store on one DynamoDB table
//!   (design: `infra/dynamodb-access-patterns.md`).
//! - [`ses::SesMailer`] (feature `ses`): mail through SES `SendRawEmail`;
//!   [`ses_feedback`]: its bounce and complaint notifications.
//! - [`systems::SystemsConnector`] (feature `events`): tasks to systems of
//!   record, by EventBridge event or signed webhook POST.
//! - [`sqs::SqsRecipientQueue`] (feature `sqs`): the newsletter issues'
//!   recipient queue.
//! - [`ssm`] (feature `ssm`): the secrets, in one `GetParameters` call.
//! - [`calls`]: the count of AWS calls and consumed capacity, on every client.
//!
//! Each SDK client but DynamoDB's is a cargo feature, so that a function
//! links only the clients it uses. The SDK is pointed at an emulator by the
//! standard `AWS_ENDPOINT_URL`.

pub mod attributes;
pub mod calls;
pub mod dynamodb;
#[cfg(feature = "ses")]
pub mod ses;
pub mod ses_feedback;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "ssm")]
pub mod ssm;
#[cfg(feature = "events")]
pub mod systems;

/// The SDK configuration of a Lambda function, from the variables Lambda
/// sets: `AWS_REGION`, the role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL`
/// where set (tests, local runs; `AWS_ENDPOINT_URL_<SERVICE>` for one client).
/// Not `aws_config::load_defaults`: its
/// default chain (profile files, SSO, web identity through STS, IMDS) is
/// never used in Lambda, and linking it costs size; the clients add the
/// SDK's defaults (HTTPS client, retries, timeouts) themselves.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(std::env::var("AWS_REGION").ok().map(aws_config::Region::new))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials));
    if let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL").ok().filter(|url| !url.is_empty()) {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}

/// The endpoint a service's own variable names (`AWS_ENDPOINT_URL_SES`, …),
/// which the SDK's standard configuration puts before `AWS_ENDPOINT_URL`:
/// tests point one service at an endpoint that fails.
fn service_endpoint(service: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .ok()
        .filter(|url| !url.is_empty())
}

/// A DynamoDB client whose calls are counted ([`calls::CallCounter`]).
pub fn dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(calls::CallCounter);
    if let Some(endpoint) = service_endpoint("DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    let config = config.build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// An SES client whose calls are counted.
#[cfg(feature = "ses")]
pub fn ses_client(sdk: &aws_config::SdkConfig) -> aws_sdk_ses::Client {
    let mut config = aws_sdk_ses::config::Builder::from(sdk).interceptor(calls::CallCounter);
    if let Some(endpoint) = service_endpoint("SES") {
        config = config.endpoint_url(endpoint);
    }
    let config = config.build();
    aws_sdk_ses::Client::from_conf(config)
}

/// An EventBridge client whose calls are counted.
#[cfg(feature = "events")]
pub fn eventbridge_client(sdk: &aws_config::SdkConfig) -> aws_sdk_eventbridge::Client {
    let mut config = aws_sdk_eventbridge::config::Builder::from(sdk).interceptor(calls::CallCounter);
    if let Some(endpoint) = service_endpoint("EVENTBRIDGE") {
        config = config.endpoint_url(endpoint);
    }
    let config = config.build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// An SSM client whose calls are counted.
#[cfg(feature = "ssm")]
pub fn ssm_client(sdk: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    let mut config = aws_sdk_ssm::config::Builder::from(sdk).interceptor(calls::CallCounter);
    if let Some(endpoint) = service_endpoint("SSM") {
        config = config.endpoint_url(endpoint);
    }
    let config = config.build();
    aws_sdk_ssm::Client::from_conf(config)
}

/// An SQS client whose calls are counted.
#[cfg(feature = "sqs")]
pub fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk).interceptor(calls::CallCounter);
    if let Some(endpoint) = service_endpoint("SQS") {
        config = config.endpoint_url(endpoint);
    }
    let config = config.build();
    aws_sdk_sqs::Client::from_conf(config)
}
