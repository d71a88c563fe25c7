/**
 * Real Redis for tests: the entry point of the Redis helpers.
 *
 * - startRedis(opts?) / startShards(n) / stopAll(servers): standalone servers (redis-process.ts)
 * - startSentinelSetup(opts?): master + replica + Sentinels on `mymaster` (redis-sentinel.ts)
 * - startCluster({ masters, replicas }): a Redis Cluster (redis-cluster.ts)
 * - uniquePrefix(label) / deleteKeys(url, prefix): key isolation on a shared server (here)
 *
 * Every server runs in its own temp directory on a free port of 127.0.0.1 and is killed when the
 * test process ends, whatever happens (service-process.ts). The shared server of a run (a real
 * Redis on 6379 or the runner's private one) is named by services.ts.
 */
import { randomBytes } from 'node:crypto';
import { RespConnection, type RespAddress } from './resp.js';

export { startRedis, startShards, stopAll, redisServerBinary, type RedisOptions, type RedisServer } from './redis-process.js';
export { startSentinelSetup, SENTINEL_MASTER_NAME, type SentinelOptions, type SentinelSetup } from './redis-sentinel.js';
export { startCluster, keySlot, CLUSTER_SLOTS, type ClusterOptions, type RedisCluster } from './redis-cluster.js';
export { RespConnection, RespError, respCommand, respPing, respInfo, replyText, type RespAddress, type RespArg, type RespValue } from './resp.js';

/**
 * A key prefix no other test uses: `rotor-test-<label>-<8 hex>` (label reduced to letters, digits,
 * `_` and `-`). No separator at the end: the engine adds its own.
 */
export function uniquePrefix(label: string): string {
  return `rotor-test-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomBytes(4).toString('hex')}`;
}

/** `prefix` as a SCAN MATCH pattern matching every key that starts with it. */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** Opens `redis://[user:password@]host:port[/db]`, authenticated and on its database. */
async function openUrl(url: string): Promise<RespConnection> {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new Error(`deleteKeys: only redis:// URLs are supported, got ${url}`);
  const c = await RespConnection.open({ host: u.hostname === '' ? '127.0.0.1' : u.hostname, port: Number(u.port === '' ? 6379 : u.port) });
  try {
    if (u.password !== '') await c.call(u.username === '' ? ['AUTH', decodeURIComponent(u.password)] : ['AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password)]);
    const db = u.pathname.replace(/^\//, '');
    if (db !== '' && db !== '0') await c.call(['SELECT', db]);
    return c;
  } catch (e) {
    c.close();
    throw e;
  }
}

/** SCANs one server and deletes what matches, one DEL per key (cluster-safe); returns how many went. */
async function deleteOn(c: RespConnection, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const reply = await c.call(['SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000]);
    if (!Array.isArray(reply) || !Array.isArray(reply[1])) throw new Error(`deleteKeys: unexpected SCAN reply ${JSON.stringify(reply)}`);
    cursor = String(reply[0]);
    const counts = await Promise.all(reply[1].map((k) => c.call(['DEL', String(k)])));
    deleted += counts.reduce<number>((a, n) => a + Number(n), 0);
  } while (cursor !== '0');
  return deleted;
}

/**
 * Deletes every key starting with `prefix` on the server at `url`; on a cluster node, on every
 * master of its cluster. Resolves with how many keys it deleted.
 */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteKeys: refusing an empty prefix (it would delete every key)');
  const pattern = prefixPattern(prefix);
  const c = await openUrl(url);
  try {
    const info = String(await c.call(['INFO', 'cluster']));
    if (!/cluster_enabled:1/.test(info)) return await deleteOn(c, pattern);
    const masters: RespAddress[] = String(await c.call(['CLUSTER', 'NODES']))
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length > 2 && f[2]!.split(',').includes('master') && !f[2]!.includes('fail'))
      .map((f) => {
        const hp = (f[1] ?? '').split('@')[0] ?? '';
        const i = hp.lastIndexOf(':');
        return { host: hp.slice(0, i) === '' ? '127.0.0.1' : hp.slice(0, i), port: Number(hp.slice(i + 1)) };
      });
    let total = 0;
    for (const m of masters) {
      const u = new URL(url);
      u.hostname = m.host;
      u.port = String(m.port);
      u.pathname = '';
      const mc = await openUrl(u.toString());
      try {
        total += await deleteOn(mc, pattern);
      } finally {
        mc.close();
      }
    }
    return total;
  } finally {
    c.close();
  }
}
