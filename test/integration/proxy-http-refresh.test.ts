/**
 * The refresh and sub_refresh proxies over HTTP (spec §3.6–3.7, centrifugo-v6-notes §6.2–6.3):
 * with a refresh proxy the server refreshes every connection at its expiry, token ones too, and
 * a client's `refresh` is 3501; a result extends it (new info and meta) or expires it (3005),
 * no result and a status transform expire it, and a failed call (down, non-200, slow, garbage)
 * extends it by 60 s. sub_refresh does the same for subscriptions of its namespaces (2501 for an
 * expired one), on the periodic tick.
 *
 * Expiry needs real time to pass (second precision): connections and subscriptions here expire
 * one to two seconds after they start. The 60 s extension is asserted by the new expiry, bracketed by the
 * clock read before the backend answered and after the extension was seen, never by a duration.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpProxyBackend, awaitProxyError, deadEndpoint } from '../helpers/http-proxy-backend.js';
import { apiOk, eventually, withServer, within } from '../helpers/sdk.js';
import { RawClient } from '../helpers/raw-ws.js';
import { connToken, subToken, type TestServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FAILED_REFRESH_EXTENSION_S } from '../../src/proxy/hooks.js';

/** Long enough for an expiry a second out to fall and be acted on. */
const EXPIRY_WAIT_MS = 10_000;
const nowSec = () => Math.floor(Date.now() / 1000);

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

const transforms = [{ status_code: 410, to_error: { code: 1410, message: 'gone' } }];

/**
 * `refreshTimeout`: the refresh proxy's. Backends that answer get a generous one, so a busy
 * machine never turns an answer into a timeout; the slow cases have proxies of their own.
 */
function config(refreshEndpoint: string, subRefreshEndpoint: string, refreshTimeout = '10s'): ConfigInput {
  return {
    client: {
      expired_close_delay: '1s',
      expired_sub_close_delay: '100ms',
      presence_update_interval: '250ms',
      proxy: {
        connect: { enabled: true, endpoint: backend.url('/connect') },
        refresh: { enabled: true, endpoint: refreshEndpoint, timeout: refreshTimeout, include_connection_meta: true, http: { status_to_code_transforms: transforms } },
      },
    },
    channel: {
      proxy: {
        subscribe: { endpoint: backend.url('/subscribe') },
        sub_refresh: { endpoint: subRefreshEndpoint, timeout: '10s', include_connection_meta: true, http: { status_to_code_transforms: transforms } },
      },
      namespaces: [
        { name: 'sr', subscribe_proxy_enabled: true, sub_refresh_proxy_enabled: true, presence: true },
        { name: 'named', subscribe_proxy_enabled: true, sub_refresh_proxy_enabled: true, sub_refresh_proxy_name: 'srnamed' },
        { name: 'slow', subscribe_proxy_enabled: true, sub_refresh_proxy_enabled: true, sub_refresh_proxy_name: 'srslow' },
        { name: 'tk', sub_refresh_proxy_enabled: true },
        { name: 'cs', subscribe_proxy_enabled: true },
      ],
    },
    rpc: { proxy: { endpoint: backend.url('/rpc'), include_connection_meta: true }, without_namespace: { proxy_enabled: true } },
    proxies: [
      { name: 'srnamed', endpoint: backend.url('/sub-refresh-named') },
      { name: 'srslow', endpoint: backend.url('/sub-refresh-slow'), timeout: '300ms' },
    ],
  } as ConfigInput;
}

/** What a failing backend does with a call: answer 500 or 410 (transformed), or send garbage. */
function fail(kind: string, res: Parameters<Parameters<HttpProxyBackend['on']>[1]>[1]): unknown {
  if (kind === 'garbage') return 'this is not JSON';
  res.writeHead(kind === 'transform' ? 410 : 500).end('oops');
  return undefined;
}

