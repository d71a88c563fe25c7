/**
 * `/metrics` with `prometheus.enabled`: a real server, official SDK clients, an HTTP connect
 * proxy backend, the HTTP and gRPC server APIs, and the exposition parsed with a Prometheus text
 * parser (parse-prometheus-text-format, prom2json's shape). Each metric checked counts what the
 * test did: connects by transport and client name, subscriptions by namespace, a disconnect with
 * its code, client command errors, API calls by protocol, method and error, messages sent by
 * frame type, proxy calls, HTTP responses by handler; labels stay bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { scrape, value, type Families } from '../helpers/prometheus-scrape.js';
import { HttpProxyBackend } from '../helpers/http-proxy-backend.js';
import { apiOk, SdkPool, within } from '../helpers/sdk.js';
import { connToken, startServer } from '../helpers/server.js';
import { GrpcApiClient } from '../helpers/grpc-api-client.js';
import type { ConfigInput } from '../../src/config/schema.js';

function labelValues(fs: Families, name: string, label: string): string[] {
  return [...new Set((fs.find((x) => x.name === name)?.metrics ?? []).map((m) => m.labels?.[label] ?? ''))].sort();
}

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
  backend.on('/connect', (call) => (call.body.name === 'proxied' ? { result: { user: 'via-proxy' } } : {}));
});
after(() => backend.stop());

test('/metrics counts connects, subscriptions, disconnects, command errors, API calls, messages and proxy calls', async () => {
  const srv = await startServer({
    prometheus: { enabled: true, instrument_http_handlers: true },
    grpc_api: { enabled: true, port: 0 },
    client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect'), timeout: '5s' } } },
    channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
  } as ConfigInput);
  const sdk = new SdkPool(srv);
  const grpc = new GrpcApiClient(`127.0.0.1:${srv.address.grpcApiPort!}`);
  try {
    const alice = sdk.client({ token: await connToken('alice'), name: 'js', version: '5.2.0' } as never);
    await within(alice.connect(), 'alice connected');
    const bob = sdk.client({ token: await connToken('bob'), name: 'my-homemade-client', version: 'x' } as never);
    await within(bob.connect(), 'bob connected');
    const carol = sdk.client({ name: 'proxied' } as never, 'protobuf');
    await within(carol.connect(), 'carol connected through the proxy');

    const a = await within(alice.subscribe('chat:room'), 'alice subscribed');
    await within(bob.subscribe('chat:room'), 'bob subscribed');
    await within(carol.subscribe('chat:other'), 'carol subscribed');
    const pub = a.events.next('publication');
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 1 } });
    await within(pub, 'publication');
    // API errors: an unknown namespace (102) over HTTP; a publish over gRPC.
    assert.equal((await srv.api('publish', { channel: 'nope:x', data: {} })).body.error.code, 102);
    await grpc.call('Publish', { channel: 'chat:room', data: Buffer.from('{"n":2}') });
    // A client command error: a private channel without a token (103).
    const denied = bob.newSub('$secret');
    const gone = denied.events.next('unsubscribed');
    denied.sub.subscribe();
    assert.equal((await within(gone, 'subscribe refused')).code, 103);
    // A server disconnect: the API disconnects bob with its default code.
    const bobGone = bob.events.next('disconnected');
    await apiOk(srv, 'disconnect', { user: 'bob' });
    assert.equal((await within(bobGone, 'bob disconnected')).code, 3503);

    const fs = await scrape(srv);
    // node
    assert.equal(value(fs, 'centrifugo_node_num_clients'), 2);
    assert.equal(value(fs, 'centrifugo_node_num_users'), 2);
    assert.equal(value(fs, 'centrifugo_node_num_nodes'), 1);
    assert.equal(value(fs, 'centrifugo_node_num_channels'), 2);
    assert.equal(value(fs, 'centrifugo_node_messages_sent_count', { type: 'publication', channel_namespace: 'chat' }), 2);
    assert.equal(value(fs, 'centrifugo_node_messages_received_count', { type: 'publication', channel_namespace: 'chat' }), 2);
    assert.equal(value(fs, 'centrifugo_node_build', { version: (await apiOk(srv, 'info', {})).nodes[0].version }), 1);
    // client: bounded client labels (a known SDK name keeps its version; others are "unregistered")
    assert.equal(value(fs, 'centrifugo_client_connections_accepted', { transport: 'websocket', client_name: 'js', client_version: '5.2.0' }), 1);
    assert.equal(value(fs, 'centrifugo_client_connections_accepted', { client_name: 'unregistered', client_version: 'unregistered' }), 1);
    assert.equal(value(fs, 'centrifugo_client_connections_accepted', { client_name: 'unregistered', client_version: 'unversioned' }), 1);
    assert.deepEqual(labelValues(fs, 'centrifugo_client_connections_accepted', 'client_name'), ['js', 'unregistered']);
    assert.equal(value(fs, 'centrifugo_client_connections_inflight', { client_name: 'js' }), 1);
    assert.equal(value(fs, 'centrifugo_client_subscriptions_accepted', { client_name: 'js', channel_namespace: 'chat' }), 1);
    assert.deepEqual(labelValues(fs, 'centrifugo_client_subscriptions_inflight', 'channel_namespace'), ['chat']);
    assert.equal(value(fs, 'centrifugo_client_subscriptions_inflight', { client_name: 'js', channel_namespace: 'chat' }), 1);
    assert.equal(value(fs, 'centrifugo_client_num_reply_errors', { method: 'subscribe', code: '103', channel_namespace: '' }), 1);
    assert.equal(value(fs, 'centrifugo_client_num_server_disconnects', { code: '3503' }), 1);
    assert.ok((value(fs, 'centrifugo_client_command_duration_seconds_histogram_count', { method: 'subscribe', channel_namespace: 'chat' }) ?? 0) >= 3);
    // transport
    assert.equal(value(fs, 'centrifugo_transport_messages_sent', { transport: 'websocket', frame_type: 'push_publication' }), 4, 'two publications to two subscribers');
    assert.ok((value(fs, 'centrifugo_transport_messages_sent_size', { transport: 'websocket', frame_type: 'push_publication' }) ?? 0) > 0);
    assert.equal(value(fs, 'centrifugo_transport_messages_received', { transport: 'websocket', frame_type: 'connect' }), 3);
    assert.equal(value(fs, 'centrifugo_transport_outgoing_close_count', { transport: 'websocket', code: '3503' }), 1);
    // server API
    assert.equal(value(fs, 'centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'http', method: 'publish' }), 2);
    assert.equal(value(fs, 'centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'grpc', method: 'publish' }), 1);
    assert.equal(value(fs, 'centrifugo_api_command_errors_total', { protocol: 'http', method: 'publish', error: '102' }), 1);
    assert.ok(value(fs, 'centrifugo_api_command_duration_seconds_count', { protocol: 'http', method: 'publish' }) !== undefined, 'the deprecated summary too');
    // proxy: alice and bob bring tokens and skip it; carol's connect went through it
    assert.equal(value(fs, 'centrifugo_proxy_duration_seconds_histogram_count', { protocol: 'http', type: 'connect', name: 'default' }), 1);
    assert.equal(value(fs, 'centrifugo_proxy_inflight_requests', { type: 'connect' }), 0);
    // HTTP handlers, by route
    assert.equal(value(fs, 'centrifugo_node_incoming_http_requests_total', { path: '/api', method: 'POST', status: '200' }), 3);
    // Node's own
    assert.ok(value(fs, 'process_cpu_user_seconds_total') !== undefined);
    assert.ok(value(fs, 'nodejs_eventloop_lag_seconds') !== undefined);
  } finally {
    grpc.client.close();
    sdk.closeAll();
    await srv.stop();
  }
});

test('/metrics is off by default; /health/live answers while /health reports readiness', async () => {
  const srv = await startServer({});
  try {
    assert.equal((await fetch(`${srv.httpUrl}/metrics`)).status, 404);
    const live = await fetch(`${srv.httpUrl}/health/live`);
    assert.deepEqual([live.status, await live.json()], [200, {}]);
  } finally {
    await srv.stop();
  }
});

test('docs/observability.md lists every centrifugo_* and rotor_* metric with its type and labels, and nothing else', async () => {
  const { readFile } = await import('node:fs/promises');
  const { PrometheusMetrics } = await import('../../src/metrics/prometheus.js');
  const { NamespaceLabels } = await import('../../src/metrics/labels.js');
  const doc = await readFile(new URL('../../docs/observability.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\| `((?:centrifugo|rotor)_[a-z_]+)` \| (\w+) \|([^|]*)\|/gm)].map(
    (m) => `${m[1]} ${m[2]} ${[...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]).join(',')}`,
  );
  const m = new PrometheusMetrics({ namespaces: new NamespaceLabels([], ':', '$'), instrumentHttp: true, recoveredPublications: true });
  const registered = m.registry
    .getMetricsAsArray()
    .map((x) => x as unknown as { name: string; type: string; labelNames: string[] })
    .filter((x) => /^(centrifugo|rotor)_/.test(x.name))
    .map((x) => `${x.name} ${x.type} ${x.labelNames.join(',')}`);
  assert.deepEqual([...documented].sort(), [...registered].sort());
});

test('info carries every node\'s process (cpu, rss) and, with Prometheus, its metrics snapshot, across nodes, over HTTP and gRPC', async () => {
  const { MemoryBus } = await import('../../src/engine/memory/broker.js');
  const { eventually } = await import('../helpers/sdk.js');
  const bus = new MemoryBus();
  const config = { prometheus: { enabled: true }, node: { info_metrics_aggregate_interval: '200ms' }, grpc_api: { enabled: true, port: 0 } } as ConfigInput;
  const a = await startServer(config, { engine: bus.engine() });
  const b = await startServer({}, { engine: bus.engine() });
  const sdk = new SdkPool(b);
  const grpc = new GrpcApiClient(`127.0.0.1:${a.address.grpcApiPort!}`);
  try {
    await within(sdk.client({ token: await connToken('dana') }).connect(), 'connected to b');
    await eventually(async () => (await apiOk(a, 'info', {})).nodes.length === 2, 'both nodes known');
    // a's snapshot is retaken every 200 ms; b keeps none (Prometheus off) but reports its process.
    await eventually(async () => {
      const nodes = (await apiOk(a, 'info', {})).nodes as any[];
      const mine = nodes.find((n) => n.uid !== undefined && n.metrics !== undefined);
      return mine?.metrics.items['centrifugo.node.num_nodes'] === 2;
    }, 'a snapshot counting two nodes');
    const nodes = (await apiOk(a, 'info', {})).nodes as any[];
    for (const n of nodes) {
      assert.equal(typeof n.process.cpu, 'number', `${n.name}: cpu`);
      assert.ok(n.process.rss > 10 * 1024 * 1024, `${n.name}: rss ${n.process.rss}`);
    }
    const withMetrics = nodes.filter((n) => n.metrics !== undefined);
    assert.equal(withMetrics.length, 1, 'only the node with Prometheus has a snapshot');
    assert.equal(withMetrics[0].metrics.interval, 0.2);
    assert.equal(typeof withMetrics[0].metrics.items['centrifugo.node.num_clients'], 'number');
    // b learns a's snapshot through the heartbeats.
    await eventually(async () => ((await apiOk(b, 'info', {})).nodes as any[]).some((n) => n.metrics?.items['centrifugo.node.num_nodes'] === 2), 'b sees a\'s snapshot');
    const viaGrpc = await grpc.call('Info', {});
    const g = (viaGrpc as any).result.nodes as any[];
    assert.ok(g.every((n) => n.process.rss > 0) && g.some((n) => Object.keys(n.metrics?.items ?? {}).length > 0), JSON.stringify(g).slice(0, 300));
  } finally {
    grpc.client.close();
    sdk.closeAll();
    await b.stop();
    await a.stop();
  }
});
