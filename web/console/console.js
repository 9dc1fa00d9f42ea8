/*! console.js: the privacy team's console (SPEC 4, 10). No dependencies.
 *
 * Reads GET /admin/dsr (every page, following next_cursor) for the counts and the list,
 * GET /admin/reports/requests?year= and GET /admin/reports/consent?from=&to= for the charts
 * (plain SVG drawn here), GET /admin/consent/{id}/proof for the proof of consent; acts through
 * POST /admin/dsr/{id}/extend|complete|reject|lift-restriction; a request's detail from
 * GET /admin/dsr/{id} (timeline, tasks, mails, notes), with POST /admin/dsr/{id}/tasks/{task_id}
 * (a system's answer) and POST /admin/dsr/{id}/notes; the on-time rate and the chart per month
 * from GET /admin/reports/requests/monthly.
 * The admin token is typed in, kept in sessionStorage (this tab only) and sent as a bearer
 * token; nothing goes into the page's URL. English and Swedish: <html lang>, or the switch.
 */
(() => {
  'use strict';
  const me = document.currentScript;
  const api = ((me && me.dataset.api) || '').replace(/\/+$/, '');
  const KEY = 'privacy.adminToken'; // the queue page's key: one sign-in serves both pages
  const LANG_KEY = 'privacy.consoleLang';
  const SVG = 'http://www.w3.org/2000/svg';
  const OPEN = ['verified', 'in_progress', 'awaiting_team'];
  const CLOSED = ['completed', 'rejected', 'expired'];
  const LIFTABLE = ['restriction', 'objection'];
  const OUTCOMES = ['complied_in_whole', 'complied_in_part', 'denied', 'open'];
  const REASON_CODES = ['identity_not_verified', 'manifestly_unfounded', 'excessive', 'legal_exemption', 'other'];

  const TEXTS = {
    en: {
      title: 'Privacy console',
      tasksHeading: 'Tasks of other systems',
      noTasks: 'No other system is asked about this request.',
      colSystem: 'System',
      colKind: 'Kind',
      taskKinds: { act: 'Act', notify: 'Notify (Art. 19)' },
      taskStatuses: { pending: 'Pending', sent: 'Sent', done: 'Done', not_found: 'Nothing found', exempt: 'Exempt', failed: 'Failed' },
      answerLegend: (system) => `Record the answer of ${system}`,
      answerStatus: 'Answer',
      answerReason: 'Legal reason (required for an exemption)',
      answerSubmit: 'Record the answer',
      answerDone: (system) => `${system}: answer recorded.`,
      mailsHeading: 'Mails sent',
      noMails: 'No mail about this request is logged.',
      notesHeading: 'Notes',
      noNotes: 'No notes yet.',
      noteLabel: 'Note (personal data: removed with the request\'s address)',
      noteLegend: 'Add a note',
      noteSubmit: 'Add the note',
      noteAdded: (id) => `Request ${id}: note added.`,
      countsOnTime: 'On time, last 12 months',
      monthlyChart: 'Requests per month by outcome',
      monthlyChartTitle: (from, to) => `Requests received per month, ${from} to ${to}, by outcome`,
      noMonthlyFigures: 'No request was received in the last 12 months.',
      colMonth: 'Month',
      heading: 'Privacy console',
      navLabel: 'Demo',
      navOutbox: 'Outbox',
      navQueue: 'Request queue',
      navConsole: 'Console',
      switchTo: 'Svenska',
      switchLang: 'sv',
      signIn: 'Sign in',
      tokenLabel: 'Admin token',
      tokenHint: 'Kept in this browser tab only (sessionStorage) and sent to the admin API as a bearer token.',
      signInButton: 'Open the console',
      tokenRefused: 'The token was not accepted. Sign in again.',
      refresh: 'Refresh',
      signOut: 'Sign out',
      dashboard: 'Overview',
      requests: 'Requests',
      statusFilter: 'Status',
      allOpen: 'Open requests',
      allStatuses: 'Every status',
      show: 'Show',
      requestsCaption: 'Requests, soonest due first',
      colDue: 'Due',
      colDaysLeft: 'Days left',
      colType: 'Type',
      colStatus: 'Status',
      colReceived: 'Received',
      colRequest: 'Request',
      open: 'Open',
      openRequest: (id) => `Open request ${id}`,
      noRequests: 'No requests match.',
      timeline: 'Timeline',
      actionsHeading: 'Actions',
      backToList: 'Back to the list',
      detailTitle: (id) => `Request ${id}`,
      noEvents:
        'The admin API lists a request without its events; they are shown here with the answer to an action taken in this tab.',
      noActions: 'This request is closed: no action is left.',
      event: 'Event',
      at: 'When',
      by: 'By',
      note: 'Note',
      year: 'Year',
      downloadCsv: 'Download the report (CSV)',
      requestChart: 'Requests by type and outcome',
      requestChartNote:
        'The request report gives its figures per year and request type, not per month, so the chart shows each type received in the year by outcome.',
      requestChartTitle: (year) => `Requests received in ${year}, by type and outcome`,
      noRequestFigures: (year) => `No request was received in ${year}.`,
      consentChart: 'Opt-in rate per category',
      consentChartNote:
        'One line per category and policy version. A day with fewer than 10 choices, opt-ins or opt-outs has no point (the report shows such counts as "<10").',
      consentChartTitle: (from, to) => `Opt-in rate per day, ${from} to ${to}`,
      noConsentFigures: 'No day in this range has enough choices to show a rate.',
      from: 'From',
      to: 'To',
      proof: 'Proof of consent',
      consentId: 'Consent id',
      showProof: 'Show the proof',
      proofIntact: 'The hash chain is intact.',
      proofBroken: (at) => `The hash chain is broken at receipt ${at}.`,
      proofBrokenNoSeq: 'The hash chain is broken.',
      proofState: 'Latest state',
      proofCheckpoint: (n) => `Receipts up to ${n} are folded into a checkpoint.`,
      receiptsCaption: 'Receipts, oldest first',
      colSequence: 'No.',
      colAction: 'Action',
      colRecorded: 'Recorded',
      colPolicy: 'Policy',
      colAnalytics: 'Analytics',
      colMarketing: 'Marketing',
      colGpc: 'GPC',
      colSource: 'Source',
      colHash: 'Receipt SHA-256',
      yes: 'yes',
      withdrawn: 'withdrawn',
      no: 'no',
      figuresTable: 'The figures as a table',
      colCategory: 'Category',
      colDay: 'Day',
      colChoices: 'Choices',
      colOptedIn: 'Opted in',
      colRate: 'Opt-in rate',
      loading: 'Loading…',
      loaded: (n) => `${n} ${n === 1 ? 'request' : 'requests'} in the queue.`,
      failed: 'The console could not load. Try again.',
      actionFailed: 'The action failed. Try again.',
      unavailable: (path) => `This server does not offer ${path}.`,
      countsOpen: 'Open requests',
      countsDueSoon: 'Due within 7 days',
      countsOverdue: 'Overdue',
      countsReceivedYear: (year) => `Received in ${year}`,
      countsAnsweredYear: (year) => `Answered in ${year}`,
      days: (n) => `${n} ${n === 1 ? 'day' : 'days'}`,
      overdueBy: (n) => `${n} ${n === 1 ? 'day' : 'days'} overdue`,
      dueToday: 'due today',
      extended: 'extended',
      factType: 'Type',
      factJurisdiction: 'Jurisdiction',
      factStatus: 'Status',
      factReceived: 'Received',
      factDue: 'Due date',
      factDaysLeft: 'Days left',
      actions: {
        extend: { legend: 'Extend the deadline', field: 'reason', label: 'Reason for the extension (mailed to the requester)', submit: 'Extend the deadline', done: 'deadline extended' },
        complete: { legend: 'Complete', field: 'note', label: 'Note on how the request was fulfilled (mailed to the requester)', submit: 'Mark as completed', done: 'completed' },
        reject: { legend: 'Reject', field: 'reason', label: 'Reason for the rejection (mailed to the requester)', submit: 'Reject the request', done: 'rejected' },
        'lift-restriction': { legend: 'Lift the restriction', field: 'reason', label: 'Reason for lifting the restriction (the requester is told first)', submit: 'Lift the restriction', done: 'restriction lifted' },
      },
      reasonCode: 'Reason code (for the request report; not mailed)',
      reasonCodes: {
        identity_not_verified: 'Identity not verified',
        manifestly_unfounded: 'Manifestly unfounded',
        excessive: 'Excessive',
        legal_exemption: 'Legal exemption',
        other: 'Other',
      },
      actionDone: (id, done, due) => `Request ${id}: ${done}${due ? ` (due ${due})` : ''}.`,
      outcomes: { complied_in_whole: 'Complied with in whole', complied_in_part: 'Complied with in part', denied: 'Denied', open: 'Still open' },
      statuses: {
        awaiting_verification: 'Awaiting verification',
        verified: 'Verified',
        in_progress: 'In progress',
        awaiting_team: 'Awaiting the team',
        completed: 'Completed',
        rejected: 'Rejected',
        expired: 'Expired',
      },
      types: {
        access: 'Access',
        portability: 'Portability',
        rectification: 'Rectification',
        erasure: 'Erasure',
        restriction: 'Restriction',
        objection: 'Objection',
        source: 'Source of data',
        ccpa_know: 'CCPA: know',
        ccpa_delete: 'CCPA: delete',
        ccpa_correct: 'CCPA: correct',
        ccpa_opt_out: 'CCPA: opt out',
      },
      categories: { analytics: 'Analytics', marketing: 'Marketing' },
    },
    sv: {
      title: 'Integritetskonsol',
      tasksHeading: 'Uppgifter i andra system',
      noTasks: 'Inget annat system tillfrågas om ärendet.',
      colSystem: 'System',
      colKind: 'Slag',
      taskKinds: { act: 'Agera', notify: 'Underrätta (art. 19)' },
      taskStatuses: { pending: 'Väntar', sent: 'Skickad', done: 'Klar', not_found: 'Inget hittat', exempt: 'Undantagen', failed: 'Misslyckad' },
      answerLegend: (system) => `Registrera svaret från ${system}`,
      answerStatus: 'Svar',
      answerReason: 'Rättslig grund (krävs vid undantag)',
      answerSubmit: 'Registrera svaret',
      answerDone: (system) => `${system}: svaret registrerat.`,
      mailsHeading: 'Skickade mejl',
      noMails: 'Inget mejl om ärendet är loggat.',
      notesHeading: 'Anteckningar',
      noNotes: 'Inga anteckningar ännu.',
      noteLabel: 'Anteckning (personuppgift: tas bort med ärendets adress)',
      noteLegend: 'Lägg till en anteckning',
      noteSubmit: 'Lägg till anteckningen',
      noteAdded: (id) => `Ärende ${id}: anteckningen tillagd.`,
      countsOnTime: 'I tid, senaste 12 månaderna',
      monthlyChart: 'Ärenden per månad och utfall',
      monthlyChartTitle: (from, to) => `Ärenden mottagna per månad, ${from} till ${to}, efter utfall`,
      noMonthlyFigures: 'Inga ärenden kom in under de senaste 12 månaderna.',
      colMonth: 'Månad',
      heading: 'Integritetskonsol',
      navLabel: 'Demo',
      navOutbox: 'Utkorg',
      navQueue: 'Ärendekö',
      navConsole: 'Konsol',
      switchTo: 'English',
      switchLang: 'en',
      signIn: 'Logga in',
      tokenLabel: 'Administratörstoken',
      tokenHint: 'Sparas bara i den här fliken (sessionStorage) och skickas till admin-API:t som bearer-token.',
      signInButton: 'Öppna konsolen',
      tokenRefused: 'Token godtogs inte. Logga in igen.',
      refresh: 'Uppdatera',
      signOut: 'Logga ut',
      dashboard: 'Översikt',
      requests: 'Ärenden',
      statusFilter: 'Status',
      allOpen: 'Öppna ärenden',
      allStatuses: 'Alla statusar',
      show: 'Visa',
      requestsCaption: 'Ärenden, det som förfaller först överst',
      colDue: 'Förfaller',
      colDaysLeft: 'Dagar kvar',
      colType: 'Typ',
      colStatus: 'Status',
      colReceived: 'Mottaget',
      colRequest: 'Ärende',
      open: 'Öppna',
      openRequest: (id) => `Öppna ärende ${id}`,
      noRequests: 'Inga ärenden matchar.',
      timeline: 'Händelser',
      actionsHeading: 'Åtgärder',
      backToList: 'Tillbaka till listan',
      detailTitle: (id) => `Ärende ${id}`,
      noEvents:
        'Admin-API:t listar ärenden utan deras händelser; de visas här med svaret på en åtgärd som vidtagits i den här fliken.',
      noActions: 'Ärendet är avslutat: ingen åtgärd återstår.',
      event: 'Händelse',
      at: 'När',
      by: 'Av',
      note: 'Anteckning',
      year: 'År',
      downloadCsv: 'Ladda ned rapporten (CSV)',
      requestChart: 'Ärenden per typ och utfall',
      requestChartNote:
        'Ärenderapporten ger sina siffror per år och ärendetyp, inte per månad, så diagrammet visar varje typ som kommit in under året efter utfall.',
      requestChartTitle: (year) => `Ärenden mottagna ${year}, per typ och utfall`,
      noRequestFigures: (year) => `Inga ärenden kom in ${year}.`,
      consentChart: 'Andel samtycken per kategori',
      consentChartNote:
        'En linje per kategori och policyversion. En dag med färre än 10 val, samtycken eller avböjanden får ingen punkt (rapporten visar sådana antal som "<10").',
      consentChartTitle: (from, to) => `Andel samtycken per dag, ${from} till ${to}`,
      noConsentFigures: 'Ingen dag i perioden har tillräckligt många val för att visa en andel.',
      from: 'Från',
      to: 'Till',
      proof: 'Bevis på samtycke',
      consentId: 'Samtyckes-id',
      showProof: 'Visa beviset',
      proofIntact: 'Hashkedjan är obruten.',
      proofBroken: (at) => `Hashkedjan är bruten vid kvitto ${at}.`,
      proofBrokenNoSeq: 'Hashkedjan är bruten.',
      proofState: 'Senaste läge',
      proofCheckpoint: (n) => `Kvitton till och med ${n} är sammanslagna i en kontrollpunkt.`,
      receiptsCaption: 'Kvitton, äldst först',
      colSequence: 'Nr',
      colAction: 'Handling',
      colRecorded: 'Registrerat',
      colPolicy: 'Policy',
      colAnalytics: 'Statistik',
      colMarketing: 'Marknadsföring',
      colGpc: 'GPC',
      colSource: 'Källa',
      colHash: 'Kvittots SHA-256',
      yes: 'ja',
      withdrawn: 'återkallat',
      no: 'nej',
      figuresTable: 'Siffrorna som tabell',
      colCategory: 'Kategori',
      colDay: 'Dag',
      colChoices: 'Val',
      colOptedIn: 'Samtyckt',
      colRate: 'Andel samtycken',
      loading: 'Laddar…',
      loaded: (n) => `${n} ${n === 1 ? 'ärende' : 'ärenden'} i kön.`,
      failed: 'Konsolen kunde inte laddas. Försök igen.',
      actionFailed: 'Åtgärden misslyckades. Försök igen.',
      unavailable: (path) => `Servern erbjuder inte ${path}.`,
      countsOpen: 'Öppna ärenden',
      countsDueSoon: 'Förfaller inom 7 dagar',
      countsOverdue: 'Försenade',
      countsReceivedYear: (year) => `Mottagna ${year}`,
      countsAnsweredYear: (year) => `Besvarade ${year}`,
      days: (n) => `${n} ${n === 1 ? 'dag' : 'dagar'}`,
      overdueBy: (n) => `${n} ${n === 1 ? 'dag' : 'dagar'} försenat`,
      dueToday: 'förfaller i dag',
      extended: 'förlängt',
      factType: 'Typ',
      factJurisdiction: 'Jurisdiktion',
      factStatus: 'Status',
      factReceived: 'Mottaget',
      factDue: 'Sista dag',
      factDaysLeft: 'Dagar kvar',
      actions: {
        extend: { legend: 'Förläng tidsfristen', field: 'reason', label: 'Skäl till förlängningen (mejlas till den som frågat)', submit: 'Förläng tidsfristen', done: 'tidsfristen förlängd' },
        complete: { legend: 'Avsluta', field: 'note', label: 'Hur ärendet uppfylldes (mejlas till den som frågat)', submit: 'Markera som klart', done: 'klart' },
        reject: { legend: 'Avslå', field: 'reason', label: 'Skäl till avslaget (mejlas till den som frågat)', submit: 'Avslå ärendet', done: 'avslaget' },
        'lift-restriction': { legend: 'Häv begränsningen', field: 'reason', label: 'Skäl till att begränsningen hävs (den som frågat får veta först)', submit: 'Häv begränsningen', done: 'begränsningen hävd' },
      },
      reasonCode: 'Skälskod (för ärenderapporten; mejlas inte)',
      reasonCodes: {
        identity_not_verified: 'Identiteten inte styrkt',
        manifestly_unfounded: 'Uppenbart ogrundat',
        excessive: 'Orimligt',
        legal_exemption: 'Undantag i lag',
        other: 'Annat',
      },
      actionDone: (id, done, due) => `Ärende ${id}: ${done}${due ? ` (förfaller ${due})` : ''}.`,
      outcomes: { complied_in_whole: 'Helt tillmötesgånget', complied_in_part: 'Delvis tillmötesgånget', denied: 'Avslaget', open: 'Fortfarande öppet' },
      statuses: {
        awaiting_verification: 'Väntar på bekräftelse',
        verified: 'Bekräftat',
        in_progress: 'Pågår',
        awaiting_team: 'Väntar på teamet',
        completed: 'Klart',
        rejected: 'Avslaget',
        expired: 'Förfallet',
      },
      types: {
        access: 'Tillgång',
        portability: 'Dataportabilitet',
        rectification: 'Rättelse',
        erasure: 'Radering',
        restriction: 'Begränsning',
        objection: 'Invändning',
        source: 'Varifrån uppgifterna kommer',
        ccpa_know: 'CCPA: veta',
        ccpa_delete: 'CCPA: radera',
        ccpa_correct: 'CCPA: rätta',
        ccpa_opt_out: 'CCPA: avstå',
      },
      categories: { analytics: 'Statistik', marketing: 'Marknadsföring' },
    },
  };

  const $ = (selector) => document.querySelector(selector);
  const state = {
    lang: 'en',
    items: [], // the whole queue
    report: null, // the request report of state.year
    reportYear: null,
    consent: null, // the consent report
    proof: null,
    selected: null, // request id shown in the detail
    events: {}, // request id -> events from the answer to an action
    details: {}, // request id -> GET /admin/dsr/{id}
    monthly: null, // GET /admin/reports/requests/monthly
  };
  let T = TEXTS.en;

  function element(tag, attributes = {}, ...children) {
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

  function svg(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value == null) continue;
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value);
    }
    node.append(...children.filter((child) => child != null));
    return node;
  }

  function say(text, kind = '') {
    const status = $('#console-status');
    status.textContent = text;
    status.dataset.kind = kind;
  }

  const token = () => sessionStorage.getItem(KEY);

  async function call(method, path, body, accept = 'application/json') {
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

  function failureText(failure) {
    if (failure.json && failure.json.error) return failure.json.error.message;
    if (failure.status === 404 && failure.path) return T.unavailable(failure.path.split('?')[0]);
    return T.failed;
  }

  // Calendar dates in the controller's time zone.
  const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
  function day(value) {
    if (!value) return '';
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
    const date = new Date(value);
    return isNaN(date) ? String(value) : date.toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
  }
  function instant(value) {
    const date = new Date(value);
    return isNaN(date)
      ? String(value || '')
      : date.toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm', dateStyle: 'short', timeStyle: 'short' });
  }
  function addDays(isoDay, days) {
    const date = new Date(isoDay + 'T12:00:00Z');
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }
  const dayNumber = (isoDay) => Math.round(Date.parse(isoDay + 'T00:00:00Z') / 86400000);

  const typeName = (type) => T.types[type] || type || '';
  const statusName = (status) => T.statuses[status] || (status || '').replace(/_/g, ' ');
  const percent = (rate) => `${Math.round(rate * 1000) / 10} %`;
  // A SmallCount: a number, or "<10" shown as such (never as a number).
  const count = (value) => (typeof value === 'number' ? String(value) : String(value ?? ''));

  function daysLeft(item) {
    const days = item.days_left;
    if (typeof days !== 'number') return element('span', { text: '' });
    if (days < 0) return element('span', { class: 'overdue', text: T.overdueBy(-days) });
    if (days === 0) return element('span', { class: 'due-soon', text: T.dueToday });
    return element('span', { class: days <= 7 ? 'due-soon' : null, text: T.days(days) });
  }

  // ------------------------------------------------------------------ language

  function applyLanguage(lang) {
    state.lang = TEXTS[lang] ? lang : 'en';
    T = TEXTS[state.lang];
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

  async function loadQueue() {
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

  async function loadConsent(from, to) {
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

  async function loadDetail(id) {
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
    try {
      await Promise.all([
        loadQueue(),
        loadMonthly(),
        loadReport($('#report-year').value || today().slice(0, 4)),
        loadConsent($('#range-from').value, $('#range-to').value),
      ]);
    } catch (failure) {
      if (!failure.handled) say(failureText(failure), 'error');
      return false;
    }
    renderAll();
    say(T.loaded(state.items.length));
    return true;
  }

  // ------------------------------------------------------------------ rendering

  function renderAll() {
    renderCounts();
    renderList();
    renderDetail();
    renderRequestChart();
    renderMonthlyChart();
    renderConsentChart();
    renderProof();
  }

  function renderCounts() {
    const open = state.items.filter((item) => OPEN.includes(item.status));
    const figures = [['open', T.countsOpen, open.length]];
    for (const status of OPEN) {
      figures.push([status, statusName(status), open.filter((item) => item.status === status).length]);
    }
    figures.push(['due-soon', T.countsDueSoon, open.filter((item) => item.days_left >= 0 && item.days_left <= 7).length]);
    figures.push(['overdue', T.countsOverdue, open.filter((item) => item.days_left < 0).length]);
    if (state.report) {
      const rows = state.report.rows || [];
      const sum = (name) => rows.reduce((total, row) => total + (row[name] || 0), 0);
      figures.push(['received-year', T.countsReceivedYear(state.report.year), sum('received')]);
      figures.push(['answered-year', T.countsAnsweredYear(state.report.year), sum('responded')]);
    }
    if (state.monthly && state.monthly.on_time) {
      const { rate } = state.monthly.on_time;
      figures.push(['on-time', T.countsOnTime, typeof rate === 'number' ? percent(rate) : '–']);
    }
    $('#counts').replaceChildren(
      ...figures.map(([name, label, value]) =>
        element('div', { class: 'count', 'data-count': name }, element('dt', { text: label }), element('dd', { text: String(value) })),
      ),
    );
  }

  function renderList() {
    const filter = $('#filter-status').value;
    const items = state.items.filter((item) =>
      filter === 'all' ? true : filter ? item.status === filter : OPEN.includes(item.status),
    );
    const tbody = $('#request-table tbody');
    if (!items.length) {
      tbody.replaceChildren(element('tr', {}, element('td', { colspan: '6', text: T.noRequests })));
      return;
    }
    tbody.replaceChildren(
      ...items.map((item) =>
        element(
          'tr',
          { 'data-request-id': item.request_id, 'data-status': item.status },
          element('td', { class: 'nowrap', text: day(item.due_on) }),
          element('td', { class: 'nowrap' }, daysLeft(item)),
          element('td', { text: typeName(item.type) }),
          element('td', { text: statusName(item.status) + (item.extended ? ` (${T.extended})` : '') }),
          element('td', { class: 'nowrap', text: day(item.received_at) }),
          element(
            'td',
            {},
            element('button', {
              type: 'button',
              class: 'secondary link-button',
              'aria-label': T.openRequest(item.request_id),
              onclick: () => openDetail(item.request_id),
              text: T.open,
            }),
            ' ',
            element('code', { text: item.request_id }),
          ),
        ),
      ),
    );
  }

  async function openDetail(id) {
    state.selected = id;
    renderDetail();
    $('#detail').scrollIntoView({ block: 'start' });
    $('#detail-title').focus();
    try {
      await loadDetail(id);
    } catch (failure) {
      return;
    }
    if (state.selected === id) renderDetail();
  }

  function closeDetail() {
    const id = state.selected;
    state.selected = null;
    renderDetail();
    const button = id && document.querySelector(`tr[data-request-id="${CSS.escape(id)}"] button`);
    (button || $('#requests-title')).focus();
  }

  function renderDetail() {
    const section = $('#detail');
    const listed = state.items.find((entry) => entry.request_id === state.selected);
    const item = listed && { ...listed, ...(state.details[listed.request_id] || {}) };
    if (!item) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    section.dataset.requestId = item.request_id;
    $('#detail-title').textContent = T.detailTitle(item.request_id);
    const facts = [
      [T.factType, typeName(item.type) + (item.scope ? ` (${item.scope})` : '')],
      [T.factJurisdiction, (item.jurisdiction || '').toUpperCase()],
      [T.factStatus, statusName(item.status) + (item.extended ? ` (${T.extended})` : '')],
      [T.factReceived, instant(item.received_at)],
      [T.factDue, day(item.due_on)],
      [T.factDaysLeft, daysLeft(item)],
    ];
    $('#detail-facts').replaceChildren(
      ...facts.flatMap(([label, value]) => [element('dt', { text: label }), element('dd', {}, value)]),
    );
    const events = state.events[item.request_id];
    $('#detail-timeline').replaceChildren(
      events && events.length
        ? element(
            'ol',
            { class: 'timeline' },
            ...events.map((event) =>
              element(
                'li',
                { 'data-event': event.event },
                element('time', { datetime: event.at, text: instant(event.at) }),
                ' ',
                element('strong', { text: event.event.replace(/_/g, ' ') }),
                ` (${event.by})`,
                event.note ? element('p', { class: 'event-note', text: event.note }) : null,
              ),
            ),
          )
        : element('p', { class: 'optional', text: T.noEvents }),
    );
    renderTasks(item);
    renderMails(item);
    renderNotes(item);
    const forms = [];
    if (!CLOSED.includes(item.status)) forms.push('extend', 'complete', 'reject');
    if (LIFTABLE.includes(item.type)) forms.push('lift-restriction');
    $('#detail-actions').replaceChildren(
      ...(forms.length ? forms.map((action) => actionForm(item, action)) : [element('p', { text: T.noActions })]),
    );
  }

  const systemName = (task) => task.system_name || task.system;

  function renderTasks(item) {
    const detail = state.details[item.request_id];
    const tasks = (detail && detail.tasks) || [];
    const holder = $('#detail-tasks');
    if (!tasks.length) {
      holder.replaceChildren(element('p', { class: 'optional', text: detail ? T.noTasks : T.loading }));
      return;
    }
    const table = element(
      'table',
      { id: 'task-table' },
      element('caption', { class: 'visually-hidden', text: T.tasksHeading }),
      element(
        'thead',
        {},
        element(
          'tr',
          {},
          ...[T.colSystem, T.colKind, T.colStatus, T.colDue].map((text) => element('th', { scope: 'col', text })),
        ),
      ),
      element(
        'tbody',
        {},
        ...tasks.map((task) =>
          element(
            'tr',
            { 'data-task-id': task.task_id, 'data-status': task.status },
            element('th', { scope: 'row', text: systemName(task) }),
            element('td', { text: T.taskKinds[task.kind] || task.kind }),
            element('td', { text: (T.taskStatuses[task.status] || task.status) + (task.reason ? ` (${task.reason})` : '') }),
            element('td', { class: 'nowrap', text: day(task.due_on) }),
          ),
        ),
      ),
    );
    const open = tasks.filter((task) => !['done', 'not_found', 'exempt'].includes(task.status));
    holder.replaceChildren(
      element('div', { class: 'table-wrap' }, table),
      ...open.map((task) => answerForm(item, task)),
    );
  }

  function answerForm(item, task) {
    const id = item.request_id;
    const key = task.system.replace(/[^a-z0-9_]/g, '');
    const statusId = `answer-${key}-status`;
    const reasonId = `answer-${key}-reason`;
    const select = element(
      'select',
      { id: statusId, name: 'status', 'aria-describedby': statusId + '-error' },
      ...['done', 'not_found', 'exempt'].map((value) => element('option', { value, text: T.taskStatuses[value] })),
    );
    const reason = element('textarea', { id: reasonId, name: 'reason', rows: '2', maxlength: '1000', 'aria-describedby': reasonId + '-error' });
    const form = element(
      'form',
      { class: 'side-form answer-form', 'data-task-id': task.task_id },
      element(
        'fieldset',
        {},
        element('legend', { text: T.answerLegend(systemName(task)) }),
        task.instructions ? element('p', { class: 'instructions', text: task.instructions }) : null,
        element('div', { class: 'field' }, element('label', { for: statusId, text: T.answerStatus }), select, element('p', { class: 'field-error', id: statusId + '-error' })),
        element('div', { class: 'field' }, element('label', { for: reasonId, text: T.answerReason }), reason, element('p', { class: 'field-error', id: reasonId + '-error' })),
        element('button', { type: 'submit', text: T.answerSubmit }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { status: select.value };
      if (reason.value.trim()) body.reason = reason.value.trim();
      await submitForm(form, `/admin/dsr/${encodeURIComponent(id)}/tasks/${encodeURIComponent(task.task_id)}`, body, async () => {
        await loadDetail(id);
        await loadQueue();
        renderAll();
        say(T.answerDone(systemName(task)), 'success');
        $('#detail-title').focus();
      });
    });
    return form;
  }

  function renderMails(item) {
    const detail = state.details[item.request_id];
    const mails = (detail && detail.mails) || [];
    $('#detail-mails').replaceChildren(
      mails.length
        ? element(
            'ul',
            { class: 'mail-list' },
            ...mails.map((mail) =>
              element('li', { 'data-kind': mail.kind }, element('time', { datetime: mail.at, text: instant(mail.at) }), ' ', element('code', { text: mail.kind }), mail.status === 'sent' ? null : ` (${mail.status})`),
            ),
          )
        : element('p', { class: 'optional', text: detail ? T.noMails : T.loading }),
    );
  }

  function renderNotes(item) {
    const id = item.request_id;
    const detail = state.details[id];
    const notes = (detail && detail.notes) || [];
    const textarea = element('textarea', { id: 'note-text', name: 'text', rows: '3', required: '', maxlength: '2000', 'aria-describedby': 'note-text-error' });
    const form = element(
      'form',
      { class: 'side-form note-form' },
      element(
        'fieldset',
        {},
        element('legend', { text: T.noteLegend }),
        element('div', { class: 'field' }, element('label', { for: 'note-text', text: T.noteLabel }), textarea, element('p', { class: 'field-error', id: 'note-text-error' })),
        element('button', { type: 'submit', text: T.noteSubmit }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      await submitForm(form, `/admin/dsr/${encodeURIComponent(id)}/notes`, { text: textarea.value.trim() }, async (answer) => {
        if (state.details[id] && answer && Array.isArray(answer.notes)) state.details[id].notes = answer.notes;
        renderDetail();
        say(T.noteAdded(id), 'success');
        $('#note-text').focus();
      });
    });
    $('#detail-notes').replaceChildren(
      notes.length
        ? element(
            'ol',
            { class: 'notes' },
            ...notes.map((note) =>
              element('li', {}, element('time', { datetime: note.at, text: instant(note.at) }), ` (${note.by})`, element('p', { class: 'event-note', text: note.text })),
            ),
          )
        : element('p', { class: 'optional', text: T.noNotes }),
      detail ? form : null,
    );
  }

  /** Posts a form's body; a refusal is shown by the field it names, else in the status line. */
  async function submitForm(form, path, body, done) {
    for (const node of form.querySelectorAll('.field-error')) node.textContent = '';
    for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answer = await call('POST', path, body);
      await done(answer);
    } catch (failure) {
      button.disabled = false;
      if (failure.handled) return;
      const detail = failure.json && failure.json.error;
      const target = detail && detail.field && form.querySelector(`[name="${CSS.escape(detail.field)}"]`);
      if (target) {
        target.setAttribute('aria-invalid', 'true');
        form.querySelector('#' + CSS.escape(target.id + '-error')).textContent = detail.message;
        target.focus();
      } else {
        say(detail ? detail.message : T.actionFailed, 'error');
      }
    }
  }

  function actionForm(item, action) {
    const spec = T.actions[action];
    const id = item.request_id;
    const fieldId = `action-${action}`;
    const textarea = element('textarea', {
      id: fieldId,
      name: spec.field,
      rows: '2',
      required: '',
      maxlength: '2000',
      'aria-describedby': fieldId + '-error',
    });
    const error = element('p', { class: 'field-error', id: fieldId + '-error' });
    const fields = [element('div', { class: 'field' }, element('label', { for: fieldId, text: spec.label }), textarea, error)];
    let code;
    if (action === 'reject') {
      code = element(
        'select',
        { id: 'action-reject-code', name: 'reason_code', 'aria-describedby': 'action-reject-code-error' },
        ...REASON_CODES.map((value) => element('option', { value, text: T.reasonCodes[value] })),
      );
      code.value = 'other';
      fields.push(
        element(
          'div',
          { class: 'field' },
          element('label', { for: 'action-reject-code', text: T.reasonCode }),
          code,
          element('p', { class: 'field-error', id: 'action-reject-code-error' }),
        ),
      );
    }
    const form = element(
      'form',
      { class: 'action-form', 'data-action': action },
      element('fieldset', {}, element('legend', { text: spec.legend }), ...fields, element('button', { type: 'submit', text: spec.submit })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const node of form.querySelectorAll('.field-error')) node.textContent = '';
      for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
      const body = { [spec.field]: textarea.value.trim() };
      if (code) body.reason_code = code.value;
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        const answer = await call('POST', `/admin/dsr/${encodeURIComponent(id)}/${action}`, body);
        if (answer && Array.isArray(answer.events)) state.events[id] = answer.events;
        await Promise.all([loadQueue(), loadDetail(id)]);
        renderAll();
        say(T.actionDone(id, spec.done, answer && answer.due_on ? day(answer.due_on) : ''), 'success');
        $('#detail-title').focus();
      } catch (failure) {
        button.disabled = false;
        if (failure.handled) return;
        const detail = failure.json && failure.json.error;
        const target = detail && detail.field && form.querySelector(`[name="${CSS.escape(detail.field)}"]`);
        if (target) {
          target.setAttribute('aria-invalid', 'true');
          form.querySelector('#' + CSS.escape(target.id + '-error')).textContent = detail.message;
          target.focus();
        } else {
          say(detail ? detail.message : T.actionFailed, 'error');
        }
      }
    });
    return form;
  }

  function figureCaption(figure, title, table) {
    return [
      element('figcaption', { class: 'visually-hidden', text: title }),
      element('details', { class: 'chart-table' }, element('summary', { text: T.figuresTable }), table),
    ];
  }

  // Requests by type: one horizontal bar per type received, in segments by outcome.
  function renderRequestChart() {
    const figure = $('#request-chart-figure');
    $('#request-chart-note').textContent = T.requestChartNote;
    const report = state.report;
    if (!report) return figure.replaceChildren();
    const rows = (report.rows || []).filter((row) => row.received > 0);
    if (!rows.length) {
      figure.replaceChildren(element('p', { class: 'chart-empty', text: T.noRequestFigures(report.year) }));
      return;
    }
    const width = 720;
    const labelWidth = 170;
    const barHeight = 22;
    const gap = 10;
    const top = 10;
    const legendHeight = 30;
    const height = top + rows.length * (barHeight + gap) + 24 + legendHeight;
    const max = Math.max(...rows.map((row) => row.received));
    const scale = (width - labelWidth - 50) / max;
    const title = T.requestChartTitle(report.year);
    const chart = svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'request-svg-title', class: 'chart-svg', 'data-chart': 'requests' },
      svg('title', { id: 'request-svg-title', text: title }),
    );
    rows.forEach((row, index) => {
      const y = top + index * (barHeight + gap);
      chart.append(svg('text', { x: labelWidth - 8, y: y + barHeight / 2, class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: typeName(row.type) }));
      let x = labelWidth;
      for (const outcome of OUTCOMES) {
        const value = row[outcome] || 0;
        if (!value) continue;
        const w = value * scale;
        chart.append(
          svg(
            'rect',
            { x, y, width: w, height: barHeight, class: `bar outcome-${outcome}`, 'data-type': row.type, 'data-outcome': outcome, 'data-value': value },
            svg('title', { text: `${typeName(row.type)}: ${T.outcomes[outcome]} ${value}` }),
          ),
        );
        x += w;
      }
      chart.append(svg('text', { x: x + 6, y: y + barHeight / 2, class: 'bar-total', 'dominant-baseline': 'middle', text: String(row.received) }));
    });
    const axisY = top + rows.length * (barHeight + gap);
    chart.append(svg('line', { x1: labelWidth, x2: labelWidth, y1: top - 4, y2: axisY, class: 'axis' }));
    let lx = labelWidth;
    for (const outcome of OUTCOMES) {
      chart.append(svg('rect', { x: lx, y: axisY + 14, width: 12, height: 12, class: `legend-swatch outcome-${outcome}` }));
      chart.append(svg('text', { x: lx + 16, y: axisY + 20, class: 'legend-label', 'dominant-baseline': 'middle', text: T.outcomes[outcome] }));
      lx += 16 + T.outcomes[outcome].length * 7 + 18;
    }
    const table = element(
      'table',
      {},
      element('caption', { text: title }),
      element(
        'thead',
        {},
        element('tr', {}, element('th', { scope: 'col', text: T.colType }), ...OUTCOMES.map((outcome) => element('th', { scope: 'col', text: T.outcomes[outcome] }))),
      ),
      element(
        'tbody',
        {},
        ...rows.map((row) =>
          element('tr', {}, element('th', { scope: 'row', text: typeName(row.type) }), ...OUTCOMES.map((outcome) => element('td', { text: String(row[outcome] || 0) }))),
        ),
      ),
    );
    figure.replaceChildren(chart, ...figureCaption(figure, title, table));
  }

  // Requests per month: one vertical bar per month received, in segments by outcome.
  function renderMonthlyChart() {
    const figure = $('#monthly-chart-figure');
    const report = state.monthly;
    if (!report || !Array.isArray(report.months)) return figure.replaceChildren();
    const months = report.months;
    const title = T.monthlyChartTitle(report.from, report.through);
    if (!months.some((month) => month.received > 0)) {
      figure.replaceChildren(element('p', { class: 'chart-empty', text: T.noMonthlyFigures }));
      return;
    }
    const width = 720;
    const left = 40;
    const top = 12;
    const plot = 200;
    const slot = (width - left - 10) / months.length;
    const barWidth = slot * 0.6;
    const height = top + plot + 28 + 30;
    const max = Math.max(...months.map((month) => month.received));
    const scale = plot / max;
    const chart = svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'monthly-svg-title', class: 'chart-svg', 'data-chart': 'monthly' },
      svg('title', { id: 'monthly-svg-title', text: title }),
    );
    const base = top + plot;
    chart.append(svg('line', { x1: left, x2: width - 10, y1: base, y2: base, class: 'axis' }));
    chart.append(svg('text', { x: left - 6, y: top, class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: String(max) }));
    chart.append(svg('text', { x: left - 6, y: base, class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: '0' }));
    months.forEach((month, index) => {
      const x = left + index * slot + (slot - barWidth) / 2;
      let y = base;
      for (const outcome of OUTCOMES) {
        const value = month[outcome] || 0;
        if (!value) continue;
        const h = value * scale;
        y -= h;
        chart.append(
          svg(
            'rect',
            { x, y, width: barWidth, height: h, class: `bar outcome-${outcome}`, 'data-month': month.month, 'data-outcome': outcome, 'data-value': value },
            svg('title', { text: `${month.month}: ${T.outcomes[outcome]} ${value}` }),
          ),
        );
      }
      chart.append(svg('text', { x: x + barWidth / 2, y: base + 14, class: 'axis-label', 'text-anchor': 'middle', text: month.month.slice(2) }));
    });
    let lx = left;
    for (const outcome of OUTCOMES) {
      chart.append(svg('rect', { x: lx, y: base + 26, width: 12, height: 12, class: `legend-swatch outcome-${outcome}` }));
      chart.append(svg('text', { x: lx + 16, y: base + 32, class: 'legend-label', 'dominant-baseline': 'middle', text: T.outcomes[outcome] }));
      lx += 16 + T.outcomes[outcome].length * 7 + 18;
    }
    const table = element(
      'table',
      {},
      element('caption', { text: title }),
      element(
        'thead',
        {},
        element('tr', {}, element('th', { scope: 'col', text: T.colMonth }), ...OUTCOMES.map((outcome) => element('th', { scope: 'col', text: T.outcomes[outcome] }))),
      ),
      element(
        'tbody',
        {},
        ...months.map((month) =>
          element('tr', {}, element('th', { scope: 'row', text: month.month }), ...OUTCOMES.map((outcome) => element('td', { text: String(month[outcome] || 0) }))),
        ),
      ),
    );
    figure.replaceChildren(chart, ...figureCaption(figure, title, table));
  }

  // Opt-in rate per day: one line per category and policy version; only rates the report gives
  // (null where a count is under 10) become points, so a "<10" cell is never drawn.
  function renderConsentChart() {
    const figure = $('#consent-chart-figure');
    $('#consent-chart-note').textContent = T.consentChartNote;
    const report = state.consent;
    if (!report) return figure.replaceChildren();
    const series = new Map();
    for (const row of report.rows || []) {
      const key = `${row.category}\u0000${row.policy_version}`;
      if (!series.has(key)) series.set(key, { category: row.category, policy: row.policy_version, rows: [] });
      series.get(key).rows.push(row);
    }
    const lines = [...series.values()].sort((a, b) => (a.category + a.policy).localeCompare(b.category + b.policy));
    for (const line of lines) line.rows.sort((a, b) => a.day.localeCompare(b.day));
    const drawn = lines.filter((line) => line.rows.some((row) => typeof row.opt_in_rate === 'number'));
    const title = T.consentChartTitle(report.from, report.to);
    const table = element(
      'table',
      {},
      element('caption', { text: title }),
      element(
        'thead',
        {},
        element(
          'tr',
          {},
          ...[T.colDay, T.colCategory, T.colPolicy, T.colChoices, T.colOptedIn, T.colRate].map((text) => element('th', { scope: 'col', text })),
        ),
      ),
      element(
        'tbody',
        {},
        ...(report.rows || []).map((row) =>
          element(
            'tr',
            {},
            element('td', { text: row.day }),
            element('td', { text: T.categories[row.category] || row.category }),
            element('td', { text: row.policy_version }),
            element('td', { text: count(row.choices) }),
            element('td', { text: count(row.opted_in) }),
            element('td', { text: typeof row.opt_in_rate === 'number' ? percent(row.opt_in_rate) : '–' }),
          ),
        ),
      ),
    );
    if (!drawn.length) {
      figure.replaceChildren(element('p', { class: 'chart-empty', text: T.noConsentFigures }), ...figureCaption(figure, title, table));
      return;
    }
    const width = 720;
    const height = 300;
    const left = 48;
    const right = 16;
    const top = 12;
    const bottom = 40;
    const first = dayNumber(report.from);
    const span = Math.max(1, dayNumber(report.to) - first);
    const xOf = (isoDay) => left + ((dayNumber(isoDay) - first) / span) * (width - left - right);
    const yOf = (rate) => top + (1 - rate) * (height - top - bottom);
    const chart = svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'consent-svg-title', class: 'chart-svg', 'data-chart': 'consent' },
      svg('title', { id: 'consent-svg-title', text: title }),
    );
    for (const rate of [0, 0.25, 0.5, 0.75, 1]) {
      chart.append(svg('line', { x1: left, x2: width - right, y1: yOf(rate), y2: yOf(rate), class: rate === 0 ? 'axis' : 'grid' }));
      chart.append(svg('text', { x: left - 6, y: yOf(rate), class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: `${rate * 100} %` }));
    }
    chart.append(svg('text', { x: left, y: height - bottom + 18, class: 'axis-label', text: report.from }));
    chart.append(svg('text', { x: width - right, y: height - bottom + 18, class: 'axis-label', 'text-anchor': 'end', text: report.to }));
    const legend = element('ul', { class: 'chart-legend' });
    drawn.forEach((line, index) => {
      const name = `${T.categories[line.category] || line.category} (${line.policy})`;
      const group = svg('g', { class: `series series-${index % 6}`, 'data-category': line.category, 'data-policy': line.policy });
      // A path broken where a day has no rate: no line is drawn across a suppressed day.
      let path = '';
      let previous = null;
      for (const row of line.rows) {
        if (typeof row.opt_in_rate !== 'number') {
          previous = null;
          continue;
        }
        const command = previous && dayNumber(row.day) - dayNumber(previous) === 1 ? 'L' : 'M';
        path += `${command}${xOf(row.day).toFixed(1)},${yOf(row.opt_in_rate).toFixed(1)} `;
        previous = row.day;
      }
      group.append(svg('path', { d: path.trim(), class: 'line' }));
      for (const row of line.rows) {
        if (typeof row.opt_in_rate !== 'number') continue;
        group.append(
          svg(
            'circle',
            { cx: xOf(row.day), cy: yOf(row.opt_in_rate), r: 4, class: 'point', 'data-day': row.day, 'data-rate': row.opt_in_rate },
            svg('title', { text: `${name}, ${row.day}: ${percent(row.opt_in_rate)}` }),
          ),
        );
      }
      chart.append(group);
      legend.append(element('li', { class: `series-${index % 6}` }, element('span', { class: 'swatch', 'aria-hidden': 'true' }), name));
    });
    figure.replaceChildren(chart, legend, ...figureCaption(figure, title, table));
  }

  function renderProof() {
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

  // ------------------------------------------------------------------ forms and sign-in

  function fieldError(input, message) {
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

  async function showProof(event) {
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

  async function showRange(event) {
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

  async function showYear(event) {
    event.preventDefault();
    try {
      await loadReport($('#report-year').value);
      renderCounts();
      renderRequestChart();
    } catch (failure) {
      if (!failure.handled) say(failureText(failure), 'error');
    }
  }

  async function downloadCsv() {
    const year = $('#report-year').value;
    try {
      const csv = await call('GET', '/admin/reports/requests?' + new URLSearchParams({ year }), null, 'text/csv');
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      const link = element('a', { href: url, download: `requests-${year}.csv`, hidden: '' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (failure) {
      if (!failure.handled) say(failureText(failure), 'error');
    }
  }

  function signedIn() {
    $('#signin').hidden = true;
    $('#console').hidden = false;
    return loadAll();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    Object.assign(state, { items: [], report: null, consent: null, proof: null, selected: null, events: {}, details: {}, monthly: null });
    $('#console').hidden = true;
    $('#signin').hidden = false;
    const input = $('#admin-token');
    input.value = '';
    $('#admin-token-error').textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    input.focus();
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
    $('#range-form').addEventListener('submit', showRange);
    $('#year-form').addEventListener('submit', showYear);
    $('#report-csv').addEventListener('click', downloadCsv);
    if (token()) signedIn();
  }

  setUp();
})();
