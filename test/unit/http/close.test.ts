/**
 * Closing a listener (src/http/server.ts `close`): connections that never sent a request are ended
 * with the idle keep-alive ones, so a client's spare connection cannot hold a shutdown until its
 * timeout; one carrying a request in progress is left to finish.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { HttpListener } from '../../../src/http/server.js';
import type { Logger } from '../../../src/util/logger.js';

const noop = () => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

// The timeout only turns a hang (the bug) into a failure; nothing here measures time.
test('close ends connections that never sent a request and resolves; a request in progress still gets its answer', { timeout: 20_000 }, async () => {
  const listener = new HttpListener(log);
  let answer: (() => void) | undefined;
  listener.route('/slow', (_req, res) => {
    answer = () => res.end('done');
  });
  const { port } = await listener.listen(0, '127.0.0.1');
  try {
    await closeWithSpareAndBusy(listener, port, () => answer);
  } finally {
    listener.destroy(); // a failure must not leave the listener holding the process
  }
});

async function closeWithSpareAndBusy(listener: HttpListener, port: number, answerOf: () => (() => void) | undefined): Promise<void> {
  const connected = once(listener.server, 'connection');
  const spare = await open(port);
  await connected;
  const busy = await open(port);
  busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  while (answerOf() === undefined) await new Promise((r) => setImmediate(r));
  const spareClosed = once(spare, 'close');
  const closing = listener.close();
  await spareClosed;
  assert.equal(busy.destroyed, false, 'the connection with a request in progress stays');
  let reply = '';
  const replied = new Promise<void>((resolve) =>
    busy.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.endsWith('done')) resolve();
    }),
  );
  answerOf()!();
  await replied;
  assert.match(reply, /^HTTP\/1\.1 200 OK/);
  // Once answered, that connection is idle too: the close finishes when the client lets go.
  busy.destroy();
  await closing;
}
