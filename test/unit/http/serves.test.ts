/**
 * `HttpListener.serves` (src/http/server.ts): the paths a listener answers, by the rule its own
 * routing uses, which is what attaching Rotor to an embedder's server relies on (app/attach.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpListener } from '../../../src/http/server.js';
import type { Logger } from '../../../src/util/logger.js';

const noop = () => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

test('serves: exact routes, prefix routes and what is below them, upgrade paths; nothing else', async () => {
  const listener = new HttpListener(log);
  listener.route('/health', (_req, res) => void res.end('health'));
  listener.route('/api', (_req, res, path) => void res.end(`api ${path}`), true);
  listener.route('/emulation/', (_req, res, path) => void res.end(`emulation ${path}`), true);
  listener.upgrade('/connection/websocket', noop);

  const served = ['/health', '/api', '/api/', '/api/publish', '/api/a/b', '/emulation/', '/emulation/x', '/connection/websocket'];
  const notServed = ['/', '/health/', '/health/x', '/apix', '/ap', '/emulation', '/connection', '/connection/websocket/x', '/other'];
  for (const p of served) assert.equal(listener.serves(p), true, p);
  for (const p of notServed) assert.equal(listener.serves(p), false, p);

  // The listener's own answers agree: a path it serves by a route is handled, any other is 404.
  const { port } = await listener.listen(0, '127.0.0.1');
  try {
    for (const p of [...served.filter((x) => x !== '/connection/websocket'), ...notServed]) {
      const res = await fetch(`http://127.0.0.1:${port}${p}?q=1`);
      await res.arrayBuffer();
      assert.equal(res.status !== 404, listener.serves(p), `${p}: status ${res.status}`);
    }
  } finally {
    listener.destroy();
    await listener.close();
  }
});
