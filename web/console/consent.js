/*! consent.js: the opt-in rate's date range and the proof of consent. */

import { renderConsentChart } from './charts.js';
import { loadConsent } from './console.js';
import { $, T, call, element, failureText, fieldError, instant, say, state } from './core.js';

export function renderProof() {
  const result = $('#proof-result');
  const proof = state.proof;
  if (!proof) return result.replaceChildren();
  const verdict = proof.verification || {};
  const verdictText = verdict.intact
    ? T.proofIntact
    : verdict.broken_at
      ? T.proofBroken(verdict.broken_at)
      : T.proofBrokenNoSeq;
  const stateView = proof.state;
  const yesNo = (value) => (value ? T.yes : T.no);
  result.replaceChildren(
    element(
      'div',
      { class: 'verdict', 'data-intact': String(Boolean(verdict.intact)), 'data-broken-at': verdict.broken_at },
      element('p', {}, element('strong', { text: verdictText })),
      verdict.message ? element('p', { text: verdict.message }) : null,
    ),
    stateView
      ? element(
          'p',
          { class: 'proof-state' },
          `${T.proofState}: ${stateView.withdrawn ? T.withdrawn + ', ' : ''}${T.colAnalytics} ${yesNo(stateView.categories.analytics)}, ` +
            `${T.colMarketing} ${yesNo(stateView.categories.marketing)}, ${T.colPolicy} ${stateView.policy_version}, ` +
            `${instant(stateView.recorded_at)}`,
        )
      : null,
    proof.checkpoint && proof.checkpoint.folded_through
      ? element('p', { text: T.proofCheckpoint(proof.checkpoint.folded_through) })
      : null,
    element(
      'div',
      { class: 'table-wrap' },
      element(
        'table',
        { id: 'receipts-table' },
        element('caption', { text: T.receiptsCaption }),
        element(
          'thead',
          {},
          element(
            'tr',
            {},
            ...[T.colSequence, T.colAction, T.colRecorded, T.colPolicy, T.colAnalytics, T.colMarketing, T.colGpc, T.colSource, T.colHash].map((text) =>
              element('th', { scope: 'col', text }),
            ),
          ),
        ),
        element(
          'tbody',
          {},
          ...(proof.receipts || []).map((receipt) =>
            element(
              'tr',
              { 'data-sequence': receipt.sequence, class: verdict.broken_at === receipt.sequence ? 'broken' : null },
              element('td', { text: String(receipt.sequence) }),
              element('td', { text: receipt.action }),
              element('td', { class: 'nowrap', text: instant(receipt.recorded_at) }),
              element('td', { text: receipt.policy_version }),
              element('td', { text: yesNo(receipt.categories && receipt.categories.analytics) }),
              element('td', { text: yesNo(receipt.categories && receipt.categories.marketing) }),
              element('td', { text: yesNo(receipt.gpc) }),
              element('td', { text: receipt.source }),
              element('td', {}, element('code', { class: 'hash', title: receipt.receipt_sha256, text: String(receipt.receipt_sha256 || '').slice(0, 16) + '…' })),
            ),
          ),
        ),
      ),
    ),
  );
}

export async function showProof(event) {
  event.preventDefault();
  const input = $('#proof-id');
  fieldError(input, '');
  const id = input.value.trim();
  if (!id) return;
  try {
    state.proof = await call('GET', `/admin/consent/${encodeURIComponent(id)}/proof`);
    renderProof();
    say('');
  } catch (failure) {
    if (failure.handled) return;
    state.proof = null;
    renderProof();
    const detail = failure.json && failure.json.error;
    if (detail && (detail.field === 'consent_id' || failure.status === 404)) fieldError(input, detail.message);
    else say(failureText(failure), 'error');
  }
}

export async function showRange(event) {
  event.preventDefault();
  const from = $('#range-from');
  const to = $('#range-to');
  fieldError(from, '');
  fieldError(to, '');
  try {
    await loadConsent(from.value, to.value);
    renderConsentChart();
  } catch (failure) {
    if (failure.handled) return;
    const detail = failure.json && failure.json.error;
    if (detail && detail.field === 'from') fieldError(from, detail.message);
    else if (detail && detail.field === 'to') fieldError(to, detail.message);
    else say(failureText(failure), 'error');
  }
}
