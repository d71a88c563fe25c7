/**
 * Centrifugo v1's admin websocket (`admin.v1_socket`) with a server started from a v1 config
 * (web, admin_password, admin_secret, `watch` on one namespace): login at /auth/, the socket's
 * authentication, its commands, and the watch feed of publications in watched namespaces.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { migrateConfig } from '../../src/config/migrate.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { v1Api, v1Client } from '../helpers/v1-client.js';
import { WAIT_MS } from '../helpers/sdk.js';

const SECRET = 'v1-secret';
let srv: TestServer;

before(async () => {
  const m = migrateConfig({
    secret: SECRET,
    web: true,
    admin_password: 'admin-pass',
    admin_secret: 'admin-secret',
    publish: true,
    namespaces: [
      { name: 'watched', watch: true, publish: true, anonymous: true },
      { name: 'quiet', publish: true, anonymous: true },
    ],
  });
  srv = await startServer(m.config);
});

after(() => srv.stop());

async function login(password: string): Promise<{ status: number; token: string }> {
  const res = await fetch(`${srv.httpUrl}/auth/`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `password=${encodeURIComponent(password)}` });
  const body = (await res.json()) as { token?: string };
  return { status: res.status, token: body.token ?? '' };
}

/** An admin socket with its frames (each parsed) in arrival order, and its close. */
async function adminSocket(): Promise<{ ws: WebSocket; frames: unknown[]; next(): Promise<unknown>; closed: Promise<{ code: number; reason: string }>; send(o: unknown): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket`);
  const frames: unknown[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  ws.on('message', (d: Buffer) => {
    frames.push(JSON.parse(d.toString()));
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    ws,
    frames,
    closed,
    send: (o) => ws.send(JSON.stringify(o)),
    async next() {
      const deadline = Date.now() + WAIT_MS;
      while (frames.length <= taken) {
        if (Date.now() > deadline) throw new Error(`no admin frame; seen ${JSON.stringify(frames)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return frames[taken++];
    },
  };
}

test('login at /auth/: the password gives a token, a wrong one 400', async () => {
  assert.equal((await login('nope')).status, 400);
  const ok = await login('admin-pass');
  assert.equal(ok.status, 200);
  assert.notEqual(ok.token, '');
});

test('the socket asks for connect first: another command, or a bad token, closes it with 3000 unauthorized', async () => {
  const a = await adminSocket();
  a.send({ uid: '1', method: 'info' });
  assert.deepEqual(await a.closed, { code: 3000, reason: '{"reason":"unauthorized","reconnect":true}' });
  const b = await adminSocket();
  b.send({ uid: '1', method: 'connect', params: { token: 'forged' } });
  assert.deepEqual(await b.closed, { code: 3000, reason: '{"reason":"unauthorized","reconnect":false}' });
});

test('commands: ping, info, server API methods; watch streams publications of watched namespaces only', async () => {
  const { token } = await login('admin-pass');
  const a = await adminSocket();
  try {
    a.send({ uid: '1', method: 'connect', params: { token, watch: true } });
    assert.deepEqual(await a.next(), [{ uid: '1', method: 'connect', error: null, body: true }]);
    a.send({ uid: '2', method: 'ping' });
    assert.deepEqual(await a.next(), [{ uid: '2', method: 'ping', error: null, body: 'pong' }]);
    a.send({ uid: '3', method: 'info' });
    const info = (await a.next()) as [{ body: { data: { version: string } } }];
    assert.equal(typeof info[0].body.data.version, 'string');
    a.send({ uid: '4', method: 'nonsense' });
    assert.deepEqual(await a.next(), [{ uid: '4', method: 'nonsense', error: 'method not found', body: null }]);

    // A v1 client in the watched namespace gets what the admin publishes through the socket.
    const c = v1Client({ url: srv.wsUrl, user: 'u1', secret: SECRET });
    const s = c.subscribe('watched:room');
    c.c.connect();
    await s.events.next('subscribe');
    a.send({ uid: '5', method: 'channels' });
    assert.deepEqual(await a.next(), [{ uid: '5', method: 'channels', error: null, body: { data: ['watched:room'] } }]);

    // Unwatched first: had it been copied, it would arrive before the watched one.
    await v1Api(srv.httpUrl, SECRET, { method: 'publish', params: { channel: 'quiet:room', data: { n: 0 } } });
    a.send({ uid: '6', method: 'publish', params: { channel: 'watched:room', data: { n: 1 } } });
    const got = [await a.next(), await a.next()];
    const message = got.find((f) => !Array.isArray(f)) as { method: string; body: { channel: string; data: unknown } };
    assert.deepEqual([message.method, message.body.channel, message.body.data], ['message', 'watched:room', { n: 1 }]);
    assert.ok(got.some((f) => JSON.stringify(f) === JSON.stringify([{ uid: '6', method: 'publish', error: null, body: null }])));
    assert.deepEqual((await s.events.next('message'))['data'], { n: 1 });

    // A client's own publication is watched with who sent it.
    await s.sub.publish({ n: 2 });
    const watched = (await a.next()) as { body: { data: unknown; client: string; info: { user: string } } };
    assert.deepEqual([watched.body.data, watched.body.client, watched.body.info.user], [{ n: 2 }, c.c.getClientId(), 'u1']);
    c.c.disconnect();
  } finally {
    a.ws.close();
  }
});
