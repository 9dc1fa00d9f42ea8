//! Which register category a stored record belongs to: the retention sweep
//! counts by it, legal holds are matched against it, and the access export
//! explains each record with it.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::register::{CategoryId, Register, RetentionRule};
use crate::store::{Cursor, Precondition, Query, Record, RecordStore, StoreError, Write};

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
        // The opt-in evidence: the category's `evidence` retention.
        "newsletter_evidence" => CategoryId::NewsletterSubscribed,
        "suppression" | "processing_restriction" => CategoryId::Suppression,
        "mail_outbox" | "mail_log" | "dsr_intake" => CategoryId::MailLog,
        "dsr_request" => match status {
            // A never-verified request stays in its category once expired (minimised).
            Some("awaiting_verification" | "expired") => CategoryId::RequestsUnverified,
            _ => CategoryId::RequestsClosed,
        },
        "dsr_verification_token" => CategoryId::RequestsUnverified,
        // A hold is kept as long as it holds, under the category it protects.
        "legal_hold" => serde_json::from_value(record.attributes.get("category")?.clone()).ok()?,
        _ => return None,
    })
}

/// What a re-stamp changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RestampReport {
    pub days: u32,
    pub read: u64,
    pub restamped: u64,
    /// Records changed meanwhile (their writer stamped them with the current register).
    pub skipped: u64,
}

/// After a register change, re-computes `expires_at` and the due day of the
/// records of `category` that are due between `from` and `through`, from the
/// time of the event the rule names (`<event>_at` on the record). New writes
/// follow the register at once; this brings existing records in line. It
/// reads the due index day by day (no Scan); a record without the event's
/// time, or one not yet past its minimisation, keeps its stamp.
///
/// Run it with `retention-sweep`'s `restamp` binary (see the README).
pub async fn restamp(
    store: &dyn RecordStore,
    register: &Register,
    category: CategoryId,
    from: Date,
    through: Date,
) -> Result<RestampReport, StoreError> {
    let mut report = RestampReport::default();
    let RetentionRule::AfterEvent { event, .. } = &register.category(category).retention else {
        return Ok(report);
    };
    let event_field = format!("{event}_at");
    let sheds = register
        .category(category)
        .minimise
        .as_ref()
        .map(|rule| rule.remove.clone());
    let mut day = from;
    while day <= through {
        report.days += 1;
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = store.query(&Query::DueOn(day), 100, cursor).await?;
            for record in page.records {
                report.read += 1;
                if category_of(&record) != Some(category) {
                    continue;
                }
                // Still to be minimised: its due day is the minimisation's, not the expiry's.
                if sheds
                    .as_ref()
                    .is_some_and(|fields| fields.iter().any(|field| record.attributes.contains_key(field)))
                {
                    continue;
                }
                let Some(event_at) = record
                    .attributes
                    .get(&event_field)
                    .and_then(|value| value.as_str())
                    .and_then(|text| text.parse::<Timestamp>().ok())
                else {
                    continue;
                };
                let mut restamped = record.clone();
                register.stamp(&mut restamped, category, event_at);
                if restamped.expires_at == record.expires_at {
                    continue;
                }
                restamped.version += 1;
                let write = Write::Put {
                    record: restamped,
                    precondition: Precondition::Version(record.version),
                };
                match store.write(vec![write]).await {
                    Ok(()) => report.restamped += 1,
                    Err(StoreError::Conflict) => report.skipped += 1,
                    Err(error) => return Err(error),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        day = day.checked_add(1.day()).unwrap_or(Date::MAX);
        if day == Date::MAX {
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::store::RecordKey;
    use serde_json::json;

    #[tokio::test]
    async fn a_restamp_applies_a_changed_period_to_records_already_written() {
        let store = MemoryStore::new();
        let standard = Register::standard().unwrap();
        let recorded: Timestamp = "2026-05-01T10:00:00Z".parse().unwrap();
        let mut receipt = Record::new(RecordKey::new("CONSENT#x", "RECEIPT#0000000001"), "consent_receipt");
        receipt.attributes.insert("recorded_at".to_owned(), json!(recorded));
        standard.stamp(&mut receipt, CategoryId::ConsentRecords, recorded);
        let mut mail = Record::new(RecordKey::new("MAILLOG#y", "z"), "mail_log");
        mail.attributes.insert("queued_at".to_owned(), json!(recorded));
        standard.stamp(&mut mail, CategoryId::MailLog, recorded);
        for record in [receipt.clone(), mail.clone()] {
            crate::store::put(&store, record, Precondition::Absent).await.unwrap();
        }

        let mut document: serde_json::Value = serde_json::from_str(include_str!("../register.json")).unwrap();
        for category in document["categories"].as_array_mut().unwrap() {
            if category["id"] == "consent_records" {
                category["retention"]["period"] = json!("P2Y");
            }
        }
        let shorter = Register::from_json(&document.to_string()).unwrap();
        let report = restamp(
            &store,
            &shorter,
            CategoryId::ConsentRecords,
            jiff::civil::date(2026, 11, 1),
            jiff::civil::date(2029, 12, 31),
        )
        .await
        .unwrap();
        assert_eq!((report.restamped, report.skipped), (1, 0));
        let receipt = store.get(&receipt.key).await.unwrap().unwrap();
        assert_eq!(receipt.expires_at, Some("2028-05-01T10:00:00Z".parse().unwrap()));
        assert_eq!(receipt.due, Some(jiff::civil::date(2028, 5, 1)));
        assert_eq!(
            store.get(&mail.key).await.unwrap().unwrap().expires_at,
            mail.expires_at,
            "other categories untouched"
        );
        let again = restamp(
            &store,
            &shorter,
            CategoryId::ConsentRecords,
            jiff::civil::date(2026, 11, 1),
            jiff::civil::date(2029, 12, 31),
        )
        .await
        .unwrap();
        assert_eq!(again.restamped, 0, "idempotent");
    }
}
