/**
 * Properties of the bodies the HTTP transports decode before a session exists: `/emulation`
 * requests (`decodeEmulationBody` in src/transport/emulation.ts; the Protobuf form through
 * `decodeEmulationRequest`) and the unidirectional transports' bare ConnectRequest
 * (`decodeConnect` in src/transport/shared/uni-connect.ts over the JSON codec's
 * `decodeConnectRequest`, the same for a POST body, a `cf_connect` parameter or a first
 * uni_websocket message). Documented failures: `ProtocolDecodeError` from the codecs; the
 * transport-level functions answer `undefined` (HTTP 400) and never throw.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import { decodeEmulationRequest, protobufCodec } from '../../../src/protocol/protobuf/codec.js';
import { decodeEmulationBody } from '../../../src/transport/emulation.js';
import { decodeConnect } from '../../../src/transport/shared/uni-connect.js';
import { command, connectRequest, text } from './commands.js';
import { MAX_INPUT_BYTES, boundedOnlyThrows, defineProperty, onlyThrows, type FuzzProperty } from './harness.js';
import { anyText, editedTree, gap, grownBytes, grownText, jsonishText, jsonPayload, mutatedBytes, shapedGarbage, utf8 } from './inputs.js';
import { commandJson, commandsProtobuf, connectWire, emulationProtobuf, rawBytes, writeJson } from './wire.js';

const DECODE_ERRORS = [ProtocolDecodeError] as const;
const MAX = 64 * 1024;
const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/octet-stream';

// ---------------------------------------------------------------- /emulation

const jsonEmulation = fc
  .record({ node: text, session: text, cmds: fc.array(command(jsonPayload(false)), { minLength: 1, maxLength: 3 }) })
  .map(({ node, session, cmds }) => {
    const data = cmds.map((c) => commandJson(c)).join('\n');
    return { node, session, cmds, data: utf8(data), body: Buffer.from(JSON.stringify({ node, session, data })) };
  });

const protobufEmulation = fc
  .record({ node: text, session: text, cmds: fc.array(command(fc.uint8Array({ minLength: 1, maxLength: 32 })), { minLength: 1, maxLength: 3 }) })
  .map(({ node, session, cmds }) => {
    const data = new Uint8Array(commandsProtobuf(cmds));
    return { node, session, cmds, data, body: Buffer.from(emulationProtobuf(node, session, data)) };
  });

const hostileEmulationBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  anyText.map(utf8),
  mutatedBytes(jsonEmulation.map((e) => e.body)),
  mutatedBytes(protobufEmulation.map((e) => e.body)),
  editedTree(jsonEmulation.map((e) => ({ node: e.node, session: e.session, data: new TextDecoder().decode(e.data) }))).map((t) => utf8(writeJson(t))),
);

const emulationBig = fc.oneof(
  grownBytes(fc.oneof(fc.uint8Array({ maxLength: 6 }), fc.constantFrom(Uint8Array.of(0x1a, 0x00), Uint8Array.of(0x0b), Uint8Array.of(0x1a, 0x80, 0x80, 0x04)))),
  grownText(jsonishText.map((s) => s.slice(0, 10)), [
    ['{"node":"n","session":"s","data":"', '{}\\n', '', '', '"}'],
    ['', '[', '', ']', ''],
    ['{"node":"', '\\u0041', '', '', '"}'],
  ]).map(utf8),
);

// ---------------------------------------------------------------- unidirectional connect

/** A valid bare ConnectRequest, pretty-printed or not, with surrounding whitespace. */
const connectBody = fc
  .tuple(connectRequest(jsonPayload(true)), gap(true), gap(true))
  .map(([req, g, around]) => ({ req, body: utf8(around + writeJson(connectWire(req, rawBytes), g) + around) }));

const hostileConnectBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  anyText.map(utf8),
  mutatedBytes(connectBody.map((c) => c.body)),
  editedTree(connectRequest(jsonPayload(true)).map((r) => connectWire(r, rawBytes))).map((t) => utf8(writeJson(t))),
  shapedGarbage.map((t) => utf8(writeJson(t))),
);

