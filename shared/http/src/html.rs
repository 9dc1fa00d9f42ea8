//! The few HTML pages the API itself serves (links in mails land here).

use privacy_domain::mail::escape_html;
use privacy_domain::FieldError;

use crate::message::ApiResponse;

/// A small self-contained page. `title` and `paragraphs` are escaped here;
/// `extra_html` is trusted markup built by the caller from escaped parts.
pub fn page(status: u16, title: &str, paragraphs: &[&str], extra_html: &str) -> ApiResponse {
    let body: String = paragraphs
        .iter()
        .map(|paragraph| format!("<p>{}</p>", escape_html(paragraph)))
        .collect();
    document(
        status,
        "en",
        title,
        "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
         button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}",
        &format!("<main><h1>{}</h1>{body}{extra_html}</main>", escape_html(title)),
    )
}

/// A whole page in `lang` with its own inline `style`: `title` is escaped
/// here, `body_html` is trusted markup built by the caller from escaped parts.
pub fn document(status: u16, lang: &str, title: &str, style: &str, body_html: &str) -> ApiResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>{style}</style></head>\
         <body>{body_html}</body></html>\n",
        lang = escape_html(lang),
        title = escape_html(title),
    );
    let mut response = ApiResponse::empty(status);
    response.body = html;
    response.set_header("content-type", "text/html; charset=utf-8");
    response.set_header("cache-control", "no-store");
    // The URL holds a token: it must not leak to other sites through Referer.
    // (`no-referrer` would also make browsers send `Origin: null` on the
    // unsubscribe button's post, which the origin check refuses.)
    response.set_header("referrer-policy", "same-origin");
    response.set_header(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    response
}

/// One button that POSTs the link's token back to `action` (a path of the
/// API itself). The pages of links in mails use it: GET shows, POST acts.
pub fn confirm_button(action: &str, token: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\">{label}</button></form>",
        action = escape_html(action),
        token = escape_html(token),
        label = escape_html(label),
    )
}

pub fn invalid_link() -> ApiResponse {
    page(
        400,
        "This link is not valid",
        &["The link may have expired, been used already, or been copied incompletely. Nothing was changed."],
        "",
    )
}

pub fn server_error() -> ApiResponse {
    page(
        500,
        "Something went wrong",
        &["Something went wrong on our side and nothing was changed. Please try the link again later."],
        "",
    )
}

/// A plain form (no JavaScript) with a bad field: a page that says which, and
/// a way back. The page's policy runs no script (so no `history.back()`): the
/// way back is a link to the form's page when the browser named it (`Referer`
/// from an allowed website origin), else a sentence.
pub fn form_error(error: &FieldError, form_page: Option<&str>) -> ApiResponse {
    let field = error.field.as_deref().unwrap_or("form");
    let back = match form_page {
        Some(url) => format!("<p><a href=\"{}\">Back to the form</a></p>", escape_html(url)),
        None => "<p>Use your browser's back button to return to the form.</p>".to_owned(),
    };
    page(
        400,
        "Please check the form",
        &[&format!("{field}: {}", error.message)],
        &back,
    )
}
