//! SPEC 9: the preference centre (the signed link in every mail to a
//! subscriber) and the account settings' `PUT /admin/newsletter/subscriptions`.

use privacy_domain::email::EmailAddress;
use privacy_domain::mail::escape_html;
use privacy_domain::newsletter::{
    KnownAddress, LawfulBasis, ListChoice, ListId, NewsletterError, Preferences, Subscriptions,
};
use privacy_domain::register::lists::NEWSLETTER_LISTS;
use privacy_domain::subject::SubjectKey;
use privacy_domain::FieldError;
use serde_json::{json, Map, Value};

use crate::fields::{optional_text, refuse_unknown, required_text};
use crate::html::{document, server_error};
use crate::message::BodyFormat;
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

const SAVE_FIELDS: &[&str] = &["token", "lists", "unsubscribe_all", "lang"];
const ACCOUNT_FIELDS: &[&str] = &["email", "lists", "basis"];

/// The web kit's look (web/site.css), inline: the page's policy loads nothing.
const STYLE: &str = "*,*::before,*::after{box-sizing:border-box}\
body{margin:0;color:#1a1a1a;background:#f6f7f9;font:1rem/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\
main{max-width:40rem;margin:2rem auto;padding:1.25rem 1.5rem;background:#fff;border:1px solid #d1d5db;border-radius:.5rem}\
h1{margin-top:.5rem;line-height:1.2}fieldset{border:0;margin:0 0 1rem;padding:0}legend{font-weight:600;margin-bottom:.5rem}\
.list{display:grid;grid-template-columns:auto 1fr;gap:0 .6rem;margin:0 0 .9rem}.list input{width:1.2rem;height:1.2rem;margin-top:.2rem}\
.list label{font-weight:600}.list p{grid-column:2;margin:0;color:#4b5563}\
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.55rem 1.1rem;border-radius:.375rem;border:2px solid;cursor:pointer}\
.primary{color:#fff;background:#1f3a8a;border-color:#1f3a8a}.secondary{color:#1f3a8a;background:#fff;border-color:#1f3a8a}\
.status{padding:.6rem .9rem;border-radius:.375rem;background:#ecfdf5;border:1px solid #047857}\
.problem{background:#fef2f2;border-color:#b91c1c}:focus-visible{outline:3px solid #b45309;outline-offset:2px}";

/// The page's language: `lang=sv|en` (query or form field), else the
/// browser's first choice (`Accept-Language`), else English; as the web
/// kit's pages choose by the page's language.
fn swedish(request: &ApiRequest, fields: Option<&Map<String, Value>>) -> bool {
    let chosen = fields
        .and_then(|fields| fields.get("lang"))
        .and_then(Value::as_str)
        .or_else(|| request.query_param("lang"));
    match chosen {
        Some(lang) => lang.to_ascii_lowercase().starts_with("sv"),
        None => request
            .header("accept-language")
            .and_then(|value| value.split(',').next())
            .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("sv")),
    }
}

fn wants_json(request: &ApiRequest) -> bool {
    request
        .header("accept")
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("application/json"))
}

fn invalid_token() -> ApiError {
    ApiError::new(400, "invalid_token", "The preference link is not valid.").on_field("token")
}

fn preferences_json(preferences: &Preferences) -> Value {
    json!({"lists": preferences.lists, "suppressed": preferences.suppressed})
}

/// `GET /newsletter/preferences?token=`: the person's lists as checkboxes
/// (or JSON with `Accept: application/json`). Changes nothing.
pub async fn show(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let token = request.query_param("token").unwrap_or_default();
    let sv = swedish(request, None);
    let json = wants_json(request);
    let Ok(subject) = Subscriptions::check_preferences_token(app.token_key()?, token) else {
        return Ok(if json { invalid_token().into() } else { invalid_page(sv) });
    };
    match (Subscriptions { ports: app.ports() }).preferences(&subject).await {
        Ok(preferences) if json => Ok(ApiResponse::json(200, &preferences_json(&preferences))),
        Ok(preferences) => Ok(centre_page(200, sv, token, &preferences, None)),
        Err(error) if json => Err(ApiError::internal(&error)),
        Err(error) => {
            ApiError::internal(&error);
            Ok(server_error())
        }
    }
}

