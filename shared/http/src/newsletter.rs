//! SPEC 3.2: newsletter sign-up, confirmation and one-click unsubscribe.

use privacy_domain::consent::{ConsentId, NoticeDigest, PolicyVersion};
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::escape_html;
use privacy_domain::newsletter::{Links, ListId, Newsletter, NewsletterError, NoticeShown, SignUp, Subscriptions};
use privacy_domain::person::PersonName;
use privacy_domain::tokens::Secrets;
use privacy_domain::FieldError;
use serde_json::{json, Map, Value};

use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::html::{confirm_button, form_error, invalid_link, page, server_error};
use crate::message::BodyFormat;
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

const SIGN_UP_FIELDS: &[&str] = &[
    "email",
    "name",
    "consent_id",
    "lists",
    "list",
    "policy_version",
    "notice_sha256",
];

fn newsletter<'a>(app: &'a App, secrets: &'a Secrets, links: &'a Links) -> Newsletter<'a> {
    Newsletter {
        ports: app.ports(),
        secrets,
        links,
    }
}

/// Unsubscribing needs only the token key (the token carries the subject key).
fn subscriptions(app: &App) -> Subscriptions<'_> {
    Subscriptions { ports: app.ports() }
}

/// The same answer whatever the address's state: new, pending, confirmed,
/// unsubscribed or suppressed (no enumeration).
pub async fn subscribe(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let newsletter = newsletter(app, &secrets, &links);
    let (fields, format) = request.form_or_json()?;
    let sign_up = match sign_up(&fields, format, request) {
        Ok(sign_up) => sign_up,
        Err(error) if format == BodyFormat::Form => return Ok(form_error(&error, app.form_page(request))),
        Err(error) => return Err(error.into()),
    };
    match newsletter.sign_up(sign_up).await {
        Ok(_) => {}
        Err(error) if format == BodyFormat::Form => {
            ApiError::internal(&error);
            return Ok(server_error());
        }
        Err(error) => return Err(ApiError::internal(&error)),
    }
    Ok(match format {
        BodyFormat::Json => ApiResponse::json(202, &json!({"status": "pending_confirmation"})),
        BodyFormat::Form => ApiResponse::see_other(&app.settings.newsletter_thank_you_url),
    })
}

fn sign_up(fields: &Map<String, Value>, format: BodyFormat, request: &ApiRequest) -> Result<SignUp, FieldError> {
    if format == BodyFormat::Json {
        refuse_unknown(fields, SIGN_UP_FIELDS, "a newsletter sign-up")?;
    }
    Ok(SignUp {
        email: EmailAddress::parse("email", required_text(fields, "email")?)?,
        name: optional_text(fields, "name")?
            .map(|raw| PersonName::parse("name", raw))
            .transpose()?,
        lists: lists(fields, format)?,
        consent_id: optional_text(fields, "consent_id")?
            .map(|raw| ConsentId::parse("consent_id", raw))
            .transpose()?,
        channel: match format {
            BodyFormat::Json => "api",
            BodyFormat::Form => "form",
        },
        ip: request.source_ip,
        // Validated as `POST /consent` validates them: the opt-in's proof names the notice shown.
        notice: NoticeShown {
            policy_version: optional_text(fields, "policy_version")?
                .map(|raw| PolicyVersion::parse("policy_version", raw))
                .transpose()?,
            notice_sha256: optional_text(fields, "notice_sha256")?
                .map(|raw| NoticeDigest::parse("notice_sha256", raw))
                .transpose()?,
        },
    })
}

