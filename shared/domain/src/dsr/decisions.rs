//! The privacy team's decisions: extend, complete, reject.

use super::*;

impl Requests<'_> {
    /// Extends the deadline to the earliest of the applicable laws' extended
    /// dates (GDPR: two more months after the first due date; CCPA: 45 more
    /// days; Nevada: 30 more days), with a notice and the reasons mailed
    /// before the first deadline passes.
    pub async fn extend(&self, request_id: &str, reason: &str, by: &str) -> Result<DataSubjectRequest, DsrError> {
        self.decide(
            request_id,
            RequestEventKind::Extended,
            reason,
            by,
            |request, now, register| {
                let extended = request
                    .deadline(register.time_zone())
                    .extend(now, register.time_zone())?;
                request.due_on = extended.due_on();
                request.extended = true;
                Ok(())
            },
        )
        .await
    }

    pub async fn complete(&self, request_id: &str, note: &str, by: &str) -> Result<DataSubjectRequest, DsrError> {
        self.decide(request_id, RequestEventKind::Completed, note, by, |request, now, _| {
            // Every other system must have answered, or been exempted with a reason.
            if request.has_open_tasks() {
                return Err(DsrError::TasksOpen);
            }
            request.status = RequestStatus::Completed;
            request.closed_at = Some(now);
            Ok(())
        })
        .await
    }

    pub async fn reject(&self, request_id: &str, reason: &str, by: &str) -> Result<DataSubjectRequest, DsrError> {
        self.reject_for(request_id, reason, report_entry::DenialReason::Other, by)
            .await
    }

    /// Rejects with the reason code the request report counts it under.
    pub async fn reject_for(
        &self,
        request_id: &str,
        reason: &str,
        code: report_entry::DenialReason,
        by: &str,
    ) -> Result<DataSubjectRequest, DsrError> {
        self.decide(request_id, RequestEventKind::Rejected, reason, by, |request, now, _| {
            request.status = RequestStatus::Rejected;
            request.closed_at = Some(now);
            request.reason_code = Some(code);
            Ok(())
        })
        .await
    }

    /// A decision of the privacy team: changes the request, appends an event,
    /// mails the requester.
    pub(super) async fn decide(
        &self,
        request_id: &str,
        event: RequestEventKind,
        text: &str,
        by: &str,
        change: impl Fn(&mut DataSubjectRequest, Timestamp, &Register) -> Result<(), DsrError>,
    ) -> Result<DataSubjectRequest, DsrError> {
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            let stored = self.live_request(request_id).await?.ok_or(DsrError::NotFound)?;
            let mut request = parse_request(&stored)?;
            if request.status.is_closed() {
                return Err(DsrError::Closed);
            }
            if request.status == RequestStatus::AwaitingVerification {
                return Err(DsrError::NotFound);
            }
            let old_due = request.due_on;
            change(&mut request, now, self.ports.register)?;
            request.push(RequestEvent::new(event.clone(), now, by, Some(text.to_owned())));
            let subject = stored
                .subject
                .clone()
                .ok_or_else(|| DsrError::Corrupt("a request without subject".into()))?;
            let also = if request.status.is_closed() {
                self.closing_task_writes(&request, now).await?
            } else {
                Vec::new()
            };
            match self
                .save_with_queue(&subject, &request, stored.version, old_due, also)
                .await
            {
                Ok(()) => {}
                Err(DsrError::Store(StoreError::Conflict)) => continue,
                Err(error) => return Err(error),
            }
            if let Some(address) = request
                .email
                .as_deref()
                .and_then(|email| EmailAddress::parse("email", email).ok())
            {
                let mail = self.decision_mail(&address, &request, &event, text);
                self.outbox().deliver(mail, &format!("dsr_{event}"), &subject).await?;
            }
            tracing::info!(
                request_id,
                event = event.as_str(),
                "request decided by the privacy team"
            );
            return Ok(request);
        }
        Err(DsrError::Contended)
    }

    /// The writes that leave no personal data in the tasks of a request that
    /// closes, in the write that closes it: a task still open (a rejection
    /// does not wait for it) loses its payload (the subject key, and the
    /// address for a system that keys by it) and is no longer listed for
    /// hand-over; a task that returned data for an access request loses that
    /// data (the export that carried it has been mailed, or delivered by the
    /// team). Each keeps its status, dates and reason, the record of
    /// compliance, as long as the closed request. Tasks are not on the
    /// subject index, so neither an erasure nor the retention sweep would
    /// otherwise reach what they hold.
    pub(crate) async fn closing_task_writes(
        &self,
        request: &DataSubjectRequest,
        now: Timestamp,
    ) -> Result<Vec<Write>, DsrError> {
        let mut writes = Vec::new();
        for summary in &request.tasks {
            let Some((mut task, version)) = self.task(&summary.task_id).await? else {
                continue;
            };
            let open = !task.status.has_ended();
            if !open && task.payload.is_none() && task.data.is_none() {
                continue;
            }
            task.payload = None;
            task.data = None;
            let mut record = task.record(version + 1);
            self.ports.register.stamp(&mut record, CategoryId::RequestsClosed, now);
            writes.push(Write::Put {
                record,
                precondition: Precondition::Version(version),
            });
            if open {
                writes.push(Write::Delete {
                    key: tasks::delivery_key(&summary.task_id),
                    precondition: Precondition::None,
                });
            }
        }
        Ok(writes)
    }
}
