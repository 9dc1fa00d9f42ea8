//! A system's answer to its task (`POST /systems/tasks/{task_id}`, signed by
//! the system), or the team's for it (`POST /admin/dsr/{id}/tasks/{task_id}`),
//! and what the last answer does to the request.

use serde_json::{Map, Value};

use super::{parse_task_id, task_key, SystemTask, TaskKind, TaskStatus, TaskSummary, TASK_SORT_PREFIX};
use crate::dsr::{
    parse_request, DataSubjectRequest, DsrError, RequestEvent, RequestEventKind, RequestStatus, RequestType, Requests,
    ATTEMPTS,
};
use crate::register::{entity, CategoryId};
use crate::store::{self, Precondition, Query, StoreError, Write};
use crate::FieldError;

/// The most characters of an exemption's reason.
pub const MAX_REASON: usize = 1000;

/// What a system answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStatus {
    Done,
    NotFound,
    Exempt,
}

impl From<AnswerStatus> for TaskStatus {
    fn from(status: AnswerStatus) -> Self {
        match status {
            AnswerStatus::Done => TaskStatus::Done,
            AnswerStatus::NotFound => TaskStatus::NotFound,
            AnswerStatus::Exempt => TaskStatus::Exempt,
        }
    }
}

/// An answer, validated: `{"status": "done"|"not_found"|"exempt", "reason"?, "data"?}`.
#[derive(Clone, PartialEq)]
pub struct TaskAnswer {
    pub status: AnswerStatus,
    /// Required for `exempt`: the legal reason.
    pub reason: Option<String>,
    /// What an access request's system returned.
    pub data: Option<Value>,
}

impl std::fmt::Debug for TaskAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskAnswer")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TaskAnswer {
    /// Reads an answer's JSON body; every refusal names its field.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let object: &Map<String, Value> = body
            .as_object()
            .ok_or_else(|| FieldError::invalid("body", "The body must be a JSON object."))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| !["status", "reason", "data"].contains(&key.as_str()))
        {
            return Err(FieldError::invalid(unknown, "Unknown field."));
        }
        let status = match object.get("status") {
            None | Some(Value::Null) => return Err(FieldError::missing("status")),
            Some(Value::String(text)) => match text.as_str() {
                "done" => AnswerStatus::Done,
                "not_found" => AnswerStatus::NotFound,
                "exempt" => AnswerStatus::Exempt,
                _ => {
                    return Err(FieldError::invalid(
                        "status",
                        "The status is one of done, not_found, exempt.",
                    ))
                }
            },
            Some(_) => return Err(FieldError::invalid("status", "The status is a string.")),
        };
        let reason = match object.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                let text = text.trim();
                if text.chars().count() > MAX_REASON {
                    return Err(FieldError::invalid("reason", "A reason is at most 1000 characters."));
                }
                (!text.is_empty()).then(|| text.to_owned())
            }
            Some(_) => return Err(FieldError::invalid("reason", "The reason is a string.")),
        };
        if status == AnswerStatus::Exempt && reason.is_none() {
            return Err(FieldError::invalid("reason", "An exemption needs its legal reason."));
        }
        let data = match object.get("data") {
            None | Some(Value::Null) => None,
            Some(data @ (Value::Object(_) | Value::Array(_))) => Some(data.clone()),
            Some(_) => return Err(FieldError::invalid("data", "The data is a JSON object or array.")),
        };
        if data.is_some() && status != AnswerStatus::Done {
            return Err(FieldError::invalid("data", "Only a done answer returns data."));
        }
        Ok(Self { status, reason, data })
    }
}

/// Who answers a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answerer {
    /// The system itself, by a request signed with its secret.
    System(String),
    /// A member of the privacy team (their `sub`).
    Team(String),
}

