//! The mail of an issue: the team's text and HTML, then a footer that says
//! why this reader gets it (their consent on a date, or being a customer,
//! with how to opt out: Marknadsföringslagen 19 §), the one-click
//! unsubscribe link (also in `List-Unsubscribe`), the preference centre and
//! the controller's identity from the register.

use jiff::Timestamp;

use super::Issue;
use crate::email::EmailAddress;
use crate::mail::{escape_html, Mail};
use crate::newsletter::{preferences_url, LawfulBasis, Links, Subscription};
use crate::register::Register;
use crate::subject::SubjectKey;
use crate::tokens::TokenKey;

/// Why a reader gets the newsletter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// They opted in and confirmed on this day.
    Consent(Timestamp),
    /// A customer, on legitimate interest.
    Customer,
    /// A test mail to a member of the team.
    Test,
}

impl Reason {
    pub fn of(subscription: &Subscription) -> Self {
        match (subscription.basis, subscription.confirmed_at) {
            (LawfulBasis::LegitimateInterest, _) => Self::Customer,
            (LawfulBasis::Consent, Some(at)) => Self::Consent(at),
            // A confirmed subscription always has its time; the sign-up's is the next best.
            (LawfulBasis::Consent, None) => Self::Consent(subscription.signed_up_at.unwrap_or_default()),
        }
    }
}

/// The mail one reader gets.
pub fn issue_mail(
    register: &Register,
    links: &Links,
    token_key: &TokenKey,
    issue: &Issue,
    to: &EmailAddress,
    subject: &SubjectKey,
    reason: Reason,
) -> Mail {
    let unsubscribe = links.newsletter_unsubscribe(&token_key.unsubscribe_token(subject, issue.list.as_str()));
    let preferences = preferences_url(links, token_key, subject);
    let controller = &register.document().controller;
    let why = match reason {
        Reason::Consent(at) => format!(
            "You get this newsletter because you subscribed to it and confirmed your subscription on {} \
             (your consent). You can withdraw it at any time.",
            at.to_zoned_datetime(register.time_zone().clone()).date()
        ),
        Reason::Customer => format!(
            "You get this newsletter because you are a customer of {}: we send it to customers on our \
             legitimate interest (Marknadsföringslagen 19 §). You can opt out at any time, free of charge.",
            controller.name
        ),
        Reason::Test => "This is a test of a newsletter issue, sent to a member of the privacy team. \
                         Each reader's mail says here why they get it."
            .to_owned(),
    };
    let identity = format!(
        "{}, Org.nr {}, {}. Contact: {}",
        controller.name, controller.org_number, controller.address, controller.contact
    );
    let mut text = issue.text.trim_end().to_owned();
    text.push_str(&format!(
        "\n\n--\n{why}\nUnsubscribe with one click: {unsubscribe}\nChoose your newsletters: {preferences}\n{identity}\n"
    ));
    let body_html = match &issue.html {
        Some(html) => html.clone(),
        None => issue
            .text
            .split("\n\n")
            .map(|paragraph| format!("<p>{}</p>", escape_html(paragraph).replace('\n', "<br>")))
            .collect(),
    };
    let html = format!(
        "<!doctype html><html><body>{body_html}<hr>\
         <p style=\"font-size:small\">{why_html}</p>\
         <p style=\"font-size:small\"><a href=\"{unsubscribe_html}\">Unsubscribe</a> · \
         <a href=\"{preferences_html}\">Choose your newsletters</a></p>\
         <p style=\"font-size:small\">{identity_html}</p></body></html>",
        why_html = escape_html(&why),
        unsubscribe_html = escape_html(&unsubscribe),
        preferences_html = escape_html(&preferences),
        identity_html = escape_html(&identity),
    );
    let subject_line = match reason {
        Reason::Test => format!("[Test] {}", issue.subject),
        _ => issue.subject.clone(),
    };
    Mail {
        to: to.clone(),
        subject: subject_line,
        text,
        html,
        list_unsubscribe: Some(unsubscribe),
        attachments: Vec::new(),
    }
}

/// The test mail of an issue: the same mail, its subject marked `[Test]`.
pub fn test_mail(
    register: &Register,
    links: &Links,
    token_key: &TokenKey,
    issue: &Issue,
    to: &EmailAddress,
    subject: &SubjectKey,
) -> Mail {
    issue_mail(register, links, token_key, issue, to, subject, Reason::Test)
}
