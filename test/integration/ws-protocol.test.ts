/**
 * WebSocket protocol error paths (spec §1.6 framing, §1.7 ping/pong, §1.8 command processing,
 * §2.1/§2.3 codes, §1.1 Protobuf selection). Every test runs its own server and asserts the exact
 * documented code: close-frame code + reason for disconnects, `Reply.error` for errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, type TestServer, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin, frameWhere, nextPb, allPbReplies, pbFrame, within } from '../helpers/error-paths.js';
import { DisconnectCode, ErrorCode } from '../../src/protocol/codes.js';
import type { ConfigInput } from '../../src/config/schema.js';

const CHAT: ConfigInput = {
  channel: {
    namespaces: [{ name: 'chat', allow_subscribe_for_client: true, presence: true, allow_presence_for_subscriber: true }],
  },
};

const closeOf = (d: { code: number; reason: string }) => ({ code: d.code, reason: d.reason });
const errorOf = (e: { code: number; message: string }) => ({ code: e.code, message: e.message });


async function connected(srv: TestServer, user = '42', query = ''): Promise<{ c: RawClient; rep: any }> {
  const c = await RawClient.open(srv.wsUrl + query);
  const rep = await c.connect(await connToken(user));
  assert.equal(typeof rep.connect?.client, 'string', `connect failed: ${JSON.stringify(rep)}`);
  return { c, rep };
}

const isPing = (m: any) => typeof m === 'object' && m !== null && Object.keys(m).length === 0;

test('malformed JSON frame closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send('{"id":2,"subscribe":{"channel":"chat:a"');
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('garbage Protobuf frame on a centrifuge-protobuf connection closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl, { protocols: 'centrifuge-protobuf' });
    assert.equal(c.ws.protocol, 'centrifuge-protobuf');
    c.ws.send(pbFrame({ id: 1, connect: { token: await connToken('42') } }));
    const rep = await nextPb(c, (r) => r.id === 1);
    assert.equal(typeof rep.connect?.client, 'string');
    // Length 4, then bytes that are not a valid Command (wire type 7 does not exist).
    c.ws.send(Buffer.from([0x04, 0xff, 0xff, 0xff, 0xff]));
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('unknown command ({"id":2,"foo":{}}) closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send('{"id":2,"foo":{}}');
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('unknown command as the very first frame ({"id":1,"foo":{}}) closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send('{"id":1,"foo":{}}');
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('empty line between commands closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send('{"id":2,"presence_stats":{"channel":"chat:a"}}\n\n{"id":3,"presence_stats":{"channel":"chat:a"}}');
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('command before connect closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
    assert.deepEqual(c.messages(), [], 'no reply before the close');
  });
});

test('second connect on a connected connection closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, connect: { token: await connToken('42') } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
    assert.equal(c.messages().find((m) => m.id === 2), undefined, 'second connect is not answered');
  });
});

test('connect without token and no anonymous option closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: {} });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('command after a failed connect (error reply) closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42', {}, -60));
    assert.deepEqual(rep, { id: 1, error: errorOf(ErrorCode.tokenExpired) });
    c.send({ id: 2, presence_stats: { channel: 'chat:a' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
    assert.equal(c.messages().find((m) => m.id === 2), undefined);
  });
});

test('ping command is answered with error 108', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, ping: {} });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, error: errorOf(ErrorCode.notAvailable) });
    // The connection stays usable.
    c.send({ id: 3, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await c.next((m) => m.id === 3), { id: 3, subscribe: {} });
  });
});

test('send command closes with 3508 (no message handler)', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ send: { data: { hello: 1 } } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.notAvailable));
  });
});

// Issue #2 fixes this answer: with no RPC handler configured at all (no proxy, no rpc.ping) the
// command is "not available" (108), as the centrifuge library answers when OnRPC is unset. With a
// handler, unknown methods get 104 (next test).
test('rpc command without any RPC handler is answered with error 108', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, rpc: { method: 'whatever', data: { x: 1 } } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, error: errorOf(ErrorCode.notAvailable) });
  });
});

test('rpc command: with rpc.ping enabled the ping method answers {} and others get error 104', async () => {
  await withServer({ ...CHAT, rpc: { ping: { enabled: true } } }, async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, rpc: { method: 'ping' } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, rpc: {} });
    c.send({ id: 3, rpc: { method: 'whatever', data: { x: 1 } } });
    assert.deepEqual(await c.next((m) => m.id === 3), { id: 3, error: errorOf(ErrorCode.methodNotFound) });
  });
});

test('pong without an outstanding ping closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({});
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('pings: answered pings keep the connection open', async () => {
  await withServer({ ...CHAT, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv) => {
    const { c, rep } = await connected(srv);
    assert.equal(rep.connect.ping, 1);
    assert.equal(rep.connect.pong, true);
    // First ping within [interval/2, interval); answer it.
    await within(c.next(isPing, 5000), 5000, 'first ping');
    c.send({});
    // The second ping comes a full interval later, i.e. after the first pong timeout would have
    // fired: receiving it proves the pong was accepted.
    await frameWhere(c, () => (c.messages().filter(isPing).length >= 2 ? true : undefined), 5000, 'second ping');
    c.send({});
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });
});

test('pings: an unanswered ping closes with 3012', async () => {
  await withServer({ ...CHAT, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv) => {
    const { c } = await connected(srv);
    await c.next(isPing, 5000);
    assert.deepEqual(await closedWithin(c, 5000), closeOf(DisconnectCode.noPong));
  });
});

test('stale connection (no connect within stale_close_delay) closes with 3502', async () => {
  await withServer({ ...CHAT, client: { stale_close_delay: '300ms' } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    assert.deepEqual(await closedWithin(c, 5000), closeOf(DisconnectCode.stale));
  });
});

test('several newline-separated commands in one frame get replies in command order', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send(
      [
        '{"id":2,"subscribe":{"channel":"chat:a"}}',
        '{"id":3,"presence_stats":{"channel":"chat:a"}}',
        '{"id":4,"ping":{}}',
        '{"id":5,"unsubscribe":{"channel":"chat:a"}}',
        '{"id":6,"presence_stats":{"channel":"chat:a"}}',
      ].join('\n'),
    );
    await c.next((m) => m.id === 6);
    const replies = c.messages().filter((m) => m.id >= 2);
    assert.deepEqual(
      replies.map((m) => m.id),
      [2, 3, 4, 5, 6],
    );
    assert.deepEqual(replies[0], { id: 2, subscribe: {} });
    // Sequential processing: the presence_stats sees the subscribe that preceded it …
    assert.deepEqual(replies[1], { id: 3, presence_stats: { num_clients: 1, num_users: 1 } });
    assert.deepEqual(replies[2], { id: 4, error: errorOf(ErrorCode.notAvailable) });
    assert.deepEqual(replies[3], { id: 5, unsubscribe: {} });
    // … and the unsubscribe before this one (subscriber permission is gone).
    assert.deepEqual(replies[4], { id: 6, error: errorOf(ErrorCode.permissionDenied) });
  });
});

async function protobufSession(srv: TestServer, query: string, protocols?: string): Promise<void> {
  const c = await RawClient.open(srv.wsUrl + query, protocols ? { protocols } : {});
  try {
    c.ws.send(pbFrame({ id: 1, connect: { token: await connToken('42') } }));
    const rep = await nextPb(c, (r) => r.id === 1);
    assert.equal(typeof rep.connect?.client, 'string');
    assert.equal(rep.connect.ping, 25);
    assert.equal(rep.connect.pong, true);
    // Two commands in one binary frame, each varint-delimited.
    c.ws.send(pbFrame({ id: 2, subscribe: { channel: 'chat:a' } }, { id: 3, ping: {} }));
    await nextPb(c, (r) => r.id === 3);
    const replies = allPbReplies(c);
    assert.deepEqual(
      replies.map((r) => r.id),
      [1, 2, 3],
    );
    assert.deepEqual(replies[1], { id: 2, subscribe: {} });
    assert.deepEqual(replies[2], { id: 3, error: errorOf(ErrorCode.notAvailable) });
    assert.deepEqual(c.frames, [], 'no text frames on a Protobuf connection');
    // allPbReplies parsed every binary frame as a sequence of varint-length-prefixed Replies,
    // consuming each frame exactly (it throws on a truncated or unprefixed frame).
    // Publications arrive as Protobuf pushes too.
    const r = await srv.api('publish', { channel: 'chat:a', data: { n: 1 } });
    assert.equal(r.status, 200);
    const push = await nextPb(c, (x) => x.push?.pub !== undefined);
    assert.equal(push.push.channel, 'chat:a');
    assert.deepEqual(JSON.parse(Buffer.from(push.push.pub.data).toString('utf8')), { n: 1 });
  } finally {
    c.close();
  }
}

test('Protobuf selected by the centrifuge-protobuf subprotocol: binary, varint-delimited replies', async () => {
  await withServer(CHAT, async (srv) => {
    await protobufSession(srv, '', 'centrifuge-protobuf');
  });
});

test('Protobuf selected by ?format=protobuf', async () => {
  await withServer(CHAT, async (srv) => {
    await protobufSession(srv, '?format=protobuf');
  });
});

test('Protobuf selected by ?cf_protocol=protobuf', async () => {
  await withServer(CHAT, async (srv) => {
    await protobufSession(srv, '?cf_protocol=protobuf');
  });
});

test('JSON stays the default: centrifuge-json subprotocol gets text frames', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl, { protocols: 'centrifuge-json' });
    assert.equal(c.ws.protocol, 'centrifuge-json');
    const rep = await c.connect(await connToken('42'));
    assert.equal(typeof rep.connect.client, 'string');
    assert.deepEqual(c.binaryFrames, []);
    c.close();
  });
});

test('?cf_ws_frame_ping_pong=true: connect reply has no ping/pong, native WS pings are used', async () => {
  await withServer({ ...CHAT, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl + '?cf_ws_frame_ping_pong=true');
    const gotPing = new Promise<void>((resolve) => c.ws.once('ping', () => resolve()));
    const rep = await c.connect(await connToken('42'));
    assert.equal(typeof rep.connect.client, 'string');
    assert.equal('ping' in rep.connect, false, 'no ping field');
    assert.equal('pong' in rep.connect, false, 'no pong field');
    await within(gotPing, 5000, 'a native WebSocket ping frame');
    // The ws client answers native pings itself; the connection stays usable past pong_timeout.
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
    assert.deepEqual(c.messages().filter(isPing), [], 'no application-level {} pings');
    c.close();
  });
});

test('a command with id 0 (not send) counts as a pong: without an outstanding ping it closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:a'), 0, 'the id-0 subscribe was not executed');
  });
});

test('empty text frame closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send('');
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('empty binary frame on a Protobuf connection closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const c = await RawClient.open(srv.wsUrl, { protocols: 'centrifuge-protobuf' });
    c.ws.send(pbFrame({ id: 1, connect: { token: await connToken('42') } }));
    await nextPb(c, (r) => r.id === 1);
    c.ws.send(Buffer.alloc(0));
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('a single trailing newline after the last command is tolerated', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send('{"id":2,"subscribe":{"channel":"chat:a"}}\n');
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });
});

test('subscribe with an unknown delta type closes with 3501', async () => {
  await withServer(CHAT, async (srv) => {
    const { c } = await connected(srv);
    c.send({ id: 2, subscribe: { channel: 'chat:a', delta: 'gzip' } });
    assert.deepEqual(await closedWithin(c), closeOf(DisconnectCode.badRequest));
  });
});

test('binary data published by a Protobuf client closes JSON subscribers with 3506', async () => {
  const cfg: ConfigInput = { channel: { namespaces: [{ name: 'bin', allow_subscribe_for_client: true, allow_publish_for_client: true }] } };
  await withServer(cfg, async (srv) => {
    const { c: jsonSub } = await connected(srv, '1');
    jsonSub.send({ id: 2, subscribe: { channel: 'bin:a' } });
    assert.deepEqual(await jsonSub.next((m) => m.id === 2), { id: 2, subscribe: {} });

    const pbSub = await RawClient.open(srv.wsUrl, { protocols: 'centrifuge-protobuf' });
    pbSub.ws.send(pbFrame({ id: 1, connect: { token: await connToken('2') } }, { id: 2, subscribe: { channel: 'bin:a' } }));
    await nextPb(pbSub, (r) => r.id === 2);

    const pub = await RawClient.open(srv.wsUrl, { protocols: 'centrifuge-protobuf' });
    pub.ws.send(pbFrame({ id: 1, connect: { token: await connToken('3') } }));
    await nextPb(pub, (r) => r.id === 1);
    const binary = Uint8Array.from([0xff, 0x00, 0xfe]);
    pub.ws.send(pbFrame({ id: 2, publish: { channel: 'bin:a', data: binary } }));
    assert.deepEqual(await nextPb(pub, (r) => r.id === 2), { id: 2, publish: {} });

    assert.deepEqual(await closedWithin(jsonSub), closeOf(DisconnectCode.inappropriateProtocol));
    // The Protobuf subscriber gets the bytes unchanged.
    const push = await nextPb(pbSub, (r) => r.push?.pub !== undefined);
    assert.deepEqual([...push.push.pub.data], [...binary]);
    pbSub.close();
    pub.close();
  });
});
