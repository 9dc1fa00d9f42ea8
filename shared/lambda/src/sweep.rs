//! The retention sweep as a scheduled Lambda function (SPEC 5).
//!
//! The function accepts the EventBridge scheduled event and judges retention
//! at the clock's "now". An event `{"now": "<RFC 3339>", "max_pages": n}`
//! (both optional) sets "now" and cuts the run short after `n` pages of the
//! due index; it is honoured only where the deployment sets
//! `ALLOW_NOW_OVERRIDE=true` (tests do, template.yaml does not), and refused
//! with a Lambda error everywhere else.
//!
//! The run stops taking new work [`DEADLINE_MARGIN`] before the invocation's
//! deadline, answers with the run's counts, and writes them to the log as
//! one CloudWatch embedded-metric-format line (namespace
//! [`METRICS_NAMESPACE`], dimension `FunctionName`).

use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{service_fn, LambdaEvent};
use privacy_domain::email::EmailAddress;
use privacy_domain::register::CategoryId;
use privacy_domain::retention::{category_name, PrivacyTeam, RetentionSweep, SweepLimits, SweepRun};
use privacy_domain::subject::SubjectKey;
use privacy_http::App;
use serde_json::{json, Map, Value};

use crate::{app_from_env, ConfigError, Needs};

/// The variable that lets an invoking event set "now" (tests only).
pub const NOW_OVERRIDE_FLAG: &str = "ALLOW_NOW_OVERRIDE";
/// How long before the invocation's deadline the sweep stops taking new
/// work: enough to save the checkpoint, send the digest and write the run record.
pub const DEADLINE_MARGIN: SignedDuration = SignedDuration::from_secs(10);
/// The CloudWatch namespace of the sweep's metrics.
pub const METRICS_NAMESPACE: &str = "PrivacyBackend/RetentionSweep";

#[derive(Debug, thiserror::Error)]
pub enum SweepConfigError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("PRIVACY_TEAM_ADDRESS is not a valid e-mail address")]
    TeamAddress,
}

/// Everything an invocation needs, built once at start-up.
pub struct SweepFunction {
    pub app: App,
    pub privacy_team: PrivacyTeam,
    /// Whether an event may set "now" and a page limit.
    pub allow_now_override: bool,
    /// The `FunctionName` dimension of the metrics.
    pub function_name: String,
}

/// Builds the function from the environment: what [`app_from_env`] reads for
/// a mailing function, plus `PRIVACY_TEAM_ADDRESS`, the subject pepper
/// (`SUBJECT_PEPPER` or the SSM parameter named by `SUBJECT_PEPPER_PARAMETER`:
/// the digest's mail log is kept under the team address's subject key) and
/// `ALLOW_NOW_OVERRIDE`.
pub async fn sweep_from_env() -> Result<SweepFunction, SweepConfigError> {
    let app = app_from_env(Needs {
        pepper: true,
        token_key: false,
        mail: true,
        systems: false,
    })
    .await?;
    let address = EmailAddress::parse("PRIVACY_TEAM_ADDRESS", &crate::required("PRIVACY_TEAM_ADDRESS")?)
        .map_err(|_| SweepConfigError::TeamAddress)?;
    let pepper = app.pepper.as_ref().ok_or(ConfigError::Missing("SUBJECT_PEPPER"))?;
    let subject = SubjectKey::derive(pepper, &address);
    Ok(SweepFunction {
        app,
        privacy_team: PrivacyTeam { address, subject },
        allow_now_override: crate::optional(NOW_OVERRIDE_FLAG).as_deref() == Some("true"),
        function_name: crate::optional("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "retention-sweep".to_owned()),
    })
}

/// What an invoking event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The EventBridge schedule: "now" is the clock's.
    Scheduled,
    /// A test's event: "now" (the clock's when absent) and a page limit.
    Override {
        now: Option<Timestamp>,
        max_pages: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error("the event sets \"now\" or \"max_pages\", which this deployment does not allow ({NOW_OVERRIDE_FLAG} is not true)")]
    OverrideNotAllowed,
    #[error("\"now\" must be an RFC 3339 timestamp")]
    InvalidNow,
    #[error("\"max_pages\" must be a positive integer")]
    InvalidMaxPages,
    #[error("the override event has the unknown field `{0}`")]
    UnknownField(String),
    #[error("the event is neither an EventBridge scheduled event nor a {{\"now\": …}} override")]
    Unrecognised,
}

