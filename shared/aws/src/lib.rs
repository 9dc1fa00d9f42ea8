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
/// SDK's defaults (retries, timeouts) themselves, and share [`https_client`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let region = std::env::var("AWS_REGION").ok();
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(https_client(region.as_deref()))
        .region(region.map(aws_config::Region::new))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials));
    if let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL").ok().filter(|url| !url.is_empty()) {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}

/// The roots of Amazon Trust Services, which certify every AWS endpoint.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The HTTPS client the SDK clients of one [`sdk_config`] share (one
/// connection pool): the SDK's own (hyper, rustls on aws-lc-rs), trusting
/// only the roots of Amazon Trust Services (`amazon-trust-services.pem`).
///
/// The SDK's default client trusts the machine's root store instead, which
/// it reads and parses at every cold start: on a Debian image 146 files,
/// 4–6 ms of a function's start here (infra/benchmarks.md); on Lambda one
/// bundle of some 150 certificates, parsed on 128 MB's share of a CPU. Five
/// compiled-in roots cost next to nothing, and trusting fewer authorities
/// is narrower: no other CA's certificate for an AWS host name is accepted.
///
/// Outside the standard and GovCloud partitions ([`amazon_certified`]) the
/// client keeps the machine's store.
pub fn https_client(region: Option<&str>) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = if region.is_none_or(amazon_certified) {
        TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES)
    } else {
        TrustStore::default()
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM certificates builds");
    // As the SDK builds its default client, with this trust store.
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Whether Amazon Trust Services certifies the endpoints of `region`: in the
/// standard partition and GovCloud, yes; in China's (`cn-`) and the isolated
/// ones (`us-iso-`, `us-isob-`, `eu-isoe-`, …), partitions of their own whose
/// certificates were not checked for this, they are not taken to be.
fn amazon_certified(region: &str) -> bool {
    let partition = region.split('-').nth(1).unwrap_or_default();
    !(region.starts_with("cn-") || partition.starts_with("iso"))
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
