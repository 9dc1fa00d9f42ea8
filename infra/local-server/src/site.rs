//! The local demo website: the web kit's files (compiled into the binary
//! from `web/`) and the outbox page, which lists the mails the server
//! "sent" (the `.eml` files of `OUTBOX_DIR`) with their links clickable.
//!
//! Only `GET` and `HEAD` of the paths below are answered here; everything
//! else goes to the API. None of these paths is an API route.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use privacy_domain::mail::escape_html;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every page and file of the demo site: (path, content type, body).
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../../../web/index.html")),
    ("/index.html", HTML, include_str!("../../../web/index.html")),
    ("/queue.html", HTML, include_str!("../../../web/queue.html")),
    ("/console", HTML, include_str!("../../../web/console/index.html")),
    ("/console/", HTML, include_str!("../../../web/console/index.html")),
    (
        "/console/index.html",
        HTML,
        include_str!("../../../web/console/index.html"),
    ),
    (
        "/thanks/newsletter",
        HTML,
        include_str!("../../../web/thanks-newsletter.html"),
    ),
    (
        "/thanks/request",
        HTML,
        include_str!("../../../web/thanks-request.html"),
    ),
    ("/consent-banner.js", JS, include_str!("../../../web/consent-banner.js")),
    (
        "/consent-banner.css",
        CSS,
        include_str!("../../../web/consent-banner.css"),
    ),
    ("/forms.js", JS, include_str!("../../../web/forms.js")),
    ("/queue.js", JS, include_str!("../../../web/queue.js")),
    (
        "/console/console.js",
        JS,
        include_str!("../../../web/console/console.js"),
    ),
    ("/console/core.js", JS, include_str!("../../../web/console/core.js")),
    ("/console/texts.js", JS, include_str!("../../../web/console/texts.js")),
    (
        "/console/requests.js",
        JS,
        include_str!("../../../web/console/requests.js"),
    ),
    ("/console/detail.js", JS, include_str!("../../../web/console/detail.js")),
    ("/console/charts.js", JS, include_str!("../../../web/console/charts.js")),
    (
        "/console/consent.js",
        JS,
        include_str!("../../../web/console/consent.js"),
    ),
    (
        "/console/issues.html",
        HTML,
        include_str!("../../../web/console/issues.html"),
    ),
    ("/console/issues.js", JS, include_str!("../../../web/console/issues.js")),
    (
        "/console/console.css",
        CSS,
        include_str!("../../../web/console/console.css"),
    ),
    ("/site.css", CSS, include_str!("../../../web/site.css")),
    ("/demo-analytics.js", JS, include_str!("../../../web/demo-analytics.js")),
    ("/demo-marketing.js", JS, include_str!("../../../web/demo-marketing.js")),
];

/// The demo pages load only their own scripts and styles and talk only to this origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The outbox page shows at most this many mails, the newest.
const OUTBOX_PAGE_LIMIT: usize = 200;

/// Where the pages name the controller: filled in from the register.
const CONTROLLER_MARK: &str = "{{controller}}";

/// The demo site, with the outbox directory it lists and the controller
/// its pages name (the register's, never a literal).
#[derive(Debug, Clone)]
pub struct Site {
    outbox_dir: PathBuf,
    controller: String,
}

impl Site {
    pub fn new(outbox_dir: impl Into<PathBuf>, controller_name: &str) -> Self {
        Self {
            outbox_dir: outbox_dir.into(),
            controller: escape_html(controller_name),
        }
    }

