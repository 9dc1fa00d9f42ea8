// The privacy team's console (web/console/, served as /console/).
//
// End to end against the local server: requests and consents seeded through the public API
// (verified through the outbox), the dashboard's counts checked against what the admin API
// says, every action, the proof of consent, the two charts and the CSV download. Then the
// page against the contract with the admin API stubbed in the browser: due soon and overdue,
// paging by next_cursor, the bars and points drawn, "<10" never drawn, errors by field.

import { readFile } from 'node:fs/promises';
import { ADMIN_TOKEN, api, assert, assertAccessible, browserTest, docScreenshot, openMail, uniqueEmail } from './lib/harness.mjs';

const OPEN = ['verified', 'in_progress', 'awaiting_team'];
const admin = (method, path, body, headers = {}) =>
  api(method, path, body, { authorization: 'Bearer ' + ADMIN_TOKEN, ...headers });

/** A request sent through POST /dsr and, unless it acts at once, verified through its mail. */
async function seedRequest(page, type, extra = {}) {
  const email = uniqueEmail('console-' + type);
  const sent = await api('POST', '/dsr', { type, email, ...extra });
  assert.equal(sent.status, 202, JSON.stringify(sent.json));
  if (sent.json.status === 'awaiting_verification') {
    const mail = await openMail(page, email);
    const href = await mail.locator('.mail-links a', { hasText: '/dsr/verify?token=' }).first().getAttribute('href');
    const token = new URL(href).searchParams.get('token');
    const verified = await api('POST', '/dsr/verify', { token });
    assert.equal(verified.status, 200, 'verified');
  }
  return { id: sent.json.request_id, email };
}

/** The whole queue, as the admin API pages it. */
async function wholeQueue() {
  let page = (await admin('GET', '/admin/dsr?limit=2')).json;
  const items = [...page.requests];
  while (page.next_cursor) {
    page = (await admin('GET', '/admin/dsr?' + new URLSearchParams({ limit: '2', cursor: page.next_cursor }))).json;
    items.push(...page.requests);
  }
  return items;
}

function expectedCounts(items) {
  const open = items.filter((item) => OPEN.includes(item.status));
  return {
    open: open.length,
    verified: open.filter((item) => item.status === 'verified').length,
    in_progress: open.filter((item) => item.status === 'in_progress').length,
    awaiting_team: open.filter((item) => item.status === 'awaiting_team').length,
    'due-soon': open.filter((item) => item.days_left >= 0 && item.days_left <= 7).length,
    overdue: open.filter((item) => item.days_left < 0).length,
    ...openTasksPerSystem(open),
  };
}

// The other systems' tasks not yet ended, per system, of the open requests.
function openTasksPerSystem(open) {
  const counts = {};
  for (const task of open.flatMap((item) => item.tasks || [])) {
    if (!['done', 'not_found', 'exempt'].includes(task.status)) counts[`tasks-${task.system}`] = (counts[`tasks-${task.system}`] || 0) + 1;
  }
  return counts;
}

async function shownCounts(page) {
  return page.locator('#counts .count').evaluateAll((nodes) =>
    Object.fromEntries(
      nodes.map((node) => {
        const text = node.querySelector('dd').textContent;
        // The on-time rate is a percentage as shown; the rest are numbers.
        return [node.dataset.count, node.dataset.count === 'on-time' ? text : Number(text)];
      }),
    ),
  );
}

/** The on-time rate as the console shows it. */
const shownRate = (rate) => (typeof rate === 'number' ? `${Math.round(rate * 1000) / 10} %` : '–');

async function signIn(page, token) {
  await page.goto('/console/');
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Open the console' }).click();
}

