/**
 * Properties of the client command decoders (`src/protocol/`): the JSON codec's newline-framed
 * commands and the Protobuf codec's varint-delimited ones. Documented failure: `ProtocolDecodeError`
 * (the session answers it with disconnect 3501); anything else thrown is a bug.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import { protobufCodec } from '../../../src/protocol/protobuf/codec.js';
import type { Command } from '../../../src/protocol/types.js';
import { encodeUvarint32 } from '../../../src/protocol/varint.js';
import { command } from './commands.js';
import { MAX_INPUT_BYTES, boundedOnlyThrows, defineProperty, onlyThrows, type FuzzProperty } from './harness.js';
import { anyText, editedTree, gap, grownBytes, grownText, jsonishText, jsonPayload, mutatedBytes, shapedGarbage, utf8 } from './inputs.js';
import { commandJson, commandsProtobuf, commandWire, rawBytes, setMember, writeJson } from './wire.js';

/** `websocket.message_size_limit`'s default, the `maxCommandSize` sessions decode with. */
const MAX_COMMAND = 64 * 1024;
const DECODE_ERRORS = [ProtocolDecodeError] as const;

const jsonCommand = command(jsonPayload(false));
const protobufCommand = command(fc.uint8Array({ minLength: 1, maxLength: 48 }));

/** Valid JSON frames: 1-4 commands, one per line, with optional spacing and a trailing newline. */
const jsonFrame = fc
  .tuple(fc.array(jsonCommand, { minLength: 1, maxLength: 4 }), gap(false), fc.boolean())
  .map(([cmds, g, trailing]) => ({ cmds, frame: utf8(cmds.map((c) => commandJson(c, g)).join('\n') + (trailing ? '\n' : '')) }));

const protobufFrame = fc.array(protobufCommand, { minLength: 1, maxLength: 4 }).map((cmds) => ({ cmds, frame: commandsProtobuf(cmds) }));

/** Anything a client could send as a JSON frame, mostly near-valid. */
const hostileJsonFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  anyText.map(utf8),
  mutatedBytes(jsonFrame.map((f) => f.frame)),
  editedTree(jsonCommand.map((c) => commandWire(c, rawBytes))).map((t) => utf8(writeJson(t))),
  fc.array(shapedGarbage, { minLength: 1, maxLength: 3 }).map((ts) => utf8(ts.map((t) => writeJson(t)).join('\n'))),
);

const hostileProtobufFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  mutatedBytes(protobufFrame.map((f) => f.frame)),
  // A valid command's body behind a length prefix that may not match it.
  fc.tuple(protobufFrame, fc.nat({ max: 300 })).map(([f, len]) => Uint8Array.from([...encodeUvarint32(len), ...f.frame.subarray(1)])),
);

/** A command limit from tiny to the default, so the size check meets every position. */
const commandLimit = fc.oneof(fc.constant(MAX_COMMAND), fc.integer({ min: 1, max: 512 }));

// ---------------------------------------------------------------- inputs at the size limit

/** [prefix, unit, middle, closer, suffix] shapes that nest, repeat or never close. */
const JSON_SHAPES: readonly (readonly [string, string, string, string, string])[] = [
  ['{"id":1,"publish":{"channel":"c","data":', '[', '1', ']', '}}'],
  ['{"id":1,"publish":{"channel":"c","data":', '{"a":', '1', '}', '}}'],
  ['{"id":1,"subscribe":{"channel":"c","tf":', '{"nodes":[', '{}', ']}', '}}'],
  ['{"id":1,"history":{"channel":"c","since":', '{"since":', '{}', '}', '}}'],
  ['{"id":1,"connect":{"headers":{', '"k":"v",', '"z":"v"', '', '}}}'],
  ['{"id":1,"connect":{"subs":{', '"c":{"tf":{"nodes":[{},{"vals":["a"]}]}},', '"d":{}', '', '}}}'],
  ['{"id":1,"rpc":{"method":"', '\\u0041\\n', '', '', '"}}'],
  ['{"id":1,"publish":{"channel":"c","data":[', '1234567890.5e-3,', '0', '', ']}}'],
  ['{"id":1,"publish":{"channel":"c","data":', '9', '', '', '}}'],
  ['{"id":', '9', '', '', '}'],
  ['', '{}\n', '', '', '{"id":1,"ping":{}}'],
  ['', '{"id":1,"publish":{"channel":"c","data":{"x":[1,2,3]}}}\n', '', '', '{}'],
  ['{"id":1,"publish":{"channel":"', 'a', '', '', ''],
  ['', ' ', '{}', '', ''],
  ['', '[', '', '', ''],
  ['{"id":1,"connect":{"data":"', '\\\\', '', '', '"}}'],
];

const jsonBig = grownText(jsonishText.map((s) => s.slice(0, 12)), JSON_SHAPES).filter((t) => Buffer.byteLength(t) <= MAX_INPUT_BYTES);

