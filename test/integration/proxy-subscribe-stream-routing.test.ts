/**
 * Which backend a subscribe stream goes to, and with what metadata, end to end: an in-process
 * Rotor, the official SDK (JSON and Protobuf) over WebSockets opened with request headers, and two
 * real grpc-js backends (test/helpers/grpc-proxy-backend.ts). A namespace without a proxy name
 * streams through `channel.proxy.subscribe_stream`; one whose `subscribe_stream_proxy_name` names a
 * `proxies[]` entry streams through that entry, with that entry's settings: each proxy forwards
 * the connection's headers listed in its own `http_headers` as gRPC metadata (names lower-case),
 * beside its `grpc.static_metadata`, and no others.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { GrpcProxyBackend, json } from '../helpers/grpc-proxy-backend.js';
import { within, type Codec } from '../helpers/sdk.js';
import { connToken } from '../helpers/server.js';
import { withKit } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';

const dec = (codec: Codec, v: unknown): unknown => (codec === 'json' ? v : JSON.parse(Buffer.from(v as Uint8Array).toString()));

/** A WebSocket class for the SDK that opens its connection with these request headers. */
function withHeaders(headers: Record<string, string>): new (url: string, protocols?: string | string[]) => WebSocket {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

/** Streams `backend` opens, in order, each answered with the backend's `who` as data. */
const serve = (backend: GrpcProxyBackend, who: string) => backend.queueStreams((_call, stream) => stream.write({ subscribe_response: { result: { data: json({ who }) } } }));

let main: GrpcProxyBackend;
let named: GrpcProxyBackend;
before(async () => {
  main = await GrpcProxyBackend.start();
  named = await GrpcProxyBackend.start();
});
after(async () => {
  await main.stop();
  await named.stop();
});

function config(): ConfigInput {
  return {
    channel: {
      proxy: { subscribe_stream: { endpoint: main.endpoint(), timeout: '5s', http_headers: ['X-Real', 'authorization'] } },
      namespaces: [
        { name: 'st', subscribe_stream_proxy_enabled: true },
        { name: 'nm', subscribe_stream_proxy_enabled: true, subscribe_stream_proxy_name: 'streamer' },
      ],
    },
    proxies: [
      {
        name: 'streamer',
        endpoint: named.endpoint(),
        timeout: '5s',
        http_headers: ['x-tenant'],
        grpc: { static_metadata: { 'x-static': 'named' } },
      },
    ],
  } as ConfigInput;
}

for (const codec of ['json', 'protobuf'] as const) {
  describe(`subscribe stream routing and metadata (${codec})`, () => {
    it('the default stream proxy and a named proxies[] entry each get their own streams, with their own http_headers as metadata', async () => {
      const nextMain = serve(main, 'main');
      const nextNamed = serve(named, 'named');
      await withKit(config(), async (_srv, kit) => {
        const token = await connToken('kim');
        const headers = { 'X-Real': 'real-1', Authorization: 'Bearer abc', 'X-Tenant': 'acme', 'X-Other': 'never' };
        const c = kit.sdk([{ transport: 'websocket', endpoint: kit.srv.wsUrl }], { token, websocket: withHeaders(headers) }, codec);
        await within(c.connect(), 'connected');

        const s = await within(c.subscribe('st:feed'), 'subscribed through the default stream proxy');
        const onMain = await within(nextMain(), 'stream opened on the default backend');
        assert.deepEqual([onMain.call.method, onMain.call.request.channel, onMain.call.request.user], ['SubscribeUnidirectional', 'st:feed', 'kim']);
        assert.deepEqual(dec(codec, s.subscribed.data), { who: 'main' });
        const m = onMain.call.metadata;
        assert.deepEqual([m['x-real'], m['authorization']], ['real-1', 'Bearer abc'], 'http_headers forwarded as metadata');
        assert.deepEqual([m['x-tenant'], m['x-other'], m['x-static']], [undefined, undefined, undefined], 'nothing outside this proxy\'s lists');

        const n = await within(c.subscribe('nm:feed'), 'subscribed through the named stream proxy');
        const onNamed = await within(nextNamed(), 'stream opened on the named backend');
        assert.deepEqual([onNamed.call.method, onNamed.call.request.channel, onNamed.call.request.user], ['SubscribeUnidirectional', 'nm:feed', 'kim']);
        assert.deepEqual(dec(codec, n.subscribed.data), { who: 'named' });
        const nm = onNamed.call.metadata;
        assert.deepEqual([nm['x-tenant'], nm['x-static']], ['acme', 'named'], "the named proxy's http_headers and static metadata");
        assert.deepEqual([nm['x-real'], nm['authorization'], nm['x-other']], [undefined, undefined, undefined], "not the default proxy's headers");

        // Each backend saw only its own namespace's stream, and the named one's messages reach the subscriber.
        assert.deepEqual(main.calls.map((x) => x.request.channel), ['st:feed']);
        assert.deepEqual(named.calls.map((x) => x.request.channel), ['nm:feed']);
        const pub = n.events.next('publication');
        onNamed.stream.write({ publication: { data: json({ from: 'named' }) } });
        assert.deepEqual(dec(codec, (await within(pub, 'publication from the named stream')).data), { from: 'named' });
      });
      main.calls.length = 0;
      named.calls.length = 0;
    });
  });
}
