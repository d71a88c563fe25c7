/**
 * The watch page: pick a channel (its publications, joins and leaves) or a user (its connects,
 * subscriptions and disconnects on any node) and see them arrive live, newest first, through the
 * admin connection's `/admin/trace` stream. Keeps the last MAX_SHOWN events; every value is shown
 * as text.
 */
import { trace, type TraceLine } from './api.js';
import { append, clear, el } from './dom.js';
import type { Page } from './pages.js';

const MAX_SHOWN = 500;

/** The line's summary fields, in the order shown; the rest (data, info, tags) goes in a block. */
const SUMMARY = ['channel', 'user', 'client', 'node', 'transport', 'offset', 'code', 'reason'] as const;
const DETAIL = ['data', 'info', 'tags'] as const;

function entry(l: TraceLine): HTMLElement {
  const time = typeof l.time === 'number' ? new Date(l.time).toLocaleTimeString() : '';
  const summary = el('span', { class: 'summary' });
  for (const k of SUMMARY) {
    const v = l[k];
    if (v === undefined || v === '') continue;
    append(summary, el('span', { class: 'field' }, el('span', { class: 'muted' }, `${k} `), String(v)));
  }
  const detail: Record<string, unknown> = {};
  for (const k of DETAIL) if (l[k] !== undefined) detail[k] = l[k];
  const block = Object.keys(detail).length > 0 ? el('pre', { class: 'payload' }, JSON.stringify(detail.data !== undefined && Object.keys(detail).length === 1 ? detail.data : detail, null, 2)) : null;
  return el('li', { class: 'event', 'data-type': l.type }, el('span', { class: 'time muted' }, time), el('span', { class: `kind kind-${l.type}` }, l.type), summary, block);
}

export function watchPage(onError: (e: unknown) => void): Page {
  const type = el('select', { id: 'watch-type', 'aria-label': 'what to watch' }, el('option', { value: 'channel' }, 'Channel'), el('option', { value: 'user' }, 'User'));
  const entity = el('input', { id: 'watch-entity', type: 'text', required: '', 'aria-label': 'channel or user ID', placeholder: 'chat:index', autocomplete: 'off', spellcheck: 'false' });
  const button = el('button', { type: 'submit', id: 'watch-start' }, 'Watch');
  const clearButton = el('button', { type: 'button', class: 'ghost', id: 'watch-clear' }, 'Clear');
  const status = el('p', { class: 'muted', id: 'watch-status', role: 'status' }, 'Pick a channel or a user to watch.');
  const list = el('ol', { class: 'events', id: 'watch-events', reversed: '' });
  let running: AbortController | undefined;

  type.addEventListener('change', () => (entity.placeholder = type.value === 'user' ? 'user ID' : 'chat:index'));
  clearButton.addEventListener('click', () => clear(list));

  const stop = (why: string): void => {
    running?.abort();
    running = undefined;
    button.textContent = 'Watch';
    type.disabled = false;
    entity.disabled = false;
    status.textContent = why;
  };

  const start = (): void => {
    const what = type.value === 'user' ? 'user' : 'channel';
    const name = entity.value;
    const controller = new AbortController();
    running = controller;
    button.textContent = 'Stop';
    type.disabled = true;
    entity.disabled = true;
    status.textContent = `Connecting to ${what} ${name}…`;
    trace(what, name, controller.signal, (l) => {
      if (l.type === 'start') {
        status.textContent = `Watching ${what} ${name} through node ${String(l['node'])}.`;
        status.dataset['state'] = 'watching';
        return;
      }
      if (l.type === 'ping') return;
      if (l.type === 'end') return stop(`Stopped by the server: ${String(l['reason'])}.`);
      list.insertBefore(entry(l), list.firstChild);
      while (list.childElementCount > MAX_SHOWN) list.lastElementChild?.remove();
    }).then(
      () => {
        if (running === controller) stop('The stream ended.');
      },
      (e: unknown) => {
        if (running === controller) stop(e instanceof Error ? `Refused: ${e.message}` : 'Refused.');
        onError(e);
      },
    );
  };

  const form = el('form', { class: 'filter watch' }, type, entity, button, clearButton);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    delete status.dataset['state'];
    if (running !== undefined) return stop('Stopped.');
    if (entity.value !== '') start();
  });
  return {
    root: el('section', { 'aria-label': 'watch' }, el('h2', {}, 'Watch'), form, status, list),
    stop() {
      running?.abort();
      running = undefined;
    },
  };
}
