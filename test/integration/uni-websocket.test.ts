/**
 * Unidirectional WebSocket (spec §8.6, §8.10) with a raw `ws` client: the ConnectRequest as the
 * first text message or in `cf_connect`, the connect push first, one bare Push per frame (or
 * several with `join_push_messages`), native ping frames plus `{}` app pings, and disconnects
 * as a disconnect push followed by a close frame with the same code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { closedWithin, upgradeStatus } from '../helpers/error-paths.js';
import { UUID, until, withCfConnect, withKit, within, type Kit } from '../helpers/transport-kit.js';

const CONFIG = {
  uni_websocket: { enabled: true },
  channel: { namespaces: [{ name: 'news', history_size: 10, history_ttl: '300s', force_recovery: true }, { name: 'open', allow_subscribe_for_client: true }] },
};

/** Frames received as text, each parsed as one JSON Push (the default: one push per frame). */
function pushes(frames: string[]): any[] {
  return frames.map((f) => JSON.parse(f));
}

async function connectFirstMessage(kit: Kit, req: unknown) {
  const c = await kit.ws(kit.uniWsUrl);
  c.send(req);
  const first = await c.next(() => true);
  return { c, first };
}

test('uni_websocket: ConnectRequest as the first message → the connect push is the first frame', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { c, first } = await connectFirstMessage(kit, { token: await connToken('alice'), name: 'wscat', version: '1' });
    assert.deepEqual(Object.keys(first), ['connect'], JSON.stringify(first));
    assert.match(first.connect.client, UUID);
    assert.equal(typeof first.connect.version, 'string');
    assert.equal(first.connect.pong, undefined);
    assert.equal(c.frames.length, 1);
    assert.equal(c.frames[0]!.endsWith('\n'), false, 'a single push per frame, without a trailing newline');
    assert.equal(srv.app.node.hub.numClients, 1);
    // Further client messages are read and ignored.
    c.send({ id: 2, subscribe: { channel: 'open:x' } });
    c.send('garbage');
    // A WebSocket ping/pong round trip as an ordering barrier: frames are handled in order, so
    // once the pong is back the server has read both messages above.
    await within(new Promise<void>((resolve) => { c.ws.once('pong', () => resolve()); c.ws.ping(); }), 'the pong');
    assert.equal(srv.app.node.hub.numClients, 1, 'ignored messages do not disconnect');
    assert.equal(srv.app.node.hub.channelSubscriberCount('open:x'), 0, 'a uni client cannot subscribe');
  });
});

test('uni_websocket: ConnectRequest in the cf_connect query parameter', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const c = await kit.ws(withCfConnect(kit.uniWsUrl, { token: await connToken('alice', { channels: ['news:q'] }) }));
    const first = await c.next(() => true);
    assert.deepEqual(Object.keys(first.connect.subs), ['news:q']);
    assert.equal((await srv.api('publish', { channel: 'news:q', data: { q: 1 } })).status, 200);
    assert.deepEqual(await c.next((m) => m.pub !== undefined), { channel: 'news:q', pub: { data: { q: 1 }, offset: 1 } });
  });
});

test('uni_websocket: server-side subscriptions from the token; publications, subscribe and unsubscribe pushes one per frame', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { c, first } = await connectFirstMessage(kit, { token: await connToken('alice', { channels: ['news:a', 'news:b'] }), subs: { 'open:c': {} } });
    assert.deepEqual(Object.keys(first.connect.subs).sort(), ['news:a', 'news:b', 'open:c']);
    assert.equal(first.connect.subs['news:a'].recoverable, true, 'force_recovery namespace');

    const r = await srv.api('batch', {
      parallel: true,
      commands: [1, 2, 3, 4].map((n) => ({ publish: { channel: n % 2 ? 'news:a' : 'news:b', data: { n } } })),
    });
    assert.equal(r.status, 200);
    await c.next((m) => m.pub?.data?.n === 4);
    await c.next((m) => m.pub?.data?.n === 3);
    // Default framing: every frame is exactly one JSON document.
    for (const f of c.frames) assert.doesNotThrow(() => JSON.parse(f), `frame holds one push: ${JSON.stringify(f)}`);
    assert.deepEqual(
      pushes(c.frames)
        .filter((m) => m.pub)
        .map((m) => m.pub.data.n)
        .sort(),
      [1, 2, 3, 4],
    );

    assert.equal((await srv.api('subscribe', { user: 'alice', channel: 'open:srv' })).status, 200);
    assert.equal((await c.next((m) => m.subscribe !== undefined)).channel, 'open:srv');
    assert.equal((await srv.api('unsubscribe', { user: 'alice', channel: 'news:b' })).status, 200);
    const u = await c.next((m) => m.unsubscribe !== undefined);
    assert.deepEqual(u, { channel: 'news:b', unsubscribe: { code: 2000, reason: 'server unsubscribe' } });
  });
});

