//! When the last task of another system ends: the request is answered and completed.

use super::*;
use crate::dsr::tasks::answers::answers_with_export;
use crate::dsr::tasks::{SystemTask, TaskKind};
use crate::mail::Attachment;

impl Fulfilment<'_> {
    /// Completes a request whose own part was done and whose tasks have all
    /// ended: an access request's export is mailed now, with one file per
    /// system (what it returned, or what it said). Does nothing to a request
    /// in any other state (another answer got there first).
    ///
    /// Idempotent: the completion, the mail (queued in the same write), the
    /// removal of each system's returned data from its task (it travels in
    /// the mail; see [`Requests::closing_task_writes`]) and the removal of the request's listing for completion
    /// ([`completion_due`], stored with the last answer) are one write, so a
    /// completion that failed half-way is done again whole by a repeated
    /// answer or the outbox's next scheduled run ([`Fulfilment::resume`]).
    pub(crate) async fn after_systems(&self, request_id: &str) -> Result<(), DsrError> {
        for _ in 0..crate::dsr::ATTEMPTS {
            let now = self.requests.ports.clock.now();
            let Some(stored) = self.requests.live_request(request_id).await? else {
                self.requests
                    .ports
                    .store
                    .write(vec![completion_done(request_id)])
                    .await?;
                return Ok(());
            };
            let mut request = parse_request(&stored)?;
            if !request.own_part_done || request.status != RequestStatus::InProgress || request.has_open_tasks() {
                if request.status.is_closed() {
                    self.requests
                        .ports
                        .store
                        .write(vec![completion_done(request_id)])
                        .await?;
                }
                return Ok(());
            }
            let subject = stored
                .subject
                .clone()
                .ok_or_else(|| DsrError::Corrupt("a request without subject".into()))?;
            let mut mail = None;
            if answers_with_export(request.request_type) {
                let tasks = self.requests.tasks_of(request_id).await?;
                let files = system_files(self.requests.ports.register, &tasks);
                let read = self.read_person(&subject, 0, |_| true).await?;
                let mut records = read.indexed;
                records.extend(read.histories);
                let export = PersonalDataExport::build(self.requests.ports.register, &request, &records, now);
                let bytes =
                    export.attachment().content.len() + files.iter().map(|file| file.content.len()).sum::<usize>();
                if bytes > MAX_EXPORT_BYTES {
                    self.defer_export(&subject, &mut request, &export, bytes).await?;
                } else {
                    let address = request
                        .email
                        .as_deref()
                        .and_then(|email| EmailAddress::parse("email", email).ok());
                    if let Some(address) = &address {
                        let mut export_mail = export.mail(self.requests.ports.register, address, &request);
                        export_mail.attachments.extend(files.iter().cloned());
                        mail = self
                            .requests
                            .outbox()
                            .queue_claimed(export_mail, "dsr_export", &subject);
                    }
                    let note = format!("{} items; {} systems' files", export.items(), files.len());
                    self.close(&mut request, RequestEventKind::ExportSent, Some(note));
                }
            } else {
                request.status = RequestStatus::Completed;
                request.closed_at = Some(now);
                request.events.push(RequestEvent::new(
                    RequestEventKind::Completed,
                    now,
                    "system",
                    Some("every system has answered".to_owned()),
                ));
            }
            let (queued, claimed) = match mail {
                Some((write, claimed)) => (Some(write), Some(claimed)),
                None => (None, None),
            };
            let mut writes: Vec<Write> = std::iter::once(completion_done(request_id)).chain(queued).collect();
            if request.status.is_closed() {
                // The systems' files are in the export just queued: their
                // data leaves the tasks in the same write.
                writes.extend(self.requests.closing_task_writes(&request, now).await?);
            }
            match self
                .requests
                .save_with_writes(&subject, &request, stored.version, writes)
                .await
            {
                Ok(()) => {}
                Err(DsrError::Store(StoreError::Conflict)) => continue,
                Err(error) => return Err(error),
            }
            if let Some(claimed) = claimed {
                self.requests.outbox().send_claimed(claimed).await;
            }
            tracing::info!(request_id, status = request.status.as_str(), "every system answered");
            return Ok(());
        }
        Err(DsrError::Contended)
    }
}

/// One file per system asked to act: what it returned, or what it said.
fn system_files(register: &crate::register::Register, tasks: &[SystemTask]) -> Vec<Attachment> {
    tasks
        .iter()
        .filter(|task| task.kind == TaskKind::Act)
        .map(|task| {
            let name = register
                .document()
                .systems
                .iter()
                .find(|system| system.id == task.system)
                .map(|system| system.name.clone());
            let file = json!({
                "system": task.system,
                "name": name,
                "status": task.status,
                "reason": task.reason,
                "answered_at": task.ended_at,
                "data": task.data,
            });
            Attachment {
                filename: format!("system-{}.json", task.system),
                content_type: "application/json".to_owned(),
                content: serde_json::to_vec_pretty(&file).unwrap_or_default(),
            }
        })
        .collect()
}
