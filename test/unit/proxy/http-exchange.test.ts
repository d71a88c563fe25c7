/**
 * `HttpExchange` against a real `node:http` server through a real undici Pool: the deadline
 * counts the wait for a pooled connection too, an answer over the size limit fails the call, and
 * a non-200's body is not kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { HttpExchange } from '../../../src/proxy/http-exchange.js';

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ origin: string; close: () => Promise<void> }> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }) };
}

test('http exchange - a call still queued for a connection when its deadline passes fails then; the one ahead completes', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const srv = await server((req, res) => {
    req.resume();
    req.on('end', () => void held.then(() => res.end('{"result":{}}')));
  });
  const pool = new Pool(srv.origin, { connections: 1 });
  try {
    const first = HttpExchange.post(pool, '/', {}, '{}', 10_000, 1024);
    const started = performance.now();
    await assert.rejects(HttpExchange.post(pool, '/', {}, '{}', 100, 1024), /no answer within 100 ms/);
    assert.ok(performance.now() - started < 5_000, 'failed at its deadline, not when the connection freed');
    release();
    assert.deepEqual(await first, { status: 200, text: '{"result":{}}' });
  } finally {
    await pool.destroy();
    await srv.close();
  }
});

test('http exchange - an answer over the limit fails; a non-200 answers its status without its body', async () => {
  const srv = await server((req, res) => {
    req.resume();
    if (req.url === '/big') res.end('x'.repeat(5000));
    else {
      res.statusCode = 503;
      res.end('backend says no');
    }
  });
  const pool = new Pool(srv.origin);
  try {
    await assert.rejects(HttpExchange.post(pool, '/big', {}, '{}', 5_000, 1024), /answer larger than 1024 bytes/);
    assert.deepEqual(await HttpExchange.post(pool, '/other', {}, '{}', 5_000, 1024), { status: 503, text: '' });
    await assert.rejects(HttpExchange.post(pool, '/', {}, '{}', 5_000, 1024).then(() => pool.close()).then(() => HttpExchange.post(pool, '/', {}, '{}', 5_000, 1024)), /request failed: .*\(UND_ERR_/);
  } finally {
    await pool.destroy();
    await srv.close();
  }
});
