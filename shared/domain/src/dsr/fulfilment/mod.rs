//! What the product does for a verified request, where it holds the data.
//! Everything about the person is found with one (paginated) Query on the
//! subject index.

mod access;
mod after_systems;
mod erasure;
mod rectification;
mod restriction;

pub use restriction::RESTRICTION_LIFTED_TEMPLATE;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::consent::{consent_partition, linked_consent_ids, ClientContext, ConsentDecision, ConsentId, ConsentSource};
use crate::dsr::export::{PersonalDataExport, EXPORT_FILENAME, MAX_EXPORT_BYTES};
use crate::dsr::{
    parse_request, request_key, token_key, utc_date, DataSubjectRequest, DsrError, RequestEvent, RequestEventKind,
    RequestStatus, RequestType, Requests,
};
use crate::email::EmailAddress;
use crate::holds::keeping::{change_hold_summary, is_restricted, restamp_person, restriction_key};
use crate::holds::{holds_among, LegalHold};
use crate::mail::{escape_html, Mail};
use crate::newsletter::{ListId, Newsletter, Subscription, SuppressionReason, LISTS};
use crate::register::{category_of, entity, CategoryId};
use crate::store::{self, Precondition, Query, Record, RecordKey, StoreError, Write};
use crate::subject::SubjectKey;
use crate::tokens::OneTimeToken;

/// The most deletions and rewrites one scheduled run of an erasure does (in
/// `mail-outbox`, 60 s): 40 batch writes of 25, reading only the consent
/// histories it erases. A larger erasure goes on in the next scheduled run,
/// 10 minutes later. Each run also stops at its invocation's deadline.
pub const ERASURE_WRITES_PER_RUN: usize = 1000;

/// The run inside the verification's own invocation (`dsr-intake`, 30 s,
/// which has verified the token and saved the request before): a small one.
pub const ERASURE_WRITES_IN_VERIFICATION: usize = 200;

/// How long the verification's run may take, whatever its writes.
pub const ERASURE_TIME_IN_VERIFICATION: jiff::SignedDuration = jiff::SignedDuration::from_secs(8);

/// What one run of an erasure may do: at most `writes` deletions and
/// rewrites, and no new work once `deadline` has passed.
#[derive(Debug, Clone, Copy)]
pub struct RunBudget {
    pub writes: usize,
    pub deadline: Timestamp,
}

const CONTINUATION_PARTITION: &str = "FULFILMENT";

fn continuation_key(request_id: &str) -> RecordKey {
    RecordKey::new(CONTINUATION_PARTITION, request_id)
}

/// An erasure that goes on in the next run: the request, its person's key
/// (no address), and how many records of each kind the runs so far erased
/// (what is kept is counted by the last run, which sees it).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Continuation {
    request_id: String,
    subject_key: String,
    #[serde(default)]
    erased: Vec<ErasureLine>,
    /// Set for an export too large to mail, whose summary is counted in runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    export: Option<ExportProgress>,
    /// Set for a request whose tasks have all ended, to be answered and
    /// completed ([`Fulfilment::after_systems`]): written with the last
    /// answer, deleted with the completion, so that a completion that failed
    /// half-way is done by the next scheduled run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    completion: bool,
}

/// Where a request whose every task has ended waits for its completion.
fn completion_key(request_id: &str) -> RecordKey {
    RecordKey::new(CONTINUATION_PARTITION, format!("{request_id}#completion"))
}

/// The write, stored with the last answer of a request's tasks, that lists
/// the request for its completion (no personal data: the request's id and
/// its person's key).
pub(crate) fn completion_due(request_id: &str, subject: &SubjectKey) -> Write {
    let continuation = Continuation {
        request_id: request_id.to_owned(),
        subject_key: subject.as_str().to_owned(),
        erased: Vec::new(),
        export: None,
        completion: true,
    };
    let mut record = Record::new(completion_key(request_id), entity::FULFILMENT_CONTINUATION);
    record.set_body(&continuation);
    Write::Put {
        record,
        precondition: Precondition::None,
    }
}

/// The write that removes a request's listing for its completion.
pub(crate) fn completion_done(request_id: &str) -> Write {
    Write::Delete {
        key: completion_key(request_id),
        precondition: Precondition::None,
    }
}

/// How far the counting of an export too large to mail got: items per
/// register category, the file's size so far, and how many of the person's
/// consent histories (in key order) are counted. No personal data.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ExportProgress {
    counts: Vec<(Option<CategoryId>, usize)>,
    bytes: usize,
    histories_counted: usize,
}

/// The most records of consent histories one scheduled run of an export
/// too large to mail counts.
pub const EXPORT_RECORDS_PER_RUN: usize = 2000;

/// What one run finds: everything indexed under the person, and the consent
/// histories linked to them as far as the run's budget reaches
/// (`complete` when all of them).
struct ErasurePlan {
    lines: BTreeMap<(String, Option<String>), usize>,
    /// Each record to delete, with the name of its kind.
    doomed: Vec<(RecordKey, String)>,
    minimise: Vec<Record>,
    evidence: Vec<Record>,
    confirmed_subscriber: bool,
    complete: bool,
}

fn lines_of(lines: BTreeMap<(String, Option<String>), usize>) -> Vec<ErasureLine> {
    lines
        .into_iter()
        .map(|((what, kept_because), count)| ErasureLine {
            what,
            count,
            kept_because,
        })
        .collect()
}

/// What one run read about a person (see [`Fulfilment::read_person`]).
struct PersonRead {
    indexed: Vec<Record>,
    histories: Vec<Record>,
    /// How many consent histories were read.
    read: usize,
    /// Whether the last of them was.
    complete: bool,
}

pub struct Fulfilment<'a> {
    pub(crate) requests: &'a Requests<'a>,
}

/// A request as a run of the fulfilment read it, at its record's version:
/// what the run's save merges the changes stored since against.
pub(crate) struct AsRead {
    pub(crate) version: u64,
    pub(crate) request: DataSubjectRequest,
}

