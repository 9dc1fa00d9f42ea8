//! The runtime loop of the SES notifications (feature `feedback`).

use aws_lambda_events::sns::SnsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::calls::Tally;
use privacy_domain::newsletter::Subscriptions;
use privacy_http::App;

use crate::report_calls;

/// Runs the runtime loop for SES notifications delivered by SNS: bounces
/// and complaints suppress, transient bounces are counted. A record that
/// cannot be stored fails the invocation, so SNS/Lambda retry it and, after
/// that, it lands in the dead-letter queue: no report is lost.
pub async fn serve_ses_feedback(app: App) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        let calls = Tally::begin();
        let pepper = app.pepper().map_err(|_| "the subject pepper is not configured")?;
        let subscriptions = Subscriptions { ports: app.ports() };
        for record in &event.payload.records {
            match privacy_aws::ses_feedback::parse(&record.sns.message) {
                Ok(Some(feedback)) => subscriptions.record_feedback(pepper, &feedback).await?,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, message_id = %record.sns.message_id, "SNS message ignored"),
            }
        }
        report_calls(&calls);
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}