/** Asserts `expireAt` is the 60 s extension of a refresh asked between `t0` and now. */
function assertExtended(expireAt: number | undefined, t0: number, what: string): void {
  const t1 = nowSec();
  assert.ok(
    expireAt !== undefined && expireAt >= t0 + FAILED_REFRESH_EXTENSION_S && expireAt <= t1 + FAILED_REFRESH_EXTENSION_S,
    `${what}: expected an expiry in [${t0 + 60}, ${t1 + 60}], got ${expireAt}`,
  );
}

/**
 * An expiry a second or two out: at least one whole second, so it is still in the future when the
 * server checks it (an expiry already past is error 110).
 */
const soon = () => nowSec() + 2;

/** Connects `name` through the connect proxy, expiring soon (only its first connect expires). */
function connectBackend(expiring: Set<string>): void {
  backend.on('/connect', (call) => {
    const name: string = call.body.name;
    const first = !expiring.has(name);
    expiring.add(name);
    return { result: { user: name, expire_at: first ? soon() : 0, info: { v: 1 }, meta: { m: 1, name } } };
  });
}

test('refresh proxy: a result extends the connection with new info and meta; expired, no result and a status transform end it with 3005; non-200 and garbage extend it 60 s; token connections are refreshed too', async () => {
  const expiring = new Set<string>();
  connectBackend(expiring);
  const failedAt = new Map<string, number>();
  backend.on('/refresh', (call, res) => {
    const user: string = call.body.user;
    switch (user) {
      case 'extend':
      case 'tok':
        return { result: { expire_at: nowSec() + 3600, info: { v: 2 }, meta: { m: 2 } } };
      case 'expire':
        return { result: { expired: true } };
      case 'noresult':
        return {};
      default:
        failedAt.set(user, nowSec());
        return fail(user, res);
    }
  });
  backend.on('/rpc', (call) => ({ result: { data: { meta: call.body.meta } } }));
  await withServer(config(backend.url('/refresh'), backend.url('/sub-refresh')), async (srv, sdk) => {
    const refreshed = backend.nextCall('/refresh', (c) => c.body.user === 'extend');
    const extend = sdk.client({ name: 'extend' });
    const ext = await extend.connect();
    const tok = sdk.client({ token: await connToken('tok', {}, 2) });
    const tokCtx = await tok.connect();
    const tokRefreshed = backend.nextCall('/refresh', (c) => c.body.user === 'tok');
    const ending = ['expire', 'noresult', 'transform'].map((name) => {
      const c = sdk.client({ name });
      c.c.connect();
      return { name, c };
    });
    const failing = ['non200', 'garbage'].map((name) => {
      const c = sdk.client({ name });
      return { name, c, ctx: c.connect() };
    });

    const call = await within(refreshed, 'the refresh proxy asked about extend', EXPIRY_WAIT_MS);
    assert.deepEqual(call.body, { client: ext.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: 'extend', meta: { m: 1, name: 'extend' } });
    await eventually(async () => (srv.app.node.hub.session(ext.client)?.expireAt ?? 0) > nowSec() + 60, "extend's new expiry");
    assert.deepEqual(JSON.parse(Buffer.from(srv.app.node.hub.session(ext.client)!.connInfo!).toString()), { v: 2 }, 'the new info');
    assert.deepEqual((await extend.c.rpc('meta', {})).data, { meta: { m: 2 } }, 'the new meta goes to later requests');

    assert.equal((await within(tokRefreshed, 'the refresh proxy asked about a token connection', EXPIRY_WAIT_MS)).body.client, tokCtx.client);

    for (const { name, c } of ending) {
      const d = await c.events.next('connecting', (x) => x.code !== 0, EXPIRY_WAIT_MS);
      assert.deepEqual({ name, code: d.code, reason: d.reason }, { name, code: 3005, reason: 'connection expired' });
    }
    for (const { name, ctx } of failing) {
      const { client } = await ctx;
      const lines = await awaitProxyError(srv, `the ${name} refresh failure`, (l) => l.ctx.client === client);
      assert.equal(lines[0]!.ctx.proxy, 'client.proxy.refresh', 'the log names the proxy');
      assert.equal(lines[0]!.ctx.method, 'refresh');
      await eventually(async () => (srv.app.node.hub.session(client)?.expireAt ?? 0) > nowSec() + 30, `${name}'s extension`);
      assertExtended(srv.app.node.hub.session(client)?.expireAt, failedAt.get(name)!, name);
    }
    assert.equal(extend.events.count('connected'), 1, 'the refreshed connection never reconnected');
    assert.deepEqual(extend.events.all('error'), [], 'the SDK never refreshed');
  });
});

