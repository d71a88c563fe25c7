/**
 * The pages: status (every node, live charts), actions (any server API method with a JSON editor
 * that validates), channels (the cluster's channels by pattern). Each returns its root element and
 * a stop function for its timers.
 */
import { call } from './api.js';
import { LineChart } from './chart.js';
import { append, clear, el, formatBytes, formatUptime } from './dom.js';

export interface Page {
  root: HTMLElement;
  stop(): void;
}

interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  num_clients?: number;
  num_users?: number;
  num_subs?: number;
  num_channels?: number;
  uptime?: number;
  process?: { cpu: number; rss: number };
  metrics?: { interval: number; items: Record<string, number> };
}

const STATUS_POLL_MS = 2000;

/**
 * Messages a node wrote to clients per second over its last metrics snapshot (undefined without
 * one). Snapshot counters are what the interval added (Centrifugo's form, as `info` carries it).
 */
function messagesPerSecond(n: NodeInfo): number | undefined {
  if (n.metrics === undefined || !(n.metrics.interval > 0)) return undefined;
  let sum = 0;
  for (const [k, v] of Object.entries(n.metrics.items)) if (k.startsWith('centrifugo.transport.messages_sent.')) sum += v;
  return sum / n.metrics.interval;
}

export function statusPage(onError: (e: unknown) => void): Page {
  const totals = el('div', { class: 'totals' });
  const table = el('table', { class: 'nodes' });
  const clients = new LineChart('Connections');
  const rate = new LineChart('Messages sent per second');
  const rateNote = el('p', { class: 'muted' });
  const root = el('section', { 'aria-label': 'status' }, el('h2', {}, 'Status'), totals, el('div', { class: 'charts' }, clients.canvas, rate.canvas), rateNote, el('h3', {}, 'Nodes'), el('div', { class: 'scroll' }, table));
  let stopped = false;
  const poll = async (): Promise<void> => {
    try {
      const a = await call('info', {});
      if (stopped) return;
      const nodes = ((a.result as { nodes?: NodeInfo[] } | undefined)?.nodes ?? []).slice().sort((x, y) => x.name.localeCompare(y.name));
      const sum = (f: (n: NodeInfo) => number | undefined) => nodes.reduce((s, n) => s + (f(n) ?? 0), 0);
      clear(totals);
      for (const [label, value] of [
        ['Nodes', nodes.length],
        ['Clients', sum((n) => n.num_clients)],
        ['Users', sum((n) => n.num_users)],
        ['Subscriptions', sum((n) => n.num_subs)],
        ['Channels', sum((n) => n.num_channels)],
      ] as const) {
        append(totals, el('div', { class: 'total', 'data-total': label.toLowerCase() }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label)));
      }
      clients.push(sum((n) => n.num_clients));
      // Each node's rate over its last snapshot (they change every info_metrics_aggregate_interval).
      let perSecond = 0;
      let withMetrics = 0;
      for (const n of nodes) {
        const rate = messagesPerSecond(n);
        if (rate === undefined) continue;
        withMetrics++;
        perSecond += rate;
      }
      rate.push(Math.round(perSecond * 100) / 100);
      rateNote.textContent =
        withMetrics === 0 ? 'Message rates need prometheus.enabled on the nodes.' : `Message rates from metrics snapshots (every node.info_metrics_aggregate_interval) of ${withMetrics} node(s).`;
      clear(table);
      append(table, el('thead', {}, el('tr', {}, ...['Name', 'Version', 'Uptime', 'Clients', 'Users', 'Subs', 'Channels', 'CPU', 'RSS'].map((h) => el('th', {}, h)))));
      const body = el('tbody');
      for (const n of nodes) {
        append(
          body,
          el(
            'tr',
            { 'data-node': n.name },
            el('td', { 'data-field': 'name' }, n.name),
            el('td', { 'data-field': 'version' }, n.version),
            el('td', { 'data-field': 'uptime' }, formatUptime(n.uptime ?? 0)),
            el('td', { class: 'num', 'data-field': 'clients' }, n.num_clients ?? 0),
            el('td', { class: 'num', 'data-field': 'users' }, n.num_users ?? 0),
            el('td', { class: 'num', 'data-field': 'subs' }, n.num_subs ?? 0),
            el('td', { class: 'num', 'data-field': 'channels' }, n.num_channels ?? 0),
            el('td', { class: 'num', 'data-field': 'cpu' }, n.process !== undefined ? `${n.process.cpu.toFixed(1)} %` : ''),
            el('td', { class: 'num', 'data-field': 'rss' }, n.process !== undefined ? formatBytes(n.process.rss) : ''),
          ),
        );
      }
      append(table, body);
    } catch (e) {
      onError(e);
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), STATUS_POLL_MS);
  return {
    root,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Server API methods and an example of their params: every method of the server's table
 * (`METHODS` in src/api/methods.ts), which the browser test compares this list with. A copy, not
 * an import: the console is compiled on its own, without the server's modules.
 */
const METHODS: Readonly<Record<string, unknown>> = {
  publish: { channel: 'news', data: { text: 'hello' } },
  broadcast: { channels: ['news', 'chat:room'], data: { text: 'hello' } },
  subscribe: { user: '42', channel: 'news' },
  unsubscribe: { user: '42', channel: 'news' },
  disconnect: { user: '42' },
  refresh: { user: '42', expired: true },
  presence: { channel: 'news' },
  presence_stats: { channel: 'news' },
  history: { channel: 'news', limit: 10 },
  history_remove: { channel: 'news' },
  channels: { pattern: '*' },
  info: {},
  rpc: { method: 'ping', params: {} },
  batch: { commands: [{ publish: { channel: 'news', data: { text: 'hello' } } }, { presence_stats: { channel: 'news' } }] },
};

export function actionsPage(onError: (e: unknown) => void): Page {
  const select = el('select', { id: 'method', 'aria-label': 'method' }, ...Object.keys(METHODS).map((m) => el('option', { value: m }, m)));
  const editor = el('textarea', { id: 'params', rows: '10', spellcheck: 'false', 'aria-label': 'params' });
  const problem = el('p', { class: 'problem', role: 'alert' });
  const submit = el('button', { type: 'submit', id: 'run' }, 'Run');
  const output = el('pre', { id: 'result', class: 'result' });
  const example = () => {
    editor.value = JSON.stringify(METHODS[select.value] ?? {}, null, 2);
    validate();
  };
  const validate = (): unknown => {
    try {
      const v: unknown = JSON.parse(editor.value);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('params must be a JSON object');
      problem.textContent = '';
      submit.disabled = false;
      return v;
    } catch (e) {
      problem.textContent = e instanceof Error ? e.message : String(e);
      submit.disabled = true;
      return undefined;
    }
  };
  select.addEventListener('change', example);
  editor.addEventListener('input', () => void validate());
  const form = el('form', { class: 'actions' }, el('label', {}, 'Method ', select), el('label', {}, 'Params (JSON)', editor), problem, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const params = validate();
    if (params === undefined) return;
    output.textContent = '…';
    call(select.value, params).then(
      (a) => {
        output.textContent = JSON.stringify(a.error !== undefined ? { error: a.error } : { result: a.result }, null, 2);
        output.className = a.error !== undefined ? 'result error' : 'result ok';
      },
      (e: unknown) => onError(e),
    );
  });
  example();
  return { root: el('section', { 'aria-label': 'actions' }, el('h2', {}, 'Actions'), form, el('h3', {}, 'Result'), output), stop() {} };
}

