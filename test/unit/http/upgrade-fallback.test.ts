/**
 * The HTTP/1.1 fallback for requests carrying `Upgrade` on a plain route (src/http/server.ts),
 * and the listener's answers to requests Node cannot parse, at the socket level: what the
 * integration tests cannot reach through a full server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HEADERS_TIMEOUT_MS, HttpListener, MAX_HEADER_BYTES } from '../../../src/http/server.js';
import type { Logger } from '../../../src/util/logger.js';

const noop = () => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const H2C = 'Connection: Upgrade\r\nUpgrade: h2c\r\n';

async function withListener(fn: (l: HttpListener, port: number) => Promise<void>, setup: (l: HttpListener) => void = noop, maxBodyBytes?: number): Promise<void> {
  const listener = new HttpListener(log, undefined, maxBodyBytes);
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

test('a body cut off by a reset is dropped at once, not held until the request timeout', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await withListener(
    async (l, port) => {
      const chunk = Buffer.alloc(1024 * 1024, 1);
      gc();
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 4; i++) {
        await new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', async () => {
            // 4 MiB of a promised 8, then a reset once the server has read them.
            s.write(`POST /ok HTTP/1.1\r\nHost: x\r\n${H2C}Content-Length: 8388608\r\n\r\n`);
            for (let k = 0; k < 4; k++) await new Promise((r) => s.write(chunk, r));
            await new Promise((r) => setTimeout(r, 100));
            s.resetAndDestroy();
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
        });
      }
      for (let waited = 0; (await openConnections(l)) > 0; waited += 10) {
        assert.ok(waited < 5000, 'every server-side socket closes');
        await new Promise((r) => setTimeout(r, 10));
      }
      gc();
      gc();
      const held = process.memoryUsage().arrayBuffers - before;
      assert.ok(held < 4 * 1024 * 1024, `${Math.round(held / 1024)} KiB of partial bodies still held`);
    },
    (l) => {
      l.server.requestTimeout = 300_000;
    },
    16 * 1024 * 1024,
  );
});

test('a stream served on the fallback path ends when its peer goes away', async () => {
  let closed = false;
  await withListener(
    async (l, port) => {
      const s = connect(port, '127.0.0.1', () => s.write(`GET /stream HTTP/1.1\r\nHost: x\r\n${H2C}\r\n`));
      s.once('data', () => s.end());
      s.resume();
      for (let waited = 0; !closed || (await openConnections(l)) > 0; waited += 10) {
        assert.ok(waited < 5000, 'the response closes and the socket with it');
        await new Promise((r) => setTimeout(r, 10));
      }
      s.destroy();
    },
    (l) => {
      l.route('/stream', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first chunk\n');
        res.on('close', () => (closed = true));
      });
    },
  );
});

test('request heads up to 1 MiB are read (Node stops at 16 KiB); larger ones get 431', async () => {
  const doc = await readFile(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
  assert.equal(MAX_HEADER_BYTES, 1024 * 1024);
  assert.match(doc, /up to 1 MiB \(`MAX_HEADER_BYTES`\)/, 'docs/architecture.md states the limit the code uses');
  await withListener(async (_l, port) => {
    const big = `GET /ok?cf_connect=${'a'.repeat(40 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    assert.match(await talk(port, big), /^HTTP\/1\.1 200 /);
    const huge = `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES + 1)}\r\n\r\n`;
    assert.match(await talk(port, huge), /^HTTP\/1\.1 431 /);
  });
});

test('a request head that trickles in is answered 408 after the head timeout (15 s, checked every 5 s)', async () => {
  const doc = await readFile(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
  assert.match(doc, new RegExp(`within ${HEADERS_TIMEOUT_MS / 1000} s \\(\`HEADERS_TIMEOUT_MS\``), 'docs/architecture.md states the timeout the code uses');
  await withListener(
    async (l, port) => {
      assert.equal(l.server.headersTimeout, 300);
      const raw = await talk(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: a');
      assert.match(raw, /^HTTP\/1\.1 408 /);
    },
    (l) => {
      assert.equal(l.server.headersTimeout, HEADERS_TIMEOUT_MS);
      l.server.headersTimeout = 300;
    },
  );
});

test('a malformed request pipelined behind a valid one: the valid one is answered, then the connection closes', async () => {
  await withListener(async (_l, port) => {
    const raw = await talk(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.match(raw, /slow$/);
    assert.doesNotMatch(raw, /HTTP\/1\.1 400/);
  });
});

test('garbage after a request whose streamed response has begun closes the socket without writing into the stream', async () => {
  await withListener(
    async (_l, port) => {
      const raw = await talk(port, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n', (s) => s.write('GARBAGE\r\n\r\n'));
      assert.match(raw, /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(raw, /HTTP\/1\.1 400/);
    },
    (l) => {
      l.route('/stream', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first chunk\n');
      });
    },
  );
});
