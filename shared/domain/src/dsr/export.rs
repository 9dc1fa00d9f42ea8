//! The answer to a request for access, portability, the source or the CCPA
//! right to know: every item the product holds about the person, as the JSON
//! attachment `personal-data.json` (GDPR Art. 20's machine-readable copy),
//! and a summary in the mail body that a person can read: what categories,
//! how many items of each, and the supplementary information of Art. 15(1)
//! (purposes, recipients, retention, source, automated decisions, the right
//! to complain to the supervisory authority).
//!
//! Each item names its register category; for a CCPA request (`ccpa_know`, or
//! any request under the `ccpa` jurisdiction) also its CCPA category, source
//! and business purpose, and the export lists the categories disclosed for a
//! business purpose in the last 12 months *for this person*: the register's
//! CCPA disclosures of the categories the person has items in.
//!
//! An export larger than [`MAX_EXPORT_BYTES`] is not mailed: the durable
//! outbox keeps a mail as one table item until it is sent, so the attachment
//! must fit in one (see [`crate::mail::outbox::MAX_STORED_ATTACHMENTS_BYTES`]).
//! Such a request goes to the privacy team, and the person is mailed the
//! summary and told that the team delivers the file by another secure channel
//! within the deadline.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::dsr::deadline::Jurisdiction;
use crate::dsr::{DataSubjectRequest, RequestType};
use crate::email::EmailAddress;
use crate::mail::{escape_html, Attachment, Mail};
use crate::register::category_of;
use crate::register::{CategoryId, ProcessingCategory, Register};
use crate::store::Record;

/// The attachment's file name.
pub const EXPORT_FILENAME: &str = "personal-data.json";
/// The attachment's media type.
pub const EXPORT_CONTENT_TYPE: &str = "application/json";
/// The largest export mailed as an attachment (the pretty-printed JSON, in
/// bytes): what one outbox entry can hold. SES's 10 MB per message is far
/// above it (base64 makes 256 KiB about 342 KiB).
pub const MAX_EXPORT_BYTES: usize = crate::mail::outbox::MAX_STORED_ATTACHMENTS_BYTES;

/// An export: the JSON document and what the summary says about it.
#[derive(Clone)]
pub struct PersonalDataExport {
    /// The content of `personal-data.json`.
    pub document: Value,
    /// How many items of each register category (`None`: items of no category).
    held: BTreeMap<Option<CategoryKey>, usize>,
    /// Whether the CCPA's disclosures are part of it.
    ccpa: bool,
}

/// `CategoryId` in the register's order (it has no `Ord` of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct CategoryKey(usize);

impl CategoryKey {
    fn of(id: CategoryId) -> Self {
        Self(
            CategoryId::ALL
                .iter()
                .position(|known| *known == id)
                .unwrap_or(usize::MAX),
        )
    }

    fn id(self) -> Option<CategoryId> {
        CategoryId::ALL.get(self.0).copied()
    }
}

/// Whether a request is answered under the CCPA as well.
pub fn is_ccpa(request: &DataSubjectRequest) -> bool {
    request.request_type == RequestType::CcpaKnow || request.jurisdiction == Jurisdiction::Ccpa
}