const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
function daysAgo(days) {
  const date = new Date(today() + 'T12:00:00Z');
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

browserTest('console: dashboard counts against seeded requests, a request\'s detail and every action', async (t, { page }) => {
  if (!ADMIN_TOKEN) return t.skip('ADMIN_TOKEN is not set: infra/browser-test sets it for the server and the tests');
  const first = await seedRequest(page, 'restriction');
  const second = await seedRequest(page, 'restriction');
  const third = await seedRequest(page, 'objection', { scope: 'processing' });
  await seedRequest(page, 'ccpa_opt_out'); // acts at once: completed

  const queue = await wholeQueue();
  for (const { id } of [first, second, third]) {
    assert.equal(queue.find((item) => item.request_id === id)?.status, 'awaiting_team', `${id} waits for the team`);
  }
  const year = today().slice(0, 4);
  const report = (await admin('GET', `/admin/reports/requests?year=${year}`)).json;
  const sum = (name) => report.rows.reduce((total, row) => total + row[name], 0);

  await signIn(page, ADMIN_TOKEN);
  await page.locator(`tr[data-request-id="${first.id}"]`).waitFor();
  const monthly = (await admin('GET', '/admin/reports/requests/monthly')).json;
  const expected = {
    ...expectedCounts(queue),
    'received-year': sum('received'),
    'answered-year': sum('responded'),
    'on-time': shownRate(monthly.on_time.rate),
  };
  assert.deepEqual(await shownCounts(page), expected, 'the dashboard counts what the admin API lists');
  assert.ok(expected.awaiting_team >= 3);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  assert.ok(!page.url().includes(ADMIN_TOKEN) && new URL(page.url()).search === '', 'nothing in the URL');
  await page.locator('#counts').scrollIntoViewIfNeeded();
  await docScreenshot(page, 'console-dashboard');

  // The detail, opened from the list by keyboard.
  await page.getByRole('button', { name: `Open request ${first.id}` }).focus();
  await page.keyboard.press('Enter');
  const detail = page.locator('#detail');
  await detail.getByRole('heading', { name: `Request ${first.id}` }).waitFor();
  assert.ok(await page.locator('#detail-title').evaluate((node) => node === document.activeElement), 'focus moves to the detail');
  const entry = queue.find((item) => item.request_id === first.id);
  const facts = await detail.locator('#detail-facts').evaluate((dl) =>
    Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
  );
  assert.equal(facts['Type'], 'Restriction');
  assert.equal(facts['Status'], 'Awaiting the team');
  assert.equal(facts['Due date'], entry.due_on);
  assert.equal(facts['Days left'], `${entry.days_left} days`);
  assert.deepEqual(
    await detail.locator('form.action-form').evaluateAll((forms) => forms.map((form) => form.dataset.action)),
    ['extend', 'complete', 'reject', 'lift-restriction'],
  );
  // The detail from GET /admin/dsr/{id}: no other system asked here, the mails without address.
  await detail.locator('#detail-tasks', { hasText: 'No other system is asked about this request.' }).waitFor();
  await detail.locator('#detail-mails li[data-kind="dsr_acknowledgement"]').waitFor();
  assert.ok(!(await detail.textContent()).includes(first.email), 'no address in the detail');
  // A note, added by keyboard: it is listed with who wrote it, and the API has it.
  await detail.locator('#detail-notes', { hasText: 'No notes yet.' }).waitFor();
  await detail.getByLabel('Note (personal data').focus();
  await page.keyboard.type('Called the requester: the restriction covers the CRM too.');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('#console-status', { hasText: `Request ${first.id}: note added.` }).waitFor();
  await detail.locator('#detail-notes .notes li', { hasText: 'Called the requester: the restriction covers the CRM too.' }).waitFor();
  assert.ok((await detail.locator('#detail-notes .notes li').textContent()).includes('(local-admin)'), 'the member who wrote it');
  const apiDetail = (await admin('GET', `/admin/dsr/${first.id}`)).json;
  assert.deepEqual(apiDetail.notes.map((note) => note.text), ['Called the requester: the restriction covers the CRM too.']);
  await assertAccessible(page, 'the console with a request open');

  // Extend: the due date moves and the timeline shows the events.
  await detail.getByLabel('Reason for the extension').fill('Records must come from two suppliers.');
  await detail.getByRole('button', { name: 'Extend the deadline' }).click();
  await page.locator('#console-status', { hasText: `Request ${first.id}: deadline extended` }).waitFor();
  const extendedDue = (await wholeQueue()).find((item) => item.request_id === first.id).due_on;
  assert.ok(extendedDue > entry.due_on, `extended (${entry.due_on} → ${extendedDue})`);
  assert.equal(await detail.locator('#detail-facts dd').nth(4).textContent(), extendedDue);
  await detail.locator('.timeline li[data-event="extended"]', { hasText: 'Records must come from two suppliers.' }).waitFor();
  assert.equal(await detail.locator('.timeline li[data-event="verified"]').count(), 1);
  await detail.scrollIntoViewIfNeeded();
  await docScreenshot(detail, 'console-request');
  assert.ok(await (await openMail(page, first.email, 'We need more time')).count(), 'the requester is told');
  await page.goto('/console/'); // still signed in: the token is in sessionStorage
  await page.getByRole('button', { name: `Open request ${first.id}` }).click();

  // Complete, then lift the restriction the request put in place.
  await detail.getByLabel('Note on how the request was fulfilled').fill('Processing restricted in every system.');
  await detail.getByRole('button', { name: 'Mark as completed' }).click();
  await page.locator('#console-status', { hasText: `Request ${first.id}: completed` }).waitFor();
  assert.equal(await detail.locator('form.action-form').count(), 1, 'only lifting the restriction is left');
  await detail.getByLabel('Reason for lifting the restriction').fill('The accuracy of the data has been checked.');
  await detail.getByRole('button', { name: 'Lift the restriction' }).click();
  await page.locator('#console-status', { hasText: `Request ${first.id}: restriction lifted` }).waitFor();
  await detail.locator('.timeline li[data-event="restriction_lifted"]').waitFor();

  // Reject with a reason code: the request report counts the denial under it.
  const before = report.rows.find((row) => row.type === 'restriction').denied_by_reason.excessive;
  await page.getByRole('button', { name: `Open request ${second.id}` }).click();
  await detail.getByLabel('Reason for the rejection').fill('The same request was answered last week.');
  await detail.getByLabel('Reason code').selectOption('excessive');
  await detail.getByRole('button', { name: 'Reject the request' }).click();
  await page.locator('#console-status', { hasText: `Request ${second.id}: rejected` }).waitFor();
  const after = (await admin('GET', `/admin/reports/requests?year=${year}`)).json;
  assert.equal(after.rows.find((row) => row.type === 'restriction').denied_by_reason.excessive, before + 1);

  // The processing objection: lift the restriction while it is open.
  await page.getByRole('button', { name: `Open request ${third.id}` }).click();
  await detail.getByLabel('Reason for lifting the restriction').fill('Our legitimate grounds override the objection.');
  await detail.getByRole('button', { name: 'Lift the restriction' }).click();
  await page.locator('#console-status', { hasText: `Request ${third.id}: restriction lifted` }).waitFor();

  // The counts follow.
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator('#console-status', { hasText: 'in the queue' }).waitFor();
  const now = await wholeQueue();
  const counts = await shownCounts(page);
  const { 'received-year': received, 'answered-year': answered, 'on-time': onTime, ...open } = counts;
  const monthlyNow = (await admin('GET', '/admin/reports/requests/monthly')).json;
  assert.equal(onTime, shownRate(monthlyNow.on_time.rate), 'the on-time rate the report gives');
  // The chart per month: a segment per month and outcome that is not zero, as the report gives.
  assert.deepEqual(
    await page.locator('svg[data-chart="monthly"] rect.bar').evaluateAll((rects) => rects.map((rect) => [rect.dataset.month, rect.dataset.outcome, Number(rect.dataset.value)])),
    monthlyNow.months.flatMap((month) =>
      ['complied_in_whole', 'complied_in_part', 'denied', 'open'].filter((outcome) => month[outcome] > 0).map((outcome) => [month.month, outcome, month[outcome]]),
    ),
  );
  assert.deepEqual(open, expectedCounts(now));
  assert.equal(received, expected['received-year']);
  assert.equal(answered, expected['answered-year'] + 2, 'one completed, one rejected');

  // Swedish: the switch, and axe again.
  await page.getByRole('button', { name: 'Svenska' }).click();
  await page.getByRole('heading', { name: 'Integritetskonsol' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'sv');
  await page.getByRole('button', { name: `Öppna ärende ${third.id}` }).click();
  await page.getByRole('heading', { name: `Ärende ${third.id}` }).waitFor();
  await page.locator('#counts dt', { hasText: 'Förfaller inom 7 dagar' }).waitFor();
  await assertAccessible(page, 'the console in Swedish with a request open');
});

browserTest('console: proof of consent, the consent chart and the request chart against seeded data', async (t, { page }) => {
  if (!ADMIN_TOKEN) return t.skip('ADMIN_TOKEN is not set: infra/browser-test sets it for the server and the tests');
  const policy = 'console-' + Date.now().toString(36);
  // 12 choose analytics only and 12 marketing only: a rate of exactly 50 % in each category.
  for (let i = 0; i < 24; i++) {
    const analytics = i < 12;
    const sent = await api('POST', '/consent', { policy_version: policy, categories: { analytics, marketing: !analytics }, source: 'banner' });
    assert.equal(sent.status, 201);
  }
  // One visitor with a history: given, narrowed, withdrawn (under another version: the 50 % stays).
  const given = await api('POST', '/consent', { policy_version: policy + '-h', categories: { analytics: true, marketing: true }, source: 'banner', language: 'en' });
  const consentId = given.json.consent_id;
  await api('POST', '/consent', { consent_id: consentId, policy_version: policy + '-h', categories: { analytics: true, marketing: false }, source: 'settings' });
  assert.equal((await api('DELETE', `/consent/${consentId}`)).status < 300, true);
  const proof = (await admin('GET', `/admin/consent/${consentId}/proof`)).json;
  assert.equal(proof.receipts.length, 3);
  // Its visitor verifies a request with the consent id: the history is linked to their address.
  const person = await seedRequest(page, 'access', { consent_id: consentId });

  await signIn(page, ADMIN_TOKEN);
  await page.locator('#counts .count').first().waitFor();

  // The consent chart: a point for each day, category and version the report gives a rate for.
  const report = (await admin('GET', `/admin/reports/consent?from=${daysAgo(29)}&to=${today()}`)).json; // the console's range
  const rated = report.rows.filter((row) => typeof row.opt_in_rate === 'number');
  const series = new Set(rated.map((row) => row.category + '/' + row.policy_version));
  const chart = page.locator('svg[data-chart="consent"]');
  await chart.waitFor();
  assert.equal(await chart.locator('circle.point').count(), rated.length, 'one point per rate given');
  assert.equal(await chart.locator('g.series').count(), series.size, 'one line per category and version with a rate');
  for (const category of ['analytics', 'marketing']) {
    const point = chart.locator(`g.series[data-category="${category}"][data-policy="${policy}"] circle.point`);
    assert.equal(await point.count(), 1, `${category}: today`);
    assert.equal(await point.getAttribute('data-day'), today());
    assert.equal(Number(await point.getAttribute('data-rate')), 0.5);
  }
  assert.ok(!(await chart.textContent()).includes('<10'), 'no "<10" drawn');

  // The request chart: a bar segment per type received and outcome that is not zero.
  const year = today().slice(0, 4);
  const requests = (await admin('GET', `/admin/reports/requests?year=${year}`)).json;
  const segments = requests.rows.flatMap((row) =>
    ['complied_in_whole', 'complied_in_part', 'denied', 'open'].filter((outcome) => row[outcome] > 0).map((outcome) => [row.type, outcome, row[outcome]]),
  );
  const bars = page.locator('svg[data-chart="requests"] rect.bar');
  if (segments.length) {
    await bars.first().waitFor();
    assert.deepEqual(
      await bars.evaluateAll((rects) => rects.map((rect) => [rect.dataset.type, rect.dataset.outcome, Number(rect.dataset.value)])),
      segments,
    );
  } else {
    await page.locator('#request-chart-figure .chart-empty').waitFor();
  }

  // The report as CSV.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the report (CSV)' }).click()]);
  assert.equal(download.suggestedFilename(), `requests-${year}.csv`);
  const csv = await readFile(await download.path(), 'utf8');
  assert.match(csv, /^type,received,complied_in_whole,/);
  assert.equal(csv.trim().split(/\r?\n/).length, 1 + requests.rows.length);

  // The proof of consent.
  await page.getByLabel('Consent id').fill(consentId);
  await page.getByRole('button', { name: 'Show the proof' }).click();
  await page.locator('.verdict[data-intact="true"]', { hasText: 'The hash chain is intact.' }).waitFor();
  assert.deepEqual(
    await page.locator('#proof-result .receipts tbody tr').evaluateAll((rows) => rows.map((row) => [row.children[0].textContent, row.children[1].textContent])),
    proof.receipts.map((receipt) => [String(receipt.sequence), receipt.action]),
  );
  await page.locator('.proof-state', { hasText: 'withdrawn' }).waitFor();
  await assertAccessible(page, 'the console with the proof and the charts');

  await page.getByLabel('Consent id').fill('not-a-consent-id');
  await page.getByRole('button', { name: 'Show the proof' }).click();
  await page.locator('#proof-id[aria-invalid="true"]').waitFor();
  assert.ok((await page.locator('#proof-id-error').textContent()).length > 0, 'the API\'s message by the field');

  // The proof for a person: their linked history, found by the address (sent in the body).
  const asked = [];
  page.on('request', (request) => asked.push(request.url()));
  await page.getByLabel('Or a person\'s e-mail address').fill(person.email);
  await page.getByRole('button', { name: 'Show their proofs' }).click();
  const theirs = page.locator(`#proof-result .proof[data-consent-id="${consentId}"]`);
  await theirs.locator('.verdict[data-intact="true"]').waitFor();
  assert.equal(await page.locator('#proof-result .proof').count(), 1, 'only the history linked to them');
  assert.equal(await theirs.locator('.receipts tbody tr').count(), 3);
  assert.ok(asked.every((url) => !url.includes(encodeURIComponent(person.email)) && !url.includes(person.email)), 'no address in a URL');
  await page.getByLabel('Or a person\'s e-mail address').fill(uniqueEmail('console-nobody'));
  await page.getByRole('button', { name: 'Show their proofs' }).click();
  await page.locator('#proof-result', { hasText: 'No consent history is linked to this address.' }).waitFor();
  await page.getByLabel('Or a person\'s e-mail address').fill('not an address');
  await page.getByRole('button', { name: 'Show their proofs' }).click();
  await page.locator('#proof-email[aria-invalid="true"]').waitFor();
  assert.ok((await page.locator('#proof-email-error').textContent()).length > 0, 'the API\'s message by the field');
  await page.getByLabel('Or a person\'s e-mail address').fill(person.email);
  await page.getByRole('button', { name: 'Show their proofs' }).click();
  await theirs.locator('.verdict[data-intact="true"]').waitFor();
  await assertAccessible(page, 'the console with a person\'s proofs');

  await page.getByRole('button', { name: 'Svenska' }).click();
  await page.getByRole('heading', { name: 'Bevis på samtycke' }).waitFor();
  await assertAccessible(page, 'the console in Swedish with the charts');
});

/** Twelve months of the monthly request report: received in four of them; 5 of 6 answers on time. */
function monthlyFixture() {
  const months = [];
  for (let i = 0; i < 12; i++) {
    const month = `${i < 2 ? 2025 : 2026}-${String(((i + 10) % 12) + 1).padStart(2, '0')}`;
    months.push({ month, received: 0, complied_in_whole: 0, complied_in_part: 0, denied: 0, open: 0 });
  }
  Object.assign(months[0], { received: 2, complied_in_whole: 2 });
  Object.assign(months[5], { received: 4, complied_in_whole: 1, complied_in_part: 1, denied: 1, open: 1 });
  Object.assign(months[11], { received: 1, open: 1 });
  return { from: months[0].month, through: months[11].month, time_zone: 'Europe/Stockholm', months, on_time: { responded: 6, on_time: 5, rate: 0.833, undated: 0 } };
}

// A request's detail against the contract: tasks, recording a system's answer, notes, the chart per month.
browserTest('console (stubbed API): a request\'s detail, recording a system\'s answer, a note, the on-time rate and the chart per month', async (t, { page }) => {
  const posted = [];
  const tasks = [
    { task_id: 'req-1.crm', system: 'crm', system_name: 'CRM (customers and prospects)', kind: 'act', status: 'done', due_on: '2026-10-25', attempts: 1, answered_by: 'system:crm' },
    { task_id: 'req-1.bookkeeping', system: 'bookkeeping', system_name: 'Bookkeeping and invoicing', kind: 'act', status: 'pending', due_on: '2026-10-25', attempts: 0, instructions: 'Search the customer ledger for the person.' },
    { task_id: 'req-1.partner', system: 'partner', system_name: 'Event partner', kind: 'notify', status: 'failed', due_on: '2026-10-25', attempts: 10, last_error: 'status 500' },
  ];
  const notes = [];
  const queueEntry = { request_id: 'req-1', type: 'erasure', status: 'in_progress', jurisdiction: 'gdpr', received_at: '2026-10-01T09:00:00Z', due_on: '2026-11-01', extended: false, days_left: 3 };
  const detail = () => ({
    ...queueEntry, due_at: '2026-11-01T22:59:59Z', closed_at: null,
    events: [{ event: 'received', at: '2026-10-01T09:00:00Z', by: 'requester' }, { event: 'verified', at: '2026-10-01T09:05:00Z', by: 'requester' }, { event: 'tasks_created', at: '2026-10-01T09:05:00Z', by: 'system', note: 'crm, bookkeeping, partner' }],
    tasks, mails: [{ kind: 'dsr_acknowledgement', status: 'sent', at: '2026-10-01T09:05:01Z' }, { kind: 'dsr_erasure', status: 'sent', at: '2026-10-01T09:05:02Z' }], notes,
  });
  const monthlyReport = monthlyFixture();
  await page.route(
    (url) => url.pathname.startsWith('/admin/'),
    async (route, request) => {
      const url = new URL(request.url());
      const body = request.postDataJSON();
      if (url.pathname === '/admin/dsr') return route.fulfill({ json: { requests: [queueEntry] } });
      if (url.pathname === '/admin/reports/requests') return route.fulfill({ json: { year: 2026, time_zone: 'Europe/Stockholm', rows: [] } });
      if (url.pathname === '/admin/reports/requests/monthly') return route.fulfill({ json: monthlyReport });
      if (url.pathname === '/admin/reports/consent') return route.fulfill({ json: { from: '2026-10-01', to: '2026-10-30', rows: [] } });
      if (url.pathname === '/admin/dsr/req-1') return route.fulfill({ json: detail() });
      if (url.pathname === '/admin/dsr/req-1/notes') {
        posted.push(['notes', body]);
        if (body.text.length > 40) {
          return route.fulfill({ status: 400, json: { error: { code: 'invalid_field', message: 'A note is at most 40 characters here.', field: 'text' } } });
        }
        notes.push({ at: '2026-10-30T10:00:00Z', by: 'team-member-1', text: body.text });
        return route.fulfill({ status: 201, json: { notes } });
      }
      const task = url.pathname.match(/^\/admin\/dsr\/req-1\/tasks\/(.+)$/);
      if (task) {
        posted.push([decodeURIComponent(task[1]), body]);
        if (body.status === 'exempt' && !body.reason) {
          return route.fulfill({ status: 400, json: { error: { code: 'invalid_field', message: 'An exemption needs its legal reason.', field: 'reason' } } });
        }
        const answered = tasks.find((entry) => entry.task_id === decodeURIComponent(task[1]));
        Object.assign(answered, { status: body.status, reason: body.reason, answered_by: 'team-member-1' });
        return route.fulfill({ json: { task: answered } });
      }
      return route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'No such route.', field: null } } });
    },
  );
  await page.goto('/console/');
  await page.getByLabel('Admin token').fill('good-token');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await page.locator('tr[data-request-id="req-1"]').waitFor();

  // The on-time rate on the dashboard and the chart per month, bar heights in proportion.
  assert.equal((await shownCounts(page))['on-time'], '83.3 %');
  const bars = page.locator('svg[data-chart="monthly"] rect.bar');
  assert.deepEqual(
    await bars.evaluateAll((rects) => rects.map((rect) => `${rect.dataset.month}:${rect.dataset.outcome}:${rect.dataset.value}`)),
    ['2025-11:complied_in_whole:2', '2026-04:complied_in_whole:1', '2026-04:complied_in_part:1', '2026-04:denied:1', '2026-04:open:1', '2026-10:open:1'],
  );
  const height = (month, outcome) => page.locator(`svg[data-chart="monthly"] rect.bar[data-month="${month}"][data-outcome="${outcome}"]`).getAttribute('height').then(Number);
  assert.ok(Math.abs((await height('2025-11', 'complied_in_whole')) - 2 * (await height('2026-10', 'open'))) < 0.01, 'bar heights in proportion');
  assert.equal(await page.locator('#monthly-chart details table tbody tr').count(), 12, 'the figures as a table, every month');
  await page.locator('#monthly-chart').scrollIntoViewIfNeeded();
  await docScreenshot(page.locator('#monthly-chart'), 'console-monthly-chart');

  // The detail, by keyboard: timeline, tasks, mails.
  await page.getByRole('button', { name: 'Open request req-1' }).focus();
  await page.keyboard.press('Enter');
  const section = page.locator('#detail');
  await section.locator('#task-table tr[data-task-id="req-1.bookkeeping"]').waitFor();
  assert.deepEqual(
    await section.locator('#task-table tbody tr').evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent))),
    [
      ['CRM (customers and prospects)', 'Act', 'Done', '2026-10-25'],
      ['Bookkeeping and invoicing', 'Act', 'Pending', '2026-10-25'],
      ['Event partner', 'Notify (Art. 19)', 'Failed', '2026-10-25'],
    ],
  );
  assert.equal(await section.locator('form.answer-form').count(), 2, 'a form for each task not yet answered');
  await section.locator('.timeline li[data-event="tasks_created"]').waitFor();
  assert.deepEqual(await section.locator('#detail-mails li').evaluateAll((items) => items.map((item) => item.dataset.kind)), ['dsr_acknowledgement', 'dsr_erasure']);
  await section.getByText('Search the customer ledger for the person.').waitFor();
  await assertAccessible(page, 'the console with a request\'s tasks and notes');

  // Record a system's answer: an exemption without its reason is refused by the field.
  const bookkeeping = section.locator('form.answer-form[data-task-id="req-1.bookkeeping"]');
  await bookkeeping.getByLabel('Answer').selectOption('exempt');
  await bookkeeping.getByRole('button', { name: 'Record the answer' }).click();
  await page.locator('#answer-bookkeeping-reason-error', { hasText: 'An exemption needs its legal reason.' }).waitFor();
  assert.equal(await bookkeeping.getByLabel('Legal reason').getAttribute('aria-invalid'), 'true');
  await bookkeeping.getByLabel('Legal reason').fill('Bokföringslagen 7 kap. 2 §');
  await bookkeeping.getByRole('button', { name: 'Record the answer' }).click();
  await page.locator('#console-status', { hasText: 'Bookkeeping and invoicing: answer recorded.' }).waitFor();
  await section.locator('#task-table tr[data-task-id="req-1.bookkeeping"][data-status="exempt"]').waitFor();
  assert.equal(await section.locator('form.answer-form').count(), 1, 'only the failed task is left to answer');
  await section.locator('form.answer-form[data-task-id="req-1.partner"]').getByRole('button', { name: 'Record the answer' }).click();
  await page.locator('#console-status', { hasText: 'Event partner: answer recorded.' }).waitFor();

  // A note: the API's refusal by the field, then the note listed.
  await section.getByLabel('Note (personal data').fill('The requester phoned twice about the CRM and the partner.');
  await section.getByRole('button', { name: 'Add the note' }).click();
  await page.locator('#note-text-error', { hasText: 'A note is at most 40 characters here.' }).waitFor();
  await section.getByLabel('Note (personal data').fill('Phoned twice.');
  await section.getByRole('button', { name: 'Add the note' }).click();
  await section.locator('#detail-notes .notes li', { hasText: 'Phoned twice.' }).waitFor();
  assert.deepEqual(posted, [
    ['req-1.bookkeeping', { status: 'exempt' }],
    ['req-1.bookkeeping', { status: 'exempt', reason: 'Bokföringslagen 7 kap. 2 §' }],
    ['req-1.partner', { status: 'done' }],
    ['notes', { text: 'The requester phoned twice about the CRM and the partner.' }],
    ['notes', { text: 'Phoned twice.' }],
  ]);

  await page.getByRole('button', { name: 'Svenska' }).click();
  await page.getByRole('heading', { name: 'Ärenden per månad och utfall' }).waitFor();
  await section.getByRole('heading', { name: 'Anteckningar', exact: true }).waitFor();
  await page.locator('#counts dt', { hasText: 'I tid, senaste 12 månaderna' }).waitFor();
  await assertAccessible(page, 'the console in Swedish with a request\'s tasks and notes');
});

