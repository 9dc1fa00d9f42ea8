//! The HTTP API of the privacy backend, independent of where it runs.
//!
//! A Lambda function turns its API Gateway event into an [`ApiRequest`] and
//! calls [`handle`]; the local server does the same with a socket. There is
//! one implementation of every route, and [`ROUTES`] lists them all (the same
//! set as template.yaml's, which a test checks).
//!
//! # Route groups and cargo features: a function links only what it serves
//!
//! Every route belongs to a group, named by the module of its handler, and
//! each group is a cargo feature of this crate:
//!
//! | feature | handlers | served by |
//! |---|---|---|
//! | `consent` | `consent::*` | consent-capture |
//! | `newsletter` | `newsletter::*`, `preferences::show`/`save` | newsletter-subscribe, newsletter-unsubscribe |
//! | `dsr` | `dsr::*`, the register | dsr-intake |
//! | `systems` | `systems::answer_from_system` | dsr-intake |
//! | `admin` | `admin::*`, `reports::*`, `issues::*`, `systems::answer_for_system`, `preferences::set_subscriptions` | dsr-admin |
//!
//! [`ROUTES`] always lists every route (tests compare it with template.yaml
//! and openapi.yaml); the `serve!` macro gives a route whose group is not
//! built a stub handler, so its code is not linked. A new route in an
//! existing module needs no gating; a new module needs one `serve!` arm and,
//! if it is a new group, one feature here. A module that other groups borrow
//! from (`dsr::requests`, `consent::consent_id`) is compiled for them too.
//! A function picks its groups in its Cargo.toml, through `privacy-lambda`'s
//! features of the same names (which also pick the AWS clients it needs);
//! the local server and the tests turn every group on.
// A build with some groups leaves some shared helpers unused; the workspace
// build (every group on) still reports dead code.
#![cfg_attr(
    not(all(
        feature = "consent",
        feature = "newsletter",
        feature = "dsr",
        feature = "systems",
        feature = "admin"
    )),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "admin")]
mod admin;
#[cfg(any(feature = "consent", feature = "admin"))]
mod consent;
#[cfg(any(feature = "dsr", feature = "systems", feature = "admin"))]
mod dsr;
mod error;
mod fields;
mod html;
#[cfg(feature = "admin")]
mod issues;
mod message;
#[cfg(feature = "newsletter")]
mod newsletter;
#[cfg(any(feature = "newsletter", feature = "admin"))]
mod preferences;
#[cfg(feature = "admin")]
mod reports;
#[cfg(any(feature = "systems", feature = "admin"))]
mod systems;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use privacy_domain::clock::Clock;
use privacy_domain::dsr::tasks::config::SystemsConfig;
use privacy_domain::dsr::tasks::SystemsScope;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::Mailer;
use privacy_domain::newsletter::Links;
use privacy_domain::ports::Ports;
use privacy_domain::register::Register;
use privacy_domain::store::RecordStore;
use privacy_domain::subject::Pepper;
use privacy_domain::tokens::{Secrets, TokenKey};

pub use error::ApiError;
pub use message::{ApiRequest, ApiResponse, Principal};

/// What every route needs: the ports and the configuration. Built once per
/// process, outside the handler.
pub struct App {
    pub store: Arc<dyn RecordStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub register: Register,
    /// Turns addresses into subject keys; `None` in a function that never
    /// meets an address (each function loads only the secrets it needs).
    pub pepper: Option<Pepper>,
    /// Signs and checks unsubscribe tokens, status links and cursors; `None`
    /// in a function that needs none of them.
    pub token_key: Option<TokenKey>,
    /// Where the systems of record are reached and their secrets; `None`
    /// where none is configured (the function then asks no other system).
    pub systems: Option<Arc<SystemsConfig>>,
    pub settings: Settings,
}

