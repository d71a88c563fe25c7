/**
 * HTTP proxies keep connections to their backend alive, one pool per backend (src/proxy/http-pools.ts):
 * the connect proxy, the default subscribe proxy and a named `proxies[]` subscribe proxy, all on one
 * `node:http` backend, serve several SDK clients' connects and subscribes over the same TCP
 * connection; stopping the server closes it.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SdkPool, within } from '../helpers/sdk.js';
import { startServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** Per proxy request in arrival order: its path and the backend-side socket it came over. */
const seen: { path: string; socket: Socket }[] = [];
let backend: Server;
let origin = '';

before(async () => {
  backend = createServer((req, res) => {
    seen.push({ path: req.url ?? '', socket: req.socket });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url === '/connect' ? '{"result":{"user":"u1"}}' : '{"result":{}}');
    });
  });
  // Node's 5 s default would let the backend drop an idle connection during a slow run.
  backend.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
});
after(async () => {
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
});

function config(): ConfigInput {
  return {
    client: { proxy: { connect: { enabled: true, endpoint: `${origin}/connect`, timeout: '10s' } } },
    channel: {
      proxy: { subscribe: { endpoint: `${origin}/subscribe`, timeout: '5s' } },
      namespaces: [
        { name: 'px', subscribe_proxy_enabled: true },
        { name: 'nx', subscribe_proxy_enabled: true, subscribe_proxy_name: 'named' },
      ],
    },
    proxies: [{ name: 'named', endpoint: `${origin}/named-subscribe`, timeout: '3s' }],
  } as ConfigInput;
}

it('connect, subscribe and a named subscribe proxy on one backend share one kept-alive connection; stop closes it', async () => {
  const srv = await startServer(config());
  const sdk = new SdkPool(srv);
  try {
    // One client after another, each connecting and subscribing through two proxies: every call
    // starts after the previous one was answered, so a kept-alive connection is always free.
    for (let i = 0; i < 3; i++) {
      const c = sdk.client();
      await within(c.connect(), `client ${i} connected`);
      await within(c.subscribe(`px:room${i}`), `client ${i} subscribed through the subscribe proxy`);
      await within(c.subscribe(`nx:room${i}`), `client ${i} subscribed through the named proxy`);
    }
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/connect', '/subscribe', '/named-subscribe', '/connect', '/subscribe', '/named-subscribe', '/connect', '/subscribe', '/named-subscribe'],
    );
    const sockets = new Set(seen.map((s) => s.socket));
    assert.equal(sockets.size, 1, `all 9 proxy calls over one TCP connection (ports ${seen.map((s) => s.socket.remotePort).join(', ')})`);
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  } finally {
    sdk.closeAll();
    const socket = seen[0]?.socket;
    const closed = socket === undefined || socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve));
    await srv.stop();
    // The pool is closed at shutdown, not left to its 60 s idle timeout.
    await within(closed, 'the backend connection closed by the stopping server');
  }
});
