// The web kit's CAPTCHA hook (web/forms.js): a page that guards the API with a CAPTCHA (AWS WAF's
// CAPTCHA or challenge action in front of the API, docs/deploy.md) hands the kit its token.

import { BASE_URL, api, assert, browserTest, uniqueEmail } from './lib/harness.mjs';

async function closeBanner(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Reject all' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

/** The posts the page sends to `path`. */
function postsTo(page, path) {
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === path) posts.push(request);
  });
  return posts;
}

browserTest("the CAPTCHA hook's token travels with the form's request", async (t, { page }) => {
  await page.addInitScript(() => {
    window.PrivacyForms = { captcha: async (form) => ({ 'x-aws-waf-token': 'token-for-' + form.id }) };
  });
  await closeBanner(page);
  const posts = postsTo(page, '/newsletter/subscribe');
  const form = page.locator('#newsletter-form');
  await form.getByLabel('E-mail address').fill(uniqueEmail('human'));
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await form.getByRole('status').getByText('Check your inbox').waitFor();
  assert.equal(posts.length, 1);
  assert.equal(posts[0].headers()['x-aws-waf-token'], 'token-for-newsletter-form');
});

browserTest('a failed CAPTCHA sends nothing and says so', async (t, { page }) => {
  await page.addInitScript(() => {
    window.PrivacyForms = {
      captcha: async () => {
        throw new Error('the visitor closed the puzzle');
      },
    };
  });
  await closeBanner(page);
  const posts = postsTo(page, '/dsr');
  const form = page.locator('#dsr-form');
  await form.getByLabel('What would you like us to do?').selectOption('access');
  await form.getByLabel('E-mail address', { exact: true }).fill(uniqueEmail('bot'));
  await form.getByRole('button', { name: 'Send the request' }).click();
  await form.getByRole('status').getByText('We could not confirm that you are a person').waitFor();
  assert.equal(posts.length, 0, 'nothing was sent');
  assert.notEqual(await form.getByLabel('E-mail address', { exact: true }).inputValue(), '', 'the form keeps what was typed');
});

browserTest("a website on another origin may send the CAPTCHA's header", async () => {
  const preflight = await api('OPTIONS', '/newsletter/subscribe', null, {
    origin: BASE_URL,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type,x-aws-waf-token',
  });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get('access-control-allow-headers'), /(^|, )x-aws-waf-token(,|$)/);
});
