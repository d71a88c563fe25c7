/**
 * The ChannelStateManager contract (engine/types.ts), run against every implementation: several
 * managers ("nodes") on one shared state. Occupied once for the cluster, vacated once after the
 * last node left and the delay ran out, nothing for a channel occupied again within the delay,
 * the events of a channel alternating, and a closed node's channels vacated through another.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelStateEvent, ChannelStateManager } from '../../../src/engine/types.js';

export interface StateCluster {
  managers: ChannelStateManager[];
  cleanup(): Promise<void>;
}

/** `make(n)`: `n` managers on one shared state, not yet running. */
export type MakeCluster = (n: number) => Promise<StateCluster>;

export interface Seen {
  node: number;
  e: ChannelStateEvent;
}

/** Runs the managers with `delayMs`, recording every event with the node that emitted it. */
export class Recorded {
  readonly seen: Seen[] = [];
  private waiters = new Set<() => void>();

  static async run(cluster: StateCluster, delayMs: number): Promise<Recorded> {
    const r = new Recorded();
    for (const [i, m] of cluster.managers.entries()) {
      await m.run(`node-${i}-${Math.random().toString(36).slice(2)}`, { vacatedDelayMs: delayMs }, (e) => r.add(i, e));
    }
    return r;
  }

  private add(node: number, e: ChannelStateEvent): void {
    this.seen.push({ node, e });
    for (const w of [...this.waiters]) w();
  }

  of(channel: string): string[] {
    return this.seen.filter((s) => s.e.channel === channel).map((s) => s.e.type);
  }

  /** Waits (bounded) until `channel` has seen `n` events. */
  async until(channel: string, n: number, timeoutMs = 10_000): Promise<Seen[]> {
    const list = (): Seen[] => this.seen.filter((s) => s.e.channel === channel);
    if (list().length >= n) return list();
    await new Promise<void>((resolve, reject) => {
      const w = (): void => {
        if (list().length < n) return;
        clearTimeout(t);
        this.waiters.delete(w);
        resolve();
      };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out waiting for ${n} events of ${channel}; seen ${JSON.stringify(this.seen)}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
    return list();
  }
}

export function channelStateContract(name: string, make: MakeCluster): void {
  describe(`ChannelStateManager contract: ${name}`, () => {
    it('occupied once for subscribers on two nodes, from the node that came first; vacated once, after the last left', async () => {
      const cl = await make(2);
      try {
        const r = await Recorded.run(cl, 150);
        const [a, b] = cl.managers as [ChannelStateManager, ChannelStateManager];
        const t0 = Date.now();
        a.occupy('c1');
        const [occ] = await r.until('c1', 1);
        assert.deepEqual([occ!.node, occ!.e.type], [0, 'occupied']);
        b.occupy('c1');
        a.vacate('c1');
        // A sentinel vacated by A after it left c1: once its vacated is in, c1's would be too.
        a.occupy('sentinel');
        a.vacate('sentinel');
        await r.until('sentinel', 2);
        assert.deepEqual(r.of('c1'), ['occupied'], 'B still holds c1');
        const left = Date.now();
        b.vacate('c1');
        const all = await r.until('c1', 2);
        assert.deepEqual(all.map((s) => [s.node, s.e.type]), [[0, 'occupied'], [1, 'vacated']]);
        assert.ok(all[0]!.e.timeMs >= t0 - 1000, 'occupied at about the first subscribe (the engine clock may differ a little)');
        assert.ok(all[1]!.e.timeMs >= left - 1000 && all[1]!.e.timeMs <= Date.now() + 1000, 'vacated carries when the last subscriber left');
      } finally {
        await cl.cleanup();
      }
    });

    it('occupied again within the delay, on another node: no vacated, no second occupied', async () => {
      const cl = await make(2);
      try {
        const r = await Recorded.run(cl, 2000);
        const [a, b] = cl.managers as [ChannelStateManager, ChannelStateManager];
        a.occupy('c2');
        await r.until('c2', 1);
        a.vacate('c2');
        a.occupy('marker');
        a.vacate('marker');
        b.occupy('c2');
        await r.until('marker', 2);
        assert.deepEqual(r.of('c2'), ['occupied']);
        b.vacate('c2');
        await r.until('c2', 2);
        assert.deepEqual(r.of('c2'), ['occupied', 'vacated']);
      } finally {
        await cl.cleanup();
      }
    });

    it('notes in quick succession on one node: the events still alternate and end as the notes do', async () => {
      const cl = await make(1);
      try {
        const r = await Recorded.run(cl, 50);
        const [a] = cl.managers as [ChannelStateManager];
        for (let i = 0; i < 5; i++) {
          a.occupy('c3');
          a.vacate('c3');
        }
        a.occupy('c3');
        const first = await r.until('c3', 1);
        assert.equal(first[0]!.e.type, 'occupied');
        a.vacate('c3');
        await r.until('c3', 2);
        a.occupy('c4');
        a.vacate('c4');
        await r.until('c4', 2);
        assert.deepEqual(r.of('c3'), ['occupied', 'vacated']);
      } finally {
        await cl.cleanup();
      }
    });

    it('a node that closes: its channels are vacated, the vacated emitted by a node still running', async () => {
      const cl = await make(2);
      try {
        const r = await Recorded.run(cl, 100);
        const [a] = cl.managers as [ChannelStateManager, ChannelStateManager];
        a.occupy('c5');
        await r.until('c5', 1);
        await a.close();
        const all = await r.until('c5', 2);
        assert.deepEqual(all.map((s) => [s.node, s.e.type]), [[0, 'occupied'], [1, 'vacated']]);
      } finally {
        await cl.cleanup();
      }
    });
  });
}