test('uni_websocket.join_push_messages: several pushes joined in one frame with \\n', async () => {
  await withKit({ ...CONFIG, uni_websocket: { enabled: true, join_push_messages: true } }, async (srv, kit) => {
    const { c } = await connectFirstMessage(kit, { token: await connToken('alice', { channels: ['news:j'] }) });
    const r = await srv.api('batch', { parallel: true, commands: [1, 2, 3, 4, 5].map((n) => ({ publish: { channel: 'news:j', data: { n } } })) });
    assert.equal(r.status, 200);
    await c.next((m) => m.pub?.data?.n === 5);
    await c.next((m) => m.pub?.data?.n === 1);
    const joined = c.frames.find((f) => f.replace(/\n$/, '').includes('\n'));
    assert.ok(joined !== undefined, `expected a frame with several pushes; frames: ${JSON.stringify(c.frames)}`);
    for (const line of joined.split('\n').filter((l) => l !== '')) assert.ok(JSON.parse(line).pub, line);
    assert.deepEqual(
      c.messages()
        .filter((m) => m.pub)
        .map((m) => m.pub.data.n),
      [1, 2, 3, 4, 5],
      'in publication order',
    );
  });
});

test('uni_websocket pings: native WebSocket ping frames and {} app pings', async () => {
  await withKit({ ...CONFIG, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv, kit) => {
    const c = await kit.ws(kit.uniWsUrl);
    let nativePings = 0;
    c.ws.on('ping', () => nativePings++);
    c.send({ token: await connToken('alice') });
    const first = await c.next((m) => m.connect !== undefined);
    assert.equal(first.connect.ping, 1);
    assert.equal(first.connect.pong, undefined);
    await c.next((m) => Object.keys(m).length === 0, 4000);
    assert.ok(c.frames.includes('{}'), `an app ping is the frame {}: ${JSON.stringify(c.frames)}`);
    await until(() => nativePings > 0, 'a native ping frame', 4000);
    assert.equal(srv.app.node.hub.numClients, 1, 'still connected (ws answers native pings by itself)');
  });
});

test('uni_websocket: a bad token → disconnect push, then close frame 3500 "invalid token"', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const c = await kit.ws(kit.uniWsUrl);
    c.send({ token: 'bad.token.here' });
    const closed = await closedWithin(c);
    assert.deepEqual(closed, { code: 3500, reason: 'invalid token' });
    assert.deepEqual(c.frames, ['{"disconnect":{"code":3500,"reason":"invalid token"}}']);
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_websocket: expired token → 3005; server API disconnect → push + close frame with its code', async () => {
  await withKit(CONFIG, async (_srv, kit) => {
    const c = await kit.ws(kit.uniWsUrl);
    c.send({ token: await connToken('alice', {}, -60) });
    assert.deepEqual(await closedWithin(c), { code: 3005, reason: 'connection expired' });
    assert.deepEqual(pushes(c.frames), [{ disconnect: { code: 3005, reason: 'connection expired' } }]);
  });
  await withKit(CONFIG, async (srv, kit) => {
    const { c } = await connectFirstMessage(kit, { token: await connToken('alice') });
    assert.equal((await srv.api('disconnect', { user: 'alice' })).status, 200);
    assert.deepEqual(await closedWithin(c), { code: 3503, reason: 'force disconnect' });
    assert.deepEqual(pushes(c.frames).at(-1), { disconnect: { code: 3503, reason: 'force disconnect' } });
  });
});

