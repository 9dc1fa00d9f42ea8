//! The register of processing (GDPR Art. 30) as data.
//!
//! One document ([`Register::standard`] reads `register.json`) says, per
//! category of personal data, its purpose, lawful basis, retention, source
//! and recipients. The expiry written on every record, the retention sweep,
//! the access report's supplementary information and the CCPA disclosure are
//! all read from it: change a period there and everything follows.
//!
//! Context `register`: may use `store` and the kernel (README, "The domain crate's contexts").

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::store::Record;

pub mod entity;
pub mod lists;

const STANDARD_REGISTER: &str = include_str!("../../register.json");

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

/// A category's second, longer retention for the proof it leaves behind:
/// the newsletter's opt-in evidence (no address) outlives the subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceRetention {
    /// What ends the processing the evidence proves (`ended`: unsubscribed, erased or expired).
    pub event: String,
    pub period: Period,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRetention>,
    pub retention_text: String,
    pub source: String,
    pub recipients: Vec<String>,
    pub ccpa_category: String,
}

/// A category of personal data the policy names but another system holds
/// (the Service's accounts, the support desk, the CRM, …). This product
/// neither writes nor expires it, so it is not a [`CategoryId`]: the code
/// that stamps, sweeps and holds iterates only what it writes, while the
/// register still describes everything the policy promises (Art. 30).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CategoryElsewhere {
    pub id: String,
    pub name: String,
    pub personal_data: Vec<String>,
    pub purpose: String,
    pub lawful_basis: LawfulBasis,
    pub retention_text: String,
    pub source: String,
    pub recipients: Vec<String>,
    pub ccpa_category: String,
}

/// A purpose of the privacy policy and the categories that serve it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Purpose {
    pub id: String,
    pub name: String,
    /// The lawful basis as the policy states it; each category names its own reference.
    pub lawful_basis: String,
    /// Ids of [`ProcessingCategory`]s or [`CategoryElsewhere`]s.
    pub categories: Vec<String>,
}

/// Whose system it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemRole {
    /// Run by the controller itself.
    Internal,
    /// Run by a processor on the controller's behalf (Art. 28).
    Processor,
    /// Another recipient.
    Recipient,
}

/// How a request reaches a system of record (SPEC 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum SystemAccess {
    /// This product's own records, handled by its request fulfilment.
    ThisProduct,
    /// An event on the deployment's EventBridge bus (detail-type
    /// `privacy.request.task`), for an in-house service's own rule.
    Event,
    /// An HTTPS POST signed with the system's secret (`Privacy-Signature`);
    /// its endpoint and secret are deployment configuration, never register data.
    Webhook,
    /// The privacy team acts by hand, following the instructions.
    Manual { instructions: String },
}

impl SystemAccess {
    /// The wire name (`this_product`, `event`, `webhook`, `manual`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ThisProduct => "this_product",
            Self::Event => "event",
            Self::Webhook => "webhook",
            Self::Manual { .. } => "manual",
        }
    }
}