/// `ours` (a run of the fulfilment, from `base`) with the changes stored
/// since (`theirs`) merged in: every field as the side that changed it, and
/// the events both appended, in the order they were stored. A task's hand-over
/// or answer changes only its summary and adds an event; the team's note or
/// extension changes fields the fulfilment does not. `None` when both
/// changed the same field differently (the team closed the request).
fn merged(
    base: &DataSubjectRequest,
    ours: &DataSubjectRequest,
    theirs: &DataSubjectRequest,
) -> Option<DataSubjectRequest> {
    let appended = |request: &DataSubjectRequest| {
        request
            .events
            .strip_prefix(base.events.as_slice())
            .map(<[RequestEvent]>::to_vec)
    };
    let (their_events, our_events) = (appended(theirs)?, appended(ours)?);
    let fields = |request: &DataSubjectRequest| match serde_json::to_value(request) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("events");
            Some(fields)
        }
        _ => None,
    };
    let (base_fields, our_fields, their_fields) = (fields(base)?, fields(ours)?, fields(theirs)?);
    let names: std::collections::BTreeSet<&String> = base_fields
        .keys()
        .chain(our_fields.keys())
        .chain(their_fields.keys())
        .collect();
    let mut fields = serde_json::Map::new();
    for name in names {
        let (was, mine, stored) = (base_fields.get(name), our_fields.get(name), their_fields.get(name));
        let value = if mine == was {
            stored
        } else if stored == was || stored == mine {
            mine
        } else {
            return None;
        };
        if let Some(value) = value {
            fields.insert(name.clone(), value.clone());
        }
    }
    let mut events = base.events.clone();
    events.extend(their_events);
    events.extend(our_events);
    fields.insert("events".to_owned(), serde_json::to_value(events).ok()?);
    serde_json::from_value(Value::Object(fields)).ok()
}

/// What an erasure did with one kind of record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErasureLine {
    pub what: String,
    pub count: usize,
    /// `None` when erased; why it was kept otherwise.
    pub kept_because: Option<String>,
}

