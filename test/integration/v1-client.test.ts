/**
 * The real Centrifugo v1 JavaScript client (`centrifuge@1.5.0`) against Rotor over raw WebSocket
 * (`/connection/websocket`, where Rotor tells v1 from v2 by the first frame), with a server
 * started from a v1 config (through `migrateConfig`, as `rotor -c v1.json` does): token connect
 * and a bad token refused, publications from the signed v1 API and from clients, presence,
 * history, join/leave, private `$` channels with signs, `#` user and `&` client channels,
 * recovery after a reconnect, `connection_lifetime` with refresh, and a v1 client and the current
 * `centrifuge` SDK exchanging publications in one channel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Centrifuge } from 'centrifuge';
import { migrateConfig } from '../../src/config/migrate.js';
import { v1ChannelSign, v1Token } from '../../src/auth/v1-sign.js';
import { startServer, connToken, type TestServer } from '../helpers/server.js';
import { sdkClient } from '../helpers/embedding.js';
import { nowSeconds, v1Api, v1Client, type V1TestClient } from '../helpers/v1-client.js';
import { within } from '../helpers/sdk.js';

const SECRET = 'v1-secret';

const V1_CONFIG = {
  secret: SECRET,
  history_size: 10,
  history_lifetime: 60,
  recover: true,
  presence: true,
  join_leave: true,
  publish: true,
  namespaces: [{ name: 'public', anonymous: true, publish: true, presence: true, join_leave: true, history_size: 10, history_lifetime: 60, recover: true }],
};

async function startV1(extra: Record<string, unknown> = {}): Promise<TestServer> {
  const m = migrateConfig({ ...V1_CONFIG, ...extra });
  return startServer(m.config);
}

describe('v1 client over raw WebSocket', () => {
  let srv: TestServer;
  const clients: V1TestClient[] = [];
  const open = (user: string, more: Partial<Parameters<typeof v1Client>[0]> = {}): V1TestClient => {
    const c = v1Client({ url: srv.wsUrl, user, secret: SECRET, ...more });
    clients.push(c);
    return c;
  };
  before(async () => {
    srv = await startV1();
  });
  after(async () => {
    for (const c of clients) c.c.disconnect();
    await srv.stop();
  });

  test('token connect, subscribe, publications from the signed v1 API and from a client, presence, history, join and leave', async () => {
    const a = open('alice', { info: '{"name":"Alice"}' });
    const b = open('bob');
    const sa = a.subscribe('news');
    a.c.connect();
    const connected = await a.events.next('connect');
    assert.equal(connected['client'], a.c.getClientId());
    assert.equal(connected['transport'], 'raw-websocket');
    await sa.events.next('subscribe');

    const sb = b.subscribe('news');
    b.c.connect();
    await sb.events.next('subscribe');
    // v1 sends a subscriber its own join too, then the others'.
    assert.equal((await sa.events.next('join'))['data'] !== undefined, true);
    const join = await sa.events.next('join');
    assert.deepEqual(join['data'], { user: 'bob', client: b.c.getClientId() });

    const r = await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: 'news', data: { text: 'from the API' } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, [{ method: 'publish', error: null, body: null }]);
    for (const s of [sa, sb]) assert.deepEqual((await s.events.next('message'))['data'], { text: 'from the API' });

    await sa.sub.publish({ text: 'from alice' });
    const m = await sb.events.next('message');
    assert.deepEqual(m['data'], { text: 'from alice' });
    assert.equal(m['client'], a.c.getClientId());
    assert.deepEqual(m['info'], { user: 'alice', client: a.c.getClientId(), default_info: { name: 'Alice' } });

    const presence = await sa.sub.presence();
    assert.deepEqual(Object.keys(presence.data).sort(), [a.c.getClientId(), b.c.getClientId()].sort());
    assert.equal(presence.data[b.c.getClientId()]!.user, 'bob');

    // v1 history: newest first.
    const history = await sa.sub.history();
    assert.deepEqual(history.data.map((h) => h.data), [{ text: 'from alice' }, { text: 'from the API' }]);

    sb.sub.unsubscribe();
    const leave = await sa.events.next('leave');
    assert.deepEqual(leave['data'], { user: 'bob', client: b.c.getClientId() });
  });

  test('a bad token is refused as v1 did: disconnect "invalid token", no reconnect', async () => {
    const c = open('mallory', { token: 'not-the-token' });
    c.c.connect();
    const d = await c.events.next('disconnect');
    assert.deepEqual([d['reason'], d['reconnect']], ['invalid token', false]);
    assert.equal(c.events.count('connect'), 0);
  });

  test('private $ channel with the sign from an auth callback; a wrong sign is refused', async () => {
    const ok = open('carol', {
      onPrivateChannelAuth: (ctx, cb) => {
        const data: Record<string, { sign: string; info: string }> = {};
        for (const ch of ctx.data.channels) data[ch] = { sign: v1ChannelSign(SECRET, ctx.data.client, ch, '{"role":"member"}'), info: '{"role":"member"}' };
        cb(false, data);
      },
    });
    const s = ok.subscribe('$secret');
    ok.c.connect();
    await s.events.next('subscribe');
    await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: '$secret', data: 'hidden' } });
    assert.equal((await s.events.next('message'))['data'], 'hidden');

    const bad = open('dave', { onPrivateChannelAuth: (ctx, cb) => cb(false, { [ctx.data.channels[0]!]: { sign: 'forged', info: '' } }) });
    const sbad = bad.subscribe('$secret');
    bad.c.connect();
    const e = await sbad.events.next('error');
    assert.equal(e['error'], 'permission denied');
  });

  test('user-limited (#) and client-limited (&) channels', async () => {
    const erin = open('erin');
    erin.c.connect();
    await erin.events.next('connect');
    const own = erin.subscribe('news#erin');
    await own.events.next('subscribe');
    const other = erin.subscribe('news#frank');
    assert.equal((await other.events.next('error'))['error'], 'permission denied');
    const mine = erin.subscribe(`news&${erin.c.getClientId()}`);
    await mine.events.next('subscribe');
    const theirs = erin.subscribe('news&someone-else');
    assert.equal((await theirs.events.next('error'))['error'], 'permission denied');
  });

  test('recovery: publications made while the client was away arrive after it reconnects, recovered: true', async () => {
    const g = open('grace');
    const s = g.subscribe('public:feed');
    g.c.connect();
    await s.events.next('subscribe');
    await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: 'public:feed', data: { n: 1 } } });
    assert.deepEqual((await s.events.next('message'))['data'], { n: 1 });

    g.c._transport.close();
    await g.events.next('disconnect');
    await v1Api(srv.httpUrl, SECRET, [
      { method: 'publish', params: { channel: 'public:feed', data: { n: 2 } } },
      { method: 'publish', params: { channel: 'public:feed', data: { n: 3 } } },
    ]);
    const resubscribed = await s.events.next('subscribe');
    assert.equal(resubscribed['recovered'], true);
    assert.deepEqual((await s.events.next('message'))['data'], { n: 2 });
    assert.deepEqual((await s.events.next('message'))['data'], { n: 3 });
  });
});

describe('v1 connection_lifetime', () => {
  test('the client refreshes before its connection expires and stays connected; credentials already expired at connect are refreshed first', async () => {
    const srv = await startV1({ connection_lifetime: 2 });
    const refreshed: string[] = [];
    const onRefresh = (_ctx: unknown, cb: (error: boolean, data: unknown) => void): void => {
      const timestamp = nowSeconds();
      refreshed.push(timestamp);
      cb(false, { user: 'henry', timestamp, info: '', token: v1Token(SECRET, 'henry', timestamp, '') });
    };
    const c = v1Client({ url: srv.wsUrl, user: 'henry', secret: SECRET, onRefresh, refreshInterval: 100 });
    // Signed long ago: expired at connect.
    const stale = v1Client({ url: srv.wsUrl, user: 'henry', secret: SECRET, timestamp: '1000', onRefresh, refreshInterval: 100 });
    try {
      const s = c.subscribe('news');
      c.c.connect();
      await s.events.next('subscribe');
      // The client sends `refresh` after ttl (2 s); the connection outlives its first lifetime.
      await within(
        new Promise<void>((resolve) => {
          const t = setInterval(() => refreshed.length > 0 && (clearInterval(t), resolve()), 50);
        }),
        'a refresh',
        6000,
      );
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(c.events.count('disconnect'), 0, 'refreshed in time, never disconnected');
      await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: 'news', data: 'still here' } });
      assert.equal((await s.events.next('message'))['data'], 'still here');

      stale.c.connect();
      await stale.events.next('connect', 6000);
      assert.ok(stale.c.isConnected());
    } finally {
      c.c.disconnect();
      stale.c.disconnect();
      await srv.stop();
    }
  });
});

describe('v1 and v2 clients in one channel', () => {
  test('a v1 client and the current centrifuge SDK see each other\'s publications', async () => {
    const srv = await startV1();
    const v1 = v1Client({ url: srv.wsUrl, user: 'old-app', secret: SECRET });
    const v2 = sdkClient(srv.wsUrl, await connToken('new-app', {}, undefined, SECRET));
    try {
      const s1 = v1.subscribe('public:chat');
      v1.c.connect();
      await s1.events.next('subscribe');
      await v2.connect();
      const s2 = await v2.subscribe('public:chat');

      await s1.sub.publish({ from: 'v1' });
      const got2 = await s2.events.next('publication');
      assert.deepEqual(got2.data, { from: 'v1' });
      assert.equal(got2.info?.user, 'old-app');

      // The v1 client sees its own publication first, then the v2 one.
      assert.deepEqual((await s1.events.next('message'))['data'], { from: 'v1' });
      await s2.sub.publish({ from: 'v2' });
      const got1 = await s1.events.next('message');
      assert.deepEqual(got1['data'], { from: 'v2' });
      assert.equal((got1['info'] as { user: string }).user, 'new-app');
      // v1 message uids are stream positions (offset:epoch), which recovery reads back.
      assert.match(String((await s1.sub.history()).data[0]!.uid), /^\d+:\w+$/);
    } finally {
      v1.c.disconnect();
      v2.c.disconnect();
      await srv.stop();
    }
  });
});

describe('a current SDK over SockJS', () => {
  test('centrifuge 5 with its sockjs transport (sockjs-client in Node) connects, subscribes and receives, as with Centrifugo v2–v5', async () => {
    const srv = await startV1();
    const require = createRequire(import.meta.url);
    const SockJS = require('sockjs-client') as unknown;
    const c = new Centrifuge([{ transport: 'sockjs', endpoint: `${srv.httpUrl}/connection` }], {
      sockjs: SockJS as never,
      token: await connToken('sockjs-user', {}, undefined, SECRET),
    });
    try {
      const connected = new Promise<{ transport: string }>((resolve) => c.once('connected', (ctx) => resolve(ctx)));
      c.connect();
      assert.match((await within(connected, 'connected over SockJS')).transport, /^sockjs/);
      const sub = c.newSubscription('public:chat');
      const subscribed = new Promise<void>((resolve) => sub.once('subscribed', () => resolve()));
      const publication = new Promise<unknown>((resolve) => sub.once('publication', (ctx) => resolve(ctx.data)));
      sub.subscribe();
      await within(subscribed, 'subscribed over SockJS');
      await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: 'public:chat', data: { over: 'sockjs' } } });
      assert.deepEqual(await within(publication, 'the publication over SockJS'), { over: 'sockjs' });
    } finally {
      c.disconnect();
      await srv.stop();
    }
  });
});