/// `POST /newsletter/preferences`: the page's form (`token`, a
/// `lists.<id>` checkbox per list, or `unsubscribe_all`) or JSON
/// (`{"token", "lists": {"news": true, …}}` or `{"token", "unsubscribe_all": true}`).
pub async fn save(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (fields, format) = request.form_or_json()?;
    let sv = swedish(request, Some(&fields));
    let form = format == BodyFormat::Form;
    let token = optional_text(&fields, "token").ok().flatten().unwrap_or_default();
    let Ok(subject) = Subscriptions::check_preferences_token(app.token_key()?, token) else {
        return Ok(if form { invalid_page(sv) } else { invalid_token().into() });
    };
    let subscriptions = Subscriptions { ports: app.ports() };
    let saved = match choice(&fields, format) {
        Ok(None) => subscriptions.unsubscribe_from_everything(&subject).await,
        Ok(Some(choice)) => subscriptions.save_preferences(&subject, &choice).await,
        Err(error) if form => return Ok(problem_page(&subscriptions, &subject, sv, token, &error.message).await),
        Err(error) => return Err(error.into()),
    };
    match saved {
        Ok(preferences) if form => {
            let done = match (preferences.suppressed, sv) {
                (true, true) => "Du är avregistrerad från alla nyhetsbrev.",
                (true, false) => "You are unsubscribed from every newsletter.",
                (false, true) => "Dina val är sparade.",
                (false, false) => "Your choices are saved.",
            };
            Ok(centre_page(200, sv, token, &preferences, Some((done, false))))
        }
        Ok(preferences) => Ok(ApiResponse::json(200, &preferences_json(&preferences))),
        Err(NewsletterError::Suppressed | NewsletterError::NotSubscribed) if form => {
            let message = if sv { REFUSED_SV } else { REFUSED_EN };
            Ok(problem_page(&subscriptions, &subject, sv, token, message).await)
        }
        Err(error @ (NewsletterError::Suppressed | NewsletterError::NotSubscribed)) => Err(refusal(&error, "lists")),
        Err(error) if form => {
            ApiError::internal(&error);
            Ok(server_error())
        }
        Err(error) => Err(ApiError::internal(&error)),
    }
}

const REFUSED_EN: &str = "A list can be added here only while you get at least one of our newsletters. \
To get them again, sign up on our website: we will send you a link to confirm.";
const REFUSED_SV: &str = "Här kan du lägga till ett nyhetsbrev bara medan du får minst ett av våra nyhetsbrev. \
Anmäl dig igen på vår webbplats, så skickar vi en länk att bekräfta.";

/// The 409 for a list that cannot be turned on.
fn refusal(error: &NewsletterError, field: &str) -> ApiError {
    match error {
        NewsletterError::Suppressed => ApiError::new(
            409,
            "suppressed",
            "This person unsubscribed, objected, bounced, complained or had their data erased: only their own new double opt-in can subscribe them again.",
        )
        .on_field(field),
        _ => ApiError::new(
            409,
            "not_subscribed",
            "A list can be added from the preference centre only while the person has a confirmed subscription; sign up through the form instead.",
        )
        .on_field(field),
    }
}

