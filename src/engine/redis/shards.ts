/**
 * Opening the configured shards together (broker and presence manager share this), and their
 * combined health.
 */
import type { EngineHealth } from '../types.js';
import type { Logger } from '../../util/logger.js';
import type { RedisShardOptions } from './options.js';
import { RedisShard } from './shard.js';

/**
 * Opens every shard; if one fails, the others are closed and the error names the failing one.
 * `onMessage` receives PUB/SUB messages of every shard; `probePrefix` starts the delivery probes'
 * channel names (shard.ts).
 */
export async function openShards(
  all: readonly RedisShardOptions[],
  shardedPubSub: boolean,
  log: Logger,
  onMessage: (shard: RedisShard, channel: string, payload: Buffer) => void,
  pubsub = true,
  probePrefix?: string,
): Promise<RedisShard[]> {
  const opened: RedisShard[] = [];
  try {
    for (const opts of all) {
      let shard: RedisShard | undefined;
      shard = await RedisShard.open(opts, shardedPubSub, {
        message: (channel, payload) => onMessage(shard as RedisShard, channel, payload),
        resubscribed: (connection, channels, ms) => log.info({ shard: shard?.label, connection, channels, ms: Math.round(ms) }, 'redis: PUB/SUB connection back, channels resubscribed'),
        warn: (message) => log.warn(message),
      }, pubsub, probePrefix);
      opened.push(shard);
    }
  } catch (err) {
    await Promise.all(opened.map((s) => s.close()));
    throw err;
  }
  return opened;
}

/** Healthy when every shard is; the reasons of those that are not, joined. */
export function combinedHealth(shards: readonly RedisShard[]): EngineHealth {
  const bad = shards.map((s) => s.health()).filter((h) => !h.ok);
  if (bad.length === 0) return { ok: true };
  return { ok: false, reason: bad.map((h) => h.reason).join('; ') };
}
