//! Methods a path does not serve: 405 with `Allow` naming the methods it
//! does (RFC 9110 §15.5.6), in the error shape, for every path of the API;
//! HEAD is not GET; OPTIONS is the CORS preflight.

use std::collections::BTreeSet;
use std::sync::Arc;

use privacy_domain::clock::SystemClock;
use privacy_domain::mail::RecordingMailer;
use privacy_domain::register::Register;
use privacy_domain::store::memory::MemoryStore;
use privacy_http::{ApiRequest, ApiResponse, App, Area, Principal, Settings, DEFAULT_ADMIN_SCOPE, ROUTES};
use privacy_tests::newsletter::{secrets, PUBLIC_BASE_URL, WEBSITE};
use serde_json::Value;

const AREAS: [Area; 7] = [
    Area::Consent,
    Area::Newsletter,
    Area::Unsubscribe,
    Area::Requests,
    Area::Register,
    Area::Systems,
    Area::Admin,
];

fn app() -> App {
    App {
        store: Arc::new(MemoryStore::new()),
        mailer: Arc::new(RecordingMailer::new()),
        clock: Arc::new(SystemClock),
        register: Register::standard().expect("the standard register"),
        pepper: Some(secrets().pepper),
        token_key: Some(secrets().token_key),
        systems: None,
        settings: Settings {
            allowed_origins: vec![WEBSITE.to_owned()],
            public_base_url: PUBLIC_BASE_URL.to_owned(),
            admin_scope: DEFAULT_ADMIN_SCOPE.to_owned(),
            ..Settings::default()
        },
    }
}

/// A concrete path for a route pattern (any id will do: 405 comes before the handler).
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "3f0b2c9e-8a51-4d3e-9c77-2b1e5d0a6f42"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(app: &App, method: &str, path: &str) -> ApiResponse {
    let request = ApiRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        principal: path.starts_with("/admin/").then(|| Principal {
            sub: "team-member".to_owned(),
            scopes: vec![DEFAULT_ADMIN_SCOPE.to_owned()],
            groups: Vec::new(),
        }),
        ..ApiRequest::default()
    };
    privacy_http::handle(app, &AREAS, request).await
}

#[tokio::test]
async fn a_method_a_path_does_not_serve_is_answered_405_with_the_methods_it_does() {
    let app = app();
    let paths: BTreeSet<&str> = ROUTES.iter().map(|route| route.path).collect();
    for pattern in paths {
        let served: BTreeSet<&str> = ROUTES
            .iter()
            .filter(|route| route.path == pattern)
            .map(|route| route.method)
            .collect();
        let path = concrete(pattern);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "HEAD"] {
            if served.contains(method) {
                continue;
            }
            let response = send(&app, method, &path).await;
            assert_eq!(response.status, 405, "{method} {pattern}: {}", response.body);
            let allow = response
                .header("allow")
                .unwrap_or_else(|| panic!("{method} {pattern}: 405 without `Allow`"));
            let advertised: BTreeSet<&str> = allow.split(',').map(str::trim).collect();
            let mut expected = served.clone();
            expected.insert("OPTIONS");
            assert_eq!(advertised, expected, "{method} {pattern}: Allow: {allow}");
            let body: Value = serde_json::from_str(&response.body).expect("a JSON body");
            assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {pattern}");
            assert!(body["error"]["message"].is_string() && body["error"]["field"].is_null());
        }
    }
}

#[tokio::test]
async fn options_is_the_preflight_on_every_path_and_unknown_paths_are_404() {
    let app = app();
    for route in ROUTES {
        let response = send(&app, "OPTIONS", &concrete(route.path)).await;
        assert_eq!(response.status, 204, "OPTIONS {}", route.path);
        assert!(response.header("access-control-allow-methods").is_some());
    }
    let response = send(&app, "TRACE", "/no/such/path").await;
    assert_eq!(response.status, 404, "{}", response.body);
    assert!(
        response.header("allow").is_none(),
        "nothing is allowed where nothing is"
    );
}