impl Answerer {
    fn name(&self) -> String {
        match self {
            Self::System(id) => format!("system:{id}"),
            Self::Team(sub) => sub.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("no such task")]
    UnknownTask,
    #[error("the task has already been answered")]
    AlreadyAnswered,
    #[error("only a system's answer to an access request returns data")]
    DataNotExpected,
    #[error("the task changed concurrently too many times")]
    Contended,
    #[error(transparent)]
    Request(#[from] DsrError),
}

impl From<StoreError> for TaskError {
    fn from(error: StoreError) -> Self {
        Self::Request(DsrError::Store(error))
    }
}

/// Whether a request of this type is answered with an export.
pub fn answers_with_export(request_type: RequestType) -> bool {
    matches!(
        request_type,
        RequestType::Access | RequestType::Portability | RequestType::Source | RequestType::CcpaKnow
    )
}

impl Requests<'_> {
    /// The live task `task_id` names (one GetItem), with its record's version.
    pub async fn task(&self, task_id: &str) -> Result<Option<(SystemTask, u64)>, DsrError> {
        let Some((request_id, system)) = parse_task_id(task_id) else {
            return Ok(None);
        };
        let now = self.ports.clock.now();
        match self.ports.store.get(&task_key(request_id, system)).await? {
            Some(record) if !record.is_expired(now) && record.entity == entity::DSR_TASK => {
                Ok(Some((record.body()?, record.version)))
            }
            _ => Ok(None),
        }
    }

    /// Every task of a request (one Query of its partition).
    pub async fn tasks_of(&self, request_id: &str) -> Result<Vec<SystemTask>, DsrError> {
        let query = Query::Partition {
            partition: format!("DSR#{request_id}"),
            sort_prefix: TASK_SORT_PREFIX.to_owned(),
        };
        let records = store::query_all(self.ports.store, &query).await?;
        records
            .iter()
            .map(|record| record.body().map_err(DsrError::from))
            .collect()
    }

    /// Records a system's answer to its task (or the team's for it). An
    /// answer to an ended task changes nothing ([`TaskError::AlreadyAnswered`]).
    /// When it is the last open task and this product's part is done, the
    /// request is answered and completed.
    pub async fn answer_task(
        &self,
        task_id: &str,
        answer: &TaskAnswer,
        by: &Answerer,
    ) -> Result<TaskSummary, TaskError> {
        let (request_id, system) = parse_task_id(task_id).ok_or(TaskError::UnknownTask)?;
        if matches!(by, Answerer::System(id) if id != system) {
            return Err(TaskError::UnknownTask);
        }
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            let (mut task, version) = self.task(task_id).await?.ok_or(TaskError::UnknownTask)?;
            if task.status.has_ended() {
                // A repeated answer finishes a completion that failed half-way.
                self.fulfilment().after_systems(request_id).await?;
                return Err(TaskError::AlreadyAnswered);
            }
            if answer.data.is_some() && !(task.kind == TaskKind::Act && answers_with_export(task.request_type)) {
                return Err(TaskError::DataNotExpected);
            }
            task.status = answer.status.into();
            task.reason = answer.reason.clone();
            task.data = answer.data.clone();
            task.ended_at = Some(now);
            task.answered_by = Some(by.name());
            // What the system needed to find the person is no longer needed.
            task.payload = None;
            let mut record = task.record(version + 1);
            self.ports.register.stamp(&mut record, CategoryId::RequestsClosed, now);
            let writes = vec![
                Write::Put {
                    record,
                    precondition: Precondition::Version(version),
                },
                Write::Delete {
                    key: super::delivery_key(task_id),
                    precondition: Precondition::None,
                },
            ];
            let mut note = format!("{}: {}", task.system, task.status.as_str());
            if let Some(reason) = &task.reason {
                note.push_str(&format!(" ({reason})"));
            }
            match self
                .save_task_change(
                    request_id,
                    &task.summary(),
                    writes,
                    Some(RequestEvent::new(
                        RequestEventKind::SystemAnswered,
                        now,
                        &by.name(),
                        Some(note),
                    )),
                )
                .await
            {
                Ok(request) => {
                    tracing::info!(task_id, status = task.status.as_str(), "task answered");
                    if super::all_ended(&request.tasks)
                        && request.own_part_done
                        && request.status == RequestStatus::InProgress
                    {
                        self.fulfilment().after_systems(request_id).await?;
                    }
                    return Ok(task.summary());
                }
                Err(DsrError::Store(StoreError::Conflict)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(TaskError::Contended)
    }

    /// Writes a task's change together with its request's summary of it (and
    /// `event`, when there is one to record) and the queue entry.
    pub(crate) async fn save_task_change(
        &self,
        request_id: &str,
        summary: &TaskSummary,
        task_writes: Vec<Write>,
        event: Option<RequestEvent>,
    ) -> Result<DataSubjectRequest, DsrError> {
        let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
        let mut request = parse_request(&stored)?;
        let subject = stored
            .subject
            .clone()
            .ok_or_else(|| DsrError::Corrupt("a request without subject".into()))?;
        match request.tasks.iter_mut().find(|task| task.task_id == summary.task_id) {
            Some(entry) => *entry = summary.clone(),
            None => request.tasks.push(summary.clone()),
        }
        if let Some(event) = event {
            request.push(event);
        }
        let mut task_writes = task_writes;
        if request.own_part_done && request.status == RequestStatus::InProgress && super::all_ended(&request.tasks) {
            // Listed for completion with the last answer: whatever happens
            // to the completion itself, the next scheduled run finds it.
            task_writes.push(crate::dsr::fulfilment::completion_due(request_id, &subject));
        }
        self.save_with_writes(&subject, &request, stored.version, task_writes)
            .await?;
        Ok(request)
    }
}