// The page against the contract, with the admin API answered in the browser.
browserTest('console (stubbed API): due soon and overdue, paging, bars and points, "<10" never drawn, errors by field', async (t, { page, context }) => {
  const posted = [];
  const pages = {
    '': {
      requests: [
        { request_id: 'req-overdue', type: 'ccpa_know', status: 'awaiting_team', jurisdiction: 'ccpa', received_at: '2026-09-01T09:00:00Z', due_on: '2026-10-16', extended: false, days_left: -2, tasks: [{ task_id: 'req-overdue.crm', system: 'crm', kind: 'act', status: 'sent', due_on: '2026-10-10' }, { task_id: 'req-overdue.service', system: 'service', kind: 'act', status: 'done', due_on: '2026-10-10' }] },
        { request_id: 'req-today', type: 'restriction', status: 'awaiting_team', jurisdiction: 'gdpr', received_at: '2026-10-01T09:00:00Z', due_on: '2026-11-01', extended: false, days_left: 0 },
      ],
      next_cursor: 'page-2',
    },
    'page-2': {
      requests: [
        { request_id: 'req-soon', type: 'access', status: 'in_progress', jurisdiction: 'gdpr', received_at: '2026-10-05T09:00:00Z', due_on: '2026-11-05', extended: false, days_left: 4, tasks: [{ task_id: 'req-soon.service', system: 'service', kind: 'act', status: 'pending', due_on: '2026-10-10' }, { task_id: 'req-soon.crm', system: 'crm', kind: 'act', status: 'failed', due_on: '2026-10-10' }] },
        { request_id: 'req-later', type: 'erasure', status: 'verified', jurisdiction: 'gdpr', received_at: '2026-10-20T09:00:00Z', due_on: '2026-11-20', extended: true, days_left: 19 },
        { request_id: 'req-done', type: 'access', status: 'completed', jurisdiction: 'gdpr', received_at: '2026-08-20T09:00:00Z', due_on: '2026-09-20', extended: false, days_left: -41, tasks: [{ task_id: 'req-done.service', system: 'service', kind: 'act', status: 'pending', due_on: '2026-10-10' }] },
      ],
    },
  };
  const row = (type, whole, part, denied, open) => ({
    type, received: whole + part + denied + open, complied_in_whole: whole, complied_in_part: part, denied,
    denied_by_reason: { identity_not_verified: 0, manifestly_unfounded: 0, excessive: 0, legal_exemption: 0, other: denied, unverified: 0 },
    open, responded: whole + part + denied, median_days: null, mean_days: null,
  });
  const requestReport = { year: 2026, time_zone: 'Europe/Stockholm', rows: [row('access', 3, 1, 0, 2), row('erasure', 0, 0, 0, 0), row('restriction', 1, 0, 2, 0)] };
  const small = { choices: '<10', opted_in: '<10', opted_out: '<10', opt_in_rate: null, gpc: '<10', gpc_share: null };
  // Two weeks: analytics suppressed on 2 October, marketing on 1, 5 and 6 October.
  const consentRows = [];
  for (let i = 0; i < 14; i++) {
    const day = `2026-10-${String(i + 1).padStart(2, '0')}`;
    const rated = (rate, choices) => {
      const optedIn = Math.round(rate * choices);
      return { choices, opted_in: optedIn, opted_out: choices - optedIn, opt_in_rate: optedIn / choices, gpc: '<10', gpc_share: null };
    };
    consentRows.push({ day, policy_version: '2026-01', category: 'analytics', ...(i === 1 ? small : rated(0.55 + i * 0.012, 200)) });
    consentRows.push({ day, policy_version: '2026-01', category: 'marketing', ...([0, 4, 5].includes(i) ? small : rated(0.31 + i * 0.008, 200)) });
  }
  const consentReport = { from: '2026-10-01', to: '2026-10-14', rows: consentRows };
  const monthlyReport = monthlyFixture();
  await page.route(
    (url) => url.pathname.startsWith('/admin/'),
    async (route, request) => {
      if (request.headers()['authorization'] !== 'Bearer good-token') {
        return route.fulfill({ status: 401, json: { error: { code: 'unauthorized', message: 'Valid credentials are required.', field: null } } });
      }
      const url = new URL(request.url());
      if (request.method() === 'GET' && url.pathname === '/admin/dsr') return route.fulfill({ json: pages[url.searchParams.get('cursor') || ''] });
      if (url.pathname === '/admin/reports/requests') return route.fulfill({ json: requestReport });
      if (url.pathname === '/admin/reports/requests/monthly') return route.fulfill({ json: monthlyReport });
      if (request.method() === 'GET' && /^\/admin\/dsr\/[^/]+$/.test(url.pathname)) {
        return route.fulfill({ status: 404, json: { error: { code: 'request_not_found', message: 'There is no verified request with this id.', field: null } } });
      }
      if (url.pathname === '/admin/reports/consent') {
        if (url.searchParams.get('from') > url.searchParams.get('to')) {
          return route.fulfill({ status: 400, json: { error: { code: 'invalid_field', message: 'The first day comes after the last.', field: 'from' } } });
        }
        return route.fulfill({ json: consentReport });
      }
      const [, id, action] = url.pathname.match(/^\/admin\/dsr\/([^/]+)\/([a-z-]+)$/) || [];
      const body = request.postDataJSON();
      posted.push({ id, action, body });
      if (action === 'reject' && body.reason.length < 10) {
        return route.fulfill({ status: 400, json: { error: { code: 'invalid', message: 'Give a reason the requester can understand.', field: 'reason' } } });
      }
      const status = action === 'complete' ? 'completed' : action === 'reject' ? 'rejected' : 'awaiting_team';
      return route.fulfill({
        json: { request_id: id, type: 'restriction', status, jurisdiction: 'gdpr', received_at: '2026-10-01T09:00:00Z', due_at: '2026-11-01T23:00:00Z', due_on: '2026-11-01', days_left: 0, extended: false,
          events: [{ event: 'received', at: '2026-10-01T09:00:00Z', by: 'requester' }, { event: action.replace('-', '_'), at: '2026-10-30T09:00:00Z', by: 'privacy_team', note: body.reason || body.note }] },
      });
    },
  );

  await page.goto('/console/');
  await assertAccessible(page, 'the console sign-in');
  await page.getByLabel('Admin token').fill('wrong-token');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await page.locator('#admin-token-error', { hasText: 'The token was not accepted' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), null, 'a refused token is forgotten');

  await page.getByLabel('Admin token').fill('good-token');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await page.locator('tr[data-request-id="req-later"]').waitFor();
  assert.deepEqual(await shownCounts(page), {
    open: 4, verified: 1, in_progress: 1, awaiting_team: 2, 'due-soon': 2, overdue: 1, 'tasks-crm': 2, 'tasks-service': 1, 'received-year': 9, 'answered-year': 7, 'on-time': '83.3 %',
  });
  assert.deepEqual(
    await page.locator('#request-table tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.dataset.requestId, tr.children[1].textContent])),
    [['req-overdue', '2 days overdue'], ['req-today', 'due today'], ['req-soon', '4 days'], ['req-later', '19 days']],
    'open requests from both pages, soonest due first',
  );
  await page.getByLabel('Status', { exact: true }).selectOption('all');
  await page.getByRole('button', { name: 'Show', exact: true }).first().click();
  await page.locator('tr[data-request-id="req-done"]').waitFor();
  assert.deepEqual(await context.cookies(), [], 'no cookie holds the token');

  // Bars: one per type received and outcome that is not zero (erasure received none).
  assert.deepEqual(
    await page.locator('svg[data-chart="requests"] rect.bar').evaluateAll((rects) => rects.map((rect) => `${rect.dataset.type}:${rect.dataset.outcome}:${rect.dataset.value}`)),
    ['access:complied_in_whole:3', 'access:complied_in_part:1', 'access:open:2', 'restriction:complied_in_whole:1', 'restriction:denied:2'],
  );
  const wholeAccess = Number(await page.locator('rect.bar[data-type="access"][data-outcome="complied_in_whole"]').getAttribute('width'));
  const wholeRestriction = Number(await page.locator('rect.bar[data-type="restriction"][data-outcome="complied_in_whole"]').getAttribute('width'));
  assert.ok(Math.abs(wholeAccess - 3 * wholeRestriction) < 0.01, 'bar lengths in proportion');

  // Points: one per rate given; a suppressed day breaks the line; "<10" is never drawn.
  const consent = page.locator('svg[data-chart="consent"]');
  const rated = consentRows.filter((row) => typeof row.opt_in_rate === 'number');
  assert.equal(rated.length, 28 - 4);
  assert.deepEqual(
    await consent.locator('circle.point').evaluateAll((points) => points.map((p) => `${p.closest('g').dataset.category}:${p.dataset.day}:${p.dataset.rate}`)),
    ['analytics', 'marketing'].flatMap((category) =>
      rated.filter((row) => row.category === category).map((row) => `${category}:${row.day}:${row.opt_in_rate}`),
    ),
  );
  assert.equal(await consent.locator('g.series').count(), 2);
  const analyticsPath = await consent.locator('g.series[data-category="analytics"] path.line').getAttribute('d');
  assert.equal(analyticsPath.match(/M/g).length, 2, 'the analytics line breaks at 2 October');
  const marketingPath = await consent.locator('g.series[data-category="marketing"] path.line').getAttribute('d');
  assert.equal(marketingPath.match(/M/g).length, 2, 'the marketing line starts on 2 October and breaks at 5-6 October');
  assert.ok(!(await consent.textContent()).includes('<10'), 'no "<10" in the chart');
  assert.ok((await page.locator('#consent-chart details table').textContent()).includes('<10'), 'the table shows "<10" as it came');
  await page.getByLabel('From', { exact: true }).fill('2026-10-01');
  await page.getByLabel('To', { exact: true }).fill('2026-10-14');
  await page.locator('#range-form').getByRole('button', { name: 'Show' }).click();
  await consent.locator('circle.point').nth(rated.length - 1).waitFor();
  await page.locator('#consent-chart').scrollIntoViewIfNeeded();
  await docScreenshot(page.locator('#consent-chart'), 'console-consent-chart');

  // A range the API refuses: the message by the field it names.
  await page.getByLabel('From', { exact: true }).fill('2026-10-09');
  await page.getByLabel('To', { exact: true }).fill('2026-10-01');
  await page.locator('#range-form').getByRole('button', { name: 'Show' }).click();
  await page.locator('#range-from-error', { hasText: 'The first day comes after the last.' }).waitFor();
  assert.equal(await page.getByLabel('From', { exact: true }).getAttribute('aria-invalid'), 'true');

  // Actions: the bodies posted, a field error, the events of the answer on the timeline.
  await page.getByRole('button', { name: 'Open request req-today' }).click();
  const detail = page.locator('#detail');
  await detail.getByRole('button', { name: 'Reject the request' }).click();
  assert.equal(posted.length, 0, 'a reason is required');
  await detail.getByLabel('Reason for the rejection').fill('Too short');
  await detail.getByLabel('Reason code').selectOption('manifestly_unfounded');
  await detail.getByRole('button', { name: 'Reject the request' }).click();
  await page.locator('#action-reject-error', { hasText: 'Give a reason the requester can understand.' }).waitFor();
  assert.equal(await detail.getByLabel('Reason for the rejection').getAttribute('aria-invalid'), 'true');
  await detail.getByLabel('Reason for lifting the restriction').fill('The accuracy was checked.');
  await detail.getByRole('button', { name: 'Lift the restriction' }).click();
  await page.locator('#console-status', { hasText: 'Request req-today: restriction lifted (due 2026-11-01).' }).waitFor();
  await detail.locator('.timeline li[data-event="lift_restriction"]', { hasText: 'The accuracy was checked.' }).waitFor();
  await detail.getByLabel('Reason for the extension').fill('Records must come from a supplier.');
  await detail.getByRole('button', { name: 'Extend the deadline' }).click();
  await page.locator('#console-status', { hasText: 'Request req-today: deadline extended' }).waitFor();
  await detail.getByLabel('Note on how the request was fulfilled').fill('Restricted in CRM and mail.');
  await detail.getByRole('button', { name: 'Mark as completed' }).click();
  await page.locator('#console-status', { hasText: 'Request req-today: completed' }).waitFor();
  await page.getByRole('button', { name: 'Open request req-overdue' }).click();
  await detail.getByLabel('Reason for the rejection').fill('We could not verify that the address is yours.');
  await detail.getByLabel('Reason code').selectOption('identity_not_verified');
  await detail.getByRole('button', { name: 'Reject the request' }).click();
  await page.locator('#console-status', { hasText: 'Request req-overdue: rejected' }).waitFor();
  assert.deepEqual(posted, [
    { id: 'req-today', action: 'reject', body: { reason: 'Too short', reason_code: 'manifestly_unfounded' } },
    { id: 'req-today', action: 'lift-restriction', body: { reason: 'The accuracy was checked.' } },
    { id: 'req-today', action: 'extend', body: { reason: 'Records must come from a supplier.' } },
    { id: 'req-today', action: 'complete', body: { note: 'Restricted in CRM and mail.' } },
    { id: 'req-overdue', action: 'reject', body: { reason: 'We could not verify that the address is yours.', reason_code: 'identity_not_verified' } },
  ]);
  assert.equal(await page.locator('#detail form[data-action="lift-restriction"]').count(), 0, 'no restriction to lift on a CCPA request');

  await page.getByRole('button', { name: 'Svenska' }).click();
  await page.getByRole('heading', { name: 'Översikt' }).waitFor();
  await assertAccessible(page, 'the console in Swedish (stubbed)');
  await page.getByRole('button', { name: 'Logga ut' }).click();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), null);
});
