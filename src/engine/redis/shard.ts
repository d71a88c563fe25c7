/**
 * One Redis setup (a server, a Sentinel-managed master or a Cluster) and Rotor's two uses of it:
 * commands (Lua scripts, PUBLISH, presence) on one pipelined connection, and PUB/SUB on a second
 * one. Channels are spread over several shards by `shardIndex` (hash.ts). The client is
 * `@redis/client` (node-redis; docs/dependencies.md says why), loaded only with this module.
 *
 * Failing fast is the point of most settings here (spec §9.3, ECOSYSTEM lesson 3):
 * - a command whose reply does not come within `io_timeout` rejects, even one already written to
 *   a Redis that stalls with the socket open (`timeout` with `rejectInFlight`);
 * - while a connection is down, commands reject at once instead of queueing (no offline queue);
 * - a PING every second on both connections finds a stalled Redis: after `io_timeout` without a
 *   reply the shard reports itself unhealthy (`/health` 503) until a PING is answered again.
 *
 * The client keeps the PUB/SUB subscriptions and sends them again whenever the PUB/SUB connection
 * comes back (a restart, a Sentinel failover, a Cluster resharding); the shard follows that with
 * a PING on the same connection, whose reply says every channel is subscribed again.
 */
import { createClient, createCluster, createSentinel, RESP_TYPES } from '@redis/client';
import type { EngineHealth } from '../types.js';
import type { HostPort, RedisShardOptions } from './options.js';
import type { LuaScript } from './scripts.js';

/** How often each connection is pinged to detect a stalled server, ms. */
const PING_INTERVAL_MS = 1000;
/** Reconnect backoff: 50 ms per attempt up to this, ms. */
const MAX_RECONNECT_DELAY_MS = 1000;
/**
 * Commands one connection holds at most, sent or waiting for a reply; more reject at once. With
 * `io_timeout` this bounds what a stalled Redis can make a node hold in memory (100,000 publishes
 * of a few hundred bytes: tens of MB).
 */
export const MAX_QUEUED_COMMANDS = 100_000;
/** Every string reply as a Buffer: stream entries and PUB/SUB payloads are binary protobuf. */
const BUFFER_REPLIES = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const;

export interface ShardEvents {
  /** A message on a subscribed PUB/SUB channel. */
  message(channel: string, payload: Buffer): void;
  /** The PUB/SUB connection is back and every channel is subscribed again (not at the first connect). */
  resubscribed(channels: number, ms: number): void;
  /** Something worth an operator's attention (connection lost, resubscribe failed). */
  warn(message: string): void;
}

type Arg = string | Buffer;
type Listener = (message: Buffer, channel: Buffer) => void;

/**
 * What the shard uses of a node-redis client, cluster or sentinel client: the three share these
 * methods, though node-redis types each with its own deep generics. The clients are cast to this
 * once, where they are made.
 */
interface Conn {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  withTypeMapping(mapping: typeof BUFFER_REPLIES): Conn;
  evalSha(sha: string, opts: { keys: string[]; arguments: Arg[] }): Promise<unknown>;
  eval(script: string, opts: { keys: string[]; arguments: Arg[] }): Promise<unknown>;
  publish(channel: string, message: Buffer): Promise<unknown>;
  sPublish(channel: string, message: Buffer): Promise<unknown>;
  del(key: string): Promise<unknown>;
  subscribe(channels: string | string[], listener: Listener, bufferMode: true): Promise<unknown>;
  unsubscribe(channels: string | string[], listener: Listener, bufferMode: true): Promise<unknown>;
  sSubscribe(channels: string | string[], listener: Listener, bufferMode: true): Promise<unknown>;
  sUnsubscribe(channels: string | string[], listener: Listener, bufferMode: true): Promise<unknown>;
}

/**
 * The client of the cluster node owning a key's slot. (The cluster client's own `publish`, and
 * `sendCommand` with a routing key too, send PUBLISH to a random node: node-redis's command policy
 * table treats it as keyless.)
 */
interface ClusterCommands {
  getNodeClientForKey(key: string): Promise<Pick<Conn, 'publish'> & Waiter>;
}

interface Waiter {
  wait(replicas: number, timeoutMs: number): Promise<unknown>;
}

/** PING through any of the three client kinds (a cluster needs no key for it). */
interface Pinger {
  ping(): Promise<unknown>;
}

export class RedisShard {
  /** What the shard is called in messages and health reasons: never holds a password. */
  readonly label: string;
  /** Whether this shard is a Redis Cluster (keys hash-tagged). */
  readonly cluster: boolean;
  private readonly cmd: Conn;
  private readonly channels = new Set<string>();
  private readonly problems = new Map<'commands' | 'pubsub', string>();
  private readonly listener: Listener;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private connectedOnce = false;

