/**
 * One Redis setup (a server, a Sentinel-managed master or a Cluster) and Rotor's two uses of it:
 * commands (Lua scripts, PUBLISH, presence) on one auto-pipelined connection, and PUB/SUB on a
 * second one. Channels are spread over several shards by `shardIndex` (hash.ts).
 *
 * Failing fast is the point of most settings here (spec §9.3, ECOSYSTEM lesson 3):
 * - a command whose reply does not come within `io_timeout` rejects (`commandTimeout`);
 * - while a connection is down, commands reject at once instead of queueing (no offline queue),
 *   and commands in flight when it drops reject instead of being resent (no retries: a resent
 *   publish could be applied twice);
 * - a PING every second on both connections finds a Redis that is stalled but still holds the
 *   socket (SIGSTOP, a frozen VM): after `io_timeout` without a reply the shard reports itself
 *   unhealthy and drops the connection, which the client then re-establishes on its own.
 *
 * PUB/SUB subscriptions are kept here, not in the client: after the PUB/SUB connection comes back
 * (a restart, a failover) every channel is subscribed again in batches of
 * {@link RESUBSCRIBE_BATCH}, several batches in flight. A Cluster's client resubscribes itself.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { EngineHealth } from '../types.js';
import type { HostPort, RedisShardOptions } from './options.js';
import type { LuaScript } from './scripts.js';

/** Channels per SUBSCRIBE command when resubscribing. */
export const RESUBSCRIBE_BATCH = 512;
/** Resubscribe commands in flight at once. */
const RESUBSCRIBE_PARALLEL = 16;
/** How often each connection is pinged to detect a stalled server, ms. */
const PING_INTERVAL_MS = 1000;
/** Reconnect backoff: 50 ms per attempt up to this, ms. */
const MAX_RECONNECT_DELAY_MS = 1000;

export interface ShardEvents {
  /** A message on a subscribed PUB/SUB channel. */
  message(channel: string, payload: Buffer): void;
  /** The PUB/SUB connection is back and every channel is subscribed again (not at the first connect). */
  resubscribed(channels: number, ms: number): void;
  /** Something worth an operator's attention (connection lost, resubscribe failed). */
  warn(message: string): void;
}

type Client = Redis | Cluster;

/** ioredis defines a `*Buffer` twin of every command at runtime; its types omit these two. */
interface BufferScripts {
  evalshaBuffer(...args: Array<string | Buffer | number>): Promise<unknown>;
  evalBuffer(...args: Array<string | Buffer | number>): Promise<unknown>;
}

export class RedisShard {
  /** What the shard is called in messages and health reasons: never holds a password. */
  readonly label: string;
  /** Whether this shard is a Redis Cluster (keys hash-tagged, PUB/SUB through the cluster client). */
  readonly cluster: boolean;
  private readonly channels = new Set<string>();
  private readonly problems = new Map<'commands' | 'pubsub', string>();
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private connectedOnce = false;

  private constructor(
    private readonly cmd: Client,
    private readonly sub: Client,
    private readonly opts: RedisShardOptions,
    private readonly sharded: boolean,
    private readonly events: ShardEvents,
    label: string,
  ) {
    this.label = label;
    this.cluster = cmd instanceof Cluster;
  }

  /**
   * Connects both connections (within `connect_timeout` each) and starts watching them. Rejects
   * with a message naming the shard when Redis cannot be reached. `shardedPubSub` takes effect
   * only on a Cluster. `pubsub: false` opens the command connection only.
   */
  static async open(opts: RedisShardOptions, shardedPubSub: boolean, events: ShardEvents, pubsub = true): Promise<RedisShard> {
    const label = labelOf(opts);
    let cluster = opts.topology.kind === 'cluster';
    if (opts.topology.kind === 'standalone') cluster = await detectCluster(opts, label);
    const sharded = cluster && shardedPubSub;
    const cmd = cluster ? newCluster(opts, sharded) : newRedis(opts);
    // Without PUB/SUB (a presence manager), `sub` is the command connection and never subscribes.
    const sub = cluster || !pubsub ? cmd : newRedis(opts);
    const shard = new RedisShard(cmd, sub, opts, sharded, events, label);
    shard.watch();
    try {
      await connect(cmd, label, opts.connectTimeoutMs);
      if (sub !== cmd) await connect(sub, label, opts.connectTimeoutMs);
    } catch (err) {
      await shard.close();
      throw err;
    }
    shard.connectedOnce = true;
    shard.problems.clear();
    return shard;
  }

