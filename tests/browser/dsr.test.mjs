// The data-subject-request form and the privacy team's queue page (web/queue.html).
//
// End to end against the local server's request and admin routes (SPEC 3.3, 4); the queue
// page is also tested with the admin API stubbed in the browser (sorting, errors, sign-out).

import {
  ADMIN_TOKEN,
  BASE_URL,
  assert,
  assertAccessible,
  browserTest,
  docScreenshot,
  openMail,
  uniqueEmail,
} from './lib/harness.mjs';

const THANK_YOU = process.env.DSR_THANK_YOU_URL || '/';

async function closeBanner(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Reject all' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

async function signIn(page, token) {
  await page.goto('/queue.html');
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Show the queue' }).click();
}

browserTest('a request submitted, verified via the outbox, worked on the queue page', async (t, { page }) => {
  if (!ADMIN_TOKEN) return t.skip('ADMIN_TOKEN is not set: infra/browser-test sets it for the server and the tests');
  await closeBanner(page);
  const email = uniqueEmail('grace');
  const form = page.locator('#dsr-form');
  await form.getByLabel('What would you like us to do?').selectOption('restriction');
  await form.getByLabel('E-mail address', { exact: true }).fill(email);
  await form.getByLabel(/^Name/).fill('Grace Hopper');
  await form.getByLabel('Anything we should know').fill('Please stop processing my data while you check it.');
  await form.getByRole('button', { name: 'Send the request' }).click();
  const status = form.getByRole('status');
  await status.getByText('Check your inbox').waitFor();
  const requestId = (await status.textContent()).match(/reference ([^)]+)\)/)[1];

  const mail = await openMail(page, email);
  await mail.locator('.mail-links a', { hasText: '/dsr/verify?token=' }).click();
  await page.getByRole('heading', { name: 'Confirm your privacy request' }).waitFor();
  await page.getByRole('button', { name: 'Confirm my request' }).click();
  await page.getByRole('heading', { name: 'Your request is confirmed' }).waitFor();

  await signIn(page, ADMIN_TOKEN);
  const row = page.locator(`tr[data-request-id="${requestId}"]`);
  await row.waitFor();
  assert.match(await row.locator('td').nth(1).textContent(), /^\d+ days?$|^due today$/, 'days left');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), ADMIN_TOKEN);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'the token is not kept beyond the tab');
  await docScreenshot(page, 'queue');
  await assertAccessible(page, 'the queue page with requests');

  const dueBefore = await row.locator('td').first().textContent();
  await row.getByRole('button', { name: `Extend request ${requestId}` }).click();
  await page.getByLabel('Reason for the extension').fill('The request needs records from two suppliers.');
  await page.getByRole('button', { name: 'Extend the deadline' }).click();
  await page.locator('#queue-status', { hasText: `Request ${requestId}: deadline extended` }).waitFor();
  const dueAfter = await row.locator('td').first().textContent();
  assert.ok(dueAfter > dueBefore, `the extension moves the due date (${dueBefore} → ${dueAfter})`);
  const extensionMail = await openMail(page, email, 'We need more time');
  assert.ok(await extensionMail.count(), 'the requester is told of the extension');
  await page.goto('/queue.html'); // signed in still: the token is in sessionStorage
  await row.waitFor();

  await row.getByRole('button', { name: `Complete request ${requestId}` }).click();
  await page.getByLabel('Note on how the request was fulfilled').fill('Processing restricted in every system.');
  await page.getByRole('button', { name: 'Mark as completed' }).click();
  await page.locator('#queue-status', { hasText: `Request ${requestId}: completed` }).waitFor();
  await page.getByLabel('Status').selectOption('completed');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.locator(`tr[data-request-id="${requestId}"][data-status="completed"]`).waitFor();
});

browserTest('the request form shows the API field error for a correction without corrections', async (t, { page }) => {
  await closeBanner(page);
  const form = page.locator('#dsr-form');
  await form.getByLabel('What would you like us to do?').selectOption('rectification');
  await form.getByRole('group', { name: 'Corrections' }).waitFor();
  await form.getByLabel('E-mail address', { exact: true }).fill(uniqueEmail('fix'));
  await form.getByRole('button', { name: 'Send the request' }).click();
  await page.locator('#dsr-corrections-error').getByText('Say what should be corrected').waitFor();
  await assertAccessible(page, 'the request form showing an error', '#dsr-form');
  await form.getByLabel('Correct name').fill('Grace Brewster Hopper');
  await form.getByRole('button', { name: 'Send the request' }).click();
  await form.getByRole('status').getByText('Check your inbox').waitFor();
});

browserTest('without JavaScript the request form still works (303 to the thank-you page)', { javaScriptEnabled: false }, async (t, { page }) => {
  await page.goto('/');
  const email = uniqueEmail('nojs-dsr');
  const form = page.locator('#dsr-form');
  await form.getByLabel('What would you like us to do?').selectOption('access');
  await form.getByLabel('E-mail address', { exact: true }).fill(email);
  await Promise.all([page.waitForURL(BASE_URL + THANK_YOU), form.getByRole('button', { name: 'Send the request' }).click()]);
  if (THANK_YOU === '/thanks/request') {
    await page.getByRole('heading', { name: 'We have received your request' }).waitFor();
  }
  const mail = await openMail(page, email);
  await mail.locator('.mail-links a', { hasText: '/dsr/verify?token=' }).click();
  await page.getByRole('heading', { name: 'Confirm your privacy request' }).waitFor();
  await page.getByRole('button', { name: 'Confirm my request' }).click();
  await page.getByRole('heading', { name: 'Your request is confirmed' }).waitFor();
});

