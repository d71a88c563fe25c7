/**
 * Centrifugo's layout in Redis, seen from outside (issue #17 item 2): a stream and meta written by
 * hand in Centrifugo's format read back through Rotor's history API, and what Rotor writes is what
 * Centrifugo writes (key names, meta fields, stream entry IDs and the `d` field, PUB/SUB framing).
 * Protobuf bytes are assembled by hand here, from the field numbers of Centrifugo's client.proto,
 * so the test does not check Rotor's encoder against itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { wrapClient } from '../helpers/sdk.js';
import { RawClient } from '../helpers/raw-ws.js';
import { deletePrefix, redisBrokerOptions, redisUrl, testPrefix } from '../contract/redis-engines.js';

const prefix = testPrefix('layout');
let srv: TestServer;
let redis: Redis;

/** A protobuf length-delimited field: tag, varint length, bytes (lengths < 128 only). */
function field(no: number, bytes: Buffer): Buffer {
  assert.ok(bytes.length < 128);
  return Buffer.concat([Buffer.from([(no << 3) | 2, bytes.length]), bytes]);
}

/** Publication{data=4, info=5 ClientInfo{user=1, client=2}}. */
function publication(data: string, user?: string): Buffer {
  const parts = [field(4, Buffer.from(data))];
  if (user !== undefined) parts.push(field(5, Buffer.concat([field(1, Buffer.from(user)), field(2, Buffer.from(`c-${user}`))])));
  return Buffer.concat(parts);
}

