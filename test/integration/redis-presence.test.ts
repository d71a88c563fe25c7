/**
 * The Redis presence manager against real Redis: TTL expiry and refresh, the user mapping across
 * connections and nodes, Centrifugo's key layout in both directions (what Rotor writes, what a
 * Centrifugo node wrote), and sharding over two redis-server processes. The contract suite
 * (test/contract) covers the engine-independent semantics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisPresenceManager } from '../../src/engine/redis/presence.js';
import { shardIndex } from '../../src/engine/redis/hash.js';
import { decodeClientInfoRecord, encodeClientInfoRecord } from '../../src/protocol/protobuf/records.js';
import type { ClientInfo } from '../../src/protocol/types.js';
import { deletePrefix, redisUrl, testPrefix } from '../contract/redis-engines.js';
import { redisPresenceOptions, type RedisPresenceSetup } from '../contract/redis-presence.js';
import { startShards, stopAll, type RedisServer } from '../helpers/redis-servers.js';
import { until } from '../helpers/wait.js';

const CH = 'chat:room';
const SHORT_TTL_MS = 300;
const info = (user: string, client: string, chanInfo?: string): ClientInfo =>
  chanInfo === undefined ? { user, client } : { user, client, chanInfo: new TextEncoder().encode(chanInfo) };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Centrifugo's four presence key names of CH under `prefix` (standalone Redis: no hash tag). */
const keysOf = (prefix: string) => ({
  data: `${prefix}.presence.data.${CH}`,
  expire: `${prefix}.presence.expire.${CH}`,
  userClients: `${prefix}.presence.user.clients.${CH}`,
  userExpire: `${prefix}.presence.user.expire.${CH}`,
});

let raw: Redis;
const opened: RedisPresenceManager[] = [];
const prefixes: string[] = [];

async function manager(prefix: string, setup: RedisPresenceSetup, urls?: readonly string[]): Promise<RedisPresenceManager> {
  const m = await RedisPresenceManager.open(await redisPresenceOptions(prefix, setup, urls));
  opened.push(m);
  return m;
}

function newPrefix(): string {
  const p = testPrefix('presence-it');
  prefixes.push(p);
  return p;
}

/** Redis's clock in seconds (the clock presence scores are written in). */
async function redisNow(): Promise<number> {
  const [s, us] = await raw.time();
  return Number(s) + Number(us) / 1e6;
}

before(async () => {
  const u = new URL(redisUrl());
  raw = new Redis({ host: u.hostname, port: Number(u.port || 6379), lazyConnect: true, maxRetriesPerRequest: 0 });
  await raw.connect();
});

after(async () => {
  await Promise.all(opened.map((m) => m.close()));
  for (const p of prefixes) await deletePrefix(redisUrl(), p);
  raw.disconnect();
});

