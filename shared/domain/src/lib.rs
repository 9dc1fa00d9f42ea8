//! The privacy domain: who a data subject is, what was consented to, what the
//! register of processing promises, and the use cases that keep those promises.
//!
//! Nothing here knows about Lambda, HTTP or the AWS SDK. Storage and time are
//! ports ([`store::RecordStore`], [`clock::Clock`]); the adapters live in
//! `privacy-aws` (DynamoDB) and [`store::memory`] (the embedded store).

pub mod clock;
pub mod concurrently;
pub mod consent;
pub mod dsr;
pub mod email;
pub mod holds;
pub mod mail;
pub mod network;
pub mod newsletter;
pub mod person;
pub mod ports;
pub mod register;
pub mod reports;
pub mod retention;
pub mod store;
pub mod subject;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod tokens;
pub mod validation;

pub use validation::FieldError;
