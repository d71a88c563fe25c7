/**
 * HTTP proxies with the official SDK over real sockets (JSON and Protobuf): every result field of
 * the connect, subscribe, publish and RPC proxies and what the client gets from it (spec §3.9–3.10,
 * centrifugo-v6-notes §6). The backend is a real `node:http` server; each test checks what the
 * backend was asked and what the client, the presence and the history show of its answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpProxyBackend } from '../helpers/http-proxy-backend.js';
import { withServer, rejectsWithCode, within, apiOk, bytes, type Codec } from '../helpers/sdk.js';
import { connToken, subToken } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');
const nowSec = () => Math.floor(Date.now() / 1000);

function config(extra: Record<string, unknown> = {}): ConfigInput {
  return {
    client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect') } } },
    channel: {
      proxy: { subscribe: { endpoint: backend.url('/subscribe') }, publish: { endpoint: backend.url('/publish') } },
      namespaces: [
        {
          name: 'px',
          subscribe_proxy_enabled: true,
          publish_proxy_enabled: true,
          presence: true,
          history_size: 10,
          history_ttl: '60s',
          allow_user_limited_channels: true,
        },
        {
          name: 'pd',
          publish_proxy_enabled: true,
          allow_subscribe_for_client: true,
          history_size: 10,
          history_ttl: '60s',
          force_recovery: true,
          allowed_delta_types: ['fossil'],
        },
        { name: 'srv', presence: true },
        { name: 'pa', publish_proxy_enabled: true, allow_publish_for_client: true, allow_publish_for_anonymous: true },
      ],
    },
    rpc: {
      proxy: { endpoint: backend.url('/rpc'), include_connection_meta: true },
      without_namespace: { proxy_enabled: true },
      namespaces: [{ name: 'ns', proxy_enabled: true, proxy_name: 'rpcnamed' }, { name: 'off' }],
      ping: { enabled: true, method: 'ping' },
    },
    proxies: [{ name: 'rpcnamed', endpoint: backend.url('/rpc-named') }],
    ...extra,
  } as ConfigInput;
}

/** JSON clients send values; Protobuf clients send bytes (here the value's JSON). */
function send(codec: Codec, v: unknown): any {
  return codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v));
}

/** A payload the client received, as a value (Protobuf clients get the JSON's bytes). */
function value(codec: Codec, data: unknown): unknown {
  return codec === 'json' ? data : JSON.parse(bytes(data).toString('utf8'));
}

/** The entry of `client` in a presence API result, or undefined. */
async function presenceOf(srv: Parameters<typeof apiOk>[0], channel: string, client: string): Promise<any> {
  return (await apiOk(srv, 'presence', { channel })).presence[client];
}

