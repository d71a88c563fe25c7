/**
 * Centrifugo's Prometheus metrics (`centrifugo_*`, names and labels of centrifugo-v6-notes §7) for
 * what Rotor has, with `prom-client` on a registry of its own, plus Node's process and event-loop
 * metrics (`process_*`, `nodejs_*`).
 *
 * The hot paths never touch prom-client: broadcasts bump one counter child per broadcast (cached
 * per label set), frames written to clients are counted in place on `TransportCounters` and read
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

const { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } = client;

/** Histogram buckets for command, API and proxy durations, seconds (Prometheus' defaults). */
const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
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
}

export class PrometheusMetrics implements NodeMetrics {
  readonly registry = new Registry();
  readonly #ns: NamespaceLabels;
  readonly #transports = new TransportCounterSet();
  #node: Node | undefined;
  #snapshot: { interval: number; items: Record<string, number> } | undefined;
  #snapshotIntervalS = 0;
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
    new Gauge({
      name: 'centrifugo_node_build',
      help: 'Node build info: the version `info` reports.',
      labelNames: ['version'],
      registers,
      collect() {
        if (self.#node !== undefined) this.set({ version: self.#node.options.version }, 1);
      },
    });
    const nodeGauge = (name: string, help: string, read: (n: Node) => number) =>
      new Gauge({
        name: `centrifugo_node_${name}`,
        help,
        registers,
        collect() {
          if (self.#node !== undefined) this.set(read(self.#node));
        },
      });
    // Read from the hub: `info()` would also sample the process and the snapshot four times a scrape.
    nodeGauge('num_clients', 'Number of clients connected to this node.', (n) => n.hub.numClients);
    nodeGauge('num_users', 'Number of unique users connected to this node.', (n) => n.hub.numUsers);
    nodeGauge('num_subscriptions', 'Number of subscriptions on this node.', (n) => n.hub.numSubs);
    nodeGauge('num_channels', 'Number of channels with subscribers on this node.', (n) => n.hub.numChannels);
    nodeGauge('num_nodes', 'Number of nodes in the cluster.', (n) => n.numNodes);
    this.#messagesSent = new Counter({ name: 'centrifugo_node_messages_sent_count', help: 'Messages this node sent to the broker.', labelNames: ['type', 'channel_namespace'], registers });
    this.#messagesReceived = new Counter({ name: 'centrifugo_node_messages_received_count', help: 'Messages this node received from the broker.', labelNames: ['type', 'channel_namespace'], registers });
    this.#sentChildren = new Children((type, ns) => this.#messagesSent.labels(type, ns));
    this.#receivedChildren = new Children((type, ns) => this.#messagesReceived.labels(type, ns));

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
    new Gauge({
      name: 'centrifugo_client_subscriptions_inflight',
      help: 'Subscriptions open now.',
      labelNames: ['client_name', 'channel_namespace'],
      registers,
      collect() {
        this.reset();
        // Counted per client name, then per namespace: a scrape allocates per label set, not per subscription.
        const counts = new Map<string, Map<string, number>>();
        self.#node?.hub.forEachSubscription((sub) => {
          const name = clientNameLabel(sub.session.clientName);
          let byNs = counts.get(name);
          if (byNs === undefined) counts.set(name, (byNs = new Map()));
          const ns = self.#ns.of(sub.channel);
          byNs.set(ns, (byNs.get(ns) ?? 0) + 1);
        });
        for (const [name, byNs] of counts) for (const [ns, n] of byNs) this.labels(name, ns).set(n);
      },
    });
    const commandLabels = ['method', 'channel_namespace'];
    this.#commandSummary = new Summary({ name: 'centrifugo_client_command_duration_seconds', help: 'Client command duration (deprecated: use the histogram).', labelNames: commandLabels, percentiles: QUANTILES, maxAgeSeconds: SUMMARY_WINDOW_S, ageBuckets: 5, registers });
    this.#commandHistogram = new Histogram({ name: 'centrifugo_client_command_duration_seconds_histogram', help: 'Client command duration.', labelNames: commandLabels, buckets: DURATION_BUCKETS, registers });
    this.#replyErrors = new Counter({ name: 'centrifugo_client_num_reply_errors', help: 'Error replies to client commands.', labelNames: ['method', 'code', 'channel_namespace'], registers });
    this.#serverUnsubscribes = new Counter({ name: 'centrifugo_client_num_server_unsubscribes', help: 'Unsubscribe pushes sent by the server.', labelNames: ['code', 'channel_namespace'], registers });
    this.#serverDisconnects = new Counter({ name: 'centrifugo_client_num_server_disconnects', help: 'Connections the server disconnected.', labelNames: ['code'], registers });
    this.#recover = new Counter({ name: 'centrifugo_client_recover', help: 'Subscriptions that asked to recover.', labelNames: ['recovered', 'channel_namespace', 'has_recovered_publications'], registers });

