/**
 * A PUB/SUB connection that goes silent with its socket open (issue #17 item 4, centrifugo#1189):
 * Redis behind a TCP proxy that holds the connection (both sockets open, nothing passes either
 * way) while the command connection keeps working. The shard's health names the connection, the
 * shard replaces it with a new one holding the same channels, and delivery and health come back
 * by themselves.
 *
 * - Sentinel: the client keeps its PUB/SUB connection private and a PING would reach the master's
 *   command connection, so delivery probes (engine/redis/delivery-probe.ts) find it. Without them
 *   health stayed 200 with the connection held.
 * - One server: the PING on the PUB/SUB connection finds it.
 * - A healthy 3-master Cluster, classic and sharded: the probes come back and never reach the
 *   shard's message listener; sharded, there is one probe on each master.
 * - Sharded PUB/SUB on a 3-master Cluster whose masters announce TCP proxies as their addresses:
 *   one master's PUB/SUB link is held; the probe through it names that master, the client is
 *   replaced, and every master delivers again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisShard, type ShardEvents } from '../../src/engine/redis/shard.js';
import type { RedisShardOptions } from '../../src/engine/redis/options.js';
import { CLUSTER_SLOTS, SENTINEL_MASTER_NAME, keySlot, startCluster, startRedis, stopAll, uniquePrefix, type RedisCluster, type RedisServer } from '../helpers/redis-servers.js';
import { pollUntil } from '../helpers/service-process.js';
import { redisBrokerOptions, redisUrl } from '../contract/redis-engines.js';
import { startTcpProxy, type ProxiedConnection, type TcpProxy } from '../helpers/tcp-proxy.js';

const IO_TIMEOUT_MS = 1000;

interface Heard {
  events: ShardEvents;
  messages: string[];
  warnings: string[];
  resubscribed: string[];
  /** PUB/SUB failures the shard reported (`pubSubFailed`). */
  failures: number;
}

function listen(): Heard {
  const h: Heard = { messages: [], warnings: [], resubscribed: [], failures: 0, events: { message() {}, resubscribed() {}, warn() {}, info() {}, pubSubFailed() {} } };
  h.events = {
    message: (channel, payload) => h.messages.push(`${channel}:${payload.toString()}`),
    resubscribed: (connection, channels) => h.resubscribed.push(`${connection}:${channels}`),
    warn: (m) => h.warnings.push(m),
    info() {},
    pubSubFailed: () => h.failures++,
  };
  return h;
}

/** A standalone shard's options for Redis reached through `proxy`. */
function viaProxy(proxy: TcpProxy): RedisShardOptions {
  return { topology: { kind: 'standalone', address: { host: '127.0.0.1', port: proxy.port } }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS };
}

/** The open proxied connection whose client subscribed `channel` in a command of its own. */
function linkThatSubscribed(proxy: TcpProxy, channel: string): ProxiedConnection {
  const pattern = new RegExp(`\\r\\nsubscribe\\r\\n\\$${channel.length}\\r\\n${channel}\\r\\n`, 'i');
  const links = proxy.connections.filter((c) => !c.closed() && pattern.test(c.clientBytes()));
  assert.equal(links.length, 1, `one proxied connection subscribed ${channel}`);
  return links[0]!;
}

/** Redis on a free port behind a TCP proxy, for the tests of the enclosing describe. */
function proxiedRedis(label: string): { redis: () => RedisServer; proxy: () => TcpProxy } {
  let redis: RedisServer | undefined;
  let proxy: TcpProxy | undefined;
  before(async () => {
    redis = await startRedis({ label });
    proxy = await startTcpProxy(redis);
  });
  after(async () => {
    await proxy?.close();
    await redis?.stop();
  });
  return { redis: () => redis!, proxy: () => proxy! };
}

/**
 * Subscribes two channels, holds the proxied connection that subscribed them, and checks the
 * shard reports it (`reason`), replaces it, and delivers again on both channels.
 */
