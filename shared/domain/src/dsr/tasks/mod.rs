//! Requests across every system of record (SPEC 8): one task per other
//! system that may hold the person's data for the request's type, and the
//! Art. 19 notices to recipients.
//!
//! Records (under the request's own partition, so that a request and its
//! tasks are one Query and a task is one GetItem):
//! - `DSR#<request_id>` / `TASK#<system_id>`: the [`SystemTask`]. Its id,
//!   `<request_id>.<system_id>`, names its key. It is not on the subject
//!   index (an erasure must not erase the erasure's own tasks); the payload
//!   (subject key, and the address only for a system that keys by it) is
//!   dropped when the task ends, what a system returned for an access
//!   request (`data`) is dropped in the write that mails the export holding
//!   it (or when the team closes the request), and the ended task, with its
//!   status, dates and reason, is kept as long as a closed request
//!   (register: `requests_closed`).
//! - `TASK_OUTBOX#<shard>` / `<task_id>`: a task still to be handed to an
//!   `event` or `webhook` system (no personal data; see [`delivery`]).
//!   Spread over [`DELIVERY_SHARDS`] partitions: no single hot key.
//!
//! Which systems a request type concerns (`act` tasks):
//! - access, source, ccpa_know: every system that holds a category (Art. 15
//!   and CCPA's right to know cover all the data, wherever it is held);
//! - portability: systems holding a category processed on consent or
//!   contract (Art. 20(1)(a): the right covers no other data);
//! - erasure, ccpa_delete, rectification, ccpa_correct, restriction: every
//!   system that holds a category; a system that must keep its data answers
//!   `exempt` with the legal reason (bookkeeping: Bokföringslagen);
//! - objection to processing: systems holding a category processed on
//!   legitimate interest (Art. 21(1) applies to no other basis);
//! - objection to marketing (Art. 21(2)-(3)) and ccpa_opt_out: systems
//!   holding a category used for direct marketing
//!   ([`DIRECT_MARKETING_CATEGORIES`]: the prospect CRM). Both act at once
//!   without verification (they only reduce processing), and this product
//!   stops its own newsletter then; but a person who says "no marketing"
//!   means every channel, and Art. 21(3) forbids any further processing for
//!   direct marketing wherever the data sits, so the CRM must mark the
//!   prospect "do not contact" too. An opt-out of sale and sharing
//!   (CCPA § 1798.120, § 1798.135; 11 CCR § 7026(f)) must likewise reach
//!   every place from which the person's data could be shared for
//!   cross-context advertising or handed to marketing partners, which is
//!   the prospect list. The task carries the address only because the CRM
//!   keys by it; the request stays open until the CRM has answered.
//!
//! A system whose role is `recipient` (another controller) is never told to
//! act on its data: we cannot instruct it. After an erasure, rectification
//! or restriction (and their CCPA forms), every system that names a
//! recipient and has no `act` task gets a `notify` task (Art. 19); a
//! processor's `act` task already tells it.

pub mod answers;
pub mod config;
pub mod delivery;
pub mod signature;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::dsr::{Corrections, DataSubjectRequest, ObjectionScope, RequestType};
use crate::register::{entity, Register, System, SystemAccess, SystemRole};
use crate::store::{Precondition, Record, RecordKey, Write};
use crate::subject::SubjectKey;

const DELIVERY_PARTITION: &str = "TASK_OUTBOX#";
/// How many partitions the tasks still to be handed over are spread over.
pub const DELIVERY_SHARDS: u8 = 8;
/// A task is due this many days before its request, so that the answer can
/// still be put together and sent before the request's own deadline.
const TASK_LEAD_DAYS: i64 = 7;

/// Which systems of record a deployment asks. Every deployment asks every
/// system of its register (the template names `SYSTEMS_PARAMETER`); a
/// process given no systems configuration at all (a local run or a test of
/// this product's own fulfilment) asks none and says so when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemsScope {
    #[default]
    ThisProductOnly,
    EveryRegisteredSystem,
}

/// What a task asks of a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Carry out the request on the data the system holds.
    Act,
    /// Art. 19: hear that the request was carried out (erasure, rectification, restriction).
    Notify,
}

/// Where a task is: pending → sent → done | not_found | exempt | failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created; not yet handed to the system (a `manual` task stays here until the team answers it).
    Pending,
    /// Handed to the system (the event was put, the webhook answered 2xx).
    Sent,
    /// The system did what was asked.
    Done,
    /// The system holds nothing about the person.
    NotFound,
    /// The system may not or need not act, for the recorded legal reason.
    Exempt,
    /// Could not be handed over after every retry: the team must answer it.
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Done => "done",
            Self::NotFound => "not_found",
            Self::Exempt => "exempt",
            Self::Failed => "failed",
        }
    }

    /// Whether the system (or the team for it) has answered. A failed task
    /// has not: nobody knows what the system did.
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Done | Self::NotFound | Self::Exempt)
    }
}

/// A task as the request, its status response and the team's queue show it
/// (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub task_id: String,
    pub system: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub due_on: Date,
    /// Why the system is exempt (a legal reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl TaskSummary {
    /// Open and past its due day (`today` on the controller's calendar).
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.status.has_ended() && self.due_on < today
    }
}

/// What a system is given: only what it needs to find the person and act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPayload {
    pub subject_key: String,
    /// Only for a system that finds people by address (`keys_by_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A rectification's corrections; a new address only for a system that keys by address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<Corrections>,
}

/// One task for one system of record.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemTask {
    pub task_id: String,
    pub request_id: String,
    pub system: String,
    pub kind: TaskKind,
    pub request_type: RequestType,
    pub status: TaskStatus,
    pub created_at: Timestamp,
    pub due_on: Date,
    /// Dropped when the task ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<TaskPayload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u32,
    /// Why the last hand-over failed (a status code or a connector error; no personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Who answered: `system:<id>` or the team member's `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What an access request's system returned: its own file in the export;
    /// dropped once that export is mailed or the request closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl std::fmt::Debug for SystemTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTask")
            .field("task_id", &self.task_id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl SystemTask {
    pub fn summary(&self) -> TaskSummary {
        TaskSummary {
            task_id: self.task_id.clone(),
            system: self.system.clone(),
            kind: self.kind,
            status: self.status,
            due_on: self.due_on,
            reason: self.reason.clone(),
        }
    }

    /// The task's record (not on the subject index; see the module's doc).
    pub fn record(&self, version: u64) -> Record {
        let mut record = Record::with_body(task_key(&self.request_id, &self.system), entity::DSR_TASK, self);
        record.version = version;
        record
    }
}

/// A task's id: its request's id and its system's id.
pub fn task_id(request_id: &str, system: &str) -> String {
    format!("{request_id}.{system}")
}

/// The request id and system id a task id names, when it is well formed
/// (a UUID, a dot, a register id of `a-z`, `0-9` and `_`).
pub fn parse_task_id(task_id: &str) -> Option<(&str, &str)> {
    let (request_id, system) = task_id.split_once('.')?;
    let system_ok = !system.is_empty()
        && system.len() <= 64
        && system
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    (uuid::Uuid::parse_str(request_id).is_ok() && system_ok).then_some((request_id, system))
}

pub fn task_key(request_id: &str, system: &str) -> RecordKey {
    RecordKey::new(format!("DSR#{request_id}"), format!("TASK#{system}"))
}

/// The prefix of the sort keys of a request's tasks in its partition.
pub const TASK_SORT_PREFIX: &str = "TASK#";

/// Where a task still to be handed over is listed: one of
/// [`DELIVERY_SHARDS`] partitions, chosen by the task id's hash.
pub fn delivery_key(task_id: &str) -> RecordKey {
    let shard = Sha256::digest(task_id.as_bytes())[0] % DELIVERY_SHARDS;
    RecordKey::new(delivery_partition(shard), task_id)
}

pub(crate) fn delivery_partition(shard: u8) -> String {
    format!("{DELIVERY_PARTITION}{shard}")
}

/// The lawful bases (`contract`, `consent`, …) of the categories a system holds.
fn bases_held<'r>(register: &'r Register, system: &System) -> Vec<&'r str> {
    let document = register.document();
    system
        .holds
        .iter()
        .filter_map(|id| {
            let own = document.categories.iter().find(|category| {
                serde_json::to_value(category.id)
                    .ok()
                    .is_some_and(|value| value.as_str() == Some(id.as_str()))
            });
            own.map(|category| category.lawful_basis.basis.as_str()).or_else(|| {
                document
                    .categories_elsewhere
                    .iter()
                    .find(|category| &category.id == id)
                    .map(|category| category.lawful_basis.basis.as_str())
            })
        })
        .collect()
}

