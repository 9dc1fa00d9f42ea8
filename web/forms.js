/*! forms.js: progressive enhancement of the website's API forms. No dependencies.
 *
 * A <form data-api-form method="post" action="https://api…/newsletter/subscribe"> works without
 * JavaScript (the API answers a form post with 303 to a thank-you page). With this script the form
 * posts JSON instead, shows the answer inline (data-msg-<status> on the form, "{request_id}" is
 * filled in) and puts the API's field errors ({"error": {"code", "message", "field"}}) next to the
 * field: an element with id "<input id>-error", referenced by the input's aria-describedby.
 * Names with a dot ("corrections.name") become nested JSON objects. Empty fields are left out.
 * The consent_id cookie set by consent-banner.js is sent along, linking consent to the person.
 *
 * CAPTCHA hook: a page may set window.PrivacyForms = { captcha: async (form) => headers } before
 * a form is sent. The kit awaits it on every submit and adds the headers it returns to the
 * request, for example { 'x-aws-waf-token': await AwsWafIntegration.getToken() } when AWS WAF's
 * CAPTCHA or challenge rule guards the API (docs/deploy.md). If the hook throws or returns
 * nothing, nothing is sent and the form says so.
 */
(() => {
  'use strict';
  const sv = /^sv\b/i.test(document.documentElement.lang || '');
  const TEXT = sv
    ? {
        sent: 'Tack, vi har tagit emot det.',
        failed: 'Något gick fel hos oss. Försök igen om en stund.',
        offline: 'Vi kunde inte nå servern. Kontrollera anslutningen och försök igen.',
        check: 'Kontrollera fältet som är markerat.',
        human: 'Vi kunde inte bekräfta att du är en människa. Försök igen.',
      }
    : {
        sent: 'Thank you, we have received it.',
        failed: 'Something went wrong on our side. Please try again in a moment.',
        offline: 'We could not reach the server. Check your connection and try again.',
        check: 'Please check the marked field.',
        human: 'We could not confirm that you are a person. Please try again.',
      };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  function consentId() {
    const found = document.cookie.split('; ').find((c) => c.startsWith('consent_id='));
    const value = found && decodeURIComponent(found.slice('consent_id='.length));
    return value && UUID.test(value) ? value : '';
  }

  function toJson(form) {
    const body = {};
    // A group of checkboxes (the newsletter's lists) is an array of the checked values.
    const groups = new Set(Array.from(form.querySelectorAll('input[type="checkbox"]'), (box) => box.name));
    for (const name of groups) body[name] = [];
    for (const [name, raw] of new FormData(form)) {
      const value = typeof raw === 'string' ? raw.trim() : '';
      if (!value) continue;
      if (groups.has(name)) {
        body[name].push(value);
        continue;
      }
      const path = name.split('.');
      let target = body;
      while (path.length > 1) {
        const key = path.shift();
        target = target[key] = target[key] || {};
      }
      target[path[0]] = value;
    }
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll('[aria-invalid="true"]').forEach((input) => input.removeAttribute('aria-invalid'));
    form.querySelectorAll('.field-error').forEach((element) => (element.textContent = ''));
  }

  function showFieldError(form, error) {
    let input = error.field && form.elements.namedItem(error.field);
    // A group of checkboxes answers for its fieldset.
    if (input && !input.tagName && input.length) input = input[0].closest('fieldset') || input[0];
    if (!input || !input.id) return false;
    const group = input.tagName === 'FIELDSET'; // its error is the group's description
    if (!group) input.setAttribute('aria-invalid', 'true');
    let slot = document.getElementById(input.id + '-error');
    if (!slot) {
      slot = document.createElement('p');
      slot.className = 'field-error';
      slot.id = input.id + '-error';
      input.insertAdjacentElement('afterend', slot);
    }
    const described = (input.getAttribute('aria-describedby') || '').split(' ');
    if (!described.includes(slot.id)) input.setAttribute('aria-describedby', described.concat(slot.id).join(' ').trim());
    slot.textContent = error.message;
    (group ? input.querySelector('input, select, textarea') || input : input).focus();
    return true;
  }

  // The headers of the page's CAPTCHA hook, {} without one, or null when the check failed.
  async function captchaHeaders(form) {
    const hook = window.PrivacyForms && window.PrivacyForms.captcha;
    if (typeof hook !== 'function') return {};
    try {
      const headers = await hook(form);
      return headers && typeof headers === 'object' && Object.keys(headers).length ? headers : null;
    } catch (_) {
      return null;
    }
  }

  function say(form, text, kind) {
    const status = form.querySelector('[data-form-status]');
    if (!status) return;
    status.textContent = text;
    status.dataset.kind = kind;
  }

  async function submit(event) {
    const form = event.currentTarget;
    event.preventDefault();
    clearErrors(form);
    say(form, '', '');
    const consent = form.querySelector('[data-consent-id]');
    if (consent) consent.value = consentId();
    const button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const captcha = await captchaHeaders(form);
      if (!captcha) {
        say(form, TEXT.human, 'error');
        return;
      }
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { ...captcha, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(toJson(form)),
        credentials: 'omit',
      });
      const json = await response.json().catch(() => null);
      if (response.ok) {
        const template = (json && json.status && form.dataset['msg' + camel(json.status)]) || TEXT.sent;
        say(form, template.replace(/\{(\w+)\}/g, (_, key) => (json && json[key]) || ''), 'success');
        form.reset();
      } else if (json && json.error && response.status < 500) {
        const placed = showFieldError(form, json.error);
        say(form, placed ? TEXT.check : json.error.message, 'error');
      } else {
        say(form, TEXT.failed, 'error');
      }
    } catch (_) {
      say(form, TEXT.offline, 'error');
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  // dataset turns data-msg-awaiting_verification into msgAwaiting_verification.
  const camel = (status) => status.charAt(0).toUpperCase() + status.slice(1);

  // Parts of a form that matter only for some request types: <… data-show-for="rectification ccpa_correct">.
  function followType(form) {
    const type = form.elements.namedItem('type');
    if (!type || !type.addEventListener) return () => {};
    const update = () =>
      form.querySelectorAll('[data-show-for]').forEach((part) => {
        const shown = part.dataset.showFor.split(/\s+/).includes(type.value);
        part.hidden = !shown;
        if ('disabled' in part) part.disabled = !shown; // hidden fields are not sent
      });
    type.addEventListener('change', update);
    update();
    return update;
  }

  function enhance() {
    document.querySelectorAll('form[data-api-form]').forEach((form) => {
      form.addEventListener('submit', submit);
      const update = followType(form);
      form.addEventListener('reset', () => setTimeout(update));
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', enhance);
  else enhance();
})();
