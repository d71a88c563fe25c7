/**
 * Channel state across nodes on one memory bus (three in-process nodes sharing a memory engine),
 * SDK clients on each and one HTTP backend for all: one `occupied` however many nodes have
 * subscribers, `vacated` only once the last subscriber anywhere left and the delay ran out, a
 * subscriber moving to another node within the delay absorbed, and a node that stops handing its
 * channels' vacated to the nodes left. Counts are taken after every node stopped, so every event
 * any node produced has been flushed to the backend.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../src/engine/memory/broker.js';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { SdkPool, type TestClient } from '../helpers/sdk.js';
import { HttpBackend, type BackendEvent } from '../helpers/lifecycle-backends.js';

const backends: HttpBackend[] = [];
after(async () => {
  for (const b of backends) await b.close();
});

interface Cluster {
  nodes: TestServer[];
  pools: SdkPool[];
  backend: HttpBackend;
  stop(): Promise<void>;
}

async function startCluster(n: number, vacatedDelay: string): Promise<Cluster> {
  const backend = await HttpBackend.start();
  backends.push(backend);
  const config = {
    lifecycle_events: { endpoint: backend.url, batch_max_delay: '10ms', vacated_delay: vacatedDelay },
    channel: { namespaces: [{ name: 'room', allow_subscribe_for_client: true, state_proxy_enabled: true }] },
  };
  const bus = new MemoryBus();
  const nodes: TestServer[] = [];
  for (let i = 0; i < n; i++) {
    const srv = await startServer(config, { engine: bus.engine() });
    const stop = srv.stop;
    let stopped: Promise<void> | undefined;
    srv.stop = () => (stopped ??= stop());
    nodes.push(srv);
  }
  const pools = nodes.map((s) => new SdkPool(s));
  return {
    nodes,
    pools,
    backend,
    async stop() {
      for (const p of pools) p.closeAll();
      for (const s of nodes) await s.stop();
      for (const s of nodes) assert.deepEqual(s.errors, []);
    },
  };
}

async function client(pool: SdkPool, user: string): Promise<TestClient> {
  const c = pool.client({ token: await connToken(user) });
  await c.connect();
  return c;
}

const state = (b: HttpBackend, channel: string): string[] =>
  b
    .events()
    .filter((e) => e['channel'] === channel && (e['type'] === 'occupied' || e['type'] === 'vacated'))
    .map((e) => e['type'] as string);

const is =
  (type: string, channel: string) =>
  (e: BackendEvent): boolean =>
    e['type'] === type && e['channel'] === channel;

describe('channel state across three nodes on one memory bus', () => {
  it('one occupied for subscribers on two nodes; vacated only after the last one left anywhere', async () => {
    const cl = await startCluster(3, '200ms');
    try {
      const a = await client(cl.pools[0]!, 'a');
      const b = await client(cl.pools[1]!, 'b');
      const sa = await a.subscribe('room:1');
      await b.subscribe('room:1');
      await cl.backend.next(is('occupied', 'room:1'), 'occupied');
      sa.sub.unsubscribe();
      await sa.events.next('unsubscribed');
      // A sentinel on node A, subscribed after A's subscriber left room:1 and left at once: its
      // vacated arriving proves room:1 (still held on B) was not vacated within the same delay.
      const sentinel = await a.subscribe('room:sentinel');
      sentinel.sub.unsubscribe();
      await cl.backend.next(is('vacated', 'room:sentinel'), 'the sentinel vacated');
      assert.deepEqual(state(cl.backend, 'room:1'), ['occupied'], 'still occupied while B holds it');
      b.c.disconnect();
      const v = await cl.backend.next(is('vacated', 'room:1'), 'vacated');
      assert.ok(typeof v['time_ms'] === 'number');
    } finally {
      await cl.stop();
    }
    assert.deepEqual(state(cl.backend, 'room:1'), ['occupied', 'vacated']);
  });

  it('a subscriber moving to another node within the delay: neither vacated nor a second occupied', async () => {
    const cl = await startCluster(3, '2500ms');
    try {
      const a = await client(cl.pools[0]!, 'mover');
      await a.subscribe('room:move');
      await a.subscribe('room:marker');
      await cl.backend.next(is('occupied', 'room:marker'), 'the marker occupied');
      a.c.disconnect(); // leaves room:move, then room:marker
      const c = await client(cl.pools[2]!, 'mover');
      await c.subscribe('room:move');
      await cl.backend.next(is('vacated', 'room:marker'), 'the marker vacated');
    } finally {
      await cl.stop();
    }
    assert.deepEqual(state(cl.backend, 'room:move'), ['occupied', 'vacated'], 'one occupied; the only vacated is the one of the final shutdown');
  });

  it('a node that stops: the vacated of its channels comes from a node still running', async () => {
    const cl = await startCluster(3, '200ms');
    try {
      const b = await client(cl.pools[1]!, 'only');
      await b.subscribe('room:b-only');
      await cl.backend.next(is('occupied', 'room:b-only'), 'occupied');
      cl.pools[1]!.closeAll();
      await cl.nodes[1]!.stop();
      await cl.backend.next(is('vacated', 'room:b-only'), 'vacated after node B stopped');
    } finally {
      await cl.stop();
    }
    assert.deepEqual(state(cl.backend, 'room:b-only'), ['occupied', 'vacated']);
  });
});
