//! The newsletter: double opt-in, one-click unsubscribe, and the suppression
//! ledger that keeps an opted-out address from ever being mailed again.
//!
//! Records (one partition per person and list):
//!
//! - `NEWSLETTER#<subject>` / `LIST#<list>`: the [`Subscription`], with its
//!   evidence ([`SubscriptionEvent`]s) and the confirmation mails sent in the
//!   last 24 hours (the rate limit).
//! - `TOKEN#<sha256(token)>` / `TOKEN`: finds the subscription a confirmation
//!   link is for. Single-use: deleted on confirmation.
//! - `SUPPRESSION#<subject>` / `NEWSLETTER`: a [`Suppression`], the subject
//!   key and a reason, no address. Kept indefinitely.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::consent::{ConsentId, ConsentLedger};
use crate::email::EmailAddress;
use crate::mail::{escape_html, Mail, Mailer};
use crate::network::truncated_network;
use crate::outbox::{Delivery, Outbox};
use crate::person::PersonName;
use crate::register::{CategoryId, Register};
use crate::store::{Precondition, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;
use crate::tokens::{token_digest, OneTimeToken, Secrets};
use crate::FieldError;

/// The lists people can subscribe to.
pub const LISTS: &[&str] = &["news"];
pub const DEFAULT_LIST: &str = "news";

const SUBSCRIPTION_ENTITY: &str = "newsletter_subscription";
const TOKEN_ENTITY: &str = "newsletter_confirmation_token";
const SUPPRESSION_ENTITY: &str = "suppression";
const ATTEMPTS: usize = 5;
/// The rate limit of confirmation mails to one address.
const MIN_INTERVAL: SignedDuration = SignedDuration::from_mins(10);
const WINDOW: SignedDuration = SignedDuration::from_hours(24);
const PER_WINDOW: usize = 5;
/// Evidence kept per subscription (oldest dropped first).
const MAX_EVENTS: usize = 50;

/// A newsletter list name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListId(String);

impl ListId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if LISTS.contains(&raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "unknown_list",
                "There is no newsletter list by that name.",
            ))
        }
    }

    pub fn default_list() -> Self {
        Self(DEFAULT_LIST.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Pending,
    Confirmed,
    Unsubscribed,
}

/// Why the newsletter is sent to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    /// Double opt-in (GDPR Art. 6(1)(a)).
    Consent,
    /// Customers, added by the privacy team (Art. 6(1)(f)).
    LegitimateInterest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    Objection,
    HardBounce,
    Complaint,
    /// The subscriber's data was erased at their request: nothing of the
    /// subscription is left, and only their own new double opt-in lifts it.
    Erasure,
}

impl SuppressionReason {
    /// Whether the person's own new sign-up may still get a confirmation mail.
    /// After a hard bounce or a complaint, nothing is sent.
    fn allows_new_opt_in(self) -> bool {
        matches!(self, Self::Unsubscribed | Self::Objection | Self::Erasure)
    }
}

/// One piece of evidence in a subscription's life (GDPR Art. 7(1)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionEvent {
    pub event: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<LawfulBasis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SuppressionReason>,
}

impl SubscriptionEvent {
    fn new(event: &str, at: Timestamp) -> Self {
        Self {
            event: event.to_owned(),
            at,
            network: None,
            channel: None,
            policy_version: None,
            basis: None,
            reason: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub list: ListId,
    pub email: String,
    pub name: Option<PersonName>,
    pub status: SubscriptionStatus,
    pub basis: LawfulBasis,
    pub token_digest: Option<String>,
    /// The latest sign-up: when a pending subscription's 7 days started.
    #[serde(default)]
    pub signed_up_at: Option<Timestamp>,
    pub confirmed_at: Option<Timestamp>,
    pub unsubscribed_at: Option<Timestamp>,
    /// When confirmation mails were sent in the last 24 hours.
    pub confirmation_mails: Vec<Timestamp>,
    pub transient_bounces: u32,
    pub events: Vec<SubscriptionEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: SuppressionReason,
    pub at: Timestamp,
}

/// A sign-up from the website's form or the API.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub email: EmailAddress,
    pub name: Option<PersonName>,
    pub list: ListId,
    pub consent_id: Option<ConsentId>,
    /// `form` or `api`.
    pub channel: &'static str,
    pub ip: Option<IpAddr>,
}

/// A delivery report from the mail service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFeedback {
    pub kind: FeedbackKind,
    pub recipients: Vec<EmailAddress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackKind {
    PermanentBounce,
    TransientBounce,
    Complaint,
}

/// What a sign-up led to. The HTTP answer is the same for every outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUpOutcome {
    ConfirmationSent,
    ConfirmationQueued,
    ConfirmationRejected,
    RateLimited,
    AlreadySubscribed,
    Suppressed,
}

