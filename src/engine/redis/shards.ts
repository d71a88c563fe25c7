/**
 * Opening the configured shards together (broker and presence manager share this), and their
 * combined health.
 */
import type { EngineHealth } from '../types.js';
import type { Logger } from '../../util/logger.js';
import type { RedisShardOptions } from './options.js';
import { RedisShard } from './shard.js';

/** What the shards are opened for (the presence manager's need commands only). */
export interface OpenShardsOptions {
  /**
   * Who opens them (`broker`, `presence manager`, `channel state manager`): their log lines carry
   * it as `component`, since each opens its own connections to the same addresses.
   */
  component: string;
  /** Opens PUB/SUB connections too (default true). */
  pubsub?: boolean;
  /** SSUBSCRIBE/SPUBLISH on a Cluster (`sharded_pub_sub`). */
  shardedPubSub?: boolean;
  /** Receives the PUB/SUB messages of every shard. */
  onMessage?: (shard: RedisShard, channel: string, payload: Buffer) => void;
  /** Starts the delivery probes' channel names (shard.ts). */
  probePrefix?: string;
  /** A PUB/SUB connection of any shard began failing (see `ShardEvents.pubSubFailed`). */
  onPubSubFailed?: () => void;
}

/** Opens every shard; if one fails, the others are closed and the error names the failing one. */
export async function openShards(all: readonly RedisShardOptions[], log: Logger, o: OpenShardsOptions): Promise<RedisShard[]> {
  const opened: RedisShard[] = [];
  const onMessage = o.onMessage ?? (() => {});
  const onPubSubFailed = o.onPubSubFailed ?? (() => {});
  try {
    for (const opts of all) {
      let shard: RedisShard | undefined;
      shard = await RedisShard.open(
        opts,
        o.shardedPubSub ?? false,
        {
          message: (channel, payload) => onMessage(shard as RedisShard, channel, payload),
          resubscribed: (connection, channels, ms) => log.info({ component: o.component, shard: shard?.label, connection, channels, ms: Math.round(ms) }, 'redis: PUB/SUB connection back, channels resubscribed'),
          warn: (message) => log.warn({ component: o.component }, message),
          info: (message) => log.info({ component: o.component }, message),
          pubSubFailed: onPubSubFailed,
        },
        o.pubsub ?? true,
        o.probePrefix,
      );
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
