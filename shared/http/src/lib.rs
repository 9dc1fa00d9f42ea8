//! The HTTP API of the privacy backend, independent of where it runs.
//!
//! A Lambda function turns its API Gateway event into an [`ApiRequest`] and
//! calls [`handle`]; the local server does the same with a socket. There is
//! one implementation of every route, and [`ROUTES`] lists them all (the same
//! set as template.yaml's, which a test checks).

mod admin;
mod consent;
mod dsr;
mod error;
mod fields;
mod html;
mod message;
mod newsletter;

use std::sync::Arc;

use privacy_domain::clock::Clock;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::Mailer;
use privacy_domain::newsletter::Links;
use privacy_domain::register::Register;
use privacy_domain::store::RecordStore;
use privacy_domain::tokens::Secrets;

pub use error::ApiError;
pub use message::{ApiRequest, ApiResponse, Principal};

/// What every route needs: the ports and the configuration. Built once per
/// process, outside the handler.
pub struct App {
    pub store: Arc<dyn RecordStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub register: Register,
    /// The pepper and token key; `None` in a function that needs neither.
    pub secrets: Option<Secrets>,
    pub settings: Settings,
}

impl App {
    /// The secrets, or a 500 for a function deployed without them.
    pub fn secrets(&self) -> Result<&Secrets, ApiError> {
        self.secrets.as_ref().ok_or_else(|| {
            tracing::error!("this function needs SUBJECT_PEPPER and TOKEN_KEY (or their _PARAMETER names)");
            ApiError::new(
                500,
                "internal_error",
                "Something went wrong on our side. Please try again later.",
            )
        })
    }

    /// Links in mails point at `PUBLIC_BASE_URL`, or, when it is not set, at
    /// the host the request came to over HTTPS (API Gateway's own domain).
    pub fn links(&self, request: &ApiRequest) -> Links {
        Links::new(&self.public_base_url(request))
    }

    fn public_base_url(&self, request: &ApiRequest) -> String {
        match (&self.settings.public_base_url, request.header("host")) {
            (configured, _) if !configured.is_empty() => configured.clone(),
            (_, Some(host)) => format!("https://{host}"),
            (_, None) => String::new(),
        }
    }

    /// The page a plain HTML form was posted from: its `Referer`, when that is
    /// an http(s) URL on one of the website origins (never a `javascript:`
    /// or foreign URL).
    fn form_page<'r>(&self, request: &'r ApiRequest) -> Option<&'r str> {
        let referer = request.header("referer")?;
        let origin = origin_of(referer)?;
        ((origin.starts_with("https://") || origin.starts_with("http://"))
            && self.settings.allowed_origins.iter().any(|allowed| allowed == origin))
        .then_some(referer)
    }

    /// Whether a browser at `origin` may call the API: a website origin, or
    /// the API's own pages (the unsubscribe button posts back to the API).
    fn allows_origin(&self, origin: &str, request: &ApiRequest) -> bool {
        self.settings.allowed_origins.iter().any(|allowed| allowed == origin)
            || origin_of(&self.public_base_url(request)) == Some(origin)
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |slash| after_scheme + slash);
    Some(&url[..end])
}

/// Configuration read from the environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Website origins allowed to call the API from a browser
    /// (`ALLOWED_ORIGINS`, comma-separated, e.g. `https://www.example.com`).
    pub allowed_origins: Vec<String>,
    /// Where the API itself is reached (`PUBLIC_BASE_URL`): links in mails
    /// point here, and its pages may post to it.
    pub public_base_url: String,
    /// Where a plain HTML newsletter form is sent after a sign-up
    /// (`NEWSLETTER_THANK_YOU_URL`, default `/`).
    pub newsletter_thank_you_url: String,
    /// Where a plain HTML request form is sent (`DSR_THANK_YOU_URL`, default `/`).
    pub dsr_thank_you_url: String,
    /// Where every verified request is announced (`PRIVACY_TEAM_ADDRESS`).
    pub privacy_team_address: Option<EmailAddress>,
    /// The OAuth scope the privacy team's routes require (`ADMIN_SCOPE`,
    /// default `privacy/admin`; empty to rely on the group alone).
    pub admin_scope: String,
    /// The identity provider's group whose members may use the privacy
    /// team's routes without the scope (`ADMIN_GROUP`, e.g. a Cognito group).
    pub admin_group: Option<String>,
}

/// The scope of the privacy team's routes unless `ADMIN_SCOPE` says otherwise.
pub const DEFAULT_ADMIN_SCOPE: &str = "privacy/admin";

