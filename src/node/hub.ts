/**
 * The local registry: this node's connections, users and channel subscribers, and the fan-out of
 * broker deliveries to them. The hub never knows which broker is in use, and brokers never see a
 * session. A broadcast builds one PreparedPush and hands the same object to every subscriber, so
 * encoding happens once per protocol variant, not once per subscriber.
 */
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';
import { PreparedPush } from './prepared.js';
import type { Session } from './client/session.js';
import type { ChannelSubscription } from './client/subscription.js';

export class Hub {
  /** Connected (authenticated) sessions by client ID. */
  private readonly sessions = new Map<string, Session>();
  /** Sessions not yet connected; kept so shutdown can close them too. */
  private readonly pendingSessions = new Set<Session>();
  private readonly users = new Map<string, Set<Session>>();
  private readonly bySessionId = new Map<string, Session>();
  /** Channel → its subscriptions on this node (client-side and server-side). */
  private readonly channels = new Map<string, Set<ChannelSubscription>>();
  private numSubscriptions = 0;

  addPending(s: Session): void {
    this.pendingSessions.add(s);
    if (s.sessionId !== '') this.bySessionId.set(s.sessionId, s);
  }

  addSession(s: Session): void {
    this.pendingSessions.delete(s);
    this.sessions.set(s.clientId, s);
    let set = this.users.get(s.user);
    if (set === undefined) this.users.set(s.user, (set = new Set()));
    set.add(s);
  }

  removeSession(s: Session): void {
    this.pendingSessions.delete(s);
    if (s.sessionId !== '') this.bySessionId.delete(s.sessionId);
    if (this.sessions.get(s.clientId) !== s) return;
    this.sessions.delete(s.clientId);
    const set = this.users.get(s.user);
    if (set !== undefined) {
      set.delete(s);
      if (set.size === 0) this.users.delete(s.user);
    }
  }

  /** Adds a subscription. Returns true when it is the channel's first on this node. */
  addSubscription(sub: ChannelSubscription): boolean {
    let set = this.channels.get(sub.channel);
    const first = set === undefined;
    if (set === undefined) this.channels.set(sub.channel, (set = new Set()));
    if (!set.has(sub)) {
      set.add(sub);
      this.numSubscriptions++;
    }
    return first;
  }

  /** Removes a subscription. Returns true when the channel has none left on this node. */
  removeSubscription(sub: ChannelSubscription): boolean {
    const set = this.channels.get(sub.channel);
    if (set === undefined) return false;
    if (set.delete(sub)) this.numSubscriptions--;
    if (set.size > 0) return false;
    this.channels.delete(sub.channel);
    return true;
  }

  /** `prev` is the previous stream publication when the publish asked for deltas. */
  broadcastPublication(channel: string, pub: Publication, position: StreamPosition, prev?: Publication): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    const prepared = new PreparedPush({ kind: 'pub', channel, pub }, prev);
    for (const sub of set) sub.session.deliverToSubscription(sub, prepared, position);
  }

  broadcastJoinLeave(channel: string, kind: 'join' | 'leave', info: ClientInfo): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    const prepared = new PreparedPush({ kind, channel, info });
    // Join/leave pushes go only to subscriptions that asked for them.
    for (const sub of set) if (sub.live && sub.options.pushJoinLeave) sub.session.sendPrepared(prepared);
  }

  userConnectionCount(user: string): number {
    return this.users.get(user)?.size ?? 0;
  }

  userSessions(user: string): ReadonlySet<Session> | undefined {
    return this.users.get(user);
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

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  channelSubscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
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
