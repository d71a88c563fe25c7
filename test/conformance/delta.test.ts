import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge as JsonCentrifuge } from 'centrifuge';
import { Centrifuge as ProtoCentrifuge } from 'centrifuge/build/protobuf';
import { startServer, connToken } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const NS = {
  channel: {
    namespaces: [{ name: 'd', allow_subscribe_for_client: true, history_size: 50, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'] }],
  },
};

function payload(i: number) {
  return { title: 'a fairly long document that changes only a little between versions', items: [1, 2, 3, 4, 5, 6, 7, 8], rev: i, note: 'ünïcødé ✓' };
}

for (const [name, Impl] of [
  ['json', JsonCentrifuge],
  ['protobuf', ProtoCentrifuge],
] as const) {
  test(`delta (fossil) subscription decodes to the published data (${name})`, async () => {
    const srv = await startServer(NS);
    const c = new Impl(srv.wsUrl, { websocket: WebSocket, token: await connToken('u1') });
    try {
      const sub = c.newSubscription('d:doc', { delta: 'fossil' });
      const got: unknown[] = [];
      const subscribed = waitFor<{ recovered: boolean }>((r) => sub.on('subscribed', r), 'subscribed');
      sub.on('publication', (ctx) => got.push(ctx.data instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(ctx.data)) : ctx.data));
      sub.subscribe();
      c.connect();
      await subscribed;
      for (let i = 0; i < 5; i++) {
        const r = await srv.api('publish', { channel: 'd:doc', data: payload(i), delta: true });
        assert.equal(r.status, 200);
        assert.ok(r.body.result.offset > 0);
      }
      const start = Date.now();
      while (got.length < 5 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, [0, 1, 2, 3, 4].map(payload));
      const stats = sub.deltaStats();
      assert.equal(stats.numFullPayloads, 1, 'the first publication is full');
      assert.equal(stats.numDeltaPayloads, 4, 'the rest are deltas');
    } finally {
      c.disconnect();
      await srv.stop();
    }
  });
}

test('recovered publications on a delta subscription decode too, and deltas continue after them', async () => {
  const srv = await startServer(NS);
  const token = await connToken('u2');
  const c = new JsonCentrifuge(srv.wsUrl, { websocket: WebSocket, token, minReconnectDelay: 50, maxReconnectDelay: 100 });
  try {
    const sub = c.newSubscription('d:doc2', { delta: 'fossil' });
    const got: unknown[] = [];
    sub.on('publication', (ctx) => got.push(ctx.data));
    let subscribedCount = 0;
    let lastCtx: { recovered?: boolean } = {};
    sub.on('subscribed', (ctx) => {
      subscribedCount++;
      lastCtx = ctx;
    });
    const first = waitFor((r) => sub.once('subscribed', r), 'first subscribed');
    sub.subscribe();
    c.connect();
    await first;
    await srv.api('publish', { channel: 'd:doc2', data: payload(0), delta: true });
    const startA = Date.now();
    while (got.length < 1 && Date.now() - startA < 5000) await new Promise((r) => setTimeout(r, 10));
    // Force a reconnect; publish while the client is away.
    const disc = await srv.api('disconnect', { user: 'u2', disconnect: { code: 4000, reason: 'reconnect please' } });
    assert.deepEqual(disc.body, { result: {} });
    for (let i = 1; i <= 3; i++) await srv.api('publish', { channel: 'd:doc2', data: payload(i), delta: true });
    const start = Date.now();
    while ((subscribedCount < 2 || got.length < 4) && Date.now() - start < 8000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(lastCtx.recovered, true);
    await srv.api('publish', { channel: 'd:doc2', data: payload(4), delta: true });
    const start2 = Date.now();
    while (got.length < 5 && Date.now() - start2 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [0, 1, 2, 3, 4].map(payload));
  } finally {
    c.disconnect();
    await srv.stop();
  }
});

test('a skip_history publication on a delta subscription arrives in full, and so does the next one', async () => {
  const srv = await startServer(NS);
  const c = new JsonCentrifuge(srv.wsUrl, { websocket: WebSocket, token: await connToken('u3') });
  try {
    const sub = c.newSubscription('d:doc3', { delta: 'fossil' });
    const got: unknown[] = [];
    const subscribed = waitFor((r) => sub.on('subscribed', r), 'subscribed');
    sub.on('publication', (ctx) => got.push(ctx.data));
    sub.subscribe();
    c.connect();
    await subscribed;
    await srv.api('publish', { channel: 'd:doc3', data: payload(0), delta: true });
    const unstored = { ...payload(1), note: 'a longer note, so that a delta against the wrong base cannot decode to the right data' };
    await srv.api('publish', { channel: 'd:doc3', data: unstored, delta: true, skip_history: true });
    // A delta against payload(0), the stream's previous publication, would decode wrongly on top of
    // `unstored`, which is what the client holds last.
    await srv.api('publish', { channel: 'd:doc3', data: payload(2), delta: true });
    await srv.api('publish', { channel: 'd:doc3', data: payload(3), delta: true });
    const start = Date.now();
    while (got.length < 4 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [payload(0), unstored, payload(2), payload(3)]);
    assert.deepEqual(sub.deltaStats(), { ...sub.deltaStats(), numFullPayloads: 3, numDeltaPayloads: 1 });
    assert.equal(sub.state, 'subscribed');
  } finally {
    c.disconnect();
    await srv.stop();
  }
});
