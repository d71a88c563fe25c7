/**
 * The watch stream's edges, with a stand-in node (the node side is tested for real in
 * test/integration/admin-watch.test.ts): events that arrive while the watch is being put in place
 * are written after the `start` line, in order, not before the response's headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminTrace } from '../../../src/admin/trace.js';
import type { Node } from '../../../src/node/node.js';
import type { Watcher } from '../../../src/node/watch/events.js';
import type { ChannelRules } from '../../../src/rules/channels.js';

test('trace: events delivered before the watch is in place follow the start line, in order', async () => {
  let stopped = 0;
  const node = {
    options: { name: 'stand-in' },
    isShuttingDown: false,
    log: { error() {} },
    async watchChannel(channel: string, w: Watcher) {
      for (const n of [1, 2]) w.event({ type: 'publication', channel, pub: { data: new TextEncoder().encode(`{"early":${n}}`) } });
      await new Promise((r) => setTimeout(r, 20));
      return () => stopped++;
    },
  } as unknown as Node;
  const rules = { resolve: () => ({}) } as unknown as ChannelRules;
  const trace = new AdminTrace(node, () => rules);
  const server = createServer((req, res) => void trace.handle(res, '{"type":"channel","entity":"c"}', () => true));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (text.split('\n').length < 4) text += (await reader.read()).value ?? '';
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: unknown });
    assert.deepEqual(lines.map((l) => [l.type, l.data]), [['start', undefined], ['publication', { early: 1 }], ['publication', { early: 2 }]]);
    ac.abort();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stopped, 1, 'the reader leaving ended the watch once');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
