//! AWS calls per request on a budget (SPEC 11): the built functions serve
//! each route and event once on its common path, against the emulator, and
//! every invocation's `aws calls` log line (the count of the interceptor on
//! every SDK client, retries included) must stay within the route's budget.
//! The table printed is the one in infra/benchmarks.md.

use privacy_tests::dsr::{DsrBackend, VERIFY};
use privacy_tests::events::{http_event, link_button, link_page, ses_notification, with_header, with_jwt};
use privacy_tests::function::{AwsCalls, Function};
use privacy_tests::newsletter::{mails_to, unique_address, Deployment};
use serde_json::{json, Value};

/// The budget of each route and event on its common path: SPEC 11's
/// (`POST /consent` ≤ 2, `POST /newsletter/subscribe` ≤ 4) and, for the
/// others, what they make today after the cheap reductions (reads batched,
/// the hold check folded into the write), so that any new call is a
/// decision. `POST /dsr` makes 2 (the issue's budget is 4): its verification
/// mail is queued in the request's own transaction and sent by the outbox's
/// drain, as a sign-up's confirmation is.
const BUDGETS: &[(&str, u64, &str)] = &[
    ("POST /consent", 2, "state + link in one BatchGetItem; one transaction"),
    ("GET /consent/{consent_id}", 1, "the state"),
    (
        "GET /consent/{consent_id}/receipts",
        3,
        "state, checkpoint, one Query page",
    ),
    ("DELETE /consent/{consent_id}", 3, "state, then as POST"),
    ("POST /newsletter/subscribe", 2, "1 BatchGetItem (the suppression, every list, the evidence asked for) + 1 TransactWriteItems"),
    ("GET /newsletter/confirm", 2, "the token's pending sign-up, shown"),
    ("POST /newsletter/confirm", 4, "3 GetItem + 1 TransactWriteItems"),
    ("GET /newsletter/unsubscribe", 0, "the page only shows a button"),
    ("POST /newsletter/unsubscribe", 4, "3 GetItem + 1 TransactWriteItems"),
    (
        "POST /dsr",
        2,
        "1 BatchGetItem (the abuse limits, the suppression), 1 TransactWriteItems (the request, its link, its mail queued)",
    ),
    ("GET /dsr/verify", 2, "the request the link is for, shown"),
    ("POST /dsr/verify", 14, "verify, restriction, 3 mails of 3 calls"),
    ("GET /dsr/{request_id}", 1, "the request"),
    ("GET /privacy/register", 0, "compiled in"),
    (
        "GET /admin/dsr",
        5,
        "a Query per queue shard (4) and the partition of entries from before the sharding, merged into one page",
    ),
    (
        "mail-outbox (stream)",
        13,
        "a Query per outbox shard (8) and the old partition, claim, restriction, SES, outcome",
    ),
    (
        "ses-feedback (hard bounce)",
        6,
        "per list (2): the suppression and the subscription read; the suppression written once; a Query for the reader's latest issue mail, whose bounce count it raises",
    ),
];

fn budget_of(route: &str) -> u64 {
    BUDGETS
        .iter()
        .find(|(name, _, _)| *name == route)
        .map(|(_, budget, _)| *budget)
        .unwrap_or_else(|| panic!("no budget for {route}"))
}

/// What was measured, route by route.
#[derive(Default)]
struct Measured(Vec<(String, AwsCalls)>);

impl Measured {
    fn take(&mut self, route: &str, function: &Function) {
        self.0.push((route.to_owned(), function.last_aws_calls()));
    }

    fn check(&self) {
        let mut table = String::from(
            "| route or event | budget | calls | capacity units | operations |\n|---|---:|---:|---:|---|\n",
        );
        let mut over = Vec::new();
        for (route, calls) in &self.0 {
            let budget = budget_of(route);
            table.push_str(&format!(
                "| `{route}` | {budget} | {} | {} | {} |\n",
                calls.calls, calls.capacity_units, calls.operations
            ));
            if calls.calls > budget {
                over.push(format!(
                    "{route}: {} AWS calls, over its budget of {budget} ({})",
                    calls.calls, calls.operations
                ));
            }
        }
        println!("{table}");
        assert!(over.is_empty(), "over budget:\n{}\n{table}", over.join("\n"));
    }
}

