/**
 * What the connecting hook sees of headers (ConnectEvent.headers, ConnectEvent.emulatedHeaders),
 * kept so a connect proxy can forward them: the opening request's own headers, and the ones the
 * client sent in `connect.headers` ("headers emulation", for browsers that cannot set headers on
 * a WebSocket or EventSource), apart and with lower-case names. Over a real WebSocket and a real
 * uni_http_stream request; and `client.user_id_http_header` trusts the request's headers only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectEvent, NodeHooks } from '../../src/node/events.js';
import { DisconnectCode } from '../../src/protocol/codes.js';
import { connToken, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin } from '../helpers/error-paths.js';
import { withKit } from '../helpers/transport-kit.js';

/** The server's own policy, recording every connect event it is asked about. */
function recordConnects(srv: TestServer): ConnectEvent[] {
  const base: NodeHooks = srv.app.node.hooks;
  const seen: ConnectEvent[] = [];
  srv.app.node.hooks = {
    connecting: (e) => {
      seen.push(e);
      return base.connecting(e);
    },
    subscribing: (e) => base.subscribing(e),
    publishing: (e) => base.publishing(e),
    history: (e) => base.history(e),
    presence: (e) => base.presence(e),
    presenceStats: (e) => base.presenceStats(e),
    refreshing: (e) => base.refreshing(e),
    subRefreshing: (e) => base.subRefreshing(e),
  };
  return seen;
}

const entries = (m: ReadonlyMap<string, string>) => Object.fromEntries(m);

test('connect headers: a WebSocket connect event carries the upgrade request headers and the emulated ones apart, names lower-case', async () => {
  await withKit({}, async (srv) => {
    const seen = recordConnects(srv);
    const c = await RawClient.open(srv.wsUrl, { headers: { 'X-Real': 'r1', Cookie: 'a=1', Origin: 'http://allowed.example' } });
    try {
      const reply = await c.connect(await connToken('alice'), { headers: { 'X-Emulated': 'e1', 'X-Real': 'spoofed' } });
      assert.equal(typeof reply.connect?.client, 'string', JSON.stringify(reply));
    } finally {
      c.close();
    }
    assert.equal(seen.length, 1);
    const e = seen[0]!;
    assert.equal(e.headers.get('x-real'), 'r1', 'the request header, not the emulated one of the same name');
    assert.equal(e.headers.get('cookie'), 'a=1');
    assert.equal(e.headers.get('sec-websocket-version'), '13');
    assert.equal(e.headers.has('x-emulated'), false, 'emulated headers never mix into the request headers');
    assert.deepEqual(entries(e.emulatedHeaders), { 'x-emulated': 'e1', 'x-real': 'spoofed' });
  });
});

test('connect headers: a unidirectional connect (uni_http_stream) carries both too; a connect without `headers` has none emulated', async () => {
  await withKit({ uni_http_stream: { enabled: true } }, async (srv, kit) => {
    const seen = recordConnects(srv);
    const open = async (connect: unknown) => {
      const s = await kit.stream(kit.endpoint('uni_http_stream'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Real': 'r2' },
        body: JSON.stringify(connect),
      });
      await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    };
    await open({ token: await connToken('bob'), headers: { Authorization: 'Bearer x' } });
    await open({ token: await connToken('carol') });
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.headers.get('x-real'), 'r2');
    assert.equal(seen[0]!.headers.get('content-type'), 'application/json');
    assert.deepEqual(entries(seen[0]!.emulatedHeaders), { authorization: 'Bearer x' });
    assert.equal(seen[1]!.emulatedHeaders.size, 0);
  });
});

test('client.user_id_http_header: the request header authenticates; the same name among emulated headers does not (3501)', async () => {
  await withKit({ client: { user_id_http_header: 'X-User' } }, async (srv) => {
    const spoof = await RawClient.open(srv.wsUrl);
    spoof.send({ id: 1, connect: { headers: { 'X-User': 'mallory' } } });
    assert.equal((await closedWithin(spoof)).code, DisconnectCode.badRequest.code);

    const real = await RawClient.open(srv.wsUrl, { headers: { 'X-User': 'alice' } });
    try {
      const reply = await real.connect('', {});
      const client = reply.connect?.client;
      assert.equal(typeof client, 'string', JSON.stringify(reply));
      assert.equal(srv.app.node.hub.session(client)?.user, 'alice');
    } finally {
      real.close();
    }
  });
});
