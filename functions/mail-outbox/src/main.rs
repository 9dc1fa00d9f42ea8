//! The outbox's drain: started by the table's stream when a mail is queued
//! (the newsletter's confirmation), and every 10 minutes to retry the mail
//! that could not be sent when it was promised; the scheduled runs also go
//! on with erasures too large for one run.

use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: true,
        token_key: true,
        mail: true,
        systems: true,
    })
    .await?;
    privacy_lambda::serve_outbox_retry(app).await
}
