// The consent banner (web/consent-banner.js) on the demo page, against the local server.

import {
  api,
  assert,
  assertAccessible,
  browserTest,
  consentCommands,
  consentCookie,
  docScreenshot,
  rewriteIndex,
} from './lib/harness.mjs';

const banner = (page) => page.getByRole('dialog', { name: 'Cookies on this site' });
const analyticsRan = (page) => page.evaluate(() => window.demoAnalyticsRuns || 0);
const marketingRan = (page) => page.evaluate(() => window.demoMarketingRuns || 0);

async function recorded(context) {
  const { cookie } = await consentCookie(context);
  assert.ok(cookie, 'the consent_id cookie is set');
  const state = await api('GET', `/consent/${cookie.value}`);
  assert.equal(state.status, 200);
  return state.json;
}

browserTest('first visit: the banner asks, three equal choices, nothing gated runs, Consent Mode denied', async (t, { page, context }) => {
  await page.goto('/');
  const dialog = banner(page);
  await dialog.waitFor();
  const focused = await dialog.evaluate((node) => node === document.activeElement || node.contains(document.activeElement));
  assert.ok(focused, 'focus moves to the banner');
  const buttons = ['Accept all', 'Reject all', 'Choose'].map((name) => dialog.getByRole('button', { name, exact: true }));
  const looks = [];
  for (const button of buttons) {
    const box = await button.boundingBox();
    const style = await button.evaluate((node) => {
      const s = getComputedStyle(node);
      return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderTopWidth].join(' ');
    });
    looks.push({ width: Math.round(box.width), height: Math.round(box.height), style });
  }
  assert.ok(looks.every((look) => JSON.stringify(look) === JSON.stringify(looks[0])), `equally prominent: ${JSON.stringify(looks)}`);
  assert.equal(await analyticsRan(page), 0, 'the analytics script waits for consent');
  assert.equal(await marketingRan(page), 0, 'the marketing script waits for consent');
  await page.locator('#analytics-status', { hasText: 'not run' }).waitFor();
  const commands = await consentCommands(page);
  assert.equal(commands.length, 1, 'only the default before a choice');
  assert.equal(commands[0][1], 'default');
  for (const key of ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage']) {
    assert.equal(commands[0][2][key], 'denied', key);
  }
  const { cookie, others } = await consentCookie(context);
  assert.equal(cookie, undefined, 'no cookie before a choice');
  assert.deepEqual(others, []);
  await docScreenshot(page, 'banner');
  await assertAccessible(page, 'the banner', '.pc-banner');
});

browserTest('Accept all: recorded with a receipt, one first-party cookie, gated scripts run, Consent Mode granted', async (t, { page, context }) => {
  await page.goto('/');
  await banner(page).getByRole('button', { name: 'Accept all' }).click();
  await banner(page).waitFor({ state: 'hidden' });
  await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
  await page.locator('#marketing-status', { hasText: 'ran' }).waitFor();

  const { cookie, others } = await consentCookie(context);
  assert.match(cookie.value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'the cookie holds only the consent_id');
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.secure, false, 'Secure only on https');
  assert.equal(cookie.path, '/');
  const months = (cookie.expires * 1000 - Date.now()) / (30.44 * 86400 * 1000);
  assert.ok(months > 12.5 && months < 13.5, `about 13 months (${months.toFixed(2)})`);
  assert.deepEqual(others, [], 'no other cookie');

  const state = await recorded(context);
  assert.deepEqual(state.categories, { necessary: true, analytics: true, marketing: true });
  assert.equal(state.policy_version, '2026-01');
  assert.equal(state.gpc, false);
  const receipts = (await api('GET', `/consent/${cookie.value}/receipts`)).json.receipts;
  assert.equal(receipts.length, 1);
  assert.equal(receipts[0].source, 'banner');
  assert.equal(receipts[0].language, 'en');
  assert.match(receipts[0].notice_sha256, /^[0-9a-f]{64}$/, 'the receipt has the digest of the notice shown');

  const update = (await consentCommands(page)).find((command) => command[1] === 'update');
  assert.equal(update[2].analytics_storage, 'granted');
  assert.equal(update[2].ad_storage, 'granted');

  // The next page: no banner, the scripts run at once.
  await page.reload();
  await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
  assert.equal(await banner(page).isVisible(), false, 'no banner once chosen');
});

