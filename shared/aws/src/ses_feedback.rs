//! SES bounce and complaint notifications (as SNS delivers them) in the
//! domain's terms.
//!
//! Both SES formats are read: identity notifications (`notificationType`) and
//! configuration-set event publishing (`eventType`).

use privacy_domain::email::EmailAddress;
use privacy_domain::newsletter::{DeliveryFeedback, FeedbackKind};
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedbackError {
    #[error("the SNS message is not an SES notification")]
    NotSes,
}

/// The feedback in an SES notification; `Ok(None)` for notification types
/// that ask for nothing (deliveries, sends, opens).
pub fn parse(message: &str) -> Result<Option<DeliveryFeedback>, FeedbackError> {
    let notification: Value = serde_json::from_str(message).map_err(|_| FeedbackError::NotSes)?;
    let kind = notification
        .get("eventType")
        .or_else(|| notification.get("notificationType"))
        .and_then(Value::as_str)
        .ok_or(FeedbackError::NotSes)?;
    let (kind, recipients) = match kind {
        "Bounce" => {
            let bounce = &notification["bounce"];
            let kind = match bounce["bounceType"].as_str() {
                Some("Permanent") => FeedbackKind::PermanentBounce,
                // "Transient" and "Undetermined": not a reason to stop mailing.
                _ => FeedbackKind::TransientBounce,
            };
            (kind, &bounce["bouncedRecipients"])
        }
        "Complaint" => (
            FeedbackKind::Complaint,
            &notification["complaint"]["complainedRecipients"],
        ),
        _ => return Ok(None),
    };
    let recipients = recipients
        .as_array()
        .map(|recipients| {
            recipients
                .iter()
                .filter_map(|recipient| recipient["emailAddress"].as_str())
                .filter_map(|address| EmailAddress::parse("emailAddress", strip_display_name(address)).ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(DeliveryFeedback { kind, recipients }))
}

/// SES may report `Name <address>`; the address is what is inside the brackets.
fn strip_display_name(address: &str) -> &str {
    match (address.rfind('<'), address.rfind('>')) {
        (Some(open), Some(close)) if open < close => &address[open + 1..close],
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addresses(feedback: &DeliveryFeedback) -> Vec<&str> {
        feedback.recipients.iter().map(EmailAddress::as_str).collect()
    }

    #[test]
    fn a_permanent_bounce_names_its_recipients() {
        let message = json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "ada@example.com"}, {"emailAddress": "Grace <grace@example.org>"}]}});
        let feedback = parse(&message.to_string()).unwrap().unwrap();
        assert_eq!(feedback.kind, FeedbackKind::PermanentBounce);
        assert_eq!(addresses(&feedback), ["ada@example.com", "grace@example.org"]);
    }

    #[test]
    fn transient_and_undetermined_bounces_are_not_permanent() {
        for kind in ["Transient", "Undetermined"] {
            let message = json!({"notificationType": "Bounce", "bounce": {"bounceType": kind,
                "bouncedRecipients": [{"emailAddress": "ada@example.com"}]}});
            assert_eq!(
                parse(&message.to_string()).unwrap().unwrap().kind,
                FeedbackKind::TransientBounce
            );
        }
    }

    #[test]
    fn a_complaint_is_feedback() {
        let message = json!({"notificationType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "ada@example.com"}]}});
        let feedback = parse(&message.to_string()).unwrap().unwrap();
        assert_eq!(feedback.kind, FeedbackKind::Complaint);
    }

    #[test]
    fn deliveries_ask_for_nothing_and_garbage_is_refused() {
        assert_eq!(parse(&json!({"eventType": "Delivery"}).to_string()), Ok(None));
        assert_eq!(parse("not json"), Err(FeedbackError::NotSes));
        assert_eq!(parse("{}"), Err(FeedbackError::NotSes));
    }
}
