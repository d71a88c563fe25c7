/**
 * A Redis Sentinel setup for tests: one master, one replica of it, and Sentinels monitoring it as
 * `mymaster` with short timeouts, all real processes. Import from redis-servers.ts.
 */
import { startRedis, stopAll, type RedisServer } from './redis-process.js';
import { respInfo, type RespAddress } from './resp.js';
import { pollUntil } from './service-process.js';

export const SENTINEL_MASTER_NAME = 'mymaster';

export interface SentinelOptions {
  /** How many Sentinels; default 1 (quorum 1), which is enough for forced failovers and fastest. */
  sentinels?: number;
  /** Sentinels that must agree the master is down; default a majority of `sentinels`. */
  quorum?: number;
  /** `sentinel down-after-milliseconds`; default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`; default 3000. */
  failoverTimeoutMs?: number;
}

export interface SentinelSetup {
  /** `mymaster` */
  readonly masterName: string;
  /** The server started as master (after a failover it may be a replica). */
  readonly master: RedisServer;
  /** The server started as its replica. */
  readonly replica: RedisServer;
  readonly sentinels: readonly RedisServer[];
  /** `{ host, port }` of each Sentinel, as ioredis's `sentinels` option takes them. */
  readonly sentinelAddresses: readonly RespAddress[];
  /** `SENTINEL get-master-addr-by-name mymaster`, asked of the first Sentinel that answers. */
  masterAddress(): Promise<RespAddress>;
  /** The handle (master or replica) whose port the Sentinels name as master now. */
  currentMaster(): Promise<RedisServer>;
  /**
   * `SENTINEL FAILOVER mymaster`, then waits until the master address has changed and the
   * failover is over; then, when the old master runs, makes it a replica of the new one and waits
   * until it has synced. Resolves with the new master's address. All within `timeoutMs` (default
   * 20 s). First waits until a Sentinel sees a healthy replica to promote: at once after
   * startSentinelSetup, but up to 10 s after a previous failover (Sentinel looks at a replica
   * every 10 s), else SENTINEL FAILOVER would fail with NOGOODSLAVE.
   */
  failover(timeoutMs?: number): Promise<RespAddress>;
  /**
   * Waits (default up to 20 s) until the Sentinels name a master other than `from`, no failover
   * is in progress and that server says it is master; resolves with its address. For failovers
   * the test causes itself, e.g. `await setup.master.kill()` (detected after
   * down-after-milliseconds).
   */
  waitMasterChanged(from: RespAddress, timeoutMs?: number): Promise<RespAddress>;
  /** Stops every process of the setup. */
  stop(): Promise<void>;
}

function addressOf(reply: unknown): RespAddress {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected get-master-addr-by-name reply ${JSON.stringify(reply)}`);
  return { host: String(reply[0]), port: Number(reply[1]) };
}

/** A reply of `SENTINEL master`/`SENTINEL replicas` entries (flat name, value, ... arrays) as maps. */
function fields(entry: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (Array.isArray(entry)) for (let i = 0; i + 1 < entry.length; i += 2) m.set(String(entry[i]), String(entry[i + 1]));
  return m;
}

/** The Sentinel lists a replica (the one on `port`, if given) with flags `slave` (nothing else) and link `ok`. */
async function replicaSeen(sentinel: RedisServer, port?: number): Promise<boolean> {
  const reply = await sentinel.command(['SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME], 1000);
  return (
    Array.isArray(reply) &&
    reply.some((r) => {
      const f = fields(r);
      return (port === undefined || f.get('port') === String(port)) && f.get('flags') === 'slave' && f.get('master-link-status') === 'ok';
    })
  );
}

/**
 * Starts the master, the replica (`replicaof`, waits until its link is up), then the Sentinels,
 * and waits until every Sentinel lists the replica as healthy, so a failover can start at once.
 */
export async function startSentinelSetup(opts: SentinelOptions = {}): Promise<SentinelSetup> {
  const count = opts.sentinels ?? 1;
  const quorum = opts.quorum ?? Math.floor(count / 2) + 1;
  const all: RedisServer[] = [];
  try {
    const master = await startRedis({ label: 'sentinel-master' });
    all.push(master);
    const replica = await startRedis({ label: 'sentinel-replica', config: [`replicaof 127.0.0.1 ${master.port}`] });
    all.push(replica);
    const replicaAddr = { host: replica.host, port: replica.port };
    await pollUntil(async () => (await respInfo(replicaAddr, 'replication', 1000)).get('master_link_status') === 'up', 'the replica to sync with its master');
    // After a diskless full sync Redis 7.0 streams nothing to the replica until its first
    // REPLCONF ACK (sent once a second), yet WAIT already counts it: a write then waits up to a
    // second on the master while WAIT says it is replicated, and a failover in that second loses
    // it. Ready means a write reaches the replica.
    await master.cli('SET', 'rotor-test-sentinel-probe', '1');
    await pollUntil(async () => (await replica.cli('GET', 'rotor-test-sentinel-probe')) === '1', 'the replica to receive writes (streaming after the full sync)', { intervalMs: 50 });
    await master.cli('DEL', 'rotor-test-sentinel-probe');
    const config = [
      `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${opts.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${opts.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
    ];
    const sentinels = await Promise.all(Array.from({ length: count }, (_, i) => startRedis({ label: `sentinel${i}`, sentinel: true, config })));
    all.push(...sentinels);
    // A Sentinel learns replicas from the master's INFO: it asks at once on connecting, then every 10 s.
    for (const s of sentinels) await pollUntil(() => replicaSeen(s, replica.port), `sentinel ${s.port} to see replica ${replica.port}`);
    return new Setup(master, replica, sentinels);
  } catch (e) {
    await stopAll(all);
    throw e;
  }
}