impl App {
    /// The adapters the use cases borrow.
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            store: self.store.as_ref(),
            mailer: self.mailer.as_ref(),
            clock: self.clock.as_ref(),
            register: &self.register,
        }
    }

    /// Both secrets, for the use cases that need both, or a 500 for a
    /// function deployed without them.
    pub fn secrets(&self) -> Result<Secrets, ApiError> {
        Ok(Secrets {
            pepper: self.pepper()?.clone(),
            token_key: self.token_key()?.clone(),
        })
    }

    /// Which systems a verified request asks: every registered one where a
    /// systems configuration is given.
    pub fn systems_scope(&self) -> SystemsScope {
        if self.systems.is_some() {
            SystemsScope::EveryRegisteredSystem
        } else {
            SystemsScope::ThisProductOnly
        }
    }

    /// The pepper, or a 500 for a function deployed without it.
    pub fn pepper(&self) -> Result<&Pepper, ApiError> {
        self.pepper.as_ref().ok_or_else(|| missing_secret("SUBJECT_PEPPER"))
    }

    /// The token key, or a 500 for a function deployed without it.
    pub fn token_key(&self) -> Result<&TokenKey, ApiError> {
        self.token_key.as_ref().ok_or_else(|| missing_secret("TOKEN_KEY"))
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
            && self.settings.allowed_origins.contains(&origin))
        .then_some(referer)
    }

    /// Whether a browser at `origin` may call the API: a website origin, or
    /// the API's own pages (the unsubscribe button posts back to the API).
    fn allows_origin(&self, origin: &str, request: &ApiRequest) -> bool {
        self.settings.allowed_origins.iter().any(|allowed| allowed == origin)
            || origin_of(&self.public_base_url(request)).is_some_and(|own| own == origin)
    }
}

/// The origin of a URL as a browser serialises it (`scheme://host[:port]`,
/// the host lower-cased, a default port left out), or `None` for a URL that
/// has none (`javascript:`, `data:`, not a URL).
fn origin_of(url: &str) -> Option<String> {
    match url::Url::parse(url).ok()?.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn missing_secret(name: &str) -> ApiError {
    tracing::error!(
        secret = name,
        "this function is not configured with a secret it needs (the variable or its _PARAMETER name)"
    );
    ApiError::new(
        500,
        "internal_error",
        "Something went wrong on our side. Please try again later.",
    )
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
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            // As a browser sends it in `Origin`: `HTTPS://Shop.Example:443/` is `https://shop.example`.
            .map(|origin| origin_of(origin).unwrap_or_else(|| origin.trim_end_matches('/').to_owned()))
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
    /// The systems of record's signed answers to their tasks.
    Systems,
    Admin,
}

impl Area {
    /// The binary (and template.yaml's `BuildProperties.Binary`) serving the area.
    pub fn function(self) -> &'static str {
        match self {
            Area::Consent => "consent-capture",
            Area::Newsletter => "newsletter-subscribe",
            Area::Unsubscribe => "newsletter-unsubscribe",
            Area::Requests | Area::Register | Area::Systems => "dsr-intake",
            Area::Admin => "dsr-admin",
        }
    }
}

/// What serves a route: the app, the path's parameters and the request in,
/// the answer out.
pub type Handler = for<'a> fn(&'a App, &'a PathParams, &'a ApiRequest) -> Answer<'a>;

/// The answer a [`Handler`] gives, in time.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<ApiResponse, ApiError>> + Send + 'a>>;

/// A route: method and path pattern, as template.yaml writes them, the
/// function that serves it and the handler that answers it.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub area: Area,
    pub handler: Handler,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.area)
    }
}

const fn route(method: &'static str, path: &'static str, area: Area, handler: Handler) -> Route {
    Route {
        method,
        path,
        area,
        handler,
    }
}

/// A [`Handler`] from an `async fn(&App, &PathParams, &ApiRequest)`, when
/// the handler's group (its module, see the crate's documentation) is built.
macro_rules! serve {
    (consent::$handler:ident) => {
        gated!("consent", consent::$handler)
    };
    (newsletter::$handler:ident) => {
        gated!("newsletter", newsletter::$handler)
    };
    (dsr::$handler:ident) => {
        gated!("dsr", dsr::$handler)
    };
    (register) => {
        gated!("dsr", register)
    };
    (systems::answer_for_system) => {
        gated!("admin", systems::answer_for_system)
    };
    (systems::$handler:ident) => {
        gated!("systems", systems::$handler)
    };
    (admin::$handler:ident) => {
        gated!("admin", admin::$handler)
    };
    (reports::$handler:ident) => {
        gated!("admin", reports::$handler)
    };
    (issues::$handler:ident) => {
        gated!("admin", issues::$handler)
    };
    (preferences::set_subscriptions) => {
        gated!("admin", preferences::set_subscriptions)
    };
    (preferences::$handler:ident) => {
        gated!("newsletter", preferences::$handler)
    };
}

