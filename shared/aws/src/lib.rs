//! AWS adapters of the privacy domain's ports.
//!
//! - [`ses::SesMailer`]: mail through SES `SendRawEmail`; [`ses_feedback`]: its bounce and complaint notifications.
//! - [`dynamodb::DynamoRecordStore`]: the record store on one DynamoDB table
//!   (design: `infra/dynamodb-access-patterns.md`).
//! - [`sqs::SqsRecipientQueue`]: the newsletter issues' recipient queue.
//! - [`systems::SystemsConnector`]: tasks to systems of record, by EventBridge
//!   event or signed webhook POST.
//!
//! The SDK is pointed at an emulator by the standard `AWS_ENDPOINT_URL`.

pub mod attributes;
pub mod dynamodb;
pub mod ses;
pub mod ses_feedback;
pub mod sqs;
pub mod systems;

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
