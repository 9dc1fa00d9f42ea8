//! Newsletter issues through the built functions: the admin routes, the
//! planner on its schedule, the recipient queue on the emulator's SQS, and
//! the sender fed with the SQS events Lambda would give it.

use std::time::Duration;

use jiff::Timestamp;
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::newsletter::{Links, ListId, NoticeShown, SignUp};
use privacy_domain::testing::World;
use serde_json::{json, Value};

use crate::events::{http_event, with_jwt};
use crate::function::Function;
use crate::lambda_emulator::Invocation;
use crate::newsletter::{secrets, Deployment, PUBLIC_BASE_URL};

pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&crate::aws::sdk_config().await)
}

/// A fresh queue on the emulator; its URL.
pub async fn recipient_queue() -> String {
    let name = format!("recipients-{}", uuid::Uuid::new_v4().simple());
    sqs()
        .await
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("a queue URL")
}

/// One received message, as the sender's event carries it.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

/// Receives every message on the queue (each once: the emulator hides a
/// received message for its visibility timeout).
pub async fn receive_all(queue_url: &str) -> Vec<QueuedMessage> {
    let client = sqs().await;
    let mut messages = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .expect("receive messages");
        let received = output.messages.unwrap_or_default();
        if received.is_empty() {
            return messages;
        }
        messages.extend(received.into_iter().map(|message| QueuedMessage {
            message_id: message.message_id.unwrap_or_default(),
            receipt_handle: message.receipt_handle.unwrap_or_default(),
            body: message.body.unwrap_or_default(),
        }));
    }
}

/// The SQS event Lambda gives the sender for `messages` (the sample's shape).
pub fn sqs_event(messages: &[QueuedMessage]) -> Value {
    let sample = crate::events::sample("newsletter-sender-sqs");
    let template = sample["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let mut record = template.clone();
            record["messageId"] = json!(message.message_id);
            record["receiptHandle"] = json!(message.receipt_handle);
            record["body"] = json!(message.body);
            record
        })
        .collect();
    json!({ "Records": records })
}

/// The message ids a sender's answer hands back for a retry.
pub fn batch_item_failures(invocation: &Invocation) -> Vec<String> {
    match invocation {
        Invocation::Response(response) => response["batchItemFailures"]
            .as_array()
            .map(|failures| {
                failures
                    .iter()
                    .filter_map(|failure| failure["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        other => panic!("the sender failed: {other:?}"),
    }
}

/// A deployment with the issue functions running.
pub struct IssueBackend {
    pub deployment: Deployment,
    pub queue_url: String,
    pub admin: Function,
    pub planner: Function,
    pub unsubscribe: Function,
}

impl IssueBackend {
    pub async fn start() -> Self {
        let deployment = Deployment::new().await;
        let queue_url = recipient_queue().await;
        let admin = deployment.start("dsr-admin", &[]).await;
        let planner = deployment
            .start("newsletter-planner", &[("RECIPIENT_QUEUE_URL", &queue_url)])
            .await;
        let unsubscribe = deployment.start("newsletter-unsubscribe", &[]).await;
        Self {
            deployment,
            queue_url,
            admin,
            planner,
            unsubscribe,
        }
    }

    /// A sender with `rate` mails per second (one sender).
    pub async fn sender(&self, rate: &str) -> Function {
        self.deployment
            .start(
                "newsletter-sender",
                &[
                    ("SEND_RATE_PER_SECOND", rate),
                    ("SENDER_CONCURRENCY", "1"),
                    ("SUBJECT_PEPPER", ""),
                ],
            )
            .await
    }

    /// The domain over the deployment's table, with its secrets.
    pub async fn world(&self) -> World<DynamoRecordStore> {
        let store = DynamoRecordStore::new(crate::aws::dynamodb().await, &self.deployment.table);
        let mut world = World::on(store, Timestamp::now());
        world.secrets = secrets();
        world.links = Links::new(PUBLIC_BASE_URL);
        world
    }

    /// `address` signs up and confirms (through the domain, whose mails stay in its recorder).
    pub async fn confirmed(&self, world: &World<DynamoRecordStore>, address: &str) {
        let sign_up = SignUp {
            email: privacy_domain::testing::email(address),
            name: None,
            lists: vec![ListId::default_list()],
            consent_id: None,
            channel: "api",
            ip: None,
            notice: NoticeShown::default(),
        };
        world.newsletter().sign_up(sign_up).await.expect("sign up");
        world
            .ports()
            .outbox()
            .retry(Timestamp::now() + jiff::SignedDuration::from_mins(1))
            .await
            .expect("the confirmation mail");
        let mail = world.mailer.sent().pop().expect("a confirmation mail");
        let prefix = "/newsletter/confirm?token=";
        let start = mail.text.find(prefix).expect("a confirmation link") + prefix.len();
        let token = mail.text[start..].split_whitespace().next().expect("a token");
        world.newsletter().confirm(token, None).await.expect("confirm");
    }

    /// `POST /admin/newsletter/issues` through the admin function; the issue id.
    pub async fn write_issue(&self, subject: &str) -> String {
        let body = json!({"list": "news", "subject": subject, "text": "Hello readers.\n\nWhat is new this month."});
        let response = self
            .admin
            .http(with_jwt(
                http_event(
                    "POST /admin/newsletter/issues",
                    "/admin/newsletter/issues",
                    Some(&body.to_string()),
                ),
                "team-member-1",
            ))
            .await;
        assert_eq!(response.status, 202, "{}", response.body);
        response.json()["issue_id"].as_str().expect("an issue id").to_owned()
    }

    /// An admin call on one issue: `GET` (no action) or `POST …/{action}`.
    pub async fn on_issue(&self, issue_id: &str, action: Option<&str>) -> crate::events::HttpResponse {
        let (key, path) = match action {
            None => (
                "GET /admin/newsletter/issues/{issue_id}".to_owned(),
                format!("/admin/newsletter/issues/{issue_id}"),
            ),
            Some(action) => (
                format!("POST /admin/newsletter/issues/{{issue_id}}/{action}"),
                format!("/admin/newsletter/issues/{issue_id}/{action}"),
            ),
        };
        let mut event = with_jwt(http_event(&key, &path, None), "team-member-1");
        event["pathParameters"] = json!({"issue_id": issue_id});
        self.admin.http(event).await
    }

    /// One planner run (the schedule's event); its report.
    pub async fn plan(&self) -> Value {
        match self
            .planner
            .invoke_with_timeout(
                crate::events::sample("newsletter-planner-schedule"),
                Duration::from_secs(60),
            )
            .await
        {
            Invocation::Response(report) => report,
            other => panic!("the planner failed: {other:?}"),
        }
    }

    pub async fn stop(self, personal_data: &[&str]) {
        self.admin.stop_checking_logs(personal_data).await;
        self.planner.stop_checking_logs(personal_data).await;
        self.unsubscribe.stop_checking_logs(personal_data).await;
    }
}
