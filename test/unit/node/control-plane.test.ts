/**
 * The control plane over real memory brokers on one bus (no Node, no sockets): discovery, a node
 * that goes silent without announcing it, surveys that time out or lose a node, and messages
 * of another schema version or garbage, which are dropped and logged once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pb from 'protobufjs/light.js';
import { MemoryBus } from '../../../src/engine/memory/broker.js';
import type { Broker, BrokerEventHandler } from '../../../src/engine/types.js';
import { ControlPlane, type RemoteCommand, type SurveyHandler } from '../../../src/node/control/plane.js';
import { CONTROL_VERSION, encodeControl } from '../../../src/node/control/codec.js';
import { descriptor } from '../../../src/node/control/descriptor.generated.js';
import { SurveyTimeoutError } from '../../../src/node/control/surveys.js';
import type { NodeInfo } from '../../../src/node/control/messages.js';
import type { UserWatchEvent } from '../../../src/node/watch/events.js';
import type { Logger } from '../../../src/util/logger.js';
import { until } from '../../helpers/wait.js';

interface TestNode {
  id: string;
  plane: ControlPlane;
  broker: Broker;
  applied: RemoteCommand[];
  userEvents: UserWatchEvent[];
  warnings: unknown[];
}

/** `sendLimit`: control messages longer than this many bytes are refused, as NATS refuses one over `max_payload`. */
async function startNode(bus: MemoryBus, id: string, opts: { heartbeatIntervalMs?: number; surveyTimeoutMs?: number; sendLimit?: number } = {}, surveys: Record<string, SurveyHandler> = {}): Promise<TestNode> {
  const { broker } = bus.engine();
  const applied: RemoteCommand[] = [];
  const userEvents: UserWatchEvent[] = [];
  const warnings: unknown[] = [];
  const noop = (): void => {};
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => warnings.push(a) };
  const info = (): NodeInfo => ({ uid: id, name: `name-${id}`, version: '1.0.0', numClients: 1, numUsers: 1, numSubs: 0, numChannels: 0, uptime: 0 });
  const plane = new ControlPlane(
    {
      nodeId: id,
      localInfo: info,
      sendControl: async (data, toNode) => {
        if (opts.sendLimit !== undefined && data.length > opts.sendLimit) throw new Error(`${data.length} bytes, over the limit of ${opts.sendLimit}`);
        await broker.publishControl(data, toNode);
      },
      applyRemote: async (c) => {
        applied.push(c);
      },
      userEvent: (e) => userEvents.push(e),
    },
    log,
    opts,
  );
  for (const [op, h] of Object.entries(surveys)) plane.onSurvey(op, h);
  const handler: BrokerEventHandler = {
    handlePublication: noop,
    handleJoin: noop,
    handleLeave: noop,
    handleControl: (data) => plane.handle(data),
  };
  await broker.run(handler, id);
  await plane.start();
  return { id, plane, broker, applied, userEvents, warnings };
}

const ids = (n: TestNode): string[] => n.plane.nodes().map((x) => x.uid).sort();

test('control plane: a new node learns the others at once; one that stops announcing is dropped after about two intervals', async () => {
  const bus = new MemoryBus();
  const opts = { heartbeatIntervalMs: 100 };
  const a = await startNode(bus, 'a', opts);
  const b = await startNode(bus, 'b', opts);
  const c = await startNode(bus, 'c', opts);
  // C asked for replies with its first heartbeat: it knows A and B before their next beat.
  await until(() => ids(c).length === 3 && ids(a).length === 3 && ids(b).length === 3, 'all three to know each other');
  assert.deepEqual(ids(c), ['a', 'b', 'c']);

  // B goes silent without a shutdown (a crashed process): its broker is off the bus both ways,
  // so its heartbeats fail (B logs them) and nothing it sends arrives.
  await b.broker.close();
  await until(() => ids(a).length === 2 && ids(c).length === 2, 'B dropped after its heartbeats lapsed', 5000);
  assert.deepEqual(ids(a), ['a', 'c']);
  assert.ok(b.warnings.length > 0, 'B logged its failed heartbeats');
  for (const n of [a, b, c]) await n.plane.stop();
});

