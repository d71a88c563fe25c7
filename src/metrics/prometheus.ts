/**
 * Centrifugo's Prometheus metrics (`centrifugo_*`, names and labels of centrifugo-v6-notes §7) for
 * what Rotor has, with `prom-client` on a registry of its own, plus Node's process and event-loop
 * metrics (`process_*`, `nodejs_*`).
 *
 * The hot paths touch prom-client once per broadcast, never per subscriber: a counter child and a
 * histogram child (both cached per label set) for the broadcast as a whole; frames written to clients are counted in place on `TransportCounters` and read
 * at scrape, and gauges (clients, users, channels, subscriptions per namespace, nodes) are read
 * from the node when scraped.
 *
 * Cardinality: `channel_namespace` is a configured namespace or ''; client names and versions go
 * through labels.ts; error codes and disconnect codes come from the protocol's tables or the
 * backend's answers, the latter bounded to the code ranges the protocol allows.
 */
import client from 'prom-client';
import type { Node } from '../node/node.js';
import { TransportCounterSet, type ClientLabels, type NodeMetrics, type TransportCounters } from '../node/metrics.js';
import { clientNameLabel, clientVersionLabel, type NamespaceLabels } from './labels.js';
import { registerLifecycleDrops, registerNodeGauges, registerSubscriptionsInflight, registerTransportFrames, type DropCounts } from './scraped.js';
export type { DropCounts } from './scraped.js';
import { InfoSnapshotter, type InfoMetrics, type MetricFamilyJson } from './info-snapshot.js';

const { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } = client;

/** Histogram buckets for command, API and proxy durations, seconds (Prometheus' defaults). */
const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets of `recovered_publications`: how many publications one recovery returned. */
const RECOVERED_BUCKETS = [0, 1, 2, 3, 5, 10, 20, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Summary quantiles, as Centrifugo's deprecated summaries have them. */
const QUANTILES = [0.5, 0.99, 0.999];
/** Summaries keep a sliding window of this many seconds. */
const SUMMARY_WINDOW_S = 60;

/** prom-client default metrics left out (see the constructor). */
const EXPENSIVE_DEFAULT_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];

export type ApiProtocol = 'http' | 'grpc';
export type ProxyProtocol = 'http' | 'grpc';

/** Counter children by two label values, made once per label set. */
class Children<C> {
  readonly #by = new Map<string, Map<string, C>>();
  constructor(private readonly make: (a: string, b: string) => C) {}
  get(a: string, b: string): C {
    let inner = this.#by.get(a);
    if (inner === undefined) this.#by.set(a, (inner = new Map()));
    let c = inner.get(b);
    if (c === undefined) inner.set(b, (c = this.make(a, b)));
    return c;
  }
}

export interface PrometheusOptions {
  namespaces: NamespaceLabels;
  /** `prometheus.instrument_http_handlers`. */
  instrumentHttp: boolean;
  /** `prometheus.recovered_publications_histogram`. */
  recoveredPublications?: boolean;
  /** `client.connection_limit` (0: none), exposed as `centrifugo_node_client_connection_limit`. */
  connectionLimit?: number;
}


export class PrometheusMetrics implements NodeMetrics {
  readonly registry = new Registry();
  readonly #ns: NamespaceLabels;
  readonly #transports = new TransportCounterSet();
  #node: Node | undefined;
  #snapshot: InfoMetrics | undefined;
  #snapshotter: InfoSnapshotter | undefined;
  #lifecycle: () => readonly DropCounts[] = () => [];
  #snapshotTimer: NodeJS.Timeout | undefined;
  /** Connections open now, by their label values joined with \0. */
  readonly #inflight = new Map<string, number>();

