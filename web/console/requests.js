/*! requests.js: the console's counts and its request list. */

import { $, OPEN, T, count, day, daysLeft, element, percent, state, statusName, typeName } from './core.js';
import { openDetail } from './detail.js';

export function renderCounts() {
  const open = state.items.filter((item) => OPEN.includes(item.status));
  const figures = [['open', T.countsOpen, open.length]];
  for (const status of OPEN) {
    figures.push([status, statusName(status), open.filter((item) => item.status === status).length]);
  }
  figures.push(['due-soon', T.countsDueSoon, open.filter((item) => item.days_left >= 0 && item.days_left <= 7).length]);
  figures.push(['overdue', T.countsOverdue, open.filter((item) => item.days_left < 0).length]);
  // The other systems' open tasks, per system (from the queue's entries).
  const openTasks = new Map();
  for (const task of open.flatMap((item) => item.tasks || [])) {
    if (['pending', 'sent', 'failed'].includes(task.status)) openTasks.set(task.system, (openTasks.get(task.system) || 0) + 1);
  }
  for (const [system, number] of [...openTasks].sort(([a], [b]) => a.localeCompare(b))) {
    figures.push([`tasks-${system}`, T.countsTasks(system), number]);
  }
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

export function renderList() {
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
