/**
 * The gRPC server API (`grpc_api.*`, reference §7.5, §2.5) with a `@grpc/grpc-js` client built
 * from api.proto, against an in-process Rotor and official `centrifuge` SDK clients: every method
 * the HTTP API has, batch, the key, both error modes, TLS with client certificates, reflection,
 * the receive size limit, and bad input (unknown RPC, malformed message, bad fields, a taken port).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { ConfigInput } from '../../src/config/schema.js';
import { App } from '../../src/app/app.js';
import { configSchema } from '../../src/config/schema.js';
import { reflectionTypes } from '../../src/api/grpc/reflection.js';
import { RpcStatusType, API_ERROR_TYPE_URL } from '../../src/api/grpc/status.js';
import { BASE_CONFIG, connToken } from '../helpers/server.js';
import { SdkPool, bytes, type TestClient } from '../helpers/sdk.js';
import { GrpcApiClient, API_SERVICE, protoRoot, rejectsWithStatus, type Reply } from '../helpers/grpc-api-client.js';
import { merge, startGrpcApiServer, type GrpcTestServer } from '../helpers/grpc-api-server.js';

const NAMESPACES = {
  channel: {
    namespaces: [
      { name: 'chat', allow_subscribe_for_client: true, history_size: 10, history_ttl: '300s', presence: true },
      { name: 'plain', allow_subscribe_for_client: true },
      { name: 'bin', allow_subscribe_for_client: true, publication_data_format: 'binary' },
      { name: 'obj', publication_data_format: 'json_object' },
    ],
  },
} satisfies ConfigInput;

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const TEXT = new TextEncoder();
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

interface Ctx {
  srv: GrpcTestServer;
  sdk: SdkPool;
  api: GrpcApiClient;
}

/** A server with `overrides` over the namespaces, a gRPC API client and an SDK pool; all closed after `fn`. */
async function withGrpc(overrides: ConfigInput, fn: (c: Ctx) => Promise<void>, client: { key?: string } = {}): Promise<void> {
  const srv = await startGrpcApiServer(merge(NAMESPACES, overrides as Record<string, unknown>) as ConfigInput);
  const sdk = new SdkPool(srv);
  const api = new GrpcApiClient(`127.0.0.1:${srv.grpcPort}`, client);
  try {
    await fn({ srv, sdk, api });
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  } finally {
    api.close();
    sdk.closeAll();
    await srv.stop();
  }
}

/** An SDK client of `user`, connected; with `channel`, subscribed to it client-side. */
async function connected(sdk: SdkPool, user: string): Promise<TestClient> {
  const c = sdk.client({ token: await connToken(user) });
  await c.connect();
  return c;
}

function ok(r: Reply, what: string): Reply {
  assert.equal(r.error, undefined, `${what}: ${JSON.stringify(r.error)}`);
  assert.ok(r.result !== undefined, `${what}: a result`);
  return r.result;
}

// ---------------------------------------------------------------- methods

test('Publish: an SDK subscriber receives the data; the result has the stream position; b64data wins over data', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = await connected(sdk, 'alice');
    const s = await c.subscribe('chat:room');
    const r = ok(await api.call('Publish', { channel: 'chat:room', data: json({ text: 'hi' }), tags: { k: 'v' } }), 'publish');
    assert.equal(r.offset, 1);
    assert.equal(typeof r.epoch, 'string');
    const pub = await s.events.next('publication');
    assert.deepEqual([pub.data, pub.offset, pub.tags], [{ text: 'hi' }, 1, { k: 'v' }]);

    ok(await api.call('Publish', { channel: 'chat:room', data: json({ from: 'data' }), b64data: json({ from: 'b64' }).toString('base64') }), 'publish b64');
    assert.deepEqual((await s.events.next('publication')).data, { from: 'b64' });

    // Without history: an empty result.
    assert.deepEqual(ok(await api.call('Publish', { channel: 'plain:x', data: json(1) }), 'publish plain'), {});
  });
});

test('Publish: binary data reaches a Protobuf SDK subscriber byte for byte', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = sdk.client({ token: await connToken('alice') }, 'protobuf');
    await c.connect();
    const s = await c.subscribe('bin:raw');
    const data = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x7b]);
    ok(await api.call('Publish', { channel: 'bin:raw', data }), 'publish binary');
    assert.deepEqual(bytes((await s.events.next('publication')).data), data);
  });
});

