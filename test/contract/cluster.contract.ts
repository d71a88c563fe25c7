/**
 * The Broker contract across nodes: what the control plane and cross-node fan-out rely on, for an
 * engine that joins several nodes (the memory bus in one process; Redis and NATS across
 * processes). `make(n)` builds `n` brokers of one cluster, isolated from every other test (Redis:
 * one key prefix shared by the n, unique to the call), not yet `run`.
 *
 * Pinned here: a publication, join and leave published through one node reach the subscribed
 * nodes, and only those; history written through one node is read through another; a control
 * message reaches every node, the sender included, or only the node it names; control messages
 * of one sender arrive in the order sent; `run` resolves only once the node can receive messages
 * addressed to it; `publishControl` on a closed broker rejects (it never throws and never hangs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker } from '../../src/engine/types.js';
import { RecordingHandler, type Capability } from './broker.contract.js';

export interface ClusterHarness {
  brokers: Broker[];
  /** Closes every broker and removes what the test stored. */
  cleanup(): Promise<void>;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Runs brokers `0..n-1` as nodes `n0..`, each with a recording handler. */
async function started(make: (n: number) => Promise<ClusterHarness>, n: number): Promise<ClusterHarness & { handlers: RecordingHandler[] }> {
  const h = await make(n);
  const handlers = h.brokers.map(() => new RecordingHandler());
  for (let i = 0; i < n; i++) await h.brokers[i]!.run(handlers[i]!, `n${i}`);
  return { ...h, handlers };
}

function controls(h: RecordingHandler): string[] {
  return h.events.flatMap((e) => (e.kind === 'control' ? [text(e.data)] : []));
}

export function clusterContract(engine: string, capabilities: readonly Capability[], make: (n: number) => Promise<ClusterHarness>): void {
  describe(`cluster contract: ${engine}`, () => {
    test('a publication through one node reaches every subscribed node, and only those', async () => {
      const c = await started(make, 3);
      try {
        const [a, b, x] = c.brokers as [Broker, Broker, Broker];
        await b.subscribe('{c}ch');
        await x.subscribe('{c}other');
        await a.publish('{c}ch', bytes('p1'), {});
        await c.handlers[1]!.waitFor('the publication on node 1', () => c.handlers[1]!.publications('{c}ch').length === 1);
        // Sentinel: node 2 subscribed to `other`; once that arrives, a stray `ch` would have too (one
        // hash tag, so on a Redis Cluster both channels travel one path).
        await a.publish('{c}other', bytes('s'), {});
        await c.handlers[2]!.waitFor('the sentinel on node 2', () => c.handlers[2]!.publications('{c}other').length === 1);
        assert.equal(c.handlers[2]!.publications('{c}ch').length, 0, 'node 2 is not subscribed to ch');
        assert.equal(c.handlers[0]!.publications('{c}ch').length, 0, 'the publishing node is not subscribed to ch');
        assert.equal(text(c.handlers[1]!.publications('{c}ch')[0]!.pub.data), 'p1');
      } finally {
        await c.cleanup();
      }
    });

    test('join and leave through one node reach the subscribed nodes', { skip: capabilities.includes('joinLeave') ? false : 'no joinLeave' }, async () => {
      const c = await started(make, 2);
      try {
        const [a, b] = c.brokers as [Broker, Broker];
        await b.subscribe('ch');
        await a.publishJoin('ch', { user: 'u', client: 'c1' });
        await a.publishLeave('ch', { user: 'u', client: 'c1' });
        await c.handlers[1]!.waitFor('join and leave on node 1', () => c.handlers[1]!.events.filter((e) => e.kind === 'join' || e.kind === 'leave').length === 2);
        assert.deepEqual(c.handlers[1]!.events.map((e) => e.kind), ['join', 'leave']);
      } finally {
        await c.cleanup();
      }
    });

    test('history written through one node is read through another', { skip: capabilities.includes('history') ? false : 'no history' }, async () => {
      const c = await started(make, 2);
      try {
        const [a, b] = c.brokers as [Broker, Broker];
        const history = { size: 10, ttlMs: 60_000, metaTtlMs: 60_000 };
        const r = await a.publish('h', bytes('one'), { history });
        const read = await b.history('h', { filter: { limit: -1 } });
        assert.deepEqual(read.position, r.position);
        assert.deepEqual(read.publications.map((p) => text(p.data)), ['one']);
      } finally {
        await c.cleanup();
      }
    });

    test('control: to every node, the sender included, in the order sent; or to the named node only', async () => {
      const c = await started(make, 3);
      try {
        const [a] = c.brokers as [Broker, Broker, Broker];
        for (let i = 0; i < 20; i++) await a.publishControl(bytes(`all-${i}`));
        await a.publishControl(bytes('to-n2'), 'n2');
        await a.publishControl(bytes('end'));
        for (const h of c.handlers) await h.waitFor('the last broadcast', () => controls(h).includes('end'));
        await c.handlers[2]!.waitFor('the message to n2', () => controls(c.handlers[2]!).includes('to-n2'));
        const all = Array.from({ length: 20 }, (_, i) => `all-${i}`);
        assert.deepEqual(controls(c.handlers[0]!), [...all, 'end'], 'the sender gets its own broadcasts, in order');
        assert.deepEqual(controls(c.handlers[1]!), [...all, 'end']);
        // Broadcasts keep their order; a message to one node may overtake or trail them (on a Redis
        // Cluster the node's channel lives in another slot), and the control plane needs no order
        // between the two.
        const n2 = controls(c.handlers[2]!);
        assert.deepEqual(n2.filter((m) => m !== 'to-n2'), [...all, 'end']);
        assert.equal(n2.filter((m) => m === 'to-n2').length, 1, 'only n2 gets the message addressed to it, once');
      } finally {
        await c.cleanup();
      }
    });

    test('control: a message to a node sent right after its run resolved reaches it', async () => {
      const c = await started(make, 2);
      try {
        await c.brokers[0]!.publishControl(bytes('hello n1'), 'n1');
        await c.handlers[1]!.waitFor('the message to n1', () => controls(c.handlers[1]!).includes('hello n1'));
      } finally {
        await c.cleanup();
      }
    });

    test('control: publishControl on a closed broker rejects and the others no longer hear from it', async () => {
      const c = await started(make, 2);
      try {
        const [a, b] = c.brokers as [Broker, Broker];
        await a.close();
        let threw = false;
        let p: Promise<void> | undefined;
        try {
          p = a.publishControl(bytes('after close'));
        } catch {
          threw = true;
        }
        assert.equal(threw, false, 'publishControl returns a promise, even closed');
        await assert.rejects(p!);
        await b.publishControl(bytes('sentinel'));
        await c.handlers[1]!.waitFor('the sentinel', () => controls(c.handlers[1]!).includes('sentinel'));
        assert.equal(controls(c.handlers[1]!).includes('after close'), false);
      } finally {
        await c.cleanup();
      }
    });
  });
}
