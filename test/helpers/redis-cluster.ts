/**
 * A real Redis Cluster for tests, built by hand (as `redis-cli --cluster create` would, but
 * without its prompts and with the bus ports it cannot name): each master gets an equal run of the
 * 16384 slots and a distinct config epoch, the nodes meet, replicas attach, and the start resolves
 * once every node reports `cluster_state:ok`. Import from redis-servers.ts.
 */
import { spawnSync } from 'node:child_process';
import { redisServerBinary, startRedis, stopAll, type RedisServer } from './redis-process.js';
import { RespError, respCommand, respInfo, type RespAddress, type RespArg, type RespValue } from './resp.js';
import { pollUntil } from './service-process.js';
import { keySlot, CLUSTER_SLOTS } from '../../src/engine/redis/slot.js';

export interface ClusterOptions {
  /** Masters, each with an equal share of the slots; default 3. */
  masters?: number;
  /** Replicas per master; default 0. */
  replicas?: number;
}

export interface RedisCluster {
  /** Masters first (in slot order), then replicas (those of master 0 first). */
  readonly nodes: readonly RedisServer[];
  readonly masters: readonly RedisServer[];
  readonly replicas: readonly RedisServer[];
  /** `{ host, port }` of every node, as ioredis's Cluster takes its startup nodes. */
  readonly addresses: readonly RespAddress[];
  /** `redis://127.0.0.1:PORT` of every node. */
  readonly urls: readonly string[];
  /** The node serving `key`'s slot now (`CLUSTER KEYSLOT` and `CLUSTER SLOTS` of a running node). */
  nodeForKey(key: string): Promise<RedisServer>;
  /** One command sent to a running node, following MOVED redirections (at most 5). */
  command(args: readonly RespArg[]): Promise<RespValue>;
  /** Stops every node. */
  stop(): Promise<void>;
}

/** The slot of `key` and the slot count: the engine's own (src/engine/redis/slot.ts). */
export { keySlot, CLUSTER_SLOTS };

/** `cluster-port` (a bus port that is not port + 10000) came with Redis 7. */
function requireRedis7(): void {
  const r = spawnSync(redisServerBinary(), ['--version'], { encoding: 'utf8' });
  const major = Number(/v=(\d+)\./.exec(r.stdout ?? '')?.[1] ?? 0);
  if (major < 7) throw new Error(`startCluster needs redis-server 7 or later (for cluster-port); found: ${(r.stdout ?? '').trim() || 'no version'}`);
}

function clusterNodes(text: RespValue): { id: string; port: number; flags: string[]; masterId: string }[] {
  return String(text)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', addr = '', flags = '', masterId = ''] = l.split(' ');
      return { id, port: Number(/:(\d+)/.exec(addr)?.[1] ?? 0), flags: flags.split(','), masterId };
    });
}