  private constructor(
    private readonly rawCmd: Conn,
    private readonly sub: Conn,
    private readonly pingers: { cmd: Pinger; sub: Pinger },
    private readonly opts: RedisShardOptions,
    private readonly sharded: boolean,
    private readonly events: ShardEvents,
    label: string,
    cluster: boolean,
  ) {
    this.label = label;
    this.cluster = cluster;
    this.cmd = rawCmd.withTypeMapping(BUFFER_REPLIES);
    this.listener = (message, channel) => this.events.message(channel.toString(), message);
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
    const make = (): Conn => (cluster ? newCluster(opts) : opts.topology.kind === 'sentinel' ? newSentinel(opts) : newClient(opts));
    const cmd = make();
    const sub = pubsub ? make() : cmd;
    const shard = new RedisShard(cmd, sub, { cmd: pinger(cmd), sub: pinger(sub) }, opts, cluster && shardedPubSub, events, label, cluster);
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

  /** Runs a script (EVALSHA, loading it on NOSCRIPT) with Buffer replies. */
  async eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<Arg | number>): Promise<unknown> {
    const o = { keys: [...keys], arguments: args.map((a) => (typeof a === 'number' ? String(a) : a)) };
    try {
      return await this.cmd.evalSha(script.sha1, o);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.cmd.eval(script.source, o);
    }
  }

  /**
   * WAIT: resolves once `replicas` replicas hold every write this connection made so far (on a
   * Cluster, the connection to the node owning `key`); rejects when fewer confirm within
   * `io_timeout`. The command connection waits meanwhile, so it is for a publication that must
   * survive a failover, not for every call.
   */
  async waitReplicas(replicas: number, key: string): Promise<void> {
    const conn = this.cluster ? await (this.rawCmd as unknown as ClusterCommands).getNodeClientForKey(key) : this.cmd;
    const acked = Number(await (conn as unknown as Waiter).wait(replicas, this.opts.ioTimeoutMs));
    if (acked < replicas) throw new Error(`${this.label}: ${acked} of ${replicas} replicas confirmed the write within io_timeout (${this.opts.ioTimeoutMs} ms)`);
  }

  async del(key: string): Promise<void> {
    await this.cmd.del(key);
  }

  /**
   * PUBLISH, or SPUBLISH on a Cluster with sharded PUB/SUB. On a Cluster a classic PUBLISH goes to
   * the node owning the channel name's slot, always the same one: sent to any node, consecutive
   * messages of one channel would travel different paths and could arrive out of order.
   */
  async publish(channel: string, payload: Buffer | Uint8Array): Promise<void> {
    const bytes = asBuffer(payload);
    if (this.sharded) await this.cmd.sPublish(channel, bytes);
    else if (this.cluster) await (await (this.rawCmd as unknown as ClusterCommands).getNodeClientForKey(channel)).publish(channel, bytes);
    else await this.cmd.publish(channel, bytes);
  }

  /** The command a script uses to publish. */
  get publishCommand(): 'publish' | 'spublish' {
    return this.sharded ? 'spublish' : 'publish';
  }

  /** Subscribes the PUB/SUB connection; the client subscribes it again after reconnects. */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    try {
      if (this.sharded) await this.sub.sSubscribe(channel, this.listener, true);
      else await this.sub.subscribe(channel, this.listener, true);
    } catch (err) {
      this.channels.delete(channel);
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (this.sharded) await this.sub.sUnsubscribe(channel, this.listener, true);
    else await this.sub.unsubscribe(channel, this.listener, true);
  }

  health(): EngineHealth {
    if (this.problems.size === 0) return { ok: true };
    return { ok: false, reason: `${this.label}: ${[...this.problems].map(([what, why]) => `${what} ${why}`).join('; ')}` };
  }

