/*! queue.js: the privacy team's request queue (SPEC 4). No dependencies.
 *
 * GET /admin/dsr?status=&due_before= lists the requests, soonest due first, with days left
 *   (page by page, following next_cursor);
 * POST /admin/dsr/{id}/extend {"reason"}, /complete {"note"}, /reject {"reason"} act on one.
 * The admin token is typed in, kept in sessionStorage (this tab only) and sent as a bearer token.
 */
(() => {
  'use strict';
  const me = document.currentScript;
  const api = ((me && me.dataset.api) || '').replace(/\/+$/, '');
  const KEY = 'privacy.adminToken';
  const CLOSED = ['completed', 'rejected', 'expired'];
  const TYPES = {
    access: 'Access',
    portability: 'Portability',
    rectification: 'Rectification',
    erasure: 'Erasure',
    restriction: 'Restriction',
    objection: 'Objection',
    source: 'Source of data',
    ccpa_know: 'CCPA: know',
    ccpa_delete: 'CCPA: delete',
    ccpa_correct: 'CCPA: correct',
    ccpa_opt_out: 'CCPA: opt out',
  };
  const ACTIONS = {
    extend: { label: 'Extend', field: 'reason', prompt: 'Reason for the extension (mailed to the requester)', submit: 'Extend the deadline', done: 'deadline extended' },
    complete: { label: 'Complete', field: 'note', prompt: 'Note on how the request was fulfilled (mailed to the requester)', submit: 'Mark as completed', done: 'completed' },
    reject: { label: 'Reject', field: 'reason', prompt: 'Reason for the rejection (mailed to the requester)', submit: 'Reject the request', done: 'rejected' },
  };
  const $ = (selector) => document.querySelector(selector);
  const status = $('#queue-status');

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    node.append(...children.filter((child) => child != null));
    return node;
  }

  function say(text, kind = '') {
    status.textContent = text;
    status.dataset.kind = kind;
  }

  const token = () => sessionStorage.getItem(KEY);

  async function call(method, path, body) {
    const headers = { accept: 'application/json', authorization: 'Bearer ' + token() };
    if (body) headers['content-type'] = 'application/json';
    const response = await fetch(api + path, {
      method,
      headers,
      body: body && JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const json = await response.json().catch(() => null);
    if (response.status === 401) {
      signOut('The token was not accepted. Sign in again.');
      throw Object.assign(new Error('unauthorised'), { handled: true });
    }
    if (!response.ok) throw Object.assign(new Error('HTTP ' + response.status), { status: response.status, json });
    return json;
  }

  // "2026-03-01" stays; a timestamp becomes its calendar date in the controller's time zone.
  function day(value) {
    if (!value) return '';
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
    const date = new Date(value);
    return isNaN(date) ? String(value) : date.toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
  }

  function daysLeft(item) {
    let days = item.days_left;
    if (typeof days !== 'number' && dueOf(item)) {
      days = Math.ceil((Date.parse(dueOf(item)) - Date.now()) / 86400000);
    }
    if (typeof days !== 'number' || isNaN(days)) return element('span', { text: '' });
    if (days < 0) return element('span', { class: 'overdue', text: `${-days} ${-days === 1 ? 'day' : 'days'} overdue` });
    if (days === 0) return element('span', { class: 'due-soon', text: 'due today' });
    return element('span', { class: days <= 7 ? 'due-soon' : '', text: `${days} ${days === 1 ? 'day' : 'days'}` });
  }

  const idOf = (item) => item.request_id || item.id;
  // The queue gives the due date (due_on); a single request also its instant (due_at).
  const dueOf = (item) => item.due_on || item.due_at;

  function row(item) {
    const id = idOf(item);
    const open = !CLOSED.includes(item.status);
    const actions = element('div', { class: 'actions' });
    if (open) {
      for (const [action, spec] of Object.entries(ACTIONS)) {
        actions.append(
          element('button', {
            type: 'button',
            class: 'secondary',
            'data-action': action,
            'aria-label': `${spec.label} request ${id}`,
            text: spec.label,
            onclick: (event) => openAction(event.currentTarget, item, action),
          }),
        );
      }
    }
    const extended = item.extended || item.extended_until || (item.extensions && item.extensions.length);
    return element(
      'tr',
      { 'data-request-id': id, 'data-status': item.status || '' },
      element('td', { class: 'nowrap', text: day(dueOf(item)) }),
      element('td', { class: 'nowrap' }, daysLeft(item)),
      element('td', { text: TYPES[item.type] || item.type || '' }),
      element('td', { text: (item.status || '').replace(/_/g, ' ') + (extended ? ' (extended)' : '') }),
      element('td', { class: 'nowrap', text: day(item.received_at) }),
      element('td', {}, element('code', { text: id }), item.email ? element('div', { text: item.email }) : null),
      element('td', {}, actions),
    );
  }

  function openAction(button, item, action) {
    const spec = ACTIONS[action];
    const id = idOf(item);
    document.querySelectorAll('.action-row').forEach((other) => other.remove());
    const fieldId = `action-${action}-${id}`;
    const textarea = element('textarea', {
      id: fieldId,
      name: spec.field,
      rows: '3',
      required: '',
      maxlength: '2000',
      'aria-describedby': fieldId + '-error',
    });
    const error = element('p', { class: 'field-error', id: fieldId + '-error' });
    const form = element(
      'form',
      { class: 'action-form', 'data-action': action },
      element('div', { class: 'field' }, element('label', { for: fieldId, text: spec.prompt }), textarea, error),
      element(
        'div',
        { class: 'buttons' },
        element('button', { type: 'submit', text: spec.submit }),
        element('button', {
          type: 'button',
          class: 'secondary',
          text: 'Cancel',
          onclick: () => {
            form.closest('tr').remove();
            button.focus();
          },
        }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      textarea.removeAttribute('aria-invalid');
      try {
        const result = await call('POST', `/admin/dsr/${encodeURIComponent(id)}/${action}`, {
          [spec.field]: textarea.value.trim(),
        });
        const due = result && dueOf(result) ? ` (due ${day(dueOf(result))})` : '';
        await load();
        say(`Request ${id}: ${spec.done}${due}.`, 'success');
      } catch (failure) {
        if (failure.handled) return;
        const detail = failure.json && failure.json.error;
        if (detail && detail.field === spec.field) {
          textarea.setAttribute('aria-invalid', 'true');
          error.textContent = detail.message;
          textarea.focus();
        } else {
          say(detail ? detail.message : 'The action failed. Try again.', 'error');
        }
      }
    });
    const tr = element('tr', { class: 'action-row' }, element('td', { colspan: '7' }, form));
    button.closest('tr').after(tr);
    textarea.focus();
  }

  async function load() {
    const filters = new FormData($('#filter-form'));
    const query = new URLSearchParams();
    for (const [name, value] of filters) if (value) query.set(name, value);
    const tbody = $('#queue-table tbody');
    say('Loading…');
    let json;
    try {
      // Every page: the API answers at most `limit` requests and a next_cursor while there are more.
      json = await call('GET', '/admin/dsr' + (query.toString() ? '?' + query : ''));
      while (json && !Array.isArray(json) && json.next_cursor) {
        const next = new URLSearchParams(query);
        next.set('cursor', json.next_cursor);
        const page = await call('GET', '/admin/dsr?' + next);
        json = { ...page, requests: (json.requests || []).concat(page.requests || []) };
      }
    } catch (failure) {
      if (failure.handled) return;
      tbody.replaceChildren();
      if (failure.status === 404) say('The request queue API (GET /admin/dsr) is not available on this server.', 'error');
      else if (failure.json && failure.json.error) say(failure.json.error.message, 'error');
      else say('The queue could not be loaded. Try again.', 'error');
      return;
    }
    const items = (Array.isArray(json) ? json : (json && (json.requests || json.items)) || []).slice();
    // The API sends them soonest due first; sorting again keeps the page right whatever it gets.
    items.sort((a, b) => String(dueOf(a) || '').localeCompare(String(dueOf(b) || '')));
    tbody.replaceChildren(...items.map(row));
    say(items.length ? `${items.length} ${items.length === 1 ? 'request' : 'requests'}.` : 'No requests match.');
  }

  function signedIn() {
    $('#signin').hidden = true;
    $('#queue').hidden = false;
    return load();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $('#queue').hidden = true;
    $('#signin').hidden = false;
    $('#queue-table tbody').replaceChildren();
    const input = $('#admin-token');
    input.value = '';
    $('#admin-token-error').textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    input.focus();
  }

  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('#admin-token').value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    $('#admin-token').removeAttribute('aria-invalid');
    $('#admin-token-error').textContent = '';
    signedIn().then(() => $('#queue-title').focus());
  });
  $('#filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  $('#sign-out').addEventListener('click', () => signOut());
  $('#queue-title').tabIndex = -1;

  if (token()) signedIn();
})();