    /// The page at `path`, or `None` when the request is for the API.
    pub async fn respond(&self, method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (content_type, body) = if path == "/outbox" || path == "/outbox/" {
            let (dir, controller) = (self.outbox_dir.clone(), self.controller.clone());
            let page = tokio::task::spawn_blocking(move || outbox_page(&dir, &controller))
                .await
                .unwrap_or_else(|_| error_page("The outbox could not be read."));
            (HTML, Bytes::from(page))
        } else {
            let (_, content_type, body) = FILES.iter().find(|(file, _, _)| *file == path)?;
            if *content_type == HTML {
                (HTML, Bytes::from(body.replace(CONTROLLER_MARK, &self.controller)))
            } else {
                (*content_type, Bytes::from_static(body.as_bytes()))
            }
        };
        let body = if method == Method::HEAD { Bytes::new() } else { body };
        let response = Response::builder()
            .status(StatusCode::OK)
            .header("content-type", content_type)
            .header("cache-control", "no-cache")
            .header("x-content-type-options", "nosniff")
            .header("content-security-policy", CONTENT_SECURITY_POLICY)
            // Links on the outbox page carry tokens: no page sends its URL to another site. Not
            // `no-referrer`: with it a browser sends `Origin: null` on a form post, which the API refuses.
            .header("referrer-policy", "same-origin")
            .body(Full::new(body))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
        Some(response)
    }
}

/// One mail of the outbox, as the page shows it.
#[derive(Debug, Default, PartialEq, Eq)]
struct OutboxMail {
    file: String,
    date: String,
    to: String,
    subject: String,
    list_unsubscribe: Option<String>,
    text: String,
}

/// The `.eml` files of `dir`, newest first (the outbox numbers them in order).
fn outbox_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(u64, String)> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".eml") && !name.starts_with('.'))
        .map(|name| {
            let number = name.split('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            (number, name)
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    files.into_iter().map(|(_, name)| name).collect()
}

fn outbox_page(dir: &Path, controller: &str) -> String {
    let files = outbox_files(dir);
    let mut items = String::new();
    for (index, file) in files.iter().take(OUTBOX_PAGE_LIMIT).enumerate() {
        let Ok(raw) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let mail = parse_mail(file, &String::from_utf8_lossy(&raw));
        items.push_str(&mail_html(index, &mail));
    }
    let count = match files.len() {
        0 => "No mail yet. Sign up for the newsletter or send a request on the demo site.".to_owned(),
        1 => "1 mail.".to_owned(),
        n if n > OUTBOX_PAGE_LIMIT => format!("{n} mails; the newest {OUTBOX_PAGE_LIMIT} are shown."),
        n => format!("{n} mails."),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Outbox: local demo</title>\
         <link rel=\"stylesheet\" href=\"/site.css\"></head><body>\
         <header class=\"site-header\"><p class=\"brand\"><a href=\"/\">{controller}</a></p>\
         <nav aria-label=\"Demo\"><ul><li><a href=\"/outbox\" aria-current=\"page\">Outbox</a></li>\
         <li><a href=\"/queue.html\">Request queue</a></li>\
         <li><a href=\"/console/\">Console</a></li></ul></nav></header>\
         <main><h1>Outbox</h1><p>The mail the local server sent, newest first. Nothing leaves this machine: \
         each mail is a file in <code>{dir}</code>. <a href=\"/outbox\">Refresh</a></p>\
         <p id=\"outbox-count\">{count}</p><ol class=\"outbox\">{items}</ol></main></body></html>\n",
        dir = escape_html(&dir.display().to_string()),
    )
}

fn mail_html(index: usize, mail: &OutboxMail) -> String {
    let mut links: Vec<String> = Vec::new();
    for link in links_in(&mail.text) {
        if !links.iter().any(|known| known == link) {
            links.push(link.to_owned());
        }
    }
    let mut link_items: String = links
        .iter()
        .map(|link| format!("<li><a href=\"{0}\">{0}</a></li>", escape_html(link)))
        .collect();
    if let Some(url) = mail.list_unsubscribe.as_deref().filter(|url| is_web_link(url)) {
        link_items.push_str(&format!(
            "<li>List-Unsubscribe: <a href=\"{0}\">{0}</a></li>",
            escape_html(url)
        ));
    }
    let links_html = if link_items.is_empty() {
        "<p>No links.</p>".to_owned()
    } else {
        format!("<ul class=\"mail-links\">{link_items}</ul>")
    };
    format!(
        "<li class=\"mail card\" data-file=\"{file}\"><article aria-labelledby=\"mail-{index}\">\
         <h2 id=\"mail-{index}\">{subject}</h2><dl><dt>To</dt><dd class=\"mail-to\">{to}</dd>\
         <dt>Date</dt><dd>{date}</dd><dt>File</dt><dd>{file}</dd></dl>\
         <h3>Links</h3>{links_html}<details><summary>The text of the mail</summary><pre>{text}</pre></details>\
         </article></li>",
        file = escape_html(&mail.file),
        subject = escape_html(&mail.subject),
        to = escape_html(&mail.to),
        date = escape_html(&mail.date),
        text = linkify(&mail.text),
    )
}

fn error_page(message: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outbox</title></head>\
         <body><main><h1>Outbox</h1><p>{}</p></main></body></html>\n",
        escape_html(message)
    )
}

fn is_web_link(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// The http(s) links in a text: from the scheme to white space or a
/// character that cannot end a link in prose.
fn links_in(text: &str) -> impl Iterator<Item = &str> {
    link_spans(text).into_iter().map(move |(start, end)| &text[start..end])
}

fn link_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("http") {
        let start = from + offset;
        if !is_web_link(&text[start..]) {
            from = start + 4;
            continue;
        }
        let mut end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
            .map_or(text.len(), |length| start + length);
        while end > start && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')']) {
            end -= 1;
        }
        spans.push((start, end));
        from = end.max(start + 4);
    }
    spans
}

