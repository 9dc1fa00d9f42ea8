//! SPEC 4: the privacy team's API. Every route is behind the authoriser
//! (`lib.rs` answers 401 before routing when there is no principal).

use jiff::civil::Date;
use jiff::Timestamp;
use privacy_domain::dsr::detail::NoteError;
use privacy_domain::dsr::report_entry::DenialReason;
use privacy_domain::dsr::{DsrError, RequestStatus};
use privacy_domain::email::EmailAddress;
use privacy_domain::holds::{bookkeeping_hold_end, parse_reason};
use privacy_domain::newsletter::{LawfulBasis, ListId, Newsletter, NewsletterError};
use privacy_domain::person::PersonName;
use privacy_domain::register::CategoryId;
use privacy_domain::subject::SubjectKey;
use privacy_domain::FieldError;
use serde_json::{json, Map, Value};

use crate::dsr::{requests, status_view};
use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

/// Requests per page of `GET /admin/dsr`, unless `limit` says otherwise.
const QUEUE_PAGE_DEFAULT: usize = 50;
const QUEUE_PAGE_MAX: usize = 200;

/// `GET /admin/dsr`: one page of the queue, soonest due first.
pub async fn queue(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let requests = requests(app, &secrets, &links);
    let status = request
        .query_param("status")
        .filter(|s| !s.is_empty())
        .map(|raw| RequestStatus::parse("status", raw))
        .transpose()?;
    let due_before = request
        .query_param("due_before")
        .filter(|s| !s.is_empty())
        .map(|raw| {
            raw.parse()
                .map_err(|_| FieldError::invalid("due_before", "A date like 2026-12-31."))
        })
        .transpose()?;
    let limit = match request.query_param("limit").filter(|s| !s.is_empty()) {
        None => QUEUE_PAGE_DEFAULT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=QUEUE_PAGE_MAX).contains(limit))
            .ok_or_else(|| FieldError::invalid("limit", "A page holds 1 to 200 requests."))?,
    };
    let cursor = request.query_param("cursor").filter(|s| !s.is_empty());
    let page = match requests.queue_page(status, due_before, limit, cursor).await {
        Ok(page) => page,
        Err(DsrError::BadCursor) => {
            return Err(FieldError::invalid("cursor", "Use the next_cursor of the previous page as it came.").into())
        }
        Err(error) => return Err(ApiError::internal(&error)),
    };
    let queue = page.entries;
    let today = app
        .clock
        .now()
        .to_zoned_datetime(app.register.time_zone().clone())
        .date();
    let entries: Vec<Value> = queue
        .iter()
        .map(|entry| {
            let mut view = json!({"request_id": entry.request_id, "type": entry.request_type, "status": entry.status,
                       "jurisdiction": entry.jurisdiction, "received_at": entry.received_at,
                       "due_on": entry.due_on, "extended": entry.extended,
                       "days_left": (entry.due_on - today).get_days()});
            if let (Some(scope), Some(fields)) = (entry.scope, view.as_object_mut()) {
                fields.insert("scope".to_owned(), json!(scope.as_str()));
            }
            // The other systems' tasks as they stand, overdue ones first.
            if let (false, Some(fields)) = (entry.tasks.is_empty(), view.as_object_mut()) {
                let mut tasks: Vec<_> = entry.tasks.iter().collect();
                tasks.sort_by_key(|task| (!task.is_overdue(today), task.due_on));
                fields.insert("tasks".to_owned(), json!(tasks));
            }
            view
        })
        .collect();
    let mut body = json!({"requests": entries});
    if let (Some(next), Some(fields)) = (page.next, body.as_object_mut()) {
        fields.insert("next_cursor".to_owned(), json!(next));
    }
    Ok(ApiResponse::json(200, &body))
}

