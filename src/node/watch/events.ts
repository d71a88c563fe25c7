/**
 * What an admin watcher sees (docs/admin.md, "Watch"): a channel's publications, joins and leaves
 * as the broker delivers them to this node, from whichever node they were published on; or a
 * user's connects, subscriptions, unsubscriptions and disconnects on any node of the cluster.
 */
import type { ClientInfo, Publication } from '../../protocol/types.js';

export type ChannelWatchEvent =
  | { readonly type: 'publication'; readonly channel: string; readonly pub: Publication }
  | { readonly type: 'join' | 'leave'; readonly channel: string; readonly info: ClientInfo };

/** `node` is the name of the node holding the connection; `time` is ms since the epoch. */
interface UserEventBase {
  readonly user: string;
  readonly client: string;
  readonly node: string;
  readonly time: number;
}

export type UserWatchEvent =
  | (UserEventBase & { readonly type: 'connect'; readonly transport: string })
  | (UserEventBase & { readonly type: 'subscribe'; readonly channel: string })
  /** `code` is that of the unsubscribe (0 client, 1 disconnect, 2000 server, 2500, 2501). */
  | (UserEventBase & { readonly type: 'unsubscribe'; readonly channel: string; readonly code: number; readonly reason: string })
  | (UserEventBase & { readonly type: 'disconnect'; readonly code: number; readonly reason: string });

export type WatchEvent = ChannelWatchEvent | UserWatchEvent;

/**
 * One watch stream. `event` is called synchronously on the delivery path and must only queue the
 * event (never throw, never call back into the node: a watcher that ends itself calls its stop
 * function later, not from inside `event`). `end` is called once when the node stops the watch on
 * its side (shutdown); calling the stop function after that does nothing.
 */
export interface Watcher {
  event(e: WatchEvent): void;
  end(reason: string): void;
}