browserTest('Reject all: recorded, nothing gated runs, and the next page does not ask again', async (t, { page, context }) => {
  await page.goto('/');
  await banner(page).getByRole('button', { name: 'Reject all' }).click();
  await banner(page).waitFor({ state: 'hidden' });
  const state = await recorded(context);
  assert.deepEqual(state.categories, { necessary: true, analytics: false, marketing: false });
  await page.reload();
  await page.waitForLoadState('networkidle');
  assert.equal(await banner(page).isVisible(), false);
  assert.equal(await analyticsRan(page), 0);
  assert.equal(await marketingRan(page), 0);
  const update = (await consentCommands(page)).find((command) => command[1] === 'update');
  assert.equal(update[2].analytics_storage, 'denied');
  assert.equal(update[2].ad_storage, 'denied');
});

browserTest('Choose, by keyboard only: analytics on, marketing off', async (t, { page, context }) => {
  await page.goto('/');
  await banner(page).waitFor();
  // Focus is on the dialog: Tab goes through the policy link and the three choices.
  const order = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.textContent));
  }
  assert.deepEqual(order, ['Privacy policy', 'Accept all', 'Reject all', 'Choose']);
  await page.keyboard.press('Enter');
  const analytics = page.getByRole('checkbox', { name: 'Analytics' });
  assert.ok(await analytics.evaluate((node) => node === document.activeElement), 'focus moves to the first choice');
  assert.equal(await page.getByRole('button', { name: 'Choose' }).getAttribute('aria-expanded'), 'true');
  assert.equal(await page.getByRole('checkbox', { name: 'Strictly necessary' }).isChecked(), true);
  assert.equal(await page.getByRole('checkbox', { name: 'Strictly necessary' }).isDisabled(), true);
  await page.keyboard.press('Space');
  assert.equal(await analytics.isChecked(), true);
  await docScreenshot(page, 'banner-choose');
  await assertAccessible(page, 'the banner with its categories', '.pc-banner');
  await page.keyboard.press('Tab'); // marketing, left off
  await page.keyboard.press('Tab'); // Save my choice
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Save my choice');
  await page.keyboard.press('Enter');
  await banner(page).waitFor({ state: 'hidden' });
  await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
  assert.equal(await marketingRan(page), 0, 'marketing stays off');
  const state = await recorded(context);
  assert.deepEqual(state.categories, { necessary: true, analytics: true, marketing: false });
});

browserTest('Cookie settings reopens the banner with the current choice; Reject all withdraws and stops the scripts', async (t, { page, context }) => {
  await page.goto('/');
  await banner(page).getByRole('button', { name: 'Accept all' }).click();
  await page.locator('#marketing-status', { hasText: 'ran' }).waitFor();
  const { cookie } = await consentCookie(context);

  const link = page.getByRole('link', { name: 'Cookie settings' });
  await link.click();
  await banner(page).waitFor();
  assert.equal(await page.getByRole('checkbox', { name: 'Analytics' }).isChecked(), true, 'shows the current choice');
  assert.equal(await page.getByRole('checkbox', { name: 'Marketing' }).isChecked(), true);
  await banner(page).getByText('Your current choice, recorded on').waitFor();
  await assertAccessible(page, 'the reopened banner', '.pc-banner');
  // Escape closes it unchanged and gives focus back to the link.
  await page.keyboard.press('Escape');
  await banner(page).waitFor({ state: 'hidden' });
  assert.equal(await link.evaluate((node) => node === document.activeElement), true, 'focus returns to the link');

  await link.click();
  await banner(page).waitFor();
  const reloaded = page.waitForEvent('load');
  await banner(page).getByRole('button', { name: 'Reject all' }).click();
  await reloaded; // the scripts that ran stop only with a new page
  await page.waitForLoadState('networkidle');
  assert.equal(await analyticsRan(page), 0, 'analytics does not run after withdrawal');
  assert.equal(await marketingRan(page), 0, 'marketing does not run after withdrawal');
  assert.equal(await banner(page).isVisible(), false);

  const after = await consentCookie(context);
  assert.equal(after.cookie.value, cookie.value, 'the same consent_id');
  const state = await recorded(context);
  assert.deepEqual(state.categories, { necessary: true, analytics: false, marketing: false });
  const receipts = (await api('GET', `/consent/${cookie.value}/receipts`)).json.receipts;
  assert.deepEqual(
    receipts.map((receipt) => [receipt.action, receipt.source]),
    [
      ['given', 'banner'],
      ['withdrawn', 'api'],
    ],
    'given on the banner, then withdrawn by DELETE /consent/{id} (which the API records as source "api")',
  );
});

