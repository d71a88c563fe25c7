/**
 * `centrifugo_broker_redis_pub_sub_errors` on a node of the Redis engine, against a private
 * redis-server (so killing and stopping it touches no other test): each failure is counted once
 * under Centrifugo's `error` value, and the node serves again after it. A raw protocol client
 * subscribes, so a failed subscribe is answered once, not retried by an SDK.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis-servers.js';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { scrape, value } from '../helpers/prometheus-scrape.js';
import { apiOk, eventually } from '../helpers/sdk.js';
import { REDIS_PUBSUB_ERRORS, type RedisPubSubError } from '../../src/engine/redis/pubsub-errors.js';
import type { ConfigInput } from '../../src/config/schema.js';

const METRIC = 'centrifugo_broker_redis_pub_sub_errors';
const prefix = uniquePrefix('pubsub-errors');

let redis: RedisServer;
let srv: TestServer;
let client: RawClient;
let nextId = 10;

before(async () => {
  redis = await startRedis({ label: 'pubsub-errors' });
  srv = await startServer({
    engine: { type: 'redis', redis: { address: [redis.url], prefix, io_timeout: '1s' } },
    prometheus: { enabled: true },
    channel: { without_namespace: { allow_subscribe_for_client: true } },
  } as ConfigInput);
  client = await RawClient.open(srv.wsUrl);
  const reply = await client.connect(await connToken('erin'));
  assert.ok(reply.connect, JSON.stringify(reply));
});

after(async () => {
  client?.close();
  await srv?.stop();
  await redis?.stop();
});

/** Every `error` value's count; absent series read 0. */
async function counts(): Promise<Record<RedisPubSubError, number>> {
  const fs = await scrape(srv);
  return Object.fromEntries(REDIS_PUBSUB_ERRORS.map((e) => [e, value(fs, METRIC, { error: e }) ?? 0])) as Record<RedisPubSubError, number>;
}

/** What was counted since `at` (an earlier `counts()`), so each test reads only its own. */
async function countsSince(at: Record<RedisPubSubError, number>): Promise<Record<RedisPubSubError, number>> {
  const now = await counts();
  return Object.fromEntries(REDIS_PUBSUB_ERRORS.map((e) => [e, now[e] - at[e]])) as Record<RedisPubSubError, number>;
}

function expected(over: Partial<Record<RedisPubSubError, number>>): Record<RedisPubSubError, number> {
  return { connection: 0, subscribe_channel: 0, subscribe_control_channel: 0, handle_client_message: 0, handle_control_message: 0, ...over };
}

/** Sends a subscribe and returns its reply. */
async function subscribe(channel: string) {
  const id = nextId++;
  client.send({ id, subscribe: { channel } });
  return client.next((m) => m.id === id, 10_000);
}

/** Publishes `data` through the API and waits for the client to get it. */
async function publishAndReceive(channel: string, n: number): Promise<void> {
  await apiOk(srv, 'publish', { channel, data: { n } });
  await client.next((m) => m.push?.channel === channel && m.push.pub?.data?.n === n, 10_000);
}

/**
 * Whether the node logged that `channel`'s unsubscribe cleanup failed: at error level, or at
 * debug when another such failure was logged in the last 10 s (util/rate-log.ts).
 */
function cleanupFailed(channel: string): boolean {
  return [...srv.errors, ...srv.debug].some((e) => {
    const line = JSON.stringify(e);
    return line.includes('unsubscribe cleanup failed') && line.includes(`"channel":"${channel}"`);
  });
}

async function healthStatus(): Promise<number> {
  return (await fetch(`${srv.httpUrl}/health`)).status;
}

/** Sends an unsubscribe and asserts its reply is not an error (the node answers before Redis does). */
async function unsubscribe(channel: string): Promise<void> {
  const id = nextId++;
  client.send({ id, unsubscribe: { channel } });
  const left = await client.next((m) => m.id === id, 10_000);
  assert.equal(left.error, undefined, JSON.stringify(left));
}

/**
 * Stalls Redis (SIGSTOP), runs `during`, kills Redis with whatever is still unanswered, starts it
 * again on its port and waits for the node's /health to answer 200.
 */
async function stallThenRestart(during: () => Promise<void>): Promise<void> {
  await redis.pause();
  try {
    await during();
    await redis.kill();
  } finally {
    await redis.restart();
  }
  await eventually(async () => (await healthStatus()) === 200, '/health to answer 200 after the restart');
}

/** `PUBSUB NUMSUB` of a client channel's Redis channel: [name, count]. */
async function numsub(channel: string): Promise<unknown> {
  return redis.command(['PUBSUB', 'NUMSUB', `${prefix}.client.${channel}`]);
}

/**
 * After a restart: `channel` is not subscribed in Redis, and subscribing it again works. A
 * SUBSCRIBE of `marker` made first follows, on the same PUB/SUB connection, the node's UNSUBSCRIBE
 * of what it left, so once `marker`'s publication arrives Redis has applied both.
 */
async function assertLeftThenBack(channel: string, marker: string, n: number, why: string): Promise<void> {
  const key = `${prefix}.client.${channel}`;
  const other = await subscribe(marker);
  assert.ok(other.subscribe, JSON.stringify(other));
  await publishAndReceive(marker, n);
  assert.deepEqual(await numsub(channel), [key, 0], why);
  const back = await subscribe(channel);
  assert.ok(back.subscribe, JSON.stringify(back));
  assert.deepEqual(await numsub(channel), [key, 1]);
  await publishAndReceive(channel, n + 1);
}

