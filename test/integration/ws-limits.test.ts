/**
 * Limits and channel rules over WebSocket (spec §1.8, §2.1, §2.3, §3.1 step 6, §4.1–§4.3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, API_KEY, type TestServer, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin } from '../helpers/error-paths.js';
import { until } from '../helpers/wait.js';
import { DisconnectCode, ErrorCode } from '../../src/protocol/codes.js';
import type { ConfigInput } from '../../src/config/schema.js';

const closeOf = (d: { code: number; reason: string }) => ({ code: d.code, reason: d.reason });
const errorOf = (e: { code: number; message: string }) => ({ code: e.code, message: e.message });

function config(extra: ConfigInput = {}, namespaces: Record<string, unknown>[] = []): ConfigInput {
  return {
    ...extra,
    channel: {
      ...(extra.channel ?? {}),
      namespaces: [{ name: 'chat', allow_subscribe_for_client: true }, ...namespaces] as any,
    },
  };
}


async function connected(srv: TestServer, user = '42'): Promise<{ c: RawClient; client: string }> {
  const c = await RawClient.open(srv.wsUrl);
  const rep = await c.connect(await connToken(user));
  assert.equal(typeof rep.connect?.client, 'string', `connect failed: ${JSON.stringify(rep)}`);
  return { c, client: rep.connect.client };
}

let nextId = 100;
async function call(c: RawClient, cmd: Record<string, unknown>): Promise<any> {
  const id = nextId++;
  c.send({ id, ...cmd });
  const r = await c.next((m) => m.id === id);
  delete r.id;
  return r;
}

test('a frame over websocket.message_size_limit closes with 1009', async () => {
  await withServer(config({ websocket: { message_size_limit: 1024 } }), async (srv) => {
    const { c } = await connected(srv);
    // Below the limit is fine.
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:' + 'a'.repeat(100) } }), { subscribe: {} });
    c.send(JSON.stringify({ id: 2, publish: { channel: 'chat:a', data: { pad: 'x'.repeat(2000) } } }));
    const closed = await closedWithin(c);
    assert.equal(closed.code, 1009);
  });
});

test('client.channel_limit: 2 → third subscribe gets error 106', async () => {
  await withServer(config({ client: { channel_limit: 2 } }), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:1' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:2' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:3' } }), { error: errorOf(ErrorCode.limitExceeded) });
    // After an unsubscribe there is room again.
    assert.deepEqual(await call(c, { unsubscribe: { channel: 'chat:1' } }), { unsubscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:3' } }), { subscribe: {} });
  });
});

test('subscribing twice to the same channel gets error 105', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a' } }), { error: errorOf(ErrorCode.alreadySubscribed) });
  });
});

test('channel longer than channel.max_length gets error 107', async () => {
  await withServer(config({ channel: { max_length: 16 } }), async (srv) => {
    const { c } = await connected(srv);
    const ok = 'chat:' + 'a'.repeat(11); // 16 characters
    assert.deepEqual(await call(c, { subscribe: { channel: ok } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: ok + 'b' } }), { error: errorOf(ErrorCode.badRequest) });
  });
});

test('channel longer than the default max_length (255) gets error 107', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:' + 'a'.repeat(251) } }), { error: errorOf(ErrorCode.badRequest) });
  });
});

test('non-ASCII channel gets error 107', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:привет' } }), { error: errorOf(ErrorCode.badRequest) });
  });
});

test('channel_regex mismatch gets error 107', async () => {
  await withServer(config({}, [{ name: 'rx', allow_subscribe_for_client: true, channel_regex: '^[a-z]+$' }]), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'rx:abc' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'rx:ABC' } }), { error: errorOf(ErrorCode.badRequest) });
  });
});

test('unknown namespace gets error 102', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: 'nope:a' } }), { error: errorOf(ErrorCode.unknownChannel) });
  });
});

test('empty channel in subscribe closes with 3501', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, subscribe: { channel: '' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('client.user_connection_limit: 1 → second connection of the same user closed with 3504', async () => {
  await withServer(config({ client: { user_connection_limit: 1 } }), async (srv) => {
    const { c: first } = await connected(srv, '42');
    const second = await RawClient.open(srv.wsUrl);
    second.send({ id: 1, connect: { token: await connToken('42') } });
    assert.deepEqual(await closedWithin(second), closeOf(DisconnectCode.connectionLimit));
    // The first connection is untouched, and another user is not limited.
    assert.deepEqual(await call(first, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    const { c: other } = await connected(srv, '43');
    other.close();
  });
});

test('slow client: queue over client.queue_max_size is closed with 3008, server stays healthy', async () => {
  await withServer(config({ client: { queue_max_size: 65536 } }), async (srv) => {
    const { c, client } = await connected(srv, '42');
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:slow' } }), { subscribe: {} });
    // Stop reading: the kernel buffers fill, then the server-side queue.
    const socket = (c.ws as any)._socket;
    socket.pause();
    const body = JSON.stringify({ channel: 'chat:slow', data: { pad: 'x'.repeat(10 * 1024) } });
    const hub = srv.app.node.hub;
    // One publication per API request, so the server flushes between them and only the paused
    // socket makes the queue grow. Bounded: 20000 × 10 KiB ≈ 200 MiB, far beyond socket buffering.
    let published = 0;
    for (; published < 20000 && hub.session(client) !== undefined; published++) {
      const r = await srv.api('publish', body);
      assert.equal(r.status, 200);
    }
    assert.equal(hub.session(client), undefined, 'the slow client was disconnected by the server');
    assert.equal(hub.numClients, 0);
    assert.ok(published > 1, 'more than one publication was needed to overflow');
    socket.resume();
    assert.deepEqual(await closedWithin(c, 15000), closeOf(DisconnectCode.slow));

    // The server is healthy: a new client connects, subscribes and receives publications.
    const { c: other } = await connected(srv, '43');
    assert.deepEqual(await call(other, { subscribe: { channel: 'chat:slow' } }), { subscribe: {} });
    const r = await fetch(`${srv.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': API_KEY },
      body: '{"channel":"chat:slow","data":{"after":true}}',
    });
    assert.equal(r.status, 200);
    const pub = await other.next((m) => m.push?.pub !== undefined);
    assert.deepEqual(pub.push.pub.data, { after: true });
    other.close();
  });
});

test('history on a channel without history gets error 108', async () => {
  await withServer(config({}, [{ name: 'h', allow_subscribe_for_client: true, allow_history_for_client: true }]), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { history: { channel: 'h:a', limit: 10 } }), { error: errorOf(ErrorCode.notAvailable) });
  });
});

test('presence without permission gets error 103 (and 108 when presence is off)', async () => {
  await withServer(config({}, [{ name: 'p', allow_subscribe_for_client: true, presence: true }]), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { presence: { channel: 'p:a' } }), { error: errorOf(ErrorCode.permissionDenied) });
    assert.deepEqual(await call(c, { presence_stats: { channel: 'p:a' } }), { error: errorOf(ErrorCode.permissionDenied) });
    // Subscribed, still no presence permission.
    assert.deepEqual(await call(c, { subscribe: { channel: 'p:a' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { presence: { channel: 'p:a' } }), { error: errorOf(ErrorCode.permissionDenied) });
    // Presence off in `chat` ⇒ 108 before any permission check.
    assert.deepEqual(await call(c, { presence: { channel: 'chat:a' } }), { error: errorOf(ErrorCode.notAvailable) });
  });
});

test('$private channel without token gets error 103 even when subscribe is allowed', async () => {
  await withServer(config(), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { subscribe: { channel: '$chat:secret' } }), { error: errorOf(ErrorCode.permissionDenied) });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:secret' } }), { subscribe: {} });
  });
});

test('user-limited channel dialog#42,43: allowed for user 42, denied (103) for user 44', async () => {
  await withServer(config({ channel: { without_namespace: { allow_user_limited_channels: true } } }), async (srv) => {
    const { c: u42 } = await connected(srv, '42');
    assert.deepEqual(await call(u42, { subscribe: { channel: 'dialog#42,43' } }), { subscribe: {} });
    const { c: u44 } = await connected(srv, '44');
    assert.deepEqual(await call(u44, { subscribe: { channel: 'dialog#42,43' } }), { error: errorOf(ErrorCode.permissionDenied) });
    // Channel identity is the plain string: the list order matters.
    const { c: u43 } = await connected(srv, '43');
    assert.deepEqual(await call(u43, { subscribe: { channel: 'dialog#42,43' } }), { subscribe: {} });
    await until(() => srv.app.node.hub.channelSubscriberCount('dialog#42,43') === 2, 'two dialog subscribers');
  });
});

test('server-side channels over client.channel_limit at connect close with 3505', async () => {
  await withServer(config({ client: { channel_limit: 2 } }), async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: await connToken('42', { channels: ['chat:1', 'chat:2', 'chat:3'] }) } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.channelLimit));
    // At the limit is fine.
    const ok = await RawClient.open(srv.wsUrl);
    const rep = await ok.connect(await connToken('42', { channels: ['chat:1', 'chat:2'] }));
    assert.deepEqual(Object.keys(rep.connect?.subs ?? {}).sort(), ['chat:1', 'chat:2']);
    ok.close();
  });
});

test('client publish: empty data gets error 107, no permission gets error 103', async () => {
  await withServer(config({}, [{ name: 'pub', allow_publish_for_client: true }]), async (srv) => {
    const { c } = await connected(srv);
    assert.deepEqual(await call(c, { publish: { channel: 'pub:a' } }), { error: errorOf(ErrorCode.badRequest) });
    assert.deepEqual(await call(c, { publish: { channel: 'pub:a', data: { x: 1 } } }), { publish: {} });
    assert.deepEqual(await call(c, { publish: { channel: 'chat:a', data: { x: 1 } } }), { error: errorOf(ErrorCode.permissionDenied) });
    assert.deepEqual(await call(c, { publish: { channel: 'nope:a', data: { x: 1 } } }), { error: errorOf(ErrorCode.unknownChannel) });
  });
});

test('empty channel in publish / presence / history closes with 3501', async () => {
  for (const cmd of [{ publish: { channel: '', data: { x: 1 } } }, { presence: { channel: '' } }, { history: { channel: '' } }]) {
    await withServer(config(), async (srv) => {
      const { c } = await connected(srv);
      c.send({ id: 2, ...cmd });
      assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest), JSON.stringify(cmd));
    });
  }
});

test('user_connection_limit does not apply to anonymous connections', async () => {
  await withServer(config({ client: { user_connection_limit: 1, allow_anonymous_connect_without_token: true } }), async (srv) => {
    const clients: RawClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.open(srv.wsUrl);
      c.send({ id: 1, connect: {} });
      const rep = await c.next((m) => m.id === 1);
      assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
      clients.push(c);
    }
    assert.equal(srv.app.node.hub.numClients, 2);
    for (const c of clients) c.close();
  });
});
