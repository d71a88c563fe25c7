/**
 * An empty record for keys that come from outside (channel names, client IDs, tag names): it has no
 * prototype, so `__proto__`, `constructor` or `toString` are ordinary keys. In a `{}` literal,
 * `out["__proto__"] = v` replaces the prototype instead of adding a key, and a lookup of
 * `constructor` finds Object's.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
