/**
 * gRPC proxies (`grpc://` endpoints) end to end: an in-process Rotor, the official SDK (JSON and
 * Protobuf) over real WebSockets, and a real grpc-js backend implementing CentrifugoProxy from
 * proxy.proto (test/helpers/grpc-proxy-backend.ts). Each test checks what the backend was asked
 * (fields and metadata) and what the client got from its answer; the failure tests check the
 * client's error 100 and the logged reason.
 *
 * Expiries have second precision, so the refresh tests wait for real time to pass; nothing sleeps:
 * each waits for the backend's call or the client's event.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { GrpcProxyBackend, GrpcStatus, GrpcTap, json, type GrpcProxyCall } from '../helpers/grpc-proxy-backend.js';
import { takeProxyErrors } from '../helpers/http-proxy-backend.js';
import { apiOk, eventually, rejectsWithCode, SdkPool, withServer, within, type Codec } from '../helpers/sdk.js';
import { startServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** Long enough for an expiry a few seconds out to fall and be acted on. */
const EXPIRY_WAIT_MS = 12_000;
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A payload as the SDK of `codec` takes it, and back: objects for JSON, JSON text bytes for Protobuf. */
const enc = (codec: Codec, v: unknown): any => (codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v)));
const dec = (codec: Codec, v: any): unknown => (codec === 'json' ? v : JSON.parse(Buffer.from(v).toString()));
/** A request's bytes field as the JSON it holds. */
const parsed = (b: Buffer): unknown => JSON.parse(b.toString());

