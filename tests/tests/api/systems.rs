//! Requests across the systems of record (SPEC 8) through the built
//! binaries, against the emulator: the systems configuration, tasks, signed
//! hand-over and signed answers.

use jiff::{SignedDuration, Timestamp};
use privacy_domain::dsr::tasks::signature::{sign, verify};
use privacy_domain::store::{Record, RecordKey};
use privacy_tests::events::{http_event, link_button, with_header, with_jwt, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::lambda_emulator::Invocation;
use privacy_tests::newsletter::{mails_to, subject_of, unique_address, Deployment};
use privacy_tests::sweep::SweepDeployment;
use privacy_tests::systems::{TaskEvents, WebhookReceiver};
use serde_json::{json, Value};

const SECRET: &str = "0123456789abcdef0123456789abcdef-systems";

/// A systems configuration for the standard register: the Service by event,
/// the two webhook systems at `webhook` (a loopback receiver).
fn systems_config(webhook: &str) -> String {
    json!({"systems": {
        "service": {"secret": SECRET},
        "support_desk": {"secret": SECRET, "url": format!("{webhook}/support")},
        "crm": {"secret": SECRET, "url": format!("{webhook}/crm")},
    }})
    .to_string()
}

/// Starts `binary` with `extra` and expects it to refuse to start; returns its logs.
async fn refused_start(binary: &str, extra: &[(&str, &str)]) -> String {
    let deployment = Deployment::new().await;
    let function = deployment.start(binary, extra).await;
    let outcome = function
        .invoke(http_event("GET /privacy/register", "/privacy/register", None))
        .await;
    assert_eq!(outcome, Invocation::Exited(Some(1)), "{binary} started");
    function.stop_checking_logs(&[SECRET]).await
}

#[tokio::test]
async fn an_unknown_system_in_the_configuration_stops_the_function_at_start_naming_the_variable() {
    let config = systems_config("https://hooks.example").replace("\"crm\"", "\"payroll\"");
    for binary in ["dsr-intake", "mail-outbox"] {
        let logs = refused_start(binary, &[("SYSTEMS_CONFIG", &config)]).await;
        let line = logs
            .lines()
            .find(|line| line.contains("Error:"))
            .unwrap_or_else(|| panic!("{binary}: no error line in {logs}"));
        assert!(
            line.contains("SYSTEMS_CONFIG") && line.contains("`payroll` is not in the register"),
            "{binary}: {line}"
        );
    }
}

#[tokio::test]
async fn a_webhook_system_without_url_or_malformed_json_in_the_parameter_is_named() {
    let ssm = aws_sdk_ssm::Client::new(&privacy_tests::aws::sdk_config().await);
    let cases = [
        (
            systems_config("https://hooks.example").replace(",\"url\":\"https://hooks.example/crm\"", ""),
            "`crm` has no url",
        ),
        ("{\"systems\": [".to_owned(), "not valid JSON"),
        (
            systems_config("https://hooks.example").replace("\"crm\"", "\"payroll\""),
            "`payroll` is not in the register",
        ),
    ];
    for (value, expected) in cases {
        let name = format!("/privacy/test/systems-{}", uuid::Uuid::new_v4().simple());
        ssm.put_parameter()
            .name(&name)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(&value)
            .send()
            .await
            .unwrap();
        let logs = refused_start("dsr-intake", &[("SYSTEMS_PARAMETER", &name)]).await;
        let line = logs.lines().find(|line| line.contains("Error:")).unwrap_or_default();
        assert!(
            line.contains("SYSTEMS_PARAMETER") && line.contains(expected),
            "{expected}: {logs}"
        );
    }
}

// ------------------------------------------------------------ hand-over and answers

/// Every system of record the standard register asks about an erasure.
const ERASURE_SYSTEMS: [&str; 5] = ["bookkeeping", "crm", "service", "support_desk", "web_analytics"];

/// A deployment asking every system: the intake (which creates the tasks
/// and takes the systems' answers), the admin API, and the outbox's drain
/// (which hands the tasks over), with the webhooks at `receiver` and the
/// events on `events.bus`.
struct Systems {
    deployment: SweepDeployment,
    receiver: WebhookReceiver,
    events: TaskEvents,
    config: String,
    intake: Function,
    admin: Function,
}

impl Systems {
    async fn start() -> Self {
        let deployment = SweepDeployment::new().await;
        let receiver = WebhookReceiver::start().await;
        let events = TaskEvents::create().await;
        let config = systems_config(&receiver.url);
        let extra = [
            ("PRIVACY_TEAM_ADDRESS", deployment.team.as_str()),
            ("SYSTEMS_CONFIG", config.as_str()),
        ];
        let intake = deployment.deployment.start("dsr-intake", &extra).await;
        let admin = deployment
            .deployment
            .start("dsr-admin", &[("PRIVACY_TEAM_ADDRESS", deployment.team.as_str())])
            .await;
        Self {
            deployment,
            receiver,
            events,
            config,
            intake,
            admin,
        }
    }

    /// An erasure submitted and verified; its request id.
    async fn verified_erasure(&self, address: &str) -> String {
        self.verified("erasure", address).await
    }

    /// A request of `request_type` submitted and verified; its request id.
    async fn verified(&self, request_type: &str, address: &str) -> String {
        let body = json!({"type": request_type, "email": address}).to_string();
        let answer = self.intake.http(http_event("POST /dsr", "/dsr", Some(&body))).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        self.deployment.deployment.drain_outbox(&[], &[address]).await;
        let token = mails_to(address)
            .await
            .iter()
            .rev()
            .find_map(|mail| mail.token("https://privacy.example.com/dsr/verify"))
            .expect("a verification mail");
        let page = self.intake.http(link_button("/dsr/verify", &token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        answer.json()["request_id"].as_str().expect("a request id").to_owned()
    }

    /// One run of the outbox's drain (as the stream or the schedule starts
    /// it); the report of its hand-overs.
    async fn drain(&self, extra: &[(&str, &str)], personal_data: &[&str]) -> Value {
        let mut env = vec![
            ("PRIVACY_TEAM_ADDRESS", self.deployment.team.as_str()),
            ("SYSTEMS_CONFIG", self.config.as_str()),
            ("TASK_EVENT_BUS", self.events.bus.as_str()),
        ];
        env.extend_from_slice(extra);
        let report = self.deployment.deployment.drain_outbox(&env, personal_data).await;
        report["tasks"].clone()
    }

    async fn request(&self, request_id: &str) -> Value {
        self.deployment
            .get(&RecordKey::new(format!("DSR#{request_id}"), "REQUEST"))
            .await
            .expect("the request record")
            .body()
            .expect("a request")
    }

    async fn task(&self, request_id: &str, system: &str) -> Record {
        self.deployment
            .get(&RecordKey::new(format!("DSR#{request_id}"), format!("TASK#{system}")))
            .await
            .unwrap_or_else(|| panic!("the task of {system}"))
    }

    /// A system's answer to `POST /systems/tasks/{task_id}`, signed with `secret` at `at`.
    async fn answer(&self, task_id: &str, body: &Value, secret: &str, at: Timestamp) -> HttpResponse {
        let body = body.to_string();
        let header = sign(secret.as_bytes(), body.as_bytes(), at);
        let path = format!("/systems/tasks/{task_id}");
        let event = with_header(
            http_event("POST /systems/tasks/{task_id}", &path, Some(&body)),
            "privacy-signature",
            Some(&header),
        );
        self.intake.http(event).await
    }

    async fn team_answer(&self, request_id: &str, task_id: &str, body: &Value) -> HttpResponse {
        let path = format!("/admin/dsr/{request_id}/tasks/{task_id}");
        let event = http_event(
            "POST /admin/dsr/{request_id}/tasks/{task_id}",
            &path,
            Some(&body.to_string()),
        );
        self.admin.http(with_jwt(event, "team-member-1")).await
    }

    async fn stop(self, personal_data: &[&str]) {
        self.intake.stop_checking_logs(personal_data).await;
        self.admin.stop_checking_logs(personal_data).await;
    }
}

fn statuses(request: &Value) -> Vec<(String, String)> {
    let mut tasks: Vec<(String, String)> = request["tasks"]
        .as_array()
        .expect("the request's tasks")
        .iter()
        .map(|task| {
            (
                task["system"].as_str().unwrap_or_default().to_owned(),
                task["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    tasks.sort();
    tasks
}

#[tokio::test]
async fn a_verified_erasure_is_handed_to_every_connected_system_signed_and_answered_to_completion() {
    let systems = Systems::start().await;
    let address = unique_address("erasure-systems");
    let id = systems.verified_erasure(&address).await;

    // One task per system that holds the person's data; none handed over yet.
    let request = systems.request(&id).await;
    assert_eq!(
        statuses(&request),
        ERASURE_SYSTEMS
            .iter()
            .map(|system| (system.to_string(), "pending".to_owned()))
            .collect::<Vec<_>>(),
        "{request}"
    );
    for task in request["tasks"].as_array().unwrap() {
        assert_eq!(task["kind"], "act", "{task}");
    }
    assert_ne!(request["status"], "completed", "{request}");

    // The team's queue shows each task beside the request.
    let queue = systems
        .admin
        .http(with_jwt(
            http_event("GET /admin/dsr", "/admin/dsr", None),
            "team-member-1",
        ))
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let queue: Value = serde_json::from_str(&queue.body).unwrap();
    let entry = queue["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("the request in the queue: {queue}"));
    assert_eq!(statuses(entry), statuses(&request), "{entry}");

    // The stream's run hands the event and webhook tasks over.
    let report = systems.drain(&[], &[&address]).await;
    assert_eq!(report["sent"], 3, "{report}");
    let subject = subject_of(&address);

    // Each webhook system got one POST, signed with its secret over the body.
    for (path, system) in [("/support", "support_desk"), ("/crm", "crm")] {
        let posts = systems.receiver.received_at(path);
        assert_eq!(posts.len(), 1, "{path}: {posts:?}");
        let post = &posts[0];
        assert_eq!(post.content_type.as_deref(), Some("application/json"));
        let header = post.signature.as_deref().expect("a Privacy-Signature header");
        verify(SECRET.as_bytes(), header, &post.body, Timestamp::now()).expect("a valid signature");
        assert!(
            verify(
                b"another secret of thirty-two bytes!!",
                header,
                &post.body,
                Timestamp::now()
            )
            .is_err(),
            "the signature depends on the secret"
        );
        let message: Value = serde_json::from_slice(&post.body).expect("a JSON body");
        assert_eq!(message["task_id"], format!("{id}.{system}"));
        assert_eq!(message["request_id"], id.as_str());
        assert_eq!(message["system"], system);
        assert_eq!(message["kind"], "act");
        assert_eq!(message["request_type"], "erasure");
        assert_eq!(message["subject_key"], subject.as_str());
        // Both key people by address: they get it, and nothing else personal.
        assert_eq!(message["email"], address.as_str());
        assert_eq!(
            message["answer_url"],
            format!("https://privacy.example.com/systems/tasks/{id}.{system}")
        );
    }

    // The event system's task went to the bus with the documented envelope.
    let events = systems.events.received().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["detail-type"], "privacy.request.task", "{event}");
    assert_eq!(event["source"], "privacy.backend", "{event}");
    let detail = &event["detail"];
    assert_eq!(detail["task_id"], format!("{id}.service"), "{event}");
    assert_eq!(detail["system"], "service", "{event}");
    assert_eq!(detail["kind"], "act", "{event}");
    assert_eq!(detail["request_type"], "erasure", "{event}");
    assert_eq!(detail["subject_key"], subject.as_str(), "{event}");
    assert_eq!(detail["email"], address.as_str(), "{event}");

    let request = systems.request(&id).await;
    let handed: Vec<(String, String)> = statuses(&request);
    for (system, status) in &handed {
        let expected = if ["service", "support_desk", "crm"].contains(&system.as_str()) {
            "sent"
        } else {
            "pending"
        };
        assert_eq!(status, expected, "{system}: {request}");
    }
    // A second run hands nothing over again.
    let again = systems.drain(&[], &[&address]).await;
    assert_eq!(again["sent"], 0, "{again}");
    assert_eq!(systems.receiver.received().len(), 2);
    assert!(systems.events.received().await.is_empty());

    // Refused answers change nothing.
    let done = json!({"status": "done"});
    let crm = format!("{id}.crm");
    let before = systems.task(&id, "crm").await;
    let forged = systems
        .answer(
            &crm,
            &done,
            "not the secret, but thirty-two bytes long",
            Timestamp::now(),
        )
        .await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let replayed = systems
        .answer(&crm, &done, SECRET, Timestamp::now() - SignedDuration::from_secs(600))
        .await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    let after = systems.task(&id, "crm").await;
    assert_eq!(after.version, before.version, "a refused answer changed the task");
    assert_eq!(after.body::<Value>().unwrap()["status"], "sent");

    // Signed answers end the tasks; a second answer is refused.
    let answered = systems.answer(&crm, &done, SECRET, Timestamp::now()).await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(answered.json()["task"]["status"], "done", "{}", answered.body);
    let ended = systems.task(&id, "crm").await;
    let duplicate = systems
        .answer(&crm, &json!({"status": "not_found"}), SECRET, Timestamp::now())
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);
    let still = systems.task(&id, "crm").await;
    assert_eq!(still.version, ended.version, "a second answer changed the task");
    assert_eq!(still.body::<Value>().unwrap()["status"], "done");

    let answered = systems
        .answer(
            &format!("{id}.support_desk"),
            &json!({"status": "not_found"}),
            SECRET,
            Timestamp::now(),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let answered = systems
        .answer(&format!("{id}.service"), &done, SECRET, Timestamp::now())
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    // The manual systems, through the team.
    let answered = systems
        .team_answer(&id, &format!("{id}.web_analytics"), &json!({"status": "done"}))
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_ne!(systems.request(&id).await["status"], "completed");
    let answered = systems
        .team_answer(
            &id,
            &format!("{id}.bookkeeping"),
            &json!({"status": "exempt", "reason": "Bokföringslagen 7 kap. 2 §: invoices are kept seven years"}),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);

    let request = systems.request(&id).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(
        statuses(&request),
        vec![
            ("bookkeeping".to_owned(), "exempt".to_owned()),
            ("crm".to_owned(), "done".to_owned()),
            ("service".to_owned(), "done".to_owned()),
            ("support_desk".to_owned(), "not_found".to_owned()),
            ("web_analytics".to_owned(), "done".to_owned()),
        ],
        "{request}"
    );
    systems.stop(&[&address, SECRET]).await;
}

#[tokio::test]
async fn a_webhook_answering_500_three_times_then_200_gets_the_task_once_after_retries() {
    let systems = Systems::start().await;
    systems.receiver.fail_first("/support", 3);
    let address = unique_address("retried-webhook");
    let id = systems.verified_erasure(&address).await;
    // Retries due at once (the production default waits a minute, doubling):
    // each run of the drain is one attempt.
    let quick = [("TASK_RETRY_FIRST_SECONDS", "0")];
    for run in 1..=3 {
        let report = systems.drain(&quick, &[&address]).await;
        assert_eq!(report["retrying"], 1, "run {run}: {report}");
        let task: Value = systems.task(&id, "support_desk").await.body().unwrap();
        assert_eq!(task["status"], "pending", "run {run}: {task}");
    }
    let report = systems.drain(&quick, &[&address]).await;
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(report["retrying"], 0, "{report}");
    let task: Value = systems.task(&id, "support_desk").await.body().unwrap();
    assert_eq!(task["status"], "sent", "{task}");
    assert_eq!(task["attempts"], 4, "{task}");
    // Nothing more is sent once the receiver has accepted it.
    let report = systems.drain(&quick, &[&address]).await;
    assert_eq!(report["sent"], 0, "{report}");
    let posts = systems.receiver.received_at("/support");
    let statuses: Vec<u16> = posts.iter().map(|post| post.status).collect();
    assert_eq!(statuses, vec![500, 500, 500, 200], "{posts:?}");
    // The same task each time, each POST signed anew.
    for post in &posts {
        let message: Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(message["task_id"], format!("{id}.support_desk"));
        verify(
            SECRET.as_bytes(),
            post.signature.as_deref().unwrap_or_default(),
            &post.body,
            Timestamp::now(),
        )
        .expect("a valid signature");
    }
    systems.stop(&[&address, SECRET]).await;
}

#[tokio::test]
async fn without_the_short_retry_a_failed_hand_over_waits_for_its_backoff() {
    let systems = Systems::start().await;
    systems.receiver.fail_first("/crm", 1);
    let address = unique_address("backoff-webhook");
    let id = systems.verified_erasure(&address).await;
    let report = systems.drain(&[], &[&address]).await;
    assert_eq!(report["retrying"], 1, "{report}");
    // The default schedule: the next attempt is a minute away, not now.
    let report = systems.drain(&[], &[&address]).await;
    assert_eq!(report["waiting"], 1, "{report}");
    assert_eq!(systems.receiver.received_at("/crm").len(), 1);
    let task: Value = systems.task(&id, "crm").await.body().unwrap();
    assert_eq!(task["status"], "pending", "{task}");
    systems.stop(&[&address, SECRET]).await;
}

#[tokio::test]
async fn a_systems_data_in_a_signed_answer_to_an_access_request_is_its_own_file_in_the_export() {
    let systems = Systems::start().await;
    let address = unique_address("access-systems");
    let id = systems.verified("access", &address).await;
    let request = systems.request(&id).await;
    assert_eq!(
        statuses(&request).len(),
        5,
        "every system holding a category: {request}"
    );
    assert!(
        mails_to(&address)
            .await
            .iter()
            .all(|mail| mail.attachment("personal-data.json").is_none()),
        "the export waits for the other systems"
    );
    let data = json!({"account": {"plan": "pro", "created": "2026-01-05"}});
    let answered = systems
        .answer(
            &format!("{id}.service"),
            &json!({"status": "done", "data": data}),
            SECRET,
            Timestamp::now(),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    for system in ["support_desk", "crm"] {
        let answered = systems
            .answer(
                &format!("{id}.{system}"),
                &json!({"status": "not_found"}),
                SECRET,
                Timestamp::now(),
            )
            .await;
        assert_eq!(answered.status, 200, "{}", answered.body);
    }
    for system in ["bookkeeping", "web_analytics"] {
        let answered = systems
            .team_answer(&id, &format!("{id}.{system}"), &json!({"status": "not_found"}))
            .await;
        assert_eq!(answered.status, 200, "{}", answered.body);
    }
    assert_eq!(systems.request(&id).await["status"], "completed");
    let mails = mails_to(&address).await;
    let export = mails
        .iter()
        .find(|mail| mail.attachment("personal-data.json").is_some())
        .expect("the export, once every system has answered");
    let file = export
        .attachment("system-service.json")
        .expect("the Service's own file");
    assert_eq!(file.content_type, "application/json");
    let file: Value = serde_json::from_slice(&file.content).expect("JSON");
    assert_eq!(file["system"], "service", "{file}");
    assert_eq!(file["status"], "done", "{file}");
    assert_eq!(file["data"], data, "{file}");
    let crm: Value =
        serde_json::from_slice(&export.attachment("system-crm.json").expect("the CRM's file").content).expect("JSON");
    assert_eq!(
        (crm["status"].as_str(), &crm["data"]),
        (Some("not_found"), &Value::Null)
    );
    assert_eq!(
        mails
            .iter()
            .filter(|mail| mail.attachment("personal-data.json").is_some())
            .count(),
        1,
        "one export"
    );
    systems.stop(&[&address, SECRET]).await;
}

#[tokio::test]
async fn the_status_of_an_erasure_names_the_recipients_told_of_it() {
    let systems = Systems::start().await;
    let address = unique_address("erasure-recipients");
    let id = systems.verified_erasure(&address).await;
    let token = privacy_tests::newsletter::secrets().token_key.request_status_token(&id);
    let status = systems
        .intake
        .http(http_event(
            "GET /dsr/{request_id}",
            &format!("/dsr/{id}?token={token}"),
            None,
        ))
        .await;
    assert_eq!(status.status, 200, "{}", status.body);
    let told = status.json()["recipients_notified"].clone();
    let names: Vec<&str> = told
        .as_array()
        .unwrap_or_else(|| panic!("{}", status.body))
        .iter()
        .filter_map(|entry| entry["recipient"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Support tooling suppliers", "Web analytics suppliers"],
        "{told}"
    );
    let reply = mails_to(&address)
        .await
        .into_iter()
        .find(|mail| mail.text.contains("Your data is erased"))
        .expect("the erasure's reply");
    assert!(
        reply
            .text
            .contains("(GDPR Art. 19): Support tooling suppliers; Web analytics suppliers."),
        "{}",
        reply.text
    );
    systems.stop(&[&address, SECRET]).await;
}
