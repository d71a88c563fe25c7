/**
 * The official `centrifuge` SDK over the bidirectional-emulation transports (spec §8.3–§8.5) in
 * Node: `http_stream` (fetch + ReadableStream) and `sse` (an EventSource implementation), each
 * with commands through `/emulation`. Connect, subscribe, API publications, history, presence,
 * permission errors (103), RPC without a handler (108), server disconnects and reconnects,
 * falling back from a disabled WebSocket endpoint, and http_stream with the Protobuf build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { apiOk, bytes, rejectsWithCode } from '../helpers/sdk.js';
import { UUID, until, withKit } from '../helpers/transport-kit.js';
import { CHAT_NAMESPACE, TALK_NAMESPACE } from '../fixtures/namespaces.js';

const CONFIG = {
  http_stream: { enabled: true },
  sse: { enabled: true },
  channel: {
    namespaces: [
      CHAT_NAMESPACE,
      TALK_NAMESPACE,
    ],
  },
};

for (const transport of ['http_stream', 'sse'] as const) {
  test(`SDK over ${transport}: connect, subscribe, receive API publications`, async () => {
    await withKit(CONFIG, async (srv, kit) => {
      const a = kit.sdk(transport, { token: await connToken('alice') });
      const ctx = await a.connect();
      assert.equal(ctx.transport, transport);
      assert.match(ctx.client, UUID);
      const { events, subscribed } = await a.subscribe('chat:room');
      assert.equal(subscribed.recoverable, true);
      assert.equal(subscribed.streamPosition?.offset, 0);

      const data = { text: 'hello', n: [1, 2.5, { deep: null }], s: 'ünïcødé ✓', nl: 'a\nb' };
      assert.equal((await apiOk(srv, 'publish', { channel: 'chat:room', data })).offset, 1);
      const pub = await events.next('publication');
      assert.deepEqual(pub.data, data);
      assert.equal(pub.offset, 1);
      await apiOk(srv, 'publish', { channel: 'chat:room', data: { second: true } });
      assert.deepEqual((await events.next('publication')).data, { second: true });
      assert.equal(srv.app.node.hub.numClients, 1);
    });
  });

  test(`SDK over ${transport}: history and presence`, async () => {
    await withKit(CONFIG, async (srv, kit) => {
      const a = kit.sdk(transport, { token: await connToken('alice', { info: { name: 'Alice' } }) });
      await a.connect();
      const { sub } = await a.subscribe('chat:h');
      for (const n of [1, 2, 3]) await apiOk(srv, 'publish', { channel: 'chat:h', data: { n } });
      const h = await sub.history({ limit: 2, reverse: true });
      assert.deepEqual(
        h.publications.map((p) => p.data),
        [{ n: 3 }, { n: 2 }],
      );
      assert.equal(h.offset, 3);
      const p = await sub.presence();
      const infos = Object.values(p.clients);
      assert.equal(infos.length, 1);
      assert.equal(infos[0]!.user, 'alice');
      assert.deepEqual(infos[0]!.connInfo, { name: 'Alice' });
      const stats = await sub.presenceStats();
      assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
    });
  });

  test(`SDK over ${transport}: publish permission error 103, RPC 108, allowed publish`, async () => {
    await withKit(CONFIG, async (_srv, kit) => {
      const a = kit.sdk(transport, { token: await connToken('alice') });
      await a.connect();
      await rejectsWithCode(a.c.publish('chat:room', { x: 1 }), 103, 'publish without permission');
      await rejectsWithCode(a.c.rpc('anything', { x: 1 }), 108, 'rpc without a handler');
      // The session survives errors; a permitted publish reaches the subscriber.
      const { sub, events } = await a.subscribe('talk:t');
      await sub.publish({ ok: true });
      assert.deepEqual((await events.next('publication')).data, { ok: true });
      assert.equal(a.c.state, 'connected');
    });
  });

  test(`SDK over ${transport}: a reconnecting server disconnect → reconnects and resubscribes; disconnect() frees the session`, async () => {
    await withKit(CONFIG, async (srv, kit) => {
      const a = kit.sdk(transport, { token: await connToken('alice') });
      await a.connect();
      const { events } = await a.subscribe('chat:r');
      await apiOk(srv, 'disconnect', { user: 'alice', disconnect: { code: 4000, reason: 'come back' } });
      const connecting = await a.events.next('connecting', (c) => c.code !== 0);
      assert.deepEqual({ code: connecting.code, reason: connecting.reason }, { code: 4000, reason: 'come back' });
      const again = await a.events.next('connected');
      assert.equal(again.transport, transport);
      await events.next('subscribed');
      await apiOk(srv, 'publish', { channel: 'chat:r', data: 'after' });
      assert.equal((await events.next('publication')).data, 'after');

      a.c.disconnect();
      await until(() => srv.app.node.hub.numConnections === 0, 'the SDK session to be removed after disconnect()');
    });
  });

  test(`SDK over ${transport}: a terminal server disconnect (3503) leaves the client disconnected`, async () => {
    await withKit(CONFIG, async (srv, kit) => {
      const a = kit.sdk(transport, { token: await connToken('alice') });
      await a.connect();
      await apiOk(srv, 'disconnect', { user: 'alice' });
      const d = await a.events.next('disconnected');
      assert.equal(d.code, 3503);
      assert.equal(a.c.state, 'disconnected');
      await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
    });
  });
}

test('fallback: websocket.disabled with transports [websocket, http_stream] → connected over http_stream', async () => {
  await withKit({ ...CONFIG, websocket: { disabled: true } }, async (srv, kit) => {
    const a = kit.sdk(
      [
        { transport: 'websocket', endpoint: srv.wsUrl },
        { transport: 'http_stream', endpoint: kit.endpoint('http_stream') },
      ],
      { token: await connToken('alice') },
    );
    const ctx = await a.connect();
    assert.equal(ctx.transport, 'http_stream');
    const { events } = await a.subscribe('chat:fb');
    await apiOk(srv, 'publish', { channel: 'chat:fb', data: { via: 'fallback' } });
    assert.deepEqual((await events.next('publication')).data, { via: 'fallback' });
  });
});

test('fallback: websocket.disabled with transports [websocket, sse] → connected over sse', async () => {
  await withKit({ ...CONFIG, websocket: { disabled: true } }, async (srv, kit) => {
    const a = kit.sdk(
      [
        { transport: 'websocket', endpoint: srv.wsUrl },
        { transport: 'sse', endpoint: kit.endpoint('sse') },
      ],
      { token: await connToken('alice') },
    );
    const ctx = await a.connect();
    assert.equal(ctx.transport, 'sse');
    const { events } = await a.subscribe('chat:fb');
    await apiOk(srv, 'publish', { channel: 'chat:fb', data: 1 });
    assert.equal((await events.next('publication')).data, 1);
  });
});

test('with WebSocket enabled the same transport list connects over websocket first', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const a = kit.sdk(
      [
        { transport: 'websocket', endpoint: srv.wsUrl },
        { transport: 'http_stream', endpoint: kit.endpoint('http_stream') },
      ],
      { token: await connToken('alice') },
    );
    assert.equal((await a.connect()).transport, 'websocket');
  });
});

test('SDK Protobuf build over http_stream: binary publications, history, 103 and 108', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const a = kit.sdk('http_stream', { token: await connToken('alice') }, 'protobuf');
    const ctx = await a.connect();
    assert.equal(ctx.transport, 'http_stream');
    const { events, sub } = await a.subscribe('chat:pb');
    const bin = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x7b]);
    await apiOk(srv, 'publish', { channel: 'chat:pb', b64data: bin.toString('base64') });
    const pub = await events.next('publication');
    assert.deepEqual(bytes(pub.data), bin);
    const h = await sub.history({ limit: 10 });
    assert.equal(h.publications.length, 1);
    assert.deepEqual(bytes(h.publications[0]!.data), bin);
    await rejectsWithCode(a.c.publish('chat:pb', new TextEncoder().encode('x')), 103, 'publish without permission');
    await rejectsWithCode(a.c.rpc('m', new Uint8Array([1])), 108, 'rpc');
    const stats = await sub.presenceStats();
    assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
  });
});
