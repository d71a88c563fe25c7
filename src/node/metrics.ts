/**
 * What the node counts, at the events Centrifugo counts (connections, disconnects by code,
 * subscriptions, commands by method and result, publications, deliveries; the metric names are
 * in centrifugo-v6-notes §7). The node calls these; the default does nothing, and a Prometheus
 * implementation plugs in through `App` without changing a call site.
 *
 * Calls are synchronous and must be cheap: they sit on the connect, command and broadcast paths.
 * `delivered` is called once per broadcast with its count, never once per subscriber.
 */
import { DisconnectError, ReplyError } from '../protocol/errors.js';

export interface NodeMetrics {
  /** A connect succeeded over `transport` (`websocket`, `http_stream`, ...). */
  connected(transport: string): void;
  /** A connection ended with disconnect `code` (3000 for a connection closed by the client). */
  disconnected(code: number): void;
  /** A channel subscription was made on this node (client- or server-side). */
  subscribed(channel: string): void;
  /**
   * A client command was handled: its method (`connect`, `subscribe`, ...), the result code (0 for
   * success, else the error reply's or disconnect's code) and how long it took, in milliseconds.
   */
  command(method: string, code: number, durationMs: number): void;
  /** A publication was handed to the broker (server API or client publish). */
  published(channel: string): void;
  /** One broadcast of a publication reached `count` local subscribers of `channel`. */
  delivered(channel: string, count: number): void;
}

/** The result code a command's failure counts as: its error or disconnect code, else 100 (internal). */
export function resultCode(e: unknown): number {
  if (e instanceof ReplyError) return e.code;
  if (e instanceof DisconnectError) return e.disconnect.code;
  return 100;
}

const nothing = (): void => {};

/** The default: counts nothing. */
export const NO_METRICS: NodeMetrics = Object.freeze({
  connected: nothing,
  disconnected: nothing,
  subscribed: nothing,
  command: nothing,
  published: nothing,
  delivered: nothing,
});
