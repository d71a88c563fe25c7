/**
 * The storage half of the memory engine: history streams and the idempotency cache, in process
 * memory (they vanish on restart, so a restart means new epochs and clients get
 * `recovered: false`). Delivery is not done here: `publish` says what to broadcast and the
 * `MemoryBroker`s sharing this store deliver it to their nodes (see broker.ts).
 *
 * Concurrency: every method runs to completion synchronously, so calls are applied in call order:
 * a burst of publishes gets consecutive offsets in call order.
 *
 * Time: all TTLs are checked lazily against `now()` on every access, so results are exact whatever
 * the sweep does. One shared, unref'd interval (not a timer per channel or key) only reclaims
 * memory of streams and idempotency results nobody touches any more (see `ExpiryIndex`).
 */
import type {
  HistoryOptions,
  HistoryResult,
  PublishOptions,
  PublishResult,
} from '../types.js';
import type { Publication, StreamPosition } from '../../protocol/types.js';
import { ExpiryIndex, NO_BUCKET } from './expiry.js';
import { MemoryStream } from './stream.js';

/** Centrifugo's `history_meta_ttl` default: 720h (spec §5.6). */
export const DEFAULT_HISTORY_META_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** How long a publish result is remembered for its idempotency key: 5 minutes (spec §5.2). */
export const DEFAULT_IDEMPOTENT_RESULT_TTL_MS = 5 * 60 * 1000;
export const DEFAULT_SWEEP_INTERVAL_MS = 1000;

export interface MemoryStoreOptions {
  /** Clock in ms since the Unix epoch, for TTLs. Default `Date.now`. */
  now?: () => number;
  /**
   * Meta TTL used when a call passes none (`history` with `metaTtlMs` 0 or absent, or a publish
   * whose `history.metaTtlMs` is 0). Default 30 days.
   */
  historyMetaTtlMs?: number;
  /**
   * How often expired streams and idempotency results are reclaimed, in ms; also the finest
   * granularity of that reclaiming. 0 disables the timer (call `sweep()` yourself). Default 1000.
   * Does not affect results: expiry is always checked on access.
   */
  sweepIntervalMs?: number;
}

/** A remembered publish result for one (channel, idempotency key). */
interface IdempotentResult {
  offset: number;
  epoch: string;
  expireAt: number;
  expiryBucket: number;
}

const NO_HISTORY_POSITION: Readonly<StreamPosition> = Object.freeze({ offset: 0, epoch: '' });

/**
 * What a publish asks the brokers to broadcast: the publication (a fresh object each call; stored
 * records stay frozen), its position and, for deltas, the previous publication. Absent when the
 * publish was suppressed.
 */
export interface Broadcast {
  pub: Publication;
  position: StreamPosition;
  prev: Publication | undefined;
}

export interface StoreOutcome {
  result: PublishResult;
  broadcast: Broadcast | undefined;
}