test('Broadcast: every channel gets the publication; a channel in an unknown namespace fails alone', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = await connected(sdk, 'alice');
    const a = await c.subscribe('chat:a');
    const b = await c.subscribe('plain:b');
    const r = ok(await api.call('Broadcast', { channels: ['chat:a', 'nope:c', 'plain:b'], data: json({ all: true }) }), 'broadcast');
    assert.deepEqual(r.responses, [{ result: { offset: 1, epoch: r.responses[0].result.epoch } }, { error: { code: 102, message: 'unknown channel' } }, { result: {} }]);
    assert.deepEqual((await a.events.next('publication')).data, { all: true });
    assert.deepEqual((await b.events.next('publication')).data, { all: true });
    assert.deepEqual(await api.call('Broadcast', { channels: [], data: json(1) }), { error: { code: 107, message: 'bad request' } });
  });
});

test('Presence and PresenceStats list the subscribed SDK clients; 108 where presence is off', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const alice = await connected(sdk, 'alice');
    const bob = await connected(sdk, 'bob');
    await alice.subscribe('chat:p');
    await bob.subscribe('chat:p');
    const presence = ok(await api.call('Presence', { channel: 'chat:p' }), 'presence').presence as Record<string, Reply>;
    assert.deepEqual(Object.values(presence).map((i) => i.user).sort(), ['alice', 'bob']);
    for (const [id, info] of Object.entries(presence)) assert.equal(info.client, id);
    assert.deepEqual(ok(await api.call('PresenceStats', { channel: 'chat:p' }), 'stats'), { num_clients: 2, num_users: 2 });
    assert.deepEqual(await api.call('Presence', { channel: 'plain:p' }), { error: { code: 108, message: 'not available' } });
    assert.deepEqual(await api.call('PresenceStats', { channel: 'plain:p' }), { error: { code: 108, message: 'not available' } });
  });
});

test('History with limit, since and reverse; HistoryRemove empties it; 112 for another epoch', async () => {
  await withGrpc({}, async ({ api }) => {
    for (let n = 1; n <= 3; n++) ok(await api.call('Publish', { channel: 'chat:h', data: json({ n }) }), `publish ${n}`);
    const all = ok(await api.call('History', { channel: 'chat:h', limit: -1 }), 'history');
    assert.deepEqual(
      all.publications.map((p: Reply) => [JSON.parse(p.data.toString()), p.offset]),
      [[{ n: 1 }, 1], [{ n: 2 }, 2], [{ n: 3 }, 3]],
    );
    assert.equal(all.offset, 3);
    const since = ok(await api.call('History', { channel: 'chat:h', limit: 10, since: { offset: 1, epoch: all.epoch } }), 'since');
    assert.deepEqual(since.publications.map((p: Reply) => p.offset), [2, 3]);
    const newest = ok(await api.call('History', { channel: 'chat:h', limit: 1, reverse: true }), 'reverse');
    assert.deepEqual(newest.publications.map((p: Reply) => p.offset), [3]);
    const top = ok(await api.call('History', { channel: 'chat:h' }), 'top');
    assert.deepEqual([top.publications, top.offset], [undefined, 3], 'limit 0: only the stream position');
    assert.deepEqual(await api.call('History', { channel: 'chat:h', since: { offset: 1, epoch: 'other' } }), { error: { code: 112, message: 'unrecoverable position' } });
    assert.deepEqual(await api.call('History', { channel: 'chat:h', reverse: true, since: { offset: 0, epoch: all.epoch } }), { error: { code: 107, message: 'bad request' } });

    assert.deepEqual(ok(await api.call('HistoryRemove', { channel: 'chat:h' }), 'remove'), {});
    assert.equal(ok(await api.call('History', { channel: 'chat:h', limit: -1 }), 'after remove').publications, undefined);
    assert.deepEqual(await api.call('HistoryRemove', { channel: 'plain:h' }), { error: { code: 108, message: 'not available' } });
  });
});