/// Whether a request of this type asks recipients to be told (Art. 19;
/// CCPA § 1798.105(c) and § 1798.106 for deletion and correction).
pub fn notifies_recipients(request_type: RequestType) -> bool {
    matches!(
        request_type,
        RequestType::Erasure
            | RequestType::CcpaDelete
            | RequestType::Rectification
            | RequestType::CcpaCorrect
            | RequestType::Restriction
    )
}

/// A recipient of the person's data (an entry of the register's
/// `recipients`) told of a request under Art. 19, through its system's task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientTold {
    /// The recipient's name, as the privacy policy lists it.
    pub recipient: String,
    pub system: String,
    /// Where the task that tells it is.
    pub status: TaskStatus,
}

/// The recipients a request tells (Art. 19: erasure, rectification,
/// restriction), each once: those whose system has a task of the request,
/// whether it acts (a processor) or is only told (another controller). The
/// reply to the person names them (Art. 19, second sentence).
pub fn recipients_told(register: &Register, request_type: RequestType, tasks: &[TaskSummary]) -> Vec<RecipientTold> {
    if !notifies_recipients(request_type) {
        return Vec::new();
    }
    let document = register.document();
    let mut told: Vec<RecipientTold> = Vec::new();
    for task in tasks {
        let recipient = document
            .systems
            .iter()
            .find(|system| system.id == task.system)
            .and_then(|system| system.recipient.as_deref())
            .and_then(|id| document.recipients.iter().find(|recipient| recipient.id == id));
        if let Some(recipient) = recipient {
            if !told.iter().any(|entry| entry.recipient == recipient.name) {
                told.push(RecipientTold {
                    recipient: recipient.name.clone(),
                    system: task.system.clone(),
                    status: task.status,
                });
            }
        }
    }
    told
}

/// The sentence of a reply that names the recipients told, or nothing.
pub fn recipients_told_sentence(register: &Register, request_type: RequestType, tasks: &[TaskSummary]) -> String {
    let names: Vec<String> = recipients_told(register, request_type, tasks)
        .into_iter()
        .map(|entry| entry.recipient)
        .collect();
    if names.is_empty() {
        return String::new();
    }
    format!(
        "We are telling the recipients of your data of your request (GDPR Art. 19): {}.",
        names.join("; ")
    )
}

/// The register categories used for direct marketing outside this product
/// (its own newsletter is stopped by the request itself): an objection to
/// marketing and a CCPA opt-out ask the systems holding them to act.
pub const DIRECT_MARKETING_CATEGORIES: &[&str] = &["prospects"];

/// What a request asks of one system, if anything (see the module's doc).
pub fn concerns(register: &Register, request: &DataSubjectRequest, system: &System) -> Option<TaskKind> {
    if system.access == SystemAccess::ThisProduct {
        return None;
    }
    let holds = !system.holds.is_empty();
    let act = system.role != SystemRole::Recipient
        && match request.request_type {
            RequestType::Access | RequestType::Source | RequestType::CcpaKnow => holds,
            RequestType::Portability => bases_held(register, system)
                .iter()
                .any(|basis| matches!(*basis, "consent" | "contract")),
            RequestType::Erasure
            | RequestType::CcpaDelete
            | RequestType::Rectification
            | RequestType::CcpaCorrect
            | RequestType::Restriction => holds,
            RequestType::Objection if request.scope == Some(ObjectionScope::Processing) => {
                bases_held(register, system).contains(&"legitimate_interest")
            }
            RequestType::Objection | RequestType::CcpaOptOut => system
                .holds
                .iter()
                .any(|category| DIRECT_MARKETING_CATEGORIES.contains(&category.as_str())),
        };
    if act {
        Some(TaskKind::Act)
    } else if notifies_recipients(request.request_type) && system.recipient.is_some() {
        Some(TaskKind::Notify)
    } else {
        None
    }
}

/// The tasks a verified request creates, with their payloads.
pub fn plan(
    register: &Register,
    request: &DataSubjectRequest,
    subject: &SubjectKey,
    now: Timestamp,
) -> Vec<SystemTask> {
    let today = now.to_zoned_datetime(register.time_zone().clone()).date();
    let due_on = request
        .due_on
        .checked_sub(TASK_LEAD_DAYS.days())
        .unwrap_or(request.due_on)
        .max(today)
        .min(request.due_on);
    register
        .document()
        .systems
        .iter()
        .filter_map(|system| {
            let kind = concerns(register, request, system)?;
            let corrections = matches!(
                request.request_type,
                RequestType::Rectification | RequestType::CcpaCorrect
            )
            .then(|| request.corrections.clone())
            .flatten()
            .map(|corrections| Corrections {
                name: corrections.name,
                email: corrections.email.filter(|_| system.keys_by_address),
            })
            .filter(|corrections| corrections.name.is_some() || corrections.email.is_some());
            Some(SystemTask {
                task_id: task_id(&request.request_id, &system.id),
                request_id: request.request_id.clone(),
                system: system.id.clone(),
                kind,
                request_type: request.request_type,
                status: TaskStatus::Pending,
                created_at: now,
                due_on,
                payload: Some(TaskPayload {
                    subject_key: subject.as_str().to_owned(),
                    email: request.email.clone().filter(|_| system.keys_by_address),
                    corrections,
                }),
                sent_at: None,
                attempts: 0,
                last_error: None,
                ended_at: None,
                answered_by: None,
                reason: None,
                data: None,
            })
        })
        .collect()
}

/// The writes that store new tasks, and list those of `event` and
/// `webhook` systems for hand-over.
pub fn creation_writes(register: &Register, tasks: &[SystemTask], now: Timestamp) -> Vec<Write> {
    let mut writes = Vec::new();
    for task in tasks {
        writes.push(Write::Put {
            record: task.record(1),
            precondition: Precondition::Absent,
        });
        let automatic = register
            .document()
            .systems
            .iter()
            .find(|system| system.id == task.system)
            .is_some_and(|system| matches!(system.access, SystemAccess::Event | SystemAccess::Webhook));
        if automatic {
            writes.push(Write::Put {
                record: delivery::Delivery::new(&task.task_id, now).record(1),
                precondition: Precondition::Absent,
            });
        }
    }
    writes
}

