/**
 * What the backend sees of a proxied event (spec §3.9–3.10, centrifugo-v6-notes §6.4): the request
 * fields over WebSocket and http_stream, JSON and Protobuf (`transport`, `protocol`, `encoding`,
 * `data` or `b64data` with `binary_encoding`, `meta` with `include_connection_meta`), named
 * `proxies[]` picked per namespace, and the headers: `http_headers` from the request that opened
 * the connection, `emulated_headers` from the SDK's `headers` option, a name in both going out
 * with the request's value, `static_headers` beneath them, `Content-Type: application/json`
 * always; for connect and for every later event. Header values never cross connections.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchWithHeaders, wsWithHeaders } from '../helpers/sdk-headers.js';
import { HttpProxyBackend, type HeldCall, type ProxyCall } from '../helpers/http-proxy-backend.js';
import { withKit, type Kit } from '../helpers/transport-kit.js';
import { within, type Codec, type TestClient } from '../helpers/sdk.js';
import type { ConfigInput } from '../../src/config/schema.js';

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

type Transport = 'websocket' | 'http_stream';

function config(): ConfigInput {
  const binary = (name: string, path: string) => ({
    name,
    endpoint: backend.url(path),
    binary_encoding: true,
    include_connection_meta: true,
    http_headers: ['X-Real'],
    emulated_headers: ['X-Emu'],
  });
  return {
    http_stream: { enabled: true },
    client: {
      proxy: {
        connect: {
          enabled: true,
          endpoint: backend.url('/connect'),
          http_headers: ['X-Real', 'X-Both'],
          emulated_headers: ['X-Emu', 'X-Both'],
          http: { static_headers: { 'X-Static': 'static', 'X-Real': 'static-loses', 'Content-Type': 'text/plain' } },
        },
      },
    },
    channel: {
      proxy: { subscribe: { endpoint: backend.url('/subscribe') } },
      namespaces: [
        { name: 'bin', subscribe_proxy_enabled: true, subscribe_proxy_name: 'bin-sub', publish_proxy_enabled: true, publish_proxy_name: 'bin-pub' },
        { name: 'plain', subscribe_proxy_enabled: true },
      ],
    },
    rpc: { without_namespace: { proxy_enabled: true, proxy_name: 'bin-rpc' } },
    proxies: [binary('bin-sub', '/bin-sub'), binary('bin-pub', '/bin-pub'), binary('bin-rpc', '/bin-rpc')],
  } as ConfigInput;
}

/** An SDK client over `transport` whose opening request carries `request` headers and whose connect carries `emulated` ones. */
function client(kit: Kit, transport: Transport, codec: Codec, request: Record<string, string>, emulated: Record<string, string>, name: string): TestClient {
  const opts = { headers: emulated, name, version: '9.9' };
  if (transport === 'websocket') {
    return kit.sdk([{ transport: 'websocket', endpoint: kit.srv.wsUrl }], { ...opts, websocket: wsWithHeaders(request) }, codec);
  }
  return kit.sdk('http_stream', { ...opts, fetch: fetchWithHeaders(request) }, codec);
}

/** The proxy-relevant headers of a call. */
function forwarded(c: ProxyCall): Record<string, string | undefined> {
  const h = c.headers;
  const pick = (n: string) => (typeof h[n] === 'string' ? (h[n] as string) : undefined);
  return { 'x-real': pick('x-real'), 'x-emu': pick('x-emu'), 'x-both': pick('x-both'), 'x-static': pick('x-static'), 'x-other': pick('x-other'), 'content-type': pick('content-type') };
}

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
const send = (codec: Codec, v: unknown): any => (codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v)));

for (const transport of ['websocket', 'http_stream'] as Transport[]) {
  for (const codec of ['json', 'protobuf'] as Codec[]) {
    describe(`HTTP proxy requests over ${transport} (${codec})`, () => {
      it('carry the documented fields and the forwarded headers, for connect and for later events', async () => {
        backend.on('/connect', (call) => ({ result: { user: `u-${call.body.name}`, meta: { m: call.body.name } } }));
        for (const p of ['/subscribe', '/bin-sub', '/bin-pub']) backend.on(p, () => ({ result: {} }));
        backend.on('/bin-rpc', () => ({ result: {} }));
        await withKit(config(), async (_srv, kit) => {
          const asked = backend.nextCall('/connect');
          const c = client(kit, transport, codec, { 'X-Real': 'real-1', 'X-Both': 'from-request', 'X-Other': 'never' }, { 'X-Emu': 'emu-1', 'X-Both': 'from-connect' }, 'one');
          const ctx = await within(c.connect(), 'connected');
          const connect = await asked;
          assert.deepEqual(connect.body, { client: ctx.client, transport, protocol: codec, encoding: 'json', name: 'one', version: '9.9' });
          assert.equal(connect.method, 'POST');
          assert.deepEqual(forwarded(connect), {
            'x-real': 'real-1',
            'x-emu': 'emu-1',
            'x-both': 'from-request',
            'x-static': 'static',
            'x-other': undefined,
            'content-type': 'application/json',
          }, 'request over emulated over static; Content-Type always JSON');

          const later: Record<string, Promise<ProxyCall>> = {
            sub: backend.nextCall('/bin-sub'),
            pub: backend.nextCall('/bin-pub'),
            rpc: backend.nextCall('/bin-rpc'),
            plain: backend.nextCall('/subscribe'),
          };
          await c.subscribe('bin:room', { data: send(codec, { s: 1 }) } as never);
          await c.c.publish('bin:room', send(codec, { p: 1 }));
          await c.c.rpc('method', send(codec, { r: 1 }));
          await c.subscribe('plain:room', { data: send(codec, { s: 2 }) } as never);
          const base = { client: ctx.client, transport, protocol: codec, user: 'u-one' };
          const sub = await later.sub!;
          assert.deepEqual(sub.body, { ...base, encoding: 'binary', channel: 'bin:room', b64data: enc({ s: 1 }), meta: { m: 'one' } });
          assert.deepEqual((await later.pub!).body, { ...base, encoding: 'binary', channel: 'bin:room', b64data: enc({ p: 1 }), meta: { m: 'one' } });
          assert.deepEqual((await later.rpc!).body, { ...base, encoding: 'binary', method: 'method', b64data: enc({ r: 1 }), meta: { m: 'one' } });
          const plain = await later.plain!;
          assert.deepEqual(plain.body, { ...base, encoding: 'json', channel: 'plain:room', data: { s: 2 } }, 'no meta without include_connection_meta');
          for (const call of [sub, await later.pub!, await later.rpc!]) {
            assert.deepEqual(forwarded(call), {
              'x-real': 'real-1',
              'x-emu': 'emu-1',
              'x-both': undefined,
              'x-static': undefined,
              'x-other': undefined,
              'content-type': 'application/json',
            }, `${call.path}: the headers its own lists name, kept from the connect`);
          }
          assert.deepEqual(forwarded(plain), { 'x-real': undefined, 'x-emu': undefined, 'x-both': undefined, 'x-static': undefined, 'x-other': undefined, 'content-type': 'application/json' });
        });
      });
    });
  }
}

