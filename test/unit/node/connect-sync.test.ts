/**
 * When a connect completes: in the event that delivered its frame when nothing has to wait (an
 * HMAC token), later when something does (an ECDSA token, checked by WebCrypto). Either way the
 * commands behind it in the frame are answered after it, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { connToken, withServer } from '../../helpers/server.js';
import { ecKeys } from '../../fixtures/keys/index.js';
import { Session } from '../../../src/node/client/session.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import { until } from '../../helpers/wait.js';
import { RecordingTransport } from '../../helpers/recording-transport.js';

/** A connect with `token`, then an RPC (108: no RPC handler configured) in the same frame. */
const frame = (token: string): Buffer =>
  Buffer.from(`${JSON.stringify({ id: 1, connect: { token } })}\n${JSON.stringify({ id: 2, rpc: { method: 'm' } })}`);

test('connect: an HMAC token connects before handleFrame returns; an ECDSA token later; replies keep command order', async () => {
  const ec = ecKeys();
  await withServer({ client: { token: { ecdsa_public_key: ec.publicPem } } }, async (srv) => {
    const hmac = new RecordingTransport();
    const s1 = new Session(srv.app.node, hmac, jsonCodec, { headers: {} });
    s1.handleFrame(frame(await connToken('alice')));
    assert.equal(s1.status, 'connected', 'decided in the same event');
    assert.equal(s1.user, 'alice');

    const ecdsa = new RecordingTransport();
    const s2 = new Session(srv.app.node, ecdsa, jsonCodec, { headers: {} });
    const ecToken = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1h').sign(ec.privateKey);
    s2.handleFrame(frame(ecToken));
    assert.equal(s2.status, 'connecting', 'WebCrypto answers later');

    for (const [t, user] of [[hmac, 'alice'], [ecdsa, 'bob']] as const) {
      await until(() => t.replies().length === 2, 'two replies');
      assert.equal(t.replies()[0]!.id, 1);
      assert.ok(typeof (t.replies()[0]!.connect as { client?: unknown }).client === 'string');
      assert.deepEqual(t.replies()[1], { id: 2, error: { code: 108, message: 'not available' } });
      assert.equal(t === hmac ? s1.user : s2.user, user);
    }
    s1.onTransportClosed();
    s2.onTransportClosed();
  });
});

test('connect: a bad HMAC token is refused before handleFrame returns (3500), and nothing after it runs', async () => {
  await withServer({}, async (srv) => {
    const t = new RecordingTransport();
    const s = new Session(srv.app.node, t, jsonCodec, { headers: {} });
    s.handleFrame(frame(await connToken('alice', {}, undefined, 'another-secret')));
    assert.equal(t.closedWith?.code, 3500);
    assert.equal(s.status, 'closed');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.replies(), [], 'no reply to the connect, none to the RPC');
  });
});
