/**
 * `client.allowed_origins` on the WebSocket upgrade (spec §8.1, key fact 9): requests without an
 * Origin header always pass; an empty list rejects every request that has one; patterns may
 * contain `*`; `["*"]` allows any origin. Rejection is an HTTP 403 before the upgrade.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, type TestServer, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { upgradeStatus } from '../helpers/error-paths.js';
import type { ConfigInput } from '../../src/config/schema.js';


/** Opens with the given Origin (or none) and runs a connect, proving the socket is usable. */
async function connectsWith(srv: TestServer, origin?: string): Promise<void> {
  const c = await RawClient.open(srv.wsUrl, origin === undefined ? {} : { headers: { Origin: origin } });
  const rep = await c.connect(await connToken('42'));
  assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
  c.close();
}

test('allowed_origins: [] rejects a request with an Origin header (403), allows one without', async () => {
  await withServer({ client: { allowed_origins: [] } }, async (srv) => {
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://evil.example' }), 403);
    // Even the server's own host counts as an Origin: the list is empty.
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: srv.httpUrl }), 403);
    assert.equal(srv.app.node.hub.numClients, 0, 'rejected upgrades never became clients');
    await connectsWith(srv);
  });
});

test('allowed origin pattern http://*.example.com: a.example.com allowed, example.org rejected', async () => {
  await withServer({ client: { allowed_origins: ['http://*.example.com'] } }, async (srv) => {
    await connectsWith(srv, 'http://a.example.com');
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://a.example.com' }), 101);
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://example.org' }), 403);
    // Scheme is part of the origin.
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'https://a.example.com' }), 403);
    // No Origin header always passes.
    await connectsWith(srv);
  });
});

test("allowed_origins: ['*'] allows any origin", async () => {
  await withServer({ client: { allowed_origins: ['*'] } }, async (srv) => {
    await connectsWith(srv, 'http://evil.example');
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'https://anything.test:8443' }), 101);
    await connectsWith(srv);
  });
});

test('every transport logs a refused Origin at info, once per 10 s per origin', async () => {
  await withServer({ sse: { enabled: true } } as ConfigInput, async (srv) => {
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://evil.example' }), 403);
    const sse = await fetch(`${srv.httpUrl}/connection/sse`, { headers: { Origin: 'http://other.example' } });
    assert.equal(sse.status, 403);
    await sse.text();
    const lines = (from: unknown[]) => from.filter((a) => (a as unknown[])[1] === 'request Origin is not allowed') as [Record<string, unknown>, string][];
    assert.deepEqual(lines(srv.info).map((l) => l[0]), [{ origin: 'http://evil.example' }, { origin: 'http://other.example' }]);
    assert.equal(lines(srv.debug).length, 1, 'the repeat of the first origin');
  });
});

test('exact allowed origin: only that origin passes', async () => {
  // The harness default: ['http://allowed.example'].
  await withServer({}, async (srv) => {
    await connectsWith(srv, 'http://allowed.example');
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://allowed.example.evil' }), 403);
    assert.equal(await upgradeStatus(srv.wsUrl, { Origin: 'http://evil.example' }), 403);
  });
});
