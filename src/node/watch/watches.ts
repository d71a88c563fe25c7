/**
 * This node's admin watchers (watch/events.ts) and the emission of what they follow.
 *
 * Channel watchers see what the broker delivers to this node for the channel; the node keeps the
 * broker subscribed while a channel has a subscriber or a watcher (Node.watchChannel), so a
 * publication made through any node reaches the watcher. A watcher is not a subscriber: it is not
 * counted, not in presence, and a channel held only by watchers is not "occupied" for lifecycle
 * events.
 *
 * User watchers are told about their user's connections on every node: this node announces the
 * users it watches through the control plane, and every node sends a watched user's events to the
 * nodes watching it. With nobody watching, each connect, subscribe, unsubscribe and disconnect
 * costs two size checks here, and the publication fan-out one.
 */
import type { ClientInfo, Publication } from '../../protocol/types.js';
import { CompactMultiMap, isMany } from '../../util/multimap.js';
import type { SubscriptionEnd } from '../lifecycle.js';
import type { ChannelWatchEvent, UserWatchEvent, Watcher } from './events.js';

/** The control plane as user watches use it (ControlPlane implements it). */
export interface UserWatchPlane {
  setWatchedUsers(users: readonly string[]): void;
  nodesWatching(user: string): readonly string[] | undefined;
  sendUserEvent(toNode: string, e: UserWatchEvent): void;
  /** Resolves once every live node has handled what this node sent before. */
  sync(): Promise<void>;
}

export class Watches {
  private readonly channels = new CompactMultiMap<string, Watcher>();
  private readonly users = new CompactMultiMap<string, Watcher>();

  constructor(
    private readonly nodeName: string,
    private readonly plane: UserWatchPlane,
  ) {}

  /** Whether any channel is watched on this node (checked on every broker delivery). */
  get watchingChannels(): boolean {
    return this.channels.size !== 0;
  }

  /** Adds a channel watcher; true when it is the channel's first. */
  addChannel(channel: string, w: Watcher): boolean {
    const first = !this.channels.has(channel);
    this.channels.add(channel, w);
    return first;
  }

  /** Removes a channel watcher; true when it was the channel's last (false when not registered). */
  removeChannel(channel: string, w: Watcher): boolean {
    return this.channels.delete(channel, w) && !this.channels.has(channel);
  }

  /** Whether watchers keep the broker subscribed to `channel`. */
  holdsChannel(channel: string): boolean {
    return this.channels.size !== 0 && this.channels.has(channel);
  }

  publication(channel: string, pub: Publication): void {
    const ws = this.channels.get(channel);
    if (ws !== undefined) emit(ws, { type: 'publication', channel, pub });
  }

  joinLeave(channel: string, type: 'join' | 'leave', info: ClientInfo): void {
    const ws = this.channels.get(channel);
    if (ws !== undefined) emit(ws, { type, channel, info } satisfies ChannelWatchEvent);
  }

  /**
   * Streams `user`'s connects, subscriptions and disconnects on every node to `w`. Resolves, with
   * the function that ends the watch, once every live node has confirmed it knows (so no event is
   * missed after that); rejects, keeping nothing, when a node does not confirm in time.
   */
  async watchUser(user: string, w: Watcher): Promise<() => void> {
    this.addUser(user, w);
    const stop = (): void => this.removeUser(user, w);
    try {
      await this.plane.sync();
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  private addUser(user: string, w: Watcher): void {
    const first = !this.users.has(user);
    this.users.add(user, w);
    if (first) this.plane.setWatchedUsers([...this.users.keys()]);
  }

  private removeUser(user: string, w: Watcher): void {
    if (this.users.delete(user, w) && !this.users.has(user)) this.plane.setWatchedUsers([...this.users.keys()]);
  }

  connected(client: string, user: string, transport: string): void {
    if (this.watched(user)) this.emitUser({ type: 'connect', user, client, transport, node: this.nodeName, time: Date.now() });
  }

  subscribed(client: string, user: string, channel: string): void {
    if (this.watched(user)) this.emitUser({ type: 'subscribe', user, client, channel, node: this.nodeName, time: Date.now() });
  }

  unsubscribed(client: string, user: string, channel: string, end: SubscriptionEnd): void {
    if (this.watched(user)) this.emitUser({ type: 'unsubscribe', user, client, channel, code: end.code, reason: end.reason, node: this.nodeName, time: Date.now() });
  }

  disconnected(client: string, user: string, code: number, reason: string): void {
    if (this.watched(user)) this.emitUser({ type: 'disconnect', user, client, code, reason, node: this.nodeName, time: Date.now() });
  }

  /** An event another node sent for a user watched here. */
  remoteUserEvent(e: UserWatchEvent): void {
    const ws = this.users.get(e.user);
    if (ws !== undefined) emit(ws, e);
  }

  /** Ends every watch (shutdown): each watcher is told once and forgotten. */
  endAll(reason: string): void {
    const all = new Set<Watcher>();
    for (const map of [this.channels, this.users]) {
      for (const k of [...map.keys()]) {
        const ws = map.get(k);
        if (ws === undefined) continue;
        for (const w of isMany(ws) ? [...ws] : [ws]) {
          all.add(w);
          map.delete(k, w);
        }
      }
    }
    this.plane.setWatchedUsers([]);
    for (const w of all) w.end(reason);
  }

  private watched(user: string): boolean {
    return (this.users.size !== 0 && this.users.has(user)) || this.plane.nodesWatching(user) !== undefined;
  }

  private emitUser(e: UserWatchEvent): void {
    const ws = this.users.get(e.user);
    if (ws !== undefined) emit(ws, e);
    for (const node of this.plane.nodesWatching(e.user) ?? []) this.plane.sendUserEvent(node, e);
  }
}

function emit(ws: Watcher | ReadonlySet<Watcher>, e: ChannelWatchEvent | UserWatchEvent): void {
  if (!isMany(ws)) return ws.event(e);
  for (const w of ws) w.event(e);
}
