/*! charts.js: the console's charts, drawn as plain SVG. */

import { $, OUTCOMES, T, count, day, dayNumber, element, percent, state, svg, typeName } from './core.js';

export function figureCaption(figure, title, table) {
  return [
    element('figcaption', { class: 'visually-hidden', text: title }),
    element('details', { class: 'chart-table' }, element('summary', { text: T.figuresTable }), table),
  ];
}

// Requests by type: one horizontal bar per type received, in segments by outcome.
export function renderRequestChart() {
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
export function renderMonthlyChart() {
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
export function renderConsentChart() {
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
