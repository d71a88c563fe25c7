/**
 * What the node counts, at the events Centrifugo counts (connections, disconnects by code,
 * subscriptions, commands by method and result, publications, deliveries, recoveries, frames per
 * transport; the metric names are in centrifugo-v6-notes §7). The node calls these; the default
 * does nothing, and the Prometheus implementation (src/metrics/) plugs in through `App` without
 * changing a call site.
 *
 * Calls are synchronous and must be cheap: they sit on the connect, command and broadcast paths.
 * `delivered` is called once per broadcast with its count, never once per subscriber; frames
 * written to clients are counted in place on a `TransportCounters` (no call per message).
 * Gauges (clients, subscriptions per namespace) are read from the node when scraped.
 */
import { DisconnectError, ReplyError } from '../protocol/errors.js';
import type { Push, Reply } from '../protocol/types.js';

/**
 * Who a connection is, for labels: its transport and the SDK's name and version as the client
 * sent them (an implementation bounds their cardinality). A session is one.
 */
export interface ClientLabels {
  readonly transport: { readonly name: string };
  readonly clientName: string;
  readonly clientVersion: string;
}

/** Frames of one type written to clients: how many and their bytes. */
export class FrameCount {
  count = 0;
  bytes = 0;
  add(bytes: number): void {
    this.count++;
    this.bytes += bytes;
  }
}

/**
 * Frames written to and read from the clients of one transport, bumped in place by sessions.
 * Publications, joins and leaves (the broadcast path) have fields of their own; other frames go
 * by their type in `other` (`connect`, `subscribe`, ... for replies, `push_<kind>` for pushes).
 */
export class TransportCounters {
  readonly publications = new FrameCount();
  readonly joins = new FrameCount();
  readonly leaves = new FrameCount();
  readonly other = new Map<string, FrameCount>();
  /** Commands read from clients, by method. */
  readonly received = new Map<string, FrameCount>();

  constructor(readonly transport: string) {}

  /** An async push of `kind` went out (alone, or inside a Reply on bidirectional transports). */
  pushed(kind: Push['kind'], bytes: number): void {
    if (kind === 'pub') this.publications.add(bytes);
    else if (kind === 'join') this.joins.add(bytes);
    else if (kind === 'leave') this.leaves.add(bytes);
    else this.sent(PUSH_FRAMES[kind]).add(bytes);
  }

  /** A Reply went out: a command's reply by method, a ping, or a push. */
  replied(reply: Reply, bytes: number): void {
    if (reply.kind === 'push') this.pushed(reply.push.kind, bytes);
    else this.sent(reply.kind === 'ping' ? 'server_ping' : reply.kind).add(bytes);
  }

  sent(frameType: string): FrameCount {
    let c = this.other.get(frameType);
    if (c === undefined) this.other.set(frameType, (c = new FrameCount()));
    return c;
  }

  read(method: string): FrameCount {
    let c = this.received.get(method);
    if (c === undefined) this.received.set(method, (c = new FrameCount()));
    return c;
  }
}

/** Frame types of pushes, as Centrifugo labels them (`frame_type`). */
const PUSH_FRAMES: Readonly<Record<Push['kind'], string>> = {
  pub: 'push_publication',
  join: 'push_join',
  leave: 'push_leave',
  unsubscribe: 'push_unsubscribe',
  message: 'push_message',
  subscribe: 'push_subscribe',
  connect: 'push_connect',
  disconnect: 'push_disconnect',
  refresh: 'push_refresh',
};