  /** Closes both connections at once: waiting for a stalled Redis to answer QUIT would hang. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.rawCmd.destroy();
    if (this.sub !== this.rawCmd) this.sub.destroy();
  }

  private watch(): void {
    this.track(this.rawCmd, 'commands');
    if (this.sub !== this.rawCmd) this.track(this.sub, 'pubsub');
    this.pingTimer = setInterval(() => {
      this.ping(this.rawCmd, this.pingers.cmd, 'commands');
      if (this.sub !== this.rawCmd) this.ping(this.sub, this.pingers.sub, 'pubsub');
    }, PING_INTERVAL_MS);
    // Watching Redis is no reason to keep the process alive.
    this.pingTimer.unref();
  }

  private track(client: Conn, what: 'commands' | 'pubsub'): void {
    let lastError = '';
    client.on('error', (err) => {
      lastError = err instanceof Error ? err.message : String(err);
      if (this.connectedOnce && !this.closed && !client.isReady) this.lost(what, lastError);
    });
    client.on('end', () => {
      if (!this.closed) this.lost(what, lastError);
    });
    client.on('reconnecting', () => {
      if (!this.closed) this.lost(what, lastError);
    });
    client.on('ready', () => {
      if (!this.connectedOnce || this.closed) return;
      if (what === 'pubsub') void this.resubscribed(what);
      else this.problems.delete(what);
    });
  }

  private lost(what: 'commands' | 'pubsub', why: string): void {
    const reason = `connection lost${why ? `: ${why}` : ''}`;
    if (!this.problems.has(what)) this.events.warn(`${this.label}: ${what} ${reason}`);
    this.problems.set(what, reason);
  }

  private ping(client: Conn, p: Pinger, what: 'commands' | 'pubsub'): void {
    if (!client.isReady || this.closed) return;
    p.ping().then(
      () => {
        if (this.problems.get(what)?.startsWith('no reply') === true) this.problems.delete(what);
      },
      (err: unknown) => {
        if (this.closed || !client.isReady) return;
        if (!this.problems.has(what)) this.events.warn(`${this.label}: ${what} connection stalled (no reply to PING within io_timeout)`);
        this.problems.set(what, `no reply within io_timeout (${this.opts.ioTimeoutMs} ms): ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /**
   * The client resent its subscriptions as the connection came back; a PING behind them on the
   * same connection answers once Redis has processed them all.
   */
  private async resubscribed(what: 'pubsub'): Promise<void> {
    const started = performance.now();
    try {
      await this.pingers.sub.ping();
      this.problems.delete(what);
      this.events.resubscribed(this.channels.size, performance.now() - started);
    } catch (err) {
      this.events.warn(`${this.label}: waiting for ${this.channels.size} channels to be resubscribed failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The same bytes as a Buffer, without copying (protobufjs already gives Buffers on Node). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function labelOf(opts: RedisShardOptions): string {
  const t = opts.topology;
  const hp = (a: HostPort): string => `${a.host}:${a.port}`;
  if (t.kind === 'standalone') return `redis ${hp(t.address)}`;
  if (t.kind === 'sentinel') return `redis sentinel ${t.masterName} (${t.sentinels.map(hp).join(',')})`;
  return `redis cluster ${t.nodes.map(hp).join(',')}`;
}

const reconnectStrategy = (retries: number): number => Math.min((retries + 1) * 50, MAX_RECONNECT_DELAY_MS);

/** Options every client of the shard shares: credentials, TLS, timeouts, no offline queue. */
function clientOptions(opts: RedisShardOptions, host?: HostPort) {
  const socket = {
    connectTimeout: opts.connectTimeoutMs,
    reconnectStrategy,
    ...(host === undefined ? {} : { host: host.host, port: host.port }),
    ...(opts.tls === undefined ? {} : { tls: true as const, ...opts.tls }),
  };
  return {
    socket,
    ...(opts.user === undefined ? {} : { username: opts.user }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.clientName === undefined ? {} : { name: opts.clientName }),
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    commandOptions: { timeout: opts.ioTimeoutMs, rejectInFlight: true },
    RESP: 3 as const,
  };
}

function newClient(opts: RedisShardOptions): Conn {
  if (opts.topology.kind !== 'standalone') throw new Error('newClient: a standalone address is needed');
  return createClient({ ...clientOptions(opts, opts.topology.address), database: opts.db }) as unknown as Conn;
}

function newSentinel(opts: RedisShardOptions): Conn {
  const t = opts.topology;
  if (t.kind !== 'sentinel') throw new Error('newSentinel: a sentinel topology is needed');
  const node = { ...clientOptions(opts), database: opts.db };
  const sentinelSocket = { connectTimeout: opts.connectTimeoutMs, reconnectStrategy, ...(t.sentinelTls === undefined ? {} : { tls: true as const, ...t.sentinelTls }) };
  return createSentinel({
    name: t.masterName,
    sentinelRootNodes: t.sentinels,
    nodeClientOptions: node,
    sentinelClientOptions: {
      socket: sentinelSocket,
      ...(t.sentinelUser === undefined ? {} : { username: t.sentinelUser }),
      ...(t.sentinelPassword === undefined ? {} : { password: t.sentinelPassword }),
    },
    masterPoolSize: 1,
    RESP: 3,
  }) as unknown as Conn;
}

function newCluster(opts: RedisShardOptions): Conn {
  const t = opts.topology;
  const nodes = t.kind === 'cluster' ? t.nodes : t.kind === 'standalone' ? [t.address] : [];
  const defaults = clientOptions(opts);
  return createCluster({
    rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults,
    useReplicas: false,
    RESP: 3,
  }) as unknown as Conn;
}

/** A PING on the client's own connection (a cluster's goes to one of its nodes). */
function pinger(c: Conn): Pinger {
  const client = c as unknown as { ping?: () => Promise<unknown>; sendCommand: (...a: unknown[]) => Promise<unknown> };
  if (typeof client.ping === 'function') return { ping: () => (client.ping as () => Promise<unknown>).call(c) };
  return { ping: () => client.sendCommand(undefined, true, ['PING']) };
}

/** Connects, or rejects within the connect timeout with a message naming the shard. */
async function connect(client: Conn, label: string, timeoutMs: number): Promise<void> {
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
  const probe = newClient(opts);
  probe.on('error', () => {});
  try {
    await connect(probe, label, opts.connectTimeoutMs);
    const info = await (probe as unknown as { info(section: string): Promise<unknown> }).info('cluster');
    return /cluster_enabled:1/.test(String(info));
  } finally {
    probe.destroy();
  }
}
