//! The SES mailer against the emulator: what SES is handed is a valid
//! `multipart/alternative` message with both parts, the RFC 8058 headers and
//! escaped HTML; refusals come back as `MailError::Rejected`.

use std::collections::BTreeSet;

use mail_parser::{MessageParser, MimeHeaders};
use privacy_aws::ses::SesMailer;
use privacy_domain::email::EmailAddress;
use privacy_domain::mail::{escape_html, Attachment, Mail, MailError, Mailer};
use privacy_tests::ses::{self, SentRawMessage};

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse("email", raw).expect("a valid test address")
}

fn newsletter_mail(to: &str, subject: &str, name: &str, unsubscribe: &str) -> Mail {
    Mail {
        to: address(to),
        subject: subject.to_owned(),
        text: format!("Hej {name}!\n\nAvsluta prenumerationen: {unsubscribe}\n"),
        html: format!(
            "<p>Hej {}!</p>\n<p><a href=\"{}\">Avsluta prenumerationen</a></p>",
            escape_html(name),
            escape_html(unsubscribe)
        ),
        list_unsubscribe: Some(unsubscribe.to_owned()),
        attachments: Vec::new(),
    }
}

async fn recorded(id: &str) -> Vec<SentRawMessage> {
    ses::sent_raw_message_entries()
        .await
        .into_iter()
        .filter(|message| message.id == id)
        .collect()
}

#[tokio::test]
async fn a_sent_mail_is_multipart_alternative_with_one_click_unsubscribe_and_escaped_html() {
    let id = unique();
    let sender = format!("privacy-{id}@example.com");
    let recipient = format!("reader-{id}@example.org");
    let client = ses::client().await;
    ses::verify_sender(&client, &sender).await;
    let mailer = SesMailer::new(client, format!("Exempel Integritet <{sender}>"), "mail.example.com");
    let name = "<script>alert(1)</script>";
    let subject = format!("Välkommen till nyhetsbrevet {id}");
    let unsubscribe = format!("https://privacy.example.com/newsletter/unsubscribe?token={id}");
    let mail = newsletter_mail(&recipient, &subject, name, &unsubscribe);

    let message_id = mailer.send(&mail).await.expect("SES accepts the mail");

    let sent = recorded(&message_id.0).await;
    assert_eq!(sent.len(), 1, "exactly one message with the returned id");
    let sent = &sent[0];
    // The emulator found the (verified) sender in the From header.
    assert_eq!(sent.source, sender);
    assert_eq!(
        sent.destinations.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&recipient]),
        "the mail goes to the recipient and no one else"
    );

    let raw = &sent.raw_data;
    assert!(raw.is_ascii(), "7-bit message");
    let message = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("SES was handed a parseable MIME message");

    let content_type = message.content_type().expect("a Content-Type");
    assert_eq!(content_type.ctype(), "multipart");
    assert_eq!(content_type.subtype(), Some("alternative"));
    assert_eq!(message.subject(), Some(subject.as_str()));
    assert_eq!(
        message.header_raw("List-Unsubscribe").map(str::trim),
        Some(format!("<{unsubscribe}>").as_str())
    );
    assert_eq!(
        message.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(message.header_raw("Message-ID").is_some());
    assert!(message.header_raw("Date").is_some());
    assert_eq!(message.header_raw("MIME-Version").map(str::trim), Some("1.0"));
    let to = message.to().and_then(|to| to.first()).expect("a To address");
    assert_eq!(to.address(), Some(recipient.as_str()));
    let from = message.from().and_then(|from| from.first()).expect("a From address");
    assert_eq!(from.address(), Some(sender.as_str()));
    assert_eq!(from.name(), Some("Exempel Integritet"));

    // Exactly one text/plain and one text/html part under the multipart root.
    let leaves: Vec<(String, String)> = message
        .parts
        .iter()
        .skip(1)
        .map(|part| {
            let content_type = part.content_type().expect("a part Content-Type");
            (
                format!(
                    "{}/{}",
                    content_type.ctype(),
                    content_type.subtype().unwrap_or_default()
                ),
                part.text_contents().expect("a text part").replace("\r\n", "\n"),
            )
        })
        .collect();
    let kinds: Vec<&str> = leaves.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    assert_eq!(message.text_body.len(), 1);
    assert_eq!(message.html_body.len(), 1);

    let text = &leaves[0].1;
    assert_eq!(text, &mail.text, "the text part arrives as written");
    let html = &leaves[1].1;
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains(&format!("href=\"{unsubscribe}\"")), "{html}");
}

