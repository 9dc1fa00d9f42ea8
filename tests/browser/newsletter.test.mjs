// The newsletter form (web/index.html + web/forms.js) and double opt-in through the outbox page.

import {
  BASE_URL,
  api,
  assert,
  assertAccessible,
  browserTest,
  consentCookie,
  docScreenshot,
  openMail,
  uniqueEmail,
} from './lib/harness.mjs';

const THANK_YOU = process.env.NEWSLETTER_THANK_YOU_URL || '/';

async function closeBanner(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Reject all' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

browserTest('newsletter double opt-in through the outbox page', async (t, { page, context }) => {
  await closeBanner(page);
  const form = page.locator('#newsletter-form');
  await docScreenshot(page.locator('.forms'), 'forms');
  await assertAccessible(page, 'the demo page with both forms');

  const email = uniqueEmail('ada');
  await form.getByLabel('E-mail address').fill(email);
  await form.getByLabel('Name').fill('Ada Lovelace');
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await form.getByRole('status').getByText('Check your inbox').waitFor();
  assert.equal(page.url(), BASE_URL + '/', 'stays on the page (fetch, no form post)');
  assert.equal(await form.getByLabel('E-mail address').inputValue(), '', 'the form is cleared');

  const mail = await openMail(page, email, 'Confirm your subscription');
  await docScreenshot(page, 'outbox', { fullPage: false });
  await assertAccessible(page, 'the outbox page');
  const confirm = mail.locator('.mail-links a', { hasText: '/newsletter/confirm?token=' });
  assert.equal(await confirm.count(), 1, 'the confirmation link is on the outbox page');
  await confirm.click();
  // The link only shows a page (mail scanners follow links); its button confirms.
  await page.getByRole('heading', { name: 'Confirm your subscription' }).waitFor();
  await assertAccessible(page, 'the confirmation page');
  await page.getByRole('button', { name: 'Confirm my subscription' }).click();
  await page.getByRole('heading', { name: 'You are subscribed' }).waitFor();

  // The same link again: single use.
  await page.goBack();
  await page.goBack();
  await confirm.click();
  await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();

  const { cookie } = await consentCookie(context);
  assert.ok(cookie, 'the sign-up carried the consent_id of the visitor');
});

browserTest(
  'unsubscribe through the link on the outbox page and the button on the page it opens',
  async (t, { page }) => {
    const email = uniqueEmail('leave');
    assert.equal((await api('POST', '/newsletter/subscribe', { email })).status, 202);
    const mail = await openMail(page, email, 'Confirm your subscription');
    await mail.locator('.mail-links a', { hasText: '/newsletter/confirm?token=' }).click();
    await page.getByRole('button', { name: 'Confirm my subscription' }).click();
    await page.getByRole('heading', { name: 'You are subscribed' }).waitFor();
    await page.goBack();
    await page.goBack();
    await mail.locator('.mail-links a', { hasText: '/newsletter/unsubscribe?token=' }).first().click();
    await page.getByRole('heading', { name: 'Unsubscribe from the newsletter' }).waitFor();
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST'),
      page.getByRole('button', { name: 'Unsubscribe' }).click(),
    ]);
    assert.equal(answer.status(), 200, `the button's post is answered ${answer.status()}: ${await answer.text()}`);
    await page.getByRole('heading', { name: 'You are unsubscribed' }).waitFor();
  },
);

browserTest('field errors from the API appear next to the field', async (t, { page }) => {
  await closeBanner(page);
  const form = page.locator('#newsletter-form');
  const email = form.getByLabel('E-mail address');
  await email.fill('ada@localhost'); // the browser accepts it; the API does not
  await form.getByRole('button', { name: 'Subscribe' }).click();
  const error = page.locator('#newsletter-email-error');
  await error.getByText('This is not a valid e-mail address.').waitFor();
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.match(await email.getAttribute('aria-describedby'), /newsletter-email-error/);
  assert.ok(await email.evaluate((node) => node === document.activeElement), 'focus moves to the field');
  await form.getByRole('status').getByText('Please check the marked field.').waitFor();
  await docScreenshot(page.locator('#newsletter-form').locator('..'), 'forms-error');
  await assertAccessible(page, 'the newsletter form showing an error', '#newsletter-form');

  await email.fill(uniqueEmail('fixed'));
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await form.getByRole('status').getByText('Check your inbox').waitFor();
  assert.equal(await email.getAttribute('aria-invalid'), null, 'the error is cleared');
  assert.equal(await error.textContent(), '');
});

browserTest('without JavaScript the newsletter form still works (303 to the thank-you page)', { javaScriptEnabled: false }, async (t, { page, context }) => {
  await page.goto('/');
  assert.equal(await page.getByRole('dialog').count(), 0, 'no banner without JavaScript');
  assert.equal((await context.cookies()).length, 0, 'and no cookie');
  const email = uniqueEmail('nojs');
  const form = page.locator('#newsletter-form');
  await form.getByLabel('E-mail address').fill(email);
  await Promise.all([page.waitForURL(BASE_URL + THANK_YOU), form.getByRole('button', { name: 'Subscribe' }).click()]);
  if (THANK_YOU === '/thanks/newsletter') {
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  }
  const mail = await openMail(page, email, 'Confirm your subscription');
  await mail.locator('.mail-links a', { hasText: '/newsletter/confirm?token=' }).click();
  await page.getByRole('button', { name: 'Confirm my subscription' }).click();
  await page.getByRole('heading', { name: 'You are subscribed' }).waitFor();
});
