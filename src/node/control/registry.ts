/**
 * The nodes this node knows are alive: each heartbeat refreshes its sender; a sender silent for
 * longer than the TTL, or one that announced its shutdown, is dropped. This node is not in it
 * (its own info is always fresh: see ControlPlane.nodes).
 *
 * A node that announced its shutdown is remembered for a while (10 TTLs) and its heartbeats are
 * ignored: one sent before the announcement may arrive after it (another channel, another
 * shard), and must not bring the node back for a TTL of failed surveys. Node IDs are never
 * reused, so a restarted node comes back under a new one. A node dropped for silence is not
 * remembered: if it was only cut off, its next heartbeat brings it back.
 *
 * Times are ms on a monotonic clock.
 */
import type { NodeInfo } from './messages.js';

interface Entry {
  info: NodeInfo;
  /** ms since the epoch of the last heartbeat. */
  seenAt: number;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, Entry>();
  /** Nodes that announced their shutdown, with when. */
  private readonly stopped = new Map<string, number>();

  /** `ttlMs`: how long a node counts as alive after its last heartbeat. */
  constructor(private readonly ttlMs: number) {}

  /** Records a heartbeat; returns true when the node was not known (false for a stopped one). */
  seen(info: NodeInfo, now: number): boolean {
    if (this.stopped.has(info.uid)) return false;
    const e = this.nodes.get(info.uid);
    if (e === undefined) {
      this.nodes.set(info.uid, { info, seenAt: now });
      return true;
    }
    e.info = info;
    e.seenAt = now;
    return false;
  }

  /** Forgets a node that announced its shutdown; returns whether it was known. */
  stoppedNode(uid: string, now: number): boolean {
    this.stopped.set(uid, now);
    return this.nodes.delete(uid);
  }

  /** Drops nodes silent for longer than the TTL; returns their IDs. */
  prune(now: number): string[] {
    const gone: string[] = [];
    for (const [uid, e] of this.nodes) {
      if (now - e.seenAt > this.ttlMs) {
        this.nodes.delete(uid);
        gone.push(uid);
      }
    }
    for (const [uid, at] of this.stopped) if (now - at > 10 * this.ttlMs) this.stopped.delete(uid);
    return gone;
  }

  has(uid: string): boolean {
    return this.nodes.has(uid);
  }

  ids(): string[] {
    return [...this.nodes.keys()];
  }

  infos(): NodeInfo[] {
    return [...this.nodes.values()].map((e) => e.info);
  }

  get size(): number {
    return this.nodes.size;
  }

  clear(): void {
    this.nodes.clear();
    this.stopped.clear();
  }
}
