/**
 * An API client's pooled keep-alive connection still works after longer than Node's default idle
 * timeout (5 s): the server must not close it while the client may reuse it, or the client's next
 * request races the close and fails with ECONNRESET (a paired benchmark lost 10 publishes so).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { API_KEY, withServer } from '../helpers/server.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/http/server.js';

function post(agent: http.Agent, port: number, body: unknown): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { agent, host: '127.0.0.1', port, path: '/api/publish', method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('an idle keep-alive API connection is kept past the 5 s of Node\'s default and reused', async () => {
  assert.ok(KEEP_ALIVE_TIMEOUT_MS > 60_000);
  await withServer({ channel: { without_namespace: {} } }, async (srv) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await post(agent, srv.port, { channel: 'ka', data: { n: 1 } });
      assert.equal(first.status, 200);
      // Past the 5 s of Node's default and the second or so it takes to act on it.
      await new Promise((r) => setTimeout(r, 8_000));
      const second = await post(agent, srv.port, { channel: 'ka', data: { n: 2 } });
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the pooled connection was still open');
    } finally {
      agent.destroy();
    }
  });
});