test('Channels lists active channels with their client counts; Info describes the node; RPC answers 104', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = await connected(sdk, 'alice');
    await c.subscribe('chat:one');
    await c.subscribe('plain:two');
    assert.deepEqual(ok(await api.call('Channels', {}), 'channels').channels, { 'chat:one': { num_clients: 1 }, 'plain:two': { num_clients: 1 } });
    assert.deepEqual(ok(await api.call('Channels', { pattern: 'chat:*' }), 'channels pattern').channels, { 'chat:one': { num_clients: 1 } });
    const nodes = ok(await api.call('Info', {}), 'info').nodes;
    assert.equal(nodes.length, 1);
    assert.match(nodes[0].version, /Rotor/);
    assert.deepEqual([nodes[0].num_clients, nodes[0].num_users, nodes[0].num_channels, nodes[0].num_subs], [1, 1, 2, 2]);
    assert.deepEqual(await api.call('RPC', { method: 'anything', params: json({}) }), { error: { code: 104, message: 'not found' } });
  });
});

test('Subscribe, Unsubscribe, Refresh and Disconnect act on a connected SDK client', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = await connected(sdk, 'alice');
    const subscribed = c.events.next('subscribed', (e) => e.channel === 'chat:srv');
    assert.deepEqual(ok(await api.call('Subscribe', { user: 'alice', channel: 'chat:srv', data: json({ welcome: 1 }) }), 'subscribe'), {});
    assert.deepEqual((await subscribed).data, { welcome: 1 });
    ok(await api.call('Publish', { channel: 'chat:srv', data: json({ n: 1 }) }), 'publish');
    assert.deepEqual((await c.events.next('publication', (e) => e.channel === 'chat:srv')).data, { n: 1 });

    const unsubscribed = c.events.next('unsubscribed', (e) => e.channel === 'chat:srv');
    assert.deepEqual(ok(await api.call('Unsubscribe', { user: 'alice', channel: 'chat:srv' }), 'unsubscribe'), {});
    await unsubscribed;

    // An expired refresh closes the connection with 3005; the SDK reconnects.
    const reconnecting = c.events.next('connecting', (e) => e.code === 3005);
    assert.deepEqual(ok(await api.call('Refresh', { user: 'alice', expired: true }), 'refresh'), {});
    await reconnecting;
    await c.events.next('connected');

    const gone = c.events.next('disconnected');
    assert.deepEqual(ok(await api.call('Disconnect', { user: 'alice', disconnect: { code: 4501, reason: 'bye' } }), 'disconnect'), {});
    assert.deepEqual(await gone, { code: 4501, reason: 'bye' });

    assert.deepEqual(await api.call('Subscribe', { user: '', channel: 'chat:x' }), { error: { code: 107, message: 'bad request' } });
  });
});

test('Batch: replies in command order, sequential and parallel; a command naming no method is 104', async () => {
  await withGrpc({}, async ({ sdk, api }) => {
    const c = await connected(sdk, 'alice');
    const s = await c.subscribe('chat:b');
    const commands = [
      { publish: { channel: 'chat:b', data: json({ n: 1 }) } },
      { presence_stats: { channel: 'chat:b' } },
      { publish: { channel: 'nope:b', data: json({ n: 2 }) } },
      {},
      { info: {} },
    ];
    const seq = await api.call('Batch', { commands });
    assert.equal(seq.replies.length, 5);
    assert.equal(seq.replies[0].publish.offset, 1);
    assert.deepEqual(seq.replies[1], { presence_stats: { num_clients: 1, num_users: 1 } });
    assert.deepEqual(seq.replies[2], { error: { code: 102, message: 'unknown channel' } });
    assert.deepEqual(seq.replies[3], { error: { code: 104, message: 'not found' } });
    assert.equal(seq.replies[4].info.nodes.length, 1);
    assert.deepEqual((await s.events.next('publication')).data, { n: 1 });

    const par = await api.call('Batch', { commands: [commands[0]!, commands[0]!], parallel: true });
    assert.deepEqual(par.replies.map((r: Reply) => r.publish.offset).sort(), [2, 3]);
    assert.deepEqual(await api.call('Batch', {}), {}, 'an empty batch answers no replies');
  });
});

// ---------------------------------------------------------------- auth and error modes

