//! The privacy domain: who a data subject is, what was consented to, what the
//! register of processing promises, and the use cases that keep those promises.
//!
//! Nothing here knows about Lambda, HTTP or the AWS SDK. Storage and time are
//! ports ([`store::RecordStore`], [`clock::Clock`]); the adapters live in
//! `privacy-aws` (DynamoDB) and [`memory`] (the embedded store).

pub mod clock;
pub mod consent;
pub mod deadline;
pub mod dsr;
pub mod email;
pub mod export;
pub mod fulfilment;
pub mod holds;
pub mod mail;
pub mod memory;
pub mod network;
pub mod newsletter;
pub mod outbox;
pub mod person;
pub mod register;
pub mod retention;
pub mod store;
pub mod subject;
pub mod sweep;
pub mod tokens;
pub mod validation;

pub use validation::FieldError;
