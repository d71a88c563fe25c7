/**
 * Subscribe-time positioning, live positioning checks on an epoch change (spec §5.4, §5.5) and
 * cache recovery mode (§5.7), over a raw WebSocket client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import type { ConfigInput } from '../../src/config/schema.js';

const NS: ConfigInput = {
  channel: {
    namespaces: [
      { name: 'p', allow_subscribe_for_client: true, force_positioning: true, history_size: 10, history_ttl: '300s' },
      { name: 'pe', allow_subscribe_for_client: true, force_positioning: true, history_size: 10, history_ttl: '1s', history_meta_ttl: '1s' },
      { name: 'c', allow_subscribe_for_client: true, force_recovery: true, force_recovery_mode: 'cache', history_size: 1, history_ttl: '300s' },
    ],
  },
};

async function withServer(fn: (srv: TestServer) => Promise<void>): Promise<void> {
  const srv = await startServer(NS);
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('force_positioning: subscribe reply is positioned at the stream top', async () => {
  await withServer(async (srv) => {
    const p1 = await srv.api('publish', { channel: 'p:a', data: { i: 1 } });
    await srv.api('publish', { channel: 'p:a', data: { i: 2 } });
    const epoch = p1.body.result.epoch;
    const c = await RawClient.open(srv.wsUrl);
    try {
      await c.connect(await connToken('u1'));
      c.send({ id: 2, subscribe: { channel: 'p:a' } });
      assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: { positioned: true, offset: 2, epoch } });
      // Live publications continue from the position.
      await srv.api('publish', { channel: 'p:a', data: { i: 3 } });
      assert.deepEqual(await c.next((m) => m.push?.pub), { push: { channel: 'p:a', pub: { data: { i: 3 }, offset: 3 } } });
    } finally {
      c.close();
    }
  });
});

test('epoch change on a positioned client-side subscription → unsubscribe push 2500 insufficient state', async () => {
  await withServer(async (srv) => {
    const p1 = await srv.api('publish', { channel: 'pe:a', data: { i: 1 } });
    const epoch = p1.body.result.epoch;
    const c = await RawClient.open(srv.wsUrl);
    try {
      await c.connect(await connToken('u1'));
      c.send({ id: 2, subscribe: { channel: 'pe:a' } });
      assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: { positioned: true, offset: 1, epoch } });
      // Let the stream and its meta expire: the next publish starts a new epoch.
      await sleep(1500);
      const p2 = await srv.api('publish', { channel: 'pe:a', data: { i: 2 } });
      assert.notEqual(p2.body.result.epoch, epoch);
      assert.equal(p2.body.result.offset, 1);
      const push = await c.next((m) => m.push?.unsubscribe);
      assert.deepEqual(push, { push: { channel: 'pe:a', unsubscribe: { code: 2500, reason: 'insufficient state' } } });
      // The publication from the new epoch was not delivered.
      assert.equal(
        c.messages().some((m) => m.push?.pub),
        false,
      );
    } finally {
      c.close();
    }
  });
});

test('epoch change on a positioned server-side subscription → disconnect 3010', async () => {
  await withServer(async (srv) => {
    const p1 = await srv.api('publish', { channel: 'pe:s', data: { i: 1 } });
    const epoch = p1.body.result.epoch;
    const c = await RawClient.open(srv.wsUrl);
    try {
      const rep = await c.connect(await connToken('u1', { channels: ['pe:s'] }));
      assert.deepEqual(rep.connect.subs, { 'pe:s': { positioned: true, offset: 1, epoch } });
      await sleep(1500);
      const p2 = await srv.api('publish', { channel: 'pe:s', data: { i: 2 } });
      assert.notEqual(p2.body.result.epoch, epoch);
      const closed = await Promise.race([c.closed, sleep(5000).then(() => null)]);
      assert.deepEqual(closed, { code: 3010, reason: 'insufficient state' });
    } finally {
      c.close();
    }
  });
});

test('cache mode: recover with an empty position returns exactly the latest publication', async () => {
  await withServer(async (srv) => {
    let epoch = '';
    for (let i = 1; i <= 3; i++) epoch = (await srv.api('publish', { channel: 'c:a', data: { i } })).body.result.epoch;
    const c = await RawClient.open(srv.wsUrl);
    try {
      await c.connect(await connToken('u1'));
      c.send({ id: 2, subscribe: { channel: 'c:a', recover: true } });
      const rep = await c.next((m) => m.id === 2);
      assert.equal(rep.subscribe.recovered, true);
      assert.equal(rep.subscribe.was_recovering, true);
      assert.equal(rep.subscribe.recoverable, true);
      assert.equal(rep.subscribe.positioned, true);
      assert.equal(rep.subscribe.epoch, epoch);
      assert.deepEqual(rep.subscribe.publications, [{ data: { i: 3 }, offset: 3 }]);
    } finally {
      c.close();
    }
  });
});

test('a skip_history publication reaches positioned subscribers without an offset, and the stream continues', async () => {
  await withServer(async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    try {
      // One client-side and one server-side positioned subscription: neither may lose continuity.
      await c.connect(await connToken('u1', { channels: ['p:srv'] }));
      c.send({ id: 2, subscribe: { channel: 'p:cli' } });
      await c.next((m) => m.id === 2);
      for (const channel of ['p:cli', 'p:srv']) {
        assert.equal((await srv.api('publish', { channel, data: { i: 1 } })).body.result.offset, 1);
        assert.deepEqual((await srv.api('publish', { channel, data: { i: 2 }, skip_history: true })).body, { result: {} });
        assert.equal((await srv.api('publish', { channel, data: { i: 3 } })).body.result.offset, 2);
        await c.next((m) => m.push?.channel === channel && m.push.pub?.data?.i === 3);
        const pubs = c.messages().filter((m) => m.push?.channel === channel);
        assert.deepEqual(pubs, [
          { push: { channel, pub: { data: { i: 1 }, offset: 1 } } },
          { push: { channel, pub: { data: { i: 2 } } } },
          { push: { channel, pub: { data: { i: 3 }, offset: 2 } } },
        ]);
      }
      assert.equal(c.messages().some((m) => m.push?.unsubscribe), false);
    } finally {
      c.close();
    }
  });
});

test('was_recovering echoes a recover request on a channel that cannot recover', async () => {
  await withServer(async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    try {
      await c.connect(await connToken('u1'));
      c.send({ id: 2, subscribe: { channel: 'p:norecovery', recover: true, offset: 0, epoch: 'abcdefgh' } });
      const rep = await c.next((m) => m.id === 2);
      assert.equal(rep.subscribe.was_recovering, true);
      assert.equal(rep.subscribe.recovered, undefined);
      assert.equal(rep.subscribe.positioned, true);
    } finally {
      c.close();
    }
  });
});
