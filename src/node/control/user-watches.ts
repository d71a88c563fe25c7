/**
 * Which other nodes watch which users (their admin watch streams): each node sends its whole set in
 * a `watchUsers` command when it changes and with every heartbeat while it is not empty, so a set
 * is forgotten when its node leaves, stops, or stops repeating it for longer than the TTL (the
 * node registry's). Connect, subscribe and disconnect paths ask `nodesWatching` for every event,
 * so the answer for "nobody watches anything" is one size check.
 *
 * Times are ms on a monotonic clock.
 */
interface Entry {
  users: ReadonlySet<string>;
  seenAt: number;
}

export class UserWatchBook {
  private readonly byNode = new Map<string, Entry>();
  /** user → the nodes watching it; rebuilt when a set changes (rare: an admin starts or stops). */
  private index = new Map<string, string[]>();

  constructor(private readonly ttlMs: number) {}

  /** Records `node`'s current set; an empty one forgets the node. */
  set(node: string, users: readonly string[], now: number): void {
    const before = this.byNode.get(node);
    if (users.length === 0) {
      if (before !== undefined) this.drop(node);
      return;
    }
    if (before !== undefined && before.users.size === users.length && users.every((u) => before.users.has(u))) {
      before.seenAt = now;
      return;
    }
    this.byNode.set(node, { users: new Set(users), seenAt: now });
    this.reindex();
  }

  drop(node: string): void {
    if (this.byNode.delete(node)) this.reindex();
  }

  /** Forgets the sets not repeated within the TTL. */
  prune(now: number): void {
    let changed = false;
    for (const [node, e] of this.byNode) {
      if (now - e.seenAt > this.ttlMs) {
        this.byNode.delete(node);
        changed = true;
      }
    }
    if (changed) this.reindex();
  }

  /** The other nodes watching `user`; undefined when none does. */
  nodesWatching(user: string): readonly string[] | undefined {
    return this.index.size === 0 ? undefined : this.index.get(user);
  }

  /** Whether any other node watches any user. */
  get any(): boolean {
    return this.index.size > 0;
  }

  clear(): void {
    this.byNode.clear();
    this.index = new Map();
  }

  private reindex(): void {
    const index = new Map<string, string[]>();
    for (const [node, e] of this.byNode) {
      for (const u of e.users) {
        const nodes = index.get(u);
        if (nodes === undefined) index.set(u, [node]);
        else nodes.push(node);
      }
    }
    this.index = index;
  }
}
