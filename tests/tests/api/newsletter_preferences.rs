//! Lists, the preference centre and the account settings (SPEC 9), through
//! the built functions against the DynamoDB/SES emulator: a sign-up to two
//! lists confirmed by one mail, the centre's link from that mail followed,
//! lists unchecked and everything unsubscribed, forged links refused, and
//! `PUT /admin/newsletter/subscriptions` on legitimate interest, refused for
//! a suppressed or objecting person.

use privacy_aws::dynamodb::DynamoRecordStore;
use privacy_domain::newsletter::{ListId, SubscriptionStatus, SuppressionReason};
use privacy_domain::store::{RecordKey, RecordStore};
use privacy_domain::testing::World;
use privacy_tests::events::{http_event, link_button, with_header, with_jwt, HttpResponse};
use privacy_tests::function::Function;
use privacy_tests::newsletter::{mails_to, secrets, subject_of, unique_address, Deployment, PUBLIC_BASE_URL};
use serde_json::{json, Value};

const CONFIRM: &str = "https://privacy.example.com/newsletter/confirm";
const PREFERENCES: &str = "https://privacy.example.com/newsletter/preferences";
/// What a browser asks for when it follows a link.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

struct Backend {
    deployment: Deployment,
    subscribe: Function,
    centre: Function,
    admin: Function,
}

impl Backend {
    async fn start() -> Self {
        let deployment = Deployment::new().await;
        let subscribe = deployment.start("newsletter-subscribe", &[]).await;
        // The centre runs in the unsubscribe function: the token key alone, no pepper.
        let centre = deployment
            .start("newsletter-unsubscribe", &[("SUBJECT_PEPPER", "")])
            .await;
        let admin = deployment.start("dsr-admin", &[]).await;
        Self {
            deployment,
            subscribe,
            centre,
            admin,
        }
    }

    async fn stop(self, personal_data: &[&str]) {
        self.subscribe.stop_checking_logs(personal_data).await;
        self.centre.stop_checking_logs(personal_data).await;
        self.admin.stop_checking_logs(personal_data).await;
    }

    async fn sign_up(&self, body: Value) -> HttpResponse {
        let response = self
            .subscribe
            .http(http_event(
                "POST /newsletter/subscribe",
                "/newsletter/subscribe",
                Some(&body.to_string()),
            ))
            .await;
        self.deployment.drain_outbox(&[], &[]).await;
        response
    }

    /// Signs `address` up to `lists`, confirms with the one mail, and
    /// returns the preference-centre token that mail carries.
    async fn confirmed(&self, address: &str, lists: &[&str]) -> String {
        let response = self.sign_up(json!({"email": address, "lists": lists})).await;
        assert_eq!(response.status, 202, "{}", response.body);
        let mails = mails_to(address).await;
        assert_eq!(mails.len(), 1, "one confirmation mail for every list");
        let mail = mails.last().unwrap();
        let page = self
            .subscribe
            .http(link_button("/newsletter/confirm", &mail.token(CONFIRM).unwrap()))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        mail.token(PREFERENCES).expect("the mail links the preference centre")
    }

    async fn centre_json(&self, token: &str) -> HttpResponse {
        let event = http_event(
            "GET /newsletter/preferences",
            &format!("/newsletter/preferences?token={token}"),
            None,
        );
        self.centre
            .http(with_header(event, "accept", Some("application/json")))
            .await
    }

    async fn save(&self, body: Value) -> HttpResponse {
        let event = http_event(
            "POST /newsletter/preferences",
            "/newsletter/preferences",
            Some(&body.to_string()),
        );
        self.centre.http(event).await
    }

    async fn save_form(&self, form: &str) -> HttpResponse {
        let event = http_event("POST /newsletter/preferences", "/newsletter/preferences", Some(form));
        let event = with_header(event, "content-type", Some("application/x-www-form-urlencoded"));
        self.centre
            .http(with_header(event, "origin", Some(PUBLIC_BASE_URL)))
            .await
    }

    async fn account_settings(&self, body: Value) -> HttpResponse {
        let event = http_event(
            "PUT /admin/newsletter/subscriptions",
            "/admin/newsletter/subscriptions",
            Some(&body.to_string()),
        );
        self.admin.http(with_jwt(event, "team-member-1")).await
    }

    /// Each list's subscription status, read through the DynamoDB adapter.
    async fn statuses(&self, address: &str) -> Vec<(String, Option<SubscriptionStatus>)> {
        let store = DynamoRecordStore::new(privacy_tests::aws::dynamodb().await, &self.deployment.table);
        let world = World::on(store, jiff::Timestamp::now());
        let mut statuses = Vec::new();
        for list in ListId::all() {
            let subscription = world
                .subscriptions()
                .subscription(&subject_of(address), &list)
                .await
                .unwrap();
            statuses.push((list.as_str().to_owned(), subscription.map(|s| s.status)));
        }
        statuses
    }

