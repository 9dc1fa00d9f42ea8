//! Helpers of the black-box tests: the AWS emulator, the Lambda Runtime API
//! emulator, and event fixtures.

pub mod aws;
pub mod lambda_emulator;
