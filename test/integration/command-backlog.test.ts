/**
 * Commands that arrive while an earlier one waits: they queue behind it and are answered in
 * order; a long queue stops the WebSocket from reading (TCP backpressure), and on the emulation
 * endpoint, which cannot stop reading, too long a queue ends the session with 3013.
 *
 * The wait is real: subscription tokens are checked against a JWKS endpoint that answers only
 * when the test lets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connToken, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { rsaKeys, sign } from '../fixtures/keys/index.js';
import { emulate, until, withKit, type Kit } from '../helpers/transport-kit.js';
import type { Session } from '../../src/node/client/session.js';
import { COMMAND_BACKLOG_MAX, COMMAND_BACKLOG_PAUSE } from '../../src/node/client/intake.js';
import { DisconnectCode } from '../../src/protocol/codes.js';

/** A JWKS endpoint holding its answers until `release()`. */
async function heldJwks(kid: string): Promise<{ url: string; requests: () => number; release: () => void; close: () => Promise<void> }> {
  const jwk = { ...rsaKeys('backlog').publicJwk, kid, alg: 'RS256', use: 'sig' };
  let released = false;
  let requests = 0;
  const waiting: (() => void)[] = [];
  const server: Server = createServer((_req, res) => {
    requests++;
    const answer = () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    };
    if (released) answer();
    else waiting.push(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    requests: () => requests,
    release: () => {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function config(jwksUrl: string) {
  return {
    http_stream: { enabled: true },
    client: { subscription_token: { enabled: true, jwks_public_endpoint: jwksUrl } },
    channel: { namespaces: [{ name: 'chat', presence: true, allow_presence_for_client: true }] },
  };
}

type HeldJwks = Awaited<ReturnType<typeof heldJwks>>;

/** A server whose subscription tokens are checked against a held JWKS endpoint. */
async function withHeldJwks(fn: (srv: TestServer, kit: Kit, jwks: HeldJwks) => Promise<void>): Promise<void> {
  const jwks = await heldJwks('k1');
  try {
    await withKit(config(jwks.url), (srv, kit) => fn(srv, kit, jwks));
  } finally {
    await jwks.close();
  }
}

const subToken = (user: string, channel: string) => sign({ sub: user, channel }, 'RS256', rsaKeys('backlog').privateKey, { kid: 'k1' });

/**
 * A WebSocket client of `alice` with a subscribe waiting on the held JWKS endpoint and `n`
 * presence_stats commands (ids 3…) queued behind it, one per frame as an SDK sends them; resolves
 * once the server has stopped reading.
 */
async function pausedClient(srv: TestServer, kit: Kit, jwks: HeldJwks, n: number): Promise<{ c: RawClient; session: Session }> {
  const c = await kit.ws(srv.wsUrl);
  const connected = await c.connect(await connToken('alice'));
  const session = srv.app.node.hub.session(connected.connect.client);
  assert.ok(session !== undefined);
  c.send({ id: 2, subscribe: { channel: 'chat:a', token: await subToken('alice', 'chat:a') } });
  await until(() => jwks.requests() > 0, 'the JWKS fetch');
  for (let i = 0; i < n; i++) c.send({ id: 3 + i, presence_stats: { channel: 'chat:a' } });
  await until(() => session.inputPaused, 'the WebSocket to stop reading');
  return { c, session };
}

test('WebSocket: commands queued behind a waiting subscribe pause reading, then all are answered in order', async () => {
  await withHeldJwks(async (srv, kit, jwks) => {
    const n = COMMAND_BACKLOG_PAUSE + 20;
    const { c, session } = await pausedClient(srv, kit, jwks, n);
    assert.equal(c.messages().some((m) => m.id >= 2), false, 'nothing is answered before the subscribe');

    jwks.release();
    const last = await c.next((m) => m.id === 2 + n, 10_000);
    assert.ok(last.presence_stats !== undefined, JSON.stringify(last));
    const ids = c.messages().filter((m) => m.id >= 2).map((m) => m.id);
    assert.deepEqual(ids, Array.from({ length: n + 1 }, (_, i) => 2 + i), 'every command answered once, in order');
    assert.ok(c.messages().find((m) => m.id === 2)?.subscribe !== undefined, 'the subscribe succeeded');
    assert.equal(session.inputPaused, false, 'reading resumed');

    // The connection still works normally.
    c.send({ id: 1000, presence_stats: { channel: 'chat:a' } });
    assert.ok((await c.next((m) => m.id === 1000)).presence_stats !== undefined);
  });
});

test('WebSocket: a connection closed while reading is paused resumes reading, so the closing handshake completes', async () => {
  await withHeldJwks(async (srv, kit, jwks) => {
    const { c, session } = await pausedClient(srv, kit, jwks, COMMAND_BACKLOG_PAUSE + 5);
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    assert.equal((await srv.api('disconnect', { user: 'alice' })).status, 200);
    assert.equal(session.inputPaused, false, 'reading resumed at close');
    // ws reports the close once the handshake is done: the server read the client's close frame.
    assert.equal(await closed, 3503);
    jwks.release();
  });
});

test('emulation: too many commands queued behind a waiting one close the session with 3013', async () => {
  await withHeldJwks(async (srv, kit, jwks) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const target = { node: reply.connect.node, session: reply.connect.session };
    assert.equal((await emulate(srv, target, { id: 2, subscribe: { channel: 'chat:a', token: await subToken('alice', 'chat:a') } })).status, 204);
    await until(() => jwks.requests() > 0, 'the JWKS fetch');

    // Below the limit: queued, the session stays.
    const below = Array.from({ length: COMMAND_BACKLOG_MAX - 1 }, (_, i) => ({ id: 3 + i, presence_stats: { channel: 'chat:a' } }));
    assert.equal((await emulate(srv, target, below)).status, 204);
    assert.equal(srv.app.node.hub.numConnections, 1);
    // One more reaches it.
    assert.equal((await emulate(srv, target, { id: 5000, presence_stats: { channel: 'chat:a' } })).status, 204);
    const d = await s.nextLine((m) => m.push?.disconnect !== undefined, 'the disconnect push');
    assert.equal(d.push.disconnect.code, DisconnectCode.tooManyRequests.code);
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to end');
    assert.equal(s.lines().some((m) => m.id >= 3), false, 'nothing queued was executed after the close');
    jwks.release();
  });
});

test('docs/architecture.md and the 3013 description state the backlog limits the code uses', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  assert.ok(doc.replace(/\s+/g, ' ').includes(`At ${COMMAND_BACKLOG_PAUSE} queued (\`COMMAND_BACKLOG_PAUSE\`)`), 'pause threshold');
  assert.ok(doc.replace(/\s+/g, ' ').includes(`at ${COMMAND_BACKLOG_MAX} queued (\`COMMAND_BACKLOG_MAX\`)`), 'close threshold');
  assert.ok(DisconnectCode.tooManyRequests.doc.includes(`(\`COMMAND_BACKLOG_MAX\`, ${COMMAND_BACKLOG_MAX})`), '3013 description');
});
