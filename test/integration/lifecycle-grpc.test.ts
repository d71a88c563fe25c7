/**
 * Lifecycle events over gRPC, end to end: an in-process Rotor, SDK clients and a real
 * @grpc/grpc-js backend built from src/notify/notify.proto. Connection events go to
 * `rotor.notify.LifecycleNotifier/Notify` on `lifecycle_events.endpoint`; channel state goes to
 * Centrifugo PRO's `CentrifugoProxy/NotifyChannelState` on `channel.proxy.state.endpoint` (over
 * gRPC here, over HTTP in PRO's JSON shape in the second case), with the configured metadata.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connToken, startServer } from '../helpers/server.js';
import { SdkPool } from '../helpers/sdk.js';
import { NOTIFY_METHOD, PRO_CHANNEL_STATE_METHOD } from '../../src/notify/codec.js';
import { GrpcBackend, HttpBackend, type BackendEvent } from '../helpers/lifecycle-backends.js';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

const grpcOptions = { static_metadata: { 'x-rotor': 'lifecycle' }, credentials_key: 'authorization', credentials_value: 'Bearer s3cret' };

function config(lifecycle: string, state: { endpoint: string; grpc?: typeof grpcOptions; http?: { static_headers: Record<string, string> } }) {
  return {
    lifecycle_events: { endpoint: lifecycle, grpc: grpcOptions, batch_max_delay: '10ms', vacated_delay: '200ms', retry_min_backoff: '10ms' },
    client: { disconnect_events_enabled: true },
    channel: {
      proxy: { state },
      namespaces: [{ name: 'chat', allow_subscribe_for_client: true, unsubscribe_events_enabled: true, state_proxy_enabled: true }],
    },
  };
}

const is =
  (type: string, more: Record<string, unknown> = {}) =>
  (e: BackendEvent): boolean =>
    e['type'] === type && Object.entries(more).every(([k, v]) => e[k] === v);

describe('lifecycle events over gRPC', () => {
  it("connection events on Rotor's method, channel state on PRO's NotifyChannelState", async () => {
    const events = await GrpcBackend.start();
    const state = await GrpcBackend.start();
    closers.push(() => events.close(), () => state.close());
    const srv = await startServer(config(events.url, { endpoint: state.url, grpc: { ...grpcOptions, static_metadata: { 'x-rotor': 'state' } } }));
    const sdk = new SdkPool(srv);
    try {
      const c = sdk.client({ token: await connToken('mia') });
      const { client } = await c.connect();
      const s = await c.subscribe('chat:lobby');
      const occupied = await state.next(is('occupied', { channel: 'chat:lobby' }), 'occupied');
      assert.ok((occupied['timeMs'] as number) > 0);
      s.sub.unsubscribe();
      const unsub = await events.next(is('unsubscribe', { channel: 'chat:lobby' }), 'the unsubscribe');
      assert.deepEqual([unsub['client'], unsub['user'], unsub['code'], unsub['reason']], [client, 'mia', 0, 'client unsubscribed']);
      await state.next(is('vacated', { channel: 'chat:lobby' }), 'vacated');
      c.c.disconnect();
      const d = await events.next(is('disconnect', { client }), 'the disconnect');
      assert.deepEqual([d['user'], d['code'], d['reason']], ['mia', 3000, 'connection closed']);
      assert.ok((d['durationMs'] as number) >= 0);

      assert.ok(events.batches.every((b) => b.path === NOTIFY_METHOD), 'connection events on LifecycleNotifier/Notify');
      assert.ok(state.batches.every((b) => b.path === PRO_CHANNEL_STATE_METHOD), 'channel state on NotifyChannelState');
      assert.equal(events.events().filter((e) => e['type'] === 'occupied' || e['type'] === 'vacated').length, 0, 'channel state only to its own endpoint');
      assert.deepEqual([events.batches[0]!.headers['x-rotor'], events.batches[0]!.headers['authorization']], ['lifecycle', 'Bearer s3cret']);
      assert.deepEqual([state.batches[0]!.headers['x-rotor'], state.batches[0]!.headers['authorization']], ['state', 'Bearer s3cret']);
      assert.deepEqual(srv.errors, []);
    } finally {
      sdk.closeAll();
      await srv.stop();
    }
  });

  it('channel state to an HTTP channel.proxy.state endpoint in PRO\'s JSON shape, connection events over gRPC', async () => {
    const events = await GrpcBackend.start();
    const state = await HttpBackend.start('/centrifugo/channel_events');
    closers.push(() => events.close(), () => state.close());
    const srv = await startServer(config(events.url, { endpoint: state.url, http: { static_headers: { 'x-state': 'yes' } } }));
    const sdk = new SdkPool(srv);
    try {
      const c = sdk.client({ token: await connToken('ned') });
      await c.connect();
      await c.subscribe('chat:index');
      const occupied = await state.next(is('occupied'), 'occupied');
      assert.deepEqual(Object.keys(occupied).sort(), ['channel', 'time_ms', 'type']);
      assert.equal(occupied['channel'], 'chat:index');
      assert.equal(state.batches[0]!.headers['x-state'], 'yes');
      assert.equal(state.batches[0]!.path, '/centrifugo/channel_events');
      c.c.disconnect();
      await state.next(is('vacated', { channel: 'chat:index' }), 'vacated');
      await events.next(is('disconnect'), 'the disconnect over gRPC');
    } finally {
      sdk.closeAll();
      await srv.stop();
    }
  });
});
