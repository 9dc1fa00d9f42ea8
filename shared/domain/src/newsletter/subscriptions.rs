//! The subscription records and their ending, without secrets: what the
//! unsubscribe and SES feedback functions run.

use super::*;

/// The subscription records and their ending: reading a subscription or a
/// suppression, an unsubscribe link's effect, an objection's, and the mail
/// service's bounce and complaint reports. Works on subject keys, so it
/// needs no secret but the one a caller hands in (the unsubscribe token's
/// key, the pepper that turns a bounced address into its subject key): the
/// unsubscribe and SES feedback functions load only that one.
pub struct Subscriptions<'a> {
    pub ports: Ports<'a>,
}

impl Subscriptions<'_> {
    /// Reads a live record: one past its expiry is gone, whatever TTL has done.
    pub(super) async fn live(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .store
            .get(key)
            .await?
            .filter(|record| !record.is_expired(now)))
    }

    pub async fn suppression(&self, subject: &SubjectKey) -> Result<Option<Suppression>, NewsletterError> {
        match self.live(&suppression_key(subject)).await? {
            Some(record) => Ok(Some(record.body()?)),
            None => Ok(None),
        }
    }

    pub async fn subscription(
        &self,
        subject: &SubjectKey,
        list: &ListId,
    ) -> Result<Option<Subscription>, NewsletterError> {
        match self.live(&subscription_key(subject, list)).await? {
            Some(record) => Ok(Some(record.body()?)),
            None => Ok(None),
        }
    }

    /// The subscription's opt-in evidence as stored (the record, for its
    /// version) and as it stands: an expired one starts afresh.
    pub(super) async fn stored_evidence(
        &self,
        subject: &SubjectKey,
        list: &ListId,
        now: Timestamp,
    ) -> Result<(Option<Record>, OptInEvidence), NewsletterError> {
        let stored = self.ports.store.get(&evidence_key(subject, list)).await?;
        Self::evidence_as_stored(list, stored, now)
    }

    /// The evidence of `list` from its record as read (`stored`): an
    /// expired one starts afresh.
    pub(super) fn evidence_as_stored(
        list: &ListId,
        stored: Option<Record>,
        now: Timestamp,
    ) -> Result<(Option<Record>, OptInEvidence), NewsletterError> {
        let evidence = match stored.as_ref().filter(|record| !record.is_expired(now)) {
            Some(record) => record.body()?,
            None => OptInEvidence {
                list: list.clone(),
                events: Vec::new(),
                ended_at: None,
            },
        };
        Ok((stored, evidence))
    }

    /// Appends `event` to the evidence (after any `legacy` events a
    /// subscription still carried) and stamps it: no expiry while the
    /// subscription lasts (`ends` `None`), else 3 years after `ends`.
    pub(super) fn evidence_write(
        &self,
        subject: &SubjectKey,
        stored: Option<&Record>,
        mut evidence: OptInEvidence,
        legacy: &[SubscriptionEvent],
        event: SubscriptionEvent,
        ends: Option<Timestamp>,
    ) -> Write {
        if stored.is_none() {
            evidence.events.splice(0..0, legacy.iter().cloned());
        }
        if ends.is_none() {
            evidence.ended_at = None;
        }
        evidence.events.push(event);
        let mut record = Record::new(evidence_key(subject, &evidence.list), entity::NEWSLETTER_EVIDENCE);
        record.subject = Some(subject.clone());
        record.expires_at = stored
            .filter(|r| !r.is_expired(self.ports.clock.now()))
            .and_then(|r| r.expires_at);
        record.set_body(&evidence);
        self.ports
            .register
            .stamp_evidence(&mut record, CategoryId::NewsletterSubscribed, ends);
        let precondition = match stored {
            Some(stored) => {
                record.version = stored.version + 1;
                Precondition::Version(stored.version)
            }
            None => Precondition::Absent,
        };
        Write::Put { record, precondition }
    }

    /// Checks an unsubscribe link without acting on it (the GET page).
    pub fn check_unsubscribe_token(token_key: &TokenKey, token: &str) -> Result<(SubjectKey, ListId), NewsletterError> {
        let (subject, list) = token_key
            .verify_unsubscribe_token(token)
            .ok_or(NewsletterError::InvalidToken)?;
        let list = ListId::parse("list", &list).map_err(|_| NewsletterError::InvalidToken)?;
        Ok((subject, list))
    }

    /// One-click unsubscribe (RFC 8058). Always works for a genuine link,
    /// however often it is used.
    pub async fn unsubscribe(&self, token_key: &TokenKey, token: &str) -> Result<(), NewsletterError> {
        let (subject, list) = Self::check_unsubscribe_token(token_key, token)?;
        self.end_subscription(&subject, &list, SuppressionReason::Unsubscribed)
            .await
    }

    /// Ends the subscription and suppresses the address: an unsubscribe, an
    /// objection, a hard bounce or a complaint.
    pub async fn end_subscription(
        &self,
        subject: &SubjectKey,
        list: &ListId,
        reason: SuppressionReason,
    ) -> Result<(), NewsletterError> {
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            let mut writes = Vec::new();
            let existing_suppression = self.suppression(subject).await?;
            let keep_existing = existing_suppression
                .as_ref()
                .is_some_and(|existing| !existing.reason.allows_new_opt_in() || existing.reason == reason);
            if !keep_existing {
                let mut record = Record::new(suppression_key(subject), entity::SUPPRESSION);
                record.subject = Some(subject.clone());
                record.set_body(&Suppression { reason, at: now });
                writes.push(Write::Put {
                    record,
                    precondition: Precondition::None,
                });
            }
            writes.extend(self.ending(subject, list, reason, None).await?);
            if writes.is_empty() {
                return Ok(());
            }
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(
                        subject = subject.short(),
                        ?reason,
                        "newsletter subscription ended and address suppressed"
                    );
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// The writes that end a live subscription (none for one already
    /// ended or absent): its pending link deleted, the subscription marked
    /// unsubscribed and kept 30 days, the evidence's last event.
    pub(super) async fn ending(
        &self,
        subject: &SubjectKey,
        list: &ListId,
        reason: SuppressionReason,
        channel: Option<&str>,
    ) -> Result<Vec<Write>, NewsletterError> {
        let now = self.ports.clock.now();
        let mut writes = Vec::new();
        let Some(stored) = self.live(&subscription_key(subject, list)).await? else {
            return Ok(writes);
        };
        let mut subscription: Subscription = stored.body()?;
        if subscription.status == SubscriptionStatus::Unsubscribed {
            return Ok(writes);
        }
        if let Some(digest) = subscription.token_digest.take() {
            writes.push(Write::Delete {
                key: token_key(&digest),
                precondition: Precondition::None,
            });
        }
        subscription.status = SubscriptionStatus::Unsubscribed;
        subscription.unsubscribed_at = Some(now);
        let mut event = SubscriptionEvent::new(SubscriptionEventKind::Unsubscribed, now);
        event.reason = Some(reason);
        event.channel = channel.map(str::to_owned);
        let (stored_evidence, mut evidence) = self.stored_evidence(subject, list, now).await?;
        evidence.ended_at = Some(now);
        let legacy = std::mem::take(&mut subscription.events);
        writes.push(self.evidence_write(subject, stored_evidence.as_ref(), evidence, &legacy, event, Some(now)));
        let mut record = self.subscription_record(subject, &subscription, stored.version + 1);
        self.ports
            .register
            .stamp(&mut record, CategoryId::NewsletterSubscribed, now);
        writes.push(Write::Put {
            record,
            precondition: Precondition::Version(stored.version),
        });
        Ok(writes)
    }

    /// Suppresses the address unless it already is (an existing entry, whose
    /// reason may be stronger, stays). Returns whether an entry was written.
    pub async fn suppress(&self, subject: &SubjectKey, reason: SuppressionReason) -> Result<bool, NewsletterError> {
        let mut record = Record::new(suppression_key(subject), entity::SUPPRESSION);
        record.subject = Some(subject.clone());
        record.set_body(&Suppression {
            reason,
            at: self.ports.clock.now(),
        });
        match crate::store::put(self.ports.store, record, Precondition::Absent).await {
            Ok(()) => {
                tracing::info!(subject = subject.short(), ?reason, "address suppressed");
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// A soft (transient) bounce: counted, not suppressed.
    pub async fn count_transient_bounce(&self, subject: &SubjectKey, list: &ListId) -> Result<(), NewsletterError> {
        for _ in 0..ATTEMPTS {
            let Some(stored) = self.live(&subscription_key(subject, list)).await? else {
                return Ok(());
            };
            let mut subscription: Subscription = stored.body()?;
            subscription.transient_bounces += 1;
            let mut record = stored.clone();
            record.version += 1;
            record.set_body(&subscription);
            match crate::store::put(self.ports.store, record, Precondition::Version(stored.version)).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// What the mail service reported about delivery (SES bounce and
    /// complaint notifications): a hard bounce or a complaint is an
    /// unsubscribe; a transient bounce is only counted.
    pub async fn record_feedback(&self, pepper: &Pepper, feedback: &DeliveryFeedback) -> Result<(), NewsletterError> {
        for recipient in &feedback.recipients {
            let subject = SubjectKey::derive(pepper, recipient);
            for list in LISTS {
                let list = ListId((*list).to_owned());
                match feedback.kind {
                    FeedbackKind::PermanentBounce => {
                        self.end_subscription(&subject, &list, SuppressionReason::HardBounce)
                            .await?
                    }
                    FeedbackKind::Complaint => {
                        self.end_subscription(&subject, &list, SuppressionReason::Complaint)
                            .await?
                    }
                    FeedbackKind::TransientBounce => self.count_transient_bounce(&subject, &list).await?,
                }
            }
            if feedback.kind == FeedbackKind::PermanentBounce {
                super::issues::count_bounce(self.ports, &subject).await?;
            }
            tracing::info!(subject = subject.short(), kind = ?feedback.kind, "delivery feedback recorded");
        }
        Ok(())
    }

    pub(super) fn subscription_record(
        &self,
        subject: &SubjectKey,
        subscription: &Subscription,
        version: u64,
    ) -> Record {
        let mut record = Record::new(
            subscription_key(subject, &subscription.list),
            entity::NEWSLETTER_SUBSCRIPTION,
        );
        record.subject = Some(subject.clone());
        record.version = version;
        record.set_body(subscription);
        // Only a confirmed subscription is in its list's audience (the index
        // the issue planner queries); any other status leaves it.
        record.audience = super::audience::audience_of(subject, subscription);
        record
    }
}