describe('Redis presence: TTL', () => {
  test('an entry not refreshed is gone after the TTL, and so are the channel keys', async () => {
    const prefix = newPrefix();
    const k = keysOf(prefix);
    const p = await manager(prefix, { presenceTtlMs: SHORT_TTL_MS });
    await p.addPresence(CH, 'c1', info('u1', 'c1'));
    const pttl = await raw.pttl(k.data);
    assert.ok(pttl > 0 && pttl <= SHORT_TTL_MS, `data key PTTL ${pttl} should be in (0, ${SHORT_TTL_MS}] ms`);
    assert.deepEqual(await p.presence(CH), { c1: info('u1', 'c1') });
    await sleep(2 * SHORT_TTL_MS);
    assert.equal(await raw.exists(k.data, k.expire), 0);
    assert.deepEqual(await p.presence(CH), {});
    assert.deepEqual(await p.presenceStats(CH), { numClients: 0, numUsers: 0 });
  });

  test('a refreshed entry stays while an entry added with it expires', async () => {
    const prefix = newPrefix();
    const p = await manager(prefix, { presenceTtlMs: SHORT_TTL_MS });
    await p.addPresence(CH, 'kept', info('u1', 'kept'));
    await p.addPresence(CH, 'dropped', info('u2', 'dropped'));
    const deadline = Date.now() + 10_000;
    let rounds = 0;
    for (;;) {
      await p.addPresence(CH, 'kept', info('u1', 'kept'));
      const now = await p.presence(CH);
      assert.deepEqual(now.kept, info('u1', 'kept'), `refreshed entry missing after ${rounds} refreshes`);
      if (now.dropped === undefined) break;
      assert.ok(Date.now() < deadline, 'the unrefreshed entry never expired');
      rounds++;
      await sleep(50);
    }
    assert.ok(rounds > 0);
    assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
  });

  for (const userMapping of [false, true]) {
    test(`reads purge expired entries while the channel keys live on (user mapping ${userMapping ? 'on' : 'off'})`, async () => {
      const prefix = newPrefix();
      const k = keysOf(prefix);
      // Two nodes on one prefix with different TTLs: the short node's entries expire, the long
      // node's last add keeps the keys alive, so only the scripts' purge can remove them. u1's
      // short-lived connection comes after its long-lived one and must not shorten u1's expiry.
      const short = await manager(prefix, { presenceTtlMs: SHORT_TTL_MS, userMapping });
      const long = await manager(prefix, { presenceTtlMs: 60_000, userMapping });
      await long.addPresence(CH, 'c2', info('u1', 'c2'));
      await short.addPresence(CH, 'c1', info('u1', 'c1'));
      await short.addPresence(CH, 'c4', info('u3', 'c4'));
      await long.addPresence(CH, 'c3', info('u2', 'c3'));
      assert.deepEqual(await long.presenceStats(CH), { numClients: 4, numUsers: 3 });
      await sleep(2 * SHORT_TTL_MS);
      assert.deepEqual(await short.presenceStats(CH), { numClients: 2, numUsers: 2 });
      assert.deepEqual(await long.presence(CH), { c2: info('u1', 'c2'), c3: info('u2', 'c3') });
      assert.deepEqual((await raw.hkeys(k.data)).sort(), ['c2', 'c3']);
      assert.deepEqual((await raw.zrange(k.expire, 0, -1)).sort(), ['c2', 'c3']);
      if (userMapping) {
        assert.deepEqual(await raw.hgetall(k.userClients), { u1: '1', u2: '1' });
        assert.deepEqual((await raw.zrange(k.userExpire, 0, -1)).sort(), ['u1', 'u2']);
      } else {
        assert.equal(await raw.exists(k.userClients, k.userExpire), 0);
      }
    });
  }
});

describe('Redis presence: user mapping', () => {
  test('counts users across connections and nodes', async () => {
    const prefix = newPrefix();
    const k = keysOf(prefix);
    const a = await manager(prefix, { userMapping: true });
    const b = await manager(prefix, { userMapping: true });
    await a.addPresence(CH, 'c1', info('u1', 'c1'));
    await b.addPresence(CH, 'c2', info('u1', 'c2'));
    await b.addPresence(CH, 'c3', info('u2', 'c3'));
    await a.addPresence(CH, 'a1', info('', 'a1'));
    await b.addPresence(CH, 'a2', info('', 'a2'));
    assert.deepEqual(await a.presenceStats(CH), { numClients: 5, numUsers: 3 });
    // Refreshing, from either node, does not count a connection twice.
    await a.addPresence(CH, 'c1', info('u1', 'c1'));
    await b.addPresence(CH, 'c1', info('u1', 'c1'));
    assert.deepEqual(await raw.hgetall(k.userClients), { u1: '2', u2: '1', '': '2' });
    assert.deepEqual(await b.presenceStats(CH), { numClients: 5, numUsers: 3 });
    // One of u1's two connections leaves: u1 is still there.
    await b.removePresence(CH, 'c1', 'u1');
    assert.deepEqual(await a.presenceStats(CH), { numClients: 4, numUsers: 3 });
    await a.removePresence(CH, 'c2', 'u1');
    await a.removePresence(CH, 'a1', '');
    await b.removePresence(CH, 'a2', '');
    assert.deepEqual(await b.presenceStats(CH), { numClients: 1, numUsers: 1 });
    assert.deepEqual(await raw.hgetall(k.userClients), { u2: '1' });
    assert.deepEqual(await raw.zrange(k.userExpire, 0, -1), ['u2']);
  });

  test('a client ID re-added under another user moves to that user', async () => {
    const prefix = newPrefix();
    const p = await manager(prefix, { userMapping: true });
    await p.addPresence(CH, 'c1', info('u1', 'c1'));
    await p.addPresence(CH, 'c1', info('u2', 'c1'));
    assert.deepEqual(await raw.hgetall(keysOf(prefix).userClients), { u2: '1' });
    assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
  });
});

