/**
 * `wait_replicas` on a master with and without its replica: a publication kept in history is
 * acknowledged and delivered only once a replica holds it, so a failover can neither lose an
 * acknowledged publication nor leave a subscriber positioned on one the new master never had.
 * Real redis-server processes (a master and a replica on free ports).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker, BrokerEventHandler, HistoryRetention } from '../../src/engine/types.js';
import type { Publication, StreamPosition } from '../../src/protocol/types.js';
import { startRedis, type RedisServer } from '../helpers/redis-servers.js';
import { redisBrokerOptions, testPrefix } from '../contract/redis-engines.js';
import { until } from '../helpers/wait.js';

const HISTORY: HistoryRetention = { size: 100, ttlMs: 60_000, metaTtlMs: 600_000 };
const CHANNEL = 'wait:chan';
/** Never published to before the concurrent part: its first releases race from two nodes. */
const FRESH = 'wait:fresh';

interface Received {
  channel: string;
  offset: number;
  text: string;
  prev: string | undefined;
}

let master: RedisServer;
let replica: RedisServer | undefined;

before(async () => {
  master = await startRedis({ label: 'wait-master' });
});

after(async () => {
  await replica?.stop();
  await master.stop();
});

async function broker(prefix: string, received: Received[], waitReplicas = 1): Promise<Broker> {
  const { RedisBroker } = await import('../../src/engine/redis/broker.js');
  const opts = await redisBrokerOptions(prefix, [master.url]);
  // WAIT gives up after io_timeout: the replica-less publish fails after 2 s; a busy machine's replica acks well within it.
  const b = new RedisBroker({ ...opts, shards: opts.shards.map((s) => ({ ...s, ioTimeoutMs: 2000 })), waitReplicas });
  const handler: BrokerEventHandler = {
    handlePublication(channel: string, pub: Publication, position: StreamPosition, _useDelta: boolean, prevPub: Publication | undefined) {
      received.push({ channel, offset: position.offset, text: Buffer.from(pub.data).toString(), prev: prevPub === undefined ? undefined : Buffer.from(prevPub.data).toString() });
    },
    handleJoin() {},
    handleLeave() {},
    handleControl: () => true,
  };
  await b.run(handler, testPrefix('node'));
  await b.subscribe(CHANNEL);
  await b.subscribe(FRESH);
  return b;
}