#[derive(Debug, thiserror::Error)]
pub enum NewsletterError {
    /// A confirmation or unsubscribe link that is forged, altered, expired or used.
    #[error("the link is not valid")]
    InvalidToken,
    #[error("the subscription changed concurrently too many times")]
    Contended,
    /// The person opted out: only their own double opt-in can lift it.
    #[error("the address is suppressed")]
    Suppressed,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored newsletter record is corrupt: {0}")]
    Corrupt(String),
}

/// Builds the links mails carry.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    /// `public_base_url`: where the API is reachable (`https://privacy.example.com`).
    pub fn new(public_base_url: &str) -> Self {
        Self {
            base: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn newsletter_confirmation(&self, token: &str) -> String {
        format!("{}/newsletter/confirm?token={token}", self.base)
    }

    pub fn newsletter_unsubscribe(&self, token: &str) -> String {
        format!("{}/newsletter/unsubscribe?token={token}", self.base)
    }

    pub fn request_verification(&self, token: &str) -> String {
        format!("{}/dsr/verify?token={token}", self.base)
    }

    pub fn request_status(&self, request_id: &str, token: &str) -> String {
        format!("{}/dsr/{request_id}?token={token}", self.base)
    }
}

pub struct Newsletter<'a> {
    pub store: &'a dyn RecordStore,
    pub mailer: &'a dyn Mailer,
    pub clock: &'a dyn Clock,
    pub register: &'a Register,
    pub secrets: &'a Secrets,
    pub links: &'a Links,
}

fn subscription_key(subject: &SubjectKey, list: &ListId) -> RecordKey {
    RecordKey::new(
        format!("NEWSLETTER#{}", subject.as_str()),
        format!("LIST#{}", list.as_str()),
    )
}

fn token_key(digest: &str) -> RecordKey {
    RecordKey::new(format!("TOKEN#{digest}"), "TOKEN")
}

fn suppression_key(subject: &SubjectKey) -> RecordKey {
    RecordKey::new(format!("SUPPRESSION#{}", subject.as_str()), "NEWSLETTER")
}

fn to_attributes<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => fields,
        _ => unreachable!("newsletter records serialise to JSON objects"),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(record: &Record) -> Result<T, NewsletterError> {
    serde_json::from_value(Value::Object(record.attributes.clone()))
        .map_err(|error| NewsletterError::Corrupt(crate::store::decode_failure(&error)))
}

