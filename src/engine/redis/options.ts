/**
 * What the Redis engine needs to know, as plain data: app/ builds it from the config
 * (`engine.redis`, `broker.redis`, `presence_manager.redis`), so this layer never sees the config.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';

export interface HostPort {
  host: string;
  port: number;
}

/** A Unix socket's path (`unix:///path`). */
export interface SocketPath {
  path: string;
}

/** How one shard is reached. */
export type RedisTopology =
  /** One server (or, over TCP, a Cluster, found out at connect time by asking the server). */
  | { kind: 'standalone'; address: HostPort | SocketPath }
  /** Ask these Sentinels for the master named `masterName`; follow failovers. */
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      masterName: string;
      sentinelUser?: string;
      sentinelPassword?: string;
      /** CLIENT SETNAME on the Sentinel connections (`sentinel_client_name`). */
      sentinelClientName?: string;
      sentinelTls?: TlsOptions;
    }
  /** A Redis Cluster; `nodes` are seeds, the rest is discovered. */
  | { kind: 'cluster'; nodes: HostPort[] };

/** One Redis setup: channels are spread over several of them by `shardIndex` (hash.ts). */
export interface RedisShardOptions {
  topology: RedisTopology;
  user?: string;
  password?: string;
  db: number;
  clientName?: string;
  /** TLS to Redis (`rediss://` or `tls.enabled`); absent for plain TCP. */
  tls?: TlsOptions;
  /**
   * RESP2 instead of RESP3 (`force_resp2`), for servers and proxies that do not speak RESP3
   * (no HELLO 3). Rotor works the same on both.
   */
  resp2?: boolean;
  /** Connecting (TCP, TLS, AUTH, SELECT) must finish within this, ms. */
  connectTimeoutMs: number;
  /** A command's reply must arrive within this, ms, or the command fails (`io_timeout`). */
  ioTimeoutMs: number;
}

export interface RedisCommonOptions {
  shards: RedisShardOptions[];
  /** Prefix of every key and PUB/SUB channel (default `centrifugo`). */
  prefix: string;
}

export interface RedisBrokerOptions extends RedisCommonOptions {
  /** Meta TTL when a call passes none, ms (`channel.history_meta_ttl`, default 30 days). */
  historyMetaTtlMs: number;
  /** On a Cluster: SSUBSCRIBE/SPUBLISH instead of SUBSCRIBE/PUBLISH (`sharded_pub_sub`). */
  shardedPubSub: boolean;
  /**
   * Replicas that must hold a publication kept in history before its publish succeeds (WAIT, for
   * at most `io_timeout`); 0 does not wait (`wait_replicas`).
   */
  waitReplicas?: number;
}

export interface RedisPresenceOptions extends RedisCommonOptions {
  /** An entry not refreshed within this is gone, ms (`presence_ttl`, default 60 s). */
  presenceTtlMs: number;
  /** Keep a per-channel user count hash so `presenceStats` does not scan (`presence_user_mapping`). */
  userMapping: boolean;
}

/** A Redis address that cannot be used; the message says why, the caller says which key. */
export class RedisAddressError extends Error {
  override readonly name = 'RedisAddressError';
}

/** What an address URL sets; the config's own fields fill in what it leaves out. */
export interface ParsedAddress {
  topology: RedisTopology;
  /** `rediss...://` or `?tls_enabled=true`. */
  tls: boolean;
  /** `rediss+sentinel://` or `?sentinel_tls_enabled=true`: TLS to the Sentinels too. */
  sentinelTls: boolean;
  /** `?force_resp2=true`. */
  resp2: boolean;
  user?: string;
  password?: string;
  db?: number;
  /** Query options the URL carried (`connect_timeout`, `sentinel_master_name`, ...). */
  query: URLSearchParams;
}

const SCHEMES: Readonly<Record<string, { kind: RedisTopology['kind']; tls: boolean; port: number }>> = {
  'redis:': { kind: 'standalone', tls: false, port: 6379 },
  'tcp:': { kind: 'standalone', tls: false, port: 6379 },
  'rediss:': { kind: 'standalone', tls: true, port: 6379 },
  'redis+sentinel:': { kind: 'sentinel', tls: false, port: 26379 },
  'rediss+sentinel:': { kind: 'sentinel', tls: true, port: 26379 },
  'redis+cluster:': { kind: 'cluster', tls: false, port: 6379 },
  'rediss+cluster:': { kind: 'cluster', tls: true, port: 6379 },
};

/**
 * Parses one address, in the forms Centrifugo v6 reads:
 * - `redis://[user:password@]host[:port][/db][?options]` (`tcp://` the same), `rediss://` (TLS);
 * - `redis+sentinel://host:26379?sentinel_master_name=M&addr=host2:26380` (`rediss+sentinel://`:
 *   TLS to the master and the Sentinels), or any `redis://` address with `sentinel_master_name`;
 * - `redis+cluster://host:port?addr=host2:port` (`rediss+cluster://`);
 * - `unix:///path/to/redis.sock[?db=N]`;
 * - a bare `host:port`, meaning `redis://host:port`.
 * Extra hosts come from repeated `addr` options. Boolean options: `tls_enabled`,
 * `sentinel_tls_enabled`, `force_resp2` (Go's spellings: 1, t, true, 0, f, false, ...).
 */
