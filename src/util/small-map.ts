/**
 * A Map for keys that usually number zero or one: the lone entry is held in two fields and a real
 * Map is created only for a second key. A connection's subscriptions are the use: an empty or
 * one-entry Map still costs a hash table of a few hundred bytes, per connection.
 */
export class SmallMap<K, V> {
  private k: K | undefined;
  private v: V | undefined;
  private one = false;
  private map: Map<K, V> | undefined;

  get size(): number {
    return this.map !== undefined ? this.map.size : this.one ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.map !== undefined) return this.map.get(key);
    return this.one && this.k === key ? this.v : undefined;
  }

  has(key: K): boolean {
    if (this.map !== undefined) return this.map.has(key);
    return this.one && this.k === key;
  }

  set(key: K, value: V): void {
    if (this.map !== undefined) {
      this.map.set(key, value);
    } else if (!this.one || this.k === key) {
      this.one = true;
      this.k = key;
      this.v = value;
    } else {
      this.map = new Map([[this.k as K, this.v as V], [key, value]]);
      this.one = false;
      this.k = undefined;
      this.v = undefined;
    }
  }

  delete(key: K): boolean {
    if (this.map !== undefined) return this.map.delete(key);
    if (!this.one || this.k !== key) return false;
    this.one = false;
    this.k = undefined;
    this.v = undefined;
    return true;
  }

  /** A snapshot of the values (safe to iterate while the map changes). */
  values(): V[] {
    if (this.map !== undefined) return [...this.map.values()];
    return this.one ? [this.v as V] : [];
  }
}
