/**
 * The HTTP/1.1 fallback for requests carrying `Upgrade` on a plain route (src/http/server.ts),
 * at the socket level: what the integration tests cannot reach through a full server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { HttpListener } from '../../../src/http/server.js';
import type { Logger } from '../../../src/util/logger.js';

const noop = () => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const H2C = 'Connection: Upgrade\r\nUpgrade: h2c\r\n';

async function withListener(fn: (l: HttpListener, port: number) => Promise<void>, setup: (l: HttpListener) => void = noop): Promise<void> {
  const listener = new HttpListener(log);
  listener.route('/ok', (_req, res) => {
    res.end('ok');
  });
  listener.route('/slow', (_req, res) => {
    setTimeout(() => res.end('slow'), 50);
  });
  listener.upgrade('/ws', () => assert.fail('not an upgrade route'));
  setup(listener);
  const { port } = await listener.listen(0, '127.0.0.1');
  try {
    await fn(listener, port);
  } finally {
    listener.destroy();
    await listener.close();
  }
}

/** Open server-side connections, upgraded ones included. */
const openConnections = (l: HttpListener) => new Promise<number>((resolve) => l.server.getConnections((_e, n) => resolve(n)));

/** Sends `text`, then `after(sock)` on the first data; resolves with all read until close. */
function talk(port: number, text: string, after: (s: Socket) => void = noop): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let out = '';
    sock.once('data', () => after(sock));
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(out));
  });
}

test('a body that never completes is answered 408 after the request timeout', async () => {
  let handled = false;
  await withListener(
    async (_l, port) => {
      const raw = await talk(port, `POST /never HTTP/1.1\r\nHost: x\r\n${H2C}Content-Length: 10\r\n\r\nabc`);
      assert.match(raw, /^HTTP\/1\.1 408 /);
      assert.equal(handled, false, 'the route never saw a partial body');
    },
    (l) => {
      l.route('/never', () => {
        handled = true;
      });
      l.server.requestTimeout = 150;
    },
  );
});

test('an Upgrade request pipelined behind a plain one is answered after it, on the same connection', async () => {
  await withListener(async (_l, port) => {
    const raw = await talk(port, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`);
    const statuses = raw.match(/HTTP\/1\.1 \d{3}/g);
    assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200'], raw);
    assert.ok(raw.indexOf('slow') < raw.lastIndexOf('ok'), 'in request order');
  });
});

test('no socket outlives a fallback exchange: bytes after the response, or a peer that half-closes mid-body', async () => {
  await withListener(async (l, port) => {
    // Answered, then the peer sends a stray byte and closes.
    const raw = await talk(port, `GET /ok HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`, (s) => s.end('X'));
    assert.match(raw, /^HTTP\/1\.1 200 /);
    // Half of a promised body, then FIN.
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.end(`POST /ok HTTP/1.1\r\nHost: x\r\n${H2C}Content-Length: 10\r\n\r\nabc`));
      s.resume();
      s.on('close', () => resolve());
    });
    // A refused one (chunked) whose body bytes stay unread.
    assert.match(await talk(port, `POST /ok HTTP/1.1\r\nHost: x\r\n${H2C}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`), /^HTTP\/1\.1 411 /);
    for (let waited = 0; (await openConnections(l)) > 0; waited += 10) {
      assert.ok(waited < 5000, 'every server-side socket closes');
      await new Promise((r) => setTimeout(r, 10));
    }
  });
});