test('control plane: user operations reach the other nodes, not the sender; a question to one node reaches that node only', async () => {
  const bus = new MemoryBus();
  const asked: string[] = [];
  const who = (id: string): Record<string, SurveyHandler> => ({
    who: () => {
      asked.push(id);
      return new TextEncoder().encode(id);
    },
  });
  const [a, b, c] = [await startNode(bus, 'a', {}, who('a')), await startNode(bus, 'b', {}, who('b')), await startNode(bus, 'c', {}, who('c'))];
  await until(() => ids(a).length === 3, 'A to know B and C');
  await a.plane.broadcast({ kind: 'disconnect', target: { user: 'u', client: 'x' }, code: 4000, reason: 'bye', whitelist: ['w'] });
  await until(() => b.applied.length === 1 && c.applied.length === 1, 'the operation to arrive');
  assert.deepEqual(a.applied, [], 'the sender applies its own operations itself, not from the bus');
  assert.deepEqual(b.applied, [{ kind: 'disconnect', target: { user: 'u', client: 'x', session: '' }, code: 4000, reason: 'bye', whitelist: ['w'] }]);
  const answer = await a.plane.ask('c', 'who', new Uint8Array(0));
  assert.equal(new TextDecoder().decode(answer.data), 'c');
  assert.deepEqual(asked, ['c'], 'only C was asked');
  for (const n of [a, b, c]) await n.plane.stop();
});

test('control plane: watched users reach every node, one that starts later too; events go to the watching node only; a set is forgotten when emptied, stopped or silent', async () => {
  const bus = new MemoryBus();
  const opts = { heartbeatIntervalMs: 100 };
  const a = await startNode(bus, 'a', opts);
  const b = await startNode(bus, 'b', opts);
  await until(() => ids(a).length === 2, 'A and B to know each other');
  assert.equal(b.plane.nodesWatching('u'), undefined);
  a.plane.setWatchedUsers(['u', 'v']);
  await until(() => b.plane.nodesWatching('u') !== undefined, 'B to learn what A watches');
  assert.deepEqual(b.plane.nodesWatching('v'), ['a']);
  assert.equal(b.plane.nodesWatching('w'), undefined);
  // C starts later and learns it too (from A's answer to its first heartbeat, or A's repeats).
  const c = await startNode(bus, 'c', opts);
  await until(() => c.plane.nodesWatching('u') !== undefined, 'C to learn what A watches');

  const event: UserWatchEvent = { type: 'connect', user: 'u', client: 'x', node: 'name-b', time: 5, transport: 'sse' };
  b.plane.sendUserEvent('a', event);
  await until(() => a.userEvents.length === 1, 'the event to reach A');
  assert.deepEqual(a.userEvents, [event]);
  assert.deepEqual([b.userEvents, c.userEvents], [[], []], 'only the watching node gets it');

  a.plane.setWatchedUsers(['v']);
  await until(() => b.plane.nodesWatching('u') === undefined, 'B to forget u');
  assert.deepEqual(b.plane.nodesWatching('v'), ['a']);
  a.plane.setWatchedUsers([]);
  await until(() => b.plane.nodesWatching('v') === undefined, 'B to forget A watched anything');

  // A node that stops or goes silent takes its set with it.
  a.plane.setWatchedUsers(['u']);
  await until(() => b.plane.nodesWatching('u') !== undefined && c.plane.nodesWatching('u') !== undefined, 'B and C to learn u again');
  await a.plane.stop();
  await until(() => b.plane.nodesWatching('u') === undefined, 'B to forget the stopped node\'s set');
  b.plane.setWatchedUsers(['q']);
  await until(() => c.plane.nodesWatching('q') !== undefined, 'C to learn what B watches');
  await b.broker.close();
  await until(() => c.plane.nodesWatching('q') === undefined, 'C to forget the silent node\'s set', 5000);
  for (const n of [b, c]) await n.plane.stop();
});

