//! The newsletter issues' two functions: the planner (an EventBridge
//! schedule, every minute) and the sender (the recipient queue's SQS event
//! source, reporting partial batch failures).

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::sqs::SqsRecipientQueue;
use privacy_domain::newsletter::issues::planner::IssuePlanner;
use privacy_domain::newsletter::issues::sender::{IssueSender, Pacer};
use privacy_domain::newsletter::issues::{IssueError, RecipientBatch};
use privacy_domain::newsletter::Links;
use privacy_http::App;

use crate::{optional, required, ConfigError};

/// The queue the planner fills and the sender drains (`RECIPIENT_QUEUE_URL`).
pub const RECIPIENT_QUEUE_URL: &str = "RECIPIENT_QUEUE_URL";
/// The mail service's sending rate for issues, mails per second over every
/// sender (`SEND_RATE_PER_SECOND`, default 14: SES's first production quota).
pub const SEND_RATE_PER_SECOND: &str = "SEND_RATE_PER_SECOND";
/// How many senders may run at once (`SENDER_CONCURRENCY`: the function's
/// reserved concurrency, default 1); each keeps its share of the rate.
pub const SENDER_CONCURRENCY: &str = "SENDER_CONCURRENCY";

/// How long before the Lambda deadline a run stops taking new work.
const MARGIN: SignedDuration = SignedDuration::from_secs(10);

fn deadline_of(context: &lambda_runtime::Context) -> Timestamp {
    Timestamp::from_millisecond(i64::try_from(context.deadline).unwrap_or(i64::MAX)).unwrap_or(Timestamp::MAX) - MARGIN
}

fn number(name: &'static str, default: f64) -> Result<f64, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|value| *value > 0.0)
            .ok_or(ConfigError::NotANumber(name)),
    }
}

/// The least time between two mails of one sender: its share of the rate.
pub fn send_interval() -> Result<Duration, ConfigError> {
    let rate = number(SEND_RATE_PER_SECOND, 14.0)?;
    let senders = number(SENDER_CONCURRENCY, 1.0)?;
    Ok(Duration::from_secs_f64(senders / rate))
}

/// The recipient queue named by `RECIPIENT_QUEUE_URL`.
pub async fn recipient_queue_from_env() -> Result<SqsRecipientQueue, ConfigError> {
    let url = required(RECIPIENT_QUEUE_URL)?;
    let sdk = privacy_aws::sdk_config().await;
    Ok(SqsRecipientQueue::new(privacy_aws::sqs_client(&sdk), url))
}

/// Runs the planner on every scheduled event until shortly before the deadline.
pub async fn serve_issue_planner(app: App, queue: SqsRecipientQueue) -> Result<(), lambda_runtime::Error> {
    let (app, queue) = (&app, &queue);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let planner = IssuePlanner {
                ports: app.ports(),
                queue,
            };
            let report = planner.plan_due(deadline_of(&event.context)).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        },
    ))
    .await
}

/// Runs the sender: each SQS message is one batch of readers. A message
/// that fails (the mail service unavailable, the store failing, a body that
/// is not a batch) is reported as a batch item failure, so SQS delivers it
/// again (and, after the queue's `maxReceiveCount`, to the dead-letter
/// queue); the send records keep the retry from mailing anyone twice. After
/// the mail service fails once, the rest of the event is handed back unsent.
pub async fn serve_issue_sender(app: App) -> Result<(), lambda_runtime::Error> {
    if app.settings.public_base_url.is_empty() {
        return Err(ConfigError::Missing("PUBLIC_BASE_URL").into());
    }
    let token_key = app.token_key.clone().ok_or(ConfigError::Missing("TOKEN_KEY"))?;
    let links = Links::new(&app.settings.public_base_url);
    let pacer = Pacer::new(send_interval()?);
    let (app, token_key, links, pacer) = (&app, &token_key, &links, &pacer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline_of(&event.context);
        let sender = IssueSender {
            ports: app.ports(),
            token_key,
            links,
            pacer,
        };
        let mut response = SqsBatchResponse::default();
        let mut give_back = false;
        for message in &event.payload.records {
            let id = message.message_id.clone().unwrap_or_default();
            if give_back || app.clock.now() >= deadline {
                give_back = true;
                response.batch_item_failures.push(failure(id));
                continue;
            }
            let batch: RecipientBatch = match message.body.as_deref().map(serde_json::from_str) {
                Some(Ok(batch)) => batch,
                _ => {
                    tracing::error!(message_id = %id, "a message that is not a batch of readers");
                    response.batch_item_failures.push(failure(id));
                    continue;
                }
            };
            match sender.send_batch(&batch, deadline).await {
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(message_id = %id, %error, "a batch of an issue is handed back for a retry");
                    give_back = matches!(error, IssueError::Mail(_) | IssueError::Deadline);
                    response.batch_item_failures.push(failure(id));
                }
            }
        }
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}