test(
  'uni_websocket.disable_disconnect_push: only the close frame carries the disconnect',
  async () => {
    await withKit({ ...CONFIG, uni_websocket: { enabled: true, disable_disconnect_push: true } }, async (srv, kit) => {
      const c = await kit.ws(kit.uniWsUrl);
      c.send({ token: 'bad' });
      assert.deepEqual(await closedWithin(c), { code: 3500, reason: 'invalid token' });
      assert.deepEqual(c.frames, [], 'no disconnect push on a failed connect');
      const { c: d } = await connectFirstMessage(kit, { token: await connToken('alice') });
      assert.equal((await srv.api('disconnect', { user: 'alice' })).status, 200);
      assert.deepEqual(await closedWithin(d), { code: 3503, reason: 'force disconnect' });
      assert.equal(d.messages().some((m) => m.disconnect), false, 'no disconnect push on a server disconnect');
    });
  },
);

test(
  'uni_websocket.disable_closing_handshake: the socket is dropped without a close frame (after the push)',
  async () => {
    await withKit({ ...CONFIG, uni_websocket: { enabled: true, disable_closing_handshake: true } }, async (_srv, kit) => {
      const c = await kit.ws(kit.uniWsUrl);
      c.send({ token: 'bad' });
      const closed = await closedWithin(c);
      assert.equal(closed.code, 1006, `abnormal closure expected (no close frame), got ${JSON.stringify(closed)}`);
      assert.deepEqual(pushes(c.frames), [{ disconnect: { code: 3500, reason: 'invalid token' } }]);
    });
  },
);

test('uni_websocket bad input: malformed cf_connect → HTTP 400 before the upgrade; malformed first message → close 3501', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    assert.equal(await upgradeStatus(withCfConnect(kit.uniWsUrl, '{"token":')), 400);
    assert.equal(await upgradeStatus(withCfConnect(kit.uniWsUrl, 'not json')), 400);
    const c = await kit.ws(kit.uniWsUrl);
    c.send('{"token":');
    const closed = await closedWithin(c);
    assert.equal(closed.code, 3501);
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_websocket: a first message over message_size_limit closes the connection without a session', async () => {
  await withKit({ ...CONFIG, uni_websocket: { enabled: true, message_size_limit: 1024 } }, async (srv, kit) => {
    const c = await kit.ws(kit.uniWsUrl);
    c.send({ token: await connToken('alice'), data: { pad: 'p'.repeat(2000) } });
    const closed = await closedWithin(c);
    assert.ok(closed.code === 1009 || closed.code === 3501, `close code ${closed.code}`);
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_websocket: a disallowed Origin is refused with 403; an allowed one connects', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    assert.equal(await upgradeStatus(kit.uniWsUrl, { Origin: 'http://evil.example' }), 403);
    const c = await kit.ws(kit.uniWsUrl, { headers: { Origin: 'http://allowed.example' } });
    c.send({ token: await connToken('alice') });
    await c.next((m) => m.connect !== undefined);
    assert.equal(srv.app.node.hub.numConnections, 1);
  });
});

test('uni_websocket: closing the socket removes the session (no leak)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { c } = await connectFirstMessage(kit, { token: await connToken('alice', { channels: ['news:l'] }) });
    assert.equal(srv.app.node.hub.channelSubscriberCount('news:l'), 1);
    c.ws.terminate();
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
    assert.equal(srv.app.node.hub.channelSubscriberCount('news:l'), 0);
  });
});

test('uni_websocket.enabled false (default): the endpoint is not served', async () => {
  await withKit({}, async (_srv, kit) => {
    assert.equal(await upgradeStatus(kit.uniWsUrl), 404);
  });
});

test('uni_websocket: a `null` first message is an empty ConnectRequest (anonymous when allowed)', async () => {
  await withKit({ ...CONFIG, client: { allow_anonymous_connect_without_token: true } }, async (srv, kit) => {
    const { first } = await connectFirstMessage(kit, 'null');
    assert.match(first.connect?.client ?? '', UUID, JSON.stringify(first));
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test('uni_websocket: after a cf_connect connect, later messages are ignored (no second connect)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const c = await kit.ws(withCfConnect(kit.uniWsUrl, { token: await connToken('alice') }));
    await c.next((m) => m.connect !== undefined);
    c.send({ token: await connToken('mallory') });
    await within(
      new Promise<void>((resolve) => {
        c.ws.once('pong', () => resolve());
        c.ws.ping();
      }),
      'the pong',
    );
    assert.equal(c.messages().filter((m) => m.connect).length, 1, 'one connect push only');
    assert.equal(srv.app.node.hub.numClients, 1);
    const p = await srv.api('info', {});
    assert.equal(p.status, 200);
  });
});
