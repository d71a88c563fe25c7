/**
 * Unidirectional SSE (spec §8.8, §8.10): GET with an optional `cf_connect` ConnectRequest, or
 * POST with it as a JSON body; `\r\n` first, then one `data: <push json>` event per bare Push,
 * `data: {}` pings. Connect errors → disconnect push (§2.4) or an HTTP answer with
 * `uni_sse.connect_code_to_http_response`. Also read with a real EventSource client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { UUID, oversizedJson, request, until, withCfConnect, withKit, within } from '../helpers/transport-kit.js';

const CONFIG = {
  uni_sse: { enabled: true },
  channel: { namespaces: [{ name: 'news', history_size: 10, history_ttl: '300s', presence: true }] },
};

const ORIGIN = 'http://allowed.example';

test('uni_sse GET with cf_connect: event-stream headers, \\r\\n first, connect push as the first data: event', async () => {
  await withKit(CONFIG, async (_srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice') }));
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.match(s.headers.get('cache-control') ?? '', /no-cache/);
    const first = await s.waitFor(() => s.events()[0], 'the first event');
    assert.deepEqual(Object.keys(first), ['connect']);
    assert.match(first.connect.client, UUID);
    assert.equal(typeof first.connect.version, 'string');
    const text = s.text();
    assert.ok(text.startsWith('\r\ndata: {"connect":'), JSON.stringify(text.slice(0, 40)));
    assert.ok(text.endsWith('}\n\n'), JSON.stringify(text.slice(-10)));
  });
});

test('uni_sse: server-side subscriptions from the token, publications as bare pushes', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice', { channels: ['news:a'] }) }));
    const { connect } = await s.nextEvent((m) => m.connect !== undefined, 'the connect push');
    assert.deepEqual(Object.keys(connect.subs ?? {}), ['news:a']);
    assert.equal((await srv.api('publish', { channel: 'news:a', data: { input: 'hello' } })).status, 200);
    assert.deepEqual(await s.nextEvent((m) => m.pub !== undefined, 'the publication'), { channel: 'news:a', pub: { data: { input: 'hello' }, offset: 1 } });
    assert.match(s.text(), /\n\ndata: \{"channel":"news:a","pub":\{"data":\{"input":"hello"\},"offset":1\}\}\n\n$/);
  });
});

test('uni_sse POST with a JSON ConnectRequest body', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(kit.endpoint('uni_sse'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: await connToken('alice', { channels: ['news:p'] }) }),
    });
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    await s.nextEvent((m) => m.connect !== undefined, 'the connect push');
    assert.equal((await srv.api('publish', { channel: 'news:p', data: 1 })).status, 200);
    await s.nextEvent((m) => m.pub?.data === 1, 'the publication');
  });
});

test('uni_sse without cf_connect is an empty ConnectRequest (anonymous when allowed)', async () => {
  await withKit({ ...CONFIG, client: { allow_anonymous_connect_without_token: true } }, async (srv, kit) => {
    const s = await kit.stream(kit.endpoint('uni_sse'));
    assert.equal(s.status, 200);
    const { connect } = await s.nextEvent((m) => m.connect !== undefined, 'the anonymous connect push');
    assert.match(connect.client, UUID);
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test('uni_sse pings: data: {} events', async () => {
  await withKit({ ...CONFIG, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice') }));
    const { connect } = await s.nextEvent((m) => m.connect !== undefined, 'the connect push');
    assert.equal(connect.ping, 1);
    assert.equal(connect.pong, undefined);
    await s.waitFor(() => (s.events().filter((m) => Object.keys(m).length === 0).length >= 2 ? true : undefined), 'two pings', 4000);
    assert.match(s.text(), /\n\ndata: \{\}\n\n/);
    assert.equal(srv.app.node.hub.numClients, 1, 'unanswered pings do not disconnect');
  });
});

test('uni_sse: a bad token → data: {"disconnect":{"code":3500,"reason":"invalid token"}}, stream ends', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), { token: 'bad' }));
    assert.equal(s.status, 200);
    await s.endsWithin();
    assert.deepEqual(s.events(), [{ disconnect: { code: 3500, reason: 'invalid token' } }]);
    assert.equal(s.text(), '\r\ndata: {"disconnect":{"code":3500,"reason":"invalid token"}}\n\n');
    assert.equal(srv.app.node.hub.numConnections, 0);
  });
});

test('uni_sse.connect_code_to_http_response: 109 (expired token) → HTTP 401 "expired"', async () => {
  const cfg = {
    ...CONFIG,
    uni_sse: { enabled: true, connect_code_to_http_response: { enabled: true, transforms: [{ code: 109, to: { status_code: 401, body: 'expired' } }] } },
  };
  await withKit(cfg, async (srv, kit) => {
    const expired = await connToken('alice', {}, -60);
    const r = await request(withCfConnect(kit.endpoint('uni_sse'), { token: expired }));
    assert.equal(r.status, 401);
    assert.equal(r.body, 'expired');
    const p = await request(kit.endpoint('uni_sse'), { method: 'POST', body: JSON.stringify({ token: expired }) });
    assert.equal(p.status, 401, 'POST too');
    // A code no transform lists is 500, as in Centrifugo: no stream once the mapping is on.
    const other = await request(withCfConnect(kit.endpoint('uni_sse'), { token: 'bad' }));
    assert.equal(other.status, 500);
    assert.equal(other.body, 'Internal Server Error');
    assert.equal(srv.app.node.hub.numConnections, 0);
  });
  // Enabled with no transforms at all: every connect error is 500.
  await withKit({ ...CONFIG, uni_sse: { enabled: true, connect_code_to_http_response: { enabled: true } } }, async (_srv, kit) => {
    const r = await request(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice', {}, -60) }));
    assert.equal(r.status, 500);
  });
  // Disabled mapping: the expired token is a 3005 disconnect push (default unidirectional mapping).
  await withKit(CONFIG, async (_srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice', {}, -60) }));
    assert.equal(s.status, 200);
    await s.endsWithin();
    assert.deepEqual(s.events(), [{ disconnect: { code: 3005, reason: 'connection expired' } }]);
  });
});

test('uni_sse bad input: malformed cf_connect → 400, malformed or oversized POST body → 400 / 413, PUT → 405, disallowed Origin → 403', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = kit.endpoint('uni_sse');
    for (const bad of ['{"token":', 'not json', '[]']) {
      const r = await request(withCfConnect(url, bad));
      assert.equal(r.status, 400, `cf_connect ${JSON.stringify(bad)}: ${r.status}`);
    }
    const badPost = await request(url, { method: 'POST', body: '{"token":' });
    assert.equal(badPost.status, 400);
    const big = await request(url, { method: 'POST', body: oversizedJson() });
    assert.equal(big.status, 413);
    const put = await request(url, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    const evil = await request(withCfConnect(url, { token: await connToken('alice') }), { headers: { Origin: 'http://evil.example' } });
    assert.equal(evil.status, 403);
    assert.equal(srv.app.node.hub.numConnections, 0);

    const pre = await request(url, { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
    const ok = await kit.stream(withCfConnect(url, { token: await connToken('alice') }), { headers: { Origin: ORIGIN } });
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    await ok.nextEvent((m) => m.connect !== undefined, 'the connect push');
  });
});

test('uni_sse.max_request_body_size applies to POST bodies', async () => {
  await withKit({ ...CONFIG, uni_sse: { enabled: true, max_request_body_size: 300 } }, async (_srv, kit) => {
    const big = await request(kit.endpoint('uni_sse'), { method: 'POST', body: oversizedJson(400) });
    assert.equal(big.status, 413);
    const s = await kit.stream(kit.endpoint('uni_sse'), { method: 'POST', body: JSON.stringify({ token: await connToken('alice') }) });
    await s.nextEvent((m) => m.connect !== undefined, 'a small body connects');
  });
});

test('uni_sse with an EventSource client: messages are the pushes; closing it removes the session', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const es = kit.eventSource(withCfConnect(kit.endpoint('uni_sse'), { token: await connToken('alice', { channels: ['news:es'] }) }));
    const messages: any[] = [];
    let notify: () => void = () => {};
    es.onmessage = (e) => {
      messages.push(JSON.parse(e.data));
      notify();
    };
    const next = (pred: (m: any) => boolean, what: string) =>
      within(
        new Promise<any>((resolve) => {
          const check = () => {
            const m = messages.find(pred);
            if (m !== undefined) resolve(m);
          };
          notify = check;
          check();
        }),
        what,
      );
    const first = await next(() => true, 'the first message');
    assert.ok(first.connect, `first message is the connect push: ${JSON.stringify(first)}`);
    assert.deepEqual(Object.keys(first.connect.subs), ['news:es']);
    assert.equal((await srv.api('publish', { channel: 'news:es', data: { hi: 1 } })).status, 200);
    assert.deepEqual(await next((m) => m.pub !== undefined, 'the publication'), { channel: 'news:es', pub: { data: { hi: 1 }, offset: 1 } });
    es.close();
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed after EventSource.close()');
  });
});

test('uni_sse: a cf_connect query is read up to max_request_body_size (default 64 KiB), above it 413', async () => {
  await withKit(CONFIG, async (_srv, kit) => {
    // 40 KB of connect data: past Node's default 16 KiB request head, within the transport's limit.
    const padded = { token: await connToken('alice'), data: { pad: 'p'.repeat(40_000) } };
    const s = await kit.stream(withCfConnect(kit.endpoint('uni_sse'), padded));
    await s.nextEvent((m) => m.connect !== undefined, 'the connect push');
    const big = await request(withCfConnect(kit.endpoint('uni_sse'), { token: 'x', data: { pad: 'p'.repeat(70_000) } }));
    assert.equal(big.status, 413);
  });
});