  /**
   * Runs a script (EVALSHA, loading it on NOSCRIPT) with Buffer replies. (The named `*Buffer`
   * methods, not `callBuffer`: ioredis 6.1 drops `callBuffer`'s command name when auto-pipelining.)
   */
  async eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | Buffer | number>): Promise<unknown> {
    const client = this.cmd as unknown as BufferScripts;
    try {
      return await client.evalshaBuffer(script.sha1, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.evalBuffer(script.source, keys.length, ...keys, ...args);
    }
  }

  async del(key: string): Promise<void> {
    await this.cmd.del(key);
  }

  /** PUBLISH, or SPUBLISH on a Cluster with sharded PUB/SUB. */
  async publish(channel: string, payload: Buffer | Uint8Array): Promise<void> {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (this.sharded) await this.cmd.spublish(channel, bytes);
    else await this.cmd.publish(channel, bytes);
  }

  /** The command a script uses to publish. */
  get publishCommand(): 'publish' | 'spublish' {
    return this.sharded ? 'spublish' : 'publish';
  }

  /** Subscribes the PUB/SUB connection; the channel is resubscribed after reconnects until unsubscribed. */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    try {
      if (this.sharded) await (this.sub as Cluster).ssubscribe(channel);
      else await this.sub.subscribe(channel);
    } catch (err) {
      this.channels.delete(channel);
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (this.sharded) await (this.sub as Cluster).sunsubscribe(channel);
    else await this.sub.unsubscribe(channel);
  }

  health(): EngineHealth {
    if (this.problems.size === 0) return { ok: true };
    return { ok: false, reason: `${this.label}: ${[...this.problems].map(([what, why]) => `${what} ${why}`).join('; ')}` };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    // quit() waits for replies a stalled Redis never sends; disconnect() does not.
    this.cmd.disconnect();
    if (this.sub !== this.cmd) this.sub.disconnect();
  }

  private watch(): void {
    this.track(this.cmd, 'commands');
    if (this.sub !== this.cmd) this.track(this.sub, 'pubsub');
    const onMessage = (channel: Buffer, payload: Buffer): void => this.events.message(channel.toString(), payload);
    this.sub.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', onMessage);
    this.pingTimer = setInterval(() => {
      this.ping(this.cmd, 'commands');
      if (this.sub !== this.cmd) this.ping(this.sub, 'pubsub');
    }, PING_INTERVAL_MS);
    // Watching Redis is no reason to keep the process alive.
    this.pingTimer.unref();
  }

  private track(client: Client, what: 'commands' | 'pubsub'): void {
    let lastError = '';
    client.on('error', (err: Error) => {
      lastError = err.message;
    });
    client.on('close', () => {
      if (this.closed) return;
      if (!this.problems.has(what) && this.connectedOnce) this.events.warn(`${this.label}: ${what} connection lost${lastError ? `: ${lastError}` : ''}`);
      this.problems.set(what, `connection lost${lastError ? `: ${lastError}` : ''}`);
    });
    client.on('ready', () => {
      lastError = '';
      if (what === 'pubsub' && this.connectedOnce && !(client instanceof Cluster)) void this.resubscribe(client);
      else this.problems.delete(what);
    });
  }

  private ping(client: Client, what: 'commands' | 'pubsub'): void {
    if (client.status !== 'ready') return;
    client.ping().then(
      () => {
        if (this.problems.get(what)?.startsWith('no reply') === true) this.problems.delete(what);
      },
      (err: Error) => {
        if (this.closed || client.status !== 'ready') return;
        this.problems.set(what, `no reply within io_timeout (${this.opts.ioTimeoutMs} ms): ${err.message}`);
        this.events.warn(`${this.label}: ${what} connection stalled; reconnecting`);
        // Drop the stalled socket; the client reconnects by itself.
        client.disconnect(true);
      },
    );
  }

  /** Subscribes every wanted channel again after the PUB/SUB connection came back. */
  private async resubscribe(client: Redis): Promise<void> {
    const started = performance.now();
    const all = [...this.channels];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < all.length && !this.closed) {
        const batch = all.slice(next, next + RESUBSCRIBE_BATCH);
        next += RESUBSCRIBE_BATCH;
        await client.subscribe(...batch);
      }
    };
    try {
      await Promise.all(Array.from({ length: RESUBSCRIBE_PARALLEL }, worker));
      this.problems.delete('pubsub');
      this.events.resubscribed(all.length, performance.now() - started);
    } catch (err) {
      // The connection dropped again; its next 'ready' starts over.
      this.events.warn(`${this.label}: resubscribing ${all.length} channels failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function labelOf(opts: RedisShardOptions): string {
  const t = opts.topology;
  const hp = (a: HostPort): string => `${a.host}:${a.port}`;
  if (t.kind === 'standalone') return `redis ${hp(t.address)}`;
  if (t.kind === 'sentinel') return `redis sentinel ${t.masterName} (${t.sentinels.map(hp).join(',')})`;
  return `redis cluster ${t.nodes.map(hp).join(',')}`;
}

function baseOptions(opts: RedisShardOptions): RedisOptions {
  const o: RedisOptions = {
    connectTimeout: opts.connectTimeoutMs,
    commandTimeout: opts.ioTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
  };
  if (opts.user !== undefined) o.username = opts.user;
  if (opts.password !== undefined) o.password = opts.password;
  if (opts.clientName !== undefined) o.connectionName = opts.clientName;
  if (opts.tls !== undefined) o.tls = opts.tls;
  return o;
}

function newRedis(opts: RedisShardOptions): Redis {
  const o = baseOptions(opts);
  o.db = opts.db;
  const t = opts.topology;
  if (t.kind === 'standalone') return new Redis({ ...o, host: t.address.host, port: t.address.port });
  if (t.kind !== 'sentinel') throw new Error('newRedis: a cluster needs newCluster');
  const s: RedisOptions = {
    ...o,
    sentinels: t.sentinels,
    name: t.masterName,
    failoverDetector: true,
    sentinelCommandTimeout: opts.ioTimeoutMs,
    sentinelRetryStrategy: (times: number) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
  };
  if (t.sentinelUser !== undefined) s.sentinelUsername = t.sentinelUser;
  if (t.sentinelPassword !== undefined) s.sentinelPassword = t.sentinelPassword;
  if (t.sentinelTls !== undefined) {
    s.enableTLSForSentinelMode = true;
    s.sentinelTLS = t.sentinelTls;
  }
  return new Redis(s);
}

function newCluster(opts: RedisShardOptions, sharded: boolean): Cluster {
  const nodes = opts.topology.kind === 'cluster' ? opts.topology.nodes : opts.topology.kind === 'standalone' ? [opts.topology.address] : [];
  const { enableOfflineQueue: _q, retryStrategy: _r, db: _db, ...redisOptions } = baseOptions(opts);
  const o: ClusterOptions = {
    redisOptions,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    lazyConnect: true,
    shardedSubscribers: sharded,
    slotsRefreshTimeout: opts.connectTimeoutMs,
    clusterRetryStrategy: (times: number) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
  };
  return new Cluster(nodes, o);
}

/** Connects, or rejects within the connect timeout with a message naming the shard. */
async function connect(client: Client, label: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not connected within connect_timeout (${timeoutMs} ms)`)), timeoutMs + 1000);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(why.startsWith(label) ? why : `${label}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks a `redis://` address whether it is a Cluster node (cluster auto-detection). */
async function detectCluster(opts: RedisShardOptions, label: string): Promise<boolean> {
  const probe = newRedis(opts);
  probe.on('error', () => {});
  try {
    await connect(probe, label, opts.connectTimeoutMs);
    const info = String(await probe.info('cluster'));
    return /cluster_enabled:1/.test(info);
  } finally {
    probe.disconnect();
  }
}
