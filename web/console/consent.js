/*! consent.js: the opt-in rate's date range and the proof of consent. */

import { renderConsentChart } from './charts.js';
import { loadConsent } from './console.js';
import { $, T, call, element, failureText, fieldError, instant, say, state } from './core.js';

export function renderProof() {
  const result = $('#proof-result');
  const shown = state.proofs;
  if (!shown) return result.replaceChildren();
  if (!shown.list.length) return result.replaceChildren(element('p', { class: 'optional', text: T.noLinkedConsent }));
  result.replaceChildren(...shown.list.map((proof) => proofView(proof, shown.person)));
}

/** One consent id's proof: the verdict, the latest state and every receipt. */
function proofView(proof, titled) {
  const verdict = proof.verification || {};
  const verdictText = verdict.intact
    ? T.proofIntact
    : verdict.broken_at
      ? T.proofBroken(verdict.broken_at)
      : T.proofBrokenNoSeq;
  const stateView = proof.state;
  const yesNo = (value) => (value ? T.yes : T.no);
  return element(
    'article',
    { class: 'proof', 'data-consent-id': proof.consent_id },
    titled ? element('h3', {}, element('code', { text: T.proofOf(proof.consent_id) })) : null,
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
        { class: 'receipts' },
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

/** Asks for proofs and shows them; a refusal by the field it names goes by `input`. */
async function showProofs(event, input, field, ask) {
  event.preventDefault();
  for (const node of [$('#proof-id'), $('#proof-email')]) fieldError(node, '');
  const value = input.value.trim();
  if (!value) return;
  try {
    state.proofs = await ask(value);
    renderProof();
    say('');
  } catch (failure) {
    if (failure.handled) return;
    state.proofs = null;
    renderProof();
    const detail = failure.json && failure.json.error;
    if (detail && (detail.field === field || failure.status === 404)) fieldError(input, detail.message);
    else say(failureText(failure), 'error');
  }
}

export function showProof(event) {
  return showProofs(event, $('#proof-id'), 'consent_id', async (id) => ({
    list: [await call('GET', `/admin/consent/${encodeURIComponent(id)}/proof`)],
    person: false,
  }));
}

/** A person's proofs: the address goes in the body, never in a URL. */
export function showProofsOfPerson(event) {
  return showProofs(event, $('#proof-email'), 'email', async (email) => ({
    list: (await call('POST', '/admin/consent/proofs', { email })).proofs,
    person: true,
  }));
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
