/**
 * HTTP proxies with the official SDK over real sockets: the backend is a real `node:http` server,
 * and each test checks both what the backend was asked (Centrifugo's request fields) and what the
 * client got from its answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpProxyBackend } from '../helpers/http-proxy-backend.js';
import { withServer, rejectsWithCode, within, apiOk, type Codec } from '../helpers/sdk.js';
import { connToken } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

function config(extra: ConfigInput = {}): ConfigInput {
  return {
    client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect') } } },
    channel: {
      proxy: {
        subscribe: { endpoint: backend.url('/subscribe') },
        publish: { endpoint: backend.url('/publish') },
      },
      namespaces: [{ name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true, history_size: 10, history_ttl: '60s' }],
    },
    rpc: { proxy: { endpoint: backend.url('/rpc') }, without_namespace: { proxy_enabled: true } },
    ...extra,
  } as ConfigInput;
}

/** JSON clients send values; Protobuf clients send bytes (here the value's JSON). */
function payload(codec: Codec, v: unknown): unknown {
  return codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v));
}

for (const codec of ['json', 'protobuf'] as Codec[]) {
  describe(`HTTP proxies (${codec})`, () => {
    it('connect: the backend names the user, info, data and server-side channels', async () => {
      backend.on('/connect', () => ({ result: { user: 'alice', info: { name: 'Alice' }, data: { hello: 1 }, channels: ['px:news'] } }));
      backend.on('/subscribe', () => ({ result: {} }));
      await withServer(config(), async (srv, sdk) => {
        const asked = backend.nextCall('/connect');
        const c = sdk.client({ data: { app: 7 }, name: 'test-sdk' } as never);
        const ctx = await within(c.connect(), 'connected');
        const call = await asked;
        assert.equal(call.body.transport, 'websocket');
        assert.equal(call.body.protocol, codec);
        assert.equal(call.body.encoding, 'json');
        assert.equal(call.body.client, ctx.client);
        if (codec === 'json') assert.deepEqual(call.body.data, { app: 7 });
        assert.deepEqual(ctx.data, codec === 'json' ? { hello: 1 } : ctx.data);
        const info = await apiOk(srv, 'info', {});
        assert.equal(info.nodes[0].num_users, 1);
        const pres = c.events.next('publication');
        await apiOk(srv, 'publish', { channel: 'px:news', data: { n: 1 } });
        const p = await within(pres, 'server-side publication');
        assert.equal(p.channel, 'px:news');
      }, codec);
    });

    it('connect: a token skips the proxy; no result means no credentials', async () => {
      backend.on('/connect', () => ({}));
      await withServer(config(), async (_srv, sdk) => {
        const before = backend.callsTo('/connect').length;
        const c = sdk.client({ token: await connToken('bob') });
        await within(c.connect(), 'token connect');
        assert.equal(backend.callsTo('/connect').length, before, 'the proxy was not asked');
        const anon = sdk.client();
        const disconnected = anon.events.next('disconnected');
        anon.c.connect();
        const d = await within(disconnected, 'no credentials');
        assert.equal(d.code, 3501);
      }, codec);
    });

    it('subscribe: the result sets channel info and data; an error answer reaches the client', async () => {
      backend.on('/connect', () => ({ result: { user: 'carol' } }));
      backend.on('/subscribe', (call) =>
        call.body.channel === 'px:closed' ? { error: { code: 4403, message: 'closed room' } } : { result: { info: { room: 'open' }, data: { welcome: true } } },
      );
      await withServer(config({ channel: { proxy: { subscribe: { endpoint: backend.url('/subscribe') } }, namespaces: [{ name: 'px', subscribe_proxy_enabled: true, presence: true }] } } as ConfigInput), async (srv, sdk) => {
        const c = sdk.client();
        await c.connect();
        const asked = backend.nextCall('/subscribe');
        const s = await within(c.subscribe('px:open', { data: { want: 1 } } as never), 'subscribed');
        const call = await asked;
        assert.equal(call.body.user, 'carol');
        assert.equal(call.body.channel, 'px:open');
        if (codec === 'json') {
          assert.deepEqual(call.body.data, { want: 1 });
          assert.deepEqual(s.subscribed.data, { welcome: true });
        }
        const pres = await apiOk(srv, 'presence', { channel: 'px:open' });
        const entry = Object.values(pres.presence)[0] as { chan_info: unknown };
        assert.deepEqual(entry.chan_info, { room: 'open' });
        // A permanent error ends the subscription with the error's code (a temporary one would retry).
        const closed = c.newSub('px:closed');
        const ended = closed.events.next('unsubscribed');
        closed.sub.subscribe();
        const e = await within(ended, 'subscribe refused');
        assert.equal(e.code, 4403);
        assert.equal(e.reason, 'closed room');
      }, codec);
    });

    it('publish: the backend replaces the data; RPC answers with data', async () => {
      backend.on('/connect', () => ({ result: { user: 'dave' } }));
      backend.on('/subscribe', () => ({ result: {} }));
      backend.on('/publish', (call) => ({ result: { data: { replaced: call.body.channel } } }));
      backend.on('/rpc', (call) => (call.body.method === 'fail' ? { error: { code: 1500, message: 'nope' } } : { result: { data: { echo: call.body.method } } }));
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client();
        await c.connect();
        const s = await c.subscribe('px:room');
        const got = s.events.next('publication');
        await c.c.publish('px:room', payload(codec, { original: true }));
        const pub = await within(got, 'publication');
        if (codec === 'json') assert.deepEqual(pub.data, { replaced: 'px:room' });
        const r = await c.c.rpc('hello', payload(codec, {}));
        if (codec === 'json') assert.deepEqual(r.data, { echo: 'hello' });
        else assert.deepEqual(JSON.parse(Buffer.from(r.data as Uint8Array).toString()), { echo: 'hello' });
        await rejectsWithCode(c.c.rpc('fail', payload(codec, {})), 1500, 'rpc');
      }, codec);
    });
  });
}
