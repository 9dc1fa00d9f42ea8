//! Data subject requests against the emulator: the built dsr-intake and
//! dsr-admin functions of one deployment, what a requester and the privacy
//! team do through them, and the consent and newsletter history a request
//! finds.

use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::dsr::request_key;
use privacy_domain::store::{Record, RecordStore};
use serde_json::{json, Value};

use crate::events::{http_event, link_button, with_jwt, HttpResponse};
use crate::function::Function;
use crate::newsletter::{mails_to, unique_address, Deployment, SentMail, PUBLIC_BASE_URL};
use crate::sweep::SweepDeployment;

/// The verification link mailed for a request.
pub const VERIFY: &str = "https://privacy.example.com/dsr/verify";
/// The confirmation link mailed for a newsletter sign-up.
pub const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm";

/// One deployment's dsr-intake and dsr-admin, announcing verified requests
/// to a privacy-team mailbox.
pub struct DsrBackend {
    pub deployment: Deployment,
    /// The privacy team's mailbox (`PRIVACY_TEAM_ADDRESS`).
    pub team: String,
    pub intake: Function,
    pub admin: Function,
}

/// A request submitted, and the button of its mailed verification link pressed.
pub struct Verified {
    /// The answer to `POST /dsr` (a 202).
    pub answer: Value,
    /// The verification mail.
    pub mail: SentMail,
    /// The answer to the button.
    pub page: HttpResponse,
}

impl Verified {
    pub fn request_id(&self) -> String {
        self.answer["request_id"].as_str().expect("a request id").to_owned()
    }
}

impl DsrBackend {
    /// A fresh deployment with a team mailbox of its own.
    pub async fn start() -> Self {
        Self::on(Deployment::new().await, unique_address("team")).await
    }

    /// On the retention sweep's deployment, announcing to the sweep's team.
    pub async fn with_sweep(sweep: &SweepDeployment) -> Self {
        Self::on(sweep.deployment.clone(), sweep.team.clone()).await
    }

    /// The functions on `deployment`, announcing to `team`.
    pub async fn on(deployment: Deployment, team: String) -> Self {
        let extra = [("PRIVACY_TEAM_ADDRESS", team.as_str())];
        let intake = deployment.start("dsr-intake", &extra).await;
        let admin = deployment.start("dsr-admin", &extra).await;
        Self {
            deployment,
            team,
            intake,
            admin,
        }
    }

    /// `POST /dsr` with `body` as JSON, then what the table's stream starts
    /// on the request's write: the outbox's drain, which mails the link.
    pub async fn submit(&self, body: Value) -> HttpResponse {
        let answer = self
            .intake
            .http(http_event("POST /dsr", "/dsr", Some(&body.to_string())))
            .await;
        let address = body["email"].as_str().filter(|address| !address.is_empty());
        self.deployment.drain_outbox(&[], address.as_slice()).await;
        answer
    }

    /// Files a request as anyone can (no proof of the address); its id.
    pub async fn file(&self, body: Value) -> String {
        let answer = self.submit(body).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        answer.json()["request_id"].as_str().expect("a request id").to_owned()
    }

    /// The token of the latest verification link mailed to `address`.
    pub async fn verification_token(&self, address: &str) -> String {
        mails_to(address)
            .await
            .iter()
            .rev()
            .find_map(|mail| mail.token(VERIFY))
            .expect("a verification mail")
    }

    /// Presses the button of the verification link's page (its GET only shows the page).
    pub async fn verify(&self, token: &str) -> HttpResponse {
        self.intake.http(link_button("/dsr/verify", token)).await
    }

    /// Submits, then presses the button of the one verification mail it sent.
    /// Earlier link mails to the address are forgotten first: several
    /// requests in a few seconds would otherwise meet the pacing of
    /// verification mails.
    pub async fn submit_and_verify(&self, body: Value) -> Verified {
        let address = body["email"].as_str().expect("an address").to_owned();
        crate::aws::forget_link_mails(&self.deployment.table, &address).await;
        let before = mails_to(&address).await.len();
        let answer = self.submit(body).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        let mut mails = mails_to(&address).await;
        assert_eq!(mails.len(), before + 1, "one verification mail");
        let mail = mails.pop().expect("a verification mail");
        let token = mail.token(VERIFY).expect("a verification link");
        let page = self.verify(&token).await;
        Verified {
            answer: answer.json(),
            mail,
            page,
        }
    }