/** A WebSocket class for the SDK that opens its connection with these request headers. */
function withHeaders(headers: Record<string, string>): new (url: string, protocols?: string | string[]) => WebSocket {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

let backend: GrpcProxyBackend;
before(async () => {
  backend = await GrpcProxyBackend.start();
});
after(() => backend.stop());

/** Generous: a call on a loaded test machine must not fail on time (the slow test sets its own). */
const TIMEOUT = '5s';

function config(endpoint = backend.endpoint(), extra: Record<string, unknown> = {}): ConfigInput {
  return {
    client: {
      // An expired subscription is refreshed server-side at the first connection tick (every
      // presence_update_interval) past its expiry and this delay.
      expired_sub_close_delay: '1s',
      presence_update_interval: '250ms',
      proxy: {
        connect: {
          enabled: true,
          endpoint,
          timeout: TIMEOUT,
          http_headers: ['X-Real', 'authorization'],
          emulated_headers: ['x-emulated'],
          grpc: { static_metadata: { 'X-Static': 's', 'x-real': 'from-static' }, credentials_key: 'x-proxy-key', credentials_value: 'secret' },
        },
        refresh: { enabled: true, endpoint, timeout: TIMEOUT, include_connection_meta: true },
      },
    },
    channel: {
      proxy: {
        subscribe: { endpoint, timeout: TIMEOUT, include_connection_meta: true, http_headers: ['x-real'] },
        publish: { endpoint, timeout: TIMEOUT },
        sub_refresh: { endpoint, timeout: TIMEOUT },
      },
      namespaces: [{ name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true, sub_refresh_proxy_enabled: true, presence: true, history_size: 10, history_ttl: '60s' }],
    },
    rpc: { proxy: { endpoint, timeout: TIMEOUT, binary_encoding: true }, without_namespace: { proxy_enabled: true } },
    ...extra,
  } as ConfigInput;
}

for (const codec of ['json', 'protobuf'] as Codec[]) {
  describe(`gRPC proxies (${codec})`, () => {
    it('connect: request fields, forwarded headers, static and credentials metadata; the result sets user, info, data, channels and meta', async () => {
      backend.on('Connect', () => ({ result: { user: 'alice', info: json({ name: 'Alice' }), data: json({ hello: 1 }), channels: ['px:news'], meta: json({ plan: 'pro' }) } }));
      backend.on('Subscribe', () => ({}));
      await withServer(config(), async (srv, sdk) => {
        const asked = backend.nextCall('Connect');
        const c = sdk.client({
          websocket: withHeaders({ 'X-Real': 'r1', Authorization: 'Bearer a', 'X-Other': 'not forwarded' }),
          headers: { 'X-Emulated': 'e1', authorization: 'emulated loses' },
          data: enc(codec, { app: 7 }),
          name: 'test-sdk',
          version: '0.1',
        } as never);
        const serverSide = c.events.next('subscribed', (x) => x.channel === 'px:news');
        const ctx = await within(c.connect(), 'connected');
        const call = await asked;
        const r = call.request;
        assert.deepEqual(
          [r.client, r.transport, r.protocol, r.encoding, r.name, r.version, parsed(r.data), r.b64data, r.channels],
          [ctx.client, 'websocket', codec, 'json', 'test-sdk', '0.1', { app: 7 }, '', []],
        );
        const md = call.metadata;
        assert.deepEqual(
          [md['x-real'], md['authorization'], md['x-emulated'], md['x-static'], md['x-proxy-key'], md['x-other']],
          ['r1', 'Bearer a', 'e1', 's', 'secret', undefined],
        );
        assert.deepEqual(dec(codec, ctx.data), { hello: 1 });
        await within(serverSide, 'the server-side subscription');
        const pub = c.events.next('publication');
        await apiOk(srv, 'publish', { channel: 'px:news', data: { n: 1 } });
        assert.deepEqual(dec(codec, (await within(pub, 'server-side publication')).data), { n: 1 });
        const presence = await apiOk(srv, 'presence', { channel: 'px:news' });
        assert.deepEqual(presence.presence[ctx.client], { client: ctx.client, user: 'alice', conn_info: { name: 'Alice' } });

        const subAsked = backend.nextCall('Subscribe');
        await within(c.subscribe('px:room'), 'subscribed');
        const sub = await subAsked;
        assert.deepEqual([sub.request.user, sub.request.channel, parsed(sub.request.meta)], ['alice', 'px:room', { plan: 'pro' }]);
        assert.equal(sub.metadata['x-real'], 'r1', 'the connection keeps the header for later calls');
      }, codec);
    });

    it('connect: an error answer and a disconnect answer reach the client; no result means no credentials (3501)', async () => {
      backend.on('Connect', (call) => {
        if (call.request.name === 'err') return { error: { code: 4403, message: 'not allowed' } };
        if (call.request.name === 'bye') return { disconnect: { code: 4501, reason: 'banned' } };
        return {};
      });
      await withServer(config(), async (_srv, sdk) => {
        for (const [name, code] of [['err', 4403], ['bye', 4501], ['none', 3501]] as const) {
          const c = sdk.client({ name } as never);
          const gone = c.events.next('disconnected');
          c.c.connect();
          assert.equal((await within(gone, `${name}: disconnected`)).code, code, name);
        }
      }, codec);
    });

    it('refresh: at expire_at the backend extends the connection (new info) or expires it (3005)', async () => {
      const expireAt = nowSec() + 2;
      // Bob's connection expires after Alice's is refreshed; his reconnect gets no expiry.
      const expiries = new Map([['alice', expireAt], ['bob', expireAt + 2]]);
      backend.on('Connect', (call) => {
        const user: string = call.request.name;
        const at = expiries.get(user) ?? 0;
        expiries.delete(user);
        return { result: { user, expire_at: at, meta: json('m') } };
      });
      backend.on('Refresh', (call) =>
        call.request.user === 'alice' ? { result: { expire_at: nowSec() + 3600, info: json({ v: 2 }) } } : { result: { expired: true } },
      );
      await withServer(config(), async (srv, sdk) => {
        const alice = sdk.client({ name: 'alice' } as never);
        const bob = sdk.client({ name: 'bob' } as never);
        const first = await alice.connect();
        await bob.connect();
        const refreshed = await within(backend.nextCall('Refresh', (x) => x.request.user === 'alice'), 'alice refreshed', EXPIRY_WAIT_MS);
        assert.deepEqual([refreshed.request.client, refreshed.request.transport, refreshed.request.protocol, parsed(refreshed.request.meta)], [first.client, 'websocket', codec, 'm']);
        const expired = await bob.events.next('connecting', (x) => x.code !== 0, EXPIRY_WAIT_MS);
        assert.deepEqual({ code: expired.code, reason: expired.reason }, { code: 3005, reason: 'connection expired' });
        assert.equal(alice.events.count('connected'), 1);
        await eventually(async () => (srv.app.node.hub.session(first.client)?.expireAt ?? 0) > expireAt + 1000, "alice's new expiry");
      }, codec);
    });

    it('subscribe: the result sets channel info, data and overrides (join/leave pushed); error and disconnect answers', async () => {
      backend.on('Connect', (call) => ({ result: { user: call.request.name, info: json({ who: call.request.name }) } }));
      backend.on('Subscribe', (call) => {
        const ch: string = call.request.channel;
        if (ch === 'px:closed') return { error: { code: 4403, message: 'closed room' } };
        if (ch === 'px:kick') return { disconnect: { code: 4502, reason: 'kicked' } };
        return { result: { info: json({ room: 'open' }), data: json({ welcome: parsed(call.request.data) }), override: { join_leave: { value: true }, force_push_join_leave: { value: true } } } };
      });
      await withServer(config(), async (_srv, sdk) => {
        const a = sdk.client({ name: 'ann' } as never);
        const b = sdk.client({ name: 'ben' } as never);
        await a.connect();
        await b.connect();
        const s = await within(a.subscribe('px:open', { data: enc(codec, { want: 1 }) }), 'subscribed');
        assert.deepEqual(dec(codec, s.subscribed.data), { welcome: { want: 1 } });
        const joined = s.events.next('join', (x) => x.info.user === 'ben');
        await within(b.subscribe('px:open', { data: enc(codec, {}) }), 'ben subscribed');
        const j = (await within(joined, 'join pushed')).info;
        assert.deepEqual([j.user, dec(codec, j.connInfo), dec(codec, j.chanInfo)], ['ben', { who: 'ben' }, { room: 'open' }]);

        const closed = a.newSub('px:closed');
        const refused = closed.events.next('unsubscribed');
        closed.sub.subscribe();
        const u = await within(refused, 'subscribe error');
        assert.deepEqual([u.code, u.reason], [4403, 'closed room']);
        const gone = a.events.next('disconnected');
        a.newSub('px:kick').sub.subscribe();
        assert.equal((await within(gone, 'disconnect answer')).code, 4502);
      }, codec);
    });

    it('sub_refresh: at expire_at the backend extends a subscription or ends it (2501)', async () => {
      const expireAt = nowSec() + 2;
      // px:drop expires after px:keep is refreshed; its resubscribe gets no expiry.
      const expiries = new Map([['px:keep', expireAt], ['px:drop', expireAt + 2]]);
      backend.on('Connect', () => ({ result: { user: 'sue' } }));
      backend.on('Subscribe', (call) => {
        const at = expiries.get(call.request.channel) ?? 0;
        expiries.delete(call.request.channel);
        return { result: { expire_at: at } };
      });
      backend.on('SubRefresh', (call) => (call.request.channel === 'px:keep' ? { result: { expire_at: nowSec() + 3600 } } : { result: { expired: true } }));
      await withServer(config(), async (srv, sdk) => {
        const c = sdk.client();
        const { client } = await c.connect();
        const keep = await c.subscribe('px:keep');
        const drop = await c.subscribe('px:drop');
        const asked = await within(backend.nextCall('SubRefresh', (x) => x.request.channel === 'px:keep'), 'px:keep refreshed', EXPIRY_WAIT_MS);
        assert.deepEqual([asked.request.user, asked.request.transport], ['sue', 'websocket']);
        const ended = await drop.events.next('subscribing', (x) => x.code !== 0, EXPIRY_WAIT_MS);
        assert.deepEqual({ code: ended.code, reason: ended.reason }, { code: 2501, reason: 'subscription expired' });
        assert.equal(keep.sub.state, 'subscribed');
        assert.equal(keep.events.count('subscribing'), 1, 'only the initial subscribe');
        await eventually(async () => (srv.app.node.hub.session(client)?.subscription('px:keep')?.expireAt ?? 0) > expireAt + 1000, "px:keep's new expiry");
      }, codec);
    });

    it('publish: the backend replaces the data, skips history and sets tags; an error answer reaches the client', async () => {
      backend.on('Connect', () => ({ result: { user: 'pat' } }));
      backend.on('Subscribe', () => ({}));
      backend.on('Publish', (call) => {
        const d = parsed(call.request.data) as { n: number };
        if (d.n === 3) return { error: { code: 1403, message: 'no more' } };
        return { result: { data: json({ replaced: d.n }), skip_history: d.n === 2, tags: { n: String(d.n) } } };
      });
      await withServer(config(), async (srv, sdk) => {
        const c = sdk.client();
        await c.connect();
        const s = await c.subscribe('px:pub');
        const asked = backend.nextCall('Publish');
        for (const n of [1, 2]) {
          const got = s.events.next('publication');
          await c.c.publish('px:pub', enc(codec, { n }));
          const p = await within(got, `publication ${n}`);
          assert.deepEqual([dec(codec, p.data), p.tags], [{ replaced: n }, { n: String(n) }]);
        }
        const call = await asked;
        assert.deepEqual([call.request.user, call.request.channel, call.request.encoding], ['pat', 'px:pub', 'json']);
        const history = await apiOk(srv, 'history', { channel: 'px:pub', limit: -1 });
        assert.deepEqual(history.publications.map((p: { data: unknown }) => p.data), [{ replaced: 1 }], 'the second skipped history');
        await rejectsWithCode(c.c.publish('px:pub', enc(codec, { n: 3 })), 1403, 'publish');
      }, codec);
    });

    it('rpc with binary_encoding: b64data both ways; error and disconnect answers', async () => {
      backend.on('Connect', () => ({ result: { user: 'rita' } }));
      backend.on('RPC', (call) => {
        if (call.request.method === 'fail') return { error: { code: 1500, message: 'nope' } };
        if (call.request.method === 'bye') return { disconnect: { code: 4503, reason: 'rpc bye' } };
        const asked = parsed(Buffer.from(call.request.b64data, 'base64'));
        return { result: { b64data: Buffer.from(JSON.stringify({ echo: asked })).toString('base64') } };
      });
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client();
        await c.connect();
        const asked = backend.nextCall('RPC');
        const r = await c.c.rpc('hello', enc(codec, { x: 1 }));
        assert.deepEqual(dec(codec, r.data), { echo: { x: 1 } });
        const call: GrpcProxyCall = await asked;
        assert.deepEqual([call.request.method, call.request.encoding, call.request.data.length, call.request.user], ['hello', 'binary', 0, 'rita']);
        await rejectsWithCode(c.c.rpc('fail', enc(codec, {})), 1500, 'rpc');
        const gone = c.events.next('disconnected');
        void c.c.rpc('bye', enc(codec, {})).catch(() => {});
        assert.equal((await within(gone, 'disconnect answer')).code, 4503);
      }, codec);
    });
  });
}