browserTest('asks again when the policy version changes, and after renew_after', async (t, { page, context }) => {
  await page.goto('/');
  await banner(page).getByRole('button', { name: 'Accept all' }).click();
  await banner(page).waitFor({ state: 'hidden' });

  await rewriteIndex(page, (html) => html.replace('data-policy-version="2026-01"', 'data-policy-version="2026-02"'));
  await page.reload();
  await banner(page).waitFor();
  assert.equal(await analyticsRan(page), 0, 'a consent to the old policy does not run the scripts');
  await banner(page).getByRole('button', { name: 'Accept all' }).click();
  await banner(page).waitFor({ state: 'hidden' });
  assert.equal((await recorded(context)).policy_version, '2026-02');
  await page.unroute((url) => url.pathname === '/');

  // The API says the consent is due for renewal (renew_after has passed).
  await page.route(
    (url) => /^\/consent\/[0-9a-f-]+$/.test(url.pathname),
    async (route) => {
      const response = await route.fetch();
      const state = await response.json();
      route.fulfill({ response, json: { ...state, policy_version: '2026-01', renew_after: '2020-01-01T00:00:00Z' } });
    },
  );
  await page.reload();
  await banner(page).waitFor();
  assert.equal(await analyticsRan(page), 0, 'an expired consent does not run the scripts');
});

browserTest(
  'Global Privacy Control: marketing off whatever is chosen, and the banner says so',
  { extraHTTPHeaders: { 'Sec-GPC': '1' } },
  async (t, { page, context }) => {
    await context.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true }),
    );
    await page.goto('/');
    await banner(page).waitFor();
    await banner(page).getByText('Global Privacy Control signal').waitFor();
    await banner(page).getByRole('button', { name: 'Choose' }).click();
    assert.equal(await page.getByRole('checkbox', { name: 'Marketing' }).isDisabled(), true);
    assert.equal(await page.getByRole('checkbox', { name: 'Marketing' }).isChecked(), false);
    await docScreenshot(page, 'banner-gpc');
    await assertAccessible(page, 'the banner under GPC', '.pc-banner');
    await banner(page).getByRole('button', { name: 'Accept all' }).click();
    await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
    assert.equal(await marketingRan(page), 0, 'the marketing script does not run');
    const state = await recorded(context);
    assert.equal(state.gpc, true, 'the API received Sec-GPC');
    assert.deepEqual(state.categories, { necessary: true, analytics: true, marketing: false });
    const update = (await consentCommands(page)).find((command) => command[1] === 'update');
    assert.equal(update[2].ad_storage, 'denied');
    assert.equal(update[2].analytics_storage, 'granted');
  },
);

browserTest(
  'Sec-GPC header alone: the API records marketing off and the page follows the recorded state',
  { extraHTTPHeaders: { 'Sec-GPC': '1' } },
  async (t, { page, context }) => {
    await page.goto('/');
    await banner(page).getByRole('button', { name: 'Accept all' }).click();
    await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
    const state = await recorded(context);
    assert.equal(state.gpc, true);
    assert.equal(state.categories.marketing, false);
    await page.reload();
    await page.locator('#analytics-status', { hasText: 'ran' }).waitFor();
    assert.equal(await marketingRan(page), 0);
  },
);

browserTest('Swedish texts where the page is in Swedish', async (t, { page, context }) => {
  await rewriteIndex(page, (html) => html.replace('<html lang="en">', '<html lang="sv">'));
  await page.goto('/');
  const dialog = page.getByRole('dialog', { name: 'Kakor på den här webbplatsen' });
  await dialog.waitFor();
  for (const name of ['Godkänn alla', 'Avvisa alla', 'Välj']) {
    await dialog.getByRole('button', { name, exact: true }).waitFor();
  }
  await assertAccessible(page, 'the Swedish banner', '.pc-banner');
  await dialog.getByRole('button', { name: 'Avvisa alla' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const { cookie } = await consentCookie(context);
  const receipts = (await api('GET', `/consent/${cookie.value}/receipts`)).json.receipts;
  assert.equal(receipts[0].language, 'sv');
});
