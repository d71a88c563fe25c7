/**
 * A coarse deadline index: the memory engine's answer to "which entries may have expired by now?"
 * without a timer per entry and without scanning every entry on each sweep.
 *
 * Correctness never depends on this index. Owners always check deadlines lazily on access; the
 * index only lets a periodic sweep find entries nobody touches any more and free their memory.
 * That is why it may run late, and why it is built to be cheap on the hot path instead of exact:
 *
 * - Deadlines are rounded *up* into buckets. A deadline `d` ms away lands in a bucket whose width is
 *   `resolutionMs` doubled until it is at least d/64 (a hierarchical timing wheel in one map). So an
 *   entry is found at most ~3 % of its TTL (or one resolution) after it expired, the number of live
 *   buckets stays small (about 64 per power-of-two level), and an entry refreshed on every publish
 *   only moves between buckets when its rounded deadline changes — a 30-day meta TTL moves about
 *   twice a day, a 5-minute history TTL every few seconds.
 * - The owner stores which bucket a key is in (returned by `schedule`) on its own entry object, so
 *   the index needs no key → bucket map of its own.
 */

/** "Not in any bucket". Bucket times are always finite. */
export const NO_BUCKET = Number.NEGATIVE_INFINITY;

/** Deadlines up to this many resolutions away get the finest bucket width. */
const FINE_SLOTS = 64;

export class ExpiryIndex<K> {
  /** Bucket time → keys whose deadline is at or before it. Drained once `now >= bucket time`. */
  private readonly buckets = new Map<number, Set<K>>();
  /** Binary min-heap of the bucket times present in `buckets` (each pushed once, on creation). */
  private readonly heap: number[] = [];

  /** `resolutionMs` is the finest bucket width, normally the sweep interval. */
  constructor(private readonly resolutionMs: number) {
    if (!(resolutionMs > 0)) throw new RangeError(`ExpiryIndex: resolutionMs must be > 0, got ${resolutionMs}`);
  }

  /**
   * Makes sure `key` is drained no earlier than `at` (ms, same clock as `now`). `prev` is the
   * bucket returned by the previous call for this key (or `NO_BUCKET`); the result must be stored
   * and passed back next time.
   */
  schedule(key: K, at: number, now: number, prev: number): number {
    const bucket = this.bucketFor(at, now);
    if (bucket === prev) return prev;
    if (prev !== NO_BUCKET) this.buckets.get(prev)?.delete(key);
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
      heapPush(this.heap, bucket);
    }
    set.add(key);
    return bucket;
  }

  /** Forgets `key` (it was deleted by its owner). `prev` is its current bucket. */
  remove(key: K, prev: number): void {
    if (prev !== NO_BUCKET) this.buckets.get(prev)?.delete(key);
  }

  /**
   * Hands every key whose bucket is due to `onDue`. Such keys are no longer indexed when `onDue`
   * runs: the owner must reset its stored bucket to `NO_BUCKET`, then delete the entry if it
   * expired or `schedule` it again if it was refreshed meanwhile.
   */
  drain(now: number, onDue: (key: K) => void): void {
    const heap = this.heap;
    while (heap.length > 0 && heap[0] <= now) {
      const bucket = heapPop(heap);
      const set = this.buckets.get(bucket);
      if (set === undefined) continue;
      this.buckets.delete(bucket);
      for (const key of set) onDue(key);
    }
  }

  clear(): void {
    this.buckets.clear();
    this.heap.length = 0;
  }

  /** Number of buckets alive (including emptied ones not yet due); for tests and diagnostics. */
  get bucketCount(): number {
    return this.buckets.size;
  }

  /** The end of the bucket `at` falls into; always strictly greater than `at`. */
  private bucketFor(at: number, now: number): number {
    const fine = this.resolutionMs * FINE_SLOTS;
    const ahead = at - now;
    const width = ahead <= fine ? this.resolutionMs : this.resolutionMs * 2 ** Math.ceil(Math.log2(ahead / fine));
    return (Math.floor(at / width) + 1) * width;
  }
}

function heapPush(heap: number[], value: number): void {
  let i = heap.length;
  heap.push(value);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0];
  const last = heap.pop() as number;
  const n = heap.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r] < heap[l] ? r : l;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