async function holdAndReplace(proxy: TcpProxy, opts: RedisShardOptions, reason: RegExp, waitFirst: (s: RedisShard) => Promise<boolean>): Promise<void> {
  const h = listen();
  const prefix = uniquePrefix('probe');
  const shard = await RedisShard.open(opts, false, h.events, true, prefix);
  try {
    await shard.subscribe('a');
    await shard.subscribe('b');
    await pollUntil(() => waitFirst(shard), 'the PUB/SUB connection to be checked', { intervalMs: 50 });
    assert.deepEqual(shard.health(), { ok: true });
    assert.deepEqual(h.warnings, [], 'a healthy connection gives no warning');
    assert.equal(h.failures, 0);

    const link = linkThatSubscribed(proxy, 'b');
    link.hold();

    await pollUntil(async () => !shard.health().ok, 'health to turn bad while the PUB/SUB connection is held', { timeoutMs: 15_000, intervalMs: 20 });
    const bad = shard.health();
    assert.match(bad.reason ?? '', reason);
    assert.doesNotMatch(bad.reason ?? '', /commands/, 'the command connection is not held');
    // Accepted through the command connection, but it cannot arrive through the held one, and
    // the new connection subscribes after it: PUB/SUB is at most once.
    await shard.publish('a', Buffer.from('while-held'));

    await pollUntil(async () => link.closed() && shard.health().ok, 'the held connection to be replaced and health to come back', { timeoutMs: 15_000, intervalMs: 20 });
    assert.ok(h.warnings.some((w) => /pubsub connection silent for \d+ ms while Redis answers commands: replacing it \(2 channels\)$/.test(w)), h.warnings.join('\n'));
    assert.deepEqual(h.resubscribed, ['pubsub:2']);
    assert.equal(h.failures, 1, 'one failure, counted when it began (centrifugo_broker_redis_pub_sub_errors{error="connection"})');
    assert.equal(shard.pubsubConnections, 1);
    for (const ch of ['a', 'b']) await shard.publish(ch, Buffer.from('after'));
    await pollUntil(async () => h.messages.length >= 2, 'publications after the replacement to arrive', { intervalMs: 20 });
    assert.deepEqual(h.messages.sort(), ['a:after', 'b:after']);
    assert.deepEqual(shard.health(), { ok: true });
  } finally {
    await shard.close();
  }
}

describe('a PUB/SUB connection held silent by a proxy', () => {
  let master: RedisServer;
  let sentinel: RedisServer;
  let proxy: TcpProxy;

  before(async () => {
    master = await startRedis({ label: 'probe-master' });
    proxy = await startTcpProxy(master);
    // The Sentinel knows the master by the proxy's address, so clients that ask it go through the proxy.
    sentinel = await startRedis({ label: 'probe-sentinel', sentinel: true, config: [`sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${proxy.port} 1`, `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 60000`] });
  });

  after(async () => {
    await proxy?.close();
    await stopAll([sentinel, master].filter((s) => s !== undefined));
  });

  test('Sentinel: a delivery probe finds it, health names it, the shard replaces it and delivers again', async () => {
    await holdAndReplace(
      proxy,
      { topology: { kind: 'sentinel', sentinels: [{ host: sentinel.host, port: sentinel.port }], masterName: SENTINEL_MASTER_NAME }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS },
      /^redis sentinel mymaster \(127\.0\.0\.1:\d+\): pubsub no delivery probe came back within io_timeout \(1000 ms\)$/,
      async (s) => s.probeRoundTrips >= 2,
    );
  });

  test('Sentinel: a command to a stalled master fails at io_timeout, not at the Sentinel client\'s own 5 s default', async () => {
    const shard = await RedisShard.open(
      { topology: { kind: 'sentinel', sentinels: [{ host: sentinel.host, port: sentinel.port }], masterName: SENTINEL_MASTER_NAME }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS },
      false,
      listen().events,
      false,
    );
    try {
      await shard.del('stall-me');
      await master.pause();
      await assert.rejects(shard.del('stall-me'), new RegExp(`timed out after ${IO_TIMEOUT_MS}ms`));
    } finally {
      await master.resume();
      await shard.close();
    }
  });

  test('Sentinel: sentinel_client_name names the connections to the Sentinel, client_name those to the master', async () => {
    const shard = await RedisShard.open(
      { topology: { kind: 'sentinel', sentinels: [{ host: sentinel.host, port: sentinel.port }], masterName: SENTINEL_MASTER_NAME, sentinelClientName: 'rotor-to-sentinel' }, clientName: 'rotor-to-master', db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS },
      false,
      listen().events,
    );
    try {
      const names = async (s: RedisServer): Promise<string[]> => [...(await s.cli('CLIENT', 'LIST')).matchAll(/ name=(\S*)/g)].map((m) => m[1]!).filter((n) => n.startsWith('rotor-'));
      const onSentinel = await names(sentinel);
      assert.ok(onSentinel.length > 0 && onSentinel.every((n) => n === 'rotor-to-sentinel'), onSentinel.join(', '));
      const onMaster = await names(master);
      assert.ok(onMaster.length > 0 && onMaster.every((n) => n === 'rotor-to-master'), onMaster.join(', '));
    } finally {
      await shard.close();
    }
  });

  test('one server: its PING finds it, health names it, the shard replaces it and delivers again', async () => {
    await holdAndReplace(
      proxy,
      viaProxy(proxy),
      /^redis 127\.0\.0\.1:\d+: pubsub no reply within io_timeout \(1000 ms\)/,
      async () => true,
    );
  });
});

