/**
 * The nodes this node knows are alive: each heartbeat refreshes its sender; a sender silent for
 * longer than the TTL, or one that announced its shutdown, is dropped. This node is not in it
 * (its own info is always fresh: see ControlPlane.nodes).
 */
import type { NodeInfo } from './messages.js';

interface Entry {
  info: NodeInfo;
  /** ms since the epoch of the last heartbeat. */
  seenAt: number;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, Entry>();

  /** `ttlMs`: how long a node counts as alive after its last heartbeat. */
  constructor(private readonly ttlMs: number) {}

  /** Records a heartbeat; returns true when the node was not known. */
  seen(info: NodeInfo, now: number): boolean {
    const e = this.nodes.get(info.uid);
    if (e === undefined) {
      this.nodes.set(info.uid, { info, seenAt: now });
      return true;
    }
    e.info = info;
    e.seenAt = now;
    return false;
  }

  /** Forgets a node; returns whether it was known. */
  remove(uid: string): boolean {
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
  }
}
