//! Verification: what a mailed link shows (GET) and does (POST).

use super::*;

impl Requests<'_> {
    /// The request a link of `/dsr/verify` is for, read without changing
    /// anything: what the link is for (by its token record's entity), the
    /// token record, the stored request and the request, still waiting for
    /// this very link (awaiting verification, or a new address's confirmation).
    pub(super) async fn pending_link(
        &self,
        digest: &str,
    ) -> Result<(LinkPurpose, Record, Record, DataSubjectRequest), DsrError> {
        let now = self.ports.clock.now();
        let token_record = self
            .ports
            .store
            .get(&token_key(digest))
            .await?
            .filter(|record| !record.is_expired(now))
            .ok_or(DsrError::InvalidToken)?;
        let purpose = match token_record.entity.as_str() {
            entity::DSR_VERIFICATION_TOKEN => LinkPurpose::Verification,
            entity::DSR_NEW_ADDRESS_TOKEN => LinkPurpose::NewAddress,
            _ => return Err(DsrError::InvalidToken),
        };
        let request_id = token_record
            .attributes
            .get("request_id")
            .and_then(Value::as_str)
            .ok_or(DsrError::InvalidToken)?
            .to_owned();
        let stored = self.live_request(&request_id).await?.ok_or(DsrError::InvalidToken)?;
        let request = parse_request(&stored)?;
        let waiting = match purpose {
            LinkPurpose::Verification => {
                request.status == RequestStatus::AwaitingVerification
                    && request.verification_digest.as_deref() == Some(digest)
            }
            LinkPurpose::NewAddress => {
                request.status == RequestStatus::InProgress && request.new_address_digest.as_deref() == Some(digest)
            }
        };
        if !waiting {
            return Err(DsrError::InvalidToken);
        }
        Ok((purpose, token_record, stored, request))
    }

    /// What a link of `/dsr/verify` would confirm, without acting on it (the
    /// GET page: mail scanners and link previews follow every link).
    pub async fn preview(&self, token: &str) -> Result<(LinkPurpose, DataSubjectRequest), DsrError> {
        let (purpose, _, _, request) = self.pending_link(&token_digest(token)).await?;
        Ok((purpose, request))
    }

    /// The button of a `/dsr/verify` page was pressed: verifies the request,
    /// or (a new address's link) moves what the rectification asked for.
    pub async fn follow(&self, token: &str) -> Result<(LinkPurpose, DataSubjectRequest), DsrError> {
        let (purpose, token_record, stored, request) = self.pending_link(&token_digest(token)).await?;
        let request = match purpose {
            LinkPurpose::Verification => self.verified(token_record, stored, request).await?,
            LinkPurpose::NewAddress => {
                self.fulfilment()
                    .new_address_confirmed(token_record, stored, request)
                    .await?
            }
        };
        Ok((purpose, request))
    }

    /// The requester confirmed, by the verification page's button, that the
    /// address is theirs (a verification link only).
    pub async fn verify(&self, token: &str) -> Result<DataSubjectRequest, DsrError> {
        match self.pending_link(&token_digest(token)).await? {
            (LinkPurpose::Verification, token_record, stored, request) => {
                self.verified(token_record, stored, request).await
            }
            (LinkPurpose::NewAddress, ..) => Err(DsrError::InvalidToken),
        }
    }

    /// Records the verification, acknowledges with the due date and a
    /// status link, tells the team, and fulfils what the product can fulfil.
    pub(super) async fn verified(
        &self,
        token_record: Record,
        stored: Record,
        mut request: DataSubjectRequest,
    ) -> Result<DataSubjectRequest, DsrError> {
        let now = self.ports.clock.now();
        let subject = stored.subject.clone().ok_or(DsrError::InvalidToken)?;
        request.status = RequestStatus::Verified;
        request.verification_digest = None;
        request.push(RequestEvent::new(RequestEventKind::Verified, now, "requester", None));
        // One task per other system of record that may hold the person's
        // data for this type, stored with the verification (SPEC 8).
        let tasks = match self.systems {
            tasks::SystemsScope::EveryRegisteredSystem => tasks::plan(self.ports.register, &request, &subject, now),
            tasks::SystemsScope::ThisProductOnly => Vec::new(),
        };
        if !tasks.is_empty() {
            request.tasks = tasks.iter().map(tasks::SystemTask::summary).collect();
            let systems: Vec<&str> = tasks.iter().map(|task| task.system.as_str()).collect();
            request.push(RequestEvent::new(
                RequestEventKind::TasksCreated,
                now,
                "system",
                Some(systems.join(", ")),
            ));
        }
        // Verified requests are kept until they close: no expiry.
        let mut record = self.request_record(&subject, &request, stored.version + 1);
        record.expires_at = None;
        record.due = None;
        let mut writes = vec![
            Write::Put {
                record,
                precondition: Precondition::Version(stored.version),
            },
            Write::Delete {
                key: token_record.key.clone(),
                precondition: Precondition::Present,
            },
            report_entry::entry_write(&request, self.ports.register),
        ];
        writes.extend(queue_entry_writes(self.queue_record(&request)));
        writes.extend(tasks::creation_writes(self.ports.register, &tasks, now));
        match self.ports.store.write(writes).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(DsrError::InvalidToken),
            Err(error) => return Err(error.into()),
        }
        let version = stored.version + 1;
        tracing::info!(request_id = %request.request_id, "request verified");
        // Verified: the consent id given with the request is the person's.
        if let Some(consent_id) = request.consent_id {
            self.fulfilment().link_consent(consent_id, &subject).await?;
        }
        let address = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok());
        if let Some(address) = &address {
            let mail = self.acknowledgement_mail(address, &request);
            self.outbox().deliver(mail, "dsr_acknowledgement", &subject).await?;
        }
        if let Some(team) = self.privacy_team {
            let mail = self.team_mail(team, &request);
            self.outbox().deliver(mail, "dsr_team_notice", &subject).await?;
        }
        self.fulfilment().fulfil(&subject, request, version).await
    }
}