/// The text, escaped, with its links as anchors.
fn linkify(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    let mut last = 0;
    for (start, end) in link_spans(text) {
        html.push_str(&escape_html(&text[last..start]));
        let link = escape_html(&text[start..end]);
        html.push_str(&format!("<a href=\"{link}\">{link}</a>"));
        last = end;
    }
    html.push_str(&escape_html(&text[last..]));
    html
}

/// Reads what the page shows from a MIME message as the outbox writes it
/// (multipart/alternative with quoted-printable parts), and copes with a
/// single-part message too.
fn parse_mail(file: &str, raw: &str) -> OutboxMail {
    let (head, body) = split_head(raw);
    let headers = unfold(head);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let text = match header("content-type").and_then(boundary) {
        Some(boundary) => text_part(body, &boundary).unwrap_or_default(),
        None => decode_body(body, header("content-transfer-encoding")),
    };
    OutboxMail {
        file: file.to_owned(),
        date: header("date").unwrap_or_default().to_owned(),
        to: decode_words(header("to").unwrap_or_default()),
        subject: decode_words(header("subject").unwrap_or_default()),
        list_unsubscribe: header("list-unsubscribe")
            .map(|value| value.trim().trim_start_matches('<').trim_end_matches('>').to_owned()),
        text: text.replace("\r\n", "\n"),
    }
}

/// The header block and the body, split at the first empty line.
fn split_head(raw: &str) -> (&str, &str) {
    for separator in ["\r\n\r\n", "\n\n"] {
        if let Some(at) = raw.find(separator) {
            return (&raw[..at], &raw[at + separator.len()..]);
        }
    }
    (raw, "")
}

/// Header fields with folded lines joined (RFC 5322 §2.2.3).
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn boundary(content_type: &str) -> Option<String> {
    let at = content_type.to_ascii_lowercase().find("boundary=")?;
    let value = content_type[at + "boundary=".len()..].trim();
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default(),
        None => value.split([';', ' ']).next().unwrap_or_default(),
    };
    (!value.is_empty()).then(|| value.to_owned())
}

