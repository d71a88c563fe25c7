/**
 * Admin watch (`POST /admin/trace`) on real servers: a channel's publications, joins and leaves and
 * a user's connects, subscriptions and disconnects, from SDK clients over WebSocket, on one node
 * and across two nodes joined through the real Redis (the watcher's node holds the broker
 * subscription while it watches, and gives it back after); and every way it refuses or ends: no
 * token, bad bodies, an unknown namespace, too many streams, a reader that falls behind, an admin
 * session that expires, shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { SdkPool, within, eventually } from '../helpers/sdk.js';
import { AdminTokens } from '../../src/admin/session-token.js';
import { TRACE_MAX_BUFFER_BYTES, TRACE_MAX_ENTITY_LENGTH, TRACE_MAX_STREAMS, TRACE_PING_MS, TRACE_START_TIMEOUT_MS } from '../../src/admin/trace.js';
import { MemoryBroker } from '../../src/engine/memory/broker.js';
import { MemoryPresenceManager } from '../../src/engine/memory/presence.js';
import { ADMIN_TOKEN_TTL_S } from '../../src/admin/session-token.js';
import { deletePrefix, redisUrl, testPrefix } from '../contract/redis-engines.js';
import type { ConfigInput } from '../../src/config/schema.js';

const ADMIN = { enabled: true, password: 'watch-password', secret: 'watch-secret' };
const CHANNELS = { namespaces: [{ name: 'room', allow_subscribe_for_client: true, join_leave: true, force_push_join_leave: true }] };

type Line = Record<string, any>;

/** A watch stream read line by line; `next` waits (bounded) for the next line matching `pick`. */
class TraceReader {
  readonly lines: Line[] = [];
  private waiters: (() => void)[] = [];
  private rest = '';
  ended = false;

  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.rest += chunk;
      let nl: number;
      while ((nl = this.rest.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.rest.slice(0, nl)) as Line);
        this.rest = this.rest.slice(nl + 1);
      }
      this.wake();
    });
    res.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** The first line from `from` on matching `pick`. */
  async next(pick: (l: Line) => boolean, what: string, from = 0, timeoutMs?: number): Promise<Line> {
    const find = () => this.lines.slice(from).find(pick);
    return within(
      (async () => {
        for (;;) {
          const l = find();
          if (l !== undefined) return l;
          if (this.ended) throw new Error(`the stream ended before ${what}: ${JSON.stringify(this.lines)}`);
          await new Promise<void>((r) => this.waiters.push(r));
        }
      })(),
      what,
      timeoutMs,
    );
  }

  close(): void {
    this.res.destroy();
  }
}

async function adminToken(srv: TestServer): Promise<string> {
  const r = await fetch(`${srv.httpUrl}/admin/auth`, { method: 'POST', body: new URLSearchParams({ password: ADMIN.password }) });
  return ((await r.json()) as { token: string }).token;
}

