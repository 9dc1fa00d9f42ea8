//! What the product does for a verified request, where it holds the data.
//! Everything about the person is found with one (paginated) Query on the
//! subject index.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::consent::{ClientContext, ConsentDecision, ConsentId, ConsentLedger, ConsentSource, ConsentState};
use crate::dsr::{
    parse_request, request_key, DataSubjectRequest, DsrError, RequestEvent, RequestStatus, RequestType, Requests,
    REQUEST_ENTITY,
};
use crate::email::EmailAddress;
use crate::export::{PersonalDataExport, EXPORT_FILENAME, MAX_EXPORT_BYTES};
use crate::holds::{holds_among, LegalHold, HOLD_ENTITY};
use crate::mail::{escape_html, Mail};
use crate::newsletter::{ListId, Newsletter, Subscription, SuppressionReason, LISTS};
use crate::register::CategoryId;
use crate::retention::{category_of, change_hold_summary, restamp_person};
use crate::store::{self, Precondition, Query, Record, RecordKey, StoreError, Write};
use crate::subject::SubjectKey;

pub const RESTRICTION_ENTITY: &str = "processing_restriction";

pub fn restriction_key(subject: &SubjectKey) -> RecordKey {
    RecordKey::new(format!("RESTRICTION#{}", subject.as_str()), "RESTRICTION")
}

pub struct Fulfilment<'a> {
    pub(crate) requests: &'a Requests<'a>,
}

/// What an erasure did with one kind of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureLine {
    pub what: String,
    pub count: usize,
    /// `None` when erased; why it was kept otherwise.
    pub kept_because: Option<String>,
}