  readonly #messagesSent;
  readonly #messagesReceived;
  readonly #sentChildren: Children<client.Counter.Internal>;
  readonly #receivedChildren: Children<client.Counter.Internal>;
  readonly #connectionsAccepted;
  readonly #subscriptionsAccepted;
  readonly #commandSummary;
  readonly #commandHistogram;
  readonly #replyErrors;
  readonly #serverUnsubscribes;
  readonly #serverDisconnects;
  readonly #recover;
  readonly #outgoingClose;
  readonly #apiSummary;
  readonly #apiHistogram;
  readonly #apiErrors;
  readonly #proxySummary;
  readonly #proxyHistogram;
  readonly #proxyErrors;
  readonly #proxyInflight;
  readonly #httpRequests;
  readonly #actions: Children<client.Counter.Internal>;
  readonly #surveySummary;
  readonly #surveyHistogram;
  readonly #broadcastDurations: Children<client.Histogram.Internal<string>>;
  readonly #tagsDropped;
  readonly #pingPong;
  readonly #limitReached;
  readonly #transportConnects;
  readonly #recoveredPublications;
  readonly #suppressed;
  readonly #redisPubSubErrors;

  constructor(opts: PrometheusOptions) {
    this.#ns = opts.namespaces;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // These list every handle, request and resource of the process at each scrape (an array of
    // 5,000 sockets for 5,000 clients): the scrape's largest cost, for figures `num_clients` and
    // `process_open_fds` already give.
    for (const name of EXPENSIVE_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    const self = this;

    // ---- node
    registerNodeGauges(registers, () => self.#node);
    this.#messagesSent = new Counter({ name: 'centrifugo_node_messages_sent_count', help: 'Messages this node sent to the broker.', labelNames: ['type', 'channel_namespace'], registers });
    this.#messagesReceived = new Counter({ name: 'centrifugo_node_messages_received_count', help: 'Messages this node received from the broker.', labelNames: ['type', 'channel_namespace'], registers });
    this.#sentChildren = new Children((type, ns) => this.#messagesSent.labels(type, ns));
    this.#receivedChildren = new Children((type, ns) => this.#messagesReceived.labels(type, ns));
    const actions = new Counter({ name: 'centrifugo_node_action_count', help: 'Node operations called.', labelNames: ['action', 'channel_namespace'], registers });
    this.#actions = new Children((action, ns) => actions.labels(action, ns));
    this.#surveySummary = new Summary({ name: 'centrifugo_node_survey_duration_seconds', help: 'Survey of every node (deprecated: use the histogram).', labelNames: ['op'], percentiles: QUANTILES, maxAgeSeconds: SUMMARY_WINDOW_S, ageBuckets: 5, registers });
    this.#surveyHistogram = new Histogram({ name: 'centrifugo_node_survey_duration_seconds_histogram', help: 'Survey of every node.', labelNames: ['op'], buckets: DURATION_BUCKETS, registers });
    const broadcast = new Histogram({ name: 'centrifugo_node_broadcast_duration_seconds', help: 'Time to hand one message from the broker to every local subscriber.', labelNames: ['type', 'channel_namespace'], buckets: DURATION_BUCKETS, registers });
    this.#broadcastDurations = new Children((type, ns) => broadcast.labels(type, ns));
    this.#tagsDropped = new Counter({ name: 'centrifugo_node_tags_filter_dropped_publications', help: 'Publications not sent to a subscriber its tags filter refused.', labelNames: ['channel_namespace'], registers });
    new Gauge({ name: 'centrifugo_node_client_connection_limit', help: 'client.connection_limit (0: none).', registers }).set(opts.connectionLimit ?? 0);

    // ---- client
    const clientLabels = ['transport', 'accept_protocol', 'client_name', 'client_version'];
    this.#connectionsAccepted = new Counter({ name: 'centrifugo_client_connections_accepted', help: 'Connections accepted.', labelNames: clientLabels, registers });
    new Gauge({
      name: 'centrifugo_client_connections_inflight',
      help: 'Connections open now.',
      labelNames: clientLabels,
      registers,
      collect() {
        this.reset();
        for (const [key, n] of self.#inflight) this.labels(...key.split('\0')).set(n);
      },
    });
    this.#subscriptionsAccepted = new Counter({ name: 'centrifugo_client_subscriptions_accepted', help: 'Subscriptions accepted.', labelNames: ['client_name', 'channel_namespace'], registers });
    registerSubscriptionsInflight(registers, () => self.#node, this.#ns);
    const commandLabels = ['method', 'channel_namespace'];
    this.#commandSummary = new Summary({ name: 'centrifugo_client_command_duration_seconds', help: 'Client command duration (deprecated: use the histogram).', labelNames: commandLabels, percentiles: QUANTILES, maxAgeSeconds: SUMMARY_WINDOW_S, ageBuckets: 5, registers });
    this.#commandHistogram = new Histogram({ name: 'centrifugo_client_command_duration_seconds_histogram', help: 'Client command duration.', labelNames: commandLabels, buckets: DURATION_BUCKETS, registers });
    this.#replyErrors = new Counter({ name: 'centrifugo_client_num_reply_errors', help: 'Error replies to client commands.', labelNames: ['method', 'code', 'channel_namespace'], registers });
    this.#serverUnsubscribes = new Counter({ name: 'centrifugo_client_num_server_unsubscribes', help: 'Unsubscribe pushes sent by the server.', labelNames: ['code', 'channel_namespace'], registers });
    this.#serverDisconnects = new Counter({ name: 'centrifugo_client_num_server_disconnects', help: 'Connections the server disconnected.', labelNames: ['code'], registers });
    this.#pingPong = new Histogram({ name: 'centrifugo_client_ping_pong_duration_seconds_histogram', help: 'Time from a server ping to the client\'s pong.', labelNames: ['transport'], buckets: DURATION_BUCKETS, registers });
    this.#limitReached = new Counter({ name: 'centrifugo_client_connection_limit_reached_total', help: 'Connections refused by client.connection_limit.', registers });
    this.#recoveredPublications = opts.recoveredPublications
      ? new Histogram({ name: 'centrifugo_client_recovered_publications', help: 'Publications one successful recovery returned.', labelNames: ['channel_namespace'], buckets: RECOVERED_BUCKETS, registers })
      : undefined;
    this.#recover = new Counter({ name: 'centrifugo_client_recover', help: 'Subscriptions that asked to recover.', labelNames: ['recovered', 'channel_namespace', 'has_recovered_publications'], registers });

    // ---- transport: frames read from the sessions' in-place counters at scrape
    registerTransportFrames(registers, this.#transports);
    this.#transportConnects = new Counter({ name: 'centrifugo_transport_connect_count', help: 'Connections accepted, by transport.', labelNames: ['transport'], registers });
    this.#outgoingClose = new Counter({ name: 'centrifugo_transport_outgoing_close_count', help: 'Connections closed by the server, by disconnect code.', labelNames: ['transport', 'code'], registers });

    // ---- broker
    this.#suppressed = new Counter({ name: 'centrifugo_broker_publish_suppressed_count', help: 'Publications the broker did not publish (idempotency: a repeated key; version: not newer).', labelNames: ['reason', 'channel_namespace'], registers });
    this.#redisPubSubErrors = new Counter({ name: 'centrifugo_broker_redis_pub_sub_errors', help: 'Failures of the Redis broker\'s PUB/SUB: connections, subscribes, undecodable messages.', labelNames: ['broker_name', 'error'], registers });

    // ---- lifecycle events (Rotor's own)
    registerLifecycleDrops(registers, () => self.#lifecycle());

    // ---- server API
    this.#apiSummary = new Summary({ name: 'centrifugo_api_command_duration_seconds', help: 'Server API command duration (deprecated: use the histogram).', labelNames: ['protocol', 'method'], percentiles: QUANTILES, maxAgeSeconds: SUMMARY_WINDOW_S, ageBuckets: 5, registers });
    this.#apiHistogram = new Histogram({ name: 'centrifugo_api_command_duration_seconds_histogram', help: 'Server API command duration.', labelNames: ['protocol', 'method'], buckets: DURATION_BUCKETS, registers });
    this.#apiErrors = new Counter({ name: 'centrifugo_api_command_errors_total', help: 'Server API commands answered with an error.', labelNames: ['protocol', 'method', 'error'], registers });

    // ---- proxies
    const proxyLabels = ['protocol', 'type', 'name'];
    this.#proxySummary = new Summary({ name: 'centrifugo_proxy_duration_seconds', help: 'Proxy request duration (deprecated: use the histogram).', labelNames: proxyLabels, percentiles: QUANTILES, maxAgeSeconds: SUMMARY_WINDOW_S, ageBuckets: 5, registers });
    this.#proxyHistogram = new Histogram({ name: 'centrifugo_proxy_duration_seconds_histogram', help: 'Proxy request duration.', labelNames: proxyLabels, buckets: DURATION_BUCKETS, registers });
    this.#proxyErrors = new Counter({ name: 'centrifugo_proxy_errors', help: 'Proxy requests that failed.', labelNames: proxyLabels, registers });
    this.#proxyInflight = new Gauge({ name: 'centrifugo_proxy_inflight_requests', help: 'Proxy requests in flight.', labelNames: proxyLabels, registers });

    this.#httpRequests = opts.instrumentHttp
      ? new Counter({ name: 'centrifugo_node_incoming_http_requests_total', help: 'HTTP requests served, by handler.', labelNames: ['path', 'method', 'status'], registers })
      : undefined;
  }

  /**
   * The node whose gauges are read at scrape; set once it exists. Snapshots for `info` are taken
   * now and every `snapshotIntervalMs` (`node.info_metrics_aggregate_interval`) until `close`.
   */
  attach(node: Node, snapshotIntervalMs: number): void {
    this.#node = node;
    this.#snapshotter = new InfoSnapshotter(snapshotIntervalMs / 1000);
    void this.#takeSnapshot();
    if (snapshotIntervalMs > 0) {
      this.#snapshotTimer = setInterval(() => void this.#takeSnapshot(), snapshotIntervalMs);
      this.#snapshotTimer.unref();
    }
  }

  close(): void {
    clearInterval(this.#snapshotTimer);
  }

  /** The lifecycle notifiers whose losses `rotor_lifecycle_events_dropped_total` reads at scrape. */
  countLifecycle(read: () => readonly DropCounts[]): void {
    this.#lifecycle = read;
  }

  snapshot(): InfoMetrics | undefined {
    return this.#snapshot;
  }

  /** The snapshot `info` carries (see info-snapshot.ts for its form). */
  async #takeSnapshot(): Promise<void> {
    let families;
    try {
      families = await this.registry.getMetricsAsJSON();
    } catch {
      return; // a collect that failed: the previous snapshot stays
    }
    if (this.#snapshotter !== undefined) this.#snapshot = this.#snapshotter.take(families as unknown as MetricFamilyJson[]);
  }

  /** The exposition text, for `/metrics`. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ------------------------------------------------------------ NodeMetrics

  connected(c: ClientLabels): void {
    const labels = connectionLabels(c);
    this.#connectionsAccepted.labels(...labels).inc();
    this.#transportConnects.labels(labels[0]).inc();
    this.#actions.get('add_client', '').inc();
    const key = labels.join('\0');
    this.#inflight.set(key, (this.#inflight.get(key) ?? 0) + 1);
  }

  disconnected(code: number, transport: string, c: ClientLabels | undefined): void {
    const codeLabel = String(code);
    this.#outgoingClose.labels(transport, codeLabel).inc();
    // A connection the client closed (3000) is not a server disconnect.
    if (code !== 3000) this.#serverDisconnects.labels(codeLabel).inc();
    if (c === undefined) return;
    this.#actions.get('remove_client', '').inc();
    const key = connectionLabels(c).join('\0');
    const n = (this.#inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.#inflight.delete(key);
    else this.#inflight.set(key, n);
  }

  subscribed(channel: string, clientName: string): void {
    const ns = this.#ns.of(channel);
    this.#subscriptionsAccepted.labels(clientNameLabel(clientName), ns).inc();
    this.#actions.get('add_subscription', ns).inc();
  }

  serverUnsubscribed(channel: string, code: number): void {
    this.#serverUnsubscribes.labels(String(code), this.#ns.of(channel)).inc();
  }

  command(method: string, code: number, durationMs: number, channel: string): void {
    const ns = channel === '' ? '' : this.#ns.of(channel);
    const s = durationMs / 1000;
    this.#commandSummary.labels(method, ns).observe(s);
    this.#commandHistogram.labels(method, ns).observe(s);
    if (code !== 0) this.#replyErrors.labels(method, String(code), ns).inc();
  }

  published(channel: string, type: 'publication' | 'join' | 'leave'): void {
    this.#sentChildren.get(type, this.#ns.of(channel)).inc();
  }

  delivered(channel: string, _count: number, type: 'publication' | 'join' | 'leave', durationMs: number): void {
    const ns = this.#ns.of(channel);
    this.#receivedChildren.get(type, ns).inc();
    this.#broadcastDurations.get(type, ns).observe(durationMs / 1000);
  }

  recovered(channel: string, recovered: boolean, publications: number): void {
    const ns = this.#ns.of(channel);
    this.#recover.labels(recovered ? 'yes' : 'no', ns, publications > 0 ? 'yes' : 'no').inc();
    if (recovered) this.#recoveredPublications?.labels(ns).observe(publications);
  }

  action(action: string, channel: string): void {
    this.#actions.get(action, channel === '' ? '' : this.#ns.of(channel)).inc();
  }

  surveyed(op: string, durationMs: number): void {
    this.#actions.get('survey', '').inc();
    const s = durationMs / 1000;
    this.#surveySummary.labels(op).observe(s);
    this.#surveyHistogram.labels(op).observe(s);
  }

  pingPong(transport: string, durationMs: number): void {
    this.#pingPong.labels(transport).observe(durationMs / 1000);
  }

  suppressed(channel: string, reason: string): void {
    this.#suppressed.labels(reason, this.#ns.of(channel)).inc();
  }

  /**
   * A Redis PUB/SUB failure (engine/redis/pubsub-errors.ts). `broker_name` is '': Centrifugo's
   * broker from the config has no name either.
   */
  redisPubSubError(error: string): void {
    this.#redisPubSubErrors.labels('', error).inc();
  }

  tagsFiltered(channel: string, dropped: number): void {
    this.#tagsDropped.labels(this.#ns.of(channel)).inc(dropped);
  }

  connectionLimitReached(): void {
    this.#limitReached.inc();
  }

  transport(transport: string): TransportCounters {
    return this.#transports.get(transport);
  }

  // ------------------------------------------------------------ API, proxies, HTTP

  /** A server API command finished: `errorCode` 0 for success. */
  apiCommand(protocol: ApiProtocol, method: string, errorCode: number, durationMs: number): void {
    const s = durationMs / 1000;
    this.#apiSummary.labels(protocol, method).observe(s);
    this.#apiHistogram.labels(protocol, method).observe(s);
    if (errorCode !== 0) this.#apiErrors.labels(protocol, method, String(errorCode)).inc();
  }

  proxyStarted(protocol: ProxyProtocol, type: string, name: string): void {
    this.#proxyInflight.labels(protocol, type, name).inc();
  }

  proxyFinished(protocol: ProxyProtocol, type: string, name: string, durationMs: number, failed: boolean): void {
    this.#proxyInflight.labels(protocol, type, name).dec();
    const s = durationMs / 1000;
    this.#proxySummary.labels(protocol, type, name).observe(s);
    this.#proxyHistogram.labels(protocol, type, name).observe(s);
    if (failed) this.#proxyErrors.labels(protocol, type, name).inc();
  }

  /** With `prometheus.instrument_http_handlers`: one HTTP response of a handler Rotor mounts. */
  httpRequest(path: string, method: string, status: number): void {
    this.#httpRequests?.labels(path, method, String(status)).inc();
  }

  get instrumentsHttp(): boolean {
    return this.#httpRequests !== undefined;
  }
}

function connectionLabels(c: ClientLabels): [string, string, string, string] {
  return [c.transport.name, 'h1', clientNameLabel(c.clientName), clientVersionLabel(c.clientName, c.clientVersion)];
}