    /// A request submitted and verified (the button's page a 200); its id.
    pub async fn verified_request(&self, body: Value) -> String {
        let verified = self.submit_and_verify(body).await;
        assert_eq!(verified.page.status, 200, "{}", verified.page.body);
        verified.request_id()
    }

    /// `GET` of the status link in the acknowledgement mail to `address`.
    pub async fn status_page(&self, address: &str) -> HttpResponse {
        let path = mails_to(address)
            .await
            .iter()
            .find_map(|mail| {
                let start = mail.text.find("https://privacy.example.com/dsr/")?;
                let link = mail.text[start..].split_whitespace().next()?;
                (!link.contains("/dsr/verify")).then(|| link.trim_start_matches(PUBLIC_BASE_URL).to_owned())
            })
            .expect("an acknowledgement mail with a status link");
        self.intake.http(http_event("GET /dsr/{request_id}", &path, None)).await
    }

    /// The status view behind the acknowledgement mail's link.
    pub async fn status(&self, address: &str) -> Value {
        let status = self.status_page(address).await;
        assert_eq!(status.status, 200, "{}", status.body);
        status.json()
    }

    /// Calls the admin API as `team-member-1` (the token's `sub`).
    pub async fn admin(&self, route_key: &str, path: &str, body: Option<Value>) -> HttpResponse {
        let body = body.map(|body| body.to_string());
        self.admin
            .http(with_jwt(http_event(route_key, path, body.as_deref()), "team-member-1"))
            .await
    }

    /// The entries of the team's queue, `GET /admin/dsr` with `query`.
    pub async fn queue(&self, query: &str) -> Vec<Value> {
        let response = self.admin("GET /admin/dsr", &format!("/admin/dsr{query}"), None).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()["requests"].as_array().expect("a queue").clone()
    }

    /// The table, through the DynamoDB adapter.
    pub async fn store(&self) -> DynamoRecordStore {
        DynamoRecordStore::new(crate::aws::dynamodb().await, &self.deployment.table)
    }

    /// The stored record of a request.
    pub async fn request_record(&self, request_id: &str) -> Record {
        self.store()
            .await
            .get(&request_key(request_id))
            .await
            .expect("read a record")
            .expect("the request record")
    }

    /// Stops both functions; none of `personal_data` reached their logs.
    pub async fn stop(self, personal_data: &[&str]) {
        self.intake.stop_checking_logs(personal_data).await;
        self.admin.stop_checking_logs(personal_data).await;
    }
}

/// Records a cookie-banner decision (analytics on) through consent-capture.
pub async fn record_consent(consent: &Function, consent_id: &str, marketing: bool) {
    let decision = json!({"consent_id": consent_id, "policy_version": "2026-01", "source": "banner",
        "categories": {"analytics": true, "marketing": marketing}});
    let response = consent
        .http(http_event("POST /consent", "/consent", Some(&decision.to_string())))
        .await;
    assert_eq!(response.status, 201, "{}", response.body);
}

/// Signs up for the newsletter through newsletter-subscribe.
pub async fn sign_up(subscribe: &Function, body: &Value) {
    let response = subscribe
        .http(http_event(
            "POST /newsletter/subscribe",
            "/newsletter/subscribe",
            Some(&body.to_string()),
        ))
        .await;
    assert_eq!(response.status, 202, "{}", response.body);
}

/// Presses the button of the confirmation link in the latest mail to `address`.
pub async fn press_confirmation(subscribe: &Function, address: &str) {
    let token = mails_to(address)
        .await
        .last()
        .and_then(|mail| mail.token(CONFIRM))
        .expect("a confirmation link");
    let page = subscribe.http(link_button("/newsletter/confirm", &token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// Sends the sign-up's queued confirmation (the outbox's drain, as the
/// table's stream starts it), then presses its button.
pub async fn confirm_sign_up(deployment: &Deployment, subscribe: &Function, address: &str) {
    deployment.drain_outbox(&[], &[address]).await;
    press_confirmation(subscribe, address).await;
}
