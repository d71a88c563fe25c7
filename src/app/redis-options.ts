/**
 * The Redis engine's options from the config: `engine.redis`, `broker.redis` or
 * `presence_manager.redis`, whichever section chose Redis (app/engine.ts). Every error names the
 * config key it comes from, so `checkconfig` and a failed start point at the same line.
 *
 * Shards: each `cluster_address` entry is one Redis Cluster (seeds comma-separated), else each
 * `sentinel_address` entry is one Sentinel-managed master (sentinels comma-separated, master
 * `sentinel_master_name`), else each `address` entry is one shard. An address URL's own options
 * (user, password, db, `connect_timeout`, `io_timeout`, `client_name`, `sentinel_master_name`,
 * `tls_enabled`, `sentinel_tls_enabled`, `force_resp2`, ...) win over the section's fields for that
 * shard. No address at all means Centrifugo's default, `redis://127.0.0.1:6379`.
 *
 * Sentinel TLS: `sentinel_tls` with certificates of its own uses them; enabled without any, it
 * uses the `tls` object's, which is what Centrifugo v6 does with every `sentinel_tls` (so its
 * configs keep working).
 */
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import type { RedisBrokerOptions, RedisPresenceOptions, RedisShardOptions, RedisTopology } from '../engine/redis/options.js';
import { hostPort, parseRedisAddress, redact } from '../engine/redis/options.js';
import { clientTls } from './tls-options.js';

/** The connection fields every Redis section has. */
type RedisSection = Omit<Config['broker']['redis'], 'history_use_lists' | 'sharded_pub_sub' | 'wait_replicas'>;
type HostPorts = Array<{ host: string; port: number }>;

export function redisBrokerOptions(config: Readonly<Config>, section: 'engine' | 'broker'): RedisBrokerOptions {
  const r = config[section].redis;
  return {
    shards: redisShards(r, `${section}.redis`),
    prefix: r.prefix,
    historyMetaTtlMs: config.channel.history_meta_ttl,
    shardedPubSub: r.sharded_pub_sub,
    waitReplicas: r.wait_replicas,
  };
}

export function redisPresenceOptions(config: Readonly<Config>, section: 'engine' | 'presence_manager'): RedisPresenceOptions {
  const r = config[section].redis;
  return {
    shards: redisShards(r, `${section}.redis`),
    prefix: r.prefix,
    presenceTtlMs: r.presence_ttl,
    userMapping: r.presence_user_mapping,
  };
}

/** The shards a Redis section describes; throws an Error naming the key on a bad address. */
export function redisShards(r: RedisSection, path: string): RedisShardOptions[] {
  const tls = clientTls(r.tls, `${path}.tls`);
  const base = (): Omit<RedisShardOptions, 'topology'> => {
    const o: Omit<RedisShardOptions, 'topology'> = { db: r.db, connectTimeoutMs: r.connect_timeout, ioTimeoutMs: r.io_timeout };
    if (r.user !== '') o.user = r.user;
    if (r.password !== '') o.password = r.password;
    if (r.client_name !== '') o.clientName = r.client_name;
    if (tls !== undefined) o.tls = tls;
    if (r.force_resp2) o.resp2 = true;
    return o;
  };
  if (r.cluster_address.length > 0) {
    return r.cluster_address.map((entry, i) => ({
      ...base(),
      db: 0,
      topology: { kind: 'cluster', nodes: seeds(entry, 6379, `${path}.cluster_address[${i}]`) },
    }));
  }
  if (r.sentinel_address.length > 0) {
    if (r.sentinel_master_name === '') throw new Error(`${path}.sentinel_master_name: required with ${path}.sentinel_address`);
    return r.sentinel_address.map((entry, i) => ({
      ...base(),
      topology: sentinelTopology(r, seeds(entry, 26379, `${path}.sentinel_address[${i}]`), r.sentinel_master_name, path),
    }));
  }
  const addresses = r.address.length > 0 ? r.address : [DEFAULT_ADDRESS];
  return addresses.map((address, i) => fromUrl(r, address, base(), `${path}.address[${i}]`, path));
}

