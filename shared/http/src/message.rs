//! Requests and responses as the API sees them, whatever carried them.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// Upper-case method.
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: Option<IpAddr>,
    /// Who the authoriser let through (the JWT's claims in AWS, the local
    /// admin token on the local server); `None` for anonymous requests.
    pub principal: Option<Principal>,
}

/// Whom an authoriser let through, and what it may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject (`sub`): recorded on every admin action.
    pub sub: String,
    /// The OAuth scopes the token grants (`scope` claim or the authoriser's scopes).
    pub scopes: Vec<String>,
    /// The identity provider's groups (`cognito:groups`).
    pub groups: Vec<String>,
}

impl Principal {
    /// Whether the principal may use the privacy team's API: it holds the
    /// configured scope, or belongs to the configured group.
    pub fn is_privacy_team(&self, scope: &str, group: Option<&str>) -> bool {
        (!scope.is_empty() && self.scopes.iter().any(|granted| granted == scope))
            || group.is_some_and(|group| self.groups.iter().any(|member_of| member_of == group))
    }
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The media type of the body, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type")
            .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
    }

    pub fn check_size(&self) -> Result<(), ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(
                413,
                "payload_too_large",
                "The request body is larger than 16 KiB.",
            ));
        }
        Ok(())
    }

    /// The body as a JSON object, after the checks every JSON route makes:
    /// size, content type and syntax.
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        self.check_size()?;
        if self.media_type().as_deref() != Some("application/json") {
            return Err(ApiError::new(
                415,
                "unsupported_media_type",
                "Send the body as application/json.",
            ));
        }
        parse_json_object(&self.body)
    }

    /// The fields of a JSON body or of a plain HTML form post (the form
    /// endpoints accept both). Form values are strings; an empty form field
    /// counts as absent; a field given more than once is its values joined
    /// by commas (a group of checkboxes: `lists=news&lists=events`).
    pub fn form_or_json(&self) -> Result<(Map<String, Value>, BodyFormat), ApiError> {
        self.check_size()?;
        match self.media_type().as_deref() {
            Some("application/json") => Ok((parse_json_object(&self.body)?, BodyFormat::Json)),
            Some("application/x-www-form-urlencoded") => {
                let mut fields = Map::new();
                for (name, value) in form_urlencoded::parse(&self.body) {
                    if value.trim().is_empty() {
                        continue;
                    }
                    // A field sent more than once (a group of checkboxes): its values, comma-separated.
                    match fields.get_mut(name.as_ref()) {
                        Some(Value::String(joined)) => {
                            joined.push(',');
                            joined.push_str(&value);
                        }
                        _ => {
                            fields.insert(name.into_owned(), Value::String(value.into_owned()));
                        }
                    }
                }
                Ok((fields, BodyFormat::Form))
            }
            _ => Err(ApiError::new(
                415,
                "unsupported_media_type",
                "Send the body as application/json or application/x-www-form-urlencoded.",
            )),
        }
    }
}

impl ApiRequest {
    /// The acting member of the privacy team, recorded on their actions: the
    /// token's `sub` (`privacy_team` for a request without one, which the
    /// admin area never lets through).
    pub fn team_member(&self) -> &str {
        self.principal
            .as_ref()
            .map_or("privacy_team", |principal| principal.sub.as_str())
    }

    /// The `token` a link's page posts back: the form field of its button,
    /// or `{"token"}` in JSON. `None` when there is none.
    pub fn posted_token(&self) -> Result<Option<String>, ApiError> {
        let (fields, format) = self.form_or_json()?;
        if format == BodyFormat::Json {
            crate::fields::refuse_unknown(&fields, &["token"], "a confirmation")?;
        }
        Ok(crate::fields::optional_text(&fields, "token")?.map(str::to_owned))
    }
}

/// How a form endpoint's body came: it decides the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// Answered with JSON.
    Json,
    /// A plain HTML form: answered with a redirect (or an HTML error page).
    Form,
}

fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ApiError::new(400, "malformed_json", "The body must be a JSON object.")),
        Err(_) => Err(ApiError::new(400, "malformed_json", "The body is not valid JSON.")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ApiResponse {
    pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
        let mut response = Self {
            status,
            headers: Vec::new(),
            body,
        };
        response.set_header("content-type", "application/json");
        response.set_header("cache-control", "no-store");
        response
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// 303 See Other: where a plain HTML form goes after a post.
    pub fn see_other(location: &str) -> Self {
        let mut response = Self::empty(303);
        response.set_header("location", location);
        response.set_header("cache-control", "no-store");
        response
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter_mut().find(|(key, _)| key == name) {
            Some(header) => header.1 = value,
            None => self.headers.push((name.to_owned(), value)),
        }
    }
}