    async fn suppression(&self, address: &str) -> Option<SuppressionReason> {
        self.deployment.state(address).await.1.map(|s| s.reason)
    }

    /// The kinds of the opt-in evidence events of `list`, oldest first.
    async fn evidence(&self, address: &str, list: &str) -> Vec<(String, Option<String>)> {
        let store = DynamoRecordStore::new(privacy_tests::aws::dynamodb().await, &self.deployment.table);
        let key = RecordKey::new(
            format!("NEWSLETTER#{}", subject_of(address).as_str()),
            format!("EVIDENCE#{list}"),
        );
        let record = store.get(&key).await.unwrap().expect("the list's evidence");
        record.attributes["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| {
                (
                    event["event"].as_str().unwrap().to_owned(),
                    event["channel"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }
}

fn confirmed(lists: &[(&str, Option<SubscriptionStatus>)]) -> Vec<(String, Option<SubscriptionStatus>)> {
    lists
        .iter()
        .map(|(list, status)| ((*list).to_owned(), *status))
        .collect()
}

use SubscriptionStatus::{Confirmed, Unsubscribed};

#[tokio::test]
async fn a_sign_up_to_two_lists_is_confirmed_by_one_mail_and_the_centre_shows_both() {
    let backend = Backend::start().await;
    let ada = unique_address("ada");
    let token = backend.confirmed(&ada, &["news", "events"]).await;
    assert_eq!(
        backend.statuses(&ada).await,
        confirmed(&[("news", Some(Confirmed)), ("events", Some(Confirmed))])
    );
    for list in ["news", "events"] {
        let kinds: Vec<String> = backend
            .evidence(&ada, list)
            .await
            .into_iter()
            .map(|(kind, _)| kind)
            .collect();
        assert_eq!(kinds, ["signed_up", "confirmed"], "{list}: its own opt-in evidence");
    }

    let shown = backend.centre_json(&token).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(
        shown.json(),
        json!({"lists": {"news": true, "events": true}, "suppressed": false})
    );
    // The page, in Swedish for a Swedish browser, with a checkbox per list; GET changed nothing.
    let event = http_event(
        "GET /newsletter/preferences",
        &format!("/newsletter/preferences?token={token}"),
        None,
    );
    let page = backend
        .centre
        .http(with_header(
            with_header(event, "accept", Some(BROWSER_ACCEPT)),
            "accept-language",
            Some("sv-SE,sv;q=0.9,en;q=0.5"),
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<html lang=\"sv\">"), "{}", page.body);
    assert!(
        page.body.contains("name=\"lists.events\" value=\"true\" checked"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Avregistrera mig från allt"), "{}", page.body);
    assert_eq!(
        backend.statuses(&ada).await,
        confirmed(&[("news", Some(Confirmed)), ("events", Some(Confirmed))]),
        "GET changes nothing"
    );
    backend.stop(&[&ada]).await;
}

#[tokio::test]
async fn unchecking_a_list_ends_it_and_unsubscribing_from_everything_suppresses() {
    let backend = Backend::start().await;
    let ada = unique_address("ada");
    let token = backend.confirmed(&ada, &["news", "events"]).await;

    // The page's form: only the news box is checked.
    let saved = backend
        .save_form(&format!("token={token}&lang=en&lists.news=true"))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Your choices are saved."), "{}", saved.body);
    assert_eq!(
        backend.statuses(&ada).await,
        confirmed(&[("news", Some(Confirmed)), ("events", Some(Unsubscribed))])
    );
    assert_eq!(backend.suppression(&ada).await, None, "the news go on");
    assert_eq!(
        backend.evidence(&ada, "events").await.pop(),
        Some(("unsubscribed".to_owned(), Some("preference_centre".to_owned())))
    );

    // Back on from the centre: consent recorded with its channel.
    let saved = backend.save(json!({"token": token, "lists": {"events": true}})).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["lists"], json!({"news": true, "events": true}));
    assert_eq!(
        backend.evidence(&ada, "events").await.pop(),
        Some(("subscribed".to_owned(), Some("preference_centre".to_owned())))
    );

    let everything = backend.save(json!({"token": token, "unsubscribe_all": true})).await;
    assert_eq!(everything.status, 200, "{}", everything.body);
    assert_eq!(
        everything.json(),
        json!({"lists": {"news": false, "events": false}, "suppressed": true})
    );
    assert_eq!(
        backend.statuses(&ada).await,
        confirmed(&[("news", Some(Unsubscribed)), ("events", Some(Unsubscribed))])
    );
    assert_eq!(backend.suppression(&ada).await, Some(SuppressionReason::Unsubscribed));

    // Suppressed: nothing comes back from the centre, only a new double opt-in.
    let back = backend.save(json!({"token": token, "lists": {"news": true}})).await;
    assert_eq!(back.status, 409, "{}", back.body);
    assert_eq!(back.error(), ("suppressed".to_owned(), Some("lists".to_owned())));
    let back = backend.save_form(&format!("token={token}&lists.news=true")).await;
    assert_eq!(back.status, 409, "{}", back.body);
    assert!(back.body.contains("role=\"alert\""), "{}", back.body);
    assert_eq!(
        backend.statuses(&ada).await,
        confirmed(&[("news", Some(Unsubscribed)), ("events", Some(Unsubscribed))])
    );
    backend.stop(&[&ada]).await;
}

#[tokio::test]
async fn forged_and_moved_tokens_and_bad_fields_are_refused_naming_the_field() {
    let backend = Backend::start().await;
    let ada = unique_address("ada");
    let token = backend.confirmed(&ada, &["news"]).await;
    let unsubscribe = secrets().token_key.unsubscribe_token(&subject_of(&ada), "news");
    let tag = token.rsplit('.').next().unwrap();
    let moved = format!("p1.{}.{tag}", subject_of("grace@example.com").as_str());
    for forged in ["", "p1.forged", unsubscribe.as_str(), moved.as_str()] {
        let shown = backend.centre_json(forged).await;
        assert_eq!(shown.status, 400, "{forged}: {}", shown.body);
        assert_eq!(shown.error(), ("invalid_token".to_owned(), Some("token".to_owned())));
        let page = backend
            .centre
            .http(with_header(
                http_event(
                    "GET /newsletter/preferences",
                    &format!("/newsletter/preferences?token={forged}"),
                    None,
                ),
                "accept",
                Some(BROWSER_ACCEPT),
            ))
            .await;
        assert_eq!(page.status, 400, "{forged}");
        assert!(page.body.contains("This link is not valid"), "{}", page.body);
        let saved = backend.save(json!({"token": forged, "unsubscribe_all": true})).await;
        assert_eq!(saved.error(), ("invalid_token".to_owned(), Some("token".to_owned())));
    }
    let cases = [
        (json!({"token": token}), "missing_field", "lists"),
        (json!({"token": token, "lists": ["news"]}), "invalid_field", "lists"),
        (json!({"token": token, "lists": {}}), "no_list", "lists"),
        (
            json!({"token": token, "lists": {"sport": true}}),
            "unknown_list",
            "lists.sport",
        ),
        (
            json!({"token": token, "lists": {"news": "yes"}}),
            "invalid_field",
            "lists.news",
        ),
        (
            json!({"token": token, "unsubscribe_all": "yes"}),
            "invalid_field",
            "unsubscribe_all",
        ),
        (
            json!({"token": token, "lists": {"news": true}, "colour": 1}),
            "unknown_field",
            "colour",
        ),
    ];
    for (body, code, field) in cases {
        let saved = backend.save(body.clone()).await;
        assert_eq!(saved.status, 400, "{body}: {}", saved.body);
        assert_eq!(saved.error(), (code.to_owned(), Some(field.to_owned())), "{body}");
    }
    // The post comes from the API's own page or a website: another origin is refused.
    let event = http_event(
        "POST /newsletter/preferences",
        "/newsletter/preferences",
        Some(&json!({"token": token, "unsubscribe_all": true}).to_string()),
    );
    let evil = backend
        .centre
        .http(with_header(event, "origin", Some("https://evil.example")))
        .await;
    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(
        backend.statuses(&ada).await[0],
        ("news".to_owned(), Some(Confirmed)),
        "nothing changed"
    );

    // Sign-up: `lists` must name known lists, at least one; repeats count once.
    for (body, code) in [
        (json!({"email": ada, "lists": ["news", "sport"]}), "unknown_list"),
        (json!({"email": ada, "lists": []}), "no_list"),
        (json!({"email": ada, "lists": "news"}), "invalid_field"),
        (json!({"email": ada, "lists": [1]}), "invalid_field"),
    ] {
        let response = backend.sign_up(body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        assert_eq!(response.error(), (code.to_owned(), Some("lists".to_owned())), "{body}");
    }
    let grace = unique_address("grace");
    backend.confirmed(&grace, &["events", "events"]).await;
    assert_eq!(
        backend.statuses(&grace).await,
        confirmed(&[("news", None), ("events", Some(Confirmed))])
    );
    backend.stop(&[&ada, &grace]).await;
}

#[tokio::test]
async fn the_account_settings_set_lists_and_refuse_a_suppressed_or_objecting_person() {
    let backend = Backend::start().await;
    let customer = unique_address("customer");
    let set = backend
        .account_settings(
            json!({"email": customer, "lists": {"news": true, "events": false}, "basis": "legitimate_interest"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json(), json!({"lists": {"news": true, "events": false}}));
    let subscription = backend.deployment.state(&customer).await.0.unwrap();
    assert_eq!(
        (subscription.status, serde_json::to_value(subscription.basis).unwrap()),
        (Confirmed, json!("legitimate_interest"))
    );
    assert!(mails_to(&customer).await.is_empty(), "no confirmation mail");
    let set = backend
        .account_settings(json!({"email": customer, "lists": {"news": false}, "basis": "legitimate_interest"}))
        .await;
    assert_eq!(set.json(), json!({"lists": {"news": false, "events": false}}));
    assert_eq!(
        backend.suppression(&customer).await,
        None,
        "turning a list off suppresses nothing"
    );

    // Unsubscribed by the mail's one-click link: suppressed.
    let ada = unique_address("ada");
    backend.confirmed(&ada, &["news"]).await;
    let unsubscribe = secrets().token_key.unsubscribe_token(&subject_of(&ada), "news");
    let one_click = http_event(
        "POST /newsletter/unsubscribe",
        &format!("/newsletter/unsubscribe?token={unsubscribe}"),
        Some("List-Unsubscribe=One-Click"),
    );
    let one_click = with_header(one_click, "content-type", Some("application/x-www-form-urlencoded"));
    assert_eq!(
        backend.centre.http(with_header(one_click, "origin", None)).await.status,
        200
    );

    // An objection to marketing (acted on at once, without verification).
    let intake = backend.deployment.start("dsr-intake", &[]).await;
    let objector = unique_address("objector");
    backend.confirmed(&objector, &["news", "events"]).await;
    let objection = json!({"type": "objection", "email": objector}).to_string();
    let filed = intake.http(http_event("POST /dsr", "/dsr", Some(&objection))).await;
    assert!(filed.status < 300, "{}", filed.body);
    assert_eq!(backend.suppression(&objector).await, Some(SuppressionReason::Objection));
    intake.stop_checking_logs(&[&objector]).await;

    for (person, basis) in [(&ada, "legitimate_interest"), (&objector, "consent")] {
        let refused = backend
            .account_settings(json!({"email": person, "lists": {"news": true}, "basis": basis}))
            .await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert_eq!(refused.error(), ("suppressed".to_owned(), Some("email".to_owned())));
    }
    assert_eq!(
        backend.statuses(&objector).await,
        confirmed(&[("news", Some(Unsubscribed)), ("events", Some(Unsubscribed))]),
        "the objection ended both lists and nothing came back"
    );

    for (body, code, field) in [
        (
            json!({"email": customer, "lists": {"news": true}}),
            "missing_field",
            "basis",
        ),
        (
            json!({"email": customer, "lists": {"news": true}, "basis": "contract"}),
            "invalid_field",
            "basis",
        ),
        (json!({"email": customer, "basis": "consent"}), "missing_field", "lists"),
        (
            json!({"email": customer, "lists": {}, "basis": "consent"}),
            "no_list",
            "lists",
        ),
        (
            json!({"email": customer, "lists": {"sport": true}, "basis": "consent"}),
            "unknown_list",
            "lists.sport",
        ),
        (
            json!({"email": customer, "lists": {"news": 1}, "basis": "consent"}),
            "invalid_field",
            "lists.news",
        ),
        (
            json!({"email": "nobody", "lists": {"news": true}, "basis": "consent"}),
            "invalid_email",
            "email",
        ),
        (
            json!({"email": customer, "lists": {"news": true}, "basis": "consent", "name": "x"}),
            "unknown_field",
            "name",
        ),
    ] {
        let response = backend.account_settings(body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        assert_eq!(response.error(), (code.to_owned(), Some(field.to_owned())), "{body}");
    }
    backend.stop(&[&customer, &ada, &objector]).await;
}

#[tokio::test]
async fn a_plain_form_signs_up_to_every_checked_list() {
    let backend = Backend::start().await;
    let lin = unique_address("lin");
    let form = format!("email={}&lists=news&lists=events", lin.replace('@', "%40"));
    let event = http_event("POST /newsletter/subscribe", "/newsletter/subscribe", Some(&form));
    let response = backend
        .subscribe
        .http(with_header(
            event,
            "content-type",
            Some("application/x-www-form-urlencoded"),
        ))
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    backend.deployment.drain_outbox(&[], &[]).await;
    let mail = mails_to(&lin).await.pop().expect("one confirmation mail");
    let page = backend
        .subscribe
        .http(link_button("/newsletter/confirm", &mail.token(CONFIRM).unwrap()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        backend.statuses(&lin).await,
        confirmed(&[("news", Some(Confirmed)), ("events", Some(Confirmed))])
    );
    backend.stop(&[&lin]).await;
}
