/**
 * GrpcProxyCaller against a real grpc-js backend built from proxy.proto (test/helpers/
 * grpc-proxy-backend.ts): every request field under Centrifugo's names, every answer decoded,
 * the metadata layers, gzip and the channel as seen on the wire, TLS and mutual TLS, and each
 * way a call fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { GrpcProxyCaller, type GrpcProxyOptions } from '../../src/proxy/grpc/caller.js';
import { ProxyCallError, type ProxyRequestBase } from '../../src/proxy/types.js';
import { GrpcProxyBackend, GrpcStatus, GrpcTap, json } from '../helpers/grpc-proxy-backend.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), 'utf8');
const NONE: ReadonlyMap<string, string> = new Map();
const BASE: ProxyRequestBase = { client: 'c1', transport: 'websocket', protocol: 'json', encoding: 'json' };

function options(endpoint: string, extra: Partial<GrpcProxyOptions> = {}): GrpcProxyOptions {
  return { name: 'client.proxy.connect', endpoint, timeoutMs: 5000, tls: undefined, credentials: undefined, compression: false, staticMetadata: new Map(), ...extra };
}

/** Runs `fn` with a caller and always closes it. */
async function withCaller(opts: GrpcProxyOptions, fn: (c: GrpcProxyCaller) => Promise<void>): Promise<void> {
  const c = new GrpcProxyCaller(opts);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProxyCallError, `a ProxyCallError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A port nothing listens on: bound by the system, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('gRPC proxy caller', () => {
  let backend: GrpcProxyBackend;
  before(async () => {
    backend = await GrpcProxyBackend.start();
  });
  after(() => backend.stop());

  it('sends every request field under the proto names: bytes as bytes, b64data as text', async () => {
    for (const m of ['Connect', 'Refresh', 'Subscribe', 'Publish', 'SubRefresh', 'RPC'] as const) backend.on(m, () => ({}));
    await withCaller(options(backend.endpoint()), async (c) => {
      const data = new Uint8Array(Buffer.from('{"a":1}'));
      const meta = new Uint8Array(Buffer.from('{"m":true}'));
      await c.call('connect', { ...BASE, name: 'sdk', version: '1.2', channels: ['a', 'b'], data }, NONE);
      await c.call('refresh', { ...BASE, user: 'u1', meta }, NONE);
      await c.call('subscribe', { ...BASE, protocol: 'protobuf', encoding: 'binary', user: 'u1', channel: 'ns:ch', token: 't', b64data: 'AAE=', meta }, NONE);
      await c.call('publish', { ...BASE, user: 'u1', channel: 'ns:ch', data }, NONE);
      await c.call('sub_refresh', { ...BASE, user: 'u1', channel: 'ns:ch' }, NONE);
      await c.call('rpc', { ...BASE, transport: 'sse', user: '', method: 'getUser', data }, NONE);
    });
    const [connect, refresh, subscribe, publish, subRefresh, rpc] = backend.calls.slice(-6).map((x) => x.request);
    assert.deepEqual(
      { ...connect, data: connect.data.toString() },
      { client: 'c1', transport: 'websocket', protocol: 'json', encoding: 'json', data: '{"a":1}', b64data: '', name: 'sdk', version: '1.2', channels: ['a', 'b'] },
    );
    assert.equal(refresh.user, 'u1');
    assert.equal(refresh.meta.toString(), '{"m":true}');
    assert.deepEqual([subscribe.protocol, subscribe.encoding, subscribe.channel, subscribe.token, subscribe.b64data, subscribe.data.length], ['protobuf', 'binary', 'ns:ch', 't', 'AAE=', 0]);
    assert.equal(subscribe.meta.toString(), '{"m":true}');
    assert.deepEqual([publish.user, publish.channel, publish.data.toString(), publish.meta.length], ['u1', 'ns:ch', '{"a":1}', 0]);
    assert.deepEqual([subRefresh.user, subRefresh.channel], ['u1', 'ns:ch']);
    assert.deepEqual([rpc.transport, rpc.method, rpc.data.toString()], ['sse', 'getUser', '{"a":1}']);
  });

  it('decodes every result field; b64 fields and bytes fields apart; no result is undefined', async () => {
    const override = { presence: { value: true }, join_leave: { value: false }, force_push_join_leave: { value: true } };
    backend.on('Connect', () => ({
      result: {
        user: 'alice', expire_at: 1_900_000_000, info: json({ i: 1 }), b64data: 'AQI=', channels: ['x'], meta: json({ m: 1 }),
        subs: { 'ns:a': { expire_at: 5, info: json('si'), b64data: 'Aw==', override } },
      },
    }));
    backend.on('Refresh', () => ({ result: { expired: false, expire_at: 7, b64info: 'BA==', meta: json(2) } }));
    backend.on('Subscribe', () => ({ result: { expire_at: 9, info: json('ci'), data: json('d'), override: { force_recovery: { value: true } } } }));
    backend.on('Publish', () => ({ result: { data: json('new'), skip_history: true, tags: { k: 'v' }, idempotency_key: 'ik', delta: true, version: 3, version_epoch: 'e' } }));
    backend.on('SubRefresh', () => ({ result: { expired: true } }));
    backend.on('RPC', () => ({}));
    const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());
    await withCaller(options(backend.endpoint()), async (c) => {
      const connect = await c.call('connect', { ...BASE, name: '', version: '', channels: [] }, NONE);
      assert.equal(connect.kind, 'result');
      const r = connect.kind === 'result' ? connect.result! : assert.fail();
      assert.deepEqual([r.user, r.expireAt, text(r.info.raw), r.info.b64, r.data.raw, r.data.b64, r.channels, text(r.meta.raw)], ['alice', 1_900_000_000, '{"i":1}', undefined, undefined, 'AQI=', ['x'], '{"m":1}']);
      const sub = r.subs?.['ns:a'];
      assert.deepEqual([sub?.expireAt, text(sub?.info.raw), sub?.data.b64], [5, '"si"', 'Aw==']);
      assert.deepEqual(sub?.override, { presence: true, joinLeave: false, forcePushJoinLeave: true });

      const refresh = await c.call('refresh', { ...BASE, user: 'alice' }, NONE);
      assert.deepEqual(refresh.kind === 'result' && refresh.result, { expired: false, expireAt: 7, info: { b64: 'BA==' }, meta: { raw: Buffer.from('2') } });
      const subscribe = await c.call('subscribe', { ...BASE, user: 'alice', channel: 'ns:a', token: '' }, NONE);
      const s = subscribe.kind === 'result' ? subscribe.result! : assert.fail();
      assert.deepEqual([s.expireAt, text(s.info.raw), text(s.data.raw), s.override], [9, '"ci"', '"d"', { forceRecovery: true }]);
      const publish = await c.call('publish', { ...BASE, user: 'alice', channel: 'ns:a' }, NONE);
      const p = publish.kind === 'result' ? publish.result! : assert.fail();
      assert.deepEqual({ ...p, data: text(p.data.raw) }, { data: '"new"', skipHistory: true, tags: { k: 'v' }, idempotencyKey: 'ik', delta: true, version: 3, versionEpoch: 'e' });
      const subRefresh = await c.call('sub_refresh', { ...BASE, user: 'alice', channel: 'ns:a' }, NONE);
      assert.deepEqual(subRefresh.kind === 'result' && subRefresh.result, { expired: true, expireAt: 0, info: {} });
      assert.deepEqual(await c.call('rpc', { ...BASE, user: 'alice', method: 'm' }, NONE), { kind: 'result', result: undefined });
    });
  });

  it('an error or a disconnect answer is the answer; disconnect wins over error', async () => {
    backend.on('RPC', (call) =>
      call.request.method === 'err'
        ? { error: { code: 1400, message: 'bad', temporary: true } }
        : { error: { code: 1401, message: 'ignored' }, disconnect: { code: 4501, reason: 'go away' } },
    );
    await withCaller(options(backend.endpoint()), async (c) => {
      assert.deepEqual(await c.call('rpc', { ...BASE, user: 'u', method: 'err' }, NONE), { kind: 'error', code: 1400, message: 'bad', temporary: true });
      assert.deepEqual(await c.call('rpc', { ...BASE, user: 'u', method: 'both' }, NONE), { kind: 'disconnect', code: 4501, reason: 'go away' });
    });
  });

  it('metadata: static beneath forwarded beneath the credentials pair, on a plaintext channel too', async () => {
    backend.on('RPC', () => ({}));
    const opts = options(backend.endpoint(), {
      staticMetadata: new Map([['x-static', 's'], ['x-both', 'static'], ['x-secret', 'static']]),
      credentials: { key: 'X-Secret', value: 'k3y' },
    });
    await withCaller(opts, async (c) => {
      const asked = backend.nextCall('RPC');
      await c.call('rpc', { ...BASE, user: 'u', method: 'm' }, new Map([['x-both', 'forwarded'], ['x-secret', 'spoofed'], ['authorization', 'Bearer t']]));
      const md = (await asked).metadata;
      assert.deepEqual([md['x-static'], md['x-both'], md['x-secret'], md['authorization']], ['s', 'forwarded', 'k3y', 'Bearer t']);
    });
  });

  it('a forwarded header that cannot be gRPC metadata fails the call, naming it; a bad static key fails at startup', async () => {
    backend.on('RPC', () => ({}));
    await withCaller(options(backend.endpoint()), async (c) => {
      await rejectsWith(c.call('rpc', { ...BASE, user: 'u', method: 'm' }, new Map([['x-name', 'Zo\u00eb']])), /forwarded header "x-name" cannot be gRPC metadata/);
    });
    assert.throws(() => new GrpcProxyCaller(options(backend.endpoint(), { staticMetadata: new Map([['bad key', 'v']]) })), /client\.proxy\.connect\.grpc\.static_metadata/);
    assert.throws(() => new GrpcProxyCaller(options('http://127.0.0.1:1')), /client\.proxy\.connect\.endpoint: "http:\/\/127\.0\.0\.1:1" is not a grpc:\/\/host:port address/);
  });

  it('fails with the status name: UNIMPLEMENTED, PERMISSION_DENIED, DEADLINE_EXCEEDED, UNAVAILABLE', async () => {
    backend.on('Refresh', () => new GrpcStatus(grpc.status.PERMISSION_DENIED, 'who are you'));
    let release!: () => void;
    const held = new Promise<object>((resolve) => (release = () => resolve({})));
    backend.on('SubRefresh', () => held);
    await withCaller(options(backend.endpoint()), async (c) => {
      await rejectsWith(c.call('refresh', { ...BASE, user: 'u' }, NONE), /^PERMISSION_DENIED: who are you$/);
    });
    // The backend never answers this one while the call lasts: past any deadline.
    await withCaller(options(backend.endpoint(), { timeoutMs: 100 }), async (c) => {
      await rejectsWith(c.call('sub_refresh', { ...BASE, user: 'u', channel: 'c' }, NONE), /^DEADLINE_EXCEEDED: no answer within 100 ms$/);
      release();
    });
    const bare = await GrpcProxyBackend.start();
    try {
      await withCaller(options(bare.endpoint()), async (c) => {
        await rejectsWith(c.call('connect', { ...BASE, name: '', version: '', channels: [] }, NONE), /^UNIMPLEMENTED: /);
      });
    } finally {
      await bare.stop();
    }
    await withCaller(options(`grpc://127.0.0.1:${await closedPort()}`), async (c) => {
      await rejectsWith(c.call('connect', { ...BASE, name: '', version: '', channels: [] }, NONE), /^UNAVAILABLE: /);
    });
  });

  it('an answer that is not the response message, or an int64 beyond 2^53, fails the call', async () => {
    backend.on('RPC', () => Buffer.from([0xff, 0xff, 0xff, 0xff]));
    backend.on('Subscribe', () => ({ result: { expire_at: '9007199254740993' } }));
    await withCaller(options(backend.endpoint()), async (c) => {
      await rejectsWith(c.call('rpc', { ...BASE, user: 'u', method: 'm' }, NONE), /^undecodable answer: /);
      await rejectsWith(c.call('subscribe', { ...BASE, user: 'u', channel: 'c', token: '' }, NONE), /expire_at 9007199254740993 is beyond 2\^53/);
    });
  });

  it('one connection carries every call; requests go gzip-compressed with compression, plain without', async () => {
    backend.on('RPC', () => ({}));
    const data = new Uint8Array(Buffer.from('x'.repeat(1000)));
    for (const compression of [true, false]) {
      const tap = await GrpcTap.start(backend.port);
      try {
        await withCaller(options(backend.endpoint(tap.port), { compression }), async (c) => {
          await Promise.all([1, 2, 3].map(() => c.call('rpc', { ...BASE, user: 'u', method: 'm', data }, NONE)));
          await c.call('rpc', { ...BASE, user: 'u', method: 'm', data }, NONE);
        });
        assert.equal(tap.connections, 1);
        assert.deepEqual(tap.compressed, [compression, compression, compression, compression]);
      } finally {
        await tap.stop();
      }
    }
  });

  it('close() ends the channel: a call in flight still gets its answer, a later call fails as a ProxyCallError', async () => {
    let release!: () => void;
    const held = new Promise<object>((resolve) => (release = () => resolve({ result: { data: json('late') } })));
    backend.on('RPC', () => held);
    const c = new GrpcProxyCaller(options(backend.endpoint()));
    const asked = backend.nextCall('RPC');
    const inFlight = c.call('rpc', { ...BASE, user: 'u', method: 'm' }, NONE);
    await asked;
    await c.close();
    release();
    const a = await inFlight;
    assert.equal(a.kind === 'result' && Buffer.from(a.result?.data.raw ?? []).toString(), '"late"');
    await rejectsWith(c.call('rpc', { ...BASE, user: 'u', method: 'm' }, NONE), /^the proxy is closed$/);
  });
});

