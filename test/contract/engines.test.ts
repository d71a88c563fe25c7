/**
 * Runs the engine contracts against every engine, each case where the engine has the capability it
 * needs (see `Capability` in broker.contract.ts). Adding an engine is one entry in
 * {@link CONTRACT_ENGINES}: its capabilities, how to build a fresh, isolated broker (and presence
 * manager, with `presence`), and, for an engine that needs a server, why it cannot run here.
 * Implementations are imported inside the builders, so a run never loads an engine it skips.
 */
import { after, describe } from 'node:test';
import { brokerContract, type BrokerHarness, type Capability } from './broker.contract.js';
import { presenceContract, type PresenceHarness } from './presence.contract.js';
import { clusterContract, type ClusterHarness } from './cluster.contract.js';
import { deletePrefix, newRedisBroker, redisUrl, testPrefix } from './redis-engines.js';
import { redisPresenceHarness } from './redis-presence.js';

interface ContractEngine {
  name: string;
  capabilities: readonly Capability[];
  broker(): Promise<BrokerHarness>;
  /** Required with the `presence` capability. */
  presence?(): Promise<PresenceHarness>;
  /** More presence managers of the engine, each run through the presence contract too. */
  presenceVariants?: Record<string, () => Promise<PresenceHarness>>;
  /** `n` brokers of one cluster (several nodes), isolated from other tests. */
  cluster(n: number): Promise<ClusterHarness>;
  /** Why the engine cannot run in this environment (a server not configured), or undefined. */
  unavailable?(): string | undefined;
}

const CONTRACT_ENGINES: readonly ContractEngine[] = [
  {
    name: 'memory',
    capabilities: ['history', 'presence', 'joinLeave', 'idempotency'],
    // The clock is injected, so `advance` is instant and TTL cases do not sleep.
    async broker() {
      const { MemoryBroker } = await import('../../src/engine/memory/broker.js');
      let now = Date.now();
      const broker = new MemoryBroker({ now: () => now });
      return {
        broker,
        advance: async (ms) => {
          now += ms;
        },
        cleanup: () => broker.close(),
      };
    },
    async presence() {
      const { MemoryPresenceManager } = await import('../../src/engine/memory/presence.js');
      const presence = new MemoryPresenceManager();
      return { presence, cleanup: () => presence.close() };
    },
    // Nodes of one process on one memory bus.
    async cluster(n) {
      const { MemoryBus } = await import('../../src/engine/memory/broker.js');
      const bus = new MemoryBus();
      const brokers = Array.from({ length: n }, () => bus.engine().broker);
      return {
        brokers,
        cleanup: async () => {
          await Promise.all(brokers.map((b) => b.close()));
        },
      };
    },
  },
  {
    name: 'redis',
    capabilities: ['history', 'presence', 'joinLeave', 'idempotency'],
    // The shared Redis, a key prefix per harness, deleted at cleanup; `advance` sleeps.
    async broker() {
      const prefix = testPrefix('broker');
      const broker = await newRedisBroker(prefix);
      return {
        broker,
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        timeScale: REAL_TIME_SCALE,
        cleanup: async () => {
          await broker.close();
          await deletePrefix(redisUrl(), prefix);
        },
      };
    },
    presence: () => redisPresenceHarness(),
    presenceVariants: { 'redis with user mapping': () => redisPresenceHarness({ userMapping: true }) },
    async cluster(n) {
      const prefix = testPrefix('cluster');
      const brokers = await Promise.all(Array.from({ length: n }, () => newRedisBroker(prefix)));
      return {
        brokers,
        cleanup: async () => {
          await Promise.all(brokers.map((b) => b.close()));
          await deletePrefix(redisUrl(), prefix);
        },
      };
    },
  },
  // Channels spread over two Redis servers, and a Redis Cluster with and without sharded PUB/SUB:
  // the same contract through the shard hash, hash-tagged keys and SSUBSCRIBE/SPUBLISH.
  ...redisTopologies(),
  {
    name: 'nats',
    // NATS keeps nothing: no history, no idempotency; presence is another engine's job.
    capabilities: ['joinLeave'],
    // Real time: `advance` sleeps (no case NATS runs needs it).
    async broker() {
      const broker = await natsBroker(uniqueNatsPrefix());
      return {
        broker,
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        cleanup: () => broker.close(),
      };
    },
    // n nodes on one prefix, unique to the call.
    async cluster(n) {
      const prefix = uniqueNatsPrefix();
      const brokers = await Promise.all(Array.from({ length: n }, () => natsBroker(prefix)));
      return {
        brokers,
        cleanup: async () => {
          await Promise.all(brokers.map((b) => b.close()));
        },
      };
    },
  },
];

