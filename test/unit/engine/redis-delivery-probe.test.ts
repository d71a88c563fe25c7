/**
 * DeliveryProbe's bookkeeping, driven with explicit clock readings: which probes are overdue, what
 * a Cluster node reconnecting forgets, and when a connection counts as heard again. The probes'
 * round trips through a real Redis, Sentinel and Cluster are in
 * test/integration/redis-delivery-probe.test.ts; here the publish is a function, so a master that
 * keeps reconnecting can be staged without a race.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryProbe } from '../../../src/engine/redis/delivery-probe.js';
import type { ProbeTarget, PubSubConn } from '../../../src/engine/redis/pubsub-conn.js';

const TIMEOUT_MS = 1000;
const A = '10.0.0.1:6379';
const B = '10.0.0.2:6379';

/** A connection record with probes only: DeliveryProbe reads nothing else of it. */
function connWith(probes: ProbeTarget[]): PubSubConn {
  return { name: 'pubsub', probes, channels: new Set(), leftovers: new Set(), bytes: 0, dropped: false, retired: false } as unknown as PubSubConn;
}

interface Overdue {
  why: string;
  silentSince: number | undefined;
}

function probeWith(receivers: number) {
  const overdue: Overdue[] = [];
  let heard = 0;
  const published: string[] = [];
  const probe = new DeliveryProbe({
    publish: (channel) => {
      published.push(channel);
      return Promise.resolve(receivers);
    },
    timeoutMs: TIMEOUT_MS,
    unheldGraceMs: () => 3 * TIMEOUT_MS,
    overdue: (_c, why, silentSince) => overdue.push({ why, silentSince }),
    heard: () => heard++,
  });
  return { probe, overdue, published, heard: () => heard };
}

/** Lets the publish promises' callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('delivery probe: a master reconnecting forgets only its own probes; the connection is heard again only once no probe through any master is overdue', async () => {
  const c = connWith([
    { channel: 'probe.{a}', via: A },
    { channel: 'probe.{b}', via: B },
  ]);
  const p = probeWith(1);
  const t0 = performance.now();
  p.probe.check(c, t0);
  await settle();
  assert.deepEqual(p.published, ['probe.{a}', 'probe.{b}']);
  // Neither came back: both overdue, each naming its master, and each published again. (1 ms past
  // the timeout: t0 is fractional, and (t0 + 1000) - t0 can come out a hair under 1000.)
  const late = t0 + TIMEOUT_MS + 1;
  p.probe.check(c, late);
  await settle();
  assert.deepEqual(
    p.overdue.map((o) => o.why),
    [`no delivery probe through master ${A} came back within io_timeout (${TIMEOUT_MS} ms)`, `no delivery probe through master ${B} came back within io_timeout (${TIMEOUT_MS} ms)`],
  );
  assert.ok(p.overdue.every((o) => o.silentSince !== undefined), 'Redis counted a receiver: silent, not resubscribing');
  assert.equal(p.probe.overdue(c, late), true);
  // A's node flaps (node-reconnecting, node-ready): B's silence stays on record.
  p.probe.forget(c, A);
  p.probe.forget(c, A);
  assert.equal(p.probe.overdue(c, late), true, "B's overdue probe survives A reconnecting");
  // A probe through A arrives: not heard while B's is overdue.
  p.probe.received(c, 'probe.{a}', late);
  assert.equal(p.heard(), 0);
  // B's arrives: now heard.
  p.probe.received(c, 'probe.{b}', late);
  assert.equal(p.heard(), 1);
  assert.equal(p.probe.overdue(c, late + 10 * TIMEOUT_MS), false);
});

test('delivery probe: the whole connection reconnecting forgets every probe of it, and no other connection\'s', async () => {
  const c = connWith([{ channel: 'probe.1', via: undefined }]);
  const d = connWith([{ channel: 'probe.2', via: undefined }]);
  const p = probeWith(1);
  const t0 = performance.now();
  p.probe.check(c, t0);
  p.probe.check(d, t0);
  await settle();
  const late = t0 + TIMEOUT_MS + 1;
  assert.equal(p.probe.overdue(c, late), true);
  // A node address of a Cluster client forgets the probes tied to no master too.
  p.probe.forget(c, A);
  assert.equal(p.probe.overdue(c, late), false);
  assert.equal(p.probe.overdue(d, late), true);
  p.probe.forget(d);
  assert.equal(p.probe.overdue(d, late), false);
});

test('delivery probe: while Redis holds no subscription for the connection (PUBLISH counts 0), it is resubscribing, not silent, until the grace runs out', async () => {
  const c = connWith([{ channel: 'probe.1', via: undefined }]);
  const p = probeWith(0);
  const t0 = performance.now();
  p.probe.check(c, t0);
  await settle();
  p.probe.check(c, t0 + TIMEOUT_MS + 1);
  await settle();
  assert.equal(p.overdue.length, 1);
  assert.equal(p.overdue[0]!.silentSince, undefined, 'within the grace: not silent');
  // Past the grace (3 × the timeout here), counted silent from when the grace ran out.
  p.probe.check(c, performance.now() + 4 * TIMEOUT_MS);
  await settle();
  const last = p.overdue.at(-1)!;
  assert.notEqual(last.silentSince, undefined, 'past the grace: silent');
});

test('delivery probe: a probe that could not be published (the command connection is down) leaves nothing out', async () => {
  const c = connWith([{ channel: 'probe.1', via: undefined }]);
  const probe = new DeliveryProbe({
    publish: () => Promise.reject(new Error('connection closed')),
    timeoutMs: TIMEOUT_MS,
    unheldGraceMs: () => TIMEOUT_MS,
    overdue: () => assert.fail('nothing was out'),
    heard: () => undefined,
  });
  const t0 = performance.now();
  probe.check(c, t0);
  await settle();
  assert.equal(probe.overdue(c, t0 + 5 * TIMEOUT_MS), false);
  probe.check(c, t0 + 5 * TIMEOUT_MS);
  await settle();
});