for (const how of ['down', 'slow'] as const) {
  test(`refresh proxy ${how}: the connection is extended by 60 s and the failure is logged; a client refresh command is 3501`, async () => {
    const expiring = new Set<string>();
    connectBackend(expiring);
    backend.hold('/refresh-slow', () => {});
    const endpoint = how === 'down' ? await deadEndpoint('/refresh') : backend.url('/refresh-slow');
    await withServer(config(endpoint, backend.url('/sub-refresh'), '300ms'), async (srv, sdk) => {
      const t0 = nowSec();
      const c = sdk.client({ name: how });
      const { client } = await c.connect();
      const lines = await awaitProxyError(srv, `the ${how} refresh failure`, (l) => l.ctx.client === client);
      assert.match(lines[0]!.message, how === 'down' ? /^refresh proxy client\.proxy\.refresh failed: request failed/ : /failed: no answer within 300 ms$/);
      await eventually(async () => (srv.app.node.hub.session(client)?.expireAt ?? 0) > nowSec() + 30, 'the extension');
      assertExtended(srv.app.node.hub.session(client)?.expireAt, t0, how);

      // A token connection refreshed by the server may not send refresh itself.
      const raw = await RawClient.open(srv.wsUrl);
      const reply = await raw.connect(await connToken('raw', {}, 3600));
      assert.equal(reply.connect.expires, undefined, 'no expires: the server refreshes');
      raw.send({ id: 2, refresh: { token: await connToken('raw', {}, 7200) } });
      assert.equal((await raw.closed).code, 3501);
    });
  });
}

