//! SPEC 10: the privacy team's reports and the proof of consent. Behind the
//! same authoriser as every `/admin` route (`lib.rs` answers 401/403 first).

use privacy_domain::email::EmailAddress;
use privacy_domain::reports::{self, DayRange};
use privacy_domain::subject::SubjectKey;
use serde_json::json;

use crate::consent::{consent_error, consent_id};
use crate::fields::{refuse_unknown, required_text};
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

/// `GET /admin/consent/{consent_id}/proof`: every receipt, the checkpoint
/// and the verdict of verifying the hash chain.
pub async fn consent_proof(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let consent_id = consent_id(params)?;
    let proof = app
        .ports()
        .consent_ledger()
        .proof(consent_id)
        .await
        .map_err(consent_error)?;
    let principal = request.team_member();
    tracing::info!(
        principal,
        intact = proof.verification.intact,
        receipts = proof.receipts.len(),
        "proof of consent read by the privacy team"
    );
    Ok(ApiResponse::json(200, &proof))
}

/// `POST /admin/consent/proofs {"email"}`: the proof of every consent
/// history linked to a person, for an auditor or a dispute about them. The
/// address travels in the body, never in a URL, and is logged nowhere.
pub async fn consent_proofs_of_person(
    app: &App,
    _params: &PathParams,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body = request.json_object()?;
    refuse_unknown(&body, &["email"], "a proof of consent for a person")?;
    let email = EmailAddress::parse("email", required_text(&body, "email")?)?;
    let subject = SubjectKey::derive(app.pepper()?, &email);
    let proofs = app
        .ports()
        .consent_ledger()
        .proofs_of_person(&subject)
        .await
        .map_err(consent_error)?;
    tracing::info!(
        principal = request.team_member(),
        subject = subject.short(),
        histories = proofs.len(),
        intact = proofs.iter().all(|proof| proof.verification.intact),
        "proof of consent for a person read by the privacy team"
    );
    Ok(ApiResponse::json(200, &json!({ "proofs": proofs })))
}

/// Today on the controller's calendar (reports count days there).
fn today(app: &App) -> jiff::civil::Date {
    app.clock
        .now()
        .to_zoned_datetime(app.register.time_zone().clone())
        .date()
}

/// A query parameter, `None` when absent or empty.
fn param<'r>(request: &'r ApiRequest, name: &str) -> Option<&'r str> {
    request.query_param(name).filter(|value| !value.is_empty())
}

/// `GET /admin/reports/consent?from=&to=`: per day, policy version and
/// category, from the counters; small cells suppressed.
pub async fn consent_report(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let range = DayRange::parse(param(request, "from"), param(request, "to"), today(app))?;
    let report = reports::consent::consent_report(app.store.as_ref(), range)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok(ApiResponse::json(200, &report))
}

/// Whether the client asked for CSV (`Accept: text/csv`, whatever else it lists).
fn wants_csv(request: &ApiRequest) -> bool {
    request.header("accept").is_some_and(|accept| {
        accept.split(',').any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/csv"))
        })
    })
}

/// `GET /admin/reports/requests?year=`: the CCPA § 7102 figures per request
/// type, as JSON or (`Accept: text/csv`) as CSV.
pub async fn request_report(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let today = today(app);
    let year = match param(request, "year") {
        Some(raw) => reports::parse_year(raw, today)?,
        None => return Err(privacy_domain::FieldError::missing("year").into()),
    };
    let report = reports::requests::request_report(
        app.store.as_ref(),
        year,
        app.register.time_zone().iana_name().unwrap_or("UTC"),
        app.clock.now(),
    )
    .await
    .map_err(|error| ApiError::internal(&error))?;
    if !wants_csv(request) {
        return Ok(ApiResponse::json(200, &report));
    }
    let mut response = ApiResponse::empty(200);
    response.body = reports::requests::to_csv(&report);
    response.set_header("content-type", "text/csv; charset=utf-8; header=present");
    response.set_header(
        "content-disposition",
        format!("attachment; filename=\"requests-{year}.csv\""),
    );
    response.set_header("cache-control", "no-store");
    Ok(response)
}

/// `GET /admin/reports/requests/monthly?through=`: requests per month by
/// outcome over twelve months ending with `through` (`YYYY-MM`, this month
/// unless given), and the on-time rate of the responses in them.
pub async fn monthly_request_report(
    app: &App,
    _params: &PathParams,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let today = today(app);
    let through = match param(request, "through") {
        Some(raw) => reports::monthly::parse_month("through", raw, today)?,
        None => today.first_of_month(),
    };
    let report = reports::monthly::monthly_report(
        app.store.as_ref(),
        through,
        app.register.time_zone().iana_name().unwrap_or("UTC"),
        app.clock.now(),
    )
    .await
    .map_err(|error| ApiError::internal(&error))?;
    Ok(ApiResponse::json(200, &report))
}