impl PersonalDataExport {
    /// The export of `records` (every live item of the person) for `request`.
    pub fn build(register: &Register, request: &DataSubjectRequest, records: &[Record], now: Timestamp) -> Self {
        let ccpa = is_ccpa(request);
        let mut held: BTreeMap<Option<CategoryKey>, usize> = BTreeMap::new();
        let personal_data: Vec<Value> = records
            .iter()
            .map(|record| {
                let category = category_of(record);
                *held.entry(category.map(CategoryKey::of)).or_default() += 1;
                let described = category.map(|id| register.category(id));
                let mut item = json!({
                    "entity": record.entity,
                    "category": category,
                    "category_name": described.map(|c| c.name.as_str()),
                    "record": record.attributes,
                });
                if let (true, Some(described)) = (ccpa, described) {
                    item["ccpa"] = json!({
                        "category": described.ccpa_category,
                        "source": described.source,
                        "business_purpose": described.purpose,
                    });
                }
                item
            })
            .collect();
        let described: Vec<&ProcessingCategory> = held
            .keys()
            .filter_map(|key| key.and_then(CategoryKey::id))
            .map(|id| register.category(id))
            .collect();
        let document = register.document();
        let mut export = json!({
            "request": {"request_id": request.request_id, "type": request.request_type.as_str(),
                        "jurisdiction": request.jurisdiction.as_str(),
                        "received_at": request.received_at, "generated_at": now},
            "controller": document.controller,
            "personal_data": personal_data,
            "article_15": {
                "a_purposes": described.iter().map(|c| json!({"category": c.id, "purpose": c.purpose, "lawful_basis": c.lawful_basis})).collect::<Vec<_>>(),
                "b_categories": described.iter().map(|c| json!({"category": c.id, "name": c.name, "personal_data": c.personal_data, "items": held.get(&Some(CategoryKey::of(c.id))).copied().unwrap_or(0)})).collect::<Vec<_>>(),
                "c_recipients": {"recipients": recipients_of(register, &described), "transfers": document.transfers},
                "d_retention": described.iter().map(|c| json!({"category": c.id, "retention": c.retention_text, "rule": c.retention})).collect::<Vec<_>>(),
                "e_rights": document.rights,
                "f_complaint": document.supervisory_authority,
                "g_source": described.iter().map(|c| json!({"category": c.id, "source": c.source})).collect::<Vec<_>>(),
                "h_automated_decision_making": document.automated_decision_making,
            },
        });
        if ccpa {
            export["ccpa"] = ccpa_disclosures(register, &described);
        }
        Self {
            document: export,
            held,
            ccpa,
        }
    }

