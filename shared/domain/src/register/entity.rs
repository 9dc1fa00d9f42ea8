//! Every kind of record the product stores, named once: the `entity`
//! attribute of its records. [`super::category_of`] maps each to the
//! register category that sets its retention; the contexts that write them
//! use these names and no others.

// The consent ledger (`consent`).
pub const CONSENT_STATE: &str = "consent_state";
pub const CONSENT_RECEIPT: &str = "consent_receipt";
pub const CONSENT_CHECKPOINT: &str = "consent_checkpoint";
pub const CONSENT_LINK: &str = "consent_link";
/// The consent report's counters: counts per day, no person.
pub const CONSENT_TALLY: &str = "consent_tally";

// The newsletter (`newsletter`).
pub const NEWSLETTER_SUBSCRIPTION: &str = "newsletter_subscription";
pub const NEWSLETTER_CONFIRMATION_TOKEN: &str = "newsletter_confirmation_token";
pub const NEWSLETTER_EVIDENCE: &str = "newsletter_evidence";
pub const SUPPRESSION: &str = "suppression";
/// A newsletter issue: its content and progress, no person. Kept.
pub const NEWSLETTER_ISSUE: &str = "newsletter_issue";
/// An issue waiting for its planner (`ISSUE_DUE` / `<send_at>#<id>`).
pub const NEWSLETTER_ISSUE_DUE: &str = "newsletter_issue_due";
/// One shard of an issue's counters: counts, no person. Kept.
pub const NEWSLETTER_ISSUE_COUNT: &str = "newsletter_issue_count";
/// The send record of an issue to one reader (the mail log of an issue):
/// written before the mail leaves, so a retry never mails twice. 90 days.
pub const NEWSLETTER_SEND: &str = "newsletter_send";

// Mail (`mail`).
pub const MAIL_OUTBOX: &str = "mail_outbox";
pub const MAIL_LOG: &str = "mail_log";

// Requests (`dsr`).
pub const DSR_REQUEST: &str = "dsr_request";
pub const DSR_INTAKE: &str = "dsr_intake";
pub const DSR_VERIFICATION_TOKEN: &str = "dsr_verification_token";
pub const DSR_NEW_ADDRESS_TOKEN: &str = "dsr_new_address_token";
pub const DSR_QUEUE_ENTRY: &str = "dsr_queue_entry";
/// A request's entry in the request report: no personal data.
pub const DSR_REPORT_ENTRY: &str = "dsr_report_entry";
pub const FULFILMENT_CONTINUATION: &str = "fulfilment_continuation";
/// A task for another system of record (`dsr::tasks`).
pub const DSR_TASK: &str = "dsr_task";
/// A task waiting to be handed over to its system (the task outbox).
pub const DSR_TASK_DELIVERY: &str = "dsr_task_delivery";

// What keeps data past the register (`holds`).
pub const LEGAL_HOLD: &str = "legal_hold";
pub const LEGAL_HOLD_LIFTED: &str = "legal_hold_lifted";
pub const HOLD_SUMMARY: &str = "hold_summary";
pub const PROCESSING_RESTRICTION: &str = "processing_restriction";

// The retention sweep (`retention`).
pub const SWEEP_CHECKPOINT: &str = "sweep_checkpoint";
pub const SWEEP_RUN: &str = "sweep_run";
pub const SWEEP_DIGEST: &str = "sweep_digest";
