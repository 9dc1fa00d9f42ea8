//! The preference centre and the account settings: which lists a person
//! gets, changed by the person through the signed link in every mail, or by
//! the Service's account settings and the privacy team.
//!
//! - The centre's link is signed for the subject alone
//!   ([`TokenKey::preferences_token`]): it reached the person's inbox, so it
//!   may change their lists, but it carries no address. A list added there
//!   copies the address of a confirmed subscription (the address an earlier
//!   double opt-in proved) and is recorded as consent with channel
//!   `preference_centre`. Without a confirmed subscription nothing can be
//!   added ([`NewsletterError::NotSubscribed`]); a suppressed person (after
//!   unsubscribing from everything, a bounce, a complaint, an objection or an
//!   erasure) only by a new double opt-in ([`NewsletterError::Suppressed`]).
//! - A list turned off ends like an unsubscribe, without suppressing the
//!   address (the other lists go on). A save that leaves no list on, or
//!   "unsubscribe from everything", ends all and suppresses the address, as
//!   the one-click link does.
//! - The account settings ([`Subscriptions::set_lists`]) add a list on
//!   consent or legitimate interest, given the address; a suppressed person
//!   is refused. Turning every list off there suppresses nothing: the
//!   customer may turn one on again in their settings.

use std::collections::BTreeMap;

use super::*;

/// Where a change of lists came from, as its evidence's `channel` records it.
pub const PREFERENCE_CENTRE: &str = "preference_centre";
pub const ACCOUNT_SETTINGS: &str = "account_settings";

/// A change of lists: each list named, on or off. Lists not named stay as
/// they are.
pub type ListChoice = BTreeMap<ListId, bool>;

/// The lists a person gets. A suppressed person gets none, whatever their
/// subscriptions say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    pub lists: BTreeMap<ListId, bool>,
    pub suppressed: bool,
}

impl Preferences {
    pub fn gets(&self, list: &ListId) -> bool {
        self.lists.get(list).copied().unwrap_or(false)
    }
}

/// The address the account settings name, and how a list they add is based.
pub struct KnownAddress<'a> {
    pub email: &'a EmailAddress,
    pub basis: LawfulBasis,
}