    /// `personal-data.json`, pretty-printed.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            filename: EXPORT_FILENAME.to_owned(),
            content_type: EXPORT_CONTENT_TYPE.to_owned(),
            // Serialising a `Value` cannot fail (its keys are strings).
            content: serde_json::to_vec_pretty(&self.document).unwrap_or_default(),
        }
    }

    /// How many items of each register category it holds (`None`: of no category).
    pub fn counts(&self) -> Vec<(Option<CategoryId>, usize)> {
        self.held
            .iter()
            .map(|(key, n)| (key.and_then(CategoryKey::id), *n))
            .collect()
    }

    /// The same, its summary counting `counts` (an export too large to mail,
    /// counted in runs: only its summary is mailed).
    #[must_use]
    pub fn with_counts(mut self, counts: &[(Option<CategoryId>, usize)]) -> Self {
        self.held = counts.iter().map(|(id, n)| (id.map(CategoryKey::of), *n)).collect();
        self
    }

    /// How many items the export holds.
    pub fn items(&self) -> usize {
        self.held.values().sum()
    }

    /// The mail with the summary in its body and the data attached.
    pub fn mail(&self, register: &Register, to: &EmailAddress, request: &DataSubjectRequest) -> Mail {
        let intro = vec![
            format!(
                "Here is a copy of the personal data {} holds about you, as you asked (reference {}).",
                register.document().controller.name,
                request.request_id
            ),
            format!(
                "The data itself is in the attached file {EXPORT_FILENAME}: a machine-readable copy (JSON) that you can \
                 open with any text editor, keep, or give to another service (GDPR Art. 20). Below is what it holds, \
                 and what the law says you should know about it."
            ),
        ];
        let mut mail = self.summary_mail(register, to, "Your personal data", intro);
        mail.attachments.push(self.attachment());
        mail
    }

    /// The mail for an export too large to attach: the summary, and how and
    /// by when the file reaches the person.
    pub fn deferred_mail(
        &self,
        register: &Register,
        to: &EmailAddress,
        request: &DataSubjectRequest,
        bytes: usize,
    ) -> Mail {
        let intro = vec![
            format!(
                "We have gathered the personal data {} holds about you, as you asked (reference {}).",
                register.document().controller.name,
                request.request_id
            ),
            format!(
                "The machine-readable copy ({EXPORT_FILENAME}, {} KiB) is larger than we can safely send by e-mail. \
                 Our privacy team will deliver it to you by another secure channel by {}, the deadline for your \
                 request, and will write to this address to arrange it. Below is what it holds, and what the law \
                 says you should know about it.",
                bytes.div_ceil(1024),
                request.due_on
            ),
        ];
        self.summary_mail(register, to, "Your personal data: how you will receive it", intro)
    }

    fn summary_mail(&self, register: &Register, to: &EmailAddress, subject: &str, intro: Vec<String>) -> Mail {
        let mut sections = vec![Section::prose("", intro)];
        sections.extend(self.sections(register));
        Mail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: render_text(&sections),
            html: render_html(&sections),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    /// The readable summary: categories held and Art. 15(1)'s information.
    fn sections(&self, register: &Register) -> Vec<Section> {
        let document = register.document();
        let described: Vec<&ProcessingCategory> = self
            .held
            .keys()
            .filter_map(|key| key.and_then(CategoryKey::id))
            .map(|id| register.category(id))
            .collect();
        let count = |n: usize| {
            if n == 1 {
                "1 item".to_owned()
            } else {
                format!("{n} items")
            }
        };
        let mut held: Vec<String> = self
            .held
            .iter()
            .map(|(key, n)| {
                let name = key
                    .and_then(CategoryKey::id)
                    .map_or("Other records", |id| register.category(id).name.as_str());
                format!("{name}: {}", count(*n))
            })
            .collect();
        if held.is_empty() {
            held.push("Nothing: we hold no personal data about you.".to_owned());
        }
        let per_category = |line: &dyn Fn(&ProcessingCategory) -> String| -> Vec<String> {
            described.iter().map(|c| format!("{}: {}", c.name, line(c))).collect()
        };
        let recipients: Vec<String> = recipients_of(register, &described)
            .iter()
            .map(|r| format!("{} ({}; {})", r.name, r.role, r.location))
            .collect();
        let authority = &document.supervisory_authority;
        let mut sections = vec![
            Section::list("What we hold about you", held),
            Section::list(
                "Why we process it, and on what legal basis",
                per_category(&|c| format!("{} Legal basis: {}.", c.purpose, c.lawful_basis.reference)),
            ),
            Section::list("Who receives it", recipients).with_note(document.transfers.clone()),
            Section::list("How long we keep it", per_category(&|c| c.retention_text.clone())),
            Section::list("Where it came from", per_category(&|c| c.source.clone())),
            Section::prose("Automated decisions", vec![document.automated_decision_making.clone()]),
            Section::list("Your rights", document.rights.clone()),
            Section::prose(
                "Your right to complain",
                vec![format!("{} {} ({})", authority.right, authority.name, authority.url)],
            ),
        ];
        if self.ccpa {
            sections.push(self.ccpa_section(register, &described));
        }
        let controller = &document.controller;
        sections.push(Section::prose(
            "Who is responsible",
            vec![format!(
                "{}, {}. Contact: {}.",
                controller.name, controller.address, controller.contact
            )],
        ));
        sections
    }

    fn ccpa_section(&self, register: &Register, described: &[&ProcessingCategory]) -> Section {
        let document = register.document();
        let mut items: Vec<String> = described
            .iter()
            .map(|c| {
                format!(
                    "{} ({}). Source: {} Business purpose: {}",
                    c.ccpa_category, c.name, c.source, c.purpose
                )
            })
            .collect();
        let disclosed = person_disclosures(register, described);
        if disclosed.is_empty() {
            items.push("Disclosed for a business purpose in the last 12 months: none.".to_owned());
        }
        for (category, recipients) in disclosed {
            let names: Vec<&str> = recipients.iter().map(|r| r.name.as_str()).collect();
            items.push(format!(
                "Disclosed for a business purpose in the last 12 months: {category}, to {}.",
                names.join(", ")
            ));
        }
        let sold = if document.ccpa.sells_personal_information {
            "We sell personal information"
        } else {
            "We do not sell your personal information"
        };
        let shared = if document.ccpa.shares_for_cross_context_behavioral_advertising {
            "share it for cross-context behavioural advertising"
        } else {
            "do not share it for cross-context behavioural advertising"
        };
        Section::list("California (CCPA/CPRA)", items).with_note(format!("{sold}, and {shared}."))
    }
}

