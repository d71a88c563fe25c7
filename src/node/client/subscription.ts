/**
 * One channel subscription of one connection: its life (set up → live → removed), its stream
 * position and the live positioning checks applied to every publication delivered to it, its
 * delta state and its expiry. Other files read its state and change it only through its methods.
 */
import type { SubscriptionOptions, SubscriptionStream } from '../events.js';
import type { PreparedPush } from '../prepared.js';
import type { StreamPosition } from '../../protocol/types.js';
import type { TagsPredicate } from '../tags-filter.js';
import type { Session } from './session.js';

/** A publication that arrived while the subscribe command was still in flight. */
export interface BufferedPublication {
  readonly prepared: PreparedPush;
  readonly position: StreamPosition;
}

const NOTHING_BUFFERED: readonly BufferedPublication[] = Object.freeze([]);

export class ChannelSubscription {
  #live = false;
  /** Publications held while the subscribe is in flight; null once live. */
  #buffer: BufferedPublication[] | null = [];
  #offset = 0;
  #epoch = '';
  #expireAt: number;
  #positionCheckedAt = 0;
  #delta = false;
  #deltaReady = false;
  #options: SubscriptionOptions;
  /** A server-side refresh (`NodeHooks.subRefreshExpired`) is in flight. */
  #refreshing = false;

  constructor(
    /** The connection holding this subscription (the hub delivers through it). */
    readonly session: Session,
    readonly channel: string,
    options: SubscriptionOptions,
    /** Established by the server (token channels, personal channel, server API), not the client. */
    readonly serverSide: boolean,
    /** The client refreshes the subscription token itself. */
    readonly clientSideRefresh: boolean,
    /** Client tags filter; publications it rejects are skipped (positions still advance). */
    readonly filter: TagsPredicate | undefined = undefined,
    /** The backend's own publications for this subscriber (subscribe stream proxy); closed with the subscription. */
    readonly stream: SubscriptionStream | undefined = undefined,
  ) {
    this.#options = options;
    this.#expireAt = options.expireAt;
  }

  get options(): SubscriptionOptions {
    return this.#options;
  }

  /** False while the subscribe is in flight: publications are buffered, then merged. */
  get live(): boolean {
    return this.#live;
  }

  /** Last offset delivered to the client (positioned subscriptions). */
  get offset(): number {
    return this.#offset;
  }

  get epoch(): string {
    return this.#epoch;
  }

  /** Unix seconds; 0 = never. */
  get expireAt(): number {
    return this.#expireAt;
  }

  /** Delta compression negotiated for this subscription. */
  get delta(): boolean {
    return this.#delta;
  }

  /** The client holds the previous publication's data, so the next one may be a delta. */
  get deltaReady(): boolean {
    return this.#deltaReady;
  }

  get positioned(): boolean {
    return this.#options.enablePositioning || this.#options.enableRecovery;
  }

  // ------------------------------------------------------------ setting up

  /** The stream position the client starts from (its recovered or the current top), read at `nowMs`. */
  startAt(position: StreamPosition, nowMs: number): void {
    this.#offset = position.offset;
    this.#epoch = position.epoch;
    this.#positionCheckedAt = nowMs;
  }

  /** Delta compression is on; `ready` when the client already holds a base publication. */
  enableDelta(ready: boolean): void {
    this.#delta = true;
    this.#deltaReady = ready;
  }

  /** Holds a publication that arrived during setup (no-op once live). */
  hold(prepared: PreparedPush, position: StreamPosition): void {
    this.#buffer?.push({ prepared, position });
  }

  /** Marks the subscription live; returns what was held meanwhile, to be replayed in order. */
  goLive(): readonly BufferedPublication[] {
    const held = this.#buffer ?? NOTHING_BUFFERED;
    this.#live = true;
    this.#buffer = null;
    return held;
  }

  // ------------------------------------------------------------ live

  /**
   * Applies the live positioning rules to an incoming publication.
   * Returns `deliver`, `skip` (a late duplicate) or `gap` (insufficient state: the client
   * missed something and must resubscribe or reconnect). A publication kept out of history
   * (`skip_history`, offset 0) has no place in the stream: it is delivered and moves nothing.
   *
   * Late duplicates exist only in the `replaying` of what was held during the subscribe (the
   * subscribe reply may already have carried them). Once live, an offset below the expected one
   * in the same epoch means the stream went backwards: the engine lost publications it had
   * acknowledged (a Redis failover losing unreplicated writes) and is handing their offsets out
   * again. Skipping would drop the new publications silently, so it is a gap too.
   */
  advance(position: StreamPosition, replaying = false): 'deliver' | 'skip' | 'gap' {
    if (!this.positioned || position.offset === 0) return 'deliver';
    if (position.epoch !== this.#epoch) {
      // A subscription positioned on an empty stream adopts the first epoch it sees.
      if (this.#epoch !== '') return 'gap';
      this.#epoch = position.epoch;
    }
    const expected = this.#offset + 1;
    if (position.offset < expected) return replaying ? 'skip' : 'gap';
    if (position.offset > expected) return 'gap';
    this.#offset = position.offset;
    return 'deliver';
  }

  /** A publication went out on a delta subscription; one kept out of history breaks the chain. */
  deltaSent(inStream: boolean): void {
    this.#deltaReady = inStream;
  }

  /**
   * Whether the periodic comparison with the stream top is due (`delayMs` after the last one);
   * when it is, it counts as done at `nowMs`.
   */
  claimPositionCheck(nowMs: number, delayMs: number): boolean {
    if (!this.positioned || delayMs <= 0 || nowMs - this.#positionCheckedAt < delayMs) return false;
    this.#positionCheckedAt = nowMs;
    return true;
  }

  // ------------------------------------------------------------ expiry

  /** New expiry (Unix seconds, 0 = never) and, when given, new channel info. */
  refreshed(expireAt: number, chanInfo: Uint8Array | undefined): void {
    this.#expireAt = expireAt;
    if (chanInfo !== undefined) this.#options = { ...this.#options, chanInfo };
  }

  /**
   * Claims the server-side refresh of an expired subscription; false while one is in flight
   * (the periodic tick may come round again before the hook answers).
   */
  beginServerRefresh(): boolean {
    if (this.#refreshing) return false;
    this.#refreshing = true;
    return true;
  }

  endServerRefresh(): void {
    this.#refreshing = false;
  }
}