test('grpc_api.key: calls without it or with a wrong one are UNAUTHENTICATED; the right one passes', async () => {
  await withGrpc({ grpc_api: { key: 'grpc-secret' } }, async ({ srv, api }) => {
    await rejectsWithStatus(api.call('Info', {}), grpc.status.UNAUTHENTICATED, 'no key');
    await rejectsWithStatus(api.call('Info', {}, { authorization: 'apikey wrong' }), grpc.status.UNAUTHENTICATED, 'wrong key');
    await rejectsWithStatus(api.call('Info', {}, { authorization: 'grpc-secret' }), grpc.status.UNAUTHENTICATED, 'key without the scheme');
    const keyed = new GrpcApiClient(`127.0.0.1:${srv.grpcPort}`, { key: 'grpc-secret' });
    try {
      assert.equal(ok(await keyed.call('Info', {}), 'info with key').nodes.length, 1);
    } finally {
      keyed.close();
    }
  });
  // No key configured: no auth, as Centrifugo.
  await withGrpc({}, async ({ api }) => {
    assert.equal(ok(await api.call('Info', {}), 'info').nodes.length, 1);
  });
});

/** The API Error inside a transport-mode status's `grpc-status-details-bin`. */
function detailsError(e: grpc.ServiceError): Reply {
  const [bin] = e.metadata.get('grpc-status-details-bin');
  assert.ok(bin instanceof Buffer, 'status details present');
  const st = RpcStatusType.toObject(RpcStatusType.decode(bin)) as Reply;
  assert.equal(st.code, e.code);
  assert.equal(st.details.length, 1);
  assert.equal(st.details[0].type_url, API_ERROR_TYPE_URL);
  const ErrorType = protoRoot.lookupType('centrifugal.centrifugo.api.Error');
  return ErrorType.toObject(ErrorType.decode(st.details[0].value));
}

test('error mode: errors in `error` by default; metadata x-centrifugo-error-mode: transport answers gRPC statuses', async () => {
  await withGrpc({}, async ({ api }) => {
    assert.deepEqual(await api.call('Publish', { channel: 'nope:x', data: json(1) }), { error: { code: 102, message: 'unknown channel' } });
    const transport = { 'x-centrifugo-error-mode': 'transport' };
    const e = await rejectsWithStatus(api.call('Publish', { channel: 'nope:x', data: json(1) }, transport), grpc.status.NOT_FOUND, '102');
    assert.equal(e.details, 'unknown channel');
    assert.deepEqual(detailsError(e), { code: 102, message: 'unknown channel' });
    await rejectsWithStatus(api.call('Publish', { channel: 'chat:x' }, transport), grpc.status.INVALID_ARGUMENT, '107 (empty data)');
    await rejectsWithStatus(api.call('Presence', { channel: 'plain:x' }, transport), grpc.status.INVALID_ARGUMENT, '108');
    await rejectsWithStatus(api.call('History', { channel: 'chat:x', since: { offset: 1, epoch: 'zz' } }, transport), grpc.status.OUT_OF_RANGE, '112');
    await rejectsWithStatus(api.call('RPC', { method: 'm' }, transport), grpc.status.NOT_FOUND, '104');
    // Successes are unchanged, and a batch keeps its errors per reply.
    assert.deepEqual(ok(await api.call('Publish', { channel: 'plain:x', data: json(1) }, transport), 'publish'), {});
    assert.deepEqual(await api.call('Batch', { commands: [{ publish: { channel: 'nope:x', data: json(1) } }] }, transport), {
      replies: [{ error: { code: 102, message: 'unknown channel' } }],
    });
  });
});

test('grpc_api.error_mode: transport answers every call with statuses, without the metadata', async () => {
  await withGrpc({ grpc_api: { error_mode: 'transport' } }, async ({ api }) => {
    const e = await rejectsWithStatus(api.call('Publish', { channel: '', data: json(1) }), grpc.status.INVALID_ARGUMENT, '107');
    assert.deepEqual(detailsError(e), { code: 107, message: 'bad request' });
    assert.equal(ok(await api.call('Info', {}), 'info').nodes.length, 1);
  });
});

// ---------------------------------------------------------------- bad input

