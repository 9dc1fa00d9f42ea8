//! SPEC 9: newsletter issues, for the privacy team. Writing an issue stores
//! it with a due entry; the planner function (every minute) and the sender
//! function (the queue) do the rest.

use privacy_domain::email::EmailAddress;
use privacy_domain::newsletter::issues::{IssueDraft, IssueError, IssueReport, IssueStatus, Issues, SendOutcome};
use serde_json::{json, Value};

use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

const LIST_DEFAULT: usize = 20;
const LIST_MAX: usize = 50;

fn issues(app: &App) -> Issues<'_> {
    Issues { ports: app.ports() }
}

fn failed(error: IssueError) -> ApiError {
    match error {
        IssueError::NotFound => ApiError::not_found("issue_not_found", "There is no issue with this id."),
        IssueError::Finished(status) => ApiError::new(
            409,
            "issue_finished",
            format!("The issue is {} already: nothing is left to stop.", status_name(status)),
        ),
        other => ApiError::internal(&other),
    }
}

fn status_name(status: IssueStatus) -> &'static str {
    match status {
        IssueStatus::Scheduled => "scheduled",
        IssueStatus::Planning => "planning",
        IssueStatus::Sending => "sending",
        IssueStatus::Sent => "sent",
        IssueStatus::Cancelled => "cancelled",
    }
}

/// An issue as the API shows it; `content` adds the text and HTML.
fn view(report: &IssueReport, content: bool) -> Value {
    let issue = &report.issue;
    let counts = &report.counts;
    let mut view = json!({
        "issue_id": issue.issue_id,
        "list": issue.list,
        "subject": issue.subject,
        "status": status_name(report.status),
        "send_at": issue.send_at,
        "created_at": issue.created_at,
        "created_by": issue.created_by,
        "test_sends": issue.test_sends,
        "counts": {
            "audience": issue.audience,
            "sent": counts.get(SendOutcome::Sent),
            "skipped": {
                "suppressed": counts.get(SendOutcome::SkippedSuppressed),
                "restricted": counts.get(SendOutcome::SkippedRestricted),
                "objected": counts.get(SendOutcome::SkippedObjected),
            },
            "bounced": counts.get(SendOutcome::Bounced),
            "failed": counts.get(SendOutcome::Failed),
            "not_sent": report.not_sent,
        },
    });
    if let Some(fields) = view.as_object_mut() {
        for (name, at) in [("planned_at", issue.planned_at), ("cancelled_at", issue.cancelled_at)] {
            if let Some(at) = at {
                fields.insert(name.to_owned(), json!(at));
            }
        }
        if content {
            fields.insert("text".to_owned(), json!(issue.text));
            fields.insert("html".to_owned(), json!(issue.html));
        }
    }
    view
}

/// `POST /admin/newsletter/issues {"list", "subject", "text", "html"?, "send_at"?}`.
pub async fn create(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let body = request.json_object()?;
    refuse_unknown(&body, &["list", "subject", "text", "html", "send_at"], "an issue")?;
    let draft = IssueDraft::parse(
        required_text(&body, "list")?,
        required_text(&body, "subject")?,
        required_text(&body, "text")?,
        optional_text(&body, "html")?,
        optional_text(&body, "send_at")?,
        app.clock.now(),
    )?;
    let issue = issues(app).create(draft, request.team_member()).await.map_err(failed)?;
    Ok(ApiResponse::json(
        202,
        &json!({"issue_id": issue.issue_id, "status": "scheduled", "send_at": issue.send_at}),
    ))
}

/// `GET /admin/newsletter/issues?limit=`: the newest issues first, with their counts.
pub async fn list(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let limit = match request.query_param("limit").filter(|s| !s.is_empty()) {
        None => LIST_DEFAULT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=LIST_MAX).contains(limit))
            .ok_or_else(|| privacy_domain::FieldError::invalid("limit", "A page holds 1 to 50 issues."))?,
    };
    let issues = issues(app);
    let mut views = Vec::new();
    for issue in issues.newest(limit).await.map_err(failed)? {
        views.push(view(&issues.report(&issue.issue_id).await.map_err(failed)?, false));
    }
    Ok(ApiResponse::json(200, &json!({"issues": views})))
}

/// `GET /admin/newsletter/issues/{issue_id}`: status, counts and content.
pub async fn show(app: &App, params: &PathParams, _request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let id = params.get("issue_id").unwrap_or_default();
    let report = issues(app).report(id).await.map_err(failed)?;
    Ok(ApiResponse::json(200, &view(&report, true)))
}

/// `POST /admin/newsletter/issues/{issue_id}/test {"to"}`: one test mail.
pub async fn test(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let id = params.get("issue_id").unwrap_or_default();
    let body = request.json_object()?;
    refuse_unknown(&body, &["to"], "a test send")?;
    let to = EmailAddress::parse("to", required_text(&body, "to")?)?;
    let (pepper, token_key) = (app.pepper()?, app.token_key()?);
    let links = app.links(request);
    match issues(app)
        .send_test(id, &to, (pepper, token_key), &links, app.mailer.as_ref())
        .await
    {
        Ok(()) => Ok(ApiResponse::json(200, &json!({"issue_id": id, "test_sent": true}))),
        Err(IssueError::Mail(error)) if !error.is_transient() => Err(ApiError::new(
            422,
            "mail_rejected",
            "The mail service refused the test mail to this address.",
        )
        .on_field("to")),
        Err(IssueError::Mail(_)) => Err(ApiError::new(
            503,
            "mail_unavailable",
            "The mail service is unavailable; try the test again later.",
        )),
        Err(error) => Err(failed(error)),
    }
}

/// `POST /admin/newsletter/issues/{issue_id}/cancel`: stops what is not yet sent.
pub async fn cancel(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let id = params.get("issue_id").unwrap_or_default();
    issues(app).cancel(id, request.team_member()).await.map_err(failed)?;
    let report = issues(app).report(id).await.map_err(failed)?;
    Ok(ApiResponse::json(200, &view(&report, false)))
}
