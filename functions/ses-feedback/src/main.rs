//! SES bounce and complaint notifications, delivered by SNS (SPEC 3.2):
//! a hard bounce or a complaint unsubscribes and suppresses the address.

use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: true,
        token_key: false,
        mail: false,
        systems: false,
    })
    .await?;
    privacy_lambda::serve_ses_feedback(app).await
}
