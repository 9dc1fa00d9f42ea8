//! Rectification (GDPR Art. 16, CCPA §1798.106): corrected names at once, a new address only once it confirms itself.

use super::*;

impl Fulfilment<'_> {
    /// Applies a corrected name to what the product holds: the person's
    /// newsletter subscriptions. Returns the fields corrected.
    pub(super) async fn correct_names(
        &self,
        subscriptions: &[Record],
        request: &DataSubjectRequest,
    ) -> Result<Vec<String>, DsrError> {
        let Some(name) = request
            .corrections
            .as_ref()
            .and_then(|corrections| corrections.name.as_ref())
        else {
            return Ok(Vec::new());
        };
        let mut corrected = Vec::new();
        for record in subscriptions {
            let mut subscription = parse_subscription(record)?;
            subscription.name = Some(name.clone());
            let mut renamed = record.clone();
            renamed.version += 1;
            renamed.set_body(&subscription);
            self.requests
                .ports
                .store
                .write(vec![Write::Put {
                    record: renamed,
                    precondition: Precondition::Version(record.version),
                }])
                .await?;
            push_once(&mut corrected, "subscriber name");
        }
        Ok(corrected)
    }

    pub(super) async fn subscriptions(&self, subject: &SubjectKey) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .subject_records(subject)
            .await?
            .into_iter()
            .filter(|record| record.entity == entity::NEWSLETTER_SUBSCRIPTION)
            .collect())
    }

    /// The new address a rectification asks to move the person's data to,
    /// when there is something to move: another address than theirs, and a
    /// subscription of theirs (`subscriptions`) that would move.
    pub(super) fn address_to_confirm(
        &self,
        subject: &SubjectKey,
        subscriptions: &[Record],
        request: &DataSubjectRequest,
    ) -> Option<EmailAddress> {
        let new_address = new_address_of(request)?;
        (self.requests.subject_of(&new_address) != *subject && !subscriptions.is_empty()).then_some(new_address)
    }

    /// Mails the new address its own single-use confirmation link (paced like
    /// every link mail) and leaves the request in progress until it is
    /// followed; returns that mail, to be sent once the request is saved. A
    /// suppressed address, or one the limits allow no more link mail, is
    /// refused: nothing is mailed to it and the request goes to the team.
    pub(super) async fn offer_new_address(
        &self,
        subject: &SubjectKey,
        request: &mut DataSubjectRequest,
        new_address: &EmailAddress,
    ) -> Result<Option<Mail>, DsrError> {
        let new_subject = self.requests.subject_of(new_address);
        if let Some(reason) = self.requests.suppression_of(&new_subject).await? {
            let why = format!("the new address is suppressed ({})", suppression_cause(reason));
            self.refuse_new_address(subject, request, &why).await?;
            return Ok(None);
        }
        for _ in 0..ATTEMPTS {
            let now = self.requests.ports.clock.now();
            let Some(paced) = self.requests.reserve_link_mail(&new_subject).await? else {
                let why =
                    "the new address has had as many link mails as the limits allow (one per 10 minutes, 5 a day)";
                self.refuse_new_address(subject, request, why).await?;
                return Ok(None);
            };
            let token = OneTimeToken::generate();
            let expires_at = self
                .requests
                .ports
                .register
                .expiry(CategoryId::NewsletterPending, now)
                .unwrap_or(now);
            let mut token_record = Record::new(token_key(&token.digest()), entity::DSR_NEW_ADDRESS_TOKEN);
            token_record.subject = Some(subject.clone());
            token_record.set_body(&json!({"request_id": request.request_id, "mailed_at": now}));
            token_record.expires_at = Some(expires_at);
            token_record.due = Some(utc_date(expires_at));
            let writes = vec![
                Write::Put {
                    record: token_record,
                    precondition: Precondition::Absent,
                },
                paced,
            ];
            match self.requests.ports.store.write(writes).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
            request.new_address_digest = Some(token.digest());
            request.events.push(RequestEvent::new(
                RequestEventKind::NewAddressLinkMailed,
                now,
                "system",
                Some(format!(
                    "the new address was mailed its own confirmation link, which works until {}; nothing moves to it until the link is followed",
                    utc_date(expires_at)
                )),
            ));
            tracing::info!(request_id = %request.request_id, "rectification: the new address is mailed its confirmation link");
            return Ok(Some(self.new_address_mail(
                new_address,
                request,
                &token,
                utc_date(expires_at),
            )));
        }
        Err(DsrError::Contended)
    }

    /// The new address is not used: the request goes to the team, told why;
    /// the requester's view says only that the team decides.
    pub(super) async fn refuse_new_address(
        &self,
        subject: &SubjectKey,
        request: &mut DataSubjectRequest,
        why: &str,
    ) -> Result<(), DsrError> {
        request.status = RequestStatus::AwaitingTeam;
        request.new_address_digest = None;
        request.events.push(RequestEvent::new(
            RequestEventKind::NewAddressRefused,
            self.requests.ports.clock.now(),
            "system",
            Some("the new address cannot be confirmed automatically: nothing was moved, and the privacy team decides on the correction".to_owned()),
        ));
        if let Some(team) = self.requests.privacy_team {
            let mail = self.simple_mail(
                team,
                &format!("Privacy request {}: new address refused", request.request_id),
                &format!(
                    "The rectification {id} asks to move the person's data to a new address, but {why}. \
                     Nothing was mailed to it and nothing was moved. Decide on the correction and tell the requester.",
                    id = request.request_id,
                ),
            );
            self.requests.outbox().deliver(mail, "dsr_team_notice", subject).await?;
        }
        tracing::warn!(request_id = %request.request_id, "rectification: the new address was refused; handed to the team");
        Ok(())
    }

    /// Moves the person's subscriptions (with their events) to the new
    /// address's subject key. `false`, with nothing moved, when the new
    /// address already has a subscription to one of the lists.
    pub(super) async fn move_subscriptions(
        &self,
        subject: &SubjectKey,
        new_address: &EmailAddress,
    ) -> Result<bool, DsrError> {
        let new_subject = self.requests.subject_of(new_address);
        let mut writes = Vec::new();
        for record in self.subscriptions(subject).await? {
            let mut subscription = parse_subscription(&record)?;
            subscription.email = new_address.as_str().to_owned();
            let mut moved = record.clone();
            moved.key = RecordKey::new(format!("NEWSLETTER#{}", new_subject.as_str()), record.key.sort.clone());
            moved.subject = Some(new_subject.clone());
            moved.version = 1;
            moved.set_body(&subscription);
            writes.push(Write::Delete {
                key: record.key.clone(),
                precondition: Precondition::Version(record.version),
            });
            writes.push(Write::Put {
                record: moved,
                precondition: Precondition::Absent,
            });
        }
        match self.requests.ports.store.write(writes).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// The mail to a rectification's new address: its own link, which only
    /// shows a page; nothing moves until that page's button is pressed.
    pub(super) fn new_address_mail(
        &self,
        to: &EmailAddress,
        request: &DataSubjectRequest,
        token: &OneTimeToken,
        works_until: jiff::civil::Date,
    ) -> Mail {
        let link = self.requests.links.request_verification(token.reveal());
        let company = &self.requests.ports.register.document().controller.name;
        Mail {
            to: to.clone(),
            subject: format!("Confirm your new address with {company}"),
            text: format!(
                "A privacy request (reference {id}) asks {company} to use this address instead of another one.\n\n\
                 Nothing moves to this address unless you confirm that it is yours and that you want it:\n\n{link}\n\n\
                 The link works until {works_until} (UTC). If you did not ask for this, ignore this mail: nothing will happen.\n",
                id = request.request_id,
            ),
            html: format!(
                "<!doctype html><html><body><p>A privacy request (reference {id}) asks {company} to use this address instead of another one.</p>\
                 <p>Nothing moves to this address unless you confirm that it is yours and that you want it:</p>\
                 <p><a href=\"{link}\">Confirm this address</a></p>\
                 <p>The link works until {works_until} (UTC). If you did not ask for this, ignore this mail: nothing will happen.</p></body></html>",
                id = escape_html(&request.request_id),
                company = escape_html(company),
                link = escape_html(&link),
            ),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }
}
