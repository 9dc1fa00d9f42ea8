//! The newsletter: double opt-in, one-click unsubscribe, and the suppression
//! ledger that keeps an opted-out address from ever being mailed again.
//!
//! Records (one partition per person and list):
//!
//! - `NEWSLETTER#<subject>` / `LIST#<list>`: the [`Subscription`], with the
//!   address and the confirmation mails sent in the last 24 hours (the rate
//!   limit). Kept until it ends, then 30 days.
//! - `NEWSLETTER#<subject>` / `EVIDENCE#<list>`: the [`OptInEvidence`], every
//!   [`SubscriptionEvent`] with the policy version and notice shown, and no
//!   address. Kept while the subscription lasts and 3 years after it ends
//!   (unsubscribed, erased, or a sign-up never confirmed), so the opt-in can
//!   be proven (GDPR Art. 7(1)) after the address is gone.
//! - `TOKEN#<sha256(token)>` / `TOKEN`: finds the subscription a confirmation
//!   link is for. Single-use: deleted on confirmation.
//! - `SUPPRESSION#<subject>` / `NEWSLETTER`: a [`Suppression`], the subject
//!   key and a reason, no address. Kept indefinitely.
//!
//! Context `newsletter`: may use `consent`, `holds` (a restricted reader gets no issue), `mail`, `ports`, `register`, `store` and the kernel (README, "The domain crate's contexts").

pub mod audience;
mod events;
pub mod issues;
mod preferences;
mod subscriptions;

pub use events::SubscriptionEventKind;
pub use preferences::{KnownAddress, ListChoice, Preferences, ACCOUNT_SETTINGS, PREFERENCE_CENTRE};
pub use subscriptions::Subscriptions;

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::consent::{ConsentId, ConsentLedger, NoticeDigest, PolicyVersion};
use crate::email::EmailAddress;
use crate::mail::outbox::Outbox;
use crate::mail::{escape_html, link_mails_in_window, may_mail_link, Mail};
use crate::network::truncated_network;
use crate::person::PersonName;
use crate::ports::Ports;
use crate::register::lists::{newsletter_list, NEWSLETTER_LIST_IDS};
use crate::register::{entity, CategoryId, Register};
use crate::store::{Precondition, Record, RecordKey, StoreError, Write};
use crate::subject::Pepper;
use crate::subject::SubjectKey;
use crate::tokens::{token_digest, OneTimeToken, Secrets, TokenKey};
use crate::FieldError;

/// The lists people can subscribe to, as the register declares them.
pub const LISTS: &[&str] = &NEWSLETTER_LIST_IDS;
pub const DEFAULT_LIST: &str = NEWSLETTER_LIST_IDS[0];
const ATTEMPTS: usize = 5;

/// A newsletter list name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// Every list, in the register's order.
    pub fn all() -> impl Iterator<Item = Self> {
        LISTS.iter().map(|id| Self((*id).to_owned()))
    }

    /// What the list is called (in Swedish or English).
    pub fn name(&self, swedish: bool) -> &'static str {
        newsletter_list(&self.0).map_or("", |list| list.name(swedish))
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
    pub fn allows_new_opt_in(self) -> bool {
        matches!(self, Self::Unsubscribed | Self::Objection | Self::Erasure)
    }
}

/// One piece of evidence in a subscription's life (GDPR Art. 7(1)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionEvent {
    pub event: SubscriptionEventKind,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<PolicyVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_sha256: Option<NoticeDigest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<LawfulBasis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SuppressionReason>,
}

impl SubscriptionEvent {
    fn new(event: SubscriptionEventKind, at: Timestamp) -> Self {
        Self {
            event,
            at,
            network: None,
            channel: None,
            policy_version: None,
            notice_sha256: None,
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
    /// Events written before the evidence had a record of its own: read,
    /// moved into the [`OptInEvidence`] on the next write, never written here.
    #[serde(default, skip_serializing)]
    pub events: Vec<SubscriptionEvent>,
}

/// The proof of a subscription's life, without the address: every event,
/// none dropped, under the subject key (GDPR Art. 7(1), 5(2)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptInEvidence {
    pub list: ListId,
    pub events: Vec<SubscriptionEvent>,
    /// When the subscription last ended; the evidence is kept 3 years from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
}

/// The notice a person was shown when signing up: the policy version and
/// the SHA-256 of the text (as `POST /consent` records them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeShown {
    pub policy_version: Option<PolicyVersion>,
    pub notice_sha256: Option<NoticeDigest>,
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
    /// The lists signed up for: at least one, each once. One confirmation
    /// mail confirms them all.
    pub lists: Vec<ListId>,
    pub consent_id: Option<ConsentId>,
    /// `form` or `api`.
    pub channel: &'static str,
    pub ip: Option<IpAddr>,
    pub notice: NoticeShown,
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
    /// The sign-up is recorded and its confirmation mail is in the outbox.
    ConfirmationQueued,
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
    /// A list added in the preference centre needs a confirmed subscription
    /// (the address it copies, proven by an earlier opt-in).
    #[error("the person has no confirmed subscription")]
    NotSubscribed,
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