test('bad input: an unknown RPC is UNIMPLEMENTED, a malformed message INTERNAL, an oversized one RESOURCE_EXHAUSTED; the server keeps serving', async () => {
  await withGrpc({ grpc_api: { max_receive_message_size: 1024 } }, async ({ api }) => {
    await rejectsWithStatus(api.raw(`/${API_SERVICE}/Connections`, Buffer.alloc(0)), grpc.status.UNIMPLEMENTED, 'a PRO method');
    await rejectsWithStatus(api.raw('/no.such.Service/Call', Buffer.alloc(0)), grpc.status.UNIMPLEMENTED, 'an unknown service');
    // Field 1 (channel) as a length-delimited value longer than the message.
    await rejectsWithStatus(api.raw(`/${API_SERVICE}/Publish`, Buffer.from([0x0a, 0x7f, 0x61])), grpc.status.INTERNAL, 'a truncated message');
    // A batch command carrying only a method this schema lacks (field 17, Centrifugo's PRO
    // `connections`): the field is skipped, and the command names no method.
    const BatchResponse = protoRoot.lookupType('centrifugal.centrifugo.api.BatchResponse');
    const pro = await api.raw(`/${API_SERVICE}/Batch`, Buffer.from([0x0a, 0x03, 0x8a, 0x01, 0x00]));
    assert.deepEqual(BatchResponse.toObject(BatchResponse.decode(pro)), { replies: [{ error: { code: 104, message: 'not found' } }] });
    const big = Buffer.alloc(2048, 0x20);
    const e = await rejectsWithStatus(api.call('Publish', { channel: 'plain:x', data: big }), grpc.status.RESOURCE_EXHAUSTED, 'over max_receive_message_size');
    assert.match(e.details, /larger than max/);
    // Data a namespace's publication_data_format refuses is a bad request, as over HTTP.
    assert.deepEqual(await api.call('Publish', { channel: 'obj:x', data: TEXT.encode('{not json') }), { error: { code: 107, message: 'bad request' } });
    assert.deepEqual(await api.call('Publish', { channel: 'obj:x', data: json([1]) }), { error: { code: 107, message: 'bad request' } });
    assert.deepEqual(ok(await api.call('Publish', { channel: 'obj:x', data: json({ a: 1 }) }), 'a JSON object'), {});
    assert.deepEqual(ok(await api.call('Publish', { channel: 'plain:x', data: Buffer.alloc(900, 0x31) }), 'under the limit'), {});
  });
});

/** A TCP listener holding a port, so the gRPC API cannot bind it. */
function holdPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a !== null ? a.port : 0 });
    });
  });
}

test('a port that cannot be bound rejects start() naming grpc_api.port', async () => {
  const held = await holdPort();
  const config = configSchema.parse(merge(BASE_CONFIG as Record<string, unknown>, { grpc_api: { enabled: true, address: '127.0.0.1', port: held.port } }));
  const noop = (): void => {};
  const app = await App.create(config, { trace: noop, debug: noop, info: noop, warn: noop, error: noop });
  try {
    await assert.rejects(app.start(), (err: Error) => err.message.startsWith('grpc_api.port:') && err.message.includes(String(held.port)));
  } finally {
    await app.stop(2000);
    held.server.close();
  }
});

// ---------------------------------------------------------------- TLS

test('grpc_api.tls with client_ca_pem: a client trusting the server and presenting a signed certificate is served; others are refused', async () => {
  const tls = { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('server.key'), client_ca_pem: fixture('client-ca.crt') };
  await withGrpc({ grpc_api: { tls } }, async ({ srv, api }) => {
    const ca = readFileSync(fixture('server.crt'));
    const target = `localhost:${srv.grpcPort}`;
    const good = new GrpcApiClient(target, { creds: grpc.credentials.createSsl(ca, readFileSync(fixture('client.key')), readFileSync(fixture('client.crt'))) });
    const noCert = new GrpcApiClient(target, { creds: grpc.credentials.createSsl(ca) });
    try {
      assert.equal(ok(await good.call('Info', {}), 'info over mutual TLS').nodes.length, 1);
      await rejectsWithStatus(noCert.call('Info', {}), grpc.status.UNAVAILABLE, 'no client certificate');
      await rejectsWithStatus(api.call('Info', {}), grpc.status.UNAVAILABLE, 'plaintext to the TLS port');
    } finally {
      good.close();
      noCert.close();
    }
  });
});

