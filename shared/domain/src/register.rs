//! The register of processing (GDPR Art. 30) as data.
//!
//! One document ([`Register::standard`] reads `register.json`) says, per
//! category of personal data, its purpose, lawful basis, retention, source
//! and recipients. The expiry written on every record, the retention sweep,
//! the access report's supplementary information and the CCPA disclosure are
//! all read from it: change a period there and everything follows.

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::store::Record;

const STANDARD_REGISTER: &str = include_str!("../register.json");

/// The categories the code writes. Each must be described in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryId {
    ConsentRecords,
    NewsletterPending,
    NewsletterSubscribed,
    Suppression,
    RequestsUnverified,
    RequestsClosed,
    MailLog,
    Invoicing,
}

impl CategoryId {
    pub const ALL: [CategoryId; 8] = [
        CategoryId::ConsentRecords,
        CategoryId::NewsletterPending,
        CategoryId::NewsletterSubscribed,
        CategoryId::Suppression,
        CategoryId::RequestsUnverified,
        CategoryId::RequestsClosed,
        CategoryId::MailLog,
        CategoryId::Invoicing,
    ];
}

/// A calendar period written in ISO 8601 (`P3Y`, `P30D`).
#[derive(Clone)]
pub struct Period {
    text: String,
    span: Span,
}