/// The register's recipients of the categories described, in register order.
fn recipients_of<'r>(register: &'r Register, described: &[&ProcessingCategory]) -> Vec<&'r crate::register::Recipient> {
    let wanted: BTreeSet<&str> = described
        .iter()
        .flat_map(|c| c.recipients.iter().map(String::as_str))
        .collect();
    register
        .document()
        .recipients
        .iter()
        .filter(|recipient| wanted.contains(recipient.id.as_str()))
        .collect()
}

/// The register's CCPA disclosures of the categories this person has items
/// in, each with its recipients.
fn person_disclosures<'r>(
    register: &'r Register,
    described: &[&ProcessingCategory],
) -> Vec<(&'r str, Vec<&'r crate::register::Recipient>)> {
    let held: BTreeSet<&str> = described.iter().map(|c| c.ccpa_category.as_str()).collect();
    let document = register.document();
    document
        .ccpa
        .disclosed_for_business_purpose_last_12_months
        .iter()
        .filter(|disclosure| held.contains(disclosure.category.as_str()))
        .map(|disclosure| {
            let recipients = document
                .recipients
                .iter()
                .filter(|recipient| disclosure.recipients.contains(&recipient.id))
                .collect();
            (disclosure.category.as_str(), recipients)
        })
        .collect()
}

/// The `ccpa` part of the export (Cal. Civ. Code §§ 1798.110, 1798.115).
fn ccpa_disclosures(register: &Register, described: &[&ProcessingCategory]) -> Value {
    let notice = &register.document().ccpa;
    let mut collected: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for category in described {
        let (sources, purposes) = collected.entry(category.ccpa_category.as_str()).or_default();
        if !sources.contains(&category.source.as_str()) {
            sources.push(&category.source);
        }
        if !purposes.contains(&category.purpose.as_str()) {
            purposes.push(&category.purpose);
        }
    }
    json!({
        "categories_collected": collected.iter().map(|(category, (sources, purposes))| json!({
            "category": category, "sources": sources, "business_purposes": purposes,
        })).collect::<Vec<_>>(),
        "disclosed_for_business_purpose_last_12_months": person_disclosures(register, described).iter().map(|(category, recipients)| json!({
            "category": category,
            "recipients": recipients.iter().map(|r| json!({"id": r.id, "name": r.name, "role": r.role})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "sells_personal_information": notice.sells_personal_information,
        "shares_for_cross_context_behavioral_advertising": notice.shares_for_cross_context_behavioral_advertising,
    })
}

/// One part of the summary: a heading, paragraphs or a list, and a note.
struct Section {
    heading: &'static str,
    paragraphs: Vec<String>,
    items: Vec<String>,
    note: Option<String>,
}

impl Section {
    fn prose(heading: &'static str, paragraphs: Vec<String>) -> Self {
        Self {
            heading,
            paragraphs,
            items: Vec::new(),
            note: None,
        }
    }

    fn list(heading: &'static str, items: Vec<String>) -> Self {
        Self {
            heading,
            paragraphs: Vec::new(),
            items,
            note: None,
        }
    }

    fn with_note(mut self, note: String) -> Self {
        self.note = Some(note);
        self
    }
}

fn render_text(sections: &[Section]) -> String {
    let mut text = String::new();
    for section in sections {
        if !section.heading.is_empty() {
            text.push_str(section.heading);
            text.push('\n');
        }
        for paragraph in &section.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        for item in &section.items {
            text.push_str("- ");
            text.push_str(item);
            text.push('\n');
        }
        if let Some(note) = &section.note {
            text.push_str(note);
            text.push('\n');
        }
        if !section.items.is_empty() || section.note.is_some() {
            text.push('\n');
        }
    }
    text
}

fn render_html(sections: &[Section]) -> String {
    let mut html = String::from("<!doctype html><html><body>");
    for section in sections {
        if !section.heading.is_empty() {
            html.push_str(&format!("<h2>{}</h2>", escape_html(section.heading)));
        }
        for paragraph in &section.paragraphs {
            html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
        }
        if !section.items.is_empty() {
            html.push_str("<ul>");
            for item in &section.items {
                html.push_str(&format!("<li>{}</li>", escape_html(item)));
            }
            html.push_str("</ul>");
        }
        if let Some(note) = &section.note {
            html.push_str(&format!("<p>{}</p>", escape_html(note)));
        }
    }
    html.push_str("</body></html>");
    html
}
