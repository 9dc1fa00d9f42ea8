//! SPEC 3.3: data subject requests — intake, verification, status.

use privacy_domain::consent::ConsentId;
use privacy_domain::dsr::deadline::Jurisdiction;
use privacy_domain::dsr::{
    parse_details, Corrections, DataSubjectRequest, DsrError, LinkPurpose, ObjectionScope, RequestStatus, RequestType,
    Requests,
};
use privacy_domain::email::EmailAddress;
use privacy_domain::person::PersonName;
use privacy_domain::tokens::Secrets;
use privacy_domain::FieldError;
use serde_json::{json, Map, Value};

use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::html::{confirm_button, form_error, invalid_link, page, server_error};
use crate::message::BodyFormat;
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

const FIELDS: &[&str] = &[
    "type",
    "email",
    "name",
    "jurisdiction",
    "scope",
    "details",
    "corrections",
    "consent_id",
];

pub fn requests<'a>(app: &'a App, secrets: &'a Secrets, links: &'a privacy_domain::newsletter::Links) -> Requests<'a> {
    Requests {
        ports: app.ports(),
        secrets,
        links,
        privacy_team: app.settings.privacy_team_address.as_ref(),
        systems: app.systems_scope(),
    }
}

/// `POST /dsr`: a request received (SPEC 3.3).
pub async fn submit(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    take_submission(app, &requests(app, &secrets, &links), request).await
}

/// `GET /dsr/verify`: the link's page; changes nothing.
pub async fn verify_page(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    Ok(link_page(&requests(app, &secrets, &links), request).await)
}

/// `POST /dsr/verify`: the link's button.
pub async fn verify(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    follow_link(&requests(app, &secrets, &links), request).await
}