impl Fulfilment<'_> {
    fn newsletter(&self) -> Newsletter<'_> {
        let requests = self.requests;
        Newsletter {
            store: requests.store,
            mailer: requests.mailer,
            clock: requests.clock,
            register: requests.register,
            secrets: requests.secrets,
            links: requests.links,
        }
    }

    async fn subject_records(&self, subject: &SubjectKey) -> Result<Vec<Record>, StoreError> {
        let now = self.requests.clock.now();
        Ok(store::query_all(self.requests.store, &Query::Subject(subject.clone()))
            .await?
            .into_iter()
            .filter(|record| !record.is_expired(now))
            .collect())
    }

    /// Runs the automatic part of a verified request and records each step.
    pub async fn fulfil(
        &self,
        subject: &SubjectKey,
        mut request: DataSubjectRequest,
        version: u64,
    ) -> Result<DataSubjectRequest, DsrError> {
        let now = self.requests.clock.now();
        request.status = RequestStatus::InProgress;
        request
            .events
            .push(RequestEvent::new("in_progress", now, "system", None));
        let address = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok());
        match request.request_type {
            RequestType::Access | RequestType::Portability | RequestType::Source | RequestType::CcpaKnow => {
                let export = self.export(subject, &request).await?;
                let bytes = export.attachment().content.len();
                let register = self.requests.register;
                if bytes > MAX_EXPORT_BYTES {
                    // Too large for one mail: the team delivers it another way, within the deadline.
                    if let Some(address) = &address {
                        let mail = export.deferred_mail(register, address, &request, bytes);
                        self.requests
                            .outbox()
                            .deliver(mail, "dsr_export_deferred", subject)
                            .await?;
                    }
                    if let Some(team) = self.requests.privacy_team {
                        let mail = self.export_too_large_mail(team, &request, bytes);
                        self.requests.outbox().deliver(mail, "dsr_team_notice", subject).await?;
                    }
                    request.status = RequestStatus::AwaitingTeam;
                    request.events.push(RequestEvent::new(
                        "export_too_large",
                        self.requests.clock.now(),
                        "system",
                        Some(format!(
                            "{EXPORT_FILENAME} is {bytes} bytes, over the {MAX_EXPORT_BYTES} that are mailed; \
                             the team delivers it by another secure channel by {}",
                            request.due_on
                        )),
                    ));
                    tracing::warn!(request_id = %request.request_id, bytes, "export too large to mail; handed to the team");
                } else {
                    if let Some(address) = &address {
                        let mail = export.mail(register, address, &request);
                        self.requests.outbox().deliver(mail, "dsr_export", subject).await?;
                    }
                    self.close(&mut request, "export_sent", Some(format!("{} items", export.items())));
                }
            }
            RequestType::Erasure | RequestType::CcpaDelete => {
                let lines = self.erase(subject, &request).await?;
                if let Some(address) = &address {
                    let mail = self.erasure_mail(address, &request, &lines);
                    self.requests.outbox().deliver(mail, "dsr_erasure", subject).await?;
                }
                let erased: usize = lines
                    .iter()
                    .filter(|line| line.kept_because.is_none())
                    .map(|l| l.count)
                    .sum();
                self.close(&mut request, "erased", Some(format!("{erased} records erased")));
                // The record of the request is kept to demonstrate compliance, without personal data.
                strip_personal_data(&mut request);
            }
            RequestType::Rectification | RequestType::CcpaCorrect => {
                let corrected = self.rectify(subject, &request).await?;
                if corrected.is_empty() {
                    // Nothing the product holds was corrected: a person must
                    // look at it (other systems, or what the details ask for).
                    let note = if request.corrections.is_none() {
                        "no corrections given: the team reads the details and corrects what they ask for"
                    } else {
                        "this product holds nothing the corrections apply to: the team corrects them where the data is held"
                    };
                    request.status = RequestStatus::AwaitingTeam;
                    request.events.push(RequestEvent::new(
                        "needs_team",
                        self.requests.clock.now(),
                        "system",
                        Some(note.to_owned()),
                    ));
                } else {
                    if let Some(address) = &address {
                        let mail = self.simple_mail(
                            address,
                            "Your data was corrected",
                            &format!(
                                "We corrected: {}. Reference {}.",
                                corrected.join(", "),
                                request.request_id
                            ),
                        );
                        self.requests.outbox().deliver(mail, "dsr_rectified", subject).await?;
                    }
                    self.close(&mut request, "rectified", Some(corrected.join(", ")));
                }
            }
            RequestType::Restriction | RequestType::Objection => {
                self.restrict(subject, &request).await?;
                request.status = RequestStatus::AwaitingTeam;
                // An objection to processing: restricted while the team weighs
                // it against our legitimate grounds (Art. 18(1)(d), 21(1)).
                let note = (request.request_type == RequestType::Objection)
                    .then(|| "restricted while the team weighs the objection (GDPR Art. 18(1)(d), 21(1))".to_owned());
                request.events.push(RequestEvent::new(
                    "restricted",
                    self.requests.clock.now(),
                    "system",
                    note,
                ));
            }
            RequestType::CcpaOptOut => {
                self.opt_out_of_marketing(subject, &mut request).await?;
                self.close(&mut request, "completed", None);
            }
        }
        self.requests.save(subject, &request, version).await?;
        tracing::info!(request_id = %request.request_id, status = request.status.as_str(), "request fulfilment recorded");
        Ok(request)
    }

    fn close(&self, request: &mut DataSubjectRequest, event: &str, note: Option<String>) {
        let now = self.requests.clock.now();
        request.events.push(RequestEvent::new(event, now, "system", note));
        request.status = RequestStatus::Completed;
        request.closed_at = Some(now);
        request.events.push(RequestEvent::new("completed", now, "system", None));
    }

    /// Every record about the person as structured JSON, with the
    /// supplementary information of GDPR Art. 15(1)(a)–(h) from the register
    /// (see [`PersonalDataExport`]).
    pub async fn export(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
    ) -> Result<PersonalDataExport, StoreError> {
        let records = self.subject_records(subject).await?;
        Ok(PersonalDataExport::build(
            self.requests.register,
            request,
            &records,
            self.requests.clock.now(),
        ))
    }

    /// Erases every record about the person except what a legal hold covers,
    /// the suppression entry (which keeps an opt-out honoured and holds no
    /// address) and the records of requests (kept without address and name).
    pub async fn erase(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
    ) -> Result<Vec<ErasureLine>, DsrError> {
        let now = self.requests.clock.now();
        let records = self.subject_records(subject).await?;
        let holds: Vec<LegalHold> = holds_among(&records, now);
        let mut lines: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
        let mut doomed = Vec::new();
        let mut minimise = Vec::new();
        let mut evidence = Vec::new();
        let mut confirmed_subscriber = false;
        for record in &records {
            let category = category_of(record);
            let name = category.map_or_else(
                || record.entity.clone(),
                |c| self.requests.register.category(c).name.clone(),
            );
            let kept = if record.entity == HOLD_ENTITY {
                Some(format!(
                    "a legal hold in force on your data ({})",
                    hold_grounds(category)
                ))
            } else if let Some(hold) = holds.iter().find(|hold| category.is_some_and(|c| hold.covers(c, now))) {
                Some(format!(
                    "legal hold until {}: {} ({})",
                    hold.until,
                    hold.reason,
                    hold_grounds(Some(hold.category))
                ))
            } else if record.entity == "suppression" {
                Some(SUPPRESSION_KEPT.to_owned())
            } else if record.entity == crate::newsletter::EVIDENCE_ENTITY {
                evidence.push(
                    crate::newsletter::evidence_after_erasure(self.requests.register, record, now)
                        .map_err(|error| DsrError::Corrupt(error.to_string()))?,
                );
                Some("the proof of your newsletter opt-in, kept 3 years after the subscription ends to demonstrate consent (GDPR Art. 7(1), 17(3)(e)); it holds no address".to_owned())
            } else if record.entity == RESTRICTION_ENTITY {
                Some("your restriction of processing stays in force until our team has decided on it (GDPR Art. 18(1) and (3))".to_owned())
            } else if record.entity == REQUEST_ENTITY {
                if record.key != request_key(&request.request_id) {
                    minimise.push(record.clone());
                }
                Some(REQUESTS_KEPT.to_owned())
            } else {
                None
            };
            if kept.is_none()
                && record.entity == "newsletter_subscription"
                && record.attributes.get("status").and_then(Value::as_str) == Some("confirmed")
            {
                confirmed_subscriber = true;
            }
            if kept.is_none() {
                doomed.push(record.key.clone());
            }
            *lines.entry((name, kept)).or_default() += 1;
        }
        // A confirmed subscriber stays suppressed, so that nobody subscribes them
        // again but their own new double opt-in.
        if confirmed_subscriber
            && self
                .newsletter()
                .suppress(subject, SuppressionReason::Erasure)
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?
        {
            let name = self.requests.register.category(CategoryId::Suppression).name.clone();
            *lines.entry((name, Some(SUPPRESSION_KEPT.to_owned()))).or_default() += 1;
        }
        self.requests.store.delete_all(&doomed).await?;
        for record in evidence {
            let precondition = Precondition::Version(record.version - 1);
            match store::put(self.requests.store, record, precondition).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        for record in minimise {
            let mut earlier = parse_request(&record)?;
            strip_personal_data(&mut earlier);
            let mut rewritten = record.clone();
            rewritten.version += 1;
            rewritten.attributes = crate::dsr::to_attributes(&earlier);
            match store::put(self.requests.store, rewritten, Precondition::Version(record.version)).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        tracing::info!(request_id = %request.request_id, erased = doomed.len(), "erasure carried out");
        Ok(lines
            .into_iter()
            .map(|((what, kept_because), count)| ErasureLine {
                what,
                count,
                kept_because,
            })
            .collect())
    }

    /// Applies corrections to what the product holds: the name and address of
    /// newsletter subscriptions. Returns the fields corrected.
    async fn rectify(&self, subject: &SubjectKey, request: &DataSubjectRequest) -> Result<Vec<String>, DsrError> {
        let Some(corrections) = &request.corrections else {
            return Ok(Vec::new());
        };
        let new_address = corrections
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("corrections.email", email).ok());
        let mut corrected = Vec::new();
        for record in self.subject_records(subject).await? {
            if record.entity != "newsletter_subscription" {
                continue;
            }
            let mut subscription: Subscription = serde_json::from_value(Value::Object(record.attributes.clone()))
                .map_err(|error| DsrError::Corrupt(crate::store::decode_failure(&error)))?;
            if let Some(name) = &corrections.name {
                subscription.name = Some(name.clone());
                push_once(&mut corrected, "subscriber name");
            }
            let mut moved = record.clone();
            moved.version += 1;
            let mut writes = Vec::new();
            if let Some(address) = &new_address {
                // A new address is a new subject key: the subscription moves with it.
                let new_subject = self.requests.subject_of(address);
                subscription.email = address.as_str().to_owned();
                moved.key = RecordKey::new(format!("NEWSLETTER#{}", new_subject.as_str()), record.key.sort.clone());
                moved.subject = Some(new_subject);
                moved.version = 1;
                writes.push(Write::Delete {
                    key: record.key.clone(),
                    precondition: Precondition::Version(record.version),
                });
                push_once(&mut corrected, "subscriber address");
            }
            moved.attributes = crate::dsr::to_attributes(&subscription);
            let precondition = if new_address.is_some() {
                Precondition::Absent
            } else {
                Precondition::Version(record.version)
            };
            writes.push(Write::Put {
                record: moved,
                precondition,
            });
            self.requests.store.write(writes).await?;
        }
        Ok(corrected)
    }

    /// Flags the person restricted: no mail but what their requests need, and
    /// none of their data deleted while it lasts (GDPR Art. 18(1)(b)-(c)):
    /// their records lose their expiry until the restriction is lifted.
    async fn restrict(&self, subject: &SubjectKey, request: &DataSubjectRequest) -> Result<(), StoreError> {
        let now = self.requests.clock.now();
        let mut record = Record::new(restriction_key(subject), RESTRICTION_ENTITY);
        record.subject = Some(subject.clone());
        record.attributes = crate::dsr::to_attributes(&json!({
            "request_id": request.request_id, "since": now
        }));
        let write = Write::Put {
            record,
            precondition: Precondition::None,
        };
        change_hold_summary(
            self.requests.store,
            subject,
            now,
            |summary| summary.restricted = true,
            vec![write],
        )
        .await?;
        restamp_person(self.requests.store, self.requests.register, subject, now).await?;
        Ok(())
    }

    /// Objection to marketing / CCPA opt-out: unsubscribe, suppress, and
    /// record marketing consent false for every linked consent id.
    pub async fn opt_out_of_marketing(
        &self,
        subject: &SubjectKey,
        request: &mut DataSubjectRequest,
    ) -> Result<(), DsrError> {
        let newsletter = self.newsletter();
        for list in LISTS {
            newsletter
                .end_subscription(
                    subject,
                    &ListId::parse("list", list).map_err(|e| DsrError::Corrupt(e.message))?,
                    SuppressionReason::Objection,
                )
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?;
        }
        let ledger = ConsentLedger {
            store: self.requests.store,
            clock: self.requests.clock,
            register: self.requests.register,
        };
        let mut consent_ids: Vec<ConsentId> = self
            .subject_records(subject)
            .await?
            .iter()
            .filter(|record| record.entity == "consent_state")
            .filter_map(|record| serde_json::from_value::<ConsentState>(Value::Object(record.attributes.clone())).ok())
            .map(|state| state.consent_id)
            .collect();
        if let Some(id) = request.consent_id.filter(|id| !consent_ids.contains(id)) {
            consent_ids.push(id);
        }
        let mut withdrawn = 0;
        for consent_id in consent_ids {
            let Ok(state) = ledger.current(consent_id).await else {
                continue;
            };
            if !state.categories.marketing {
                continue;
            }
            let mut categories = state.categories;
            categories.marketing = false;
            let decision = ConsentDecision {
                consent_id: Some(consent_id),
                policy_version: state.policy_version.clone(),
                categories,
                source: ConsentSource::Api,
                language: None,
                notice_sha256: None,
            };
            ledger
                .record(decision, &ClientContext::default())
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?;
            ledger
                .link_subject(consent_id, subject)
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?;
            withdrawn += 1;
        }
        request.events.push(RequestEvent::new(
            "marketing_stopped",
            self.requests.clock.now(),
            "system",
            Some(format!(
                "unsubscribed and suppressed; marketing consent withdrawn on {withdrawn} consent ids"
            )),
        ));
        Ok(())
    }

    fn simple_mail(&self, to: &EmailAddress, subject: &str, text: &str) -> Mail {
        Mail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: format!("{text}\n"),
            html: format!("<!doctype html><html><body><p>{}</p></body></html>", escape_html(text)),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    /// Tells the team that an export must reach the person another way. No
    /// personal data: the reference finds the request.
    fn export_too_large_mail(&self, team: &EmailAddress, request: &DataSubjectRequest, bytes: usize) -> Mail {
        self.simple_mail(
            team,
            &format!(
                "Export too large to mail: request {} due {}",
                request.request_id, request.due_on
            ),
            &format!(
                "The export for request {} ({}) is {bytes} bytes, more than the {MAX_EXPORT_BYTES} we mail as an \
                 attachment. The requester was sent the summary and told that we deliver {EXPORT_FILENAME} by \
                 another secure channel by {}. The request waits in the queue as awaiting_team.",
                request.request_id,
                request.request_type.as_str(),
                request.due_on
            ),
        )
    }

    fn erasure_mail(&self, to: &EmailAddress, request: &DataSubjectRequest, lines: &[ErasureLine]) -> Mail {
        let erased: Vec<String> = lines
            .iter()
            .filter(|line| line.kept_because.is_none())
            .map(|line| format!("- {} ({})", line.what, line.count))
            .collect();
        let kept: Vec<String> = lines
            .iter()
            .filter_map(|line| {
                Some(format!(
                    "- {} ({}): {}",
                    line.what,
                    line.count,
                    line.kept_because.as_ref()?
                ))
            })
            .collect();
        let text = format!(
            "Your data is erased (reference {}).\n\nErased:\n{}\n\nKept, and why:\n{}\n",
            request.request_id,
            if erased.is_empty() {
                "- nothing was held".to_owned()
            } else {
                erased.join("\n")
            },
            if kept.is_empty() {
                "- nothing".to_owned()
            } else {
                kept.join("\n")
            },
        );
        Mail {
            to: to.clone(),
            subject: "Your data is erased".to_owned(),
            html: format!(
                "<!doctype html><html><body><pre>{}</pre></body></html>",
                escape_html(&text)
            ),
            text,
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }
}

/// The template of the notice sent before a restriction is lifted.
pub const RESTRICTION_LIFTED_TEMPLATE: &str = "dsr_restriction_lifted";

impl Requests<'_> {
    /// The privacy team lifts the restriction a request put in place: the
    /// person is told first (Art. 18(3)), through the durable outbox, then the
    /// restriction goes, the person's records get the register's expiry back,
    /// and the request records who lifted it and why. Only for a restriction
    /// (or an objection waiting for the team) whose restriction is in force:
    /// `NotRestricted` otherwise.
    pub async fn lift_restriction(
        &self,
        request_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<DataSubjectRequest, DsrError> {
        let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
        let request = parse_request(&stored)?;
        if request.status == RequestStatus::AwaitingVerification {
            return Err(DsrError::NotFound);
        }
        let subject = stored
            .subject
            .clone()
            .ok_or_else(|| DsrError::Corrupt("a request without subject".into()))?;
        let restricting = match request.request_type {
            RequestType::Restriction => true,
            RequestType::Objection => request.status == RequestStatus::AwaitingTeam,
            _ => false,
        };
        let now = self.clock.now();
        if !restricting || !is_restricted(self.store, &subject, now).await? {
            return Err(DsrError::NotRestricted);
        }
        if let Some(address) = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok())
        {
            let text = format!(
                "The restriction of processing of your personal data that you asked for (reference {}) will now be \
                 lifted (GDPR Art. 18(3)). The reason: {reason}\n\nFrom now on your data is processed and kept as our \
                 privacy policy says. You may object to the processing (Art. 21) or complain to the supervisory \
                 authority, IMY (https://www.imy.se).",
                request.request_id
            );
            let mail = Mail {
                to: address,
                subject: "The restriction of your data will be lifted".to_owned(),
                html: format!("<!doctype html><html><body><p>{}</p></body></html>", escape_html(&text)),
                text: format!("{text}\n"),
                list_unsubscribe: None,
                attachments: Vec::new(),
            };
            self.outbox()
                .deliver(mail, RESTRICTION_LIFTED_TEMPLATE, &subject)
                .await?;
        }
        let write = Write::Delete {
            key: restriction_key(&subject),
            precondition: Precondition::Present,
        };
        match change_hold_summary(
            self.store,
            &subject,
            now,
            |summary| summary.restricted = false,
            vec![write],
        )
        .await
        {
            // Lifted meanwhile: the records are re-stamped below all the same.
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error.into()),
        }
        restamp_person(self.store, self.register, &subject, now).await?;
        let event = RequestEvent::new("restriction_lifted", now, by, Some(reason.to_owned()));
        let (mut request, mut version) = (request, stored.version);
        for _ in 0..3 {
            request.events.push(event.clone());
            match self.save(&subject, &request, version).await {
                Ok(()) => {
                    tracing::info!(request_id, "restriction lifted by the privacy team");
                    return Ok(request);
                }
                Err(DsrError::Store(StoreError::Conflict)) => {
                    let fresh = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
                    request = parse_request(&fresh)?;
                    version = fresh.version;
                }
                Err(error) => return Err(error),
            }
        }
        Err(DsrError::Contended)
    }
}

