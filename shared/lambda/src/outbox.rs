//! The runtime loop of the outbox's drain (feature `outbox`): queued mail
//! and the tasks handed to the systems of record.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_aws::calls::Tally;
use privacy_aws::systems::SystemsConnector;
use privacy_domain::dsr::tasks::delivery::{DeliveryReport, RetryPolicy};
use privacy_domain::dsr::Requests;
use privacy_domain::newsletter::Links;
use privacy_http::App;

use crate::{optional, report_calls, ConfigError};

/// How long before the Lambda deadline a batch job stops taking new work.
const DEADLINE_MARGIN: SignedDuration = SignedDuration::from_secs(5);

/// What starts the outbox's drain: the schedule, or a batch of the table's
/// stream (new outbox entries). Neither carries anything the drain needs: it
/// reads the outbox itself. Anything else is refused.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum OutboxTrigger {
    Stream {
        #[serde(rename = "Records")]
        records: Vec<StreamRecord>,
    },
    Schedule(EventBridgeEvent<serde_json::Value>),
}

/// One record of a DynamoDB stream batch, as far as the drain looks at it.
#[derive(Debug, serde::Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventSource")]
    pub event_source: String,
}

/// Where the deployment's own task events go (`event` systems that name no
/// bus of their own): the bus template.yaml creates or is given.
pub const TASK_EVENT_BUS: &str = "TASK_EVENT_BUS";
/// The wait before a failed hand-over's first retry, in seconds (default:
/// [`RetryPolicy::default`]'s minute). Tests shorten it; the template does not set it.
pub const TASK_RETRY_FIRST_SECONDS: &str = "TASK_RETRY_FIRST_SECONDS";

/// The connector that hands tasks to the systems of record, when the app
/// has a systems configuration (`None`: no other system is asked).
pub async fn task_connector_from_env(app: &App) -> Result<Option<SystemsConnector>, ConfigError> {
    let Some(config) = app.systems.clone() else {
        return Ok(None);
    };
    let sdk = privacy_aws::sdk_config().await;
    let connector = SystemsConnector::new(
        config,
        privacy_aws::eventbridge_client(&sdk),
        optional(TASK_EVENT_BUS),
        app.clock.clone(),
    )
    .map_err(|error| ConfigError::Tls(error.kind().to_string()))?;
    Ok(Some(connector))
}

/// The retry schedule of the hand-over: the domain's default, or a first
/// wait of `TASK_RETRY_FIRST_SECONDS` (a whole number of seconds).
pub fn task_retry_policy() -> Result<RetryPolicy, ConfigError> {
    let mut policy = RetryPolicy::default();
    if let Some(seconds) = optional(TASK_RETRY_FIRST_SECONDS) {
        let seconds: u32 = seconds
            .trim()
            .parse()
            .map_err(|_| ConfigError::NotANumber(TASK_RETRY_FIRST_SECONDS))?;
        policy.first = SignedDuration::from_secs(i64::from(seconds));
        policy.cap = policy.cap.max(policy.first);
    }
    Ok(policy)
}

/// Runs the runtime loop of the outbox's drain: sends queued mail, then
/// hands listed tasks to their systems (with `connector`), until shortly
/// before the invocation's deadline, and reports the counts.
pub async fn serve_outbox_retry(
    app: App,
    connector: Option<SystemsConnector>,
    policy: RetryPolicy,
) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    let connector = connector.as_ref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<OutboxTrigger>| async move {
        let calls = Tally::begin();
        if let OutboxTrigger::Stream { records } = &event.payload {
            if records.iter().any(|record| record.event_source != "aws:dynamodb") {
                return Err("a batch of records that is not the table's stream".into());
            }
        }
        let deadline = Timestamp::from_millisecond(i64::try_from(event.context.deadline).unwrap_or(i64::MAX))
            .unwrap_or(Timestamp::MAX)
            - DEADLINE_MARGIN;
        let outbox = app.ports().outbox();
        // The mail first: a sign-up's confirmation does not wait for an erasure.
        let report = outbox.retry(deadline).await?;
        let secrets = app.secrets().map_err(|_| "the secrets are not configured")?;
        let links = Links::new(&app.settings.public_base_url);
        let requests = Requests {
            ports: app.ports(),
            secrets: &secrets,
            links: &links,
            privacy_team: app.settings.privacy_team_address.as_ref(),
            systems: app.systems_scope(),
        };
        // Tasks listed for hand-over (a new task starts a run through the stream; a retry is due on a later run).
        let tasks = match connector {
            Some(connector) => requests.deliver_tasks(connector, policy, deadline).await?,
            None => DeliveryReport::default(),
        };
        // Erasures and exports too large for one run go on in the scheduled runs, a run's work each.
        let resumed = match &event.payload {
            OutboxTrigger::Schedule(_) => requests.resume_fulfilment(deadline).await?,
            OutboxTrigger::Stream { .. } => 0,
        };
        tracing::info!(
            sent = report.sent,
            still_queued = report.still_queued,
            rejected = report.rejected,
            skipped = report.skipped,
            nothing_to_send = report.nothing_to_send,
            fulfilment_runs = resumed,
            tasks_sent = tasks.sent,
            tasks_retrying = tasks.retrying,
            tasks_dead_lettered = tasks.dead_lettered,
            tasks_waiting = tasks.waiting,
            "outbox drained"
        );
        let mut body = serde_json::to_value(report)?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("fulfilment_runs".to_owned(), serde_json::json!(resumed));
            fields.insert("tasks".to_owned(), serde_json::to_value(tasks)?);
        }
        report_calls(&calls);
        Ok::<_, lambda_runtime::Error>(body)
    }))
    .await
}