/// The decoded text/plain part of a multipart body, looking into nested
/// multiparts (a mail with attachments is a multipart/mixed around the
/// multipart/alternative).
fn text_part(body: &str, boundary: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str()).skip(1).find_map(|part| {
        if part.starts_with("--") {
            return None;
        }
        let (head, content) = split_head(part.trim_start_matches(['\r', '\n']));
        let headers = unfold(head);
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let content_type = header("content-type").unwrap_or("text/plain");
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            return text_part(content, &self::boundary(content_type)?);
        }
        let content_type = content_type.to_ascii_lowercase();
        content_type.starts_with("text/plain").then(|| {
            decode_body(
                content.trim_end_matches(['\r', '\n']),
                header("content-transfer-encoding"),
            )
        })
    })
}

fn decode_body(body: &str, encoding: Option<&str>) -> String {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("quoted-printable") => String::from_utf8_lossy(&decode_quoted_printable(body)).into_owned(),
        Some("base64") => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            decode_base64(&compact)
                .map_or_else(|| body.to_owned(), |bytes| String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => body.to_owned(),
    }
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at a line end a soft break.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'=' {
            decoded.push(bytes[at]);
            at += 1;
            continue;
        }
        if bytes[at + 1..].starts_with(b"\r\n") {
            at += 3;
        } else if bytes[at + 1..].starts_with(b"\n") {
            at += 2;
        } else if let Some(byte) = bytes.get(at + 1..at + 3).and_then(hex_byte) {
            decoded.push(byte);
            at += 3;
        } else {
            decoded.push(b'=');
            at += 1;
        }
    }
    decoded
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// Standard base64, padding optional; `None` for anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            decoded.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(decoded)
}

/// An unstructured header value with its RFC 2047 encoded-words decoded;
/// white space between two adjacent encoded-words is dropped.
fn decode_words(value: &str) -> String {
    let mut decoded = String::new();
    let mut previous_encoded = false;
    for (index, word) in value.split_whitespace().enumerate() {
        match decode_word(word) {
            Some(text) => {
                if index > 0 && !previous_encoded {
                    decoded.push(' ');
                }
                decoded.push_str(&text);
                previous_encoded = true;
            }
            None => {
                if index > 0 {
                    decoded.push(' ');
                }
                decoded.push_str(word);
                previous_encoded = false;
            }
        }
    }
    decoded
}

