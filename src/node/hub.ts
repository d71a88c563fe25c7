/**
 * The local registry: this node's connections, users and channel subscribers, and the fan-out of
 * broker deliveries to them. The hub never knows which broker is in use, and brokers never see a
 * session. A broadcast builds one PreparedPush and hands the same object to every subscriber, so
 * encoding happens once per protocol variant, not once per subscriber.
 */
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';
import { PreparedPush } from './prepared.js';
import type { Session } from './client/session.js';
import { CompactMultiMap, isMany } from '../util/multimap.js';
import type { ChannelSubscription } from './client/subscription.js';
import { deliverToSubscription } from './client/deliver.js';

export class Hub {
  /** Connected (authenticated) sessions by client ID. */
  private readonly sessions = new Map<string, Session>();
  /** Sessions not yet connected; kept so shutdown can close them too. */
  private readonly pendingSessions = new Set<Session>();
  private readonly users = new CompactMultiMap<string, Session>();
  private readonly bySessionId = new Map<string, Session>();
  /** Channel → its subscriptions on this node (client-side and server-side). */
  private readonly channels = new CompactMultiMap<string, ChannelSubscription>();
  private numSubscriptions = 0;

  addPending(s: Session): void {
    this.pendingSessions.add(s);
    if (s.sessionId !== '') this.bySessionId.set(s.sessionId, s);
  }

  addSession(s: Session): void {
    this.pendingSessions.delete(s);
    this.sessions.set(s.clientId, s);
    this.users.add(s.user, s);
  }

  removeSession(s: Session): void {
    this.pendingSessions.delete(s);
    if (s.sessionId !== '') this.bySessionId.delete(s.sessionId);
    if (this.sessions.get(s.clientId) !== s) return;
    this.sessions.delete(s.clientId);
    this.users.delete(s.user, s);
  }

  /** Adds a subscription. Returns true when it is the channel's first on this node. */
  addSubscription(sub: ChannelSubscription): boolean {
    const first = !this.channels.has(sub.channel);
    const before = this.channels.count(sub.channel);
    this.channels.add(sub.channel, sub);
    this.numSubscriptions += this.channels.count(sub.channel) - before;
    return first;
  }

  /**
   * Removes a subscription. Returns true when it was the channel's last on this node; false when
   * others remain or it was not registered (already removed), so each channel's "first" and
   * "last" alternate.
   */
  removeSubscription(sub: ChannelSubscription): boolean {
    if (!this.channels.delete(sub.channel, sub)) return false;
    this.numSubscriptions--;
    return !this.channels.has(sub.channel);
  }

  /**
   * `prev` is the previous stream publication when the publish asked for deltas. Returns the
   * number of local subscriptions the publication was handed to.
   */
  broadcastPublication(channel: string, pub: Publication, position: StreamPosition, prev?: Publication): number {
    const subs = this.channels.get(channel);
    if (subs === undefined) return 0;
    const prepared = new PreparedPush({ kind: 'pub', channel, pub, epoch: position.epoch }, prev);
    if (!isMany(subs)) {
      deliverToSubscription(subs, prepared, position);
      return 1;
    }
    for (const sub of subs) deliverToSubscription(sub, prepared, position);
    return subs.size;
  }

  /** Returns how many subscriptions it went to. */
  broadcastJoinLeave(channel: string, kind: 'join' | 'leave', info: ClientInfo): number {
    const subs = this.channels.get(channel);
    if (subs === undefined) return 0;
    const prepared = new PreparedPush({ kind, channel, info });
    let n = 0;
    // Join/leave pushes go only to subscriptions that asked for them.
    for (const sub of isMany(subs) ? subs : [subs]) {
      if (sub.live && sub.options.pushJoinLeave) {
        sub.session.sendPrepared(prepared);
        n++;
      }
    }
    return n;
  }

  userConnectionCount(user: string): number {
    return this.users.count(user);
  }

  /** The user's connections on this node (a fresh array; not for hot paths). */
  userSessions(user: string): Session[] {
    const v = this.users.get(user);
    return v === undefined ? [] : isMany(v) ? [...v] : [v];
  }

  session(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  /** Lookup for emulation: by the session ID given in the connect result. */
  sessionBySessionId(sessionId: string): Session | undefined {
    return this.bySessionId.get(sessionId);
  }

  allSessions(): Session[] {
    return [...this.sessions.values(), ...this.pendingSessions];
  }

  /** Visits every live subscription on this node (not for hot paths: metrics scrapes). */
  forEachSubscription(visit: (sub: ChannelSubscription) => void): void {
    for (const ch of this.channels.keys()) {
      const subs = this.channels.get(ch);
      if (subs === undefined) continue;
      if (isMany(subs)) for (const sub of subs) visit(sub);
      else visit(subs);
    }
  }

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  channelSubscriberCount(channel: string): number {
    return this.channels.count(channel);
  }

  /** Open connections, authenticated or not. */
  get numConnections(): number {
    return this.sessions.size + this.pendingSessions.size;
  }
  get numClients(): number {
    return this.sessions.size;
  }
  get numUsers(): number {
    return this.users.size;
  }
  get numChannels(): number {
    return this.channels.size;
  }
  get numSubs(): number {
    return this.numSubscriptions;
  }
}
