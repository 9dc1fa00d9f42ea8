//! The newsletter functions against the emulator, and reading back what they did.

use jiff::Timestamp;
use mail_parser::{MessageParser, MimeHeaders};
use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::email::EmailAddress;
use privacy_domain::newsletter::{ListId, Subscription, Suppression};
use privacy_domain::subject::{Pepper, SubjectKey};
use privacy_domain::testing::World;
use privacy_domain::tokens::{Secrets, TokenKey};

use crate::function::Function;

pub const PEPPER: &str = "test-subject-pepper-0123456789abcdef012345";
pub const TOKEN_KEY: &str = "test-token-key-0123456789abcdef0123456789";
pub const PUBLIC_BASE_URL: &str = "https://privacy.example.com";
pub const WEBSITE: &str = "https://www.example.com";

pub fn secrets() -> Secrets {
    Secrets {
        pepper: Pepper::new(PEPPER).expect("a long pepper"),
        token_key: TokenKey::new(TOKEN_KEY).expect("a long key"),
    }
}

pub fn subject_of(address: &str) -> SubjectKey {
    SubjectKey::derive(
        &secrets().pepper,
        &EmailAddress::parse("email", address).expect("an address"),
    )
}

/// A fresh address no other test uses.
pub fn unique_address(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A table, a verified sender, and the environment the mail-sending functions need.
#[derive(Clone)]
pub struct Deployment {
    pub table: String,
    pub sender: String,
}

impl Deployment {
    pub async fn new() -> Self {
        let table = crate::aws::create_table(&crate::aws::dynamodb().await).await;
        let sender = format!("privacy@{}.example", uuid::Uuid::new_v4().simple());
        crate::ses::verify_sender(&crate::ses::client().await, &sender).await;
        Self { table, sender }
    }

    pub fn environment(&self) -> Vec<(&str, &str)> {
        vec![
            ("SENDER_ADDRESS", self.sender.as_str()),
            ("SUBJECT_PEPPER", PEPPER),
            ("TOKEN_KEY", TOKEN_KEY),
            ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
            ("ALLOWED_ORIGINS", WEBSITE),
            ("NEWSLETTER_THANK_YOU_URL", "https://www.example.com/newsletter/thanks"),
        ]
    }

    pub async fn start(&self, binary: &str, extra: &[(&str, &str)]) -> Function {
        let mut env = self.environment();
        env.extend_from_slice(extra);
        Function::start(binary, &self.table, &env).await
    }

    /// The subscription and suppression of `address`, read through the DynamoDB adapter.
    pub async fn state(&self, address: &str) -> (Option<Subscription>, Option<Suppression>) {
        let store = DynamoRecordStore::new(crate::aws::dynamodb().await, &self.table);
        let world = World::on(store, Timestamp::now());
        let subscriptions = world.subscriptions();
        let subject = subject_of(address);
        (
            subscriptions
                .subscription(&subject, &ListId::default_list())
                .await
                .expect("read the subscription"),
            subscriptions.suppression(&subject).await.expect("read the suppression"),
        )
    }
}

impl Deployment {
    /// The opt-in evidence events of `address` on the default list, oldest
    /// first, read from DynamoDB.
    pub async fn evidence_events(&self, address: &str) -> Vec<serde_json::Value> {
        use privacy_domain::store::{RecordKey, RecordStore};
        let store = DynamoRecordStore::new(crate::aws::dynamodb().await, &self.table);
        let key = RecordKey::new(format!("NEWSLETTER#{}", subject_of(address).as_str()), "EVIDENCE#news");
        let Some(record) = store.get(&key).await.expect("read the evidence") else {
            return Vec::new();
        };
        record.attributes["events"]
            .as_array()
            .expect("a list of events")
            .clone()
    }

    /// The drain the table's stream starts, with SES unreachable (nothing
    /// listens on port 9 of loopback): it sends nothing and the one mail
    /// queued stays queued, for a later run.
    pub async fn drain_outbox_while_ses_is_down(&self, personal_data: &[&str]) {
        let report = self
            .drain_outbox(&[("AWS_ENDPOINT_URL_SES", "http://127.0.0.1:9")], personal_data)
            .await;
        assert_eq!(
            (report["sent"].as_u64(), report["still_queued"].as_u64()),
            (Some(0), Some(1)),
            "{report}"
        );
    }

    /// What the table's stream does when a mail is queued (the newsletter
    /// sign-up queues its confirmation): one run of the outbox's drain, with
    /// `extra` environment. Returns the run's report (`sent`, `still_queued`,
    /// `nothing_to_send`, …); the run logs none of `personal_data`.
    pub async fn drain_outbox(&self, extra: &[(&str, &str)], personal_data: &[&str]) -> serde_json::Value {
        let outbox = self.start("mail-outbox", extra).await;
        // The deployed function's timeout (template.yaml): the drain stops 5 s
        // before it, and a busy emulator can take longer than the default 10 s.
        let timeout = std::time::Duration::from_secs(60);
        let report = match outbox
            .invoke_with_timeout(crate::events::sample("mail-outbox-stream"), timeout)
            .await
        {
            crate::lambda_emulator::Invocation::Response(report) => report,
            other => panic!("the outbox's drain failed: {other:?}"),
        };
        outbox.stop_checking_logs(personal_data).await;
        report
    }
}

/// A mail read back from the emulator.
pub struct SentMail {
    pub raw: String,
    pub text: String,
    pub html: String,
    pub list_unsubscribe: Option<String>,
    pub list_unsubscribe_post: Option<String>,
    pub attachments: Vec<SentAttachment>,
}

/// A file attached to a mail read back from the emulator.
pub struct SentAttachment {
    pub filename: Option<String>,
    /// `type/subtype` of its Content-Type.
    pub content_type: String,
    /// Whether its Content-Disposition is `attachment`.
    pub disposition_attachment: bool,
    pub content: Vec<u8>,
}

impl SentMail {
    /// The token of the first link in the text part that starts with `prefix`.
    pub fn token(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)? + prefix.len();
        let rest = &self.text[start..];
        let token = rest.strip_prefix("?token=")?;
        Some(token.split_whitespace().next()?.to_owned())
    }

    /// The attachment named `filename`, if any.
    pub fn attachment(&self, filename: &str) -> Option<&SentAttachment> {
        self.attachments
            .iter()
            .find(|attachment| attachment.filename.as_deref() == Some(filename))
    }

    /// The token of the `List-Unsubscribe` URL.
    pub fn unsubscribe_token(&self) -> Option<String> {
        let url = self
            .list_unsubscribe
            .as_deref()?
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        Some(url.split_once("?token=")?.1.to_owned())
    }
}

