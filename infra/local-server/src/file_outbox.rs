//! The local server's mailer: every message, as sent, in a file.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use privacy_domain::clock::{Clock, SystemClock};
use privacy_domain::mail::{compose, Mail, MailError, Mailer, MessageId};

/// A [`Mailer`] for the local server: writes each message, as sent, to
/// `<n>-<timestamp>.eml` in a directory, and logs only the file name and the
/// number of links (never the address).
pub struct FileOutbox {
    dir: PathBuf,
    from: String,
    message_id_domain: String,
    next: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for FileOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileOutbox")
            .field("dir", &self.dir)
            .field("next", &self.next.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl FileOutbox {
    /// Creates `dir` if needed; numbering continues after the files already there.
    pub fn open(
        dir: impl Into<PathBuf>,
        from: impl Into<String>,
        message_id_domain: impl Into<String>,
    ) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let mut last = 0;
        for entry in std::fs::read_dir(&dir)? {
            let name = entry?.file_name();
            let number = name
                .to_str()
                .filter(|name| name.ends_with(".eml"))
                .and_then(|name| name.split('-').next())
                .and_then(|number| number.parse::<u64>().ok());
            last = last.max(number.unwrap_or(0));
        }
        Ok(Self {
            dir,
            from: from.into(),
            message_id_domain: message_id_domain.into(),
            next: Arc::new(AtomicU64::new(last + 1)),
            clock: Arc::new(SystemClock),
        })
    }

    /// Dates messages and names files by `clock` instead of the system clock.
    #[cfg(test)]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        mail.check()?;
        let now = self.clock.now();
        let message = compose(&self.from, mail, &self.message_id_domain, now);
        let stamp = file_stamp(now);
        let dir = self.dir.clone();
        let next = Arc::clone(&self.next);
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            loop {
                let name = format!("{:06}-{stamp}.eml", next.fetch_add(1, Ordering::Relaxed));
                let opened = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(dir.join(&name));
                match opened {
                    Ok(mut file) => {
                        std::io::Write::write_all(&mut file, &message)?;
                        return Ok(name);
                    }
                    // Another process writes to the same outbox: take the next number.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(error) => return Err(error),
                }
            }
        })
        .await;
        match written {
            Ok(Ok(file)) => {
                tracing::info!(file = %file, links = mail.links(), "mail written to the outbox");
                Ok(MessageId(file))
            }
            Ok(Err(error)) => {
                tracing::warn!(kind = %error.kind(), "the outbox could not write a mail");
                Err(MailError::Unavailable(format!("outbox write failed: {}", error.kind())))
            }
            Err(_) => Err(MailError::Unavailable("outbox writer stopped".to_owned())),
        }
    }
}

/// `20250701T123456Z`: the time in a file name.
fn file_stamp(at: Timestamp) -> String {
    let mut stamp = String::new();
    match fmt::Write::write_fmt(&mut stamp, format_args!("{}", at.strftime("%Y%m%dT%H%M%SZ"))) {
        Ok(()) => stamp,
        Err(_) => at.as_second().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use privacy_domain::clock::FixedClock;
    use privacy_domain::email::EmailAddress;

    use super::*;

    fn mail() -> Mail {
        Mail {
            to: EmailAddress::parse("email", "ada@example.com").unwrap(),
            subject: "Confirm your subscription".to_owned(),
            text: "Hello,\nconfirm: https://privacy.example.com/c?token=abc\n".to_owned(),
            html: "<p><a href=\"https://privacy.example.com/c?token=abc\">Confirm</a></p>".to_owned(),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    fn date() -> Timestamp {
        "2025-07-01T12:34:56Z".parse().unwrap()
    }

    #[tokio::test]
    async fn the_outbox_writes_numbered_files_and_continues_the_numbering() {
        let dir = std::env::temp_dir().join(format!("outbox-numbering-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clock = Arc::new(FixedClock::new(date()));
        let outbox = FileOutbox::open(&dir, "privacy@example.com", "mail.example.com")
            .unwrap()
            .with_clock(clock.clone());
        let mut unsubscribing = mail();
        unsubscribing.list_unsubscribe = Some("https://privacy.example.com/u?t=1".to_owned());
        let first = outbox.send(&mail()).await.unwrap();
        let second = outbox.send(&unsubscribing).await.unwrap();
        assert_eq!(first.0, "000001-20250701T123456Z.eml");
        assert_eq!(second.0, "000002-20250701T123456Z.eml");

        let reopened = FileOutbox::open(&dir, "privacy@example.com", "mail.example.com")
            .unwrap()
            .with_clock(clock);
        assert_eq!(reopened.send(&mail()).await.unwrap().0, "000003-20250701T123456Z.eml");

        let raw = std::fs::read_to_string(dir.join(&second.0)).unwrap();
        assert!(raw.contains("\r\nTo: ada@example.com\r\n"), "{raw}");
        assert!(raw.contains("\r\nList-Unsubscribe: <https://privacy.example.com/u?t=1>\r\n"));
        assert!(raw.contains("Content-Type: text/plain") && raw.contains("Content-Type: text/html"));

        let mut bad = mail();
        bad.list_unsubscribe = Some("javascript:alert(1)".to_owned());
        assert!(matches!(outbox.send(&bad).await, Err(MailError::Rejected(_))));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