/// Whether every task of the request has ended.
pub fn all_ended(tasks: &[TaskSummary]) -> bool {
    tasks.iter().all(|task| task.status.has_ended())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::answers::{Answerer, TaskAnswer, TaskError};
    use super::delivery::{HandOverError, RetryPolicy, TaskConnector, TaskMessage};
    use super::*;
    use crate::dsr::{
        parse_request, request_key, Corrections, DataSubjectRequest, DsrError, RequestEventKind, RequestStatus,
        Submission,
    };
    use crate::email::EmailAddress;
    use crate::mail::Mail;
    use crate::person::PersonName;
    use crate::store::{Query, RecordStore};
    use crate::testing::{email, World};

    fn ada() -> EmailAddress {
        email("ada@example.com")
    }

    fn submission(request_type: RequestType) -> Submission {
        crate::testing::submission(request_type, "ada@example.com")
    }

    fn world() -> World {
        World::at("2027-03-10T09:00:00Z").asking_every_system()
    }

    /// Submits and verifies; returns the request as stored afterwards.
    async fn verified<S: RecordStore>(world: &World<S>, submission: Submission) -> DataSubjectRequest {
        world.clock.advance(jiff::SignedDuration::from_mins(11));
        // What the stream sent after earlier writes is out; then this link.
        world.drain_outbox().await;
        let submitted = world.requests().submit(submission).await.unwrap();
        world.drain_outbox().await;
        let mail = world.mailer.sent_to(&ada()).pop().unwrap();
        let token = crate::testing::verification_token(&mail);
        world.requests().verify(&token).await.unwrap();
        stored(world, &submitted.request_id).await
    }

    async fn stored<S: RecordStore>(world: &World<S>, request_id: &str) -> DataSubjectRequest {
        parse_request(&world.store.get(&request_key(request_id)).await.unwrap().unwrap()).unwrap()
    }

    async fn task<S: RecordStore>(world: &World<S>, task_id: &str) -> SystemTask {
        world.requests().task(task_id).await.unwrap().unwrap().0
    }

    fn systems_of(request: &DataSubjectRequest) -> Vec<(&str, TaskKind)> {
        request
            .tasks
            .iter()
            .map(|task| (task.system.as_str(), task.kind))
            .collect()
    }

    fn answer(status: &str) -> TaskAnswer {
        TaskAnswer::parse(&json!({"status": status})).unwrap()
    }

    fn exempt(reason: &str) -> TaskAnswer {
        TaskAnswer::parse(&json!({"status": "exempt", "reason": reason})).unwrap()
    }

    fn system(id: &str) -> Answerer {
        Answerer::System(id.to_owned())
    }

    #[tokio::test]
    async fn a_verified_erasure_creates_one_task_per_other_system_with_only_what_each_needs() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        assert_eq!(
            systems_of(&request),
            [
                ("service", TaskKind::Act),
                ("support_desk", TaskKind::Act),
                ("bookkeeping", TaskKind::Act),
                ("crm", TaskKind::Act),
                ("web_analytics", TaskKind::Act),
            ],
            "every system but this product's own"
        );
        assert!(request.has_event(RequestEventKind::TasksCreated));
        let subject = world.subject_of("ada@example.com");
        let crm = task(&world, &task_id(&request.request_id, "crm")).await;
        assert_eq!(crm.status, TaskStatus::Pending);
        assert_eq!(
            crm.payload,
            Some(TaskPayload {
                subject_key: subject.as_str().to_owned(),
                email: Some("ada@example.com".to_owned()),
                corrections: None,
            })
        );
        let analytics = task(&world, &task_id(&request.request_id, "web_analytics")).await;
        assert_eq!(
            analytics.payload.unwrap().email,
            None,
            "the analytics supplier does not key by address: it gets none"
        );
        // Due a week before the request, so that the answer can be put together.
        assert_eq!(crm.due_on, request.due_on.checked_sub(7.days()).unwrap());
    }

    #[tokio::test]
    async fn task_records_sit_under_the_request_and_only_event_and_webhook_systems_are_listed_for_hand_over() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let tasks = world.requests().tasks_of(&request.request_id).await.unwrap();
        assert_eq!(tasks.len(), 5, "one Query of the request's partition");
        let mut listed = Vec::new();
        for shard in 0..DELIVERY_SHARDS {
            let query = Query::Partition {
                partition: delivery_partition(shard),
                sort_prefix: String::new(),
            };
            for record in crate::store::query_all(&world.store, &query).await.unwrap() {
                assert_eq!(record.subject, None);
                let stored = serde_json::to_string(&record.attributes).unwrap();
                assert!(
                    !stored.contains("ada@example.com"),
                    "the address is read from the task at hand-over, never kept in the outbox: {stored}"
                );
                listed.push(record.key.sort);
            }
        }
        listed.sort();
        let mut expected: Vec<String> = ["crm", "service", "support_desk"]
            .iter()
            .map(|system| task_id(&request.request_id, system))
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "manual systems wait for the team");
        // Not on the subject index: an erasure does not erase its own tasks.
        let subject = world.subject_of("ada@example.com");
        let about_ada = crate::store::query_all(&world.store, &Query::Subject(subject))
            .await
            .unwrap();
        assert!(about_ada.iter().all(|record| record.entity != entity::DSR_TASK));
    }

    #[tokio::test]
    async fn once_an_erasures_tasks_have_all_ended_the_address_is_nowhere_in_the_table() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let connector = Flaky::failing(0);
        let far = world.now() + jiff::SignedDuration::from_hours(1);
        let handed = world
            .requests()
            .deliver_tasks(&connector, delivery::RetryPolicy::default(), far)
            .await
            .unwrap();
        assert_eq!(handed.sent, 3);
        let anywhere = |world: &World| {
            world
                .store
                .snapshot()
                .into_iter()
                .filter(|record| {
                    serde_json::to_string(&record.attributes)
                        .unwrap()
                        .contains("ada@example.com")
                })
                .map(|record| record.entity)
                .collect::<Vec<_>>()
        };
        assert!(
            anywhere(&world).iter().all(|entity| entity == entity::DSR_TASK),
            "only the open tasks of systems that key by address hold it: {:?}",
            anywhere(&world)
        );
        answer_all_but(&world, &request, "").await;
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::Completed
        );
        assert_eq!(anywhere(&world), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_request_rejected_with_tasks_open_leaves_no_address_in_them_and_hands_none_over() {
        let world = world();
        let request = verified(&world, submission(RequestType::Restriction)).await;
        assert_eq!(request.status, RequestStatus::AwaitingTeam);
        world
            .requests()
            .reject(&request.request_id, "Not a request we can act on.", "sub-1")
            .await
            .unwrap();
        for summary in &request.tasks {
            let record = world
                .store
                .get(&task_key(&request.request_id, &summary.system))
                .await
                .unwrap()
                .unwrap();
            let text = serde_json::to_string(&record.attributes).unwrap();
            assert!(!text.contains("ada@example.com"), "{text}");
            assert!(record.expires_at.is_some(), "kept as long as the closed request");
            assert_eq!(world.store.get(&delivery_key(&summary.task_id)).await.unwrap(), None);
        }
        let connector = Flaky::failing(0);
        let far = world.now() + jiff::SignedDuration::from_hours(1);
        let run = world
            .requests()
            .deliver_tasks(&connector, delivery::RetryPolicy::default(), far)
            .await
            .unwrap();
        assert_eq!(run.sent, 0, "nothing handed over for a rejected request");
    }

    #[tokio::test]
    async fn which_systems_a_request_concerns_depends_on_its_type() {
        let world = world();
        let portability = verified(&world, submission(RequestType::Portability)).await;
        assert_eq!(
            systems_of(&portability)
                .iter()
                .map(|(system, _)| *system)
                .collect::<Vec<_>>(),
            ["service", "support_desk", "crm", "web_analytics"],
            "Art. 20 covers data on consent or contract: not the bookkeeping's legal obligation"
        );
        let mut objection = submission(RequestType::Objection);
        objection.scope = Some(ObjectionScope::Processing);
        let objection = verified(&world, objection).await;
        assert_eq!(
            systems_of(&objection)
                .iter()
                .map(|(system, _)| *system)
                .collect::<Vec<_>>(),
            ["service", "crm"],
            "Art. 21(1): only what is processed on legitimate interest (security logs, prospects)"
        );
    }

    #[tokio::test]
    async fn an_objection_to_marketing_or_a_ccpa_opt_out_asks_the_prospect_crm_and_completes_on_its_answer() {
        let world = world();
        for (request_type, scope) in [
            (RequestType::Objection, Some(ObjectionScope::Marketing)),
            (RequestType::CcpaOptOut, None),
        ] {
            let mut opt_out = submission(request_type);
            opt_out.scope = scope;
            let submitted = world.requests().submit(opt_out).await.unwrap();
            let request = stored(&world, &submitted.request_id).await;
            assert_eq!(
                systems_of(&request),
                [("crm", TaskKind::Act)],
                "{request_type:?}: only the system holding prospects"
            );
            assert!(
                request.has_event(RequestEventKind::MarketingStopped),
                "acted on at once"
            );
            assert_eq!(request.status, RequestStatus::InProgress);
            let crm = task(&world, &request.tasks[0].task_id).await;
            assert_eq!(
                crm.payload.as_ref().and_then(|payload| payload.email.as_deref()),
                Some("ada@example.com"),
                "the CRM keys by address"
            );
            // Listed for hand-over like any webhook task.
            let listed = world.store.get(&delivery_key(&crm.task_id)).await.unwrap();
            assert!(listed.is_some());
            world
                .requests()
                .answer_task(&crm.task_id, &answer("done"), &system("crm"))
                .await
                .unwrap();
            assert_eq!(
                stored(&world, &submitted.request_id).await.status,
                RequestStatus::Completed
            );
        }
    }

    #[tokio::test]
    async fn a_rectification_carries_its_corrections_and_a_new_address_only_to_systems_that_key_by_address() {
        let world = world();
        let mut rectification = submission(RequestType::Rectification);
        rectification.corrections = Some(Corrections {
            name: Some(PersonName::parse("name", "Ada King").unwrap()),
            email: Some("ada.king@example.com".to_owned()),
        });
        let request = verified(&world, rectification).await;
        let crm = task(&world, &task_id(&request.request_id, "crm")).await;
        let corrections = crm.payload.unwrap().corrections.unwrap();
        assert_eq!(corrections.email.as_deref(), Some("ada.king@example.com"));
        let analytics = task(&world, &task_id(&request.request_id, "web_analytics")).await;
        let corrections = analytics.payload.unwrap().corrections.unwrap();
        assert_eq!(corrections.email, None);
        assert!(corrections.name.is_some());
    }

    /// The standard register with an independent recipient (another controller) reached by a manual system.
    fn with_partner(world: World) -> World {
        let mut document: serde_json::Value = serde_json::to_value(world.register.document()).unwrap();
        document["recipients"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "partner", "name": "Event partner", "role": "controller", "location": "EU"}));
        document["systems"].as_array_mut().unwrap().push(json!({
            "id": "partner_contact",
            "name": "Event partner's contact",
            "holds": ["prospects"],
            "role": "recipient",
            "recipient": "partner",
            "access": {"via": "manual", "instructions": "Mail the partner's privacy contact about the request."}
        }));
        let register = crate::register::Register::from_json(&document.to_string()).unwrap();
        world.with_register(register)
    }

    #[tokio::test]
    async fn recipients_hear_of_an_erasure_rectification_or_restriction_and_are_never_told_to_act() {
        let world = with_partner(world());
        let erasure = verified(&world, submission(RequestType::Erasure)).await;
        assert!(systems_of(&erasure).contains(&("partner_contact", TaskKind::Notify)));
        assert!(
            systems_of(&erasure).contains(&("support_desk", TaskKind::Act)),
            "a processor is told to act: that tells it"
        );
        // The reply names the recipients told (Art. 19, second sentence).
        let reply = world
            .mailer
            .sent_to(&ada())
            .into_iter()
            .find(|mail| mail.subject == "Your data is erased")
            .expect("the erasure's reply");
        assert!(
            reply
                .text
                .contains("(GDPR Art. 19): Support tooling suppliers; Web analytics suppliers; Event partner."),
            "{}",
            reply.text
        );
        let told = recipients_told(&world.register, RequestType::Erasure, &erasure.tasks);
        assert_eq!(
            told.iter().map(|entry| entry.system.as_str()).collect::<Vec<_>>(),
            ["support_desk", "web_analytics", "partner_contact"]
        );
        let restriction = verified(&world, submission(RequestType::Restriction)).await;
        assert!(systems_of(&restriction).contains(&("partner_contact", TaskKind::Notify)));
        let access = verified(&world, submission(RequestType::Access)).await;
        assert!(
            !systems_of(&access)
                .iter()
                .any(|(system, _)| *system == "partner_contact"),
            "an access request asks another controller nothing"
        );
        assert!(recipients_told(&world.register, RequestType::Access, &access.tasks).is_empty());
    }

    #[tokio::test]
    async fn the_request_completes_only_when_every_task_has_ended() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        assert_eq!(
            request.status,
            RequestStatus::InProgress,
            "this product erased; the others have not answered"
        );
        assert!(request.own_part_done && request.has_event(RequestEventKind::AwaitingSystems));
        let ids: Vec<String> = request.tasks.iter().map(|task| task.task_id.clone()).collect();
        let requests = world.requests();
        for (index, id) in ids.iter().enumerate() {
            let (_, system_id) = parse_task_id(id).unwrap();
            let by = system(system_id);
            let reply = if system_id == "bookkeeping" {
                exempt("Bokföringslagen 7:2: invoices kept for 7 years")
            } else {
                answer("done")
            };
            let summary = requests.answer_task(id, &reply, &by).await.unwrap();
            assert!(summary.status.has_ended());
            let now = stored(&world, &request.request_id).await;
            if index + 1 < ids.len() {
                assert_eq!(now.status, RequestStatus::InProgress, "after {id}");
            } else {
                assert_eq!(now.status, RequestStatus::Completed);
                assert!(now.closed_at.is_some());
                let bookkeeping = now.tasks.iter().find(|task| task.system == "bookkeeping").unwrap();
                assert_eq!(bookkeeping.status, TaskStatus::Exempt);
                assert_eq!(
                    bookkeeping.reason.as_deref(),
                    Some("Bokföringslagen 7:2: invoices kept for 7 years")
                );
            }
        }
        // An ended task keeps no payload, and is kept as long as a closed request.
        let ended = world.requests().task(&ids[0]).await.unwrap().unwrap().0;
        assert_eq!(ended.payload, None);
        assert_eq!(ended.answered_by.as_deref(), Some("system:service"));
    }

    #[tokio::test]
    async fn a_second_answer_an_unknown_task_or_another_systems_answer_changes_nothing() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let crm = task_id(&request.request_id, "crm");
        let requests = world.requests();
        assert!(matches!(
            requests
                .answer_task(&crm, &answer("done"), &system("support_desk"))
                .await,
            Err(TaskError::UnknownTask)
        ));
        requests
            .answer_task(&crm, &answer("not_found"), &system("crm"))
            .await
            .unwrap();
        let before = world.store.get(&task_key(&request.request_id, "crm")).await.unwrap();
        assert!(matches!(
            requests.answer_task(&crm, &answer("done"), &system("crm")).await,
            Err(TaskError::AlreadyAnswered)
        ));
        assert_eq!(
            world.store.get(&task_key(&request.request_id, "crm")).await.unwrap(),
            before
        );
        let unknown = task_id("8c1c2f3e-1111-4a4a-9b9b-0123456789ab", "crm");
        assert!(matches!(
            requests.answer_task(&unknown, &answer("done"), &system("crm")).await,
            Err(TaskError::UnknownTask)
        ));
        assert!(matches!(
            requests
                .answer_task("not-a-task", &answer("done"), &system("crm"))
                .await,
            Err(TaskError::UnknownTask)
        ));
    }

    #[tokio::test]
    async fn the_team_cannot_complete_while_tasks_are_open_unless_each_is_exempt_with_a_reason() {
        let world = world();
        let request = verified(&world, submission(RequestType::Restriction)).await;
        assert_eq!(request.status, RequestStatus::AwaitingTeam);
        let requests = world.requests();
        assert!(matches!(
            requests.complete(&request.request_id, "done", "sub-1").await,
            Err(DsrError::TasksOpen)
        ));
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::AwaitingTeam
        );
        for summary in &request.tasks {
            let team = Answerer::Team("sub-1".to_owned());
            requests
                .answer_task(&summary.task_id, &exempt("Art. 18(2): kept for legal claims"), &team)
                .await
                .unwrap();
        }
        let closed = requests.complete(&request.request_id, "done", "sub-1").await.unwrap();
        assert_eq!(closed.status, RequestStatus::Completed);
        let answered = closed
            .events
            .iter()
            .filter(|event| event.event == RequestEventKind::SystemAnswered)
            .collect::<Vec<_>>();
        assert_eq!(answered.len(), 5);
        assert!(
            answered.iter().all(|event| event.by == "sub-1"),
            "who answered is recorded"
        );
    }

    #[test]
    fn an_answer_is_refused_naming_the_field() {
        let refused = |body: serde_json::Value| TaskAnswer::parse(&body).unwrap_err().field.unwrap_or_default();
        assert_eq!(refused(json!({})), "status");
        assert_eq!(refused(json!({"status": "maybe"})), "status");
        assert_eq!(refused(json!({"status": 3})), "status");
        assert_eq!(
            refused(json!({"status": "exempt"})),
            "reason",
            "an exemption names its reason"
        );
        assert_eq!(refused(json!({"status": "exempt", "reason": "  "})), "reason");
        assert_eq!(refused(json!({"status": "done", "reason": 5})), "reason");
        assert_eq!(refused(json!({"status": "done", "data": "text"})), "data");
        assert_eq!(refused(json!({"status": "not_found", "data": {}})), "data");
        assert_eq!(refused(json!({"status": "done", "extra": 1})), "extra");
        assert_eq!(refused(json!([1])), "body");
        assert!(TaskAnswer::parse(&json!({"status": "done", "data": {"account": {"plan": "pro"}}})).is_ok());
    }

    #[tokio::test]
    async fn an_access_request_is_answered_once_every_system_has_with_each_systems_file() {
        let world = world();
        let request = verified(&world, submission(RequestType::Access)).await;
        assert_eq!(request.status, RequestStatus::InProgress);
        assert!(
            !world
                .mailer
                .sent_to(&ada())
                .iter()
                .any(|mail| !mail.attachments.is_empty()),
            "the export waits for the other systems"
        );
        let requests = world.requests();
        let service = task_id(&request.request_id, "service");
        let data = TaskAnswer::parse(&json!({"status": "done", "data": {"account": {"plan": "pro"}}})).unwrap();
        requests.answer_task(&service, &data, &system("service")).await.unwrap();
        // Data only answers an access request.
        for summary in request.tasks.iter().filter(|task| task.task_id != service) {
            let (_, id) = parse_task_id(&summary.task_id).unwrap();
            requests
                .answer_task(&summary.task_id, &answer("not_found"), &system(id))
                .await
                .unwrap();
        }
        let done = stored(&world, &request.request_id).await;
        assert_eq!(done.status, RequestStatus::Completed);
        let export: Mail = world
            .mailer
            .sent_to(&ada())
            .into_iter()
            .find(|mail| !mail.attachments.is_empty())
            .expect("the export");
        let names: Vec<&str> = export.attachments.iter().map(|file| file.filename.as_str()).collect();
        assert!(names.contains(&"personal-data.json"), "{names:?}");
        let file = export
            .attachments
            .iter()
            .find(|file| file.filename == "system-service.json")
            .expect("the Service's own file");
        let file: serde_json::Value = serde_json::from_slice(&file.content).unwrap();
        assert_eq!(file["data"], json!({"account": {"plan": "pro"}}));
        assert_eq!(file["status"], "done");
        let crm: serde_json::Value = serde_json::from_slice(
            &export
                .attachments
                .iter()
                .find(|file| file.filename == "system-crm.json")
                .unwrap()
                .content,
        )
        .unwrap();
        assert_eq!(crm["status"], "not_found");
    }

    /// The task records (and only those) whose stored text contains `text`.
    fn tasks_holding(world: &World, text: &str) -> Vec<String> {
        world
            .store
            .snapshot()
            .into_iter()
            .filter(|record| record.entity == entity::DSR_TASK)
            .filter(|record| serde_json::to_string(&record.attributes).unwrap().contains(text))
            .map(|record| record.key.sort)
            .collect()
    }

    #[tokio::test]
    async fn a_systems_returned_data_leaves_its_task_in_the_write_that_mails_the_export() {
        let world = world();
        let request = verified(&world, submission(RequestType::Access)).await;
        let requests = world.requests();
        let service = task_id(&request.request_id, "service");
        let data = TaskAnswer::parse(&json!({"status": "done", "data": {"account": {"plan": "pro-7731"}}})).unwrap();
        requests.answer_task(&service, &data, &system("service")).await.unwrap();
        assert_eq!(
            tasks_holding(&world, "pro-7731"),
            vec!["TASK#service"],
            "kept until the export is built"
        );
        answer_all_but(&world, &request, "service").await;
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::Completed
        );
        assert_eq!(exports(&world), 1);
        assert_eq!(tasks_holding(&world, "pro-7731"), Vec::<String>::new());
        let kept = task(&world, &service).await;
        assert_eq!(kept.data, None);
        assert_eq!(kept.status, TaskStatus::Done, "the record of compliance stays");
        assert!(kept.ended_at.is_some());
        assert_eq!(kept.answered_by.as_deref(), Some("system:service"));
        let record = world
            .store
            .get(&task_key(&request.request_id, "service"))
            .await
            .unwrap()
            .unwrap();
        assert!(record.expires_at.is_some(), "kept as long as the closed request");
    }

    #[tokio::test]
    async fn returned_data_too_large_to_mail_stays_for_the_team_until_it_completes_the_request() {
        let world = world();
        let request = verified(&world, submission(RequestType::Access)).await;
        let requests = world.requests();
        let service = task_id(&request.request_id, "service");
        let large = "x".repeat(crate::dsr::export::MAX_EXPORT_BYTES);
        let data = TaskAnswer::parse(&json!({"status": "done", "data": {"marker": "pro-7731", "log": large}})).unwrap();
        requests.answer_task(&service, &data, &system("service")).await.unwrap();
        answer_all_but(&world, &request, "service").await;
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::AwaitingTeam
        );
        assert_eq!(exports(&world), 0, "too large to mail");
        assert_eq!(
            tasks_holding(&world, "pro-7731"),
            vec!["TASK#service"],
            "the team delivers it"
        );
        requests
            .complete(&request.request_id, "Delivered by secure transfer.", "sub-1")
            .await
            .unwrap();
        assert_eq!(tasks_holding(&world, "pro-7731"), Vec::<String>::new());
        assert_eq!(task(&world, &service).await.status, TaskStatus::Done);
    }

    #[tokio::test]
    async fn an_access_request_rejected_after_a_system_returned_data_leaves_none_in_its_tasks() {
        let world = world();
        let request = verified(&world, submission(RequestType::Access)).await;
        let requests = world.requests();
        let service = task_id(&request.request_id, "service");
        let data = TaskAnswer::parse(&json!({"status": "done", "data": {"account": {"plan": "pro-7731"}}})).unwrap();
        requests.answer_task(&service, &data, &system("service")).await.unwrap();
        requests
            .reject(&request.request_id, "Not a request we can act on.", "sub-1")
            .await
            .unwrap();
        assert_eq!(exports(&world), 0);
        assert_eq!(tasks_holding(&world, "pro-7731"), Vec::<String>::new());
        assert_eq!(tasks_holding(&world, "ada@example.com"), Vec::<String>::new());
        assert_eq!(task(&world, &service).await.status, TaskStatus::Done);
    }

    #[tokio::test]
    async fn data_is_refused_on_an_answer_to_anything_but_an_access_request() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let crm = task_id(&request.request_id, "crm");
        let data = TaskAnswer::parse(&json!({"status": "done", "data": {"x": 1}})).unwrap();
        assert!(matches!(
            world.requests().answer_task(&crm, &data, &system("crm")).await,
            Err(TaskError::DataNotExpected)
        ));
        assert_eq!(task(&world, &crm).await.status, TaskStatus::Pending);
    }

    #[test]
    fn task_ids_name_their_record_and_nothing_else_parses() {
        let id = task_id("8c1c2f3e-1111-4a4a-9b9b-0123456789ab", "support_desk");
        assert_eq!(
            parse_task_id(&id),
            Some(("8c1c2f3e-1111-4a4a-9b9b-0123456789ab", "support_desk"))
        );
        assert_eq!(
            task_key("8c1c2f3e-1111-4a4a-9b9b-0123456789ab", "support_desk"),
            RecordKey::new("DSR#8c1c2f3e-1111-4a4a-9b9b-0123456789ab", "TASK#support_desk")
        );
        for bad in [
            "",
            "x.crm",
            "8c1c2f3e-1111-4a4a-9b9b-0123456789ab.",
            "8c1c2f3e-1111-4a4a-9b9b-0123456789ab.CRM",
            "8c1c2f3e-1111-4a4a-9b9b-0123456789ab.a/b",
        ] {
            assert_eq!(parse_task_id(bad), None, "{bad}");
        }
    }

    /// A connector that fails as often as told, then accepts, and keeps what it accepted.
    struct Flaky {
        failures: Mutex<u32>,
        accepted: Mutex<Vec<TaskMessage>>,
    }

    impl Flaky {
        fn failing(times: u32) -> Self {
            Self {
                failures: Mutex::new(times),
                accepted: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait::async_trait]
    impl TaskConnector for Flaky {
        async fn hand_over(&self, _system: &System, message: &TaskMessage) -> Result<(), HandOverError> {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(HandOverError("status 500".to_owned()));
            }
            self.accepted.lock().unwrap().push(message.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn tasks_are_handed_over_once_with_backoff_and_marked_sent() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        // Three failures (each system's first try, in some order), then acceptance.
        let connector = Flaky::failing(3);
        let policy = RetryPolicy::default();
        let far = world.now() + jiff::SignedDuration::from_hours(1);
        let requests = world.requests();
        let first = requests.deliver_tasks(&connector, policy, far).await.unwrap();
        assert_eq!((first.sent, first.retrying), (0, 3));
        let again = requests.deliver_tasks(&connector, policy, far).await.unwrap();
        assert_eq!((again.sent, again.waiting), (0, 3), "not before the backoff");
        world.clock.advance(jiff::SignedDuration::from_secs(61));
        let later = requests
            .deliver_tasks(&connector, policy, far + jiff::SignedDuration::from_hours(1))
            .await
            .unwrap();
        assert_eq!(later.sent, 3);
        let accepted = connector.accepted.lock().unwrap().clone();
        let mut systems: Vec<&str> = accepted.iter().map(|message| message.system.as_str()).collect();
        systems.sort();
        assert_eq!(systems, ["crm", "service", "support_desk"], "each once");
        let crm = accepted.iter().find(|message| message.system == "crm").unwrap();
        assert_eq!(crm.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            crm.answer_url,
            format!("https://privacy.example.com/systems/tasks/{}", crm.task_id)
        );
        assert_eq!(task(&world, &crm.task_id).await.status, TaskStatus::Sent);
        let stored = stored(&world, &request.request_id).await;
        let statuses: Vec<(&str, TaskStatus)> = stored.tasks.iter().map(|t| (t.system.as_str(), t.status)).collect();
        assert!(
            statuses.contains(&("crm", TaskStatus::Sent)) && statuses.contains(&("bookkeeping", TaskStatus::Pending))
        );
        // Nothing is left to hand over.
        world.clock.advance(jiff::SignedDuration::from_hours(2));
        let idle = requests
            .deliver_tasks(&connector, policy, world.now() + jiff::SignedDuration::from_hours(1))
            .await
            .unwrap();
        assert_eq!((idle.sent, idle.retrying, idle.waiting), (0, 0, 0));
    }

    #[tokio::test]
    async fn a_task_that_cannot_be_handed_over_is_dead_lettered_as_failed_and_left_to_the_team() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let connector = Flaky::failing(u32::MAX);
        let policy = RetryPolicy {
            first: jiff::SignedDuration::from_secs(10),
            cap: jiff::SignedDuration::from_secs(40),
            attempts: 4,
        };
        assert_eq!(
            [1, 2, 3, 4, 9].map(|n| policy.backoff(n).as_secs()),
            [10, 20, 40, 40, 40],
            "doubling, capped"
        );
        for _ in 0..4 {
            let far = world.now() + jiff::SignedDuration::from_hours(1);
            world.requests().deliver_tasks(&connector, policy, far).await.unwrap();
            world.clock.advance(jiff::SignedDuration::from_secs(41));
        }
        let crm = task(&world, &task_id(&request.request_id, "crm")).await;
        assert_eq!((crm.status, crm.attempts), (TaskStatus::Failed, 4));
        assert_eq!(crm.last_error.as_deref(), Some("status 500"));
        let stored_request = stored(&world, &request.request_id).await;
        assert!(stored_request.has_event(RequestEventKind::TaskFailed));
        assert_eq!(
            stored_request.status,
            RequestStatus::InProgress,
            "a failed task has not ended"
        );
        // The team records what the system said.
        world
            .requests()
            .answer_task(&crm.task_id, &answer("done"), &Answerer::Team("sub-1".to_owned()))
            .await
            .unwrap();
        assert_eq!(task(&world, &crm.task_id).await.status, TaskStatus::Done);
    }

    #[tokio::test]
    async fn the_queue_shows_each_task_and_overdue_ones_are_marked() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let queue = world.requests().queue(None, None).await.unwrap();
        let entry = queue
            .iter()
            .find(|entry| entry.request_id == request.request_id)
            .unwrap();
        assert_eq!(entry.tasks.len(), 5);
        let today = world.now().to_zoned_datetime(world.register.time_zone().clone()).date();
        assert!(entry.tasks.iter().all(|task| !task.is_overdue(today)));
        let late = entry.tasks[0].due_on.checked_add(1.day()).unwrap();
        assert!(entry.tasks.iter().all(|task| task.is_overdue(late)));
    }

    #[tokio::test]
    async fn a_deployment_that_asks_no_other_system_completes_as_before() {
        let world = World::at("2027-03-10T09:00:00Z");
        let request = verified(&world, submission(RequestType::Erasure)).await;
        assert!(request.tasks.is_empty());
        assert_eq!(request.status, RequestStatus::Completed);
    }

    #[tokio::test]
    async fn the_digest_reads_which_tasks_are_overdue_from_the_queue() {
        let world = world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        // A week before the request is due, the tasks are overdue.
        let task_due = request.tasks[0].due_on;
        let today = task_due.checked_add(1.day()).unwrap();
        let now = today
            .to_zoned_datetime(world.register.time_zone().clone())
            .unwrap()
            .timestamp();
        let through = today.checked_add(7.days()).unwrap();
        let entries = crate::dsr::queue::due_requests(&world.store, now, today, through, world.register.time_zone())
            .await
            .unwrap();
        let entry = entries
            .iter()
            .find(|entry| entry.request_id == request.request_id)
            .unwrap();
        assert_eq!(entry.overdue_tasks.len(), 5);
        // Answered tasks are no longer listed.
        for summary in &request.tasks {
            let (_, id) = parse_task_id(&summary.task_id).unwrap();
            world
                .requests()
                .answer_task(&summary.task_id, &answer("done"), &system(id))
                .await
                .unwrap();
        }
        let entries = crate::dsr::queue::due_requests(&world.store, now, today, through, world.register.time_zone())
            .await
            .unwrap();
        assert!(entries.iter().all(|entry| entry.overdue_tasks.is_empty()));
    }

    /// A store whose writes that complete a request fail while it is armed:
    /// the completion after the last answer fails half-way, after the
    /// answer itself is stored.
    struct FailingCompletion {
        inner: crate::store::memory::MemoryStore,
        armed: std::sync::atomic::AtomicBool,
    }

    impl FailingCompletion {
        fn arm(&self, armed: bool) {
            self.armed.store(armed, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[async_trait::async_trait]
    impl RecordStore for FailingCompletion {
        async fn get(&self, key: &RecordKey) -> Result<Option<Record>, crate::store::StoreError> {
            self.inner.get(key).await
        }
        async fn write(&self, writes: Vec<Write>) -> Result<(), crate::store::StoreError> {
            let completes = writes.iter().any(|write| {
                matches!(write, Write::Put { record, .. } if record.entity == entity::DSR_REQUEST
                    && record.attributes.get("status").and_then(Value::as_str) == Some("completed"))
            });
            if completes && self.armed.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::store::StoreError::Unavailable("injected".to_owned()));
            }
            self.inner.write(writes).await
        }
        async fn query(
            &self,
            query: &Query,
            limit: usize,
            cursor: Option<crate::store::Cursor>,
        ) -> Result<crate::store::Page, crate::store::StoreError> {
            self.inner.query(query, limit, cursor).await
        }
        async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), crate::store::StoreError> {
            self.inner.delete_all(keys).await
        }
    }

    fn failing_world() -> World<FailingCompletion> {
        let store = FailingCompletion {
            inner: crate::store::memory::MemoryStore::new(),
            armed: std::sync::atomic::AtomicBool::new(false),
        };
        World::on(store, crate::testing::timestamp("2027-03-10T09:00:00Z")).asking_every_system()
    }

    /// Answers every task of the request but `last`, as its own system.
    async fn answer_all_but<S: RecordStore>(world: &World<S>, request: &DataSubjectRequest, last: &str) -> String {
        let mut last_id = String::new();
        for summary in &request.tasks {
            let (_, id) = parse_task_id(&summary.task_id).unwrap();
            if id == last {
                last_id = summary.task_id.clone();
                continue;
            }
            world
                .requests()
                .answer_task(&summary.task_id, &answer("not_found"), &system(id))
                .await
                .unwrap();
        }
        last_id
    }

    fn exports<S>(world: &World<S>) -> usize {
        world
            .mailer
            .sent_to(&ada())
            .iter()
            .filter(|mail| !mail.attachments.is_empty())
            .count()
    }

    #[tokio::test]
    async fn a_completion_that_fails_after_the_last_answer_is_done_by_the_next_scheduled_run_once() {
        let world = failing_world();
        let request = verified(&world, submission(RequestType::Access)).await;
        let last = answer_all_but(&world, &request, "crm").await;
        world.store.arm(true);
        let failed = world
            .requests()
            .answer_task(&last, &answer("done"), &system("crm"))
            .await;
        assert!(
            matches!(failed, Err(TaskError::Request(DsrError::Store(_)))),
            "{failed:?}"
        );
        world.store.arm(false);
        assert_eq!(
            task(&world, &last).await.status,
            TaskStatus::Done,
            "the answer is stored"
        );
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::InProgress
        );
        assert_eq!(exports(&world), 0);
        // The outbox's scheduled run completes it, with the export, once.
        let far = world.now() + jiff::SignedDuration::from_hours(1);
        assert_eq!(world.requests().resume_fulfilment(far).await.unwrap(), 1);
        let done = stored(&world, &request.request_id).await;
        assert_eq!(done.status, RequestStatus::Completed);
        assert_eq!(exports(&world), 1);
        assert_eq!(
            world.requests().resume_fulfilment(far).await.unwrap(),
            0,
            "nothing left listed"
        );
        assert!(matches!(
            world
                .requests()
                .answer_task(&last, &answer("done"), &system("crm"))
                .await,
            Err(TaskError::AlreadyAnswered)
        ));
        assert_eq!(exports(&world), 1, "completed once");
        let completed = stored(&world, &request.request_id)
            .await
            .events
            .iter()
            .filter(|event| event.event == RequestEventKind::ExportSent)
            .count();
        assert_eq!(completed, 1);
    }

    #[tokio::test]
    async fn a_repeated_answer_completes_a_request_whose_completion_failed() {
        let world = failing_world();
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let last = answer_all_but(&world, &request, "service").await;
        world.store.arm(true);
        assert!(world
            .requests()
            .answer_task(&last, &answer("done"), &system("service"))
            .await
            .is_err());
        world.store.arm(false);
        assert_eq!(
            stored(&world, &request.request_id).await.status,
            RequestStatus::InProgress
        );
        // The system, having seen an error, sends its answer again.
        assert!(matches!(
            world
                .requests()
                .answer_task(&last, &answer("done"), &system("service"))
                .await,
            Err(TaskError::AlreadyAnswered)
        ));
        let done = stored(&world, &request.request_id).await;
        assert_eq!(done.status, RequestStatus::Completed);
        assert_eq!(
            done.events
                .iter()
                .filter(|event| event.event == RequestEventKind::Completed)
                .count(),
            1
        );
    }

    /// What happens between the verification's write and its fulfilment's
    /// save: a drain of the outbox hands tasks over, a quick system answers
    /// (in AWS, `mail-outbox` runs on the table's stream), or the team acts.
    enum Meanwhile {
        Nothing,
        Answer(&'static str),
        AnswerAll,
        TeamRejects,
    }

    /// A store that, just before the first save of a request in progress
    /// (its fulfilment's), lets systems answer their tasks through a second
    /// world over the same records.
    struct AnsweringMeanwhile {
        inner: std::sync::Arc<crate::store::memory::MemoryStore>,
        meanwhile: Mutex<Meanwhile>,
    }

    #[async_trait::async_trait]
    impl RecordStore for AnsweringMeanwhile {
        async fn get(&self, key: &RecordKey) -> Result<Option<Record>, crate::store::StoreError> {
            self.inner.get(key).await
        }
        async fn write(&self, writes: Vec<Write>) -> Result<(), crate::store::StoreError> {
            let in_progress = writes.iter().find_map(|write| match write {
                Write::Put { record, .. }
                    if record.entity == entity::DSR_REQUEST
                        && record.attributes.get("status").and_then(Value::as_str) == Some("in_progress") =>
                {
                    record
                        .attributes
                        .get("request_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }
                _ => None,
            });
            if let Some(request_id) = in_progress {
                let meanwhile = std::mem::replace(&mut *self.meanwhile.lock().unwrap(), Meanwhile::Nothing);
                let others = World::on(
                    AnsweringMeanwhile {
                        inner: self.inner.clone(),
                        meanwhile: Mutex::new(Meanwhile::Nothing),
                    },
                    crate::testing::timestamp("2027-03-10T09:11:30Z"),
                )
                .asking_every_system();
                let systems: Vec<String> = match meanwhile {
                    Meanwhile::Nothing => Vec::new(),
                    Meanwhile::TeamRejects => {
                        others
                            .requests()
                            .reject(&request_id, "a duplicate of an earlier request", "team-member-1")
                            .await
                            .unwrap();
                        Vec::new()
                    }
                    Meanwhile::Answer(id) => vec![id.to_owned()],
                    Meanwhile::AnswerAll => others
                        .requests()
                        .tasks_of(&request_id)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|task| task.system)
                        .collect(),
                };
                for id in systems {
                    others
                        .requests()
                        .answer_task(&task_id(&request_id, &id), &answer("not_found"), &system(&id))
                        .await
                        .unwrap();
                }
            }
            self.inner.write(writes).await
        }
        async fn query(
            &self,
            query: &Query,
            limit: usize,
            cursor: Option<crate::store::Cursor>,
        ) -> Result<crate::store::Page, crate::store::StoreError> {
            self.inner.query(query, limit, cursor).await
        }
        async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), crate::store::StoreError> {
            self.inner.delete_all(keys).await
        }
    }

    fn answering_meanwhile(meanwhile: Meanwhile) -> World<AnsweringMeanwhile> {
        let store = AnsweringMeanwhile {
            inner: std::sync::Arc::default(),
            meanwhile: Mutex::new(meanwhile),
        };
        World::on(store, crate::testing::timestamp("2027-03-10T09:00:00Z")).asking_every_system()
    }

    #[tokio::test]
    async fn an_answer_stored_while_a_verified_request_is_fulfilled_is_kept_and_the_verification_succeeds() {
        let world = answering_meanwhile(Meanwhile::Answer("crm"));
        // `verified` unwraps the verification: it failed as a conflict before.
        let request = verified(&world, submission(RequestType::Erasure)).await;
        let crm = request.tasks.iter().find(|task| task.system == "crm").unwrap();
        assert_eq!(crm.status, TaskStatus::NotFound, "the answer is not lost");
        let count = |kind| request.events.iter().filter(|event| event.event == kind).count();
        assert_eq!(count(RequestEventKind::SystemAnswered), 1);
        assert_eq!(count(RequestEventKind::Erased), 1, "nor is what the fulfilment did");
        assert_eq!(
            request.status,
            RequestStatus::InProgress,
            "four systems have not answered"
        );
        assert!(request.own_part_done);
        assert_eq!(request.email, None, "the erasure stripped the request of the address");
    }

    #[tokio::test]
    async fn a_request_whose_every_task_ended_while_it_was_fulfilled_completes_then_with_one_export() {
        let world = answering_meanwhile(Meanwhile::AnswerAll);
        let request = verified(&world, submission(RequestType::Access)).await;
        assert!(request.tasks.iter().all(|task| task.status == TaskStatus::NotFound));
        assert_eq!(request.status, RequestStatus::Completed);
        assert_eq!(exports(&world), 1);
        let listed = world
            .store
            .query(
                &Query::Partition {
                    partition: "FULFILMENT".to_owned(),
                    sort_prefix: String::new(),
                },
                10,
                None,
            )
            .await
            .unwrap();
        assert!(listed.records.is_empty(), "nothing left for the scheduled run");
    }

    #[tokio::test]
    async fn a_team_decision_stored_while_a_request_is_fulfilled_stands_and_the_run_fails_as_a_conflict() {
        let world = answering_meanwhile(Meanwhile::TeamRejects);
        world.clock.advance(jiff::SignedDuration::from_mins(11));
        let submitted = world.requests().submit(submission(RequestType::Access)).await.unwrap();
        world.drain_outbox().await;
        let mail = world.mailer.sent_to(&ada()).pop().unwrap();
        let token = crate::testing::verification_token(&mail);
        let verified = world.requests().verify(&token).await;
        assert!(
            matches!(verified, Err(DsrError::Store(crate::store::StoreError::Conflict))),
            "{verified:?}"
        );
        let request = stored(&world, &submitted.request_id).await;
        assert_eq!(
            request.status,
            RequestStatus::Rejected,
            "the team's decision is not overwritten"
        );
        assert!(
            !request.has_event(RequestEventKind::AwaitingSystems),
            "nor merged with the run's"
        );
        assert_eq!(exports(&world), 0);
    }
}
