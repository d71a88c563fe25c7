/**
 * The `/emulation` endpoint (spec §8.5): routing a command to the session it names, and every
 * kind of bad input — unknown node (404), unknown or forged session (204, not reported),
 * unparsable body (400), oversized body (413), wrong method (405), CORS preflight and a
 * disallowed Origin (403). The server must neither crash nor leak a session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connToken } from '../helpers/server.js';
import { encodeEmulationRequest } from '../../src/protocol/protobuf/codec.js';
import { emulate, expectCorsPreflight, request, until, withCfConnect, withKit } from '../helpers/transport-kit.js';

const CONFIG = {
  http_stream: { enabled: true },
  sse: { enabled: true },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, presence: true, allow_presence_for_subscriber: true }] },
};

const ORIGIN = 'http://allowed.example';

test('emulation: unknown node → 404; the session is unaffected', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const { session } = reply.connect;
    const r = await emulate(srv, { node: 'no-such-node', session }, { id: 2, subscribe: { channel: 'chat:a' } });
    assert.equal(r.status, 404, `unknown node: ${r.status} ${r.body}`);
    const empty = await emulate(srv, { node: '', session }, { id: 3, subscribe: { channel: 'chat:a' } });
    assert.equal(empty.status, 404, `empty node: ${empty.status}`);
    // The command was not delivered; the session still works with the right node.
    assert.equal((await emulate(srv, { node: reply.connect.node, session }, { id: 4, subscribe: { channel: 'chat:a' } })).status, 204);
    const sub = await s.nextLine((m) => m.id === 4, 'the subscribe reply');
    assert.ok(sub.subscribe, JSON.stringify(sub));
    assert.equal(s.lines().some((m) => m.id === 2 || m.id === 3), false, 'misrouted commands never reached the session');
  });
});

test('emulation: unknown or forged session on the right node → 204 (not reported), nothing crashes', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const { node, session } = reply.connect;
    for (const forged of [randomUUID(), '', 'x'.repeat(1000), reply.connect.client /* client id is not the session id */]) {
      const r = await emulate(srv, { node, session: forged }, { id: 9, subscribe: { channel: 'chat:forged' } });
      assert.equal(r.status, 204, `session ${JSON.stringify(forged.slice(0, 40))}: ${r.status} ${r.body}`);
    }
    // A forged session in Protobuf form as well.
    const pbr = await request(kit.endpoint('emulation'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: encodeEmulationRequest({ node, session: randomUUID(), data: new Uint8Array([0]) }),
    });
    assert.equal(pbr.status, 204);
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:forged'), 0, 'no forged command was executed');
    // The real session is untouched and still works.
    assert.equal((await emulate(srv, { node, session }, { id: 2, presence_stats: { channel: 'chat:a' } })).status, 204);
    await s.nextLine((m) => m.id === 2, 'the reply on the real session');
    assert.equal(s.lines().some((m) => m.id === 9 || m.push?.disconnect), false, 'the real session saw nothing of the forged requests');
    assert.equal(srv.app.node.hub.numConnections, 1);
  });
});

test('emulation: garbage bodies → 400 (JSON and Protobuf), and the session survives', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const { node, session } = reply.connect;
    const url = kit.endpoint('emulation');
    for (const body of ['', 'garbage', '{"node":', '[1,2,3', '{"node":1,"session":2,"data":3}x']) {
      const r = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, 400, `JSON body ${JSON.stringify(body)}: ${r.status} ${r.body}`);
    }
    const pb = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]) });
    assert.equal(pb.status, 400, `garbage protobuf EmulationRequest: ${pb.status}`);

    // `data` must be a JSON string holding the commands. Centrifugo checks that on the node that
    // owns the session (204 to the caller, command dropped); refusing it up front (400) is fine too.
    const notString = await request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ node, session, data: { id: 5, subscribe: { channel: 'chat:x' } } }),
    });
    assert.ok([204, 400].includes(notString.status), `data as an object: ${notString.status}`);
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:x'), 0, 'a non-string data field is never executed');

    // The session is still alive and usable.
    assert.equal((await emulate(srv, { node, session }, { id: 6, subscribe: { channel: 'chat:ok' } })).status, 204);
    const ok = await s.nextLine((m) => m.id === 6, 'the subscribe reply after the garbage');
    assert.ok(ok.subscribe, JSON.stringify(ok));
    assert.equal(srv.app.node.hub.numConnections, 1);
  });
});

test('emulation: a malformed command inside a valid request ends that session with 3501 (no leak)', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const r = await emulate(srv, reply.connect, 'this is not a command');
    assert.equal(r.status, 204, `forwarded to the session: ${r.status}`);
    const d = await s.nextLine((m) => m.push?.disconnect !== undefined, 'the bad-request disconnect push');
    assert.equal(d.push.disconnect.code, 3501);
    await s.endsWithin();
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
  });
});

