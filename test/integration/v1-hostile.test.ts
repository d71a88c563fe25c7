/**
 * What a hostile or confused peer can send on the paths that recognise Centrifugo v1 clients,
 * with the process still serving afterwards (an uncaught exception here would end the test
 * process): a v1 frame arriving after the server closed the socket, SockJS messages that are not
 * strings, internal channels, v1 turned off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { migrateConfig } from '../../src/config/migrate.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { v1Client } from '../helpers/v1-client.js';

const SECRET = 'v1-secret';
let srv: TestServer;

before(async () => {
  const m = migrateConfig({ secret: SECRET, publish: true, anonymous: true });
  // A short stale close: the server closes a socket that never connects.
  srv = await startServer({ ...m.config, client: { ...(m.config['client'] as object), stale_close_delay: '200ms' } });
});

after(() => srv.stop());

/** A masked client text frame (RFC 6455), short payloads only. */
function textFrame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | body.length]), mask, Buffer.from(body.map((b, i) => b ^ mask[i % 4]!))]);
}

async function stillServing(): Promise<void> {
  const c = await RawClient.open(srv.wsUrl);
  c.send({ id: 1, connect: {} });
  const closed = await c.closed;
  assert.ok(closed.code >= 3000, 'a fresh connection is answered');
}

test('a v1 frame written after the server closed the socket (stale) is ignored', async () => {
  const socket = connect(srv.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  // Wait for the server's close frame (opcode 8) after the 101 response.
  await new Promise<void>((resolve) => {
    let seen = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      const head = seen.indexOf('\r\n\r\n');
      if (head !== -1 && seen.length > head + 4 && (seen[head + 4]! & 0x0f) === 0x8) resolve();
    });
  });
  socket.write(textFrame('{"uid":"1","method":"connect","params":{}}'));
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  await stillServing();
});

test('SockJS: a message that is not a string closes that session as a bad request; the server goes on', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/connection/000/${randomBytes(4).toString('hex')}/websocket`);
  const frames: string[] = [];
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  ws.on('message', (d: Buffer) => frames.push(d.toString()));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send('[1,{"a":2}]');
  await closed;
  assert.ok(frames.some((f) => f.startsWith('c[3501')), JSON.stringify(frames));
  const info = await fetch(`${srv.httpUrl}/connection/info`);
  assert.equal(info.status, 200);
  await stillServing();
});

test('internal channels: a client can neither subscribe nor publish to __rotor.*', async () => {
  const c = v1Client({ url: srv.wsUrl, user: 'u', secret: SECRET });
  try {
    c.c.connect();
    await c.events.next('connect');
    const s = c.subscribe('__rotor.admin.v1_watch');
    assert.equal((await s.events.next('error'))['error'], 'permission denied');
  } finally {
    c.c.disconnect();
  }
});

test('with client.v1.enabled off, a v1 frame is just a malformed v2 command (3501)', async () => {
  const off = await startServer({});
  try {
    const c = await RawClient.open(off.wsUrl);
    c.send({ uid: '1', method: 'connect', params: { user: 'u', timestamp: '1', token: 'x' } });
    assert.equal((await c.closed).code, 3501);
  } finally {
    await off.stop();
  }
});
