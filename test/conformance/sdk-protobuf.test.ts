/**
 * Conformance with the official `centrifuge` SDK, Protobuf build (WebSocket subprotocol
 * `centrifuge-protobuf`, varint-delimited frames, §1.1, §1.6): the main flows again, with
 * payloads as bytes — binary-safe publications (`b64data`), history, presence, permission
 * errors, server API effects and recovery.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { apiOk, bytes, deferred, rejectsWithCode, withServer, type SdkPool } from '../helpers/sdk.js';
import { CHAT_NAMESPACE, TALK_NAMESPACE } from '../fixtures/namespaces.js';

const CONFIG = {
  channel: {
    namespaces: [
      CHAT_NAMESPACE,
      TALK_NAMESPACE,
      { name: 'closed', history_size: 10, history_ttl: '300s', presence: true },
      { name: 'bare', allow_subscribe_for_client: true, allow_history_for_client: true, allow_presence_for_client: true },
    ],
  },
};

/** Not valid UTF-8 (0xff, 0xfe, lone continuation 0x80, truncated 0xc3 0x28) and a NUL and newline. */
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x7b, 0x01]);

const utf8 = (s: string) => Buffer.from(s, 'utf8');

async function pbClient(sdk: SdkPool, user: string, claims: Record<string, unknown> = {}) {
  const c = sdk.client({ token: await connToken(user, claims) }, 'protobuf');
  const ctx = await c.connect();
  return { ...c, id: ctx.client };
}

test('protobuf: connect, subscribe and receive an API publication with its exact JSON bytes', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = await pbClient(sdk, 'alice');
    assert.match(a.id, /^[0-9a-f-]{36}$/);
    const { events, subscribed } = await a.subscribe('chat:room');
    assert.equal(subscribed.recoverable, true);
    // Raw body, so the exact payload bytes (including the space) are known.
    const r = await srv.api('publish', '{"channel":"chat:room","data":{"text": "hi ✓","n":[1,2]}}');
    assert.equal(r.status, 200);
    assert.equal(r.body.result.offset, 1);
    const pub = await events.next('publication');
    assert.equal(pub.channel, 'chat:room');
    assert.deepEqual(bytes(pub.data), utf8('{"text": "hi ✓","n":[1,2]}'));
    assert.equal(pub.offset, 1);
    assert.equal(pub.info, undefined);
  });
});

test('protobuf: b64data publications arrive as exactly the published (non-UTF-8) bytes', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = await pbClient(sdk, 'alice');
    const { sub, events } = await a.subscribe('chat:bin');
    const res = await apiOk(srv, 'publish', { channel: 'chat:bin', b64data: BINARY.toString('base64') });
    assert.equal(res.offset, 1);
    const pub = await events.next('publication');
    assert.deepEqual(bytes(pub.data), BINARY);

    // The same bytes come back from history, over the protobuf connection.
    const h = await sub.history({ limit: 10 });
    assert.equal(h.publications.length, 1);
    assert.deepEqual(bytes(h.publications[0]!.data), BINARY);

    // Broadcast with b64data too.
    await apiOk(srv, 'broadcast', { channels: ['chat:bin'], b64data: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') });
    assert.deepEqual(bytes((await events.next('publication')).data), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  });
});

test('binary publication into a channel with a JSON subscriber: the JSON connection is closed with 3506', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const pb = await pbClient(sdk, 'alice');
    const pbSub = await pb.subscribe('chat:mixed');
    const js = sdk.client({ token: await connToken('bob') }, 'json');
    await js.connect();
    await js.subscribe('chat:mixed');
    await apiOk(srv, 'publish', { channel: 'chat:mixed', b64data: BINARY.toString('base64') });
    assert.deepEqual(bytes((await pbSub.events.next('publication')).data), BINARY);
    const d = await js.events.next('disconnected');
    assert.equal(d.code, 3506);
    assert.equal(pb.c.state, 'connected', 'the protobuf connection is not affected');
  });
});

test('protobuf: sub.history with limit and reverse', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    for (let i = 1; i <= 4; i++) await apiOk(srv, 'publish', { channel: 'chat:h', data: { i } });
    const a = await pbClient(sdk, 'alice');
    const { sub } = await a.subscribe('chat:h');
    const first = await sub.history({ limit: 2 });
    assert.deepEqual(
      first.publications.map((p: any) => [p.offset, bytes(p.data).toString()]),
      [
        [1, '{"i":1}'],
        [2, '{"i":2}'],
      ],
    );
    assert.equal(first.offset, 4);
    assert.match(first.epoch, /^[a-zA-Z]{8}$/);
    const last = await sub.history({ limit: 3, reverse: true });
    assert.deepEqual(
      last.publications.map((p: any) => p.offset),
      [4, 3, 2],
    );
    const top = await sub.history({});
    assert.deepEqual(top.publications, []);
    assert.equal(top.offset, 4);
  });
});

