//! SPEC 8: answers to the tasks sent to systems of record.
//!
//! - `POST /systems/tasks/{task_id}`: the system's own answer, signed with
//!   its secret (`Privacy-Signature`, as the webhook it received). The
//!   signature is checked before anything else: without a valid one the
//!   answer is a plain 401 — whether the task exists, whether the system is
//!   configured, or whether the signature was stale or wrong is not said
//!   (a caller without the secret learns nothing about which tasks exist).
//!   Once the signature proves the caller is the system the task id names,
//!   an unknown task is a 404 and a second answer a 409: that system may
//!   know about its own tasks.
//! - `POST /admin/dsr/{request_id}/tasks/{task_id}`: the team records the
//!   answer (a `manual` system, or one that did not answer), with the acting
//!   member's `sub`.

use privacy_domain::dsr::tasks::answers::{Answerer, TaskAnswer, TaskError};
use privacy_domain::dsr::tasks::parse_task_id;
use privacy_domain::dsr::tasks::signature::{self, SIGNATURE_HEADER};
use privacy_domain::FieldError;
use serde_json::{json, Value};

use crate::dsr::requests;
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

/// The largest answer: an access request's `data` travels in it, and the
/// task record holding it must fit a DynamoDB item (400 KB).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

fn unauthorised() -> ApiError {
    ApiError::new(401, "unauthorized", "A valid Privacy-Signature is required.")
}

/// `POST /systems/tasks/{task_id}`: a system's signed answer.
pub async fn answer_from_system(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let task_id = params.get("task_id").unwrap_or_default();
    if request.body.len() > MAX_ANSWER_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            "The answer is larger than 256 KiB.",
        ));
    }
    // The system the id names, and its secret: nothing else can sign for it.
    let system = parse_task_id(task_id).map(|(_, system)| system);
    let secret = system.and_then(|system| app.systems.as_ref()?.secret(system));
    let (Some(system), Some(secret)) = (system, secret) else {
        tracing::warn!(
            task_id,
            "task answer refused: no system with a secret is named by the id"
        );
        return Err(unauthorised());
    };
    let header = request.header(SIGNATURE_HEADER).unwrap_or_default();
    if let Err(error) = signature::verify(secret.as_bytes(), header, &request.body, app.clock.now()) {
        tracing::warn!(task_id, %error, "task answer refused");
        return Err(unauthorised());
    }
    if request.media_type().as_deref() != Some("application/json") {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send the body as application/json.",
        ));
    }
    let answer = parse_answer(&request.body)?;
    record(app, request, task_id, &answer, &Answerer::System(system.to_owned())).await
}

/// `POST /admin/dsr/{request_id}/tasks/{task_id}`: the team's answer for a system.
pub async fn answer_for_system(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let request_id = params.get("request_id").unwrap_or_default();
    let task_id = params.get("task_id").unwrap_or_default();
    if parse_task_id(task_id).is_none_or(|(of, _)| of != request_id) {
        return Err(no_such_task());
    }
    let fields = request.json_object()?;
    let answer = TaskAnswer::parse(&Value::Object(fields))?;
    let sub = request.team_member().to_owned();
    record(app, request, task_id, &answer, &Answerer::Team(sub)).await
}

fn parse_answer(body: &[u8]) -> Result<TaskAnswer, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(400, "malformed_json", "The body is not valid JSON.").on_field("body"))?;
    Ok(TaskAnswer::parse(&value)?)
}

fn no_such_task() -> ApiError {
    ApiError::not_found("task_not_found", "There is no such task.")
}

async fn record(
    app: &App,
    request: &ApiRequest,
    task_id: &str,
    answer: &TaskAnswer,
    by: &Answerer,
) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    match requests(app, &secrets, &links).answer_task(task_id, answer, by).await {
        Ok(task) => Ok(ApiResponse::json(200, &json!({"task": task}))),
        Err(TaskError::UnknownTask) => Err(no_such_task()),
        Err(TaskError::AlreadyAnswered) => Err(ApiError::new(
            409,
            "already_answered",
            "This task has already been answered; its answer stands.",
        )),
        Err(TaskError::DataNotExpected) => {
            Err(FieldError::invalid("data", "Only a system's answer to an access request returns data.").into())
        }
        Err(TaskError::Contended) => Err(ApiError::new(
            503,
            "busy",
            "The task is changing; try again in a moment.",
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}
