// What every browser test shares: a fresh Chromium profile per test, screenshots of
// failures, screenshots for the README, axe-core, the outbox page and the API.
//
// Environment (infra/browser-test sets it): BASE_URL (the local server), ADMIN_TOKEN
// (the admin API's bearer token), NEWSLETTER_THANK_YOU_URL and DSR_THANK_YOU_URL (what
// the server was started with), CHROMIUM (default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const ADMIN_TOKEN = process.env.ADMIN_TOKEN || '';
export const ARTIFACTS = join(here, '..', 'artifacts');
// The README's pictures are rewritten only when asked (UPDATE_SCREENSHOTS=1); otherwise they
// go beside the failure screenshots, so a test run leaves the work tree as it was.
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(here, '..', '..', '..', 'docs', 'screenshots')
  : join(here, '..', 'artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// TOOLING.md: without the background-networking flags Chromium keeps trying to reach
// Google's hosts, which this machine's closed network refuses.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A test with its own browser and a fresh, empty --user-data-dir (a persistent context on
 * a new temporary directory, removed afterwards). A failure saves a full-page screenshot
 * to tests/browser/artifacts/<test name>.png. `options` go to Playwright
 * (javaScriptEnabled, extraHTTPHeaders, …).
 */
export function browserTest(name, options, body) {
  if (typeof options === 'function') [options, body] = [{}, options];
  const contextOptions = options;
  test(name, async (t) => {
    const profile = await mkdtemp(join(tmpdir(), 'privacy-browser-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      baseURL: BASE_URL,
      viewport: { width: 1280, height: 860 },
      locale: 'en-GB',
      timezoneId: 'Europe/Stockholm',
      ...contextOptions,
    });
    context.setDefaultTimeout(10_000);
    const page = context.pages()[0] || (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    try {
      await body(t, { page, context });
      assert.deepEqual(pageErrors.map(String), [], 'no uncaught errors in the page');
    } catch (error) {
      await mkdir(ARTIFACTS, { recursive: true });
      const file = join(ARTIFACTS, name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase() + '.png');
      for (const open of context.pages()) {
        await open.screenshot({ path: file, fullPage: true }).catch(() => {});
      }
      console.error(`  screenshot of the failure: ${file}`);
      throw error;
    } finally {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    }
  });
}

/** Saves a screenshot for the README (docs/screenshots/<name>.png with UPDATE_SCREENSHOTS=1). */
export async function docScreenshot(target, name, options = {}) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const page = typeof target.page === 'function' ? target.page() : target;
  await page.mouse.move(0, 0); // no hover state in the picture
  await target.screenshot({ path: join(SCREENSHOTS, name + '.png'), animations: 'disabled', ...options });
}

let axeSource;
/**
 * Runs axe-core in the page (through the DevTools protocol, so the page's CSP does not
 * apply) and fails on any serious or critical violation of WCAG 2.x A/AA rules.
 */
export async function assertAccessible(page, what, include) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const results = await page.evaluate(
    async ([selector]) =>
      window.axe.run(selector ? { include: [[selector]] } : document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      }),
    [include || null],
  );
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = blocking
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n` + v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n'))
    .join('\n');
  assert.equal(blocking.length, 0, `axe on ${what}:\n${report}`);
  assert.ok(results.passes.length > 0, `axe checked something on ${what}`);
  return results;
}

/** A new address for each test: the API rate-limits mail per address. */
export function uniqueEmail(prefix = 'visitor') {
  return `${prefix}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** The newest mail to `email` on the outbox page, waiting for it to arrive. */
export async function openMail(page, email, subjectPart) {
  const mail = page
    .locator('li.mail')
    .filter({ has: page.locator('.mail-to', { hasText: email }) })
    .filter(subjectPart ? { has: page.locator('h2', { hasText: subjectPart }) } : {})
    .first();
  for (let attempt = 0; attempt < 25; attempt++) {
    await page.goto('/outbox');
    if (await mail.count()) return mail;
    await page.waitForTimeout(200);
  }
  assert.fail(`no mail to ${email}${subjectPart ? ` about "${subjectPart}"` : ''} on the outbox page`);
}

/** The API, as a test sees it from outside the browser. */
export async function api(method, path, body, headers = {}) {
  const response = await fetch(BASE_URL + path, {
    method,
    headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) {
    /* not JSON */
  }
  return { status: response.status, json, text, headers: response.headers };
}

/** The consent_id cookie of the context, and every other cookie (there should be none). */
export async function consentCookie(context) {
  const cookies = await context.cookies(BASE_URL);
  return { cookie: cookies.find((c) => c.name === 'consent_id'), others: cookies.filter((c) => c.name !== 'consent_id') };
}

/** The Consent Mode commands the page pushed to dataLayer, as plain arrays. */
export function consentCommands(page) {
  return page.evaluate(() =>
    (window.dataLayer || []).map((entry) => Array.from(entry)).filter((entry) => entry[0] === 'consent'),
  );
}

/** Serves the demo page with `edit` applied to its HTML (a language, a policy version). */
export async function rewriteIndex(page, edit) {
  await page.route(
    (url) => url.pathname === '/',
    async (route) => {
      const response = await route.fetch();
      route.fulfill({ response, body: edit(await response.text()) });
    },
  );
}

export { assert };