describe("Redis presence: Centrifugo's layout", () => {
  for (const userMapping of [false, true]) {
    test(`keys, values and scores are Centrifugo's (user mapping ${userMapping ? 'on' : 'off'})`, async () => {
      const prefix = newPrefix();
      const k = keysOf(prefix);
      const p = await manager(prefix, { userMapping });
      const t0 = await redisNow();
      await p.addPresence(CH, 'c1', info('u1', 'c1', '{"role":"admin"}'));
      const t1 = await redisNow();
      const expected = userMapping ? [k.data, k.expire, k.userClients, k.userExpire] : [k.data, k.expire];
      assert.deepEqual((await raw.keys(`${prefix}.*`)).sort(), expected.sort());
      const data = await raw.hgetallBuffer(k.data);
      assert.deepEqual(Object.keys(data), ['c1']);
      assert.deepEqual({ ...decodeClientInfoRecord(data.c1 as Buffer) }, { user: 'u1', client: 'c1', chanInfo: new Uint8Array(Buffer.from('{"role":"admin"}')) });
      // Expire-at in Unix seconds (Centrifugo's unit), by Redis's clock, a TTL (60 s) ahead;
      // rounded to the millisecond.
      const score = Number(await raw.zscore(k.expire, 'c1'));
      const [lo, hi] = [t0 + 60 - 0.001, t1 + 60 + 0.001];
      assert.ok(score >= lo && score <= hi, `score ${score} should be within [${lo}, ${hi}]`);
      if (userMapping) {
        assert.deepEqual(await raw.hgetall(k.userClients), { u1: '1' });
        assert.equal(Number(await raw.zscore(k.userExpire, 'u1')), score);
      }
      for (const key of expected) {
        const pttl = await raw.pttl(key);
        assert.ok(pttl > 0 && pttl <= 60_000, `${key} PTTL ${pttl}`);
      }
    });

    test(`entries written in Centrifugo's format read back (user mapping ${userMapping ? 'on' : 'off'})`, async () => {
      const prefix = newPrefix();
      const k = keysOf(prefix);
      const now = Math.floor(await redisNow());
      // What a Centrifugo node writes: integer expire-at seconds; one entry live, one expired.
      await raw.hset(k.data, 'live', Buffer.from(encodeClientInfoRecord(info('u9', 'live', '"x"'))));
      await raw.zadd(k.expire, now + 60, 'live');
      await raw.hset(k.data, 'stale', Buffer.from(encodeClientInfoRecord(info('u8', 'stale'))));
      await raw.zadd(k.expire, now - 1, 'stale');
      if (userMapping) {
        await raw.hset(k.userClients, 'u9', '1', 'u8', '1');
        await raw.zadd(k.userExpire, now + 60, 'u9', now - 1, 'u8');
      }
      const p = await manager(prefix, { userMapping });
      assert.deepEqual(await p.presence(CH), { live: info('u9', 'live', '"x"') });
      assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
      await p.addPresence(CH, 'mine', info('u9', 'mine'));
      assert.deepEqual(await p.presenceStats(CH), { numClients: 2, numUsers: 1 });
      await p.removePresence(CH, 'live', 'u9');
      assert.deepEqual(await p.presence(CH), { mine: info('u9', 'mine') });
      if (userMapping) assert.deepEqual(await raw.hgetall(k.userClients), { u9: '1' });
    });
  }
});

