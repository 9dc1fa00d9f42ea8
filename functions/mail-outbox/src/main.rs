//! The outbox's drain: started by the table's stream when a mail is queued
//! (the newsletter's confirmation), and every 10 minutes to retry the mail
//! that could not be sent when it was promised; the scheduled runs also go
//! on with erasures too large for one run. Each run also hands the tasks
//! listed for hand-over to their systems of record (`TASK_OUTBOX#` entries
//! start a run through the stream too), retrying with backoff.

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
    let connector = privacy_lambda::task_connector_from_env(&app).await?;
    let policy = privacy_lambda::task_retry_policy()?;
    privacy_lambda::serve_outbox_retry(app, connector, policy).await
}