describe('one server behind a proxy: replacements and the calls made meanwhile', () => {
  const servers = proxiedRedis('probe-replace');

  test('calls made while a silent connection is replaced: each ends subscribed once or not at all, on the one connection, and every call resolves', async () => {
    const [redis, proxy] = [servers.redis(), servers.proxy()];
    const h = listen();
    const shard = await RedisShard.open(viaProxy(proxy), false, h.events);
    try {
      for (const ch of ['r-a', 'r-b', 'r-c']) await shard.subscribe(ch);
      const old = linkThatSubscribed(proxy, 'r-c');
      // The replacement's SUBSCRIBE of the three is held on its way, so the calls below come
      // while it is under way: after the new connection connected, before Redis confirmed.
      const replacement = proxy.holdOn(/subscribe\r\n\$3\r\nr-a\r\n\$3\r\nr-b\r\n\$3\r\nr-c\r\n/i);
      old.hold();
      const fresh = await replacement;
      const calls = [shard.unsubscribe('r-b'), shard.subscribe('r-d'), shard.unsubscribe('r-c'), shard.subscribe('r-c')];
      fresh.release();
      await Promise.all(calls);
      await pollUntil(async () => old.closed(), 'the silent connection to be closed', { intervalMs: 20 });

      const numsub = await redis.command(['PUBSUB', 'NUMSUB', 'r-a', 'r-b', 'r-c', 'r-d']);
      assert.deepEqual(numsub, ['r-a', 1, 'r-b', 0, 'r-c', 1, 'r-d', 1]);
      assert.equal(shard.pubsubConnections, 1, 'no connection was opened for r-d: it waited for the replacement');
      for (const ch of ['r-a', 'r-b', 'r-c', 'r-d']) await shard.publish(ch, Buffer.from('x'));
      await pollUntil(async () => h.messages.length >= 3, 'the publications to arrive', { intervalMs: 20 });
      assert.deepEqual(h.messages.sort(), ['r-a:x', 'r-c:x', 'r-d:x']);
      assert.deepEqual(shard.health(), { ok: true });
    } finally {
      await shard.close();
    }
  });

  test('a replacement that fails leaves the silent connection in place, is tried again after a backoff; a call made meanwhile fails at io_timeout and the replacement leaves its channel out', async () => {
    const [redis, proxy] = [servers.redis(), servers.proxy()];
    const h = listen();
    const shard = await RedisShard.open(viaProxy(proxy), false, h.events);
    try {
      for (const ch of ['f-a', 'f-b']) await shard.subscribe(ch);
      const old = linkThatSubscribed(proxy, 'f-b');
      // The first replacement's SUBSCRIBE never gets through: it fails at its deadline.
      const first = proxy.holdOn(/subscribe\r\n\$3\r\nf-a\r\n\$3\r\nf-b\r\n/i);
      old.hold();
      await first;
      // Sent on the silent connection, left in place when the first replacement fails: it is not
      // confirmed within io_timeout, and the caller hears so then, not when a replacement succeeds.
      const unsubscribed = assert.rejects(shard.unsubscribe('f-b'), (err: Error) => err.name === 'NotConfirmedError' && /unsubscribing f-b: not confirmed within 1001 ms$/.test(err.message));
      // Awaited below; a wait that fails before then must not leave its outcome unhandled.
      unsubscribed.catch(() => {});
      await pollUntil(async () => h.warnings.some((w) => w.includes('replacing pubsub failed, it stays')), 'the first replacement to fail', { timeoutMs: 15_000, intervalMs: 20 });
      assert.equal(old.closed(), false, 'the silent connection stays while nothing replaces it');
      assert.equal(shard.health().ok, false);

      await pollUntil(async () => old.closed() && shard.health().ok, 'the second replacement to succeed', { timeoutMs: 15_000, intervalMs: 20 });
      await unsubscribed;
      assert.equal(h.warnings.filter((w) => /replacing it \(\d+ channels\)$/.test(w)).length, 2, h.warnings.join('\n'));
      assert.equal(h.failures, 1, 'one failure however many replacements it took');
      const numsub = await redis.command(['PUBSUB', 'NUMSUB', 'f-a', 'f-b']);
      assert.deepEqual(numsub, ['f-a', 1, 'f-b', 0]);
      await shard.subscribe('f-b');
      for (const ch of ['f-a', 'f-b']) await shard.publish(ch, Buffer.from('x'));
      await pollUntil(async () => h.messages.length >= 2, 'the publications to arrive', { intervalMs: 20 });
      assert.deepEqual(h.messages.sort(), ['f-a:x', 'f-b:x']);
      assert.equal(shard.pubsubConnections, 1);
    } finally {
      await shard.close();
    }
  });
});

