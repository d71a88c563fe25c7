/**
 * Lifecycle events over HTTP, end to end: an in-process Rotor, official SDK clients and a real
 * node:http backend. Disconnect events (code, reason, duration), unsubscribe events for every way
 * a subscription ends, occupied on the first subscriber and vacated after the delay (none when the
 * channel is subscribed again within it), a batch answered 500 sent again, a backend that is down
 * or stalled (clients unaffected, the queue's overflow counted), the disconnects of a shutdown
 * flushed, and settings that cannot work refused at start naming the key.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { App } from '../../src/app/app.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { MemoryBroker } from '../../src/engine/memory/broker.js';
import { MemoryPresenceManager } from '../../src/engine/memory/presence.js';
import type { Broker, BrokerEventHandler } from '../../src/engine/types.js';
import type { Logger } from '../../src/util/logger.js';
import { BASE_CONFIG, connToken, startServer, subToken, type TestServer } from '../helpers/server.js';
import { SdkPool, apiOk, type TestClient } from '../helpers/sdk.js';
import { HttpBackend, type BackendEvent } from '../helpers/lifecycle-backends.js';

const backends: HttpBackend[] = [];
after(async () => {
  for (const b of backends) await b.close();
});

async function backend(): Promise<HttpBackend> {
  const b = await HttpBackend.start();
  backends.push(b);
  return b;
}

/** The vacated delay unless a test sets its own. */
const VACATED_DELAY_MS = 300;

/** Every kind on, short delays so the tests wait little. */
function lifecycleConfig(endpoint: string, extra: { vacated_delay?: string; queue_size?: number; flush_timeout?: string } = {}): ConfigInput {
  return {
    lifecycle_events: {
      endpoint,
      batch_max_delay: '10ms',
      retry_min_backoff: '10ms',
      retry_max_backoff: '100ms',
      vacated_delay: extra.vacated_delay ?? `${VACATED_DELAY_MS}ms`,
      ...(extra.queue_size !== undefined ? { queue_size: extra.queue_size } : {}),
      ...(extra.flush_timeout !== undefined ? { flush_timeout: extra.flush_timeout } : {}),
    },
    client: { disconnect_events_enabled: true, presence_update_interval: '100ms', expired_sub_close_delay: '0s' },
    channel: {
      namespaces: [
        { name: 'chat', allow_subscribe_for_client: true, unsubscribe_events_enabled: true, state_proxy_enabled: true },
        { name: 'tok', unsubscribe_events_enabled: true },
        { name: 'pos', allow_subscribe_for_client: true, force_positioning: true, history_size: 10, history_ttl: '300s', unsubscribe_events_enabled: true },
        // No opt-in: nothing is sent for these channels.
        { name: 'quiet', allow_subscribe_for_client: true },
      ],
    },
  };
}

interface Env {
  srv: TestServer;
  sdk: SdkPool;
  backend: HttpBackend;
}

async function withEnv(fn: (env: Env) => Promise<void>, extra: Parameters<typeof lifecycleConfig>[1] = {}, parts: Parameters<typeof startServer>[1] = {}): Promise<void> {
  const b = await backend();
  const srv = await startServer(lifecycleConfig(b.url, extra), parts);
  const sdk = new SdkPool(srv);
  try {
    await fn({ srv, sdk, backend: b });
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  } finally {
    sdk.closeAll();
    await srv.stop();
  }
}

async function connect(sdk: SdkPool, user: string): Promise<TestClient & { id: string }> {
  const c = sdk.client({ token: await connToken(user) });
  const { client } = await c.connect();
  return Object.assign(c, { id: client });
}

const isType =
  (type: string, more: Record<string, unknown> = {}) =>
  (e: BackendEvent): boolean =>
    e['type'] === type && Object.entries(more).every(([k, v]) => e[k] === v);

