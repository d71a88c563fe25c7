/**
 * Subscribe stream proxies end to end: an in-process Rotor, the official SDK (JSON and Protobuf,
 * WebSocket and http_stream) and a real grpc-js backend serving `SubscribeUnidirectional` and
 * `SubscribeBidirectional` from proxy.proto (test/helpers/grpc-proxy-backend.ts).
 *
 * What each test holds: the backend's first answer decides the subscription; its later messages
 * reach that one subscriber only; the channel's own publications still reach it; the stream is
 * cancelled when the subscription or the connection ends; a stream the backend finishes is
 * unsubscribe 2000, one that breaks is 2500 (the SDK subscribes again); a bidirectional stream
 * carries the subscriber's publishes to the backend. Nothing sleeps: each waits for an event.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcProxyBackend, json } from '../helpers/grpc-proxy-backend.js';
import { takeProxyErrors, type ProxyErrorLine } from '../helpers/http-proxy-backend.js';
import { apiOk, rejectsWithCode, within, type Codec, type TestClient } from '../helpers/sdk.js';
import { connToken, startServer, subToken } from '../helpers/server.js';
import { Kit, withKit } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** A payload as the SDK of `codec` takes it, and back: objects for JSON, JSON text bytes for Protobuf. */
const enc = (codec: Codec, v: unknown): any => (codec === 'json' ? v : new TextEncoder().encode(JSON.stringify(v)));
const dec = (codec: Codec, v: any): unknown => (codec === 'json' ? v : JSON.parse(Buffer.from(v).toString()));
const parsed = (b: Buffer): unknown => JSON.parse(b.toString());

let backend: GrpcProxyBackend;
before(async () => {
  backend = await GrpcProxyBackend.start();
});
after(() => backend.stop());

const TIMEOUT = '5s';

function config(timeout = TIMEOUT): ConfigInput {
  return {
    http_stream: { enabled: true },
    channel: {
      proxy: { subscribe_stream: { endpoint: backend.endpoint(), timeout, include_connection_meta: true, http_headers: ['x-real'] } },
      namespaces: [
        { name: 'st', subscribe_stream_proxy_enabled: true, presence: true, join_leave: true, force_push_join_leave: true },
        { name: 'bi', subscribe_stream_proxy_enabled: true, subscribe_stream_proxy_bidirectional: true },
      ],
    },
  } as ConfigInput;
}

async function client(kit: Kit, user: string, codec: Codec, transport: 'websocket' | 'http_stream' = 'websocket'): Promise<TestClient> {
  const token = await connToken(user, { meta: { plan: 'pro' } });
  const c = transport === 'websocket' ? kit.sdk([{ transport: 'websocket', endpoint: kit.srv.wsUrl }], { token }, codec) : kit.sdk('http_stream', { token }, codec);
  await within(c.connect(), `${user} connected`);
  return c;
}

