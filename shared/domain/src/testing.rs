//! Shared test fixtures (feature `test-util`, and the crate's own tests): a
//! [`World`] of in-memory or given adapters the use cases run in, with the
//! secrets, links and team address every test would otherwise write out.
//!
//! Context `testing`: may use every other context; nothing but tests uses it
//! (README, "The domain crate's contexts").

pub mod issue_run;
pub mod latency;

use crate::clock::{Clock, FixedClock};
use crate::dsr::tasks::SystemsScope;
use crate::dsr::{RequestType, Requests, Submission};
use crate::email::EmailAddress;
use crate::mail::RecordingMailer;
use crate::newsletter::{Links, Newsletter, Subscriptions};
use crate::ports::Ports;
use crate::register::Register;
use crate::retention::{PrivacyTeam, RetentionSweep};
use crate::store::memory::MemoryStore;
use crate::store::RecordStore;
use crate::subject::{Pepper, SubjectKey};
use crate::tokens::{Secrets, TokenKey};
use jiff::Timestamp;

/// The base of every link a test world mails.
pub const PUBLIC_BASE_URL: &str = "https://privacy.example.com";

/// The privacy team's address in a test world.
pub const TEAM_ADDRESS: &str = "team@example.com";

/// Everything a use case borrows, owned: a store (in memory unless given),
/// a mailer that records what it sends, a clock that moves only when told,
/// the standard register, fixed test secrets, links and the team's address.
pub struct World<S = MemoryStore> {
    pub store: S,
    pub mailer: RecordingMailer,
    pub clock: FixedClock,
    pub register: Register,
    pub secrets: Secrets,
    pub links: Links,
    pub team: EmailAddress,
    /// Whether verified requests create tasks for the register's other
    /// systems (off unless [`World::asking_every_system`]: most tests are of
    /// this product's own fulfilment).
    pub systems: SystemsScope,
}

impl World<MemoryStore> {
    /// An empty in-memory world whose clock reads `now` (RFC 3339).
    pub fn at(now: &str) -> Self {
        Self::on(MemoryStore::new(), timestamp(now))
    }
}

impl<S: RecordStore> World<S> {
    /// A world over `store` (DynamoDB's adapter, a counting wrapper) whose
    /// clock reads `now`.
    pub fn on(store: S, now: Timestamp) -> Self {
        Self {
            store,
            mailer: RecordingMailer::new(),
            clock: FixedClock::new(now),
            register: Register::standard().expect("the standard register"),
            secrets: test_secrets(),
            links: Links::new(PUBLIC_BASE_URL),
            team: EmailAddress::parse("team", TEAM_ADDRESS).expect("the team's address"),
            systems: SystemsScope::ThisProductOnly,
        }
    }

    /// The same world with another register.
    pub fn with_register(mut self, register: Register) -> Self {
        self.register = register;
        self
    }

    /// The same world asking every system of its register (SPEC 8).
    pub fn asking_every_system(mut self) -> Self {
        self.systems = SystemsScope::EveryRegisteredSystem;
        self
    }

    /// What the table's stream starts when a mail is queued (a request's
    /// verification link, a sign-up's confirmation): one run of the outbox's
    /// drain.
    pub async fn drain_outbox(&self) -> crate::mail::outbox::RetryReport {
        self.ports()
            .outbox()
            .retry(self.clock.now() + jiff::SignedDuration::from_mins(1))
            .await
            .expect("the outbox drains")
    }

    /// What the clock reads.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn ports(&self) -> Ports<'_> {
        Ports {
            store: &self.store,
            mailer: &self.mailer,
            clock: &self.clock,
            register: &self.register,
        }
    }

    pub fn requests(&self) -> Requests<'_> {
        Requests {
            ports: self.ports(),
            secrets: &self.secrets,
            links: &self.links,
            privacy_team: Some(&self.team),
            systems: self.systems,
        }
    }

    pub fn newsletter(&self) -> Newsletter<'_> {
        Newsletter {
            ports: self.ports(),
            secrets: &self.secrets,
            links: &self.links,
        }
    }

    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions { ports: self.ports() }
    }

    /// The sweep, reporting to `team` (whose subject key the caller chose).
    pub fn sweep<'a>(&'a self, team: &'a PrivacyTeam) -> RetentionSweep<'a> {
        RetentionSweep {
            ports: self.ports(),
            privacy_team: team,
        }
    }

    /// The subject key of `address` under the world's pepper.
    pub fn subject_of(&self, address: &str) -> SubjectKey {
        SubjectKey::derive(&self.secrets.pepper, &email(address))
    }
}

/// The secrets of every test world (never a deployment's).
pub fn test_secrets() -> Secrets {
    Secrets {
        pepper: Pepper::new(vec![3; 32]).expect("a 32-byte pepper"),
        token_key: TokenKey::new(vec![4; 32]).expect("a 32-byte token key"),
    }
}

/// A request of `request_type` from `address` through the API, with
/// nothing else filled in.
pub fn submission(request_type: RequestType, address: &str) -> Submission {
    Submission {
        request_type,
        email: email(address),
        name: None,
        jurisdiction: None,
        details: None,
        corrections: None,
        consent_id: None,
        scope: None,
        channel: "api",
        ip: None,
    }
}

/// An address a test names (panics on an invalid one).
pub fn email(address: &str) -> EmailAddress {
    EmailAddress::parse("email", address).expect("a valid test address")
}

/// A time a test names, RFC 3339 (panics on an invalid one).
pub fn timestamp(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 time")
}

/// The token of the verification link (`/dsr/verify?token=`) in `mail`
/// (panics when it holds none).
pub fn verification_token(mail: &crate::mail::Mail) -> String {
    const LINK: &str = "/dsr/verify?token=";
    let start = mail.text.find(LINK).expect("a verification link in the mail") + LINK.len();
    mail.text[start..]
        .split_whitespace()
        .next()
        .expect("the link's token")
        .to_owned()
}
