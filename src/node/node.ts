/**
 * The node: coordinates the hub (local fan-out), the broker (cross-node delivery and history) and
 * the presence manager, and exposes the operations the server API needs. Policy arrives through
 * `NodeHooks`; engines and transports are injected by `app/`.
 *
 * Operations addressed to users (disconnect, subscribe, unsubscribe, refresh) act on this node's
 * connections and go to every other node through the control plane (control/plane.ts), which also
 * keeps the list of live nodes for `info` and runs the `channels` survey.
 */
import type { Broker, BrokerEventHandler, HistoryFilter, HistoryResult, PresenceManager, PresenceStats, PublishOptions, PublishResult } from '../engine/types.js';
import { disconnects, type Disconnect } from '../protocol/errors.js';
import type { NodeOptions } from './options.js';
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-log.js';
import { randomUuid } from '../util/uuid.js';
import type { NodeHooks, SubscriptionOptions } from './events.js';
import { Hub } from './hub.js';
import type { Session } from './client/session.js';
import type { ChannelSubscription } from './client/subscription.js';
import { sessionTick } from './tick.js';
import { PingWheel } from './ping-wheel.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { settledWithin } from '../util/timeout.js';
import { FlushScheduler, type WriterOptions } from './client/writer.js';
import { NoMetrics, type NodeMetrics } from './metrics.js';
import { ProcessStats } from './process-stats.js';
import { NO_LIFECYCLE, SubscriptionEnds, type NodeLifecycle, type SubscriptionEnd } from './lifecycle.js';
import { ControlPlane } from './control/plane.js';
import { EmulationRouter } from './emulation.js';
import { answerChannelsSurveys, clusterChannels } from './channels.js';
import type { NodeInfo, UserTarget } from './control/messages.js';
import { applyRemoteLocal, disconnectLocal, refreshLocal, subscribeLocal, unsubscribeLocal } from './user-ops.js';
import { BrokerCallQueue } from './broker-calls.js';
import { Watches } from './watch/watches.js';
import type { Watcher } from './watch/events.js';

export type { NodeInfo, UserTarget, NodeOptions };

/** How long shutdown waits for the broker to carry the shutdown announcement, then to close; ms. */
const ENGINE_STOP_WAIT_MS = 2000;

