/**
 * A uni_grpc connection (a grpc-js client built from unistream.proto) through **gRPC** proxies (a
 * grpc-js backend built from proxy.proto), as docs/uni-grpc.md "Metadata for proxies" promises:
 * the connect proxy gets the call's metadata keys its `grpc_metadata` lists as gRPC metadata
 * (never `-bin` keys, nothing through `http_headers`, since the connection has no HTTP headers),
 * the ConnectRequest's `headers` through `emulated_headers`, `transport` uni_grpc and `protocol`
 * protobuf; and the connection keeps them for its later proxy calls, here the refresh proxy at the
 * connection's expiry, which forwards what its own lists name.
 *
 * Nothing sleeps: the test waits for the backend's refresh call at the expiry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcProxyBackend, json } from '../helpers/grpc-proxy-backend.js';
import { within } from '../helpers/sdk.js';
import { withUniGrpc, type PushObject } from '../helpers/uni-grpc-client.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** Long enough for an expiry a second or two out to fall and be acted on. */
const EXPIRY_WAIT_MS = 12_000;
const TIMEOUT = '5s';
const nowSec = (): number => Math.floor(Date.now() / 1000);

let backend: GrpcProxyBackend;
before(async () => {
  backend = await GrpcProxyBackend.start();
});
after(() => backend.stop());

function config(): ConfigInput {
  const endpoint = backend.endpoint();
  return {
    channel: { namespaces: [{ name: 'news' }] },
    client: {
      proxy: {
        connect: {
          enabled: true,
          endpoint,
          timeout: TIMEOUT,
          grpc_metadata: ['x-tenant', 'authorization', 'trace-bin'],
          http_headers: ['x-http-only'],
          emulated_headers: ['x-emu'],
          grpc: { static_metadata: { 'x-static': 's' } },
        },
        // Its own lists: the tenant and the emulated header, not the authorization.
        refresh: { enabled: true, endpoint, timeout: TIMEOUT, grpc_metadata: ['x-tenant'], emulated_headers: ['x-emu'] },
      },
    },
  } as ConfigInput;
}

/** The metadata a test looks at, absent keys as undefined. */
function picked(md: Record<string, string>): Record<string, string | undefined> {
  const keys = ['x-tenant', 'authorization', 'trace-bin', 'x-http-only', 'x-emu', 'x-other', 'x-static'];
  return Object.fromEntries(keys.map((k) => [k, md[k]]));
}

test('uni_grpc through gRPC proxies: grpc_metadata and emulated headers reach the connect backend as metadata and are kept for the refresh proxy', async () => {
  // expire_at is in whole seconds: now + 1 can be a millisecond away, and a connection whose
  // expiry has passed when its connect completes is closed with 3005 at once (seen in CI). now + 2
  // is at least a second out.
  backend.on('Connect', () => ({ result: { user: 'tenant-user', channels: ['news:t'], expire_at: nowSec() + 2, info: json({ v: 1 }) } }));
  backend.on('Refresh', () => ({ result: { expire_at: nowSec() + 3600 } }));
  await withUniGrpc(config(), async (srv, client) => {
    const connectAsked = backend.nextCall('Connect');
    // Registered now: the expiry may fall before the test gets to wait for it.
    const refreshAsked = backend.nextCall('Refresh');
    const s = client.consume(
      { data: '{"hello":1}', name: 'uni', headers: { 'X-Emu': 'from-request' } },
      { 'x-tenant': 'acme', authorization: 'Bearer abc', 'trace-bin': Buffer.from([1]), 'x-http-only': 'h', 'x-other': 'o' },
    );
    const connect = await within(connectAsked, 'the connect call');
    const r = connect.request;
    assert.deepEqual(
      [r.transport, r.protocol, r.encoding, r.name, JSON.parse(r.data.toString())],
      ['uni_grpc', 'protobuf', 'json', 'uni', { hello: 1 }],
    );
    assert.deepEqual(picked(connect.metadata), {
      'x-tenant': 'acme',
      authorization: 'Bearer abc',
      'trace-bin': undefined,
      'x-http-only': undefined,
      'x-emu': 'from-request',
      'x-other': undefined,
      'x-static': 's',
    }, 'the listed text keys and the emulated header; no -bin key, nothing through http_headers, nothing unlisted');
    const { connect: pushed } = await s.next((p: PushObject) => p.connect !== undefined, 'the connect push');
    assert.equal(pushed.client, r.client);
    assert.deepEqual(Object.keys(pushed.subs), ['news:t'], 'the backend decided the connection');

    const refresh = await within(refreshAsked, 'the refresh at expiry', EXPIRY_WAIT_MS);
    assert.deepEqual(
      [refresh.request.client, refresh.request.user, refresh.request.transport, refresh.request.protocol],
      [r.client, 'tenant-user', 'uni_grpc', 'protobuf'],
    );
    assert.deepEqual(picked(refresh.metadata), {
      'x-tenant': 'acme',
      authorization: undefined,
      'trace-bin': undefined,
      'x-http-only': undefined,
      'x-emu': 'from-request',
      'x-other': undefined,
      'x-static': undefined,
    }, 'kept from the connect; each proxy forwards what its own lists name');
    assert.equal(s.status, undefined, 'extended: the call is still open');
    assert.equal(s.pushes.some((p) => p.disconnect !== undefined), false);
    assert.equal(srv.app.node.hub.numClients, 1);
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  });
});