describe('a 3-master Cluster', () => {
  let cluster: RedisCluster;

  before(async () => {
    cluster = await startCluster({ masters: 3 });
  });

  after(async () => {
    await cluster?.stop();
  });

  for (const sharded of [false, true]) {
    test(`delivery probes come back and health stays good (${sharded ? 'sharded' : 'classic'} PUB/SUB)`, async () => {
      const h = listen();
      const shard = await RedisShard.open({ topology: { kind: 'cluster', nodes: [...cluster.addresses] }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS }, sharded, h.events, true, uniquePrefix('probe-cluster'));
      try {
        await shard.subscribe('ch');
        await pollUntil(async () => shard.probeRoundTrips >= 3, 'three delivery probes to come back', { intervalMs: 50 });
        assert.deepEqual(shard.health(), { ok: true });
        await shard.publish('ch', Buffer.from('x'));
        await pollUntil(async () => h.messages.includes('ch:x'), 'a publication to arrive', { intervalMs: 20 });
        assert.deepEqual(h.messages, ['ch:x'], 'probes never reach the shard\'s message listener');
        assert.deepEqual(h.warnings, []);
        assert.equal(h.failures, 0);
        if (sharded) {
          // One probe channel on each master, subscribed there by this client alone.
          const probes = shard.probeTargets;
          assert.equal(probes.length, 3);
          const on = await Promise.all(probes.map(async (t) => (await cluster.nodeForKey(t.channel)).port));
          assert.deepEqual([...on].sort(), cluster.masters.map((m) => m.port).sort());
          for (const t of probes) assert.deepEqual(await (await cluster.nodeForKey(t.channel)).command(['PUBSUB', 'SHARDNUMSUB', t.channel]), [t.channel, 1]);
        }
      } finally {
        await shard.close();
      }
    });
  }
  test('a plain address of a Cluster node: the shard finds the Cluster and is named as one in its messages', async () => {
    const a = cluster.addresses[0]!;
    const shard = await RedisShard.open({ topology: { kind: 'standalone', address: { host: a.host, port: a.port } }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS }, false, listen().events, false);
    try {
      assert.equal(shard.cluster, true);
      assert.equal(shard.label, `redis cluster ${a.host}:${a.port}`);
    } finally {
      await shard.close();
    }
  });

  test('a command to a stalled master fails at io_timeout, not at the Cluster client\'s own 5 s default', async () => {
    const shard = await RedisShard.open({ topology: { kind: 'cluster', nodes: [...cluster.addresses] }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS }, false, listen().events, false);
    const key = 'stall-me';
    const owner = await cluster.nodeForKey(key);
    try {
      await shard.del(key);
      await owner.pause();
      // The message names the timeout that applied.
      await assert.rejects(shard.del(key), new RegExp(`timed out after ${IO_TIMEOUT_MS}ms`));
    } finally {
      await owner.resume();
      await shard.close();
    }
  });

  test('a broker whose shards are a plain server and this Cluster delivers the channels of each (each message read by its own shard\'s key rules)', async () => {
    const { RedisBroker } = await import('../../src/engine/redis/broker.js');
    const { shardIndex } = await import('../../src/engine/redis/hash.js');
    const a = cluster.addresses[0]!;
    const b = new RedisBroker(await redisBrokerOptions(uniquePrefix('mixed'), [redisUrl(), `redis+cluster://${a.host}:${a.port}`]));
    const got: string[] = [];
    await b.run({ handlePublication: (ch, pub) => void got.push(`${ch}=${Buffer.from(pub.data).toString()}`), handleJoin() {}, handleLeave() {}, handleControl: () => true }, uniquePrefix('node'));
    try {
      // The first channel names that land on the plain server (0) and on the Cluster (1).
      const names = [0, 1].map((i) => Array.from({ length: 100 }, (_, n) => `room-${n}`).find((ch) => shardIndex(ch, 2) === i)!);
      for (const ch of names) {
        await b.subscribe(ch);
        await b.publish(ch, Buffer.from('x'), {});
        await pollUntil(async () => got.includes(`${ch}=x`), `the publication on ${ch}`, { intervalMs: 20 });
      }
      assert.deepEqual(got, names.map((ch) => `${ch}=x`));
    } finally {
      await b.close();
    }
  });
});

