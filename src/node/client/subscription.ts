/**
 * One channel subscription of one connection, and the live stream-position checks applied to every
 * publication delivered to it.
 */
import type { SubscriptionOptions } from '../events.js';
import type { PreparedPush } from '../prepared.js';
import type { StreamPosition } from '../../protocol/types.js';
import type { TagsPredicate } from '../tags-filter.js';
import type { Session } from './session.js';

/** A publication that arrived while the subscribe command was still in flight. */
export interface BufferedPublication {
  readonly prepared: PreparedPush;
  readonly position: StreamPosition;
}

export class ChannelSubscription {
  /** False while the subscribe is in flight: publications are buffered, then merged. */
  live = false;
  buffer: BufferedPublication[] | null = [];
  /** Last offset delivered to the client (positioned subscriptions). */
  offset = 0;
  epoch = '';
  /** Unix seconds; 0 = never. */
  expireAt: number;
  /** Last time the position was compared with the stream top, ms. */
  positionCheckedAt = 0;
  /** Delta compression negotiated for this subscription. */
  delta = false;
  /** The client holds the previous publication's data, so the next one may be a delta. */
  deltaReady = false;
  /** Client tags filter; publications it rejects are skipped (positions still advance). */
  filter: TagsPredicate | undefined;

  constructor(
    /** The connection holding this subscription (the hub delivers through it). */
    readonly session: Session,
    readonly channel: string,
    public options: SubscriptionOptions,
    /** Established by the server (token channels, personal channel, server API), not the client. */
    readonly serverSide: boolean,
    /** The client refreshes the subscription token itself. */
    readonly clientSideRefresh: boolean,
  ) {
    this.expireAt = options.expireAt;
  }

  get positioned(): boolean {
    return this.options.enablePositioning || this.options.enableRecovery;
  }

  /**
   * Applies the live positioning rules to an incoming publication.
   * Returns `deliver`, `skip` (a late duplicate) or `gap` (insufficient state: the client
   * missed something and must resubscribe or reconnect). A publication kept out of history
   * (`skip_history`, offset 0) has no place in the stream: it is delivered and moves nothing.
   */
  advance(position: StreamPosition): 'deliver' | 'skip' | 'gap' {
    if (!this.positioned || position.offset === 0) return 'deliver';
    if (position.epoch !== this.epoch) {
      // A subscription positioned on an empty stream adopts the first epoch it sees.
      if (this.epoch !== '') return 'gap';
      this.epoch = position.epoch;
    }
    const expected = this.offset + 1;
    if (position.offset < expected) return 'skip';
    if (position.offset > expected) return 'gap';
    this.offset = position.offset;
    return 'deliver';
  }
}
