/**
 * The engine seam: a Broker moves publications between nodes and keeps history streams; a
 * PresenceManager keeps who is subscribed where. Implementations live beside this file
 * (`memory/`, later `redis/`, `nats/`) and never see a client or a socket: a broker delivers to
 * the `BrokerEventHandler` the node gives it, and the node fans out locally.
 *
 * Every method here is async (returns a Promise), whatever the implementation, so callers never
 * branch on the engine in use; the one exception is said where it is (`ChannelStateManager`'s
 * `occupy`/`vacate`, which only take a note). The shared contract suite in `test/contract/` pins
 * the semantics.
 */
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';

/** History retention of one channel. Both numbers > 0 enable history; otherwise it is off. */
export interface HistoryRetention {
  /** Maximum publications kept (`history_size`). */
  size: number;
  /** The whole stream expires this long after its last publish (`history_ttl`), in ms. The top
   * position and epoch survive until the meta TTL runs out. */
  ttlMs: number;
  /** Stream meta (epoch, top offset) expires this long after the last publish or read, in ms. */
  metaTtlMs: number;
}

export interface PublishOptions {
  /** Keep the publication in the channel stream; absent means PUB/SUB only (no offset). */
  history?: HistoryRetention;
  /** Publisher info, for client-side publishes. */
  clientInfo?: ClientInfo;
  tags?: Record<string, string>;
  /** Deduplicate within `idempotentResultTtlMs` (default 5 min): a repeat returns the first result. */
  idempotencyKey?: string;
  idempotentResultTtlMs?: number;
  /** Subscribers that negotiated deltas receive a fossil delta against the previous publication. */
  useDelta?: boolean;
  /** Entire-state channels: suppress when version <= last version in the same `versionEpoch`. */
  version?: number;
  versionEpoch?: string;
}

export interface PublishResult {
  /**
   * Position the publication took; `{offset: 0, epoch: ""}` without history. A suppressed publish
   * returns the cached position (idempotency) or the current top (version).
   */
  position: StreamPosition;
  /** True when idempotency or versioning suppressed the publish (nothing was broadcast). */
  suppressed: boolean;
}

export interface HistoryFilter {
  /** Read after (or, with `reverse`, before) this position. */
  since?: StreamPosition;
  /** 0 = position only (`since` ignored); negative = everything available; N = at most N. */
  limit: number;
  /** Newest first. With `since.offset` 0 it reads from the top (callers reject that with 107). */
  reverse?: boolean;
}

export interface HistoryOptions {
  filter: HistoryFilter;
  /** Refreshes (or creates) the stream meta with this TTL; 0 keeps the broker default. */
  metaTtlMs?: number;
}

export interface HistoryResult {
  publications: Publication[];
  /** Top of the stream: last offset and epoch. Reading creates the meta (and epoch) if missing. */
  position: StreamPosition;
}

/**
 * What a broker calls when something arrives for a channel this node subscribed to. Handlers
 * must not throw: delivery is fire-and-forget for the broker.
 */
export interface BrokerEventHandler {
  /**
   * A publication. `position` is its stream position (offset 0 without history). `prevPub` is
   * the previous publication in the stream when the publish asked for deltas.
   */
  handlePublication(channel: string, pub: Publication, position: StreamPosition, useDelta: boolean, prevPub: Publication | undefined): void;
  handleJoin(channel: string, info: ClientInfo): void;
  handleLeave(channel: string, info: ClientInfo): void;
  /** Node-to-node control message (multi-node engines); false when it was dropped as undecodable. */
  handleControl(data: Uint8Array): boolean;
}

/**
 * Whether an engine part can serve right now. A networked engine is unhealthy while it cannot
 * reach its server (the `reason` says which and why: "redis 127.0.0.1:6379: connection refused");
 * the node answers `/health` with 503 and the reasons meanwhile. Memory engines are always ok.
 */
export interface EngineHealth {
  ok: boolean;
  /** Why not, when `ok` is false; never contains a password. */
  reason?: string;
}

