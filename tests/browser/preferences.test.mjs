// The newsletter's lists on the demo form (web/index.html + web/forms.js) and the preference
// centre the API serves, reached from the link in the mail on the outbox page, in both languages.

import { BASE_URL, assert, assertAccessible, browserTest, docScreenshot, openMail, uniqueEmail } from './lib/harness.mjs';

async function closeBanner(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Reject all' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

/** Signs up through the demo form to both lists and confirms; returns the centre's URL. */
async function subscribedToBoth(page) {
  await closeBanner(page);
  const form = page.locator('#newsletter-form');
  const email = uniqueEmail('lists');
  await form.getByLabel('E-mail address').fill(email);
  await form.getByLabel('Webinars and events').check();
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await form.getByRole('status').getByText('Check your inbox').waitFor();
  const mail = await openMail(page, email, 'Confirm your subscription');
  assert.match(await mail.textContent(), /Product news, Webinars and events/, 'one mail names both lists');
  const centre = await mail.locator('.mail-links a', { hasText: '/newsletter/preferences?token=' }).first().getAttribute('href');
  await mail.locator('.mail-links a', { hasText: '/newsletter/confirm?token=' }).click();
  await page.getByRole('button', { name: 'Confirm my subscription' }).click();
  await page.getByRole('heading', { name: 'You are subscribed' }).waitFor();
  return new URL(centre, BASE_URL).pathname + new URL(centre, BASE_URL).search;
}

browserTest('the preference centre: uncheck a list, then unsubscribe from everything', async (t, { page }) => {
  const centre = await subscribedToBoth(page);
  await page.goto(centre + '&lang=en');
  await page.getByRole('heading', { name: 'Your newsletters' }).waitFor();
  const news = page.getByRole('checkbox', { name: 'Product news' });
  const events = page.getByRole('checkbox', { name: 'Webinars and events' });
  assert.ok(await news.isChecked(), 'news is on');
  assert.ok(await events.isChecked(), 'events is on');
  await docScreenshot(page, 'preferences', { fullPage: false });
  await assertAccessible(page, 'the preference centre (English)');

  await events.uncheck();
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await page.getByRole('status').getByText('Your choices are saved.').waitFor();
  assert.ok(await page.getByRole('checkbox', { name: 'Product news' }).isChecked(), 'news goes on');
  assert.ok(!(await page.getByRole('checkbox', { name: 'Webinars and events' }).isChecked()), 'events ended');
  await assertAccessible(page, 'the preference centre after saving');

  await page.getByRole('button', { name: 'Unsubscribe from everything' }).click();
  await page.getByRole('status').getByText('You are unsubscribed from every newsletter.').waitFor();
  assert.ok(!(await page.getByRole('checkbox', { name: 'Product news' }).isChecked()), 'nothing is on');
});

browserTest('the preference centre in Swedish, and a list that cannot come back', async (t, { page }) => {
  const centre = await subscribedToBoth(page);
  await page.goto(centre + '&lang=sv');
  await page.getByRole('heading', { name: 'Dina nyhetsbrev' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
  await assertAccessible(page, 'the preference centre (Swedish)');

  await page.getByRole('button', { name: 'Avregistrera mig från allt' }).click();
  await page.getByRole('status').getByText('Du är avregistrerad från alla nyhetsbrev.').waitFor();
  await page.getByRole('checkbox', { name: 'Produktnyheter' }).check();
  await page.getByRole('button', { name: 'Spara mina val' }).click();
  await page.getByRole('alert').getByText('Anmäl dig igen på vår webbplats').waitFor();
  await assertAccessible(page, 'the preference centre refusing a list (Swedish)');

  await page.goto('/newsletter/preferences?token=p1.forged&lang=sv');
  await page.getByRole('heading', { name: 'Länken fungerar inte' }).waitFor();
  await assertAccessible(page, 'an invalid preference link (Swedish)');
});

browserTest('the sign-up form asks for at least one list', async (t, { page }) => {
  await closeBanner(page);
  const form = page.locator('#newsletter-form');
  await form.getByLabel('E-mail address').fill(uniqueEmail('none'));
  await form.getByLabel('Product news and new features').uncheck();
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await page.locator('#newsletter-lists-error').getByText('Choose at least one list.').waitFor();
  await assertAccessible(page, 'the newsletter form asking for a list', '#newsletter-form');
});