test('control plane: a heartbeat of a stopped node arriving after its shutdown does not bring it back', async () => {
  const bus = new MemoryBus();
  const echo: SurveyHandler = () => new Uint8Array(0);
  const a = await startNode(bus, 'a', {}, { echo });
  const b = await startNode(bus, 'b', {}, { echo });
  await until(() => ids(a).length === 2, 'A to know B');
  await b.plane.stop();
  await until(() => ids(a).length === 1, 'B dropped on its shutdown');
  // A heartbeat B sent before stopping, delivered late (another channel or shard).
  const late = { uid: 'b', name: 'name-b', version: '1.0.0', numClients: 0, numUsers: 0, numSubs: 0, numChannels: 0, uptime: 0 };
  a.plane.handle(encodeControl('b', { kind: 'node', info: late, reply: false }));
  assert.deepEqual(ids(a), ['a']);
  assert.deepEqual([...(await a.plane.survey('echo', new Uint8Array(0))).keys()], ['a'], 'a survey does not wait for B');
  await a.plane.stop();
});

/** A plane of node `a` alone, whose control messages go to `sendControl` instead of a broker. */
function lonePlane(sendControl: () => Promise<void>, log: Logger, opts: { heartbeatIntervalMs: number; surveyTimeoutMs?: number }): ControlPlane {
  return new ControlPlane(
    {
      nodeId: 'a',
      localInfo: () => ({ uid: 'a', name: 'a', version: '1', numClients: 0, numUsers: 0, numSubs: 0, numChannels: 0, uptime: 0 }),
      sendControl,
      applyRemote: async () => {},
      userEvent: () => {},
    },
    log,
    opts,
  );
}

test('control plane: a broker that throws instead of rejecting fails the call, never the process', async () => {
  const warnings: unknown[] = [];
  const noop = (): void => {};
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => warnings.push(a) };
  let sends = 0;
  const plane = lonePlane(
    () => {
      sends++;
      if (sends > 1) throw new Error('connection closed');
      return Promise.resolve();
    },
    log,
    { heartbeatIntervalMs: 20, surveyTimeoutMs: 60_000 },
  );
  await plane.start();
  // Another node asks for our heartbeat and for a survey answer: both sends throw.
  const info = { uid: 'b', name: 'b', version: '1', numClients: 0, numUsers: 0, numSubs: 0, numChannels: 0, uptime: 0 };
  plane.handle(encodeControl('b', { kind: 'node', info, reply: true }));
  plane.handle(encodeControl('b', { kind: 'surveyRequest', id: 1, op: 'x', data: new Uint8Array(0) }));
  await assert.rejects(plane.survey('x', new Uint8Array(0)), /connection closed/, 'the survey fails at once with the broker error');
  await assert.rejects(plane.ask('b', 'x', new Uint8Array(0)), /connection closed/);
  await assert.rejects(plane.broadcast({ kind: 'unsubscribe', target: { user: 'u' }, channel: 'c' }), /connection closed/);
  await until(() => sends >= 6, 'a few heartbeat ticks');
  await plane.stop();
  assert.ok(warnings.length >= 2, 'failed heartbeats and answers are logged');
});

test('control plane: while the broker is down the first failed heartbeat is logged, the rest counted; the first sent after them says how many failed', async () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: unknown, message?: unknown): void => void lines.push({ level, fields: fields as Record<string, unknown>, message: String(message) });
  const log: Logger = { trace: () => {}, debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
  let down = false;
  let sends = 0;
  let failed = 0;
  const plane = lonePlane(
    () => {
      sends++;
      if (!down) return Promise.resolve();
      failed++;
      return Promise.reject(new Error('The client is offline'));
    },
    log,
    { heartbeatIntervalMs: 10 },
  );
  await plane.start();
  down = true;
  await until(() => failed >= 5, 'five heartbeats to fail');
  down = false;
  const before = sends;
  await until(() => sends > before && lines.some((l) => l.message === 'node heartbeat sent again'), 'a heartbeat to go out again');
  await plane.stop();
  const warned = lines.filter((l) => l.level === 'warn');
  assert.equal(warned.length, 1, JSON.stringify(lines));
  assert.match(warned[0]!.message, /could not send the node heartbeat/);
  const back = lines.filter((l) => l.message === 'node heartbeat sent again');
  assert.equal(back.length, 1);
  assert.equal(back[0]!.fields.failed, failed, 'the count of the heartbeats that failed');
});

