/**
 * Lifecycle events to the backend (docs/lifecycle-events.md): the config turned into the node's
 * lifecycle seam (node/lifecycle.ts), the channel state manager (engine) and the notifiers
 * (notify/) that carry the events to `lifecycle_events.endpoint` and, for channel state,
 * `channel.proxy.state.endpoint` when set.
 *
 * With nothing enabled the node keeps its no-op seam: no notifier, no manager, nothing per
 * connection. The opt-ins (`client.disconnect_events_enabled`, a namespace's
 * `unsubscribe_events_enabled` and `state_proxy_enabled`) are read at start; a reload keeps them.
 */
import type { Config } from '../config/schema.js';
import { lifecycleProblems } from '../config/checks-backend.js';
import type { ChannelStateManager, EngineHealth } from '../engine/types.js';
import type { Node, NodeOptions } from '../node/node.js';
import type { NodeLifecycle, SubscriptionEnd } from '../node/lifecycle.js';
import { ChannelRules } from '../rules/channels.js';
import { Notifier, type NotifierOptions, type NotifierStats } from '../notify/notifier.js';
import { HttpSender } from '../notify/http-sender.js';
import { GrpcSender } from '../notify/grpc-sender.js';
import { NOTIFY_METHOD, PRO_CHANNEL_STATE_METHOD } from '../notify/codec.js';
import type { Sender } from '../notify/sender.js';
import type { Logger } from '../util/logger.js';
import { clientTls, pemText } from './tls-options.js';
import { createChannelStates, type EngineParts } from './engine.js';

type Section = Config['lifecycle_events'];
type StateProxy = Config['channel']['proxy']['state'];

/** Namespaces ("" for channels without one) that opted into each kind of channel event. */
interface Plan {
  disconnects: boolean;
  unsubscribe: ReadonlySet<string>;
  state: ReadonlySet<string>;
}

export class LifecycleWiring {
  /** Spread into the node's options: the seam, when anything is enabled. */
  readonly nodeOptions: Partial<NodeOptions>;
  private main: Notifier | undefined;
  private state: Notifier | undefined;
  private manager: ChannelStateManager | undefined;

  private constructor(
    private readonly config: Readonly<Config>,
    private readonly log: Logger,
    private readonly engine: EngineParts,
    private readonly plan: Plan | undefined,
  ) {
    this.nodeOptions = plan === undefined ? {} : { lifecycle: new LifecycleEvents(this, plan, new ChannelRules(config.channel)) };
  }

  /**
   * Checks the settings (an Error naming the key for one that cannot work) and builds the seam.
   * Nothing connects before {@link start}.
   */
  static create(config: Readonly<Config>, log: Logger, engine: EngineParts): LifecycleWiring {
    // Validated configs never fail here; one built by hand gets checkconfig's words.
    const problem = lifecycleProblems(config)[0];
    if (problem !== undefined) throw new Error(`${problem.path}: ${problem.message}`);
    const plan = planOf(config);
    const s = config.lifecycle_events;
    const state = config.channel.proxy.state;
    const any = plan.disconnects || plan.unsubscribe.size > 0 || plan.state.size > 0;
    if (!any && (s.endpoint !== '' || state.endpoint !== '')) {
      log.warn('lifecycle events: an endpoint is set but no event kind is enabled (client.disconnect_events_enabled, a namespace\'s unsubscribe_events_enabled or state_proxy_enabled)');
    }
    return new LifecycleWiring(config, log, engine, any ? plan : undefined);
  }

  /**
   * The channel state manager's reach (Redis for the redis engine), for `/health`: while it
   * cannot report occupied/vacated changes the node is not whole. Undefined without one.
   */
  health(): { what: string; health: EngineHealth } | undefined {
    return this.manager === undefined ? undefined : { what: 'channel state manager', health: this.manager.health() };
  }

  /** Starts the notifiers and, for channel state events, the channel state manager. */
  async start(node: Node): Promise<void> {
    const plan = this.plan;
    if (plan === undefined) return;
    const c = this.config;
    const s = c.lifecycle_events;
    const queue: Omit<NotifierOptions, 'name'> = {
      queueSize: s.queue_size,
      batchSize: s.batch_size,
      batchMaxDelayMs: s.batch_max_delay,
      retryMinDelayMs: s.retry_min_backoff,
      retryMaxDelayMs: s.retry_max_backoff,
    };
    if (s.endpoint !== '') {
      this.main = new Notifier({ name: 'lifecycle_events', ...queue }, senderOf(s.endpoint, s.timeout, s.http.static_headers, s.http.tls, s.grpc, NOTIFY_METHOD, 'lifecycle_events'), this.log);
      this.main.start();
    }
    const sp = c.channel.proxy.state;
    if (plan.state.size > 0 && sp.endpoint !== '') {
      this.state = new Notifier({ name: 'channel.proxy.state', ...queue }, senderOf(sp.endpoint, sp.timeout, sp.http.static_headers, sp.http.tls, sp.grpc, PRO_CHANNEL_STATE_METHOD, 'channel.proxy.state'), this.log);
      this.state.start();
    }
    if (plan.state.size > 0) {
      let manager = this.engine.channelState;
      if (manager === undefined) {
        const choice = await createChannelStates(c, this.log, s.node_ttl);
        if (choice.warning !== undefined) this.log.warn(choice.warning);
        manager = choice.manager;
      }
      this.manager = manager;
      const to = this.state ?? this.main;
      await manager.run(node.options.nodeId, { vacatedDelayMs: s.vacated_delay }, (e) => to?.push(e));
    }
  }

