//! Scheduled (every 10 minutes): sends the mail that could not be sent when
//! it was promised, from the durable outbox.

use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        secrets: false,
        mail: true,
    })
    .await?;
    privacy_lambda::serve_outbox_retry(app).await
}