/** Starts the replica unless it runs, and waits until the master counts it online. */
async function replicaOnline(): Promise<void> {
  replica ??= await startRedis({ label: 'wait-replica', config: [`replicaof ${master.host} ${master.port}`] });
  for (;;) {
    const info = await master.cli('INFO', 'replication');
    if (/slave0:.*state=online/.test(info)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function publish(b: Broker, text: string, extra: { idempotencyKey?: string; useDelta?: boolean } = {}, channel = CHANNEL) {
  return b.publish(channel, Buffer.from(text), { history: HISTORY, ...extra });
}

test('wait_replicas: nothing is acknowledged or delivered before a replica holds it; the next replicated publish delivers both, in order, and concurrent publishers from two nodes deliver every offset once, in order', async () => {
  const prefix = testPrefix('wait');
  const seen: Received[] = [];
  const other: Received[] = [];
  const a = await broker(prefix, seen);
  const b = await broker(prefix, other);
  try {
    // No replica: the write is kept but neither acknowledged, published, nor shown to readers
    // (history and the stream top stop at the last released offset).
    await assert.rejects(publish(a, 'p1', { idempotencyKey: 'k1' }), /0 of 1 replicas confirmed/);
    const h1 = await a.history(CHANNEL, { filter: { limit: -1 } });
    assert.deepEqual([h1.position.offset, h1.publications.length], [0, 0]);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, []);

    await replicaOnline();

    // The retry answered from the idempotency cache now replicates and releases offset 1.
    const retry = await publish(a, 'p1', { idempotencyKey: 'k1' });
    assert.deepEqual([retry.position.offset, retry.suppressed], [1, true]);
    await until(() => seen.length === 1, 'offset 1 delivered after the retry');
    const r2 = await publish(a, 'p2', { useDelta: true });
    assert.equal(r2.position.offset, 2);
    await until(() => seen.length === 2, 'offset 2 delivered');
    const h2 = await b.history(CHANNEL, { filter: { limit: -1 } });
    assert.deepEqual(h2.publications.map((p) => [p.offset, Buffer.from(p.data).toString()]), [[1, 'p1'], [2, 'p2']]);
    assert.deepEqual(seen, [
      { channel: CHANNEL, offset: 1, text: 'p1', prev: undefined },
      { channel: CHANNEL, offset: 2, text: 'p2', prev: 'p1' },
    ]);

    // Two nodes publishing at once: releases are ordered by Redis, each offset goes out once;
    // also on a fresh channel, where the first releases race.
    const n = 60;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => publish(i % 2 === 0 ? a : b, `c${i}`, {}, i < n / 2 ? CHANNEL : FRESH)));
    const offsets = (_ch: string, from: number): number[] => Array.from({ length: n / 2 }, (_, i) => i + from);
    assert.deepEqual(results.slice(0, n / 2).map((r) => r.position.offset).sort((x, y) => x - y), offsets(CHANNEL, 3));
    assert.deepEqual(results.slice(n / 2).map((r) => r.position.offset).sort((x, y) => x - y), offsets(FRESH, 1));
    const of = (list: Received[], ch: string): number[] => list.filter((r) => r.channel === ch).map((r) => r.offset);
    await until(() => seen.length === n + 2 && other.length === n + 2, 'every concurrent publication delivered to both nodes');
    for (const list of [seen, other]) {
      assert.deepEqual(of(list, CHANNEL), Array.from({ length: n / 2 + 2 }, (_, i) => i + 1));
      assert.deepEqual(of(list, FRESH), Array.from({ length: n / 2 }, (_, i) => i + 1));
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('wait_replicas turned off and on again delivers each offset once; a reverse read while a publication is held returns the released ones, COUNT exact', async () => {
  const prefix = testPrefix('wait-onoff');
  const seen: Received[] = [];
  const a = await broker(prefix, seen);
  const off = await broker(prefix, [], 0);
  try {
    await replicaOnline();
    assert.equal((await publish(a, 'w1')).position.offset, 1);
    // The option off for a while (a node without it, or this one restarted without it): its
    // publications go out at once, past the release mark the first one left.
    assert.equal((await publish(off, 'd2')).position.offset, 2);
    assert.equal((await publish(off, 'd3')).position.offset, 3);
    await until(() => seen.length === 3, 'offsets 1 to 3 delivered');
    // On again: only the new offset is released, not everything above the old mark.
    assert.equal((await publish(a, 'w4')).position.offset, 4);
    await until(() => seen.length >= 4, 'offset 4 delivered');
    await publish(off, 'sentinel', {}, FRESH);
    await until(() => seen.some((r) => r.channel === FRESH), 'a later publication on another channel, so any repeat would have arrived');
    assert.deepEqual(seen.filter((r) => r.channel === CHANNEL).map((r) => r.offset), [1, 2, 3, 4]);

    // No replica: offset 5 is held. Readers stop at 4, and a reverse read of one gets 4 (the
    // entry above the mark must not use up the COUNT).
    await replica?.stop();
    replica = undefined;
    await assert.rejects(publish(a, 'held5'), /0 of 1 replicas confirmed/);
    const last = await a.history(CHANNEL, { filter: { limit: 1, reverse: true } });
    assert.deepEqual([last.position.offset, last.publications.map((p) => [p.offset, Buffer.from(p.data).toString()])], [4, [[4, 'w4']]]);
    const two = await a.history(CHANNEL, { filter: { limit: 2, reverse: true } });
    assert.deepEqual(two.publications.map((p) => p.offset), [4, 3]);
  } finally {
    await a.close();
    await off.close();
  }
});
