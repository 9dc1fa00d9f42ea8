//! The newsletter planner (SPEC 9), on an EventBridge schedule: queues the
//! readers of every due issue from the audience index, resuming where the
//! last run stopped.

use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: false,
        mail: false,
        systems: false,
    })
    .await?;
    let queue = privacy_lambda::issues::recipient_queue_from_env().await?;
    privacy_lambda::issues::serve_issue_planner(app, queue).await
}
