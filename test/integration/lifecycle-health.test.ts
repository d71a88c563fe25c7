/**
 * `/health` counts the channel state manager: with channel state events on the Redis engine, a
 * Redis that goes away turns `/health` to 503 with a reason naming the channel state manager
 * (beside the broker's and presence manager's), and back to 200 once Redis is back. A private
 * redis-server on a free port, so killing it touches no other test.
 *
 * test-services: redis
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis } from '../helpers/redis-process.js';
import { startServer, type TestServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** Polls /health until it answers `status`; returns the body. */
async function healthTurns(srv: TestServer, status: number, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${srv.httpUrl}/health`);
    const body = await r.json();
    if (r.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/health did not answer ${status} within ${timeoutMs} ms; last ${r.status} ${JSON.stringify(body)}`);
    await sleep(50);
  }
}

test('/health names the channel state manager while its Redis is gone, and recovers with it', async () => {
  const redis = await startRedis({ label: 'lifecycle-health' });
  let srv: TestServer | undefined;
  try {
    srv = await startServer({
      engine: { type: 'redis', redis: { address: [redis.url], prefix: 'rotor-test-lifecycle-health' } },
      lifecycle_events: { endpoint: 'http://127.0.0.1:9/unused' },
      channel: { namespaces: [{ name: 'room', state_proxy_enabled: true }] },
    } as ConfigInput);
    assert.deepEqual(await healthTurns(srv, 200), {});
    await redis.kill();
    const down = await healthTurns(srv, 503);
    assert.equal(down.error, 'unhealthy');
    assert.ok(
      down.reasons.some((r: string) => r.startsWith('channel state manager: ')),
      `a reason names the channel state manager: ${JSON.stringify(down.reasons)}`,
    );
    await redis.restart();
    assert.deepEqual(await healthTurns(srv, 200), {});
  } finally {
    // The connection refusals of the outage are logged as errors; they are what this test causes.
    srv?.errors.splice(0);
    await srv?.stop();
    await redis.stop();
  }
});
