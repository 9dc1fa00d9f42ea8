/*! detail.js: a request's detail (facts, timeline, tasks, mails, notes) and its actions. */

import { loadDetail, loadQueue, renderAll } from './console.js';
import { $, CLOSED, LIFTABLE, REASON_CODES, T, call, day, daysLeft, element, instant, redraw, say, state, statusName, typeName } from './core.js';

export async function openDetail(id) {
  state.selected = id;
  renderDetail();
  $('#detail').scrollIntoView({ block: 'start' });
  $('#detail-title').focus();
  try {
    await loadDetail(id);
  } catch (failure) {
    return;
  }
  // Drawn again with what was loaded; the action forms stay as they are (see redraw).
  if (state.selected === id) renderDetail();
}

export function closeDetail() {
  const id = state.selected;
  state.selected = null;
  renderDetail();
  const button = id && document.querySelector(`tr[data-request-id="${CSS.escape(id)}"] button`);
  (button || $('#requests-title')).focus();
}

export function renderDetail() {
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
  redraw($('#detail-actions'), [state.lang, item.request_id, ...forms].join(' '), () =>
    forms.length ? forms.map((action) => actionForm(item, action)) : [element('p', { text: T.noActions })],
  );
}

export const systemName = (task) => task.system_name || task.system;

export function renderTasks(item) {
  const detail = state.details[item.request_id];
  const tasks = (detail && detail.tasks) || [];
  const key = [state.lang, item.request_id, detail ? JSON.stringify(tasks) : 'loading'].join(' ');
  redraw($('#detail-tasks'), key, () => (tasks.length ? taskTable(item, tasks) : [element('p', { class: 'optional', text: detail ? T.noTasks : T.loading })]));
}

function taskTable(item, tasks) {
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
  return [element('div', { class: 'table-wrap' }, table), ...open.map((task) => answerForm(item, task))];
}

export function answerForm(item, task) {
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

export function renderMails(item) {
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

export function renderNotes(item) {
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
  redraw($('#detail-notes'), [state.lang, id, detail ? JSON.stringify(notes) : 'loading'].join(' '), () => [
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
  ]);
}

/** Posts a form's body; a refusal is shown by the field it names, else in the status line. */
export async function submitForm(form, path, body, done) {
  for (const node of form.querySelectorAll('.field-error')) node.textContent = '';
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const answer = await call('POST', path, body);
    // Done: the form is empty again, in case it stays drawn (see redraw).
    form.reset();
    button.disabled = false;
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

export function actionForm(item, action) {
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
      ...REASON_CODES.map((value) => element('option', { value, text: T.reasonCodes[value], selected: value === 'other' ? '' : null })),
    );
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
    const body = { [spec.field]: textarea.value.trim() };
    if (code) body.reason_code = code.value;
    await submitForm(form, `/admin/dsr/${encodeURIComponent(id)}/${action}`, body, async (answer) => {
      if (answer && Array.isArray(answer.events)) state.events[id] = answer.events;
      await Promise.all([loadQueue(), loadDetail(id)]);
      renderAll();
      say(T.actionDone(id, spec.done, answer && answer.due_on ? day(answer.due_on) : ''), 'success');
      $('#detail-title').focus();
    });
  });
  return form;
}