test('control plane: a survey gathers every node; it fails naming a node that does not answer, and stops waiting for a node that leaves', async () => {
  const bus = new MemoryBus();
  const echo: SurveyHandler = (d) => new Uint8Array([...d, 7]);
  let release: (() => void) | undefined;
  const never: SurveyHandler = () => new Promise<Uint8Array>((r) => (release = () => r(new Uint8Array(0))));
  const a = await startNode(bus, 'a', { surveyTimeoutMs: 300 }, { echo });
  const b = await startNode(bus, 'b', {}, { echo });
  await until(() => ids(a).length === 2, 'A to know B');

  const answers = await a.plane.survey('echo', new Uint8Array([1]));
  assert.deepEqual([...answers.keys()].sort(), ['a', 'b']);
  assert.deepEqual([...answers.get('b')!.data], [1, 7]);
  assert.equal((await a.plane.survey('nobody-knows-this', new Uint8Array(0))).get('b')!.code, 1, 'unknown op: code 1 from each node');

  const c = await startNode(bus, 'c', {}, { echo: never });
  await until(() => ids(a).length === 3 && ids(b).length === 3, 'A and B to know C');
  await assert.rejects(a.plane.survey('echo', new Uint8Array(0)), (e: unknown) => e instanceof SurveyTimeoutError && /node\(s\) c /.test(e.message));

  // A survey in flight when C announces its shutdown settles with the nodes that answered. B asks
  // it: B's timeout is the default 10 s, so the test does not depend on how fast C stops.
  const pending = b.plane.survey('echo', new Uint8Array(0));
  await new Promise((r) => setImmediate(r));
  await c.plane.stop();
  assert.deepEqual([...(await pending).keys()].sort(), ['a', 'b']);
  release?.();
  for (const n of [a, b]) await n.plane.stop();
});

test('control plane: an answer the broker refuses (too large) is followed by a failure, so the asking node fails at once, not at its timeout', async () => {
  const bus = new MemoryBus();
  const big: SurveyHandler = () => new Uint8Array(10_000);
  const a = await startNode(bus, 'a', { surveyTimeoutMs: 60_000 }, { big });
  const b = await startNode(bus, 'b', { sendLimit: 1000 }, { big });
  try {
    await until(() => ids(a).length === 2, 'A to know B');
    const answers = await a.plane.survey('big', new Uint8Array(0));
    assert.equal(answers.get('a')!.code, 0);
    assert.deepEqual([answers.get('b')!.code, answers.get('b')!.data.length], [2, 0], "B's answer: failed, no data");
    assert.ok(b.warnings.some((w) => Array.isArray(w) && w[1] === 'could not answer a survey'), 'B logs why');
  } finally {
    for (const n of [a, b]) await n.plane.stop();
  }
});

test('control plane: messages of another version, from nowhere or undecodable are dropped and logged once each', async () => {
  const bus = new MemoryBus();
  const a = await startNode(bus, 'a');
  const { broker: raw } = bus.engine();
  await raw.run({ handlePublication() {}, handleJoin() {}, handleLeave() {}, handleControl: () => true }, 'raw');
  const Command = pb.Root.fromJSON(descriptor as unknown as pb.INamespace).lookupType('rotor.control.Command');
  const future = Command.encode({ version: CONTROL_VERSION + 1, from: 'z', disconnect: { target: { user: 'u' }, code: 4000 } }).finish();
  for (let i = 0; i < 3; i++) await raw.publishControl(future);
  await raw.publishControl(new Uint8Array([0xff, 0xff, 0xff]));
  await raw.publishControl(Command.encode({ version: CONTROL_VERSION, from: '' }).finish());
  await raw.publishControl(Command.encode({ version: CONTROL_VERSION, from: 'z' }).finish());
  // A message that is fine, after the bad ones, still arrives.
  await raw.publishControl(encodeControl('z', { kind: 'unsubscribe', target: { user: 'u' }, channel: 'ch' }));
  await until(() => a.applied.length === 1, 'the good message');
  assert.equal(a.warnings.length, 4, `one warning per distinct reason: ${JSON.stringify(a.warnings)}`);
  assert.match(JSON.stringify(a.warnings[0]), /version 2 from node z/);
  // What the broker hears back (its metrics count the drops): false for a dropped message.
  assert.equal(a.plane.handle(new Uint8Array([0xff, 0xff, 0xff])), false);
  assert.equal(a.plane.handle(future), false);
  assert.equal(a.plane.handle(encodeControl('z', { kind: 'unsubscribe', target: { user: 'u' }, channel: 'ch2' })), true);
  await a.plane.stop();
});