async function clusterInfo(node: RedisServer): Promise<Map<string, string>> {
  const text = String(await node.command(['CLUSTER', 'INFO'], 1000));
  return new Map(text.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

/** Starts the nodes, assigns slots, joins them, attaches replicas, waits for `cluster_state:ok` everywhere. */
export async function startCluster(opts: ClusterOptions = {}): Promise<RedisCluster> {
  const m = opts.masters ?? 3;
  const r = opts.replicas ?? 0;
  if (m < 1 || r < 0) throw new Error(`startCluster: masters must be >= 1 and replicas >= 0 (got ${m}, ${r})`);
  requireRedis7();
  const started = await Promise.allSettled(Array.from({ length: m * (1 + r) }, (_, i) => startRedis({ cluster: true, label: i < m ? `cluster-m${i}` : `cluster-r${i - m}` })));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  try {
    if (failed !== undefined) throw failed.reason;
    const masters = nodes.slice(0, m);
    const replicas = nodes.slice(m);
    // A distinct epoch per node, as redis-cli sets them, so no epoch collision has to be resolved.
    for (const [i, n] of nodes.entries()) await n.command(['CLUSTER', 'SET-CONFIG-EPOCH', i + 1]);
    for (const [i, n] of masters.entries()) {
      const from = Math.floor((i * CLUSTER_SLOTS) / m);
      const to = Math.floor(((i + 1) * CLUSTER_SLOTS) / m);
      await n.command(['CLUSTER', 'ADDSLOTS', ...Array.from({ length: to - from }, (_, k) => from + k)]);
    }
    for (const n of nodes.slice(1)) await nodes[0]!.command(['CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort!]);
    await pollUntil(async () => {
      for (const n of nodes) {
        const known = clusterNodes(await n.command(['CLUSTER', 'NODES'], 1000));
        if (known.length !== nodes.length || known.some((k) => k.flags.includes('handshake') || k.flags.includes('noaddr'))) return false;
      }
      return true;
    }, `${nodes.length} cluster nodes to know each other`);
    const ids = await Promise.all(masters.map(async (n) => String(await n.command(['CLUSTER', 'MYID']))));
    for (const [j, n] of replicas.entries()) await n.command(['CLUSTER', 'REPLICATE', ids[Math.floor(j / r)]!]);
    await pollUntil(async () => {
      for (const n of nodes) {
        const info = await clusterInfo(n);
        if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== String(CLUSTER_SLOTS) || info.get('cluster_known_nodes') !== String(nodes.length)) return false;
        const view = clusterNodes(await n.command(['CLUSTER', 'NODES'], 1000));
        if (view.filter((v) => v.flags.includes('slave')).length !== replicas.length) return false;
      }
      for (const n of replicas) if ((await respInfo(n, 'replication', 1000)).get('master_link_status') !== 'up') return false;
      return true;
    }, 'cluster_state:ok on every node', { timeoutMs: 20000, intervalMs: 50 });
    return new Cluster(nodes, masters, replicas);
  } catch (e) {
    await stopAll(nodes);
    throw e;
  }
}

class Cluster implements RedisCluster {
  readonly addresses: readonly RespAddress[];
  readonly urls: readonly string[];

  constructor(
    readonly nodes: readonly RedisServer[],
    readonly masters: readonly RedisServer[],
    readonly replicas: readonly RedisServer[],
  ) {
    this.addresses = nodes.map((n) => ({ host: n.host, port: n.port }));
    this.urls = nodes.map((n) => n.url);
  }

  private anyRunning(): RedisServer {
    const n = this.nodes.find((x) => x.running);
    if (n === undefined) throw new Error('no cluster node is running');
    return n;
  }

  async nodeForKey(key: string): Promise<RedisServer> {
    const node = this.anyRunning();
    const slot = Number(await node.command(['CLUSTER', 'KEYSLOT', key]));
    const ranges = await node.command(['CLUSTER', 'SLOTS']);
    for (const range of Array.isArray(ranges) ? ranges : []) {
      if (!Array.isArray(range) || Number(range[0]) > slot || Number(range[1]) < slot) continue;
      const owner = range[2];
      const port = Array.isArray(owner) ? Number(owner[1]) : 0;
      const h = this.nodes.find((x) => x.port === port);
      if (h !== undefined) return h;
    }
    throw new Error(`no node of this cluster serves slot ${slot} (key ${JSON.stringify(key)})`);
  }

  async command(args: readonly RespArg[]): Promise<RespValue> {
    let address: RespAddress = this.anyRunning();
    for (let hop = 0; ; hop++) {
      try {
        return await respCommand({ host: address.host, port: address.port }, args);
      } catch (e) {
        if (!(e instanceof RespError) || e.kind !== 'MOVED' || hop >= 5) throw e;
        const [host = '', port = ''] = (e.message.split(' ')[2] ?? '').split(':');
        address = { host: host === '' ? '127.0.0.1' : host, port: Number(port) };
      }
    }
  }

  async stop(): Promise<void> {
    await stopAll(this.nodes);
  }
}
