/**
 * The Redis engine's Broker (spec §9.3): PUB/SUB between nodes, history in Redis Streams and the
 * control plane's transport, in Centrifugo's layout (keys.ts, framing.ts) so Redis tooling and
 * history written by Centrifugo nodes read the same.
 *
 * Channels are spread over the configured shards (hash.ts); control messages go round-robin to
 * one shard and every node listens for them on all shards, so each node hears each message once.
 *
 * Delivery is at most once: a publication published while this node's PUB/SUB connection was down
 * never reaches it. Subscribers of positioned or recoverable channels find the gap at the next
 * publication or position check and recover from history, which the Lua scripts keep exact.
 * Every call fails within `io_timeout` when Redis does not answer (shard.ts).
 */
import type { Broker, BrokerEventHandler, EngineHealth, HistoryOptions, HistoryResult, PublishOptions, PublishResult } from '../types.js';
import type { ClientInfo, Publication, StreamPosition } from '../../protocol/types.js';
import type { Logger } from '../../util/logger.js';
import { silentLogger } from '../../util/logger.js';
import { generateEpoch } from '../../util/epoch.js';
import { decodePublicationRecord, encodePublicationRecord } from '../../protocol/protobuf/records.js';
import { forClients, frameJoin, frameLeave, parsePubSubMessage } from './framing.js';
import { shardIndex } from './hash.js';
import { RedisKeys } from './keys.js';
import type { RedisBrokerOptions } from './options.js';
import { HISTORY_ADD, HISTORY_READ, HISTORY_RELEASE, PUBLISH_IDEMPOTENT } from './scripts.js';
import { asBuffer } from './clients.js';
import { RedisShard } from './shard.js';
import { combinedHealth, openShards } from './shards.js';
import type { RedisPubSubErrorSink } from './pubsub-errors.js';

/** How long a publish result is remembered for its idempotency key by default: 5 minutes. */
const DEFAULT_IDEMPOTENT_RESULT_TTL_MS = 5 * 60 * 1000;

interface Part {
  shard: RedisShard;
  keys: RedisKeys;
}

export class RedisBroker implements Broker {
  private parts: Part[] = [];
  private handler: BrokerEventHandler | undefined;
  private nodeId = '';
  private nodeChannel = '';
  private dropsLogged = new Set<string>();

  constructor(
    private readonly opts: RedisBrokerOptions,
    private readonly log: Logger = silentLogger,
    /** Counts PUB/SUB failures (`centrifugo_broker_redis_pub_sub_errors`); pubsub-errors.ts. */
    private readonly pubSubError: RedisPubSubErrorSink = () => {},
  ) {
    if (opts.shards.length === 0) throw new Error('redis broker: no address');
  }

  /** Connects every shard and listens for control messages on each. */
  async run(handler: BrokerEventHandler, nodeId: string): Promise<void> {
    this.handler = handler;
    this.nodeId = nodeId;
    const shards = await openShards(this.opts.shards, this.log, {
      component: 'broker',
      shardedPubSub: this.opts.shardedPubSub,
      onMessage: (shard, channel, payload) => this.onMessage(shard, channel, payload),
      probePrefix: this.opts.prefix,
      onPubSubFailed: () => this.pubSubError('connection'),
    });
    this.parts = shards.map((shard) => ({ shard, keys: new RedisKeys(this.opts.prefix, shard.cluster) }));
    if (this.opts.shardedPubSub) {
      for (const s of shards) if (!s.cluster) this.log.warn({ component: 'broker', shard: s.label }, 'redis: sharded_pub_sub has no effect here: not a Redis Cluster');
    }
    const first = this.parts[0] as Part;
    this.nodeChannel = first.keys.node(nodeId);
    try {
      for (const p of this.parts) {
        await p.shard.subscribe(p.keys.control);
        await p.shard.subscribe(this.nodeChannel);
      }
    } catch (err) {
      this.pubSubError('subscribe_control_channel');
      await this.close();
      throw err;
    }
  }

