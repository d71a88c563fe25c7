/**
 * Bidirectional SSE (spec §8.4) with raw HTTP: GET with the connect command in `cf_connect` (or
 * POST with it as the body), `text/event-stream` framing (`\r\n` first, then one `data: <json>`
 * event per reply), commands through `/emulation`, pings, disconnect pushes, bad input, CORS and
 * session cleanup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { UUID, emulate, request, until, withCfConnect, withKit, type HttpStream } from '../helpers/transport-kit.js';

const CONFIG = {
  sse: { enabled: true },
  channel: {
    namespaces: [
      {
        name: 'chat',
        allow_subscribe_for_client: true,
        history_size: 10,
        history_ttl: '300s',
        allow_history_for_subscriber: true,
        presence: true,
        allow_presence_for_subscriber: true,
      },
    ],
  },
};

const ORIGIN = 'http://allowed.example';

function assertSseHeaders(s: HttpStream): void {
  assert.equal(s.status, 200);
  assert.equal(s.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const cc = s.headers.get('cache-control') ?? '';
  for (const d of ['private', 'no-cache', 'no-store', 'must-revalidate', 'max-age=0']) assert.ok(cc.includes(d), `Cache-Control "${cc}" lacks ${d}`);
  assert.equal(s.headers.get('pragma'), 'no-cache');
  assert.equal(s.headers.get('x-accel-buffering'), 'no');
}

test('sse GET with cf_connect: event-stream headers, body starts with \\r\\n, connect reply as a data: event with session and node', async () => {
  await withKit(CONFIG, async (_srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('alice') } }));
    assertSseHeaders(s);
    const reply = await s.nextEvent((m) => m.id === 1, 'the connect reply');
    assert.match(reply.connect.client, UUID);
    assert.ok(typeof reply.connect.session === 'string' && reply.connect.session !== '', JSON.stringify(reply));
    assert.ok(typeof reply.connect.node === 'string' && reply.connect.node !== '', JSON.stringify(reply));
    const text = s.text();
    assert.ok(text.startsWith('\r\n'), `body must start with \\r\\n: ${JSON.stringify(text.slice(0, 20))}`);
    // Exactly `data: <json>\n\n` per reply; no event:/id: fields.
    assert.match(text, /^\r\ndata: \{.*\}\n\n$/s, `unexpected framing: ${JSON.stringify(text)}`);
    assert.deepEqual(JSON.parse(text.slice('\r\ndata: '.length).trimEnd()), reply);
    assert.doesNotMatch(text, /^(event|id):/m);
  });
});

test('sse: commands through /emulation answered as events; publications, history and errors', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('alice') } }));
    const { connect } = await s.nextEvent((m) => m.id === 1, 'the connect reply');

    assert.equal((await emulate(srv, connect, { id: 2, subscribe: { channel: 'chat:room' } })).status, 204);
    const sub = await s.nextEvent((m) => m.id === 2, 'the subscribe reply');
    assert.ok(sub.subscribe, JSON.stringify(sub));

    assert.equal((await srv.api('publish', { channel: 'chat:room', data: { n: 1 } })).status, 200);
    const push = await s.nextEvent((m) => m.push?.pub !== undefined, 'the publication');
    assert.deepEqual(push, { push: { channel: 'chat:room', pub: { data: { n: 1 }, offset: 1 } } });

    assert.equal((await emulate(srv, connect, [{ id: 3, history: { channel: 'chat:room', limit: 5 } }, { id: 4, rpc: { method: 'nope' } }])).status, 204);
    const hist = await s.nextEvent((m) => m.id === 3, 'the history reply');
    assert.deepEqual(hist.history.publications.map((p: any) => p.data), [{ n: 1 }]);
    const rpc = await s.nextEvent((m) => m.id === 4, 'the rpc reply');
    assert.deepEqual(rpc.error, { code: 108, message: 'not available' });

    // Every message is its own event: one JSON document per data: line.
    for (const d of s.text().split('\n').filter((l) => l.startsWith('data:'))) JSON.parse(d.slice(5));
  });
});

test('sse POST with the connect command as body', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(kit.endpoint('sse'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 1, connect: { token: await connToken('alice') } }),
    });
    assertSseHeaders(s);
    const reply = await s.nextEvent((m) => m.id === 1, 'the connect reply');
    assert.match(reply.connect.client, UUID);
    assert.equal((await emulate(srv, reply.connect, { id: 2, subscribe: { channel: 'chat:post' } })).status, 204);
    await s.nextEvent((m) => m.id === 2, 'the subscribe reply');
  });
});

test('sse pings: data: {} events, pong through /emulation', async () => {
  await withKit({ ...CONFIG, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('alice') } }));
    const { connect } = await s.nextEvent((m) => m.id === 1, 'the connect reply');
    assert.equal(connect.ping, 1);
    assert.equal(connect.pong, true);
    const pings = () => s.events().filter((m) => Object.keys(m).length === 0).length;
    await s.waitFor(() => (pings() >= 1 ? true : undefined), 'the first ping', 3000);
    assert.match(s.text(), /\ndata: \{\}\n\n/, 'ping framed as data: {}');
    assert.equal((await emulate(srv, connect, {})).status, 204);
    await s.waitFor(() => (pings() >= 2 ? true : undefined), 'the second ping', 3000);
    const d = await s.nextEvent((m) => m.push?.disconnect !== undefined, 'the no-pong disconnect', 4000);
    assert.deepEqual(d, { push: { disconnect: { code: 3012, reason: 'no pong' } } });
    await s.endsWithin();
  });
});

test('sse: invalid token → 3500 disconnect push event, then the stream ends', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: 'bad' } }));
    const d = await s.nextEvent((m) => m.push?.disconnect !== undefined, 'the disconnect push');
    assert.deepEqual(d, { push: { disconnect: { code: 3500, reason: 'invalid token' } } });
    await s.endsWithin();
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('sse bad input: missing or malformed cf_connect → 400, oversized POST body → 413, PUT → 405', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = kit.endpoint('sse');
    const missing = await request(url);
    assert.equal(missing.status, 400, `no cf_connect: ${missing.status}`);
    const malformed = await request(withCfConnect(url, '{"id":1,"connect":'));
    assert.equal(malformed.status, 400, `malformed cf_connect: ${malformed.status}`);
    const big = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 1, connect: { data: { pad: 'p'.repeat(70_000) } } }) });
    assert.equal(big.status, 413, `oversized body: ${big.status}`);
    assert.equal(big.body, 'request body too large\n');
    const put = await request(url, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(srv.app.node.hub.numConnections, 0);
  });
});

test('sse.max_request_body_size is honoured', async () => {
  await withKit({ ...CONFIG, sse: { enabled: true, max_request_body_size: 256 } }, async (_srv, kit) => {
    const big = await request(kit.endpoint('sse'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 1, connect: { data: { pad: 'p'.repeat(300) } } }) });
    assert.equal(big.status, 413);
    const s = await kit.stream(kit.endpoint('sse'), { method: 'POST', body: JSON.stringify({ id: 1, connect: { token: await connToken('alice') } }) });
    await s.nextEvent((m) => m.id === 1, 'the connect reply of a small body');
  });
});

test('sse CORS: preflight for an allowed Origin, CORS headers on the stream, 403 for a disallowed Origin', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('alice') } });
    const pre = await request(kit.endpoint('sse'), { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);

    const s = await kit.stream(url, { headers: { Origin: ORIGIN } });
    assert.equal(s.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(s.headers.get('access-control-allow-credentials'), 'true');
    await s.nextEvent((m) => m.id === 1, 'the connect reply');

    const bad = await request(url, { headers: { Origin: 'http://evil.example' } });
    assert.equal(bad.status, 403);
    assert.equal(srv.app.node.hub.numConnections, 1, 'the rejected request did not create a session');
  });
});

test('sse: the client closing the EventSource stream removes the session (no leak)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const s = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('alice') } }));
    const { connect } = await s.nextEvent((m) => m.id === 1, 'the connect reply');
    assert.equal((await emulate(srv, connect, { id: 2, subscribe: { channel: 'chat:room' } })).status, 204);
    await s.nextEvent((m) => m.id === 2, 'the subscribe reply');
    assert.equal(srv.app.node.hub.numConnections, 1);
    s.close();
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:room'), 0);
  });
});

test('sse.enabled false (default): /connection/sse is not served', async () => {
  await withKit({}, async (_srv, kit) => {
    const r = await request(withCfConnect(kit.endpoint('sse'), { id: 1, connect: {} }));
    assert.equal(r.status, 404);
  });
});