impl Settings {
    /// Reads the settings through `var` (so tests need not touch the process environment).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let allowed_origins = var("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        Self {
            allowed_origins,
            public_base_url: var("PUBLIC_BASE_URL")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            newsletter_thank_you_url: var("NEWSLETTER_THANK_YOU_URL")
                .filter(|url| !url.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
            dsr_thank_you_url: var("DSR_THANK_YOU_URL")
                .filter(|url| !url.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
            privacy_team_address: var("PRIVACY_TEAM_ADDRESS")
                .and_then(|address| EmailAddress::parse("PRIVACY_TEAM_ADDRESS", &address).ok()),
            admin_scope: var("ADMIN_SCOPE")
                .map(|scope| scope.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_ADMIN_SCOPE.to_owned()),
            admin_group: var("ADMIN_GROUP")
                .map(|group| group.trim().to_owned())
                .filter(|group| !group.is_empty()),
        }
    }
}

/// The part of the product a route belongs to: each Lambda function serves one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Consent,
    Newsletter,
    Unsubscribe,
    Requests,
    Register,
    Admin,
}

impl Area {
    /// The binary (and template.yaml's `BuildProperties.Binary`) serving the area.
    pub fn function(self) -> &'static str {
        match self {
            Area::Consent => "consent-capture",
            Area::Newsletter => "newsletter-subscribe",
            Area::Unsubscribe => "newsletter-unsubscribe",
            Area::Requests | Area::Register => "dsr-intake",
            Area::Admin => "dsr-admin",
        }
    }
}

/// A route: method and path pattern, as template.yaml writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub area: Area,
}

const fn route(method: &'static str, path: &'static str, area: Area) -> Route {
    Route { method, path, area }
}

/// Every route the API serves.
pub const ROUTES: &[Route] = &[
    route("POST", "/consent", Area::Consent),
    route("GET", "/consent/{consent_id}", Area::Consent),
    route("GET", "/consent/{consent_id}/receipts", Area::Consent),
    route("DELETE", "/consent/{consent_id}", Area::Consent),
    route("POST", "/newsletter/subscribe", Area::Newsletter),
    route("GET", "/newsletter/confirm", Area::Newsletter),
    route("POST", "/newsletter/confirm", Area::Newsletter),
    route("GET", "/newsletter/unsubscribe", Area::Unsubscribe),
    route("POST", "/newsletter/unsubscribe", Area::Unsubscribe),
    route("POST", "/dsr", Area::Requests),
    route("GET", "/dsr/verify", Area::Requests),
    route("POST", "/dsr/verify", Area::Requests),
    route("GET", "/dsr/{request_id}", Area::Requests),
    route("GET", "/privacy/register", Area::Register),
    route("GET", "/admin/dsr", Area::Admin),
    route("POST", "/admin/dsr/{request_id}/extend", Area::Admin),
    route("POST", "/admin/dsr/{request_id}/complete", Area::Admin),
    route("POST", "/admin/dsr/{request_id}/reject", Area::Admin),
    route("POST", "/admin/dsr/{request_id}/lift-restriction", Area::Admin),
    route("POST", "/admin/holds", Area::Admin),
    route("DELETE", "/admin/holds/{hold_id}", Area::Admin),
    route("POST", "/admin/newsletter/subscribers", Area::Admin),
];

