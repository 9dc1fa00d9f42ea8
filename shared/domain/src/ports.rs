//! The ports every use case runs on, borrowed as one bundle: where records
//! live, how mail leaves, what time it is, and what the register promises.
//!
//! The use cases of `newsletter`, `dsr` and `retention` hold a [`Ports`];
//! those of the contexts below this one (`consent`, `holds`, `mail`) cannot
//! name it without closing a cycle, so [`Ports`] hands them out instead
//! ([`Ports::consent_ledger`], [`Ports::legal_holds`], [`Ports::outbox`]).
//! Secrets are not ports: each function loads only those it needs, and the
//! use cases that need them take them beside the ports.
//!
//! Context `ports`: may use `consent`, `holds`, `mail`, `register`, `store`
//! and the kernel (README, "The domain crate's contexts").

use crate::clock::Clock;
use crate::consent::ConsentLedger;
use crate::holds::LegalHolds;
use crate::mail::outbox::Outbox;
use crate::mail::Mailer;
use crate::register::Register;
use crate::store::RecordStore;

/// The adapters a use case borrows: one store, one mailer, one clock, the
/// register. Copied freely (it is four references).
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub store: &'a dyn RecordStore,
    pub mailer: &'a dyn Mailer,
    pub clock: &'a dyn Clock,
    pub register: &'a Register,
}

impl<'a> Ports<'a> {
    /// The same ports over another store (a counting or hold-aware wrapper).
    pub fn with_store(self, store: &'a dyn RecordStore) -> Self {
        Self { store, ..self }
    }

    pub fn consent_ledger(self) -> ConsentLedger<'a> {
        ConsentLedger {
            store: self.store,
            clock: self.clock,
            register: self.register,
        }
    }

    pub fn legal_holds(self) -> LegalHolds<'a> {
        LegalHolds {
            store: self.store,
            clock: self.clock,
            register: self.register,
        }
    }

    pub fn outbox(self) -> Outbox<'a> {
        Outbox {
            store: self.store,
            mailer: self.mailer,
            clock: self.clock,
            register: self.register,
        }
    }
}