/// Removes from a request record what identifies the person or what they
/// wrote: address, name, details, corrections and the consent link. What
/// stays (type, jurisdiction, dates, events, outcome) shows how the request
/// was handled (GDPR Art. 5(2)).
fn strip_personal_data(request: &mut DataSubjectRequest) {
    request.email = None;
    request.name = None;
    request.details = None;
    request.corrections = None;
    request.consent_id = None;
}

/// Why held data is kept after an erasure: a legal obligation, or legal
/// claims (GDPR Art. 17(3)(b) and (e)).
const HOLD_GROUNDS: &str = "GDPR Art. 17(3)(b) and (e)";
/// Bookkeeping records: Bokföringslagen (1999:1078) 7 kap. 2 §.
const BOOKKEEPING_GROUNDS: &str = "Bokföringslagen (1999:1078) 7 kap. 2 §; GDPR Art. 17(3)(b)";
const SUPPRESSION_KEPT: &str = "so that we never mail you again: we must be able to honour your objection and \
     opt-out (GDPR Art. 21(3), Art. 17(3)(e)); it holds only a keyed hash, not your address";
const REQUESTS_KEPT: &str = "to show how we handled your requests (GDPR Art. 5(2) and Art. 17(3)(e)); kept without \
     your address, name, details or corrections";