/// Path parameters of a matched route, in pattern order.
#[derive(Debug, Default)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn match_path(pattern: &'static str, path: &str) -> Option<PathParams> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.trim_matches('/').split('/');
    let mut path_segments = path.trim_matches('/').split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(PathParams(params)),
            (Some(expected), Some(actual)) => {
                if let Some(name) = expected.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
                    if actual.is_empty() {
                        return None;
                    }
                    params.push((name, actual.to_owned()));
                } else if expected != actual {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Serves a request on any route of `areas` (a function serves its own area;
/// the local server serves all).
///
/// Authorisation is decided on the path as routing reads it: a path with an
/// empty segment (`//admin/dsr`, `/consent/`) matches no route, and every
/// path under `/admin` needs the privacy team's credentials before anything
/// else is said, not even whether the route exists.
pub async fn handle(app: &App, areas: &[Area], request: ApiRequest) -> ApiResponse {
    let origin = request.header("origin").map(str::to_owned);
    let origin_allowed = origin
        .as_deref()
        .is_none_or(|origin| app.allows_origin(origin, &request));
    let mut response = if request.method == "OPTIONS" {
        preflight(origin_allowed)
    } else if has_empty_segment(&request.path) {
        ApiError::new(404, "not_found", "There is nothing at this path.").into()
    } else if let Err(refused) = authorise(app, &request) {
        refused.into()
    } else if !origin_allowed && request.method != "GET" {
        ApiError::new(403, "origin_not_allowed", "This origin may not call the API.").into()
    } else {
        dispatch(app, areas, &request).await
    };
    if let (Some(origin), true) = (origin, origin_allowed) {
        response.set_header("access-control-allow-origin", origin);
        response.set_header("vary", "Origin");
    }
    response
}

/// Whether a path has an empty segment (a doubled or trailing slash).
fn has_empty_segment(path: &str) -> bool {
    path.strip_prefix('/')
        .is_none_or(|rest| rest.split('/').any(str::is_empty))
}

/// The privacy team's routes (every path under `/admin`) need a principal
/// (401 without) that holds the admin scope or group (403 without).
fn authorise(app: &App, request: &ApiRequest) -> Result<(), ApiError> {
    if request.path.split('/').nth(1) != Some("admin") {
        return Ok(());
    }
    let principal = request
        .principal
        .as_ref()
        .ok_or_else(|| ApiError::new(401, "unauthorized", "Valid credentials are required."))?;
    let settings = &app.settings;
    if principal.is_privacy_team(&settings.admin_scope, settings.admin_group.as_deref()) {
        Ok(())
    } else {
        tracing::warn!(principal = %principal.sub, "admin route refused: the token lacks the privacy team's scope and group");
        Err(ApiError::new(
            403,
            "forbidden",
            "These credentials do not grant access to the privacy team's API.",
        ))
    }
}

async fn dispatch(app: &App, areas: &[Area], request: &ApiRequest) -> ApiResponse {
    let path_matches: Vec<(&Route, PathParams)> = ROUTES
        .iter()
        .filter(|route| areas.contains(&route.area))
        .filter_map(|route| match_path(route.path, &request.path).map(|params| (route, params)))
        .collect();
    let Some((route, params)) = path_matches.iter().find(|(route, _)| route.method == request.method) else {
        return if path_matches.is_empty() {
            ApiError::new(404, "not_found", "There is nothing at this path.").into()
        } else {
            ApiError::new(405, "method_not_allowed", "This path does not accept this method.").into()
        };
    };
    let result = match route.area {
        Area::Consent => consent::handle(app, route, params, request).await,
        Area::Newsletter | Area::Unsubscribe => newsletter::handle(app, route, request).await,
        Area::Requests => dsr::handle(app, route, params, request).await,
        Area::Register => Ok(ApiResponse::json(200, app.register.document())),
        Area::Admin => admin::handle(app, route, params, request).await,
    };
    let response = result.unwrap_or_else(ApiResponse::from);
    tracing::info!(
        method = route.method,
        route = route.path,
        status = response.status,
        "request served"
    );
    response
}

fn preflight(origin_allowed: bool) -> ApiResponse {
    if !origin_allowed {
        return ApiError::new(403, "origin_not_allowed", "This origin may not call the API.").into();
    }
    let mut response = ApiResponse::empty(204);
    response.set_header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
    response.set_header("access-control-allow-headers", "authorization, content-type, sec-gpc");
    response.set_header("access-control-max-age", "600");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_a_url_is_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://privacy.example.com/x?y"),
            Some("https://privacy.example.com")
        );
        assert_eq!(origin_of("http://127.0.0.1:3000"), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("privacy.example.com"), None);
    }

    #[test]
    fn matches_patterns_with_parameters() {
        let params = match_path("/consent/{consent_id}/receipts", "/consent/abc/receipts").unwrap();
        assert_eq!(params.get("consent_id"), Some("abc"));
        assert!(match_path("/consent/{consent_id}", "/consent/abc/receipts").is_none());
        assert!(match_path("/consent/{consent_id}", "/consent/").is_none());
        assert!(match_path("/consent", "/consent").is_some());
    }

    #[test]
    fn doubled_and_trailing_slashes_are_empty_segments() {
        for path in ["//admin/dsr", "/admin//dsr", "/consent/", "/", "", "admin/dsr"] {
            assert!(has_empty_segment(path), "{path}");
        }
        for path in ["/admin/dsr", "/consent/abc/receipts", "/dsr"] {
            assert!(!has_empty_segment(path), "{path}");
        }
    }

    fn principal(scopes: &[&str], groups: &[&str]) -> Principal {
        Principal {
            sub: "someone".to_owned(),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            groups: groups.iter().map(|group| (*group).to_owned()).collect(),
        }
    }

    #[test]
    fn the_privacy_team_holds_the_scope_or_the_group() {
        let scope = DEFAULT_ADMIN_SCOPE;
        assert!(principal(&["openid", "privacy/admin"], &[]).is_privacy_team(scope, None));
        assert!(!principal(&["openid", "privacy/admin.read"], &[]).is_privacy_team(scope, None));
        assert!(!principal(&[], &["privacy-team"]).is_privacy_team(scope, None));
        assert!(principal(&[], &["staff", "privacy-team"]).is_privacy_team(scope, Some("privacy-team")));
        assert!(!principal(&[], &["staff"]).is_privacy_team(scope, Some("privacy-team")));
        // An empty scope setting never matches an empty scope claim.
        assert!(!principal(&[""], &[]).is_privacy_team("", None));
    }
}
