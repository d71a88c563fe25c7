/**
 * Delivery probes (engine/redis/delivery-probe.ts, issue #17 item 4): a Sentinel or Cluster
 * shard's PUB/SUB connection that stops delivering makes the shard unhealthy, naming the
 * connection, and healthy again once delivery is back. A PING cannot tell: it goes to a command
 * connection. The Sentinel case puts the master behind a TCP proxy that holds the PUB/SUB
 * connection (both sockets stay open; nothing passes), while the command connection keeps working.
 * The Cluster cases show the probes come back on a healthy 3-master Cluster, classic and sharded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisShard, type ShardEvents } from '../../src/engine/redis/shard.js';
import { SENTINEL_MASTER_NAME, startCluster, startRedis, stopAll, uniquePrefix, type RedisCluster, type RedisServer } from '../helpers/redis-servers.js';
import { pollUntil } from '../helpers/service-process.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

interface Heard {
  events: ShardEvents;
  messages: string[];
  warnings: string[];
}

function listen(): Heard {
  const h: Heard = { messages: [], warnings: [], events: { message: () => {}, resubscribed() {}, warn: () => {} } };
  h.events = { message: (channel, payload) => h.messages.push(`${channel}:${payload.toString()}`), resubscribed() {}, warn: (m) => h.warnings.push(m) };
  return h;
}

describe('a Sentinel master behind a proxy that holds the PUB/SUB connection', () => {
  let master: RedisServer;
  let sentinel: RedisServer;
  let proxy: TcpProxy;
  let shard: RedisShard | undefined;
  const prefix = uniquePrefix('probe');

  before(async () => {
    master = await startRedis({ label: 'probe-master' });
    proxy = await startTcpProxy(master);
    // The Sentinel knows the master by the proxy's address, so clients that ask it go through the proxy.
    sentinel = await startRedis({ label: 'probe-sentinel', sentinel: true, config: [`sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${proxy.port} 1`, `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 60000`] });
  });

  after(async () => {
    await shard?.close();
    await proxy?.close();
    await stopAll([sentinel, master].filter((s) => s !== undefined));
  });

  test('health names the PUB/SUB connection while it delivers nothing, commands still work, and both come back', async () => {
    const h = listen();
    shard = await RedisShard.open(
      { topology: { kind: 'sentinel', sentinels: [{ host: sentinel.host, port: sentinel.port }], masterName: SENTINEL_MASTER_NAME }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 1000 },
      false,
      h.events,
      true,
      prefix,
    );
    const s = shard;
    await s.subscribe('ch');
    await pollUntil(async () => s.probeRoundTrips >= 2, 'two delivery probes to come back', { intervalMs: 50 });
    assert.deepEqual(s.health(), { ok: true });

    // The command connection publishes to the probe channel; the PUB/SUB one subscribed it.
    const pubsubLinks = proxy.connections.filter((c) => /\bsubscribe\b/i.test(c.clientBytes()) && c.clientBytes().includes(`${prefix}.probe.`));
    assert.equal(pubsubLinks.length, 1, 'one proxied connection subscribed the probe channel');
    const link = pubsubLinks[0];
    assert.ok(link !== undefined);
    link.hold();

    await pollUntil(async () => !s.health().ok, 'health to turn bad while the PUB/SUB connection is held', { timeoutMs: 15_000, intervalMs: 50 });
    const bad = s.health();
    assert.equal(bad.ok, false);
    assert.match(bad.reason ?? '', /^redis sentinel mymaster \(127\.0\.0\.1:\d+\): pubsub no delivery probe came back within io_timeout \(1000 ms\)$/);
    assert.ok(h.warnings.some((w) => w.endsWith('pubsub connection delivers nothing: no delivery probe came back within io_timeout (1000 ms)')), h.warnings.join('\n'));
    // The command connection is not held: a publication is accepted, but it cannot arrive.
    await s.publish('ch', Buffer.from('while-held'));
    assert.equal(h.messages.length, 0);
    const stillBad = s.health();
    assert.doesNotMatch(stillBad.reason ?? '', /commands/);

    link.release();
    await pollUntil(async () => s.health().ok, 'health to come back once the connection delivers again', { timeoutMs: 15_000, intervalMs: 50 });
    assert.ok(h.warnings.some((w) => w.endsWith('pubsub connection delivers again')), h.warnings.join('\n'));
    await s.publish('ch', Buffer.from('after'));
    await pollUntil(async () => h.messages.includes('ch:after'), 'a publication after the release to arrive', { intervalMs: 20 });
    assert.deepEqual(h.messages, ['ch:while-held', 'ch:after'], 'what Redis sent while the link was held arrives first, in order');
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
      const shard = await RedisShard.open({ topology: { kind: 'cluster', nodes: [...cluster.addresses] }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 1000 }, sharded, h.events, true, uniquePrefix('probe-cluster'));
      try {
        await shard.subscribe('ch');
        await pollUntil(async () => shard.probeRoundTrips >= 3, 'three delivery probes to come back', { intervalMs: 50 });
        assert.deepEqual(shard.health(), { ok: true });
        await shard.publish('ch', Buffer.from('x'));
        await pollUntil(async () => h.messages.includes('ch:x'), 'a publication to arrive', { intervalMs: 20 });
        assert.deepEqual(h.messages, ['ch:x'], 'probes never reach the shard\'s message listener');
        assert.deepEqual(h.warnings, []);
      } finally {
        await shard.close();
      }
    });
  }
});
