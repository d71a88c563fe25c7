/**
 * The NATS broker against real nats-server processes: what the engine contract does not pin.
 * Size limits from the server's INFO, control to one node, outages (server killed and restarted
 * on the same port, server stopped with SIGSTOP), what arrives from the wire that is not ours
 * (garbage, Centrifugo's own messages, raw subjects), wildcard channels, and the wire format
 * checked against the client protocol's Push schema.
 *
 * Shared server: `ROTOR_TEST_NATS_URL` (default nats://127.0.0.1:4222), a unique subject prefix per
 * test. Outage tests start their own `nats-server` on a free port.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/service-process.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pb from 'protobufjs/light.js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsBroker, type NatsBrokerHooks } from '../../src/engine/nats/broker.js';
import { natsBrokerOptions, parseNatsUrl, type NatsBrokerOptions } from '../../src/engine/nats/options.js';
import { MAX_SUBJECT_BYTES, NatsSubjects, subjectProblem } from '../../src/engine/nats/subjects.js';
import { ReplyError } from '../../src/protocol/errors.js';
import { descriptor } from '../../src/protocol/protobuf/descriptor.generated.js';
import { RecordingHandler } from '../contract/broker.contract.js';
import { until } from '../helpers/wait.js';

const SHARED_URL = process.env.ROTOR_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string): Uint8Array => te.encode(s);
const text = (b: Uint8Array): string => td.decode(b);

/** A rejection with error 107 whose cause (for logs) matches `why`. */
function badRequest(why: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof ReplyError && e.code === 107 && why.test(String(e.cause));
}

let prefixes = 0;
const uniquePrefix = (): string => `rotor-nats-it-${process.pid}-${Date.now().toString(36)}-${++prefixes}`;

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const PushType = root.lookupType('centrifugal.centrifuge.protocol.Push');
/** A Push as protobufjs' toObject gives it (bytes as base64, int64 as numbers). */
interface WirePush {
  channel: string;
  pub: { data: string; info?: { user: string; client: string }; tags?: Record<string, string>; delta?: boolean; time: number };
}

/** Everything started in a test, closed after it whatever happens. */
class Scope {
  private readonly closers: Array<() => Promise<unknown>> = [];
  add(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }
  async close(): Promise<void> {
    for (const c of this.closers.reverse()) await c().catch(() => undefined);
  }
}