/// `GET /dsr/{request_id}?token=`: the requester's view of their request.
pub async fn status(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let id = params.get("request_id").unwrap_or_default();
    let token = request.query_param("token").unwrap_or_default();
    match requests(app, &secrets, &links).status(id, token).await {
        Ok(found) => Ok(ApiResponse::json(200, &status_view(app, &found))),
        Err(DsrError::NotFound) => Err(ApiError::not_found("request_not_found", "There is no such request.")),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// What the requester sees of their request.
pub fn status_view(app: &App, request: &DataSubjectRequest) -> Value {
    let tz = app.register.time_zone();
    let deadline = request.deadline(tz);
    let mut view = json!({
        "request_id": request.request_id,
        "type": request.request_type.as_str(),
        "status": request.status.as_str(),
        "jurisdiction": request.jurisdiction,
        "received_at": request.received_at,
        "due_at": deadline.due_at(tz),
        "due_on": deadline.due_on(),
        "days_left": deadline.days_left(app.clock.now(), tz),
        "extended": request.extended,
        "events": request.events,
    });
    if let (Some(scope), Some(fields)) = (request.scope, view.as_object_mut()) {
        fields.insert("scope".to_owned(), json!(scope.as_str()));
    }
    // Art. 19: the recipients told of an erasure, rectification or restriction.
    let told = privacy_domain::dsr::tasks::recipients_told(&app.register, request.request_type, &request.tasks);
    if let (false, Some(fields)) = (told.is_empty(), view.as_object_mut()) {
        fields.insert("recipients_notified".to_owned(), json!(told));
    }
    view
}

async fn take_submission(app: &App, requests: &Requests<'_>, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (fields, format) = request.form_or_json()?;
    let submission = match submission(&fields, format, request) {
        Ok(submission) => submission,
        Err(error) if format == BodyFormat::Form => return Ok(form_error(&error, app.form_page(request))),
        Err(error) => return Err(error.into()),
    };
    match requests.submit(submission).await {
        Ok(submitted) => Ok(match format {
            BodyFormat::Json => ApiResponse::json(
                202,
                &json!({"request_id": submitted.request_id, "status": submitted.status.as_str()}),
            ),
            BodyFormat::Form => ApiResponse::see_other(&app.settings.dsr_thank_you_url),
        }),
        Err(error) if format == BodyFormat::Form => {
            ApiError::internal(&error);
            Ok(server_error())
        }
        Err(error) => Err(ApiError::internal(&error)),
    }
}

fn submission(
    fields: &Map<String, Value>,
    format: BodyFormat,
    request: &ApiRequest,
) -> Result<privacy_domain::dsr::Submission, FieldError> {
    if format == BodyFormat::Json {
        refuse_unknown(fields, FIELDS, "a request")?;
    }
    let request_type = RequestType::parse("type", required_text(fields, "type")?)?;
    let jurisdiction = optional_text(fields, "jurisdiction")?
        .map(|raw| Jurisdiction::parse("jurisdiction", raw))
        .transpose()?;
    let scope = optional_text(fields, "scope")?
        .map(|raw| ObjectionScope::parse("scope", raw))
        .transpose()?;
    if scope.is_some() && request_type != RequestType::Objection {
        return Err(FieldError::invalid("scope", "Only an objection has a scope."));
    }
    let corrections = corrections(fields)?;
    let details = optional_text(fields, "details")?
        .map(|raw| parse_details("details", raw))
        .transpose()?
        .flatten();
    if matches!(request_type, RequestType::Rectification | RequestType::CcpaCorrect)
        && corrections.is_none()
        && details.is_none()
    {
        return Err(FieldError::new(
            "corrections",
            "corrections_required",
            "Say what should be corrected: give corrections or details.",
        ));
    }
    Ok(privacy_domain::dsr::Submission {
        request_type,
        email: EmailAddress::parse("email", required_text(fields, "email")?)?,
        name: optional_text(fields, "name")?
            .map(|raw| PersonName::parse("name", raw))
            .transpose()?,
        jurisdiction,
        scope,
        details,
        corrections,
        consent_id: optional_text(fields, "consent_id")?
            .map(|raw| ConsentId::parse("consent_id", raw))
            .transpose()?,
        channel: match format {
            BodyFormat::Json => "api",
            BodyFormat::Form => "form",
        },
        ip: request.source_ip,
    })
}

/// `{"name"?, "email"?}` in JSON; `corrections.name` / `corrections.email` in a form.
fn corrections(fields: &Map<String, Value>) -> Result<Option<Corrections>, FieldError> {
    let object = match fields.get("corrections") {
        None | Some(Value::Null) => {
            let mut flat = Map::new();
            for name in ["name", "email"] {
                if let Some(value) = fields.get(&format!("corrections.{name}")) {
                    flat.insert(name.to_owned(), value.clone());
                }
            }
            if flat.is_empty() {
                return Ok(None);
            }
            flat
        }
        Some(Value::Object(object)) => object.clone(),
        Some(_) => {
            return Err(FieldError::invalid(
                "corrections",
                "Corrections are an object: {\"name\", \"email\"}.",
            ))
        }
    };
    refuse_unknown(&object, &["name", "email"], "corrections").map_err(|mut error| {
        error.field = error.field.map(|field| format!("corrections.{field}"));
        error
    })?;
    let corrections = Corrections {
        name: optional_text(&object, "name")
            .map_err(|_| FieldError::invalid("corrections.name", "A name is text."))?
            .map(|raw| PersonName::parse("corrections.name", raw))
            .transpose()?,
        email: optional_text(&object, "email")
            .map_err(|_| FieldError::invalid("corrections.email", "An address is text."))?
            .map(|raw| EmailAddress::parse("corrections.email", raw).map(|email| email.as_str().to_owned()))
            .transpose()?,
    };
    Ok((corrections.name.is_some() || corrections.email.is_some()).then_some(corrections))
}

/// The page of a `/dsr/verify` link: says what confirming will do (for a
/// rectification, the changes asked for; for a new address's link, what
/// moves to it) and offers one button that POSTs. Mail scanners and link
/// previews follow every link, so GET changes nothing.
async fn link_page(requests: &Requests<'_>, request: &ApiRequest) -> ApiResponse {
    let token = request.query_param("token").unwrap_or_default();
    let pending = match requests.preview(token).await {
        Ok((LinkPurpose::Verification, pending)) => pending,
        Ok((LinkPurpose::NewAddress, pending)) => {
            let asked = format!(
                "A privacy request (reference {}) asks us to use this address instead of another one: \
                 the newsletter subscription of that address would move here.",
                pending.request_id
            );
            return page(
                200,
                "Confirm your new address",
                &[
                    &asked,
                    "Confirming tells us that this address is yours and that you want it used. Nothing moves here until you do.",
                    "If you did not ask for this, close this page: nothing happens without the button.",
                ],
                &confirm_button("/dsr/verify", token, "Confirm this address"),
            );
        }
        Err(DsrError::InvalidToken) => return invalid_link(),
        Err(error) => {
            ApiError::internal(&error);
            return server_error();
        }
    };
    let mut paragraphs = vec![format!(
        "You asked us for {} (reference {}), received on {}.",
        pending.request_type.title(),
        pending.request_id,
        pending.received_on
    )];
    if let Some(corrections) = &pending.corrections {
        let mut changes = Vec::new();
        if let Some(name) = &corrections.name {
            changes.push(format!("your name to \u{201c}{}\u{201d}", name.as_str()));
        }
        if let Some(email) = &corrections.email {
            changes.push(format!("your e-mail address to {email}"));
        }
        if !changes.is_empty() {
            paragraphs.push(format!("The change you asked for: {}.", changes.join("; ")));
        }
    }
    paragraphs.push(confirm_effect(pending.request_type).to_owned());
    paragraphs.push("If you did not ask for this, close this page: nothing happens without the button.".to_owned());
    let paragraphs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    page(
        200,
        "Confirm your privacy request",
        &paragraphs,
        &confirm_button("/dsr/verify", token, "Confirm my request"),
    )
}

/// What pressing the confirmation button sets in motion, by type.
fn confirm_effect(request_type: RequestType) -> &'static str {
    match request_type {
        RequestType::Erasure | RequestType::CcpaDelete => {
            "Confirming tells us the address is yours. We then erase your personal data, except what the law makes us keep; this cannot be undone."
        }
        RequestType::Access | RequestType::Portability | RequestType::Source | RequestType::CcpaKnow => {
            "Confirming tells us the address is yours. We then mail a copy of your personal data to this address."
        }
        RequestType::Rectification | RequestType::CcpaCorrect => {
            "Confirming tells us the address is yours. We then apply the change or, where we cannot, our privacy team handles it."
        }
        RequestType::Restriction | RequestType::Objection => {
            "Confirming tells us the address is yours. We then stop mailing you and our privacy team handles the request."
        }
        RequestType::CcpaOptOut => "Confirming tells us the address is yours.",
    }
}

/// The button's POST (form field `token` from the page, or JSON
/// `{"token"}`): verifies the request, or confirms a rectification's new address.
async fn follow_link(requests: &Requests<'_>, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let Some(token) = request.posted_token()? else {
        return Ok(invalid_link());
    };
    Ok(match requests.follow(&token).await {
        Ok((LinkPurpose::NewAddress, confirmed)) => {
            let outcome = if confirmed.status == RequestStatus::Completed {
                "The subscription now uses this address."
            } else {
                "Our privacy team completes the change."
            };
            page(
                200,
                "Your address is confirmed",
                &["Thank you: we know this address is yours.", outcome],
                "",
            )
        }
        Ok((LinkPurpose::Verification, verified)) => {
            let outcome = match verified.status {
                RequestStatus::Completed => "It has been carried out; a mail tells you what was done.",
                _ if verified.new_address_digest.is_some() => {
                    "The new address has been mailed its own link: nothing moves to it until it is confirmed there. A mail tells you the deadline and how to follow your request."
                }
                _ => "Our privacy team is handling it; a mail tells you the deadline and how to follow it.",
            };
            page(
                200,
                "Your request is confirmed",
                &["Thank you: we know the address is yours.", outcome],
                "",
            )
        }
        Err(DsrError::InvalidToken) => invalid_link(),
        Err(error) => {
            ApiError::internal(&error);
            server_error()
        }
    })
}
