/**
 * Centrifugo v1's Redis API queue (`redis_api_queue`, engine/redis/api-queue.ts) on the real Redis:
 * commands RPUSHed to `<prefix>.api` and its shard lists reach SDK subscribers; a malformed one is
 * dropped without stopping the rest; and a node killed (SIGKILL) while thousands of commands are
 * queued loses none and runs none twice: another node gives back what the dead one had taken, and
 * the publications in the channel's history are exactly the commands pushed, once each, in order
 * but for the dead node's batch in hand, which runs once its liveness has lapsed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { API_KEY, connToken, startServer } from '../helpers/server.js';
import { SdkPool, within, eventually } from '../helpers/sdk.js';
import { CliProcess, freePort, tempDir } from '../helpers/server-process.js';
import { deletePrefix, redisUrl, testPrefix } from '../contract/redis-engines.js';
import { LIVENESS_TTL_MS } from '../../src/engine/redis/api-queue.js';
import type { ConfigInput } from '../../src/config/schema.js';

const CHANNEL = { namespaces: [{ name: 'public', allow_subscribe_for_client: true, history_size: 5000, history_ttl: '300s' }] };
const config = (prefix: string, numShards = 0) =>
  ({ engine: { type: 'redis', redis: { address: [redisUrl()], prefix } }, redis_api_queue: { enabled: true, num_shards: numShards }, channel: CHANNEL }) as ConfigInput;
const publish = (n: unknown, channel = 'public:q') => JSON.stringify({ method: 'publish', params: { channel, data: { n } } });

test('redis api queue: commands pushed to the main list and a shard list reach a subscriber; a malformed one is dropped, the rest run', async () => {
  const prefix = testPrefix('apiq');
  const srv = await startServer(config(prefix, 2));
  const sdk = new SdkPool(srv);
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
  try {
    const c = sdk.client({ token: await connToken('alice') });
    await within(c.connect(), 'connected');
    const sub = await within(c.subscribe('public:q'), 'subscribed');
    const seen: unknown[] = [];
    const all = new Promise<void>((resolve) => {
      sub.sub.on('publication', (p: { data: { n: unknown } }) => {
        seen.push(p.data.n);
        if (seen.length === 4) resolve();
      });
    });
    await redis.rpush(`${prefix}.api`, publish(1), 'not json', '{"method":"nope","params":{}}', publish(2));
    await redis.rpush(`${prefix}.api.1`, JSON.stringify([{ method: 'publish', params: { channel: 'public:q', data: { n: 3 } } }, { method: 'publish', params: { channel: 'public:q', data: { n: 4 } } }]));
    await within(all, 'four publications');
    assert.deepEqual(seen.filter((n) => n === 1 || n === 2), [1, 2], 'one list keeps its order');
    assert.deepEqual(seen.filter((n) => n === 3 || n === 4), [3, 4], 'an array runs in order');
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
    await eventually(async () => (await redis.llen(`${prefix}.api`)) + (await redis.llen(`${prefix}.api.1`)) === 0, 'the lists drained');
    assert.ok(srv.errors.length === 0, JSON.stringify(srv.errors));
  } finally {
    sdk.closeAll();
    redis.disconnect();
    await srv.stop();
    await deletePrefix(redisUrl(), prefix);
  }
});

test('redis api queue: a node killed with commands queued and in hand loses none and runs none twice', async () => {
  const prefix = testPrefix('apiq-kill');
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
  const tmp = tempDir();
  const port = await freePort();
  const N = 3000;
  const a = CliProcess.start(['-c', tmp.file('a.json', { ...config(prefix), http_server: { address: '127.0.0.1', port }, http_api: { key: API_KEY } })], { engineEnv: false });
  let b: Awaited<ReturnType<typeof startServer>> | undefined;
  const history = async (url: string): Promise<number[]> => {
    const r = await fetch(`${url}/api/history`, { method: 'POST', headers: { Authorization: `apikey ${API_KEY}` }, body: JSON.stringify({ channel: 'public:q', limit: N + 10 }) });
    const body = (await r.json()) as { result?: { publications?: { data: { n: number } }[] } };
    return (body.result?.publications ?? []).map((p) => p.data.n);
  };
  try {
    await a.waitForLine((l) => typeof l.json?.message === 'string' && l.json.message.startsWith('HTTP API:'), 'node A listening');
    for (let i = 0; i < N; i += 500) await redis.rpush(`${prefix}.api`, ...Array.from({ length: 500 }, (_, j) => publish(i + j)));
    // Kill A in the middle of the work: it has published some, taken more, left the rest queued.
    await eventually(async () => (await history(`http://127.0.0.1:${port}`)).length >= 200, 'node A to publish a few hundred', 15_000);
    a.signal('SIGKILL');
    await a.exited;
    const inHand = (await redis.keys(`${prefix}.api.processing.*`)).length;
    assert.equal((await history(`http://127.0.0.1:${port}`).catch(() => [])).length, 0, 'A is gone');

    // B gives back what A had taken once A's liveness lapses, and finishes the queue.
    b = await startServer(config(prefix));
    await eventually(async () => (await history(b!.httpUrl)).length === N, `all ${N} publications (A had ${inHand} list(s) in hand)`, LIVENESS_TTL_MS + 30_000);
    const got = await history(b.httpUrl);
    assert.deepEqual([...got].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i), 'each command published once');
    // Order is kept except for the commands A had in hand: given back after A's liveness lapsed,
    // they ran after the ones B had taken meanwhile (at most one batch).
    const displaced = got.filter((n, i) => i > 0 && n < got[i - 1]!).length + got.filter((n, i) => i + 1 < got.length && n > got[i + 1]!).length;
    assert.ok(displaced <= 2, `one block out of place at most (${displaced} boundaries)`);
    assert.deepEqual(await redis.keys(`${prefix}.api.processing.*`), [], 'no command left in hand');
    assert.equal(await redis.llen(`${prefix}.api`), 0);
    assert.deepEqual(await redis.hkeys(`${prefix}.api.consumers`), [b.app.node.options.nodeId], 'A was swept from the consumers');
  } finally {
    await a.kill();
    await b?.stop();
    redis.disconnect();
    tmp.cleanup();
    await deletePrefix(redisUrl(), prefix);
  }
});

test('redis api queue: a command a dead node had published but not removed is given back and not published again; one it had not run is run once', async () => {
  const prefix = testPrefix('apiq-dup');
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
  const srv = await startServer(config(prefix));
  const history = async (channel: string) =>
    ((await srv.api('history', { channel, limit: 10 }, { Authorization: `apikey ${API_KEY}` })).body.result.publications as { data: unknown }[]).map((p) => p.data);
  try {
    // What a node that died had done: published command #7001 (under its tag) but not removed it,
    // and taken #7002 without running it. Its liveness key is gone; it is still a consumer.
    assert.equal((await srv.api('publish', { channel: 'public:dup', data: { n: 'done' }, idempotency_key: 'redis_api:7001' }, { Authorization: `apikey ${API_KEY}` })).status, 200);
    const dead = `${prefix}.api.processing.dead-node`;
    await redis.rpush(dead, `#7001\n${publish('done', 'public:dup')}`, `#7002\n${publish('pending', 'public:dup')}`);
    await redis.hset(`${prefix}.api.consumers`, 'dead-node', '0');
    await eventually(async () => (await history('public:dup')).length === 2, 'the given-back commands run', 15_000);
    assert.deepEqual(await history('public:dup'), [{ n: 'done' }, { n: 'pending' }], 'each published once');
    assert.equal(await redis.llen(dead), 0);
    assert.equal(await redis.hexists(`${prefix}.api.consumers`, 'dead-node'), 0);
  } finally {
    redis.disconnect();
    await srv.stop();
    await deletePrefix(redisUrl(), prefix);
  }
});
