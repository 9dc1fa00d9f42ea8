/*! console.js: the privacy team's console (SPEC 4, 10): its entry module. No dependencies.
 *
 * Reads GET /admin/dsr (every page, following next_cursor) for the counts and the list,
 * GET /admin/reports/requests?year= and GET /admin/reports/consent?from=&to= for the charts
 * (plain SVG, charts.js), GET /admin/consent/{id}/proof and POST /admin/consent/proofs (a
 * person's, the address in the body) for the proof of consent; acts through
 * POST /admin/dsr/{id}/extend|complete|reject|lift-restriction; a request's detail from
 * GET /admin/dsr/{id} (timeline, tasks, mails, notes), with POST /admin/dsr/{id}/tasks/{task_id}
 * (a system's answer) and POST /admin/dsr/{id}/notes; the on-time rate and the chart per month
 * from GET /admin/reports/requests/monthly.
 * The admin token is typed in, kept in sessionStorage (this tab only) and sent as a bearer
 * token; nothing goes into the page's URL. English and Swedish: <html lang>, or the switch.
 */

import { renderConsentChart, renderMonthlyChart, renderRequestChart } from './charts.js';
import { renderProof, showProof, showProofsOfPerson, showRange } from './consent.js';
import {
  $,
  KEY,
  LANG_KEY,
  OPEN,
  T,
  addDays,
  attempt,
  call,
  element,
  fieldError,
  say,
  signOut,
  state,
  statusName,
  today,
  token,
  useLanguage,
} from './core.js';
import { closeDetail, renderDetail } from './detail.js';
import { renderCounts, renderList } from './requests.js';


function applyLanguage(lang) {
  useLanguage(lang);
  document.documentElement.lang = state.lang;
  document.title = T.title;
  for (const node of document.querySelectorAll('[data-t]')) {
    const text = T[node.dataset.t];
    if (typeof text === 'string') node.textContent = text;
  }
  for (const node of document.querySelectorAll('[data-t-label]')) node.setAttribute('aria-label', T[node.dataset.tLabel]);
  const switcher = $('#lang-switch');
  switcher.textContent = T.switchTo;
  switcher.lang = T.switchLang;
  const filter = $('#filter-status');
  const chosen = filter.value;
  filter.replaceChildren(
    element('option', { value: '', text: T.allOpen }),
    element('option', { value: 'all', text: T.allStatuses }),
    ...OPEN.concat(['completed', 'rejected']).map((status) => element('option', { value: status, text: statusName(status) })),
  );
  filter.value = chosen;
  if (!$('#console').hidden) renderAll();
}

// ------------------------------------------------------------------ loading

export async function loadQueue() {
  let json = await call('GET', '/admin/dsr');
  const items = json.requests || [];
  // Every page: the API answers at most `limit` requests and a next_cursor while there are more.
  while (json.next_cursor) {
    json = await call('GET', '/admin/dsr?' + new URLSearchParams({ cursor: json.next_cursor }));
    items.push(...(json.requests || []));
  }
  items.sort((a, b) => String(a.due_on || '').localeCompare(String(b.due_on || '')));
  state.items = items;
}

async function loadReport(year) {
  state.reportYear = year;
  state.report = await call('GET', '/admin/reports/requests?' + new URLSearchParams({ year }));
}

export async function loadConsent(from, to) {
  state.consent = await call('GET', '/admin/reports/consent?' + new URLSearchParams({ from, to }));
}

// The monthly report and a request's detail are newer routes: without them the console
// shows what the queue gives, as before.
async function loadMonthly() {
  try {
    state.monthly = await call('GET', '/admin/reports/requests/monthly');
  } catch (failure) {
    if (failure.handled) throw failure;
    state.monthly = null;
  }
}

export async function loadDetail(id) {
  try {
    const detail = await call('GET', `/admin/dsr/${encodeURIComponent(id)}`);
    if (detail && detail.request_id === id) {
      state.details[id] = detail;
      if (Array.isArray(detail.events)) state.events[id] = detail.events;
    }
  } catch (failure) {
    if (failure.handled) throw failure;
  }
}

async function loadAll() {
  say(T.loading);
  const loaded = await attempt(() =>
    Promise.all([
      loadQueue(),
      loadMonthly(),
      loadReport($('#report-year').value || today().slice(0, 4)),
      loadConsent($('#range-from').value, $('#range-to').value),
    ]),
  );
  if (!loaded) return false;
  renderAll();
  say(T.loaded(state.items.length));
  return true;
}

// ------------------------------------------------------------------ rendering

export function renderAll() {
  renderCounts();
  renderList();
  renderDetail();
  renderRequestChart();
  renderMonthlyChart();
  renderConsentChart();
  renderProof();
}

async function showYear(event) {
  event.preventDefault();
  await attempt(async () => {
    await loadReport($('#report-year').value);
    renderCounts();
    renderRequestChart();
  });
}

async function downloadCsv() {
  const year = $('#report-year').value;
  await attempt(async () => {
    const csv = await call('GET', '/admin/reports/requests?' + new URLSearchParams({ year }), null, 'text/csv');
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const link = element('a', { href: url, download: `requests-${year}.csv`, hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}

function signedIn() {
  $('#signin').hidden = true;
  $('#console').hidden = false;
  return loadAll();
}

function setUp() {
  const thisYear = Number(today().slice(0, 4));
  $('#report-year').replaceChildren(
    ...[thisYear, thisYear - 1, thisYear - 2].map((year) => element('option', { value: String(year), text: String(year) })),
  );
  $('#range-to').value = today();
  $('#range-from').value = addDays(today(), -29);
  applyLanguage(sessionStorage.getItem(LANG_KEY) || (/^sv\b/i.test(document.documentElement.lang) ? 'sv' : 'en'));

  $('#lang-switch').addEventListener('click', () => {
    const next = state.lang === 'sv' ? 'en' : 'sv';
    sessionStorage.setItem(LANG_KEY, next);
    applyLanguage(next);
    $('#lang-switch').focus();
  });
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('#admin-token').value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    fieldError($('#admin-token'), '');
    signedIn().then((ok) => ok && $('#dashboard-title').focus());
  });
  $('#filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    renderList();
  });
  $('#refresh').addEventListener('click', () => loadAll());
  $('#sign-out').addEventListener('click', () => signOut());
  $('#detail-close').addEventListener('click', closeDetail);
  $('#detail').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.target.closest('textarea, select')) closeDetail();
  });
  $('#proof-form').addEventListener('submit', showProof);
  $('#proof-person-form').addEventListener('submit', showProofsOfPerson);
  $('#range-form').addEventListener('submit', showRange);
  $('#year-form').addEventListener('submit', showYear);
  $('#report-csv').addEventListener('click', downloadCsv);
  if (token()) signedIn();
}

setUp();