    // ---- transport: read from the sessions' in-place counters at scrape
    const frameLabels = ['transport', 'frame_type', 'channel_namespace'];
    const frames = (name: string, help: string, read: (t: TransportCounters, add: (frameType: string, value: number) => void) => void) =>
      new Counter({
        name: `centrifugo_transport_${name}`,
        help,
        labelNames: frameLabels,
        registers,
        collect() {
          this.reset();
          for (const t of self.#transports.all()) read(t, (frameType, value) => this.labels(t.transport, frameType, '').inc(value));
        },
      });
    const eachSent = (t: TransportCounters, add: (f: string, v: number) => void, pick: (c: { count: number; bytes: number }) => number) => {
      add('push_publication', pick(t.publications));
      add('push_join', pick(t.joins));
      add('push_leave', pick(t.leaves));
      for (const [f, c] of t.other) add(f, pick(c));
    };
    frames('messages_sent', 'Messages written to clients.', (t, add) => eachSent(t, add, (c) => c.count));
    frames('messages_sent_size', 'Bytes of messages written to clients.', (t, add) => eachSent(t, add, (c) => c.bytes));
    frames('messages_received', 'Commands read from clients.', (t, add) => {
      for (const [f, c] of t.received) add(f, c.count);
    });
    frames('messages_received_size', 'Bytes of commands read from clients.', (t, add) => {
      for (const [f, c] of t.received) add(f, Math.round(c.bytes));
    });
    this.#outgoingClose = new Counter({ name: 'centrifugo_transport_outgoing_close_count', help: 'Connections closed by the server, by disconnect code.', labelNames: ['transport', 'code'], registers });

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
    this.#snapshotIntervalS = snapshotIntervalMs / 1000;
    void this.#takeSnapshot();
    if (snapshotIntervalMs > 0) {
      this.#snapshotTimer = setInterval(() => void this.#takeSnapshot(), snapshotIntervalMs);
      this.#snapshotTimer.unref();
    }
  }

  close(): void {
    clearInterval(this.#snapshotTimer);
  }

  snapshot(): { interval: number; items: Record<string, number> } | undefined {
    return this.#snapshot;
  }

  /** Every `centrifugo_*` series (histograms and summaries by `_count` and `_sum`), Prometheus notation. */
  async #takeSnapshot(): Promise<void> {
    let families;
    try {
      families = await this.registry.getMetricsAsJSON();
    } catch {
      return; // a collect that failed: the previous snapshot stays
    }
    const items: Record<string, number> = {};
    for (const f of families) {
      if (!f.name.startsWith('centrifugo_')) continue;
      for (const v of f.values as Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>) {
        const name = v.metricName ?? f.name;
        if (name.endsWith('_bucket') || 'quantile' in v.labels) continue;
        const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${JSON.stringify(String(x))}`);
        items[labels.length > 0 ? `${name}{${labels.join(',')}}` : name] = v.value;
      }
    }
    this.#snapshot = { interval: this.#snapshotIntervalS, items };
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
    const key = labels.join('\0');
    this.#inflight.set(key, (this.#inflight.get(key) ?? 0) + 1);
  }

  disconnected(code: number, transport: string, c: ClientLabels | undefined): void {
    const codeLabel = String(code);
    this.#outgoingClose.labels(transport, codeLabel).inc();
    // A connection the client closed (3000) is not a server disconnect.
    if (code !== 3000) this.#serverDisconnects.labels(codeLabel).inc();
    if (c === undefined) return;
    const key = connectionLabels(c).join('\0');
    const n = (this.#inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.#inflight.delete(key);
    else this.#inflight.set(key, n);
  }

  subscribed(channel: string, clientName: string): void {
    this.#subscriptionsAccepted.labels(clientNameLabel(clientName), this.#ns.of(channel)).inc();
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

  delivered(channel: string, _count: number, type: 'publication' | 'join' | 'leave'): void {
    this.#receivedChildren.get(type, this.#ns.of(channel)).inc();
  }

  recovered(channel: string, recovered: boolean, hasPublications: boolean): void {
    this.#recover.labels(recovered ? 'yes' : 'no', this.#ns.of(channel), hasPublications ? 'yes' : 'no').inc();
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