export class Node implements BrokerEventHandler {
  readonly hub = new Hub();
  /** Called at every event Centrifugo counts; a no-op unless the app configures metrics. */
  readonly metrics: NodeMetrics;
  /** Told where connections and subscriptions end; a no-op unless lifecycle events are configured. */
  readonly lifecycle: NodeLifecycle;
  /** Writer limits, one object shared by every session. */
  readonly writerOptions: WriterOptions;
  /** Every session's one deadline (stale close before connect, expiry after), one timer. */
  readonly expiryQueue = new DeadlineQueue<Session>();
  /** Shared ping timer for every session; absent when pings are disabled. */
  readonly pingWheel: PingWheel<Session> | undefined;
  private readonly startedAt = Date.now();
  private readonly processStats = new ProcessStats();
  private readonly brokerCalls = new BrokerCallQueue();
  /** Admin watchers of channels and users (watch/watches.ts). */
  readonly watches: Watches;
  private shuttingDown = false;
  private readonly control: ControlPlane;
  private readonly emulation: EmulationRouter;
  /** Subscription cleanups (broker unsubscribe, presence, leave) still waiting for the engine. */
  private cleanupsInFlight = 0;
  private cleanupsDone: (() => void) | undefined;
  /**
   * Errors that repeat per connection, subscription or request while the engine is down
   * (presence refreshes, position checks, cleanups, commands and API calls failing) or a
   * server-side refresh fails for every connection: one line per message every 10 s at most, the
   * rest at debug. (The proxies log their own failures, naming the proxy, every time.)
   */
  readonly rateLog: RateLimitedLog;

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
    this.metrics = options.metrics ?? new NoMetrics();
    this.rateLog = new RateLimitedLog(log);
    this.lifecycle = options.lifecycle ?? NO_LIFECYCLE;
    // The control plane reaches the broker through these closures only, so the broker stays
    // private to Node.
    this.control = new ControlPlane(
      {
        nodeId: options.nodeId,
        localInfo: () => this.info(),
        // async: a broker that throws instead of rejecting still gives a rejected promise.
        sendControl: async (data, toNode) => this.broker.publishControl(data, toNode),
        applyRemote: (c) => applyRemoteLocal(this.hub, c, (sess, ch) => this.dropSubscription(sess, ch)),
        userEvent: (e) => this.watches.remoteUserEvent(e),
        surveyed: (op, ms) => this.metrics.surveyed(op, ms),
      },
      log,
      options.control,
    );
    this.watches = new Watches(options.name, this.control);
    answerChannelsSurveys(this.control, this.hub);
    this.emulation = new EmulationRouter(options.nodeId, this.hub, this.control);
  }

  static newId(): string {
    return randomUuid();
  }

  async start(): Promise<void> {
    this.pingWheel?.start();
    await this.broker.run(this, this.options.nodeId);
    await this.control.start();
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  // ------------------------------------------------------------ broker deliveries

  handlePublication(channel: string, pub: Publication, position: StreamPosition, useDelta: boolean, prevPub: Publication | undefined): void {
    const started = performance.now();
    const count = this.hub.broadcastPublication(channel, pub, position, useDelta ? prevPub : undefined);
    this.metrics.delivered(channel, count, 'publication', performance.now() - started);
    if (this.watches.watchingChannels) this.watches.publication(channel, pub);
  }
  handleJoin(channel: string, info: ClientInfo): void {
    const started = performance.now();
    const count = this.hub.broadcastJoinLeave(channel, 'join', info);
    this.metrics.delivered(channel, count, 'join', performance.now() - started);
    if (this.watches.watchingChannels) this.watches.joinLeave(channel, 'join', info);
  }
  handleLeave(channel: string, info: ClientInfo): void {
    const started = performance.now();
    const count = this.hub.broadcastJoinLeave(channel, 'leave', info);
    this.metrics.delivered(channel, count, 'leave', performance.now() - started);
    if (this.watches.watchingChannels) this.watches.joinLeave(channel, 'leave', info);
  }
  handleControl(data: Uint8Array): boolean {
    return this.control.handle(data);
  }

  // ------------------------------------------------------------ subscriptions

  /**
   * Registers a subscriber locally and subscribes the broker on the channel's first one. Resolves
   * once the broker delivers the channel to this node: a later subscriber whose channel's broker
   * subscribe is still in flight waits for it too, and fails with it, so nobody is told
   * "subscribed" before publications can reach them.
   */
  async addSessionSubscription(s: Session, sub: ChannelSubscription): Promise<void> {
    const first = this.hub.addSubscription(sub);
    if (first) this.lifecycle.channelOccupied(sub.channel);
    // The broker stays subscribed while the channel has a subscriber or an admin watcher.
    if (first && !this.watches.holdsChannel(sub.channel)) await this.brokerCalls.queue(sub.channel, () => this.broker.subscribe(sub.channel));
    else await this.brokerCalls.inFlight(sub.channel);
    this.metrics.subscribed(sub.channel, s.clientName);
  }

  /**
   * Removes a subscription: hub, broker (last subscriber), presence, leave event. The caller
   * already decided what the client is told; this never writes to the client. `end` says why a
   * live subscription ended, for the lifecycle seam; undefined for a subscribe being undone (it
   * never went live, or the connect that made it failed). A subscription already removed is not
   * reported again, and its channel's broker subscription is left to whoever holds it now.
   */
  async removeSessionSubscription(s: Session, sub: ChannelSubscription, emitLeave: boolean, end?: SubscriptionEnd): Promise<void> {
    const owned = s.forgetSubscription(sub);
    sub.stream?.close();
    if (owned && end !== undefined && sub.live) {
      this.lifecycle.unsubscribed(s.clientId, s.user, sub.channel, end);
      this.watches.unsubscribed(s.clientId, s.user, sub.channel, end);
    }
    const last = this.hub.removeSubscription(sub);
    if (owned) this.metrics.action('remove_subscription', sub.channel);
    if (last) this.lifecycle.channelVacated(sub.channel);
    const tasks: Promise<unknown>[] = [];
    if (last && !this.watches.holdsChannel(sub.channel)) tasks.push(this.brokerCalls.queue(sub.channel, () => this.broker.unsubscribe(sub.channel)));
    if (sub.options.emitPresence) tasks.push(this.presenceManager.removePresence(sub.channel, s.clientId, s.user));
    if (emitLeave && sub.live && sub.options.emitJoinLeave) {
      this.metrics.published(sub.channel, 'leave');
      tasks.push(this.broker.publishLeave(sub.channel, s.clientInfo(sub.options.chanInfo)));
    }
    if (tasks.length === 0) return;
    this.cleanupsInFlight++;
    try {
      const results = await Promise.allSettled(tasks);
      for (const r of results) if (r.status === 'rejected') this.rateLog.error({ err: r.reason, channel: sub.channel }, 'unsubscribe cleanup failed');
    } finally {
      if (--this.cleanupsInFlight === 0) this.cleanupsDone?.();
    }
  }

  /** Resolves once no subscription cleanup is in flight (see `shutdown`). */
  private cleanupsSettled(): Promise<void> {
    if (this.cleanupsInFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.cleanupsDone = () => {
        this.cleanupsDone = undefined;
        resolve();
      };
    });
  }

  onSessionClosed(s: Session, d: Disconnect): void {
    this.metrics.disconnected(d.code, s.transport.name, s.connectedAt > 0 ? s : undefined);
    this.hub.removeSession(s);
    const subs = s.subscriptions();
    for (const sub of subs) void this.removeSessionSubscription(s, sub, true, SubscriptionEnds.disconnect);
    // A connect that failed after its session had connected (its server-side subscriptions
    // failed) left the session unusable: the client never learnt it was connected.
    if (s.connectedAt > 0 && !s.unusable) {
      this.lifecycle.disconnected(s.clientId, s.user, d.code, d.reason, s.connectedAt);
      this.watches.disconnected(s.clientId, s.user, d.code, d.reason);
    }
    // Every ending, a client's own close (3000) too: at debug, so off unless asked for.
    this.log.debug({ client: s.clientId, user: s.user, code: d.code, reason: d.reason }, 'client disconnected');
  }

  sessionTick(s: Session): void {
    sessionTick(this, s);
  }

  // ------------------------------------------------------------ operations (server API)

  /** Told of each publication the broker took (not suppressed); app sets it for v1's admin watch. */
  onPublished: ((channel: string, data: Uint8Array, opts: PublishOptions) => void) | undefined;

  publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult> {
    this.metrics.published(channel, 'publication');
    const r = this.broker.publish(channel, data, opts);
    const observe = this.onPublished;
    // Only a publish with an idempotency key or a version can be suppressed: others keep their promise as is.
    if (observe === undefined && opts.idempotencyKey === undefined && opts.version === undefined) return r;
    return r.then((res) => {
      if (res.suppressed) this.metrics.suppressed(channel, opts.idempotencyKey !== undefined ? 'idempotency' : 'version');
      else observe?.(channel, data, opts);
      return res;
    });
  }

  streamTop(channel: string, metaTtlMs: number): Promise<StreamPosition> {
    this.metrics.action('history_stream_top', channel);
    return this.broker.history(channel, { filter: { limit: 0 }, metaTtlMs }).then((h) => h.position);
  }

  history(channel: string, filter: HistoryFilter, metaTtlMs: number): Promise<HistoryResult> {
    this.metrics.action('history', channel);
    return this.broker.history(channel, { filter, metaTtlMs });
  }

  removeHistory(channel: string): Promise<void> {
    this.metrics.action('history_remove', channel);
    return this.broker.removeHistory(channel);
  }

  /** Whether the broker and the presence manager reach their servers now: `/health` answers from it. */
  engineHealth(): { ok: boolean; reasons: string[] } {
    const parts = [['broker', this.broker.health()], ['presence manager', this.presenceManager.health()]] as const;
    const reasons = parts.filter(([, h]) => !h.ok).map(([what, h]) => `${what}: ${h.reason ?? 'unavailable'}`);
    return { ok: reasons.length === 0, reasons };
  }

  /** Announces a subscriber's join to every node's subscribers of `channel`. */
  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    this.metrics.published(channel, 'join');
    return this.broker.publishJoin(channel, info);
  }

  presence(channel: string): Promise<Record<string, ClientInfo>> {
    this.metrics.action('presence', channel);
    return this.presenceManager.presence(channel);
  }

  presenceStats(channel: string): Promise<PresenceStats> {
    this.metrics.action('presence_stats', channel);
    return this.presenceManager.presenceStats(channel);
  }

  /** Adds or refreshes a client's presence entry (the engine expires entries not refreshed). */
  addPresence(channel: string, clientId: string, info: ClientInfo): Promise<void> {
    this.metrics.action('add_presence', channel);
    return this.presenceManager.addPresence(channel, clientId, info);
  }

  // Each user operation applies to this node's connections first, then goes to the other nodes;
  // the returned promise rejects when the broker cannot send it (the API reports an error).

  disconnectUser(t: UserTarget, d: Disconnect, whitelist: readonly string[] = []): Promise<void> {
    this.metrics.action('user_disconnect', '');
    disconnectLocal(this.hub, t, d, whitelist);
    return this.control.broadcast({ kind: 'disconnect', target: t, code: d.code, reason: d.reason, whitelist: [...whitelist] });
  }

  async unsubscribeUser(t: UserTarget, channel: string): Promise<void> {
    this.metrics.action('user_unsubscribe', channel);
    await unsubscribeLocal(this.hub, t, channel, (s, ch) => this.dropSubscription(s, ch));
    await this.control.broadcast({ kind: 'unsubscribe', target: t, channel });
  }

  async subscribeUser(t: UserTarget, channel: string, options: SubscriptionOptions, since?: StreamPosition): Promise<void> {
    this.metrics.action('user_subscribe', channel);
    await subscribeLocal(this.hub, t, channel, options, since);
    await this.control.broadcast({ kind: 'subscribe', target: t, channel, options, since });
  }

  /** Server-side refresh: new expiry (or expired: 3005) and info, with a `refresh` push. */
  refreshUser(t: UserTarget, expired: boolean, expireAt: number, info: Uint8Array | undefined): Promise<void> {
    this.metrics.action('user_refresh', '');
    refreshLocal(this.hub, t, expired, expireAt, info);
    return this.control.broadcast({ kind: 'refresh', target: t, expired, expireAt, info });
  }

  /**
   * Hands an /emulation request to the node holding the session: this one, or another live node,
   * which answers once it has handed the commands to the session (Centrifugo does the same with a
   * survey). Resolves false when `nodeId` names no live node; rejects when that node does not
   * answer in time or the broker cannot ask it.
   */
  routeEmulation(nodeId: string, session: string, data: Uint8Array): Promise<boolean> {
    return this.emulation.route(nodeId, session, data);
  }

  /**
   * Streams `channel`'s publications, joins and leaves, from every node, to `w` (an admin watch).
   * Resolves once the broker delivers the channel to this node, with the function that ends the
   * watch; rejects, keeping nothing, when the broker cannot subscribe.
   */
  async watchChannel(channel: string, w: Watcher): Promise<() => void> {
    const first = this.watches.addChannel(channel, w) && this.hub.channelSubscriberCount(channel) === 0;
    try {
      if (first) await this.brokerCalls.queue(channel, () => this.broker.subscribe(channel));
      else await this.brokerCalls.inFlight(channel);
    } catch (err) {
      this.unwatchChannel(channel, w);
      throw err;
    }
    return () => this.unwatchChannel(channel, w);
  }

  private unwatchChannel(channel: string, w: Watcher): void {
    if (!this.watches.removeChannel(channel, w) || this.hub.channelSubscriberCount(channel) !== 0) return;
    this.brokerCalls.queue(channel, () => this.broker.unsubscribe(channel)).catch((err: unknown) => this.log.error({ err, channel }, 'broker unsubscribe after a watch failed'));
  }

  /** Streams `user`'s events on every node to `w` (watch/watches.ts). */
  watchUser(user: string, w: Watcher): Promise<() => void> {
    return this.watches.watchUser(user, w);
  }

  /** Removes the session's subscription to `channel`, if any, with a leave; says whether it had one. */
  private async dropSubscription(s: Session, channel: string): Promise<boolean> {
    const sub = s.subscription(channel);
    if (sub === undefined) return false;
    await this.removeSessionSubscription(s, sub, true, SubscriptionEnds.server);
    return true;
  }

  /**
   * Channels with subscribers on any node whose name matches `pattern` ("" for all; see
   * channels.ts for its limits, checked by the caller), with subscriber counts summed over nodes.
   * Each node matches its own channels (a survey); rejects when a node does not answer in time.
   */
  channels(pattern = ''): Promise<Map<string, number>> {
    return clusterChannels(this.control, this.hub, pattern);
  }

  /** Every live node, this one first. */
  nodes(): NodeInfo[] {
    return this.control.nodes();
  }

  /** How many live nodes, this one included. */
  get numNodes(): number {
    return this.control.peers + 1;
  }

  /** This node's figures, as `info` and its heartbeats give them. */
  info(): NodeInfo {
    const metrics = this.metrics.snapshot?.();
    return {
      uid: this.options.nodeId,
      name: this.options.name,
      version: this.options.version,
      numClients: this.hub.numClients,
      numUsers: this.hub.numUsers,
      numSubs: this.hub.numSubs,
      numChannels: this.hub.numChannels,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
      ...(metrics !== undefined ? { metrics } : {}),
      process: this.processStats.sample(),
    };
  }

  /**
   * Announces the shutdown to the other nodes, disconnects every connection with 3001 shutdown in
   * batches (so the reconnect wave is spread a little), lets their subscriptions' cleanups reach
   * the engine, then closes the engines. A broker that
   * does not settle is waited for at most ENGINE_STOP_WAIT_MS per step, so the clients always get
   * their 3001 and the stop always ends.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    // Sent first, so other nodes drop this one at once and stop routing to it; awaited only after
    // the clients are told, since a broker that cannot carry it must not hold them up.
    const announced = this.control.stop();
    this.pingWheel?.stop();
    this.expiryQueue.clear();
    this.watches.endAll('shutdown');
    const all = this.hub.allSessions();
    const batch = 1000;
    for (let i = 0; i < all.length; i += batch) {
      for (const s of all.slice(i, i + batch)) s.close(disconnects.shutdown);
      if (i + batch < all.length) await new Promise((r) => setImmediate(r));
    }
    await settledWithin(announced, ENGINE_STOP_WAIT_MS);
    // The closed connections' unsubscribes, presence removals and leaves reach the engine before
    // it closes (a closed Redis connection would fail them, each logged as an error).
    await settledWithin(this.cleanupsSettled(), ENGINE_STOP_WAIT_MS);
    await settledWithin(Promise.allSettled([this.broker.close(), this.presenceManager.close()]), ENGINE_STOP_WAIT_MS);
  }
}