describe('lifecycle events over HTTP', () => {
  it('disconnect: client, user, code, reason and how long the connection lasted', async () => {
    await withEnv(async ({ srv, sdk, backend: b }) => {
      const before = Date.now();
      const alice = await connect(sdk, 'alice');
      await apiOk(srv, 'disconnect', { user: 'alice', disconnect: { code: 4501, reason: 'kicked' } });
      const e = await b.next(isType('disconnect', { client: alice.id }), 'the disconnect of alice');
      const afterwards = Date.now();
      assert.equal(e['user'], 'alice');
      assert.equal(e['code'], 4501);
      assert.equal(e['reason'], 'kicked');
      const duration = e['duration_ms'] as number;
      const time = e['time_ms'] as number;
      assert.ok(Number.isInteger(duration) && duration >= 0 && duration <= afterwards - before, `duration ${duration} within the connection's life`);
      assert.ok(time >= before && time <= afterwards, 'time_ms is when it ended');

      // A client closing its connection: 3000.
      const bob = await connect(sdk, 'bob');
      bob.c.disconnect();
      const e2 = await b.next(isType('disconnect', { client: bob.id }), 'the disconnect of bob');
      assert.deepEqual([e2['code'], e2['reason'], e2['user']], [3000, 'connection closed', 'bob']);
    });
  });

  it('a connection refused at connect is not reported', async () => {
    await withEnv(async ({ sdk, backend: b }) => {
      const bad = sdk.client({ token: 'not-a-token' });
      bad.c.connect();
      await bad.events.next('disconnected');
      const ok = await connect(sdk, 'carol');
      ok.c.disconnect();
      await b.next(isType('disconnect', { client: ok.id }), 'the disconnect of carol');
      assert.deepEqual(b.events().filter(isType('disconnect')).map((e) => e['user']), ['carol']);
    });
  });

  it('unsubscribe: client unsubscribe (0), server unsubscribe (2000), disconnect (1, before the disconnect itself)', async () => {
    await withEnv(async ({ srv, sdk, backend: b }) => {
      const c = await connect(sdk, 'dave');
      const s1 = await c.subscribe('chat:one');
      s1.sub.unsubscribe();
      const e1 = await b.next(isType('unsubscribe', { channel: 'chat:one' }), 'unsubscribe chat:one');
      assert.deepEqual([e1['client'], e1['user'], e1['code'], e1['reason']], [c.id, 'dave', 0, 'client unsubscribed']);

      await c.subscribe('chat:two');
      await apiOk(srv, 'unsubscribe', { user: 'dave', channel: 'chat:two' });
      const e2 = await b.next(isType('unsubscribe', { channel: 'chat:two' }), 'unsubscribe chat:two');
      assert.deepEqual([e2['code'], e2['reason']], [2000, 'server unsubscribe']);

      await c.subscribe('chat:three');
      await c.subscribe('quiet:x');
      c.c.disconnect();
      await b.next(isType('disconnect', { client: c.id }), 'the disconnect');
      const events = b.events();
      const unsub = events.findIndex(isType('unsubscribe', { channel: 'chat:three' }));
      assert.ok(unsub >= 0 && unsub < events.findIndex(isType('disconnect', { client: c.id })), 'the unsubscribe comes before the disconnect');
      assert.deepEqual([events[unsub]!['code'], events[unsub]!['reason']], [1, 'client disconnected']);
      assert.equal(events.filter(isType('unsubscribe', { channel: 'quiet:x' })).length, 0, 'no event for a namespace without the opt-in');
    });
  });

  it('unsubscribe: an expired subscription (2501)', async () => {
    await withEnv(async ({ sdk, backend: b }) => {
      const c = await connect(sdk, 'erin');
      // A subscription token expiring in 1-2 s (`exp` is in whole seconds; 2 leaves at least one
      // for the subscribe to arrive first), and a refresh that never answers: the SDK asks for a
      // new token at the ttl and waits, so the server's expiry ends the subscription (2501). With
      // no getToken at all the SDK would unsubscribe by itself at the ttl (a client unsubscribe,
      // 0), racing the server's expiry by up to a second either way.
      const s = c.newSub('tok:a', { token: await subToken('erin', 'tok:a', {}, 2), getToken: () => new Promise<string>(() => {}) });
      const subscribed = s.events.next('subscribed');
      s.sub.subscribe();
      await subscribed;
      const e = await b.next(isType('unsubscribe', { channel: 'tok:a' }), 'the expiry');
      assert.deepEqual([e['client'], e['code'], e['reason']], [c.id, 2501, 'subscription expired']);
    });
  });

  it('unsubscribe: lost stream continuity (2500)', async () => {
    // A memory broker whose delivery of a publication marked `jump` carries another epoch, as a
    // stream lost by the engine would: the positioned subscriber loses continuity.
    const broker = new MemoryBroker();
    const jumping: Broker = Object.assign(Object.create(broker) as Broker, {
      run: (h: BrokerEventHandler, nodeId: string) =>
        broker.run(
          {
            handlePublication: (ch, pub, pos, useDelta, prev) =>
              h.handlePublication(ch, pub, Buffer.from(pub.data).toString().includes('jump') ? { offset: pos.offset, epoch: 'elsewhere' } : pos, useDelta, prev),
            handleJoin: (ch, info) => h.handleJoin(ch, info),
            handleLeave: (ch, info) => h.handleLeave(ch, info),
            handleControl: (d) => h.handleControl(d),
          },
          nodeId,
        ),
    });
    await withEnv(
      async ({ srv, sdk, backend: b }) => {
        const c = await connect(sdk, 'fay');
        await c.subscribe('pos:a');
        await apiOk(srv, 'publish', { channel: 'pos:a', data: { jump: true } });
        const e = await b.next(isType('unsubscribe', { channel: 'pos:a' }), 'the insufficient state');
        assert.deepEqual([e['client'], e['code'], e['reason']], [c.id, 2500, 'insufficient state']);
      },
      {},
      { engine: { broker: jumping, presence: new MemoryPresenceManager() } },
    );
  });

  it('occupied on the first subscriber, vacated once the last left and the delay ran out', async () => {
    await withEnv(async ({ sdk, backend: b }) => {
      const c1 = await connect(sdk, 'gus');
      const c2 = await connect(sdk, 'hal');
      const t0 = Date.now();
      const s1 = await c1.subscribe('chat:room');
      await c2.subscribe('chat:room');
      const occupied = await b.next(isType('occupied', { channel: 'chat:room' }), 'occupied');
      assert.deepEqual(Object.keys(occupied).sort(), ['channel', 'time_ms', 'type'], "Centrifugo PRO's event shape");
      assert.ok((occupied['time_ms'] as number) >= t0);
      s1.sub.unsubscribe();
      await b.next(isType('unsubscribe', { channel: 'chat:room', client: c1.id }), 'the first unsubscribe');
      const left = Date.now();
      // By the test's clock, before the server can see the last subscriber go.
      const unsubscribedAt = performance.now();
      c2.c.disconnect();
      const vacated = await b.next(isType('vacated', { channel: 'chat:room' }), 'vacated');
      assert.ok((vacated['time_ms'] as number) >= left, 'time_ms is when the last subscriber left');
      // The whole delay runs from the last one leaving: a lower bound of the semantics, not a speed limit.
      const waited = b.receivedAt(vacated) - unsubscribedAt;
      assert.ok(waited >= VACATED_DELAY_MS, `vacated arrived ${waited.toFixed(1)} ms after the unsubscribe, not before the ${VACATED_DELAY_MS} ms delay`);
      assert.equal(b.events().filter(isType('occupied', { channel: 'chat:room' })).length, 1, 'one occupied for two subscribers');
      // The vacated comes after the last subscriber's unsubscribe, never before.
      const events = b.events();
      assert.ok(events.findIndex(isType('unsubscribe', { client: c2.id })) < events.indexOf(vacated));
    });
  });

  it('no vacated (and no second occupied) when the channel is subscribed again within the delay', async () => {
    await withEnv(
      async ({ sdk, backend: b }) => {
        const c = await connect(sdk, 'ivy');
        const a = await c.subscribe('chat:again');
        const sentinel = await c.subscribe('chat:sentinel');
        await b.next(isType('occupied', { channel: 'chat:sentinel' }), 'the sentinel occupied');
        a.sub.unsubscribe();
        await b.next(isType('unsubscribe', { channel: 'chat:again' }), 'the unsubscribe');
        // The sentinel leaves after chat:again did, so its vacated comes after chat:again's would.
        sentinel.sub.unsubscribe();
        const back = a.events.next('subscribed');
        a.sub.subscribe();
        await back;
        await b.next(isType('vacated', { channel: 'chat:sentinel' }), 'the sentinel vacated');
        assert.deepEqual(
          b.events().filter((e) => e['channel'] === 'chat:again' && (e['type'] === 'occupied' || e['type'] === 'vacated')).map((e) => e['type']),
          ['occupied'],
        );
      },
      { vacated_delay: '2500ms' },
    );
  });

  it('a batch the backend answered 500 is sent again until it is taken', async () => {
    await withEnv(async ({ sdk, backend: b }) => {
      b.answer = (n) => (n === 0 ? { status: 500, body: 'oops' } : { status: 200 });
      const c = await connect(sdk, 'jay');
      c.c.disconnect();
      await b.requests(2);
      assert.deepEqual(b.batches[1]!.events, b.batches[0]!.events, 'the same batch, again');
      assert.equal(b.batches[0]!.events.filter(isType('disconnect', { client: c.id })).length, 1);
    });
  });

  it('the disconnects of a shutdown reach the backend before stop returns', async () => {
    const b = await backend();
    const srv = await startServer(lifecycleConfig(b.url));
    const sdk = new SdkPool(srv);
    const c1 = await connect(sdk, 'kim');
    const c2 = await connect(sdk, 'lee');
    await srv.stop();
    sdk.closeAll();
    const shut = b.events().filter(isType('disconnect', { code: 3001 }));
    assert.deepEqual(shut.map((e) => e['client']).sort(), [c1.id, c2.id].sort());
    assert.deepEqual(srv.errors, []);
  });
});