/// The handler when `$feature` is on, [`not_built`] when it is off (the
/// handler's code is then neither compiled nor linked).
macro_rules! gated {
    ($feature:tt, $handler:path) => {{
        #[cfg(feature = $feature)]
        let handler: Handler = |app, params, request| Box::pin($handler(app, params, request));
        #[cfg(not(feature = $feature))]
        let handler: Handler = not_built;
        handler
    }};
}

/// What a route of a group this build leaves out answers (only reachable
/// by serving an area the function was not built for).
#[allow(dead_code)] // every group built: no route needs it
fn not_built<'a>(_app: &'a App, _params: &'a PathParams, _request: &'a ApiRequest) -> Answer<'a> {
    Box::pin(async { Err(ApiError::new(404, "not_found", "There is nothing at this path.")) })
}

/// Every route the API serves, each with its handler: dispatch is one lookup.
pub const ROUTES: &[Route] = &[
    route("POST", "/consent", Area::Consent, serve!(consent::record)),
    route("GET", "/consent/{consent_id}", Area::Consent, serve!(consent::current)),
    route(
        "GET",
        "/consent/{consent_id}/receipts",
        Area::Consent,
        serve!(consent::receipts),
    ),
    route(
        "DELETE",
        "/consent/{consent_id}",
        Area::Consent,
        serve!(consent::withdraw),
    ),
    route(
        "POST",
        "/newsletter/subscribe",
        Area::Newsletter,
        serve!(newsletter::subscribe),
    ),
    route(
        "GET",
        "/newsletter/confirm",
        Area::Newsletter,
        serve!(newsletter::confirm_page),
    ),
    route(
        "POST",
        "/newsletter/confirm",
        Area::Newsletter,
        serve!(newsletter::confirm),
    ),
    route(
        "GET",
        "/newsletter/unsubscribe",
        Area::Unsubscribe,
        serve!(newsletter::unsubscribe_page),
    ),
    route(
        "POST",
        "/newsletter/unsubscribe",
        Area::Unsubscribe,
        serve!(newsletter::unsubscribe),
    ),
    route(
        "GET",
        "/newsletter/preferences",
        Area::Unsubscribe,
        serve!(preferences::show),
    ),
    route(
        "POST",
        "/newsletter/preferences",
        Area::Unsubscribe,
        serve!(preferences::save),
    ),
    route("POST", "/dsr", Area::Requests, serve!(dsr::submit)),
    route("GET", "/dsr/verify", Area::Requests, serve!(dsr::verify_page)),
    route("POST", "/dsr/verify", Area::Requests, serve!(dsr::verify)),
    route("GET", "/dsr/{request_id}", Area::Requests, serve!(dsr::status)),
    route("GET", "/privacy/register", Area::Register, serve!(register)),
    route(
        "POST",
        "/systems/tasks/{task_id}",
        Area::Systems,
        serve!(systems::answer_from_system),
    ),
    route("GET", "/admin/dsr", Area::Admin, serve!(admin::queue)),
    route("GET", "/admin/dsr/{request_id}", Area::Admin, serve!(admin::detail)),
    route(
        "POST",
        "/admin/dsr/{request_id}/notes",
        Area::Admin,
        serve!(admin::add_note),
    ),
    route(
        "POST",
        "/admin/dsr/{request_id}/extend",
        Area::Admin,
        serve!(admin::extend),
    ),
    route(
        "POST",
        "/admin/dsr/{request_id}/complete",
        Area::Admin,
        serve!(admin::complete),
    ),
    route(
        "POST",
        "/admin/dsr/{request_id}/reject",
        Area::Admin,
        serve!(admin::reject),
    ),
    route(
        "POST",
        "/admin/dsr/{request_id}/lift-restriction",
        Area::Admin,
        serve!(admin::lift_restriction),
    ),
    route(
        "POST",
        "/admin/dsr/{request_id}/tasks/{task_id}",
        Area::Admin,
        serve!(systems::answer_for_system),
    ),
    route("POST", "/admin/holds", Area::Admin, serve!(admin::place_hold)),
    route(
        "DELETE",
        "/admin/holds/{hold_id}",
        Area::Admin,
        serve!(admin::lift_hold),
    ),
    route(
        "POST",
        "/admin/newsletter/subscribers",
        Area::Admin,
        serve!(admin::subscribe_customer),
    ),
    route("POST", "/admin/newsletter/issues", Area::Admin, serve!(issues::create)),
    route("GET", "/admin/newsletter/issues", Area::Admin, serve!(issues::list)),
    route(
        "GET",
        "/admin/newsletter/issues/{issue_id}",
        Area::Admin,
        serve!(issues::show),
    ),
    route(
        "POST",
        "/admin/newsletter/issues/{issue_id}/test",
        Area::Admin,
        serve!(issues::test),
    ),
    route(
        "POST",
        "/admin/newsletter/issues/{issue_id}/cancel",
        Area::Admin,
        serve!(issues::cancel),
    ),
    route(
        "PUT",
        "/admin/newsletter/subscriptions",
        Area::Admin,
        serve!(preferences::set_subscriptions),
    ),
    route(
        "GET",
        "/admin/consent/{consent_id}/proof",
        Area::Admin,
        serve!(reports::consent_proof),
    ),
    route(
        "POST",
        "/admin/consent/proofs",
        Area::Admin,
        serve!(reports::consent_proofs_of_person),
    ),
    route(
        "GET",
        "/admin/reports/consent",
        Area::Admin,
        serve!(reports::consent_report),
    ),
    route(
        "GET",
        "/admin/reports/requests",
        Area::Admin,
        serve!(reports::request_report),
    ),
    route(
        "GET",
        "/admin/reports/requests/monthly",
        Area::Admin,
        serve!(reports::monthly_request_report),
    ),
];