async function withScope(body: (s: Scope) => Promise<void>): Promise<void> {
  const s = new Scope();
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

/** A running broker on `url`, recording what it gets, and the reasons of what it dropped. */
async function startBroker(s: Scope, nodeId: string, opts: Partial<NatsBrokerOptions>, hooks: NatsBrokerHooks = {}): Promise<{ broker: NatsBroker; rec: RecordingHandler; drops: string[] }> {
  const drops: string[] = [];
  const broker = new NatsBroker(natsBrokerOptions({ url: SHARED_URL, ...opts }), { onDrop: (r) => drops.push(r), ...hooks });
  s.add(() => broker.close());
  const rec = new RecordingHandler();
  await broker.run(rec, nodeId);
  return { broker, rec, drops };
}

/** A plain NATS client, for putting on the wire what the broker would not. */
async function plainClient(s: Scope, url = SHARED_URL): Promise<NatsConnection> {
  const nc = await connect({ servers: parseNatsUrl(url).servers });
  s.add(() => nc.close());
  return nc;
}

/** A nats-server of this test on `port`; resolves once it accepts clients. */
async function startNatsServer(port: number, configFile?: string): Promise<ChildProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(configFile !== undefined ? ['-c', configFile] : [])];
  const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server on ${port} not ready within 5 s:\n${log}`)), 5000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
  child.stderr?.resume();
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Whether the kernel has stopped the process (state T in /proc/PID/stat). */
function stopped(child: ChildProcess): boolean {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

const tmp = mkdtempSync(join(tmpdir(), 'rotor-nats-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('NATS broker', () => {
  test('a publication or control message over the server max_payload rejects naming the size and the limit', async () => {
    await withScope(async (s) => {
      const port = await freePort();
      const conf = join(tmp, 'small-payload.conf');
      writeFileSync(conf, 'max_payload: 4096\n');
      const server = await startNatsServer(port, conf);
      s.add(() => kill(server));
      const { broker, rec } = await startBroker(s, 'n0', { url: `nats://127.0.0.1:${port}`, prefix: uniquePrefix() });
      await broker.subscribe('big');
      await assert.rejects(broker.publish('big', new Uint8Array(5000), {}), /publication to "big" is \d+ bytes on the wire, over the server's max_payload of 4096 bytes/);
      await assert.rejects(broker.publishControl(new Uint8Array(4097)), /control message is 4097 bytes on the wire, over the server's max_payload of 4096 bytes/);
      // The connection is still fine: a publication within the limit goes through.
      await broker.publish('big', new Uint8Array(4000), {});
      await rec.waitFor('the small publication', () => rec.publications('big').length === 1);
      assert.equal(rec.publications('big')[0]!.pub.data.length, 4000);
      assert.deepEqual(broker.health(), { ok: true });
    });
  });

  test('the default 1 MB limit of the shared server applies as well', async () => {
    await withScope(async (s) => {
      const { broker } = await startBroker(s, 'n0', { prefix: uniquePrefix() });
      await assert.rejects(broker.publish('ch', new Uint8Array(1024 * 1024 + 1), {}), /over the server's max_payload of 1048576 bytes/);
    });
  });

  test('control to one node reaches only it; a broadcast reaches all', async () => {
    await withScope(async (s) => {
      const prefix = uniquePrefix();
      const nodes = [];
      for (const id of ['n0', 'n1', 'n2']) nodes.push(await startBroker(s, id, { prefix }));
      const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
      await a.broker.publishControl(bytes('only n1'), 'n1');
      await a.broker.publishControl(bytes('everyone'));
      for (const n of nodes) await n.rec.waitFor('the broadcast', () => n.rec.events.some((e) => e.kind === 'control' && text(e.data) === 'everyone'));
      const controls = (r: RecordingHandler): string[] => r.events.flatMap((e) => (e.kind === 'control' ? [text(e.data)] : []));
      assert.deepEqual(controls(a.rec), ['everyone']);
      assert.deepEqual(controls(b.rec), ['only n1', 'everyone']);
      assert.deepEqual(controls(c.rec), ['everyone']);
    });
  });

  test('health goes false while the server is down and true after it returns; subscriptions deliver again', async () => {
    await withScope(async (s) => {
      const port = await freePort();
      const url = `nats://127.0.0.1:${port}`;
      let server = await startNatsServer(port);
      s.add(() => kill(server));
      const prefix = uniquePrefix();
      const told: string[] = [];
      const a = await startBroker(s, 'a', { url, prefix }, { onLost: (m) => told.push(`lost: ${m}`), onBack: (m) => told.push(`back: ${m}`) });
      const b = await startBroker(s, 'b', { url, prefix });
      await b.broker.subscribe('ch');
      await a.broker.publish('ch', bytes('before'), {});
      await b.rec.waitFor('the publication before the outage', () => b.rec.publications('ch').length === 1);
      assert.deepEqual(a.broker.health(), { ok: true });

      await kill(server);
      await until(() => !a.broker.health().ok && !b.broker.health().ok, 'both brokers unhealthy');
      const h = a.broker.health();
      assert.match(h.reason ?? '', new RegExp(`^nats 127\\.0\\.0\\.1:${port}: disconnected.*reconnecting`));
      // Nothing waits for the server: a publish and a control message reject at once, saying why.
      await assert.rejects(a.broker.publish('ch', bytes('during'), {}), /disconnected/);
      await assert.rejects(a.broker.publishControl(bytes('during')), /disconnected/);

      server = await startNatsServer(port);
      await until(() => a.broker.health().ok && b.broker.health().ok, 'both brokers healthy again', 10_000);
      // Healthy again means the server confirmed the subscriptions the client sent again on
      // reconnecting: a publication right away reaches b.
      await a.broker.publish('ch', bytes('after'), {});
      await b.rec.waitFor('the publication after the outage', () => b.rec.publications('ch').length === 2);
      // One line when the connection went, one when it was back (the reconnect attempts between say nothing).
      assert.deepEqual(told.map((m) => m.replace(/:\d+/, ':PORT')), ['lost: nats 127.0.0.1:PORT: connection lost; reconnecting', 'back: nats 127.0.0.1:PORT: connection back, subscriptions confirmed']);
      assert.deepEqual(b.rec.publications('ch').map((e) => text(e.pub.data)), ['before', 'after']);
      // The control subscriptions came back too.
      await a.broker.publishControl(bytes('after'), 'b');
      await b.rec.waitFor('control after the outage', () => b.rec.events.some((e) => e.kind === 'control' && text(e.data) === 'after'));
    });
  });

  test('a stalled server (SIGSTOP) fails publishes within write_timeout and shows in health until it answers again', async () => {
    await withScope(async (s) => {
      const port = await freePort();
      const server = await startNatsServer(port);
      s.add(() => kill(server));
      s.add(async () => server.kill('SIGCONT'));
      const { broker, rec } = await startBroker(s, 'n0', { url: `nats://127.0.0.1:${port}`, prefix: uniquePrefix(), writeTimeoutMs: 300 });
      await broker.subscribe('ch');
      server.kill('SIGSTOP');
      await until(() => stopped(server), 'nats-server stopped');
      await assert.rejects(broker.publish('ch', bytes('stalled'), {}), /not confirmed: no reply from the server within 300 ms/);
      assert.equal(broker.health().ok, false);
      assert.match(broker.health().reason ?? '', /no reply to a PING within 300 ms/);
      // Stalled: refused at once, not written (the client would buffer it without a bound, and
      // deliver it late although the publish was answered as failed).
      for (let i = 0; i < 3; i++) await assert.rejects(broker.publish('ch', bytes(`refused ${i}`), {}), /no reply to a PING within 300 ms; a publication to "ch" not sent/);
      await assert.rejects(broker.publishControl(bytes('control')), /not sent/);
      server.kill('SIGCONT');
      // Each refused send sends one PING (one at a time); the first answered ends the stall.
      for (let i = 0; !broker.health().ok; i++) {
        assert.ok(i < 500, 'health back once a PING is answered');
        await broker.publishControl(bytes('probe')).catch(() => {});
        await new Promise((r) => setTimeout(r, 10));
      }
      await broker.publish('ch', bytes('resumed'), {});
      // At most once: the stalled one may or may not have arrived; the resumed one does, and none
      // of the refused ones (one connection keeps order: they would have come before it).
      await rec.waitFor('the publication after SIGCONT', () => rec.publications('ch').some((e) => text(e.pub.data) === 'resumed'));
      assert.deepEqual(rec.publications('ch').map((e) => text(e.pub.data)).filter((t) => t.startsWith('refused')), []);
    });
  });

  test('garbage on a client subject is dropped and reported; delivery goes on', async () => {
    await withScope(async (s) => {
      const prefix = uniquePrefix();
      const { broker, rec, drops } = await startBroker(s, 'n0', { prefix });
      await broker.subscribe('ch');
      const nc = await plainClient(s);
      const subject = `${prefix}.client.ch`;
      nc.publish(subject, bytes('hello, not protobuf'));
      nc.publish(subject, new Uint8Array([0x12, 0x02, 0x63, 0x68])); // a Push with a channel and nothing else
      nc.publish(subject, new Uint8Array([0x22, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff])); // a Push whose Publication is not one
      nc.publish(subject, new Uint8Array([0x2a, 0x10, 0x0a])); // truncated
      await nc.flush();
      await broker.publish('ch', bytes('good'), {});
      await rec.waitFor('the good publication', () => rec.publications('ch').length === 1);
      assert.equal(text(rec.publications('ch')[0]!.pub.data), 'good');
      assert.equal(rec.events.length, 1, 'nothing else was delivered');
      assert.equal(drops.length, 4);
      assert.ok(drops.every((d) => d.startsWith(`a message on ${subject}: `)), drops.join('\n'));
      assert.match(drops[1]!, /no publication, join or leave/);
      assert.deepEqual(broker.health(), { ok: true });
    });
  });

  test('what goes on the wire is a client-protocol Push, and a Centrifugo Push with a stream position is read', async () => {
    await withScope(async (s) => {
      const prefix = uniquePrefix();
      const { broker, rec } = await startBroker(s, 'n0', { prefix });
      const nc = await plainClient(s);
      const seen: Uint8Array[] = [];
      nc.subscribe(`${prefix}.client.>`, {
        callback: (_err, msg) => {
          seen.push(msg.data);
        },
      });
      await nc.flush();
      await broker.publish('chat:1', bytes('{"x":1}'), { clientInfo: { user: 'u', client: 'c' }, tags: { t: 'v' }, useDelta: true });
      await broker.publishJoin('chat:1', { user: 'u', client: 'c', connInfo: bytes('{}') });
      await broker.publishLeave('chat:1', { user: 'u', client: 'c' });
      await until(() => seen.length === 3, 'three messages on the wire');
      const [pub, join, leave] = seen.map((b) => PushType.toObject(PushType.decode(b), { longs: Number, bytes: String }) as WirePush);
      assert.equal(pub!.channel, 'chat:1');
      assert.equal(Buffer.from(pub!.pub.data, 'base64').toString(), '{"x":1}');
      assert.deepEqual(pub!.pub.info, { user: 'u', client: 'c' });
      assert.deepEqual(pub!.pub.tags, { t: 'v' });
      assert.equal(pub!.pub.delta, true);
      assert.ok(pub!.pub.time > 0, 'the publish time is set, as Centrifugo does');
      assert.deepEqual(join, { channel: 'chat:1', join: { info: { user: 'u', client: 'c', connInfo: Buffer.from('{}').toString('base64') } } });
      assert.deepEqual(leave, { channel: 'chat:1', leave: { info: { user: 'u', client: 'c' } } });

      // A Centrifugo node publishing with a stream position puts the epoch in a tag.
      await broker.subscribe('chat:2');
      const fromCentrifugo = PushType.encode(PushType.fromObject({ channel: 'chat:2', pub: { data: bytes('p'), offset: 7, tags: { __centrifugo_epoch: 'ep', k: 'v' }, time: 1 } })).finish();
      nc.publish(`${prefix}.client.chat:2`, fromCentrifugo);
      await rec.waitFor('the Centrifugo publication', () => rec.publications('chat:2').length === 1);
      const got = rec.publications('chat:2')[0]!;
      assert.deepEqual(got.position, { offset: 7, epoch: 'ep' });
      assert.deepEqual(got.pub, { data: got.pub.data, offset: 7, tags: { k: 'v' } });
      assert.equal(text(got.pub.data), 'p');
    });
  });

  test('history is refused; a publish asking for history is still published, at offset 0', async () => {
    await withScope(async (s) => {
      const { broker, rec } = await startBroker(s, 'n0', { prefix: uniquePrefix() });
      await assert.rejects(broker.history('ch', { filter: { limit: -1 } }), /nats broker keeps no history/);
      await assert.rejects(broker.removeHistory('ch'), /nats broker keeps no history/);
      await broker.subscribe('ch');
      const r = await broker.publish('ch', bytes('x'), { history: { size: 10, ttlMs: 60_000, metaTtlMs: 60_000 }, idempotencyKey: 'k' });
      assert.deepEqual(r, { position: { offset: 0, epoch: '' }, suppressed: false });
      const again = await broker.publish('ch', bytes('y'), { idempotencyKey: 'k' });
      assert.equal(again.suppressed, false, 'idempotency keys are not supported: every publish is sent');
      await rec.waitFor('both publications', () => rec.publications('ch').length === 2);
    });
  });

  test('wildcard channels: refused unless allowed; with allow_wildcards a pattern gets publications of every match', async () => {
    await withScope(async (s) => {
      const prefix = uniquePrefix();
      const strict = await startBroker(s, 'strict', { prefix });
      await assert.rejects(strict.broker.subscribe('news.*'), badRequest(/wildcard pattern; wildcard channels need allow_wildcards/));
      await assert.rejects(strict.broker.publish('news.*', bytes('x'), {}), badRequest(/cannot publish into the wildcard pattern/));

      const { broker, rec } = await startBroker(s, 'wild', { prefix, allowWildcards: true });
      await broker.subscribe('news.*');
      await broker.subscribe('news.sport');
      await strict.broker.publish('news.sport', bytes('goal'), {});
      await strict.broker.publishJoin('news.sport', { user: 'u', client: 'c' });
      await rec.waitFor('the publication twice and the join', () => rec.events.length === 3);
      const wildPub = rec.publications('news.*');
      assert.equal(wildPub.length, 1);
      assert.equal(wildPub[0]!.pub.channel, 'news.sport', 'the matching channel rides along');
      assert.equal(rec.publications('news.sport')[0]!.pub.channel, undefined);
      assert.deepEqual(rec.events.filter((e) => e.kind === 'join').map((e) => e.kind === 'join' && e.channel), ['news.sport'], 'joins go to the exact channel only');
    });
  });

  test('raw mode: channels become subjects through the replacements and payloads travel as they are', async () => {
    await withScope(async (s) => {
      const rawPrefix = `${uniquePrefix()}.raw.`;
      const { broker, rec } = await startBroker(s, 'n0', { rawMode: { enabled: true, channelReplacements: { ':': '.' }, prefix: rawPrefix } });
      const nc = await plainClient(s);
      const seen: string[] = [];
      nc.subscribe(`${rawPrefix}>`, {
        callback: (_err, msg) => {
          seen.push(`${msg.subject} ${text(msg.data)}`);
        },
      });
      await nc.flush();
      await broker.subscribe('orders:eu');
      nc.publish(`${rawPrefix}orders.eu`, bytes('from elsewhere'));
      await rec.waitFor('the raw message', () => rec.publications('orders:eu').length === 1);
      const got = rec.publications('orders:eu')[0]!;
      assert.equal(text(got.pub.data), 'from elsewhere');
      assert.deepEqual({ ...got.pub, data: undefined }, { data: undefined, offset: 0 });
      assert.deepEqual(got.position, { offset: 0, epoch: '' });
      await broker.publish('orders:us', bytes('from rotor'), {});
      await broker.publishJoin('orders:us', { user: 'u', client: 'c' });
      await broker.publishControl(bytes('ctl'));
      await until(() => seen.length === 2, 'two raw messages');
      assert.deepEqual(seen, [`${rawPrefix}orders.eu from elsewhere`, `${rawPrefix}orders.us from rotor`], 'no join on raw subjects; control stays on its own subject');
    });
  });

  test('run rejects naming the server when nothing listens; the broker is unhealthy meanwhile', async () => {
    const port = await freePort();
    const broker = new NatsBroker(natsBrokerOptions({ url: `nats://127.0.0.1:${port}`, prefix: uniquePrefix() }));
    assert.equal(broker.health().ok, false);
    await assert.rejects(broker.run(new RecordingHandler(), 'n0'), new RegExp(`^Error: nats 127\\.0\\.0\\.1:${port}: cannot connect: `));
    assert.match(broker.health().reason ?? '', /cannot connect/);
    await broker.close();
    await assert.rejects(broker.publishControl(bytes('x')), /closed/);
  });
});

