/**
 * A key → values map that stores a lone value directly and switches to a Set only for a second
 * one. Most users hold one connection and many channels one subscriber on a node, so this saves
 * a Set (a few hundred bytes) per key where it matters: tens of thousands of idle connections.
 */
export class CompactMultiMap<K, V extends object> {
  private readonly map = new Map<K, V | Set<V>>();

  /** Adds `v` under `key`. Returns true when the key is new. */
  add(key: K, v: V): boolean {
    const cur = this.map.get(key);
    if (cur === undefined) {
      this.map.set(key, v);
      return true;
    }
    if (cur instanceof Set) cur.add(v);
    else if (cur !== v) this.map.set(key, new Set([cur, v]));
    return false;
  }

  /** Removes `v` from `key`. Returns true when `v` was there. */
  delete(key: K, v: V): boolean {
    const cur = this.map.get(key);
    if (cur === undefined) return false;
    if (cur instanceof Set) {
      if (!cur.delete(v)) return false;
      if (cur.size === 1) this.map.set(key, cur.values().next().value as V);
      return true;
    }
    if (cur !== v) return false;
    this.map.delete(key);
    return true;
  }

  /** The lone value, the Set of values, or undefined. Callers branch with `instanceof Set`. */
  get(key: K): V | ReadonlySet<V> | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  count(key: K): number {
    const cur = this.map.get(key);
    return cur === undefined ? 0 : cur instanceof Set ? cur.size : 1;
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** Number of keys. */
  get size(): number {
    return this.map.size;
  }
}

/** Narrows a `CompactMultiMap` value to its Set form. */
export function isMany<V extends object>(v: V | ReadonlySet<V>): v is ReadonlySet<V> {
  return v instanceof Set;
}
