/**
 * Unidirectional HTTP-streaming (spec §8.7, §8.10) with raw HTTP: POST a bare ConnectRequest,
 * read newline-terminated bare Push objects — the connect push first, then publications of
 * server-side subscriptions, join/leave, subscribe/unsubscribe, `{}` pings and the disconnect
 * push. Connect errors map to disconnect codes (§2.4) or, with `connect_code_to_http_response`,
 * to HTTP answers. Bad input, CORS and cleanup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { UUID, oversizedJson, request, until, withKit, type Kit } from '../helpers/transport-kit.js';

const CONFIG = {
  uni_http_stream: { enabled: true },
  channel: {
    namespaces: [
      { name: 'news', history_size: 10, history_ttl: '300s', force_recovery: true, presence: true, join_leave: true, force_push_join_leave: true },
      { name: 'open', allow_subscribe_for_client: true },
    ],
  },
};

const ORIGIN = 'http://allowed.example';

function open(kit: Kit, connect: unknown, headers: Record<string, string> = {}) {
  return kit.stream(kit.endpoint('uni_http_stream'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof connect === 'string' ? connect : JSON.stringify(connect),
  });
}

test('uni_http_stream: the connect push comes first, newline-terminated, with client and version', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice'), name: 'curl', version: '1.0' });
    assert.equal(s.status, 200);
    const cc = s.headers.get('cache-control') ?? '';
    for (const d of ['private', 'no-cache', 'no-store', 'must-revalidate', 'max-age=0']) assert.ok(cc.includes(d), `Cache-Control "${cc}" lacks ${d}`);
    assert.equal(s.headers.get('pragma'), 'no-cache');
    const first = await s.waitFor(() => s.lines()[0], 'the first message');
    assert.deepEqual(Object.keys(first), ['connect'], `a bare Push with only "connect": ${JSON.stringify(first)}`);
    assert.match(first.connect.client, UUID);
    assert.equal(typeof first.connect.version, 'string');
    assert.equal(first.connect.pong, undefined, 'uni transports never ask for pongs');
    assert.ok(s.text().endsWith('\n'));
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test('uni_http_stream: token `channels` claim → server-side subs in the connect push; publications and join as bare pushes', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice', { channels: ['news:a', 'news:b'] }) });
    const { connect } = await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.deepEqual(Object.keys(connect.subs ?? {}).sort(), ['news:a', 'news:b']);

    assert.equal((await srv.api('publish', { channel: 'news:a', data: { input: 1 } })).status, 200);
    const pub = await s.nextLine((m) => m.pub !== undefined, 'the publication push');
    assert.deepEqual(pub, { channel: 'news:a', pub: { data: { input: 1 }, offset: 1 } });

    // Another connection of bob to news:b: alice sees the join (force_push_join_leave), then the leave.
    const bob = await open(kit, { token: await connToken('bob', { channels: ['news:b'] }) });
    await bob.nextLine((m) => m.connect !== undefined, "bob's connect push");
    const join = await s.nextLine((m) => m.join !== undefined && m.join.info.user === 'bob', 'the join push');
    assert.equal(join.channel, 'news:b');
    assert.match(join.join.info.client, UUID);
    bob.close();
    const leave = await s.nextLine((m) => m.leave !== undefined && m.leave.info.user === 'bob', 'the leave push');
    assert.equal(leave.channel, 'news:b');

    // Every line is a bare Push: no `push` wrapper, no reply ids.
    for (const m of s.lines()) {
      assert.equal(m.push, undefined, JSON.stringify(m));
      assert.equal(m.id, undefined, JSON.stringify(m));
    }
  });
});

test('uni_http_stream: permitted ConnectRequest subs, recovery, and server API subscribe/unsubscribe pushes', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    // Two publications before connecting, to recover from offset 0.
    for (const n of [1, 2]) assert.equal((await srv.api('publish', { channel: 'news:r', data: { n } })).status, 200);
    const hist = await srv.api('history', { channel: 'news:r', limit: 0 });
    const epoch = hist.body.result.epoch;
    const s = await open(kit, {
      token: await connToken('alice', { channels: ['news:r'] }),
      // `open:x` is subscribable by clients → accepted; `news:nope` is not → silently ignored.
      subs: { 'open:x': {}, 'news:nope': {}, 'news:r': { recover: true, offset: 0, epoch } },
    });
    const { connect } = await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.deepEqual(Object.keys(connect.subs).sort(), ['news:r', 'open:x']);
    const r = connect.subs['news:r'];
    assert.equal(r.recovered, true, JSON.stringify(r));
    assert.deepEqual(r.publications.map((p: any) => p.data), [{ n: 1 }, { n: 2 }]);

    assert.equal((await srv.api('subscribe', { user: 'alice', channel: 'open:y' })).status, 200);
    const sub = await s.nextLine((m) => m.subscribe !== undefined, 'the subscribe push');
    assert.equal(sub.channel, 'open:y');
    assert.equal((await srv.api('publish', { channel: 'open:y', data: 'y' })).status, 200);
    assert.deepEqual(await s.nextLine((m) => m.pub !== undefined && m.channel === 'open:y', 'publication in open:y'), { channel: 'open:y', pub: { data: 'y' } });

    assert.equal((await srv.api('unsubscribe', { user: 'alice', channel: 'open:y' })).status, 200);
    const unsub = await s.nextLine((m) => m.unsubscribe !== undefined, 'the unsubscribe push');
    assert.equal(unsub.channel, 'open:y');
    assert.equal(unsub.unsubscribe.code, 2000);
  });
});

test('uni_http_stream pings: {} lines every ping_interval; no pong needed, the stream stays open', async () => {
  await withKit({ ...CONFIG, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice') });
    const { connect } = await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.equal(connect.ping, 1);
    assert.equal(connect.pong, undefined);
    const pings = () => s.lines().filter((m) => Object.keys(m).length === 0).length;
    await s.waitFor(() => (pings() >= 2 ? true : undefined), 'two pings (unanswered)', 4000);
    assert.match(s.text(), /\n\{\}\n/, 'a ping is the line {}');
    assert.equal(s.lines().some((m) => m.disconnect), false, 'not disconnected for missing pongs');
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test('uni_http_stream: a bad token → {"disconnect":{"code":3500,"reason":"invalid token"}}, then the stream ends', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: 'not-a-jwt' });
    assert.equal(s.status, 200);
    await s.endsWithin();
    assert.equal(s.text(), '{"disconnect":{"code":3500,"reason":"invalid token"}}\n');
    assert.equal(srv.app.node.hub.numConnections, 0);
  });
});

test('uni_http_stream: connect errors map to disconnect codes (109 expired token → 3005)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice', {}, -60) });
    await s.endsWithin();
    assert.deepEqual(s.lines(), [{ disconnect: { code: 3005, reason: 'connection expired' } }]);
    // Unknown namespace in the channels claim: error 102 → 3004 by default.
    const t = await open(kit, { token: await connToken('alice', { channels: ['nope:x'] }) });
    await t.endsWithin();
    assert.equal(t.lines()[0]?.disconnect?.code, 3004, t.text());
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_http_stream.connect_code_to_http_response: an expired token answered with HTTP 401', async () => {
  const cfg = {
    ...CONFIG,
    uni_http_stream: { enabled: true, connect_code_to_http_response: { enabled: true, transforms: [{ code: 109, to: { status_code: 401, body: 'expired' } }] } },
  };
  await withKit(cfg, async (srv, kit) => {
    const r = await request(kit.endpoint('uni_http_stream'), { method: 'POST', body: JSON.stringify({ token: await connToken('alice', {}, -60) }) });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'expired');
    // A code no transform lists is 500, as in Centrifugo: no stream once the mapping is on.
    const other = await request(kit.endpoint('uni_http_stream'), { method: 'POST', body: JSON.stringify({ token: 'garbage' }) });
    assert.equal(other.status, 500);
    assert.equal(other.body, 'Internal Server Error');
    assert.equal(srv.app.node.hub.numConnections, 0);
  });
});

test('uni_http_stream: server API disconnect → disconnect push, stream ends; shutdown → 3001', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice') });
    await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.equal((await srv.api('disconnect', { user: 'alice', disconnect: { code: 4501, reason: 'bye' } })).status, 200);
    await s.endsWithin();
    assert.deepEqual(s.lines().at(-1), { disconnect: { code: 4501, reason: 'bye' } });

    const t = await open(kit, { token: await connToken('alice') });
    await t.nextLine((m) => m.connect !== undefined, 'the connect push');
    const stopping = srv.stop();
    await t.endsWithin();
    await stopping;
    assert.deepEqual(t.lines().at(-1), { disconnect: { code: 3001, reason: 'shutdown' } });
  });
});

test('uni_http_stream bad input: malformed JSON 400, oversized body 413, GET 405, disallowed Origin 403', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = kit.endpoint('uni_http_stream');
    for (const body of ['{"token":', 'garbage', '"a string"', '[1]']) {
      const r = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, 400, `body ${JSON.stringify(body)}: ${r.status} ${r.body}`);
    }
    const big = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: oversizedJson() });
    assert.equal(big.status, 413);
    const get = await request(url);
    assert.equal(get.status, 405);
    const evil = await request(url, { method: 'POST', headers: { Origin: 'http://evil.example' }, body: JSON.stringify({ token: await connToken('alice') }) });
    assert.equal(evil.status, 403);
    assert.equal(srv.app.node.hub.numConnections, 0, 'nothing became a session');

    const pre = await request(url, { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
    const ok = await open(kit, { token: await connToken('alice') }, { Origin: ORIGIN });
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    await ok.nextLine((m) => m.connect !== undefined, 'the connect push for an allowed origin');
  });
});

test('uni_http_stream.max_request_body_size is honoured', async () => {
  await withKit({ ...CONFIG, uni_http_stream: { enabled: true, max_request_body_size: 400 } }, async (_srv, kit) => {
    const big = await request(kit.endpoint('uni_http_stream'), { method: 'POST', body: oversizedJson(500) });
    assert.equal(big.status, 413);
    const s = await open(kit, { token: await connToken('alice') });
    await s.nextLine((m) => m.connect !== undefined, 'a small body still connects');
  });
});

test('uni_http_stream: the client going away removes the session and its subscriptions (no leak)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await open(kit, { token: await connToken('alice', { channels: ['news:a'] }) });
    await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.equal(srv.app.node.hub.channelSubscriberCount('news:a'), 1);
    s.close();
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
    assert.equal(srv.app.node.hub.channelSubscriberCount('news:a'), 0);
    const p = await srv.api('presence_stats', { channel: 'news:a' });
    assert.deepEqual(p.body.result, { num_clients: 0, num_users: 0 });
  });
});

test('uni_http_stream: an expiring connection is closed with 3005 unless refreshed server-side (refresh push)', async () => {
  // Closed at exp + client.expired_close_delay (default 25 s; shortened here).
  await withKit({ ...CONFIG, client: { expired_close_delay: '500ms' } }, async (srv, kit) => {
    // Expires in 2 s, never refreshed: disconnect push 3005.
    const s = await open(kit, { token: await connToken('alice', {}, 2) });
    const { connect } = await s.nextLine((m) => m.connect !== undefined, 'the connect push');
    assert.equal(connect.expires, true);
    assert.ok(connect.ttl > 0 && connect.ttl <= 2, `ttl ${connect.ttl}`);
    await s.endsWithin('the expired connection to be closed', 8000);
    assert.deepEqual(s.lines().at(-1), { disconnect: { code: 3005, reason: 'connection expired' } });

    // Refreshed through the server API: a refresh push, and the connection stays.
    const t = await open(kit, { token: await connToken('bob', {}, 2) });
    await t.nextLine((m) => m.connect !== undefined, "bob's connect push");
    const expireAt = Math.floor(Date.now() / 1000) + 3600;
    assert.equal((await srv.api('refresh', { user: 'bob', expire_at: expireAt })).status, 200);
    const refresh = await t.nextLine((m) => m.refresh !== undefined, 'the refresh push');
    assert.equal(refresh.refresh.expires, true);
    assert.ok(refresh.refresh.ttl > 3500 && refresh.refresh.ttl <= 3600, JSON.stringify(refresh));
  });
});
