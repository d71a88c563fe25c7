/**
 * Metric families whose values are read when Prometheus scrapes, not bumped as things happen: the
 * node's gauges (read from the hub), subscriptions open now, the frames sessions count in place
 * on their `TransportCounters`, and the lifecycle notifiers' losses. Nothing here runs on a
 * connection's or a broadcast's path.
 */
import client from 'prom-client';
import type { Node } from '../node/node.js';
import type { TransportCounters, TransportCounterSet } from '../node/metrics.js';
import { clientNameLabel, type NamespaceLabels } from './labels.js';

const { Counter, Gauge } = client;

type Registers = client.Registry[];

/** `centrifugo_node_build` and the `centrifugo_node_num_*` gauges of the node `node()` gives, once it exists. */
export function registerNodeGauges(registers: Registers, node: () => Node | undefined): void {
  new Gauge({
    name: 'centrifugo_node_build',
    help: 'Node build info: the version `info` reports.',
    labelNames: ['version'],
    registers,
    collect() {
      const n = node();
      if (n !== undefined) this.set({ version: n.options.version }, 1);
    },
  });
  const gauge = (name: string, help: string, read: (n: Node) => number) =>
    new Gauge({
      name: `centrifugo_node_${name}`,
      help,
      registers,
      collect() {
        const n = node();
        if (n !== undefined) this.set(read(n));
      },
    });
  // Read from the hub: `info()` would also sample the process and the snapshot four times a scrape.
  gauge('num_clients', 'Number of clients connected to this node.', (n) => n.hub.numClients);
  gauge('num_users', 'Number of unique users connected to this node.', (n) => n.hub.numUsers);
  gauge('num_subscriptions', 'Number of subscriptions on this node.', (n) => n.hub.numSubs);
  gauge('num_channels', 'Number of channels with subscribers on this node.', (n) => n.hub.numChannels);
  gauge('num_nodes', 'Number of nodes in the cluster.', (n) => n.numNodes);
}

/** `centrifugo_client_subscriptions_inflight{client_name,channel_namespace}`, counted over the hub at scrape. */
export function registerSubscriptionsInflight(registers: Registers, node: () => Node | undefined, ns: NamespaceLabels): void {
  new Gauge({
    name: 'centrifugo_client_subscriptions_inflight',
    help: 'Subscriptions open now.',
    labelNames: ['client_name', 'channel_namespace'],
    registers,
    collect() {
      this.reset();
      // Counted per client name, then per namespace: a scrape allocates per label set, not per subscription.
      const counts = new Map<string, Map<string, number>>();
      node()?.hub.forEachSubscription((sub) => {
        const name = clientNameLabel(sub.session.clientName);
        let byNs = counts.get(name);
        if (byNs === undefined) counts.set(name, (byNs = new Map()));
        const label = ns.of(sub.channel);
        byNs.set(label, (byNs.get(label) ?? 0) + 1);
      });
      for (const [name, byNs] of counts) for (const [label, n] of byNs) this.labels(name, label).set(n);
    },
  });
}

/**
 * `centrifugo_transport_messages_{sent,received}{,_size}{transport,frame_type,channel_namespace}`
 * from the sessions' in-place counters. `channel_namespace` stays '' (see docs/observability.md).
 */
export function registerTransportFrames(registers: Registers, transports: TransportCounterSet): void {
  const frames = (name: string, help: string, read: (t: TransportCounters, add: (frameType: string, value: number) => void) => void) =>
    new Counter({
      name: `centrifugo_transport_${name}`,
      help,
      labelNames: ['transport', 'frame_type', 'channel_namespace'],
      registers,
      collect() {
        this.reset();
        for (const t of transports.all()) read(t, (frameType, value) => this.labels(t.transport, frameType, '').inc(value));
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
}

/** What a lifecycle event notifier has counted (notify/notifier.ts `NotifierStats`), by notifier name. */
export interface DropCounts {
  readonly name: string;
  readonly stats: { readonly dropped: number; readonly overflowed: number; readonly lostAtStop: number };
}

/** `rotor_lifecycle_events_dropped_total{notifier,reason}` (Rotor's own), from the notifiers `read()` lists. */
export function registerLifecycleDrops(registers: Registers, read: () => readonly DropCounts[]): void {
  new Counter({
    name: 'rotor_lifecycle_events_dropped_total',
    help: 'Lifecycle events never delivered: overflow (the queue was full), refused (the backend refused them for good), stop (still queued when the shutdown flush ran out of time).',
    labelNames: ['notifier', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const { name, stats } of read()) {
        this.labels(name, 'overflow').inc(stats.overflowed);
        this.labels(name, 'refused').inc(stats.dropped);
        this.labels(name, 'stop').inc(stats.lostAtStop);
      }
    },
  });
}
