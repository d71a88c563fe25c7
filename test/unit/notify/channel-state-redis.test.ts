/**
 * The Redis ChannelStateManager on the shared Redis (ROTOR_TEST_REDIS_URL), a key prefix per test:
 * the contract, and a member that died without cleaning up (its keys written as a crashed node
 * leaves them) swept by a live node, whose channels are vacated.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisChannelStates } from '../../../src/engine/redis/channel-state.js';
import { silentLogger } from '../../../src/util/logger.js';
import { deletePrefix, redisUrl, shardOptionsFor, testPrefix } from '../../contract/redis-engines.js';
import { Recorded, channelStateContract } from './channel-state.contract.js';

async function open(prefix: string, nodeTtlMs: number): Promise<RedisChannelStates> {
  return RedisChannelStates.open({ shards: [await shardOptionsFor(redisUrl())], prefix, nodeTtlMs }, silentLogger);
}

channelStateContract('redis', async (n) => {
  const prefix = testPrefix('chstate');
  const managers = await Promise.all(Array.from({ length: n }, () => open(prefix, 2000)));
  return {
    managers,
    cleanup: async () => {
      await Promise.all(managers.map((m) => m.close()));
      await deletePrefix(redisUrl(), prefix);
    },
  };
});

function raw(): Redis {
  const u = new URL(redisUrl());
  return new Redis({ host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: 1 });
}

describe('redis channel state: a member that died', () => {
  it('its channels are vacated by a live node once its heartbeat expired, and it is forgotten', async () => {
    const prefix = testPrefix('chstate-dead');
    const r = raw();
    const live = await open(prefix, 200);
    try {
      // What a node that crashed while holding `orphan` leaves: a member with an old heartbeat,
      // the channel occupied by it alone, the channel in its index.
      const ghost = 'ghost-node.1';
      await r.zadd(`${prefix}.chstate.nodes`, 1, ghost);
      await r.sadd(`${prefix}.chstate.node.${ghost}`, 'orphan');
      await r.sadd(`${prefix}.chstate.members.orphan`, ghost);
      await r.set(`${prefix}.chstate.status.orphan`, 'o');
      const rec = await Recorded.run({ managers: [live], cleanup: async () => {} }, 100);
      const [v] = await rec.until('orphan', 1);
      assert.deepEqual([v!.node, v!.e.type], [0, 'vacated']);
      assert.equal(await r.zscore(`${prefix}.chstate.nodes`, ghost), null, 'the dead member is forgotten');
      assert.equal(await r.exists(`${prefix}.chstate.node.${ghost}`, `${prefix}.chstate.members.orphan`, `${prefix}.chstate.status.orphan`), 0, 'and its keys are gone');
      assert.equal(await r.zcard(`${prefix}.chstate.vacating`), 0, 'no candidate left behind');
    } finally {
      await live.close();
      r.disconnect();
      await deletePrefix(redisUrl(), prefix);
    }
  });

  it('a clean close leaves no key behind', async () => {
    const prefix = testPrefix('chstate-clean');
    const r = raw();
    const m = await open(prefix, 2000);
    try {
      const rec = await Recorded.run({ managers: [m], cleanup: async () => {} }, 10_000);
      m.occupy('a');
      await rec.until('a', 1);
      await m.close();
      // The wait of `a` stays (another node, or this one started again, confirms it): its
      // status and candidate; the member and its index are gone.
      const keys = (await r.keys(`${prefix}.*`)).sort();
      assert.deepEqual(keys, [`${prefix}.chstate.status.a`, `${prefix}.chstate.vacating`]);
      assert.equal(await r.zcard(`${prefix}.chstate.nodes`), 0);
    } finally {
      r.disconnect();
      await deletePrefix(redisUrl(), prefix);
    }
  });
});
