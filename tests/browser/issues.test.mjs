// The console's newsletter issues page (web/console/issues.html), end to end against the local
// server, which plans and sends issues in process into its outbox: a customer subscribed through
// the admin API gets the issue (with why, the unsubscribe and preference links), a test mail is
// marked, a scheduled issue is cancelled, and a refused field is named on the page.

import { ADMIN_TOKEN, api, assert, assertAccessible, browserTest, openMail, uniqueEmail } from './lib/harness.mjs';

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
});