describe('lifecycle events: a backend down or stalled', () => {
  it('a backend that refuses connections blocks no client, and the stop ends within its bound', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const srv = await startServer(lifecycleConfig(`http://127.0.0.1:${port}/down`, { flush_timeout: '200ms' }));
    const sdk = new SdkPool(srv);
    try {
      for (let i = 0; i < 5; i++) {
        const c = await connect(sdk, `u${i}`);
        const s = await c.subscribe('chat:busy');
        const pub = s.events.next('publication');
        await apiOk(srv, 'publish', { channel: 'chat:busy', data: { i } });
        assert.deepEqual((await pub).data, { i });
        c.c.disconnect();
      }
    } finally {
      sdk.closeAll();
      await srv.stop();
    }
    assert.deepEqual(srv.errors, [], 'retries and the loss at stop are warnings, not errors');
  });

  it("a stalled backend: the queue's overflow is counted and logged, clients carry on", async () => {
    const b = await backend();
    b.answer = () => 'hang';
    const warns: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const noop = (): void => {};
    const log: Logger = {
      trace: noop,
      debug: noop,
      info: noop,
      error: noop,
      warn: (fields: object | string, msg?: string) => warns.push({ fields: typeof fields === 'string' ? {} : (fields as Record<string, unknown>), msg: msg ?? String(fields) }),
    };
    const input = lifecycleConfig(b.url, { queue_size: 2, flush_timeout: '100ms' });
    const config = configSchema.parse({ ...BASE_CONFIG, ...input, client: { ...BASE_CONFIG.client, ...input.client } });
    const app = await App.create(config, log, { engine: { broker: new MemoryBroker(), presence: new MemoryPresenceManager() } });
    const { port } = await app.start();
    const srv = { wsUrl: `ws://127.0.0.1:${port}/connection/websocket` } as TestServer;
    const sdk = new SdkPool(srv);
    try {
      const first = await connect(sdk, 'x0');
      first.c.disconnect();
      await b.requests(1); // the first batch is held by the backend
      for (let i = 1; i <= 6; i++) {
        const c = await connect(sdk, `x${i}`);
        const closed = c.events.next('disconnected');
        c.c.disconnect();
        await closed;
      }
      const overflow = await waitForWarn(warns, /queue full/);
      assert.ok((overflow.fields['overflowed'] as number) >= 1, 'the count of refused events');
      assert.equal(overflow.fields['queueSize'], 2);
      // Clients still connect while the backend stalls.
      await connect(sdk, 'after');
    } finally {
      sdk.closeAll();
      await app.stop(2000);
    }
    assert.ok(warns.some((w) => /not delivered before the shutdown bound/.test(w.msg)), 'what the stalled backend never took is counted at stop');
  });
});

