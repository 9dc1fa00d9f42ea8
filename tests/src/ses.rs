//! SES on the emulator: verifying senders and reading sent mail back.
//!
//! moto keeps every message it "sent" and shows them at
//! `GET /moto-api/data.json?service=ses` (infra/moto-server.py: moto's
//! `data.json` for SES only) under `["ses"]["RawMessage"]` (`SendRawEmail`)
//! and `["ses"]["Message"]` (`SendEmail`). Tests share one emulator, so find
//! your message by something unique to it (a subject, a token), never by
//! position.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::aws::{endpoint, sdk_config};

/// An SES v1 client on the emulator.
pub async fn client() -> aws_sdk_ses::Client {
    aws_sdk_ses::Client::new(&sdk_config().await)
}

/// Verifies `address` as a sender (moto refuses mail from unverified ones).
pub async fn verify_sender(client: &aws_sdk_ses::Client, address: &str) {
    client
        .verify_email_identity()
        .email_address(address)
        .send()
        .await
        .expect("verify the sender in the emulator");
}

/// One message sent with `SendRawEmail`, as the emulator recorded it.
#[derive(Debug, Clone)]
pub struct SentRawMessage {
    pub id: String,
    pub source: String,
    /// The `Destinations` parameter, to which moto appends the To/Cc/Bcc
    /// header addresses (so an address can appear twice).
    pub destinations: Vec<String>,
    /// The whole MIME message.
    pub raw_data: String,
}

/// Every raw message the emulator has sent, oldest first.
pub async fn sent_raw_message_entries() -> Vec<SentRawMessage> {
    let data = emulator_data().await;
    let Some(entries) = data["ses"]["RawMessage"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| SentRawMessage {
            id: text(&entry["id"]),
            source: text(&entry["source"]),
            destinations: entry["destinations"]
                .as_array()
                .map(|list| list.iter().map(text).collect())
                .unwrap_or_default(),
            raw_data: text(&entry["raw_data"]),
        })
        .collect()
}

/// The MIME text of every raw message the emulator has sent, oldest first.
pub async fn sent_raw_messages() -> Vec<String> {
    sent_raw_message_entries()
        .await
        .into_iter()
        .map(|message| message.raw_data)
        .collect()
}

/// The raw messages whose MIME text contains `needle` (e.g. a unique ASCII
/// subject, which appears as is in the `Subject` header).
pub async fn sent_raw_messages_containing(needle: &str) -> Vec<SentRawMessage> {
    sent_raw_message_entries()
        .await
        .into_iter()
        .filter(|message| message.raw_data.contains(needle))
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The emulator's SES state (`GET /moto-api/data.json?service=ses`).
pub async fn emulator_data() -> Value {
    let (status, body) = http_get(&format!("{}/moto-api/data.json?service=ses", endpoint())).await;
    assert_eq!(status, 200, "GET /moto-api/data.json?service=ses");
    serde_json::from_slice(&body).expect("moto's data.json is JSON")
}

/// A minimal HTTP/1.1 GET for `http://host:port/path` on loopback: the status
/// and the (de-chunked) body.
pub async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("plain http URL expected, not {url}"));
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = TcpStream::connect(authority)
            .await
            .unwrap_or_else(|error| panic!("connect to {authority}: {error}"));
        let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: */*\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send the request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read the response");
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {url} timed out"));
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> (u16, Vec<u8>) {
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete HTTP response head");
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            }
        }
    }
    let body = if chunked {
        dechunk(body)
    } else {
        match length {
            Some(length) => body[..length.min(body.len())].to_vec(),
            None => body.to_vec(),
        }
    };
    (status, body)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("a chunk size line");
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a hexadecimal chunk size");
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_response(plain), (200, b"hello".to_vec()));
        let chunked =
            b"HTTP/1.1 404 NOT FOUND\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), (404, b"hello".to_vec()));
    }
}