#[tokio::test]
async fn every_route_stays_within_its_budget_of_aws_calls() {
    let mut measured = Measured::default();

    // Consent.
    let deployment = Deployment::new().await;
    let consent = deployment.start("consent-capture", &[]).await;
    let consent_id = uuid::Uuid::new_v4().to_string();
    let decision = json!({"consent_id": consent_id, "policy_version": "2026-01", "source": "banner",
        "categories": {"analytics": true, "marketing": false}});
    let answer = consent
        .http(http_event("POST /consent", "/consent", Some(&decision.to_string())))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    measured.take("POST /consent", &consent);
    let path = format!("/consent/{consent_id}");
    let answer = consent.http(http_event("GET /consent/{consent_id}", &path, None)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    measured.take("GET /consent/{consent_id}", &consent);
    let receipts = format!("{path}/receipts");
    let answer = consent
        .http(http_event("GET /consent/{consent_id}/receipts", &receipts, None))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    measured.take("GET /consent/{consent_id}/receipts", &consent);
    let answer = consent
        .http(http_event("DELETE /consent/{consent_id}", &path, None))
        .await;
    assert!(answer.status < 300, "{}", answer.body);
    measured.take("DELETE /consent/{consent_id}", &consent);
    consent.stop_checking_logs(&[]).await;

    // Newsletter: a new address signs up, the stream's drain sends the
    // confirmation, the person confirms, then unsubscribes in one click.
    let subscribe = deployment.start("newsletter-subscribe", &[]).await;
    let unsubscribe = deployment
        .start("newsletter-unsubscribe", &[("SUBJECT_PEPPER", "")])
        .await;
    let address = unique_address("budget");
    let body = json!({"email": address}).to_string();
    let answer = subscribe
        .http(http_event(
            "POST /newsletter/subscribe",
            "/newsletter/subscribe",
            Some(&body),
        ))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    measured.take("POST /newsletter/subscribe", &subscribe);
    let outbox = deployment.start("mail-outbox", &[]).await;
    let timeout = std::time::Duration::from_secs(60);
    outbox
        .invoke_with_timeout(privacy_tests::events::sample("mail-outbox-stream"), timeout)
        .await;
    measured.take("mail-outbox (stream)", &outbox);
    let token = mails_to(&address)
        .await
        .last()
        .and_then(|mail| mail.token(privacy_tests::dsr::CONFIRM))
        .expect("a confirmation link");
    let page = subscribe.http(link_page("/newsletter/confirm", &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("GET /newsletter/confirm", &subscribe);
    let page = subscribe.http(link_button("/newsletter/confirm", &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("POST /newsletter/confirm", &subscribe);
    let unsubscribe_token = mails_to(&address)
        .await
        .iter()
        .rev()
        .find_map(|mail| mail.unsubscribe_token())
        .expect("a List-Unsubscribe link");
    let page = unsubscribe
        .http(link_page("/newsletter/unsubscribe", &unsubscribe_token))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("GET /newsletter/unsubscribe", &unsubscribe);
    // RFC 8058 one-click, as a mailbox provider sends it.
    let one_click = http_event(
        "POST /newsletter/unsubscribe",
        &format!("/newsletter/unsubscribe?token={unsubscribe_token}"),
        Some("List-Unsubscribe=One-Click"),
    );
    let one_click = with_header(one_click, "content-type", Some("application/x-www-form-urlencoded"));
    let page = unsubscribe.http(with_header(one_click, "origin", None)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("POST /newsletter/unsubscribe", &unsubscribe);
    outbox.stop_checking_logs(&[&address]).await;
    subscribe.stop_checking_logs(&[&address]).await;
    unsubscribe.stop_checking_logs(&[&address]).await;

    // SES feedback: a hard bounce of another address.
    let feedback = deployment.start("ses-feedback", &[]).await;
    let bounced = unique_address("bounced");
    feedback.invoke(ses_notification("Bounce", "Permanent", &bounced)).await;
    measured.take("ses-feedback (hard bounce)", &feedback);
    feedback.stop_checking_logs(&[&bounced]).await;

    // Requests: submit, the link's page and button, the status, the register, the queue.
    let dsr = DsrBackend::on(deployment, unique_address("team")).await;
    let requester = unique_address("requester");
    let answer = dsr.submit(json!({"type": "access", "email": requester})).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    measured.take("POST /dsr", &dsr.intake);
    let token = dsr.verification_token(&requester).await;
    let page = dsr.intake.http(link_page("/dsr/verify", &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("GET /dsr/verify", &dsr.intake);
    let page = dsr.verify(&token).await;
    assert_eq!(page.status, 200, "{}", page.body);
    measured.take("POST /dsr/verify", &dsr.intake);
    let status = dsr.status_page(&requester).await;
    assert_eq!(status.status, 200, "{}", status.body);
    measured.take("GET /dsr/{request_id}", &dsr.intake);
    let register = dsr
        .intake
        .http(http_event("GET /privacy/register", "/privacy/register", None))
        .await;
    assert_eq!(register.status, 200);
    measured.take("GET /privacy/register", &dsr.intake);
    let queue = dsr
        .admin
        .http(with_jwt(
            http_event("GET /admin/dsr", "/admin/dsr", None),
            "team-member-1",
        ))
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    measured.take("GET /admin/dsr", &dsr.admin);
    let _ = VERIFY;
    dsr.stop(&[&requester]).await;

    measured.check();
}

#[test]
fn the_call_line_is_read_from_the_json_log_format() {
    let line = r#"{"timestamp":"x","level":"INFO","fields":{"message":"aws calls","aws_calls":3,"capacity_units":2.5,"operations":"DynamoDB.GetItem,DynamoDB.GetItem,DynamoDB.TransactWriteItems"},"target":"privacy_lambda"}"#;
    let calls = AwsCalls::parse(line).expect("the line");
    assert_eq!(calls.calls, 3);
    assert_eq!(calls.capacity_units, 2.5);
    assert!(AwsCalls::parse(r#"{"fields":{"message":"request served"}}"#).is_none());
    let _: Value = json!(null);
}