describe('Redis presence: reading back', () => {
  test('any client ID is an own key of the result, even __proto__', async () => {
    const p = await manager(newPrefix(), {});
    await p.addPresence(CH, '__proto__', info('u1', '__proto__'));
    const read = await p.presence(CH);
    assert.ok(Object.hasOwn(read, '__proto__'));
    assert.equal(Object.getPrototypeOf(read), Object.prototype);
    assert.deepEqual(Object.keys(read), ['__proto__']);
  });

  test('an entry that is not a protobuf ClientInfo is skipped, the others read', async () => {
    const prefix = newPrefix();
    const k = keysOf(prefix);
    const p = await manager(prefix, {});
    await p.addPresence(CH, 'good', info('u1', 'good'));
    // A truncated record: field 1 (user) announces 100 bytes, 2 follow.
    await raw.hset(k.data, 'bad', Buffer.from([0x0a, 100, 0x61, 0x62]));
    await raw.zadd(k.expire, Math.floor(await redisNow()) + 60, 'bad');
    assert.deepEqual(await p.presence(CH), { good: info('u1', 'good') });
    // Stats count the stored entries; the malformed one counts as the anonymous user.
    assert.deepEqual(await p.presenceStats(CH), { numClients: 2, numUsers: 2 });
  });
});

describe('Redis presence: shards', () => {
  let servers: RedisServer[] = [];
  before(async () => {
    servers = await startShards(2);
  });
  after(async () => {
    await stopAll(servers);
  });

  test("a channel's presence lands on the shard shardIndex picks", async () => {
    const prefix = newPrefix();
    const p = await RedisPresenceManager.open(await redisPresenceOptions(prefix, { userMapping: true }, servers.map((s) => s.url)));
    try {
      // The first channel of each shard among ch0, ch1, ...
      const channels: string[] = [];
      for (let i = 0; channels.length < 2; i++) {
        const ch = `ch${i}`;
        if (channels.every((c) => shardIndex(c, 2) !== shardIndex(ch, 2))) channels.push(ch);
      }
      for (const ch of channels) await p.addPresence(ch, `client-of-${ch}`, info('u1', `client-of-${ch}`));
      for (const ch of channels) {
        const at = shardIndex(ch, 2);
        const names = ['data', 'expire', 'user.clients', 'user.expire'].map((n) => `${prefix}.presence.${n}.${ch}`);
        for (const [i, server] of servers.entries()) {
          const exists = Number(await server.command(['EXISTS', ...names]));
          assert.equal(exists, i === at ? 4 : 0, `${ch} keys on shard ${i} (expected on ${at})`);
        }
        assert.deepEqual(await p.presence(ch), { [`client-of-${ch}`]: info('u1', `client-of-${ch}`) });
        assert.deepEqual(await p.presenceStats(ch), { numClients: 1, numUsers: 1 });
      }
      assert.ok(p.health().ok);
      // One shard dies: the manager says so, its channels fail, the other shard's still work.
      const dead = shardIndex(channels[1] as string, 2);
      await (servers[dead] as RedisServer).kill();
      await until(() => !p.health().ok, 'health to report the dead shard');
      assert.match(p.health().reason ?? '', new RegExp(`127\\.0\\.0\\.1:${(servers[dead] as RedisServer).port}`));
      await assert.rejects(p.presence(channels[1] as string));
      const alive = channels[0] as string;
      assert.deepEqual(await p.presenceStats(alive), { numClients: 1, numUsers: 1 });
    } finally {
      await p.close();
    }
  });
});
