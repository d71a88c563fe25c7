/**
 * The node-level `centrifugo_*` series beyond prometheus.test.ts, scraped from a real server with
 * SDK and raw WebSocket clients: node actions, surveys, broadcast durations, ping/pong, transport
 * connects, publications suppressed by idempotency, tags-filter drops, recovered publications,
 * the connection limit; and the `info` snapshot in Centrifugo's form (dotted keys, counters as
 * what the last interval added).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrape, value } from '../helpers/prometheus-scrape.js';
import { apiOk, eventually, SdkPool, within } from '../helpers/sdk.js';
import { connToken, startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import type { ConfigInput } from '../../src/config/schema.js';

test('/metrics counts node actions, surveys, broadcasts, ping/pong, transport connects, suppressed publications, tags-filter drops and recovered publications', async () => {
  // A second node on the same bus: `channels` surveys every node only when there are others.
  const { MemoryBus } = await import('../../src/engine/memory/broker.js');
  const bus = new MemoryBus();
  const other = await startServer({}, { engine: bus.engine() });
  const srv = await startServer({
    prometheus: { enabled: true, recovered_publications_histogram: true },
    client: { ping_interval: '1s', pong_timeout: '5s' },
    channel: {
      namespaces: [
        { name: 'chat', allow_subscribe_for_client: true, presence: true, join_leave: true, history_size: 10, history_ttl: '60s', force_recovery: true },
        { name: 'tags', allow_subscribe_for_client: true, allow_tags_filter: true },
      ],
    },
  } as ConfigInput, { engine: bus.engine() });
  const sdk = new SdkPool(srv);
  const raw = await RawClient.open(srv.wsUrl);
  try {
    const alice = sdk.client({ token: await connToken('alice') });
    await within(alice.connect(), 'alice connected');
    const room = await within(alice.subscribe('chat:room'), 'alice subscribed');
    const filtered = await within(alice.subscribe('tags:t', { tagsFilter: { key: 'ticker', cmp: 'eq', val: 'BTC' } } as never), 'filtered subscription');

    // Two publications in history, then a subscriber that recovers both.
    const first = (await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 1 } })) as { epoch: string };
    const got = room.events.next('publication');
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 2 } });
    await within(got, 'publication');
    await raw.connect(await connToken('bob'));
    raw.send({ id: 2, subscribe: { channel: 'chat:room', recover: true, offset: 0, epoch: first.epoch } });
    const rec = await raw.next((m: { id?: number }) => m.id === 2);
    assert.equal(rec.subscribe.recovered, true);
    assert.equal(rec.subscribe.publications.length, 2);

    // The same idempotency key twice: the second is suppressed.
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 3 }, idempotency_key: 'k1' });
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 3 }, idempotency_key: 'k1' });
    // One publication the filter lets through, one it drops.
    const eth = filtered.events.next('publication');
    await apiOk(srv, 'publish', { channel: 'tags:t', data: { p: 1 }, tags: { ticker: 'ETH' } });
    await apiOk(srv, 'publish', { channel: 'tags:t', data: { p: 2 }, tags: { ticker: 'BTC' } });
    assert.deepEqual((await within(eth, 'the BTC publication')).data, { p: 2 });

    await apiOk(srv, 'history', { channel: 'chat:room', limit: 1 });
    await apiOk(srv, 'presence', { channel: 'chat:room' });
    await eventually(async () => ((await apiOk(srv, 'info', {})) as { nodes: unknown[] }).nodes.length === 2, 'both nodes known');
    await apiOk(srv, 'channels', {});

    // The SDK answers the server's pings (every second here).
    await eventually(async () => (value(await scrape(srv), 'centrifugo_client_ping_pong_duration_seconds_histogram_count', { transport: 'websocket' }) ?? 0) >= 1, 'a pong counted');

    const fs = await scrape(srv);
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'add_client', channel_namespace: '' }), 2);
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'add_subscription', channel_namespace: 'chat' }), 2);
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'add_subscription', channel_namespace: 'tags' }), 1);
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'history', channel_namespace: 'chat' }), 2, 'the recovery read and the API call');
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'presence', channel_namespace: 'chat' }), 1);
    assert.equal(value(fs, 'centrifugo_node_action_count', { action: 'survey', channel_namespace: '' }), 1);
    assert.equal(value(fs, 'centrifugo_node_survey_duration_seconds_histogram_count', { op: 'channels' }), 1);
    assert.ok(value(fs, 'centrifugo_node_survey_duration_seconds_count', { op: 'channels' }) === 1, 'the deprecated summary too');
    // Publications 1, 2 and 3 in chat (the repeat never reached the broker's subscribers), two in tags.
    assert.equal(value(fs, 'centrifugo_node_broadcast_duration_seconds_count', { type: 'publication', channel_namespace: 'chat' }), 3);
    assert.equal(value(fs, 'centrifugo_node_broadcast_duration_seconds_count', { type: 'publication', channel_namespace: 'tags' }), 2);
    assert.equal(value(fs, 'centrifugo_broker_publish_suppressed_count', { reason: 'idempotency', channel_namespace: 'chat' }), 1);
    assert.equal(value(fs, 'centrifugo_node_tags_filter_dropped_publications', { channel_namespace: 'tags' }), 1);
    assert.equal(value(fs, 'centrifugo_transport_connect_count', { transport: 'websocket' }), 2);
    assert.equal(value(fs, 'centrifugo_client_recovered_publications_count', { channel_namespace: 'chat' }), 1);
    assert.equal(value(fs, 'centrifugo_client_recover', { recovered: 'yes', channel_namespace: 'chat', has_recovered_publications: 'yes' }), 1);
    assert.equal(value(fs, 'centrifugo_node_client_connection_limit'), 0);
    // alice's and bob's subscribes joined chat:room: each a join to the broker and one broadcast back.
    assert.equal(value(fs, 'centrifugo_node_messages_sent_count', { type: 'join', channel_namespace: 'chat' }), 2);
    assert.equal(value(fs, 'centrifugo_node_messages_received_count', { type: 'join', channel_namespace: 'chat' }), 2);
    // Without prometheus.instrument_http_handlers no HTTP handler series exist.
    assert.equal(fs.find((f) => f.name === 'centrifugo_node_incoming_http_requests_total'), undefined);
  } finally {
    raw.close();
    sdk.closeAll();
    await srv.stop();
    await other.stop();
  }
});

test('a connection refused by client.connection_limit is counted, and the limit is exposed', async () => {
  const srv = await startServer({ prometheus: { enabled: true }, client: { connection_limit: 1 } } as ConfigInput);
  const first = await RawClient.open(srv.wsUrl);
  try {
    await first.connect(await connToken('alice'));
    await assert.rejects(RawClient.open(srv.wsUrl), 'the second upgrade is refused');
    const fs = await scrape(srv);
    assert.equal(value(fs, 'centrifugo_node_client_connection_limit'), 1);
    assert.equal(value(fs, 'centrifugo_client_connection_limit_reached_total'), 1);
  } finally {
    first.close();
    await srv.stop();
  }
});

test('info carries the metrics snapshot in Centrifugo\'s form: dotted keys, counters as what the interval added, gauges as they are', async () => {
  const srv = await startServer({
    prometheus: { enabled: true },
    node: { info_metrics_aggregate_interval: '300ms' },
    channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
  } as ConfigInput);
  const sdk = new SdkPool(srv);
  try {
    const alice = sdk.client({ token: await connToken('alice') });
    await within(alice.connect(), 'alice connected');
    const room = await within(alice.subscribe('chat:room'), 'subscribed');
    const got = room.events.next('publication');
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { n: 1 } });
    await within(got, 'publication');
    const items = async (): Promise<Record<string, number>> => ((await apiOk(srv, 'info', {})) as { nodes: Array<{ metrics: { items: Record<string, number> } }> }).nodes[0]!.metrics.items;
    const sent = 'centrifugo.node.messages_sent_count.channel_namespace.chat.type.publication';
    // The interval that saw the publish counts it once; a later interval, with nothing published, counts 0.
    await eventually(async () => (await items())[sent] === 1, 'a snapshot with the publication');
    await eventually(async () => (await items())[sent] === 0, 'a later snapshot without it');
    const now = await items();
    assert.equal(now['centrifugo.node.num_clients'], 1, 'a gauge keeps its value');
    assert.equal(typeof now['centrifugo.client.command_duration_seconds.count.channel_namespace.chat.method.subscribe'], 'number', 'summaries by count');
    assert.ok(Object.keys(now).some((k) => k.startsWith('centrifugo.client.command_duration_seconds.quantile.')), 'and by quantile');
    assert.ok(
      Object.keys(now).every((k) => k.startsWith('centrifugo.') && !k.includes('{') && !k.includes('_bucket')),
      'only centrifugo_* series, no Prometheus notation, no histogram buckets',
    );
  } finally {
    sdk.closeAll();
    await srv.stop();
  }
});