describe('NATS options and subjects', () => {
  test('a comma-separated URL gives several servers; credentials come out of the URLs', () => {
    assert.deepEqual(parseNatsUrl('nats://a:4222, nats://b:4333,c'), { servers: ['a:4222', 'b:4333', 'c:4222'], tls: false });
    assert.deepEqual(parseNatsUrl('nats://u:p%40ss@a,nats://u:p%40ss@b:1'), { servers: ['a:4222', 'b:1'], user: 'u', pass: 'p@ss', tls: false });
    assert.deepEqual(parseNatsUrl('tls://tok@a'), { servers: ['a:4222'], token: 'tok', tls: true });
    assert.throws(() => parseNatsUrl('nats://u:p@a,nats://b'), /different credentials/);
    assert.throws(() => parseNatsUrl('redis://a'), /not a NATS scheme/);
    assert.throws(() => parseNatsUrl(' , '), /no NATS server/);
    assert.deepEqual(parseNatsUrl('').servers, ['127.0.0.1:4222'], "no URL: the Go client's default, as in Centrifugo");
    assert.throws(() => new NatsBroker(natsBrokerOptions({ url: 'http://a' })), { name: 'NatsAddressError' });
  });

  test('channels that are no valid subject are refused with 107 before anything is written: empty tokens, ">" not last, over MAX_SUBJECT_BYTES', async () => {
    assert.equal(subjectProblem('p.client.a.b'), undefined);
    assert.equal(subjectProblem('p.client.news.>'), undefined);
    for (const subject of ['p.client.a..b', 'p.client.', '.p', 'p.client.>.x', `p.client.${'x'.repeat(MAX_SUBJECT_BYTES)}`]) assert.notEqual(subjectProblem(subject), undefined, subject);
    await withScope(async (s) => {
      const { broker } = await startBroker(s, 'strict', { prefix: uniquePrefix(), allowWildcards: true });
      for (const channel of ['a..b', 'tail.', 'news.>.x', 'x'.repeat(MAX_SUBJECT_BYTES)]) {
        await assert.rejects(broker.subscribe(channel), badRequest(/cannot be a NATS subject/), channel.slice(0, 20));
        await assert.rejects(broker.publish(channel, bytes('x'), {}), badRequest(/cannot be a NATS subject|cannot publish into the wildcard pattern/), channel.slice(0, 20));
      }
      assert.deepEqual(broker.health(), { ok: true }, 'the connection is untouched');
    });
  });

  test("subjects are Centrifugo's; raw replacements prefer the longest key", () => {
    const plain = new NatsSubjects(natsBrokerOptions({ prefix: 'p' }));
    assert.equal(plain.client('chat:index'), 'p.client.chat:index');
    assert.equal(plain.control, 'p.control');
    assert.equal(plain.node('n1'), 'p.node.n1');
    const raw = new NatsSubjects(natsBrokerOptions({ rawMode: { enabled: true, channelReplacements: { ':': '.', '::': '-', '/': '.' }, prefix: 'r.' } }));
    assert.equal(raw.client('a::b:c/d'), 'r.a-b.c.d');
    assert.equal(raw.channelOf('r.a-b.c.d'), 'a-b.c.d');
  });
});