class Setup implements SentinelSetup {
  readonly masterName = SENTINEL_MASTER_NAME;
  readonly sentinelAddresses: readonly RespAddress[];

  constructor(
    readonly master: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: readonly RedisServer[],
  ) {
    this.sentinelAddresses = sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  private async askSentinel(args: string[]): Promise<unknown> {
    let last: unknown;
    for (const s of this.sentinels) {
      if (!s.running) continue;
      try {
        return await s.command(args, 2000);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no Sentinel is running');
  }

  async masterAddress(): Promise<RespAddress> {
    return addressOf(await this.askSentinel(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME]));
  }

  async currentMaster(): Promise<RedisServer> {
    const { port } = await this.masterAddress();
    const h = [this.master, this.replica].find((s) => s.port === port);
    if (h === undefined) throw new Error(`the Sentinels name 127.0.0.1:${port} as master, which is not in this setup`);
    return h;
  }

  async failover(timeoutMs = 20000): Promise<RespAddress> {
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    const before = await this.masterAddress();
    const first = this.sentinels.find((x) => x.running);
    if (first === undefined) throw new Error('no Sentinel is running');
    await pollUntil(() => replicaSeen(first), `sentinel ${first.port} to see a healthy replica to promote`, { timeoutMs: left(), intervalMs: 100 });
    await this.askSentinel(['SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME]);
    const after = await this.waitMasterChanged(before, left());
    const old = [this.master, this.replica].find((h) => h.port === before.port);
    if (old === undefined || !old.running) return after;
    // Sentinel turns the old master into a replica of the new one only after about 8 s: the
    // helper does it at once (what Sentinel will do anyway), so writes to the new master replicate.
    await old.command(['REPLICAOF', after.host, after.port]);
    await pollUntil(async () => {
      const info = await respInfo(old, 'replication', 1000);
      return info.get('master_port') === String(after.port) && info.get('master_link_status') === 'up';
    }, `${old.host}:${old.port} to sync with the new master ${after.host}:${after.port}`, { timeoutMs: left() });
    return after;
  }

  async waitMasterChanged(from: RespAddress, timeoutMs = 20000): Promise<RespAddress> {
    let now = from;
    await pollUntil(
      async () => {
        now = await this.masterAddress();
        if (now.port === from.port && now.host === from.host) return false;
        const flags = fields(await this.askSentinel(['SENTINEL', 'MASTER', SENTINEL_MASTER_NAME])).get('flags') ?? '';
        if (flags.includes('failover_in_progress')) return false;
        return (await respInfo(now, 'replication', 1000)).get('role') === 'master';
      },
      `the Sentinels to move ${SENTINEL_MASTER_NAME} away from ${from.host}:${from.port}`,
      { timeoutMs, intervalMs: 50 },
    );
    return now;
  }

  async stop(): Promise<void> {
    await stopAll([...this.sentinels, this.replica, this.master]);
  }
}