// The page against the contract of SPEC 4, with the admin API answered in the browser.
browserTest('queue page: soonest due first with days left; extend, complete, reject with a reason', async (t, { page, context }) => {
  const posted = [];
  const queue = [
    { request_id: 'req-later', type: 'erasure', status: 'in_progress', jurisdiction: 'gdpr', received_at: '2026-10-20T09:00:00Z', due_on: '2026-11-20', days_left: 19 },
    { request_id: 'req-overdue', type: 'ccpa_know', status: 'awaiting_team', jurisdiction: 'ccpa', received_at: '2026-09-01T09:00:00Z', due_on: '2026-10-16', days_left: -2 },
    { request_id: 'req-today', type: 'restriction', status: 'awaiting_team', jurisdiction: 'gdpr', received_at: '2026-10-01T09:00:00Z', due_on: '2026-11-01', days_left: 0 },
  ];
  let authorised = 'Bearer good-token';
  await page.route(
    (url) => url.pathname.startsWith('/admin/'),
    async (route, request) => {
      if (request.headers()['authorization'] !== authorised) {
        return route.fulfill({ status: 401, json: { error: { code: 'unauthorized', message: 'Valid credentials are required.', field: null } } });
      }
      const url = new URL(request.url());
      if (request.method() === 'GET' && url.pathname === '/admin/dsr') {
        return route.fulfill({ json: { requests: queue } });
      }
      const [, id, action] = url.pathname.match(/^\/admin\/dsr\/([^/]+)\/(extend|complete|reject)$/) || [];
      const body = request.postDataJSON();
      posted.push({ id, action, body });
      if (action === 'reject' && body.reason.length < 10) {
        return route.fulfill({ status: 400, json: { error: { code: 'invalid', message: 'Give a reason the requester can understand.', field: 'reason' } } });
      }
      return route.fulfill({ json: { request_id: id, status: action === 'extend' ? 'awaiting_team' : action === 'complete' ? 'completed' : 'rejected', due_on: '2027-01-01', extended: action === 'extend' } });
    },
  );

  await page.goto('/queue.html');
  await assertAccessible(page, 'the queue page sign-in');
  await page.getByLabel('Admin token').fill('wrong-token');
  await page.getByRole('button', { name: 'Show the queue' }).click();
  await page.locator('#admin-token-error', { hasText: 'The token was not accepted' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), null, 'a refused token is forgotten');

  await page.getByLabel('Admin token').fill('good-token');
  await page.getByRole('button', { name: 'Show the queue' }).click();
  await page.locator('tbody tr').nth(2).waitFor();
  const rows = await page.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [tr.dataset.requestId, tr.children[0].textContent, tr.children[1].textContent]),
  );
  assert.deepEqual(rows, [
    ['req-overdue', '2026-10-16', '2 days overdue'],
    ['req-today', '2026-11-01', 'due today'],
    ['req-later', '2026-11-20', '19 days'],
  ]);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), 'good-token');
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.deepEqual(await context.cookies(), [], 'no cookie holds the token');
  await assertAccessible(page, 'the queue page with requests');

  await page.getByRole('button', { name: 'Extend request req-overdue' }).click();
  const reason = page.getByLabel('Reason for the extension');
  assert.ok(await reason.evaluate((node) => node === document.activeElement), 'focus moves to the reason');
  await page.getByRole('button', { name: 'Extend the deadline' }).click();
  assert.equal(posted.length, 0, 'a reason is required');
  await reason.fill('Records must come from a supplier.');
  await page.getByRole('button', { name: 'Extend the deadline' }).click();
  await page.locator('#queue-status', { hasText: 'Request req-overdue: deadline extended (due 2027-01-01).' }).waitFor();

  await page.getByRole('button', { name: 'Reject request req-later' }).click();
  await page.getByLabel('Reason for the rejection').fill('Too short');
  await page.getByRole('button', { name: 'Reject the request' }).click();
  await page.getByText('Give a reason the requester can understand.').waitFor();
  assert.equal(await page.getByLabel('Reason for the rejection').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Reason for the rejection').fill('We could not verify that the address is yours.');
  await page.getByRole('button', { name: 'Reject the request' }).click();
  await page.locator('#queue-status', { hasText: 'Request req-later: rejected' }).waitFor();

  await page.getByRole('button', { name: 'Complete request req-today' }).click();
  await page.getByLabel('Note on how the request was fulfilled').fill('Restricted in CRM and mail.');
  await page.getByRole('button', { name: 'Mark as completed' }).click();
  await page.locator('#queue-status', { hasText: 'Request req-today: completed' }).waitFor();

  assert.deepEqual(posted, [
    { id: 'req-overdue', action: 'extend', body: { reason: 'Records must come from a supplier.' } },
    { id: 'req-later', action: 'reject', body: { reason: 'Too short' } },
    { id: 'req-later', action: 'reject', body: { reason: 'We could not verify that the address is yours.' } },
    { id: 'req-today', action: 'complete', body: { note: 'Restricted in CRM and mail.' } },
  ]);

  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('privacy.adminToken')), null);
});