function fromUrl(r: RedisSection, address: string, base: Omit<RedisShardOptions, 'topology'>, key: string, path: string): RedisShardOptions {
  try {
    const parsed = parseRedisAddress(address);
    const q = parsed.query;
    const out: RedisShardOptions = { ...base, topology: parsed.topology };
    if (parsed.user !== undefined) out.user = parsed.user;
    if (parsed.password !== undefined) out.password = parsed.password;
    if (parsed.db !== undefined) out.db = parsed.db;
    // TLS asked for by the address (rediss://, tls_enabled) with the tls object's CA and
    // certificates, if it gives any, though its own `enabled` is off.
    if (parsed.tls && out.tls === undefined) out.tls = clientTls({ ...r.tls, enabled: true }, `${path}.tls`) ?? {};
    if (parsed.resp2) out.resp2 = true;
    const ct = q.get('connect_timeout');
    if (ct !== null) out.connectTimeoutMs = parseDuration(ct);
    const io = q.get('io_timeout');
    if (io !== null) out.ioTimeoutMs = parseDuration(io);
    const name = q.get('client_name');
    if (name !== null && name !== '') out.clientName = name;
    const t = parsed.topology;
    if (t.kind === 'sentinel') {
      const master = t.masterName !== '' ? t.masterName : r.sentinel_master_name;
      if (master === '') throw new Error(`needs sentinel_master_name (in the URL or ${path}.sentinel_master_name)`);
      const topology = sentinelTopology(r, t.sentinels, master, path);
      // The URL's sentinel credentials win over the section's.
      if (topology.kind === 'sentinel') {
        if (t.sentinelUser !== undefined) topology.sentinelUser = t.sentinelUser;
        if (t.sentinelPassword !== undefined) topology.sentinelPassword = t.sentinelPassword;
        if (parsed.sentinelTls && topology.sentinelTls === undefined) topology.sentinelTls = clientTls({ ...r.tls, enabled: true }, `${path}.tls`) ?? {};
      }
      out.topology = topology;
    }
    if (parsed.topology.kind === 'cluster') out.db = 0;
    return out;
  } catch (err) {
    throw new Error(`${key}: ${redact((err as Error).message)}`);
  }
}

function sentinelTopology(r: RedisSection, sentinels: HostPorts, masterName: string, path: string): RedisTopology {
  const t: RedisTopology = { kind: 'sentinel', sentinels, masterName };
  if (r.sentinel_user !== '') t.sentinelUser = r.sentinel_user;
  if (r.sentinel_password !== '') t.sentinelPassword = r.sentinel_password;
  if (r.sentinel_client_name !== '') t.sentinelClientName = r.sentinel_client_name;
  const s = r.sentinel_tls;
  const own = s.server_ca_pem !== '' || s.cert_pem !== '' || s.key_pem !== '' || s.server_name !== '' || s.insecure_skip_verify;
  const stls = own || !s.enabled ? clientTls(s, `${path}.sentinel_tls`) : clientTls({ ...r.tls, enabled: true }, `${path}.tls`);
  if (stls !== undefined) t.sentinelTls = stls;
  return t;
}

/** Centrifugo's `address` default, for a section that lists none. */
const DEFAULT_ADDRESS = 'redis://127.0.0.1:6379';

/** `host:port,host:port` (a scheme in front is allowed and ignored). */
function seeds(entry: string, defaultPort: number, key: string): HostPorts {
  try {
    return entry
      .split(',')
      .map((s) => s.trim().replace(/^[a-z+]+:\/\//, ''))
      .filter((s) => s !== '')
      .map((s) => hostPort(s, defaultPort));
  } catch (err) {
    throw new Error(`${key}: ${(err as Error).message}`);
  }
}
