/*
 * The privacy console's newsletter issues page: write an issue, send a test, cancel, and see
 * each issue's counts (GET/POST /admin/newsletter/issues…). The admin token is the console's
 * (sessionStorage, this tab only); nothing goes into the page's URL.
 */
(() => {
  'use strict';
  const KEY = 'privacy.adminToken';
  const API = (document.currentScript && document.currentScript.dataset.api) || '';
  const $ = (selector) => document.querySelector(selector);
  const token = () => sessionStorage.getItem(KEY);

  async function call(method, path, body) {
    const headers = { accept: 'application/json', authorization: 'Bearer ' + token() };
    if (body) headers['content-type'] = 'application/json';
    const response = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
    const json = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      signOut('The token was not accepted. Sign in again.');
      throw new Error('refused');
    }
    return { status: response.status, json };
  }

  function status(text) {
    $('#issues-status').textContent = text;
  }

  function fieldError(form, field, message) {
    const input = form.querySelector(`[name="${field}"]`);
    const target = input && document.getElementById(input.getAttribute('aria-describedby'));
    if (!input || !target) return false;
    target.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return true;
  }

  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach((node) => (node.textContent = ''));
    form.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
  }

  function showError(form, result) {
    const error = (result.json && result.json.error) || {};
    if (!(error.field && fieldError(form, error.field, error.message))) {
      status(error.message || `The request failed (${result.status}).`);
    }
  }

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.append(td);
    return td;
  }

  async function loadIssues() {
    const result = await call('GET', '/admin/newsletter/issues');
    if (result.status !== 200) return showError($('#issue-form'), result);
    const body = $('#issues-table tbody');
    body.replaceChildren();
    const select = $('#test-issue');
    select.replaceChildren();
    for (const issue of result.json.issues) {
      const row = document.createElement('tr');
      row.dataset.issue = issue.issue_id;
      cell(row, issue.subject);
      cell(row, issue.status).className = 'issue-status';
      cell(row, new Date(issue.send_at).toLocaleString());
      const counts = issue.counts;
      cell(row, String(counts.audience));
      cell(row, String(counts.sent)).className = 'issue-sent';
      const skipped = counts.skipped;
      cell(row, `${skipped.suppressed} / ${skipped.restricted} / ${skipped.objected}`);
      cell(row, String(counts.bounced));
      cell(row, String(counts.failed));
      cell(row, String(issue.test_sends)).className = 'issue-tests';
      const actions = cell(row, '');
      if (['scheduled', 'planning', 'sending'].includes(issue.status)) {
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'secondary';
        cancel.textContent = 'Cancel';
        cancel.setAttribute('aria-label', `Cancel “${issue.subject}”`);
        cancel.addEventListener('click', () => cancelIssue(issue));
        actions.append(cancel);
      }
      body.append(row);
      const option = document.createElement('option');
      option.value = issue.issue_id;
      option.textContent = issue.subject;
      select.append(option);
    }
  }

  async function cancelIssue(issue) {
    const result = await call('POST', `/admin/newsletter/issues/${encodeURIComponent(issue.issue_id)}/cancel`);
    status(result.status === 200 ? `“${issue.subject}” is cancelled: what was not sent stays unsent.`
      : (result.json && result.json.error && result.json.error.message) || 'The issue could not be cancelled.');
    await loadIssues();
  }

  async function writeIssue(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const data = new FormData(form);
    const body = { list: data.get('list'), subject: data.get('subject'), text: data.get('text') };
    if (data.get('html')) body.html = data.get('html');
    if (data.get('send_at')) body.send_at = new Date(data.get('send_at')).toISOString();
    const result = await call('POST', '/admin/newsletter/issues', body);
    if (result.status !== 202) return showError(form, result);
    form.reset();
    status(`The issue is scheduled for ${new Date(result.json.send_at).toLocaleString()}.`);
    await loadIssues();
  }

  async function sendTest(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const id = $('#test-issue').value;
    if (!id) return fieldError(form, 'issue', 'Write an issue first.');
    const result = await call('POST', `/admin/newsletter/issues/${encodeURIComponent(id)}/test`, { to: $('#test-to').value });
    if (result.status !== 200) return showError(form, result);
    status('The test mail is sent.');
    await loadIssues();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $('#issues-console').hidden = true;
    $('#signin').hidden = false;
    $('#admin-token-error').textContent = message || '';
  }

  async function signedIn() {
    $('#signin').hidden = true;
    $('#issues-console').hidden = false;
    await loadIssues();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('#token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('#admin-token').value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      signedIn();
    });
    $('#issue-form').addEventListener('submit', writeIssue);
    $('#test-form').addEventListener('submit', sendTest);
    $('#issues-refresh').addEventListener('click', loadIssues);
    if (token()) signedIn();
  });
})();
