/**
 * Memory-only Broker behaviour the shared contract does not pin: synchronous delivery, Centrifugo's
 * whole-stream history expiry, lenient reads, and memory reclamation by the shared sweep timer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HISTORY_META_TTL_MS, MemoryBroker } from '../../../src/engine/memory/broker.js';
import type { HistoryRetention } from '../../../src/engine/types.js';
import { RecordingHandler } from '../../contract/broker.contract.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const H: HistoryRetention = { size: 10, ttlMs: 1000, metaTtlMs: 5000 };

function setup(opts: { sweepIntervalMs?: number; historyMetaTtlMs?: number } = {}) {
  const clock = { t: 1_700_000_000_000 };
  const broker = new MemoryBroker({ now: () => clock.t, sweepIntervalMs: 0, ...opts });
  const rec = new RecordingHandler();
  return { clock, broker, rec };
}

test('delivery happens before publish settles', async () => {
  const { clock, broker, rec } = setup();
  await broker.run(rec, 'node-a');
  await broker.subscribe('ch');
  const p = broker.publish('ch', bytes('a'), { history: H });
  assert.equal(rec.publications('ch').length, 1, 'delivered synchronously inside publish');
  await p;
  assert.equal(rec.publications('ch')[0].pub.time, undefined);
  await broker.close();
});

test('publications expire together, history ttl after the LAST publish (Centrifugo memory semantics)', async () => {
  const { clock, broker } = setup();
  await broker.publish('ch', bytes('a'), { history: H });
  clock.t += 800;
  await broker.publish('ch', bytes('b'), { history: H });
  clock.t += 800; // 'a' is 1600 ms old, but the stream was touched 800 ms ago
  assert.equal((await broker.history('ch', { filter: { limit: -1 } })).publications.length, 2);
  clock.t += 200;
  const h = await broker.history('ch', { filter: { limit: -1 } });
  assert.deepEqual(h.publications, []);
  assert.equal(h.position.offset, 2);
});

test('reverse with since.offset 0 reads from the top; any negative limit means all', async () => {
  const { broker } = setup();
  for (const s of ['a', 'b', 'c']) await broker.publish('ch', bytes(s), { history: H });
  const r = await broker.history('ch', { filter: { since: { offset: 0, epoch: '' }, limit: 2, reverse: true } });
  assert.deepEqual(r.publications.map((p) => p.offset), [3, 2]);
  const all = await broker.history('ch', { filter: { limit: -7 } });
  assert.deepEqual(all.publications.map((p) => p.offset), [1, 2, 3]);
});

test('without history: useDelta is passed through, prevPub is undefined, info and tags delivered', async () => {
  const { broker, rec } = setup();
  await broker.run(rec, 'node-a');
  await broker.subscribe('ch');
  const info = { user: 'u', client: 'c' };
  await broker.publish('ch', bytes('a'), { useDelta: true, clientInfo: info, tags: { t: '1' } });
  const [e] = rec.publications('ch');
  assert.equal(e.useDelta, true);
  assert.equal(e.prevPub, undefined);
  assert.deepEqual(e.pub.info, info);
  assert.deepEqual(e.pub.tags, { t: '1' });
  assert.equal(e.pub.offset, 0);
});

test('delta prevPub is absent after the stream expired or was removed', async () => {
  const { clock, broker, rec } = setup();
  await broker.run(rec, 'node-a');
  await broker.subscribe('ch');
  await broker.publish('ch', bytes('a'), { history: H, useDelta: true });
  clock.t += 1500;
  await broker.publish('ch', bytes('b'), { history: H, useDelta: true });
  await broker.removeHistory('ch');
  await broker.publish('ch', bytes('c'), { history: H, useDelta: true });
  assert.deepEqual(rec.publications('ch').map((e) => e.prevPub), [undefined, undefined, undefined]);
});

test('events before run() or after close() are not delivered; control messages are refused after close', async () => {
  const { broker, rec } = setup();
  await broker.subscribe('ch');
  await broker.publish('ch', bytes('early'), {});
  await broker.run(rec, 'node-a');
  await broker.subscribe('ch');
  await broker.close();
  await broker.publish('ch', bytes('late'), { history: H });
  await broker.publishJoin('ch', { user: 'u', client: 'c' });
  // A stopped node is off the control bus both ways: sending says so instead of dropping.
  await assert.rejects(broker.publishControl(bytes('x')), /memory broker: not running/);
  assert.deepEqual(rec.events, []);
  const h = await broker.history('ch', { filter: { limit: -1 } });
  assert.equal(h.publications.length, 1, 'state stays usable after close');
});

test('a zero meta ttl falls back to the broker default', async () => {
  const { clock, broker } = setup({ historyMetaTtlMs: 10_000 });
  const r = await broker.publish('ch', bytes('a'), { history: { size: 1, ttlMs: 100, metaTtlMs: 0 } });
  clock.t += 9_000;
  assert.deepEqual((await broker.history('ch', { filter: { limit: 0 }, metaTtlMs: 0 })).position, r.position);
  clock.t += 10_001;
  assert.notEqual((await broker.history('ch', { filter: { limit: 0 } })).position.epoch, r.position.epoch);
  assert.equal(DEFAULT_HISTORY_META_TTL_MS, 30 * 24 * 3600 * 1000);
});

test('epochs of the memory engine are 8 letters', async () => {
  const { broker } = setup();
  const r = await broker.publish('ch', bytes('a'), { history: H });
  assert.match(r.position.epoch, /^[a-zA-Z]{8}$/);
});

test('sweep reclaims streams after meta ttl and idempotency results after their ttl', async () => {
  const { clock, broker } = setup();
  for (let i = 0; i < 100; i++) {
    await broker.publish(`ch${i}`, bytes('a'), { history: H, idempotencyKey: `k${i}`, idempotentResultTtlMs: 2000 });
  }
  await broker.history('read-only', { filter: { limit: 0 } }); // default meta ttl: 30 days
  assert.deepEqual(broker.stats(), { streams: 101, idempotentResults: 100 });
  clock.t += 1500;
  broker.sweep();
  assert.deepEqual(broker.stats(), { streams: 101, idempotentResults: 100 }, 'pubs expired, meta alive');
  assert.deepEqual((await broker.history('ch0', { filter: { limit: -1 }, metaTtlMs: 5000 })).publications, []);
  clock.t += 4000;
  broker.sweep();
  assert.deepEqual(broker.stats(), { streams: 2, idempotentResults: 0 }, 'ch0 was read later; read-only lives 30 days');
  clock.t += 2000;
  broker.sweep();
  assert.deepEqual(broker.stats(), { streams: 1, idempotentResults: 0 });
});

test('a refreshed stream survives the sweep of its old deadline', async () => {
  const { clock, broker } = setup();
  const first = await broker.publish('ch', bytes('a'), { history: H });
  for (let i = 0; i < 20; i++) {
    clock.t += 900;
    await broker.publish('ch', bytes('b'), { history: H });
    broker.sweep();
  }
  const h = await broker.history('ch', { filter: { limit: -1 } });
  assert.equal(h.position.epoch, first.position.epoch);
  assert.equal(h.publications.length, 10);
});

test('the sweep timer runs in the background and stops on close', async () => {
  const { clock, broker, rec } = setup({ sweepIntervalMs: 5 });
  await broker.run(rec, 'node-a');
  await broker.publish('a', bytes('x'), { history: { size: 1, ttlMs: 10, metaTtlMs: 10 } });
  clock.t += 100;
  // Poll instead of one fixed sleep so a loaded machine cannot make this flaky.
  for (let i = 0; i < 200 && broker.stats().streams > 0; i++) await sleep(5);
  assert.equal(broker.stats().streams, 0, 'swept by the timer');
  await broker.close();
  await broker.publish('b', bytes('x'), { history: { size: 1, ttlMs: 10, metaTtlMs: 10 } });
  clock.t += 100;
  await sleep(40); // eight intervals: proves absence (can only pass falsely, never fail falsely)
  assert.equal(broker.stats().streams, 1, 'no sweeping after close');
  assert.ok(!process.getActiveResourcesInfo().includes('Timeout'), 'no timers left');
});

test('a negative sweep interval is rejected', () => {
  assert.throws(() => new MemoryBroker({ sweepIntervalMs: -1 }), RangeError);
});