test('undecodable messages on a client channel and on the control channel are dropped and counted (handle_client_message, handle_control_message); the next publication arrives', async () => {
  const at = await counts();
  const reply = await subscribe('news');
  assert.ok(reply.subscribe, JSON.stringify(reply));
  // A framing no node writes, and bytes no control message decodes from. Published before the
  // API's publication, through the same PUB/SUB connection, so the node has read them when that
  // publication arrives.
  assert.equal(await redis.command(['PUBLISH', `${prefix}.control`, 'not a control message']), 1);
  assert.equal(await redis.command(['PUBLISH', `${prefix}.client.news`, '__x__not a publication']), 1);
  await publishAndReceive('news', 1);
  assert.deepEqual(await countsSince(at), expected({ handle_client_message: 1, handle_control_message: 1 }));
});

test('Redis closing the PUB/SUB connection counts one connection failure; the node resubscribes and delivers again', async () => {
  const reply = await subscribe('after-kill');
  assert.ok(reply.subscribe, JSON.stringify(reply));
  const at = await counts();
  const killed = Number(await redis.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']));
  assert.ok(killed >= 1, `killed ${killed}`);
  await eventually(async () => (await countsSince(at)).connection === 1, 'the failure to be counted');
  // Health turns good once the connection is back and its channels are subscribed again.
  await eventually(async () => (await healthStatus()) === 200, '/health to answer 200 again');
  await publishAndReceive('after-kill', 2);
  assert.deepEqual(await countsSince(at), expected({ connection: 1 }));
});

test('Redis stalled: a subscribe fails with error 100 and counts as subscribe_channel, the stall as one connection failure; both work again after', async () => {
  const at = await counts();
  await redis.pause();
  try {
    const reply = await subscribe('during-stall');
    assert.equal(reply.error?.code, 100, JSON.stringify(reply));
    await eventually(async () => (await countsSince(at)).connection === 1, 'the stalled PUB/SUB connection to be counted');
  } finally {
    await redis.resume();
  }
  await eventually(async () => (await healthStatus()) === 200, '/health to answer 200 again');
  assert.deepEqual(await countsSince(at), expected({ connection: 1, subscribe_channel: 1 }));
  // The SUBSCRIBE that timed out stayed queued, and the node's UNSUBSCRIBE after it: once Redis
  // answers again, the channel is not left subscribed.
  const stalled = async (): Promise<number> => Number(((await numsub('during-stall')) as unknown[])[1]);
  await eventually(async () => (await stalled()) === 0, 'the failed subscribe to be undone in Redis');
  const again = await subscribe('during-stall');
  assert.ok(again.subscribe, JSON.stringify(again));
  assert.equal(await stalled(), 1);
  await publishAndReceive('during-stall', 3);
});

test('a subscribe that timed out in a stall, whose Redis then died, leaves nothing behind: the channel subscribes anew after the restart', async () => {
  const channel = 'lost-in-stall';
  await stallThenRestart(async () => {
    const reply = await subscribe(channel);
    assert.equal(reply.error?.code, 100, JSON.stringify(reply));
    // The node's UNSUBSCRIBE is queued behind the SUBSCRIBE once its cleanup logs that it timed out.
    await eventually(async () => cleanupFailed(channel), 'the UNSUBSCRIBE to time out too');
    // Both die with the connection: node-redis never held the channel.
  });
  const again = await subscribe(channel);
  assert.ok(again.subscribe, JSON.stringify(again));
  assert.deepEqual(await numsub(channel), [`${prefix}.client.${channel}`, 1], 'subscribed in Redis, not only in the pool\'s books');
  await publishAndReceive(channel, 4);
});

test('an unsubscribe that timed out in a stall, whose Redis then died: the channel node-redis subscribes again as it reconnects is unsubscribed, and a later subscribe takes it back', async () => {
  const channel = 'left-in-stall';
  const reply = await subscribe(channel);
  assert.ok(reply.subscribe, JSON.stringify(reply));
  assert.deepEqual(await numsub(channel), [`${prefix}.client.${channel}`, 1]);
  await stallThenRestart(async () => {
    await unsubscribe(channel);
    await eventually(async () => cleanupFailed(channel), 'the UNSUBSCRIBE to time out');
    // The connection dies with the UNSUBSCRIBE unanswered: node-redis still holds the channel and
    // subscribes it again on reconnecting.
  });
  await assertLeftThenBack(channel, 'after-leftover', 5, 'the channel the node left is not subscribed in Redis');
});

test('an unsubscribe and a subscribe again of the same channel, both unanswered in a stall, then Redis killed and restarted: nothing is left subscribed, and the channel subscribes anew', async () => {
  const channel = 'flip-in-stall';
  const first = await subscribe(channel);
  assert.ok(first.subscribe, JSON.stringify(first));
  await stallThenRestart(async () => {
    await unsubscribe(channel);
    // The node's SUBSCRIBE goes after its UNSUBSCRIBE (it waits for that to time out), on the
    // same connection; it times out too, and the client gets error 100.
    const again = await subscribe(channel);
    assert.equal(again.error?.code, 100, JSON.stringify(again));
  });
  await assertLeftThenBack(channel, 'after-flip', 7, 'the channel nobody holds is not subscribed in Redis');
});