/** Bytes of a Command nesting `depth` FilterNodes in `subscribe.tf`, built in linear time. */
function nestedFilterFrame(depth: number): Uint8Array {
  // Content length of each level, innermost first: a level is tag 0x32 (nodes = 6, LEN), length, inner.
  const lens = [0];
  for (let i = 1; i <= depth; i++) lens.push(1 + encodeUvarint32(lens[i - 1]!).length + lens[i - 1]!);
  const parts: Uint8Array[] = [];
  for (let i = depth; i >= 1; i--) parts.push(Uint8Array.of(0x32), encodeUvarint32(lens[i - 1]!));
  const tf = Buffer.concat([Uint8Array.of(0x6a), encodeUvarint32(lens[depth]!), ...parts]); // tf = 13, LEN
  const sub = Buffer.concat([Uint8Array.of(0x0a, 0x01, 0x63), tf]); // channel "c"
  const cmd = Buffer.concat([Uint8Array.of(0x08, 0x01, 0x2a), encodeUvarint32(sub.length), sub]); // id 1, subscribe = 5
  return new Uint8Array(Buffer.concat([encodeUvarint32(cmd.length), cmd]));
}

/** Largest nesting that fits the limit: about three bytes a level once lengths pass 127. */
const MAX_FILTER_DEPTH = Math.floor((MAX_INPUT_BYTES - 32) / 4);

const protobufUnit = fc.oneof(
  fc.uint8Array({ maxLength: 8 }),
  protobufCommand.map((c) => commandsProtobuf([c])),
  // Pongs (empty commands), unknown start-group tags, huge varints, nested empty messages.
  fc.constantFrom(Uint8Array.of(0x00), Uint8Array.of(0x13), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), Uint8Array.of(0x32, 0x00), Uint8Array.of(0x80)),
);

const protobufBig: fc.Arbitrary<Uint8Array> = fc.oneof(
  grownBytes(protobufUnit),
  // The same units inside one command's body, behind a correct length prefix.
  grownBytes(protobufUnit, MAX_INPUT_BYTES - 8).map((body) => new Uint8Array(Buffer.concat([encodeUvarint32(body.length), body]))),
  fc.oneof(fc.constant(MAX_FILTER_DEPTH), fc.integer({ min: 1, max: MAX_FILTER_DEPTH })).map(nestedFilterFrame),
);

// ---------------------------------------------------------------- properties

/**
 * The value with every -0 made 0. The JSON decoder takes `-0` for an integer field (Go's decoder
 * refuses it for unsigned ones) and keeps the sign, which no writer can reproduce; the two zeros
 * compare equal everywhere the server uses them.
 */
function withoutNegativeZero<T>(v: T): T {
  if (Object.is(v, -0)) return 0 as T;
  if (Array.isArray(v)) return v.map(withoutNegativeZero) as T;
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) setMember(out, k, withoutNegativeZero((v as Record<string, unknown>)[k]));
  return out as T;
}

function decodeJson(frame: Uint8Array, limit = MAX_COMMAND): Command[] {
  return jsonCodec.decodeCommands(frame, limit);
}

export const protocolProperties: readonly FuzzProperty[] = [
  defineProperty('JSON commands: a valid frame decodes to the commands written', 200, () =>
    fc.property(jsonFrame, ({ cmds, frame }) => {
      assert.deepStrictEqual(decodeJson(frame), cmds);
    }),
  ),
  defineProperty('JSON commands: any frame decodes or throws ProtocolDecodeError; what decodes re-encodes to itself', 600, () =>
    fc.property(hostileJsonFrame, commandLimit, (frame, limit) => {
      const out = onlyThrows(DECODE_ERRORS, () => decodeJson(frame, limit));
      if (!out.ok) return;
      // Decoded commands are model values: written back as JSON they decode to the same.
      const again = utf8(out.value.map((c) => commandJson(c)).join('\n'));
      assert.deepStrictEqual(decodeJson(again), withoutNegativeZero(out.value));
    }),
  ),
  defineProperty('JSON commands: inputs up to 64 KiB decode in bounded time, with only ProtocolDecodeError', 40, () =>
    fc.property(jsonBig, (t) => {
      const frame = utf8(t);
      boundedOnlyThrows(DECODE_ERRORS, frame.length, () => decodeJson(frame));
    }),
  ),
  defineProperty('Protobuf commands: a valid frame (official SDK encoder) decodes to the commands written', 200, () =>
    fc.property(protobufFrame, ({ cmds, frame }) => {
      assert.deepStrictEqual(protobufCodec.decodeCommands(frame, MAX_COMMAND), cmds);
    }),
  ),
  defineProperty('Protobuf commands: any frame decodes or throws ProtocolDecodeError', 600, () =>
    fc.property(hostileProtobufFrame, commandLimit, (frame, limit) => {
      onlyThrows(DECODE_ERRORS, () => protobufCodec.decodeCommands(frame, limit));
    }),
  ),
  defineProperty('Protobuf commands: inputs up to 64 KiB decode in bounded time, with only ProtocolDecodeError', 40, () =>
    fc.property(protobufBig, (frame) => {
      boundedOnlyThrows(DECODE_ERRORS, frame.length, () => protobufCodec.decodeCommands(frame, MAX_COMMAND));
    }),
  ),
  defineProperty('JSON and Protobuf decode the same command alike', 200, () =>
    fc.property(command(jsonPayload(false)), (c) => {
      assert.deepStrictEqual(protobufCodec.decodeCommands(commandsProtobuf([c]), MAX_COMMAND), decodeJson(utf8(commandJson(c))));
    }),
  ),
];
