//! Mail: what the product sends, the port it sends through, and the MIME
//! message every adapter hands over.
//!
//! The use cases decide *what* to send and build a [`Mail`]; a [`Mailer`]
//! delivers it. The sender address is configuration of the adapter, not part
//! of the mail. Adapters: `privacy_aws::ses::SesMailer` (SES `SendRawEmail`),
//! the local server's file outbox (one `.eml` file per mail, in
//! `infra/local-server`) and [`RecordingMailer`] (use-case tests).
//!
//! # Templates and escaping
//!
//! Anything a person typed (a name, a correction) that goes into the HTML part
//! must pass through [`escape_html`]. The text part needs no escaping: it is
//! plain text, and [`compose`] normalises its line breaks to CRLF and encodes
//! it as quoted-printable, so no content can end the part or add a header.
//! Headers are built only by [`compose`], which strips line breaks and other
//! control characters from the subject and refuses (omits) an unsafe
//! `List-Unsubscribe` URL; [`Mail::check`], which every adapter calls before
//! sending, turns such a URL into [`MailError::Rejected`].
//!
//! # Attachments
//!
//! A mail with [`Attachment`]s becomes a `multipart/mixed` message whose first
//! part is the `multipart/alternative` above and whose other parts are the
//! files, base64-encoded in lines of 76 characters. A file name and a media
//! type are written into headers only when they are safe tokens
//! ([`attachment_problem`]); [`Mail::check`] refuses the mail otherwise, and
//! refuses attachments larger together than [`MAX_ATTACHMENTS_BYTES`] (SES
//! takes at most 10 MB per message, base64 included).
//!
//! Context `mail`: may use `holds` (a restricted person gets only request mail), `register`, `store` and the kernel (README, "The domain crate's contexts").

pub mod outbox;

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use jiff::Timestamp;

use crate::email::EmailAddress;

/// Links mailed to an address nobody has proven yet (a newsletter
/// confirmation, a request's verification) are paced per address, so that no
/// form can be used to bomb someone's inbox: at most one per
/// [`LINK_MAIL_INTERVAL`] and [`LINK_MAILS_PER_WINDOW`] per [`LINK_MAIL_WINDOW`].
pub const LINK_MAIL_INTERVAL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
pub const LINK_MAIL_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
pub const LINK_MAILS_PER_WINDOW: usize = 5;

/// The link mails among `sent` that still count at `now` (those inside the window).
pub fn link_mails_in_window(sent: &[Timestamp], now: Timestamp) -> Vec<Timestamp> {
    sent.iter().copied().filter(|at| *at > now - LINK_MAIL_WINDOW).collect()
}

/// Whether one more link mail may go to an address at `now`, given the link
/// mails it was sent inside the window.
pub fn may_mail_link(in_window: &[Timestamp], now: Timestamp) -> bool {
    in_window.len() < LINK_MAILS_PER_WINDOW && !in_window.iter().any(|at| *at > now - LINK_MAIL_INTERVAL)
}

/// One message to one person.
///
/// `Debug` shows no content (the recipient, subject and body may all hold
/// personal data), only lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: EmailAddress,
    pub subject: String,
    /// The text/plain part. Plain text: needs no escaping.
    pub text: String,
    /// The text/html part. Every interpolated value must be [`escape_html`]ed.
    pub html: String,
    /// The one-click unsubscribe URL (RFC 8058): `https://…`, or `http://` on
    /// a loopback host for the local server. When set, the message carries
    /// `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub list_unsubscribe: Option<String>,
    /// Files sent with the mail (an export's `personal-data.json`).
    pub attachments: Vec<Attachment>,
}

/// A file attached to a [`Mail`].
///
/// `Debug` shows the name, type and size, never the content.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees: ASCII letters, digits, `.`, `-`, `_`.
    pub filename: String,
    /// The media type, e.g. `application/json`.
    pub content_type: String,
    pub content: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// The most that a mail's attachments may weigh together: base64 makes them
/// a third larger, and SES refuses a message over 10 MB.
pub const MAX_ATTACHMENTS_BYTES: usize = 7 * 1024 * 1024;

/// Longest attachment file name.
const MAX_FILENAME: usize = 100;

/// What makes an attachment unfit for its headers, if anything: the file name
/// must be 1–100 ASCII letters, digits, `.`, `-` or `_`, not starting with a
/// dot; the media type `type/subtype` of RFC 6838 restricted-name characters.
pub fn attachment_problem(attachment: &Attachment) -> Option<&'static str> {
    let name = &attachment.filename;
    if name.is_empty() || name.len() > MAX_FILENAME || name.starts_with('.') {
        return Some("the file name is empty, too long or hidden");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Some("the file name holds characters not allowed in a header");
    }
    let restricted = |part: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match attachment.content_type.split_once('/') {
        Some((kind, subtype)) if restricted(kind) && restricted(subtype) => None,
        _ => Some("the media type is not type/subtype"),
    }
}

