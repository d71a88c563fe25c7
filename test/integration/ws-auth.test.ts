/**
 * Authentication error paths over WebSocket: connection tokens (spec §3.1, §3.2, §3.4, §3.5),
 * connection expiry and `refresh` (§3.6), subscription tokens and `sub_refresh` (§3.3, §3.7).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT } from 'jose';
import { startServer, connToken, subToken, SECRET, type TestServer, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin } from '../helpers/error-paths.js';
import { rsaKeys, sign } from '../fixtures/keys/index.js';
import { DisconnectCode, ErrorCode } from '../../src/protocol/codes.js';
import type { ConfigInput } from '../../src/config/schema.js';

const closeOf = (d: { code: number; reason: string }) => ({ code: d.code, reason: d.reason });
const errorOf = (e: { code: number; message: string }) => ({ code: e.code, message: e.message });

/** `chat`: subscribe needs a token; `open`: any authenticated client; `anon`: anonymous too. */
const NAMESPACES: ConfigInput = {
  channel: {
    namespaces: [
      { name: 'chat' },
      { name: 'open', allow_subscribe_for_client: true },
      { name: 'anon', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true },
    ],
  },
};

function merge(extra: ConfigInput): ConfigInput {
  return { ...NAMESPACES, ...extra };
}


async function connected(srv: TestServer, token: string): Promise<{ c: RawClient; rep: any }> {
  const c = await RawClient.open(srv.wsUrl);
  const rep = await c.connect(token);
  assert.equal(typeof rep.connect?.client, 'string', `connect failed: ${JSON.stringify(rep)}`);
  return { c, rep };
}

let nextId = 100;
async function call(c: RawClient, cmd: Record<string, unknown>): Promise<any> {
  const id = nextId++;
  c.send({ id, ...cmd });
  const r = await c.next((m) => m.id === id);
  delete r.id;
  return r;
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- connection tokens

test('connect with an empty token closes with 3501', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: '' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('expired connection token: error 109, connection stays open but is unusable', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42', {}, -60));
    assert.deepEqual(rep, { id: 1, error: errorOf(ErrorCode.tokenExpired) });
    assert.equal(c.ws.readyState, c.ws.OPEN, 'an error reply, not a disconnect');
    // Unusable: even a retried connect is a protocol violation now.
    c.send({ id: 2, connect: { token: await connToken('42') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('connection token with a wrong signature closes with 3500; the reason is logged at info, without the token', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const token = await connToken('42', {}, undefined, 'another-secret');
    c.send({ id: 1, connect: { token } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
    const lines = srv.info.filter((a) => (a as unknown[])[1] === 'invalid connection token') as [Record<string, unknown>, string][];
    assert.equal(lines.length, 1, JSON.stringify(srv.info));
    assert.equal(lines[0]![0].reason, 'signature mismatch');
    assert.equal(typeof lines[0]![0].client, 'string');
    assert.ok(!JSON.stringify(srv.info).includes(token.split('.')[2]!), 'the token is never logged');
    // The same refusal again within 10 s goes to debug only: a client retrying cannot flood the log.
    const again = await RawClient.open(srv.wsUrl);
    again.send({ id: 1, connect: { token } });
    await closedWithin(again);
    assert.equal(srv.info.filter((a) => (a as unknown[])[1] === 'invalid connection token').length, 1);
    assert.ok(srv.debug.some((a) => (a as unknown[])[1] === 'invalid connection token'));
  });
});

test('alg "none" connection token closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: '42' })}.`;
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('HS/RS confusion: HS256 token signed with the RSA public PEM closes with 3500; RS256 accepted', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  // Only the RSA key is configured: the PEM text must never serve as an HMAC secret.
  await withServer(merge({ client: { token: { hmac_secret_key: '', rsa_public_key: publicPem } } }), async (srv) => {
    const forged = await new SignJWT({ sub: '42' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(publicPem));
    const bad = await RawClient.open(srv.wsUrl);
    bad.send({ id: 1, connect: { token: forged } });
    assert.deepEqual(await closedWithin(bad), closeOf(DisconnectCode.invalidToken));

    const good = await new SignJWT({ sub: '42' }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    const { c } = await connected(srv, good);
    assert.equal(srv.app.node.hub.userConnectionCount('42'), 1);
    c.close();
  });
});

test('connection token with a channels claim of an unknown namespace gets error 102', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42', { channels: ['nope:a'] }));
    assert.deepEqual(rep, { id: 1, error: errorOf(ErrorCode.unknownChannel) });
  });
});

test('disallow_anonymous_connection_tokens: token without sub closes with 3507', async () => {
  await withServer(merge({ client: { disallow_anonymous_connection_tokens: true } }), async (srv) => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.permissionDenied));
  });
});

test('anonymous token without sub is accepted when not disallowed', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const { c, rep } = await connected(srv, token);
    assert.equal(srv.app.node.hub.session(rep.connect.client)?.user, '');
    c.close();
  });
});