for (const codec of ['json', 'protobuf'] as const) {
  for (const transport of ['websocket', 'http_stream'] as const) {
    describe(`subscribe stream proxy (${codec}, ${transport})`, () => {
      it('the first answer decides; later messages reach that one subscriber, with tags; the channel still delivers; unsubscribe cancels', async () => {
        const next = backend.queueStreams((call, s) => s.write({ subscribe_response: { result: { data: json({ welcome: call.request.user }) } } }));
        await withKit(config(), async (srv, kit) => {
          const alice = await client(kit, 'alice', codec, transport);
          const bob = await client(kit, 'bob', codec, transport);

          const a = alice.newSub('st:feed', { data: enc(codec, { query: 'errors' }) });
          const aSubscribed = a.events.next('subscribed');
          a.sub.subscribe();
          const opened = await within(next(), 'alice stream opened');
          const r = opened.call.request;
          assert.equal(opened.call.method, 'SubscribeUnidirectional', 'a namespace without bidirectional opens a unidirectional stream');
          assert.deepEqual(
            [r.client !== '', r.transport, r.protocol, r.user, r.channel, parsed(r.data), parsed(r.meta)],
            [true, transport, codec, 'alice', 'st:feed', { query: 'errors' }, { plan: 'pro' }],
          );
          assert.deepEqual(dec(codec, (await within(aSubscribed, 'alice subscribed')).data), { welcome: 'alice' });

          const b = await within(bob.subscribe('st:feed'), 'bob subscribed');
          const bobStream = await within(next(), 'bob stream opened');
          assert.equal(bobStream.call.request.user, 'bob');

          // A backend message is alice's alone: bob's next publication is the one his stream sends.
          const aPub = a.events.next('publication');
          const bPub = b.events.next('publication');
          opened.stream.write({ publication: { data: json({ line: 1 }), tags: { level: 'error' } } });
          const got = await within(aPub, 'alice stream publication');
          assert.deepEqual([dec(codec, got.data), got.tags], [{ line: 1 }, { level: 'error' }]);
          bobStream.stream.write({ publication: { data: json({ line: 'bob' }) } });
          assert.deepEqual(dec(codec, (await within(bPub, 'bob stream publication')).data), { line: 'bob' });

          // The channel itself still delivers to every subscriber, and presence sees both.
          const aApi = a.events.next('publication');
          const bApi = b.events.next('publication');
          await apiOk(srv, 'publish', { channel: 'st:feed', data: { all: true } });
          assert.deepEqual(dec(codec, (await within(aApi, 'alice api publication')).data), { all: true });
          assert.deepEqual(dec(codec, (await within(bApi, 'bob api publication')).data), { all: true });
          const presence = await apiOk(srv, 'presence', { channel: 'st:feed' });
          assert.deepEqual(Object.values(presence.presence).map((p: any) => p.user).sort(), ['alice', 'bob']);

          // Many messages arrive in order.
          const many: number[] = [];
          const all = new Promise<void>((resolve) =>
            a.sub.on('publication', (ctx) => {
              many.push((dec(codec, ctx.data) as { n: number }).n);
              if (many.length === 50) resolve();
            }),
          );
          for (let n = 0; n < 50; n++) opened.stream.write({ publication: { data: json({ n }) } });
          await within(all, '50 stream publications');
          assert.deepEqual(many, Array.from({ length: 50 }, (_, n) => n));

          a.sub.unsubscribe();
          await within(opened.stream.cancelled, 'alice stream cancelled on unsubscribe');
          bob.c.disconnect();
          await within(bobStream.stream.cancelled, 'bob stream cancelled on disconnect');
        });
      });
    });
  }

  describe(`subscribe stream proxy answers and endings (${codec})`, () => {
    it('an error answer and a disconnect answer reach the client as they are', async () => {
      backend.queueStreams((call, s) => {
        if (call.request.channel === 'st:denied') s.write({ subscribe_response: { error: { code: 4403, message: 'not yours' } } });
        else s.write({ subscribe_response: { disconnect: { code: 4501, reason: 'banned' } } });
      });
      await withKit(config(), async (_srv, kit) => {
        const c = await client(kit, 'carol', codec);
        // A permanent error (not temporary, code >= 100) ends the SDK's subscription with that code.
        const s = c.newSub('st:denied');
        const gave = s.events.next('unsubscribed');
        s.sub.subscribe();
        const u = await within(gave, 'subscribe refused');
        assert.deepEqual([u.code, u.reason], [4403, 'not yours']);
        const gone = c.events.next('disconnected');
        c.newSub('st:kick').sub.subscribe();
        assert.equal((await within(gone, 'disconnected')).code, 4501);
      });
    });

    it('a stream the backend finishes unsubscribes with 2000; one that breaks unsubscribes with 2500 and the SDK subscribes again', async () => {
      const next = backend.queueStreams();
      await withKit(config(), async (_srv, kit) => {
        const c = await client(kit, 'dave', codec);
        const fin = await within(c.subscribe('st:finite'), 'subscribed');
        const first = await within(next(), 'stream opened');
        const unsubscribed = fin.events.next('unsubscribed');
        first.stream.end();
        const u = await within(unsubscribed, 'unsubscribed');
        assert.deepEqual([u.code, u.reason], [2000, 'server unsubscribe']);

        const brk = await within(c.subscribe('st:fragile'), 'subscribed');
        const second = await within(next(), 'stream opened');
        const resubscribing = brk.events.next('subscribing', (x) => x.code !== 0);
        const again = brk.events.next('subscribed');
        second.stream.fail(grpc.status.UNAVAILABLE, 'backend restarting');
        const s = await within(resubscribing, 'subscribing again');
        assert.deepEqual([s.code, s.reason], [2500, 'insufficient state']);
        const third = await within(next(), 'stream opened again');
        assert.equal(third.call.request.channel, 'st:fragile');
        await within(again, 'subscribed again');
        const pub = brk.events.next('publication');
        third.stream.write({ publication: { data: json({ back: 1 }) } });
        assert.deepEqual(dec(codec, (await within(pub, 'publication on the new stream')).data), { back: 1 });
      });
    });

    it('bidirectional: the subscriber publishes into its stream, the backend answers through it; others publish by the rules', async () => {
      const next = backend.queueStreams();
      await withKit(config(), async (srv, kit) => {
        const c = await client(kit, 'erin', codec);
        const s = await within(c.subscribe('bi:chat'), 'subscribed');
        const opened = await within(next(), 'bidirectional stream opened');
        assert.deepEqual([opened.call.method, opened.call.request.user, opened.call.request.channel], ['SubscribeBidirectional', 'erin', 'bi:chat']);

        const received = opened.stream.nextReceived();
        await within(s.sub.publish(enc(codec, { say: 'hi' })), 'published into the stream');
        assert.deepEqual(parsed(await within(received, 'the backend received it')), { say: 'hi' });
        const echo = s.events.next('publication');
        opened.stream.write({ publication: { data: json({ echo: 'hi' }) } });
        assert.deepEqual(dec(codec, (await within(echo, 'echo')).data), { echo: 'hi' });
        const history = await apiOk(srv, 'history', { channel: 'bi:chat', limit: -1 }).catch((e: Error) => e);
        assert.ok(history instanceof Error || (history.publications ?? []).length === 0, 'nothing went into the channel');

        // Not subscribed: no stream to publish into, and the namespace does not allow client publishes.
        const other = await client(kit, 'frank', codec);
        await rejectsWithCode(other.c.publish('bi:chat', enc(codec, { x: 1 })), 103, 'publish without the stream');
      });
    });

    it('a unidirectional stream: the subscriber publishes by the namespace rules (103 here), never into the stream', async () => {
      const next = backend.queueStreams();
      await withKit(config(), async (_srv, kit) => {
        const c = await client(kit, 'gina', codec);
        const s = await within(c.subscribe('st:ro'), 'subscribed');
        const opened = await within(next(), 'stream opened');
        assert.deepEqual([opened.call.method, opened.call.request.channel], ['SubscribeUnidirectional', 'st:ro']);
        assert.equal(backend.callsTo('SubscribeBidirectional').filter((x) => x.request.channel === 'st:ro').length, 0);
        await rejectsWithCode(s.sub.publish(enc(codec, { x: 1 })), 103, 'publish');
        assert.equal(backend.callsTo('Publish').length, 0);
      });
    });

    it('a subscription token decides alone and opens no stream', async () => {
      backend.queueStreams();
      await withKit(config(), async (_srv, kit) => {
        const before = backend.callsTo('SubscribeUnidirectional').length;
        const c = await client(kit, 'hank', codec);
        const token = await subToken('hank', 'st:tokened');
        await within(c.subscribe('st:tokened', { token }), 'subscribed with a token');
        assert.equal(backend.callsTo('SubscribeUnidirectional').length, before);
      });
    });
  });
}

