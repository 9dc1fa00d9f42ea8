/*! core.js: what every part of the console shares: its settings, its state, the chosen
 * language's words, building DOM and SVG nodes, the admin API with the team's token, the
 * status line, dates and names, and signing out. */

import { TEXTS } from './texts.js';

// A module has no document.currentScript: the console's script tag is found by its data-api.
const me = document.querySelector('script[data-api]');
export const api = ((me && me.dataset.api) || '').replace(/\/+$/, '');
export const KEY = 'privacy.adminToken'; // the queue page's key: one sign-in serves both pages
export const LANG_KEY = 'privacy.consoleLang';
export const SVG = 'http://www.w3.org/2000/svg';
export const OPEN = ['verified', 'in_progress', 'awaiting_team'];
export const CLOSED = ['completed', 'rejected', 'expired'];
export const LIFTABLE = ['restriction', 'objection'];
export const REASON_CODES = ['identity_not_verified', 'manifestly_unfounded', 'excessive', 'legal_exemption', 'other'];
export const OUTCOMES = ['complied_in_whole', 'complied_in_part', 'denied', 'open'];

export const $ = (selector) => document.querySelector(selector);
export const state = {
  lang: 'en',
  items: [], // the whole queue
  report: null, // the request report of state.year
  reportYear: null,
  consent: null, // the consent report
  proofs: null, // { list, person }: the proofs shown, of one consent id or of a person
  selected: null, // request id shown in the detail
  events: {}, // request id -> events from the answer to an action
  details: {}, // request id -> GET /admin/dsr/{id}
  monthly: null, // GET /admin/reports/requests/monthly
};
export let T = TEXTS.en;

/** Chooses the language of the console's words (English unless a known one). */
export function useLanguage(lang) {
  state.lang = TEXTS[lang] ? lang : 'en';
  T = TEXTS[state.lang];
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null) continue;
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

/** Draws a part of the page again only when what it shows has changed (`key`), so that a
 * redraw never takes a form from under the team while they type in it or click it. */
export function redraw(holder, key, build) {
  if (holder.dataset.drawn === key) return;
  holder.dataset.drawn = key;
  holder.replaceChildren(...build());
}

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null) continue;
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

export function say(text, kind = '') {
  const status = $('#console-status');
  status.textContent = text;
  status.dataset.kind = kind;
}

export const token = () => sessionStorage.getItem(KEY);

export async function call(method, path, body, accept = 'application/json') {
  const headers = { accept, authorization: 'Bearer ' + token() };
  if (body) headers['content-type'] = 'application/json';
  const response = await fetch(api + path, {
    method,
    headers,
    body: body && JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (accept !== 'application/json' && response.ok) return response.text();
  const json = await response.json().catch(() => null);
  if (response.status === 401) {
    signOut(T.tokenRefused);
    throw Object.assign(new Error('unauthorised'), { handled: true });
  }
  if (!response.ok) throw Object.assign(new Error('HTTP ' + response.status), { status: response.status, json, path });
  return json;
}

/**
 * Runs calls to the admin API: a failure is shown in the status line (a refused token has
 * already signed out). Whether it went through.
 */
export async function attempt(work) {
  try {
    await work();
    return true;
  } catch (failure) {
    if (!failure.handled) say(failureText(failure), 'error');
    return false;
  }
}

export function failureText(failure) {
  if (failure.json && failure.json.error) return failure.json.error.message;
  if (failure.status === 404 && failure.path) return T.unavailable(failure.path.split('?')[0]);
  return T.failed;
}

// Calendar dates in the controller's time zone.
export const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
export function day(value) {
  if (!value) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const date = new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
}
export function instant(value) {
  const date = new Date(value);
  return isNaN(date)
    ? String(value || '')
    : date.toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm', dateStyle: 'short', timeStyle: 'short' });
}
export function addDays(isoDay, days) {
  const date = new Date(isoDay + 'T12:00:00Z');
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
export const dayNumber = (isoDay) => Math.round(Date.parse(isoDay + 'T00:00:00Z') / 86400000);

export const typeName = (type) => T.types[type] || type || '';
export const statusName = (status) => T.statuses[status] || (status || '').replace(/_/g, ' ');
export const percent = (rate) => `${Math.round(rate * 1000) / 10} %`;
// A SmallCount: a number, or "<10" shown as such (never as a number).
export const count = (value) => (typeof value === 'number' ? String(value) : String(value ?? ''));

export function daysLeft(item) {
  const days = item.days_left;
  if (typeof days !== 'number') return element('span', { text: '' });
  if (days < 0) return element('span', { class: 'overdue', text: T.overdueBy(-days) });
  if (days === 0) return element('span', { class: 'due-soon', text: T.dueToday });
  return element('span', { class: days <= 7 ? 'due-soon' : null, text: T.days(days) });
}


export function fieldError(input, message) {
  const error = document.getElementById(input.id + '-error');
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    input.focus();
  } else {
    input.removeAttribute('aria-invalid');
    error.textContent = '';
  }
}

export function signOut(message) {
  sessionStorage.removeItem(KEY);
  Object.assign(state, { items: [], report: null, consent: null, proofs: null, selected: null, events: {}, details: {}, monthly: null });
  $('#console').hidden = true;
  $('#signin').hidden = false;
  const input = $('#admin-token');
  input.value = '';
  $('#admin-token-error').textContent = message || '';
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  input.focus();
}