const connectBig = grownText(jsonishText.map((s) => s.slice(0, 12)), [
  ['{"subs":{', '"c":{"tf":{"nodes":[{"vals":["x"]}]}},', '"d":{}', '', '}}'],
  ['{"data":', '[', '0', ']', '}'],
  ['{"subs":{"c":{"tf":', '{"nodes":[', '{}', ']}', '}}}'],
  ['{"headers":{', '"h":"\\u00e9",', '"z":""', '', '}}'],
  ['', '\n', 'null', '', ''],
]).filter((t) => Buffer.byteLength(t) <= MAX_INPUT_BYTES);

export const transportProperties: readonly FuzzProperty[] = [
  defineProperty('/emulation: a JSON body hands the session its node, session and commands', 150, () =>
    fc.property(jsonEmulation, (e) => {
      const r = decodeEmulationBody(e.body, JSON_TYPE);
      assert.ok(r !== undefined);
      assert.deepStrictEqual({ node: r.node, session: r.session, data: new Uint8Array(r.data) }, { node: e.node, session: e.session, data: e.data });
      assert.deepStrictEqual(jsonCodec.decodeCommands(r.data, MAX), e.cmds);
    }),
  ),
  defineProperty('/emulation: a Protobuf body (official SDK encoder) hands the session its node, session and commands', 150, () =>
    fc.property(protobufEmulation, (e) => {
      const r = decodeEmulationBody(e.body, PROTOBUF_TYPE);
      assert.ok(r !== undefined);
      assert.deepStrictEqual({ node: r.node, session: r.session, data: r.data }, { node: e.node, session: e.session, data: e.data });
      assert.deepStrictEqual(protobufCodec.decodeCommands(r.data, MAX), e.cmds);
    }),
  ),
  defineProperty('/emulation: any body decodes or is refused; the Protobuf decoder throws only ProtocolDecodeError', 400, () =>
    fc.property(hostileEmulationBody, (body) => {
      const buf = Buffer.from(body);
      onlyThrows([], () => decodeEmulationBody(buf, JSON_TYPE));
      onlyThrows([], () => decodeEmulationBody(buf, PROTOBUF_TYPE));
      onlyThrows(DECODE_ERRORS, () => decodeEmulationRequest(buf));
    }),
  ),
  defineProperty('/emulation: bodies up to 64 KiB decode in bounded time', 30, () =>
    fc.property(emulationBig, (body) => {
      const buf = Buffer.from(body);
      boundedOnlyThrows([], buf.length, () => decodeEmulationBody(buf, JSON_TYPE));
      boundedOnlyThrows(DECODE_ERRORS, buf.length, () => decodeEmulationRequest(buf));
    }),
  ),
  defineProperty('uni connect: a valid ConnectRequest body decodes to the request written', 300, () =>
    fc.property(connectBody, ({ req, body }) => {
      assert.deepStrictEqual(jsonCodec.decodeConnectRequest(body), req);
    }),
  ),
  defineProperty('uni connect: any body decodes or throws ProtocolDecodeError; what decodes re-encodes to itself', 500, () =>
    fc.property(hostileConnectBody, (body) => {
      onlyThrows([], () => decodeConnect(jsonCodec, body));
      const out = onlyThrows(DECODE_ERRORS, () => jsonCodec.decodeConnectRequest(body));
      if (out.ok) assert.deepStrictEqual(jsonCodec.decodeConnectRequest(utf8(writeJson(connectWire(out.value, rawBytes)))), out.value);
    }),
  ),
  defineProperty('uni connect: bodies up to 64 KiB decode in bounded time, with only ProtocolDecodeError', 30, () =>
    fc.property(connectBig, (t) => {
      const body = utf8(t);
      boundedOnlyThrows(DECODE_ERRORS, body.length, () => jsonCodec.decodeConnectRequest(body));
    }),
  ),
];