describe('subscribe stream proxy failures', () => {
  it('no first message within timeout, a stream failing at once, or a backend that is down: error 100, logged', async () => {
    let mode: 'silent' | 'fail' = 'silent';
    backend.queueStreams((_call, s) => {
      if (mode === 'fail') s.fail(grpc.status.INTERNAL, 'backend bug');
    });
    const srv = await startServer(config('300ms'));
    const k = new Kit(srv);
    try {
      const c = await client(k, 'ivan', 'json');
      for (const m of ['silent', 'fail'] as const) {
        mode = m;
        const s = c.newSub(`st:${m}`);
        const err = s.events.next('error');
        s.sub.subscribe();
        const e = await within(err, `${m}: subscribe error`);
        assert.deepEqual([e.error.code, e.error.temporary], [100, true], m);
        s.sub.unsubscribe();
      }
    } finally {
      await k.closeAll();
      await srv.stop();
    }
    // Each failure names the proxy, the method, the client and the channel, as the HTTP proxies' do.
    const named = (l: ProxyErrorLine, channel: string): void =>
      assert.deepEqual([l.ctx.proxy, l.ctx.method, l.ctx.channel, typeof l.ctx.client], ['channel.proxy.subscribe_stream', 'subscribe_stream', channel, 'string'], JSON.stringify(l));
    const logged = takeProxyErrors(srv);
    assert.deepEqual(srv.errors, [], 'every error logged is a stream proxy failure');
    const silent = logged.filter((l) => l.message.endsWith('failed: DEADLINE_EXCEEDED: no first stream message within 300 ms'));
    const failed = logged.filter((l) => l.message.endsWith('failed: INTERNAL: backend bug'));
    assert.ok(silent.length > 0 && failed.length > 0, JSON.stringify(logged));
    for (const l of silent) named(l, 'st:silent');
    for (const l of failed) named(l, 'st:fail');
    for (const l of logged) assert.ok(l.message.startsWith('subscribe stream channel.proxy.subscribe_stream failed: '), l.message);

    const down = await startServer({
      channel: { proxy: { subscribe_stream: { endpoint: 'grpc://127.0.0.1:1', timeout: TIMEOUT } }, namespaces: [{ name: 'st', subscribe_stream_proxy_enabled: true }] },
    } as ConfigInput);
    const k2 = new Kit(down);
    try {
      const c = await client(k2, 'judy', 'json');
      const s = c.newSub('st:down');
      const err = s.events.next('error');
      s.sub.subscribe();
      assert.equal((await within(err, 'subscribe error')).error.code, 100);
    } finally {
      await k2.closeAll();
      await down.stop();
    }
    const unavailable = takeProxyErrors(down);
    assert.deepEqual(down.errors, [], 'every error logged is a stream proxy failure');
    assert.ok(unavailable.length > 0 && unavailable.every((l) => /failed: UNAVAILABLE/.test(l.message)), JSON.stringify(unavailable));
    for (const l of unavailable) named(l, 'st:down');
  });
});