describe('HTTP connect proxy channels', () => {
  it('a connect listing subs sends them as channels; a proxied connection gets only the backend’s channels, not the listed ones; without a refresh proxy expire_at is refreshed client-side', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    backend.on('/connect', () => ({ result: { user: 'lister', channels: ['open:b'], expire_at: exp } }));
    await withKit({ ...config(), channel: { namespaces: [{ name: 'open', allow_subscribe_for_client: true }] } } as ConfigInput, async (_srv, kit) => {
      const asked = backend.nextCall('/connect');
      const raw = await kit.ws(kit.srv.wsUrl);
      raw.send({ id: 1, connect: { subs: { 'open:a': {} } } });
      const reply = await raw.next((m) => m.id === 1);
      assert.deepEqual((await asked).body.channels, ['open:a']);
      assert.deepEqual(Object.keys(reply.connect.subs ?? {}), ['open:b'], 'open:a could be subscribed by the client, but is not added for it');
      assert.equal(reply.connect.expires, true, 'the client refreshes (no refresh proxy)');
      const left = exp - Math.floor(Date.now() / 1000);
      assert.ok(reply.connect.ttl >= left && reply.connect.ttl <= 3600, `ttl ${reply.connect.ttl}, expected [${left}, 3600]`);
    });
  });
});

describe('HTTP proxy headers', () => {
  it('each list forwards only its own kind; static headers go out when nothing else sets the name', async () => {
    backend.on('/connect', (call) => ({ result: { user: call.body.name } }));
    await withKit(config(), async (_srv, kit) => {
      const asked = backend.nextCall('/connect');
      // X-Emu only as a request header, X-Real only as an emulated one: neither list takes them.
      await client(kit, 'websocket', 'json', { 'X-Emu': 'request-emu' }, { 'X-Real': 'emulated-real' }, 'swapped').connect();
      assert.deepEqual(forwarded(await asked), {
        'x-real': 'static-loses',
        'x-emu': undefined,
        'x-both': undefined,
        'x-static': 'static',
        'x-other': undefined,
        'content-type': 'application/json',
      });
    });
  });

  it('never leak from one connection into another: many clients with their own headers, connects held and answered together, later calls interleaved', async () => {
    const held: HeldCall[] = [];
    const N = 12;
    let allHeld!: () => void;
    const allArrived = new Promise<void>((r) => (allHeld = r));
    backend.hold('/connect', (h) => {
      held.push(h);
      if (held.length === N) allHeld();
    });
    backend.on('/bin-rpc', () => ({ result: {} }));
    await withKit(config(), async (_srv, kit) => {
      const clients = Array.from({ length: N }, (_, i) =>
        client(kit, i % 2 === 0 ? 'websocket' : 'http_stream', 'json', { 'X-Real': `real-${i}`, 'X-Both': `both-${i}` }, { 'X-Emu': `emu-${i}` }, `c${i}`),
      );
      const connected = clients.map((c) => c.connect());
      await within(allArrived, 'every connect held at the backend');
      // Answer in reverse order, each with the user its request named.
      for (const h of [...held].reverse()) h.answer({ result: { user: h.call.body.name } });
      const ctxs = await Promise.all(connected);
      const nameOf = new Map(ctxs.map((ctx, i) => [ctx.client, `c${i}`]));
      for (const h of held) {
        const i = h.call.body.name.slice(1);
        assert.deepEqual([forwarded(h.call)['x-real'], forwarded(h.call)['x-emu'], forwarded(h.call)['x-both']], [`real-${i}`, `emu-${i}`, `both-${i}`]);
      }
      const before = backend.callsTo('/bin-rpc').length;
      await Promise.all(clients.flatMap((c) => [c.c.rpc('a', {}), c.c.rpc('b', {}), c.c.rpc('c', {})]));
      const rpcs = backend.callsTo('/bin-rpc').slice(before);
      assert.equal(rpcs.length, N * 3);
      for (const call of rpcs) {
        const i = nameOf.get(call.body.client)!.slice(1);
        assert.deepEqual([forwarded(call)['x-real'], forwarded(call)['x-emu']], [`real-${i}`, `emu-${i}`], `the headers of ${call.body.client}`);
      }
    });
  });
});
