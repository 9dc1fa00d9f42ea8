/*
 * The privacy console's newsletter issues page: write an issue, send a test, cancel, and see
 * each issue's counts (GET/POST /admin/newsletter/issues…). The admin token is the console's
 * (sessionStorage, this tab only); nothing goes into the page's URL. English and Swedish, as
 * the console: the language kept by the console's switch (sessionStorage), else <html lang>.
 */
(() => {
  'use strict';
  const KEY = 'privacy.adminToken';
  const LANG_KEY = 'privacy.consoleLang'; // the console's key: one choice serves both pages
  const API = (document.currentScript && document.currentScript.dataset.api) || '';
  const ACTIVE = ['scheduled', 'planning', 'sending'];

  const TEXTS = {
    en: {
      title: 'Newsletter issues · Privacy console',
      heading: 'Newsletter issues',
      navLabel: 'Demo',
      navOutbox: 'Outbox',
      navConsole: 'Console',
      navIssues: 'Newsletter issues',
      switchTo: 'Svenska',
      switchLang: 'sv',
      signIn: 'Sign in',
      tokenLabel: 'Admin token',
      tokenHint: 'Kept in this browser tab only (sessionStorage), shared with the console.',
      signInButton: 'Open',
      tokenRefused: 'The token was not accepted. Sign in again.',
      writeHeading: 'Write an issue',
      writeIntro:
        'Every mail adds why the reader gets it (their consent and its date, or being a customer with how to ' +
        'opt out), a one-click unsubscribe link, a link to choose newsletters and the controller\'s identity. ' +
        'To test before readers get it, give a later send time, send a test, and cancel if it is not right.',
      listLabel: 'List',
      listNews: 'news: product news and new features',
      subjectLabel: 'Subject',
      textLabel: 'Text',
      htmlHint: '(optional; no scripts)',
      sendAtLabel: 'Send at',
      sendAtHint: '(optional; empty: now)',
      schedule: 'Schedule the issue',
      listHeading: 'Issues',
      refresh: 'Refresh',
      caption: 'Newest first. Skipped: suppressed / restricted / objected.',
      colSubject: 'Subject',
      colStatus: 'Status',
      colSendAt: 'Send at',
      colAudience: 'Audience',
      colSent: 'Sent',
      colSkipped: 'Skipped',
      colBounced: 'Bounced',
      colFailed: 'Failed',
      colTests: 'Tests',
      colActions: 'Actions',
      statuses: { scheduled: 'scheduled', planning: 'planning', sending: 'sending', sent: 'sent', cancelled: 'cancelled' },
      cancel: 'Cancel',
      cancelLabel: (subject) => `Cancel “${subject}”`,
      cancelled: (subject) => `“${subject}” is cancelled: what was not sent stays unsent.`,
      notCancelled: 'The issue could not be cancelled.',
      scheduled: (at) => `The issue is scheduled for ${at}.`,
      testHeading: 'Send a test',
      testIssueLabel: 'Issue',
      testToLabel: 'To',
      sendTest: 'Send the test',
      testSent: 'The test mail is sent.',
      writeFirst: 'Write an issue first.',
      failed: (status) => `The request failed (${status}).`,
      // The API's own messages are English: shown as they come.
      errors: {},
    },
    sv: {
      title: 'Nyhetsbrevsutskick · Integritetskonsol',
      heading: 'Nyhetsbrevsutskick',
      navLabel: 'Demo',
      navOutbox: 'Utkorg',
      navConsole: 'Konsol',
      navIssues: 'Nyhetsbrevsutskick',
      switchTo: 'English',
      switchLang: 'en',
      signIn: 'Logga in',
      tokenLabel: 'Administratörstoken',
      tokenHint: 'Sparas bara i den här fliken (sessionStorage), delas med konsolen.',
      signInButton: 'Öppna',
      tokenRefused: 'Token godtogs inte. Logga in igen.',
      writeHeading: 'Skriv ett utskick',
      writeIntro:
        'Varje mejl får med varför läsaren får det (samtycket och dess datum, eller att läsaren är kund och hur ' +
        'man avböjer), en länk för att avsluta med ett klick, en länk för att välja nyhetsbrev och den ' +
        'personuppgiftsansvariges identitet. Testa innan läsarna får det: ange en senare sändningstid, skicka ' +
        'ett test och avbryt om något inte stämmer.',
      listLabel: 'Lista',
      listNews: 'news: produktnyheter och nya funktioner',
      subjectLabel: 'Ämne',
      textLabel: 'Text',
      htmlHint: '(valfritt; inga skript)',
      sendAtLabel: 'Sändningstid',
      sendAtHint: '(valfritt; tomt: nu)',
      schedule: 'Schemalägg utskicket',
      listHeading: 'Utskick',
      refresh: 'Uppdatera',
      caption: 'Nyast först. Hoppade över: spärrade / begränsade / invändning.',
      colSubject: 'Ämne',
      colStatus: 'Status',
      colSendAt: 'Sändningstid',
      colAudience: 'Mottagare',
      colSent: 'Skickade',
      colSkipped: 'Hoppade över',
      colBounced: 'Studsade',
      colFailed: 'Misslyckade',
      colTests: 'Test',
      colActions: 'Åtgärder',
      statuses: { scheduled: 'schemalagt', planning: 'planeras', sending: 'skickas', sent: 'skickat', cancelled: 'avbrutet' },
      cancel: 'Avbryt',
      cancelLabel: (subject) => `Avbryt ”${subject}”`,
      cancelled: (subject) => `”${subject}” är avbrutet: det som inte har skickats förblir oskickat.`,
      notCancelled: 'Utskicket kunde inte avbrytas.',
      scheduled: (at) => `Utskicket är schemalagt till ${at}.`,
      testHeading: 'Skicka ett test',
      testIssueLabel: 'Utskick',
      testToLabel: 'Till',
      sendTest: 'Skicka testet',
      testSent: 'Testmejlet är skickat.',
      writeFirst: 'Skriv ett utskick först.',
      failed: (status) => `Begäran misslyckades (${status}).`,
      // The API's errors by field and code, else by code; any other is shown as the API gives it.
      errors: {
        missing_field: 'Fältet måste fyllas i.',
        unknown_field: 'Fältet hör inte till begäran.',
        unknown_list: 'Det finns ingen lista med det namnet.',
        'subject.empty': 'Ett utskick behöver en ämnesrad.',
        'subject.invalid_field': 'En ämnesrad är en rad med högst 200 tecken.',
        'text.empty': 'Ett utskick behöver en textdel.',
        'text.invalid_field': 'Textdelen får vara högst 100 000 byte.',
        'html.invalid_field': 'HTML-delen får vara högst 200 000 byte.',
        'html.unsafe_html': 'HTML-delen får inte innehålla skript, javascript:-länkar, ramar eller inbäddade objekt.',
        'send_at.invalid_field': 'Ange en tidpunkt som 2026-12-31 09:00.',
        'send_at.in_the_past': 'Tidpunkten har redan passerat.',
        invalid_email: 'Det här är ingen giltig e-postadress.',
        mail_rejected: 'E-posttjänsten avvisade testmejlet till den här adressen.',
        mail_unavailable: 'E-posttjänsten är inte tillgänglig; försök igen senare.',
        issue_not_found: 'Det finns inget utskick med det här id:t.',
        issue_finished: 'Utskicket är redan klart eller avbrutet: det finns inget kvar att stoppa.',
      },
    },
  };

  let lang = 'en';
  let T = TEXTS.en;
  let issues = []; // the last list read, drawn again when the language changes
  const $ = (selector) => document.querySelector(selector);
  const token = () => sessionStorage.getItem(KEY);

  // A text shown in the page is kept as a function of the language, so the switch redraws it.
  function show(node, render) {
    node.textContent = render();
    node.render = render;
  }

  function apiMessage(error) {
    return T.errors[`${error.field}.${error.code}`] || T.errors[error.code] || error.message;
  }

  // The send time in the browser's time zone (the one the datetime-local field is read in).
  function instant(value) {
    const date = new Date(value);
    return isNaN(date) ? String(value || '') : date.toLocaleString(lang === 'sv' ? 'sv-SE' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  }

  async function call(method, path, body) {
    const headers = { accept: 'application/json', authorization: 'Bearer ' + token() };
    if (body) headers['content-type'] = 'application/json';
    const response = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
    const json = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      signOut(() => T.tokenRefused);
      throw new Error('refused');
    }
    return { status: response.status, json };
  }

  function status(render) {
    show($('#issues-status'), render);
  }

  function fieldError(form, field, render) {
    const input = form.querySelector(`[name="${field}"]`);
    const target = input && document.getElementById(input.getAttribute('aria-describedby'));
    if (!input || !target) return false;
    show(target, render);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return true;
  }

  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach((node) => show(node, () => ''));
    form.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
  }

  function showError(form, result) {
    const error = (result.json && result.json.error) || {};
    const render = () => (error.code || error.message ? apiMessage(error) : T.failed(result.status));
    if (!(error.field && fieldError(form, error.field, render))) status(render);
  }

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.append(td);
    return td;
  }

  function drawIssues() {
    const body = $('#issues-table tbody');
    body.replaceChildren();
    const select = $('#test-issue');
    const chosen = select.value;
    select.replaceChildren();
    for (const issue of issues) {
      const row = document.createElement('tr');
      row.dataset.issue = issue.issue_id;
      cell(row, issue.subject);
      const state = cell(row, T.statuses[issue.status] || issue.status);
      state.className = 'issue-status';
      state.dataset.status = issue.status;
      cell(row, instant(issue.send_at));
      const counts = issue.counts;
      cell(row, String(counts.audience));
      cell(row, String(counts.sent)).className = 'issue-sent';
      const skipped = counts.skipped;
      cell(row, `${skipped.suppressed} / ${skipped.restricted} / ${skipped.objected}`);
      cell(row, String(counts.bounced));
      cell(row, String(counts.failed));
      cell(row, String(issue.test_sends)).className = 'issue-tests';
      const actions = cell(row, '');
      if (ACTIVE.includes(issue.status)) {
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'secondary';
        cancel.textContent = T.cancel;
        cancel.setAttribute('aria-label', T.cancelLabel(issue.subject));
        cancel.addEventListener('click', () => cancelIssue(issue));
        actions.append(cancel);
      }
      body.append(row);
      const option = document.createElement('option');
      option.value = issue.issue_id;
      option.textContent = issue.subject;
      select.append(option);
    }
    if (issues.some((issue) => issue.issue_id === chosen)) select.value = chosen;
  }

  async function loadIssues() {
    const result = await call('GET', '/admin/newsletter/issues');
    if (result.status !== 200) return showError($('#issue-form'), result);
    issues = result.json.issues;
    drawIssues();
  }

  async function cancelIssue(issue) {
    const result = await call('POST', `/admin/newsletter/issues/${encodeURIComponent(issue.issue_id)}/cancel`);
    const error = result.json && result.json.error;
    status(() => (result.status === 200 ? T.cancelled(issue.subject) : error ? apiMessage(error) : T.notCancelled));
    await loadIssues();
    // The button is gone with its row: the list's heading keeps the keyboard's place.
    $('#list-title').focus();
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
    const at = result.json.send_at;
    status(() => T.scheduled(instant(at)));
    await loadIssues();
  }

  async function sendTest(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const id = $('#test-issue').value;
    if (!id) return fieldError(form, 'issue', () => T.writeFirst);
    const result = await call('POST', `/admin/newsletter/issues/${encodeURIComponent(id)}/test`, { to: $('#test-to').value });
    if (result.status !== 200) return showError(form, result);
    status(() => T.testSent);
    await loadIssues();
  }

  function applyLanguage(next) {
    lang = TEXTS[next] ? next : 'en';
    T = TEXTS[lang];
    document.documentElement.lang = lang;
    document.title = T.title;
    for (const node of document.querySelectorAll('[data-t]')) {
      const text = T[node.dataset.t];
      if (typeof text === 'string') node.textContent = text;
    }
    for (const node of document.querySelectorAll('[data-t-label]')) node.setAttribute('aria-label', T[node.dataset.tLabel]);
    const switcher = $('#lang-switch');
    switcher.textContent = T.switchTo;
    switcher.lang = T.switchLang;
    for (const node of document.querySelectorAll('#issues-status, .field-error')) {
      if (node.render) node.textContent = node.render();
    }
    drawIssues();
  }

  function signOut(render) {
    sessionStorage.removeItem(KEY);
    $('#issues-console').hidden = true;
    $('#signin').hidden = false;
    show($('#admin-token-error'), render || (() => ''));
  }

  async function signedIn() {
    $('#signin').hidden = true;
    $('#issues-console').hidden = false;
    await loadIssues();
  }

  document.addEventListener('DOMContentLoaded', () => {
    applyLanguage(sessionStorage.getItem(LANG_KEY) || (/^sv\b/i.test(document.documentElement.lang) ? 'sv' : 'en'));
    $('#lang-switch').addEventListener('click', () => {
      const next = lang === 'sv' ? 'en' : 'sv';
      sessionStorage.setItem(LANG_KEY, next);
      applyLanguage(next);
      $('#lang-switch').focus();
    });
    $('#token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('#admin-token').value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      show($('#admin-token-error'), () => '');
      signedIn().then(() => $('#write-title').focus(), () => $('#admin-token').focus());
    });
    $('#issue-form').addEventListener('submit', writeIssue);
    $('#test-form').addEventListener('submit', sendTest);
    $('#issues-refresh').addEventListener('click', loadIssues);
    if (token()) signedIn();
  });
})();
