/**
 * The node: coordinates the hub (local fan-out), the broker (cross-node delivery and history) and
 * the presence manager, and exposes the operations the server API needs. Policy arrives through
 * `NodeHooks`; engines and transports are injected by `app/`.
 *
 * Operations addressed to users (disconnect, subscribe, unsubscribe, refresh) act on this node's
 * connections. Multi-node engines will forward them through `publishControl`.
 */
import type { Broker, BrokerEventHandler, HistoryFilter, HistoryResult, PresenceManager, PresenceStats, PublishOptions, PublishResult } from '../engine/types.js';
import { disconnects, type Disconnect } from '../protocol/errors.js';
import { UnsubscribeCode } from '../protocol/codes.js';
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';
import type { Logger } from '../util/logger.js';
import { randomUuid } from '../util/uuid.js';
import type { NodeHooks, SubscriptionOptions } from './events.js';
import { Hub } from './hub.js';
import type { Session } from './client/session.js';
import type { ChannelSubscription } from './client/subscription.js';
import { serverSubscribe } from './client/subscribe.js';
import { sessionTick } from './tick.js';
import { PingWheel } from './ping-wheel.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { FlushScheduler, type WriterOptions } from './client/writer.js';
import { NO_METRICS, type NodeMetrics } from './metrics.js';

export interface NodeOptions {
  nodeId: string;
  /** Human-readable node name for `info`. */
  name: string;
  /** Sent as ConnectResult.version. */
  version: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  staleCloseDelayMs: number;
  expiredCloseDelayMs: number;
  expiredSubCloseDelayMs: number;
  presenceUpdateIntervalMs: number;
  channelPositionCheckDelayMs: number;
  channelLimit: number;
  userConnectionLimit: number;
  queueMaxSize: number;
  /** Messages per transport frame at most; Infinity for no limit. */
  maxMessagesInFrame: number;
  /** `client.write_delay`, ms; 0 flushes at the end of each event-loop turn. */
  writeDelayMs: number;
  /** `client.reply_without_queue`: replies skip the write queue (and the write delay). */
  replyWithoutQueue: boolean;
  /** Largest single command accepted by codecs, bytes. */
  maxCommandSize: number;
  historyMaxPublicationLimit: number;
  recoveryMaxPublicationLimit: number;
  connectIncludeServerTime: boolean;
  /** Maps a connect error code to the disconnect a unidirectional client gets (spec §2.4). */
  uniConnectErrorToDisconnect(code: number): Disconnect;
  /** What the node counts (see metrics.ts); counts nothing when absent. */
  metrics?: NodeMetrics;
}

export interface UserTarget {
  user: string;
  /** Only this connection, when non-empty. */
  client?: string;
  /** Only the connection with this session ID, when non-empty. */
  session?: string;
}

export interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  numClients: number;
  numUsers: number;
  numSubs: number;
  numChannels: number;
  /** Seconds since start. */
  uptime: number;
}

export class Node implements BrokerEventHandler {
  readonly hub = new Hub();
  /** Called at every event Centrifugo counts; a no-op unless the app configures metrics. */
  readonly metrics: NodeMetrics;
  /** Writer limits, one object shared by every session. */
  readonly writerOptions: WriterOptions;
  /** Every session's one deadline (stale close before connect, expiry after), one timer. */
  readonly expiryQueue = new DeadlineQueue<Session>();
  /** Shared ping timer for every session; absent when pings are disabled. */
  readonly pingWheel: PingWheel<Session> | undefined;
  private readonly startedAt = Date.now();
  /** The last broker subscribe or unsubscribe queued per channel, while one is in flight. */
  private readonly brokerCalls = new Map<string, Promise<void>>();
  private shuttingDown = false;

  constructor(
    readonly options: NodeOptions,
    private readonly broker: Broker,
    private readonly presenceManager: PresenceManager,
    public hooks: NodeHooks,
    readonly log: Logger,
  ) {
    this.writerOptions = Object.freeze({
      maxQueueBytes: options.queueMaxSize,
      maxMessagesInFrame: options.maxMessagesInFrame,
      scheduler: new FlushScheduler(options.writeDelayMs),
    });
    this.pingWheel = options.pingIntervalMs > 0 ? new PingWheel(options.pingIntervalMs, options.pongTimeoutMs) : undefined;
    this.metrics = options.metrics ?? NO_METRICS;
  }

