import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { HttpListener } from '../../../src/http/server.js';
import type { Logger } from '../../../src/util/logger.js';

const noop = () => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

test('an Upgrade request on a plain route whose body never completes is answered 408 after the request timeout', async () => {
  const listener = new HttpListener(log);
  let handled = false;
  listener.route('/echo', (_req, res) => {
    handled = true;
    res.end('never');
  });
  listener.upgrade('/ws', () => assert.fail('not an upgrade route'));
  listener.server.requestTimeout = 150;
  const { port } = await listener.listen(0, '127.0.0.1');
  try {
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let out = '';
      sock.on('data', (d) => (out += d.toString('latin1')));
      sock.on('error', reject);
      sock.on('close', () => resolve(out));
      // Promises 10 bytes, sends 3, then waits.
      sock.write('POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 10\r\n\r\nabc');
    });
    assert.match(raw, /^HTTP\/1\.1 408 /);
    assert.equal(handled, false, 'the route never saw a partial body');
  } finally {
    listener.destroy();
    await listener.close();
  }
});