  /**
   * After the node's shutdown (its connections closed, their events queued): vacates this node's
   * channels in the shared state, then sends what is queued for at most `lifecycle_events.flush_timeout`.
   */
  async stop(): Promise<void> {
    const manager = this.manager;
    this.manager = undefined;
    await manager?.close().catch((err: unknown) => this.log.error({ err }, 'lifecycle events: closing the channel state manager failed'));
    const flush = this.config.lifecycle_events.flush_timeout;
    await Promise.all([this.main?.stop(flush), this.state?.stop(flush)]);
  }

  /** Each running notifier's name and counts (for `rotor_lifecycle_events_dropped_total`). */
  notifierCounts(): Array<{ name: string; stats: NotifierStats }> {
    const out: Array<{ name: string; stats: NotifierStats }> = [];
    if (this.main !== undefined) out.push({ name: 'lifecycle_events', stats: this.main.stats });
    if (this.state !== undefined) out.push({ name: 'channel.proxy.state', stats: this.state.stats });
    return out;
  }

  /** The seam's way to the notifiers; undefined before start. */
  get mainNotifier(): Notifier | undefined {
    return this.main;
  }

  get channelStates(): ChannelStateManager | undefined {
    return this.manager;
  }
}

/**
 * The seam: filters by opt-in and pushes (disconnect, unsubscribe) or takes a note in the channel
 * state manager (first/last local subscriber). Cheap and synchronous, as the node requires.
 */
class LifecycleEvents implements NodeLifecycle {
  constructor(
    private readonly wiring: LifecycleWiring,
    private readonly plan: Plan,
    private readonly rules: ChannelRules,
  ) {}

  disconnected(client: string, user: string, code: number, reason: string, connectedAt: number): void {
    if (!this.plan.disconnects) return;
    const now = Date.now();
    this.wiring.mainNotifier?.push({ type: 'disconnect', timeMs: now, client, user, code, reason, durationMs: Math.max(0, now - connectedAt) });
  }

  unsubscribed(client: string, user: string, channel: string, end: SubscriptionEnd): void {
    if (!this.in(this.plan.unsubscribe, channel)) return;
    this.wiring.mainNotifier?.push({ type: 'unsubscribe', timeMs: Date.now(), client, user, channel, code: end.code, reason: end.reason });
  }

  channelOccupied(channel: string): void {
    if (this.in(this.plan.state, channel)) this.wiring.channelStates?.occupy(channel);
  }

  channelVacated(channel: string): void {
    if (this.in(this.plan.state, channel)) this.wiring.channelStates?.vacate(channel);
  }

  private in(namespaces: ReadonlySet<string>, channel: string): boolean {
    if (namespaces.size === 0) return false;
    try {
      return namespaces.has(this.rules.resolve(channel).namespace);
    } catch {
      return false; // a namespace not configured (no subscription can exist there)
    }
  }
}

/** Who opted in (`lifecycleProblems` has made sure each opt-in has an endpoint). */
function planOf(config: Readonly<Config>): Plan {
  const ch = config.channel;
  const unsubscribe = new Set<string>();
  const state = new Set<string>();
  const scopes: Array<[string, { unsubscribe_events_enabled: boolean; state_proxy_enabled: boolean }]> = [
    ['', ch.without_namespace],
    ...ch.namespaces.map((ns): [string, typeof ns] => [ns.name, ns]),
  ];
  for (const [name, o] of scopes) {
    if (o.unsubscribe_events_enabled) unsubscribe.add(name);
    if (o.state_proxy_enabled) state.add(name);
  }
  return { disconnects: config.client.disconnect_events_enabled, unsubscribe, state };
}

function senderOf(
  endpoint: string,
  timeoutMs: number,
  headers: Readonly<Record<string, string>>,
  httpTls: Section['http']['tls'] | StateProxy['http']['tls'],
  grpc: Section['grpc'] | StateProxy['grpc'],
  method: string,
  key: string,
): Sender {
  if (endpoint.startsWith('grpc://')) {
    const md: Record<string, string> = { ...grpc.static_metadata };
    if (grpc.credentials_key !== '') md[grpc.credentials_key.toLowerCase()] = grpc.credentials_value;
    const t = grpc.tls;
    const tls = t.enabled
      ? {
          ...(t.server_ca_pem !== '' ? { ca: pemText(`${key}.grpc.tls.server_ca_pem`, t.server_ca_pem) } : {}),
          ...(t.cert_pem !== '' ? { cert: pemText(`${key}.grpc.tls.cert_pem`, t.cert_pem) } : {}),
          ...(t.key_pem !== '' ? { key: pemText(`${key}.grpc.tls.key_pem`, t.key_pem) } : {}),
          ...(t.server_name !== '' ? { serverName: t.server_name } : {}),
          insecureSkipVerify: t.insecure_skip_verify,
        }
      : undefined;
    return new GrpcSender({ endpoint, method, timeoutMs, metadata: md, compression: grpc.compression, ...(tls !== undefined ? { tls } : {}) });
  }
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  const tls = clientTls(httpTls, `${key}.http.tls`);
  return new HttpSender({ endpoint, timeoutMs, staticHeaders: lower, ...(tls !== undefined ? { tls } : {}) });
}