impl Mail {
    /// Whether this mail can be sent at all: a permanent problem of the mail
    /// itself is [`MailError::Rejected`], which no retry can cure.
    ///
    /// - the `List-Unsubscribe` URL must be a safe header value (see
    ///   [`unsubscribe_url_problem`]);
    /// - the recipient must be ASCII (SES does not deliver to internationalised
    ///   local parts);
    /// - every attachment must have a safe name and type
    ///   ([`attachment_problem`]), and all of them together at most
    ///   [`MAX_ATTACHMENTS_BYTES`].
    pub fn check(&self) -> Result<(), MailError> {
        if let Some(url) = &self.list_unsubscribe {
            if let Some(problem) = unsubscribe_url_problem(url) {
                return Err(MailError::Rejected(format!("invalid List-Unsubscribe URL: {problem}")));
            }
        }
        if !self.to.as_str().is_ascii() {
            return Err(MailError::Rejected("the recipient address is not ASCII".to_owned()));
        }
        for attachment in &self.attachments {
            if let Some(problem) = attachment_problem(attachment) {
                return Err(MailError::Rejected(format!("invalid attachment: {problem}")));
            }
        }
        if self.attachments_bytes() > MAX_ATTACHMENTS_BYTES {
            return Err(MailError::Rejected("the attachments are too large to mail".to_owned()));
        }
        Ok(())
    }

    /// The size of all attachments together, in bytes (before encoding).
    pub fn attachments_bytes(&self) -> usize {
        self.attachments.iter().map(|attachment| attachment.content.len()).sum()
    }

    /// How many http(s) links the text part holds (what the outbox logs).
    pub fn links(&self) -> usize {
        self.text.matches("https://").count() + self.text.matches("http://").count()
    }
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject_len", &self.subject.len())
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.len())
            .field("list_unsubscribe", &self.list_unsubscribe.is_some())
            .field("attachments", &self.attachments)
            .finish()
    }
}

/// The identifier the mail service gave a sent message (SES's `MessageId`,
/// the outbox's file name, the recorder's sequence number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(pub String);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a mail was not sent. The messages never hold personal data (no
/// address, no subject): only a reason or a service's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Permanent: sending this mail again will fail again (unverified sender,
    /// invalid recipient, unknown configuration set, an unsafe header value).
    #[error("mail rejected: {0}")]
    Rejected(String),
    /// Transient: the service is throttling, failing or unreachable; retry later.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    /// Whether retrying the same mail later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Unavailable(_))
    }
}

/// The port the use cases send mail through.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError>;
}

/// Escapes text for HTML element content and quoted attribute values:
/// `&`, `<`, `>`, `"` and `'`.
///
/// The text part needs no escaping (it is not interpreted); [`compose`]
/// normalises its line breaks.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Normalises `\r\n` and lone `\r` to `\n` (what [`compose`] does to both
/// parts before writing them with CRLF line ends).
pub fn normalise_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Longest URL that keeps the `List-Unsubscribe` line within RFC 5322's 998.
const MAX_UNSUBSCRIBE_URL: usize = 900;

/// What makes a `List-Unsubscribe` URL unfit for the header, if anything:
/// it must be `https://host…` (or `http://` on localhost, 127.0.0.1 or
/// `[::1]`, for the local server), at most 900 characters, and hold only
/// visible ASCII other than `<`, `>`, `"` and `,` (so it can neither break
/// the header nor leave its angle brackets).
pub fn unsubscribe_url_problem(url: &str) -> Option<&'static str> {
    if url.len() > MAX_UNSUBSCRIBE_URL {
        return Some("too long");
    }
    if !url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b','))
    {
        return Some("holds characters not allowed in the header");
    }
    let lower = url.to_ascii_lowercase();
    let (rest, secure) = if let Some(rest) = lower.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (rest, false)
    } else {
        return Some("not an https URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Some("no host");
    }
    if !secure {
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return Some("not an https URL");
        }
    }
    None
}

/// RFC 5322's recommended line length (without CRLF).
const LINE: usize = 78;