describe('gRPC proxy failures and transport options', () => {
  /**
   * Starts a server whose connect proxy fails, runs `fn` with its pool, and returns the logged
   * failures' messages once it checked that every logged error is a failure of that proxy, naming
   * it (`proxy`, `method`) as the HTTP proxies' failures do.
   */
  async function failing(endpoint: string, extra: Record<string, unknown>, fn: (sdk: SdkPool) => Promise<void>): Promise<string[]> {
    const srv = await startServer({ client: { proxy: { connect: { enabled: true, endpoint, timeout: TIMEOUT, ...extra } } } } as ConfigInput);
    const sdk = new SdkPool(srv);
    try {
      await fn(sdk);
    } finally {
      sdk.closeAll();
      await srv.stop();
    }
    const lines = takeProxyErrors(srv);
    assert.ok(lines.length > 0, 'the failure was logged');
    assert.deepEqual(srv.errors, [], 'every error logged is a proxy failure naming its proxy');
    for (const l of lines) {
      assert.deepEqual([l.ctx.proxy, l.ctx.method], ['client.proxy.connect', 'connect'], JSON.stringify(l));
      assert.equal(typeof l.ctx.client, 'string', 'the client is named');
      assert.ok(l.message.startsWith('connect proxy client.proxy.connect failed: '), l.message);
    }
    return lines.map((l) => l.message);
  }

  /** The SDK's first connect error, which must be 100 (temporary: the SDK retries). */
  async function firstConnectError(sdk: SdkPool): Promise<void> {
    const c = sdk.client();
    const err = c.events.next('error');
    c.c.connect();
    const e = await within(err, 'connect error');
    assert.deepEqual([e.type, e.error.code, e.error.temporary], ['connect', 100, true]);
  }

  it('a backend that is down: error 100, and the client connects once it is up again', async () => {
    backend.on('Connect', () => ({ result: { user: 'back' } }));
    const tap = await GrpcTap.start(backend.port);
    tap.refusing = true;
    try {
      const errors = await failing(backend.endpoint(tap.port), {}, async (sdk) => {
        const c = sdk.client();
        const err = c.events.next('error');
        // grpc-js connects again after its backoff (1 s, jittered); calls fail fast until then.
        const connected = c.events.next('connected', () => true, EXPIRY_WAIT_MS);
        c.c.connect();
        assert.equal((await within(err, 'connect error')).error.code, 100);
        tap.refusing = false;
        await connected;
      });
      assert.ok(errors.some((m) => /^connect proxy .*failed: UNAVAILABLE: /.test(m)), JSON.stringify(errors));
    } finally {
      await tap.stop();
    }
  });

  it('a backend slower than timeout: DEADLINE_EXCEEDED, error 100', async () => {
    let release!: () => void;
    const held = new Promise<object>((resolve) => (release = () => resolve({})));
    backend.on('Connect', () => held);
    const errors = await failing(backend.endpoint(), { timeout: '200ms' }, firstConnectError);
    release();
    assert.ok(errors.some((m) => m.endsWith(' failed: DEADLINE_EXCEEDED: no answer within 200 ms')), JSON.stringify(errors));
  });

  it('a backend answering garbage or a failing status: error 100, the reason logged', async () => {
    backend.on('Connect', () => Buffer.from('not protobuf at all'));
    const garbage = await failing(backend.endpoint(), {}, firstConnectError);
    assert.ok(garbage.some((m) => / failed: undecodable answer: /.test(m)), JSON.stringify(garbage));
    backend.on('Connect', () => new GrpcStatus(grpc.status.INTERNAL, 'backend bug'));
    const failed = await failing(backend.endpoint(), {}, firstConnectError);
    assert.ok(failed.some((m) => m.endsWith(' failed: INTERNAL: backend bug')), JSON.stringify(failed));
  });

  it('grpc.tls with server_ca_pem and server_name reaches a TLS backend; grpc.compression sends gzip on the wire', async () => {
    const cert = { cert_chain: readFileSync(fixture('server.crt')), private_key: readFileSync(fixture('server.key')) };
    const tlsBackend = await GrpcProxyBackend.start(grpc.ServerCredentials.createSsl(null, [cert]));
    tlsBackend.on('Connect', () => ({ result: { user: 'secure' } }));
    try {
      await withServer(
        { client: { proxy: { connect: { enabled: true, endpoint: tlsBackend.endpoint(), timeout: TIMEOUT, grpc: { tls: { enabled: true, server_ca_pem: fixture('server.crt'), server_name: 'localhost' } } } } } } as ConfigInput,
        async (_srv, sdk) => {
          await within(sdk.client().connect(), 'connected over TLS');
          assert.equal(tlsBackend.callsTo('Connect').length, 1);
        },
      );
    } finally {
      await tlsBackend.stop();
    }
    backend.on('Connect', () => ({ result: { user: 'zipped' } }));
    const tap = await GrpcTap.start(backend.port);
    try {
      await withServer({ client: { proxy: { connect: { enabled: true, endpoint: backend.endpoint(tap.port), timeout: TIMEOUT, grpc: { compression: true } } } } } as ConfigInput, async (_srv, sdk) => {
        await within(sdk.client({ data: { big: 'x'.repeat(500) } } as never).connect(), 'connected');
      });
      assert.deepEqual(tap.compressed, [true]);
    } finally {
      await tap.stop();
    }
  });
});