describe('lifecycle events: settings that cannot work stop the start, naming the key', () => {
  const cases: Array<[string, ConfigInput, RegExp]> = [
    ['disconnect events without an endpoint', { client: { disconnect_events_enabled: true } }, /client\.disconnect_events_enabled: needs lifecycle_events\.endpoint/],
    ['unsubscribe events without an endpoint', { channel: { namespaces: [{ name: 'n1', unsubscribe_events_enabled: true }] } }, /channel\.namespaces\[0\]\.unsubscribe_events_enabled: needs lifecycle_events\.endpoint \(namespace "n1"\)/],
    ['channel state without an endpoint', { channel: { without_namespace: { state_proxy_enabled: true } } }, /channel\.without_namespace\.state_proxy_enabled/],
    ['an endpoint of another scheme', { lifecycle_events: { endpoint: 'ftp://x' } }, /lifecycle_events\.endpoint: must start with/],
    ['a grpc endpoint without a port', { lifecycle_events: { endpoint: 'grpc://backend' } }, /lifecycle_events\.endpoint: a grpc:\/\/ endpoint needs host:port/],
    ['retry bounds the wrong way round', { lifecycle_events: { endpoint: 'http://x', retry_min_backoff: '2s', retry_max_backoff: '1s' } }, /lifecycle_events\.retry_max_backoff/],
  ];
  for (const [name, input, re] of cases) {
    it(name, async () => {
      await assert.rejects(startServer(input), re);
    });
  }
});

async function waitForWarn(warns: Array<{ fields: Record<string, unknown>; msg: string }>, re: RegExp): Promise<{ fields: Record<string, unknown>; msg: string }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const w = warns.find((x) => re.test(x.msg));
    if (w !== undefined) return w;
    if (Date.now() > deadline) throw new Error(`no warning matching ${re}; got ${JSON.stringify(warns)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
