/**
 * Where connections and subscriptions end, and where a channel gains its first subscriber on this
 * node or loses its last: the seam lifecycle events to the application backend plug into
 * (`app/lifecycle.ts`, docs/lifecycle-events.md). The node calls these; the default does nothing.
 *
 * Calls are synchronous and must be cheap: they sit on the connect/disconnect and subscribe paths
 * (never on the publication fan-out). Arguments are plain values, so a call to the default costs
 * no allocation. An implementation only records the fact (pushes to an array) and returns; it never
 * throws and never calls back into the node.
 *
 * Per channel on one node, `channelOccupied` and `channelVacated` strictly alternate, starting
 * with `channelOccupied`, in the order the hub saw its first subscriber come and its last go. The
 * node's broker subscribe and unsubscribe calls follow the same order, except that an admin
 * watcher of the channel (watch/) keeps the broker subscribed without making it occupied.
 */
import { UnsubscribeCode } from '../protocol/codes.js';

/** Why a subscription ended, as the backend is told: a code and a reason for humans. */
export interface SubscriptionEnd {
  readonly code: number;
  readonly reason: string;
}

/**
 * Every way a subscription ends. Codes 2000, 2500 and 2501 are those of the `unsubscribe` push the
 * client gets (protocol/codes.ts); 0 and 1 are never sent to a client and are centrifuge's codes
 * for the same two cases (`UnsubscribeCodeClient`, `UnsubscribeCodeDisconnect`).
 */
export const SubscriptionEnds = {
  /** The client sent `unsubscribe`. */
  client: { code: 0, reason: 'client unsubscribed' },
  /** The connection ended (the disconnect notification that follows carries its code). */
  disconnect: { code: 1, reason: 'client disconnected' },
  /** Server API `unsubscribe`. */
  server: UnsubscribeCode.server,
  /** Lost stream continuity (the SDK resubscribes). */
  insufficientState: UnsubscribeCode.insufficientState,
  /** The subscription expired without a refresh. */
  expired: UnsubscribeCode.expired,
} as const satisfies Record<string, SubscriptionEnd>;

export interface NodeLifecycle {
  /**
   * A connection that had connected ended with disconnect `code`/`reason` (3000 when the client
   * closed it). `connectedAt` is when its connect succeeded, ms since the epoch. Connections whose
   * connect never succeeded are not reported. Called after `unsubscribed` for each of its
   * subscriptions.
   */
  disconnected(client: string, user: string, code: number, reason: string, connectedAt: number): void;
  /**
   * A subscription the client had been told about (a live one, client- or server-side) ended. A
   * subscribe that failed or was cancelled before it went live is not reported.
   */
  unsubscribed(client: string, user: string, channel: string, end: SubscriptionEnd): void;
  /** The channel got its first subscriber on this node (one still being set up counts). */
  channelOccupied(channel: string): void;
  /** The channel's last subscriber on this node is gone. */
  channelVacated(channel: string): void;
}

const nothing = (): void => {};

/** The default: reports nothing. */
export const NO_LIFECYCLE: NodeLifecycle = Object.freeze({
  disconnected: nothing,
  unsubscribed: nothing,
  channelOccupied: nothing,
  channelVacated: nothing,
});