/** A varint field: Publication.delta=8 (bool), Publication.time=9 (int64 ms). */
function varintField(no: number, value: number): Buffer {
  const out = [no << 3];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** As Centrifugo writes every record: with `time`, and on a bare one (no history) `delta` when asked. */
const TIME = 1_700_000_000_000;

before(async () => {
  const url = new URL(redisUrl());
  redis = new Redis({ host: url.hostname, port: Number(url.port || 6379) });
  srv = await startServer({
    engine: { type: 'redis', redis: { address: [redisUrl()], prefix } },
    channel: {
      namespaces: [
        { name: 'h', history_size: 10, history_ttl: '60s', allow_history_for_client: true, allowed_delta_types: ['fossil'] },
        { name: 'jl', allow_subscribe_for_client: true, join_leave: true, force_push_join_leave: true },
        { name: 'd', allow_subscribe_for_client: true, allowed_delta_types: ['fossil'] },
      ],
    },
  });
});

after(async () => {
  await srv?.stop();
  await deletePrefix(redisUrl(), prefix);
  redis?.disconnect();
});

test('a stream written in Centrifugo\'s format reads back through the history API', async () => {
  const ch = 'h:written-by-centrifugo';
  await redis.hset(`${prefix}.stream.meta.${ch}`, 'e', 'AbCdEfGh', 's', '3');
  await redis.xadd(`${prefix}.stream.${ch}`, '1', 'd', publication('{"n":1}', 'alice'));
  await redis.xadd(`${prefix}.stream.${ch}`, '2', 'd', publication('{"n":2}'));
  await redis.xadd(`${prefix}.stream.${ch}`, '3', 'd', publication('{"n":3}'));
  const res = await srv.api('history', { channel: ch, limit: -1 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.result.epoch, 'AbCdEfGh');
  assert.equal(res.body.result.offset, 3);
  assert.deepEqual(
    res.body.result.publications.map((p: { data: unknown; offset: number }) => [p.data, p.offset]),
    [[{ n: 1 }, 1], [{ n: 2 }, 2], [{ n: 3 }, 3]],
  );
  assert.equal(res.body.result.publications[0].info.user, 'alice');
  // Rotor appends after Centrifugo's top, in the same epoch.
  const pub = await srv.api('publish', { channel: ch, data: { n: 4 } });
  assert.deepEqual(pub.body.result, { offset: 4, epoch: 'AbCdEfGh' });
});

test('what Rotor writes is Centrifugo\'s layout: meta fields, entry IDs, the d field, PUB/SUB framing', async () => {
  const ch = 'h:written-by-rotor';
  const sub = new Redis({ host: new URL(redisUrl()).hostname, port: Number(new URL(redisUrl()).port || 6379) });
  try {
    const got = new Promise<Buffer>((resolve) => sub.on('messageBuffer', (_c: Buffer, m: Buffer) => resolve(m)));
    await sub.subscribe(`${prefix}.client.${ch}`);
    // Rotor publishes to P.client.CH only for channels some node subscribed to, but a PUBLISH
    // reaches any Redis subscriber: this raw one stands in for a Centrifugo node.
    const res = await srv.api('publish', { channel: ch, data: { hello: 'world' } });
    assert.equal(res.status, 200);
    const { offset, epoch } = res.body.result as { offset: number; epoch: string };
    assert.equal(offset, 1);
    assert.match(epoch, /^[a-zA-Z]{8}$/);
    const meta = await redis.hgetall(`${prefix}.stream.meta.${ch}`);
    assert.equal(meta.e, epoch);
    assert.equal(meta.s, '1');
    const entries = await redis.xrangeBuffer(`${prefix}.stream.${ch}`, '-', '+');
    assert.equal(entries.length, 1);
    const [id, fields] = entries[0] as [Buffer, Buffer[]];
    assert.equal(id.toString(), '1-0');
    assert.equal(fields[0]?.toString(), 'd');
    assert.deepEqual(fields[1], publication('{"hello":"world"}'));
    const msg = await got;
    assert.equal(msg.toString('latin1', 0, `__p1:1:${epoch}__`.length), `__p1:1:${epoch}__`);
    assert.deepEqual(msg.subarray(`__p1:1:${epoch}__`.length), publication('{"hello":"world"}'));
    const ttl = await redis.pttl(`${prefix}.stream.${ch}`);
    assert.ok(ttl > 0 && ttl <= 60_000, `stream TTL ${ttl}`);
  } finally {
    sub.disconnect();
  }
});

/** A raw Redis subscriber on `channel`: its messages, as they arrive, in order. */
async function rawSubscriber(channel: string): Promise<{ next(): Promise<Buffer>; close(): void }> {
  const url = new URL(redisUrl());
  const sub = new Redis({ host: url.hostname, port: Number(url.port || 6379) });
  const queue: Buffer[] = [];
  const waiting: Array<(m: Buffer) => void> = [];
  sub.on('messageBuffer', (_c: Buffer, m: Buffer) => {
    const w = waiting.shift();
    if (w !== undefined) w(m);
    else queue.push(m);
  });
  await sub.subscribe(channel);
  return {
    next: () => {
      const m = queue.shift();
      return m !== undefined ? Promise.resolve(m) : new Promise<Buffer>((resolve) => waiting.push(resolve));
    },
    close: () => sub.disconnect(),
  };
}

test("join and leave go out as Centrifugo's __j__ and __l__ frames around a protobuf ClientInfo", async () => {
  const ch = 'jl:room';
  const raw = await rawSubscriber(`${prefix}.client.${ch}`);
  const sdk = new Centrifuge(srv.wsUrl, { websocket: WebSocket, getToken: () => connToken('bob') });
  const c = wrapClient(sdk);
  try {
    const { client } = await c.connect();
    const s = await c.subscribe(ch);
    // ClientInfo{user=1, client=2}: the bytes Centrifugo's client.proto gives.
    const info = Buffer.concat([field(1, Buffer.from('bob')), field(2, Buffer.from(client))]);
    const join = await raw.next();
    assert.equal(join.toString('latin1', 0, 5), '__j__');
    assert.deepEqual(join.subarray(5), info);
    s.sub.unsubscribe();
    const leave = await raw.next();
    assert.equal(leave.toString('latin1', 0, 5), '__l__');
    assert.deepEqual(leave.subarray(5), info);
  } finally {
    sdk.disconnect();
    raw.close();
  }
});

test("a delta publication goes out as __d1:OFFSET:EPOCH:LEN:PREV:LEN:CUR, with the previous entry's bytes", async () => {
  const ch = 'h:delta';
  const raw = await rawSubscriber(`${prefix}.client.${ch}`);
  try {
    const first = await srv.api('publish', { channel: ch, data: { v: 'one' } });
    assert.equal(first.status, 200);
    const epoch = first.body.result.epoch as string;
    assert.equal((await raw.next()).toString('latin1', 0, 5), '__p1:', 'a publication without delta is a plain __p1 frame');
    const second = await srv.api('publish', { channel: ch, data: { v: 'two' }, delta: true });
    assert.deepEqual(second.body.result, { offset: 2, epoch });
    const prev = publication('{"v":"one"}');
    const cur = publication('{"v":"two"}');
    const head = `__d1:2:${epoch}:${prev.length}:`;
    const expected = Buffer.concat([Buffer.from(head, 'latin1'), prev, Buffer.from(`:${cur.length}:`, 'latin1'), cur]);
    assert.deepEqual(await raw.next(), expected);
  } finally {
    raw.close();
  }
});

test("an idempotent publish keeps its result in P.result.CH.KEY (e, s); a versioned one keeps v and ve in the meta", async () => {
  const ch = 'h:keys';
  const res = await srv.api('publish', { channel: ch, data: { n: 1 }, idempotency_key: 'order-17' });
  assert.equal(res.status, 200);
  const { offset, epoch } = res.body.result as { offset: number; epoch: string };
  assert.deepEqual(await redis.hgetall(`${prefix}.result.${ch}.order-17`), { e: epoch, s: String(offset) });
  const ttl = await redis.pttl(`${prefix}.result.${ch}.order-17`);
  assert.ok(ttl > 0 && ttl <= 300_000, `result TTL ${ttl} ms: Centrifugo's default 300 s`);
  const again = await srv.api('publish', { channel: ch, data: { n: 1 }, idempotency_key: 'order-17' });
  assert.deepEqual(again.body.result, { offset, epoch }, 'the same key answers the stored result');

  await srv.api('publish', { channel: ch, data: { n: 2 }, version: 7, version_epoch: 've-1' });
  const meta = await redis.hgetall(`${prefix}.stream.meta.${ch}`);
  assert.equal(meta.v, '7');
  assert.equal(meta.ve, 've-1');
  assert.equal(meta.s, '2');
});

test("the node listens on Centrifugo's control channels: P.control and P.node.ID", async () => {
  const info = await srv.api('info', {});
  const uid = info.body.result.nodes[0].uid as string;
  const channels = (await redis.pubsub('CHANNELS', `${prefix}.*`)) as string[];
  assert.ok(channels.includes(`${prefix}.control`), `${channels.join(', ')} has ${prefix}.control`);
  assert.ok(channels.includes(`${prefix}.node.${uid}`), `${channels.join(', ')} has ${prefix}.node.${uid}`);
});

test('/health is 200 while Redis answers', async () => {
  const res = await fetch(`${srv.httpUrl}/health`);
  assert.equal(res.status, 200);
});

test("Centrifugo's records carry time, and a bare one delta: a client gets neither, and a delta subscriber gets such publications in full (without history there is nothing to diff against)", async () => {
  const ch = 'h:timed';
  await redis.hset(`${prefix}.stream.meta.${ch}`, 'e', 'TiMeDeP', 's', '1');
  await redis.xadd(`${prefix}.stream.${ch}`, '1', 'd', Buffer.concat([publication('{"n":1}'), varintField(9, TIME)]));
  const hist = await srv.api('history', { channel: ch, limit: -1 });
  assert.deepEqual(hist.body.result.publications, [{ data: { n: 1 }, offset: 1 }], 'no time in history');

  const live = 'd:bare';
  const raw = await RawClient.open(srv.wsUrl);
  const sdk = new Centrifuge(srv.wsUrl, { websocket: WebSocket, getToken: () => connToken('dora') });
  const c = wrapClient(sdk);
  try {
    await raw.connect(await connToken('rita'));
    raw.send({ id: 2, subscribe: { channel: live } });
    await raw.next((m) => m.id === 2);
    await c.connect();
    const s = await c.subscribe(live, { delta: 'fossil' });
    const bare = (text: string): Buffer => Buffer.concat([publication(text), varintField(8, 1), varintField(9, TIME)]);
    // As a Centrifugo node publishes into a channel without history, delta asked for.
    await redis.publish(`${prefix}.client.${live}`, bare('{"v":"one, the first of two long enough to diff"}'));
    await redis.publish(`${prefix}.client.${live}`, bare('{"v":"two, the first of two long enough to diff"}'));
    const pushes = [await raw.next((m) => m.push?.pub !== undefined), await raw.next((m) => m.push?.pub?.data?.v?.startsWith('two') === true)];
    for (const p of pushes) assert.deepEqual(Object.keys(p.push.pub).sort(), ['data'], `a plain subscriber gets data only: ${JSON.stringify(p)}`);
    const got = [await s.events.next('publication'), await s.events.next('publication')];
    // Were `delta: true` passed on with full data, the SDK would apply it as a patch and fail.
    assert.deepEqual(got.map((p) => p.data.v), ['one, the first of two long enough to diff', 'two, the first of two long enough to diff'], 'the delta subscriber decodes both');
  } finally {
    sdk.disconnect();
    raw.close();
  }
});

test('a stream whose meta was lost (evicted) while the stream stayed reads as empty in the new epoch, forward and reverse', async () => {
  const ch = 'h:meta-evicted';
  for (const id of ['1', '2', '3']) await redis.xadd(`${prefix}.stream.${ch}`, id, 'd', publication(`{"old":${id}}`));
  const reverse = await srv.api('history', { channel: ch, limit: 1, reverse: true });
  assert.equal(reverse.status, 200);
  assert.deepEqual([reverse.body.result.offset ?? 0, reverse.body.result.publications ?? []], [0, []]);
  const forward = await srv.api('history', { channel: ch, limit: -1 });
  assert.deepEqual([forward.body.result.offset ?? 0, forward.body.result.publications ?? []], [0, []]);
  assert.equal(forward.body.result.epoch, reverse.body.result.epoch, 'one new epoch');
  const next = await srv.api('publish', { channel: ch, data: { n: 1 } });
  assert.deepEqual(next.body.result, { offset: 1, epoch: reverse.body.result.epoch });
  const after = await srv.api('history', { channel: ch, limit: -1 });
  assert.deepEqual(after.body.result.publications.map((p: { data: unknown }) => p.data), [{ n: 1 }], 'the new epoch starts a new stream');
});

test('an idempotency result Centrifugo stored without history (e only) suppresses a publish with history, at offset 0, storing nothing', async () => {
  const ch = 'h:idem-centrifugo';
  await redis.hset(`${prefix}.result.${ch}.k-1`, 'e', '');
  const { RedisBroker } = await import('../../src/engine/redis/broker.js');
  const broker = new RedisBroker(await redisBrokerOptions(prefix, [redisUrl()]));
  await broker.run({ handlePublication() {}, handleJoin() {}, handleLeave() {}, handleControl: () => true }, testPrefix('node'));
  try {
    const res = await broker.publish(ch, Buffer.from('{}'), { history: { size: 10, ttlMs: 60_000, metaTtlMs: 600_000 }, idempotencyKey: 'k-1' });
    assert.deepEqual(res, { position: { offset: 0, epoch: '' }, suppressed: true });
    assert.equal(await redis.exists(`${prefix}.stream.${ch}`), 0);
  } finally {
    await broker.close();
  }
});

test('offsets of 10^14 and more go into entry IDs, frames and answers exactly', async () => {
  const ch = 'h:big-offsets';
  const top = 100_000_000_000_000;
  await redis.hset(`${prefix}.stream.meta.${ch}`, 'e', 'BigEpoch', 's', String(top));
  const raw = await rawSubscriber(`${prefix}.client.${ch}`);
  try {
    const res = await srv.api('publish', { channel: ch, data: { n: 1 } });
    assert.deepEqual(res.body.result, { offset: top + 1, epoch: 'BigEpoch' });
    const head = `__p1:${top + 1}:BigEpoch__`;
    assert.equal((await raw.next()).toString('latin1', 0, head.length), head);
    const entries = await redis.xrange(`${prefix}.stream.${ch}`, '-', '+');
    assert.deepEqual(entries.map(([id]) => id), [`${top + 1}-0`]);
    const hist = await srv.api('history', { channel: ch, limit: -1 });
    assert.deepEqual(hist.body.result.publications.map((p: { offset: number }) => p.offset), [top + 1]);
  } finally {
    raw.close();
  }
});

test('sharded_pub_sub on a server that is not a Cluster says it has no effect, and PUB/SUB works as ever', async () => {
  const { RedisBroker } = await import('../../src/engine/redis/broker.js');
  const warnings: unknown[] = [];
  const noop = (): void => {};
  const log = { trace: noop, debug: noop, info: noop, warn: (...a: unknown[]) => void warnings.push(a), error: noop };
  const got: string[] = [];
  const broker = new RedisBroker(await redisBrokerOptions(testPrefix('sharded-plain'), [redisUrl()], true), log);
  await broker.run({ handlePublication: (ch) => void got.push(ch), handleJoin() {}, handleLeave() {}, handleControl: () => true }, testPrefix('node'));
  try {
    assert.deepEqual(warnings.map((w) => (w as [unknown, string])[1]), ['redis: sharded_pub_sub has no effect here: not a Redis Cluster']);
    await broker.subscribe('plain');
    await broker.publish('plain', Buffer.from('x'), {});
    for (let i = 0; got.length === 0; i++) {
      assert.ok(i < 500, 'the publication to arrive');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(got, ['plain']);
  } finally {
    await broker.close();
  }
});