/** Opens `/admin/trace` with `body`; resolves with the status and, for a 200, the stream. */
function trace(srv: TestServer, body: string, token?: string): Promise<{ status: number; reader: TraceReader; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${srv.httpUrl}/admin/trace`, { method: 'POST', headers: token !== undefined ? { Authorization: `token ${token}` } : {} }, (res) => {
      if (res.statusCode === 200) return resolve({ status: 200, reader: new TraceReader(res) });
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reader: new TraceReader(res), error: (JSON.parse(text) as { error: string }).error }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function watch(srv: TestServer, token: string, type: 'channel' | 'user', entity: string): Promise<TraceReader> {
  const t = await trace(srv, JSON.stringify({ type, entity }), token);
  assert.equal(t.status, 200, t.error);
  await t.reader.next((l) => l.type === 'start', 'the start line');
  return t.reader;
}

test('watch on one node: a channel with no subscriber sees publications, then joins and leaves; a user sees its connection', async () => {
  const srv = await startServer({ admin: ADMIN, channel: CHANNELS } as ConfigInput);
  const sdk = new SdkPool(srv);
  try {
    const token = await adminToken(srv);
    const ch = await watch(srv, token, 'channel', 'room:a');
    assert.deepEqual(ch.lines[0], { ...ch.lines[0], type: 'start', watch: 'channel', entity: 'room:a' });
    // Nobody subscribes yet: the watch alone keeps the broker delivering the channel here.
    await srv.api('publish', { channel: 'room:a', data: { n: 1, html: '<b>x</b>' } });
    const pub = await ch.next((l) => l.type === 'publication', 'the publication');
    assert.deepEqual([pub.channel, pub.data, typeof pub.time], ['room:a', { n: 1, html: '<b>x</b>' }, 'number']);
    // The watcher is not a subscriber.
    assert.deepEqual((await srv.api('channels', {})).body, { result: { channels: {} } });

    const user = await watch(srv, token, 'user', 'alice');
    const alice = sdk.client({ token: await connToken('alice') });
    await within(alice.connect(), 'alice connected');
    const connect = await user.next((l) => l.type === 'connect', 'the connect');
    assert.deepEqual([connect.user, connect.transport, connect.node, typeof connect.client], ['alice', 'websocket', (await srv.api('info', {})).body.result.nodes[0].name, 'string']);
    const s = await within(alice.subscribe('room:a'), 'alice subscribed');
    const join = await ch.next((l) => l.type === 'join', 'the join');
    assert.deepEqual([join.info.user, join.info.client], ['alice', connect.client]);
    assert.equal((await user.next((l) => l.type === 'subscribe', 'the subscribe')).channel, 'room:a');
    s.sub.unsubscribe();
    assert.equal((await ch.next((l) => l.type === 'leave', 'the leave')).info.user, 'alice');
    const unsub = await user.next((l) => l.type === 'unsubscribe', 'the unsubscribe');
    assert.deepEqual([unsub.channel, unsub.code], ['room:a', 0]);
    // The last subscriber left; the watch still holds the broker subscription.
    const seen = ch.lines.length;
    await srv.api('publish', { channel: 'room:a', data: { n: 2 } });
    assert.deepEqual((await ch.next((l) => l.type === 'publication', 'a publication after the last subscriber left', seen)).data, { n: 2 });
    // And the reverse: a watch ending while a subscriber stays leaves the subscriber served.
    const s2 = await within(alice.subscribe('room:b'), 'alice subscribed to room:b');
    const chB = await watch(srv, token, 'channel', 'room:b');
    chB.close();
    await eventually(async () => !srv.app.node.watches.holdsChannel('room:b'), 'the room:b watch to end');
    const got = s2.events.next('publication');
    await srv.api('publish', { channel: 'room:b', data: { n: 3 } });
    assert.deepEqual((await within(got, 'the subscriber still served')).data, { n: 3 });
    alice.c.disconnect();
    const disc = await user.next((l) => l.type === 'disconnect', 'the disconnect');
    const ended = await user.next((l) => l.type === 'unsubscribe' && l.channel === 'room:b', 'room:b ended by the disconnect');
    assert.equal(ended.code, 1);
    assert.ok(user.lines.indexOf(ended) < user.lines.indexOf(disc), 'a connection\'s subscriptions end before it does');
    assert.deepEqual([disc.client, disc.code], [connect.client, 3000]);

    // A stopped watch gives the channel back; publications still reach a later watcher.
    ch.close();
    const again = await watch(srv, token, 'channel', 'room:a');
    // Not JSON: data goes out as base64, as the history API writes it.
    await srv.api('publish', { channel: 'room:a', b64data: Buffer.from([0xff, 0, 1]).toString('base64') });
    assert.equal((await again.next((l) => l.type === 'publication', 'the binary publication')).data, Buffer.from([0xff, 0, 1]).toString('base64'));
    again.close();
    user.close();
  } finally {
    sdk.closeAll();
    await srv.stop();
  }
});

test('watch across two nodes on Redis: a channel sees what the other node publishes and its joins; a user is followed on the other node', async () => {
  const prefix = testPrefix('watch');
  const config = (name: string) => ({ admin: ADMIN, channel: CHANNELS, node: { name }, engine: { type: 'redis', redis: { address: [redisUrl()], prefix } } }) as ConfigInput;
  const a = await startServer(config('watch-a'));
  const b = await startServer(config('watch-b'));
  const sdkB = new SdkPool(b);
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 0 });
  try {
    await eventually(async () => (await a.api('info', {})).body.result.nodes.length === 2, 'the nodes see each other');
    const token = await adminToken(a);
    const numsub = async () => Number(((await redis.pubsub('NUMSUB', `${prefix}.client.room:x`)) as [string, number])[1]);
    assert.equal(await numsub(), 0);
    const ch = await watch(a, token, 'channel', 'room:x');
    // The watching node holds the channel's Redis subscription.
    assert.equal(await numsub(), 1);
    const user = await watch(a, token, 'user', 'bob');

    // bob on node B: connect, subscribe (a join), a publication through B, disconnect.
    const bob = sdkB.client({ token: await connToken('bob') });
    await within(bob.connect(), 'bob connected to B');
    const connect = await user.next((l) => l.type === 'connect', 'bob connect from B');
    assert.equal(connect.node, 'watch-b');
    await within(bob.subscribe('room:x'), 'bob subscribed on B');
    assert.equal((await ch.next((l) => l.type === 'join', 'the join on B')).info.user, 'bob');
    const sub = await user.next((l) => l.type === 'subscribe', 'the subscribe on B');
    assert.deepEqual(sub, { type: 'subscribe', user: 'bob', client: connect.client, node: 'watch-b', time: sub.time, channel: 'room:x' });
    await b.api('publish', { channel: 'room:x', data: { via: 'B' } });
    assert.deepEqual((await ch.next((l) => l.type === 'publication', 'the publication through B')).data, { via: 'B' });
    bob.c.disconnect();
    assert.equal((await user.next((l) => l.type === 'disconnect', 'bob disconnect on B')).node, 'watch-b');
    assert.equal((await ch.next((l) => l.type === 'leave', 'the leave on B')).info.user, 'bob');

    // Ending the watch gives the Redis subscription back.
    ch.close();
    await eventually(async () => (await numsub()) === 0, 'the watching node unsubscribed from Redis');
    user.close();
  } finally {
    sdkB.closeAll();
    redis.disconnect();
    await b.stop();
    await a.stop();
    await deletePrefix(redisUrl(), prefix);
  }
});

test('watch refuses: no token, bad bodies, an unknown namespace, too many streams; ends for a slow reader, an expired session and shutdown', async () => {
  const srv = await startServer({ admin: ADMIN, channel: CHANNELS } as ConfigInput);
  const open: TraceReader[] = [];
  try {
    const token = await adminToken(srv);
    assert.equal((await trace(srv, '{"type":"channel","entity":"room:a"}')).status, 401);
    assert.equal((await trace(srv, '{"type":"channel","entity":"room:a"}', new AdminTokens('other').issue())).status, 401);
    const bad = async (body: string) => {
      const t = await trace(srv, body, token);
      return [t.status, t.error];
    };
    assert.deepEqual(await bad('not json'), [400, 'the body is not JSON']);
    assert.deepEqual(await bad('{"type":"node","entity":"x"}'), [400, 'type must be "channel" or "user"']);
    assert.deepEqual(await bad('{"type":"user","entity":""}'), [400, 'entity must be a non-empty string']);
    assert.deepEqual(await bad(JSON.stringify({ type: 'user', entity: 'u'.repeat(TRACE_MAX_ENTITY_LENGTH + 1) })), [400, `entity is longer than ${TRACE_MAX_ENTITY_LENGTH} characters`]);
    assert.deepEqual(await bad('{"type":"channel","entity":"nope:x"}'), [400, 'unknown channel']);
    assert.equal((await trace(srv, `{"type":"user","entity":"${'x'.repeat(2 * 1024 * 1024)}"}`, token)).status, 413);

    for (let i = 0; i < TRACE_MAX_STREAMS; i++) open.push(await watch(srv, token, 'user', `u${i}`));
    assert.deepEqual(await bad('{"type":"user","entity":"one-more"}'), [429, `at most ${TRACE_MAX_STREAMS} watch streams per node`]);
    open.pop()!.close();
    await eventually(async () => (await trace(srv, '{"type":"user","entity":"probe"}', token).then((t) => (t.status === 200 ? (t.reader.close(), true) : false))), 'a slot is free again');
    for (const r of open.splice(0)) r.close();

    // A reader that stops reading is ended once it is TRACE_MAX_BUFFER_BYTES behind.
    const slow = await watch(srv, token, 'channel', 'room:busy');
    slow.res.pause();
    const big = 'x'.repeat(60 * 1024);
    // The kernel's socket buffers (tens of MB on loopback) fill first; then Rotor's queue grows
    // past the bound and the stream ends, giving the channel back.
    for (let i = 0; srv.app.node.watches.holdsChannel('room:busy'); i++) {
      assert.ok(i < 5000, 'the slow reader was never ended');
      await srv.api('publish', { channel: 'room:busy', data: { i, big } });
    }
    slow.res.resume();
    const end = await slow.next((l) => l.type === 'end', 'the end line of the slow reader');
    assert.equal(end.reason, `the reader fell more than ${TRACE_MAX_BUFFER_BYTES} bytes behind`);

    // A session token that expires while the stream runs ends it.
    const shortLived = new AdminTokens(ADMIN.secret).issue(Math.floor(Date.now() / 1000) - ADMIN_TOKEN_TTL_S + 3);
    const expiring = await watch(srv, shortLived, 'user', 'x');
    assert.equal((await expiring.next((l) => l.type === 'end', 'the end line after expiry', 0, 10_000)).reason, 'the admin session expired');

    // Shutdown ends every stream with a last line, and the stop does not wait for the readers.
    const last = await watch(srv, token, 'channel', 'room:a');
    await srv.stop();
    assert.equal((await last.next((l) => l.type === 'end', 'the end line at shutdown')).reason, 'shutdown');
  } finally {
    for (const r of open) r.close();
    await srv.stop();
  }
});

test('docs/admin.md states the watch limits the code uses', () => {
  const doc = readFileSync(new URL('../../docs/admin.md', import.meta.url), 'utf8');
  for (const stated of [
    `${TRACE_MAX_STREAMS} open streams per node`,
    `at most ${TRACE_MAX_ENTITY_LENGTH.toLocaleString('en-US')}`,
    `more than ${TRACE_MAX_BUFFER_BYTES} bytes behind`,
    `${TRACE_MAX_BUFFER_BYTES / 1024 / 1024} MiB behind`,
    `after ${TRACE_PING_MS / 1000} s without another line`,
    `past ${TRACE_MAX_STREAMS} streams`,
    `not in place within ${TRACE_START_TIMEOUT_MS / 1000} s`,
  ]) {
    assert.ok(doc.includes(stated), `docs/admin.md should say "${stated}"`);
  }
});

/** A memory broker whose subscribe fails for `room:fail…` channels and takes `slowMs` for `room:slow…` ones. */
class StubbornBroker extends MemoryBroker {
  readonly subscribes: string[] = [];
  readonly unsubscribes: string[] = [];
  constructor(private readonly slowMs: number) {
    super();
  }
  override async subscribe(channel: string): Promise<void> {
    this.subscribes.push(channel);
    if (channel.startsWith('room:fail')) throw new Error('subscribe refused');
    if (channel.startsWith('room:slow')) await new Promise((r) => setTimeout(r, this.slowMs));
    return super.subscribe(channel);
  }
  override async unsubscribe(channel: string): Promise<void> {
    this.unsubscribes.push(channel);
    return super.unsubscribe(channel);
  }
}

test('watch: a broker that cannot subscribe answers 503 at once; one too slow answers 503 in time and is given back when it settles', async () => {
  const broker = new StubbornBroker(TRACE_START_TIMEOUT_MS + 1000);
  const srv = await startServer({ admin: ADMIN, channel: CHANNELS } as ConfigInput, { engine: { broker, presence: new MemoryPresenceManager() } });
  try {
    const token = await adminToken(srv);
    const failed = await trace(srv, '{"type":"channel","entity":"room:fail"}', token);
    assert.deepEqual([failed.status, failed.error], [503, 'the broker could not subscribe to the channel']);
    assert.equal(srv.app.node.watches.holdsChannel('room:fail'), false);

    const began = Date.now();
    const slow = await trace(srv, '{"type":"channel","entity":"room:slow"}', token);
    assert.deepEqual([slow.status, slow.error], [503, 'the broker could not subscribe to the channel']);
    assert.ok(Date.now() - began >= TRACE_START_TIMEOUT_MS - 50);
    // The subscribe settles later: the watch it made is ended and the broker given the channel back.
    await eventually(async () => broker.unsubscribes.includes('room:slow'), 'the late watch given back', 10_000);
    assert.equal(srv.app.node.watches.holdsChannel('room:slow'), false);
    assert.deepEqual(broker.subscribes.filter((c) => c === 'room:slow'), ['room:slow']);
    assert.equal(srv.errors.length >= 2, true, 'both failures were logged');
  } finally {
    await srv.stop();
  }
});