describe('gRPC proxy caller over TLS', () => {
  const serverCert = { cert_chain: Buffer.from(fixture('server.crt')), private_key: Buffer.from(fixture('server.key')) };
  const connect = { ...BASE, name: '', version: '', channels: [] };

  it('verifies the backend with server_ca_pem; a plaintext or unverified client cannot call it', async () => {
    const backend = await GrpcProxyBackend.start(grpc.ServerCredentials.createSsl(null, [serverCert]));
    backend.on('Connect', () => ({ result: { user: 'tls-user' } }));
    try {
      await withCaller(options(backend.endpoint(), { tls: { ca: fixture('server.crt') } }), async (c) => {
        const a = await c.call('connect', connect, NONE);
        assert.equal(a.kind === 'result' && a.result?.user, 'tls-user');
      });
      await withCaller(options(backend.endpoint(), { tls: {} }), async (c) => {
        await rejectsWith(c.call('connect', connect, NONE), /^UNAVAILABLE: .*self[- ]signed/i);
      });
      await withCaller(options(backend.endpoint(), { tls: { rejectUnauthorized: false } }), async (c) => {
        assert.equal((await c.call('connect', connect, NONE)).kind, 'result', 'insecure_skip_verify accepts it');
      });
      await withCaller(options(backend.endpoint()), async (c) => {
        await rejectsWith(c.call('connect', connect, NONE), /^UNAVAILABLE: /);
      });
    } finally {
      await backend.stop();
    }
  });

  it('mutual TLS: the client certificate from cert_pem/key_pem is required and accepted', async () => {
    const backend = await GrpcProxyBackend.start(grpc.ServerCredentials.createSsl(Buffer.from(fixture('client-ca.crt')), [serverCert], true));
    backend.on('Connect', () => ({ result: { user: 'mtls-user' } }));
    try {
      const tls = { ca: fixture('server.crt'), cert: fixture('client.crt'), key: fixture('client.key') };
      await withCaller(options(backend.endpoint(), { tls }), async (c) => {
        const a = await c.call('connect', connect, NONE);
        assert.equal(a.kind === 'result' && a.result?.user, 'mtls-user');
      });
      await withCaller(options(backend.endpoint(), { tls: { ca: fixture('server.crt') } }), async (c) => {
        await rejectsWith(c.call('connect', connect, NONE), /^UNAVAILABLE: /);
      });
    } finally {
      await backend.stop();
    }
  });
});
