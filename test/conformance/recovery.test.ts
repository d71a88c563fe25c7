/**
 * Recovery (spec §5.4) with the official centrifuge-js SDK and over connect `subs` for
 * server-side subscriptions, plus presence and join/leave (§6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { startServer, connToken, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { waitFor, until } from '../helpers/wait.js';
import type { ConfigInput } from '../../src/config/schema.js';

const NS: ConfigInput = {
  channel: {
    namespaces: [
      { name: 'r', allow_subscribe_for_client: true, force_recovery: true, history_size: 50, history_ttl: '300s' },
      {
        name: 'pr',
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        presence: true,
        join_leave: true,
        force_push_join_leave: true,
        allow_presence_for_subscriber: true,
        allow_presence_for_anonymous: true,
      },
    ],
  },
};

async function withServer(overrides: ConfigInput, fn: (srv: TestServer) => Promise<void>): Promise<void> {
  const srv = await startServer({ ...NS, ...overrides });
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

async function publish(srv: TestServer, channel: string, data: unknown): Promise<{ offset: number; epoch: string }> {
  const r = await srv.api('publish', { channel, data });
  assert.equal(r.status, 200);
  return r.body.result;
}

test('SDK recovers publications missed during a reconnect (disconnect 4000)', async () => {
  await withServer({}, async (srv) => {
    const c = new Centrifuge(srv.wsUrl, { websocket: WebSocket, token: await connToken('u1'), minReconnectDelay: 50, maxReconnectDelay: 100 });
    try {
      const sub = c.newSubscription('r:a');
      const got: { data: unknown; offset?: number }[] = [];
      const contexts: any[] = [];
      sub.on('publication', (ctx) => got.push({ data: ctx.data, offset: ctx.offset }));
      sub.on('subscribed', (ctx) => contexts.push(ctx));
      sub.subscribe();
      c.connect();
      await until(() => contexts.length === 1, 'first subscribed');
      assert.equal(contexts[0].recoverable, true);
      assert.equal(contexts[0].recovered, false);
      await publish(srv, 'r:a', { i: 1 });
      await until(() => got.length === 1, 'live publication');

      // 4000–4499 reconnect: the SDK goes back to `connecting` with the server's code.
      const reconnecting = waitFor<any>((r) => c.once('connecting', r), 'connecting');
      const d = await srv.api('disconnect', { user: 'u1', disconnect: { code: 4000, reason: 'reconnect' } });
      assert.deepEqual(d.body, { result: {} });
      const rctx = await reconnecting;
      assert.equal(rctx.code, 4000);
      assert.equal(rctx.reason, 'reconnect');
      for (let i = 2; i <= 4; i++) await publish(srv, 'r:a', { i });

      await until(() => contexts.length === 2 && got.length === 4, 'recovery after reconnect', 8000);
      assert.equal(contexts[1].recovered, true);
      assert.equal(contexts[1].wasRecovering, true);
      assert.deepEqual(got, [
        { data: { i: 1 }, offset: 1 },
        { data: { i: 2 }, offset: 2 },
        { data: { i: 3 }, offset: 3 },
        { data: { i: 4 }, offset: 4 },
      ]);
    } finally {
      c.disconnect();
    }
  });
});

test('SDK subscription with `since` recovers from that position; a foreign epoch is not recovered', async () => {
  await withServer({}, async (srv) => {
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = (await publish(srv, 'r:b', { i })).epoch;
    const c = new Centrifuge(srv.wsUrl, { websocket: WebSocket, token: await connToken('u1') });
    try {
      const sub = c.newSubscription('r:b', { since: { offset: 2, epoch } });
      const got: unknown[] = [];
      sub.on('publication', (ctx) => got.push(ctx.data));
      const subscribed = waitFor<any>((r) => sub.once('subscribed', r), 'subscribed');
      sub.subscribe();
      c.connect();
      const ctx = await subscribed;
      assert.equal(ctx.recovered, true);
      assert.equal(ctx.wasRecovering, true);
      await until(() => got.length === 3, 'recovered publications');
      assert.deepEqual(got, [{ i: 3 }, { i: 4 }, { i: 5 }]);

      const sub2 = c.newSubscription('r:c', { since: { offset: 1, epoch: 'zzzzzzzz' } });
      await publish(srv, 'r:c', { i: 1 });
      const got2: unknown[] = [];
      sub2.on('publication', (p) => got2.push(p.data));
      const subscribed2 = waitFor<any>((r) => sub2.once('subscribed', r), 'subscribed 2');
      sub2.subscribe();
      const ctx2 = await subscribed2;
      assert.equal(ctx2.recovered, false);
      assert.equal(ctx2.wasRecovering, true);
      assert.deepEqual(got2, []);
    } finally {
      c.disconnect();
    }
  });
});

test('server-side subscription recovery through connect `subs`', async () => {
  await withServer({}, async (srv) => {
    const first = await publish(srv, 'r:x', { i: 1 });
    for (let i = 2; i <= 4; i++) await publish(srv, 'r:x', { i });
    const c = await RawClient.open(srv.wsUrl);
    try {
      const rep = await c.connect(await connToken('u1', { channels: ['r:x'] }), {
        subs: { 'r:x': { recover: true, offset: first.offset, epoch: first.epoch } },
      });
      const s = rep.connect.subs['r:x'];
      assert.equal(s.recovered, true);
      assert.equal(s.was_recovering, true);
      assert.equal(s.recoverable, true);
      assert.equal(s.positioned, true);
      assert.equal(s.epoch, first.epoch);
      assert.equal(s.offset, first.offset, 'a recovered reply echoes the request offset');
      assert.deepEqual(s.publications, [
        { data: { i: 2 }, offset: 2 },
        { data: { i: 3 }, offset: 3 },
        { data: { i: 4 }, offset: 4 },
      ]);
    } finally {
      c.close();
    }
  });
});

test('join/leave pushes and presence stats with the SDK', async () => {
  await withServer({}, async (srv) => {
    const c1 = new Centrifuge(srv.wsUrl, { websocket: WebSocket, token: await connToken('u1') });
    const c2 = new Centrifuge(srv.wsUrl, { websocket: WebSocket, token: await connToken('u2') });
    try {
      const s1 = c1.newSubscription('pr:room');
      const joins: any[] = [];
      const leaves: any[] = [];
      s1.on('join', (ctx) => joins.push(ctx.info));
      s1.on('leave', (ctx) => leaves.push(ctx.info));
      const sub1 = waitFor((r) => s1.once('subscribed', r), 'c1 subscribed');
      s1.subscribe();
      c1.connect();
      await sub1;

      const s2 = c2.newSubscription('pr:room');
      const sub2 = waitFor((r) => s2.once('subscribed', r), 'c2 subscribed');
      s2.subscribe();
      c2.connect();
      await sub2;
      await until(() => joins.some((j) => j.user === 'u2'), 'join of u2');
      const j2 = joins.find((j) => j.user === 'u2');
      assert.equal(typeof j2.client, 'string');

      const stats = await s1.presenceStats();
      assert.deepEqual(stats, { numClients: 2, numUsers: 2 });
      const presence = await s1.presence();
      assert.deepEqual(Object.values(presence.clients).map((i: any) => i.user).sort(), ['u1', 'u2']);

      s2.unsubscribe();
      await until(() => leaves.length === 1, 'leave of u2');
      assert.equal(leaves[0].user, 'u2');
      assert.equal(leaves[0].client, j2.client);
      assert.deepEqual(await s1.presenceStats(), { numClients: 1, numUsers: 1 });
    } finally {
      c1.disconnect();
      c2.disconnect();
    }
  });
});

test('anonymous connections count as one user in presence stats', async () => {
  await withServer({ client: { allow_anonymous_connect_without_token: true } }, async (srv) => {
    const c1 = new Centrifuge(srv.wsUrl, { websocket: WebSocket });
    const c2 = new Centrifuge(srv.wsUrl, { websocket: WebSocket });
    try {
      const s1 = c1.newSubscription('pr:anon');
      const s2 = c2.newSubscription('pr:anon');
      const sub1 = waitFor((r) => s1.once('subscribed', r), 'c1 subscribed');
      const sub2 = waitFor((r) => s2.once('subscribed', r), 'c2 subscribed');
      s1.subscribe();
      s2.subscribe();
      c1.connect();
      c2.connect();
      await sub1;
      await sub2;
      assert.deepEqual(await s1.presenceStats(), { numClients: 2, numUsers: 1 });
    } finally {
      c1.disconnect();
      c2.disconnect();
    }
  });
});