/// The law that makes held data stay: the Bookkeeping Act for invoicing
/// records, otherwise a legal obligation or legal claims.
fn hold_grounds(category: Option<CategoryId>) -> &'static str {
    if category == Some(CategoryId::Invoicing) {
        BOOKKEEPING_GROUNDS
    } else {
        HOLD_GROUNDS
    }
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|existing| existing == item) {
        list.push(item.to_owned());
    }
}

/// Whether a person's processing is restricted (no mail but what their requests need).
pub async fn is_restricted(
    store: &dyn store::RecordStore,
    subject: &SubjectKey,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(store
        .get(&restriction_key(subject))
        .await?
        .is_some_and(|record| !record.is_expired(now)))
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::dsr::Submission;
    use crate::mail::RecordingMailer;
    use crate::memory::MemoryStore;
    use crate::newsletter::{Links, SignUp};
    use crate::register::Register;
    use crate::store::Record;
    use crate::store::RecordStore;
    use crate::subject::Pepper;
    use crate::sweep::{PrivacyTeam, RetentionSweep};
    use crate::tokens::{Secrets, TokenKey};

    /// The register, the export's Art. 15 information and the sweep agree:
    /// change a period in the register and both follow.
    #[tokio::test]
    async fn a_changed_retention_period_reaches_the_export_and_the_sweep() {
        let mut document: Value = serde_json::from_str(include_str!("../register.json")).unwrap();
        let pending = document["categories"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|category| category["id"] == "newsletter_pending")
            .unwrap();
        pending["retention"]["period"] = json!("P20D");
        pending["retention_text"] = json!("20 days unless confirmed.");
        let register = Register::from_json(&document.to_string()).unwrap();

        let store = MemoryStore::new();
        let mailer = RecordingMailer::new();
        let clock = FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap());
        let secrets = Secrets {
            pepper: Pepper::new(vec![5; 32]).unwrap(),
            token_key: TokenKey::new(vec![6; 32]).unwrap(),
        };
        let links = Links::new("https://privacy.example.com");
        let team = EmailAddress::parse("team", "team@example.com").unwrap();
        let ada = EmailAddress::parse("email", "ada@example.com").unwrap();
        let newsletter = Newsletter {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
            secrets: &secrets,
            links: &links,
        };
        let sign_up = SignUp {
            email: ada.clone(),
            name: None,
            list: ListId::default_list(),
            consent_id: None,
            channel: "api",
            ip: None,
            notice: crate::newsletter::NoticeShown::default(),
        };
        newsletter.sign_up(sign_up).await.unwrap();

        // The export explains the pending sign-up with the changed rule.
        let requests = Requests {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
            secrets: &secrets,
            links: &links,
            privacy_team: Some(&team),
        };
        let submission = Submission {
            request_type: RequestType::Access,
            email: ada.clone(),
            name: None,
            jurisdiction: None,
            details: None,
            scope: None,
            corrections: None,
            consent_id: None,
            channel: "api",
            ip: None,
        };
        let submitted = requests.submit(submission).await.unwrap();
        let request = parse_request(&store.get(&request_key(&submitted.request_id)).await.unwrap().unwrap()).unwrap();
        let export = requests
            .fulfilment()
            .export(&newsletter.subject_of(&ada), &request)
            .await
            .unwrap();
        let retention = export.document["article_15"]["d_retention"].as_array().unwrap();
        let pending = retention
            .iter()
            .find(|entry| entry["category"] == "newsletter_pending")
            .unwrap();
        assert_eq!(pending["rule"]["period"], "P20D");
        assert_eq!(pending["retention"], "20 days unless confirmed.");

        // The sweep deletes the sign-up after 20 days, not after the standard 7, and not a day early.
        let privacy_team = PrivacyTeam {
            subject: newsletter.subject_of(&team),
            address: team.clone(),
        };
        let sweep = RetentionSweep {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
            privacy_team: &privacy_team,
        };
        let far = clock.now() + SignedDuration::from_hours(1);
        let signed_up = || {
            store
                .snapshot()
                .iter()
                .any(|record| record.entity == "newsletter_subscription")
        };
        sweep.run("2026-03-08T12:00:01Z".parse().unwrap(), far).await.unwrap();
        assert!(signed_up(), "the standard 7 days no longer apply");
        sweep.run("2026-03-21T11:59:59Z".parse().unwrap(), far).await.unwrap();
        assert!(signed_up(), "not a second early");
        sweep.run("2026-03-21T12:00:00Z".parse().unwrap(), far).await.unwrap();
        assert!(!signed_up(), "gone at 20 days");
    }

    /// Notes, for every mail, whether the person's restriction was still in force when it went out.
    struct RestrictionWitness<'a> {
        store: &'a MemoryStore,
        subject: SubjectKey,
        seen: std::sync::Mutex<Vec<(String, bool)>>,
    }

    #[async_trait::async_trait]
    impl crate::mail::Mailer for RestrictionWitness<'_> {
        async fn send(&self, mail: &Mail) -> Result<crate::mail::MessageId, crate::mail::MailError> {
            let restricted = self.store.get(&restriction_key(&self.subject)).await.unwrap().is_some();
            self.seen.lock().unwrap().push((mail.text.clone(), restricted));
            Ok(crate::mail::MessageId("witnessed".to_owned()))
        }
    }

    #[tokio::test]
    async fn lifting_a_restriction_tells_the_person_first_then_gives_their_records_an_expiry_again() {
        let store = MemoryStore::new();
        let clock = FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap());
        let register = Register::standard().unwrap();
        let secrets = Secrets {
            pepper: Pepper::new(vec![5; 32]).unwrap(),
            token_key: TokenKey::new(vec![6; 32]).unwrap(),
        };
        let links = Links::new("https://privacy.example.com");
        let ada = EmailAddress::parse("email", "ada@example.com").unwrap();
        let subject = SubjectKey::derive(&secrets.pepper, &ada);
        let mailer = RestrictionWitness {
            store: &store,
            subject: subject.clone(),
            seen: std::sync::Mutex::new(Vec::new()),
        };
        let requests = Requests {
            store: &store,
            mailer: &mailer,
            clock: &clock,
            register: &register,
            secrets: &secrets,
            links: &links,
            privacy_team: None,
        };
        let submit = |request_type| Submission {
            request_type,
            email: ada.clone(),
            name: None,
            jurisdiction: None,
            details: None,
            corrections: None,
            consent_id: None,
            scope: None,
            channel: "api",
            ip: None,
        };
        let restriction = requests.submit(submit(RequestType::Restriction)).await.unwrap();
        let access = requests.submit(submit(RequestType::Access)).await.unwrap();
        for submitted in [&restriction, &access] {
            let stored = store.get(&request_key(&submitted.request_id)).await.unwrap().unwrap();
            // As `verify` leaves it: verified, kept until it closes.
            let mut request = parse_request(&stored).unwrap();
            request.status = RequestStatus::Verified;
            let mut verified = stored.clone();
            verified.attributes = crate::dsr::to_attributes(&request);
            (verified.expires_at, verified.due, verified.version) = (None, None, stored.version + 1);
            store::put(&store, verified, Precondition::Version(stored.version))
                .await
                .unwrap();
            requests
                .fulfilment()
                .fulfil(&subject, request, stored.version + 1)
                .await
                .unwrap();
        }
        assert!(is_restricted(&store, &subject, clock.now()).await.unwrap());
        let mut receipt = Record::new(RecordKey::new("CONSENT#x", "RECEIPT#0000000001"), "consent_receipt");
        receipt.subject = Some(subject.clone());
        receipt
            .attributes
            .insert("recorded_at".to_owned(), json!("2026-02-01T10:00:00Z"));
        register.stamp(
            &mut receipt,
            CategoryId::ConsentRecords,
            "2026-02-01T10:00:00Z".parse().unwrap(),
        );
        let registers = (receipt.expires_at, receipt.due);
        store::put(&store, receipt.clone(), Precondition::Absent).await.unwrap();
        crate::retention::restamp_person(&store, &register, &subject, clock.now())
            .await
            .unwrap();
        assert_eq!(
            store.get(&receipt.key).await.unwrap().unwrap().expires_at,
            None,
            "no expiry while restricted"
        );

        assert!(matches!(
            requests.lift_restriction(&access.request_id, "x", "sub-1").await,
            Err(DsrError::NotRestricted)
        ));
        let lifted = requests
            .lift_restriction(&restriction.request_id, "Accuracy verified", "sub-1")
            .await
            .unwrap();
        let last = lifted.events.last().unwrap();
        assert_eq!((last.event.as_str(), last.by.as_str()), ("restriction_lifted", "sub-1"));
        let notices: Vec<bool> = mailer
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(text, _)| text.contains("will now be lifted"))
            .map(|(_, restricted)| *restricted)
            .collect();
        assert_eq!(
            notices,
            vec![true],
            "one notice, sent while the restriction was still in force"
        );
        assert!(!is_restricted(&store, &subject, clock.now()).await.unwrap());
        let restored = store.get(&receipt.key).await.unwrap().unwrap();
        assert_eq!(
            (restored.expires_at, restored.due),
            registers,
            "the register's expiry again"
        );
        assert!(matches!(
            requests.lift_restriction(&restriction.request_id, "x", "sub-1").await,
            Err(DsrError::NotRestricted)
        ));
    }

    struct Fixture {
        store: MemoryStore,
        mailer: RecordingMailer,
        clock: FixedClock,
        register: Register,
        secrets: Secrets,
        links: Links,
        team: EmailAddress,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                store: MemoryStore::new(),
                mailer: RecordingMailer::new(),
                clock: FixedClock::new("2027-03-10T09:00:00Z".parse().unwrap()),
                register: Register::standard().unwrap(),
                secrets: Secrets {
                    pepper: Pepper::new(vec![7; 32]).unwrap(),
                    token_key: TokenKey::new(vec![8; 32]).unwrap(),
                },
                links: Links::new("https://privacy.example.com"),
                team: EmailAddress::parse("team", "team@example.com").unwrap(),
            }
        }

        fn ada() -> EmailAddress {
            EmailAddress::parse("email", "ada@example.com").unwrap()
        }

        fn requests(&self) -> Requests<'_> {
            Requests {
                store: &self.store,
                mailer: &self.mailer,
                clock: &self.clock,
                register: &self.register,
                secrets: &self.secrets,
                links: &self.links,
                privacy_team: Some(&self.team),
            }
        }

        fn newsletter(&self) -> Newsletter<'_> {
            Newsletter {
                store: &self.store,
                mailer: &self.mailer,
                clock: &self.clock,
                register: &self.register,
                secrets: &self.secrets,
                links: &self.links,
            }
        }

        fn submission(kind: RequestType) -> Submission {
            Submission {
                request_type: kind,
                email: Self::ada(),
                name: None,
                jurisdiction: None,
                details: None,
                corrections: None,
                consent_id: None,
                scope: None,
                channel: "api",
                ip: None,
            }
        }

        /// Submits and verifies; returns the request as stored afterwards.
        async fn verified(&self, submission: Submission) -> DataSubjectRequest {
            // One verification mail per address per 10 minutes.
            self.clock.advance(jiff::SignedDuration::from_mins(11));
            let submitted = self.requests().submit(submission).await.unwrap();
            let mail = self.mailer.sent_to(&Self::ada()).pop().unwrap();
            let start = mail.text.find("/dsr/verify?token=").unwrap() + "/dsr/verify?token=".len();
            let token = mail.text[start..].split_whitespace().next().unwrap().to_owned();
            self.requests().verify(&token).await.unwrap();
            self.stored_request(&submitted.request_id).await
        }

        async fn stored_request(&self, request_id: &str) -> DataSubjectRequest {
            parse_request(&self.store.get(&request_key(request_id)).await.unwrap().unwrap()).unwrap()
        }

        async fn customer(&self) {
            let name = crate::person::PersonName::parse("name", "Ada Lovelace").unwrap();
            self.newsletter()
                .subscribe_customer(&Self::ada(), Some(name), &ListId::default_list())
                .await
                .unwrap();
        }

        fn mail_titled(&self, subject: &str) -> Mail {
            self.mailer
                .sent()
                .into_iter()
                .find(|mail| mail.subject == subject)
                .unwrap_or_else(|| panic!("a mail titled {subject:?}"))
        }
    }

    fn attached_export(mail: &Mail) -> Value {
        assert_eq!(mail.attachments.len(), 1, "one attachment");
        let attachment = &mail.attachments[0];
        assert_eq!(attachment.filename, "personal-data.json");
        assert_eq!(attachment.content_type, "application/json");
        serde_json::from_slice(&attachment.content).expect("the attachment is JSON")
    }

    #[tokio::test]
    async fn an_access_export_is_a_json_attachment_with_a_readable_summary() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let request = fixture.verified(Fixture::submission(RequestType::Access)).await;
        assert_eq!(request.status, RequestStatus::Completed);

        let mail = fixture.mail_titled("Your personal data");
        let export = attached_export(&mail);
        assert!(
            !mail.text.contains("BEGIN PERSONAL DATA"),
            "the data is not in the body"
        );
        let items = export["personal_data"].as_array().unwrap();
        let subscription = items
            .iter()
            .find(|item| item["entity"] == "newsletter_subscription")
            .expect("the subscription");
        assert_eq!(subscription["record"]["email"], "ada@example.com");
        assert_eq!(subscription["category"], "newsletter_subscribed");
        assert_eq!(subscription["category_name"], "Newsletter subscriptions");
        for item in items {
            assert!(item["category"].is_string(), "every item names its category: {item}");
            assert!(item.get("ccpa").is_none(), "no CCPA fields for a GDPR access request");
        }
        assert!(export.get("ccpa").is_none());
        assert_eq!(export["article_15"]["f_complaint"]["url"], "https://www.imy.se");

        // The summary: categories with counts, and Art. 15(1)'s information in prose.
        for expected in [
            "personal-data.json",
            // The subscription and its opt-in evidence.
            "Newsletter subscriptions: 2 items",
            "Data subject requests and their handling: 1 item",
            "The subscription until you unsubscribe, then 30 days.",
            "Amazon Web Services EMEA SARL",
            "Automated decisions",
            "No decision based solely on automated processing",
            "Integritetsskyddsmyndigheten (IMY)",
            "https://www.imy.se",
            "access (GDPR Art. 15)",
        ] {
            assert!(
                mail.text.contains(expected),
                "{expected:?} missing from:\n{}",
                mail.text
            );
        }
        assert!(
            mail.html.contains("<li>Newsletter subscriptions: 2 items</li>"),
            "{}",
            mail.html
        );
        assert!(
            !mail.text.contains("Ada Lovelace"),
            "the summary holds no data, only counts"
        );
    }

    #[tokio::test]
    async fn a_ccpa_export_names_ccpa_categories_and_what_was_disclosed_for_this_person() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let request = fixture.verified(Fixture::submission(RequestType::CcpaKnow)).await;
        assert_eq!(request.status, RequestStatus::Completed);
        let mail = fixture.mail_titled("Your personal data");
        let export = attached_export(&mail);
        let subscription = export["personal_data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["entity"] == "newsletter_subscription")
            .unwrap();
        assert_eq!(subscription["ccpa"]["category"], "Identifiers");
        assert_eq!(
            subscription["ccpa"]["source"],
            "You, or our customer records if you are a customer."
        );
        assert_eq!(
            subscription["ccpa"]["business_purpose"],
            fixture.register.category(CategoryId::NewsletterSubscribed).purpose
        );
        // Ada has identifiers only (no consent records, no invoices): only those were disclosed.
        let disclosed = export["ccpa"]["disclosed_for_business_purpose_last_12_months"]
            .as_array()
            .unwrap();
        assert_eq!(disclosed.len(), 1, "{disclosed:?}");
        assert_eq!(disclosed[0]["category"], "Identifiers");
        let recipients: Vec<&str> = disclosed[0]["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(recipients, ["aws", "support"]);
        assert_eq!(export["ccpa"]["sells_personal_information"], false);
        assert!(mail.text.contains("California (CCPA/CPRA)"));
        assert!(mail
            .text
            .contains("Disclosed for a business purpose in the last 12 months: Identifiers, to Amazon Web Services EMEA SARL, Support tooling suppliers."));
        assert!(!mail.text.contains("Commercial information"), "{}", mail.text);

        // A consent record brings its own CCPA category into the person's disclosures;
        // an access request under the CCPA jurisdiction gets the CCPA fields too.
        let ledger = ConsentLedger {
            store: &fixture.store,
            clock: &fixture.clock,
            register: &fixture.register,
        };
        let decision = ConsentDecision {
            consent_id: None,
            policy_version: crate::consent::PolicyVersion::parse("policy_version", "2027-01").unwrap(),
            categories: serde_json::from_value(json!({"necessary": true, "analytics": true, "marketing": false}))
                .unwrap(),
            source: ConsentSource::Banner,
            language: None,
            notice_sha256: None,
        };
        let state = ledger.record(decision, &ClientContext::default()).await.unwrap();
        let subject = fixture.requests().subject_of(&Fixture::ada());
        ledger.link_subject(state.consent_id, &subject).await.unwrap();
        let before = fixture.mailer.sent().len();
        let mut submission = Fixture::submission(RequestType::Access);
        submission.jurisdiction = Some(crate::deadline::Jurisdiction::Ccpa);
        fixture.verified(submission).await;
        let mail = fixture.mailer.sent()[before..]
            .iter()
            .find(|mail| mail.subject == "Your personal data")
            .cloned()
            .unwrap();
        let export = attached_export(&mail);
        let categories: Vec<&str> = export["ccpa"]["disclosed_for_business_purpose_last_12_months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["category"].as_str().unwrap())
            .collect();
        assert_eq!(
            categories,
            [
                "Identifiers",
                "Internet or other electronic network activity information"
            ]
        );
        let receipt = export["personal_data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["entity"] == "consent_receipt")
            .unwrap();
        assert_eq!(
            receipt["ccpa"]["category"],
            "Internet or other electronic network activity information"
        );
    }

    #[tokio::test]
    async fn an_export_too_large_to_mail_goes_to_the_team_and_the_person_is_told_how_and_when() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let subject = fixture.requests().subject_of(&Fixture::ada());
        // Enough consent receipts to pass the limit.
        let filler = "x".repeat(1024);
        for n in 0..(MAX_EXPORT_BYTES / 1024 + 10) {
            let mut record = Record::new(
                RecordKey::new(format!("CONSENT#test-{n}"), "RECEIPT"),
                "consent_receipt",
            );
            record.subject = Some(subject.clone());
            record.attributes = crate::dsr::to_attributes(&json!({"n": n, "filler": filler}));
            store::put(&fixture.store, record, Precondition::Absent).await.unwrap();
        }
        let request = fixture.verified(Fixture::submission(RequestType::Access)).await;
        assert_eq!(request.status, RequestStatus::AwaitingTeam);
        let event = request
            .events
            .iter()
            .find(|event| event.event == "export_too_large")
            .expect("the reason is recorded");
        assert!(event.note.as_deref().unwrap().contains("another secure channel"));
        assert!(
            fixture.mailer.sent().iter().all(|mail| mail.attachments.is_empty()),
            "nothing is attached"
        );
        let told = fixture.mail_titled("Your personal data: how you will receive it");
        assert!(told.text.contains("another secure channel"), "{}", told.text);
        assert!(told.text.contains(&request.due_on.to_string()), "{}", told.text);
        assert!(told.text.contains("Cookie consent records: 266 items"), "{}", told.text);
        let team = fixture
            .mailer
            .sent_to(&fixture.team)
            .into_iter()
            .find(|mail| mail.subject.starts_with("Export too large to mail"))
            .expect("the team is told");
        assert!(team.text.contains(&request.request_id));
        assert!(!team.text.contains("ada@example.com"));
        let queue = fixture
            .requests()
            .queue(Some(RequestStatus::AwaitingTeam), None)
            .await
            .unwrap();
        assert!(queue.iter().any(|entry| entry.request_id == request.request_id));
    }

    #[tokio::test]
    async fn erasure_suppresses_a_confirmed_subscriber_and_request_records_keep_no_personal_data() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let consent_id = ConsentId::generate();
        // An earlier request, never verified, with everything a person can type.
        let mut earlier = Fixture::submission(RequestType::Rectification);
        earlier.name = Some(crate::person::PersonName::parse("name", "Ada Lovelace").unwrap());
        earlier.details = Some("My old name is Ada Byron".to_owned());
        earlier.corrections = Some(serde_json::from_value(json!({"name": "Ada King"})).unwrap());
        earlier.consent_id = Some(consent_id);
        let earlier = fixture.requests().submit(earlier).await.unwrap();
        let mut erasure = Fixture::submission(RequestType::Erasure);
        erasure.name = Some(crate::person::PersonName::parse("name", "Ada Lovelace").unwrap());
        erasure.details = Some("Please forget Ada Byron".to_owned());
        erasure.consent_id = Some(consent_id);
        let erased = fixture.verified(erasure).await;
        assert_eq!(erased.status, RequestStatus::Completed);

        for request in [fixture.stored_request(&earlier.request_id).await, erased] {
            assert_eq!(request.email, None);
            assert_eq!(request.name, None);
            assert_eq!(request.details, None);
            assert!(request.corrections.is_none());
            assert_eq!(request.consent_id, None);
        }
        for record in fixture.store.snapshot() {
            let text = serde_json::to_string(&record.attributes).unwrap();
            for personal in ["ada@example.com", "Ada", "Byron", &consent_id.to_string()] {
                assert!(!text.contains(personal), "{personal} survived in {}", record.entity);
            }
        }

        let subject = fixture.requests().subject_of(&Fixture::ada());
        let suppression = fixture.newsletter().suppression(&subject).await.unwrap();
        assert_eq!(suppression.map(|s| s.reason), Some(SuppressionReason::Erasure));
        let readded = fixture
            .newsletter()
            .subscribe_customer(&Fixture::ada(), None, &ListId::default_list())
            .await;
        assert!(matches!(readded, Err(crate::newsletter::NewsletterError::Suppressed)));

        let reply = fixture.mail_titled("Your data is erased");
        assert!(reply.text.contains("Newsletter subscriptions (1)"), "{}", reply.text);
        assert!(
            reply
                .text
                .contains("Suppression list (1): so that we never mail you again"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("Art. 17(3)(e)"), "{}", reply.text);
        for californian in ["CCR", "CCPA", "California", "Civ. Code", "7101"] {
            assert!(!reply.text.contains(californian), "{californian} in:\n{}", reply.text);
        }

        // Only the person's own new double opt-in lifts it.
        let sign_up = SignUp {
            email: Fixture::ada(),
            name: None,
            list: ListId::default_list(),
            consent_id: None,
            notice: crate::newsletter::NoticeShown::default(),
            channel: "api",
            ip: None,
        };
        fixture.newsletter().sign_up(sign_up).await.unwrap();
        let confirmation = fixture.mailer.sent_to(&Fixture::ada()).pop().unwrap();
        let start = confirmation.text.find("?token=").expect("a confirmation link") + 7;
        let token = confirmation.text[start..].split_whitespace().next().unwrap().to_owned();
        fixture.newsletter().confirm(&token, None).await.unwrap();
        assert!(fixture.newsletter().suppression(&subject).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_erasure_under_a_bookkeeping_hold_cites_the_bookkeeping_act() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let subject = fixture.requests().subject_of(&Fixture::ada());
        let holds = crate::holds::LegalHolds {
            store: &fixture.store,
            clock: &fixture.clock,
            register: &fixture.register,
        };
        holds
            .place(
                &subject,
                CategoryId::Invoicing,
                "2034-12-31T23:00:00Z".parse().unwrap(),
                "Invoices of fiscal year 2027".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        fixture.verified(Fixture::submission(RequestType::CcpaDelete)).await;
        let reply = fixture.mail_titled("Your data is erased");
        assert!(
            reply.text.contains("Bokföringslagen (1999:1078) 7 kap. 2 §"),
            "{}",
            reply.text
        );
        for californian in ["CCR", "CCPA", "California", "7101"] {
            assert!(!reply.text.contains(californian), "{californian} in:\n{}", reply.text);
        }
    }
}