export function channelsPage(onError: (e: unknown) => void): Page {
  const pattern = el('input', { id: 'pattern', type: 'search', value: '*', 'aria-label': 'pattern', placeholder: 'pattern, e.g. chat:*' });
  const table = el('table', { class: 'channels' });
  const count = el('p', { class: 'muted' });
  const load = async (): Promise<void> => {
    try {
      const a = await call('channels', { pattern: pattern.value });
      clear(table);
      if (a.error !== undefined) {
        count.textContent = `Error ${a.error.code}: ${a.error.message}`;
        return;
      }
      const channels = Object.entries((a.result as { channels?: Record<string, { num_clients: number }> } | undefined)?.channels ?? {}).sort(([x], [y]) => x.localeCompare(y));
      count.textContent = `${channels.length} channel(s)`;
      append(table, el('thead', {}, el('tr', {}, el('th', {}, 'Channel'), el('th', {}, 'Clients'))));
      append(table, el('tbody', {}, ...channels.map(([name, c]) => el('tr', {}, el('td', {}, name), el('td', { class: 'num' }, c.num_clients)))));
    } catch (e) {
      onError(e);
    }
  };
  const form = el('form', { class: 'filter' }, pattern, el('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load();
  });
  void load();
  return { root: el('section', { 'aria-label': 'channels' }, el('h2', {}, 'Channels'), form, count, el('div', { class: 'scroll' }, table)), stop() {} };
}