impl Subscriptions<'_> {
    /// The subject a preference-centre link is for.
    pub fn check_preferences_token(token_key: &TokenKey, token: &str) -> Result<SubjectKey, NewsletterError> {
        token_key
            .verify_preferences_token(token)
            .ok_or(NewsletterError::InvalidToken)
    }

    /// What the centre shows: each list, on when its subscription is
    /// confirmed and the address not suppressed. Changes nothing.
    pub async fn preferences(&self, subject: &SubjectKey) -> Result<Preferences, NewsletterError> {
        let suppressed = self.suppression(subject).await?.is_some();
        let mut lists = BTreeMap::new();
        for list in ListId::all() {
            let confirmed = self
                .subscription(subject, &list)
                .await?
                .is_some_and(|s| s.status == SubscriptionStatus::Confirmed);
            lists.insert(list, confirmed && !suppressed);
        }
        Ok(Preferences { lists, suppressed })
    }

    /// The preference centre's save. Refused, with nothing changed, when it
    /// adds a list the person may not get from here (see the module).
    pub async fn save_preferences(
        &self,
        subject: &SubjectKey,
        choice: &ListChoice,
    ) -> Result<Preferences, NewsletterError> {
        let current = self.preferences(subject).await?;
        let wanted = |list: &ListId| choice.get(list).copied().unwrap_or_else(|| current.gets(list));
        if !ListId::all().any(|list| wanted(&list)) {
            return self.unsubscribe_from_everything(subject).await;
        }
        let adds: Vec<ListId> = ListId::all()
            .filter(|list| wanted(list) && !current.gets(list))
            .collect();
        let mut known = None;
        if !adds.is_empty() {
            if current.suppressed {
                return Err(NewsletterError::Suppressed);
            }
            for list in ListId::all() {
                if let Some(s) = self.subscription(subject, &list).await? {
                    if s.status == SubscriptionStatus::Confirmed {
                        known = Some(s);
                        break;
                    }
                }
            }
            if known.is_none() {
                return Err(NewsletterError::NotSubscribed);
            }
        }
        for list in ListId::all() {
            if !wanted(&list) && current.gets(&list) {
                self.end_list(subject, &list, PREFERENCE_CENTRE).await?;
            }
        }
        if let Some(known) = known {
            for list in adds {
                let mut event = SubscriptionEvent::new(SubscriptionEventKind::Subscribed, self.ports.clock.now());
                event.channel = Some(PREFERENCE_CENTRE.to_owned());
                event.basis = Some(LawfulBasis::Consent);
                self.subscribe_known_address(subject, &known.email, known.name.clone(), &list, event)
                    .await?;
            }
        }
        tracing::info!(subject = subject.short(), "newsletter preferences saved");
        self.preferences(subject).await
    }

    /// "Unsubscribe from everything": every list ends and the address is
    /// suppressed, as the one-click link does for its list.
    pub async fn unsubscribe_from_everything(&self, subject: &SubjectKey) -> Result<Preferences, NewsletterError> {
        for list in ListId::all() {
            self.end_subscription(subject, &list, SuppressionReason::Unsubscribed)
                .await?;
        }
        self.preferences(subject).await
    }

    /// The account settings and the privacy team: lists on or off for a
    /// known address. A suppressed person is refused (409) before anything
    /// changes when a list is to be turned on; turning lists off suppresses
    /// nothing.
    pub async fn set_lists(
        &self,
        subject: &SubjectKey,
        address: KnownAddress<'_>,
        choice: &ListChoice,
    ) -> Result<Preferences, NewsletterError> {
        if choice.values().any(|on| *on) && self.suppression(subject).await?.is_some() {
            return Err(NewsletterError::Suppressed);
        }
        for (list, on) in choice {
            if *on {
                let mut event = match address.basis {
                    LawfulBasis::LegitimateInterest => {
                        SubscriptionEvent::new(SubscriptionEventKind::SubscribedByTeam, self.ports.clock.now())
                    }
                    LawfulBasis::Consent => {
                        let mut event =
                            SubscriptionEvent::new(SubscriptionEventKind::Subscribed, self.ports.clock.now());
                        event.channel = Some(ACCOUNT_SETTINGS.to_owned());
                        event
                    }
                };
                event.basis = Some(address.basis);
                self.subscribe_known_address(subject, address.email.as_str(), None, list, event)
                    .await?;
            } else {
                self.end_list(subject, list, ACCOUNT_SETTINGS).await?;
            }
        }
        self.preferences(subject).await
    }

    /// Ends one list's subscription, as an unsubscribe does, without
    /// suppressing the address: the person's other lists go on.
    pub async fn end_list(&self, subject: &SubjectKey, list: &ListId, channel: &str) -> Result<(), NewsletterError> {
        for _ in 0..ATTEMPTS {
            let writes = self
                .ending(subject, list, SuppressionReason::Unsubscribed, Some(channel))
                .await?;
            if writes.is_empty() {
                return Ok(());
            }
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(subject = subject.short(), list = list.as_str(), "newsletter list ended");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }

    /// A subscription without double opt-in, for an address already known:
    /// confirmed at once on the event's basis, unless the person opted out
    /// before. A confirmed subscription is left as it is.
    pub(super) async fn subscribe_known_address(
        &self,
        subject: &SubjectKey,
        email: &str,
        name: Option<PersonName>,
        list: &ListId,
        mut event: SubscriptionEvent,
    ) -> Result<(), NewsletterError> {
        if self.suppression(subject).await?.is_some() {
            return Err(NewsletterError::Suppressed);
        }
        let basis = event.basis.unwrap_or(LawfulBasis::LegitimateInterest);
        let key = subscription_key(subject, list);
        for _ in 0..ATTEMPTS {
            let now = self.ports.clock.now();
            event.at = now;
            let stored = self.ports.store.get(&key).await?;
            let existing: Option<Subscription> = stored
                .as_ref()
                .filter(|r| !r.is_expired(now))
                .map(Record::body)
                .transpose()?;
            if existing
                .as_ref()
                .is_some_and(|s| s.status == SubscriptionStatus::Confirmed)
            {
                return Ok(());
            }
            let (stored_evidence, evidence) = self.stored_evidence(subject, list, now).await?;
            let evidence_write = self.evidence_write(
                subject,
                stored_evidence.as_ref(),
                evidence,
                existing.as_ref().map_or(&[][..], |s| &s.events),
                event.clone(),
                None,
            );
            let mut writes = vec![evidence_write];
            // A sign-up still pending for this list is settled here: its link no longer confirms it.
            if let Some(digest) = existing.as_ref().and_then(|s| s.token_digest.clone()) {
                writes.push(Write::Delete {
                    key: token_key(&digest),
                    precondition: Precondition::None,
                });
            }
            let subscription = Subscription {
                list: list.clone(),
                email: email.to_owned(),
                name: name.clone().or_else(|| existing.as_ref().and_then(|s| s.name.clone())),
                status: SubscriptionStatus::Confirmed,
                basis,
                token_digest: None,
                signed_up_at: existing.as_ref().and_then(|s| s.signed_up_at),
                confirmed_at: Some(now),
                unsubscribed_at: None,
                confirmation_mails: existing
                    .as_ref()
                    .map(|s| s.confirmation_mails.clone())
                    .unwrap_or_default(),
                transient_bounces: existing.as_ref().map_or(0, |s| s.transient_bounces),
                events: Vec::new(),
            };
            let (version, precondition) = match &stored {
                Some(record) => (record.version + 1, Precondition::Version(record.version)),
                None => (1, Precondition::Absent),
            };
            let record = self.subscription_record(subject, &subscription, version);
            writes.push(Write::Put { record, precondition });
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    tracing::info!(
                        subject = subject.short(),
                        ?basis,
                        "newsletter subscription without opt-in mail"
                    );
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(NewsletterError::Contended)
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::testing::{email, World};

    const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm?token=";
    const PREFERENCES: &str = "https://privacy.example.com/newsletter/preferences?token=";

    fn list(id: &str) -> ListId {
        ListId::parse("list", id).unwrap()
    }

    fn choice(pairs: &[(&str, bool)]) -> ListChoice {
        pairs.iter().map(|(id, on)| (list(id), *on)).collect()
    }

    fn on(preferences: &Preferences) -> Vec<&str> {
        preferences
            .lists
            .iter()
            .filter(|(_, on)| **on)
            .map(|(list, _)| list.as_str())
            .collect()
    }

    async fn sign_up(world: &World, address: &str, lists: &[&str]) -> SignUpOutcome {
        let outcome = world
            .newsletter()
            .sign_up(SignUp {
                email: email(address),
                name: None,
                lists: lists.iter().map(|id| list(id)).collect(),
                consent_id: None,
                channel: "api",
                ip: None,
                notice: NoticeShown::default(),
            })
            .await
            .unwrap();
        world
            .ports()
            .outbox()
            .retry(world.now() + SignedDuration::from_mins(1))
            .await
            .unwrap();
        outcome
    }

    fn link_in_last_mail(world: &World, prefix: &str) -> String {
        let mail = world.mailer.sent().pop().expect("a mail was sent");
        let start = mail.text.find(prefix).expect("the link is in the mail") + prefix.len();
        mail.text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// Ada, confirmed on both lists through one mail.
    async fn ada_on_both(world: &World) -> SubjectKey {
        sign_up(world, "ada@example.com", &["news", "events"]).await;
        let token = link_in_last_mail(world, CONFIRM);
        world.newsletter().confirm(&token, None).await.unwrap();
        world.subject_of("ada@example.com")
    }

    async fn status(world: &World, subject: &SubjectKey, id: &str) -> Option<SubscriptionStatus> {
        let subscription = world.subscriptions().subscription(subject, &list(id)).await.unwrap();
        subscription.map(|s| s.status)
    }

    async fn events(world: &World, subject: &SubjectKey, id: &str) -> Vec<SubscriptionEvent> {
        let (_, evidence) = world
            .subscriptions()
            .stored_evidence(subject, &list(id), world.now())
            .await
            .unwrap();
        evidence.events
    }

    #[tokio::test]
    async fn one_mail_confirms_every_list_signed_up_for_each_with_its_own_evidence() {
        let world = World::at("2026-06-01T09:00:00Z");
        assert_eq!(
            sign_up(&world, "ada@example.com", &["news", "events"]).await,
            SignUpOutcome::ConfirmationQueued
        );
        assert_eq!(world.mailer.sent().len(), 1, "one mail for the set");
        let token = link_in_last_mail(&world, CONFIRM);
        let subject = world.subject_of("ada@example.com");
        assert_eq!(
            world.newsletter().check_confirmation_token(&token).await.unwrap(),
            [list("news"), list("events")]
        );
        assert_eq!(
            status(&world, &subject, "events").await,
            Some(SubscriptionStatus::Pending)
        );
        world.newsletter().confirm(&token, None).await.unwrap();
        for id in ["news", "events"] {
            assert_eq!(
                status(&world, &subject, id).await,
                Some(SubscriptionStatus::Confirmed),
                "{id}"
            );
            let kinds: Vec<_> = events(&world, &subject, id)
                .await
                .into_iter()
                .map(|e| e.event)
                .collect();
            assert_eq!(
                kinds,
                [SubscriptionEventKind::SignedUp, SubscriptionEventKind::Confirmed],
                "{id}"
            );
        }
        assert!(matches!(
            world.newsletter().confirm(&token, None).await,
            Err(NewsletterError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn the_rate_limit_is_the_addresss_whatever_the_list_and_a_confirmed_list_is_not_asked_again() {
        let world = World::at("2026-06-01T09:00:00Z");
        let subject = ada_on_both(&world).await;
        assert_eq!(
            sign_up(&world, "ada@example.com", &["news", "events"]).await,
            SignUpOutcome::AlreadySubscribed
        );
        let grace = world.subject_of("grace@example.com");
        sign_up(&world, "grace@example.com", &["news"]).await;
        world.clock.advance(SignedDuration::from_mins(5));
        assert_eq!(
            sign_up(&world, "grace@example.com", &["events"]).await,
            SignUpOutcome::RateLimited,
            "another list's mail counts"
        );
        world.clock.advance(SignedDuration::from_mins(6));
        let token = link_in_last_mail(&world, CONFIRM);
        world.newsletter().confirm(&token, None).await.unwrap();
        assert_eq!(
            sign_up(&world, "grace@example.com", &["news", "events"]).await,
            SignUpOutcome::ConfirmationQueued
        );
        let token = link_in_last_mail(&world, CONFIRM);
        assert_eq!(
            world.newsletter().check_confirmation_token(&token).await.unwrap(),
            [list("events")],
            "the confirmed list is not pending again"
        );
        assert_eq!(
            status(&world, &grace, "news").await,
            Some(SubscriptionStatus::Confirmed)
        );
        assert_eq!(
            status(&world, &subject, "news").await,
            Some(SubscriptionStatus::Confirmed)
        );
    }

    #[tokio::test]
    async fn the_confirmation_mail_links_the_subjects_preference_centre() {
        let world = World::at("2026-06-01T09:00:00Z");
        sign_up(&world, "ada@example.com", &["events"]).await;
        let token = link_in_last_mail(&world, PREFERENCES);
        assert_eq!(
            Subscriptions::check_preferences_token(&world.secrets.token_key, &token).unwrap(),
            world.subject_of("ada@example.com")
        );
        assert_eq!(
            preferences_url(
                &world.links,
                &world.secrets.token_key,
                &world.subject_of("ada@example.com")
            ),
            format!("{PREFERENCES}{token}")
        );
        let html = world.mailer.sent().pop().unwrap().html;
        assert!(html.contains("/newsletter/preferences?token="), "{html}");
        assert!(html.contains("Webinars and events"), "the mail names the list: {html}");
    }

    #[tokio::test]
    async fn unchecking_a_list_ends_it_and_the_others_go_on() {
        let world = World::at("2026-06-01T09:00:00Z");
        let subject = ada_on_both(&world).await;
        let shown = world.subscriptions().preferences(&subject).await.unwrap();
        assert_eq!((on(&shown), shown.suppressed), (vec!["events", "news"], false));

        let saved = world
            .subscriptions()
            .save_preferences(&subject, &choice(&[("events", false)]))
            .await
            .unwrap();
        assert_eq!((on(&saved), saved.suppressed), (vec!["news"], false));
        assert_eq!(
            status(&world, &subject, "events").await,
            Some(SubscriptionStatus::Unsubscribed)
        );
        assert_eq!(
            status(&world, &subject, "news").await,
            Some(SubscriptionStatus::Confirmed)
        );
        assert!(world.subscriptions().suppression(&subject).await.unwrap().is_none());
        let last = events(&world, &subject, "events").await.pop().unwrap();
        assert_eq!(
            (last.event, last.channel.as_deref()),
            (SubscriptionEventKind::Unsubscribed, Some(PREFERENCE_CENTRE))
        );
    }

    #[tokio::test]
    async fn a_list_added_in_the_centre_is_consent_copying_the_confirmed_address() {
        let world = World::at("2026-06-01T09:00:00Z");
        sign_up(&world, "ada@example.com", &["news"]).await;
        let token = link_in_last_mail(&world, CONFIRM);
        world.newsletter().confirm(&token, None).await.unwrap();
        let subject = world.subject_of("ada@example.com");

        let saved = world
            .subscriptions()
            .save_preferences(&subject, &choice(&[("news", true), ("events", true)]))
            .await
            .unwrap();
        assert_eq!(on(&saved), ["events", "news"]);
        let events_list = world
            .subscriptions()
            .subscription(&subject, &list("events"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (events_list.email.as_str(), events_list.basis),
            ("ada@example.com", LawfulBasis::Consent)
        );
        let added = events(&world, &subject, "events").await.pop().unwrap();
        assert_eq!(
            (added.event, added.channel.as_deref(), added.basis),
            (
                SubscriptionEventKind::Subscribed,
                Some(PREFERENCE_CENTRE),
                Some(LawfulBasis::Consent)
            )
        );
    }

    #[tokio::test]
    async fn nothing_is_added_without_a_confirmed_subscription_or_for_a_suppressed_person() {
        let world = World::at("2026-06-01T09:00:00Z");
        // Signed up, never confirmed: the address is not proven.
        sign_up(&world, "grace@example.com", &["news"]).await;
        let grace = world.subject_of("grace@example.com");
        assert!(matches!(
            world
                .subscriptions()
                .save_preferences(&grace, &choice(&[("events", true)]))
                .await,
            Err(NewsletterError::NotSubscribed)
        ));
        assert_eq!(status(&world, &grace, "events").await, None, "nothing written");

        let ada = ada_on_both(&world).await;
        let everything = world.subscriptions().unsubscribe_from_everything(&ada).await.unwrap();
        assert_eq!((on(&everything), everything.suppressed), (vec![], true));
        for id in ["news", "events"] {
            assert_eq!(
                status(&world, &ada, id).await,
                Some(SubscriptionStatus::Unsubscribed),
                "{id}"
            );
        }
        assert!(matches!(
            world
                .subscriptions()
                .save_preferences(&ada, &choice(&[("news", true)]))
                .await,
            Err(NewsletterError::Suppressed)
        ));
        assert_eq!(
            status(&world, &ada, "news").await,
            Some(SubscriptionStatus::Unsubscribed)
        );
    }

    #[tokio::test]
    async fn a_save_leaving_no_list_unsubscribes_from_everything() {
        let world = World::at("2026-06-01T09:00:00Z");
        let subject = ada_on_both(&world).await;
        let saved = world
            .subscriptions()
            .save_preferences(&subject, &choice(&[("news", false), ("events", false)]))
            .await
            .unwrap();
        assert!(saved.suppressed);
        let suppression = world.subscriptions().suppression(&subject).await.unwrap().unwrap();
        assert_eq!(suppression.reason, SuppressionReason::Unsubscribed);
    }

    #[tokio::test]
    async fn the_account_settings_set_lists_on_either_basis_and_refuse_a_suppressed_person() {
        let world = World::at("2026-06-01T09:00:00Z");
        let customer = email("grace@example.com");
        let subject = world.subject_of("grace@example.com");
        let address = |basis| KnownAddress {
            email: &customer,
            basis,
        };
        let set = world
            .subscriptions()
            .set_lists(
                &subject,
                address(LawfulBasis::LegitimateInterest),
                &choice(&[("news", true)]),
            )
            .await
            .unwrap();
        assert_eq!(on(&set), ["news"]);
        let news = events(&world, &subject, "news").await.pop().unwrap();
        assert_eq!(
            (news.event, news.basis),
            (
                SubscriptionEventKind::SubscribedByTeam,
                Some(LawfulBasis::LegitimateInterest)
            )
        );
        let set = world
            .subscriptions()
            .set_lists(
                &subject,
                address(LawfulBasis::Consent),
                &choice(&[("news", false), ("events", true)]),
            )
            .await
            .unwrap();
        assert_eq!(
            (on(&set), set.suppressed),
            (vec!["events"], false),
            "off suppresses nothing"
        );
        let added = events(&world, &subject, "events").await.pop().unwrap();
        assert_eq!(
            (added.event, added.channel.as_deref()),
            (SubscriptionEventKind::Subscribed, Some(ACCOUNT_SETTINGS))
        );

        // An objection (as the request's fulfilment records it) stops every list; no list comes back.
        for list in ListId::all() {
            world
                .subscriptions()
                .end_subscription(&subject, &list, SuppressionReason::Objection)
                .await
                .unwrap();
        }
        assert!(matches!(
            world
                .subscriptions()
                .set_lists(
                    &subject,
                    address(LawfulBasis::LegitimateInterest),
                    &choice(&[("news", true)])
                )
                .await,
            Err(NewsletterError::Suppressed)
        ));
        assert_eq!(
            status(&world, &subject, "news").await,
            Some(SubscriptionStatus::Unsubscribed)
        );
    }

    #[tokio::test]
    async fn a_link_mailed_before_sign_ups_took_several_lists_still_confirms_its_list() {
        let world = World::at("2026-06-01T09:00:00Z");
        sign_up(&world, "ada@example.com", &["news"]).await;
        let token = link_in_last_mail(&world, CONFIRM);
        let key = token_key(&crate::tokens::token_digest(&token));
        let mut record = world.ports().store.get(&key).await.unwrap().unwrap();
        record.attributes.remove("lists");
        record.attributes.insert("list".to_owned(), serde_json::json!("news"));
        world
            .ports()
            .store
            .write(vec![Write::Put {
                record,
                precondition: Precondition::None,
            }])
            .await
            .unwrap();
        world.newsletter().confirm(&token, None).await.unwrap();
        let subject = world.subject_of("ada@example.com");
        assert_eq!(
            status(&world, &subject, "news").await,
            Some(SubscriptionStatus::Confirmed)
        );
    }
}