/// A system of record: where the data of some categories lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct System {
    pub id: String,
    pub name: String,
    /// Ids of the categories (this product's or elsewhere) it holds.
    pub holds: Vec<String>,
    pub role: SystemRole,
    /// The entry in `recipients` for a processor or recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    pub access: SystemAccess,
    /// Whether the system finds a person by e-mail address: only then does a
    /// task for it carry the address (every task carries the subject key).
    #[serde(default)]
    pub keys_by_address: bool,
    /// What the team does when the system cannot be reached automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Controller {
    pub name: String,
    /// The Swedish organisation number (organisationsnummer).
    pub org_number: String,
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
    pub purposes: Vec<Purpose>,
    pub categories: Vec<ProcessingCategory>,
    /// The policy's categories held only by other systems.
    pub categories_elsewhere: Vec<CategoryElsewhere>,
    pub systems: Vec<System>,
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
    #[error("`{0}` names the unknown category `{1}`")]
    UnknownCategory(String, String),
    #[error("`{0}` names the unknown recipient `{1}`")]
    UnknownRecipientOf(String, String),
    #[error("no system holds the category `{0}`")]
    CategoryWithoutSystem(String),
    #[error("no purpose names the category `{0}`")]
    CategoryWithoutPurpose(String),
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
        Self::check_systems_and_purposes(&document)?;
        Ok(Self { document, time_zone })
    }

    /// Every purpose and system names known categories and recipients; every
    /// category serves a purpose and is held by a system, and this product's
    /// own categories by a `this_product` system.
    fn check_systems_and_purposes(document: &RegisterDocument) -> Result<(), RegisterError> {
        let own: Vec<String> = document
            .categories
            .iter()
            .filter_map(|category| serde_json::to_value(category.id).ok()?.as_str().map(str::to_owned))
            .collect();
        let elsewhere: Vec<String> = document.categories_elsewhere.iter().map(|c| c.id.clone()).collect();
        let known = |id: &String| own.contains(id) || elsewhere.contains(id);
        let recipient_known = |id: &String| document.recipients.iter().any(|recipient| &recipient.id == id);
        for purpose in &document.purposes {
            if let Some(unknown) = purpose.categories.iter().find(|id| !known(id)) {
                return Err(RegisterError::UnknownCategory(purpose.id.clone(), unknown.clone()));
            }
        }
        for system in &document.systems {
            if let Some(unknown) = system.holds.iter().find(|id| !known(id)) {
                return Err(RegisterError::UnknownCategory(system.id.clone(), unknown.clone()));
            }
            if let Some(unknown) = system.recipient.as_ref().filter(|id| !recipient_known(id)) {
                return Err(RegisterError::UnknownRecipientOf(system.id.clone(), unknown.clone()));
            }
        }
        for category in &document.categories_elsewhere {
            if let Some(unknown) = category.recipients.iter().find(|id| !recipient_known(id)) {
                return Err(RegisterError::UnknownRecipientOf(category.id.clone(), unknown.clone()));
            }
        }
        for id in own.iter().chain(&elsewhere) {
            let mut holders = document.systems.iter().filter(|system| system.holds.contains(id));
            let held = if own.contains(id) {
                holders.any(|system| system.access == SystemAccess::ThisProduct)
            } else {
                holders.next().is_some()
            };
            if !held {
                return Err(RegisterError::CategoryWithoutSystem(id.clone()));
            }
            if !document.purposes.iter().any(|purpose| purpose.categories.contains(id)) {
                return Err(RegisterError::CategoryWithoutPurpose(id.clone()));
            }
        }
        Ok(())
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
        set_expiry(record, self.expiry(id, event_at));
    }

    /// When the evidence a category leaves (the newsletter's opt-in proof)
    /// must be gone, the processing it proves having ended at `ended_at`.
    /// `None` for a category that keeps no separate evidence.
    pub fn evidence_expiry(&self, id: CategoryId, ended_at: Timestamp) -> Option<Timestamp> {
        let rule = self.category(id).evidence.as_ref()?;
        Some(self.add(ended_at, &rule.period))
    }

    /// Stamps an evidence record: kept while the processing it proves goes
    /// on (`ended_at` `None`: no expiry), then for the register's evidence
    /// period. An expiry already later than the new one is kept: evidence is
    /// never shortened.
    pub fn stamp_evidence(&self, record: &mut Record, id: CategoryId, ended_at: Option<Timestamp>) {
        let expires_at = match ended_at {
            None => None,
            Some(ended_at) => match (self.evidence_expiry(id, ended_at), record.expires_at) {
                (Some(new), Some(old)) => Some(new.max(old)),
                (new, _) => new,
            },
        };
        set_expiry(record, expires_at);
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

/// Writes `expires_at` rounded up to a whole second (the TTL attribute's
/// unit, so nothing expires early) and the UTC day it falls due.
fn set_expiry(record: &mut Record, expires_at: Option<Timestamp>) {
    let expires_at = expires_at.map(|at| {
        let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
        Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
    });
    record.expires_at = expires_at;
    record.due = expires_at.map(|at| at.to_zoned_datetime(TimeZone::UTC).date());
}

/// Which register category a stored record belongs to: the retention sweep
/// counts by it, legal holds are matched against it, and the access export
/// explains each record with it. Every entity the product stores is named
/// here once.
/// (sweep checkpoints and run records hold no personal data).
pub fn category_of(record: &Record) -> Option<CategoryId> {
    let status = record.attributes.get("status").and_then(|status| status.as_str());
    Some(match record.entity.as_str() {
        entity::CONSENT_STATE | entity::CONSENT_RECEIPT | entity::CONSENT_CHECKPOINT | entity::CONSENT_LINK => {
            CategoryId::ConsentRecords
        }
        entity::NEWSLETTER_SUBSCRIPTION => match status {
            Some("pending") => CategoryId::NewsletterPending,
            _ => CategoryId::NewsletterSubscribed,
        },
        entity::NEWSLETTER_CONFIRMATION_TOKEN => CategoryId::NewsletterPending,
        // The opt-in evidence: the category's `evidence` retention.
        entity::NEWSLETTER_EVIDENCE => CategoryId::NewsletterSubscribed,
        entity::SUPPRESSION | entity::PROCESSING_RESTRICTION => CategoryId::Suppression,
        entity::MAIL_OUTBOX | entity::MAIL_LOG | entity::DSR_INTAKE | entity::NEWSLETTER_SEND => CategoryId::MailLog,
        entity::DSR_REQUEST => match status {
            // A never-verified request stays in its category once expired (minimised).
            Some("awaiting_verification" | "expired") => CategoryId::RequestsUnverified,
            _ => CategoryId::RequestsClosed,
        },
        entity::DSR_VERIFICATION_TOKEN => CategoryId::RequestsUnverified,
        // The link to a verified rectification's new address.
        entity::DSR_NEW_ADDRESS_TOKEN => CategoryId::RequestsClosed,
        // A request's report entry (no personal data) is kept as long as a closed request.
        entity::DSR_REPORT_ENTRY => CategoryId::RequestsClosed,
        // A task for another system of record, kept as long as its request's record.
        entity::DSR_TASK => CategoryId::RequestsClosed,
        // A hold is kept as long as it holds, under the category it protects.
        entity::LEGAL_HOLD => serde_json::from_value(record.attributes.get("category")?.clone()).ok()?,
        // The product's own bookkeeping, each with its own expiry.
        _ => return None,
    })
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
    fn the_default_controller_is_the_one_in_the_privacy_policy() {
        let register = Register::standard().unwrap();
        let controller = &register.document().controller;
        assert_eq!(controller.name, "IOT Communications International AB");
        assert_eq!(controller.org_number, "559161-6122");
        assert_eq!(controller.address, "Magnus Ladulåsgatan 13, 118 65 Stockholm, Sweden");
        assert_eq!(controller.contact, "info@iotcomms.io");
        let authority = &register.document().supervisory_authority;
        assert!(authority.name.contains("IMY"));
        assert_eq!(authority.url, "https://www.imy.se");
    }

    #[test]
    fn every_purpose_of_the_policy_is_listed_with_the_systems_that_hold_its_data() {
        let document = Register::standard().unwrap().document().clone();
        // SPEC 0: the purposes the privacy policy names.
        for purpose in [
            "service",
            "support",
            "invoicing",
            "administration",
            "newsletters",
            "prospects",
            "cookies",
            "security",
        ] {
            let purpose = document
                .purposes
                .iter()
                .find(|p| p.id == purpose)
                .unwrap_or_else(|| panic!("purpose {purpose} missing"));
            assert!(!purpose.categories.is_empty(), "{}", purpose.id);
            for category in &purpose.categories {
                let systems: Vec<&System> = document
                    .systems
                    .iter()
                    .filter(|system| system.holds.contains(category))
                    .collect();
                assert!(!systems.is_empty(), "no system holds {category}");
                for system in systems {
                    match &system.access {
                        SystemAccess::ThisProduct => {}
                        SystemAccess::Manual { instructions } => assert!(instructions.len() > 20, "{}", system.id),
                        SystemAccess::Event | SystemAccess::Webhook => {
                            let instructions = system.instructions.as_deref().unwrap_or_default();
                            assert!(instructions.len() > 20, "{}", system.id);
                        }
                    }
                }
            }
        }
        let newsletters = document.purposes.iter().find(|p| p.id == "newsletters").unwrap();
        assert!(
            newsletters.lawful_basis.contains("consent") && newsletters.lawful_basis.contains("legitimate interest")
        );
        let prospects = document.purposes.iter().find(|p| p.id == "prospects").unwrap();
        assert!(prospects.lawful_basis.contains("Art. 6(1)(f)") && prospects.lawful_basis.contains("object"));
        // Every category this product writes is held by this product.
        let own = document
            .systems
            .iter()
            .find(|system| system.access == SystemAccess::ThisProduct)
            .unwrap();
        for id in CategoryId::ALL {
            let id = serde_json::to_value(id).unwrap();
            assert!(own.holds.iter().any(|held| id == held.as_str()), "{id}");
        }
        for id in ["support_desk", "web_analytics"] {
            let system = document.systems.iter().find(|system| system.id == id).unwrap();
            assert_eq!(system.role, SystemRole::Processor, "{id}");
            assert!(system.recipient.is_some(), "{id}");
        }
    }

    #[test]
    fn no_lawful_basis_cites_a_california_rule_as_its_ground() {
        let document = Register::standard().unwrap().document().clone();
        let bases = document
            .categories
            .iter()
            .map(|c| (serde_json::to_value(c.id).unwrap().to_string(), &c.lawful_basis))
            .chain(
                document
                    .categories_elsewhere
                    .iter()
                    .map(|c| (c.id.clone(), &c.lawful_basis)),
            );
        for (id, basis) in bases {
            for californian in ["CCR", "CCPA", "CPRA", "Cal.", "California", "1798", "§ 70", "§ 71"] {
                assert!(
                    !basis.reference.contains(californian),
                    "{id}: `{}` cites a California rule",
                    basis.reference
                );
            }
            assert!(
                basis.reference.starts_with("GDPR Art. 6(1)("),
                "{id}: `{}` does not name its GDPR Art. 6(1) ground",
                basis.reference
            );
        }
        // SPEC 6: records kept to demonstrate compliance rest on legitimate interest.
        let register = Register::standard().unwrap();
        let closed = &register.category(CategoryId::RequestsClosed).lawful_basis;
        assert_eq!(closed.basis, "legitimate_interest");
        assert!(closed.reference.contains("Art. 6(1)(f)") && closed.reference.contains("Art. 17(3)(e)"));
        let consent = &register.category(CategoryId::ConsentRecords).lawful_basis;
        assert_eq!(consent.basis, "legitimate_interest");
        for article in ["Art. 6(1)(f)", "Art. 7(1)", "5(2)"] {
            assert!(consent.reference.contains(article), "{article}");
        }
    }

    #[test]
    fn the_newsletter_opt_in_evidence_is_kept_three_years_after_the_subscription_ends() {
        let register = Register::standard().unwrap();
        let ended = at("2026-03-15T10:00:00Z");
        assert_eq!(
            register.expiry(CategoryId::NewsletterSubscribed, ended),
            Some(at("2026-04-14T09:00:00Z")),
            "the address-bearing subscription: 30 calendar days in Stockholm (summer time from 29 March)"
        );
        assert_eq!(
            register.evidence_expiry(CategoryId::NewsletterSubscribed, ended),
            Some(at("2029-03-15T10:00:00Z"))
        );
        assert_eq!(register.evidence_expiry(CategoryId::MailLog, ended), None);
        let mut record = Record::new(crate::store::RecordKey::new("P", "S"), "newsletter_evidence");
        register.stamp_evidence(&mut record, CategoryId::NewsletterSubscribed, Some(ended));
        assert_eq!(record.expires_at, Some(at("2029-03-15T10:00:00Z")));
        register.stamp_evidence(
            &mut record,
            CategoryId::NewsletterSubscribed,
            Some(at("2026-01-01T00:00:00Z")),
        );
        assert_eq!(record.expires_at, Some(at("2029-03-15T10:00:00Z")), "never shortened");
        register.stamp_evidence(&mut record, CategoryId::NewsletterSubscribed, None);
        assert_eq!(
            (record.expires_at, record.due),
            (None, None),
            "kept while the subscription lasts"
        );
    }

    #[test]
    fn rejects_systems_and_purposes_that_do_not_add_up() {
        let standard: serde_json::Value = serde_json::from_str(STANDARD_REGISTER).unwrap();
        let mut document = standard.clone();
        document["systems"][1]["holds"][0] = "no_such_category".into();
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::UnknownCategory(system, category)) if system == "service" && category == "no_such_category"
        ));
        let mut document = standard.clone();
        document["systems"]
            .as_array_mut()
            .unwrap()
            .retain(|system| system["id"] != "crm");
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::CategoryWithoutSystem(_))
        ));
        let mut document = standard.clone();
        document["systems"][0]["access"] = serde_json::json!({"via": "manual", "instructions": "by hand"});
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::CategoryWithoutSystem(_))
        ));
        let mut document = standard.clone();
        document["purposes"]
            .as_array_mut()
            .unwrap()
            .retain(|purpose| purpose["id"] != "security");
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::CategoryWithoutPurpose(category)) if category == "security_logs"
        ));
        let mut document = standard;
        document["systems"][2]["recipient"] = "nobody".into();
        assert!(matches!(
            Register::from_json(&document.to_string()),
            Err(RegisterError::UnknownRecipientOf(_, _))
        ));
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
            ["email", "name", "notes"]
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