/// What the save asks for: `None` to unsubscribe from everything, else the
/// lists on and off. A form names every list (an unchecked box is absent);
/// JSON names the lists it changes.
fn choice(fields: &Map<String, Value>, format: BodyFormat) -> Result<Option<ListChoice>, FieldError> {
    if format == BodyFormat::Json {
        refuse_unknown(fields, SAVE_FIELDS, "a preference change")?;
        optional_text(fields, "lang")?;
    }
    let everything = match fields.get("unsubscribe_all") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::String(text)) if format == BodyFormat::Form => text == "true",
        Some(_) => {
            return Err(FieldError::invalid(
                "unsubscribe_all",
                "`unsubscribe_all` must be true or false.",
            ));
        }
    };
    if everything {
        return Ok(None);
    }
    if format == BodyFormat::Form {
        let mut choice = ListChoice::new();
        for list in ListId::all() {
            let on = fields.contains_key(&format!("lists.{}", list.as_str()));
            choice.insert(list, on);
        }
        return Ok(Some(choice));
    }
    match fields.get("lists") {
        Some(Value::Object(lists)) => list_choice(lists).map(Some),
        None | Some(Value::Null) => Err(FieldError::missing("lists")),
        Some(_) => Err(FieldError::invalid(
            "lists",
            "`lists` must be an object of list names and true or false.",
        )),
    }
}

/// `{"news": true, "events": false}`: known lists, booleans, at least one.
fn list_choice(lists: &Map<String, Value>) -> Result<ListChoice, FieldError> {
    let mut choice = ListChoice::new();
    for (name, on) in lists {
        let field = format!("lists.{}", name.chars().take(64).collect::<String>());
        let list = ListId::parse(&field, name)?;
        let on = on
            .as_bool()
            .ok_or_else(|| FieldError::invalid(field.as_str(), "Each list is true or false."))?;
        choice.insert(list, on);
    }
    if choice.is_empty() {
        return Err(FieldError::new("lists", "no_list", "Name at least one list."));
    }
    Ok(choice)
}

/// The centre again, with the reason a change was refused.
async fn problem_page(
    subscriptions: &Subscriptions<'_>,
    subject: &SubjectKey,
    sv: bool,
    token: &str,
    message: &str,
) -> ApiResponse {
    match subscriptions.preferences(subject).await {
        Ok(preferences) => centre_page(409, sv, token, &preferences, Some((message, true))),
        Err(error) => {
            ApiError::internal(&error);
            server_error()
        }
    }
}

fn invalid_page(sv: bool) -> ApiResponse {
    let (title, text) = if sv {
        (
            "Länken fungerar inte",
            "Länken till dina nyhetsbrevsval är ogiltig: den kan ha kopierats ofullständigt. Inget har ändrats. Använd länken i ett av våra senaste mejl.",
        )
    } else {
        (
            "This link is not valid",
            "The link to your newsletter choices is not valid: it may have been copied incompletely. Nothing was changed. Use the link in one of our recent mails.",
        )
    };
    document(
        400,
        if sv { "sv" } else { "en" },
        title,
        STYLE,
        &format!(
            "<main><h1>{}</h1><p>{}</p></main>",
            escape_html(title),
            escape_html(text)
        ),
    )
}

