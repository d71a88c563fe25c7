import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../src/config/schema.js';
import { ChannelRules, checkDataFormat } from '../../../src/rules/channels.js';
import { ReplyError } from '../../../src/protocol/errors.js';
import { ErrorCode } from '../../../src/protocol/codes.js';

function rules(channel: Record<string, unknown>) {
  return new ChannelRules(configSchema.parse({ channel }).channel);
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReplyError) return e.code;
    throw e;
  }
  return 0;
};

test('namespace resolution: boundary, private prefix, unknown namespace', () => {
  const r = rules({ namespaces: [{ name: 'chat', presence: true }] });
  assert.equal(r.resolve('chat:room').namespace, 'chat');
  assert.equal(r.resolve('chat:room').options.presence, true);
  assert.equal(r.resolve('$chat:room').namespace, 'chat');
  assert.equal(r.resolve('plain').namespace, '');
  assert.equal(r.resolve('chat:a:b').name, 'a:b');
  assert.equal(code(() => r.resolve('nope:room')), ErrorCode.unknownChannel.code);
});

test('name checks: length, ASCII, channel_regex', () => {
  const r = rules({ max_length: 10, namespaces: [{ name: 'id', channel_regex: '^[0-9]+$' }] });
  assert.equal(code(() => r.validateName(r.resolve('abcdefghijk'), 'abcdefghijk', true)), ErrorCode.badRequest.code);
  assert.equal(code(() => r.validateName(r.resolve('abcdefghijk'), 'abcdefghijk', false)), 0, 'length only for subscribe');
  assert.equal(code(() => r.validateName(r.resolve('héllo'), 'héllo', true)), ErrorCode.badRequest.code);
  assert.equal(code(() => r.validateName(r.resolve('id:123'), 'id:123', true)), 0);
  assert.equal(code(() => r.validateName(r.resolve('id:12a'), 'id:12a', true)), ErrorCode.badRequest.code);
});

test('user-limited channels: users after the last #, comma-separated', () => {
  const r = rules({ without_namespace: { allow_user_limited_channels: true } });
  const ch = 'dialog#42,43';
  assert.equal(r.isUserLimited(r.resolve(ch), ch), true);
  assert.equal(r.userAllowed(ch, '42'), true);
  assert.equal(r.userAllowed(ch, '43'), true);
  assert.equal(r.userAllowed(ch, '4'), false);
  assert.equal(r.userAllowed(ch, ''), false);
  const off = rules({});
  assert.equal(off.isUserLimited(off.resolve(ch), ch), false, 'without the option # is an ordinary character');
  assert.equal(r.personalChannel('7', ''), '#7');
  assert.equal(r.personalChannel('7', 'user'), 'user:#7');
});

test('history retention needs both size and ttl; meta ttl inherits', () => {
  const r = rules({ history_meta_ttl: '1h', namespaces: [{ name: 'h', history_size: 5, history_ttl: '10s' }] });
  assert.deepEqual(r.historyRetention(r.resolve('h:x').options), { size: 5, ttlMs: 10_000, metaTtlMs: 3_600_000 });
  assert.equal(r.historyRetention(r.resolve('x').options), undefined);
});

test('publication data formats', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(code(() => checkDataFormat('', b(''))), ErrorCode.badRequest.code);
  assert.equal(code(() => checkDataFormat('', b('{"a":1}'))), 0);
  assert.equal(code(() => checkDataFormat('json', b('nope'))), ErrorCode.badRequest.code);
  assert.equal(code(() => checkDataFormat('json_object', b('[1]'))), ErrorCode.badRequest.code);
  assert.equal(code(() => checkDataFormat('json_object', b('{}'))), 0);
  assert.equal(code(() => checkDataFormat('binary', b(''))), 0);
});

test('channel_regex accepts Go named groups (?P<name>…), as checkconfig does', () => {
  // Without the (?P< → (?< rewrite, constructing the rules throws and the server cannot start.
  const r = rules({ namespaces: [{ name: 'room', channel_regex: '^(?P<id>[0-9]+)$' }] });
  assert.equal(code(() => r.validateName(r.resolve('room:123'), 'room:123', true)), 0);
  assert.equal(code(() => r.validateName(r.resolve('room:12a'), 'room:12a', true)), ErrorCode.badRequest.code);
});
