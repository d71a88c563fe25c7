/**
 * The memory engine's ChannelStateManager: channel occupancy for the nodes of one process. Each
 * node has its own `MemoryChannelStates`; those on one `MemoryChannelStateStore` (a `MemoryBus`
 * holds one) share it, so occupied and vacated are cluster-wide among them. A standalone
 * `new MemoryChannelStates()` is a store of one: one node, exact.
 *
 * Notes apply at once (nothing to wait for in one process). A channel whose last subscriber left
 * anywhere waits the vacated delay of the node that saw it leave, on one timer for the whole store
 * (util/deadline-queue.ts); occupied again meanwhile, it emits nothing. The vacated goes out
 * through that node, or through another running one if it has closed meanwhile. When the last
 * node of the store closes, the vacated still waiting go out at once, through it: in one process
 * nothing is left to emit them later.
 */
import type { ChannelStateEvent, ChannelStateManager, ChannelStateOptions, EngineHealth } from '../types.js';
import { DeadlineQueue, type DeadlineTarget } from '../../util/deadline-queue.js';

const HEALTHY: EngineHealth = Object.freeze({ ok: true });

/** A channel without subscribers, waiting out its vacated delay. */
class Vacating implements DeadlineTarget {
  deadlineSlot = -1;

  constructor(
    private readonly store: MemoryChannelStateStore,
    readonly channel: string,
    /** When the last subscriber left, ms since the epoch. */
    readonly leftAt: number,
    /** The node that saw it leave. */
    readonly by: MemoryChannelStates,
  ) {}

  onDeadline(): void {
    this.store.vacated(this);
  }
}

/** Occupancy shared by the nodes of one process. */
export class MemoryChannelStateStore {
  /** Channel → the nodes with a subscriber of it. */
  private readonly members = new Map<string, Set<MemoryChannelStates>>();
  /** Channel → occupied (`true`) or waiting out its vacated delay; absent: vacated. */
  private readonly state = new Map<string, true | Vacating>();
  private readonly delays = new DeadlineQueue<Vacating>();
  /** Running nodes, in the order they started. */
  readonly running = new Set<MemoryChannelStates>();

  occupy(node: MemoryChannelStates, channel: string): void {
    let m = this.members.get(channel);
    if (m === undefined) this.members.set(channel, (m = new Set()));
    m.add(node);
    const st = this.state.get(channel);
    if (st === true) return;
    this.state.set(channel, true);
    if (st === undefined) node.deliver({ channel, type: 'occupied', timeMs: Date.now() });
    else this.delays.remove(st);
  }

  vacate(node: MemoryChannelStates, channel: string, delayMs: number): void {
    const m = this.members.get(channel);
    if (m === undefined || !m.delete(node) || m.size > 0) return;
    this.members.delete(channel);
    if (this.state.get(channel) !== true) return;
    const now = Date.now();
    const v = new Vacating(this, channel, now, node);
    this.state.set(channel, v);
    this.delays.schedule(v, now + delayMs);
  }

  /** A vacated delay ran out (or is cut short by the last node closing). */
  vacated(v: Vacating): void {
    if (this.state.get(v.channel) !== v) return;
    this.state.delete(v.channel);
    const to = this.running.has(v.by) ? v.by : this.running.values().next().value;
    to?.deliver({ channel: v.channel, type: 'vacated', timeMs: v.leftAt });
  }

  /** Channels `node` reports subscribers of (its notes not yet undone). */
  channelsOf(node: MemoryChannelStates): string[] {
    const out: string[] = [];
    for (const [ch, m] of this.members) if (m.has(node)) out.push(ch);
    return out;
  }

  /** Emits every vacated still waiting, now. */
  flushVacating(): void {
    const waiting = [...this.state.values()].filter((s): s is Vacating => s !== true);
    for (const v of waiting) {
      this.delays.remove(v);
      this.vacated(v);
    }
  }

  /** Channels occupied or waiting out their delay (diagnostics and tests). */
  get size(): number {
    return this.state.size;
  }
}

export class MemoryChannelStates implements ChannelStateManager {
  private emit: ((e: ChannelStateEvent) => void) | undefined;
  private delayMs = 0;

  /** `store`: shared with the other nodes of the process; a store of one when absent. */
  constructor(private readonly store: MemoryChannelStateStore = new MemoryChannelStateStore()) {}

  async run(_nodeId: string, opts: ChannelStateOptions, emit: (e: ChannelStateEvent) => void): Promise<void> {
    this.emit = emit;
    this.delayMs = Math.max(0, opts.vacatedDelayMs);
    this.store.running.add(this);
  }

  occupy(channel: string): void {
    if (this.emit !== undefined) this.store.occupy(this, channel);
  }

  vacate(channel: string): void {
    if (this.emit !== undefined) this.store.vacate(this, channel, this.delayMs);
  }

  /** Hands an event to this node's backend. */
  deliver(e: ChannelStateEvent): void {
    this.emit?.(e);
  }

  health(): EngineHealth {
    return HEALTHY;
  }

  /** Vacates what this node still reports; the last node of the store emits every waiting vacated. */
  async close(): Promise<void> {
    if (this.emit === undefined) return;
    for (const ch of this.store.channelsOf(this)) this.store.vacate(this, ch, this.delayMs);
    if (this.store.running.size === 1) this.store.flushVacating();
    this.store.running.delete(this);
    this.emit = undefined;
  }
}