    /// The preference centre (SPEC 9): the token is the subject's alone.
    pub fn newsletter_preferences(&self, token: &str) -> String {
        format!("{}/newsletter/preferences?token={token}", self.base)
    }

    pub fn request_verification(&self, token: &str) -> String {
        format!("{}/dsr/verify?token={token}", self.base)
    }

    /// Where a system of record posts its answer to a task (SPEC 8).
    pub fn system_task_answer(&self, task_id: &str) -> String {
        format!("{}/systems/tasks/{task_id}", self.base)
    }

    pub fn request_status(&self, request_id: &str, token: &str) -> String {
        format!("{}/dsr/{request_id}?token={token}", self.base)
    }
}

/// The link to a person's preference centre, for every mail to a subscriber:
/// the token is signed for the subject alone, so one link serves every list.
pub fn preferences_url(links: &Links, token_key: &TokenKey, subject: &SubjectKey) -> String {
    links.newsletter_preferences(&token_key.preferences_token(subject))
}

pub struct Newsletter<'a> {
    pub ports: Ports<'a>,
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

/// A sign-up awaiting confirmation, as its link finds it.
struct PendingSignUp {
    token: Record,
    subject: SubjectKey,
    /// Each list still pending on the link: its record as read and its subscription.
    lists: Vec<(ListId, Record, Subscription)>,
}

fn evidence_key(subject: &SubjectKey, list: &ListId) -> RecordKey {
    RecordKey::new(
        format!("NEWSLETTER#{}", subject.as_str()),
        format!("EVIDENCE#{}", list.as_str()),
    )
}

pub(crate) fn suppression_key(subject: &SubjectKey) -> RecordKey {
    RecordKey::new(format!("SUPPRESSION#{}", subject.as_str()), "NEWSLETTER")
}

