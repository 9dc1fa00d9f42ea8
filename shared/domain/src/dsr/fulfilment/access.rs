//! Access and portability: the export, and one too large to mail counted in later runs and handed to the team.

use super::*;

impl Fulfilment<'_> {
    /// An export too large for one mail: the person is mailed its summary and
    /// told how the file reaches them; the team delivers it, within the deadline.
    pub(super) async fn defer_export(
        &self,
        subject: &SubjectKey,
        request: &mut DataSubjectRequest,
        export: &PersonalDataExport,
        bytes: usize,
    ) -> Result<(), DsrError> {
        let address = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok());
        if let Some(address) = &address {
            let mail = export.deferred_mail(self.requests.ports.register, address, request, bytes);
            self.requests
                .outbox()
                .deliver(mail, "dsr_export_deferred", subject)
                .await?;
        }
        if let Some(team) = self.requests.privacy_team {
            let mail = self.export_too_large_mail(team, request, bytes);
            self.requests.outbox().deliver(mail, "dsr_team_notice", subject).await?;
        }
        request.status = RequestStatus::AwaitingTeam;
        request.events.push(RequestEvent::new(
            RequestEventKind::ExportTooLarge,
            self.requests.ports.clock.now(),
            "system",
            Some(format!(
                "{EXPORT_FILENAME} is {bytes} bytes, over the {MAX_EXPORT_BYTES} that are mailed; \
                 the team delivers it by another secure channel by {}",
                request.due_on
            )),
        ));
        tracing::warn!(request_id = %request.request_id, bytes, "export too large to mail; handed to the team");
        Ok(())
    }

    /// Records an export's progress for the next scheduled run (and, once,
    /// on the request that it goes on).
    pub(super) async fn export_continues(
        &self,
        subject: &SubjectKey,
        mut request: DataSubjectRequest,
        as_read: &AsRead,
        progress: ExportProgress,
    ) -> Result<DataSubjectRequest, DsrError> {
        let continuation = Continuation {
            request_id: request.request_id.clone(),
            subject_key: subject.as_str().to_owned(),
            erased: Vec::new(),
            export: Some(progress),
            completion: false,
        };
        let mut record = Record::new(continuation_key(&request.request_id), entity::FULFILMENT_CONTINUATION);
        record.set_body(&continuation);
        store::put(self.requests.ports.store, record, Precondition::None).await?;
        if !request.has_event(RequestEventKind::ExportContinues) {
            request.events.push(RequestEvent::new(
                RequestEventKind::ExportContinues,
                self.requests.ports.clock.now(),
                "system",
                Some(format!(
                    "over the {MAX_EXPORT_BYTES} bytes that are mailed; the summary's counts go on in runs, 10 minutes apart"
                )),
            ));
            self.save(subject, &mut request, as_read).await?;
        }
        tracing::info!(request_id = %request.request_id, "export counting continues in the next run");
        Ok(request)
    }

    /// One scheduled run of an export too large to mail: counts the next
    /// consent histories; after the last, hands the export to the team.
    pub(super) async fn count_export(
        &self,
        subject: &SubjectKey,
        mut request: DataSubjectRequest,
        as_read: &AsRead,
        mut progress: ExportProgress,
        budget: RunBudget,
    ) -> Result<DataSubjectRequest, DsrError> {
        let clock = self.requests.ports.clock;
        let read = self
            .read_person(subject, progress.histories_counted, |histories| {
                histories.len() < budget.writes && clock.now() < budget.deadline
            })
            .await?;
        let now = clock.now();
        let part = PersonalDataExport::build(self.requests.ports.register, &request, &read.histories, now);
        // The size of these items in the file (close: the file indents them one level more).
        progress.bytes += serde_json::to_vec_pretty(&part.document["personal_data"]).map_or(0, |json| json.len());
        for (category, count) in part.counts() {
            match progress.counts.iter_mut().find(|(known, _)| *known == category) {
                Some((_, total)) => *total += count,
                None => progress.counts.push((category, count)),
            }
        }
        progress.histories_counted += read.read;
        if !read.complete {
            return self.export_continues(subject, request, as_read, progress).await;
        }
        let export =
            PersonalDataExport::build(self.requests.ports.register, &request, &[], now).with_counts(&progress.counts);
        self.defer_export(subject, &mut request, &export, progress.bytes)
            .await?;
        self.save(subject, &mut request, as_read).await?;
        self.requests
            .ports
            .store
            .delete_all(&[continuation_key(&request.request_id)])
            .await?;
        tracing::info!(request_id = %request.request_id, status = request.status.as_str(), "request fulfilment recorded");
        Ok(request)
    }

    /// Every record about the person as structured JSON, with the
    /// supplementary information of GDPR Art. 15(1)(a)–(h) from the register
    /// (see [`PersonalDataExport`]).
    pub async fn export(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
    ) -> Result<PersonalDataExport, StoreError> {
        let read = self.read_person(subject, 0, |_| true).await?;
        let mut records = read.indexed;
        records.extend(read.histories);
        Ok(PersonalDataExport::build(
            self.requests.ports.register,
            request,
            &records,
            self.requests.ports.clock.now(),
        ))
    }

    /// Tells the team that an export must reach the person another way. No
    /// personal data: the reference finds the request.
    pub(super) fn export_too_large_mail(
        &self,
        team: &EmailAddress,
        request: &DataSubjectRequest,
        bytes: usize,
    ) -> Mail {
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
}