export interface NodeMetrics {
  /** A connect succeeded. */
  connected(client: ClientLabels): void;
  /**
   * A connection ended with disconnect `code` (3000 for a connection closed by the client) on
   * `transport`; `client` is set when it had connected.
   */
  disconnected(code: number, transport: string, client: ClientLabels | undefined): void;
  /** A channel subscription was made on this node (client- or server-side). */
  subscribed(channel: string, clientName: string): void;
  /** The server ended a subscription with an `unsubscribe` push of `code`. */
  serverUnsubscribed(channel: string, code: number): void;
  /**
   * A client command was handled: its method (`connect`, `subscribe`, ...), the result code (0 for
   * success, else the error reply's or disconnect's code), how long it took in milliseconds, and
   * the channel it was about ('' when none).
   */
  command(method: string, code: number, durationMs: number, channel: string): void;
  /** A publication (or join, leave) was handed to the broker. */
  published(channel: string, type: 'publication' | 'join' | 'leave'): void;
  /**
   * One broadcast of a publication (or join, leave) from the broker reached `count` local
   * subscribers, writing to them took `durationMs`.
   */
  delivered(channel: string, count: number, type: 'publication' | 'join' | 'leave', durationMs: number): void;
  /** A subscribe asked to recover: whether it did, and how many publications came with it. */
  recovered(channel: string, recovered: boolean, publications: number): void;
  /**
   * A node operation Centrifugo counts as an action (`remove_subscription`, `history`,
   * `history_stream_top`, `history_remove`, `presence`, `presence_stats`, `add_presence`,
   * `user_disconnect`, ...); `channel` '' when none. Actions that are also other events here
   * (`add_client`, `remove_client`, `add_subscription`, `survey`) are counted by the
   * implementation from those events, not reported twice.
   */
  action(action: string, channel: string): void;
  /** A survey of every node for `op` ended (answered, failed or timed out) after `durationMs`. */
  surveyed(op: string, durationMs: number): void;
  /** A client's pong arrived `durationMs` after its ping. */
  pingPong(transport: string, durationMs: number): void;
  /** A publication the broker did not publish: `reason` `idempotency` (a repeated key) or `version` (not newer). */
  suppressed(channel: string, reason: string): void;
  /** A connection was refused by `client.connection_limit`. */
  connectionLimitReached(): void;
  /** One broadcast skipped `dropped` subscribers whose tags filter refused the publication. */
  tagsFiltered(channel: string, dropped: number): void;
  /** The counters sessions of `transport` bump for each frame; the same object on every call. */
  transport(transport: string): TransportCounters;
  /**
   * The latest snapshot of the counted series for `info` (`metrics: {interval, items}`), series
   * in Prometheus' notation; absent when the implementation keeps none.
   */
  snapshot?(): { interval: number; items: Record<string, number> } | undefined;
}

/** The result code a command's failure counts as: its error or disconnect code, else 100 (internal). */
export function resultCode(e: unknown): number {
  if (e instanceof ReplyError) return e.code;
  if (e instanceof DisconnectError) return e.disconnect.code;
  return 100;
}

const nothing = (): void => {};

/** One `TransportCounters` per transport name, made on first use. */
export class TransportCounterSet {
  readonly #by = new Map<string, TransportCounters>();

  get(transport: string): TransportCounters {
    let c = this.#by.get(transport);
    if (c === undefined) this.#by.set(transport, (c = new TransportCounters(transport)));
    return c;
  }

  all(): IterableIterator<TransportCounters> {
    return this.#by.values();
  }
}

/** Counters that count nothing: what sessions bump when no metrics are kept, so the fan-out pays a no-op call. */
class IgnoredCounters extends TransportCounters {
  readonly #frame = new FrameCount();
  override pushed(): void {}
  override replied(): void {}
  override read(): FrameCount {
    return this.#frame;
  }
}

/** The default: counts nothing. */
export class NoMetrics implements NodeMetrics {
  readonly #ignored = new IgnoredCounters('');
  connected = nothing;
  disconnected = nothing;
  subscribed = nothing;
  serverUnsubscribed = nothing;
  command = nothing;
  published = nothing;
  delivered = nothing;
  recovered = nothing;
  action = nothing;
  surveyed = nothing;
  pingPong = nothing;
  suppressed = nothing;
  tagsFiltered = nothing;
  connectionLimitReached = nothing;
  transport(): TransportCounters {
    return this.#ignored;
  }
}