describe('sharded PUB/SUB on a 3-master Cluster reached through proxies', () => {
  let cluster: RedisCluster;
  const proxies: TcpProxy[] = [];

  before(async () => {
    cluster = await startCluster({ masters: 3 });
    for (const m of cluster.masters) {
      const proxy = await startTcpProxy(m);
      proxies.push(proxy);
      // Clients learn the masters' addresses from the cluster: each gives its proxy's.
      await m.command(['CONFIG', 'SET', 'cluster-announce-port', String(proxy.port)]);
    }
    const proxied = new Set(proxies.map((p) => p.port));
    await pollUntil(
      async () => {
        for (const n of cluster.nodes) {
          const slots = (await n.command(['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number]]>;
          if (!slots.every((r) => proxied.has(Number(r[2][1])))) return false;
        }
        return true;
      },
      'every node to give the proxies as the masters\' addresses',
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  after(async () => {
    for (const p of proxies) await p.close();
    await cluster?.stop();
  });

  test('a probe overdue through one master names it; the client is replaced and every master delivers again', async () => {
    const h = listen();
    const opts: RedisShardOptions = { topology: { kind: 'cluster', nodes: proxies.map((p) => ({ host: '127.0.0.1', port: p.port })) }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: IO_TIMEOUT_MS };
    const shard = await RedisShard.open(opts, true, h.events, true, uniquePrefix('probe-sharded'));
    try {
      // A channel on each master. (startCluster gives master i the slots from ⌊i·16384/3⌋ on; the
      // cluster's own answers name the proxies now, which nodeForKey cannot map back.)
      const masterOf = (key: string): number => [1, 2, 3].findIndex((i) => keySlot(key) < Math.floor((i * CLUSTER_SLOTS) / 3));
      const channels = [0, 1, 2].map((i) => {
        let k = 0;
        while (masterOf(`ch{${k}}`) !== i) k++;
        return `ch{${k}}`;
      });
      for (const ch of channels) await shard.subscribe(ch);
      const probes = shard.probeTargets;
      assert.deepEqual(probes.map((t) => t.via).sort(), proxies.map((p) => `127.0.0.1:${p.port}`).sort(), 'one probe through each master, as the cluster announces it');
      await pollUntil(async () => shard.probeRoundTrips >= 6, 'probes to come back through every master', { intervalMs: 50 });
      assert.deepEqual(shard.health(), { ok: true });

      const victim = proxies[1]!;
      const via = `127.0.0.1:${victim.port}`;
      const probe = probes.find((t) => t.via === via)!.channel;
      const pattern = new RegExp(`ssubscribe\\r\\n\\$${probe.length}\\r\\n${probe.replace(/[.{}]/g, '\\$&')}\\r\\n`, 'i');
      const links = victim.connections.filter((c) => !c.closed() && pattern.test(c.clientBytes()));
      assert.equal(links.length, 1, 'one link to that master carries the probe\'s SSUBSCRIBE');
      links[0]!.hold();

      await pollUntil(async () => !shard.health().ok, 'health to turn bad', { timeoutMs: 15_000, intervalMs: 20 });
      assert.match(shard.health().reason ?? '', new RegExp(`: pubsub no delivery probe through master ${via.replace(/\./g, '\\.')} came back within io_timeout \\(1000 ms\\)$`));
      await pollUntil(async () => links[0]!.closed() && shard.health().ok, 'the client to be replaced and health to come back', { timeoutMs: 15_000, intervalMs: 20 });
      assert.ok(h.warnings.some((w) => /pubsub connection silent for \d+ ms while Redis answers commands: replacing it \(3 channels\)$/.test(w)), h.warnings.join('\n'));
      assert.equal(h.failures, 1);
      assert.equal(shard.probeTargets.length, 3, 'the new client probes every master');
      for (const ch of channels) await shard.publish(ch, Buffer.from('after'));
      await pollUntil(async () => h.messages.length >= 3, 'a publication on each master to arrive', { intervalMs: 20 });
      assert.deepEqual(h.messages.sort(), channels.map((ch) => `${ch}:after`).sort());
    } finally {
      await shard.close();
    }
  });
});