impl Newsletter<'_> {
    pub fn subject_of(&self, email: &EmailAddress) -> SubjectKey {
        SubjectKey::derive(&self.secrets.pepper, email)
    }

    fn outbox(&self) -> Outbox<'_> {
        Outbox {
            store: self.store,
            mailer: self.mailer,
            clock: self.clock,
            register: self.register,
        }
    }

    /// Reads a live record: one past its expiry is gone, whatever TTL has done.
    async fn live(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let now = self.clock.now();
        Ok(self.store.get(key).await?.filter(|record| !record.is_expired(now)))
    }

    pub async fn suppression(&self, subject: &SubjectKey) -> Result<Option<Suppression>, NewsletterError> {
        match self.live(&suppression_key(subject)).await? {
            Some(record) => parse(&record).map(Some),
            None => Ok(None),
        }
    }

    pub async fn subscription(
        &self,
        subject: &SubjectKey,
        list: &ListId,
    ) -> Result<Option<Subscription>, NewsletterError> {
        match self.live(&subscription_key(subject, list)).await? {
            Some(record) => parse(&record).map(Some),
            None => Ok(None),
        }
    }

    /// Double opt-in, step one: record the sign-up and mail a confirmation
    /// link, unless the address is suppressed for good, already subscribed,
    /// or was mailed too recently.
    pub async fn sign_up(&self, sign_up: SignUp) -> Result<SignUpOutcome, NewsletterError> {
        let subject = self.subject_of(&sign_up.email);
        if let Some(consent_id) = sign_up.consent_id {
            self.consent_ledger()
                .link_subject(consent_id, &subject)
                .await
                .map_err(|error| match error {
                    crate::consent::ConsentError::Store(error) => NewsletterError::Store(error),
                    other => NewsletterError::Corrupt(other.to_string()),
                })?;
        }
        if self
            .suppression(&subject)
            .await?
            .is_some_and(|suppression| !suppression.reason.allows_new_opt_in())
        {
            tracing::info!(
                subject = subject.short(),
                "sign-up of an address suppressed for good; nothing sent"
            );
            return Ok(SignUpOutcome::Suppressed);
        }
        let key = subscription_key(&subject, &sign_up.list);
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let stored = self.store.get(&key).await?;
            let live = stored.as_ref().filter(|record| !record.is_expired(now));
            let existing: Option<Subscription> = live.map(parse).transpose()?;
            if existing
                .as_ref()
                .is_some_and(|s| s.status == SubscriptionStatus::Confirmed)
            {
                return Ok(SignUpOutcome::AlreadySubscribed);
            }
            let recent: Vec<Timestamp> = existing
                .as_ref()
                .map(|s| {
                    s.confirmation_mails
                        .iter()
                        .copied()
                        .filter(|at| *at > now - WINDOW)
                        .collect()
                })
                .unwrap_or_default();
            if recent.len() >= PER_WINDOW || recent.iter().any(|at| *at > now - MIN_INTERVAL) {
                tracing::info!(subject = subject.short(), "confirmation mail rate-limited");
                return Ok(SignUpOutcome::RateLimited);
            }
            let token = OneTimeToken::generate();
            let mut events = existing.as_ref().map(|s| s.events.clone()).unwrap_or_default();
            let mut event = SubscriptionEvent::new("signed_up", now);
            event.network = sign_up.ip.map(truncated_network);
            event.channel = Some(sign_up.channel.to_owned());
            event.basis = Some(LawfulBasis::Consent);
            push_event(&mut events, event);
            let mut confirmation_mails = recent;
            confirmation_mails.push(now);
            let subscription = Subscription {
                list: sign_up.list.clone(),
                email: sign_up.email.as_str().to_owned(),
                name: sign_up
                    .name
                    .clone()
                    .or_else(|| existing.as_ref().and_then(|s| s.name.clone())),
                status: SubscriptionStatus::Pending,
                basis: LawfulBasis::Consent,
                token_digest: Some(token.digest()),
                signed_up_at: Some(now),
                confirmed_at: None,
                unsubscribed_at: existing.as_ref().and_then(|s| s.unsubscribed_at),
                confirmation_mails,
                transient_bounces: existing.as_ref().map_or(0, |s| s.transient_bounces),
                events,
            };
            let (version, precondition) = match &stored {
                Some(record) => (record.version + 1, Precondition::Version(record.version)),
                None => (1, Precondition::Absent),
            };
            let mut record = self.subscription_record(&subject, &subscription, version);
            self.register.stamp(&mut record, CategoryId::NewsletterPending, now);
            let mut token_record = Record::new(token_key(&token.digest()), TOKEN_ENTITY);
            token_record.subject = Some(subject.clone());
            token_record.attributes = to_attributes(&serde_json::json!({"list": sign_up.list, "signed_up_at": now}));
            self.register
                .stamp(&mut token_record, CategoryId::NewsletterPending, now);
            let writes = vec![
                Write::Put { record, precondition },
                Write::Put {
                    record: token_record,
                    precondition: Precondition::Absent,
                },
            ];
            match self.store.write(writes).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
            let mail = self.confirmation_mail(
                &sign_up.email,
                subscription.name.as_ref(),
                &subject,
                &sign_up.list,
                &token,
            );
            let delivery = self.outbox().deliver(mail, "newsletter_confirmation", &subject).await?;
            tracing::info!(subject = subject.short(), ?delivery, "newsletter sign-up recorded");
            return Ok(match delivery {
                Delivery::Sent => SignUpOutcome::ConfirmationSent,
                Delivery::Queued => SignUpOutcome::ConfirmationQueued,
                Delivery::Rejected => SignUpOutcome::ConfirmationRejected,
            });
        }
        Err(NewsletterError::Contended)
    }

    /// Double opt-in, step two: the link from the confirmation mail.
    /// Confirming lifts an earlier unsubscribe's suppression.
    pub async fn confirm(&self, token: &str, ip: Option<IpAddr>) -> Result<(), NewsletterError> {
        let digest = token_digest(token);
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let token_record = self
                .live(&token_key(&digest))
                .await?
                .ok_or(NewsletterError::InvalidToken)?;
            let subject = token_record.subject.clone().ok_or(NewsletterError::InvalidToken)?;
            let list: ListId = token_record
                .attributes
                .get("list")
                .and_then(|list| serde_json::from_value(list.clone()).ok())
                .ok_or(NewsletterError::InvalidToken)?;
            let key = subscription_key(&subject, &list);
            let stored = self.live(&key).await?.ok_or(NewsletterError::InvalidToken)?;
            let mut subscription: Subscription = parse(&stored)?;
            if subscription.status != SubscriptionStatus::Pending
                || subscription.token_digest.as_deref() != Some(digest.as_str())
            {
                return Err(NewsletterError::InvalidToken);
            }
            subscription.status = SubscriptionStatus::Confirmed;
            subscription.confirmed_at = Some(now);
            subscription.unsubscribed_at = None;
            subscription.token_digest = None;
            let mut event = SubscriptionEvent::new("confirmed", now);
            event.network = ip.map(truncated_network);
            event.basis = Some(LawfulBasis::Consent);
            push_event(&mut subscription.events, event);
            // A confirmed subscription is kept until it ends: no expiry.
            let record = self.subscription_record(&subject, &subscription, stored.version + 1);
            let writes = vec![
                Write::Put {
                    record,
                    precondition: Precondition::Version(stored.version),
                },
                Write::Delete {
                    key: token_record.key.clone(),
                    precondition: Precondition::Present,
                },
                Write::Delete {
                    key: suppression_key(&subject),
                    precondition: Precondition::None,
                },
            ];
            match self.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(subject = subject.short(), "newsletter subscription confirmed");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// Checks an unsubscribe link without acting on it (the GET page).
    pub fn check_unsubscribe_token(&self, token: &str) -> Result<(SubjectKey, ListId), NewsletterError> {
        let (subject, list) = self
            .secrets
            .token_key
            .verify_unsubscribe_token(token)
            .ok_or(NewsletterError::InvalidToken)?;
        let list = ListId::parse("list", &list).map_err(|_| NewsletterError::InvalidToken)?;
        Ok((subject, list))
    }

    /// One-click unsubscribe (RFC 8058). Always works for a genuine link,
    /// however often it is used.
    pub async fn unsubscribe(&self, token: &str) -> Result<(), NewsletterError> {
        let (subject, list) = self.check_unsubscribe_token(token)?;
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
            let now = self.clock.now();
            let mut writes = Vec::new();
            let existing_suppression = self.suppression(subject).await?;
            let keep_existing = existing_suppression
                .as_ref()
                .is_some_and(|existing| !existing.reason.allows_new_opt_in() || existing.reason == reason);
            if !keep_existing {
                let mut record = Record::new(suppression_key(subject), SUPPRESSION_ENTITY);
                record.subject = Some(subject.clone());
                record.attributes = to_attributes(&Suppression { reason, at: now });
                writes.push(Write::Put {
                    record,
                    precondition: Precondition::None,
                });
            }
            let key = subscription_key(subject, list);
            if let Some(stored) = self.live(&key).await? {
                let mut subscription: Subscription = parse(&stored)?;
                if subscription.status != SubscriptionStatus::Unsubscribed {
                    if let Some(digest) = subscription.token_digest.take() {
                        writes.push(Write::Delete {
                            key: token_key(&digest),
                            precondition: Precondition::None,
                        });
                    }
                    subscription.status = SubscriptionStatus::Unsubscribed;
                    subscription.unsubscribed_at = Some(now);
                    let mut event = SubscriptionEvent::new("unsubscribed", now);
                    event.reason = Some(reason);
                    push_event(&mut subscription.events, event);
                    let mut record = self.subscription_record(subject, &subscription, stored.version + 1);
                    self.register.stamp(&mut record, CategoryId::NewsletterSubscribed, now);
                    writes.push(Write::Put {
                        record,
                        precondition: Precondition::Version(stored.version),
                    });
                }
            }
            if writes.is_empty() {
                return Ok(());
            }
            match self.store.write(writes).await {
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

    /// Suppresses the address unless it already is (an existing entry, whose
    /// reason may be stronger, stays). Returns whether an entry was written.
    pub async fn suppress(&self, subject: &SubjectKey, reason: SuppressionReason) -> Result<bool, NewsletterError> {
        let mut record = Record::new(suppression_key(subject), SUPPRESSION_ENTITY);
        record.subject = Some(subject.clone());
        record.attributes = to_attributes(&Suppression {
            reason,
            at: self.clock.now(),
        });
        match crate::store::put(self.store, record, Precondition::Absent).await {
            Ok(()) => {
                tracing::info!(subject = subject.short(), ?reason, "address suppressed");
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// A customer subscribed by the privacy team on legitimate interest (no
    /// double opt-in), unless they opted out before.
    pub async fn subscribe_customer(
        &self,
        email: &EmailAddress,
        name: Option<PersonName>,
        list: &ListId,
    ) -> Result<(), NewsletterError> {
        let subject = self.subject_of(email);
        if self.suppression(&subject).await?.is_some() {
            return Err(NewsletterError::Suppressed);
        }
        let key = subscription_key(&subject, list);
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let stored = self.store.get(&key).await?;
            let existing: Option<Subscription> =
                stored.as_ref().filter(|r| !r.is_expired(now)).map(parse).transpose()?;
            if existing
                .as_ref()
                .is_some_and(|s| s.status == SubscriptionStatus::Confirmed)
            {
                return Ok(());
            }
            let mut events = existing.as_ref().map(|s| s.events.clone()).unwrap_or_default();
            let mut event = SubscriptionEvent::new("subscribed_by_team", now);
            event.basis = Some(LawfulBasis::LegitimateInterest);
            push_event(&mut events, event);
            let subscription = Subscription {
                list: list.clone(),
                email: email.as_str().to_owned(),
                name: name.clone().or_else(|| existing.as_ref().and_then(|s| s.name.clone())),
                status: SubscriptionStatus::Confirmed,
                basis: LawfulBasis::LegitimateInterest,
                token_digest: None,
                signed_up_at: existing.as_ref().and_then(|s| s.signed_up_at),
                confirmed_at: Some(now),
                unsubscribed_at: None,
                confirmation_mails: existing
                    .as_ref()
                    .map(|s| s.confirmation_mails.clone())
                    .unwrap_or_default(),
                transient_bounces: existing.as_ref().map_or(0, |s| s.transient_bounces),
                events,
            };
            let (version, precondition) = match &stored {
                Some(record) => (record.version + 1, Precondition::Version(record.version)),
                None => (1, Precondition::Absent),
            };
            let record = self.subscription_record(&subject, &subscription, version);
            match crate::store::put(self.store, record, precondition).await {
                Ok(()) => {
                    tracing::info!(subject = subject.short(), "customer subscribed on legitimate interest");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// A soft (transient) bounce: counted, not suppressed.
    pub async fn count_transient_bounce(&self, subject: &SubjectKey, list: &ListId) -> Result<(), NewsletterError> {
        for _ in 0..ATTEMPTS {
            let Some(stored) = self.live(&subscription_key(subject, list)).await? else {
                return Ok(());
            };
            let mut subscription: Subscription = parse(&stored)?;
            subscription.transient_bounces += 1;
            let mut record = stored.clone();
            record.version += 1;
            record.attributes = to_attributes(&subscription);
            match crate::store::put(self.store, record, Precondition::Version(stored.version)).await {
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
    pub async fn record_feedback(&self, feedback: &DeliveryFeedback) -> Result<(), NewsletterError> {
        for recipient in &feedback.recipients {
            let subject = self.subject_of(recipient);
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
            tracing::info!(subject = subject.short(), kind = ?feedback.kind, "delivery feedback recorded");
        }
        Ok(())
    }

    fn consent_ledger(&self) -> ConsentLedger<'_> {
        ConsentLedger {
            store: self.store,
            clock: self.clock,
            register: self.register,
        }
    }

    fn subscription_record(&self, subject: &SubjectKey, subscription: &Subscription, version: u64) -> Record {
        let mut record = Record::new(subscription_key(subject, &subscription.list), SUBSCRIPTION_ENTITY);
        record.subject = Some(subject.clone());
        record.version = version;
        record.attributes = to_attributes(subscription);
        record
    }

    fn confirmation_mail(
        &self,
        to: &EmailAddress,
        name: Option<&PersonName>,
        subject: &SubjectKey,
        list: &ListId,
        token: &OneTimeToken,
    ) -> Mail {
        let company = &self.register.document().controller.name;
        let confirm = self.links.newsletter_confirmation(token.reveal());
        let unsubscribe = self
            .links
            .newsletter_unsubscribe(&self.secrets.token_key.unsubscribe_token(subject, list.as_str()));
        let greeting = name.map_or_else(|| "Hello,".to_owned(), |name| format!("Hello {},", name.as_str()));
        let html_greeting = name.map_or_else(
            || "Hello,".to_owned(),
            |name| format!("Hello {},", escape_html(name.as_str())),
        );
        let text = format!(
            "{greeting}\n\nPlease confirm that you want the {company} newsletter:\n\n{confirm}\n\n\
             The link works for 7 days. If you did not ask for the newsletter, ignore this mail: \
             nothing more will be sent.\n\nPrivacy: {contact}\n",
            contact = self.register.document().controller.contact,
        );
        let html = format!(
            "<!doctype html><html><body><p>{html_greeting}</p>\
             <p>Please confirm that you want the {company_html} newsletter:</p>\
             <p><a href=\"{confirm_html}\">Confirm my subscription</a></p>\
             <p>The link works for 7 days. If you did not ask for the newsletter, ignore this mail: nothing more will be sent.</p>\
             </body></html>",
            company_html = escape_html(company),
            confirm_html = escape_html(&confirm),
        );
        Mail {
            to: to.clone(),
            subject: format!("Confirm your subscription to the {company} newsletter"),
            text,
            html,
            list_unsubscribe: Some(unsubscribe),
            attachments: Vec::new(),
        }
    }
}

fn push_event(events: &mut Vec<SubscriptionEvent>, event: SubscriptionEvent) {
    events.push(event);
    if events.len() > MAX_EVENTS {
        events.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::consent::{Categories, ClientContext, ConsentDecision, ConsentSource, PolicyVersion};
    use crate::mail::RecordingMailer;
    use crate::memory::MemoryStore;
    use crate::store::{query_all, Query};
    use crate::subject::Pepper;
    use crate::tokens::TokenKey;

    struct Fixture {
        store: MemoryStore,
        mailer: RecordingMailer,
        clock: FixedClock,
        register: Register,
        secrets: Secrets,
        links: Links,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                store: MemoryStore::new(),
                mailer: RecordingMailer::new(),
                clock: FixedClock::new("2026-06-01T09:00:00Z".parse().unwrap()),
                register: Register::standard().unwrap(),
                secrets: Secrets {
                    pepper: Pepper::new(vec![7; 32]).unwrap(),
                    token_key: TokenKey::new(vec![9; 32]).unwrap(),
                },
                links: Links::new("https://privacy.example.com/"),
            }
        }

        fn newsletter(&self) -> Newsletter<'_> {
            Newsletter {
                store: &self.store,
                mailer: &self.mailer,
                clock: &self.clock,
                register: &self.register,
                secrets: &self.secrets,
                links: &self.links,
            }
        }

        fn advance_minutes(&self, minutes: i64) {
            self.clock.advance(SignedDuration::from_mins(minutes));
        }

        async fn sign_up(&self, address: &str) -> SignUpOutcome {
            let sign_up = SignUp {
                email: EmailAddress::parse("email", address).unwrap(),
                name: None,
                list: ListId::default_list(),
                consent_id: None,
                channel: "api",
                ip: None,
            };
            self.newsletter().sign_up(sign_up).await.unwrap()
        }

        fn last_token(&self, prefix: &str) -> String {
            let mail = self.mailer.sent().pop().expect("a mail was sent");
            let start = mail.text.find(prefix).expect("the link is in the mail") + prefix.len();
            mail.text[start..].split_whitespace().next().unwrap().to_owned()
        }

        async fn status(&self, address: &str) -> Option<SubscriptionStatus> {
            let subject = self
                .newsletter()
                .subject_of(&EmailAddress::parse("email", address).unwrap());
            let subscription = self
                .newsletter()
                .subscription(&subject, &ListId::default_list())
                .await
                .unwrap();
            subscription.map(|s| s.status)
        }
    }

    const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm?token=";

    #[tokio::test]
    async fn at_most_one_confirmation_mail_per_ten_minutes_and_five_a_day() {
        let fixture = Fixture::new();
        assert_eq!(
            fixture.sign_up("ada@example.com").await,
            SignUpOutcome::ConfirmationSent
        );
        fixture.advance_minutes(9);
        assert_eq!(fixture.sign_up("ada@example.com").await, SignUpOutcome::RateLimited);
        for _ in 0..4 {
            fixture.advance_minutes(11);
            assert_eq!(
                fixture.sign_up("ada@example.com").await,
                SignUpOutcome::ConfirmationSent
            );
        }
        fixture.advance_minutes(11);
        assert_eq!(
            fixture.sign_up("ada@example.com").await,
            SignUpOutcome::RateLimited,
            "a sixth within a day"
        );
        assert_eq!(fixture.mailer.sent().len(), 5);
        fixture.advance_minutes(24 * 60);
        assert_eq!(
            fixture.sign_up("ada@example.com").await,
            SignUpOutcome::ConfirmationSent
        );
        assert_eq!(
            fixture.sign_up("grace@example.com").await,
            SignUpOutcome::ConfirmationSent,
            "per address"
        );
    }

    #[tokio::test]
    async fn only_the_latest_confirmation_link_works_and_only_for_seven_days() {
        let fixture = Fixture::new();
        fixture.sign_up("ada@example.com").await;
        let first = fixture.last_token(CONFIRM);
        fixture.advance_minutes(11);
        fixture.sign_up("ada@example.com").await;
        let second = fixture.last_token(CONFIRM);
        assert!(matches!(
            fixture.newsletter().confirm(&first, None).await,
            Err(NewsletterError::InvalidToken)
        ));
        fixture.advance_minutes(7 * 24 * 60 + 1);
        assert!(matches!(
            fixture.newsletter().confirm(&second, None).await,
            Err(NewsletterError::InvalidToken)
        ));
        assert_eq!(
            fixture.status("ada@example.com").await,
            None,
            "the pending sign-up expired"
        );
    }

    #[tokio::test]
    async fn a_confirmed_subscription_has_no_expiry_and_an_unsubscribed_one_keeps_thirty_days() {
        let fixture = Fixture::new();
        fixture.sign_up("ada@example.com").await;
        fixture
            .newsletter()
            .confirm(&fixture.last_token(CONFIRM), None)
            .await
            .unwrap();
        let records = fixture.store.snapshot();
        let subscription = records.iter().find(|r| r.entity == SUBSCRIPTION_ENTITY).unwrap();
        assert_eq!((subscription.expires_at, subscription.due), (None, None));
        assert!(
            !records.iter().any(|r| r.entity == TOKEN_ENTITY),
            "the used token is gone"
        );

        let mail = fixture.mailer.sent().pop().unwrap();
        let token = mail
            .list_unsubscribe
            .unwrap()
            .split_once("?token=")
            .unwrap()
            .1
            .to_owned();
        fixture.newsletter().unsubscribe(&token).await.unwrap();
        fixture.newsletter().unsubscribe(&token).await.unwrap();
        let records = fixture.store.snapshot();
        let subscription = records.iter().find(|r| r.entity == SUBSCRIPTION_ENTITY).unwrap();
        assert_eq!(subscription.expires_at, Some("2026-07-01T09:00:00Z".parse().unwrap()));
        let suppression = records.iter().find(|r| r.entity == SUPPRESSION_ENTITY).unwrap();
        assert_eq!(suppression.expires_at, None, "suppression is kept indefinitely");
        assert!(!serde_json::to_string(&suppression.attributes).unwrap().contains("ada"));
    }

    #[tokio::test]
    async fn a_failed_confirmation_mail_stays_in_the_outbox_until_a_retry_sends_it() {
        let fixture = Fixture::new();
        fixture.mailer.fail_next(1);
        assert_eq!(
            fixture.sign_up("ada@example.com").await,
            SignUpOutcome::ConfirmationQueued
        );
        assert!(fixture.mailer.sent().is_empty());
        let outbox = Outbox {
            store: &fixture.store,
            mailer: &fixture.mailer,
            clock: &fixture.clock,
            register: &fixture.register,
        };
        let far = fixture.clock.now() + SignedDuration::from_hours(1);
        let report = outbox.retry(far).await.unwrap();
        assert_eq!(report.sent, 1);
        assert_eq!(fixture.mailer.sent().len(), 1);
        assert_eq!(outbox.retry(far).await.unwrap().sent, 0, "sent once");
        let log = fixture
            .store
            .snapshot()
            .into_iter()
            .find(|r| r.entity == "mail_log")
            .unwrap();
        assert!(
            !serde_json::to_string(&log.attributes).unwrap().contains("ada"),
            "the log keeps no address"
        );
    }

    #[tokio::test]
    async fn a_consent_id_links_the_visitors_consent_history_to_the_subject() {
        let fixture = Fixture::new();
        let ledger = ConsentLedger {
            store: &fixture.store,
            clock: &fixture.clock,
            register: &fixture.register,
        };
        let decision = ConsentDecision {
            consent_id: None,
            policy_version: PolicyVersion::parse("policy_version", "1").unwrap(),
            categories: Categories::chosen(true, false),
            source: ConsentSource::Banner,
            language: None,
            notice_sha256: None,
        };
        let state = ledger.record(decision, &ClientContext::default()).await.unwrap();
        let sign_up = SignUp {
            email: EmailAddress::parse("email", "ada@example.com").unwrap(),
            name: None,
            list: ListId::default_list(),
            consent_id: Some(state.consent_id),
            channel: "form",
            ip: None,
        };
        fixture.newsletter().sign_up(sign_up).await.unwrap();
        let subject = fixture
            .newsletter()
            .subject_of(&EmailAddress::parse("email", "ada@example.com").unwrap());
        let entities: Vec<String> = query_all(&fixture.store, &Query::Subject(subject))
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.entity)
            .collect();
        for entity in [
            "consent_state",
            "consent_receipt",
            "newsletter_subscription",
            "mail_log",
        ] {
            assert!(entities.iter().any(|e| e == entity), "{entity} in {entities:?}");
        }
    }
}
