/**
 * Requests that carry `Upgrade` on a path without an upgrade handler: `curl --http2` asks for
 * `Upgrade: h2c` on every plain-HTTP request. Node hands them all to the upgrade listener; Rotor
 * answers them over HTTP/1.1, as Centrifugo (Go's server) does, body included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { API_KEY, connToken, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { API_MAX_BODY_SIZE } from '../../src/app/app.js';

const H2C = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
const CONFIG = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } };

/** Writes `parts` one by one (a pause between them) and resolves with everything read until close. */
function exchange(port: number, parts: (string | Buffer)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(out));
    let i = 0;
    const next = (): void => {
      if (i < parts.length) sock.write(parts[i++]!, () => setTimeout(next, 30));
    };
    sock.on('connect', next);
  });
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
const bodyOf = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

test('GET /health with Upgrade: h2c is answered 200 over HTTP/1.1', async () => {
  await withServer(CONFIG, async (srv) => {
    const raw = await exchange(srv.port, [`GET /health HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`]);
    assert.equal(statusOf(raw), 200, raw);
    assert.match(raw, /\r\nConnection: close\r\n/i);
  });
});

test('POST /api/publish with Upgrade: h2c publishes, with the body arriving after the headers', async () => {
  await withServer(CONFIG, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    await c.connect(await connToken('alice'));
    c.send({ id: 2, subscribe: { channel: 'chat:h2c' } });
    await c.next((m) => m.id === 2);
    const body = JSON.stringify({ channel: 'chat:h2c', data: { text: 'over h2c' } });
    const head = `POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${H2C}\r\n`;
    // Headers and the first bytes of the body together, the rest later.
    const raw = await exchange(srv.port, [head + body.slice(0, 10), body.slice(10)]);
    assert.equal(statusOf(raw), 200, raw);
    assert.deepEqual(JSON.parse(bodyOf(raw)), { result: {} });
    const push = await c.next((m) => m.push?.channel === 'chat:h2c');
    assert.deepEqual(push.push.pub.data, { text: 'over h2c' });
    c.close();
  });
});

test('Upgrade on a non-upgrade path: unknown path 404, chunked 411, oversized 413, bad length 400; nothing crashes', async () => {
  await withServer(CONFIG, async (srv) => {
    assert.equal(statusOf(await exchange(srv.port, [`GET /nope HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`])), 404);
    // A WebSocket upgrade aimed at a plain route gets that route's answer.
    const ws = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    assert.equal(statusOf(await exchange(srv.port, [`GET /health HTTP/1.1\r\nHost: x\r\n${ws}\r\n`])), 200);
    const chunked = `POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nTransfer-Encoding: chunked\r\n${H2C}\r\n5\r\nhello\r\n0\r\n\r\n`;
    assert.equal(statusOf(await exchange(srv.port, [chunked])), 411);
    const huge = `POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Length: ${API_MAX_BODY_SIZE + 1}\r\n${H2C}\r\n`;
    assert.equal(statusOf(await exchange(srv.port, [huge])), 413);
    const bad = `POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Length: -5\r\n${H2C}\r\n`;
    // Node's parser refuses such a header itself (clientError); 400 either way.
    assert.equal(statusOf(await exchange(srv.port, [bad])), 400);
    // The server still serves.
    assert.equal(statusOf(await exchange(srv.port, [`GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`])), 200);
  });
});