#[tokio::test]
async fn an_attachment_reaches_ses_as_a_multipart_mixed_message() {
    let id = unique();
    let sender = format!("privacy-{id}@example.com");
    let recipient = format!("reader-{id}@example.org");
    let client = ses::client().await;
    ses::verify_sender(&client, &sender).await;
    let mailer = SesMailer::new(client, sender.clone(), "mail.example.com");
    let mut mail = newsletter_mail(
        &recipient,
        &format!("Your personal data {id}"),
        "Åsa",
        "https://privacy.example.com/newsletter/unsubscribe?token=t",
    );
    let json = serde_json::to_vec_pretty(&serde_json::json!({"name": "Åsa Öberg", "items": [1, 2, 3]})).unwrap();
    mail.attachments.push(Attachment {
        filename: "personal-data.json".to_owned(),
        content_type: "application/json".to_owned(),
        content: json.clone(),
    });

    let message_id = mailer.send(&mail).await.expect("SES accepts the mail");

    let sent = recorded(&message_id.0).await;
    assert_eq!(sent.len(), 1);
    let message = MessageParser::default()
        .parse(sent[0].raw_data.as_bytes())
        .expect("a parseable MIME message");
    assert_eq!(message.content_type().unwrap().subtype(), Some("mixed"));
    assert_eq!(message.body_text(0).unwrap().replace("\r\n", "\n"), mail.text);
    assert_eq!(message.attachment_count(), 1);
    let attachment = message.attachment(0).unwrap();
    assert_eq!(attachment.attachment_name(), Some("personal-data.json"));
    assert_eq!(attachment.content_type().unwrap().subtype(), Some("json"));
    assert_eq!(attachment.contents(), json.as_slice());
}

#[tokio::test]
async fn an_unverified_sender_is_rejected() {
    let id = unique();
    let client = ses::client().await;
    // A domain no test verifies, so neither the address nor its domain is.
    let mailer = SesMailer::new(client, format!("privacy@unverified-{id}.example"), "mail.example.com");
    let subject = format!("Never sent {id}");
    let mail = newsletter_mail(
        &format!("reader-{id}@example.org"),
        &subject,
        "Ada",
        "https://privacy.example.com/newsletter/unsubscribe?token=t",
    );

    let error = mailer.send(&mail).await.expect_err("an unverified sender");

    assert_eq!(error, MailError::Rejected("SES: MessageRejected".to_owned()));
    assert!(!error.is_transient());
    assert!(!error.to_string().contains(&id), "the error names no address: {error}");
    assert!(ses::sent_raw_messages_containing(&subject).await.is_empty());
}

#[tokio::test]
async fn an_unsafe_unsubscribe_url_is_refused_before_anything_is_sent() {
    let id = unique();
    let sender = format!("privacy-{id}@example.com");
    let client = ses::client().await;
    ses::verify_sender(&client, &sender).await;
    let mailer = SesMailer::new(client, sender, "mail.example.com");
    let subject = format!("Injected {id}");
    let mail = newsletter_mail(
        &format!("reader-{id}@example.org"),
        &subject,
        "Ada",
        "https://privacy.example.com/u?t=1\r\nBcc: victim@example.net",
    );

    let error = mailer.send(&mail).await.expect_err("an unsafe URL");

    assert!(matches!(error, MailError::Rejected(_)), "{error:?}");
    assert!(ses::sent_raw_messages_containing(&subject).await.is_empty());
}
