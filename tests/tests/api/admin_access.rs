//! Who may use the privacy team's API: the built dsr-admin binary behind API
//! Gateway's JWT authoriser (scope or group, checked again in the function),
//! and the local server (its bearer token, routing before authorisation, and
//! only its own Host names).

use std::process::Stdio;
use std::time::Duration;

use privacy_tests::dsr::DsrBackend;
use privacy_tests::events::{http_event, with_jwt, with_jwt_claims};
use privacy_tests::lambda_emulator::workspace_binary;
use privacy_tests::newsletter::Deployment;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

fn queue_event() -> serde_json::Value {
    http_event("GET /admin/dsr", "/admin/dsr", None)
}

#[tokio::test]
async fn an_admin_route_needs_the_privacy_teams_scope_or_group_not_just_a_valid_token() {
    let deployment = Deployment::new().await;
    let admin = deployment.start("dsr-admin", &[]).await;

    let with_scope = admin.http(with_jwt(queue_event(), "team-member-1")).await;
    assert_eq!(with_scope.status, 200, "{}", with_scope.body);

    // A token of the same identity provider, issued to someone else's app.
    let other_app = json!({"sub": "customer-7", "token_use": "access", "scope": "openid profile"});
    let refused = admin.http(with_jwt_claims(queue_event(), other_app)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "forbidden");
    assert!(refused.json().get("requests").is_none());

    // A scope that only starts like ours is not ours.
    let lookalike = json!({"sub": "customer-7", "scope": "privacy/admin.read privacy/administrator"});
    assert_eq!(admin.http(with_jwt_claims(queue_event(), lookalike)).await.status, 403);

    // A group claim counts only where the deployment names that group.
    let member = json!({"sub": "team-member-2", "token_use": "id", "cognito:groups": "[staff privacy-team]"});
    assert_eq!(
        admin.http(with_jwt_claims(queue_event(), member.clone())).await.status,
        403
    );
    let logs = admin.stop_checking_logs(&[]).await;
    assert!(
        logs.contains("customer-7"),
        "the refused principal is logged by its sub"
    );

    let grouped = deployment.start("dsr-admin", &[("ADMIN_GROUP", "privacy-team")]).await;
    let allowed = grouped.http(with_jwt_claims(queue_event(), member)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let outsider = json!({"sub": "x", "cognito:groups": "[staff privacy-team-readonly]"});
    assert_eq!(grouped.http(with_jwt_claims(queue_event(), outsider)).await.status, 403);
    grouped.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn a_doubled_slash_reaches_no_admin_handler_in_a_function() {
    let deployment = Deployment::new().await;
    let admin = deployment.start("dsr-admin", &[]).await;
    for path in ["//admin/dsr", "/admin//dsr", "/admin/dsr/"] {
        let response = admin.http(http_event("GET /admin/dsr", path, None)).await;
        assert!(
            response.status == 401 || response.status == 404,
            "{path}: {} {}",
            response.status,
            response.body
        );
    }
    admin.stop_checking_logs(&[]).await;
}

#[tokio::test]
async fn the_queue_pages_with_a_cursor_that_cannot_be_altered() {
    let backend = DsrBackend::start().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let address = privacy_tests::newsletter::unique_address(&format!("queued{n}"));
        ids.push(
            backend
                .verified_request(json!({"type": "restriction", "email": address}))
                .await,
        );
    }
    let queue = |query: &str| format!("/admin/dsr{query}");

    let first = backend.admin("GET /admin/dsr", &queue("?limit=2"), None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["requests"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();
    let second = backend
        .admin("GET /admin/dsr", &queue(&format!("?limit=2&cursor={cursor}")), None)
        .await
        .json();
    assert_eq!(second["requests"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none(), "{second}");
    let mut listed: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|page| page["requests"].as_array().unwrap().iter())
        .map(|entry| entry["request_id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids, "every request once, soonest due first across pages");

    let (inner, tag) = cursor.split_once('.').unwrap();
    let forged = format!("eyJQSyI6IkNPTlNFTlQjeCIsIlNLIjoieSJ9.{tag}");
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=two", "limit"),
        (&format!("?cursor={inner}A.{tag}") as &str, "cursor"),
        (&format!("?cursor={forged}"), "cursor"),
        ("?cursor=%7B%22PK%22%3A%22DSR_QUEUE%22%7D", "cursor"),
    ] {
        let refused = backend.admin("GET /admin/dsr", &queue(query), None).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert_eq!(refused.error().1.as_deref(), Some(field), "{query}");
    }
    backend.stop(&[]).await;
}

/// The local server on a free port, with a known admin token.
struct LocalServer {
    child: Child,
    port: u16,
    _outbox: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ADMIN_TOKEN: &str = "local-admin-token-for-tests-0123456789";

impl LocalServer {
    async fn start() -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("an address").port()
        };
        let outbox = std::env::temp_dir().join(format!("local-outbox-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new(workspace_binary("local-server"))
            .env("PORT", port.to_string())
            .env("ADMIN_TOKEN", ADMIN_TOKEN)
            .env("OUTBOX_DIR", &outbox)
            .env_remove("ALLOWED_ORIGINS")
            .env_remove("PUBLIC_BASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the local server starts (built by `cargo build --workspace --bins`)");
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self {
                    child,
                    port,
                    _outbox: TempDir(outbox),
                };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the local server did not listen on port {port}");
    }

    /// Sends one raw HTTP/1.1 request and returns the status and the body.
    async fn raw(&self, request_line: &str, host: &str, authorization: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let mut request = format!("{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some(token) = authorization {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// A JSON POST; the status and the body.
    async fn post(&self, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// The token of the first link in the local outbox that starts with `prefix`.
    fn mailed_token(&self, prefix: &str) -> Option<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self._outbox.0)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        files.sort();
        files.iter().find_map(|file| {
            // Quoted-printable: soft line breaks joined, `=3D` read as `=`.
            let text = std::fs::read_to_string(file)
                .ok()?
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
            let start = text.find(prefix)? + prefix.len();
            let token: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (!token.is_empty()).then_some(token)
        })
    }

    async fn get(&self, path: &str, authorization: Option<&str>) -> (u16, String) {
        let host = format!("127.0.0.1:{}", self.port);
        self.raw(&format!("GET {path}"), &host, authorization).await
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test]
async fn the_local_server_decides_authorisation_on_the_route_it_serves() {
    let server = LocalServer::start().await;
    let (status, body) = server.get("/admin/dsr", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"requests\""), "{body}");

    let (status, body) = server.get("/admin/dsr", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = server.get("/admin/dsr", Some("not-the-token")).await;
    assert_eq!(status, 401);

    // Routing collapses empty segments; authorisation must not be fooled by them.
    for path in [
        "//admin/dsr",
        "/admin//dsr",
        "//admin//dsr",
        "/admin/dsr/",
        "///admin/dsr",
    ] {
        let (status, body) = server.get(path, None).await;
        assert!(status == 401 || status == 404, "{path}: {status} {body}");
        assert!(!body.contains("\"requests\""), "{path} reached the queue: {body}");
    }
}

#[tokio::test]
async fn the_local_server_answers_only_to_its_own_host_names() {
    let server = LocalServer::start().await;
    let port = server.port;
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
    ] {
        let (status, body) = server.raw("GET /privacy/register", &host, None).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    // DNS rebinding: a foreign name resolving to 127.0.0.1 carries that name in Host.
    for host in [
        format!("attacker.example:{port}"),
        "attacker.example".to_owned(),
        format!("127.0.0.1:{}", port + 1),
    ] {
        let (status, body) = server.raw("GET /privacy/register", &host, None).await;
        assert_eq!(status, 421, "{host}: {body}");
        assert!(body.contains("unknown_host"), "{body}");
        let (status, _) = server.raw("GET /admin/dsr", &host, Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 421, "{host} with the admin token");
    }
}

#[tokio::test]
async fn the_local_servers_demo_systems_answer_a_request_that_goes_out_to_three_of_them() {
    let server = LocalServer::start().await;
    let (status, body) = server
        .post(
            "/dsr",
            &json!({"type": "access", "email": "ada@example.com"}).to_string(),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut token = None;
    for _ in 0..100 {
        token = server.mailed_token("/dsr/verify?token=");
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = token.expect("a verification mail in the local outbox");
    let (status, body) = server.post("/dsr/verify", &json!({"token": token}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    // The Service (its event consumed in process), the support desk and the CRM (signed
    // webhooks to the demo receiver) answer through the signed route; the manual systems wait.
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let (status, body) = server.get(&format!("/admin/dsr/{id}"), Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
        statuses = detail["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|task| {
                (
                    task["system"].as_str().unwrap().to_owned(),
                    task["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>();
        statuses.sort();
        let answered = statuses
            .iter()
            .filter(|(_, status)| ["done", "not_found"].contains(&status.as_str()))
            .count();
        if answered == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        statuses,
        [
            ("bookkeeping", "pending"),
            ("crm", "done"),
            ("service", "done"),
            ("support_desk", "not_found"),
            ("web_analytics", "pending"),
        ]
        .map(|(system, status)| (system.to_owned(), status.to_owned()))
        .to_vec()
    );
}
