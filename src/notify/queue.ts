/**
 * The bounded queue between the node and the sender: a ring buffer of at most `capacity` items,
 * allocated as it grows (an idle notifier holds a small array, not `capacity` slots). `push` is
 * what the connect/disconnect paths pay: an array store, no allocation once grown. A full queue
 * refuses the new item; the caller counts it.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.count;
  }

  /** Appends `item`; false (and nothing stored) when the queue holds `capacity` items already. */
  push(item: T): boolean {
    if (this.count >= this.capacity) return false;
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return true;
  }

  /** Removes and returns up to `n` items from the front, oldest first. */
  take(n: number): T[] {
    const k = Math.min(n, this.count);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) {
      out[i] = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.items.length;
    }
    this.count -= k;
    if (this.count === 0) this.head = 0;
    return out;
  }

  /** Removes everything; returns how many items there were. */
  clear(): number {
    const n = this.count;
    this.items = new Array<T | undefined>(16);
    this.head = 0;
    this.count = 0;
    return n;
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.items.length * 2);
    const next = new Array<T | undefined>(size);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
