/**
 * One PUB/SUB connection of a shard's pool (pubsub-pool.ts) and what its channels cost: the bytes
 * of the confirmations Redis sends back when the client subscribes them all again.
 */
import type { Conn, Pinger } from './clients.js';

/**
 * Confirmation bytes a connection's channels may add up to (the default soft limit, a quarter of
 * the hard one): about 145,000 channels of 10-byte names, 27,000 of 255 bytes.
 */
export const PUBSUB_REPLY_BUDGET_BYTES = 8 * 1024 * 1024;

/**
 * Bytes of one channel's SUBSCRIBE confirmation beyond the name, rounded up: a RESP3 push
 * `>3`, `$9 subscribe`, `$N name`, `:count`, with their CRLFs.
 */
const CONFIRMATION_OVERHEAD_BYTES = 48;

/** What a channel adds to its connection's resubscribe answer, bytes. */
export function costOf(channel: string): number {
  return Buffer.byteLength(channel) + CONFIRMATION_OVERHEAD_BYTES;
}

/** A PUB/SUB command Redis did not answer within its deadline; it may still be applied later. */
export class NotConfirmedError extends Error {
  override readonly name = 'NotConfirmedError';
}

/** One PUB/SUB connection and the channels it holds. */
export interface PubSubConn {
  readonly conn: Conn;
  readonly pinger: Pinger;
  /** `pubsub`, then `pubsub 2`, `pubsub 3`...: how health reasons and logs name it. */
  readonly name: string;
  readonly channels: Set<string>;
  /**
   * Channels node-redis still holds on it although the node left them: their UNSUBSCRIBE failed
   * (the connection dropped), so the client subscribes them again when it reconnects, and
   * `unsubscribeLeftovers` undoes that. A subscribe of one of them takes it back.
   */
  readonly leftovers: Set<string>;
  /** Confirmation bytes its channels and leftovers add up to. */
  bytes: number;
  /**
   * Set when its first connect failed, or it was replaced, and it was destroyed: whatever it
   * reports later is moot.
   */
  dropped: boolean;
  /** Being replaced (`replace`): it takes no new channel. */
  retired: boolean;
  /**
   * Its delivery probes (delivery-probe.ts), when the pool probes: one channel, or on a Cluster
   * with sharded PUB/SUB one per master, whose connection it reaches. Set as it connects.
   */
  readonly probes: ProbeTarget[];
}

/** A delivery probe's channel; `via`: the master it travels through, where there are several. */
export interface ProbeTarget {
  readonly channel: string;
  readonly via: string | undefined;
}
