/**
 * gRPC proxies (`grpc://`, a real grpc-js backend from proxy.proto) across transports and codecs,
 * where proxy-grpc.test.ts uses WebSocket only: the official SDK over http_stream, JSON and
 * Protobuf, sends connect, refresh, subscribe, publish and rpc through the backend, whose requests
 * name `http_stream` and the codec and carry the connection's user, channel and data, and whose
 * results reach the SDK. Then many interleaved connections (WebSocket and http_stream, both
 * codecs), each with its own forwarded header values: every backend call carries exactly the
 * values of the connection it is for, at connect and in later subscribe calls.
 *
 * Nothing sleeps: the refresh waits for the backend's call at the connection's expiry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchWithHeaders, wsWithHeaders } from '../helpers/sdk-headers.js';
import type { Options } from 'centrifuge';
import { GrpcProxyBackend, json, type GrpcProxyCall, type HeldGrpcCall } from '../helpers/grpc-proxy-backend.js';
import { within, type Codec, type TestClient } from '../helpers/sdk.js';
import { withKit, type Kit } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** Long enough for an expiry a second or two out to fall and be acted on. */
const EXPIRY_WAIT_MS = 12_000;
/** Generous: a call on a loaded test machine must not fail on time. */
const TIMEOUT = '5s';
const nowSec = (): number => Math.floor(Date.now() / 1000);

type Transport = 'websocket' | 'http_stream';

/** A payload as the SDK of `codec` takes it, and back: objects for JSON, JSON text bytes for Protobuf. */
const enc = (codec: Codec, v: unknown): unknown => (codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v)));
const dec = (codec: Codec, v: unknown): unknown => (codec === 'json' ? v : JSON.parse(Buffer.from(v as Uint8Array).toString()));
/** A request's bytes field as the JSON it holds. */
const parsed = (b: Buffer): unknown => JSON.parse(b.toString());

let backend: GrpcProxyBackend;
before(async () => {
  backend = await GrpcProxyBackend.start();
});
after(() => backend.stop());

/** Connect and subscribe forward `X-Real` from the opening request and `X-Emu` from the SDK's `headers`. */
function config(): ConfigInput {
  const endpoint = backend.endpoint();
  const forwarding = { http_headers: ['X-Real'], emulated_headers: ['X-Emu'] };
  return {
    http_stream: { enabled: true },
    client: {
      proxy: {
        connect: { enabled: true, endpoint, timeout: TIMEOUT, ...forwarding },
        refresh: { enabled: true, endpoint, timeout: TIMEOUT },
      },
    },
    channel: {
      proxy: { subscribe: { endpoint, timeout: TIMEOUT, ...forwarding }, publish: { endpoint, timeout: TIMEOUT } },
      namespaces: [{ name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true }],
    },
    rpc: { proxy: { endpoint, timeout: TIMEOUT }, without_namespace: { proxy_enabled: true } },
  } as ConfigInput;
}

/** An SDK client over `transport` whose opening request carries `X-Real: real` and whose connect carries `X-Emu: emu`. */
function client(kit: Kit, transport: Transport, codec: Codec, real: string, emu: string, opts: Partial<Options>): TestClient {
  const common = { headers: { 'X-Emu': emu }, ...opts };
  if (transport === 'websocket') return kit.sdk([{ transport: 'websocket', endpoint: kit.srv.wsUrl }], { ...common, websocket: wsWithHeaders({ 'X-Real': real }) }, codec);
  return kit.sdk('http_stream', { ...common, fetch: fetchWithHeaders({ 'X-Real': real }) }, codec);
}

const forwarded = (c: GrpcProxyCall): [string | undefined, string | undefined] => [c.metadata['x-real'], c.metadata['x-emu']];

