//! API Gateway HTTP API (payload format 2.0) events, from the samples in `events/`.

use serde_json::{json, Value};

use crate::aws::workspace_root;

/// A sample event from `events/NAME.json`.
pub fn sample(name: &str) -> Value {
    let path = workspace_root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// Every sample event's file stem.
pub fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("events"))
        .expect("events/ exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// An HTTP API event for `route_key` ("GET /consent/{consent_id}") at the
/// concrete `path`, shaped like the samples (same headers and request context).
///
/// `path` may carry a query string (`/newsletter/confirm?token=…`).
pub fn http_event(route_key: &str, path: &str, body: Option<&str>) -> Value {
    let (method, _) = route_key.split_once(' ').expect("a route key is `METHOD /path`");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut event = sample("consent-post");
    event["routeKey"] = json!(route_key);
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    if !query.is_empty() {
        let parameters: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), json!(value)))
            .collect();
        event["queryStringParameters"] = Value::Object(parameters);
    }
    event["requestContext"]["routeKey"] = json!(route_key);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let params = path_parameters(
        route_key
            .split_once(' ')
            .map(|(_, pattern)| pattern)
            .unwrap_or_default(),
        path,
    );
    match params {
        Some(params) => event["pathParameters"] = params,
        None => {
            event
                .as_object_mut()
                .expect("an event is an object")
                .remove("pathParameters");
        }
    }
    let headers = event["headers"].as_object_mut().expect("headers are an object");
    headers.remove("content-length");
    match body {
        Some(body) => {
            headers.insert("content-length".to_owned(), json!(body.len().to_string()));
            event["body"] = json!(body);
        }
        None => {
            headers.remove("content-type");
            event.as_object_mut().expect("an event is an object").remove("body");
        }
    }
    event
}

/// Sets (or, with `None`, removes) a request header.
pub fn with_header(mut event: Value, name: &str, value: Option<&str>) -> Value {
    let headers = event["headers"].as_object_mut().expect("headers are an object");
    match value {
        Some(value) => headers.insert(name.to_owned(), json!(value)),
        None => headers.remove(name),
    };
    event
}

/// The GET of a mailed link (`/newsletter/confirm`, `/dsr/verify`): the page
/// that only shows what its button would do.
pub fn link_page(path: &str, token: &str) -> Value {
    http_event(&format!("GET {path}"), &format!("{path}?token={token}"), None)
}

/// The POST of a mailed link's page button: the form field `token`, from a
/// page of the API itself (its origin is the API's, `PUBLIC_BASE_URL` in the tests).
pub fn link_button(path: &str, token: &str) -> Value {
    let body = format!("token={token}");
    let event = http_event(&format!("POST {path}"), path, Some(&body));
    let event = with_header(event, "content-type", Some("application/x-www-form-urlencoded"));
    with_header(event, "origin", Some(crate::newsletter::PUBLIC_BASE_URL))
}

fn path_parameters(pattern: &str, path: &str) -> Option<Value> {
    let params: serde_json::Map<String, Value> = pattern
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(expected, actual)| {
            let name = expected.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), json!(actual)))
        })
        .collect();
    (!params.is_empty()).then_some(Value::Object(params))
}

/// The parts of an API Gateway response a test looks at.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: String,
}

impl HttpResponse {
    pub fn from_gateway(response: &Value) -> Self {
        Self {
            status: response["statusCode"].as_u64().expect("a statusCode") as u16,
            headers: response["headers"].as_object().cloned().unwrap_or_default(),
            body: response["body"].as_str().unwrap_or_default().to_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }

    /// The `(code, field)` of an error body.
    pub fn error(&self) -> (String, Option<String>) {
        let body = self.json();
        let error = &body["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error has a message: {body}"
        );
        (
            error["code"].as_str().expect("an error code").to_owned(),
            error["field"].as_str().map(str::to_owned),
        )
    }
}

/// An SNS event carrying an SES event-publishing notification about `address`
/// (`kind`: `Bounce` or `Complaint`; `bounce_type`: `Permanent`, `Transient`).
pub fn ses_notification(kind: &str, bounce_type: &str, address: &str) -> Value {
    let name = match (kind, bounce_type) {
        ("Bounce", "Permanent") => "ses-bounce-permanent",
        ("Bounce", _) => "ses-bounce-transient",
        _ => "ses-complaint",
    };
    let mut event = sample(name);
    let message = event["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("an SNS message")
        .to_owned();
    let mut notification: Value = serde_json::from_str(&message).expect("the message is SES JSON");
    let recipients = if kind == "Bounce" {
        &mut notification["bounce"]["bouncedRecipients"]
    } else {
        &mut notification["complaint"]["complainedRecipients"]
    };
    for recipient in recipients.as_array_mut().expect("a recipient list") {
        recipient["emailAddress"] = json!(address);
    }
    if let Some(destinations) = notification["mail"]["destination"].as_array_mut() {
        *destinations = vec![json!(address)];
    }
    event["Records"][0]["Sns"]["Message"] = json!(notification.to_string());
    event
}

/// The event as API Gateway passes it on after its JWT authoriser accepted a
/// token with subject `sub` and the privacy team's scope.
pub fn with_jwt(event: Value, sub: &str) -> Value {
    with_jwt_claims(
        event,
        json!({"sub": sub, "iss": "https://auth.example.com/", "client_id": "privacy-admin",
               "token_use": "access", "scope": "openid privacy/admin"}),
    )
}

/// The event after the JWT authoriser accepted a token with these claims
/// (API Gateway passes every claim as a string, arrays as `[a b]`).
pub fn with_jwt_claims(mut event: Value, claims: Value) -> Value {
    event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    event
}