test('emulation: oversized body → 413; emulation.max_request_body_size is honoured', async () => {
  await withKit({ ...CONFIG, emulation: { max_request_body_size: 1024 } }, async (srv, kit) => {
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const big = await emulate(srv, reply.connect, { id: 2, rpc: { method: 'm', data: { pad: 'p'.repeat(2000) } } });
    assert.equal(big.status, 413, `oversized emulation body: ${big.status}`);
    assert.equal(big.body, 'request body too large\n');
    const small = await emulate(srv, reply.connect, { id: 3, rpc: { method: 'm', data: { pad: 'p' } } });
    assert.equal(small.status, 204);
    const rpc = await s.nextLine((m) => m.id === 3, 'the rpc reply');
    assert.equal(rpc.error?.code, 108, 'RPC without a handler: 108 not available');
    assert.equal(s.lines().some((m) => m.id === 2), false, 'the oversized command was not executed');
  });
  await withKit(CONFIG, async (srv, kit) => {
    const { reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const big = await emulate(srv, reply.connect, { id: 2, rpc: { method: 'm', data: { pad: 'p'.repeat(70_000) } } });
    assert.equal(big.status, 413, `default 64 KiB limit: ${big.status}`);
  });
});

test('emulation: non-POST → 405; OPTIONS preflight → 204 with CORS headers; disallowed Origin → 403', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = kit.endpoint('emulation');
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await request(url, { method });
      assert.equal(r.status, 405, `${method}: ${r.status}`);
    }
    await expectCorsPreflight(url, ORIGIN);

    const { s, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const allowed = await emulate(srv, reply.connect, { id: 2, subscribe: { channel: 'chat:cors' } }, { Origin: ORIGIN });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), ORIGIN);
    await s.nextLine((m) => m.id === 2, 'the reply to the allowed-origin command');

    const denied = await emulate(srv, reply.connect, { id: 3, subscribe: { channel: 'chat:evil' } }, { Origin: 'http://evil.example' });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:evil'), 0, 'a command from a disallowed origin is not executed');
  });
});

test('emulation routes to SSE sessions too, and sessions of both kinds stay separate', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const sse = await kit.stream(withCfConnect(kit.endpoint('sse'), { id: 1, connect: { token: await connToken('bob') } }));
    assert.equal(sse.status, 200);
    const sseConnect = await sse.nextEvent((m) => m.id === 1, 'the SSE connect reply');
    const { s: hs, reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    assert.notEqual(sseConnect.connect.session, reply.connect.session);

    assert.equal((await emulate(srv, sseConnect.connect, { id: 2, subscribe: { channel: 'chat:sse' } })).status, 204);
    const sub = await sse.nextEvent((m) => m.id === 2, 'the SSE subscribe reply');
    assert.ok(sub.subscribe, JSON.stringify(sub));
    assert.equal(hs.lines().some((m) => m.id === 2), false, 'the http_stream session did not get the SSE reply');
    assert.equal(srv.app.node.hub.numConnections, 2);
  });
});

test('a burst of garbage and forged requests leaves no session and no error behind', async () => {
  await withKit(CONFIG, async (srv, kit) => {
    const url = kit.endpoint('emulation');
    const { reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const reqs: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 20; i++) {
      reqs.push(request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `garbage ${i}` }));
      reqs.push(emulate(srv, { node: reply.connect.node, session: randomUUID() }, { id: i + 10, subscribe: { channel: `chat:${i}` } }));
      reqs.push(emulate(srv, { node: randomUUID(), session: reply.connect.session }, { id: i + 100, subscribe: { channel: `chat:${i}` } }));
    }
    const statuses = (await Promise.all(reqs)).map((r) => r.status);
    assert.deepEqual([...new Set(statuses)].sort(), [204, 400, 404]);
    assert.equal(srv.app.node.hub.numConnections, 1, 'only the real session exists');
    assert.equal(srv.app.node.hub.numChannels, 0, 'no forged subscription happened');
  });
});

test('emulation cannot drive a unidirectional session: its commands are never executed', async () => {
  await withKit({ ...CONFIG, uni_http_stream: { enabled: true } }, async (srv, kit) => {
    // The node id comes from a bidirectional session on the same node.
    const { reply } = await kit.httpStreamSession({ token: await connToken('alice') });
    const uni = await kit.stream(kit.endpoint('uni_http_stream'), { method: 'POST', body: JSON.stringify({ token: await connToken('bob') }) });
    const { connect } = await uni.nextLine((m) => m.connect !== undefined, 'the uni connect push');
    assert.ok(typeof connect.session === 'string' && connect.session !== '', `uni connect push carries a session: ${JSON.stringify(connect)}`);
    const r = await emulate(srv, { node: reply.connect.node, session: connect.session }, [
      { id: 1, subscribe: { channel: 'chat:uni' } },
      { id: 2, presence_stats: { channel: 'chat:uni' } },
    ]);
    assert.ok(r.status < 500, `emulation answered ${r.status}`);
    // Barrier: a round trip through the bidirectional session, processed after the request above.
    assert.equal((await emulate(srv, reply.connect, { id: 3, presence_stats: { channel: 'chat:uni' } })).status, 204);
    assert.equal(srv.app.node.hub.channelSubscriberCount('chat:uni'), 0, 'the uni client was not subscribed');
    assert.equal(uni.lines().some((m) => m.id !== undefined || m.subscribe !== undefined), false, `no replies on a uni stream: ${uni.text()}`);
  });
});