/// The page: one checkbox per list (its name and description from the
/// register), "save", and "unsubscribe from everything". `status`: a
/// message shown above the form (`true`: a problem).
fn centre_page(
    code: u16,
    sv: bool,
    token: &str,
    preferences: &Preferences,
    status: Option<(&str, bool)>,
) -> ApiResponse {
    let t = |en: &'static str, swedish: &'static str| if sv { swedish } else { en };
    let lang = t("en", "sv");
    let title = t("Your newsletters", "Dina nyhetsbrev");
    let token = escape_html(token);
    let boxes: String = NEWSLETTER_LISTS
        .iter()
        .map(|list| {
            let on = ListId::parse("lists", list.id).is_ok_and(|id| preferences.gets(&id));
            format!(
                "<div class=\"list\"><input type=\"checkbox\" id=\"list-{id}\" name=\"lists.{id}\" value=\"true\"{checked} \
                 aria-describedby=\"list-{id}-description\"><label for=\"list-{id}\">{name}</label>\
                 <p id=\"list-{id}-description\">{description}</p></div>",
                id = escape_html(list.id),
                checked = if on { " checked" } else { "" },
                name = escape_html(list.name(sv)),
                description = escape_html(list.description(sv)),
            )
        })
        .collect();
    let status_html = match status {
        Some((message, problem)) => format!(
            "<p class=\"status{}\" role=\"{}\">{}</p>",
            if problem { " problem" } else { "" },
            if problem { "alert" } else { "status" },
            escape_html(message)
        ),
        None => String::new(),
    };
    let intro = if preferences.suppressed {
        t(
            "You get none of our newsletters. To get them again, sign up on our website: we will send you a link to confirm.",
            "Du får inga av våra nyhetsbrev. Vill du få dem igen, anmäl dig på vår webbplats: vi skickar en länk att bekräfta.",
        )
    } else {
        t(
            "Choose the newsletters you want from us. Unchecking a list stops it; your other lists go on.",
            "Välj vilka nyhetsbrev du vill ha från oss. Bockar du ur ett nyhetsbrev slutar det; dina andra fortsätter.",
        )
    };
    let body = format!(
        "<main><h1>{title_html}</h1>{status_html}<p>{intro}</p>\
         <form method=\"post\" action=\"/newsletter/preferences\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <fieldset><legend>{legend}</legend>{boxes}</fieldset>\
         <button type=\"submit\" class=\"primary\">{save}</button></form>\
         <form method=\"post\" action=\"/newsletter/preferences\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <input type=\"hidden\" name=\"unsubscribe_all\" value=\"true\">\
         <p>{everything_text}</p><button type=\"submit\" class=\"secondary\">{everything}</button></form></main>",
        title_html = escape_html(title),
        intro = escape_html(intro),
        legend = t("Newsletters", "Nyhetsbrev"),
        save = t("Save my choices", "Spara mina val"),
        everything_text = t(
            "Or stop every newsletter at once:",
            "Eller stoppa alla nyhetsbrev på en gång:"
        ),
        everything = t("Unsubscribe from everything", "Avregistrera mig från allt"),
    );
    document(code, lang, title, STYLE, &body)
}

/// `PUT /admin/newsletter/subscriptions {"email", "lists": {"news": bool, …},
/// "basis": "consent" | "legitimate_interest"}`: the Service's account
/// settings and the privacy team. `true` subscribes without a confirmation
/// mail (the address is the customer's own account's), `false` ends the
/// list; a suppressed or objecting person is refused with 409.
pub async fn set_subscriptions(app: &App, _params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let body = request.json_object()?;
    refuse_unknown(&body, ACCOUNT_FIELDS, "a subscription change")?;
    let email = EmailAddress::parse("email", required_text(&body, "email")?)?;
    let basis = match required_text(&body, "basis")? {
        "consent" => LawfulBasis::Consent,
        "legitimate_interest" => LawfulBasis::LegitimateInterest,
        _ => {
            return Err(FieldError::invalid("basis", "`basis` is `consent` or `legitimate_interest`.").into());
        }
    };
    let choice = match body.get("lists") {
        Some(Value::Object(lists)) => list_choice(lists)?,
        None | Some(Value::Null) => return Err(FieldError::missing("lists").into()),
        Some(_) => {
            return Err(
                FieldError::invalid("lists", "`lists` must be an object of list names and true or false.").into(),
            )
        }
    };
    let subject = SubjectKey::derive(app.pepper()?, &email);
    let address = KnownAddress { email: &email, basis };
    match (Subscriptions { ports: app.ports() })
        .set_lists(&subject, address, &choice)
        .await
    {
        Ok(preferences) => Ok(ApiResponse::json(200, &json!({"lists": preferences.lists}))),
        Err(error @ NewsletterError::Suppressed) => Err(refusal(&error, "email")),
        Err(error) => Err(ApiError::internal(&error)),
    }
}
