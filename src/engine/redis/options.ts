/**
 * What the Redis engine needs to know, as plain data: app/ builds it from the config
 * (`engine.redis`, `broker.redis`, `presence_manager.redis`), so this layer never sees the config.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';

export interface HostPort {
  host: string;
  port: number;
}

/** How one shard is reached. */
export type RedisTopology =
  /** One server (or a Cluster, found out at connect time by asking the server). */
  | { kind: 'standalone'; address: HostPort }
  /** Ask these Sentinels for the master named `masterName`; follow failovers. */
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; sentinelUser?: string; sentinelPassword?: string; sentinelTls?: TlsOptions }
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
  tls: boolean;
  user?: string;
  password?: string;
  db?: number;
  /** Query options the URL carried (`connect_timeout`, `sentinel_master_name`, ...). */
  query: URLSearchParams;
}

const SCHEMES: Readonly<Record<string, { kind: RedisTopology['kind']; tls: boolean; port: number }>> = {
  'redis:': { kind: 'standalone', tls: false, port: 6379 },
  'rediss:': { kind: 'standalone', tls: true, port: 6379 },
  'redis+sentinel:': { kind: 'sentinel', tls: false, port: 26379 },
  'rediss+sentinel:': { kind: 'sentinel', tls: true, port: 26379 },
  'redis+cluster:': { kind: 'cluster', tls: false, port: 6379 },
  'rediss+cluster:': { kind: 'cluster', tls: true, port: 6379 },
};

/**
 * Parses one address: `redis://[user:password@]host[:port][/db][?options]`, `rediss://` (TLS),
 * `redis+sentinel://host:26379?sentinel_master_name=M&addr=host2:26380`, `redis+cluster://host:port?addr=host2:port`.
 * A bare `host:port` means `redis://host:port`. Extra hosts come from repeated `addr` options.
 */
export function parseRedisAddress(address: string): ParsedAddress {
  const text = address.includes('://') ? address : `redis://${address}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisAddressError(`"${address}" is not a Redis address (redis://host:port, rediss://, redis+sentinel://, redis+cluster://)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) throw new RedisAddressError(`"${url.protocol}" is not a Redis scheme; use redis://, rediss://, redis+sentinel:// or redis+cluster://`);
  if (url.hostname === '') throw new RedisAddressError(`"${redact(address)}" has no host`);
  const hosts: HostPort[] = [{ host: unbracket(url.hostname), port: url.port === '' ? scheme.port : Number(url.port) }];
  for (const extra of url.searchParams.getAll('addr')) hosts.push(hostPort(extra, scheme.port));
  const out: ParsedAddress = { topology: topologyOf(scheme.kind, hosts, url.searchParams), tls: scheme.tls, query: url.searchParams };
  if (url.username !== '') out.user = decodeURIComponent(url.username);
  if (url.password !== '') out.password = decodeURIComponent(url.password);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    const db = Number(path);
    if (!Number.isInteger(db) || db < 0) throw new RedisAddressError(`"${redact(address)}": the path must be a database number, got "${path}"`);
    out.db = db;
  }
  return out;
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
