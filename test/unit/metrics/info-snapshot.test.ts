/**
 * The `info` metrics snapshot (metrics/info-snapshot.ts) in Centrifugo's form: keys, label order,
 * summaries, counter deltas across snapshots, and what is left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfoSnapshotter, type MetricFamilyJson } from '../../../src/metrics/info-snapshot.js';

const families = (sent: number, inflight: number): MetricFamilyJson[] => [
  { name: 'centrifugo_node_messages_sent_count', type: 'counter', values: [{ labels: { type: 'publication', channel_namespace: '' }, value: sent }] },
  { name: 'centrifugo_node_num_clients', type: 'gauge', values: [{ labels: {}, value: inflight }] },
  {
    name: 'centrifugo_client_command_duration_seconds',
    type: 'summary',
    values: [
      { labels: { method: 'connect', quantile: 0.5 }, value: 0.002 },
      { labels: { method: 'connect', quantile: 0.99 }, value: 0.004 },
      { labels: { method: 'connect', quantile: 0.999 }, value: Number.NaN },
      { metricName: 'centrifugo_client_command_duration_seconds_sum', labels: { method: 'connect' }, value: sent / 100 },
      { metricName: 'centrifugo_client_command_duration_seconds_count', labels: { method: 'connect' }, value: sent },
    ],
  },
  { name: 'centrifugo_client_command_duration_seconds_histogram', type: 'histogram', values: [{ metricName: 'centrifugo_client_command_duration_seconds_histogram_count', labels: { method: 'connect' }, value: sent }] },
  { name: 'nodejs_heap_size_total_bytes', type: 'gauge', values: [{ labels: {}, value: 1 }] },
];

test('keys are dotted with labels sorted by name and empty labels left out; counters are deltas, gauges and quantiles values', () => {
  const s = new InfoSnapshotter(60);
  const first = s.take(families(5, 2));
  assert.deepEqual(first, {
    interval: 60,
    items: {
      'centrifugo.node.messages_sent_count.type.publication': 5,
      'centrifugo.node.num_clients': 2,
      'centrifugo.client.command_duration_seconds.quantile.50.method.connect': 0.002,
      'centrifugo.client.command_duration_seconds.quantile.99.method.connect': 0.004,
      'centrifugo.client.command_duration_seconds.sum.method.connect': 0.05,
      'centrifugo.client.command_duration_seconds.count.method.connect': 5,
    },
  });
  const second = s.take(families(8, 1)).items;
  assert.equal(second['centrifugo.node.messages_sent_count.type.publication'], 3);
  assert.equal(second['centrifugo.client.command_duration_seconds.count.method.connect'], 3);
  assert.equal(second['centrifugo.node.num_clients'], 1);
  // A counter that went down was reset: its whole value is what the interval added.
  assert.equal(s.take(families(2, 1)).items['centrifugo.node.messages_sent_count.type.publication'], 2);
});

test('label values are sorted by label name, as Prometheus orders them', () => {
  const s = new InfoSnapshotter(10);
  const items = s.take([{ name: 'centrifugo_transport_messages_sent', type: 'counter', values: [{ labels: { transport: 'websocket', frame_type: 'push_publication', channel_namespace: 'chat' }, value: 4 }] }]).items;
  assert.deepEqual(Object.keys(items), ['centrifugo.transport.messages_sent.channel_namespace.chat.frame_type.push_publication.transport.websocket']);
});
