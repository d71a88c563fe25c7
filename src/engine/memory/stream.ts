/**
 * One channel's history stream in the memory engine: meta (epoch, top offset, entire-state
 * version) plus a bounded window of the newest publications (spec §5.1).
 *
 * Offsets are contiguous: publication `n` gets offset `top + 1`, trimming and expiry only ever drop
 * the oldest ones, and `clear()` drops all but keeps `top`. So the window always holds exactly the
 * offsets `top - length + 1 … top`, and a `since` lookup is index arithmetic, not a search.
 *
 * Storage is a ring buffer that grows on demand up to `size` (a channel with `history_size: 1000`
 * that saw three publications holds a 3-slot array, not 1000), then overwrites the oldest slot.
 *
 * Stored publications are frozen and never handed out: readers get shallow copies they may adjust
 * (`delta`, `channel`, ...). Nested `tags`/`info` are the engine's own frozen copies. `data` bytes
 * are shared, never copied: the engine takes ownership of a publish's `data`, and nobody may write
 * into publication bytes after publishing (the hub likewise shares them between subscribers).
 *
 * TTL bookkeeping is plain fields the broker reads and writes; this class keeps no clock.
 */
import type { ClientInfo, Publication, StreamPosition } from '../../protocol/types.js';
import { generateEpoch } from '../../util/epoch.js';
import { NO_BUCKET } from './expiry.js';

export class MemoryStream {
  /** Stream generation; fixed for the life of this object (a new meta is a new object). */
  readonly epoch: string = generateEpoch();
  /** Offset of the newest publication ever appended in this epoch; 0 before the first. */
  top = 0;
  /** When the publications expire as a whole (ms): `history_ttl` after the last append. */
  pubsExpireAt = 0;
  /** When the meta (and with it the stream) is dropped (ms): meta TTL after last publish/read. */
  metaExpireAt = 0;
  /** Entire-state versioning (spec §5.2): last accepted version within `versionEpoch`. */
  version = 0;
  versionEpoch = '';
  /** The broker's `ExpiryIndex` bucket for this stream. */
  expiryBucket = NO_BUCKET;

  /** Ring storage; while `buf.length < capacity`, `head` is 0 and `buf` is in offset order. */
  private buf: Publication[] = [];
  /** Index of the oldest publication once the ring is full. */
  private head = 0;
  private capacity = 0;

  /** Publications currently held. */
  get length(): number {
    return this.buf.length;
  }

  position(): StreamPosition {
    return { offset: this.top, epoch: this.epoch };
  }

  /**
   * Appends a publication built from the arguments, trimming the stream to `size` (> 0), and
   * returns the stored (frozen) record. `tags` and `info` are copied so the publisher may reuse its
   * objects.
   */
  append(data: Uint8Array, info: ClientInfo | undefined, tags: Record<string, string> | undefined, time: number, size: number): Publication {
    if (size !== this.capacity) this.resize(size);
    // `time` is not stored: Centrifugo leaves Publication.time unset for stream publications.
    const pub: Publication = { data, offset: ++this.top };
    if (info !== undefined) pub.info = Object.freeze({ ...info });
    if (tags !== undefined) pub.tags = Object.freeze({ ...tags });
    Object.freeze(pub);
    const buf = this.buf;
    if (buf.length < this.capacity) {
      buf.push(pub);
    } else {
      buf[this.head] = pub;
      this.head = this.head + 1 === buf.length ? 0 : this.head + 1;
    }
    return pub;
  }

  /** The newest stored publication, if any (frozen: copy before handing it out). */
  last(): Publication | undefined {
    const n = this.buf.length;
    if (n === 0) return undefined;
    return this.buf[(this.head + n - 1) % n];
  }

  /** Drops every publication; `top`, `epoch` and the version survive (spec `history_remove`). */
  clear(): void {
    this.buf = [];
    this.head = 0;
  }

  /**
   * Copies of stored publications (spec §5.3), at most `limit` of them (negative = no limit; the
   * caller handles `limit == 0`, which means "position only").
   * - forward: ascending from `since + 1`, or from the oldest held when `since` is absent or was
   *   already trimmed away (the gap is the caller's to detect); empty when `since >= top`.
   * - reverse: descending from `since - 1`, or from the newest when `since` is absent, 0 (a caller
   *   validation error, treated as "from the top") or beyond the top.
   */
  read(since: number | undefined, limit: number, reverse: boolean): Publication[] {
    const n = this.buf.length;
    if (n === 0) return [];
    const first = this.top - n + 1;
    const max = limit < 0 ? n : Math.min(limit, n);
    const out: Publication[] = [];
    if (!reverse) {
      let offset = since === undefined ? first : Math.max(since + 1, first);
      for (; offset <= this.top && out.length < max; offset++) out.push(this.copyAt(offset - first));
    } else {
      let offset = since === undefined || since <= 0 ? this.top : Math.min(since - 1, this.top);
      for (; offset >= first && out.length < max; offset--) out.push(this.copyAt(offset - first));
    }
    return out;
  }

  /** Shallow copy of the `i`-th oldest held publication. */
  private copyAt(i: number): Publication {
    const n = this.buf.length;
    return { ...this.buf[(this.head + i) % n] };
  }

  /** Re-lays the ring in offset order with the newest `size` publications and a new capacity. */
  private resize(size: number): void {
    const n = this.buf.length;
    const keep = Math.min(n, size);
    if (this.head !== 0 || keep < n) {
      const next: Publication[] = new Array<Publication>(keep);
      for (let i = 0; i < keep; i++) next[i] = this.buf[(this.head + n - keep + i) % n];
      this.buf = next;
      this.head = 0;
    }
    this.capacity = size;
  }
}