  static newId(): string {
    return randomUuid();
  }

  async start(): Promise<void> {
    this.pingWheel?.start();
    await this.broker.run(this, this.options.nodeId);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  // ------------------------------------------------------------ broker deliveries

  handlePublication(channel: string, pub: Publication, position: StreamPosition, useDelta: boolean, prevPub: Publication | undefined): void {
    const count = this.hub.broadcastPublication(channel, pub, position, useDelta ? prevPub : undefined);
    this.metrics.delivered(channel, count);
  }
  handleJoin(channel: string, info: ClientInfo): void {
    this.hub.broadcastJoinLeave(channel, 'join', info);
  }
  handleLeave(channel: string, info: ClientInfo): void {
    this.hub.broadcastJoinLeave(channel, 'leave', info);
  }
  handleControl(): void {
    // Single-node engines loop control messages back; nothing to act on yet.
  }

  // ------------------------------------------------------------ subscriptions

  /**
   * Registers a subscriber locally and subscribes the broker on the channel's first one. Resolves
   * once the broker delivers the channel to this node: a later subscriber whose channel's broker
   * subscribe is still in flight waits for it too, and fails with it, so nobody is told
   * "subscribed" before publications can reach them.
   */
  async addSessionSubscription(s: Session, sub: ChannelSubscription): Promise<void> {
    if (this.hub.addSubscription(sub)) {
      await this.queueBrokerCall(sub.channel, () => this.broker.subscribe(sub.channel));
    } else {
      const inFlight = this.brokerCalls.get(sub.channel);
      if (inFlight !== undefined) await inFlight;
    }
    this.metrics.subscribed(sub.channel);
  }

  /**
   * Runs a broker subscribe or unsubscribe for `channel` after the ones already queued for it, so
   * a channel's calls reach the broker in the order the hub made them (an unsubscribe never
   * overtakes the subscribe before it). A failed call does not stop the ones behind it.
   */
  private queueBrokerCall(channel: string, call: () => Promise<void>): Promise<void> {
    const before = this.brokerCalls.get(channel);
    const queued = before === undefined ? call() : before.then(call, call);
    this.brokerCalls.set(channel, queued);
    const settled = (): void => {
      if (this.brokerCalls.get(channel) === queued) this.brokerCalls.delete(channel);
    };
    queued.then(settled, settled);
    return queued;
  }

  /**
   * Removes a subscription: hub, broker (last subscriber), presence, leave event. With `notify`
   * the caller already decided what the client is told; this never writes to the client.
   */
  async removeSessionSubscription(s: Session, sub: ChannelSubscription, emitLeave: boolean): Promise<void> {
    if (s.subs.get(sub.channel) === sub) s.subs.delete(sub.channel);
    const last = this.hub.removeSubscription(sub);
    const tasks: Promise<unknown>[] = [];
    if (last) tasks.push(this.queueBrokerCall(sub.channel, () => this.broker.unsubscribe(sub.channel)));
    if (sub.options.emitPresence) tasks.push(this.presenceManager.removePresence(sub.channel, s.clientId, s.user));
    if (emitLeave && sub.live && sub.options.emitJoinLeave) tasks.push(this.broker.publishLeave(sub.channel, s.clientInfo(sub.options.chanInfo)));
    const results = await Promise.allSettled(tasks);
    for (const r of results) if (r.status === 'rejected') this.log.error({ err: r.reason, channel: sub.channel }, 'unsubscribe cleanup failed');
  }

  onSessionClosed(s: Session, d: Disconnect): void {
    this.metrics.disconnected(d.code);
    this.hub.removeSession(s);
    const subs = s.subs.values();
    for (const sub of subs) void this.removeSessionSubscription(s, sub, true);
    if (d.code !== disconnects.connectionClosed.code) this.log.debug({ client: s.clientId, user: s.user, code: d.code, reason: d.reason }, 'client disconnected');
  }

  sessionTick(s: Session): void {
    sessionTick(this, s);
  }

  // ------------------------------------------------------------ operations (server API)

  publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult> {
    this.metrics.published(channel);
    return this.broker.publish(channel, data, opts);
  }

  streamTop(channel: string, metaTtlMs: number): Promise<StreamPosition> {
    return this.broker.history(channel, { filter: { limit: 0 }, metaTtlMs }).then((h) => h.position);
  }

  history(channel: string, filter: HistoryFilter, metaTtlMs: number): Promise<HistoryResult> {
    return this.broker.history(channel, { filter, metaTtlMs });
  }

  removeHistory(channel: string): Promise<void> {
    return this.broker.removeHistory(channel);
  }

  /** Announces a subscriber's join to every node's subscribers of `channel`. */
  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    return this.broker.publishJoin(channel, info);
  }