test('sub_refresh proxy: a result extends the subscription with new info; expired, no result and a status transform unsubscribe it (2501); non-200, garbage and slow extend it 60 s; named proxies; token subscriptions are refreshed too', async () => {
  const expiring = new Set<string>();
  backend.on('/connect', (call) => ({ result: { user: call.body.name, meta: { who: call.body.name } } }));
  backend.on('/subscribe', (call) => {
    const first = !expiring.has(call.body.channel);
    expiring.add(call.body.channel);
    return { result: { expire_at: first ? soon() : 0 } };
  });
  const failedAt = new Map<string, number>();
  backend.on('/sub-refresh', (call, res) => {
    const what = (call.body.channel as string).slice(3);
    switch (what) {
      case 'extend':
      case 'tok':
        return { result: { expire_at: nowSec() + 3600, info: { c: 2 } } };
      case 'expire':
        return { result: { expired: true } };
      case 'noresult':
        return {};
      default:
        failedAt.set(what, nowSec());
        return fail(what, res);
    }
  });
  backend.on('/sub-refresh-named', () => ({ result: { expire_at: nowSec() + 3600 } }));
  backend.hold('/sub-refresh-slow', () => failedAt.set('slow', nowSec()));
  await withServer(config(backend.url('/refresh'), backend.url('/sub-refresh')), async (srv, sdk) => {
    const c = sdk.client({ name: 'sam' });
    const { client } = await c.connect();
    const asked = backend.nextCall('/sub-refresh', (x) => x.body.channel === 'sr:extend');
    const named = backend.nextCall('/sub-refresh-named');
    const tokAsked = backend.nextCall('/sub-refresh', (x) => x.body.channel === 'tk:tok');
    const subs = new Map<string, Awaited<ReturnType<typeof c.subscribe>>>();
    for (const ch of ['sr:extend', 'sr:expire', 'sr:noresult', 'sr:transform', 'sr:non200', 'sr:garbage', 'slow:x', 'named:x']) subs.set(ch, await c.subscribe(ch));
    subs.set('tk:tok', await c.subscribe('tk:tok', { token: await subToken('sam', 'tk:tok', {}, 2) }));

    const call = await within(asked, 'the sub_refresh proxy asked', EXPIRY_WAIT_MS);
    assert.deepEqual(call.body, { client, transport: 'websocket', protocol: 'json', encoding: 'json', user: 'sam', channel: 'sr:extend', meta: { who: 'sam' } });
    await eventually(async () => {
      const p = await apiOk(srv, 'presence', { channel: 'sr:extend' });
      return JSON.stringify(p.presence[client]?.chan_info) === JSON.stringify({ c: 2 });
    }, 'the new channel info in presence');
    assert.ok(srv.app.node.hub.session(client)!.subscription('sr:extend')!.expireAt > nowSec() + 60, 'the new expiry');
    assert.equal((await within(named, 'the named sub_refresh proxy', EXPIRY_WAIT_MS)).body.channel, 'named:x');
    assert.equal((await within(tokAsked, 'a token subscription refreshed by the proxy', EXPIRY_WAIT_MS)).body.user, 'sam');

    for (const ch of ['sr:expire', 'sr:noresult', 'sr:transform']) {
      const ended = await subs.get(ch)!.events.next('subscribing', (x) => x.code !== 0, EXPIRY_WAIT_MS);
      assert.deepEqual({ ch, code: ended.code, reason: ended.reason }, { ch, code: 2501, reason: 'subscription expired' });
    }
    for (const [what, ch] of [['non200', 'sr:non200'], ['garbage', 'sr:garbage'], ['slow', 'slow:x']] as const) {
      const lines = await awaitProxyError(srv, `the ${what} sub_refresh failure`, (l) => l.ctx.channel === ch);
      assert.equal(lines[0]!.ctx.proxy, what === 'slow' ? 'proxies[1] ("srslow")' : 'channel.proxy.sub_refresh');
      await eventually(async () => (srv.app.node.hub.session(client)?.subscription(ch)?.expireAt ?? 0) > nowSec() + 30, `${ch}'s extension`);
      assertExtended(srv.app.node.hub.session(client)?.subscription(ch)?.expireAt, failedAt.get(what)!, ch);
      assert.equal(subs.get(ch)!.sub.state, 'subscribed');
    }
    assert.equal(subs.get('sr:extend')!.events.count('subscribing'), 1, 'only the initial subscribe');
  });
});

test('sub_refresh: a client sub_refresh command in a sub_refresh namespace is 3501; without a sub_refresh proxy a proxied subscription with expire_at refreshes client-side', async () => {
  backend.on('/subscribe', () => ({ result: { expire_at: nowSec() + 3600 } }));
  await withServer(config(backend.url('/refresh'), backend.url('/sub-refresh')), async (srv: TestServer) => {
    const raw = await RawClient.open(srv.wsUrl);
    await raw.connect(await connToken('ray'));
    raw.send({ id: 2, subscribe: { channel: 'cs:a' } });
    const cs = await raw.next((m) => m.id === 2);
    assert.equal(cs.subscribe.expires, true, 'client-side: expires and ttl in the reply');
    assert.ok(cs.subscribe.ttl > 3000);
    raw.send({ id: 3, subscribe: { channel: 'sr:a' } });
    const sr = await raw.next((m) => m.id === 3);
    assert.equal(sr.subscribe.expires, undefined, 'server-side: no expires');
    raw.send({ id: 4, sub_refresh: { channel: 'sr:a', token: await subToken('ray', 'sr:a', {}, 60) } });
    assert.equal((await raw.closed).code, 3501);
  });
});