/// The whole RFC 5322 message for `mail`: a `multipart/alternative` with a
/// UTF-8 text/plain and text/html part, both quoted-printable, every line
/// CRLF-terminated and at most 78 characters (a List-Unsubscribe URL longer
/// than fits stays on one line, within 998). With attachments, that
/// alternative is the first part of a `multipart/mixed` whose other parts are
/// the files, base64 in lines of 76 characters; an attachment with an unsafe
/// name or type is left out (see [`attachment_problem`]).
///
/// `from` is the configured sender (`addr@domain` or `Name <addr@domain>`);
/// `message_id_domain` the right-hand side of the `Message-ID`; `date` the
/// `Date` header. Line breaks and control characters are removed from every
/// header value; an unsafe `list_unsubscribe` URL is left out (the adapters
/// refuse such a mail before composing it: [`Mail::check`]).
pub fn compose(from: &str, mail: &Mail, message_id_domain: &str, date: Timestamp) -> Vec<u8> {
    let boundary = format!("=_privacy_{}", uuid::Uuid::new_v4().simple());
    let mut message = String::new();
    push_header(&mut message, "Date", &[format_date(date)]);
    push_header(&mut message, "From", &mailbox_tokens(from));
    push_header(&mut message, "To", &[mail.to.as_str().to_owned()]);
    push_header(&mut message, "Subject", &unstructured_tokens("Subject", &mail.subject));
    push_header(
        &mut message,
        "Message-ID",
        &[format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            message_id_host(message_id_domain)
        )],
    );
    if let Some(url) = &mail.list_unsubscribe {
        if unsubscribe_url_problem(url).is_none() {
            push_header(&mut message, "List-Unsubscribe", &[format!("<{url}>")]);
            push_header(
                &mut message,
                "List-Unsubscribe-Post",
                &["List-Unsubscribe=One-Click".to_owned()],
            );
        }
    }
    push_header(&mut message, "MIME-Version", &["1.0".to_owned()]);
    let attachments: Vec<&Attachment> = mail
        .attachments
        .iter()
        .filter(|attachment| attachment_problem(attachment).is_none())
        .collect();
    if attachments.is_empty() {
        push_alternative(&mut message, mail, &boundary);
        return message.into_bytes();
    }
    let mixed = format!("=_privacy_{}", uuid::Uuid::new_v4().simple());
    push_header(
        &mut message,
        "Content-Type",
        &["multipart/mixed;".to_owned(), format!("boundary=\"{mixed}\"")],
    );
    message.push_str("\r\n");
    push_delimiter(&mut message, &mixed);
    push_alternative(&mut message, mail, &boundary);
    for attachment in attachments {
        push_delimiter(&mut message, &mixed);
        let name = &attachment.filename;
        push_header(
            &mut message,
            "Content-Type",
            &[format!("{};", attachment.content_type), format!("name=\"{name}\"")],
        );
        push_header(
            &mut message,
            "Content-Disposition",
            &["attachment;".to_owned(), format!("filename=\"{name}\"")],
        );
        push_header(&mut message, "Content-Transfer-Encoding", &["base64".to_owned()]);
        message.push_str("\r\n");
        message.push_str(&base64_lines(&attachment.content));
    }
    message.push_str("--");
    message.push_str(&mixed);
    message.push_str("--\r\n");
    message.into_bytes()
}

fn push_delimiter(message: &mut String, boundary: &str) {
    message.push_str("--");
    message.push_str(boundary);
    message.push_str("\r\n");
}

/// The `Content-Type` header of the `multipart/alternative`, a blank line and
/// its two parts, up to and including its closing delimiter.
fn push_alternative(message: &mut String, mail: &Mail, boundary: &str) {
    push_header(
        message,
        "Content-Type",
        &["multipart/alternative;".to_owned(), format!("boundary=\"{boundary}\"")],
    );
    message.push_str("\r\n");
    for (subtype, body) in [("plain", &mail.text), ("html", &mail.html)] {
        message.push_str("--");
        message.push_str(boundary);
        message.push_str("\r\n");
        message.push_str("Content-Type: text/");
        message.push_str(subtype);
        message.push_str("; charset=utf-8\r\n");
        message.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        message.push_str(&quoted_printable(body));
        message.push_str("\r\n");
    }
    message.push_str("--");
    message.push_str(boundary);
    message.push_str("--\r\n");
}

/// Base64 (RFC 2045 §6.8) in CRLF-terminated lines of at most 76 characters.
fn base64_lines(content: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    let mut lines = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        // Base64's alphabet is ASCII, so every chunk is valid UTF-8.
        lines.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        lines.push_str("\r\n");
    }
    lines
}

fn format_date(date: Timestamp) -> String {
    strftime(date, "%a, %d %b %Y %H:%M:%S +0000")
        // Only years RFC 5322 cannot express (before year 0) get here.
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned())
}

/// `Timestamp::strftime` in UTC without the panic of `to_string` on failure.
fn strftime(at: Timestamp, format: &str) -> Option<String> {
    let mut text = String::new();
    write!(text, "{}", at.strftime(format)).ok()?;
    Some(text)
}

/// A header value as it may appear in a header: control characters (CR, LF,
/// TAB, …) become spaces, runs of white space one space, ends trimmed.
fn header_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn message_id_host(domain: &str) -> String {
    let host: String = domain
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    if host.is_empty() {
        "localhost".to_owned()
    } else {
        host
    }
}

/// Appends `Name: token token…`, folded before a token wherever the line
/// would pass 78 characters (a single token longer than that stays whole).
fn push_header(message: &mut String, name: &str, tokens: &[String]) {
    message.push_str(name);
    message.push(':');
    let mut line = name.len() + 1;
    for token in tokens {
        // Folding right after the colon is allowed too, and keeps a long
        // single value (a List-Unsubscribe URL) within 78 where it can.
        if line + 1 + token.len() > LINE && line > 0 {
            message.push_str("\r\n");
            line = 0;
        }
        message.push(' ');
        message.push_str(token);
        line += 1 + token.len();
    }
    message.push_str("\r\n");
}