/**
 * TTL cases on a real-time engine run 5 times slower than written: 500 ms TTLs with 250 ms on
 * either side of each wait, which a loaded CI machine's scheduling does not eat up.
 */
const REAL_TIME_SCALE = 5;

/** Redis servers started for the contract run (two shards, a three-master cluster), stopped at the end. */
function redisTopologies(): ContractEngine[] {
  let servers: Promise<{ shards: string[]; cluster: string[]; stop(): Promise<void> }> | undefined;
  // At file level, so the servers outlive the test that happened to start them.
  after(async () => {
    await (await servers)?.stop();
  });
  const started = (): Promise<{ shards: string[]; cluster: string[] }> =>
    (servers ??= (async () => {
      const { startShards, startCluster } = await import('../helpers/redis-servers.js');
      const shards = await startShards(2);
      const cluster = await startCluster({ masters: 3 });
      const [first, ...rest] = cluster.addresses.map((a) => `${a.host}:${a.port}`);
      return {
        shards: shards.map((s) => s.url),
        cluster: [`redis+cluster://${first}?${rest.map((a) => `addr=${a}`).join('&')}`],
        stop: async () => void (await Promise.all([...shards.map((s) => s.stop()), cluster.stop()])),
      };
    })());
  const entry = (name: string, urls: () => Promise<string[]>, sharded: boolean): ContractEngine => ({
    name,
    capabilities: ['history', 'joinLeave', 'idempotency'],
    async broker() {
      const prefix = testPrefix('topo');
      const broker = await newRedisBroker(prefix, await urls(), sharded);
      return { broker, advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), timeScale: REAL_TIME_SCALE, cleanup: () => broker.close() };
    },
    async cluster(n) {
      const prefix = testPrefix('topo');
      const u = await urls();
      const brokers = await Promise.all(Array.from({ length: n }, () => newRedisBroker(prefix, u, sharded)));
      return { brokers, cleanup: async () => void (await Promise.all(brokers.map((b) => b.close()))) };
    },
  });
  return [
    entry('redis, two shards', async () => (await started()).shards, false),
    entry('redis cluster', async () => (await started()).cluster, false),
    entry('redis cluster, sharded PUB/SUB', async () => (await started()).cluster, true),
  ];
}

const NATS_URL = process.env.ROTOR_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
let natsPrefixes = 0;

/** A subject prefix no other test (or run) uses. */
function uniqueNatsPrefix(): string {
  return `rotor-contract-${process.pid}-${Date.now().toString(36)}-${++natsPrefixes}`;
}

async function natsBroker(prefix: string): Promise<import('../../src/engine/nats/broker.js').NatsBroker> {
  const { NatsBroker } = await import('../../src/engine/nats/broker.js');
  const { natsBrokerOptions } = await import('../../src/engine/nats/options.js');
  return new NatsBroker(natsBrokerOptions({ url: NATS_URL, prefix }));
}

for (const engine of CONTRACT_ENGINES) {
  const why = engine.unavailable?.();
  if (why !== undefined) {
    describe(`engine contracts: ${engine.name}`, { skip: why }, () => {});
    continue;
  }
  brokerContract(engine.name, engine.capabilities, () => engine.broker());
  clusterContract(engine.name, engine.capabilities, (n) => engine.cluster(n));
  if (engine.capabilities.includes('presence')) {
    const make = engine.presence;
    if (make === undefined) throw new Error(`${engine.name} declares presence but gives no presence() builder`);
    presenceContract(engine.name, () => make());
    for (const [name, variant] of Object.entries(engine.presenceVariants ?? {})) presenceContract(name, variant);
  }
}
