//! The black-box tests, one binary: the built Lambda binaries driven with
//! real API Gateway v2, EventBridge and SNS events through a Lambda Runtime
//! API emulator, the DynamoDB adapter and the SES mailer against a
//! DynamoDB/SES-speaking server (moto), the local server, and the template
//! and OpenAPI contracts. One module per area; `cargo test --test api
//! <module>::` runs one area.

mod admin_access;
mod api_methods;
mod bounded_work;
mod call_budgets;
mod consent_lambda;
mod dsr_deadlines;
mod dsr_export;
mod dsr_intake_limits;
mod dsr_lambda;
mod dsr_lifecycle;
mod dsr_rectification;
mod invoke_cli;
mod lambda_emulator;
mod legal_holds;
mod newsletter_issues;
mod newsletter_lambda;
mod newsletter_preferences;
mod openapi_routes;
mod register_and_proof;
mod reports;
mod retention_sweep;
mod ses_mailer;
mod store_conformance;
mod systems;
mod template_routes;