impl Period {
    pub fn span(&self) -> Span {
        self.span
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Period {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let span: Span = text
            .parse()
            .map_err(|_| format!("`{text}` is not an ISO 8601 period"))?;
        if span.is_negative() || span.is_zero() {
            return Err(format!("`{text}` is not a positive period"));
        }
        Ok(Self { text, span })
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Period::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// How long a category is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RetentionRule {
    /// A period from an event in the record's life (recorded, unsubscribed, closed, …).
    AfterEvent { event: String, period: Period },
    /// Kept while it serves its purpose, with no fixed end (hash-only suppression).
    Indefinite,
    /// Through the `years`-th year after the end of the calendar year of the event
    /// (the Swedish Bookkeeping Act's 7 years).
    ThroughYearsAfterYearEnd { years: i16 },
}

/// Fields a category sheds before it is deleted (closed requests lose the
/// address and name after 30 days but are kept for three years).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Minimisation {
    pub event: String,
    pub period: Period,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LawfulBasis {
    pub basis: String,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessingCategory {
    pub id: CategoryId,
    pub name: String,
    pub personal_data: Vec<String>,
    pub purpose: String,
    pub lawful_basis: LawfulBasis,
    pub retention: RetentionRule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimise: Option<Minimisation>,
    pub retention_text: String,
    pub source: String,
    pub recipients: Vec<String>,
    pub ccpa_category: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Controller {
    pub name: String,
    pub address: String,
    pub contact: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupervisoryAuthority {
    pub name: String,
    pub url: String,
    pub right: String,
    /// The right to a judicial remedy against the controller (GDPR Art. 79),
    /// named in every refusal and extension notice (Art. 12(4)). A register
    /// that leaves it out gets the text for a controller established in Sweden.
    #[serde(default = "swedish_judicial_remedy")]
    pub judicial_remedy: String,
}

fn swedish_judicial_remedy() -> String {
    "You also have the right to an effective judicial remedy against us (GDPR Art. 79): \
     you may take the matter to court in Sweden, where we are established (a general court, \
     in the first instance the district court, tingsrätt), or in the courts of the EU or EEA \
     country where you habitually reside. A decision of IMY on a complaint can be appealed \
     to the administrative court (förvaltningsrätten)."
        .to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub role: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CcpaDisclosure {
    pub category: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CcpaNotice {
    pub sells_personal_information: bool,
    pub shares_for_cross_context_behavioral_advertising: bool,
    pub disclosed_for_business_purpose_last_12_months: Vec<CcpaDisclosure>,
}

/// The register document, as published at `GET /privacy/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterDocument {
    pub controller: Controller,
    pub supervisory_authority: SupervisoryAuthority,
    pub consent_lifetime: Period,
    pub categories: Vec<ProcessingCategory>,
    pub recipients: Vec<Recipient>,
    pub transfers: String,
    pub automated_decision_making: String,
    pub rights: Vec<String>,
    pub ccpa: CcpaNotice,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the register is not valid JSON of the expected shape: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("the register's time zone `{0}` is unknown")]
    TimeZone(String),
    #[error("the register does not describe the category {0:?}")]
    MissingCategory(CategoryId),
    #[error("category {0:?} names the unknown recipient `{1}`")]
    UnknownRecipient(CategoryId, String),
}

/// The register, checked and ready to answer retention questions.
#[derive(Debug, Clone)]
pub struct Register {
    document: RegisterDocument,
    time_zone: TimeZone,
}

impl Register {
    /// The register this product ships with (`shared/domain/register.json`).
    pub fn standard() -> Result<Self, RegisterError> {
        Self::from_json(STANDARD_REGISTER)
    }

    pub fn from_json(json: &str) -> Result<Self, RegisterError> {
        Self::from_document(serde_json::from_str(json)?)
    }

    pub fn from_document(document: RegisterDocument) -> Result<Self, RegisterError> {
        let time_zone = TimeZone::get(&document.controller.time_zone)
            .map_err(|_| RegisterError::TimeZone(document.controller.time_zone.clone()))?;
        for id in CategoryId::ALL {
            let category = document
                .categories
                .iter()
                .find(|category| category.id == id)
                .ok_or(RegisterError::MissingCategory(id))?;
            if let Some(unknown) = category
                .recipients
                .iter()
                .find(|name| !document.recipients.iter().any(|recipient| &recipient.id == *name))
            {
                return Err(RegisterError::UnknownRecipient(id, unknown.clone()));
            }
        }
        Ok(Self { document, time_zone })
    }

    pub fn document(&self) -> &RegisterDocument {
        &self.document
    }

    /// The controller's time zone: deadlines and retention run on its calendar.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    pub fn category(&self, id: CategoryId) -> &ProcessingCategory {
        self.document
            .categories
            .iter()
            .find(|category| category.id == id)
            .unwrap_or_else(|| unreachable!("from_document checked that {id:?} is described"))
    }

    /// When a record of `id` whose retention starts at `event_at` must be gone.
    /// `None` for a category kept indefinitely.
    pub fn expiry(&self, id: CategoryId, event_at: Timestamp) -> Option<Timestamp> {
        match &self.category(id).retention {
            RetentionRule::AfterEvent { period, .. } => Some(self.add(event_at, period)),
            RetentionRule::Indefinite => None,
            RetentionRule::ThroughYearsAfterYearEnd { years } => {
                let local = event_at.to_zoned_datetime(self.time_zone.clone());
                let first_day_after = jiff::civil::date(local.year().saturating_add(*years).saturating_add(1), 1, 1);
                first_day_after
                    .to_zoned_datetime(self.time_zone.clone())
                    .map(|zoned| zoned.timestamp())
                    .ok()
            }
        }
    }

    /// When a record of `id` whose minimisation event (e.g. closing) happened
    /// at `event_at` must shed the fields its category's minimisation names.
    /// `None` for a category that sheds nothing before it expires.
    pub fn minimisation_due(&self, id: CategoryId, event_at: Timestamp) -> Option<Timestamp> {
        let rule = self.category(id).minimise.as_ref()?;
        Some(self.add(event_at, &rule.period))
    }

    /// Writes the record's expiry (TTL) and the day it falls due for the sweep.
    /// The expiry is rounded up to a whole second (the TTL attribute's unit),
    /// so that nothing expires early.
    pub fn stamp(&self, record: &mut Record, id: CategoryId, event_at: Timestamp) {
        let expires_at = self.expiry(id, event_at).map(|at| {
            let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
            Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
        });
        record.expires_at = expires_at;
        record.due = expires_at.map(|at| at.to_zoned_datetime(TimeZone::UTC).date());
    }

    /// When a consent recorded at `recorded_at` should be asked for again.
    pub fn consent_renewal(&self, recorded_at: Timestamp) -> Timestamp {
        self.add(recorded_at, &self.document.consent_lifetime)
    }

    /// `at` plus a calendar period, on the controller's calendar. A date that
    /// does not exist (31 January + 1 month) becomes the month's last day.
    fn add(&self, at: Timestamp, period: &Period) -> Timestamp {
        at.to_zoned_datetime(self.time_zone.clone())
            .checked_add(period.span())
            .map(|zoned| zoned.timestamp())
            .unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_standard_register_describes_every_category() {
        let register = Register::standard().unwrap();
        for id in CategoryId::ALL {
            assert_eq!(register.category(id).id, id);
        }
        assert_eq!(register.time_zone().iana_name(), Some("Europe/Stockholm"));
    }

    #[test]
    fn consent_records_are_kept_three_years_and_renewed_after_twelve_months() {
        let register = Register::standard().unwrap();
        let recorded = at("2026-03-15T10:00:00Z");
        assert_eq!(
            register.expiry(CategoryId::ConsentRecords, recorded),
            Some(at("2029-03-15T10:00:00Z"))
        );
        assert_eq!(register.consent_renewal(recorded), at("2027-03-15T10:00:00Z"));
    }

    #[test]
    fn suppression_never_expires() {
        let register = Register::standard().unwrap();
        assert_eq!(
            register.expiry(CategoryId::Suppression, at("2026-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn invoicing_is_kept_through_the_seventh_year_after_year_end() {
        let register = Register::standard().unwrap();
        // Fiscal year closed 2026-12-31: kept through 2033, gone at the start of 2034 in Stockholm.
        assert_eq!(
            register.expiry(CategoryId::Invoicing, at("2026-12-31T12:00:00Z")),
            Some(at("2033-12-31T23:00:00Z"))
        );
    }

    #[test]
    fn a_month_end_that_does_not_exist_clamps_to_the_last_day() {
        let mut register = Register::standard().unwrap();
        register.document.consent_lifetime = Period::try_from("P1M".to_owned()).unwrap();
        // 31 January 12:00 in Stockholm + 1 month = 28 February 12:00 in Stockholm.
        assert_eq!(
            register.consent_renewal(at("2027-01-31T11:00:00Z")),
            at("2027-02-28T11:00:00Z")
        );
    }

    #[test]
    fn closed_requests_shed_address_and_name_thirty_days_after_closing() {
        let register = Register::standard().unwrap();
        assert_eq!(
            register.minimisation_due(CategoryId::RequestsClosed, at("2026-03-01T09:00:00Z")),
            Some(at("2026-03-31T08:00:00Z")),
            "30 calendar days in Stockholm (summer time began on 29 March)"
        );
        assert_eq!(
            register
                .category(CategoryId::RequestsClosed)
                .minimise
                .as_ref()
                .unwrap()
                .remove,
            ["email", "name"]
        );
        assert_eq!(
            register.minimisation_due(CategoryId::MailLog, at("2026-03-01T09:00:00Z")),
            None
        );
    }

    #[test]
    fn stamping_sets_expiry_and_the_due_day() {
        let register = Register::standard().unwrap();
        let mut record = Record::new(crate::store::RecordKey::new("P", "S"), "mail_log");
        register.stamp(&mut record, CategoryId::MailLog, at("2026-01-01T23:30:00.25Z"));
        assert_eq!(record.expires_at, Some(at("2026-04-01T22:30:01Z")));
        assert_eq!(record.due, Some(jiff::civil::date(2026, 4, 1)));
    }

    #[test]
    fn rejects_a_register_without_a_category_the_code_writes() {
        let mut document: serde_json::Value = serde_json::from_str(STANDARD_REGISTER).unwrap();
        document["categories"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["id"] != "mail_log");
        let error = Register::from_json(&document.to_string()).unwrap_err();
        assert!(matches!(error, RegisterError::MissingCategory(CategoryId::MailLog)));
    }

    #[test]
    fn rejects_nonsense_periods_and_zones() {
        let mut document: serde_json::Value = serde_json::from_str(STANDARD_REGISTER).unwrap();
        document["consent_lifetime"] = "twelve months".into();
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::Shape(_))
        ));
        let mut document: serde_json::Value = serde_json::from_str(STANDARD_REGISTER).unwrap();
        document["controller"]["time_zone"] = "Mars/Olympus".into();
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::TimeZone(_))
        ));
    }
}
