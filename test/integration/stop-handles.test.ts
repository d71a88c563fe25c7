import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, connToken } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

/** Resource types a server could leave behind: sockets, servers, timers. */
function serverResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'].includes(r));
}

test('stop() leaves no open handles: listeners, sockets and timers of every transport are released', async () => {
  const before = serverResources().length;
  const srv = await startServer({
    http_stream: { enabled: true },
    uni_http_stream: { enabled: true },
    uni_websocket: { enabled: true },
    client: { ping_interval: '1s', pong_timeout: '500ms' },
    channel: { namespaces: [{ name: 'h', allow_subscribe_for_client: true, presence: true, history_size: 5, history_ttl: '60s', force_recovery: true }] },
  });
  const token = await connToken('u1', {}, 3600);
  const ws = await RawClient.open(srv.wsUrl);
  await ws.connect(token);
  ws.send({ id: 2, subscribe: { channel: 'h:a' } });
  await ws.next((m) => m.id === 2);
  const uni = await RawClient.open(srv.wsUrl.replace('/connection/websocket', '/connection/uni_websocket'));
  uni.send({ token });
  await uni.next((m) => m.connect !== undefined);
  // A streaming HTTP connection held open by a plain node:http client.
  const streamDone = new Promise<void>((resolve) => {
    const req = request(`${srv.httpUrl}/connection/uni_http_stream`, { method: 'POST', agent: false }, (res) => {
      res.on('data', () => {});
      res.on('close', () => resolve());
    });
    req.end(JSON.stringify({ token }));
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(srv.app.node.hub.numConnections, 3);

  await srv.stop();
  assert.equal((await ws.closed).code, 3001);
  await uni.closed;
  await streamDone;
  // Let socket close callbacks run.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(srv.app.node.hub.numConnections, 0);
  assert.ok(serverResources().length <= before, `leftover resources: ${serverResources().join(', ')}`);
});