export interface Broker {
  /**
   * Starts delivering to `handler` on behalf of the node `nodeId` (control messages addressed to
   * that node reach it). Called once before any other method.
   */
  run(handler: BrokerEventHandler, nodeId: string): Promise<void>;
  /** This node wants the channel's publications, joins and leaves. Idempotent. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /**
   * Publishes `data` into `channel`. With `history`, the publication is appended to the stream
   * and gets the next offset; delivery to subscribers happens after the append, in offset order.
   * Delivery is at most once. The broker takes ownership of `data`: nobody writes to those bytes
   * after publishing. `version` suppression applies only with history.
   */
  publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult>;
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;
  /** Sends a control message to every node, or only to `toNode` when given. */
  publishControl(data: Uint8Array, toNode?: string): Promise<void>;
  /**
   * Reads the channel stream. See `HistoryFilter` for `limit` semantics. A `since.epoch` that is
   * non-empty and differs from the stream's gives no publications and the current position; the
   * caller maps that to error 112.
   */
  history(channel: string, opts: HistoryOptions): Promise<HistoryResult>;
  /** Drops the publications but keeps the top position and epoch. */
  removeHistory(channel: string): Promise<void>;
  /** Whether the broker reaches what it needs now (cheap: no I/O; called by `/health`). */
  health(): EngineHealth;
  close(): Promise<void>;
}

export interface PresenceStats {
  numClients: number;
  /** Unique users; all anonymous connections count as one user `""`. */
  numUsers: number;
}

export interface PresenceManager {
  /** Map of client ID to ClientInfo for everyone present in the channel. */
  presence(channel: string): Promise<Record<string, ClientInfo>>;
  presenceStats(channel: string): Promise<PresenceStats>;
  /** Adds or refreshes an entry. Engines with TTLs expire entries not refreshed in time. */
  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void>;
  removePresence(channel: string, clientId: string, userId: string): Promise<void>;
  /** Whether the presence manager reaches what it needs now (cheap: no I/O). */
  health(): EngineHealth;
  close(): Promise<void>;
}

/** A channel's cluster-wide subscriber state changed. */
export interface ChannelStateEvent {
  readonly channel: string;
  /**
   * `occupied`: the channel got its first subscriber on any node. `vacated`: its last subscriber
   * left every node and none came back within the vacated delay.
   */
  readonly type: 'occupied' | 'vacated';
  /** When the first subscriber came (occupied) or the last one left (vacated), ms since the epoch. */
  readonly timeMs: number;
}

export interface ChannelStateOptions {
  /**
   * How long a channel must stay without subscribers before `vacated` is emitted, ms. A channel
   * occupied again within it emits nothing: not the vacated, not a second occupied.
   */
  vacatedDelayMs: number;
}

/**
 * Which channels have subscribers anywhere in the cluster, as nodes report their own (a channel's
 * first local subscriber, its last one gone), turned into `occupied` and `vacated` events. For
 * each channel the events alternate, starting with `occupied`, and each is emitted once, on one
 * node (the one whose report changed the state, or the one that saw the vacated delay run out):
 * the node that emits it hands it to the application backend.
 *
 * `occupy` and `vacate` are synchronous notes: the node's subscribe path never waits for the
 * shared state. The manager applies a channel's notes in the order they were taken, coalescing a
 * vacate and an occupy that cancel out, and retries what failed (a Redis outage, say) until it
 * holds or the manager closes. A node that stops without `close` (a crash) must not keep a
 * channel occupied forever: networked implementations expire a node's reports when it stops
 * refreshing them, and vacate its channels then.
 */
export interface ChannelStateManager {
  /** Starts reporting for `nodeId`; events go to `emit` (it must not throw). Called once first. */
  run(nodeId: string, opts: ChannelStateOptions, emit: (e: ChannelStateEvent) => void): Promise<void>;
  /** The channel got its first subscriber on this node. */
  occupy(channel: string): void;
  /** The channel has no subscriber left on this node. */
  vacate(channel: string): void;
  /** Whether the manager reaches what it needs now (cheap: no I/O). */
  health(): EngineHealth;
  /**
   * Applies the notes still pending (this node's channels vacate, their vacated delays still
   * run) within a bound, then stops. Events after this are not emitted by this node.
   */
  close(): Promise<void>;
}
