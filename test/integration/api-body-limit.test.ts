/**
 * A request body over its limit is answered 413 and the client reads that answer, even when it
 * sends its whole body before reading (src/http/body.ts `endAnswer`). Closing the connection with
 * the body still arriving would make the kernel reset it, and the reset can fail the client's
 * upload and destroy the answer it has not read yet. Raw `node:net` clients, so nothing in a
 * client library hides an error or retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { API_KEY, withServer } from '../helpers/server.js';
import { within } from '../helpers/error-paths.js';
import { API_MAX_BODY_SIZE } from '../../src/app/app.js';
import { REFUSED_BODY_DRAIN_BYTES } from '../../src/http/body.js';

const MIB = 1024 * 1024;
const CLIENTS = 10;
const CHUNK = Buffer.alloc(MIB, 0x78);
/** A body well past what loopback socket buffers hold, so the client is still sending when the answer comes. */
const BIG = 8 * MIB;

interface Exchange {
  /** Everything the server sent, as latin1 text. */
  response: string;
  /** The socket error the client saw (EPIPE, ECONNRESET), if any. */
  error: string | undefined;
  /** Body bytes the client handed to its socket. */
  sent: number;
}

/**
 * Sends the request head, then `bodyBytes` of body in 1 MiB writes (as chunked encoding when
 * `chunked`), without reading in between beyond what arrives; then waits for the server to close.
 * With `Infinity` it writes until the connection fails.
 */
async function sendInFull(port: number, head: string, bodyBytes: number, chunked = false): Promise<Exchange> {
  const s = connect(port, '127.0.0.1');
  const ex: Exchange = { response: '', error: undefined, sent: 0 };
  s.on('data', (d: Buffer) => (ex.response += d.toString('latin1')));
  s.on('error', (e: NodeJS.ErrnoException) => (ex.error ??= e.code ?? e.message));
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await once(s, 'connect');
  s.write(head);
  let gone = false;
  void closed.then(() => (gone = true));
  while (!gone && ex.sent < bodyBytes) {
    const piece = bodyBytes - ex.sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, bodyBytes - ex.sent);
    const ok = s.write(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
    ex.sent += piece.length;
    // `once` rejects on 'error'; the error is recorded above and the close follows.
    if (!ok) await Promise.race([once(s, 'drain').catch(() => undefined), closed]);
  }
  if (!gone && chunked) s.write('0\r\n\r\n');
  await within(closed, 30_000, 'the server to close the connection');
  return ex;
}

const requestHead = (path: string, headers: Record<string, string | number>): string =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

function assert413(ex: Exchange, what: string): void {
  assert.equal(ex.error, undefined, `${what}: the client saw ${ex.error}; got ${JSON.stringify(ex.response.slice(0, 60))}`);
  assert.match(ex.response, /^HTTP\/1\.1 413 /, what);
  assert.match(ex.response, /\r\nconnection: close\r\n/i, what);
}

test(`${CLIENTS} clients each sending a body of 10 MiB + 1 in full to /api/publish all read 413; so do clients of the legacy /api sending 11 MiB`, async () => {
  await withServer({}, async (srv) => {
    for (const [path, size] of [
      ['/api/publish', API_MAX_BODY_SIZE + 1],
      ['/api', 11 * MIB],
    ] as const) {
      const head = requestHead(path, { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', 'Content-Length': size });
      const all = await Promise.all(Array.from({ length: CLIENTS }, () => sendInFull(srv.port, head, size)));
      all.forEach((ex, i) => {
        assert413(ex, `${path} client ${i}`);
        assert.ok(ex.response.endsWith('\r\n\r\nrequest body too large\n'), ex.response);
        assert.equal(ex.sent, size);
      });
    }
    // The server is fine afterwards.
    assert.deepEqual(await srv.api('info', {}).then((r) => r.status), 200);
  });
});

test('a chunked body over the API limit (no Content-Length: refused once 10 MiB were read) sent in full → 413, read by the client', async () => {
  await withServer({}, async (srv) => {
    const head = requestHead('/api/publish', { 'X-API-Key': API_KEY, 'Transfer-Encoding': 'chunked' });
    assert413(await sendInFull(srv.port, head, API_MAX_BODY_SIZE + BIG, true), 'chunked');
  });
});

test(`the transports' bodies (64 KiB): ${CLIENTS} clients each sending 8 MiB in full to /emulation, http_stream, uni_http_stream and uni_sse all read 413`, async () => {
  const config = { http_stream: { enabled: true }, sse: { enabled: true }, uni_http_stream: { enabled: true }, uni_sse: { enabled: true } };
  await withServer(config, async (srv) => {
    for (const path of ['/emulation', '/connection/http_stream', '/connection/uni_http_stream', '/connection/uni_sse']) {
      const head = requestHead(path, { 'Content-Type': 'application/json', 'Content-Length': BIG });
      const all = await Promise.all(Array.from({ length: CLIENTS }, () => sendInFull(srv.port, head, BIG)));
      all.forEach((ex, i) => assert413(ex, `${path} client ${i}`));
    }
  });
});

test('a client that goes on sending after the 413 is cut once REFUSED_BODY_DRAIN_BYTES more have been read; it has the answer by then', async () => {
  await withServer({}, async (srv) => {
    const head = requestHead('/api/publish', { 'X-API-Key': API_KEY, 'Content-Length': 1024 * MIB });
    const ex = await sendInFull(srv.port, head, Infinity);
    assert.match(ex.response, /^HTTP\/1\.1 413 /);
    // What the client wrote past the drain bound sat in socket buffers (a few MiB on loopback).
    assert.ok(ex.sent < REFUSED_BODY_DRAIN_BYTES + 16 * MIB, `the client got ${ex.sent / MIB} MiB out before the server closed`);
  });
});
