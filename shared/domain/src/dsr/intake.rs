//! Intake: a request received, limited and mailed its link (SPEC 3.3 abuse limits).

use super::*;
use crate::newsletter::{suppression_key, Suppression};

impl Requests<'_> {
    /// Stores the request (durably, before anything is answered), then either
    /// acts at once (objection to marketing, CCPA opt-out) or queues the
    /// verification link's mail in the same write. An objection to
    /// processing stops marketing at once and then waits for verification
    /// like the rest.
    ///
    /// Nothing enters the team's queue here: only a verified request does
    /// (see [`Requests::verify`]). Requests acted on at once are completed at
    /// once and never queued.
    pub async fn submit(&self, submission: Submission) -> Result<Submitted, DsrError> {
        let now = self.ports.clock.now();
        let subject = self.subject_of(&submission.email);
        let jurisdiction = submission
            .jurisdiction
            .unwrap_or_else(|| submission.request_type.default_jurisdiction());
        let deadline = Deadline::for_request(jurisdiction, now, self.ports.register.time_zone());
        let request_id = Uuid::new_v4().to_string();
        let mut received = RequestEvent::new(RequestEventKind::Received, now, "requester", None);
        received.note = submission
            .ip
            .map(|ip| format!("channel {}, network {}", submission.channel, truncated_network(ip)));
        let mut request = DataSubjectRequest {
            request_id: request_id.clone(),
            request_type: submission.request_type,
            status: RequestStatus::AwaitingVerification,
            jurisdiction,
            scope: (submission.request_type == RequestType::Objection).then(|| submission.scope.unwrap_or_default()),
            email: Some(submission.email.as_str().to_owned()),
            name: submission.name.clone(),
            details: submission.details.clone(),
            corrections: submission.corrections.clone(),
            consent_id: submission.consent_id,
            channel: submission.channel.to_owned(),
            received_at: now,
            received_on: deadline.received_on(),
            due_on: deadline.due_on(),
            extended: false,
            verification_digest: None,
            new_address_digest: None,
            closed_at: None,
            events: vec![received],
            reason_code: None,
            answered_in_part: false,
            tasks: Vec::new(),
            own_part_done: false,
            notes: Vec::new(),
        };
        if submission.request_type.acts_at_once(request.scope) {
            self.write_new(&subject, &request, None, Vec::new()).await?;
            let fulfilment = self.fulfilment();
            fulfilment.opt_out_of_marketing(&subject, &mut request).await?;
            // The systems that hold marketing data act too (see `dsr::tasks`).
            let tasks = match self.systems {
                tasks::SystemsScope::EveryRegisteredSystem => tasks::plan(self.ports.register, &request, &subject, now),
                tasks::SystemsScope::ThisProductOnly => Vec::new(),
            };
            let now = self.ports.clock.now();
            if tasks.is_empty() {
                request.status = RequestStatus::Completed;
                request.closed_at = Some(now);
                request.push(RequestEvent::new(RequestEventKind::Completed, now, "system", None));
            } else {
                request.tasks = tasks.iter().map(tasks::SystemTask::summary).collect();
                let systems: Vec<&str> = tasks.iter().map(|task| task.system.as_str()).collect();
                request.push(RequestEvent::new(
                    RequestEventKind::TasksCreated,
                    now,
                    "system",
                    Some(systems.join(", ")),
                ));
                request.own_part_done = true;
                request.status = RequestStatus::InProgress;
                request.push(RequestEvent::new(
                    RequestEventKind::AwaitingSystems,
                    now,
                    "system",
                    Some(format!(
                        "waiting for {}; the request completes when every system has answered",
                        systems.join(", ")
                    )),
                ));
            }
            let writes = tasks::creation_writes(self.ports.register, &tasks, now);
            self.save_with_writes(&subject, &request, 1, writes).await?;
            tracing::info!(request_id = %request_id, kind = request.request_type.as_str(), "request acted on at once");
            return Ok(Submitted {
                request_id,
                status: request.status,
            });
        }
        for _ in 0..ATTEMPTS {
            let (stored, mut intake, suppressed_for_good) = self.intake_and_suppression(&subject).await?;
            // At most one open request per address and type: a repeat gets the
            // same answer and no new mail.
            if let Some(open) = intake.open.get(request.request_type.as_str()) {
                if self.is_open(open).await? {
                    tracing::info!(request_id = %open, kind = request.request_type.as_str(), "repeat of an open request; nothing new mailed");
                    return Ok(Submitted {
                        request_id: open.clone(),
                        status: RequestStatus::AwaitingVerification,
                    });
                }
            }
            // Verification mails are paced like the newsletter's, and never go
            // to an address that bounced or complained. The request is stored
            // all the same (it was accepted); unmailed, it cannot be verified
            // and expires like any unverified request.
            let in_window = link_mails_in_window(&intake.verification_mails, now);
            let mail_now = may_mail_link(&in_window, now) && !suppressed_for_good;
            intake.verification_mails = in_window;
            let token = mail_now.then(OneTimeToken::generate);
            if mail_now {
                intake.verification_mails.push(now);
                intake
                    .open
                    .insert(request.request_type.as_str().to_owned(), request_id.clone());
            }
            request.verification_digest = token.as_ref().map(OneTimeToken::digest);
            // The link's mail is queued in the request's own write, for the
            // outbox's drain to send (in AWS, started by the table's stream),
            // as a sign-up's confirmation is. A link withheld by the limits
            // or a suppression is the same write with nothing to send: the
            // answer takes as long either way and tells nobody which it was.
            let mail_write = token
                .as_ref()
                .and_then(|token| {
                    let mail = self.verification_mail(&submission.email, &request, token);
                    self.outbox().queue(&mail, "dsr_verification", &subject)
                })
                .unwrap_or_else(|| self.outbox().nothing_to_send("dsr_verification", &subject));
            let also = vec![self.intake_write(&subject, stored.as_ref(), &intake), mail_write];
            match self.write_new(&subject, &request, token.as_ref(), also).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
            if submission.request_type.stops_marketing_at_once() {
                // An objection to processing: marketing stops before verification
                // (Art. 21(3) needs no weighing); the rest waits for it.
                self.fulfilment().opt_out_of_marketing(&subject, &mut request).await?;
                self.save(&subject, &request, 1).await?;
            }
            if token.is_some() {
                tracing::info!(request_id = %request_id, kind = request.request_type.as_str(), "request received; verification mail queued");
            } else {
                tracing::info!(request_id = %request_id, kind = request.request_type.as_str(), "request received; verification mail withheld by the limits");
            }
            return Ok(Submitted {
                request_id,
                status: RequestStatus::AwaitingVerification,
            });
        }
        Err(DsrError::Contended)
    }

    /// The person's abuse-limit record as stored (for its version) and read.
    pub(super) async fn intake(&self, subject: &SubjectKey) -> Result<(Option<Record>, RequestIntake), DsrError> {
        let now = self.ports.clock.now();
        let stored = self
            .ports
            .store
            .get(&intake_key(subject))
            .await?
            .filter(|record| !record.is_expired(now));
        let intake = match &stored {
            Some(record) => record.body()?,
            None => RequestIntake::default(),
        };
        Ok((stored, intake))
    }

    /// [`Requests::intake`] and whether the address bounced hard or
    /// complained (then no mail goes to it), read in one round trip.
    async fn intake_and_suppression(
        &self,
        subject: &SubjectKey,
    ) -> Result<(Option<Record>, RequestIntake, bool), DsrError> {
        let now = self.ports.clock.now();
        let keys = [intake_key(subject), suppression_key(subject)];
        let mut found = self
            .ports
            .store
            .get_many(&keys)
            .await?
            .into_iter()
            .map(|record| record.filter(|record| !record.is_expired(now)));
        let (stored, suppression) = (found.next().flatten(), found.next().flatten());
        let intake = match &stored {
            Some(record) => record.body()?,
            None => RequestIntake::default(),
        };
        let suppressed_for_good = match suppression {
            Some(record) => !record.body::<Suppression>()?.reason.allows_new_opt_in(),
            None => false,
        };
        Ok((stored, intake, suppressed_for_good))
    }

    /// The write of the person's abuse-limit record, conditional on the
    /// version read (`stored`).
    pub(super) fn intake_write(&self, subject: &SubjectKey, stored: Option<&Record>, intake: &RequestIntake) -> Write {
        let mut record = Record::new(intake_key(subject), entity::DSR_INTAKE);
        record.subject = Some(subject.clone());
        record.set_body(intake);
        record.version = stored.map_or(1, |stored| stored.version + 1);
        self.ports
            .register
            .stamp(&mut record, CategoryId::MailLog, self.ports.clock.now());
        Write::Put {
            precondition: stored.map_or(Precondition::Absent, |stored| Precondition::Version(stored.version)),
            record,
        }
    }

    /// Whether a request is still open (not closed, not expired).
    pub(super) async fn is_open(&self, request_id: &str) -> Result<bool, DsrError> {
        match self.live_request(request_id).await? {
            Some(record) => Ok(!parse_request(&record)?.status.is_closed()),
            None => Ok(false),
        }
    }
}