export function parseRedisAddress(address: string): ParsedAddress {
  if (address.startsWith('unix://')) return parseUnixAddress(address);
  const text = address.includes('://') ? address : `redis://${address}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisAddressError(`"${redact(address)}" is not a Redis address (redis://host:port, rediss://, redis+sentinel://, redis+cluster://, unix:///path)`);
  }
  const q = url.searchParams;
  const flags = queryFlags(q);
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) throw new RedisAddressError(`"${url.protocol}" is not a Redis scheme; use redis://, rediss://, redis+sentinel://, redis+cluster:// or unix://`);
  if (url.hostname === '') throw new RedisAddressError(`"${redact(address)}" has no host`);
  // A master name makes any address a Sentinel's (Centrifugo reads it so).
  const kind = scheme.kind === 'standalone' && (q.get('sentinel_master_name') ?? '') !== '' ? 'sentinel' : scheme.kind;
  const defaultPort = kind === 'sentinel' ? 26379 : scheme.port;
  const hosts: HostPort[] = [{ host: unbracket(url.hostname), port: url.port === '' ? defaultPort : Number(url.port) }];
  for (const extra of q.getAll('addr')) hosts.push(hostPort(extra, defaultPort));
  const out: ParsedAddress = {
    topology: topologyOf(kind, hosts, q),
    tls: scheme.tls || flags.tls,
    sentinelTls: (scheme.tls && kind === 'sentinel') || flags.sentinelTls,
    resp2: flags.resp2,
    query: q,
  };
  credentials(url, out);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') out.db = dbNumber(path, address);
  return out;
}

/**
 * `unix://[[user]:password@]/path/to.sock[?db=N&...]`, read by hand: WHATWG URLs have no
 * credentials without a host, and Centrifugo's form puts them right before the path.
 */
function parseUnixAddress(address: string): ParsedAddress {
  const rest = address.slice('unix://'.length);
  const qAt = rest.indexOf('?');
  const main = qAt < 0 ? rest : rest.slice(0, qAt);
  const q = new URLSearchParams(qAt < 0 ? '' : rest.slice(qAt + 1));
  const at = main.lastIndexOf('@');
  const path = decodeURIComponent(main.slice(at + 1));
  if (!path.startsWith('/') || path === '/') throw new RedisAddressError(`"${redact(address)}" has no socket path (unix:///path/to/redis.sock)`);
  const out: ParsedAddress = { topology: { kind: 'standalone', address: { path } }, ...queryFlags(q), query: q };
  if (at >= 0) {
    const creds = main.slice(0, at);
    const colon = creds.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? creds : creds.slice(0, colon));
    if (user !== '') out.user = user;
    if (colon >= 0) out.password = decodeURIComponent(creds.slice(colon + 1));
  }
  const db = q.get('db');
  if (db !== null) out.db = dbNumber(db, address);
  return out;
}

function queryFlags(q: URLSearchParams): Pick<ParsedAddress, 'tls' | 'sentinelTls' | 'resp2'> {
  return { tls: flag(q, 'tls_enabled'), sentinelTls: flag(q, 'sentinel_tls_enabled'), resp2: flag(q, 'force_resp2') };
}

function credentials(url: URL, out: ParsedAddress): void {
  if (url.username !== '') out.user = decodeURIComponent(url.username);
  if (url.password !== '') out.password = decodeURIComponent(url.password);
}

function dbNumber(text: string, address: string): number {
  const db = Number(text);
  if (text === '' || !Number.isInteger(db) || db < 0) throw new RedisAddressError(`"${redact(address)}": the database must be a number, got "${text}"`);
  return db;
}

/** A boolean query option, false when absent; Go's strconv.ParseBool spellings. */
function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(v)) return false;
  throw new RedisAddressError(`option ${name}: "${v}" is not a boolean`);
}

function topologyOf(kind: RedisTopology['kind'], hosts: HostPort[], q: URLSearchParams): RedisTopology {
  if (kind === 'cluster') return { kind, nodes: hosts };
  if (kind === 'sentinel') {
    const topology: RedisTopology = { kind, sentinels: hosts, masterName: q.get('sentinel_master_name') ?? '' };
    const user = q.get('sentinel_user');
    const password = q.get('sentinel_password');
    if (user !== null && user !== '') topology.sentinelUser = user;
    if (password !== null && password !== '') topology.sentinelPassword = password;
    return topology;
  }
  if (hosts.length > 1) throw new RedisAddressError('several hosts in one redis:// address; list each shard as its own address, or use redis+cluster:// or redis+sentinel://');
  return { kind, address: hosts[0] as HostPort };
}

/** `host:port`, `[v6]:port` or `host` (default port). */
export function hostPort(text: string, defaultPort: number): HostPort {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text.trim());
  if (m === null) throw new RedisAddressError(`"${text}" is not host:port`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new RedisAddressError(`"${text}": port out of range`);
  return { host: unbracket(m[1] as string), port };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The address with any password replaced, for messages: secrets never reach logs. */
export function redact(address: string): string {
  return address.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/(password=)[^&]*/g, '$1***');
}
