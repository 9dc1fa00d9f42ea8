//! Restriction of processing (GDPR Art. 18): flagged at once, lifted by the team only after the person is told.

use super::*;

impl Fulfilment<'_> {
    /// Flags the person restricted: no mail but what their requests need, and
    /// none of their data deleted while it lasts (GDPR Art. 18(1)(b)-(c)):
    /// their records lose their expiry until the restriction is lifted.
    pub(super) async fn restrict(&self, subject: &SubjectKey, request: &DataSubjectRequest) -> Result<(), StoreError> {
        let now = self.requests.ports.clock.now();
        let mut record = Record::new(restriction_key(subject), entity::PROCESSING_RESTRICTION);
        record.subject = Some(subject.clone());
        record.set_body(&json!({
            "request_id": request.request_id, "since": now
        }));
        let write = Write::Put {
            record,
            precondition: Precondition::None,
        };
        change_hold_summary(
            self.requests.ports.store,
            subject,
            now,
            |summary| summary.restricted = true,
            vec![write],
        )
        .await?;
        restamp_person(self.requests.ports.store, self.requests.ports.register, subject, now).await?;
        Ok(())
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
        let now = self.ports.clock.now();
        if !restricting || !is_restricted(self.ports.store, &subject, now).await? {
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
            self.ports.store,
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
        restamp_person(self.ports.store, self.ports.register, &subject, now).await?;
        let event = RequestEvent::new(RequestEventKind::RestrictionLifted, now, by, Some(reason.to_owned()));
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