/// Reads the invoking event. An override is refused unless `allow_override`.
pub fn parse_trigger(event: &Value, allow_override: bool) -> Result<Trigger, TriggerError> {
    let fields = event.as_object().ok_or(TriggerError::Unrecognised)?;
    if fields.contains_key("now") || fields.contains_key("max_pages") {
        if !allow_override {
            return Err(TriggerError::OverrideNotAllowed);
        }
        if let Some(unknown) = fields.keys().find(|name| !matches!(name.as_str(), "now" | "max_pages")) {
            return Err(TriggerError::UnknownField(unknown.clone()));
        }
        let now = fields
            .get("now")
            .map(|now| {
                now.as_str()
                    .and_then(|text| text.parse::<Timestamp>().ok())
                    .ok_or(TriggerError::InvalidNow)
            })
            .transpose()?;
        let max_pages = fields
            .get("max_pages")
            .map(|max| {
                max.as_u64()
                    .and_then(|max| u32::try_from(max).ok())
                    .filter(|max| *max > 0)
                    .ok_or(TriggerError::InvalidMaxPages)
            })
            .transpose()?;
        return Ok(Trigger::Override { now, max_pages });
    }
    let scheduled = fields.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && fields.get("source").and_then(Value::as_str) == Some("aws.events");
    if scheduled {
        Ok(Trigger::Scheduled)
    } else {
        Err(TriggerError::Unrecognised)
    }
}

impl SweepFunction {
    /// One invocation: the run's counts, or a Lambda error (a refused event,
    /// a store that failed) that Lambda retries and finally sends to the
    /// on-failure destination.
    pub async fn handle(&self, event: &Value, deadline_ms: u64) -> Result<Value, lambda_runtime::Error> {
        let trigger = parse_trigger(event, self.allow_now_override).inspect_err(|error| {
            tracing::error!(%error, "retention sweep event refused");
        })?;
        let wall = self.app.clock.now();
        let (now, limits) = match trigger {
            Trigger::Scheduled => (wall, SweepLimits::default()),
            Trigger::Override { now, max_pages } => {
                let now = now.unwrap_or(wall);
                tracing::warn!(%now, ?max_pages, "retention sweep with an overridden now (tests only)");
                (
                    now,
                    SweepLimits {
                        max_pages,
                        ..SweepLimits::default()
                    },
                )
            }
        };
        let deadline = Timestamp::from_millisecond(i64::try_from(deadline_ms).unwrap_or(i64::MAX))
            .unwrap_or(Timestamp::MAX)
            .checked_sub(DEADLINE_MARGIN)
            .unwrap_or(Timestamp::MIN);
        let sweep = RetentionSweep {
            ports: self.app.ports(),
            privacy_team: &self.privacy_team,
        };
        let run = sweep.run_with_limits(now, deadline, limits).await?;
        // The embedded metric format must be the whole log line, not a field of a tracing event.
        println!("{}", emf_document(&run, &self.function_name));
        Ok(serde_json::to_value(&run)?)
    }
}

/// Runs the Lambda runtime loop for the scheduled retention sweep.
pub async fn serve_retention_sweep(function: SweepFunction) -> Result<(), lambda_runtime::Error> {
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let calls = privacy_aws::calls::Tally::begin();
        let result = function.handle(&event.payload, event.context.deadline).await;
        crate::report_calls(&calls);
        result
    }))
    .await
}