/// Every mail the emulator sent to `address`, oldest first, parsed as MIME.
pub async fn mails_to(address: &str) -> Vec<SentMail> {
    crate::ses::sent_raw_message_entries()
        .await
        .into_iter()
        .filter(|message| message.destinations.iter().any(|to| to == address))
        .map(|message| {
            let parsed = MessageParser::default()
                .parse(message.raw_data.as_bytes())
                .expect("a sent mail parses as MIME");
            let header = |name: &str| {
                parsed
                    .header_raw(name)
                    .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
            };
            SentMail {
                text: parsed.body_text(0).map(|text| text.into_owned()).unwrap_or_default(),
                html: parsed.body_html(0).map(|html| html.into_owned()).unwrap_or_default(),
                list_unsubscribe: header("List-Unsubscribe"),
                list_unsubscribe_post: header("List-Unsubscribe-Post"),
                attachments: parsed
                    .attachments()
                    .map(|part| SentAttachment {
                        filename: part.attachment_name().map(str::to_owned),
                        content_type: part
                            .content_type()
                            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
                            .unwrap_or_default(),
                        disposition_attachment: part.content_disposition().is_some_and(|cd| cd.is_attachment()),
                        content: part.contents().to_vec(),
                    })
                    .collect(),
                raw: message.raw_data,
            }
        })
        .collect()
}
