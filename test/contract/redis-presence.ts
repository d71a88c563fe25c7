/**
 * The Redis presence manager's entry in the presence contract suite: a manager on the shared Redis
 * (redis-engines.ts `redisUrl`) under a key prefix of its own, whose keys are deleted at cleanup.
 */
import type { PresenceHarness } from './presence.contract.js';
import type { RedisPresenceOptions } from '../../src/engine/redis/options.js';
import { deletePrefix, redisUrl, shardOptionsFor, testPrefix } from './redis-engines.js';

export interface RedisPresenceSetup {
  /** Keep the per-user count hash (`presence_user_mapping`); default false. */
  userMapping?: boolean;
  /** Default 60 s, Centrifugo's `presence_ttl`. */
  presenceTtlMs?: number;
}

export async function redisPresenceOptions(prefix: string, setup: RedisPresenceSetup = {}, urls: readonly string[] = [redisUrl()]): Promise<RedisPresenceOptions> {
  return {
    shards: await Promise.all(urls.map(shardOptionsFor)),
    prefix,
    presenceTtlMs: setup.presenceTtlMs ?? 60_000,
    userMapping: setup.userMapping ?? false,
  };
}

export async function redisPresenceHarness(setup: RedisPresenceSetup = {}): Promise<PresenceHarness> {
  const { RedisPresenceManager } = await import('../../src/engine/redis/presence.js');
  const prefix = testPrefix('presence');
  const presence = await RedisPresenceManager.open(await redisPresenceOptions(prefix, setup));
  return {
    presence,
    cleanup: async () => {
      await presence.close();
      await deletePrefix(redisUrl(), prefix);
    },
  };
}