/// `lists`: a JSON array of list ids, or in a form one string of ids
/// separated by commas or spaces; with the single `list` of the first API,
/// both count. Default `["news"]`; each list once; none at all, or an
/// unknown one, is a 400 naming `lists`.
fn lists(fields: &Map<String, Value>, format: BodyFormat) -> Result<Vec<ListId>, FieldError> {
    let not_a_list = || FieldError::invalid("lists", "`lists` must be an array of list names.");
    let single = optional_text(fields, "list")?
        .map(|raw| ListId::parse("list", raw))
        .transpose()?;
    let raw: Vec<&str> = match fields.get("lists") {
        None | Some(Value::Null) => return Ok(vec![single.unwrap_or_else(ListId::default_list)]),
        Some(Value::String(text)) if format == BodyFormat::Form => text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|id| !id.is_empty())
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(not_a_list))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(not_a_list()),
    };
    if raw.is_empty() {
        return Err(FieldError::new("lists", "no_list", "Choose at least one list."));
    }
    let mut lists: Vec<ListId> = single.into_iter().collect();
    for id in raw {
        let list = ListId::parse("lists", id)?;
        if !lists.contains(&list) {
            lists.push(list);
        }
    }
    Ok(lists)
}

fn token(request: &ApiRequest) -> &str {
    request.query_param("token").unwrap_or_default()
}

/// The confirmation link's page: says what confirming does, with one button
/// that POSTs. Mail scanners and link previews follow every link, so GET
/// changes nothing.
pub async fn confirm_page(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let newsletter = newsletter(app, &secrets, &links);
    let token = token(request);
    Ok(match newsletter.check_confirmation_token(token).await {
        Ok(lists) => page(
            200,
            "Confirm your subscription",
            &[
                &format!(
                    "Confirming subscribes this address to our newsletter: {}.",
                    lists.iter().map(|list| list.name(false)).collect::<Vec<_>>().join(", ")
                ),
                "Every newsletter has a link to unsubscribe with one click. If you did not sign up, close this page: nothing happens without the button.",
            ],
            &confirm_button("/newsletter/confirm", token, "Confirm my subscription"),
        ),
        Err(NewsletterError::InvalidToken) => invalid_link(),
        Err(error) => {
            ApiError::internal(&error);
            server_error()
        }
    })
}

/// The button's POST (form field `token`, or JSON `{"token"}`): confirms.
pub async fn confirm(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (secrets, links) = (app.secrets()?, app.links(request));
    let newsletter = newsletter(app, &secrets, &links);
    let Some(token) = request.posted_token()? else {
        return Ok(invalid_link());
    };
    Ok(match newsletter.confirm(&token, request.source_ip).await {
        Ok(()) => page(
            200,
            "You are subscribed",
            &["Thank you for confirming. Every newsletter has a link to unsubscribe with one click."],
            "",
        ),
        Err(NewsletterError::InvalidToken) => invalid_link(),
        Err(error) => {
            ApiError::internal(&error);
            server_error()
        }
    })
}

/// Mail scanners follow GET links, so GET changes nothing: it shows one button.
pub async fn unsubscribe_page(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let token = token(request);
    if Subscriptions::check_unsubscribe_token(app.token_key()?, token).is_err() {
        return Ok(invalid_link());
    }
    let action = format!("/newsletter/unsubscribe?token={}", escape_html(token));
    let form = format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form>"
    );
    Ok(page(
        200,
        "Unsubscribe from the newsletter",
        &["One click and you will get no more newsletters."],
        &form,
    ))
}

/// RFC 8058 one-click (`List-Unsubscribe=One-Click`), an empty body or the
/// page's form: all the same.
pub async fn unsubscribe(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if request.check_size().is_err() {
        return Ok(page(413, "Request too large", &["The request was too large."], ""));
    }
    let token_key = app.token_key()?;
    Ok(match subscriptions(app).unsubscribe(token_key, token(request)).await {
        Ok(()) => page(
            200,
            "You are unsubscribed",
            &["You will get no more newsletters. If you change your mind, sign up again on our website."],
            "",
        ),
        Err(NewsletterError::InvalidToken) => invalid_link(),
        Err(error) => {
            ApiError::internal(&error);
            server_error()
        }
    })
}