for (const codec of ['json', 'protobuf'] as Codec[]) {
  describe(`HTTP proxies (${codec})`, () => {
    it('connect: user, expire_at, info, data, channels and subs (info, data, override), meta (sent on later with include_connection_meta); b64info and b64data', async () => {
      const exp = nowSec() + 3600;
      const binary = Buffer.from([0, 1, 255, 10]);
      backend.on('/connect', (call) =>
        call.body.name === 'plain'
          ? {
              result: {
                user: 'alice',
                expire_at: exp,
                info: { name: 'Alice' },
                data: { hello: 1 },
                channels: ['srv:a', 'srv:b'],
                subs: { 'srv:b': { info: { room: 'b' }, data: { sub: 'b' } }, 'srv:c': { override: { presence: { value: false } } } },
                meta: { plan: 'gold' },
              },
            }
          : { result: { user: 'bob', b64info: b64({ b: 1 }), b64data: codec === 'json' ? b64({ x: true }) : binary.toString('base64'), channels: ['srv:a'] } },
      );
      backend.on('/rpc', (call) => ({ result: { data: { meta: call.body.meta ?? null } } }));
      await withServer(config(), async (srv, sdk) => {
        const asked = backend.nextCall('/connect');
        const alice = sdk.client({ data: send(codec, { app: 7 }), name: 'plain', version: '1.2.3' });
        const ctx = await within(alice.connect(), 'connected');
        const call = await asked;
        assert.deepEqual(
          { client: call.body.client, transport: call.body.transport, protocol: call.body.protocol, encoding: call.body.encoding, name: call.body.name, version: call.body.version },
          { client: ctx.client, transport: 'websocket', protocol: codec, encoding: 'json', name: 'plain', version: '1.2.3' },
        );
        assert.deepEqual(call.body.data, { app: 7 }, 'the connect data, embedded as JSON');
        assert.equal('channels' in call.body, false, 'no channels asked for');
        assert.deepEqual(value(codec, ctx.data), { hello: 1 }, 'result.data in ConnectResult.data');

        // channels and subs together; a channel in both takes its subs options.
        const subscribed = new Map<string, any>();
        for (let i = 0; i < 3; i++) {
          const s = await alice.events.next('subscribed');
          subscribed.set(s.channel, s);
        }
        assert.deepEqual([...subscribed.keys()].sort(), ['srv:a', 'srv:b', 'srv:c']);
        assert.deepEqual(value(codec, subscribed.get('srv:b').data), { sub: 'b' });

        const session = srv.app.node.hub.session(ctx.client);
        assert.equal(session?.user, 'alice');
        assert.equal(session?.expireAt, exp, 'result.expire_at');
        const a = await presenceOf(srv, 'srv:a', ctx.client);
        assert.deepEqual({ user: a.user, conn_info: a.conn_info, chan_info: a.chan_info }, { user: 'alice', conn_info: { name: 'Alice' }, chan_info: undefined });
        assert.deepEqual((await presenceOf(srv, 'srv:b', ctx.client)).chan_info, { room: 'b' }, 'subs info is the channel info');
        assert.equal(await presenceOf(srv, 'srv:c', ctx.client), undefined, 'override presence false');

        // Meta never reaches the client; a proxy with include_connection_meta gets it.
        const r = await alice.c.rpc('whoami', send(codec, {}));
        assert.deepEqual(value(codec, r.data), { meta: { plan: 'gold' } });

        const bob = sdk.client({ name: 'b64' });
        const bctx = await within(bob.connect(), 'b64 connect');
        if (codec === 'json') assert.deepEqual(bctx.data, { x: true });
        else assert.deepEqual(bytes(bctx.data), binary, 'b64data decoded to the bytes');
        assert.deepEqual((await presenceOf(srv, 'srv:a', bctx.client)).conn_info, { b: 1 }, 'b64info decoded');
        const none = await bob.c.rpc('whoami', send(codec, {}));
        assert.deepEqual(value(codec, none.data), { meta: null }, 'no meta, no meta field');
      }, codec);
    });

    it('connect: a token skips the proxy; no result is no credentials (3501, or anonymous when allowed); error and disconnect answers reach the SDK', async () => {
      backend.on('/connect', (call) => {
        switch (call.body.name) {
          case 'refused':
            return { error: { code: 1403, message: 'banned' } };
          case 'kicked':
            return { disconnect: { code: 4503, reason: 'go away' } };
          default:
            return {};
        }
      });
      await withServer(config(), async (_srv, sdk) => {
        const before = backend.callsTo('/connect').length;
        await within(sdk.client({ token: await connToken('bob') }).connect(), 'token connect');
        assert.equal(backend.callsTo('/connect').length, before, 'the proxy was not asked');

        const anon = sdk.client({ name: 'anon' });
        const noCreds = anon.events.next('disconnected');
        anon.c.connect();
        assert.equal((await within(noCreds, 'no credentials')).code, 3501);

        const refused = sdk.client({ name: 'refused' });
        const r = refused.events.next('disconnected');
        refused.c.connect();
        assert.deepEqual(await within(r, 'refused'), { code: 1403, reason: 'banned' }, 'a permanent error ends the connection with its code');

        const kicked = sdk.client({ name: 'kicked' });
        const k = kicked.events.next('disconnected');
        kicked.c.connect();
        assert.deepEqual(await within(k, 'kicked'), { code: 4503, reason: 'go away' });
      }, codec);
      await withServer(config({ client: { allow_anonymous_connect_without_token: true, proxy: { connect: { enabled: true, endpoint: backend.url('/connect') } } } }), async (srv, sdk) => {
        const ctx = await within(sdk.client({ name: 'anon' }).connect(), 'anonymous connect');
        assert.equal(srv.app.node.hub.session(ctx.client)?.user, '', 'no result with anonymous connects allowed: anonymous');
      }, codec);
    });

    it('subscribe: info, data and overrides (join_leave, force_push_join_leave, force_recovery, presence); b64info/b64data; no result; error and disconnect answers; a token or a user-limited channel skips the proxy', async () => {
      backend.on('/connect', (call) => ({ result: { user: call.body.name } }));
      backend.on('/subscribe', (call) => {
        switch (call.body.channel) {
          case 'px:open':
            return {
              result: {
                info: { room: 'open' },
                data: { welcome: true },
                override: { join_leave: { value: true }, force_push_join_leave: { value: true }, force_recovery: { value: true } },
              },
            };
          case 'px:hidden':
            return { result: { override: { presence: { value: false } } } };
          case 'px:b64':
            return { result: { b64info: b64({ r: 'b64' }), b64data: b64({ d: 'b64' }) } };
          case 'px:closed':
            return { error: { code: 1403, message: 'closed room' } };
          case 'px:kick':
            return { disconnect: { code: 4503, reason: 'kicked' } };
          default:
            return {};
        }
      });
      await withServer(config(), async (srv, sdk) => {
        const carol = sdk.client({ name: 'carol' });
        const cctx = await carol.connect();
        const asked = backend.nextCall('/subscribe');
        const open = await within(carol.subscribe('px:open', { data: send(codec, { want: 1 }) } as never), 'subscribed');
        const call = await asked;
        assert.deepEqual(
          { client: call.body.client, user: call.body.user, channel: call.body.channel, data: call.body.data, token: call.body.token, transport: call.body.transport },
          { client: cctx.client, user: 'carol', channel: 'px:open', data: { want: 1 }, token: undefined, transport: 'websocket' },
        );
        assert.deepEqual(value(codec, open.subscribed.data), { welcome: true });
        assert.equal(open.subscribed.recoverable, true, 'override force_recovery');
        assert.deepEqual((await presenceOf(srv, 'px:open', cctx.client)).chan_info, { room: 'open' });

        // dave's subscription emits a join (override join_leave) that carol is pushed (force_push_join_leave).
        const dave = sdk.client({ name: 'dave' });
        const dctx = await dave.connect();
        const joined = open.events.next('join', (j) => j.info.client === dctx.client);
        await dave.subscribe('px:open');
        assert.equal((await within(joined, "dave's join")).info.user, 'dave');

        await carol.subscribe('px:hidden');
        assert.equal(await presenceOf(srv, 'px:hidden', cctx.client), undefined, 'override presence false');

        const b = await carol.subscribe('px:b64');
        assert.deepEqual(value(codec, b.subscribed.data), { d: 'b64' });
        assert.deepEqual((await presenceOf(srv, 'px:b64', cctx.client)).chan_info, { r: 'b64' });

        const plain = await carol.subscribe('px:plain');
        assert.equal(plain.subscribed.recoverable, false, 'no result: the namespace options');
        assert.ok(plain.subscribed.data === undefined || bytesOrEmpty(plain.subscribed.data), 'no data');

        const closed = carol.newSub('px:closed');
        const ended = closed.events.next('unsubscribed');
        closed.sub.subscribe();
        assert.deepEqual(await within(ended, 'subscribe refused'), { channel: 'px:closed', code: 1403, reason: 'closed room' });

        const before = backend.callsTo('/subscribe').length;
        await carol.subscribe('px:room#carol');
        await carol.subscribe('px:tok', { token: await subToken('carol', 'px:tok') });
        assert.equal(backend.callsTo('/subscribe').length, before, 'neither a user-limited channel nor a token asks the proxy');

        const kicked = carol.events.next('disconnected');
        carol.newSub('px:kick').sub.subscribe();
        assert.deepEqual(await within(kicked, 'kicked'), { code: 4503, reason: 'kicked' });
      }, codec);
    });

    it('publish: the proxy decides alone; data, b64data, skip_history, tags, idempotency_key, version; no result publishes the original; error and disconnect answers', async () => {
      backend.on('/connect', () => ({ result: { user: 'erin' } }));
      backend.on('/subscribe', () => ({ result: {} }));
      backend.on('/publish', (call) => {
        const op: string = call.body.data?.op ?? '';
        switch (op) {
          case 'replace':
            return { result: { data: { replaced: call.body.channel } } };
          case 'b64':
            return { result: { b64data: b64({ from: 'b64' }) } };
          case 'skip':
            return { result: { skip_history: true } };
          case 'tags':
            return { result: { tags: { k: 'v' } } };
          case 'idem':
            return { result: { idempotency_key: 'key-1' } };
          case 'v2':
          case 'v1':
            return { result: { version: Number(op[1]), version_epoch: 'e1' } };
          case 'error':
            return { error: { code: 1429, message: 'slow down' } };
          case 'kick':
            return { disconnect: { code: 4503, reason: 'no more' } };
          default:
            return {};
        }
      });
      await withServer(config(), async (srv, sdk) => {
        const c = sdk.client();
        const ctx = await c.connect();
        const s = await c.subscribe('px:room');
        const asked = backend.nextCall('/publish');
        for (const op of ['plain', 'replace', 'b64', 'skip', 'tags', 'idem', 'idem', 'v2', 'v1', 'end']) {
          await c.c.publish('px:room', send(codec, { op }));
        }
        const call = await asked;
        assert.deepEqual(
          { client: call.body.client, user: call.body.user, channel: call.body.channel, data: call.body.data },
          { client: ctx.client, user: 'erin', channel: 'px:room', data: { op: 'plain' } },
        );
        const got: unknown[] = [];
        for (;;) {
          const p = await s.events.next('publication');
          got.push(p.tags !== undefined && Object.keys(p.tags).length > 0 ? { data: value(codec, p.data), tags: p.tags } : value(codec, p.data));
          if ((value(codec, p.data) as { op?: string }).op === 'end') break;
        }
        assert.deepEqual(got, [
          { op: 'plain' },
          { replaced: 'px:room' },
          { from: 'b64' },
          { op: 'skip' },
          { data: { op: 'tags' }, tags: { k: 'v' } },
          { op: 'idem' },
          { op: 'v2' },
          { op: 'end' },
        ], 'the second publish with the same idempotency key and the older version were suppressed');
        const history = await apiOk(srv, 'history', { channel: 'px:room', limit: 20 });
        assert.deepEqual(
          history.publications.map((p: { data: unknown }) => p.data),
          [{ op: 'plain' }, { replaced: 'px:room' }, { from: 'b64' }, { op: 'tags' }, { op: 'idem' }, { op: 'v2' }, { op: 'end' }],
          'skip_history kept it out of history',
        );
        await rejectsWithCode(c.c.publish('px:room', send(codec, { op: 'error' })), 1429, 'refused publish');
        // allow_publish_* are not consulted: px allows no client publications (above, the proxy
        // allowed them), pa allows every one (here, the proxy refuses).
        await rejectsWithCode(c.c.publish('pa:room', send(codec, { op: 'error' })), 1429, 'refused despite allow_publish_for_client');
        const kicked = c.events.next('disconnected');
        void c.c.publish('px:room', send(codec, { op: 'kick' })).catch(() => {});
        assert.deepEqual(await within(kicked, 'kicked'), { code: 4503, reason: 'no more' });
      }, codec);
    });

    it('publish: result delta marks a publication for delta compression', async () => {
      const doc = (op: string, rev: number) => ({ op, rev, text: 'a fairly long document that changes only a little between versions, padded so a delta pays' });
      backend.on('/publish', (call) => (call.body.data?.op === 'delta' ? { result: { delta: true } } : {}));
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client({ token: await connToken('frank') });
        await c.connect();
        const s = await c.subscribe('pd:doc', { delta: 'fossil' });
        for (let i = 0; i < 3; i++) await c.c.publish('pd:doc', send(codec, doc('full', i)));
        for (let i = 0; i < 3; i++) await s.events.next('publication');
        assert.equal(s.sub.deltaStats().numDeltaPayloads, 0, 'without result.delta (and no delta_publish) no deltas');
        for (let i = 3; i < 6; i++) await c.c.publish('pd:doc', send(codec, doc('delta', i)));
        const last = [];
        for (let i = 0; i < 3; i++) last.push(value(codec, (await s.events.next('publication')).data));
        assert.deepEqual(last, [3, 4, 5].map((i) => doc('delta', i)), 'deltas decode to the published data');
        assert.ok(s.sub.deltaStats().numDeltaPayloads > 0, `result.delta: deltas sent (${JSON.stringify(s.sub.deltaStats())})`);
      }, codec);
    });

    it('rpc: data, b64data, error and disconnect answers; rpc.namespaces with their own proxy; rpc.ping without the proxy; 108 for a namespace without proxy, 104 for an unknown one', async () => {
      backend.on('/connect', () => ({ result: { user: 'gina' } }));
      backend.on('/rpc', (call) => {
        switch (call.body.method) {
          case 'b64':
            return { result: { b64data: b64({ from: 'b64' }) } };
          case 'fail':
            return { error: { code: 1500, message: 'nope' } };
          case 'kick':
            return { disconnect: { code: 4503, reason: 'rpc kick' } };
          case 'empty':
            return {};
          default:
            return { result: { data: { echo: call.body.method, got: call.body.data } } };
        }
      });
      backend.on('/rpc-named', (call) => ({ result: { data: { named: call.body.method } } }));
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client();
        const ctx = await c.connect();
        const asked = backend.nextCall('/rpc');
        const r = await c.c.rpc('hello', send(codec, { q: 1 }));
        const call = await asked;
        assert.deepEqual(
          { client: call.body.client, user: call.body.user, method: call.body.method, data: call.body.data },
          { client: ctx.client, user: 'gina', method: 'hello', data: { q: 1 } },
        );
        assert.deepEqual(value(codec, r.data), { echo: 'hello', got: { q: 1 } });
        assert.deepEqual(value(codec, (await c.c.rpc('b64', send(codec, {}))).data), { from: 'b64' });
        const empty = await c.c.rpc('empty', send(codec, {}));
        assert.ok(empty.data === undefined || empty.data === null || bytesOrEmpty(empty.data), `no result: no data (${JSON.stringify(empty)})`);
        assert.deepEqual(value(codec, (await c.c.rpc('ns:method', send(codec, {}))).data), { named: 'ns:method' }, 'the namespace’s own proxy');
        const calls = backend.calls.length;
        await c.c.rpc('ping', send(codec, {}));
        assert.equal(backend.calls.length, calls, 'rpc.ping never reaches a proxy');
        await rejectsWithCode(c.c.rpc('off:method', send(codec, {})), 108, 'namespace without proxy');
        await rejectsWithCode(c.c.rpc('nope:method', send(codec, {})), 104, 'unknown namespace');
        await rejectsWithCode(c.c.rpc('fail', send(codec, {})), 1500, 'error answer');
        const kicked = c.events.next('disconnected');
        void c.c.rpc('kick', send(codec, {})).catch(() => {});
        assert.deepEqual(await within(kicked, 'kicked'), { code: 4503, reason: 'rpc kick' });
      }, codec);
    });
  });
}

/** An RPC result without data: the JSON SDK gives undefined, the Protobuf one empty bytes. */
function bytesOrEmpty(d: unknown): boolean {
  return d instanceof Uint8Array && d.length === 0;
}