  async subscribe(channel: string): Promise<void> {
    const p = this.part(channel);
    try {
      await p.shard.subscribe(p.keys.client(channel));
    } catch (err) {
      this.pubSubError('subscribe_channel');
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const p = this.part(channel);
    await p.shard.unsubscribe(p.keys.client(channel));
  }

  async publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult> {
    const p = this.part(channel);
    const record: Publication = { data };
    if (opts.clientInfo !== undefined) record.info = opts.clientInfo;
    if (opts.tags !== undefined) record.tags = opts.tags;
    const h = opts.history;
    const kept = h !== undefined && h.size > 0 && h.ttlMs > 0;
    // Without history the record itself says "deliver as a delta", as Centrifugo's does (framing.ts).
    if (!kept && opts.useDelta === true) record.delta = true;
    const payload = asBuffer(encodePublicationRecord(record));
    const resultTtl = ms(opts.idempotentResultTtlMs !== undefined && opts.idempotentResultTtlMs > 0 ? opts.idempotentResultTtlMs : DEFAULT_IDEMPOTENT_RESULT_TTL_MS);
    if (kept) {
      const keys = [p.keys.stream(channel), p.keys.streamMeta(channel)];
      if (opts.idempotencyKey) keys.push(p.keys.result(channel, opts.idempotencyKey));
      const replicas = this.opts.waitReplicas ?? 0;
      const reply = (await p.shard.eval(HISTORY_ADD, keys, [
        payload,
        h.size,
        ms(h.ttlMs),
        // Under wait_replicas it is published only once replicated (below).
        replicas > 0 ? '' : p.keys.client(channel),
        ms(h.metaTtlMs > 0 ? h.metaTtlMs : this.opts.historyMetaTtlMs),
        generateEpoch(),
        p.shard.publishCommand,
        resultTtl,
        opts.useDelta === true ? '1' : '0',
        opts.version ?? 0,
        opts.versionEpoch ?? '',
      ])) as unknown[];
      const fromCache = str(reply[2]) === '1';
      const suppressed = fromCache || str(reply[3]) === '1';
      const position = { offset: int(reply[0]), epoch: str(reply[1]) };
      // Acknowledged and delivered only once replicated, when asked: a failover then can neither
      // lose an acknowledged publication nor leave a subscriber holding one the new master never
      // had. A retry answered from the idempotency cache releases it too, in case the first try's
      // WAIT failed.
      if (replicas > 0 && (fromCache || !suppressed) && position.offset > 0) {
        await p.shard.waitReplicas(replicas, p.keys.stream(channel));
        await p.shard.eval(HISTORY_RELEASE, keys.slice(0, 2), [position.offset, position.epoch, p.keys.client(channel), p.shard.publishCommand, opts.useDelta === true ? '1' : '0']);
      }
      return { position, suppressed };
    }
    if (opts.idempotencyKey) {
      const reply = await p.shard.eval(PUBLISH_IDEMPOTENT, [p.keys.result(channel, opts.idempotencyKey)], [payload, p.keys.client(channel), p.shard.publishCommand, resultTtl]);
      return { position: { offset: 0, epoch: '' }, suppressed: str(reply) === '1' };
    }
    await p.shard.publish(p.keys.client(channel), payload);
    return { position: { offset: 0, epoch: '' }, suppressed: false };
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    const p = this.part(channel);
    await p.shard.publish(p.keys.client(channel), frameJoin(info));
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    const p = this.part(channel);
    await p.shard.publish(p.keys.client(channel), frameLeave(info));
  }

  /**
   * To every node, or to `toNode` only. Always through one shard (the control channel's), so a
   * node's control messages arrive in the order it sent them; every node listens on all shards,
   * as Centrifugo nodes, which spread theirs round-robin, expect.
   */
  async publishControl(data: Uint8Array, toNode?: string): Promise<void> {
    if (this.handler === undefined) throw new Error('redis broker: not running');
    const p = this.part(this.opts.prefix + '.control');
    await p.shard.publish(toNode === undefined ? p.keys.control : p.keys.node(toNode), data);
  }

  async history(channel: string, opts: HistoryOptions): Promise<HistoryResult> {
    const p = this.part(channel);
    const { since, limit, reverse } = opts.filter;
    let mode = '';
    let from = '-';
    let to = '+';
    if (limit !== 0 && reverse !== true) {
      mode = 'f';
      if (since !== undefined) from = String(since.offset + 1);
    } else if (limit !== 0) {
      mode = 'r';
      from = since !== undefined && since.offset > 0 ? String(since.offset - 1) : '+';
      to = '-';
    }
    const metaTtl = ms(opts.metaTtlMs !== undefined && opts.metaTtlMs > 0 ? opts.metaTtlMs : this.opts.historyMetaTtlMs);
    const reply = (await p.shard.eval(HISTORY_READ, [p.keys.stream(channel), p.keys.streamMeta(channel)], [
      generateEpoch(),
      metaTtl,
      since?.epoch ?? '',
      mode,
      from,
      to,
      limit < 0 ? 0 : limit,
      (this.opts.waitReplicas ?? 0) > 0 ? '1' : '0',
    ])) as unknown[];
    const position: StreamPosition = { offset: int(reply[0]), epoch: str(reply[1]) };
    const entries = Array.isArray(reply[2]) ? (reply[2] as unknown[]) : [];
    return { publications: entries.map(entryToPublication), position };
  }

  /** Drops the publications; the meta (top offset, epoch, version) stays. */
  async removeHistory(channel: string): Promise<void> {
    const p = this.part(channel);
    await p.shard.del(p.keys.stream(channel));
  }

  health(): EngineHealth {
    return combinedHealth(this.parts.map((p) => p.shard));
  }

  async close(): Promise<void> {
    this.handler = undefined;
    const parts = this.parts;
    this.parts = [];
    await Promise.all(parts.map((p) => p.shard.close()));
  }

  private part(channel: string): Part {
    const p = this.parts[shardIndex(channel, this.parts.length)];
    if (p === undefined) throw new Error('redis broker: not running');
    return p;
  }

  private onMessage(shard: RedisShard, channel: string, payload: Buffer): void {
    const h = this.handler;
    if (h === undefined) return;
    const first = this.parts[0];
    if (first === undefined) return;
    if (channel === first.keys.control || channel === this.nodeChannel) {
      if (!h.handleControl(payload)) this.pubSubError('handle_control_message');
      return;
    }
    // By the shard it came from: shards may differ in tagging (a Cluster's `{CH}` beside a plain
    // server's `CH`), and a plain server's rule would read `{CH}` as a channel of that name.
    let name: string | undefined;
    for (const p of this.parts) {
      if (p.shard !== shard) continue;
      name = p.keys.channelOf(channel);
      break;
    }
    if (name === undefined) return this.drop(`message on unexpected PUB/SUB channel ${channel}`);
    const m = parsePubSubMessage(payload);
    if (m === undefined) return this.drop(`undecodable message on ${channel}`);
    if (m.kind === 'publication') h.handlePublication(name, m.pub, m.position, m.delta, m.prev);
    else if (m.kind === 'join') h.handleJoin(name, m.info);
    else h.handleLeave(name, m.info);
  }

  /**
   * Counts a dropped message, and logs it once per kind of reason (a flood of garbage must not
   * flood the log).
   */
  private drop(reason: string): void {
    this.pubSubError('handle_client_message');
    const kind = reason.split(' on ')[0] ?? reason;
    if (this.dropsLogged.has(kind)) return;
    this.dropsLogged.add(kind);
    this.log.warn({ reason }, 'redis broker: dropped a PUB/SUB message (logged once per kind)');
  }
}

/** A stream entry `[id, [field, value, ...]]` as a Publication with the offset from its ID. */
function entryToPublication(entry: unknown): Publication {
  const [id, fields] = entry as [Buffer, Buffer[]];
  let data: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (String(fields[i]) === 'd') data = fields[i + 1];
  const pub = forClients(decodePublicationRecord(data ?? Buffer.alloc(0)));
  pub.offset = Number(String(id).split('-')[0]);
  return pub;
}

/** A TTL for PEXPIRE: a whole number of ms, at least 1. */
function ms(v: number): number {
  return Math.max(1, Math.ceil(v));
}

function int(v: unknown): number {
  return typeof v === 'number' ? v : Number(String(v));
}

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}
