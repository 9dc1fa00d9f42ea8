//! A request as the team's console shows it (`GET /admin/dsr/{id}`), and the
//! team's notes on it (`POST /admin/dsr/{id}/notes`).
//!
//! Notes are free text by a member of the team, and in practice they name
//! people ("called her back", "his lawyer wrote"): they are personal data of
//! the requester (and sometimes of others). So they live on the request's
//! own record, on the person's subject index, and share its fate:
//! - an erasure removes them with the request's address and name (the
//!   record of the request is kept without personal data);
//! - the retention sweep removes them with the address and name 30 days
//!   after the request closes (register: `requests_closed`, `minimise`), and
//!   the record goes at the end of its retention;
//! - they are in the person's access export, as part of the request's
//!   record: Art. 15 covers every piece of personal data about the person,
//!   internal notes and assessments included (CJEU C-434/16 Nowak; EDPB
//!   Guidelines 01/2022 on the right of access). Where a note holds what
//!   another person may keep from the requester (Art. 15(4)), the team
//!   leaves it out of the note.
//! - A note cannot be added once a closed request's personal data is gone.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::*;
use crate::dsr::tasks::{SystemTask, TaskKind, TaskStatus};
use crate::register::entity;
use crate::store::{self, Query};
use crate::FieldError;

/// The most characters of one note.
pub const MAX_NOTE_CHARS: usize = 2000;
/// The most notes on one request (the request is one DynamoDB item).
pub const MAX_NOTES: usize = 50;

/// A note of the team on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestNote {
    pub at: Timestamp,
    /// The team member's `sub`.
    pub by: String,
    pub text: String,
}

/// A note's text, validated: not blank, at most [`MAX_NOTE_CHARS`].
pub fn parse_note(text: &str) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::missing("text"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(FieldError::invalid("text", "A note is at most 2000 characters."));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::invalid("text", "A note holds no control characters."));
    }
    Ok(text.to_owned())
}

/// A mail about the person's requests: its kind and when it left (no address, no content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSent {
    /// The mail's template (`dsr_acknowledgement`, `dsr_export`, …).
    pub kind: String,
    /// `sent` or `rejected`.
    pub status: String,
    pub at: Timestamp,
}

/// A task as the console shows it: no payload, no returned data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub task_id: String,
    pub system: String,
    pub system_name: Option<String>,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub due_on: jiff::civil::Date,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What the team does for a `manual` system (the register's instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// Everything the console shows of one request.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    pub request: DataSubjectRequest,
    pub tasks: Vec<TaskView>,
    pub mails: Vec<MailSent>,
}