  presence(channel: string): Promise<Record<string, ClientInfo>> {
    return this.presenceManager.presence(channel);
  }

  presenceStats(channel: string): Promise<PresenceStats> {
    return this.presenceManager.presenceStats(channel);
  }

  /** Adds or refreshes a client's presence entry (the engine expires entries not refreshed). */
  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    return this.presenceManager.addPresence(channel, clientId, info);
  }

  private targets(t: UserTarget): Session[] {
    const out: Session[] = [];
    for (const s of this.hub.userSessions(t.user)) {
      if (t.client && s.clientId !== t.client) continue;
      if (t.session && s.sessionId !== t.session) continue;
      out.push(s);
    }
    return out;
  }

  disconnectUser(t: UserTarget, d: Disconnect, whitelist: readonly string[] = []): void {
    for (const s of this.targets(t)) if (!whitelist.includes(s.clientId)) s.close(d);
  }

  async unsubscribeUser(t: UserTarget, channel: string): Promise<void> {
    const c = UnsubscribeCode.server;
    await Promise.all(
      this.targets(t).map(async (s) => {
        const sub = s.subs.get(channel);
        if (sub === undefined) return;
        await this.removeSessionSubscription(s, sub, true);
        s.sendPush({ kind: 'unsubscribe', channel, code: c.code, reason: c.reason });
      }),
    );
  }

  async subscribeUser(t: UserTarget, channel: string, options: SubscriptionOptions, since?: StreamPosition): Promise<void> {
    await Promise.all(this.targets(t).map((s) => serverSubscribe(s, channel, options, since)));
  }

  /** Server-side refresh: new expiry (or expired: 3005) and info, with a `refresh` push. */
  refreshUser(t: UserTarget, expired: boolean, expireAt: number, info: Uint8Array | undefined): void {
    const nowSec = Math.floor(Date.now() / 1000);
    for (const s of this.targets(t)) {
      if (expired || (expireAt > 0 && expireAt <= nowSec)) {
        s.close(disconnects.expired);
        continue;
      }
      s.expireAt = expireAt;
      if (info !== undefined) s.connInfo = info;
      s.scheduleExpire();
      s.sendPush({ kind: 'refresh', expires: expireAt > 0, ttl: expireAt > 0 ? expireAt - nowSec : 0 });
    }
  }

  channels(): Map<string, number> {
    const out = new Map<string, number>();
    for (const ch of this.hub.channelNames()) out.set(ch, this.hub.channelSubscriberCount(ch));
    return out;
  }

  info(): NodeInfo {
    return {
      uid: this.options.nodeId,
      name: this.options.name,
      version: this.options.version,
      numClients: this.hub.numClients,
      numUsers: this.hub.numUsers,
      numSubs: this.hub.numSubs,
      numChannels: this.hub.numChannels,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  /**
   * Disconnects every connection with 3001 shutdown in batches (so the reconnect wave is spread a
   * little), then closes the engines. Bounded by the caller's timeout.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.pingWheel?.stop();
    this.expiryQueue.clear();
    const all = this.hub.allSessions();
    const batch = 1000;
    for (let i = 0; i < all.length; i += batch) {
      for (const s of all.slice(i, i + batch)) s.close(disconnects.shutdown);
      if (i + batch < all.length) await new Promise((r) => setImmediate(r));
    }
    await Promise.allSettled([this.broker.close(), this.presenceManager.close()]);
  }
}
