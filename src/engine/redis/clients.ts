/**
 * The node-redis clients a shard runs on, one kind per topology (a server, a Sentinel-managed
 * master, a Cluster), with the options every one of them shares: fail fast rather than queue
 * (no offline queue, `io_timeout` on every command, in flight included, a bounded command queue),
 * reconnect by themselves with a short backoff, RESP3 (RESP2 with `force_resp2`). The shard (shard.ts) and its PUB/SUB
 * connections (pubsub-pool.ts) use them through the small `Conn` interface.
 */
import { createClient, createCluster, createSentinel, RESP_TYPES } from '@redis/client';
import type { HostPort, RedisShardOptions, SocketPath } from './options.js';
import { withTimeout } from '../../util/timeout.js';
import { messageOf } from '../../util/message-of.js';

/** Reconnect backoff: 50 ms per attempt up to this, ms. */
const MAX_RECONNECT_DELAY_MS = 1000;
/**
 * Commands one connection holds at most, sent or waiting for a reply; more reject at once. With
 * `io_timeout` this bounds what a stalled Redis can make a node hold in memory (100,000 publishes
 * of a few hundred bytes: tens of MB).
 */
export const MAX_QUEUED_COMMANDS = 100_000;
/** Every string reply as a Buffer: stream entries and PUB/SUB payloads are binary protobuf. */
export const BUFFER_REPLIES = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const;

export type Arg = string | Buffer;
export type Listener = (message: Buffer, channel: Buffer) => void;

/**
 * What the shard uses of a node-redis client, cluster or sentinel client: the three share these
 * methods, though node-redis types each with its own deep generics. The clients are cast to this
 * once, where they are made.
 */
export interface Conn {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  /** Ends every connection at once (a Sentinel client's returns a promise). */
  destroy(): unknown;
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
export interface ClusterCommands {
  getNodeClientForKey(key: string): Promise<Pick<Conn, 'publish'> & Waiter>;
}

export interface Waiter {
  wait(replicas: number, timeoutMs: number): Promise<unknown>;
}

/** PING through any of the three client kinds (a cluster needs no key for it). */
export interface Pinger {
  ping(): Promise<unknown>;
}

/**
 * A client of the kind the topology needs; `cluster` when the shard found it is a Cluster.
 * `pubsubOnly`: it will only subscribe, so a Cluster client connects to a node when it needs one
 * instead of to every master at once.
 */
export function makeConn(opts: RedisShardOptions, cluster: boolean, pubsubOnly = false): Conn {
  return cluster ? newCluster(opts, pubsubOnly) : opts.topology.kind === 'sentinel' ? newSentinel(opts) : newClient(opts);
}

export function labelOf(opts: RedisShardOptions): string {
  const t = opts.topology;
  const hp = (a: HostPort | SocketPath): string => ('path' in a ? `unix:${a.path}` : `${a.host}:${a.port}`);
  if (t.kind === 'standalone') return `redis ${hp(t.address)}`;
  if (t.kind === 'sentinel') return `redis sentinel ${t.masterName} (${t.sentinels.map(hp).join(',')})`;
  return `redis cluster ${t.nodes.map(hp).join(',')}`;
}

/** How much longer than `io_timeout` {@link bounded} waits, ms: the client's own timeout, when it applies, fails first and says more. */
const BOUND_MARGIN_MS = 250;

/**
 * A command's promise, failed shortly after `io_timeout` whatever the client does. The client's
 * own timeout covers a command from when it is queued on a server connection; before that a
 * Sentinel client waits for a master (16 s when Sentinel has none to give), a Cluster client for
 * its slots. A single server's commands need nothing more, and get nothing (no timer per call).
 */
export function bounded<T>(p: Promise<T>, opts: RedisShardOptions, cluster: boolean, label: string): Promise<T> {
  if (opts.topology.kind === 'standalone' && !cluster) return p;
  return withTimeout(p, opts.ioTimeoutMs + BOUND_MARGIN_MS, () => new Error(`${label}: no reply within io_timeout (${opts.ioTimeoutMs} ms)`));
}

/** RESP3 unless `force_resp2`. */
function resp(opts: RedisShardOptions): 2 | 3 {
  return opts.resp2 === true ? 2 : 3;
}

const reconnectStrategy = (retries: number): number => Math.min((retries + 1) * 50, MAX_RECONNECT_DELAY_MS);

/** Options every client of the shard shares: credentials, TLS, timeouts, no offline queue. */
function clientOptions(opts: RedisShardOptions, host?: HostPort | SocketPath) {
  const socket = {
    connectTimeout: opts.connectTimeoutMs,
    reconnectStrategy,
    ...(host === undefined ? {} : 'path' in host ? { path: host.path } : { host: host.host, port: host.port }),
    ...(opts.tls === undefined ? {} : { tls: true as const, ...opts.tls }),
  };
  return {
    socket,
    ...(opts.user === undefined ? {} : { username: opts.user }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.clientName === undefined ? {} : { name: opts.clientName }),
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    commandOptions: commandOptions(opts),
    RESP: resp(opts),
  };
}

/**
 * `io_timeout` on every command, one already written included. Given to each server connection
 * and, for Sentinel and Cluster, to the client over them too: theirs carry a default of their own
 * (5 s) that would otherwise win.
 */
function commandOptions(opts: RedisShardOptions) {
  return { timeout: opts.ioTimeoutMs, rejectInFlight: true };
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
      ...(t.sentinelClientName === undefined ? {} : { name: t.sentinelClientName }),
      ...(t.sentinelUser === undefined ? {} : { username: t.sentinelUser }),
      ...(t.sentinelPassword === undefined ? {} : { password: t.sentinelPassword }),
    },
    masterPoolSize: 1,
    commandOptions: commandOptions(opts),
    RESP: resp(opts),
  }) as unknown as Conn;
}

