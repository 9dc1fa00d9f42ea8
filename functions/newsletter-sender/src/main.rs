//! The newsletter sender (SPEC 9), the recipient queue's SQS event source:
//! re-checks each reader and mails them at the configured rate, at most once.

use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: true,
        mail: true,
        systems: false,
    })
    .await?;
    privacy_lambda::issues::serve_issue_sender(app).await
}
