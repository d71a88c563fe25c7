/**
 * The Redis engine's PresenceManager (spec §6, §9.3): presence in Centrifugo's keys (keys.ts) with
 * TTLs, so Redis tooling and Centrifugo nodes sharing the Redis read the same entries. The Lua
 * scripts in presence-scripts.ts keep each change atomic and use Redis's clock for expiry.
 *
 * An entry not refreshed (`addPresence` again) within `presenceTtlMs` is gone: reads purge it, and
 * the channel's keys expire as a whole a TTL after its last add. With `userMapping`, a per-user
 * connection count makes `presenceStats` O(1); without it, stats scan the channel's entries.
 *
 * A channel's presence lives on the shard `shardIndex` picks (Centrifugo's function, so a channel
 * sits on the same shard under both). The manager opens no PUB/SUB connection. Every call fails
 * within `io_timeout` when Redis does not answer (shard.ts).
 */
import type { EngineHealth, PresenceManager, PresenceStats } from '../types.js';
import type { ClientInfo } from '../../protocol/types.js';
import type { Logger } from '../../util/logger.js';
import { silentLogger } from '../../util/logger.js';
import { decodeClientInfoRecord, encodeClientInfoRecord } from '../../protocol/protobuf/records.js';
import { shardIndex } from './hash.js';
import { RedisKeys } from './keys.js';
import type { RedisPresenceOptions } from './options.js';
import { PRESENCE_ADD, PRESENCE_GET, PRESENCE_REMOVE, PRESENCE_STATS } from './presence-scripts.js';
import type { RedisShard } from './shard.js';
import { combinedHealth, openShards } from './shards.js';
import { messageOf } from '../../util/message-of.js';

interface Part {
  shard: RedisShard;
  keys: RedisKeys;
}

export class RedisPresenceManager implements PresenceManager {
  /** The TTL as PEXPIRE takes it: whole milliseconds. */
  private readonly ttlMs: number;

  private constructor(
    private readonly parts: readonly Part[],
    private readonly opts: RedisPresenceOptions,
    private readonly log: Logger,
  ) {
    this.ttlMs = Math.ceil(opts.presenceTtlMs);
  }

  /** Connects every shard (command connections only). Rejects naming the shard it cannot reach. */
  static async open(opts: RedisPresenceOptions, log: Logger = silentLogger): Promise<RedisPresenceManager> {
    if (opts.shards.length === 0) throw new Error('redis presence manager: no address');
    if (!(Number.isFinite(opts.presenceTtlMs) && opts.presenceTtlMs > 0)) {
      throw new Error(`redis presence manager: presence TTL must be > 0 ms, got ${opts.presenceTtlMs}`);
    }
    const shards = await openShards(opts.shards, log, { component: 'presence manager', pubsub: false });
    return new RedisPresenceManager(
      shards.map((shard) => ({ shard, keys: new RedisKeys(opts.prefix, shard.cluster) })),
      opts,
      log,
    );
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const { shard, keys } = this.partOf(channel);
    const reply = (await shard.eval(PRESENCE_GET, keys, [])) as Buffer[];
    const out: Record<string, ClientInfo> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const client = (reply[i] as Buffer).toString();
      const info = this.decode(channel, client, reply[i + 1] as Buffer);
      if (info === undefined) continue;
      // defineProperty, not `out[id] = …`: any ID (even `__proto__`) becomes a plain own key.
      Object.defineProperty(out, client, { value: info, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const { shard, keys } = this.partOf(channel);
    const reply = (await shard.eval(PRESENCE_STATS, keys, [])) as unknown[];
    return { numClients: Number(reply[0]), numUsers: Number(reply[1]) };
  }

  async addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    const { shard, keys } = this.partOf(channel);
    await shard.eval(PRESENCE_ADD, keys, [clientId, Buffer.from(encodeClientInfoRecord(info)), this.ttlMs, info.user]);
  }

  /** The user count released is the stored entry's, so `_userId` is not needed (see PRESENCE_REMOVE). */
  async removePresence(channel: string, clientId: string, _userId: string): Promise<void> {
    const { shard, keys } = this.partOf(channel);
    await shard.eval(PRESENCE_REMOVE, keys, [clientId]);
  }

  health(): EngineHealth {
    return combinedHealth(this.parts.map((p) => p.shard));
  }

  /** Closes the connections; what is stored in Redis stays and expires by its TTLs. */
  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.shard.close()));
  }

  /** The channel's shard and its keys in the order the scripts take them. */
  private partOf(channel: string): { shard: RedisShard; keys: string[] } {
    const p = this.parts[shardIndex(channel, this.parts.length)] as Part;
    const keys = [p.keys.presenceData(channel), p.keys.presenceExpire(channel)];
    if (this.opts.userMapping) keys.push(p.keys.presenceUserClients(channel), p.keys.presenceUserExpire(channel));
    return { shard: p.shard, keys };
  }

  /**
   * A stored ClientInfo with its byte fields copied out of the reply buffer into plain
   * Uint8Arrays; undefined (and a warning) for a record that is not a ClientInfo, which is
   * skipped rather than failing the whole channel's presence.
   */
  private decode(channel: string, client: string, record: Buffer): ClientInfo | undefined {
    let decoded: ClientInfo;
    try {
      decoded = decodeClientInfoRecord(record);
    } catch (err) {
      this.log.warn({ channel, client, err: messageOf(err) }, 'redis presence: skipping an entry that is not a protobuf ClientInfo');
      return undefined;
    }
    const info: ClientInfo = { user: decoded.user, client: decoded.client };
    if (decoded.connInfo !== undefined) info.connInfo = new Uint8Array(decoded.connInfo);
    if (decoded.chanInfo !== undefined) info.chanInfo = new Uint8Array(decoded.chanInfo);
    return info;
  }
}