test('protobuf: presence and presence stats', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = await pbClient(sdk, 'alice', { info: { name: 'Alice' } });
    const b = await pbClient(sdk, 'bob');
    const { sub } = await a.subscribe('chat:p');
    await b.subscribe('chat:p');
    assert.deepEqual(await sub.presenceStats(), { numClients: 2, numUsers: 2 });
    const p = await sub.presence();
    assert.deepEqual(Object.keys(p.clients).sort(), [a.id, b.id].sort());
    assert.equal(p.clients[a.id]!.user, 'alice');
    assert.equal(p.clients[a.id]!.client, a.id);
    // conn_info is bytes in protobuf: the raw JSON of the token's info claim.
    assert.deepEqual(JSON.parse(bytes(p.clients[a.id]!.connInfo).toString()), { name: 'Alice' });
  });
});

test('protobuf: permission and availability errors (103, 102, 108)', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = await pbClient(sdk, 'alice');
    const denied = a.newSub('closed:x');
    denied.sub.subscribe();
    assert.equal((await denied.events.next('unsubscribed')).code, 103);
    const unknown = a.newSub('nosuchns:x');
    unknown.sub.subscribe();
    assert.equal((await unknown.events.next('unsubscribed')).code, 102);
    await rejectsWithCode(a.c.history('closed:x', { limit: 1 }), 103, 'history');
    await rejectsWithCode(a.c.presence('closed:x'), 103, 'presence');
    await rejectsWithCode(a.c.history('bare:x', { limit: 1 }), 108, 'history off');
    await rejectsWithCode(a.c.presenceStats('bare:x'), 108, 'presence off');
    await rejectsWithCode(a.c.rpc('m', utf8('{}')), 108, 'rpc');
    assert.equal(a.c.state, 'connected');
  });
});

test('protobuf: client publish — 103 without permission; with allow_publish_for_subscriber the bytes reach the other subscriber', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = await pbClient(sdk, 'alice');
    const b = await pbClient(sdk, 'bob');
    const ca = await a.subscribe('chat:np');
    await rejectsWithCode(ca.sub.publish(utf8('{"x":1}')), 103, 'publish without permission');

    const ta = await a.subscribe('talk:room');
    const tb = await b.subscribe('talk:room');
    await ta.sub.publish(BINARY);
    const pub = await tb.events.next('publication');
    assert.deepEqual(bytes(pub.data), BINARY);
    assert.equal(pub.info?.user, 'alice');
    assert.equal(pub.info?.client, a.id);
  });
});

test('protobuf: server-side subscription from the token and server API disconnect 3503', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = await pbClient(sdk, 'alice', { channels: ['chat:server'] });
    assert.equal((await a.events.next('subscribed')).channel, 'chat:server');
    await apiOk(srv, 'publish', { channel: 'chat:server', b64data: BINARY.toString('base64') });
    const pub = await a.events.next('publication');
    assert.equal(pub.channel, 'chat:server');
    assert.deepEqual(bytes(pub.data), BINARY);

    await apiOk(srv, 'unsubscribe', { user: 'alice', channel: 'chat:server' });
    assert.equal((await a.events.next('unsubscribed')).channel, 'chat:server');
    await apiOk(srv, 'subscribe', { user: 'alice', channel: 'talk:dyn' });
    assert.equal((await a.events.next('subscribed')).channel, 'talk:dyn');

    await apiOk(srv, 'disconnect', { user: 'alice' });
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 3503);
  });
});

test('protobuf: expired token at connect is replaced through getToken', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    let calls = 0;
    const a = sdk.client(
      {
        token: await connToken('alice', {}, -60),
        getToken: async () => {
          calls++;
          return connToken('alice', {}, 3600);
        },
      },
      'protobuf',
    );
    a.c.connect();
    const err = await a.events.next('error');
    assert.equal(err.error.code, 109);
    await a.events.next('connected');
    assert.equal(calls, 1);
  });
});

test('protobuf: recovery after a reconnect delivers the missed publications in order', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const gate = deferred();
    let dataCalls = 0;
    const a = sdk.client(
      {
        token: await connToken('alice'),
        getData: async () => {
          dataCalls++;
          if (dataCalls > 1) await gate.promise;
          return null;
        },
      },
      'protobuf',
    );
    await a.connect();
    const { events } = await a.subscribe('chat:rec');
    await apiOk(srv, 'disconnect', { user: 'alice', disconnect: { code: 4000, reason: 'custom reconnect' } });
    assert.equal((await a.events.next('connecting', (c) => c.code !== 0)).code, 4000);
    for (let n = 1; n <= 3; n++) await apiOk(srv, 'publish', { channel: 'chat:rec', b64data: Buffer.from([0xff, n]).toString('base64') });
    gate.resolve();
    const re = await events.next('subscribed');
    assert.equal(re.recovered, true);
    const got = [await events.next('publication'), await events.next('publication'), await events.next('publication')];
    assert.deepEqual(
      got.map((p) => [p.offset, [...bytes(p.data)]]),
      [
        [1, [0xff, 1]],
        [2, [0xff, 2]],
        [3, [0xff, 3]],
      ],
    );
  });
});
