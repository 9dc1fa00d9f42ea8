//! openapi.yaml, template.yaml and the handlers agree: the same routes, the
//! same secured routes, and the handlers' real answers have the statuses,
//! media types and bodies the document promises.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use privacy_domain::clock::SystemClock;
use privacy_domain::dsr::tasks::config::SystemsConfig;
use privacy_domain::dsr::tasks::signature;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::RecordingMailer;
use privacy_domain::register::Register;
use privacy_domain::store::memory::MemoryStore;
use privacy_http::{ApiRequest, App, Area, Principal, Settings, DEFAULT_ADMIN_SCOPE, ROUTES};
use privacy_tests::events::{sample, sample_names};
use privacy_tests::newsletter::{secrets, subject_of, PUBLIC_BASE_URL, WEBSITE};
use privacy_tests::{openapi, template};
use serde_json::{json, Map, Value};

type Route = (String, String);

#[test]
fn openapi_template_and_handlers_have_the_same_routes() {
    let documented = openapi::routes();
    let deployed: BTreeSet<Route> = template::functions()
        .into_iter()
        .flat_map(|function| function.routes)
        .collect();
    let served: BTreeSet<Route> = ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    let everywhere: BTreeSet<&Route> = documented.iter().chain(&deployed).chain(&served).collect();
    let disagreements: Vec<String> = everywhere
        .into_iter()
        .filter_map(|route| {
            let presence = [
                ("openapi.yaml", documented.contains(route)),
                ("template.yaml", deployed.contains(route)),
                ("privacy_http::ROUTES", served.contains(route)),
            ];
            if presence.iter().all(|(_, present)| *present) {
                return None;
            }
            let list = |wanted: bool| {
                presence
                    .iter()
                    .filter(|(_, present)| *present == wanted)
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Some(format!(
                "  {} {}: in {}; missing from {}",
                route.0,
                route.1,
                list(true),
                list(false)
            ))
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "openapi.yaml, template.yaml (HttpApi events) and privacy_http::ROUTES must list the same (method, path) set:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn exactly_the_admin_routes_need_the_jwt_in_openapi_and_template() {
    let document = openapi::document();
    let secured_in_openapi: BTreeSet<Route> = openapi::operations(&document)
        .into_iter()
        .filter(|operation| {
            operation.operation["security"]
                .as_array()
                .is_some_and(|schemes| schemes.iter().any(|scheme| scheme.get("privacyTeamJwt").is_some()))
        })
        .map(|operation| (operation.method, operation.path))
        .collect();
    let template = template::template();
    let mut secured_in_template = BTreeSet::new();
    for resource in template["Resources"].as_mapping().expect("Resources").values() {
        for event in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|events| events.values())
        {
            if event["Type"].as_str() == Some("HttpApi")
                && event["Properties"]["Auth"]["Authorizer"].as_str() == Some("PrivacyTeamJwt")
            {
                secured_in_template.insert((
                    event["Properties"]["Method"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    event["Properties"]["Path"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let admin: BTreeSet<Route> = ROUTES
        .iter()
        .filter(|route| route.area == Area::Admin)
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert!(admin.iter().all(|(_, path)| path.starts_with("/admin/")));
    assert_eq!(
        secured_in_openapi, admin,
        "operations with security privacyTeamJwt in openapi.yaml"
    );
    assert_eq!(
        secured_in_template, admin,
        "HttpApi events with Auth.Authorizer PrivacyTeamJwt in template.yaml"
    );
    assert_eq!(
        document["components"]["securitySchemes"]["privacyTeamJwt"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": document["components"]["securitySchemes"]["privacyTeamJwt"]["description"]}),
        "the admin scheme is a bearer JWT"
    );
    assert!(
        document.get("security").is_none(),
        "no document-wide security: the public routes are public"
    );
}

#[test]
fn every_operation_is_documented_completely() {
    let document = openapi::document();
    assert_eq!(
        document["openapi"].as_str().map(|v| &v[..4]),
        Some("3.1."),
        "OpenAPI 3.1"
    );
    let mut references = Vec::new();
    openapi::references(&document, &mut references);
    for reference in references {
        openapi::resolve(&document, &json!({ "$ref": reference })).unwrap_or_else(|error| panic!("{error}"));
    }
    let mut operation_ids = BTreeSet::new();
    for operation in openapi::operations(&document) {
        let name = format!("{} {}", operation.method, operation.path);
        let op = &operation.operation;
        assert!(
            operation_ids.insert(
                op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: an operationId"))
                    .to_owned()
            ),
            "{name}: operationId is unique"
        );
        // Every {parameter} of the path is declared, as a required path parameter.
        let declared: BTreeSet<String> = operation
            .path_item_parameters
            .iter()
            .chain(op["parameters"].as_array().into_iter().flatten())
            .map(|parameter| openapi::resolve(&document, parameter).expect("a parameter resolves"))
            .filter(|parameter| parameter["in"] == "path")
            .inspect(|parameter| assert_eq!(parameter["required"], true, "{name}: path parameters are required"))
            .map(|parameter| parameter["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        let in_path: BTreeSet<String> = operation
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_path, "{name}: declared path parameters");

        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: responses"));
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status.starts_with('3')),
            "{name}: a success response"
        );
        for status in ["429", "500"] {
            assert!(responses.contains_key(status), "{name}: documents {status}");
        }
        if operation.path.starts_with("/admin/") {
            assert!(responses.contains_key("401"), "{name}: documents 401");
        }
        if operation.method != "GET" {
            assert!(
                responses.contains_key("403"),
                "{name}: documents 403 origin_not_allowed"
            );
        }
        // Every documented body has a schema; every error status has the error body among its JSON shapes.
        for (status, response) in responses {
            let response = openapi::resolve(&document, response).expect("a response resolves");
            assert!(response["description"].is_string(), "{name} {status}: a description");
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                assert!(media["schema"].is_object(), "{name} {status} {media_type}: a schema");
            }
            if status.starts_with('4') || status.starts_with('5') {
                if let Some(json) = response["content"].get("application/json") {
                    let error = json!({"error": {"code": "x", "message": "y", "field": null}});
                    let gateway = json!({"message": "Too Many Requests"});
                    assert!(
                        openapi::validate(&document, &json["schema"], &error).is_ok()
                            || openapi::validate(&document, &json["schema"], &gateway).is_ok(),
                        "{name} {status}: the JSON body is the error body"
                    );
                }
            }
        }
        // Bodies: JSON wherever the route reads one; the two form endpoints and the
        // buttons of the link pages also take forms.
        if let Some(content) = op["requestBody"]["content"].as_object() {
            let media_types: BTreeSet<&str> = content.keys().map(String::as_str).collect();
            let expected: BTreeSet<&str> = match operation.path.as_str() {
                "/newsletter/subscribe"
                | "/dsr"
                | "/newsletter/confirm"
                | "/dsr/verify"
                | "/newsletter/preferences" => ["application/json", "application/x-www-form-urlencoded"].into(),
                "/newsletter/unsubscribe" => ["application/x-www-form-urlencoded"].into(),
                _ => ["application/json"].into(),
            };
            assert_eq!(media_types, expected, "{name}: request media types");
        }
    }
}

/// The fields of an `application/x-www-form-urlencoded` body.
fn form_fields(body: &str) -> Value {
    fn decode(text: &str) -> String {
        let bytes = text.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok());
            match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
                (b'%', Some(byte)) => {
                    out.push(byte);
                    index += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    index += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let fields: Map<String, Value> = body
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (decode(name), Value::String(decode(value))))
        .collect();
    Value::Object(fields)
}

fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn every_sample_event_body_matches_its_documented_request_body() {
    let document = openapi::document();
    for name in sample_names() {
        let event = sample(&name);
        let Some(route_key) = event["routeKey"].as_str() else {
            continue;
        };
        let (method, path) = route_key.split_once(' ').expect("METHOD /path");
        openapi::operation(&document, method, path).unwrap_or_else(|error| panic!("events/{name}.json: {error}"));
        let Some(body) = event["body"].as_str().filter(|body| !body.is_empty()) else {
            continue;
        };
        let media_type = event["headers"]["content-type"]
            .as_str()
            .expect("a body has a content-type");
        let fields = match media_type {
            "application/json" => serde_json::from_str(body).expect("a JSON body"),
            _ => form_fields(body),
        };
        openapi::check_request(&document, method, path, media_type, &fields)
            .unwrap_or_else(|error| panic!("events/{name}.json: {error}"));
    }
}

/// The whole API in process (the handlers the functions and the local server
/// run), on an in-memory store, checking every answer against openapi.yaml.
struct Api {
    app: App,
    mailer: Arc<RecordingMailer>,
    document: Value,
    /// The statuses each route answered.
    exercised: BTreeMap<Route, BTreeSet<u16>>,
}

/// A request to send: method, concrete path (with any query), headers, body.
struct Call {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    principal: Option<&'static str>,
}

fn call(method: &'static str, path: impl Into<String>) -> Call {
    Call {
        method,
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        principal: None,
    }
}

fn get(path: impl Into<String>) -> Call {
    call("GET", path)
}

fn post(path: impl Into<String>) -> Call {
    call("POST", path)
}

fn delete(path: impl Into<String>) -> Call {
    call("DELETE", path)
}

fn put(path: impl Into<String>) -> Call {
    call("PUT", path)
}

impl Call {
    fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string().into_bytes())
    }

    fn form(self, fields: &[(&str, &str)]) -> Self {
        self.raw("application/x-www-form-urlencoded", form_body(fields).into_bytes())
    }

    fn raw(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers.push(("content-type", content_type.to_owned()));
        self.body = body;
        self
    }

    /// A browser on another site.
    fn from(mut self, origin: &str) -> Self {
        self.headers.push(("origin", origin.to_owned()));
        self
    }

    /// With a request header (e.g. `accept`).
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Through the JWT authoriser, as a member of the privacy team.
    fn team(mut self) -> Self {
        self.principal = Some("privacy-team-member");
        self
    }

    /// Signed as a system of record signs its answer (after the body is set).
    fn signed(mut self) -> Self {
        let header = signature::sign(SYSTEM_SECRET.as_bytes(), &self.body, jiff::Timestamp::now());
        self.headers.push(("privacy-signature", header));
        self
    }

    /// The route (path template of ROUTES) this call is for.
    fn route(&self) -> &'static str {
        let path = self.path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        ROUTES
            .iter()
            .filter(|route| route.method == self.method)
            .find(|route| {
                let pattern: Vec<&str> = route.path.split('/').collect();
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(expected, actual)| expected.starts_with('{') || expected == actual)
            })
            .map(|route| route.path)
            .unwrap_or_else(|| panic!("no route serves {} {path}", self.method))
    }
}

const EVIL: &str = "https://evil.example";
const SYSTEM_SECRET: &str = "openapi-test-system-secret-0123456789abcdef";

impl Api {
    fn new() -> Self {
        Self::with_systems(None)
    }

    /// The API of a deployment whose verified requests ask every system of record.
    fn asking_every_system() -> Self {
        let config = json!({"systems": {
            "service": {"secret": SYSTEM_SECRET},
            "support_desk": {"secret": SYSTEM_SECRET, "url": "https://desk.example/privacy"},
            "crm": {"secret": SYSTEM_SECRET, "url": "https://crm.example/privacy"},
        }});
        let register = Register::standard().expect("the standard register");
        let systems = SystemsConfig::parse(&config.to_string(), &register).expect("a systems configuration");
        Self::with_systems(Some(Arc::new(systems)))
    }

    fn with_systems(systems: Option<Arc<SystemsConfig>>) -> Self {
        let mailer = Arc::new(RecordingMailer::new());
        let app = App {
            store: Arc::new(MemoryStore::new()),
            mailer: mailer.clone(),
            clock: Arc::new(SystemClock),
            register: Register::standard().expect("the standard register"),
            pepper: Some(secrets().pepper),
            token_key: Some(secrets().token_key),
            systems,
            settings: Settings {
                allowed_origins: vec![WEBSITE.to_owned()],
                public_base_url: PUBLIC_BASE_URL.to_owned(),
                newsletter_thank_you_url: "https://www.example.com/newsletter/thanks".to_owned(),
                dsr_thank_you_url: "https://www.example.com/privacy/request-received".to_owned(),
                privacy_team_address: EmailAddress::parse("team", "privacy-team@example.com").ok(),
                admin_scope: DEFAULT_ADMIN_SCOPE.to_owned(),
                admin_group: None,
            },
        };
        Self {
            app,
            mailer,
            document: openapi::document(),
            exercised: BTreeMap::new(),
        }
    }

    /// Sends `call` to the handlers, asserts the `expected` status, checks the
    /// answer against openapi.yaml and, for a success, the request body too.
    /// Returns the answer's body.
    async fn expect(&mut self, expected: u16, call: Call) -> String {
        let route = call.route();
        let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
        let request = ApiRequest {
            method: call.method.to_owned(),
            path: path.to_owned(),
            query: form_fields(query)
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect(),
            headers: call
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
            body: call.body.clone(),
            source_ip: "203.0.113.77".parse().ok(),
            principal: call.principal.map(|sub| Principal {
                sub: sub.to_owned(),
                scopes: vec![DEFAULT_ADMIN_SCOPE.to_owned()],
                groups: Vec::new(),
            }),
        };
        let areas = [
            Area::Consent,
            Area::Newsletter,
            Area::Unsubscribe,
            Area::Requests,
            Area::Register,
            Area::Systems,
            Area::Admin,
        ];
        let response = privacy_http::handle(&self.app, &areas, request).await;
        // What the table's stream starts (the local server does the same): the
        // outbox's drain sends the mail a request queued.
        let outbox = self.app.ports().outbox();
        outbox
            .retry(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30))
            .await
            .expect("the outbox's drain");
        assert_eq!(
            response.status, expected,
            "{} {}: {}",
            call.method, call.path, response.body
        );
        let content_type = response.header("content-type");
        openapi::check_response(
            &self.document,
            call.method,
            route,
            response.status,
            content_type,
            &response.body,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        if (200..400).contains(&response.status) && !call.body.is_empty() {
            let (_, media_type) = call
                .headers
                .iter()
                .find(|(name, _)| *name == "content-type")
                .expect("a body type");
            let body = match media_type.as_str() {
                "application/json" => serde_json::from_slice(&call.body).expect("a JSON body"),
                _ => form_fields(&String::from_utf8_lossy(&call.body)),
            };
            openapi::check_request(&self.document, call.method, route, media_type, &body)
                .unwrap_or_else(|error| panic!("{error}"));
        }
        self.exercised
            .entry((call.method.to_owned(), route.to_owned()))
            .or_default()
            .insert(response.status);
        response.body
    }

    /// `expect` for a JSON answer.
    async fn expect_json(&mut self, expected: u16, call: Call) -> Value {
        let body = self.expect(expected, call).await;
        serde_json::from_str(&body).expect("a JSON answer")
    }

    /// The token of the last link to `prefix` mailed to `address`.
    fn mailed_token(&self, address: &str, prefix: &str) -> String {
        let address = EmailAddress::parse("email", address).expect("an address");
        let marker = format!("{PUBLIC_BASE_URL}{prefix}?token=");
        self.mailer
            .sent_to(&address)
            .iter()
            .rev()
            .find_map(|mail| {
                let start = mail.text.find(&marker)? + marker.len();
                Some(mail.text[start..].split_whitespace().next()?.to_owned())
            })
            .unwrap_or_else(|| panic!("no mail to {address:?} links {prefix}"))
    }
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn the_handlers_answer_as_openapi_documents() {
    let mut api = Api::new();
    let big = || vec![b' '; 16 * 1024 + 1];
    let unknown = uuid::Uuid::new_v4().to_string();

    // ------------------------------------------------------------ consent
    let decision = json!({"policy_version": "2026-01", "categories": {"analytics": true, "marketing": false},
                          "source": "banner", "language": "en"});
    let created = api.expect_json(201, post("/consent").json(&decision)).await;
    let id = created["consent_id"].as_str().expect("a consent id").to_owned();
    let change = json!({"consent_id": id, "policy_version": "2026-01", "source": "settings",
        "categories": {"necessary": true, "analytics": true, "marketing": true}, "notice_sha256": "a".repeat(64)});
    let mut gpc = post("/consent").json(&change);
    gpc.headers.push(("sec-gpc", "1".to_owned()));
    api.expect(201, gpc).await;
    let refused = json!({"policy_version": "2026-01", "source": "banner",
        "categories": {"necessary": false, "analytics": true, "marketing": true}});
    api.expect(400, post("/consent").json(&refused)).await;
    api.expect(400, post("/consent").json(&json!({"policy": 1}))).await;
    api.expect(400, post("/consent").raw("application/json", b"{".to_vec()))
        .await;
    api.expect(415, post("/consent").raw("text/plain", b"{}".to_vec()))
        .await;
    api.expect(413, post("/consent").raw("application/json", big())).await;
    api.expect(403, post("/consent").json(&decision).from(EVIL)).await;
    api.expect(201, post("/consent").json(&decision).from(WEBSITE)).await;
    api.expect(200, get(format!("/consent/{id}"))).await;
    api.expect(400, get("/consent/not-a-uuid")).await;
    api.expect(404, get(format!("/consent/{unknown}"))).await;
    let receipts = api.expect_json(200, get(format!("/consent/{id}/receipts"))).await;
    assert_eq!(receipts["receipts"].as_array().map(Vec::len), Some(2));
    api.expect(404, get(format!("/consent/{unknown}/receipts"))).await;
    let proof_path = format!("/admin/consent/{id}/proof");
    api.expect(401, get(&proof_path)).await;
    let proof = api.expect_json(200, get(&proof_path).team()).await;
    assert_eq!(proof["verification"]["intact"], true);
    assert_eq!(proof["receipts"].as_array().map(Vec::len), Some(2));
    api.expect(404, get(format!("/admin/consent/{unknown}/proof")).team())
        .await;
    api.expect(400, get("/admin/consent/not-a-uuid/proof").team()).await;
    let report = api.expect_json(200, get("/admin/reports/consent").team()).await;
    // Three decisions today: every count is a small cell.
    assert_eq!(report["rows"][0]["choices"], "<10");
    api.expect(401, get("/admin/reports/consent")).await;
    api.expect(400, get("/admin/reports/consent?from=2026-05-02&to=2026-05-01").team())
        .await;
    api.expect(400, get("/admin/reports/consent?from=2025-01-01&to=2026-05-01").team())
        .await;
    api.expect(400, get("/admin/reports/consent?to=yesterday").team()).await;
    // An empty value counts as absent, as everywhere in the API.
    api.expect(200, get("/admin/reports/consent?from=&to=").team()).await;
    api.expect(200, delete(format!("/consent/{id}"))).await;
    api.expect(404, delete(format!("/consent/{unknown}"))).await;
    api.expect(400, delete("/consent/not-a-uuid")).await;
    api.expect(403, delete(format!("/consent/{id}")).from(EVIL)).await;

    // --------------------------------------------------------- newsletter
    let ada = unique("ada");
    let sign_up = json!({"email": ada, "name": "Ada", "list": "news", "consent_id": id});
    api.expect(202, post("/newsletter/subscribe").json(&sign_up)).await;
    let grace = unique("grace");
    let form = [("email", grace.as_str()), ("name", "Grace"), ("website", "x")];
    api.expect(303, post("/newsletter/subscribe").form(&form)).await;
    api.expect(400, post("/newsletter/subscribe").form(&[("email", "not-an-address")]))
        .await;
    api.expect(
        400,
        post("/newsletter/subscribe").json(&json!({"email": "not-an-address"})),
    )
    .await;
    api.expect(
        400,
        post("/newsletter/subscribe").json(&json!({"email": ada, "lists": "news"})),
    )
    .await;
    api.expect(
        415,
        post("/newsletter/subscribe").raw("text/plain", b"email=x".to_vec()),
    )
    .await;
    api.expect(
        413,
        post("/newsletter/subscribe").raw("application/x-www-form-urlencoded", big()),
    )
    .await;
    api.expect(403, post("/newsletter/subscribe").json(&sign_up).from(EVIL))
        .await;
    let token = api.mailed_token(&ada, "/newsletter/confirm");
    api.expect(200, get(format!("/newsletter/confirm?token={token}"))).await;
    api.expect(200, get(format!("/newsletter/confirm?token={token}"))).await;
    api.expect(403, post("/newsletter/confirm").form(&[("token", &token)]).from(EVIL))
        .await;
    api.expect(
        415,
        post("/newsletter/confirm").raw("text/plain", token.clone().into_bytes()),
    )
    .await;
    api.expect(
        400,
        post("/newsletter/confirm").json(&json!({"token": token, "list": "news"})),
    )
    .await;
    api.expect(
        200,
        post("/newsletter/confirm")
            .form(&[("token", &token)])
            .from(PUBLIC_BASE_URL),
    )
    .await;
    api.expect(400, post("/newsletter/confirm").json(&json!({"token": token})))
        .await;
    api.expect(400, get(format!("/newsletter/confirm?token={token}"))).await;
    api.expect(400, get("/newsletter/confirm")).await;
    api.expect(400, post("/newsletter/confirm").form(&[])).await;
    // The proof of consent for a person: Ada confirmed with the consent id.
    let person = json!({"email": ada});
    api.expect(401, post("/admin/consent/proofs").json(&person)).await;
    let proofs = api
        .expect_json(200, post("/admin/consent/proofs").json(&person).team())
        .await;
    assert_eq!(proofs["proofs"][0]["consent_id"], id.as_str(), "{proofs}");
    let nobody = api
        .expect_json(
            400,
            post("/admin/consent/proofs")
                .json(&json!({"email": "not-an-address"}))
                .team(),
        )
        .await;
    assert_eq!(nobody["error"]["field"], "email", "{nobody}");
    api.expect(
        415,
        post("/admin/consent/proofs").raw("text/plain", b"x".to_vec()).team(),
    )
    .await;
    api.expect(413, post("/admin/consent/proofs").raw("application/json", big()).team())
        .await;
    api.expect(403, post("/admin/consent/proofs").json(&person).team().from(EVIL))
        .await;
    let token = secrets().token_key.unsubscribe_token(&subject_of(&ada), "news");
    let link = format!("/newsletter/unsubscribe?token={token}");
    api.expect(200, get(&link)).await;
    api.expect(400, get("/newsletter/unsubscribe?token=v1.forged")).await;
    api.expect(200, post(&link).form(&[("List-Unsubscribe", "One-Click")]))
        .await;
    api.expect(200, post(&link)).await;
    api.expect(200, post(&link).from(PUBLIC_BASE_URL)).await;
    api.expect(400, post("/newsletter/unsubscribe?token=v1.forged")).await;
    api.expect(413, post(&link).raw("application/x-www-form-urlencoded", big()))
        .await;
    api.expect(403, post(&link).from(EVIL)).await;

    // -------------------------------------------- the preference centre (SPEC 9)
    let lin = unique("lin");
    let both = json!({"email": lin, "lists": ["news", "events"]});
    api.expect(202, post("/newsletter/subscribe").json(&both)).await;
    api.expect(
        400,
        post("/newsletter/subscribe").json(&json!({"email": lin, "lists": ["news", "sport"]})),
    )
    .await;
    api.expect(
        400,
        post("/newsletter/subscribe").json(&json!({"email": lin, "lists": []})),
    )
    .await;
    let token = api.mailed_token(&lin, "/newsletter/confirm");
    api.expect(200, post("/newsletter/confirm").form(&[("token", &token)]))
        .await;
    let token = api.mailed_token(&lin, "/newsletter/preferences");
    let centre = format!("/newsletter/preferences?token={token}");
    api.expect(200, get(&centre)).await;
    api.expect(200, get(format!("{centre}&lang=sv"))).await;
    let shown = api
        .expect_json(200, get(&centre).header("accept", "application/json"))
        .await;
    assert_eq!(shown["lists"], json!({"news": true, "events": true}));
    api.expect(400, get("/newsletter/preferences?token=p1.forged")).await;
    api.expect(
        400,
        get("/newsletter/preferences?token=p1.forged").header("accept", "application/json"),
    )
    .await;
    let off = json!({"token": token, "lists": {"events": false}});
    let saved = api.expect_json(200, post("/newsletter/preferences").json(&off)).await;
    assert_eq!(saved["lists"], json!({"news": true, "events": false}));
    api.expect(
        200,
        post("/newsletter/preferences")
            .form(&[("token", &token), ("lists.news", "true"), ("lists.events", "true")])
            .from(PUBLIC_BASE_URL),
    )
    .await;
    api.expect(
        400,
        post("/newsletter/preferences").json(&json!({"token": token, "lists": {"sport": true}})),
    )
    .await;
    api.expect(400, post("/newsletter/preferences").json(&json!({"token": token})))
        .await;
    api.expect(
        400,
        post("/newsletter/preferences").json(&json!({"token": "p1.forged", "lists": {"news": true}})),
    )
    .await;
    api.expect(400, post("/newsletter/preferences").form(&[("token", "p1.forged")]))
        .await;
    api.expect(403, post("/newsletter/preferences").json(&off).from(EVIL))
        .await;
    api.expect(415, post("/newsletter/preferences").raw("text/plain", b"x".to_vec()))
        .await;
    api.expect(
        413,
        post("/newsletter/preferences").raw("application/x-www-form-urlencoded", big()),
    )
    .await;
    let everything = json!({"token": token, "unsubscribe_all": true});
    api.expect(200, post("/newsletter/preferences").json(&everything)).await;
    let back = json!({"token": token, "lists": {"news": true}});
    api.expect(409, post("/newsletter/preferences").json(&back)).await;
    api.expect(
        409,
        post("/newsletter/preferences").form(&[("token", &token), ("lists.news", "true")]),
    )
    .await;

    // ------------------------------------ account settings: PUT /admin/newsletter/subscriptions
    let settings = "/admin/newsletter/subscriptions";
    let account =
        json!({"email": unique("account"), "lists": {"news": true, "events": false}, "basis": "legitimate_interest"});
    api.expect(401, put(settings).json(&account)).await;
    let set = api.expect_json(200, put(settings).json(&account).team()).await;
    assert_eq!(set["lists"], json!({"news": true, "events": false}));
    let refused = json!({"email": lin, "lists": {"news": true}, "basis": "consent"});
    api.expect(409, put(settings).json(&refused).team()).await;
    for bad in [
        json!({"email": lin, "lists": {"news": true}, "basis": "contract"}),
        json!({"email": lin, "lists": {}, "basis": "consent"}),
        json!({"email": lin, "lists": {"news": "yes"}, "basis": "consent"}),
        json!({"email": "not-an-address", "lists": {"news": true}, "basis": "consent"}),
    ] {
        api.expect(400, put(settings).json(&bad).team()).await;
    }
    api.expect(415, put(settings).raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, put(settings).raw("application/json", big()).team())
        .await;
    api.expect(403, put(settings).json(&account).team().from(EVIL)).await;

    // ----------------------------------------------- data subject requests
    let requester = unique("requester");
    let restriction = json!({"type": "restriction", "email": requester, "name": "Ada Lovelace",
        "jurisdiction": "gdpr", "details": "Stop using my data while you check it."});
    let submitted = api.expect_json(202, post("/dsr").json(&restriction)).await;
    let request_id = submitted["request_id"].as_str().expect("a request id").to_owned();
    let form = unique("form");
    api.expect(
        303,
        post("/dsr").form(&[("type", "access"), ("email", &form), ("referrer", "x")]),
    )
    .await;
    api.expect(400, post("/dsr").form(&[("email", &form)])).await;
    let correct = json!({"type": "rectification", "email": unique("r"), "corrections": {"name": "Ada King"}});
    api.expect(202, post("/dsr").json(&correct)).await;
    api.expect(
        400,
        post("/dsr").json(&json!({"type": "rectification", "email": unique("r")})),
    )
    .await;
    let form = unique("form");
    let fields = [
        ("type", "ccpa_correct"),
        ("email", &form),
        ("corrections.email", "new@example.com"),
    ];
    api.expect(303, post("/dsr").form(&fields)).await;
    let opt_out = api
        .expect_json(
            202,
            post("/dsr").json(&json!({"type": "ccpa_opt_out", "email": unique("o")})),
        )
        .await;
    assert_eq!(opt_out["status"], "completed", "an opt-out acts at once");
    api.expect(415, post("/dsr").raw("text/plain", b"type=access".to_vec()))
        .await;
    api.expect(413, post("/dsr").raw("application/json", big())).await;
    api.expect(403, post("/dsr").json(&restriction).from(EVIL)).await;
    let token = api.mailed_token(&requester, "/dsr/verify");
    api.expect(200, get(format!("/dsr/verify?token={token}"))).await;
    api.expect(403, post("/dsr/verify").form(&[("token", &token)]).from(EVIL))
        .await;
    api.expect(413, post("/dsr/verify").raw("application/x-www-form-urlencoded", big()))
        .await;
    api.expect(200, post("/dsr/verify").form(&[("token", &token)])).await;
    api.expect(400, post("/dsr/verify").form(&[("token", &token)])).await;
    api.expect(400, get(format!("/dsr/verify?token={token}"))).await;
    let accessor = unique("accessor");
    api.expect(202, post("/dsr").json(&json!({"type": "access", "email": accessor})))
        .await;
    let token = api.mailed_token(&accessor, "/dsr/verify");
    api.expect(200, post("/dsr/verify").json(&json!({"token": token})))
        .await;
    let token = secrets().token_key.request_status_token(&request_id);
    let status = api
        .expect_json(200, get(format!("/dsr/{request_id}?token={token}")))
        .await;
    assert_eq!(status["status"], "awaiting_team", "{status}");
    api.expect(404, get(format!("/dsr/{request_id}?token=wrong"))).await;
    api.expect(404, get(format!("/dsr/{request_id}"))).await;
    api.expect(200, get("/privacy/register")).await;

    // ----------------------------------------------------------- the team
    api.expect(401, get("/admin/dsr")).await;
    let queue = api.expect_json(200, get("/admin/dsr").team()).await;
    assert!(!queue["requests"].as_array().expect("requests").is_empty());
    api.expect(200, get("/admin/dsr?status=awaiting_team&due_before=2099-01-01").team())
        .await;
    api.expect(400, get("/admin/dsr?status=lost").team()).await;
    api.expect(400, get("/admin/dsr?due_before=soon").team()).await;
    let reason = json!({"reason": "Several systems are involved; we need two more months."});
    let note = json!({"note": "Processing restricted in every system."});
    for (decision, body) in [("extend", &reason), ("complete", &note), ("reject", &reason)] {
        let at = format!("/admin/dsr/{request_id}/{decision}");
        api.expect(401, post(&at).json(body)).await;
        api.expect(404, post(format!("/admin/dsr/{unknown}/{decision}")).json(body).team())
            .await;
        api.expect(400, post(&at).json(&json!({"comment": "x"})).team()).await;
        api.expect(400, post(&at).json(&json!({"reason": "", "note": ""})).team())
            .await;
        api.expect(415, post(&at).raw("text/plain", b"x".to_vec()).team()).await;
        api.expect(413, post(&at).raw("application/json", big()).team()).await;
        api.expect(403, post(&at).json(body).team().from(EVIL)).await;
    }
    let extend = format!("/admin/dsr/{request_id}/extend");
    let extended = api.expect_json(200, post(&extend).json(&reason).team()).await;
    assert_eq!(extended["extended"], true, "{extended}");
    api.expect(409, post(&extend).json(&reason).team()).await;
    let complete = format!("/admin/dsr/{request_id}/complete");
    api.expect(200, post(&complete).json(&note).team()).await;
    api.expect(409, post(&complete).json(&note).team()).await;
    api.expect(
        409,
        post(format!("/admin/dsr/{request_id}/reject")).json(&reason).team(),
    )
    .await;
    let other = unique("other");
    let submitted = api
        .expect_json(202, post("/dsr").json(&json!({"type": "restriction", "email": other})))
        .await;
    let second = submitted["request_id"].as_str().expect("a request id").to_owned();
    let token = api.mailed_token(&other, "/dsr/verify");
    api.expect(200, post("/dsr/verify").form(&[("token", &token)])).await;
    let reject_second = format!("/admin/dsr/{second}/reject");
    let coded = json!({"reason": "Asked four times this month.", "reason_code": "excessive"});
    let miscoded = json!({"reason": "Asked four times this month.", "reason_code": "unverified"});
    let refused = api.expect_json(400, post(&reject_second).json(&miscoded).team()).await;
    assert_eq!(refused["error"]["field"], "reason_code", "{refused}");
    let rejected = api.expect_json(200, post(&reject_second).json(&coded).team()).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    // The request report counts it, denied as excessive; as JSON and CSV.
    // The year of receipt on the controller's calendar.
    let year = jiff::Timestamp::now()
        .to_zoned_datetime(api.app.register.time_zone().clone())
        .year();
    let report = api
        .expect_json(200, get(format!("/admin/reports/requests?year={year}")).team())
        .await;
    let restrictions = report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["type"] == "restriction"))
        .cloned()
        .expect("a row per type");
    assert_eq!(restrictions["denied_by_reason"]["excessive"], 1, "{report}");
    let csv = api
        .expect(
            200,
            get(format!("/admin/reports/requests?year={year}"))
                .header("accept", "text/csv")
                .team(),
        )
        .await;
    assert!(csv.starts_with("type,received,"), "{csv}");
    api.expect(400, get("/admin/reports/requests?year=26").team()).await;
    api.expect(400, get("/admin/reports/requests").team()).await;
    let monthly = api
        .expect_json(200, get("/admin/reports/requests/monthly").team())
        .await;
    assert_eq!(monthly["months"].as_array().map(Vec::len), Some(12), "{monthly}");
    api.expect(200, get("/admin/reports/requests/monthly?through=2026-01").team())
        .await;
    api.expect(400, get("/admin/reports/requests/monthly?through=2026-1").team())
        .await;
    api.expect(401, get("/admin/reports/requests/monthly")).await;
    api.expect(401, get(format!("/admin/reports/requests?year={year}")))
        .await;
    // The rejected restriction is still in force until the team lifts it.
    let lift = format!("/admin/dsr/{second}/lift-restriction");
    let lifting = json!({"reason": "The accuracy of the data was verified."});
    api.expect(401, post(&lift).json(&lifting)).await;
    api.expect(
        404,
        post(format!("/admin/dsr/{unknown}/lift-restriction"))
            .json(&lifting)
            .team(),
    )
    .await;
    api.expect(400, post(&lift).json(&json!({"note": "x"})).team()).await;
    api.expect(415, post(&lift).raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, post(&lift).raw("application/json", big()).team()).await;
    api.expect(403, post(&lift).json(&lifting).team().from(EVIL)).await;
    let lifted = api.expect_json(200, post(&lift).json(&lifting).team()).await;
    assert_eq!(lifted["request_id"], second.as_str(), "{lifted}");
    api.expect(409, post(&lift).json(&lifting).team()).await;

    let hold = json!({"email": ada, "category": "invoicing", "until": "2033-12-31T23:00:00Z",
                      "reason": "Bokföringslagen 7 kap. 2 §: invoices of fiscal year 2026"});
    api.expect(401, post("/admin/holds").json(&hold)).await;
    let placed = api.expect_json(201, post("/admin/holds").json(&hold).team()).await;
    let hold_id = placed["hold_id"].as_str().expect("a hold id").to_owned();
    let mut past = hold.clone();
    past["until"] = json!("2001-01-01T00:00:00Z");
    api.expect(400, post("/admin/holds").json(&past).team()).await;
    api.expect(
        400,
        post("/admin/holds")
            .json(&json!({"email": ada, "category": "everything"}))
            .team(),
    )
    .await;
    api.expect(415, post("/admin/holds").raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, post("/admin/holds").raw("application/json", big()).team())
        .await;
    api.expect(403, post("/admin/holds").json(&hold).team().from(EVIL))
        .await;
    let lift = format!("/admin/holds/{hold_id}");
    api.expect(401, delete(&lift)).await;
    api.expect(403, delete(&lift).team().from(EVIL)).await;
    api.expect(204, delete(&lift).team()).await;
    api.expect(404, delete(&lift).team()).await;
    api.expect(400, delete("/admin/holds/not-a-uuid").team()).await;
    let customer = json!({"email": unique("customer"), "name": "Grace Hopper", "basis": "legitimate_interest"});
    let customers = "/admin/newsletter/subscribers";
    api.expect(401, post(customers).json(&customer)).await;
    api.expect(201, post(customers).json(&customer).team()).await;
    // Ada unsubscribed above: only her own new double opt-in can subscribe her again.
    let suppressed = json!({"email": ada, "basis": "legitimate_interest"});
    api.expect(409, post(customers).json(&suppressed).team()).await;
    api.expect(
        400,
        post(customers).json(&json!({"email": ada, "basis": "consent"})).team(),
    )
    .await;
    api.expect(415, post(customers).raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, post(customers).raw("application/json", big()).team())
        .await;
    api.expect(403, post(customers).json(&customer).team().from(EVIL)).await;

    // ------------------------------------------------ newsletter issues (SPEC 9)
    let issues = "/admin/newsletter/issues";
    let draft = json!({"list": "news", "subject": "June news", "text": "Hello.", "html": "<p>Hello.</p>"});
    api.expect(401, post(issues).json(&draft)).await;
    let written = api.expect_json(202, post(issues).json(&draft).team()).await;
    let issue = written["issue_id"].as_str().expect("an issue id").to_owned();
    for (field, body) in [
        ("list", json!({"list": "sales", "subject": "S", "text": "T"})),
        ("subject", json!({"list": "news", "subject": " ", "text": "T"})),
        ("text", json!({"list": "news", "subject": "S"})),
        (
            "html",
            json!({"list": "news", "subject": "S", "text": "T", "html": "<script>x()</script>"}),
        ),
        (
            "send_at",
            json!({"list": "news", "subject": "S", "text": "T", "send_at": "2020-01-01T00:00:00Z"}),
        ),
        (
            "colour",
            json!({"list": "news", "subject": "S", "text": "T", "colour": "red"}),
        ),
    ] {
        let refused = api.expect_json(400, post(issues).json(&body).team()).await;
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    api.expect(415, post(issues).raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, post(issues).raw("application/json", big()).team())
        .await;
    let listed = api.expect_json(200, get(issues).team()).await;
    assert_eq!(listed["issues"][0]["issue_id"], issue.as_str(), "{listed}");
    api.expect(400, get(format!("{issues}?limit=0")).team()).await;
    let shown = api.expect_json(200, get(format!("{issues}/{issue}")).team()).await;
    assert_eq!(shown["counts"]["sent"], 0, "{shown}");
    api.expect(404, get(format!("{issues}/not-an-issue")).team()).await;
    let test = format!("{issues}/{issue}/test");
    api.expect(200, post(&test).json(&json!({"to": unique("tester")})).team())
        .await;
    let bad_to = api
        .expect_json(400, post(&test).json(&json!({"to": "nobody"})).team())
        .await;
    assert_eq!(bad_to["error"]["field"], "to", "{bad_to}");
    api.expect(
        404,
        post(format!("{issues}/9999999999999-00000000/test"))
            .json(&json!({"to": unique("t")}))
            .team(),
    )
    .await;
    api.expect(415, post(&test).raw("text/plain", b"x".to_vec()).team())
        .await;
    api.expect(413, post(&test).raw("application/json", big()).team()).await;
    let cancel = format!("{issues}/{issue}/cancel");
    let cancelled = api.expect_json(200, post(&cancel).team()).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    api.expect(409, post(&cancel).team()).await;
    api.expect(404, post(format!("{issues}/9999999999999-00000000/cancel")).team())
        .await;

    // ------------------------------------------------ systems of record (SPEC 8)
    let mut systems = Api::asking_every_system();
    let person = unique("systems");
    let submitted = systems
        .expect_json(202, post("/dsr").json(&json!({"type": "erasure", "email": person})))
        .await;
    let id = submitted["request_id"].as_str().expect("a request id").to_owned();
    let token = systems.mailed_token(&person, "/dsr/verify");
    systems
        .expect(200, post("/dsr/verify").form(&[("token", &token)]))
        .await;
    let done = json!({"status": "done"});
    let at = format!("/systems/tasks/{id}.support_desk");
    systems.expect(401, post(&at).json(&done)).await;
    systems
        .expect(
            401,
            post(format!("/systems/tasks/{id}.bookkeeping")).json(&done).signed(),
        )
        .await;
    systems
        .expect(404, post(format!("/systems/tasks/{unknown}.crm")).json(&done).signed())
        .await;
    let invalid = systems
        .expect_json(400, post(&at).json(&json!({"status": "maybe"})).signed())
        .await;
    assert_eq!(invalid["error"]["field"], "status", "{invalid}");
    systems
        .expect(400, post(&at).raw("application/json", b"{".to_vec()).signed())
        .await;
    systems
        .expect(415, post(&at).raw("text/plain", b"done".to_vec()).signed())
        .await;
    systems
        .expect(
            413,
            post(&at).raw("application/json", vec![b' '; 256 * 1024 + 1]).signed(),
        )
        .await;
    systems.expect(403, post(&at).json(&done).signed().from(EVIL)).await;
    let answered = systems.expect_json(200, post(&at).json(&done).signed()).await;
    assert_eq!(answered["task"]["status"], "done", "{answered}");
    systems.expect(409, post(&at).json(&done).signed()).await;
    let by_team = format!("/admin/dsr/{id}/tasks/{id}.bookkeeping");
    let exempt = json!({"status": "exempt", "reason": "Bokföringslagen 7 kap. 2 §: invoices are kept."});
    systems.expect(401, post(&by_team).json(&exempt)).await;
    systems
        .expect(
            404,
            post(format!("/admin/dsr/{unknown}/tasks/{id}.bookkeeping"))
                .json(&exempt)
                .team(),
        )
        .await;
    let unexplained = systems
        .expect_json(400, post(&by_team).json(&json!({"status": "exempt"})).team())
        .await;
    assert_eq!(unexplained["error"]["field"], "reason", "{unexplained}");
    systems
        .expect(415, post(&by_team).raw("text/plain", b"x".to_vec()).team())
        .await;
    systems
        .expect(413, post(&by_team).raw("application/json", big()).team())
        .await;
    systems
        .expect(403, post(&by_team).json(&exempt).team().from(EVIL))
        .await;
    let recorded = systems.expect_json(200, post(&by_team).json(&exempt).team()).await;
    assert_eq!(recorded["task"]["status"], "exempt", "{recorded}");
    systems.expect(409, post(&by_team).json(&exempt).team()).await;
    // A request's detail and the team's notes (SPEC 10).
    let detail = format!("/admin/dsr/{id}");
    systems.expect(401, get(&detail)).await;
    systems.expect(404, get(format!("/admin/dsr/{unknown}")).team()).await;
    let notes = format!("{detail}/notes");
    let note = json!({"text": "Checked the ledger by hand."});
    systems.expect(401, post(&notes).json(&note)).await;
    let blank = systems
        .expect_json(400, post(&notes).json(&json!({"text": " "})).team())
        .await;
    assert_eq!(blank["error"]["field"], "text", "{blank}");
    systems
        .expect(404, post(format!("/admin/dsr/{unknown}/notes")).json(&note).team())
        .await;
    systems
        .expect(415, post(&notes).raw("text/plain", b"x".to_vec()).team())
        .await;
    systems
        .expect(413, post(&notes).raw("application/json", big()).team())
        .await;
    systems.expect(403, post(&notes).json(&note).team().from(EVIL)).await;
    let noted = systems.expect_json(201, post(&notes).json(&note).team()).await;
    assert_eq!(noted["notes"][0]["text"], "Checked the ledger by hand.", "{noted}");
    let shown = systems.expect_json(200, get(&detail).team()).await;
    assert_eq!(shown["tasks"].as_array().map(Vec::len), Some(5), "{shown}");
    assert_eq!(shown["notes"].as_array().map(Vec::len), Some(1), "{shown}");
    for (route, statuses) in systems.exercised {
        api.exercised.entry(route).or_default().extend(statuses);
    }

    // Every route was exercised and answered a success at least once: a new
    // route needs its calls here as well as its operation in openapi.yaml.
    let never: Vec<String> = ROUTES
        .iter()
        .filter(|route| {
            let key = (route.method.to_owned(), route.path.to_owned());
            let statuses = api.exercised.get(&key).cloned().unwrap_or_default();
            !statuses.iter().any(|status| (200..400).contains(status))
        })
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    assert!(never.is_empty(), "routes this test never saw succeed: {never:?}");
}