impl Newsletter<'_> {
    pub fn subject_of(&self, email: &EmailAddress) -> SubjectKey {
        SubjectKey::derive(&self.secrets.pepper, email)
    }

    /// The subscription records themselves: what needs no secret.
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions { ports: self.ports }
    }

    fn outbox(&self) -> Outbox<'_> {
        self.ports.outbox()
    }

    /// Double opt-in, step one: record the sign-up and queue a confirmation
    /// link for the lists not yet confirmed, unless the address is
    /// suppressed for good, already subscribed to them all, or was mailed
    /// too recently. One mail confirms every list signed up for.
    ///
    /// The work is the same whatever the address's state, so that the time
    /// the answer takes tells nothing about it: the suppression, every
    /// list's subscription and the evidence of the lists asked for are read,
    /// then one transaction holding an outbox entry is written.
    /// Where a mail is due, the transaction records the sign-up and queues
    /// the mail; where none is, it checks the record the decision rests on
    /// (rewritten unchanged under its version) and queues an entry that the
    /// drain deletes unsent. The mail service is never called here: the
    /// outbox's drain sends the mail, started at once by the table's stream.
    /// The rate limit is the address's: the mails of every list count.
    pub async fn sign_up(&self, sign_up: SignUp) -> Result<SignUpOutcome, NewsletterError> {
        let subject = self.subject_of(&sign_up.email);
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            // One round trip: the suppression, every list's subscription and
            // the evidence of the lists asked for.
            let all: Vec<ListId> = ListId::all().collect();
            let asked: Vec<&ListId> = all.iter().filter(|list| sign_up.lists.contains(list)).collect();
            let mut keys = vec![suppression_key(&subject)];
            keys.extend(all.iter().map(|list| subscription_key(&subject, list)));
            keys.extend(asked.iter().map(|list| evidence_key(&subject, list)));
            let mut found = self.ports.store.get_many(&keys).await?.into_iter();
            let suppression = found.next().flatten().filter(|record| !record.is_expired(now));
            let subscriptions: Vec<Option<Record>> = found.by_ref().take(all.len()).collect();
            let mut evidences = found;
            let mut lists = Vec::new();
            for (list, stored) in all.iter().zip(subscriptions) {
                let existing: Option<Subscription> = stored
                    .as_ref()
                    .filter(|record| !record.is_expired(now))
                    .map(Record::body)
                    .transpose()?;
                let evidence = match sign_up.lists.contains(list) {
                    true => Some(Subscriptions::evidence_as_stored(
                        list,
                        evidences.next().flatten(),
                        now,
                    )?),
                    false => None,
                };
                lists.push((list.clone(), stored, existing, evidence));
            }
            let live = |stored: &Option<Record>| stored.clone().filter(|record| !record.is_expired(now));
            let mut recent: Vec<Timestamp> = lists
                .iter()
                .filter_map(|(_, _, existing, _)| existing.as_ref())
                .flat_map(|s| link_mails_in_window(&s.confirmation_mails, now))
                .collect();
            recent.sort();
            recent.dedup();
            let suppressed_for_good = match &suppression {
                Some(record) => !record.body::<Suppression>()?.reason.allows_new_opt_in(),
                None => false,
            };
            let asked: Vec<_> = lists.iter().filter(|(_, _, _, evidence)| evidence.is_some()).collect();
            let to_confirm: Vec<_> = asked
                .iter()
                .filter(|(_, _, existing, _)| {
                    !existing
                        .as_ref()
                        .is_some_and(|s| s.status == SubscriptionStatus::Confirmed)
                })
                .collect();
            let no_mail = if suppressed_for_good {
                suppression.clone().map(|record| (SignUpOutcome::Suppressed, record))
            } else if to_confirm.is_empty() {
                asked
                    .first()
                    .and_then(|(_, stored, ..)| live(stored))
                    .map(|record| (SignUpOutcome::AlreadySubscribed, record))
            } else if !may_mail_link(&recent, now) {
                lists
                    .iter()
                    .filter(|(_, _, existing, _)| {
                        existing
                            .as_ref()
                            .is_some_and(|s| !link_mails_in_window(&s.confirmation_mails, now).is_empty())
                    })
                    .find_map(|(_, stored, ..)| live(stored))
                    .map(|record| (SignUpOutcome::RateLimited, record))
            } else {
                None
            };
            if let Some((outcome, decided_on)) = no_mail {
                let mut unchanged = decided_on.clone();
                unchanged.version += 1;
                let writes = vec![
                    Write::Put {
                        record: unchanged,
                        precondition: Precondition::Version(decided_on.version),
                    },
                    self.outbox().nothing_to_send("newsletter_confirmation", &subject),
                ];
                match self.ports.store.write(writes).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict) => continue,
                    Err(error) => return Err(error.into()),
                }
                tracing::info!(subject = subject.short(), ?outcome, "newsletter sign-up: no mail due");
                return Ok(outcome);
            }
            let token = OneTimeToken::generate();
            let mut confirmation_mails = recent;
            confirmation_mails.push(now);
            let mut writes = Vec::new();
            for (list, stored, existing, evidence) in to_confirm.iter().map(|entry| **entry) {
                let Some((stored_evidence, evidence)) = evidence.clone() else {
                    continue;
                };
                let mut event = SubscriptionEvent::new(SubscriptionEventKind::SignedUp, now);
                event.network = sign_up.ip.map(truncated_network);
                event.channel = Some(sign_up.channel.to_owned());
                event.policy_version = sign_up.notice.policy_version.clone();
                event.notice_sha256 = sign_up.notice.notice_sha256.clone();
                event.basis = Some(LawfulBasis::Consent);
                // Unconfirmed, the sign-up ends when it expires; its proof is kept 3 years from then.
                writes.push(
                    self.subscriptions().evidence_write(
                        &subject,
                        stored_evidence.as_ref(),
                        evidence,
                        existing.as_ref().map_or(&[][..], |s| &s.events),
                        event,
                        Some(
                            self.ports
                                .register
                                .expiry(CategoryId::NewsletterPending, now)
                                .unwrap_or(now),
                        ),
                    ),
                );
                let subscription = Subscription {
                    list: list.clone(),
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
                    confirmation_mails: confirmation_mails.clone(),
                    transient_bounces: existing.as_ref().map_or(0, |s| s.transient_bounces),
                    events: Vec::new(),
                };
                let (version, precondition) = match stored {
                    Some(record) => (record.version + 1, Precondition::Version(record.version)),
                    None => (1, Precondition::Absent),
                };
                let mut record = self
                    .subscriptions()
                    .subscription_record(&subject, &subscription, version);
                self.ports
                    .register
                    .stamp(&mut record, CategoryId::NewsletterPending, now);
                writes.push(Write::Put { record, precondition });
            }
            let confirming: Vec<ListId> = to_confirm.iter().map(|(list, ..)| list.clone()).collect();
            let mut token_record = Record::new(token_key(&token.digest()), entity::NEWSLETTER_CONFIRMATION_TOKEN);
            token_record.subject = Some(subject.clone());
            // The consent id is linked to the person only when the link is confirmed.
            token_record.set_body(
                &serde_json::json!({"lists": confirming, "signed_up_at": now, "consent_id": sign_up.consent_id}),
            );
            self.ports
                .register
                .stamp(&mut token_record, CategoryId::NewsletterPending, now);
            let mail = self.confirmation_mail(&sign_up.email, &subject, &confirming, &token);
            writes.push(Write::Put {
                record: token_record,
                precondition: Precondition::Absent,
            });
            writes.extend(self.outbox().queue(&mail, "newsletter_confirmation", &subject));
            match self.ports.store.write(writes).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
            tracing::info!(
                subject = subject.short(),
                lists = confirming.len(),
                "newsletter sign-up recorded; confirmation queued"
            );
            return Ok(SignUpOutcome::ConfirmationQueued);
        }
        Err(NewsletterError::Contended)
    }

    /// The pending sign-up a confirmation link is for, read without changing
    /// anything: the token record (of this entity only: a token of another
    /// kind is not a confirmation link), and the subscriptions it confirms
    /// (those still pending on this link). A link from before sign-ups took
    /// several lists names its one `list`.
    async fn pending_sign_up(&self, digest: &str) -> Result<PendingSignUp, NewsletterError> {
        let token = self
            .subscriptions()
            .live(&token_key(digest))
            .await?
            .filter(|record| record.entity == entity::NEWSLETTER_CONFIRMATION_TOKEN)
            .ok_or(NewsletterError::InvalidToken)?;
        let subject = token.subject.clone().ok_or(NewsletterError::InvalidToken)?;
        let lists: Vec<ListId> = match (token.attributes.get("lists"), token.attributes.get("list")) {
            (Some(lists), _) => serde_json::from_value(lists.clone()).ok(),
            (None, Some(list)) => serde_json::from_value(list.clone()).ok().map(|list| vec![list]),
            (None, None) => None,
        }
        .ok_or(NewsletterError::InvalidToken)?;
        let mut pending = Vec::new();
        for list in lists {
            let Some(stored) = self.subscriptions().live(&subscription_key(&subject, &list)).await? else {
                continue;
            };
            let subscription: Subscription = stored.body()?;
            if subscription.status == SubscriptionStatus::Pending
                && subscription.token_digest.as_deref() == Some(digest)
            {
                pending.push((list, stored, subscription));
            }
        }
        if pending.is_empty() {
            return Err(NewsletterError::InvalidToken);
        }
        Ok(PendingSignUp {
            token,
            subject,
            lists: pending,
        })
    }

    /// Checks a confirmation link without acting on it (the GET page: mail
    /// scanners and link previews follow every link). The lists it confirms.
    pub async fn check_confirmation_token(&self, token: &str) -> Result<Vec<ListId>, NewsletterError> {
        let pending = self.pending_sign_up(&token_digest(token)).await?;
        Ok(pending.lists.into_iter().map(|(list, ..)| list).collect())
    }

    /// Confirms a sign-up (the POST of the confirmation page's button): every
    /// list the link is for, each with its own evidence of the opt-in.
    /// Confirming lifts an earlier unsubscribe's suppression.
    pub async fn confirm(&self, token: &str, ip: Option<IpAddr>) -> Result<(), NewsletterError> {
        let digest = token_digest(token);
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            let PendingSignUp {
                token: token_record,
                subject,
                lists,
            } = self.pending_sign_up(&digest).await?;
            let mut writes = Vec::new();
            for (list, stored, mut subscription) in lists {
                subscription.status = SubscriptionStatus::Confirmed;
                subscription.confirmed_at = Some(now);
                subscription.unsubscribed_at = None;
                subscription.token_digest = None;
                let (stored_evidence, evidence) = self.subscriptions().stored_evidence(&subject, &list, now).await?;
                // The person confirms the sign-up the link was mailed for, and the notice shown then.
                let signed_up = evidence
                    .events
                    .iter()
                    .chain(&subscription.events)
                    .filter(|event| event.event == SubscriptionEventKind::SignedUp)
                    .max_by_key(|event| event.at);
                let mut event = SubscriptionEvent::new(SubscriptionEventKind::Confirmed, now);
                event.network = ip.map(truncated_network);
                event.policy_version = signed_up.and_then(|e| e.policy_version.clone());
                event.notice_sha256 = signed_up.and_then(|e| e.notice_sha256.clone());
                event.basis = Some(LawfulBasis::Consent);
                let legacy = std::mem::take(&mut subscription.events);
                writes.push(self.subscriptions().evidence_write(
                    &subject,
                    stored_evidence.as_ref(),
                    evidence,
                    &legacy,
                    event,
                    None,
                ));
                // A confirmed subscription is kept until it ends: no expiry.
                let record = self
                    .subscriptions()
                    .subscription_record(&subject, &subscription, stored.version + 1);
                writes.push(Write::Put {
                    record,
                    precondition: Precondition::Version(stored.version),
                });
            }
            writes.push(Write::Delete {
                key: token_record.key.clone(),
                precondition: Precondition::Present,
            });
            writes.push(Write::Delete {
                key: suppression_key(&subject),
                precondition: Precondition::None,
            });
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(subject = subject.short(), "newsletter subscription confirmed");
                    let consent_id = token_record
                        .attributes
                        .get("consent_id")
                        .and_then(|id| serde_json::from_value::<ConsentId>(id.clone()).ok());
                    if let Some(consent_id) = consent_id {
                        self.consent_ledger().link_subject(consent_id, &subject).await.map_err(
                            |error| match error {
                                crate::consent::ConsentError::Store(error) => NewsletterError::Store(error),
                                other => NewsletterError::Corrupt(other.to_string()),
                            },
                        )?;
                    }
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// A customer subscribed on legitimate interest (no double opt-in), by
    /// the privacy team or the Service's account settings, unless they
    /// opted out before.
    pub async fn subscribe_customer(
        &self,
        email: &EmailAddress,
        name: Option<PersonName>,
        list: &ListId,
    ) -> Result<(), NewsletterError> {
        let mut event = SubscriptionEvent::new(SubscriptionEventKind::SubscribedByTeam, self.ports.clock.now());
        event.basis = Some(LawfulBasis::LegitimateInterest);
        self.subscriptions()
            .subscribe_known_address(&self.subject_of(email), email.as_str(), name, list, event)
            .await
    }

    fn consent_ledger(&self) -> ConsentLedger<'_> {
        self.ports.consent_ledger()
    }

    /// The double opt-in mail. It greets no one by name: the name came with
    /// an address nobody has proven yet, and echoing it would let anyone put
    /// their text (a link, a lure) into a mail to someone else's inbox.
    fn confirmation_mail(
        &self,
        to: &EmailAddress,
        subject: &SubjectKey,
        lists: &[ListId],
        token: &OneTimeToken,
    ) -> Mail {
        let company = &self.ports.register.document().controller.name;
        let confirm = self.links.newsletter_confirmation(token.reveal());
        let first = lists.first().cloned().unwrap_or_else(ListId::default_list);
        let unsubscribe = self
            .links
            .newsletter_unsubscribe(&self.secrets.token_key.unsubscribe_token(subject, first.as_str()));
        let preferences = preferences_url(self.links, &self.secrets.token_key, subject);
        let names: Vec<&str> = lists.iter().map(|list| list.name(false)).collect();
        let names = names.join(", ");
        let text = format!(
            "Hello,\n\nPlease confirm that you want the {company} newsletter ({names}):\n\n{confirm}\n\n\
             The link works for 7 days. If you did not ask for the newsletter, ignore this mail: \
             nothing more will be sent.\n\nChoose your lists or unsubscribe: {preferences}\n\nPrivacy: {contact}\n",
            contact = self.ports.register.document().controller.contact,
        );
        let html = format!(
            "<!doctype html><html><body><p>Hello,</p>\
             <p>Please confirm that you want the {company_html} newsletter ({names_html}):</p>\
             <p><a href=\"{confirm_html}\">Confirm my subscription</a></p>\
             <p>The link works for 7 days. If you did not ask for the newsletter, ignore this mail: nothing more will be sent.</p>\
             <p><a href=\"{preferences_html}\">Choose your lists or unsubscribe</a></p>\
             </body></html>",
            company_html = escape_html(company),
            names_html = escape_html(&names),
            confirm_html = escape_html(&confirm),
            preferences_html = escape_html(&preferences),
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

/// The opt-in evidence of an erased person's subscription: the subscription
/// ends with the erasure, so the proof (no address) is kept 3 years from it
/// (GDPR Art. 7(1), 17(3)(e)). Returns the rewritten record.
pub fn evidence_after_erasure(register: &Register, record: &Record, now: Timestamp) -> Result<Record, NewsletterError> {
    let mut evidence: OptInEvidence = record.body()?;
    if evidence.ended_at.is_none() {
        evidence
            .events
            .push(SubscriptionEvent::new(SubscriptionEventKind::Erased, now));
        evidence.ended_at = Some(now);
    }
    let mut rewritten = record.clone();
    rewritten.version += 1;
    rewritten.set_body(&evidence);
    register.stamp_evidence(&mut rewritten, CategoryId::NewsletterSubscribed, evidence.ended_at);
    Ok(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::consent::{Categories, ClientContext, ConsentDecision, ConsentSource, PolicyVersion};
    use crate::store::RecordStore;
    use crate::store::{query_all, Query};
    use crate::testing::World;
    use jiff::SignedDuration;

    /// The test world, with the helpers these tests share.
    struct Fixture(World);

    impl std::ops::Deref for Fixture {
        type Target = World;

        fn deref(&self) -> &World {
            &self.0
        }
    }

    impl Fixture {
        fn new() -> Self {
            Self(World::at("2026-06-01T09:00:00Z"))
        }

        fn advance_minutes(&self, minutes: i64) {
            self.clock.advance(SignedDuration::from_mins(minutes));
        }

        async fn sign_up(&self, address: &str) -> SignUpOutcome {
            let sign_up = SignUp {
                email: EmailAddress::parse("email", address).unwrap(),
                name: None,
                lists: vec![ListId::default_list()],
                consent_id: None,
                channel: "api",
                ip: None,
                notice: NoticeShown::default(),
            };
            let outcome = self.newsletter().sign_up(sign_up).await.unwrap();
            self.drain_outbox().await;
            outcome
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
                .subscriptions()
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
            SignUpOutcome::ConfirmationQueued
        );
        fixture.advance_minutes(9);
        assert_eq!(fixture.sign_up("ada@example.com").await, SignUpOutcome::RateLimited);
        for _ in 0..4 {
            fixture.advance_minutes(11);
            assert_eq!(
                fixture.sign_up("ada@example.com").await,
                SignUpOutcome::ConfirmationQueued
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
            SignUpOutcome::ConfirmationQueued
        );
        assert_eq!(
            fixture.sign_up("grace@example.com").await,
            SignUpOutcome::ConfirmationQueued,
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
        let subscription = records
            .iter()
            .find(|r| r.entity == entity::NEWSLETTER_SUBSCRIPTION)
            .unwrap();
        assert_eq!((subscription.expires_at, subscription.due), (None, None));
        assert!(
            !records
                .iter()
                .any(|r| r.entity == entity::NEWSLETTER_CONFIRMATION_TOKEN),
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
        fixture
            .newsletter()
            .subscriptions()
            .unsubscribe(&fixture.secrets.token_key, &token)
            .await
            .unwrap();
        fixture
            .newsletter()
            .subscriptions()
            .unsubscribe(&fixture.secrets.token_key, &token)
            .await
            .unwrap();
        let records = fixture.store.snapshot();
        let subscription = records
            .iter()
            .find(|r| r.entity == entity::NEWSLETTER_SUBSCRIPTION)
            .unwrap();
        assert_eq!(subscription.expires_at, Some("2026-07-01T09:00:00Z".parse().unwrap()));
        let suppression = records.iter().find(|r| r.entity == entity::SUPPRESSION).unwrap();
        assert_eq!(suppression.expires_at, None, "suppression is kept indefinitely");
        assert!(!serde_json::to_string(&suppression.attributes).unwrap().contains("ada"));
    }

    fn evidence_record(fixture: &Fixture) -> Record {
        fixture
            .store
            .snapshot()
            .into_iter()
            .find(|r| r.entity == entity::NEWSLETTER_EVIDENCE)
            .expect("an evidence record")
    }

    fn evidence_of(record: &Record) -> OptInEvidence {
        record.body().unwrap()
    }

    const NOTICE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[tokio::test]
    async fn the_opt_in_evidence_records_the_notice_and_outlives_the_subscription() {
        let fixture = Fixture::new();
        let sign_up = SignUp {
            email: EmailAddress::parse("email", "ada@example.com").unwrap(),
            name: Some(PersonName::parse("name", "Ada").unwrap()),
            lists: vec![ListId::default_list()],
            consent_id: None,
            channel: "form",
            ip: Some("192.0.2.77".parse().unwrap()),
            notice: NoticeShown {
                policy_version: Some(PolicyVersion::parse("policy_version", "2026-05").unwrap()),
                notice_sha256: Some(NoticeDigest::parse("notice_sha256", NOTICE).unwrap()),
            },
        };
        fixture.newsletter().sign_up(sign_up).await.unwrap();
        fixture.drain_outbox().await;
        let pending = evidence_record(&fixture);
        assert_eq!(
            pending.expires_at,
            Some("2029-06-08T09:00:00Z".parse().unwrap()),
            "an unconfirmed sign-up ends with its 7 days; its proof is kept 3 years from then"
        );
        fixture.advance_minutes(5);
        fixture
            .newsletter()
            .confirm(&fixture.last_token(CONFIRM), None)
            .await
            .unwrap();
        let confirmed = evidence_record(&fixture);
        assert_eq!(
            (confirmed.expires_at, confirmed.due),
            (None, None),
            "kept while subscribed"
        );
        assert_eq!(confirmed.key.partition, pending.key.partition);
        assert!(confirmed.subject.is_some(), "under the subject key");
        let evidence = evidence_of(&confirmed);
        let kinds: Vec<&str> = evidence.events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(kinds, ["signed_up", "confirmed"]);
        for event in &evidence.events {
            assert_eq!(
                event.policy_version.as_ref().map(PolicyVersion::as_str),
                Some("2026-05")
            );
            assert_eq!(event.notice_sha256, NoticeDigest::parse("n", NOTICE).ok());
        }
        assert_eq!(evidence.events[0].network.as_deref(), Some("192.0.2.0/24"));
        let stored = serde_json::to_string(&confirmed.attributes).unwrap();
        assert!(
            !stored.contains("ada") && !stored.contains("Ada"),
            "no address or name: {stored}"
        );
        let subscription = fixture
            .store
            .snapshot()
            .into_iter()
            .find(|r| r.entity == entity::NEWSLETTER_SUBSCRIPTION)
            .unwrap();
        assert!(
            !subscription.attributes.contains_key("events"),
            "the events live in the evidence only"
        );

        fixture.advance_minutes(60);
        let unsubscribe = fixture.secrets.token_key.unsubscribe_token(
            &fixture
                .newsletter()
                .subject_of(&EmailAddress::parse("email", "ada@example.com").unwrap()),
            "news",
        );
        fixture
            .newsletter()
            .subscriptions()
            .unsubscribe(&fixture.secrets.token_key, &unsubscribe)
            .await
            .unwrap();
        let ended = evidence_record(&fixture);
        assert_eq!(ended.expires_at, Some("2029-06-01T10:05:00Z".parse().unwrap()));
        let evidence = evidence_of(&ended);
        assert_eq!(evidence.ended_at, Some("2026-06-01T10:05:00Z".parse().unwrap()));
        assert_eq!(
            evidence.events.last().unwrap().event,
            SubscriptionEventKind::Unsubscribed
        );
        let subscription = fixture
            .store
            .snapshot()
            .into_iter()
            .find(|r| r.entity == entity::NEWSLETTER_SUBSCRIPTION)
            .unwrap();
        assert_eq!(subscription.expires_at, Some("2026-07-01T10:05:00Z".parse().unwrap()));
        assert_eq!(
            crate::register::category_of(&ended),
            Some(CategoryId::NewsletterSubscribed)
        );

        // Erasure ends nothing more here: the earlier end's 3 years stand.
        let erased = evidence_after_erasure(&fixture.register, &ended, fixture.clock.now()).unwrap();
        assert_eq!(erased.expires_at, ended.expires_at);
    }

    #[tokio::test]
    async fn no_evidence_is_dropped_however_long_the_history() {
        let fixture = Fixture::new();
        for _ in 0..60 {
            fixture.sign_up("ada@example.com").await;
            fixture.advance_minutes(24 * 60 + 1);
        }
        let evidence = evidence_of(&evidence_record(&fixture));
        assert_eq!(evidence.events.len(), 60);
        assert_eq!(
            evidence.events[0].at,
            "2026-06-01T09:00:00Z".parse().unwrap(),
            "the first is kept"
        );
    }

    #[tokio::test]
    async fn erasure_of_a_subscriber_keeps_the_opt_in_evidence_three_years() {
        let fixture = Fixture::new();
        fixture.sign_up("ada@example.com").await;
        fixture
            .newsletter()
            .confirm(&fixture.last_token(CONFIRM), None)
            .await
            .unwrap();
        let open = evidence_record(&fixture);
        assert_eq!(open.expires_at, None);
        let erased = evidence_after_erasure(&fixture.register, &open, fixture.clock.now()).unwrap();
        assert_eq!(erased.expires_at, Some("2029-06-01T09:00:00Z".parse().unwrap()));
        assert_eq!(erased.version, open.version + 1);
        let evidence = evidence_of(&erased);
        assert_eq!(evidence.events.last().unwrap().event, SubscriptionEventKind::Erased);
    }

    #[tokio::test]
    async fn events_of_a_subscription_written_before_the_evidence_record_move_into_it() {
        let fixture = Fixture::new();
        let subject = fixture
            .newsletter()
            .subject_of(&EmailAddress::parse("email", "ada@example.com").unwrap());
        let mut record = Record::new(
            subscription_key(&subject, &ListId::default_list()),
            entity::NEWSLETTER_SUBSCRIPTION,
        );
        record.subject = Some(subject.clone());
        record.set_body(&serde_json::json!({
            "list": "news", "email": "ada@example.com", "name": null, "status": "confirmed",
            "basis": "consent", "token_digest": null, "confirmed_at": "2025-01-01T00:00:00Z",
            "unsubscribed_at": null, "confirmation_mails": [], "transient_bounces": 0,
            "events": [{"event": "signed_up", "at": "2024-12-31T00:00:00Z"},
                       {"event": "confirmed", "at": "2025-01-01T00:00:00Z"}],
        }));
        fixture
            .store
            .write(vec![Write::Put {
                record,
                precondition: Precondition::Absent,
            }])
            .await
            .unwrap();
        fixture
            .newsletter()
            .subscriptions()
            .end_subscription(&subject, &ListId::default_list(), SuppressionReason::Unsubscribed)
            .await
            .unwrap();
        let kinds: Vec<String> = evidence_of(&evidence_record(&fixture))
            .events
            .into_iter()
            .map(|e| e.event.to_string())
            .collect();
        assert_eq!(kinds, ["signed_up", "confirmed", "unsubscribed"]);
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
        let outbox = fixture.ports().outbox();
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
    async fn a_consent_id_links_the_visitors_consent_history_to_the_subject_only_when_confirmed() {
        let fixture = Fixture::new();
        let ledger = fixture.ports().consent_ledger();
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
            lists: vec![ListId::default_list()],
            consent_id: Some(state.consent_id),
            channel: "form",
            ip: None,
            notice: NoticeShown::default(),
        };
        fixture.newsletter().sign_up(sign_up).await.unwrap();
        fixture.drain_outbox().await;
        let subject = fixture
            .newsletter()
            .subject_of(&EmailAddress::parse("email", "ada@example.com").unwrap());
        let entities = |subject: SubjectKey| async {
            query_all(&fixture.store, &Query::Subject(subject))
                .await
                .unwrap()
                .into_iter()
                .map(|record| record.entity)
                .collect::<Vec<String>>()
        };
        let before = entities(subject.clone()).await;
        assert!(
            !before.iter().any(|e| e.starts_with("consent_")),
            "an unconfirmed sign-up links nothing: {before:?}"
        );
        fixture
            .newsletter()
            .confirm(&fixture.last_token(CONFIRM), None)
            .await
            .unwrap();
        let after = entities(subject).await;
        for entity in ["consent_link", "newsletter_subscription", "mail_log"] {
            assert!(after.iter().any(|e| e == entity), "{entity} in {after:?}");
        }
        assert!(
            !after.iter().any(|e| e == "consent_receipt"),
            "the receipts are not rewritten: {after:?}"
        );
    }

    /// The sign-up's calls on the store and the mail service, whatever the
    /// address's state: the same kinds, in the same number and order (the
    /// answer's timing tells nothing). Mail still goes only where it is due.
    #[tokio::test]
    async fn a_sign_up_makes_the_same_calls_whatever_the_addresss_state() {
        use crate::mail::CountingMailer;
        use crate::store::memory::{Calls, CountingStore};

        let fixture = Fixture::new();
        let address = |tag: &str| EmailAddress::parse("email", &format!("{tag}@example.com")).unwrap();
        let list = ListId::default_list();
        // pending: signed up 11 minutes ago (no longer paced).
        fixture.sign_up("pending@example.com").await;
        // confirmed: signed up and confirmed.
        fixture.sign_up("confirmed@example.com").await;
        let token = fixture.last_token(CONFIRM);
        fixture.newsletter().confirm(&token, None).await.unwrap();
        // unsubscribed by their own choice (a new double opt-in may lift it).
        fixture.sign_up("unsubscribed@example.com").await;
        let token = fixture.last_token(CONFIRM);
        fixture.newsletter().confirm(&token, None).await.unwrap();
        let subject = fixture.newsletter().subject_of(&address("unsubscribed"));
        fixture
            .newsletter()
            .subscriptions()
            .end_subscription(&subject, &list, SuppressionReason::Unsubscribed)
            .await
            .unwrap();
        // suppressed after a hard bounce, and after a complaint.
        for (tag, kind) in [
            ("bounced", FeedbackKind::PermanentBounce),
            ("complained", FeedbackKind::Complaint),
        ] {
            let feedback = DeliveryFeedback {
                kind,
                recipients: vec![address(tag)],
            };
            fixture
                .newsletter()
                .subscriptions()
                .record_feedback(&fixture.secrets.pepper, &feedback)
                .await
                .unwrap();
        }
        // paced: mailed a minute before.
        fixture.advance_minutes(10);
        fixture.sign_up("paced@example.com").await;
        fixture.advance_minutes(1);
        let mailed_before = fixture.mailer.sent().len();

        let Fixture(world) = fixture;
        let calls = Calls::default();
        let store = CountingStore::new(world.store, calls.clone());
        let mailer = CountingMailer {
            inner: world.mailer,
            calls: calls.clone(),
        };
        let ports = Ports {
            store: &store,
            mailer: &mailer,
            clock: &world.clock,
            register: &world.register,
        };
        let newsletter = Newsletter {
            ports,
            secrets: &world.secrets,
            links: &world.links,
        };
        let states = [
            "new",
            "pending",
            "confirmed",
            "unsubscribed",
            "bounced",
            "complained",
            "paced",
        ];
        let mut sequences = Vec::new();
        for state in states {
            let sign_up = SignUp {
                email: address(state),
                name: None,
                lists: vec![list.clone()],
                consent_id: None,
                channel: "form",
                ip: None,
                notice: NoticeShown::default(),
            };
            newsletter.sign_up(sign_up).await.unwrap();
            sequences.push((state, calls.take()));
        }
        let (_, first) = &sequences[0];
        for (state, sequence) in &sequences {
            assert_eq!(sequence, first, "{state}'s calls differ from new's: {sequences:?}");
        }
        assert!(
            !first.contains(&"send"),
            "the mail service is not called on the request path"
        );

        // The drain sends what is due: to the new, the pending and the
        // self-unsubscribed address, to no one else.
        ports
            .outbox()
            .retry(world.clock.now() + SignedDuration::from_mins(1))
            .await
            .unwrap();
        let mut mailed: Vec<String> = mailer.inner.sent()[mailed_before..]
            .iter()
            .map(|mail| mail.to.as_str().to_owned())
            .collect();
        mailed.sort();
        assert_eq!(
            mailed,
            ["new@example.com", "pending@example.com", "unsubscribed@example.com"]
        );
    }
}
