//! Helpers of the black-box tests: the AWS emulator, the Lambda Runtime API
//! emulator, and event fixtures.

pub mod aws;
pub mod dsr;
pub mod events;
pub mod function;
pub mod issues;
pub mod lambda_emulator;
pub mod local;
pub mod newsletter;
pub mod openapi;
pub mod ses;
pub mod sweep;
pub mod systems;
pub mod template;