/// SPEC 3.4: the register of processing, as JSON.
async fn register(app: &App, _params: &PathParams, _request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    Ok(ApiResponse::json(200, app.register.document()))
}

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
        if path_matches.is_empty() {
            return ApiError::new(404, "not_found", "There is nothing at this path.").into();
        }
        // RFC 9110 §15.5.6: a 405 names the methods the resource supports
        // (OPTIONS: every path answers the CORS preflight).
        let mut response: ApiResponse =
            ApiError::new(405, "method_not_allowed", "This path does not accept this method.").into();
        let mut allowed: Vec<&str> = path_matches.iter().map(|(route, _)| route.method).collect();
        allowed.push("OPTIONS");
        response.set_header("allow", allowed.join(", "));
        return response;
    };
    let result = (route.handler)(app, params, request).await;
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
    response.set_header("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS");
    response.set_header(
        "access-control-allow-headers",
        "authorization, content-type, sec-gpc, x-aws-waf-token",
    );
    response.set_header("access-control-max-age", "600");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_a_url_is_scheme_host_and_port() {
        let origin = |url: &str| origin_of(url);
        assert_eq!(
            origin("https://privacy.example.com/x?y").as_deref(),
            Some("https://privacy.example.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin("privacy.example.com"), None);
        assert_eq!(origin("javascript:history.back()"), None);
        // A query without a path, a default port, capitals, credentials: the origin all the same.
        assert_eq!(
            origin("https://www.example.com?from=form").as_deref(),
            Some("https://www.example.com")
        );
        assert_eq!(
            origin("HTTPS://WWW.Example.com:443/contact").as_deref(),
            Some("https://www.example.com")
        );
        assert_eq!(
            origin("https://www.example.com@attacker.example/").as_deref(),
            Some("https://attacker.example")
        );
    }

    #[test]
    fn allowed_origins_are_read_as_a_browser_sends_them() {
        let settings = Settings::from_env(|name| {
            (name == "ALLOWED_ORIGINS").then(|| " HTTPS://Shop.Example:443/ , http://localhost:8080,".to_owned())
        });
        assert_eq!(
            settings.allowed_origins,
            ["https://shop.example", "http://localhost:8080"]
        );
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