/// An unstructured header value (the subject) as foldable tokens: its words
/// when it is printable ASCII that fits, otherwise RFC 2047 encoded-words.
fn unstructured_tokens(name: &str, value: &str) -> Vec<String> {
    let text = header_text(value);
    let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.contains("=?")
        && words
            .iter()
            .enumerate()
            .all(|(index, word)| word.len() + if index == 0 { name.len() + 2 } else { 1 } <= LINE);
    if plain {
        words
    } else {
        encoded_words(&text)
    }
}

/// `=?UTF-8?B?…?=` words of at most 42 bytes of text each (68 characters:
/// a first one fits after `Subject: ` within 78), split on character
/// boundaries. Decoders join adjacent encoded-words without the space.
fn encoded_words(text: &str) -> Vec<String> {
    const CHUNK: usize = 42;
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + CHUNK).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text[start..end]);
        words.push(format!("=?UTF-8?B?{encoded}?="));
        start = end;
    }
    if words.is_empty() {
        words.push(String::new());
    }
    words
}

/// The configured sender as tokens: `addr`, or `display-name <addr>` with the
/// name quoted (ASCII) or encoded (non-ASCII).
fn mailbox_tokens(from: &str) -> Vec<String> {
    let from = header_text(from);
    let Some((name, rest)) = from.split_once('<') else {
        return vec![from];
    };
    // Whatever follows the closing bracket is not part of the mailbox.
    let address: String = rest
        .split('>')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let name = name.trim();
    let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => name.to_owned(),
    };
    let name = name.trim();
    let mut tokens = if name.is_empty() {
        Vec::new()
    } else if name.is_ascii() && !name.contains("=?") {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        vec![format!("\"{quoted}\"")]
    } else {
        encoded_words(name)
    };
    tokens.push(format!("<{address}>"));
    tokens
}

/// Quoted-printable (RFC 2045 §6.7) of `text` with its line breaks
/// normalised to CRLF hard breaks and encoded lines of at most 76
/// characters. `=` and a leading `.` are always encoded, so the output never
/// contains `=_` (the boundary prefix) nor a line an SMTP hop could alter.
fn quoted_printable(text: &str) -> String {
    let text = normalise_line_breaks(text);
    let mut encoded = String::with_capacity(text.len() + text.len() / 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            encoded.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut length = 0;
        for (position, &byte) in bytes.iter().enumerate() {
            let last = position + 1 == bytes.len();
            let piece = |at_start: bool| -> Option<u8> {
                let literal = match byte {
                    b' ' | b'\t' => !last,
                    b'=' => false,
                    b'.' => !at_start,
                    33..=126 => true,
                    _ => false,
                };
                literal.then_some(byte)
            };
            let mut literal = piece(length == 0);
            let width = if literal.is_some() { 1 } else { 3 };
            if length + width > 75 {
                encoded.push_str("=\r\n");
                length = 0;
                literal = piece(true);
            }
            match literal {
                Some(byte) => {
                    encoded.push(char::from(byte));
                    length += 1;
                }
                None => {
                    let _ = write!(encoded, "={byte:02X}");
                    length += 3;
                }
            }
        }
    }
    encoded
}

/// A [`Mailer`] for use-case tests: keeps every mail it accepted, and can be
/// told to fail the next sends.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    state: Mutex<Recording>,
}

#[derive(Debug, Default)]
struct Recording {
    sent: Vec<Mail>,
    failures: VecDeque<MailError>,
    attempts: usize,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `count` sends fail with [`MailError::Unavailable`] (as a
    /// throttled or unreachable service would), after which sends succeed.
    pub fn fail_next(&self, count: usize) {
        self.queue_failures(count, MailError::Unavailable("simulated outage".to_owned()));
    }

    /// The next `count` sends fail with [`MailError::Rejected`].
    pub fn reject_next(&self, count: usize) {
        self.queue_failures(count, MailError::Rejected("simulated rejection".to_owned()));
    }

    fn queue_failures(&self, count: usize, error: MailError) {
        self.lock().failures.extend(std::iter::repeat_n(error, count));
    }

    /// Every mail sent successfully, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.lock().sent.clone()
    }

    /// The mails sent to `to` (compared as addresses are: case-insensitively).
    pub fn sent_to(&self, to: &EmailAddress) -> Vec<Mail> {
        let wanted = to.comparison_form();
        self.lock()
            .sent
            .iter()
            .filter(|mail| mail.to.comparison_form() == wanted)
            .cloned()
            .collect()
    }

    /// How many times `send` was called, failed calls included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        let mut state = self.lock();
        state.attempts += 1;
        mail.check()?;
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        state.sent.push(mail.clone());
        Ok(MessageId(format!("recorded-{}", state.sent.len())))
    }
}