/// The run's counts as one CloudWatch embedded-metric-format document:
/// run totals, and deleted/minimised/held per register category (every
/// category, zero included, so that the graphs have no gaps).
pub fn emf_document(run: &SweepRun, function_name: &str) -> Value {
    let mut values: Vec<(String, u64, &str)> = vec![
        ("ItemsRead".to_owned(), run.items_read, "Count"),
        ("ItemsReadDueIndex".to_owned(), run.reads.due_index, "Count"),
        ("ItemsReadHolds".to_owned(), run.reads.holds, "Count"),
        ("Deleted".to_owned(), run.deleted, "Count"),
        ("Minimised".to_owned(), run.minimised, "Count"),
        ("Held".to_owned(), run.held, "Count"),
        ("AlreadyGone".to_owned(), run.already_gone, "Count"),
        ("Rescheduled".to_owned(), run.rescheduled, "Count"),
        ("Contended".to_owned(), run.contended, "Count"),
        ("Pages".to_owned(), u64::from(run.pages), "Count"),
        ("DigestEntries".to_owned(), run.digest.entries as u64, "Count"),
        ("DigestOverdue".to_owned(), run.digest.overdue as u64, "Count"),
        ("OutboxSent".to_owned(), run.outbox.sent as u64, "Count"),
        ("OutboxStillQueued".to_owned(), run.outbox.still_queued as u64, "Count"),
        (
            "Completed".to_owned(),
            u64::from(run.outcome == privacy_domain::retention::SweepOutcome::Completed),
            "Count",
        ),
        ("Duration".to_owned(), run.duration_ms, "Milliseconds"),
    ];
    let categories = CategoryId::ALL.into_iter().map(Some).chain([None]).map(category_name);
    for name in categories {
        let counts = run.categories.get(&name).copied().unwrap_or_default();
        values.push((format!("Deleted.{name}"), counts.deleted, "Count"));
        values.push((format!("Minimised.{name}"), counts.minimised, "Count"));
        values.push((format!("Held.{name}"), counts.held, "Count"));
    }
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": run.finished_at.as_millisecond(),
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": definitions,
            }],
        }),
    );
    document.insert("FunctionName".to_owned(), json!(function_name));
    for (name, value, _) in values {
        document.insert(name, json!(value));
    }
    // Properties that are not metrics: searchable in Logs Insights.
    document.insert("run_id".to_owned(), json!(run.run_id));
    document.insert("outcome".to_owned(), json!(run.outcome));
    document.insert("now".to_owned(), json!(run.now));
    document.insert("swept_through".to_owned(), json!(run.swept_through));
    Value::Object(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduled() -> Value {
        json!({
            "version": "0",
            "id": "7c9e2a4f-1b3d-4e6a-8f0c-5d2b9e7a1c3f",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-03-14T02:00:00Z",
            "region": "eu-north-1",
            "resources": ["arn:aws:events:eu-north-1:123456789012:rule/sweep"],
            "detail": {}
        })
    }

    #[test]
    fn a_scheduled_event_runs_at_the_clocks_now() {
        assert_eq!(parse_trigger(&scheduled(), false), Ok(Trigger::Scheduled));
        assert_eq!(parse_trigger(&scheduled(), true), Ok(Trigger::Scheduled));
    }

    #[test]
    fn now_is_honoured_only_where_the_deployment_allows_it() {
        let event = json!({"now": "2027-03-01T12:00:00Z"});
        assert_eq!(parse_trigger(&event, false), Err(TriggerError::OverrideNotAllowed));
        assert_eq!(
            parse_trigger(&json!({"max_pages": 1}), false),
            Err(TriggerError::OverrideNotAllowed)
        );
        assert_eq!(
            parse_trigger(&event, true),
            Ok(Trigger::Override {
                now: Some("2027-03-01T12:00:00Z".parse().unwrap()),
                max_pages: None
            })
        );
        assert_eq!(
            parse_trigger(&json!({"now": "2027-03-01T12:00:00Z", "max_pages": 1}), true),
            Ok(Trigger::Override {
                now: Some("2027-03-01T12:00:00Z".parse().unwrap()),
                max_pages: Some(1)
            })
        );
    }

    #[test]
    fn malformed_events_are_refused() {
        for (event, error) in [
            (json!(["not", "an", "event"]), TriggerError::Unrecognised),
            (json!({}), TriggerError::Unrecognised),
            (
                json!({"detail-type": "Something Else", "source": "aws.events"}),
                TriggerError::Unrecognised,
            ),
            (json!({"now": "yesterday"}), TriggerError::InvalidNow),
            (json!({"now": 1_700_000_000}), TriggerError::InvalidNow),
            (json!({"max_pages": 0}), TriggerError::InvalidMaxPages),
            (json!({"max_pages": "1"}), TriggerError::InvalidMaxPages),
            (
                json!({"now": "2027-03-01T12:00:00Z", "max_page": 1}),
                TriggerError::UnknownField("max_page".to_owned()),
            ),
        ] {
            assert_eq!(parse_trigger(&event, true), Err(error), "{event}");
        }
    }
}
