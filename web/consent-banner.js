/*! consent-banner.js: cookie consent for the privacy backend (SPEC 3.1). No dependencies.
 *
 * <link rel="stylesheet" href="consent-banner.css">
 * <script src="consent-banner.js" data-api="https://privacy-api.example.com"
 *         data-policy-version="2026-01" data-lang="sv" data-policy-url="/privacy"></script>
 *
 * Load it early and synchronously (no async/defer) so that the Consent Mode defaults
 * are set before any tag. Gated scripts: <script type="text/plain" data-category="analytics" src="…">
 * (or inline) run only once their categories are granted. Any element with
 * data-consent-settings (or a link to #cookie-settings) reopens the banner.
 */
(() => {
  'use strict';
  const me = document.currentScript;
  const cfg = (me && me.dataset) || {};
  const api = (cfg.api || '').replace(/\/+$/, '');
  const policy = cfg.policyVersion || '1';
  const cookieName = cfg.cookie || 'consent_id';
  const lang = /^sv\b/i.test(cfg.lang || document.documentElement.lang || '') ? 'sv' : 'en';
  const gpc = navigator.globalPrivacyControl === true;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
  const MAX_AGE = 396 * 86400; // about 13 months

  const TEXT = {
    en: {
      title: 'Cookies on this site',
      intro:
        'We use strictly necessary cookies to run this site. With your consent we would also like to use ' +
        'analytics cookies, to understand how the site is used, and marketing cookies, to measure and ' +
        'personalise our advertising. You can change or withdraw your choice at any time under ' +
        '“Cookie settings” at the bottom of every page.',
      policy: 'Privacy policy',
      gpc:
        'Your browser sends a Global Privacy Control signal. We honour it as an opt-out of the sale ' +
        'and sharing of your data: marketing cookies stay off.',
      accept: 'Accept all',
      reject: 'Reject all',
      choose: 'Choose',
      save: 'Save my choice',
      close: 'Close cookie settings',
      legend: 'Cookie categories',
      necessary: ['Strictly necessary', 'Needed for the site to work and to remember this choice. Always on.'],
      analytics: ['Analytics', 'Counts visits and how the site is used, so that we can improve it.'],
      marketing: ['Marketing', 'Measures and personalises our advertising on other sites.'],
      current: 'Your current choice, recorded on ',
      error: 'Your choice could not be saved. Please try again.',
    },
    sv: {
      title: 'Kakor på den här webbplatsen',
      intro:
        'Vi använder nödvändiga kakor för att webbplatsen ska fungera. Med ditt samtycke vill vi också ' +
        'använda analyskakor, för att förstå hur webbplatsen används, och marknadsföringskakor, för att ' +
        'mäta och anpassa vår annonsering. Du kan när som helst ändra eller återkalla ditt val under ' +
        '”Cookieinställningar” längst ned på varje sida.',
      policy: 'Integritetspolicy',
      gpc:
        'Din webbläsare skickar signalen Global Privacy Control. Vi respekterar den som en invändning ' +
        'mot försäljning och delning av dina uppgifter: marknadsföringskakor förblir avstängda.',
      accept: 'Godkänn alla',
      reject: 'Avvisa alla',
      choose: 'Välj',
      save: 'Spara mitt val',
      close: 'Stäng cookieinställningar',
      legend: 'Kategorier av kakor',
      necessary: ['Nödvändiga', 'Behövs för att webbplatsen ska fungera och för att komma ihåg ditt val. Alltid på.'],
      analytics: ['Analys', 'Räknar besök och hur webbplatsen används, så att vi kan förbättra den.'],
      marketing: ['Marknadsföring', 'Mäter och anpassar vår annonsering på andra webbplatser.'],
      current: 'Ditt nuvarande val, registrerat ',
      error: 'Ditt val kunde inte sparas. Försök igen.',
    },
  }[lang];
  const CATEGORIES = ['necessary', 'analytics', 'marketing'];
  // What the visitor is shown; its SHA-256 goes into the receipt (notice_sha256).
  const notice = [TEXT.title, TEXT.intro, gpc ? TEXT.gpc : '']
    .concat(CATEGORIES.map((c) => TEXT[c].join(': ')))
    .join('\n');

  // Google Consent Mode v2: everything but security denied until a choice is known.
  window.dataLayer = window.dataLayer || [];
  const gtag =
    window.gtag ||
    (window.gtag = function () {
      window.dataLayer.push(arguments);
    });
  const denied = 'denied';
  gtag('consent', 'default', {
    ad_storage: denied,
    ad_user_data: denied,
    ad_personalization: denied,
    analytics_storage: denied,
    functionality_storage: denied,
    personalization_storage: denied,
    security_storage: 'granted',
    wait_for_update: 500,
  });
  gtag('set', 'ads_data_redaction', true);

  let id = readCookie();
  let current = null; // the state last read from or recorded by the API
  let granted = { analytics: false, marketing: false }; // what this page has activated
  let root, opener;

  function readCookie() {
    const found = document.cookie.split('; ').find((c) => c.startsWith(cookieName + '='));
    const value = found && decodeURIComponent(found.slice(cookieName.length + 1));
    return value && UUID.test(value) ? value : null;
  }

  function writeCookie(value) {
    document.cookie =
      `${cookieName}=${encodeURIComponent(value)}; Path=/; Max-Age=${MAX_AGE}; SameSite=Lax` +
      (location.protocol === 'https:' ? '; Secure' : '');
  }

  async function call(method, path, body) {
    const init = { method, headers: { accept: 'application/json' }, credentials: 'omit', cache: 'no-store' };
    if (body) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    const json = await response.json().catch(() => null);
    if (!response.ok) throw Object.assign(new Error('HTTP ' + response.status), { status: response.status, json });
    return json;
  }

  async function sha256(text) {
    try {
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    } catch (_) {
      return null; // no WebCrypto outside secure contexts: the receipt simply has no digest
    }
  }

  const valid = (state) =>
    state && state.policy_version === policy && Date.parse(state.renew_after) > Date.now();

  function apply(categories) {
    granted = { analytics: !!categories.analytics, marketing: !!categories.marketing && !gpc };
    const as = (on) => (on ? 'granted' : denied);
    gtag('consent', 'update', {
      analytics_storage: as(granted.analytics),
      ad_storage: as(granted.marketing),
      ad_user_data: as(granted.marketing),
      ad_personalization: as(granted.marketing),
    });
    document.querySelectorAll('script[type="text/plain"][data-category]').forEach((old) => {
      const needs = old.dataset.category.split(/[\s,]+/).filter(Boolean);
      if (!needs.every((c) => c === 'necessary' || granted[c])) return;
      const script = document.createElement('script');
      for (const attribute of old.attributes) {
        if (attribute.name !== 'type') script.setAttribute(attribute.name, attribute.value);
      }
      if (old.dataset.type) script.type = old.dataset.type;
      script.async = false; // keep the page's order
      script.text = old.text;
      old.replaceWith(script);
    });
    document.dispatchEvent(new CustomEvent('privacy:consent', { detail: { ...granted, gpc } }));
  }

  function build() {
    root = document.createElement('div');
    root.className = 'pc-banner';
    root.hidden = true;
    root.lang = lang;
    root.tabIndex = -1;
    root.setAttribute('role', 'dialog');
    root.setAttribute('aria-modal', 'false');
    root.setAttribute('aria-labelledby', 'pc-title');
    root.setAttribute('aria-describedby', 'pc-intro' + (gpc ? ' pc-gpc' : ''));
    const escape = (s) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const button = (action, label, extra = '') =>
      `<button type="button" class="pc-btn" data-pc="${action}"${extra}>${escape(label)}</button>`;
    const category = (c) =>
      `<div class="pc-cat"><input type="checkbox" id="pc-${c}" name="${c}" aria-describedby="pc-${c}-d"` +
      (c === 'necessary' || (c === 'marketing' && gpc) ? ' disabled' : '') +
      (c === 'necessary' ? ' checked' : '') +
      `><label for="pc-${c}">${escape(TEXT[c][0])}</label><p id="pc-${c}-d">${escape(TEXT[c][1])}` +
      (c === 'marketing' && gpc ? ` <strong>(Global Privacy Control)</strong>` : '') +
      `</p></div>`;
    root.innerHTML =
      `<h2 id="pc-title">${escape(TEXT.title)}</h2>` +
      `<p id="pc-intro">${escape(TEXT.intro)}` +
      (cfg.policyUrl ? ` <a href="${escape(cfg.policyUrl)}">${escape(TEXT.policy)}</a>` : '') +
      `</p>` +
      (gpc ? `<p id="pc-gpc" class="pc-gpc">${escape(TEXT.gpc)}</p>` : '') +
      `<p class="pc-current" hidden></p>` +
      `<div class="pc-panel" id="pc-panel" hidden><fieldset><legend>${escape(TEXT.legend)}</legend>` +
      CATEGORIES.map(category).join('') +
      `</fieldset>${button('save', TEXT.save)}</div>` +
      `<p class="pc-error" role="alert"></p>` +
      `<div class="pc-actions">${button('accept', TEXT.accept)}${button('reject', TEXT.reject)}` +
      button('choose', TEXT.choose, ' aria-expanded="false" aria-controls="pc-panel"') +
      `</div><button type="button" class="pc-close" data-pc="close" aria-label="${escape(TEXT.close)}" hidden>` +
      `<span aria-hidden="true">×</span></button>`;
    root.addEventListener('click', (event) => {
      const target = event.target.closest('[data-pc]');
      if (!target) return;
      const action = target.dataset.pc;
      if (action === 'accept') record({ analytics: true, marketing: true });
      else if (action === 'reject') record({ analytics: false, marketing: false });
      else if (action === 'save') record({ analytics: box('analytics').checked, marketing: box('marketing').checked });
      else if (action === 'choose') panel(target.getAttribute('aria-expanded') !== 'true', true);
      else if (action === 'close') hide();
    });
    root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && root.dataset.mode === 'settings') hide();
    });
    document.body.appendChild(root);
  }

  const box = (c) => root.querySelector('#pc-' + c);

  function panel(open, focus) {
    root.querySelector('#pc-panel').hidden = !open;
    root.querySelector('[data-pc="choose"]').setAttribute('aria-expanded', String(open));
    if (open && focus) box('analytics').focus();
  }

  function show(mode) {
    if (!root) build();
    root.dataset.mode = mode;
    const chosen = (current && current.categories) || {};
    box('analytics').checked = !!chosen.analytics;
    box('marketing').checked = !!chosen.marketing && !gpc;
    const note = root.querySelector('.pc-current');
    note.hidden = !(mode === 'settings' && current);
    if (current) {
      const when = new Date(current.recorded_at).toLocaleString(lang === 'sv' ? 'sv-SE' : 'en-GB');
      note.textContent = TEXT.current + when + '.';
    }
    root.querySelector('.pc-error').textContent = '';
    root.querySelector('[data-pc="close"]').hidden = mode !== 'settings';
    panel(mode === 'settings', false);
    opener = document.activeElement;
    root.hidden = false;
    root.focus();
  }

  function hide() {
    root.hidden = true;
    if (opener && opener !== document.body && document.contains(opener)) opener.focus();
    opener = null;
  }

  async function record(choice) {
    const mode = root.dataset.mode;
    const categories = { analytics: !!choice.analytics, marketing: !!choice.marketing && !gpc };
    const withdrawal =
      mode === 'settings' &&
      id &&
      current &&
      !categories.analytics &&
      !categories.marketing &&
      (current.categories.analytics || current.categories.marketing);
    let state;
    try {
      if (withdrawal) {
        state = await call('DELETE', '/consent/' + id); // withdrawing is as easy as giving
      } else {
        const body = { policy_version: policy, categories, source: mode === 'settings' ? 'settings' : 'banner', language: lang };
        if (id) body.consent_id = id;
        const digest = await sha256(notice);
        if (digest) body.notice_sha256 = digest;
        state = await call('POST', '/consent', body);
      }
    } catch (_) {
      root.querySelector('.pc-error').textContent = TEXT.error;
      return;
    }
    current = state;
    id = state.consent_id;
    writeCookie(id);
    hide();
    const revoked = (granted.analytics && !state.categories.analytics) || (granted.marketing && !state.categories.marketing);
    if (revoked) location.reload(); // scripts that already ran stop only with a new page
    else apply(state.categories);
  }

  async function open() {
    if (id) current = await call('GET', '/consent/' + id).catch(() => current);
    show('settings');
  }

  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('[data-consent-settings], a[href="#cookie-settings"]');
    if (!link) return;
    event.preventDefault();
    open();
  });

  async function start() {
    if (id) current = await call('GET', '/consent/' + id).catch(() => null);
    if (valid(current)) apply(current.categories);
    else show('banner'); // first visit, expired (renew_after), new policy version, or unknown id
  }

  window.PrivacyConsent = {
    open,
    get state() {
      return current && { ...current };
    },
    gpc,
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
