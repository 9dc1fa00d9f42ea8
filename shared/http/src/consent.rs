//! SPEC 3.1: cookie consent.

use privacy_domain::consent::{
    Categories, ClientContext, ConsentCheckpoint, ConsentDecision, ConsentError, ConsentId, ConsentLedger,
    ConsentReceipt, ConsentSource, ConsentState, LanguageTag, NoticeDigest, PolicyVersion, RECEIPTS_PAGE_DEFAULT,
    RECEIPTS_PAGE_MAX,
};
use privacy_domain::FieldError;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

const FIELDS: &[&str] = &[
    "consent_id",
    "policy_version",
    "categories",
    "source",
    "language",
    "notice_sha256",
];

fn ledger(app: &App) -> ConsentLedger<'_> {
    app.ports().consent_ledger()
}

/// Records a decision (SPEC 3.1): a new receipt and the latest state.
pub async fn record(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let ledger = ledger(app);
    let client = client_context(request);
    let decision = decision(&request.json_object()?)?;
    let state = ledger.record(decision, &client).await.map_err(consent_error)?;
    let mut response = ApiResponse::json(201, &ConsentView::from(&state));
    response.set_header("location", format!("/consent/{}", state.consent_id));
    Ok(response)
}

/// The latest state of a consent id.
pub async fn current(app: &App, params: &PathParams, _request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let ledger = ledger(app);
    let state = ledger.current(consent_id(params)?).await.map_err(consent_error)?;
    Ok(ApiResponse::json(200, &ConsentView::from(&state)))
}

/// One page of a consent id's receipts, oldest first.
pub async fn receipts(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let ledger = ledger(app);
    let consent_id = consent_id(params)?;
    let limit = match request.query_param("limit") {
        None => RECEIPTS_PAGE_DEFAULT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=RECEIPTS_PAGE_MAX).contains(limit))
            .ok_or_else(|| FieldError::invalid("limit", "A page holds 1 to 200 receipts."))?,
    };
    let after = request
        .query_param("cursor")
        .map(|raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|_| raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| FieldError::invalid("cursor", "Use the next_cursor of the previous page as it came."))
        })
        .transpose()?;
    let page = ledger
        .receipts_page(consent_id, limit, after)
        .await
        .map_err(consent_error)?;
    Ok(ApiResponse::json(
        200,
        &Receipts {
            checkpoint: page.checkpoint,
            receipts: page.receipts,
            next_cursor: page.next.map(|sequence| sequence.to_string()),
        },
    ))
}

/// Withdraws consent: analytics and marketing false, as easy as giving it.
pub async fn withdraw(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let ledger = ledger(app);
    let client = client_context(request);
    let state = ledger
        .withdraw(consent_id(params)?, &client)
        .await
        .map_err(consent_error)?;
    Ok(ApiResponse::json(200, &ConsentView::from(&state)))
}

/// The response body of every consent route but the receipts.
#[derive(Serialize)]
struct ConsentView<'a> {
    consent_id: String,
    receipt_id: String,
    recorded_at: String,
    policy_version: &'a str,
    categories: Categories,
    gpc: bool,
    renew_after: String,
}

impl<'a> From<&'a ConsentState> for ConsentView<'a> {
    fn from(state: &'a ConsentState) -> Self {
        Self {
            consent_id: state.consent_id.to_string(),
            receipt_id: state.receipt_id.to_string(),
            recorded_at: state.recorded_at.to_string(),
            policy_version: state.policy_version.as_str(),
            categories: state.categories,
            gpc: state.gpc,
            renew_after: state.renew_after.to_string(),
        }
    }
}

/// One page of `GET /consent/{consent_id}/receipts`. The cursor is the
/// sequence of the last receipt given: it can only point into the receipts of
/// the consent id in the path, which whoever holds the id may read anyway, so
/// it needs no seal (and the consent function holds no token key).
#[derive(Serialize)]
struct Receipts {
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<ConsentCheckpoint>,
    receipts: Vec<ConsentReceipt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(crate) fn consent_error(error: ConsentError) -> ApiError {
    match error {
        ConsentError::NotFound => ApiError::not_found("consent_not_found", "No consent is recorded under this id."),
        ConsentError::Contended => ApiError::new(409, "conflict", "The consent changed at the same moment; try again."),
        ConsentError::Store(cause) => ApiError::internal(&cause),
        ConsentError::Corrupt(_) => ApiError::internal(&error),
    }
}

pub(crate) fn consent_id(params: &PathParams) -> Result<ConsentId, ApiError> {
    Ok(ConsentId::parse(
        "consent_id",
        params.get("consent_id").unwrap_or_default(),
    )?)
}

fn client_context(request: &ApiRequest) -> ClientContext {
    ClientContext {
        ip: request.source_ip,
        user_agent: request.header("user-agent").map(str::to_owned),
        global_privacy_control: request.header("sec-gpc").map(str::trim) == Some("1"),
    }
}

fn decision(body: &Map<String, Value>) -> Result<ConsentDecision, FieldError> {
    refuse_unknown(body, FIELDS, "a consent decision")?;
    Ok(ConsentDecision {
        consent_id: optional_text(body, "consent_id")?
            .map(|raw| ConsentId::parse("consent_id", raw))
            .transpose()?,
        policy_version: PolicyVersion::parse("policy_version", required_text(body, "policy_version")?)?,
        categories: categories(body.get("categories"))?,
        source: ConsentSource::parse("source", required_text(body, "source")?)?,
        language: optional_text(body, "language")?
            .map(|raw| LanguageTag::parse("language", raw))
            .transpose()?,
        notice_sha256: optional_text(body, "notice_sha256")?
            .map(|raw| NoticeDigest::parse("notice_sha256", raw))
            .transpose()?,
    })
}

/// `{"analytics": bool, "marketing": bool}`, with `necessary` allowed only as `true`.
fn categories(value: Option<&Value>) -> Result<Categories, FieldError> {
    let fields = match value {
        None | Some(Value::Null) => return Err(FieldError::missing("categories")),
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            return Err(FieldError::invalid(
                "categories",
                "`categories` is an object such as {\"analytics\": true, \"marketing\": false}.",
            ))
        }
    };
    if fields
        .keys()
        .any(|name| name != "necessary" && !Categories::CHOOSABLE.contains(&name.as_str()))
    {
        return Err(FieldError::new(
            "categories",
            "unknown_category",
            "The cookie categories are `necessary`, `analytics` and `marketing`.",
        ));
    }
    match fields.get("necessary") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => {
            return Err(FieldError::new(
                "categories.necessary",
                "necessary_required",
                "Strictly necessary cookies need no consent and cannot be refused; leave `necessary` out or send true.",
            ))
        }
    }
    let choice = |name: &str| match fields.get(name) {
        Some(Value::Bool(flag)) => Ok(*flag),
        None => Err(FieldError::missing(format!("categories.{name}"))),
        Some(_) => Err(FieldError::invalid(
            format!("categories.{name}"),
            "A category choice is true or false.",
        )),
    };
    Ok(Categories::chosen(choice("analytics")?, choice("marketing")?))
}