export class MemoryStore {
  private readonly now: () => number;
  private readonly defaultMetaTtlMs: number;
  private readonly sweepIntervalMs: number;
  private readonly streams = new Map<string, MemoryStream>();
  /** Keyed by `idempotencyCacheKey(channel, key)`. */
  private readonly idempotent = new Map<string, IdempotentResult>();
  private readonly streamExpiry: ExpiryIndex<string>;
  private readonly idempotentExpiry: ExpiryIndex<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.defaultMetaTtlMs = positiveOr(opts.historyMetaTtlMs, DEFAULT_HISTORY_META_TTL_MS);
    const sweep = opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (!(sweep >= 0)) throw new RangeError(`memory engine: sweepIntervalMs must be >= 0, got ${sweep}`);
    this.sweepIntervalMs = sweep;
    const resolution = sweep > 0 ? sweep : DEFAULT_SWEEP_INTERVAL_MS;
    this.streamExpiry = new ExpiryIndex(resolution);
    this.idempotentExpiry = new ExpiryIndex(resolution);
  }

  /** Starts the sweep timer (idempotent). */
  start(): void {
    if (this.sweepIntervalMs > 0 && this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
      // Reclaiming memory is no reason to keep the process alive.
      this.timer.unref();
    }
  }

  publish(channel: string, data: Uint8Array, opts: PublishOptions): StoreOutcome {
    const now = this.now();
    let cacheKey: string | undefined;
    if (opts.idempotencyKey) {
      cacheKey = idempotencyCacheKey(channel, opts.idempotencyKey);
      const hit = this.idempotent.get(cacheKey);
      if (hit !== undefined && now < hit.expireAt) {
        return { result: { position: { offset: hit.offset, epoch: hit.epoch }, suppressed: true }, broadcast: undefined };
      }
    }
    const h = opts.history;
    const outcome = h !== undefined && h.size > 0 && h.ttlMs > 0
      ? this.publishToStream(channel, data, opts, h.size, h.ttlMs, h.metaTtlMs, now)
      : publishNoHistory(data, opts);
    if (cacheKey !== undefined && !outcome.result.suppressed) {
      this.rememberResult(cacheKey, outcome.result.position, now + positiveOr(opts.idempotentResultTtlMs, DEFAULT_IDEMPOTENT_RESULT_TTL_MS), now);
    }
    return outcome;
  }

  /**
   * Reads the stream per spec §5.3; creates the meta (new epoch, offset 0) if it does not exist and
   * refreshes its TTL either way. When `since.epoch` is non-empty and differs from the current
   * epoch, returns no publications and the current top: the CALLER turns that into error 112
   * (unrecoverable position) — the broker reports facts, the node decides what they mean.
   */
  history(channel: string, opts: HistoryOptions): HistoryResult {
    const now = this.now();
    const stream = this.touch(channel, now, positiveOr(opts.metaTtlMs, this.defaultMetaTtlMs));
    this.scheduleStream(channel, stream, now);
    const position = stream.position();
    const { since, limit, reverse } = opts.filter;
    if (limit === 0) return { publications: [], position };
    if (since !== undefined && since.epoch !== '' && since.epoch !== stream.epoch) return { publications: [], position };
    return { publications: stream.read(since?.offset, limit, reverse === true), position };
  }

  /** Drops the publications, keeps top offset, epoch and version. No-op for an unknown channel. */
  removeHistory(channel: string): void {
    const stream = this.liveStream(channel, this.now());
    stream?.clear();
  }

  /** Stops the sweep timer. Stored state stays readable (lazy expiry still applies). */
  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * Reclaims streams whose meta expired, empties streams whose publications expired, and forgets
   * expired idempotency results. The timer calls it every `sweepIntervalMs`; public for tests and
   * for embedders that disable the timer.
   */
  sweep(): void {
    const now = this.now();
    this.streamExpiry.drain(now, (channel) => {
      const stream = this.streams.get(channel);
      if (stream === undefined) return;
      stream.expiryBucket = NO_BUCKET;
      if (this.expire(channel, stream, now)) this.scheduleStream(channel, stream, now);
    });
    this.idempotentExpiry.drain(now, (key) => {
      const entry = this.idempotent.get(key);
      if (entry === undefined) return;
      entry.expiryBucket = NO_BUCKET;
      if (now >= entry.expireAt) this.idempotent.delete(key);
      else entry.expiryBucket = this.idempotentExpiry.schedule(key, entry.expireAt, now, NO_BUCKET);
    });
  }

  /** How much state is held (streams with live meta, remembered idempotent results); diagnostics. */
  stats(): { streams: number; idempotentResults: number } {
    return { streams: this.streams.size, idempotentResults: this.idempotent.size };
  }

  private publishToStream(
    channel: string,
    data: Uint8Array,
    opts: PublishOptions,
    size: number,
    ttlMs: number,
    metaTtlMs: number,
    now: number,
  ): StoreOutcome {
    const stream = this.touch(channel, now, positiveOr(metaTtlMs, this.defaultMetaTtlMs));
    const version = opts.version ?? 0;
    if (version > 0) {
      const versionEpoch = opts.versionEpoch ?? '';
      // A publish without a version epoch is compared with whatever epoch the stream holds.
      if ((versionEpoch === '' || versionEpoch === stream.versionEpoch) && version <= stream.version) {
        this.scheduleStream(channel, stream, now);
        return { result: { position: stream.position(), suppressed: true }, broadcast: undefined };
      }
      stream.version = version;
      stream.versionEpoch = versionEpoch;
    }
    const prev = opts.useDelta === true ? stream.last() : undefined;
    const stored = stream.append(data, opts.clientInfo, opts.tags, now, size);
    stream.pubsExpireAt = now + ttlMs;
    this.scheduleStream(channel, stream, now);
    const position = stream.position();
    // Copies: the stored records are frozen and the node may adjust what it is given.
    return { result: { position, suppressed: false }, broadcast: { pub: { ...stored }, position, prev: prev === undefined ? undefined : { ...prev } } };
  }

  /** The channel's stream after lazy expiry, created if missing, with its meta TTL refreshed. */
  private touch(channel: string, now: number, metaTtlMs: number): MemoryStream {
    let stream = this.liveStream(channel, now);
    if (stream === undefined) {
      stream = new MemoryStream();
      this.streams.set(channel, stream);
    }
    stream.metaExpireAt = now + metaTtlMs;
    return stream;
  }

  /** The channel's stream after lazy expiry, or undefined if there is none (or its meta expired). */
  private liveStream(channel: string, now: number): MemoryStream | undefined {
    const stream = this.streams.get(channel);
    if (stream === undefined || !this.expire(channel, stream, now)) return undefined;
    return stream;
  }

  /**
   * Applies TTLs: an expired meta drops the stream (the next access starts a new epoch at offset
   * 0); expired publications are cleared with the position kept. Returns whether it still exists.
   */
  private expire(channel: string, stream: MemoryStream, now: number): boolean {
    if (now >= stream.metaExpireAt) {
      this.streamExpiry.remove(channel, stream.expiryBucket);
      this.streams.delete(channel);
      return false;
    }
    if (stream.length > 0 && now >= stream.pubsExpireAt) stream.clear();
    return true;
  }

  /** Indexes the stream under its next deadline: publications if any are held, else the meta. */
  private scheduleStream(channel: string, stream: MemoryStream, now: number): void {
    const at = stream.length > 0 ? Math.min(stream.pubsExpireAt, stream.metaExpireAt) : stream.metaExpireAt;
    stream.expiryBucket = this.streamExpiry.schedule(channel, at, now, stream.expiryBucket);
  }

  private rememberResult(key: string, position: StreamPosition, expireAt: number, now: number): void {
    let entry = this.idempotent.get(key);
    if (entry === undefined) {
      entry = { offset: position.offset, epoch: position.epoch, expireAt, expiryBucket: NO_BUCKET };
      this.idempotent.set(key, entry);
    } else {
      entry.offset = position.offset;
      entry.epoch = position.epoch;
      entry.expireAt = expireAt;
    }
    entry.expiryBucket = this.idempotentExpiry.schedule(key, expireAt, now, entry.expiryBucket);
  }
}

/** Unambiguous composite key: the channel's length prefix keeps `("a:b", "c")` and `("a", "b:c")` apart. */
function idempotencyCacheKey(channel: string, key: string): string {
  return `${channel.length}:${channel}:${key}`;
}

/** `value` when it is a positive number, else `fallback` (0 and absent both mean "default"). */
function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

/** A publish without history: no offset, nothing stored. */
function publishNoHistory(data: Uint8Array, opts: PublishOptions): StoreOutcome {
  const pub: Publication = { data, offset: 0 };
  if (opts.clientInfo !== undefined) pub.info = opts.clientInfo;
  if (opts.tags !== undefined) pub.tags = opts.tags;
  return { result: { position: { ...NO_HISTORY_POSITION }, suppressed: false }, broadcast: { pub, position: { ...NO_HISTORY_POSITION }, prev: undefined } };
}