test('allow_anonymous_connect_without_token: connects with an empty user', async () => {
  await withServer(merge({ client: { allow_anonymous_connect_without_token: true } }), async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: {} });
    const rep = await c.next((m) => m.id === 1);
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    assert.equal(srv.app.node.hub.session(rep.connect.client)?.user, '');
    // Anonymous: `open` needs a user, `anon` allows anonymous subscribers.
    assert.deepEqual(await call(c, { subscribe: { channel: 'open:a' } }), { error: errorOf(ErrorCode.permissionDenied) });
    assert.deepEqual(await call(c, { subscribe: { channel: 'anon:a' } }), { subscribe: {} });
  });
});

test('client.insecure: connect without token and subscribe anywhere', async () => {
  await withServer(merge({ client: { insecure: true } }), async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: {} });
    const rep = await c.next((m) => m.id === 1);
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:locked' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'no_namespace' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { publish: { channel: 'chat:locked', data: { x: 1 } } }), { publish: {} });
  });
});

test('connect token with exp in the future: expires true and ttl', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c, rep } = await connected(srv, await connToken('42', {}, 600));
    assert.equal(rep.connect.expires, true);
    assert.equal(typeof rep.connect.ttl, 'number');
    assert.ok(rep.connect.ttl > 0 && rep.connect.ttl <= 600, `ttl ${rep.connect.ttl}`);
    c.close();
  });
});

test('connect token without exp: no expires/ttl in the connect reply', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c, rep } = await connected(srv, await connToken('42'));
    assert.equal('expires' in rep.connect, false);
    assert.equal('ttl' in rep.connect, false);
    c.close();
  });
});

test('connection token whose nbf is in the future gets error 109', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42', { nbf: nowSec() + 600 }));
    assert.deepEqual(rep, { id: 1, error: errorOf(ErrorCode.tokenExpired) });
  });
});

test('connection token with expire_at in the past (exp still valid) gets error 110', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42', { expire_at: nowSec() - 60 }, 600));
    assert.deepEqual(rep, { id: 1, error: errorOf(ErrorCode.expired) });
  });
});

test('connection token carrying a channel claim closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: await subToken('42', 'chat:a') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('malformed token string closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: 'not-a-jwt' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

// ---------------------------------------------------------------- refresh

test('refresh with a valid new token is answered with expires and ttl', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42', {}, 60));
    const r = await call(c, { refresh: { token: await connToken('42', {}, 600) } });
    assert.equal(r.refresh?.expires, true, JSON.stringify(r));
    assert.equal(typeof r.refresh.ttl, 'number');
    assert.ok(r.refresh.ttl > 60 && r.refresh.ttl <= 600, `ttl ${r.refresh.ttl}`);
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });
});

test(
  'refresh result carries only expires and ttl (§1.3: Centrifugo fills expires/ttl only)',
  async () => {
    await withServer(NAMESPACES, async (srv) => {
      const { c } = await connected(srv, await connToken('42', {}, 60));
      const r = await call(c, { refresh: { token: await connToken('42', {}, 600) } });
      assert.deepEqual(Object.keys(r.refresh).sort(), ['expires', 'ttl']);
    });
  },
);

