/**
 * Many channels on one node survive a Redis restart (issue #17 item 4). Before the PUB/SUB pool,
 * one connection resubscribed every channel in one SUBSCRIBE; Redis buffers one confirmation per
 * channel and closes a PUB/SUB connection past `client-output-buffer-limit pubsub` (32 MB hard by
 * default), the client sent the same command again, and the node never received a publication
 * again. Here 140,000 channels of 212-byte names (about 36 MB of confirmations) are subscribed
 * through a shard on a redis-server with the default limits; it is killed and restarted; every
 * channel must be back, on every connection, with no connection closed for its output buffer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisShard, type ShardEvents } from '../../src/engine/redis/shard.js';
import { PUBSUB_REPLY_BUDGET_BYTES } from '../../src/engine/redis/pubsub-conn.js';
import { startRedis, type RedisServer } from '../helpers/redis-servers.js';
import { pollUntil } from '../helpers/service-process.js';

const CHANNELS = 140_000;
const name = (i: number): string => `pool.${'x'.repeat(200)}.${String(i).padStart(6, '0')}`;
/** What one channel costs of a connection's budget: its name and a confirmation's framing (pubsub-conn.ts). */
const COST = name(0).length + 48;
/** Bound for everything to be back after the restart, ms. */
const BACK_MS = 60_000;

let redis: RedisServer;
let shard: RedisShard;
const received: Array<{ channel: string; payload: string }> = [];
let resubscribed = 0;
const warnings: string[] = [];

const events: ShardEvents = {
  message: (channel, payload) => received.push({ channel, payload: payload.toString() }),
  resubscribed: (_connection, channels) => (resubscribed += channels),
  warn: (m) => warnings.push(m),
  info() {},
  pubSubFailed() {},
};

before(async () => {
  redis = await startRedis({ label: 'pubsub-pool' });
  shard = await RedisShard.open({ topology: { kind: 'standalone', address: { host: redis.host, port: redis.port } }, db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 4000 }, false, events);
});

after(async () => {
  await shard?.close();
  await redis?.stop();
});

async function pubsubClients(): Promise<number[]> {
  const list = await redis.cli('CLIENT', 'LIST', 'TYPE', 'pubsub');
  return [...list.matchAll(/ sub=(\d+) /g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

async function publishAndReceive(channel: string, payload: string): Promise<void> {
  await shard.publish(channel, Buffer.from(payload));
  await pollUntil(async () => received.some((r) => r.channel === channel && r.payload === payload), `"${payload}" on ${channel.slice(0, 12)}…${channel.slice(-6)}`, { timeoutMs: BACK_MS, intervalMs: 20 });
}

test('140,000 channels spread over PUB/SUB connections within the reply budget, and all come back after Redis restarts', async () => {
  for (let i = 0; i < CHANNELS; i += 5000) {
    await Promise.all(Array.from({ length: Math.min(5000, CHANNELS - i) }, (_, k) => shard.subscribe(name(i + k))));
  }
  const perConnection = Math.floor(PUBSUB_REPLY_BUDGET_BYTES / COST);
  const expected = Math.ceil(CHANNELS / perConnection);
  assert.ok(expected > 1, 'the test needs more channels than one connection holds');
  assert.equal(shard.pubsubConnections, expected);
  const subs = await pubsubClients();
  assert.equal(subs.length, expected, `PUB/SUB clients on the server: ${subs.join(', ')}`);
  assert.equal(subs.reduce((a, b) => a + b, 0), CHANNELS);
  assert.ok(subs.every((n) => n <= perConnection), `none holds more than ${perConnection}: ${subs.join(', ')}`);
  await publishAndReceive(name(0), 'before');

  await redis.kill();
  await redis.restart();
  await pollUntil(async () => resubscribed >= CHANNELS, `every channel resubscribed (${resubscribed} so far)`, { timeoutMs: BACK_MS, intervalMs: 50 });
  assert.equal(resubscribed, CHANNELS);
  assert.deepEqual(await pubsubClients(), subs, 'the same connections hold the same numbers of channels again');
  assert.doesNotMatch(redis.log(), /output buffer limits/, 'no connection was closed for its output buffer');
  for (const i of [0, Math.floor(CHANNELS / 2), CHANNELS - 1]) await publishAndReceive(name(i), `after ${i}`);
  assert.equal(shard.health().ok, true, shard.health().reason);
});

test('an unsubscribed channel frees its room: new channels fill it before another connection opens', async () => {
  const before = shard.pubsubConnections;
  const gone = Array.from({ length: 100 }, (_, k) => name(k));
  for (const ch of gone) await shard.unsubscribe(ch);
  for (let k = 0; k < 100; k++) await shard.subscribe(`pool.new.${'y'.repeat(200)}.${k}`);
  assert.equal(shard.pubsubConnections, before);
  await publishAndReceive(`pool.new.${'y'.repeat(200)}.99`, 'refilled');
  await shard.publish(name(0), Buffer.from('not for us'));
  await publishAndReceive(name(100), 'still here');
  assert.ok(!received.some((r) => r.payload === 'not for us'), 'an unsubscribed channel delivers nothing');
});

test('after close no PUB/SUB connection stays or opens: a subscribe rejects and the server lists no PUB/SUB client', async () => {
  await shard.close();
  await assert.rejects(shard.subscribe(`pool.after-close.${'z'.repeat(200)}`));
  await pollUntil(async () => (await pubsubClients()).length === 0, 'every PUB/SUB client gone from the server', { timeoutMs: BACK_MS, intervalMs: 20 });
});