/// `GET /admin/dsr/{id}`: a request's detail for the console: its timeline,
/// its tasks, the mails about it (kind and when, no address), the team's
/// notes, and its due date with the days left on the controller's calendar.
pub async fn detail(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let id = params.get("request_id").unwrap_or_default();
    match requests(app, &secrets, &links).detail(id).await {
        Ok(detail) => {
            let mut view = status_view(app, &detail.request);
            if let Some(fields) = view.as_object_mut() {
                fields.insert("tasks".to_owned(), json!(detail.tasks));
                fields.insert("mails".to_owned(), json!(detail.mails));
                fields.insert("notes".to_owned(), json!(detail.request.notes));
                fields.insert("closed_at".to_owned(), json!(detail.request.closed_at));
            }
            Ok(ApiResponse::json(200, &view))
        }
        Err(DsrError::NotFound) => Err(ApiError::not_found(
            "request_not_found",
            "There is no verified request with this id.",
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// `POST /admin/dsr/{id}/notes {"text"}`: the acting member's note.
pub async fn add_note(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let id = params.get("request_id").unwrap_or_default();
    let body = request.json_object()?;
    refuse_unknown(&body, &["text"], "a note")?;
    let text = required_text(&body, "text")?;
    let principal = request.team_member();
    match requests(app, &secrets, &links).add_note(id, text, principal).await {
        Ok(noted) => {
            tracing::info!(principal, request_id = id, "note added");
            Ok(ApiResponse::json(201, &json!({"notes": noted.notes})))
        }
        Err(NoteError::Invalid(error)) => Err(error.into()),
        Err(NoteError::TooMany) => Err(ApiError::new(
            409,
            "too_many_notes",
            "This request holds as many notes as it may (50).",
        )),
        Err(NoteError::Request(DsrError::NotFound)) => Err(ApiError::not_found(
            "request_not_found",
            "There is no verified request with this id.",
        )),
        Err(NoteError::Request(DsrError::Closed)) => Err(ApiError::new(
            409,
            "request_closed",
            "The request is closed and its personal data removed: it takes no more notes.",
        )),
        Err(NoteError::Request(error)) => Err(ApiError::internal(&error)),
    }
}

/// The team's decisions on a request, each mailed to the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Extend,
    Complete,
    Reject,
}

/// `POST /admin/dsr/{id}/extend {"reason"}`.
pub async fn extend(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    decide(app, params, request, Decision::Extend).await
}

/// `POST /admin/dsr/{id}/complete {"note"}`.
pub async fn complete(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    decide(app, params, request, Decision::Complete).await
}

/// `POST /admin/dsr/{id}/reject {"reason", "reason_code"?}`.
pub async fn reject(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    decide(app, params, request, Decision::Reject).await
}

async fn decide(
    app: &App,
    params: &PathParams,
    request: &ApiRequest,
    decision: Decision,
) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let requests = requests(app, &secrets, &links);
    let principal = request.team_member();
    let id = params.get("request_id").unwrap_or_default();
    let body = request.json_object()?;
    let field = if decision == Decision::Complete {
        "note"
    } else {
        "reason"
    };
    let known: &[&str] = if decision == Decision::Reject {
        &["reason", "reason_code"]
    } else {
        &[field]
    };
    refuse_unknown(&body, known, "this decision")?;
    let text = parse_reason(field, required_text(&body, field)?)?;
    // The request report counts a rejection under its code (`other` when not given).
    let code = match optional_text(&body, "reason_code")? {
        Some(raw) if decision == Decision::Reject => DenialReason::parse("reason_code", raw)?,
        _ => DenialReason::Other,
    };
    let outcome = match decision {
        Decision::Extend => requests.extend(id, &text, principal).await,
        Decision::Complete => requests.complete(id, &text, principal).await,
        Decision::Reject => requests.reject_for(id, &text, code, principal).await,
    };
    tracing::info!(principal, request_id = id, decision = ?decision, "privacy team decision");
    match outcome {
        Ok(decided) => Ok(ApiResponse::json(200, &status_view(app, &decided))),
        Err(DsrError::NotFound) => Err(ApiError::not_found(
            "request_not_found",
            "There is no verified request with this id.",
        )),
        Err(DsrError::Closed) => Err(ApiError::new(409, "request_closed", "The request is already closed.")),
        Err(DsrError::Extension(refused)) => Err(ApiError::new(409, "extension_refused", refused.to_string())),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// `POST /admin/dsr/{id}/lift-restriction`: mails the person, then lifts it (Art. 18(3)).
pub async fn lift_restriction(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let requests = requests(app, &secrets, &links);
    let principal = request.team_member();
    let id = params.get("request_id").unwrap_or_default();
    let body = request.json_object()?;
    refuse_unknown(&body, &["reason"], "lifting a restriction")?;
    let reason = parse_reason("reason", required_text(&body, "reason")?)?;
    match requests.lift_restriction(id, &reason, principal).await {
        Ok(request) => {
            tracing::info!(principal, request_id = id, "restriction lifted by the privacy team");
            Ok(ApiResponse::json(200, &status_view(app, &request)))
        }
        Err(DsrError::NotFound) => Err(ApiError::not_found(
            "request_not_found",
            "There is no verified request with this id.",
        )),
        Err(DsrError::NotRestricted) => Err(ApiError::new(
            409,
            "not_restricted",
            "This request is not a restriction (or an objection waiting for the team) whose restriction is in force.",
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// `POST /admin/holds`: a legal hold, re-stamping what it covers.
pub async fn place_hold(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let principal = request.team_member();
    let body = request.json_object()?;
    refuse_unknown(
        &body,
        &["email", "category", "until", "fiscal_year_end", "reason"],
        "a legal hold",
    )?;
    let subject = subject(app, &body)?;
    let category: CategoryId = serde_json::from_value(Value::String(required_text(&body, "category")?.to_owned()))
        .map_err(|_| FieldError::invalid("category", "A category of the register, e.g. `invoicing`."))?;
    let until = hold_end(app, &body, category)?;
    let reason = parse_reason("reason", required_text(&body, "reason")?)?;
    let holds = app.ports().legal_holds();
    let (hold, restamped) = holds
        .place(&subject, category, until, reason, principal)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    tracing::info!(principal, hold_id = %hold.hold_id, restamped = restamped.restamped, "legal hold placed by the privacy team");
    Ok(ApiResponse::json(201, &hold))
}

/// `DELETE /admin/holds/{id}`: lifts a hold, keeping a record of who did.
pub async fn lift_hold(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let principal = request.team_member();
    let id = params
        .get("hold_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| FieldError::invalid("hold_id", "A hold id is a UUID."))?;
    let holds = app.ports().legal_holds();
    match holds
        .lift(id, principal)
        .await
        .map_err(|error| ApiError::internal(&error))?
    {
        Some(restamped) => {
            tracing::info!(principal, hold_id = %id, restamped = restamped.restamped, "legal hold lifted by the privacy team");
            Ok(ApiResponse::empty(204))
        }
        None => Err(ApiError::not_found("hold_not_found", "There is no such hold.")),
    }
}

/// `POST /admin/newsletter/subscribers`: a customer on legitimate interest.
pub async fn subscribe_customer(
    app: &App,
    _params: &PathParams,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let body = request.json_object()?;
    refuse_unknown(&body, &["email", "name", "basis"], "a customer subscription")?;
    if required_text(&body, "basis")? != "legitimate_interest" {
        return Err(FieldError::invalid("basis", "Customers are subscribed on `legitimate_interest`.").into());
    }
    let email = EmailAddress::parse("email", required_text(&body, "email")?)?;
    let name = optional_text(&body, "name")?
        .map(|raw| PersonName::parse("name", raw))
        .transpose()?;
    let newsletter = Newsletter {
        ports: app.ports(),
        secrets: &secrets,
        links: &links,
    };
    match newsletter
            .subscribe_customer(&email, name, &ListId::default_list())
            .await
        {
            Ok(()) => Ok(ApiResponse::json(
                201,
                &json!({"status": "confirmed", "basis": LawfulBasis::LegitimateInterest}),
            )),
            Err(NewsletterError::Suppressed) => Err(ApiError::new(
                409,
                "suppressed",
                "This person opted out or had their data erased; only their own new double opt-in can subscribe them again.",
            )
            .on_field("email")),
            Err(error) => Err(ApiError::internal(&error)),
        }
}

/// When a hold ends: `until`, or for `invoicing` the end of the bookkeeping
/// period of the fiscal year that ended on `fiscal_year_end` (Bokföringslagen 7:2).
fn hold_end(app: &App, body: &Map<String, Value>, category: CategoryId) -> Result<Timestamp, FieldError> {
    let until = optional_text(body, "until")?;
    let fiscal_year_end = optional_text(body, "fiscal_year_end")?;
    let end = match (until, fiscal_year_end) {
        (Some(_), Some(_)) => {
            return Err(FieldError::invalid(
                "fiscal_year_end",
                "Give either `until` or `fiscal_year_end`, not both.",
            ))
        }
        (None, None) if category == CategoryId::Invoicing => {
            return Err(FieldError::invalid(
                "until",
                "Give `until` (an RFC 3339 time) or `fiscal_year_end` (the day the fiscal year ended).",
            ))
        }
        (None, None) => return Err(FieldError::missing("until")),
        (Some(until), None) => {
            let until: Timestamp = until
                .parse()
                .map_err(|_| FieldError::invalid("until", "An RFC 3339 time, e.g. 2033-12-31T23:00:00Z."))?;
            if until <= app.clock.now() {
                return Err(FieldError::invalid("until", "A hold ends in the future."));
            }
            until
        }
        (None, Some(_)) if category != CategoryId::Invoicing => {
            return Err(FieldError::invalid(
                "fiscal_year_end",
                "Only an `invoicing` hold runs from the end of a fiscal year; give `until` instead.",
            ))
        }
        (None, Some(day)) => {
            let day: Date = day
                .parse()
                .map_err(|_| FieldError::invalid("fiscal_year_end", "A date like 2027-06-30."))?;
            let end = bookkeeping_hold_end(&app.register, day)
                .ok_or_else(|| FieldError::invalid("fiscal_year_end", "A date like 2027-06-30."))?;
            if end <= app.clock.now() {
                return Err(FieldError::invalid(
                    "fiscal_year_end",
                    "The bookkeeping records of that fiscal year need no longer be kept.",
                ));
            }
            end
        }
    };
    Ok(end)
}

fn subject(app: &App, body: &Map<String, Value>) -> Result<SubjectKey, ApiError> {
    let email = EmailAddress::parse("email", required_text(body, "email")?)?;
    Ok(SubjectKey::derive(app.pepper()?, &email))
}