// ---------------------------------------------------------------- reflection

/** One reflection exchange over a ServerReflectionInfo stream of `version`. */
function reflect(port: number, version: 'v1' | 'v1alpha', request: Record<string, unknown>): Promise<Reply> {
  const t = reflectionTypes(version);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<Reply>((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      `/${t.service}/ServerReflectionInfo`,
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    call.on('data', (b: Buffer) => {
      resolve(t.response.toObject(t.response.decode(b)) as Reply);
      call.end();
    });
    call.on('error', reject);
    call.write(Buffer.from(t.request.encode(t.request.fromObject(request)).finish()));
  }).finally(() => client.close());
}

test('reflection lists the API service and serves api.proto; a client built from it calls Publish', async () => {
  await withGrpc({ grpc_api: { reflection: true } }, async ({ srv }) => {
    for (const version of ['v1', 'v1alpha'] as const) {
      const list = await reflect(srv.grpcPort, version, { list_services: '*' });
      assert.deepEqual(list.list_services_response.service.map((s: Reply) => s.name).sort(), [
        API_SERVICE,
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
    }
    const file = await reflect(srv.grpcPort, 'v1', { file_containing_symbol: `${API_SERVICE}.Publish` });
    const [bytesOfFile] = file.file_descriptor_response.file_descriptor_proto as Buffer[];
    const descriptor = await import('protobufjs/ext/descriptor/index.js');
    const FileDescriptorProto = (descriptor.default as unknown as protobuf.Namespace).lookupType('FileDescriptorProto');
    const fd = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytesOfFile!)) as Reply;
    assert.deepEqual([fd.name, fd.package, fd.syntax], ['api.proto', 'centrifugal.centrifugo.api', 'proto3']);
    assert.deepEqual(fd.service[0].method.map((m: Reply) => m.name).sort(), Object.keys(protoRoot.lookupService(API_SERVICE).methods).sort());
    const publishReq = fd.messageType.find((m: Reply) => m.name === 'PublishRequest');
    assert.ok(publishReq.field.some((f: Reply) => f.name === 'skip_history' && f.jsonName === 'skipHistory'), 'snake_case names as in the .proto');
    assert.equal(publishReq.nestedType[0].name, 'TagsEntry');

    // What grpcurl does: a schema from the served descriptor only, then a call with it.
    const root = (protobuf.Root as unknown as { fromDescriptor(d: unknown): protobuf.Root }).fromDescriptor({ file: [FileDescriptorProto.decode(bytesOfFile!)] });
    const Req = root.lookupType('centrifugal.centrifugo.api.PublishRequest');
    const Res = root.lookupType('centrifugal.centrifugo.api.PublishResponse');
    const api = new GrpcApiClient(`127.0.0.1:${srv.grpcPort}`);
    try {
      const answer = await api.raw(`/${API_SERVICE}/Publish`, Buffer.from(Req.encode(Req.fromObject({ channel: 'chat:r', data: json({ via: 'reflection' }) })).finish()));
      assert.deepEqual(Res.toObject(Res.decode(answer), { longs: Number }).result.offset, 1);
    } finally {
      api.close();
    }

    const missing = await reflect(srv.grpcPort, 'v1', { file_containing_symbol: 'no.such.Symbol' });
    assert.equal(missing.error_response.error_code, grpc.status.NOT_FOUND);
    // A service's "method" named like an Object member is no method.
    const proto = await reflect(srv.grpcPort, 'v1', { file_containing_symbol: `${API_SERVICE}.constructor` });
    assert.equal(proto.error_response?.error_code, grpc.status.NOT_FOUND);
    const byName = await reflect(srv.grpcPort, 'v1alpha', { file_by_filename: 'api.proto' });
    assert.deepEqual(byName.file_descriptor_response.file_descriptor_proto, [bytesOfFile]);
  });
});

test('reflection is off by default: the reflection service is UNIMPLEMENTED', async () => {
  await withGrpc({}, async ({ srv }) => {
    await rejectsWithStatus(reflect(srv.grpcPort, 'v1', { list_services: '*' }), grpc.status.UNIMPLEMENTED, 'reflection off');
  });
});
