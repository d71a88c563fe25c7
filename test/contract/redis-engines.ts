/**
 * The Redis engine's entries in the contract suites (engines.test.ts): the broker on the shared
 * Redis (ROTOR_TEST_REDIS_URL, set by scripts/run-tests.mjs; 127.0.0.1:6379 by default), each
 * harness under a key prefix of its own whose keys are deleted at cleanup.
 */
import { randomBytes } from 'node:crypto';
import type { Broker } from '../../src/engine/types.js';
import type { RedisBrokerOptions, RedisShardOptions } from '../../src/engine/redis/options.js';

export function redisUrl(): string {
  return process.env.ROTOR_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function testPrefix(label: string): string {
  return `rotor-test-${label}-${randomBytes(6).toString('hex')}`;
}

export async function shardOptionsFor(url: string): Promise<RedisShardOptions> {
  const { parseRedisAddress } = await import('../../src/engine/redis/options.js');
  const parsed = parseRedisAddress(url);
  return { topology: parsed.topology, db: parsed.db ?? 0, connectTimeoutMs: 1000, ioTimeoutMs: 4000 };
}

export async function redisBrokerOptions(prefix: string, urls: readonly string[] = [redisUrl()], shardedPubSub = false): Promise<RedisBrokerOptions> {
  return { shards: await Promise.all(urls.map(shardOptionsFor)), prefix, historyMetaTtlMs: 30 * 24 * 3600 * 1000, shardedPubSub };
}

export async function newRedisBroker(prefix: string, urls?: readonly string[], shardedPubSub = false): Promise<Broker> {
  const { RedisBroker } = await import('../../src/engine/redis/broker.js');
  return new RedisBroker(await redisBrokerOptions(prefix, urls, shardedPubSub));
}

/** Deletes every key under `prefix` on the Redis at `url`. */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const parsed = new URL(url);
  const r = new Redis({ host: parsed.hostname, port: Number(parsed.port || 6379), lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}.*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
