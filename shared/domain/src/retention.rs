//! Which register category a stored record belongs to: the retention sweep
//! counts by it, legal holds are matched against it, and the access export
//! explains each record with it.

use crate::register::CategoryId;
use crate::store::Record;

/// The category of a record, or `None` for the product's own bookkeeping
/// (sweep checkpoints and run records hold no personal data).
pub fn category_of(record: &Record) -> Option<CategoryId> {
    let status = record.attributes.get("status").and_then(|status| status.as_str());
    Some(match record.entity.as_str() {
        "consent_state" | "consent_receipt" => CategoryId::ConsentRecords,
        "newsletter_subscription" => match status {
            Some("pending") => CategoryId::NewsletterPending,
            _ => CategoryId::NewsletterSubscribed,
        },
        "newsletter_confirmation_token" => CategoryId::NewsletterPending,
        "suppression" | "processing_restriction" => CategoryId::Suppression,
        "mail_outbox" | "mail_log" => CategoryId::MailLog,
        "dsr_request" => match status {
            Some("awaiting_verification") => CategoryId::RequestsUnverified,
            _ => CategoryId::RequestsClosed,
        },
        "dsr_verification_token" => CategoryId::RequestsUnverified,
        // A hold is kept as long as it holds, under the category it protects.
        "legal_hold" => serde_json::from_value(record.attributes.get("category")?.clone()).ok()?,
        _ => return None,
    })
}
