//! The mailer on Amazon SES (v1 `SendRawEmail`): the message is composed by
//! [`privacy_domain::mail::compose`], so what SES sends is byte for byte what
//! the local outbox writes, RFC 8058 headers included.
//!
//! Errors are mapped by SES error code only (the messages SES attaches can
//! hold the addresses involved, so they are neither kept nor logged).

use async_trait::async_trait;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;
use aws_sdk_ses::Client;
use jiff::Timestamp;
use privacy_domain::mail::{compose, Mail, MailError, Mailer, MessageId};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    /// The sender: `addr@domain` or `Name <addr@domain>`, verified in SES.
    from: String,
    configuration_set: Option<String>,
    /// Right-hand side of the `Message-ID` header (the sending domain).
    message_id_domain: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>, message_id_domain: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set: None,
            message_id_domain: message_id_domain.into(),
        }
    }

    /// Sends through this SES configuration set (event publishing, sending
    /// statistics, a dedicated IP pool).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<MessageId, MailError> {
        mail.check()?;
        let message = compose(&self.from, mail, &self.message_id_domain, Timestamp::now());
        let raw = RawMessage::builder()
            .data(Blob::new(message))
            .build()
            .map_err(|_| MailError::Rejected("SES: incomplete raw message".to_owned()))?;
        let sent = self
            .client
            .send_raw_email()
            .raw_message(raw)
            // No `Source`: SES takes the sender from the From header, where a
            // non-ASCII display name is already encoded (a raw `Source` with
            // one would be refused). `Destinations` is explicit, so that the
            // recipient is this address whatever the headers say.
            .destinations(mail.to.as_str())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match sent {
            Ok(output) => Ok(MessageId(output.message_id)),
            Err(error) => {
                let failure = classify(&error);
                tracing::warn!(
                    code = error.code().unwrap_or("none"),
                    transient = failure.is_transient(),
                    "SES did not send a mail"
                );
                Err(failure)
            }
        }
    }
}

fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, aws_sdk_ses::config::http::HttpResponse>) -> MailError {
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            classify_code(error.code(), Some(status))
        }
        SdkError::ConstructionFailure(_) => MailError::Rejected("SES: the request could not be built".to_owned()),
        SdkError::TimeoutError(_) => MailError::Unavailable("SES: timeout".to_owned()),
        SdkError::DispatchFailure(_) => MailError::Unavailable("SES: unreachable".to_owned()),
        SdkError::ResponseError(context) => classify_code(None, Some(context.raw().status().as_u16())),
        _ => MailError::Unavailable("SES: unknown failure".to_owned()),
    }
}

/// The error code decides; an unknown code goes by HTTP status (5xx and 429
/// transient, other 4xx permanent); without either, transient.
fn classify_code(code: Option<&str>, status: Option<u16>) -> MailError {
    let name = code.unwrap_or("no error code");
    let rejected = || MailError::Rejected(format!("SES: {name}"));
    let unavailable = || MailError::Unavailable(format!("SES: {name}"));
    match code {
        // The message, the sender or the configuration is refused: the same
        // mail will be refused again.
        Some(
            "MessageRejected"
            | "MailFromDomainNotVerifiedException"
            | "MailFromDomainNotVerified"
            | "ConfigurationSetDoesNotExist"
            | "ConfigurationSetDoesNotExistException"
            | "InvalidParameterValue"
            | "ValidationError"
            | "AccessDenied"
            | "AccessDeniedException",
        ) => rejected(),
        // Rate and quota limits, service faults, expired credentials, and
        // paused sending (an account state that ends): retry later.
        Some(
            "Throttling"
            | "ThrottlingException"
            | "TooManyRequestsException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalError"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "RequestExpired"
            | "AccountSendingPausedException"
            | "ConfigurationSetSendingPausedException",
        ) => unavailable(),
        _ => match status {
            Some(429) | Some(500..=599) | None => unavailable(),
            Some(_) => rejected(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_refusals_are_rejected() {
        for code in [
            "MessageRejected",
            "MailFromDomainNotVerifiedException",
            "ConfigurationSetDoesNotExist",
            "InvalidParameterValue",
        ] {
            let error = classify_code(Some(code), Some(400));
            assert_eq!(error, MailError::Rejected(format!("SES: {code}")));
        }
    }

    #[test]
    fn throttling_and_faults_are_transient() {
        for (code, status) in [
            ("Throttling", 400),
            ("ServiceUnavailable", 503),
            ("InternalFailure", 500),
            ("AccountSendingPausedException", 400),
        ] {
            assert!(classify_code(Some(code), Some(status)).is_transient(), "{code}");
        }
    }

    #[test]
    fn unknown_codes_go_by_status() {
        assert!(classify_code(Some("SomethingNew"), Some(502)).is_transient());
        assert!(classify_code(Some("SomethingNew"), Some(429)).is_transient());
        assert!(classify_code(None, None).is_transient());
        assert_eq!(
            classify_code(Some("SomethingNew"), Some(400)),
            MailError::Rejected("SES: SomethingNew".to_owned())
        );
    }
}
