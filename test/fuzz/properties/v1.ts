/**
 * Properties of Centrifugo v1's client codec (`src/protocol/v1/codec.ts`) and of the first-frame
 * check that routes a connection to it. Documented failure of decoding: `ProtocolDecodeError`
 * (the session closes with 3000 `invalid message`); anything else thrown is a bug. Every reply the
 * codec writes for a decoded command is one JSON value echoing the command's `uid` and `method`.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { V1Codec, looksLikeV1 } from '../../../src/protocol/v1/codec.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import type { Reply } from '../../../src/protocol/types.js';
import { command } from './commands.js';
import { MAX_INPUT_BYTES, boundedOnlyThrows, defineProperty, onlyThrows, type FuzzProperty } from './harness.js';
import { anyText, grownText, jsonPayload, jsonPayloadText, jsonishText, mutatedBytes, shapedGarbage, utf8 } from './inputs.js';
import { commandJson, writeJson } from './wire.js';

const MAX_COMMAND = 64 * 1024;
const DECODE_ERRORS = [ProtocolDecodeError] as const;
const METHODS = ['connect', 'refresh', 'subscribe', 'unsubscribe', 'publish', 'presence', 'history', 'ping'] as const;

const text = fc.string({ maxLength: 24 });
/** A v1 command as a client library writes it. */
const v1Command = fc
  .record({
    uid: fc.option(text, { nil: undefined }),
    method: fc.constantFrom(...METHODS),
    channel: text,
    data: jsonPayloadText(false),
    user: text,
    recover: fc.boolean(),
    last: fc.oneof(text, fc.tuple(fc.nat(), fc.stringMatching(/^[A-Za-z]{0,8}$/)).map(([o, e]) => `${o}:${e}`)),
    sign: fc.option(text, { nil: undefined }),
  })
  .map((c) => {
    const params: Record<string, unknown> = { channel: c.channel };
    if (c.method === 'connect' || c.method === 'refresh') Object.assign(params, { user: c.user, timestamp: '1', info: '', token: 'x' });
    if (c.method === 'publish') params['data'] = JSON.parse(c.data) as unknown;
    if (c.method === 'subscribe' && c.recover) Object.assign(params, { recover: true, last: c.last });
    if (c.method === 'subscribe' && c.sign !== undefined) Object.assign(params, { client: c.user, sign: c.sign, info: '' });
    return { ...(c.uid !== undefined ? { uid: c.uid } : {}), method: c.method, params };
  });

const v1Frame = fc.oneof(v1Command.map((c) => JSON.stringify(c)), fc.array(v1Command, { minLength: 1, maxLength: 4 }).map((cs) => JSON.stringify(cs))).map(utf8);

const hostileV1Frame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  anyText.map(utf8),
  mutatedBytes(v1Frame),
  fc.array(shapedGarbage, { minLength: 1, maxLength: 3 }).map((ts) => utf8(`[${ts.map((t) => writeJson(t)).join(',')}]`)),
);

/** [prefix, unit, middle, closer, suffix]: deep nesting and long arrays at the size limit. */
const SHAPES: readonly (readonly [string, string, string, string, string])[] = [
  ['{"uid":"1","method":"publish","params":{"channel":"c","data":', '[', '1', ']', '}}'],
  ['[', '{"method":"ping"},', '{"method":"ping"}', '', ']'],
  ['{"method":"subscribe","params":{"channel":"', 'a', '', '', '"}}'],
  ['', '[', '', '', ''],
];

/** One reply of each shape the session can send for a command of `method`. */
function repliesFor(id: number, method: string): Reply[] {
  const err: Reply = { id, kind: 'error', error: { code: 103, message: 'permission denied' } };
  switch (method) {
    case 'connect':
      return [err, { id, kind: 'connect', result: { client: 'c', version: 'v', expires: true, ttl: 5 } }];
    case 'refresh':
      return [err, { id, kind: 'refresh', result: { expires: true, ttl: 5 } }];
    case 'subscribe':
      return [err, { id, kind: 'subscribe', result: { recovered: true, epoch: 'e', offset: 2, publications: [{ data: utf8('{"a":1}'), offset: 2 }] } }];
    case 'history':
      return [err, { id, kind: 'history', result: { publications: [{ data: utf8('1'), offset: 1, info: { user: 'u', client: 'c' } }], epoch: 'e', offset: 1 } }];
    case 'presence':
      return [err, { id, kind: 'presence', result: { presence: { c: { user: 'u', client: 'c', connInfo: utf8('{"x":1}') } } } }];
    case 'ping':
      return [{ id, kind: 'ping' }];
    default:
      return [err, { id, kind: method === 'publish' ? 'publish' : 'unsubscribe' }];
  }
}

export const v1Properties: readonly FuzzProperty[] = [
  defineProperty('v1 commands: any frame decodes or throws ProtocolDecodeError', 600, () =>
    fc.property(hostileV1Frame, (frame) => {
      onlyThrows(DECODE_ERRORS, () => V1Codec.create().decodeCommands(frame, MAX_COMMAND));
    }),
  ),
  defineProperty('v1 commands: a client\'s frame decodes, and every reply to each command is JSON echoing its uid and method', 300, () =>
    fc.property(v1Frame, (frame) => {
      const parsed = JSON.parse(Buffer.from(frame).toString()) as { uid?: string; method: string } | { uid?: string; method: string }[];
      const sent = Array.isArray(parsed) ? parsed : [parsed];
      for (const pick of [0, 1]) {
        const codec = V1Codec.create();
        const cmds = codec.decodeCommands(frame, MAX_COMMAND);
        assert.equal(cmds.length, sent.length);
        cmds.forEach((c, i) => {
          const replies = repliesFor(c.id, sent[i]!.method);
          const r = JSON.parse(Buffer.from(codec.encodeReply(replies[Math.min(pick, replies.length - 1)]!)).toString()) as { uid?: string; method: string };
          assert.deepEqual([r.uid, r.method], [sent[i]!.uid, sent[i]!.method]);
        });
      }
    }),
  ),
  defineProperty('v1 commands: inputs up to 64 KiB decode in bounded time, with only ProtocolDecodeError', 40, () =>
    fc.property(grownText(jsonishText.map((s) => s.slice(0, 12)), SHAPES).filter((t) => Buffer.byteLength(t) <= MAX_INPUT_BYTES), (t) => {
      const frame = utf8(t);
      boundedOnlyThrows(DECODE_ERRORS, frame.length, () => V1Codec.create().decodeCommands(frame, MAX_COMMAND));
    }),
  ),
  defineProperty('first frame: every v1 frame is recognised, no v2 JSON frame is, and no input throws', 400, () =>
    fc.property(v1Frame, command(jsonPayload(false)).map((c) => utf8(commandJson(c))), fc.uint8Array({ maxLength: 200 }), (v1, v2, junk) => {
      assert.equal(looksLikeV1(v1), true);
      // Only a frame the v2 codec reads is a v2 client's first frame.
      if (onlyThrows(DECODE_ERRORS, () => jsonCodec.decodeCommands(v2, MAX_COMMAND)).ok) assert.equal(looksLikeV1(v2), false);
      looksLikeV1(junk);
    }),
  ),
];