for (const codec of ['json', 'protobuf'] as Codec[]) {
  describe(`gRPC proxies over http_stream (${codec})`, () => {
    it('connect, refresh, subscribe, publish and rpc: the backend sees http_stream, the codec, the user, channel and data; the SDK gets each result', async () => {
      // At least a second out (whole seconds: now + 1 can be a millisecond away, and an expiry
      // passed by the time connect completes closes the connection with 3005 at once).
      backend.on('Connect', (call) => ({
        result: { user: `hs-${call.request.name}`, expire_at: nowSec() + 2, data: json({ welcome: parsed(call.request.data) }) },
      }));
      backend.on('Refresh', () => ({ result: { expire_at: nowSec() + 3600 } }));
      backend.on('Subscribe', (call) => ({ result: { data: json({ joined: parsed(call.request.data) }) } }));
      backend.on('Publish', (call) => ({ result: { data: json({ replaced: parsed(call.request.data) }) } }));
      backend.on('RPC', (call) => ({ result: { data: json({ [call.request.method]: parsed(call.request.data) }) } }));
      await withKit(config(), async (_srv, kit) => {
        const asked = {
          connect: backend.nextCall('Connect'),
          subscribe: backend.nextCall('Subscribe'),
          publish: backend.nextCall('Publish'),
          rpc: backend.nextCall('RPC'),
          // Waited for last, registered first: the expiry may fall while the other calls run.
          refresh: backend.nextCall('Refresh'),
        };
        const c = client(kit, 'http_stream', codec, 'r-1', 'e-1', { data: enc(codec, { hi: 1 }), name: 'ann', version: '2.0' });
        const ctx = await within(c.connect(), 'connected');
        assert.equal(ctx.transport, 'http_stream');
        assert.deepEqual(dec(codec, ctx.data), { welcome: { hi: 1 } });
        const connect = await asked.connect;
        const r = connect.request;
        assert.deepEqual(
          [r.client, r.transport, r.protocol, r.encoding, r.name, r.version, parsed(r.data)],
          [ctx.client, 'http_stream', codec, 'json', 'ann', '2.0', { hi: 1 }],
        );
        assert.deepEqual(forwarded(connect), ['r-1', 'e-1'], 'the stream request header and the emulated one, as metadata');
        const base = { client: ctx.client, transport: 'http_stream', protocol: codec, user: 'hs-ann' };
        const common = (x: GrpcProxyCall) => ({ client: x.request.client, transport: x.request.transport, protocol: x.request.protocol, user: x.request.user });

        const s = await within(c.subscribe('px:room', { data: enc(codec, { s: 1 }) }), 'subscribed');
        assert.deepEqual(dec(codec, s.subscribed.data), { joined: { s: 1 } });
        const sub = await asked.subscribe;
        assert.deepEqual([common(sub), sub.request.channel, parsed(sub.request.data)], [base, 'px:room', { s: 1 }]);
        assert.deepEqual(forwarded(sub), ['r-1', 'e-1'], 'kept from the connect for a later call');

        const got = s.events.next('publication');
        await within(c.c.publish('px:room', enc(codec, { p: 1 })), 'published');
        assert.deepEqual(dec(codec, (await within(got, 'the publication')).data), { replaced: { p: 1 } });
        const pub = await asked.publish;
        assert.deepEqual([common(pub), pub.request.channel, parsed(pub.request.data)], [base, 'px:room', { p: 1 }]);

        const answer = await within(c.c.rpc('echo', enc(codec, { r: 1 })), 'the rpc');
        assert.deepEqual(dec(codec, answer.data), { echo: { r: 1 } });
        const rpc = await asked.rpc;
        assert.deepEqual([common(rpc), rpc.request.method, parsed(rpc.request.data)], [base, 'echo', { r: 1 }]);

        const refresh = await within(asked.refresh, 'the refresh at expiry', EXPIRY_WAIT_MS);
        assert.deepEqual(common(refresh), base);
        assert.deepEqual([c.events.count('connected'), c.events.count('disconnected')], [1, 0], 'extended, not reconnected');
      });
    });
  });
}

describe('gRPC proxy metadata never crosses connections', () => {
  it('many connections over both transports and codecs, connects held and answered in reverse, later subscribes interleaved: each call carries its own connection’s values', async () => {
    const N = 12;
    const held: HeldGrpcCall[] = [];
    let allHeld!: () => void;
    const allArrived = new Promise<void>((r) => (allHeld = r));
    backend.hold('Connect', (h) => {
      held.push(h);
      if (held.length === N) allHeld();
    });
    backend.on('Subscribe', () => ({ result: {} }));
    await withKit(config(), async (_srv, kit) => {
      const clients = Array.from({ length: N }, (_, i) => {
        const transport: Transport = i % 2 === 0 ? 'websocket' : 'http_stream';
        const codec: Codec = Math.floor(i / 2) % 2 === 0 ? 'json' : 'protobuf';
        return client(kit, transport, codec, `real-${i}`, `emu-${i}`, { name: `c${i}` });
      });
      const connected = clients.map((c) => c.connect());
      await within(allArrived, 'every connect held at the backend');
      for (const h of [...held].reverse()) h.answer({ result: { user: h.call.request.name } });
      const ctxs = await within(Promise.all(connected), 'every client connected');
      for (const h of held) {
        const i = (h.call.request.name as string).slice(1);
        assert.deepEqual(forwarded(h.call), [`real-${i}`, `emu-${i}`], `the connect of c${i}`);
      }

      const indexOf = new Map(ctxs.map((ctx, i) => [ctx.client, i]));
      const before = backend.callsTo('Subscribe').length;
      await within(Promise.all(clients.flatMap((c) => ['px:a', 'px:b', 'px:c'].map((ch) => c.subscribe(ch)))), 'every subscription');
      const subs = backend.callsTo('Subscribe').slice(before);
      assert.equal(subs.length, N * 3);
      for (const call of subs) {
        const i = indexOf.get(call.request.client);
        assert.notEqual(i, undefined, `a subscribe of a known client: ${call.request.client}`);
        assert.deepEqual([call.request.user, ...forwarded(call)], [`c${i}`, `real-${i}`, `emu-${i}`], `the subscribe of c${i} to ${call.request.channel}`);
      }
    });
  });
});
