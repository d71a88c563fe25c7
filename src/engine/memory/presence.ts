/**
 * Single-process PresenceManager (spec §6, §9.2): channel → client ID → ClientInfo, without TTLs
 * (entries live until removed; `addPresence` on an existing client just replaces its info).
 *
 * Each channel also keeps a per-user connection count so `presenceStats` is O(1) instead of a
 * scan; every anonymous connection has user `""` and so they count as a single user together.
 * A channel whose last entry is removed is deleted, so abandoned channels hold no memory.
 *
 * Stored infos are private copies, and `presence` returns fresh copies: neither the caller that
 * added an entry nor one that reads it can change what is stored. Byte fields (`connInfo`,
 * `chanInfo`) are shared and must be treated as immutable.
 */
import type { EngineHealth, PresenceManager, PresenceStats } from '../types.js';
import type { ClientInfo } from '../../protocol/types.js';

interface ChannelPresence {
  clients: Map<string, ClientInfo>;
  /** User ID → number of its entries in `clients`. */
  users: Map<string, number>;
}

export class MemoryPresenceManager implements PresenceManager {
  private readonly channels = new Map<string, ChannelPresence>();

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const ch = this.channels.get(channel);
    const out: Record<string, ClientInfo> = {};
    if (ch === undefined) return out;
    // defineProperty, not `out[id] = …`: any ID (even `__proto__`) becomes a plain own key.
    for (const [client, info] of ch.clients) {
      Object.defineProperty(out, client, { value: { ...info }, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const ch = this.channels.get(channel);
    if (ch === undefined) return { numClients: 0, numUsers: 0 };
    return { numClients: ch.clients.size, numUsers: ch.users.size };
  }

  async addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    let ch = this.channels.get(channel);
    if (ch === undefined) {
      ch = { clients: new Map(), users: new Map() };
      this.channels.set(channel, ch);
    }
    const previous = ch.clients.get(clientId);
    if (previous !== undefined) release(ch.users, previous.user);
    ch.clients.set(clientId, { ...info });
    ch.users.set(info.user, (ch.users.get(info.user) ?? 0) + 1);
  }

  /**
   * Removes the client's entry; a no-op if absent. The user count uses the stored entry's user,
   * so `userId` (needed by engines that index presence per user) cannot skew it.
   */
  async removePresence(channel: string, clientId: string, _userId: string): Promise<void> {
    const ch = this.channels.get(channel);
    if (ch === undefined) return;
    const previous = ch.clients.get(clientId);
    if (previous === undefined) return;
    ch.clients.delete(clientId);
    release(ch.users, previous.user);
    if (ch.clients.size === 0) this.channels.delete(channel);
  }

  health(): EngineHealth {
    return { ok: true };
  }

  /** Nothing to stop: memory presence has no timers. State is kept. */
  async close(): Promise<void> {}
}

function release(users: Map<string, number>, user: string): void {
  const n = users.get(user) ?? 0;
  if (n <= 1) users.delete(user);
  else users.set(user, n - 1);
}