impl Requests<'_> {
    /// The request, its tasks and the mails about the person's requests
    /// since it was received. `NotFound` for an unknown or unverified request.
    pub async fn detail(&self, request_id: &str) -> Result<RequestDetail, DsrError> {
        let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
        let request = parse_request(&stored)?;
        if request.status == RequestStatus::AwaitingVerification {
            return Err(DsrError::NotFound);
        }
        let document = self.ports.register.document();
        let tasks = self
            .tasks_of(request_id)
            .await?
            .iter()
            .map(|task: &SystemTask| {
                let system = document.systems.iter().find(|system| system.id == task.system);
                TaskView {
                    task_id: task.task_id.clone(),
                    system: task.system.clone(),
                    system_name: system.map(|system| system.name.clone()),
                    kind: task.kind,
                    status: task.status,
                    due_on: task.due_on,
                    attempts: task.attempts,
                    sent_at: task.sent_at,
                    ended_at: task.ended_at,
                    answered_by: task.answered_by.clone(),
                    reason: task.reason.clone(),
                    last_error: task.last_error.clone(),
                    instructions: system.and_then(|system| {
                        system.instructions.clone().or_else(|| match &system.access {
                            crate::register::SystemAccess::Manual { instructions } => Some(instructions.clone()),
                            _ => None,
                        })
                    }),
                }
            })
            .collect();
        let mails = match &stored.subject {
            Some(subject) => self.mails_since(subject, request.received_at).await?,
            None => Vec::new(),
        };
        Ok(RequestDetail { request, tasks, mails })
    }

    /// The person's mails about requests (templates `dsr_…`) since `since`,
    /// oldest first, from the mail log (one Query of its partition).
    async fn mails_since(&self, subject: &SubjectKey, since: Timestamp) -> Result<Vec<MailSent>, DsrError> {
        let query = Query::Partition {
            partition: format!("MAILLOG#{}", subject.as_str()),
            sort_prefix: String::new(),
        };
        let now = self.ports.clock.now();
        let records = store::query_all(self.ports.store, &query).await?;
        Ok(records
            .iter()
            .filter(|record| record.entity == entity::MAIL_LOG && !record.is_expired(now))
            .filter_map(|record| record.body::<crate::mail::outbox::MailLogEntry>().ok())
            .filter(|log| log.template.starts_with("dsr_") && log.finished_at >= since)
            .map(|log| MailSent {
                kind: log.template,
                status: serde_json::to_value(log.status)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                at: log.finished_at,
            })
            .collect())
    }

    /// Adds the team member's note to a verified request.
    pub async fn add_note(&self, request_id: &str, text: &str, by: &str) -> Result<DataSubjectRequest, NoteError> {
        let text = parse_note(text).map_err(NoteError::Invalid)?;
        for _ in 0..ATTEMPTS {
            let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
            let mut request = parse_request(&stored)?;
            if request.status == RequestStatus::AwaitingVerification {
                return Err(DsrError::NotFound.into());
            }
            if request.status.is_closed() && request.email.is_none() {
                return Err(DsrError::Closed.into());
            }
            if request.notes.len() >= MAX_NOTES {
                return Err(NoteError::TooMany);
            }
            request.notes.push(RequestNote {
                at: self.ports.clock.now(),
                by: by.to_owned(),
                text: text.clone(),
            });
            let subject = stored
                .subject
                .clone()
                .ok_or_else(|| DsrError::Corrupt("a request without subject".into()))?;
            match self.save(&subject, &request, stored.version).await {
                Ok(()) => {
                    tracing::info!(request_id, "note added by the privacy team");
                    return Ok(request);
                }
                Err(DsrError::Store(StoreError::Conflict)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(DsrError::Contended.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("the note is refused: {0:?}")]
    Invalid(FieldError),
    #[error("the request has as many notes as it may hold")]
    TooMany,
    #[error(transparent)]
    Request(#[from] DsrError),
}

impl From<StoreError> for NoteError {
    fn from(error: StoreError) -> Self {
        Self::Request(DsrError::Store(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsr::tasks::answers::{Answerer, TaskAnswer};
    use crate::dsr::Submission;
    use crate::retention::PrivacyTeam;
    use crate::store::RecordStore;
    use crate::testing::{email, World};

    fn submission(request_type: RequestType) -> Submission {
        crate::testing::submission(request_type, "ada@example.com")
    }

    async fn verified(world: &World, request_type: RequestType) -> String {
        // Past the pacing of verification mails.
        world.clock.advance(jiff::SignedDuration::from_mins(11));
        // What the stream sent after earlier writes is out; then this link.
        world.drain_outbox().await;
        let submitted = world.requests().submit(submission(request_type)).await.unwrap();
        world.drain_outbox().await;
        let mail = world.mailer.sent_to(&email("ada@example.com")).pop().unwrap();
        let token = crate::testing::verification_token(&mail);
        world.requests().verify(&token).await.unwrap();
        submitted.request_id
    }

    #[test]
    fn a_note_is_refused_naming_its_field() {
        assert_eq!(parse_note("   ").unwrap_err().field.as_deref(), Some("text"));
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(parse_note(&long).unwrap_err().field.as_deref(), Some("text"));
        assert_eq!(parse_note("a\u{7}b").unwrap_err().field.as_deref(), Some("text"));
        assert_eq!(
            parse_note("  Called her back.\nShe agreed. ").unwrap(),
            "Called her back.\nShe agreed."
        );
        assert!(parse_note(&"x".repeat(MAX_NOTE_CHARS)).is_ok());
    }

    #[tokio::test]
    async fn the_detail_shows_the_timeline_tasks_mails_and_notes() {
        let world = World::at("2027-03-10T09:00:00Z").asking_every_system();
        let id = verified(&world, RequestType::Access).await;
        let requests = world.requests();
        requests
            .add_note(&id, "Ada called: she also has an old account.", "sub-7")
            .await
            .unwrap();
        requests
            .answer_task(
                &crate::dsr::tasks::task_id(&id, "bookkeeping"),
                &TaskAnswer::parse(&serde_json::json!({"status": "not_found"})).unwrap(),
                &Answerer::Team("sub-7".to_owned()),
            )
            .await
            .unwrap();
        let detail = requests.detail(&id).await.unwrap();
        assert!(detail.request.has_event(RequestEventKind::Verified));
        assert_eq!(detail.request.notes.len(), 1);
        assert_eq!(detail.request.notes[0].by, "sub-7");
        assert_eq!(detail.tasks.len(), 5);
        let bookkeeping = detail.tasks.iter().find(|task| task.system == "bookkeeping").unwrap();
        assert_eq!(bookkeeping.status, TaskStatus::NotFound);
        assert_eq!(bookkeeping.answered_by.as_deref(), Some("sub-7"));
        assert!(bookkeeping.instructions.as_deref().unwrap().contains("customer ledger"));
        let kinds: Vec<&str> = detail.mails.iter().map(|mail| mail.kind.as_str()).collect();
        assert!(kinds.contains(&"dsr_acknowledgement"), "{kinds:?}");
        assert!(detail.mails.iter().all(|mail| mail.status == "sent"));
        // Unknown and unverified requests are not shown.
        assert!(matches!(
            requests.detail("8c1c2f3e-1111-4a4a-9b9b-0123456789ab").await,
            Err(DsrError::NotFound)
        ));
        let unverified = requests.submit(submission(RequestType::Source)).await.unwrap();
        assert!(matches!(
            requests.detail(&unverified.request_id).await,
            Err(DsrError::NotFound)
        ));
        assert!(matches!(
            requests.add_note(&unverified.request_id, "x", "sub-7").await,
            Err(NoteError::Request(DsrError::NotFound))
        ));
        assert!(matches!(
            requests.add_note(&id, " ", "sub-7").await,
            Err(NoteError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn notes_are_in_the_access_export_and_an_erasure_removes_them() {
        let world = World::at("2027-03-10T09:00:00Z");
        let first = verified(&world, RequestType::Source).await;
        world
            .requests()
            .add_note(&first, "Ada's lawyer, Mr Babbage, wrote too.", "sub-7")
            .await
            .unwrap();
        // An access request's export holds the note, as part of the person's request record.
        verified(&world, RequestType::Access).await;
        let export = world
            .mailer
            .sent_to(&email("ada@example.com"))
            .into_iter()
            .rev()
            .find(|mail| {
                mail.attachments
                    .iter()
                    .any(|file| file.filename == "personal-data.json")
            })
            .expect("the export");
        let file = &export
            .attachments
            .iter()
            .find(|file| file.filename == "personal-data.json")
            .unwrap()
            .content;
        let file = String::from_utf8_lossy(file);
        assert!(file.contains("Mr Babbage"), "Art. 15 covers the team's notes: {file}");
        // An erasure removes it with the address.
        verified(&world, RequestType::Erasure).await;
        let after = world.store.snapshot();
        assert!(
            !after
                .iter()
                .any(|record| serde_json::to_string(&record.attributes).unwrap().contains("Babbage")),
            "the note is gone"
        );
        let kept = world.requests().detail(&first).await.unwrap();
        assert!(kept.request.notes.is_empty());
        assert!(matches!(
            world.requests().add_note(&first, "more", "sub-7").await,
            Err(NoteError::Request(DsrError::Closed)) | Ok(_)
        ));
    }

    #[tokio::test]
    async fn the_sweep_removes_a_closed_requests_notes_with_its_address_30_days_after_closing() {
        let world = World::at("2027-03-10T09:00:00Z");
        // A request for the source is answered at once; the team notes on the closed request.
        let id = verified(&world, RequestType::Source).await;
        let requests = world.requests();
        requests.add_note(&id, "Ada phoned twice.", "sub-7").await.unwrap();
        let team = PrivacyTeam {
            address: email("team@example.com"),
            subject: world.subject_of("team@example.com"),
        };
        world.clock.advance(jiff::SignedDuration::from_hours(24 * 32));
        let now = world.now();
        // The first runs walk the days from the sweep's first day.
        for _ in 0..3 {
            world
                .sweep(&team)
                .run(now, now + jiff::SignedDuration::from_hours(1))
                .await
                .unwrap();
        }
        let stored = parse_request(&world.store.get(&request_key(&id)).await.unwrap().unwrap()).unwrap();
        assert_eq!(stored.email, None);
        assert!(stored.notes.is_empty(), "notes go with the address");
    }
}
