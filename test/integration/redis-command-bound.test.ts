/**
 * A stalled Redis never makes a node buffer without bound (issue #17 item 4): a shard's command
 * connection holds at most MAX_QUEUED_COMMANDS commands, sent or waiting for a reply. With Redis
 * stopped (SIGSTOP), 500 publishes past that bound reject at once, before any of the held ones
 * times out; the held ones fail at `io_timeout`; and once Redis resumes the shard publishes again.
 * Behind a Sentinel that has no master to give, a command fails at `io_timeout` too, where the
 * client would wait about 16 s for one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisShard } from '../../src/engine/redis/shard.js';
import { MAX_QUEUED_COMMANDS } from '../../src/engine/redis/clients.js';
import { SENTINEL_MASTER_NAME, startRedis, type RedisServer } from '../helpers/redis-servers.js';
import { pollUntil } from '../helpers/service-process.js';

const OVER = 500;

let redis: RedisServer;
let shard: RedisShard;

before(async () => {
  redis = await startRedis({ label: 'command-bound' });
  shard = await RedisShard.open(
    { topology: { kind: 'standalone', address: { host: redis.host, port: redis.port } }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 1000 },
    false,
    { message() {}, resubscribed() {}, warn() {}, info() {}, pubSubFailed() {} },
    false,
  );
});

after(async () => {
  await shard?.close();
  await redis?.stop();
});

test(`a stalled Redis: ${OVER} publishes past the ${MAX_QUEUED_COMMANDS.toLocaleString('en')}-command bound reject at once, the held ones at io_timeout, and publishing works again after`, async () => {
  await redis.pause();
  const order: Array<'full' | 'other'> = [];
  const payload = Buffer.from('x');
  const calls = Array.from({ length: MAX_QUEUED_COMMANDS + OVER }, () =>
    shard.publish('bound', payload).then(
      () => order.push('other'),
      (err: unknown) => order.push(err instanceof Error && err.message === 'The queue is full' ? 'full' : 'other'),
    ),
  );
  await Promise.all(calls);
  const full = order.filter((o) => o === 'full').length;
  // The shard's own PINGs share the connection, so a few more than OVER may find it full.
  assert.ok(full >= OVER && full <= OVER + 5, `${full} rejected as full`);
  assert.equal(order.length, MAX_QUEUED_COMMANDS + OVER);
  assert.deepEqual([...new Set(order.slice(0, full))], ['full'], 'every refusal came before any held command failed');
  await pollUntil(async () => !shard.health().ok, 'the stalled Redis to show in health', { timeoutMs: 20_000, intervalMs: 50 });

  await redis.resume();
  await pollUntil(async () => shard.publish('bound', payload).then(() => true, () => false), 'a publish to succeed after SIGCONT', { timeoutMs: 20_000, intervalMs: 50 });
  await pollUntil(async () => shard.health().ok, 'health back', { timeoutMs: 20_000, intervalMs: 50 });
});

test('Sentinel with no master to give (master down, no replica): a command fails at io_timeout instead of waiting for one; it works again once the master is back', async () => {
  const master = await startRedis({ label: 'bound-master' });
  const sentinel = await startRedis({
    label: 'bound-sentinel',
    sentinel: true,
    config: [`sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 500`],
  });
  const s = await RedisShard.open(
    { topology: { kind: 'sentinel', sentinels: [{ host: sentinel.host, port: sentinel.port }], masterName: SENTINEL_MASTER_NAME }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 1000 },
    false,
    { message() {}, resubscribed() {}, warn() {}, info() {}, pubSubFailed() {} },
    false,
  );
  try {
    await s.del('bound');
    await master.pause();
    await pollUntil(async () => /o_down/.test(await sentinel.cli('SENTINEL', 'MASTER', SENTINEL_MASTER_NAME)), 'Sentinel to flag the master down', { timeoutMs: 20_000, intervalMs: 100 });
    // The error says which bound applied: the client's own timeout never started, since no
    // master was there to send the command to.
    await assert.rejects(s.del('bound'), /no reply within io_timeout \(1000 ms\)/);
    await master.resume();
    await pollUntil(async () => s.del('bound').then(() => true, () => false), 'a command to succeed once the master is back', { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    await s.close();
    await sentinel.stop();
    await master.stop();
  }
});
