/**
 * The uni_grpc transport (spec §8.9, §8.10) with a `@grpc/grpc-js` client built from
 * unistream.proto: the connect push first, publications in order, join/leave, server API
 * subscribe/unsubscribe/disconnect, recovery through `subs`, pings, connect errors as disconnect
 * pushes (§2.4), the call's metadata on the connect event, client cancel, TLS, the receive limit,
 * slow clients (3008) and shutdown (3001).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { CentrifugoPolicy } from '../../src/rules/hooks.js';
import { DelegatingHooks } from '../../src/node/delegating-hooks.js';
import type { ConnectEvent, ConnectReply } from '../../src/node/events.js';
import { HttpProxyBackend } from '../helpers/http-proxy-backend.js';
import { connToken } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { UniGrpcClient, startUniGrpcServer, withUniGrpc, type PushObject } from '../helpers/uni-grpc-client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CONFIG = {
  channel: {
    namespaces: [
      { name: 'news', history_size: 100, history_ttl: '300s', force_recovery: true, presence: true, join_leave: true, force_push_join_leave: true },
      { name: 'open', allow_subscribe_for_client: true },
    ],
  },
};

const isConnect = (p: PushObject): boolean => p.connect !== undefined;

test('uni_grpc: the first message is the connect push, with the token `channels` as server-side subscriptions', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice', { channels: ['news:a', 'news:b'] }), name: 'grpc-test', version: '1.0' });
    const first = await s.next(() => true, 'the first message');
    assert.deepEqual(Object.keys(first), ['connect'], JSON.stringify(first));
    const c = first.connect;
    assert.match(c.client, UUID);
    assert.match(c.version, /Rotor/);
    assert.deepEqual(Object.keys(c.subs).sort(), ['news:a', 'news:b']);
    assert.equal(c.pong, undefined, 'uni transports never ask for pongs');
    assert.equal(c.ping, 25);
    assert.match(c.session, UUID);
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test('uni_grpc: publications from the HTTP API arrive in order, as bare Pushes; join and leave of another call', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice', { channels: ['news:a'] }) });
    await s.next(isConnect, 'the connect push');
    for (let n = 1; n <= 30; n++) assert.equal((await srv.api('publish', { channel: 'news:a', data: { n } })).status, 200);
    const pubs: PushObject[] = [];
    for (let n = 1; n <= 30; n++) pubs.push(await s.next((p) => p.pub !== undefined, `publication ${n}`));
    assert.deepEqual(
      pubs.map((p) => [p.channel, JSON.parse(p.pub.data), p.pub.offset]),
      Array.from({ length: 30 }, (_, i) => ['news:a', { n: i + 1 }, i + 1]),
    );

    const bob = client.consume({ token: await connToken('bob', { channels: ['news:a'] }) });
    await bob.next(isConnect, "bob's connect push");
    const join = await s.next((p) => p.join !== undefined, 'the join push');
    assert.equal(join.channel, 'news:a');
    assert.equal(join.join.info.user, 'bob');
    assert.match(join.join.info.client, UUID);
    bob.cancel();
    const leave = await s.next((p) => p.leave !== undefined, 'the leave push');
    assert.deepEqual(leave.leave.info, join.join.info);
  });
});

test('uni_grpc: permitted ConnectRequest subs, recovery by offset and epoch, server API subscribe and unsubscribe', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    for (const n of [1, 2, 3]) assert.equal((await srv.api('publish', { channel: 'news:r', data: { n } })).status, 200);
    const { epoch } = (await srv.api('history', { channel: 'news:r', limit: 0 })).body.result;
    const s = client.consume({
      token: await connToken('alice', { channels: ['news:r'] }),
      // `open:x` clients may subscribe to → kept; `news:nope` they may not → left out.
      subs: { 'news:r': { recover: true, offset: 1, epoch }, 'open:x': {}, 'news:nope': {} },
    });
    const { connect } = await s.next(isConnect, 'the connect push');
    assert.deepEqual(Object.keys(connect.subs).sort(), ['news:r', 'open:x']);
    const r = connect.subs['news:r'];
    assert.equal(r.recovered, true, JSON.stringify(r));
    assert.equal(r.epoch, epoch);
    // As Centrifugo: the position recovered from; the client moves on with the publications.
    assert.equal(r.offset, 1, JSON.stringify(r));
    assert.deepEqual(
      r.publications.map((p: PushObject) => [JSON.parse(p.data), p.offset]),
      [
        [{ n: 2 }, 2],
        [{ n: 3 }, 3],
      ],
    );

    assert.equal((await srv.api('subscribe', { user: 'alice', channel: 'open:y' })).status, 200);
    const sub = await s.next((p) => p.subscribe !== undefined, 'the subscribe push');
    assert.equal(sub.channel, 'open:y');
    assert.equal((await srv.api('publish', { channel: 'open:y', data: 'y' })).status, 200);
    assert.deepEqual(await s.next((p) => p.pub !== undefined, 'the publication in open:y'), { channel: 'open:y', pub: { data: '"y"' } });
    assert.equal((await srv.api('unsubscribe', { user: 'alice', channel: 'open:y' })).status, 200);
    const unsub = await s.next((p) => p.unsubscribe !== undefined, 'the unsubscribe push');
    assert.equal(unsub.channel, 'open:y');
    assert.equal(unsub.unsubscribe.code, 2000);
  });
});

test('uni_grpc: a recovery position from another epoch is not recovered', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    assert.equal((await srv.api('publish', { channel: 'news:e', data: 1 })).status, 200);
    const s = client.consume({ token: await connToken('alice', { channels: ['news:e'] }), subs: { 'news:e': { recover: true, offset: 0, epoch: 'other' } } });
    const { connect } = await s.next(isConnect, 'the connect push');
    const r = connect.subs['news:e'];
    assert.equal(r.recovered, undefined, JSON.stringify(r));
    assert.equal(r.was_recovering, true);
    assert.notEqual(r.epoch, 'other');
  });
});

test('uni_grpc: server API disconnect → the disconnect push, then the call ends with status OK', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice') });
    await s.next(isConnect, 'the connect push');
    assert.equal((await srv.api('disconnect', { user: 'alice', disconnect: { code: 4501, reason: 'bye' } })).status, 200);
    const status = await s.end();
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.deepEqual(s.pushes.at(-1), { disconnect: { code: 4501, reason: 'bye' } });
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
  });
});

test('uni_grpc: connect errors are disconnect pushes (spec §2.4), then the call ends with status OK', async () => {
  const cfg = {
    ...CONFIG,
    client: { connect_code_to_unidirectional_disconnect: { enabled: true, transforms: [{ code: 102, to: { code: 4102, reason: 'no such namespace' } }] } },
  };
  await withUniGrpc(cfg, async (srv, client) => {
    const cases: [string, { code: number; reason: string }][] = [
      ['not-a-jwt', { code: 3500, reason: 'invalid token' }],
      [await connToken('alice', {}, -60), { code: 3005, reason: 'connection expired' }],
      [await connToken('alice', { channels: ['nope:x'] }), { code: 4102, reason: 'no such namespace' }],
    ];
    for (const [token, disconnect] of cases) {
      const s = client.consume({ token });
      const status = await s.end();
      assert.equal(status.code, grpc.status.OK, status.details);
      assert.deepEqual(s.pushes, [{ disconnect }]);
    }
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_grpc: the client cancelling its call frees the session and its subscriptions', async () => {
  await withUniGrpc(CONFIG, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice', { channels: ['news:a'] }) });
    await s.next(isConnect, 'the connect push');
    const before = (await srv.api('info', {})).body.result.nodes[0];
    assert.equal(before.num_clients, 1);
    s.cancel();
    assert.equal((await s.end()).code, grpc.status.CANCELLED);
    await until(() => srv.app.node.hub.numConnections === 0, 'the session to be removed');
    const after = (await srv.api('info', {})).body.result.nodes[0];
    assert.equal(after.num_clients ?? 0, 0, JSON.stringify(after));
    assert.equal(srv.app.node.hub.channelSubscriberCount('news:a'), 0);
    assert.deepEqual((await srv.api('presence_stats', { channel: 'news:a' })).body.result, { num_clients: 0, num_users: 0 });
  });
});

test('uni_grpc pings: an empty Push every ping_interval, never answered, and the call stays open', async () => {
  await withUniGrpc({ ...CONFIG, client: { ping_interval: '1s', pong_timeout: '500ms' } }, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice') });
    const { connect } = await s.next(isConnect, 'the connect push');
    assert.equal(connect.ping, 1);
    await s.next((p) => Object.keys(p).length === 0, 'the first ping', 4000);
    await s.next((p) => Object.keys(p).length === 0, 'the second ping', 4000);
    assert.equal(s.raw.filter((b) => b.length === 0).length >= 2, true, 'a ping is the empty message');
    assert.equal(s.status, undefined, 'not ended for want of pongs');
    assert.equal(srv.app.node.hub.numClients, 1);
  });
});

test("uni_grpc: the call's text metadata reaches the connect event, keys lower-case, -bin keys left out", async () => {
  const seen: ReadonlyMap<string, string>[] = [];
  class Recording extends DelegatingHooks<CentrifugoPolicy> {
    override connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
      seen.push(e.metadata);
      return super.connecting(e);
    }
  }
  await withUniGrpc(
    CONFIG,
    async (_srv, client) => {
      const s = client.consume(
        { token: await connToken('alice'), headers: { 'X-Emulated': 'e' } },
        { 'X-Tenant': 'acme', authorization: 'Bearer abc', 'trace-bin': Buffer.from([1, 2, 3]) },
      );
      await s.next(isConnect, 'the connect push');
      assert.equal(seen.length, 1);
      const md = seen[0]!;
      assert.equal(md.get('x-tenant'), 'acme');
      assert.equal(md.get('authorization'), 'Bearer abc');
      assert.equal(md.has('trace-bin'), false);
      assert.equal(md.has('x-emulated'), false, 'emulated headers are not metadata');
    },
    { policy: (rotor) => new Recording(rotor) },
  );
});

test('uni_grpc: a connect proxy gets the metadata keys `grpc_metadata` lists as headers, and decides the connection', async () => {
  const backend = await HttpProxyBackend.start();
  try {
    backend.on('/connect', () => ({ result: { user: 'u1', channels: ['news:p'] } }));
    const proxy = { enabled: true, endpoint: backend.url('/connect'), grpc_metadata: ['x-tenant', 'trace-bin'] };
    await withUniGrpc({ ...CONFIG, client: { proxy: { connect: proxy } } }, async (_srv, client) => {
      const called = backend.nextCall('/connect');
      const s = client.consume({ data: '{"hello":1}' }, { 'x-tenant': 'acme', 'x-other': 'no', 'trace-bin': Buffer.from([1]) });
      const call = await called;
      assert.equal(call.headers['x-tenant'], 'acme');
      assert.equal(call.headers['x-other'], undefined, 'only listed keys are forwarded');
      assert.equal(call.headers['trace-bin'], undefined, 'binary metadata is never forwarded');
      assert.equal(call.body.transport, 'uni_grpc');
      assert.equal(call.body.protocol, 'protobuf');
      assert.deepEqual(call.body.data, { hello: 1 });
      const { connect } = await s.next(isConnect, 'the connect push');
      assert.deepEqual(Object.keys(connect.subs), ['news:p']);
    });
  } finally {
    await backend.stop();
  }
});

test('uni_grpc bad input: a malformed ConnectRequest is INTERNAL (as grpc-go answers); one over max_receive_message_size is RESOURCE_EXHAUSTED', async () => {
  await withUniGrpc({ ...CONFIG, uni_grpc: { max_receive_message_size: 1024 } }, async (srv, client) => {
    const big = client.consume({ token: await connToken('alice'), data: 'x'.repeat(2000) });
    const bigStatus = await big.end();
    assert.equal(bigStatus.code, grpc.status.RESOURCE_EXHAUSTED, bigStatus.details);
    assert.deepEqual(big.pushes, []);

    // Field 1 (token) declared 10 bytes long with 2 present.
    const raw = new grpc.Client(srv.target, grpc.credentials.createInsecure());
    try {
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        const call = raw.makeServerStreamRequest(
          '/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0x0a, 0x61, 0x62]),
        );
        call.on('status', resolve);
        call.on('error', () => {});
        call.on('data', () => assert.fail('no message for a malformed request'));
      });
      assert.equal(status.code, grpc.status.INTERNAL, status.details);
      assert.match(status.details, /^grpc: error unmarshalling request: /);
    } finally {
      raw.close();
    }
    const small = client.consume({ token: await connToken('alice') });
    await small.next(isConnect, 'a request within the limit still connects');
    assert.equal(srv.app.node.hub.numConnections, 1, 'the refused calls left no session');
  });
});

test('uni_grpc: a slow client (not reading) is disconnected with 3008 and its call is cut', async () => {
  await withUniGrpc({ ...CONFIG, client: { queue_max_size: 200_000 } }, async (srv, client) => {
    const s = client.consume({ token: await connToken('alice', { channels: ['news:slow'] }) });
    await s.next(isConnect, 'the connect push');
    s.call.pause();
    const payload = 'x'.repeat(10_000);
    // In flight at most: the client's 64 KiB HTTP/2 window and the 16 messages grpc-js reads
    // ahead (~224 KB); the rest waits on the server until its 200 KB limit is passed (~424 KB).
    for (let i = 0; i < 100 && srv.app.node.hub.numConnections > 0; i++) {
      assert.equal((await srv.api('publish', { channel: 'news:slow', data: { i, payload } })).status, 200);
    }
    await until(() => srv.app.node.hub.numConnections === 0, 'the slow client to be disconnected');
    s.call.resume();
    const status = await s.end();
    assert.equal(status.code, grpc.status.CANCELLED, status.details);
    assert.equal(s.pushes.some((p) => p.disconnect !== undefined), false, 'a slow client gets no disconnect push');
  });
});

test('uni_grpc.tls: TLS clients trusting the CA connect; plain-text clients do not', async () => {
  const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
  const srv = await startUniGrpcServer({ ...CONFIG, uni_grpc: { tls: { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('server.key') } } });
  const tls = new UniGrpcClient(srv.target, {
    credentials: grpc.credentials.createSsl(readFileSync(fixture('server.crt'))),
    options: { 'grpc.ssl_target_name_override': 'localhost' },
  });
  const plain = new UniGrpcClient(srv.target);
  try {
    const s = tls.consume({ token: await connToken('alice', { channels: ['news:t'] }) });
    await s.next(isConnect, 'the connect push over TLS');
    assert.equal((await srv.api('publish', { channel: 'news:t', data: 't' })).status, 200);
    assert.equal((await s.next((p) => p.pub !== undefined, 'the publication over TLS')).pub.data, '"t"');
    const p = plain.consume({ token: await connToken('bob') });
    const status = await p.end();
    assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
    assert.equal(srv.app.node.hub.numClients, 1);
  } finally {
    tls.close();
    plain.close();
    await srv.stop();
  }
});

test('uni_grpc.tls.client_ca_pem: mutual TLS admits only clients with a certificate the CA signed', async () => {
  const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
  const tlsConfig = { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('server.key'), client_ca_pem: fixture('client-ca.crt') };
  const srv = await startUniGrpcServer({ ...CONFIG, uni_grpc: { tls: tlsConfig } });
  const ca = readFileSync(fixture('server.crt'));
  const options = { 'grpc.ssl_target_name_override': 'localhost' };
  const withCert = new UniGrpcClient(srv.target, {
    credentials: grpc.credentials.createSsl(ca, readFileSync(fixture('client.key')), readFileSync(fixture('client.crt'))),
    options,
  });
  const without = new UniGrpcClient(srv.target, { credentials: grpc.credentials.createSsl(ca), options });
  try {
    await withCert.consume({ token: await connToken('alice') }).next(isConnect, 'the connect push with a client certificate');
    const refused = without.consume({ token: await connToken('bob') });
    assert.equal((await refused.end()).code, grpc.status.UNAVAILABLE);
    assert.deepEqual(refused.pushes, []);
    assert.equal(srv.app.node.hub.numClients, 1);
  } finally {
    withCert.close();
    without.close();
    await srv.stop();
  }
});

test('uni_grpc.tls: a key that does not load stops startup naming the option', async () => {
  const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
  await assert.rejects(
    startUniGrpcServer({ uni_grpc: { tls: { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('client.key') } } }),
    /uni_grpc\.tls: cannot use cert_pem\/key_pem/,
  );
  await assert.rejects(startUniGrpcServer({ uni_grpc: { tls: { enabled: true, key_pem: fixture('server.key') } } }), /uni_grpc\.tls\.cert_pem: required/);
});

test('uni_grpc.port: a port that cannot be bound rejects start naming uni_grpc.port', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    await assert.rejects(startUniGrpcServer({ uni_grpc: { port } }), /^Error: uni_grpc\.port: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test('uni_grpc: shutdown does not wait past its timeout for a client that stopped reading', async () => {
  const srv = await startUniGrpcServer({ ...CONFIG, client: { queue_max_size: 10_000_000 } });
  const client = new UniGrpcClient(srv.target);
  try {
    const s = client.consume({ token: await connToken('alice', { channels: ['news:stuck'] }) });
    await s.next(isConnect, 'the connect push');
    s.call.pause();
    const payload = 'x'.repeat(10_000);
    for (let i = 0; i < 50; i++) assert.equal((await srv.api('publish', { channel: 'news:stuck', data: { i, payload } })).status, 200);
    // The 3001 push queues behind what the client does not read; stop(2000) drops the call.
    await srv.stop();
    s.call.resume();
    const status = await s.end();
    assert.notEqual(status.code, grpc.status.OK, 'the call was cut, not finished');
    assert.equal(srv.app.node.hub.numConnections, 0);
  } finally {
    client.close();
    await srv.stop();
  }
});

test('uni_grpc: shutdown sends each call the 3001 disconnect push, then ends it with status OK', async () => {
  const srv = await startUniGrpcServer(CONFIG);
  const client = new UniGrpcClient(srv.target);
  try {
    const a = client.consume({ token: await connToken('alice', { channels: ['news:a'] }) });
    const b = client.consume({ token: await connToken('bob') });
    await a.next(isConnect, "alice's connect push");
    await b.next(isConnect, "bob's connect push");
    await srv.stop();
    for (const s of [a, b]) {
      const status = await s.end();
      assert.equal(status.code, grpc.status.OK, status.details);
      assert.deepEqual(s.pushes.at(-1), { disconnect: { code: 3001, reason: 'shutdown' } });
    }
  } finally {
    client.close();
    await srv.stop();
  }
});