test("refresh with another user's token closes with 3500", async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42', {}, 60));
    c.send({ id: 2, refresh: { token: await connToken('43', {}, 600) } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('refresh with an invalid token closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42', {}, 60));
    c.send({ id: 2, refresh: { token: await connToken('42', {}, 600, 'another-secret') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('refresh with an empty token closes with 3501', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42', {}, 60));
    c.send({ id: 2, refresh: { token: '' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('refresh with an expired token closes with 3005', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42', {}, 60));
    c.send({ id: 2, refresh: { token: await connToken('42', {}, -60) } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.expired));
  });
});

test('expiring connection without refresh closes with 3005 after expired_close_delay', async () => {
  await withServer(merge({ client: { expired_close_delay: '200ms' } }), async (srv) => {
    const token = await new SignJWT({ sub: '42', exp: nowSec() + 2 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const { c, rep } = await connected(srv, token);
    assert.equal(rep.connect.expires, true);
    assert.ok(rep.connect.ttl >= 1 && rep.connect.ttl <= 2, `ttl ${rep.connect.ttl}`);
    assert.deepEqual(await closedWithin(c, 8000), closeOf(DisconnectCode.expired));
  });
});

test('token channels named __proto__ or constructor are subscribed like any other', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c, rep } = await connected(srv, await connToken('42', { channels: ['__proto__', 'constructor', 'open:x'] }));
    assert.deepEqual(Object.keys(rep.connect.subs ?? {}).sort(), ['__proto__', 'constructor', 'open:x']);
    await srv.api('publish', { channel: '__proto__', data: { p: 1 } });
    const push = await c.next((m) => m.push?.pub !== undefined);
    assert.equal(push.push.channel, '__proto__');
    c.close();
  });
});

// ---------------------------------------------------------------- subscription tokens

test('subscription token for another channel closes with 3500, logged with the channel', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    c.send({ id: 2, subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:b') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
    const line = srv.info.find((a) => (a as unknown[])[1] === 'invalid subscription token') as [Record<string, unknown>, string] | undefined;
    assert.deepEqual({ ...line?.[0], client: undefined }, { client: undefined, reason: 'token is for another channel, user or client', channel: 'chat:a' });
  });
});

test('subscription token for another user closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    c.send({ id: 2, subscribe: { channel: 'chat:a', token: await subToken('43', 'chat:a') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('subscription token bound to another client ID closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    c.send({ id: 2, subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a', { client: 'someone-else' }) } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('sub_refresh with a token for another channel closes with 3500', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    await call(c, { subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, 60) } });
    c.send({ id: 2, sub_refresh: { channel: 'chat:a', token: await subToken('42', 'chat:b', {}, 600) } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.invalidToken));
  });
});

test('subscription token with a wrong signature gets error 103', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    const bad = await connToken('42', { channel: 'chat:a' }, undefined, 'another-secret');
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a', token: bad } }), { error: errorOf(ErrorCode.permissionDenied) });
  });
});

test('expired subscription token gets error 109', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, -60) } }), {
      error: errorOf(ErrorCode.tokenExpired),
    });
    // Still connected: a valid token works.
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a') } }), { subscribe: {} });
  });
});

test('sub_refresh for a channel that is not subscribed gets error 103', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    assert.deepEqual(await call(c, { sub_refresh: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, 600) } }), {
      error: errorOf(ErrorCode.permissionDenied),
    });
  });
});

test('sub_refresh with an empty token gets error 107', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    const sub = await call(c, { subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, 60) } });
    assert.equal(sub.subscribe?.expires, true, JSON.stringify(sub));
    assert.deepEqual(await call(c, { sub_refresh: { channel: 'chat:a', token: '' } }), { error: errorOf(ErrorCode.badRequest) });
    // And a valid one is accepted.
    const ok = await call(c, { sub_refresh: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, 600) } });
    assert.equal(ok.sub_refresh?.expires, true, JSON.stringify(ok));
    assert.ok(ok.sub_refresh.ttl > 60 && ok.sub_refresh.ttl <= 600, `ttl ${ok.sub_refresh.ttl}`);
  });
});

test('sub_refresh with an expired token gets error 109 (§3.7 recommendation)', async () => {
  await withServer(NAMESPACES, async (srv) => {
    const { c } = await connected(srv, await connToken('42'));
    await call(c, { subscribe: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, 60) } });
    assert.deepEqual(await call(c, { sub_refresh: { channel: 'chat:a', token: await subToken('42', 'chat:a', {}, -60) } }), {
      error: errorOf(ErrorCode.tokenExpired),
    });
  });
});

test('JWKS endpoint down: connect gets error 100 (temporary, the SDK retries), not disconnect 3500', async () => {
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await withServer({ client: { token: { hmac_secret_key: '', jwks_public_endpoint: `http://127.0.0.1:${port}/jwks.json` } } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const token = await sign({ sub: 'u1' }, 'RS256', rsaKeys('jwks-down').privateKey, { kid: 'k1' });
    const rep = await c.connect(token);
    assert.deepEqual(rep.error, { code: ErrorCode.internal.code, message: ErrorCode.internal.message, temporary: true });
    assert.equal(c.ws.readyState, c.ws.OPEN, 'not closed with 3500');
    c.close();
  });
});
