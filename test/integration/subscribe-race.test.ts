/**
 * Subscribes to one channel that overlap while the broker's subscribe is in flight (a Redis
 * broker's takes a network round trip). The second subscriber must not be told "subscribed"
 * before the broker delivers the channel, or it loses what is published in between; and when the
 * broker's subscribe fails, every subscriber waiting on it fails too, instead of one being left
 * "subscribed" to a channel the broker never delivers.
 *
 * The broker's subscribe waits on a gate the test releases (or fails), so what the clients are told
 * while it is in flight is observed, not raced against a timer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBroker } from '../../src/engine/memory/broker.js';
import { MemoryPresenceManager } from '../../src/engine/memory/presence.js';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

/** A memory broker whose subscribe calls wait for the test to release or fail them. */
class GatedBroker extends MemoryBroker {
  readonly calls: string[] = [];
  private gate: { open: () => void; fail: (e: Error) => void } | undefined;
  private called: (() => void) | undefined;

  /** Closes the gate; resolves when a subscribe call reaches it. */
  hold(): Promise<void> {
    return new Promise((resolve) => {
      this.called = resolve;
      const wait = new Promise<void>((open, fail) => (this.gate = { open, fail }));
      wait.catch(() => {}); // the failure is delivered to the call below
      this.waiting = wait;
    });
  }
  private waiting: Promise<void> | undefined;

  release(): void {
    this.gate?.open();
    this.gate = undefined;
    this.waiting = undefined;
  }

  failHeld(): void {
    this.gate?.fail(new Error('broker unavailable'));
    this.gate = undefined;
    this.waiting = undefined;
  }

  override async subscribe(channel: string): Promise<void> {
    this.calls.push(`subscribe ${channel}`);
    const wait = this.waiting;
    this.called?.();
    this.called = undefined;
    if (wait !== undefined) await wait;
    return super.subscribe(channel);
  }

  override async unsubscribe(channel: string): Promise<void> {
    this.calls.push(`unsubscribe ${channel}`);
    return super.unsubscribe(channel);
  }
}

async function withGatedServer(fn: (srv: TestServer, broker: GatedBroker) => Promise<void>): Promise<void> {
  const broker = new GatedBroker({ historyMetaTtlMs: 0 });
  const srv = await startServer({ channel: { without_namespace: { allow_subscribe_for_client: true } } }, { engine: { broker, presence: new MemoryPresenceManager() } });
  try {
    await fn(srv, broker);
  } finally {
    await srv.stop();
  }
}

async function client(srv: TestServer, user: string): Promise<RawClient> {
  const c = await RawClient.open(srv.wsUrl);
  assert.equal(typeof (await c.connect(await connToken(user))).connect?.client, 'string');
  return c;
}

/** The local subscriber count of `channel` as the API sees it (0 when none). */
async function localSubscribers(srv: TestServer, channel: string): Promise<number> {
  const res = await srv.api('channels', {});
  return (res.body.result.channels[channel]?.num_clients as number | undefined) ?? 0;
}

/** Polls the API until `channel` has `n` local subscribers; fails after 10 s instead of hanging. */
async function untilSubscribers(srv: TestServer, channel: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await localSubscribers(srv, channel)) < n) assert.ok(Date.now() < deadline, `${channel} never had ${n} subscribers`);
}

test('a second subscribe waits for the broker subscribe in flight, then receives what is published', async () => {
  await withGatedServer(async (srv, broker) => {
    const a = await client(srv, 'a');
    const b = await client(srv, 'b');
    const reached = broker.hold();
    a.send({ id: 2, subscribe: { channel: 'race' } });
    await reached; // A's subscribe is at the broker, which has not answered
    b.send({ id: 2, subscribe: { channel: 'race' } });
    // B is registered on the node (the API counts it) while the broker subscribe is in flight;
    // what B was told by then, and a moment after, it was told before the broker delivers.
    await untilSubscribers(srv, 'race', 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(b.messages().filter((m: { id?: number }) => m.id === 2), [], 'B is not told "subscribed" while the broker subscribe is in flight');

    broker.release();
    assert.deepEqual(await a.next((m: { id?: number }) => m.id === 2), { id: 2, subscribe: {} });
    assert.deepEqual(await b.next((m: { id?: number }) => m.id === 2), { id: 2, subscribe: {} });
    const pub = await srv.api('publish', { channel: 'race', data: { n: 1 } });
    assert.equal(pub.status, 200);
    for (const c of [a, b]) assert.deepEqual((await c.next((m: { push?: unknown }) => m.push !== undefined)).push, { channel: 'race', pub: { data: { n: 1 } } });
    assert.deepEqual(broker.calls, ['subscribe race'], 'one broker subscribe for both');
    a.close();
    b.close();
  });
});

test('when the broker subscribe fails, every subscriber waiting on it gets the error; the next subscribe works', async () => {
  await withGatedServer(async (srv, broker) => {
    const a = await client(srv, 'a');
    const b = await client(srv, 'b');
    const reached = broker.hold();
    a.send({ id: 2, subscribe: { channel: 'race' } });
    await reached;
    b.send({ id: 2, subscribe: { channel: 'race' } });
    await untilSubscribers(srv, 'race', 2);
    broker.failHeld();
    for (const c of [a, b]) {
      const reply = await c.next((m: { id?: number }) => m.id === 2);
      assert.equal(reply.subscribe, undefined, JSON.stringify(reply));
      assert.equal(reply.error?.code, 100, JSON.stringify(reply));
    }
    assert.equal(await localSubscribers(srv, 'race'), 0, 'nobody is left subscribed');

    // The broker works again: a new subscribe goes through after the failed one's unsubscribe.
    b.send({ id: 3, subscribe: { channel: 'race' } });
    assert.deepEqual(await b.next((m: { id?: number }) => m.id === 3), { id: 3, subscribe: {} });
    assert.equal((await srv.api('publish', { channel: 'race', data: { n: 2 } })).status, 200);
    assert.deepEqual((await b.next((m: { push?: unknown }) => m.push !== undefined)).push, { channel: 'race', pub: { data: { n: 2 } } });
    assert.deepEqual(broker.calls, ['subscribe race', 'unsubscribe race', 'subscribe race'], 'calls reach the broker in the order the node made them');
    a.close();
    b.close();
  });
});