impl Fulfilment<'_> {
    fn newsletter(&self) -> Newsletter<'_> {
        self.requests.newsletter()
    }

    /// Saves what a run of the fulfilment did to the request `as_read`. What
    /// was stored meanwhile (a task handed over or answered, the team's
    /// note) is merged in, not lost, and does not fail the run. When
    /// the last open task ended meanwhile and this product's part is now
    /// done, the request completes here ([`Fulfilment::after_systems`]), and
    /// `request` is as it then stands. Only a change to what the run changed
    /// too (the team closed the request meanwhile) fails it, as a conflict.
    async fn save(
        &self,
        subject: &SubjectKey,
        request: &mut DataSubjectRequest,
        as_read: &AsRead,
    ) -> Result<(), DsrError> {
        let mut version = as_read.version;
        let mut base = std::borrow::Cow::Borrowed(&as_read.request);
        for _ in 0..crate::dsr::ATTEMPTS {
            // Only after a merge: the run itself waits for systems only while a task is open.
            let completes =
                request.own_part_done && request.status == RequestStatus::InProgress && !request.has_open_tasks();
            let also = if completes {
                vec![completion_due(&request.request_id, subject)]
            } else {
                Vec::new()
            };
            match self.requests.save_with_writes(subject, request, version, also).await {
                Ok(()) if completes => {
                    self.after_systems(&request.request_id).await?;
                    let stored = self
                        .requests
                        .live_request(&request.request_id)
                        .await?
                        .ok_or(DsrError::NotFound)?;
                    *request = parse_request(&stored)?;
                    return Ok(());
                }
                Ok(()) => return Ok(()),
                Err(DsrError::Store(StoreError::Conflict)) => {
                    let stored = self
                        .requests
                        .live_request(&request.request_id)
                        .await?
                        .ok_or(DsrError::NotFound)?;
                    let theirs = parse_request(&stored)?;
                    *request = merged(&base, request, &theirs).ok_or(StoreError::Conflict)?;
                    tracing::info!(request_id = %request.request_id, "request changed during its fulfilment; merged");
                    version = stored.version;
                    base = std::borrow::Cow::Owned(theirs);
                }
                Err(error) => return Err(error),
            }
        }
        Err(DsrError::Contended)
    }

    async fn subject_records(&self, subject: &SubjectKey) -> Result<Vec<Record>, StoreError> {
        let now = self.requests.ports.clock.now();
        Ok(store::query_all_in_pages_of(
            self.requests.ports.store,
            &Query::Subject(subject.clone()),
            store::BULK_PAGE_SIZE,
        )
        .await?
        .into_iter()
        .filter(|record| !record.is_expired(now))
        .collect())
    }

    /// The live records about the person that one run reads: those indexed
    /// under their subject key (`indexed`, without those of their consent
    /// histories), and everything recorded under the consent ids linked to
    /// them (receipts are found through the link, not rewritten by it), in
    /// key order from the `skip`-th on, as long as `more` says so of what was
    /// read (at least one history).
    async fn read_person(
        &self,
        subject: &SubjectKey,
        skip: usize,
        mut more: impl FnMut(&[Record]) -> bool,
    ) -> Result<PersonRead, StoreError> {
        let now = self.requests.ports.clock.now();
        let indexed = self.subject_records(subject).await?;
        let linked = linked_consent_ids(&indexed);
        let partitions: std::collections::BTreeSet<String> = linked
            .iter()
            .filter_map(|id| match consent_partition(id) {
                Query::Partition { partition, .. } => Some(partition),
                _ => None,
            })
            .collect();
        let mut histories = Vec::new();
        let mut read = 0;
        for consent_id in linked.iter().skip(skip) {
            if read > 0 && !more(&histories) {
                break;
            }
            let partition = consent_partition(consent_id);
            histories.extend(
                store::query_all_in_pages_of(self.requests.ports.store, &partition, store::BULK_PAGE_SIZE)
                    .await?
                    .into_iter()
                    .filter(|record| !record.is_expired(now)),
            );
            read += 1;
        }
        Ok(PersonRead {
            indexed: indexed
                .into_iter()
                .filter(|record| !partitions.contains(&record.key.partition))
                .collect(),
            histories,
            read,
            complete: skip + read >= linked.len(),
        })
    }

    /// Runs the automatic part of a verified request and records each step.
    pub async fn fulfil(
        &self,
        subject: &SubjectKey,
        mut request: DataSubjectRequest,
        version: u64,
    ) -> Result<DataSubjectRequest, DsrError> {
        let as_read = AsRead {
            version,
            request: request.clone(),
        };
        let now = self.requests.ports.clock.now();
        request.status = RequestStatus::InProgress;
        request
            .events
            .push(RequestEvent::new(RequestEventKind::InProgress, now, "system", None));
        let address = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok());
        // A link mailed once the request is saved, so that it finds the request.
        let mut link_mail = None;
        match request.request_type {
            RequestType::Access | RequestType::Portability | RequestType::Source | RequestType::CcpaKnow => {
                // Read until the export is known to be too large to mail (or all of it is read).
                let mut measured = 0;
                let mut bytes_seen = 0;
                let read = self
                    .read_person(subject, 0, |histories| {
                        bytes_seen += histories[measured..]
                            .iter()
                            .map(|record| serde_json::to_vec(&record.attributes).map_or(0, |json| json.len()))
                            .sum::<usize>();
                        measured = histories.len();
                        bytes_seen <= MAX_EXPORT_BYTES
                    })
                    .await?;
                let mut records = read.indexed;
                records.extend(read.histories);
                let export = PersonalDataExport::build(self.requests.ports.register, &request, &records, now);
                let bytes = export.attachment().content.len();
                if !read.complete {
                    // Too large to mail whatever the rest holds: the scheduled
                    // runs count the rest for the summary, then the team takes over.
                    let progress = ExportProgress {
                        counts: export.counts(),
                        bytes,
                        histories_counted: read.read,
                    };
                    return self.export_continues(subject, request, &as_read, progress).await;
                }
                if request.has_open_tasks() {
                    // The export is mailed once every other system has
                    // answered, with each one's file (`after_systems`).
                    self.await_systems(&mut request, "the export is mailed once every system has answered");
                } else if bytes > MAX_EXPORT_BYTES {
                    self.defer_export(subject, &mut request, &export, bytes).await?;
                } else {
                    if let Some(address) = &address {
                        let mail = export.mail(self.requests.ports.register, address, &request);
                        self.requests.outbox().deliver(mail, "dsr_export", subject).await?;
                    }
                    self.close(
                        &mut request,
                        RequestEventKind::ExportSent,
                        Some(format!("{} items", export.items())),
                    );
                }
            }
            RequestType::Erasure | RequestType::CcpaDelete => {
                let budget = RunBudget {
                    writes: ERASURE_WRITES_IN_VERIFICATION,
                    deadline: now + ERASURE_TIME_IN_VERIFICATION,
                };
                return self.fulfil_erasure(subject, request, &as_read, budget).await;
            }
            RequestType::Rectification | RequestType::CcpaCorrect => {
                let subscriptions = self.subscriptions(subject).await?;
                let corrected = self.correct_names(&subscriptions, &request).await?;
                if let Some(new_address) = self.address_to_confirm(subject, &subscriptions, &request) {
                    // Nothing moves to the new address until its owner follows
                    // its own link: the requester proved only the old one.
                    if !corrected.is_empty() {
                        request.events.push(RequestEvent::new(
                            RequestEventKind::Corrected,
                            self.requests.ports.clock.now(),
                            "system",
                            Some(corrected.join(", ")),
                        ));
                    }
                    link_mail = self.offer_new_address(subject, &mut request, &new_address).await?;
                } else if corrected.is_empty() {
                    // Nothing the product holds was corrected: a person must
                    // look at it (other systems, or what the details ask for).
                    let note = if request.corrections.is_none() {
                        "no corrections given: the team reads the details and corrects what they ask for"
                    } else {
                        "this product holds nothing the corrections apply to: the team corrects them where the data is held"
                    };
                    request.status = RequestStatus::AwaitingTeam;
                    request.events.push(RequestEvent::new(
                        RequestEventKind::NeedsTeam,
                        self.requests.ports.clock.now(),
                        "system",
                        Some(note.to_owned()),
                    ));
                } else {
                    if let Some(address) = &address {
                        let mail = self.simple_mail(
                            address,
                            "Your data was corrected",
                            &format!(
                                "We corrected: {}. Reference {}.{}",
                                corrected.join(", "),
                                request.request_id,
                                self.recipients_line(&request)
                            ),
                        );
                        self.requests.outbox().deliver(mail, "dsr_rectified", subject).await?;
                    }
                    self.close(&mut request, RequestEventKind::Rectified, Some(corrected.join(", ")));
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
                    RequestEventKind::Restricted,
                    self.requests.ports.clock.now(),
                    "system",
                    note,
                ));
            }
            RequestType::CcpaOptOut => {
                self.opt_out_of_marketing(subject, &mut request).await?;
                self.close(&mut request, RequestEventKind::Completed, None);
            }
        }
        self.save(subject, &mut request, &as_read).await?;
        if let Some(mail) = link_mail {
            self.requests
                .outbox()
                .deliver(mail, "dsr_new_address_confirmation", subject)
                .await?;
        }
        tracing::info!(request_id = %request.request_id, status = request.status.as_str(), "request fulfilment recorded");
        Ok(request)
    }

    /// Records what this product did; the request completes now, or, while
    /// tasks of other systems are open, when the last of them ends.
    fn close(&self, request: &mut DataSubjectRequest, event: RequestEventKind, note: Option<String>) {
        let now = self.requests.ports.clock.now();
        request.events.push(RequestEvent::new(event, now, "system", note));
        if request.has_open_tasks() {
            self.await_systems(request, "the request completes when every system has answered");
            return;
        }
        request.status = RequestStatus::Completed;
        request.closed_at = Some(now);
        request
            .events
            .push(RequestEvent::new(RequestEventKind::Completed, now, "system", None));
    }

    /// This product's part is done; the request waits for the open tasks.
    fn await_systems(&self, request: &mut DataSubjectRequest, what_then: &str) {
        let open: Vec<&str> = request
            .tasks
            .iter()
            .filter(|task| !task.status.has_ended())
            .map(|task| task.system.as_str())
            .collect();
        let note = format!("waiting for {}; {what_then}", open.join(", "));
        request.own_part_done = true;
        request.status = RequestStatus::InProgress;
        request.events.push(RequestEvent::new(
            RequestEventKind::AwaitingSystems,
            self.requests.ports.clock.now(),
            "system",
            Some(note),
        ));
    }

    async fn continuation(&self, request_id: &str) -> Result<Option<Continuation>, DsrError> {
        match self.requests.ports.store.get(&continuation_key(request_id)).await? {
            Some(record) => Ok(Some(record.body()?)),
            None => Ok(None),
        }
    }

    /// Goes on with the erasures and export counts that did not finish in
    /// their first run (the outbox's scheduled run calls it): one run's work
    /// for each, as long as `deadline` allows. Returns how many runs it did.
    pub async fn resume(&self, deadline: Timestamp) -> Result<usize, DsrError> {
        let query = Query::Partition {
            partition: CONTINUATION_PARTITION.to_owned(),
            sort_prefix: String::new(),
        };
        let page = self.requests.ports.store.query(&query, store::PAGE_SIZE, None).await?;
        let mut runs = 0;
        for record in page.records {
            if self.requests.ports.clock.now() >= deadline {
                break;
            }
            let continuation: Continuation = record.body()?;
            let subject = SubjectKey::try_from(continuation.subject_key.clone()).map_err(DsrError::Corrupt)?;
            let Some(stored) = self
                .requests
                .ports
                .store
                .get(&request_key(&continuation.request_id))
                .await?
            else {
                self.requests.ports.store.delete_all(&[record.key]).await?;
                continue;
            };
            let request = parse_request(&stored)?;
            let as_read = AsRead {
                version: stored.version,
                request: request.clone(),
            };
            if request.status.is_closed() {
                self.requests.ports.store.delete_all(&[record.key]).await?;
                continue;
            }
            if continuation.completion {
                self.after_systems(&continuation.request_id).await?;
                runs += 1;
                continue;
            }
            match continuation.export {
                Some(progress) => {
                    let budget = RunBudget {
                        writes: EXPORT_RECORDS_PER_RUN,
                        deadline,
                    };
                    self.count_export(&subject, request, &as_read, progress, budget).await?;
                }
                None => {
                    let budget = RunBudget {
                        writes: ERASURE_WRITES_PER_RUN,
                        deadline,
                    };
                    self.fulfil_erasure(&subject, request, &as_read, budget).await?;
                }
            }
            runs += 1;
        }
        Ok(runs)
    }

    /// The owner of the new address pressed its link's button: the link is
    /// used up, then the person's subscriptions move to the new address, the
    /// correction is recorded and the requester is told. Should the address
    /// have been suppressed since, or already hold a subscription, nothing
    /// moves and the team decides.
    pub(crate) async fn new_address_confirmed(
        &self,
        token_record: Record,
        stored: Record,
        mut request: DataSubjectRequest,
    ) -> Result<DataSubjectRequest, DsrError> {
        let now = self.requests.ports.clock.now();
        let subject = stored.subject.clone().ok_or(DsrError::InvalidToken)?;
        let new_address = new_address_of(&request)
            .ok_or_else(|| DsrError::Corrupt("a new address's link without the address".into()))?;
        request.new_address_digest = None;
        request.events.push(RequestEvent::new(
            RequestEventKind::NewAddressConfirmed,
            now,
            "new_address",
            None,
        ));
        let writes = vec![
            Write::Put {
                record: self.requests.request_record(&subject, &request, stored.version + 1),
                precondition: Precondition::Version(stored.version),
            },
            Write::Delete {
                key: token_record.key.clone(),
                precondition: Precondition::Present,
            },
        ];
        match self.requests.ports.store.write(writes).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(DsrError::InvalidToken),
            Err(error) => return Err(error.into()),
        }
        let as_read = AsRead {
            version: stored.version + 1,
            request: request.clone(),
        };
        let new_subject = self.requests.subject_of(&new_address);
        if let Some(reason) = self.requests.suppression_of(&new_subject).await? {
            let why = format!("the new address is suppressed ({})", suppression_cause(reason));
            self.refuse_new_address(&subject, &mut request, &why).await?;
        } else if !self.move_subscriptions(&subject, &new_address).await? {
            let why = "the new address already has a subscription of its own";
            self.refuse_new_address(&subject, &mut request, why).await?;
        } else {
            let mut corrected: Vec<String> = request
                .events
                .iter()
                .filter(|event| event.event == RequestEventKind::Corrected)
                .filter_map(|event| event.note.clone())
                .collect();
            corrected.push("subscriber address".to_owned());
            if let Some(address) = request
                .email
                .as_deref()
                .and_then(|email| EmailAddress::parse("email", email).ok())
            {
                let mail = self.simple_mail(
                    &address,
                    "Your data was corrected",
                    &format!(
                        "We corrected: {}. Reference {}.{}",
                        corrected.join(", "),
                        request.request_id,
                        self.recipients_line(&request)
                    ),
                );
                self.requests.outbox().deliver(mail, "dsr_rectified", &subject).await?;
            }
            self.close(
                &mut request,
                RequestEventKind::Rectified,
                Some("subscriber address".to_owned()),
            );
        }
        self.save(&subject, &mut request, &as_read).await?;
        tracing::info!(request_id = %request.request_id, status = request.status.as_str(), "rectification to a confirmed address recorded");
        Ok(request)
    }

    /// Links the consent id a verified request gave to its person (once;
    /// never away from another person).
    pub async fn link_consent(&self, consent_id: ConsentId, subject: &SubjectKey) -> Result<(), DsrError> {
        let ledger = self.requests.ports.consent_ledger();
        ledger
            .link_subject(consent_id, subject)
            .await
            .map_err(|error| match error {
                crate::consent::ConsentError::Store(error) => DsrError::Store(error),
                other => DsrError::Corrupt(other.to_string()),
            })?;
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
                .subscriptions()
                .end_subscription(
                    subject,
                    &ListId::parse("list", list).map_err(|e| DsrError::Corrupt(e.message))?,
                    SuppressionReason::Objection,
                )
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?;
        }
        let ledger = self.requests.ports.consent_ledger();
        // The request's own consent id only has marketing turned off: that
        // reduces processing, so it needs no verification, but it does not
        // link the id to the person (a request's consent id is linked only
        // when the request is verified).
        let mut consent_ids: Vec<ConsentId> = linked_consent_ids(&self.subject_records(subject).await?);
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
            withdrawn += 1;
        }
        request.events.push(RequestEvent::new(
            RequestEventKind::MarketingStopped,
            self.requests.ports.clock.now(),
            "system",
            Some(format!(
                "unsubscribed and suppressed; marketing consent withdrawn on {withdrawn} consent ids"
            )),
        ));
        Ok(())
    }

    /// The recipients the request tells (Art. 19), as a paragraph of a reply; empty when none.
    pub(super) fn recipients_line(&self, request: &DataSubjectRequest) -> String {
        let sentence = crate::dsr::tasks::recipients_told_sentence(
            self.requests.ports.register,
            request.request_type,
            &request.tasks,
        );
        if sentence.is_empty() {
            sentence
        } else {
            format!("\n\n{sentence}")
        }
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
    request.notes.clear();
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

/// How many times a conflicting write is tried again.
const ATTEMPTS: usize = 5;

/// A rectification's new address, when it asks for one.
fn new_address_of(request: &DataSubjectRequest) -> Option<EmailAddress> {
    request
        .corrections
        .as_ref()?
        .email
        .as_deref()
        .and_then(|email| EmailAddress::parse("corrections.email", email).ok())
}

fn parse_subscription(record: &Record) -> Result<Subscription, DsrError> {
    record.body().map_err(DsrError::from)
}

/// Why an address is suppressed, in the team's words.
fn suppression_cause(reason: SuppressionReason) -> &'static str {
    match reason {
        SuppressionReason::Unsubscribed => "it unsubscribed",
        SuppressionReason::Objection => "it objected to marketing",
        SuppressionReason::HardBounce => "mail to it bounced permanently",
        SuppressionReason::Complaint => "it complained about our mail",
        SuppressionReason::Erasure => "its data was erased at its request",
    }
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|existing| existing == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::dsr::Submission;
    use crate::newsletter::{Links, SignUp};
    use crate::ports::Ports;
    use crate::register::Register;
    use crate::retention::PrivacyTeam;
    use crate::store::memory::MemoryStore;
    use crate::store::Record;
    use crate::store::RecordStore;
    use crate::subject::Pepper;
    use crate::testing::{email, World};
    use crate::tokens::{Secrets, TokenKey};

    /// The register, the export's Art. 15 information and the sweep agree:
    /// change a period in the register and both follow.
    #[tokio::test]
    async fn a_fulfilments_save_keeps_what_the_team_and_systems_stored_meanwhile_but_not_over_a_closing() {
        let world = World::at("2027-03-10T09:00:00Z");
        let submitted = world
            .requests()
            .submit(crate::testing::submission(RequestType::Erasure, "ada@example.com"))
            .await
            .unwrap();
        let stored = world
            .store
            .get(&request_key(&submitted.request_id))
            .await
            .unwrap()
            .unwrap();
        let base = parse_request(&stored).unwrap();
        let later = world.now() + SignedDuration::from_secs(1);
        let mut ours = base.clone();
        ours.status = RequestStatus::InProgress;
        ours.own_part_done = true;
        ours.events
            .push(RequestEvent::new(RequestEventKind::InProgress, later, "system", None));
        let mut theirs = base.clone();
        theirs.notes.push(crate::dsr::detail::RequestNote {
            at: later,
            by: "team-member".to_owned(),
            text: "called the person".to_owned(),
        });
        theirs
            .events
            .push(RequestEvent::new(RequestEventKind::SystemAnswered, later, "crm", None));
        let both = merged(&base, &ours, &theirs).expect("no field changed by both");
        assert_eq!((both.status, both.own_part_done), (RequestStatus::InProgress, true));
        assert_eq!(both.notes, theirs.notes);
        let kinds: Vec<RequestEventKind> = both.events[base.events.len()..]
            .iter()
            .map(|event| event.event.clone())
            .collect();
        assert_eq!(
            kinds,
            [RequestEventKind::SystemAnswered, RequestEventKind::InProgress],
            "in the order stored"
        );
        theirs.status = RequestStatus::Rejected;
        assert!(
            merged(&base, &ours, &theirs).is_none(),
            "the team's closing wins: the run's save fails"
        );
    }

    #[tokio::test]
    async fn a_changed_retention_period_reaches_the_export_and_the_sweep() {
        let mut document: Value = serde_json::from_str(include_str!("../../../register.json")).unwrap();
        let pending = document["categories"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|category| category["id"] == "newsletter_pending")
            .unwrap();
        pending["retention"]["period"] = json!("P20D");
        pending["retention_text"] = json!("20 days unless confirmed.");
        let register = Register::from_json(&document.to_string()).unwrap();

        let world = World::at("2026-03-01T12:00:00Z").with_register(register);
        let (store, clock) = (&world.store, &world.clock);
        let ada = email("ada@example.com");
        let newsletter = world.newsletter();
        let sign_up = SignUp {
            email: ada.clone(),
            name: None,
            lists: vec![ListId::default_list()],
            consent_id: None,
            channel: "api",
            ip: None,
            notice: crate::newsletter::NoticeShown::default(),
        };
        newsletter.sign_up(sign_up).await.unwrap();

        // The export explains the pending sign-up with the changed rule.
        let requests = world.requests();
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
            subject: newsletter.subject_of(&world.team),
            address: world.team.clone(),
        };
        let sweep = world.sweep(&privacy_team);
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
            ports: Ports {
                store: &store,
                mailer: &mailer,
                clock: &clock,
                register: &register,
            },
            secrets: &secrets,
            links: &links,
            privacy_team: None,
            systems: Default::default(),
        };
        let submit = |request_type| crate::testing::submission(request_type, ada.as_str());
        let restriction = requests.submit(submit(RequestType::Restriction)).await.unwrap();
        let access = requests.submit(submit(RequestType::Access)).await.unwrap();
        for submitted in [&restriction, &access] {
            let stored = store.get(&request_key(&submitted.request_id)).await.unwrap().unwrap();
            // As `verify` leaves it: verified, kept until it closes.
            let mut request = parse_request(&stored).unwrap();
            request.status = RequestStatus::Verified;
            let mut verified = stored.clone();
            verified.set_body(&request);
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
        crate::holds::keeping::restamp_person(&store, &register, &subject, clock.now())
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
        assert_eq!(
            (&last.event, last.by.as_str()),
            (&RequestEventKind::RestrictionLifted, "sub-1")
        );
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

    /// The test world, with the helpers these tests share.
    struct Fixture(World);

    impl std::ops::Deref for Fixture {
        type Target = World;

        fn deref(&self) -> &World {
            &self.0
        }
    }

    impl Fixture {
        fn new() -> Self {
            Self(World::at("2027-03-10T09:00:00Z"))
        }

        fn ada() -> EmailAddress {
            email("ada@example.com")
        }

        fn submission(kind: RequestType) -> Submission {
            crate::testing::submission(kind, "ada@example.com")
        }

        /// Submits and verifies; returns the request as stored afterwards.
        async fn verified(&self, submission: Submission) -> DataSubjectRequest {
            // One verification mail per address per 10 minutes.
            self.clock.advance(jiff::SignedDuration::from_mins(11));
            // What the stream sent after earlier writes is out; then this link.
            self.drain_outbox().await;
            let submitted = self.requests().submit(submission).await.unwrap();
            self.drain_outbox().await;
            let mail = self.mailer.sent_to(&Self::ada()).pop().unwrap();
            let token = crate::testing::verification_token(&mail);
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
        let ledger = fixture.ports().consent_ledger();
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
        submission.jurisdiction = Some(crate::dsr::deadline::Jurisdiction::Ccpa);
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
            record.set_body(&json!({"n": n, "filler": filler}));
            store::put(&fixture.store, record, Precondition::Absent).await.unwrap();
        }
        let request = fixture.verified(Fixture::submission(RequestType::Access)).await;
        assert_eq!(request.status, RequestStatus::AwaitingTeam);
        let event = request
            .events
            .iter()
            .find(|event| event.event == RequestEventKind::ExportTooLarge)
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
    async fn an_export_of_many_consent_histories_stops_reading_once_too_large_and_later_runs_count_the_rest() {
        let fixture = Fixture::new();
        let subject = fixture.requests().subject_of(&Fixture::ada());
        let filler = "x".repeat(200);
        for _ in 0..60 {
            let id = uuid::Uuid::new_v4();
            let mut link = Record::new(RecordKey::new(format!("CONSENT#{id}"), "LINK"), "consent_link");
            link.subject = Some(subject.clone());
            link.set_body(&json!({"consent_id": id}));
            store::put(&fixture.store, link, Precondition::Absent).await.unwrap();
            for n in 0..100 {
                let mut receipt = Record::new(
                    RecordKey::new(format!("CONSENT#{id}"), format!("RECEIPT#{n:010}")),
                    "consent_receipt",
                );
                receipt.set_body(&json!({"n": n, "filler": filler}));
                store::put(&fixture.store, receipt, Precondition::Absent).await.unwrap();
            }
        }
        let request = fixture.verified(Fixture::submission(RequestType::Access)).await;
        assert_eq!(request.status, RequestStatus::InProgress);
        assert!(request.has_event(RequestEventKind::ExportContinues));
        assert!(fixture
            .mailer
            .sent_to(&Fixture::ada())
            .iter()
            .all(|mail| !mail.subject.contains("personal data")));
        let mut runs = 0;
        while fixture.stored_request(&request.request_id).await.status == RequestStatus::InProgress {
            assert!(runs < 5, "the export does not finish");
            assert_eq!(fixture.requests().resume_fulfilment(Timestamp::MAX).await.unwrap(), 1);
            runs += 1;
        }
        // 6,060 records, about 2,000 a run after the verification's first thousand.
        assert_eq!(runs, 3);
        let done = fixture.stored_request(&request.request_id).await;
        assert_eq!(done.status, RequestStatus::AwaitingTeam);
        let told = fixture.mail_titled("Your personal data: how you will receive it");
        assert!(
            told.text.contains("Cookie consent records: 6060 items"),
            "{}",
            told.text
        );
        assert!(fixture
            .mailer
            .sent_to(&fixture.team)
            .iter()
            .any(|mail| mail.subject.starts_with("Export too large to mail")));
        assert!(fixture
            .store
            .get(&continuation_key(&request.request_id))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn an_erasure_larger_than_one_run_goes_on_in_later_runs_until_everything_is_gone() {
        let fixture = Fixture::new();
        let subject = fixture.requests().subject_of(&Fixture::ada());
        for n in 0..(2 * ERASURE_WRITES_PER_RUN + 10) {
            let mut record = Record::new(
                RecordKey::new(format!("MAILLOG#{}", subject.as_str()), format!("{n:06}")),
                "mail_log",
            );
            record.subject = Some(subject.clone());
            store::put(&fixture.store, record, Precondition::None).await.unwrap();
        }
        let erasure = fixture.verified(Fixture::submission(RequestType::Erasure)).await;
        assert_eq!(erasure.status, RequestStatus::InProgress, "one run's work only");
        let left = |store: &crate::store::memory::MemoryStore| {
            store
                .snapshot()
                .into_iter()
                .filter(|r| r.entity == "mail_log" && r.key.sort.len() == 6)
                .count()
        };
        let seeded = 2 * ERASURE_WRITES_PER_RUN + 10;
        assert!(
            left(&fixture.store) >= seeded - ERASURE_WRITES_PER_RUN,
            "at most one run's deletions"
        );
        let far = fixture.clock.now() + jiff::SignedDuration::from_hours(1);
        assert_eq!(fixture.requests().resume_fulfilment(far).await.unwrap(), 1);
        assert!(left(&fixture.store) >= seeded - 2 * ERASURE_WRITES_PER_RUN);
        assert_eq!(
            fixture.stored_request(&erasure.request_id).await.status,
            RequestStatus::InProgress
        );
        assert_eq!(fixture.requests().resume_fulfilment(far).await.unwrap(), 1);
        assert_eq!(left(&fixture.store), 0);
        let done = fixture.stored_request(&erasure.request_id).await;
        assert_eq!(done.status, RequestStatus::Completed);
        assert_eq!(
            done.events
                .iter()
                .filter(|e| e.event == RequestEventKind::ErasureContinues)
                .count(),
            1
        );
        let reply = fixture.mail_titled("Your data is erased");
        let counted: usize = reply
            .text
            .split("- Mail log (")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            counted >= 2 * ERASURE_WRITES_PER_RUN + 10,
            "the reply counts every record of every run: {}",
            reply.text
        );
        assert_eq!(
            fixture.requests().resume_fulfilment(far).await.unwrap(),
            0,
            "nothing left to resume"
        );
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
        let suppression = fixture
            .newsletter()
            .subscriptions()
            .suppression(&subject)
            .await
            .unwrap();
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
            lists: vec![ListId::default_list()],
            consent_id: None,
            notice: crate::newsletter::NoticeShown::default(),
            channel: "api",
            ip: None,
        };
        fixture.newsletter().sign_up(sign_up).await.unwrap();
        fixture
            .ports()
            .outbox()
            .retry(fixture.clock.now() + SignedDuration::from_mins(1))
            .await
            .unwrap();
        let confirmation = fixture.mailer.sent_to(&Fixture::ada()).pop().unwrap();
        let start = confirmation.text.find("?token=").expect("a confirmation link") + 7;
        let token = confirmation.text[start..].split_whitespace().next().unwrap().to_owned();
        fixture.newsletter().confirm(&token, None).await.unwrap();
        assert!(fixture
            .newsletter()
            .subscriptions()
            .suppression(&subject)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn an_erasure_under_a_bookkeeping_hold_cites_the_bookkeeping_act() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let subject = fixture.requests().subject_of(&Fixture::ada());
        let holds = fixture.ports().legal_holds();
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

    fn grace() -> EmailAddress {
        EmailAddress::parse("email", "grace@example.com").unwrap()
    }

    fn to_grace(name: Option<&str>) -> Submission {
        let mut submission = Fixture::submission(RequestType::Rectification);
        submission.corrections = Some(crate::dsr::Corrections {
            name: name.map(|name| crate::person::PersonName::parse("name", name).unwrap()),
            email: Some("grace@example.com".to_owned()),
        });
        submission
    }

    impl Fixture {
        async fn subscription_of(&self, address: &EmailAddress) -> Option<Subscription> {
            let newsletter = self.newsletter();
            newsletter
                .subscriptions()
                .subscription(&newsletter.subject_of(address), &ListId::default_list())
                .await
                .unwrap()
        }
    }

    fn events(request: &DataSubjectRequest) -> Vec<&str> {
        request.events.iter().map(|event| event.event.as_str()).collect()
    }

    #[tokio::test]
    async fn a_new_address_gets_its_own_link_and_nothing_moves_until_its_button_is_pressed() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let pending = fixture.verified(to_grace(Some("Ada King"))).await;

        assert_eq!(pending.status, RequestStatus::InProgress);
        assert!(pending.new_address_digest.is_some());
        assert!(events(&pending).ends_with(&["in_progress", "corrected", "new_address_link_mailed"]));
        let at_ada = fixture
            .subscription_of(&Fixture::ada())
            .await
            .expect("still at the old address");
        assert_eq!(at_ada.email, "ada@example.com");
        assert_eq!(
            at_ada.name.as_ref().map(|name| name.as_str()),
            Some("Ada King"),
            "the name is corrected"
        );
        assert!(fixture.subscription_of(&grace()).await.is_none(), "nothing moved yet");
        let to_grace = fixture.mailer.sent_to(&grace());
        assert_eq!(to_grace.len(), 1, "the new address gets only its own link");
        let token = crate::testing::verification_token(&to_grace[0]);
        // Neither the old address nor the name; the random link token is left
        // out of the search, as it can hold "Ada" by chance.
        let text = to_grace[0].text.replace(&token, "<token>");
        assert!(!text.contains("ada@example.com") && !text.contains("Ada"), "{text}");
        assert!(text.contains("The link works until 2027-03-17"), "{text}");

        // The page and the verification path act on nothing.
        let requests = fixture.requests();
        let (purpose, previewed) = requests.preview(&token).await.unwrap();
        assert_eq!(
            (purpose, previewed.status),
            (crate::dsr::LinkPurpose::NewAddress, RequestStatus::InProgress)
        );
        assert!(matches!(requests.verify(&token).await, Err(DsrError::InvalidToken)));
        assert!(fixture.subscription_of(&grace()).await.is_none());

        // Only the button moves it, once.
        let (purpose, done) = requests.follow(&token).await.unwrap();
        assert_eq!(
            (purpose, done.status),
            (crate::dsr::LinkPurpose::NewAddress, RequestStatus::Completed)
        );
        assert!(events(&done).ends_with(&["new_address_confirmed", "rectified", "completed"]));
        assert!(fixture.subscription_of(&Fixture::ada()).await.is_none());
        let moved = fixture.subscription_of(&grace()).await.expect("moved");
        assert_eq!(moved.email, "grace@example.com");
        let stored = fixture.stored_request(&done.request_id).await;
        assert_eq!(
            (stored.status, stored.new_address_digest),
            (RequestStatus::Completed, None)
        );
        let told = fixture.mail_titled("Your data was corrected");
        assert_eq!(
            told.to,
            Fixture::ada(),
            "the requester is told, at the verified address"
        );
        assert!(
            told.text.contains("subscriber name, subscriber address"),
            "{}",
            told.text
        );
        assert!(
            matches!(requests.follow(&token).await, Err(DsrError::InvalidToken)),
            "single use"
        );
    }

    #[tokio::test]
    async fn a_suppressed_new_address_is_refused_mailed_nothing_and_the_team_decides() {
        for (reason, cause) in [
            (SuppressionReason::HardBounce, "bounced"),
            (SuppressionReason::Complaint, "complained"),
            (SuppressionReason::Unsubscribed, "unsubscribed"),
        ] {
            let fixture = Fixture::new();
            fixture.customer().await;
            let newsletter = fixture.newsletter();
            newsletter
                .subscriptions()
                .suppress(&newsletter.subject_of(&grace()), reason)
                .await
                .unwrap();
            let refused = fixture.verified(to_grace(None)).await;

            assert_eq!(refused.status, RequestStatus::AwaitingTeam, "{reason:?}");
            assert_eq!(refused.new_address_digest, None);
            let event = refused.events.last().unwrap();
            assert_eq!(event.event, RequestEventKind::NewAddressRefused);
            let note = event.note.as_deref().unwrap();
            assert!(
                !note.contains(cause) && !note.contains("suppress"),
                "the requester's view: {note}"
            );
            assert!(
                fixture.mailer.sent_to(&grace()).is_empty(),
                "nothing to a {reason:?} address"
            );
            assert!(fixture.subscription_of(&grace()).await.is_none());
            assert!(
                fixture.subscription_of(&Fixture::ada()).await.is_some(),
                "nothing moved"
            );
            let team = fixture.mail_titled(&format!("Privacy request {}: new address refused", refused.request_id));
            assert!(team.text.contains(cause), "the team is told why: {}", team.text);
        }
    }

    #[tokio::test]
    async fn a_new_address_at_its_link_mail_limit_is_refused() {
        let fixture = Fixture::new();
        fixture.customer().await;
        // The new address's own requests have used its five link mails of the day.
        for kind in [
            RequestType::Access,
            RequestType::Erasure,
            RequestType::Source,
            RequestType::Portability,
            RequestType::Restriction,
        ] {
            let mut submission = Fixture::submission(kind);
            submission.email = grace();
            fixture.requests().submit(submission).await.unwrap();
            fixture.clock.advance(SignedDuration::from_mins(11));
        }
        fixture.drain_outbox().await;
        assert_eq!(fixture.mailer.sent_to(&grace()).len(), 5);
        let refused = fixture.verified(to_grace(None)).await;
        assert_eq!(refused.status, RequestStatus::AwaitingTeam);
        assert_eq!(fixture.mailer.sent_to(&grace()).len(), 5, "no sixth link mail");
        assert!(fixture.subscription_of(&Fixture::ada()).await.is_some());
    }

    #[tokio::test]
    async fn an_unfollowed_new_address_link_expires_and_the_request_stays_in_the_teams_queue() {
        let fixture = Fixture::new();
        fixture.customer().await;
        let pending = fixture.verified(to_grace(None)).await;
        let token = crate::testing::verification_token(&fixture.mailer.sent_to(&grace())[0]);
        fixture.clock.advance(SignedDuration::from_hours(7 * 24 + 1));
        let requests = fixture.requests();
        assert!(matches!(requests.preview(&token).await, Err(DsrError::InvalidToken)));
        assert!(matches!(requests.follow(&token).await, Err(DsrError::InvalidToken)));
        assert!(
            fixture.subscription_of(&Fixture::ada()).await.is_some(),
            "nothing moved"
        );
        let stored = fixture.stored_request(&pending.request_id).await;
        assert_eq!(stored.status, RequestStatus::InProgress);
        let queue = requests.queue(None, None).await.unwrap();
        assert!(
            queue
                .iter()
                .any(|entry| entry.request_id == pending.request_id && entry.status == RequestStatus::InProgress),
            "the team sees it, due on its legal date"
        );
        // The team closes it.
        let closed = requests
            .reject(&pending.request_id, "the new address was never confirmed", "sub-1")
            .await
            .unwrap();
        assert_eq!(closed.status, RequestStatus::Rejected);
    }

    #[tokio::test]
    async fn an_address_correction_with_nothing_to_move_goes_to_the_team_and_mails_the_new_address_nothing() {
        let fixture = Fixture::new();
        // No subscription: nothing of the product's would move.
        let request = fixture.verified(to_grace(None)).await;
        assert_eq!(request.status, RequestStatus::AwaitingTeam);
        assert_eq!(request.events.last().unwrap().event, RequestEventKind::NeedsTeam);
        assert!(fixture.mailer.sent_to(&grace()).is_empty());
    }
}
