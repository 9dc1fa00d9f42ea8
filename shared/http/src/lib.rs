//! The HTTP API of the privacy backend, independent of where it runs.
//!
//! A Lambda function turns its API Gateway event into an [`ApiRequest`] and
//! calls [`handle`]; the local server does the same with a socket. There is
//! one implementation of every route, and [`ROUTES`] lists them all (the same
//! set as template.yaml's, which a test checks).

mod consent;
mod error;
mod message;

use std::sync::Arc;

use privacy_domain::clock::Clock;
use privacy_domain::register::Register;
use privacy_domain::store::RecordStore;

pub use error::ApiError;
pub use message::{ApiRequest, ApiResponse};

/// What every route needs: the ports and the configuration. Built once per
/// process, outside the handler.
pub struct App {
    pub store: Arc<dyn RecordStore>,
    pub clock: Arc<dyn Clock>,
    pub register: Register,
    pub settings: Settings,
}

/// Configuration read from the environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Website origins allowed to call the API from a browser
    /// (`ALLOWED_ORIGINS`, comma-separated, e.g. `https://www.example.com`).
    pub allowed_origins: Vec<String>,
}

impl Settings {
    /// Reads `ALLOWED_ORIGINS` through `var` (so tests need not touch the process environment).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let allowed_origins = var("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        Self { allowed_origins }
    }
}

/// The part of the product a route belongs to: each Lambda function serves one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Consent,
}

impl Area {
    /// The binary (and template.yaml's `BuildProperties.Binary`) serving the area.
    pub fn function(self) -> &'static str {
        match self {
            Area::Consent => "consent-capture",
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

/// Every route the API serves.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/consent",
        area: Area::Consent,
    },
    Route {
        method: "GET",
        path: "/consent/{consent_id}",
        area: Area::Consent,
    },
    Route {
        method: "GET",
        path: "/consent/{consent_id}/receipts",
        area: Area::Consent,
    },
    Route {
        method: "DELETE",
        path: "/consent/{consent_id}",
        area: Area::Consent,
    },
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
                if let Some(name) = expected
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
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
pub async fn handle(app: &App, areas: &[Area], request: ApiRequest) -> ApiResponse {
    let origin = request.header("origin").map(str::to_owned);
    let origin_allowed = origin.as_deref().is_none_or(|origin| {
        app.settings
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
    });
    let mut response = if request.method == "OPTIONS" {
        preflight(origin_allowed)
    } else if !origin_allowed && request.method != "GET" {
        ApiError::new(
            403,
            "origin_not_allowed",
            "This origin may not call the API.",
        )
        .into()
    } else {
        route(app, areas, &request).await
    };
    if let (Some(origin), true) = (origin, origin_allowed) {
        response.set_header("access-control-allow-origin", origin);
        response.set_header("vary", "Origin");
    }
    response
}

async fn route(app: &App, areas: &[Area], request: &ApiRequest) -> ApiResponse {
    let path_matches: Vec<(&Route, PathParams)> = ROUTES
        .iter()
        .filter(|route| areas.contains(&route.area))
        .filter_map(|route| match_path(route.path, &request.path).map(|params| (route, params)))
        .collect();
    let Some((route, params)) = path_matches
        .iter()
        .find(|(route, _)| route.method == request.method)
    else {
        return if path_matches.is_empty() {
            ApiError::new(404, "not_found", "There is nothing at this path.").into()
        } else {
            ApiError::new(
                405,
                "method_not_allowed",
                "This path does not accept this method.",
            )
            .into()
        };
    };
    let result = match route.area {
        Area::Consent => consent::handle(app, route, params, request).await,
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
        return ApiError::new(
            403,
            "origin_not_allowed",
            "This origin may not call the API.",
        )
        .into();
    }
    let mut response = ApiResponse::empty(204);
    response.set_header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
    response.set_header("access-control-allow-headers", "content-type, sec-gpc");
    response.set_header("access-control-max-age", "600");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_patterns_with_parameters() {
        let params = match_path("/consent/{consent_id}/receipts", "/consent/abc/receipts").unwrap();
        assert_eq!(params.get("consent_id"), Some("abc"));
        assert!(match_path("/consent/{consent_id}", "/consent/abc/receipts").is_none());
        assert!(match_path("/consent/{consent_id}", "/consent/").is_none());
        assert!(match_path("/consent", "/consent").is_some());
    }
}