/// `=?charset?B|Q?text?=` (UTF-8 and ASCII charsets).
fn decode_word(word: &str) -> Option<String> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut pieces = inner.splitn(3, '?');
    let _charset = pieces.next()?;
    let encoding = pieces.next()?;
    let text = pieces.next()?;
    let bytes = match encoding {
        "B" | "b" => decode_base64(text)?,
        "Q" | "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "Date: Sun, 01 Nov 2026 08:00:00 +0000\r\n\
        From: \"Privacy\" <privacy@example.com>\r\n\
        To: ada@example.com\r\n\
        Subject: =?UTF-8?B?UsOka3Ntw7ZyZ8OlcyBvY2g=?= =?UTF-8?B?IG1lcg==?=\r\n\
        List-Unsubscribe:\r\n <http://127.0.0.1:3000/newsletter/unsubscribe?token=v1.abc>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative;\r\n boundary=\"=_privacy_1\"\r\n\
        \r\n\
        --=_privacy_1\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        Hello,\r\n\r\nConfirm:\r\n\r\nhttp://127.0.0.1:3000/newsletter/confirm?token=3Dabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs=\r\ntuvwxyz\r\n\
        \r\nR=C3=A4ksm=C3=B6rg=C3=A5s.\r\n\
        --=_privacy_1\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        <p>html</p>\r\n\
        --=_privacy_1--\r\n";

    #[tokio::test]
    async fn every_page_names_the_controller_of_the_register() {
        use http_body_util::BodyExt;
        let register = privacy_domain::register::Register::standard().unwrap();
        let name = &register.document().controller.name;
        let site = Site::new(std::env::temp_dir().join("no-outbox-here"), name);
        let pages = FILES
            .iter()
            .filter(|(_, content_type, _)| *content_type == HTML)
            .map(|(path, _, _)| *path)
            .chain(["/outbox"]);
        for path in pages {
            let response = site.respond(&Method::GET, path).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains(name.as_str()), "{path} names {name}");
            assert!(!body.contains(CONTROLLER_MARK) && !body.contains("Example"), "{path}");
        }
        let odd = Site::new("x", "Ada & <Co>");
        let response = odd.respond(&Method::GET, "/").await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("Ada &amp; &lt;Co&gt;"));
    }

    #[test]
    fn reads_subject_recipient_unsubscribe_and_the_decoded_text_part() {
        let mail = parse_mail("000001-x.eml", MAIL);
        assert_eq!(mail.subject, "Räksmörgås och mer");
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(
            mail.list_unsubscribe.as_deref(),
            Some("http://127.0.0.1:3000/newsletter/unsubscribe?token=v1.abc")
        );
        assert!(mail.text.contains(
            "http://127.0.0.1:3000/newsletter/confirm?token=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n"
        ));
        assert!(mail.text.contains("Räksmörgås."));
        assert!(!mail.text.contains("<p>html</p>"));
    }

    #[test]
    fn reads_the_text_part_of_a_mail_with_an_attachment() {
        use privacy_domain::mail::{compose, Attachment, Mail};
        let mail = Mail {
            to: privacy_domain::email::EmailAddress::parse("to", "ada@example.com").unwrap(),
            subject: "Your personal data".to_owned(),
            text: "Räksmörgås: the data is attached.\n".to_owned(),
            html: "<p>html</p>".to_owned(),
            list_unsubscribe: None,
            attachments: vec![Attachment {
                filename: "personal-data.json".to_owned(),
                content_type: "application/json".to_owned(),
                content: b"{\"a\": 1}".to_vec(),
            }],
        };
        let raw = compose(
            "privacy@example.com",
            &mail,
            "example.com",
            "2026-11-01T08:00:00Z".parse().unwrap(),
        );
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains("multipart/mixed"));
        let shown = parse_mail("000001-x.eml", &raw);
        assert_eq!(shown.subject, "Your personal data");
        assert_eq!(shown.text, "Räksmörgås: the data is attached.");
    }

    #[test]
    fn links_end_before_white_space_and_closing_punctuation() {
        let links: Vec<&str> = links_in("See https://a.example/x?y=1. Or (http://b.example/z), not ftp://c.").collect();
        assert_eq!(links, ["https://a.example/x?y=1", "http://b.example/z"]);
    }

    #[test]
    fn the_page_escapes_what_the_mail_says() {
        let mail = OutboxMail {
            file: "000001-x.eml".to_owned(),
            subject: "<script>alert(1)</script>".to_owned(),
            to: "a\"b@example.com".to_owned(),
            text: "Go to http://x.example/?a=<b>&c=\"d\" now".to_owned(),
            ..OutboxMail::default()
        };
        let html = mail_html(0, &mail);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<a href=\"http://x.example/?a=\">http://x.example/?a=</a>"));
        assert!(!html.contains("a\"b@"));
    }

    #[test]
    fn newest_mail_first_by_number() {
        let dir = std::env::temp_dir().join(format!("site-listing-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["000002-b.eml", "000010-c.eml", "000001-a.eml", "notes.txt"] {
            std::fs::write(dir.join(name), MAIL).unwrap();
        }
        assert_eq!(outbox_files(&dir), ["000010-c.eml", "000002-b.eml", "000001-a.eml"]);
        let page = outbox_page(&dir, "IOT Communications International AB");
        assert!(page.contains("3 mails."));
        assert!(page.contains("<a href=\"http://127.0.0.1:3000/newsletter/unsubscribe?token=v1.abc\">"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn base64_and_quoted_printable_decode() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert!(decode_base64("a*b").is_none());
        assert_eq!(decode_quoted_printable("a=3Db=\r\nc=XY"), b"a=bc=XY");
        assert_eq!(decode_words("Plain subject"), "Plain subject");
        assert_eq!(decode_words("=?utf-8?q?caf=C3=A9_bar?= x"), "café bar x");
    }
}
