// The console's newsletter issues page (web/console/issues.html), end to end against the local
// server, which plans and sends issues in process into its outbox: a customer subscribed through
// the admin API gets the issue (with why, the unsubscribe and preference links), a test mail is
// marked, a scheduled issue is cancelled, and a refused field is named on the page; in Swedish,
// by keyboard only: the console's language choice carries over, and axe finds nothing in either.

import { ADMIN_TOKEN, api, assert, assertAccessible, browserTest, docScreenshot, openMail, uniqueEmail } from './lib/harness.mjs';

const admin = (method, path, body) => api(method, path, body, { authorization: 'Bearer ' + ADMIN_TOKEN });

browserTest('issues page: write, send a test, send to a customer, cancel, errors by field', async (t, { page }) => {
  if (!ADMIN_TOKEN) return t.skip('ADMIN_TOKEN is not set: infra/browser-test sets it for the server and the tests');
  const customer = uniqueEmail('issue-customer');
  const subscribed = await admin('POST', '/admin/newsletter/subscribers', { email: customer, basis: 'legitimate_interest' });
  assert.equal(subscribed.status, 201, JSON.stringify(subscribed.json));

  await page.goto('/console/issues.html');
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('heading', { name: 'Write an issue' }).waitFor();
  await assertAccessible(page, 'the issues page');

  // A refused field is named next to it.
  await page.getByLabel('Subject').fill('Scripted');
  await page.getByLabel('Text', { exact: true }).fill('Hello.');
  await page.getByLabel(/^HTML/).fill('<p>hi</p><script>alert(1)</script>');
  await page.getByRole('button', { name: 'Schedule the issue' }).click();
  await page.locator('#issue-html-error', { hasText: 'scripts' }).waitFor();
  assert.equal(await page.getByLabel(/^HTML/).getAttribute('aria-invalid'), 'true');

  // Scheduled for later: a test mail first, then cancelled.
  const later = `Later ${Date.now().toString(36)}`;
  await page.getByLabel(/^HTML/).fill('');
  await page.getByLabel('Subject').fill(later);
  await page.getByLabel('Text', { exact: true }).fill('Next month: webinars.');
  // An hour from now on the browser's clock and in its time zone (datetime-local has no zone).
  const local = await page.evaluate(() => {
    const at = new Date(Date.now() + 3600_000);
    return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  });
  await page.getByLabel(/^Send at/).fill(local);
  await page.getByRole('button', { name: 'Schedule the issue' }).click();
  await page.locator('#issues-status', { hasText: 'scheduled' }).waitFor();
  const laterRow = page.locator('#issues-table tbody tr', { hasText: later });
  await laterRow.locator('.issue-status', { hasText: 'scheduled' }).waitFor();
  const tester = uniqueEmail('issue-tester');
  await page.getByLabel('Issue', { exact: true }).selectOption({ label: later });
  await page.getByLabel('To', { exact: true }).fill(tester);
  await page.getByRole('button', { name: 'Send the test' }).click();
  await page.locator('#issues-status', { hasText: 'test mail is sent' }).waitFor();
  await laterRow.locator('.issue-tests', { hasText: '1' }).waitFor();
  const testMail = await openMail(page, tester, `[Test] ${later}`);
  assert.ok(await testMail.count(), 'the test mail is in the outbox, marked');
  assert.equal(await openMail(page, customer, later).then(() => true, () => false), false, 'no reader got the later issue');

  await page.goto('/console/issues.html');
  await page.getByRole('button', { name: `Cancel “${later}”` }).click();
  await page.locator('#issues-status', { hasText: 'cancelled' }).waitFor();
  await laterRow.locator('.issue-status', { hasText: 'cancelled' }).waitFor();

  // Sent now: the local server plans and sends it at once; the customer's mail says why.
  const now = `Now ${Date.now().toString(36)}`;
  await page.getByLabel('Subject').fill(now);
  await page.getByLabel('Text', { exact: true }).fill('This month: a new SMS API.');
  await page.getByRole('button', { name: 'Schedule the issue' }).click();
  const mail = await openMail(page, customer, now);
  const text = await mail.textContent();
  assert.match(text, /because you are a customer/);
  assert.match(text, /Marknadsföringslagen 19 §/);
  assert.match(text, /\/newsletter\/preferences\?token=/);
  assert.match(text, /\/newsletter\/unsubscribe\?token=/);
  await page.goto('/console/issues.html');
  const nowRow = page.locator('#issues-table tbody tr', { hasText: now });
  for (let attempt = 0; attempt < 25 && !(await nowRow.locator('.issue-status', { hasText: 'sent' }).count()); attempt++) {
    await page.waitForTimeout(200);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await nowRow.locator('.issue-status', { hasText: 'sent' }).waitFor();
  assert.ok(Number(await nowRow.locator('.issue-sent').textContent()) >= 1, 'counted as sent');
  await assertAccessible(page, 'the issues page with issues');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  await page.locator('#list-title').scrollIntoViewIfNeeded();
  await docScreenshot(page.locator('main'), 'console-issues');
});

browserTest('issues page in Swedish, by keyboard: the console\'s choice, texts, a refused field, cancel, back to English', async (t, { page }) => {
  if (!ADMIN_TOKEN) return t.skip('ADMIN_TOKEN is not set: infra/browser-test sets it for the server and the tests');
  const press = async (locator, key) => {
    await locator.focus();
    await page.keyboard.press(key);
  };
  // The language chosen on the console holds here too (the same key in sessionStorage).
  await page.goto('/console/');
  await press(page.getByRole('button', { name: 'Svenska' }), 'Enter');
  await page.getByRole('heading', { name: 'Integritetskonsol' }).waitFor();
  await page.goto('/console/issues.html');
  await page.getByRole('heading', { name: 'Nyhetsbrevsutskick', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'sv');
  assert.equal(await page.title(), 'Nyhetsbrevsutskick · Integritetskonsol');
  assert.equal(await page.getByRole('button', { name: 'English' }).getAttribute('lang'), 'en');
  await assertAccessible(page, 'the issues page\'s sign-in in Swedish');

  // Signed in by typing and Enter; the keyboard lands on the form's heading.
  await page.getByLabel('Administratörstoken').focus();
  await page.keyboard.type(ADMIN_TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement.id === 'write-title');
  await page.getByRole('heading', { name: 'Skriv ett utskick' }).waitFor();
  for (const header of ['Ämne', 'Sändningstid', 'Mottagare', 'Skickade', 'Hoppade över', 'Studsade', 'Misslyckade', 'Åtgärder']) {
    await page.getByRole('columnheader', { name: header, exact: true }).waitFor();
  }

  // The API's refusal, in Swedish by the field.
  await page.getByLabel('Ämne').fill('Skript');
  await page.getByLabel('Text', { exact: true }).fill('Hej.');
  await page.getByLabel(/^HTML/).fill('<script>alert(1)</script>');
  await press(page.getByRole('button', { name: 'Schemalägg utskicket' }), 'Enter');
  await page.locator('#issue-html-error', { hasText: 'får inte innehålla skript' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'issue-html', 'the keyboard is on the refused field');

  // Scheduled an hour from now, then cancelled by keyboard.
  const later = `Senare ${Date.now().toString(36)}`;
  await page.getByLabel(/^HTML/).fill('');
  await page.getByLabel('Ämne').fill(later);
  await page.getByLabel('Text', { exact: true }).fill('Nästa månad: webbinarier.');
  const local = await page.evaluate(() => {
    const at = new Date(Date.now() + 3600_000);
    return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  });
  await page.getByLabel(/^Sändningstid/).fill(local);
  await press(page.getByRole('button', { name: 'Schemalägg utskicket' }), 'Enter');
  await page.locator('#issues-status', { hasText: 'Utskicket är schemalagt till' }).waitFor();
  const row = page.locator('#issues-table tbody tr', { hasText: later });
  await row.locator('.issue-status[data-status="scheduled"]', { hasText: 'schemalagt' }).waitFor();
  await assertAccessible(page, 'the issues page in Swedish with issues');
  await press(page.getByRole('button', { name: `Avbryt ”${later}”` }), 'Enter');
  await page.locator('#issues-status', { hasText: `”${later}” är avbrutet` }).waitFor();
  await row.locator('.issue-status[data-status="cancelled"]', { hasText: 'avbrutet' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'list-title', 'the keyboard stays on the list');

  // Back to English by the switch: the page, the status line and the table change with it.
  await press(page.getByRole('button', { name: 'English' }), 'Space');
  await page.getByRole('heading', { name: 'Newsletter issues', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'lang-switch');
  await page.locator('#issues-status', { hasText: `“${later}” is cancelled` }).waitFor();
  await row.locator('.issue-status', { hasText: 'cancelled' }).waitFor();
  await page.getByRole('columnheader', { name: 'Audience' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Write an issue' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en', 'the choice is kept in the tab');
  await assertAccessible(page, 'the issues page in English after the switch');
});