function newCluster(opts: RedisShardOptions, minimizeConnections: boolean): Conn {
  const t = opts.topology;
  // A Cluster is reached over TCP: shard.ts detects one only behind a host:port.
  const nodes = t.kind === 'cluster' ? t.nodes : t.kind === 'standalone' && !('path' in t.address) ? [t.address] : [];
  const defaults = clientOptions(opts);
  return createCluster({
    rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults,
    useReplicas: false,
    minimizeConnections,
    commandOptions: commandOptions(opts),
    RESP: resp(opts),
  }) as unknown as Conn;
}

/** Destroys `c`; a Sentinel client's destroy is async, and its failure has no one to tell. */
export function destroyConn(c: Conn): void {
  const r = c.destroy();
  if (r instanceof Promise) r.catch(() => undefined);
}

/** A PING on the client's own connection (a cluster's goes to one of its nodes). */
export function pinger(c: Conn): Pinger {
  const client = c as unknown as { ping?: () => Promise<unknown>; sendCommand: (...a: unknown[]) => Promise<unknown> };
  if (typeof client.ping === 'function') return { ping: () => (client.ping as () => Promise<unknown>).call(c) };
  return { ping: () => client.sendCommand(undefined, true, ['PING']) };
}

/** Connects, or rejects within the connect timeout with a message naming the shard. */
export async function connect(client: Conn, label: string, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(client.connect(), timeoutMs + 1000, () => new Error(`${label}: not connected within connect_timeout (${timeoutMs} ms)`));
  } catch (err) {
    const why = messageOf(err);
    throw new Error(why.startsWith(label) ? why : `${label}: ${why}`);
  }
}

/** Asks a `redis://` address whether it is a Cluster node (cluster auto-detection). */
export async function detectCluster(opts: RedisShardOptions, label: string): Promise<boolean> {
  const probe = newClient(opts);
  probe.on('error', () => {});
  try {
    await connect(probe, label, opts.connectTimeoutMs);
    const info = await (probe as unknown as { info(section: string): Promise<unknown> }).info('cluster');
    return /cluster_enabled:1/.test(String(info));
  } finally {
    destroyConn(probe);
  }
}

/** `host:port` of the node a Cluster client's `node-*` event is about, when it says. */
export function nodeAddress(node: unknown): string | undefined {
  const n = node as { host?: unknown; port?: unknown } | undefined;
  return typeof n?.host === 'string' && typeof n.port === 'number' ? `${n.host}:${n.port}` : undefined;
}

/** The same bytes as a Buffer, without copying (protobufjs already gives Buffers on Node). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