/// A mailer that records each `send` in [`crate::store::memory::Calls`] (with the
/// store's calls, in one order) and passes the mail on.
pub struct CountingMailer<M> {
    pub inner: M,
    pub calls: crate::store::memory::Calls,
}

#[async_trait]
impl<M: Mailer> Mailer for CountingMailer<M> {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        self.calls.record("send");
        self.inner.send(mail).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse("email", raw).unwrap()
    }

    fn mail() -> Mail {
        Mail {
            to: address("ada@example.com"),
            subject: "Confirm your subscription".to_owned(),
            text: "Hello Ada,\nconfirm: https://privacy.example.com/c?token=abc\n".to_owned(),
            html: "<p>Hello Ada,</p>\n<p><a href=\"https://privacy.example.com/c?token=abc\">Confirm</a></p>"
                .to_owned(),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    fn date() -> Timestamp {
        "2025-07-01T12:34:56Z".parse().unwrap()
    }

    use mail_parser::MimeHeaders;

    fn compose_text(mail: &Mail) -> String {
        compose_from("Example Privacy <privacy@example.com>", mail)
    }

    fn compose_from(from: &str, mail: &Mail) -> String {
        String::from_utf8(compose(from, mail, "mail.example.com", date())).unwrap()
    }

    /// The message as a mail client reads it.
    fn parse(raw: &str) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("a MIME message")
    }

    /// The names of the message's own headers, in order.
    fn header_names<'a>(message: &'a mail_parser::Message<'_>) -> Vec<&'a str> {
        message.headers().iter().map(|header| header.name()).collect()
    }

    /// A header's value as written, unfolded.
    fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
        message
            .header_raw(name)
            .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// `type/subtype` of the message or a part.
    fn media_type<'x>(headers: &impl MimeHeaders<'x>) -> String {
        let content_type = headers.content_type().expect("a Content-Type");
        format!(
            "{}/{}",
            content_type.ctype(),
            content_type.subtype().unwrap_or_default()
        )
    }

    /// The leaf parts under the root: their media type and decoded text.
    fn leaves(message: &mail_parser::Message<'_>) -> Vec<(String, String)> {
        message
            .parts
            .iter()
            .filter(|part| !matches!(part.body, mail_parser::PartType::Multipart(_)))
            .map(|part| {
                let text = part.text_contents().map(|text| text.replace("\r\n", "\n"));
                (media_type(part), text.unwrap_or_default())
            })
            .collect()
    }

    /// On the wire: 7-bit, CRLF line ends only, lines within 78 characters.
    fn assert_wire_format(raw: &str) {
        assert!(raw.is_ascii(), "the message is 7-bit");
        for line in raw.strip_suffix("\r\n").unwrap().split("\r\n") {
            assert!(!line.contains('\r') && !line.contains('\n'), "bare CR or LF: {line:?}");
            assert!(line.len() <= 78, "line of {} characters: {line:?}", line.len());
        }
    }

    #[test]
    fn a_message_has_both_parts_and_the_required_headers() {
        let raw = compose_text(&mail());
        assert_wire_format(&raw);
        let message = parse(&raw);
        assert_eq!(message.date().map(|date| date.to_timestamp()), Some(date().as_second()));
        assert_eq!(
            raw_header(&message, "Date").as_deref(),
            Some("Tue, 01 Jul 2025 12:34:56 +0000")
        );
        let from = message.from().and_then(|from| from.first()).expect("a From address");
        assert_eq!(from.name(), Some("Example Privacy"));
        assert_eq!(from.address(), Some("privacy@example.com"));
        let to = message.to().and_then(|to| to.first()).expect("a To address");
        assert_eq!((to.name(), to.address()), (None, Some("ada@example.com")));
        assert_eq!(message.subject(), Some("Confirm your subscription"));
        assert_eq!(raw_header(&message, "MIME-Version").as_deref(), Some("1.0"));
        let message_id = message.message_id().expect("a Message-ID");
        assert!(message_id.ends_with("@mail.example.com"), "{message_id}");
        assert!(message_id.len() > "@mail.example.com".len() + 16, "{message_id}");
        assert_eq!(media_type(&message), "multipart/alternative");
        assert!(message.header_raw("List-Unsubscribe").is_none());
        assert!(message.header_raw("List-Unsubscribe-Post").is_none());

        assert_eq!(
            leaves(&message),
            [
                ("text/plain".to_owned(), mail().text),
                ("text/html".to_owned(), mail().html)
            ]
        );
        for part in message.parts.iter().skip(1) {
            let content_type = part.content_type().unwrap();
            assert_eq!(
                content_type.attribute("charset").map(str::to_ascii_lowercase),
                Some("utf-8".to_owned())
            );
        }
        assert_eq!((message.text_body.len(), message.html_body.len()), (1, 1));
        assert_eq!(message.attachment_count(), 0);
    }

    #[test]
    fn message_ids_and_boundaries_differ_between_messages() {
        let (first, second) = (compose_text(&mail()), compose_text(&mail()));
        let (first, second) = (parse(&first), parse(&second));
        assert_ne!(first.message_id(), second.message_id());
        let boundary = |message: &mail_parser::Message<'_>| {
            message
                .content_type()
                .and_then(|content_type| content_type.attribute("boundary"))
                .map(str::to_owned)
        };
        assert!(boundary(&first).is_some());
        assert_ne!(boundary(&first), boundary(&second));
    }

    #[test]
    fn rfc_8058_headers_are_present_when_an_unsubscribe_url_is_set() {
        let mut mail = mail();
        let url = "https://privacy.example.com/newsletter/unsubscribe?token=t0k3n";
        mail.list_unsubscribe = Some(url.to_owned());
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        let message = parse(&raw);
        assert_eq!(raw_header(&message, "List-Unsubscribe"), Some(format!("<{url}>")));
        assert_eq!(
            raw_header(&message, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
    }

    #[test]
    fn a_non_ascii_subject_is_encoded_and_round_trips() {
        let mut mail = mail();
        mail.subject = "Bekräfta din prenumeration på nyhetsbrevet från Exempel AB – välkommen! 🎉".to_owned();
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        let message = parse(&raw);
        let written = raw_header(&message, "Subject").unwrap();
        assert!(written.to_ascii_lowercase().starts_with("=?utf-8?"), "{written}");
        assert_eq!(message.subject(), Some(mail.subject.as_str()));
    }

    #[test]
    fn a_long_ascii_subject_is_folded_and_one_that_looks_encoded_is_encoded() {
        let mut mail = mail();
        mail.subject = "word ".repeat(40).trim_end().to_owned();
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        assert_eq!(parse(&raw).subject(), Some(mail.subject.as_str()));

        for looks_encoded in ["=?UTF-8?B?PHNjcmlwdD4=?=", "Re: =?utf-8?Q?=3Cscript=3E?= now"] {
            mail.subject = looks_encoded.to_owned();
            let raw = compose_text(&mail);
            assert_wire_format(&raw);
            assert_eq!(parse(&raw).subject(), Some(looks_encoded), "read back as written");
        }
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let mut mail = mail();
        mail.subject = "Hello\r\nBcc: x@y\r\n\r\n<script>alert(1)</script>\nX-Evil: 1\rY".to_owned();
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        let message = parse(&raw);
        assert!(message.header_raw("Bcc").is_none() && message.bcc().is_none());
        assert!(message.header_raw("X-Evil").is_none());
        assert_eq!(
            message.subject(),
            Some("Hello Bcc: x@y <script>alert(1)</script> X-Evil: 1 Y")
        );
        let mut names = header_names(&message);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Date",
                "From",
                "MIME-Version",
                "Message-ID",
                "Subject",
                "To"
            ]
        );
        assert_eq!(leaves(&message).len(), 2);
    }

    #[test]
    fn an_unsubscribe_url_cannot_inject_headers() {
        let mut mail = mail();
        for url in [
            "https://privacy.example.com/u?t=1\r\nBcc: x@y",
            "https://privacy.example.com/u?t=1>, <mailto:x@y",
            "https://privacy.example.com/u?t=<script>",
        ] {
            mail.list_unsubscribe = Some(url.to_owned());
            let raw = compose_text(&mail);
            assert_wire_format(&raw);
            let message = parse(&raw);
            assert!(message.header_raw("Bcc").is_none(), "{url:?}");
            assert!(message.header_raw("List-Unsubscribe").is_none(), "{url:?}");
            assert!(message.header_raw("List-Unsubscribe-Post").is_none(), "{url:?}");
            assert!(!raw.contains("x@y") && !raw.contains("<script>"), "{url:?}");
            assert!(matches!(mail.check(), Err(MailError::Rejected(_))), "{url:?}");
        }
    }

    #[test]
    fn a_name_in_the_body_cannot_inject_markup_or_headers() {
        let name = "<script>alert(1)</script>\r\nBcc: x@y";
        let mut mail = mail();
        mail.text = format!("Hello {name},\nwelcome.");
        mail.html = format!("<p>Hello {},</p>", escape_html(name));
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        let message = parse(&raw);
        assert!(message.header_raw("Bcc").is_none());
        let leaves = leaves(&message);
        assert_eq!(leaves.len(), 2, "the body did not end the part");
        assert_eq!(leaves[0].1, "Hello <script>alert(1)</script>\nBcc: x@y,\nwelcome.");
        let html = &leaves[1].1;
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn awkward_bodies_stay_7_bit_and_read_back_as_written() {
        let long = "x".repeat(200);
        for text in [
            String::new(),
            "trailing space \nand tab\t\n".to_owned(),
            ".leading dot\n.\n=equals= and =_boundary-like\n--=_privacy_x\n--=_privacy_x--".to_owned(),
            "räksmörgås 🎉 ".repeat(30),
            long,
            "a\r\nb\rc".to_owned(),
        ] {
            let mut mail = mail();
            mail.text = text.clone();
            mail.html = format!("<pre>{}</pre>", escape_html(&text));
            let raw = compose_text(&mail);
            assert_wire_format(&raw);
            let message = parse(&raw);
            let leaves = leaves(&message);
            assert_eq!(leaves.len(), 2, "{text:?}");
            assert_eq!(leaves[0].1, normalise_line_breaks(&text), "{text:?}");
            assert_eq!(leaves[1].1, normalise_line_breaks(&mail.html), "{text:?}");
        }
    }

    #[test]
    fn quoted_printable_lines_are_safe_for_any_text() {
        for text in [
            "trailing space \nand tab\t\n".to_owned(),
            ".leading dot\n.\n=equals= and =_boundary-like".to_owned(),
            "räksmörgås 🎉 ".repeat(30),
            "x".repeat(200),
        ] {
            let encoded = quoted_printable(&text);
            assert!(encoded.is_ascii());
            // The boundaries start with `=_`, which the encoding never writes.
            assert!(!encoded.contains("=_"));
            for line in encoded.split("\r\n") {
                assert!(line.len() <= 76, "{line:?}");
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
                assert!(!line.starts_with('.'), "{line:?}");
            }
        }
    }

    #[test]
    fn a_display_name_is_quoted_or_encoded() {
        let from_of = |from: &str| {
            let raw = compose_from(from, &mail());
            assert_wire_format(&raw);
            let message = parse(&raw);
            assert!(message.header_raw("Bcc").is_none(), "{from:?}");
            let sender = message.from().and_then(|from| from.first()).expect("a From address");
            let name = sender.name().map(str::to_owned);
            (name, sender.address().map(str::to_owned))
        };
        let address = Some("privacy@example.com".to_owned());
        assert_eq!(from_of("privacy@example.com"), (None, address.clone()));
        assert_eq!(
            from_of("Exempel \"AB\" <privacy@example.com>"),
            (Some("Exempel \"AB\"".to_owned()), address.clone())
        );
        assert_eq!(
            from_of("Integritet på Exempel <privacy@example.com>\r\nBcc: x@y"),
            (Some("Integritet på Exempel".to_owned()), address.clone())
        );
        assert_eq!(
            from_of("=?UTF-8?B?PHNjcmlwdD4=?= <privacy@example.com>"),
            (Some("=?UTF-8?B?PHNjcmlwdD4=?=".to_owned()), address)
        );
    }

    fn json_attachment() -> Attachment {
        let document = serde_json::json!({"name": "Åsa Öberg", "note": "=_privacy_ --boundary\r\n.", "n": 1});
        Attachment {
            filename: "personal-data.json".to_owned(),
            content_type: "application/json".to_owned(),
            content: serde_json::to_vec_pretty(&document).unwrap(),
        }
    }

    #[test]
    fn an_attachment_makes_a_mixed_message_that_a_mail_client_reads_back() {
        let mut mail = mail();
        // Large enough for many base64 lines, with every byte value in it.
        let binary = Attachment {
            filename: "bytes.bin".to_owned(),
            content_type: "application/octet-stream".to_owned(),
            content: (0..=255u8).cycle().take(5000).collect(),
        };
        mail.attachments = vec![json_attachment(), binary.clone()];
        let raw = compose_text(&mail);
        assert_wire_format(&raw);
        let message = parse(&raw);
        let mut names = header_names(&message);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Date",
                "From",
                "MIME-Version",
                "Message-ID",
                "Subject",
                "To"
            ]
        );
        assert_eq!(media_type(&message), "multipart/mixed");
        assert_eq!(
            leaves(&message)
                .iter()
                .map(|(kind, _)| kind.as_str())
                .collect::<Vec<_>>(),
            [
                "text/plain",
                "text/html",
                "application/json",
                "application/octet-stream"
            ]
        );
        assert_eq!(message.body_text(0).unwrap().replace("\r\n", "\n"), mail.text);
        assert_eq!(message.body_html(0).unwrap().replace("\r\n", "\n"), mail.html);
        assert_eq!(message.attachment_count(), 2);
        let json = message.attachment(0).unwrap();
        assert_eq!(json.attachment_name(), Some("personal-data.json"));
        assert_eq!(media_type(json), "application/json");
        assert!(json.content_disposition().unwrap().is_attachment());
        assert_eq!(json.encoding, mail_parser::Encoding::Base64);
        assert_eq!(json.contents(), json_attachment().content.as_slice());
        let parsed: serde_json::Value = serde_json::from_slice(json.contents()).unwrap();
        assert_eq!(parsed["name"], "Åsa Öberg");
        let bytes = message.attachment(1).unwrap();
        assert_eq!(bytes.attachment_name(), Some("bytes.bin"));
        assert_eq!(bytes.encoding, mail_parser::Encoding::Base64);
        assert_eq!(bytes.contents(), binary.content.as_slice());

        // Without attachments the message is the multipart/alternative it always was.
        mail.attachments.clear();
        assert_eq!(media_type(&parse(&compose_text(&mail))), "multipart/alternative");
    }

    #[test]
    fn an_unsafe_attachment_name_or_type_is_refused_and_never_reaches_a_header() {
        for (filename, content_type) in [
            ("personal-data.json\"\r\nBcc: x@y", "application/json"),
            ("../../etc/passwd", "application/json"),
            (".hidden", "application/json"),
            ("", "application/json"),
            ("data.json", "application/json\r\nBcc: x@y"),
            ("data.json", "application/json; charset=\"x\""),
            ("data.json", "json"),
        ] {
            let mut mail = mail();
            let mut attachment = json_attachment();
            attachment.filename = filename.to_owned();
            attachment.content_type = content_type.to_owned();
            assert!(
                attachment_problem(&attachment).is_some(),
                "{filename:?} {content_type:?}"
            );
            mail.attachments = vec![attachment];
            assert!(matches!(mail.check(), Err(MailError::Rejected(_))), "{filename:?}");
            let raw = compose_text(&mail);
            assert_wire_format(&raw);
            assert!(!raw.contains("Bcc") && !raw.contains("passwd"), "{filename:?}");
            let message = parse(&raw);
            assert_eq!(message.attachment_count(), 0, "the unsafe attachment is left out");
            assert_eq!(media_type(&message), "multipart/alternative", "{filename:?}");
        }
        let mut mail = mail();
        mail.attachments = vec![json_attachment()];
        assert_eq!(mail.check(), Ok(()));
    }

    #[test]
    fn attachments_over_the_limit_are_refused() {
        let mut mail = mail();
        let mut attachment = json_attachment();
        attachment.content = vec![b' '; MAX_ATTACHMENTS_BYTES / 2 + 1];
        mail.attachments = vec![attachment.clone()];
        assert_eq!(mail.check(), Ok(()));
        mail.attachments.push(attachment);
        assert!(matches!(mail.check(), Err(MailError::Rejected(_))));
    }

    #[test]
    fn debug_shows_no_attachment_content() {
        let mut mail = mail();
        mail.attachments = vec![json_attachment()];
        let shown = format!("{mail:?}");
        assert!(
            shown.contains("personal-data.json") && !shown.contains("Öberg"),
            "{shown}"
        );
    }

    #[test]
    fn escape_html_escapes_the_five_characters() {
        assert_eq!(
            escape_html(r#"<a href="x" onclick='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;"
        );
        assert_eq!(escape_html("Åsa Öberg"), "Åsa Öberg");
    }

    #[test]
    fn line_breaks_are_normalised() {
        assert_eq!(normalise_line_breaks("a\r\nb\rc\nd"), "a\nb\nc\nd");
    }

    #[test]
    fn unsubscribe_urls_must_be_https_or_local() {
        for ok in [
            "https://privacy.example.com/newsletter/unsubscribe?token=abc",
            "HTTPS://privacy.example.com",
            "http://localhost:3000/newsletter/unsubscribe?token=abc",
            "http://127.0.0.1:8080/u",
            "http://[::1]:8080/u",
        ] {
            assert_eq!(unsubscribe_url_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://privacy.example.com/u",
            "http://localhost.evil.example/u",
            "mailto:unsubscribe@example.com",
            "https://",
            "https://user@evil.example/u",
            "https://privacy.example.com/u?t=a b",
            "https://privacy.example.com/u?t=ä",
            &format!("https://privacy.example.com/{}", "a".repeat(900)),
        ] {
            assert!(unsubscribe_url_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_content() {
        let shown = format!("{:?}", mail());
        assert!(!shown.contains("ada") && !shown.contains("Confirm") && !shown.contains("Hello"));
    }

    #[tokio::test]
    async fn the_recorder_keeps_mails_and_fails_when_told() {
        let mailer = RecordingMailer::new();
        mailer.fail_next(2);
        for _ in 0..2 {
            let error = mailer.send(&mail()).await.unwrap_err();
            assert!(error.is_transient());
        }
        assert!(mailer.sent().is_empty());
        let id = mailer.send(&mail()).await.unwrap();
        assert_eq!(id, MessageId("recorded-1".to_owned()));
        mailer.reject_next(1);
        assert!(!mailer.send(&mail()).await.unwrap_err().is_transient());
        assert_eq!(mailer.attempts(), 4);
        assert_eq!(mailer.sent(), vec![mail()]);
        assert_eq!(mailer.sent_to(&address("ADA@Example.com")).len(), 1);
        assert!(mailer.sent_to(&address("bob@example.com")).is_empty());

        let mut bad = mail();
        bad.list_unsubscribe = Some("http://evil.example/u".to_owned());
        assert!(matches!(mailer.send(&bad).await, Err(MailError::Rejected(_))));
        assert_eq!(mailer.sent().len(), 1);
    }
}
