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
import { startServer, type TestServer } from '../helpers/server.js';
import { deletePrefix, redisUrl, testPrefix } from '../contract/redis-engines.js';

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

before(async () => {
  const url = new URL(redisUrl());
  redis = new Redis({ host: url.hostname, port: Number(url.port || 6379) });
  srv = await startServer({
    engine: { type: 'redis', redis: { address: [redisUrl()], prefix } },
    channel: { namespaces: [{ name: 'h', history_size: 10, history_ttl: '60s', allow_history_for_client: true }] },
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

test('/health is 200 while Redis answers', async () => {
  const res = await fetch(`${srv.httpUrl}/health`);
  assert.equal(res.status, 200);
});
