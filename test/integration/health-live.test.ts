/**
 * Readiness and liveness part ways during an outage: a Rotor node (a CLI process) on the Redis
 * engine of a private redis-server. While that Redis is stopped (SIGSTOP: its connections stay
 * open, nothing is answered) `/health` answers 503 with a JSON reason naming it, and
 * `/health/live` answers 200, so an orchestrator takes the node out of rotation without
 * restarting it; once Redis runs again both answer 200.
 *
 * test-services: redis
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis-servers.js';
import { startNode, waitHealth, waitUnhealthy, type RotorNode } from '../helpers/redis-fault-nodes.js';

/** GET /health/live: status and body. */
async function live(node: RotorNode): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${node.httpUrl}/health/live`);
  return { status: res.status, body: await res.json() };
}

test('while Redis is stopped /health answers 503 with a reason and /health/live 200; both 200 once it runs again', async () => {
  let redis: RedisServer | undefined;
  let node: RotorNode | undefined;
  try {
    redis = await startRedis({ label: 'health-live' });
    node = await startNode('live', { address: [redis.url], prefix: uniquePrefix('health-live') });
    await waitHealth(node, 200);
    assert.deepEqual(await live(node), { status: 200, body: {} });

    await redis.pause();
    // Asserts the 503 body: `{ error: 'unhealthy', reasons: [...] }`, one reason naming this Redis.
    await waitUnhealthy([node], `redis 127.0.0.1:${redis.port}`);
    assert.deepEqual(await live(node), { status: 200, body: {} }, 'liveness does not depend on Redis');

    await redis.resume();
    await waitHealth(node, 200);
    assert.deepEqual(await live(node), { status: 200, body: {} });
  } catch (e) {
    if (node !== undefined) console.error(`node log:\n${node.log()}`);
    throw e;
  } finally {
    await node?.stop();
    await redis?.stop();
  }
});
