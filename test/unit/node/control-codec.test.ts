/**
 * Control messages survive the wire exactly: every command kind, optional bytes absent versus
 * empty, 64-bit numbers beyond 32 bits, and the "channels" survey answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChannels, decodeChannelsRequest, decodeControl, decodeEmulation, encodeChannels, encodeChannelsRequest, encodeControl, encodeEmulation } from '../../../src/node/control/codec.js';
import type { ControlCommand } from '../../../src/node/control/messages.js';
import type { SubscriptionOptions } from '../../../src/node/events.js';

const OPTIONS: SubscriptionOptions = {
  emitPresence: true,
  emitJoinLeave: false,
  pushJoinLeave: true,
  enablePositioning: true,
  enableRecovery: true,
  recoveryMode: 'cache',
  chanInfo: new Uint8Array([1, 2]),
  data: new Uint8Array(0),
  expireAt: 2 ** 40,
  allowedDeltaTypes: ['fossil'],
  historyMetaTtlMs: 30 * 24 * 3600 * 1000,
  allowTagsFilter: true,
};

const target = { user: 'u', client: 'c', session: 's' };

const COMMANDS: ControlCommand[] = [
  { kind: 'node', info: { uid: 'n', name: 'host', version: '1.2.3', numClients: 5, numUsers: 4, numSubs: 3, numChannels: 2, uptime: 1 }, reply: true },
  { kind: 'shutdown' },
  { kind: 'disconnect', target, code: 4500, reason: 'go', whitelist: ['a', 'b'] },
  { kind: 'unsubscribe', target, channel: 'ch' },
  { kind: 'subscribe', target, channel: 'ch', options: OPTIONS, since: { offset: 2 ** 33, epoch: 'e' } },
  { kind: 'refresh', target, expired: false, expireAt: 1_900_000_000, info: new Uint8Array([7]) },
  { kind: 'refresh', target, expired: true, expireAt: 0, info: new Uint8Array(0) },
  { kind: 'surveyRequest', id: 2 ** 35, op: 'channels', data: new Uint8Array([9]) },
  { kind: 'surveyResponse', id: 3, code: 2, data: new Uint8Array(0) },
  { kind: 'watchUsers', users: ['u', 'v'] },
  { kind: 'watchUsers', users: [] },
  { kind: 'userEvent', event: { type: 'connect', user: 'u', client: 'c', node: 'n', time: 2 ** 41, transport: 'websocket' } },
  { kind: 'userEvent', event: { type: 'subscribe', user: 'u', client: 'c', node: 'n', time: 1, channel: 'ch' } },
  { kind: 'userEvent', event: { type: 'unsubscribe', user: 'u', client: 'c', node: 'n', time: 1, channel: 'ch', code: 2000, reason: 'server unsubscribe' } },
  { kind: 'userEvent', event: { type: 'disconnect', user: 'u', client: 'c', node: 'n', time: 1, code: 3000, reason: 'connection closed' } },
];

/** Uint8Array and Buffer compare by content. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  return v;
}

test('control codec: every command kind round-trips', () => {
  for (const c of COMMANDS) {
    const d = decodeControl(encodeControl('sender', c));
    assert.ok(d.ok, `${c.kind}: ${JSON.stringify(d)}`);
    assert.equal(d.message.from, 'sender');
    assert.deepEqual(plain(d.message.command), plain(c), c.kind);
  }
});

test('control codec: absent optional bytes stay absent; a subscribe without options decodes to every flag off', () => {
  const { chanInfo: _c, data: _d, ...bare } = OPTIONS;
  const d = decodeControl(encodeControl('x', { kind: 'subscribe', target: { user: 'u' }, channel: 'ch', options: bare, since: undefined }));
  assert.ok(d.ok && d.message.command.kind === 'subscribe');
  assert.equal('chanInfo' in d.message.command.options, false);
  assert.equal('data' in d.message.command.options, false);
  assert.equal(d.message.command.since, undefined);
  const r = decodeControl(encodeControl('x', { kind: 'refresh', target: { user: 'u' }, expired: false, expireAt: 0, info: undefined }));
  assert.ok(r.ok && r.message.command.kind === 'refresh');
  assert.equal(r.message.command.info, undefined, 'no info: the connection keeps its own');
});

test('control codec: a user operation without a user is dropped, not applied to every anonymous connection', () => {
  for (const c of [
    { kind: 'disconnect', target: { user: '' }, code: 4000, reason: '', whitelist: [] },
    { kind: 'unsubscribe', target: { user: '' }, channel: 'c' },
    { kind: 'refresh', target: { user: '' }, expired: true, expireAt: 0, info: undefined },
  ] as const) {
    const d = decodeControl(encodeControl('x', { ...c, whitelist: [] } as ControlCommand));
    assert.equal(d.ok, false, c.kind);
  }
});

test('control codec: a user event of a type this node does not know, or without a user, is dropped', () => {
  for (const event of [
    { type: 'connect', user: '', client: 'c', node: 'n', time: 1, transport: 'websocket' },
    { type: 'teleport', user: 'u', client: 'c', node: 'n', time: 1, transport: '' },
  ]) {
    const d = decodeControl(encodeControl('x', { kind: 'userEvent', event } as ControlCommand));
    assert.equal(d.ok, false, event.type);
  }
});

test('control codec: the channels answer round-trips, "__proto__" included', () => {
  const withProto = new Map([['__proto__', 3], ['constructor', 1]]);
  assert.deepEqual(decodeChannels(encodeChannels(withProto)), withProto);
  assert.equal(decodeChannelsRequest(encodeChannelsRequest('chat:*')), 'chat:*');
  assert.deepEqual(plain(decodeEmulation(encodeEmulation('s', new Uint8Array([1])))), { session: 's', data: { bytes: [1] } });
  const m = new Map([['a', 1], ['b:c', 70_000]]);
  assert.deepEqual(decodeChannels(encodeChannels(m)), m);
  assert.deepEqual(decodeChannels(encodeChannels(new Map())), new Map());
});
