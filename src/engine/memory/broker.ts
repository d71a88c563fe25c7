/**
 * The memory engine's Broker (spec §9.2). Each node has its own `MemoryBroker`; brokers on one
 * `MemoryBus` share history streams, the idempotency cache, the presence manager and channel
 * occupancy (channel-state.ts), and deliver
 * publications, joins, leaves and control messages to every node on the bus subscribed to them.
 * A standalone `new MemoryBroker()` is a bus of one: Centrifugo's memory engine, where PUB/SUB is
 * a loop back into this node. A bus of several is how tests (and an embedder running several
 * nodes in one process) exercise everything cross-node without Redis.
 *
 * Delivery: publications, joins and leaves reach every subscribed node synchronously, inside the
 * `publish` call, so a burst of concurrent publishes is delivered in offset order and each
 * publication reaches the handlers before its `publish` promise settles. Control messages are
 * delivered in a later microtask, in send order, as a network would: a node handling one may send
 * another without re-entering the sender.
 *
 * A handler that throws is a bug in the node; the error reaches the publisher even though the
 * publication was already stored.
 */
import type {
  Broker,
  BrokerEventHandler,
  ChannelStateManager,
  EngineHealth,
  HistoryOptions,
  HistoryResult,
  PresenceManager,
  PublishOptions,
  PublishResult,
} from '../types.js';
import type { ClientInfo } from '../../protocol/types.js';
import { MemoryPresenceManager } from './presence.js';
import { MemoryChannelStateStore, MemoryChannelStates } from './channel-state.js';
import { MemoryStore, type Broadcast, type MemoryStoreOptions } from './store.js';

export { DEFAULT_HISTORY_META_TTL_MS, DEFAULT_IDEMPOTENT_RESULT_TTL_MS, DEFAULT_SWEEP_INTERVAL_MS } from './store.js';
export type MemoryBrokerOptions = MemoryStoreOptions;

const HEALTHY: EngineHealth = Object.freeze({ ok: true });

/** One memory engine shared by the nodes of one process. */
export class MemoryBus {
  readonly store: MemoryStore;
  /** Presence is kept once for every node on the bus, as a Redis presence manager would. */
  readonly presence: PresenceManager = new MemoryPresenceManager();
  /** Channel occupancy, shared by the nodes' channel state managers (see channel-state.ts). */
  readonly channelStates = new MemoryChannelStateStore();
  /** Brokers that are running, in the order they started. */
  readonly members = new Set<MemoryBroker>();

  constructor(opts: MemoryStoreOptions = {}) {
    this.store = new MemoryStore(opts);
  }

  /** The engine parts for one more node on this bus. */
  engine(): { broker: Broker; presence: PresenceManager; channelState: ChannelStateManager } {
    return { broker: new MemoryBroker({}, this), presence: this.presence, channelState: new MemoryChannelStates(this.channelStates) };
  }

  join(b: MemoryBroker): void {
    this.members.add(b);
    this.store.start();
  }

  leave(b: MemoryBroker): void {
    this.members.delete(b);
    if (this.members.size === 0) this.store.stop();
  }
}

export class MemoryBroker implements Broker {
  private readonly bus: MemoryBus;
  private handler: BrokerEventHandler | undefined;
  private id = '';
  private readonly subscribed = new Set<string>();

  /** `opts` configures a bus of one; they are ignored when joining an existing `bus`. */
  constructor(opts: MemoryBrokerOptions = {}, bus?: MemoryBus) {
    this.bus = bus ?? new MemoryBus(opts);
  }

  get nodeId(): string {
    return this.id;
  }

  async run(handler: BrokerEventHandler, nodeId: string): Promise<void> {
    this.handler = handler;
    this.id = nodeId;
    this.bus.join(this);
  }

  async subscribe(channel: string): Promise<void> {
    this.subscribed.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.subscribed.delete(channel);
  }

  async publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult> {
    const { result, broadcast } = this.bus.store.publish(channel, data, opts);
    if (broadcast !== undefined) {
      let fresh = true;
      for (const m of this.bus.members) if (m.deliver(channel, broadcast, fresh, opts.useDelta === true)) fresh = false;
    }
    return result;
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    for (const m of this.bus.members) if (m.wants(channel)) m.handler?.handleJoin(channel, info);
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    for (const m of this.bus.members) if (m.wants(channel)) m.handler?.handleLeave(channel, info);
  }

  /**
   * To every node on the bus, this one included, or to the node `toNode` only (if it is there).
   * Rejects once this broker is closed: a stopped node is off the bus both ways.
   */
  async publishControl(data: Uint8Array, toNode?: string): Promise<void> {
    if (this.handler === undefined) throw new Error('memory broker: not running');
    for (const m of this.bus.members) {
      if (toNode !== undefined && m.id !== toNode) continue;
      queueMicrotask(() => m.handler?.handleControl(data));
    }
  }

  /**
   * Reads the stream per spec §5.3; creates the meta (new epoch, offset 0) if it does not exist and
   * refreshes its TTL either way. When `since.epoch` is non-empty and differs from the current
   * epoch, returns no publications and the current top: the caller turns that into error 112.
   */
  async history(channel: string, opts: HistoryOptions): Promise<HistoryResult> {
    return this.bus.store.history(channel, opts);
  }

  /** Drops the publications, keeps top offset, epoch and version. No-op for an unknown channel. */
  async removeHistory(channel: string): Promise<void> {
    this.bus.store.removeHistory(channel);
  }

  health(): EngineHealth {
    return HEALTHY;
  }

  /**
   * Stops delivery to this node and leaves the bus (the sweep timer stops with the last broker).
   * Stored state stays readable (lazy expiry still applies).
   */
  async close(): Promise<void> {
    this.bus.leave(this);
    this.handler = undefined;
    this.subscribed.clear();
  }

  /** Reclaims expired streams and idempotency results now (see `MemoryStore.sweep`). */
  sweep(): void {
    this.bus.store.sweep();
  }

  /** How much state is held (streams with live meta, remembered idempotent results); diagnostics. */
  stats(): { streams: number; idempotentResults: number } {
    return this.bus.store.stats();
  }

  private wants(channel: string): boolean {
    return this.handler !== undefined && this.subscribed.has(channel);
  }

  /** Delivers to this node if it wants the channel; says whether it did. */
  private deliver(channel: string, b: Broadcast, fresh: boolean, useDelta: boolean): boolean {
    if (!this.wants(channel)) return false;
    // Each node gets its own publication object (the node may adjust what it is given); the first
    // takes the one the store made, so a bus of one copies nothing.
    const pub = fresh ? b.pub : { ...b.pub };
    const prev = fresh || b.prev === undefined ? b.prev : { ...b.prev };
    this.handler?.handlePublication(channel, pub, b.position, useDelta, prev);
    return true;
  }
}
