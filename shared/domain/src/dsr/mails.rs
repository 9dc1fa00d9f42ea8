//! The mails a request sends: its link, the acknowledgement, the team's copy, decisions.

use super::*;

impl Requests<'_> {
    pub(super) fn company(&self) -> &str {
        &self.ports.register.document().controller.name
    }

    pub(super) fn verification_mail(
        &self,
        to: &EmailAddress,
        request: &DataSubjectRequest,
        token: &OneTimeToken,
    ) -> Mail {
        let link = self.links.request_verification(token.reveal());
        let what = request.request_type.title();
        let company = self.company();
        let stopped = if request.request_type.stops_marketing_at_once() {
            "We have already stopped all marketing to this address. "
        } else {
            ""
        };
        let change = requested_change(request);
        Mail {
            to: to.clone(),
            subject: format!("Confirm your privacy request to {company}"),
            text: format!(
                "We received a request for {what} for this address.\n\n\
                 {change}{stopped}To protect your data, we act only once you confirm that the address is yours:\n\n{link}\n\n\
                 The link works for 30 days. If you did not make this request, ignore this mail: nothing will happen.\n\n\
                 We will answer by {due} at the latest, counted from the day we received your request, however long confirming takes.\n",
                due = request.due_on,
            ),
            html: format!(
                "<!doctype html><html><body><p>We received a request for {what} for this address.</p>\
                 <p>{change}{stopped}To protect your data, we act only once you confirm that the address is yours:</p>\
                 <p><a href=\"{link}\">Confirm my request</a></p>\
                 <p>The link works for 30 days. If you did not make this request, ignore this mail: nothing will happen.</p>\
                 <p>We will answer by <strong>{due}</strong> at the latest, counted from the day we received your request, however long confirming takes.</p>\
                 </body></html>",
                what = escape_html(what),
                change = escape_html(&change),
                due = request.due_on,
                link = escape_html(&link),
            ),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    pub(super) fn status_link(&self, request: &DataSubjectRequest) -> String {
        let token = self.secrets.token_key.request_status_token(&request.request_id);
        self.links.request_status(&request.request_id, &token)
    }

    pub(super) fn acknowledgement_mail(&self, to: &EmailAddress, request: &DataSubjectRequest) -> Mail {
        let what = request.request_type.title();
        let due = request.due_on;
        let status = self.status_link(request);
        Mail {
            to: to.clone(),
            subject: format!("We have your privacy request ({})", request.request_type.as_str()),
            text: format!(
                "Thank you for confirming. Your request for {what} (reference {id}) was received on {received}.\n\n\
                 We will answer by {due} at the latest. You can follow it here:\n\n{status}\n",
                id = request.request_id,
                received = request.received_on,
            ),
            html: format!(
                "<!doctype html><html><body><p>Thank you for confirming. Your request for {what} (reference {id}) was received on {received}.</p>\
                 <p>We will answer by <strong>{due}</strong> at the latest. <a href=\"{status}\">Follow your request</a>.</p></body></html>",
                what = escape_html(what),
                id = escape_html(&request.request_id),
                received = request.received_on,
                status = escape_html(&status),
            ),
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    pub(super) fn team_mail(&self, to: &EmailAddress, request: &DataSubjectRequest) -> Mail {
        let scope = match request.scope {
            Some(ObjectionScope::Processing) => "Scope: processing (Art. 21(1)): marketing was stopped on receipt; weigh the objection against our legitimate grounds\n",
            Some(ObjectionScope::Marketing) => "Scope: marketing (Art. 21(2)-(3))\n",
            None => "",
        };
        let text = format!(
            "A {kind} request ({jurisdiction}) was verified.\n\nReference: {id}\n{scope}Requester: {email}\nReceived: {received}\nDue: {due}\nDetails: {details}\n",
            kind = request.request_type.as_str(),
            jurisdiction = request.jurisdiction.as_str(),
            id = request.request_id,
            email = request.email.as_deref().unwrap_or("(removed)"),
            received = request.received_on,
            due = request.due_on,
            details = request.details.as_deref().unwrap_or("(none)"),
        );
        Mail {
            to: to.clone(),
            subject: format!(
                "Privacy request {} due {}",
                request.request_type.as_str(),
                request.due_on
            ),
            html: format!(
                "<!doctype html><html><body><pre>{}</pre></body></html>",
                escape_html(&text)
            ),
            text,
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }

    pub(super) fn decision_mail(
        &self,
        to: &EmailAddress,
        request: &DataSubjectRequest,
        event: &RequestEventKind,
        text: &str,
    ) -> Mail {
        let what = request.request_type.title();
        let authority = &self.ports.register.document().supervisory_authority;
        // GDPR Art. 12(4): the reasons, the right to complain and the right to
        // a judicial remedy (Art. 77, 79) in every refusal and extension.
        let remedies = format!(
            "{right} ({url})\n\n{court}\n",
            right = authority.right,
            url = authority.url,
            court = authority.judicial_remedy,
        );
        let (subject, body) = match event {
            RequestEventKind::Extended => (
                "We need more time for your privacy request".to_owned(),
                format!(
                    "We need more time to answer your request for {what} (reference {id}). The new deadline is {due}.\n\nWhy: {text}\n\n{remedies}",
                    id = request.request_id,
                    due = request.due_on,
                ),
            ),
            RequestEventKind::Rejected => (
                "Your privacy request was declined".to_owned(),
                format!(
                    "We cannot grant your request for {what} (reference {id}).\n\nWhy: {text}\n\n{remedies}",
                    id = request.request_id,
                ),
            ),
            _ => (
                "Your privacy request is complete".to_owned(),
                format!("Your request for {what} (reference {id}) is complete.\n\n{text}\n", id = request.request_id),
            ),
        };
        let status = self.status_link(request);
        let text = format!("{body}\nFollow your request: {status}\n");
        Mail {
            to: to.clone(),
            subject,
            html: format!(
                "<!doctype html><html><body><pre>{}</pre></body></html>",
                escape_html(&text)
            ),
            text,
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }
}
