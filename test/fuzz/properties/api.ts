/**
 * Properties of the server API's request decoding (src/api/): the body parser (`parseApiJson`,
 * then `asObject`), the field readers the methods use, and the legacy `/api` stream
 * (`parseLegacyApiJson`). Documented failures: `ProtocolDecodeError` from the parser (answered
 * 400) and `JsonFieldError` from the readers (error 107 in the reply). Over a real in-process server,
 * any body to any method is answered 200 or 400, never with error 100 or a logged error.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { parseApiJson, parseLegacyApiJson } from '../../../src/api/json.js';
import { JsonFieldError, asObject, bool, boolValue, int, payload, position, str, strList, strMap, type Obj } from '../../../src/protocol/json/fields.js';
import { METHODS } from '../../../src/api/methods.js';
import { RawClient } from '../../helpers/raw-ws.js';
import { connToken, startServer, API_KEY } from '../../helpers/server.js';
import { MAX_INPUT_BYTES, boundedOnlyThrows, defineProperty, defineResourceProperty, onlyThrows, type FuzzProperty } from './harness.js';
import { anyText, editedTree, gap, grownText, jsonishText, jsonPayloadText, shapedGarbage, utf8 } from './inputs.js';
import { RawText, writeJson, type Wire, type WireObject } from './wire.js';

const PARSE_ERRORS = [ProtocolDecodeError, JsonFieldError] as const;
const READER_ERRORS = [JsonFieldError] as const;

// ---------------------------------------------------------------- request arbitraries

const FUZZ_USER = 'fuzz';
const channel = fc.constantFrom('chat:a', 'hist:a', 'a', '', 'nope:x', 'chat:', 'hist:*', 'chat:a#fuzz', '$x', 'hist:\u00e9');
const user = fc.constantFrom(FUZZ_USER, '', 'other');
const integer = fc.oneof(fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, 1e300, -1e300, 3000, 3500, 4999, 1000, 1006), fc.integer());
const payloadRaw = jsonPayloadText(true).map((t) => new RawText(t));
const b64 = fc.oneof(fc.base64String({ maxLength: 24 }), fc.constantFrom('!!', '====', 'e30'));
const pattern = fc.oneof(fc.constantFrom('*', 'chat:*', '[', '[a-', '\\', 'hist:?', '{a,b}', '**'), fc.string({ maxLength: 8 }));
const optionalBool = fc.record({ value: fc.boolean() }, { noNullPrototype: true });

/** The members the methods read, with plausible and edge values; any subset of them. */
const requestFields: fc.Arbitrary<WireObject<RawText>> = fc.record(
  {
    channel,
    channels: fc.array(channel, { maxLength: 3 }),
    data: payloadRaw,
    b64data: b64,
    info: payloadRaw,
    b64info: b64,
    user,
    client: fc.constantFrom('', 'c1'),
    session: fc.constantFrom('', 's1'),
    tags: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2, noNullPrototype: true }),
    idempotency_key: fc.string({ maxLength: 8 }),
    skip_history: fc.boolean(),
    delta: fc.boolean(),
    version: integer,
    version_epoch: fc.string({ maxLength: 8 }),
    expire_at: fc.oneof(integer, fc.constant(Math.floor(Date.now() / 1000) + 3600)),
    expired: fc.boolean(),
    override: fc.record({ presence: optionalBool, join_leave: optionalBool, force_recovery: optionalBool, force_positioning: optionalBool }, { requiredKeys: [], noNullPrototype: true }),
    recover_since: fc.record({ offset: integer, epoch: fc.string({ maxLength: 8 }) }, { requiredKeys: [], noNullPrototype: true }),
    disconnect: fc.record({ code: integer, reason: fc.string({ unit: 'binary', maxLength: 140 }) }, { requiredKeys: [], noNullPrototype: true }),
    whitelist: fc.array(fc.constantFrom('c1', ''), { maxLength: 2 }),
    limit: integer,
    since: fc.record({ offset: integer, epoch: fc.string({ maxLength: 8 }) }, { requiredKeys: [], noNullPrototype: true }),
    reverse: fc.boolean(),
    pattern,
    method: fc.constantFrom('', 'm', 'publish'),
    params: payloadRaw,
    parallel: fc.boolean(),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const methodName = fc.constantFrom(...Object.keys(METHODS));

/** A method's request: its fields, or for `batch` a list of `{<method>: fields}` commands. */
const validishRequest: fc.Arbitrary<WireObject<RawText>> = fc.oneof(
  { weight: 4, arbitrary: requestFields },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(fc.tuple(methodName, requestFields), { maxLength: 4 }), fc.boolean())
      .map(([cmds, parallel]) => ({ commands: cmds.map(([m, f]) => ({ [m]: f })), parallel })),
  },
);

/** Request bodies: plausible, edited into wrong shapes, vocabulary soup, or any text. */
const apiBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(validishRequest, gap(true)).map(([r, g]) => writeJson(r, g)) },
  { weight: 3, arbitrary: editedTree(validishRequest).map((t) => writeJson(t)) },
  { weight: 1, arbitrary: shapedGarbage.map((t) => writeJson(t)) },
  { weight: 1, arbitrary: anyText },
);

const legacyMethod: fc.Arbitrary<Wire<RawText>> = fc.oneof(
  methodName,
  methodName.map((m) => m.toUpperCase()),
  fc.integer({ min: -1, max: 40 }),
  fc.constantFrom('connections', 'nope', 1.5, null, true),
);

/** Legacy streams: `{method, params, id}` objects one after another, any spacing between. */
const legacyBody: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.tuple(fc.record({ method: legacyMethod, params: requestFields, id: integer }, { requiredKeys: [], noNullPrototype: true }), gap(true)), {
      minLength: 1,
      maxLength: 4,
    })
    .map((cmds) => cmds.map(([c, g]) => writeJson(c, g) + g).join('')),
  fc.array(editedTree(fc.record({ method: legacyMethod, params: requestFields }, { noNullPrototype: true })), { minLength: 1, maxLength: 3 }).map((ts) => ts.map((t) => writeJson(t)).join('\n')),
  anyText,
);

const API_SHAPES: readonly (readonly [string, string, string, string, string])[] = [
  ['{"channel":"c","data":', '[', '0', ']', '}'],
  ['{"commands":[', '{"publish":{"channel":"c"}},', '{}', '', ']}'],
  ['{"channels":[', '"c",', '"d"', '', ']}'],
  ['', '{"method":"info"}', '', '', ''],
  ['{"tags":{', '"k":"\\u00e9",', '"z":""', '', '}}'],
  ['{"info":', '{"info":', '1', '}', '}'],
];
const apiBig = grownText(jsonishText.map((s) => s.slice(0, 12)), API_SHAPES).filter((t) => Buffer.byteLength(t) <= MAX_INPUT_BYTES);

// ---------------------------------------------------------------- helpers

const READERS = [str, bool, int, strList, strMap, payload, position, boolValue, asObject] as const;

/**
 * Every reader the methods use, applied to every member present and to a few absent ones, and
 * again inside object members (methods read `override`, `disconnect`, `since` that way).
 */
function readEverything(o: Obj, depth = 0): void {
  for (const key of [...Object.keys(o), 'channel', 'data']) {
    for (const read of READERS) onlyThrows(READER_ERRORS, () => read(o, key));
    const inner = onlyThrows(READER_ERRORS, () => asObject(o[key], key));
    if (inner.ok && depth < 2) readEverything(inner.value, depth + 1);
  }
}

/** Error objects in a reply tree (`{"error":{"code":…}}` at any depth, batch replies included). */
function errorCodes(v: unknown, out: number[] = []): number[] {
  if (Array.isArray(v)) v.forEach((x) => errorCodes(x, out));
  else if (typeof v === 'object' && v !== null) {
    const e = (v as Record<string, unknown>).error;
    if (typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).code === 'number') out.push((e as { code: number }).code);
    Object.values(v).forEach((x) => errorCodes(x, out));
  }
  return out;
}

// ---------------------------------------------------------------- properties

export const apiProperties: readonly FuzzProperty[] = [
  defineProperty('server API: any body parses or throws ProtocolDecodeError/JsonFieldError; the readers throw only JsonFieldError', 150, () =>
    fc.property(apiBody, (body) => {
      const out = onlyThrows(PARSE_ERRORS, () => asObject(parseApiJson(body === '' ? '{}' : body)));
      if (out.ok) readEverything(out.value);
    }),
  ),
  defineProperty('server API: payloads reach the method as the exact bytes sent', 200, () =>
    fc.property(jsonPayloadText(true), gap(true), (t, g) => {
      const o = asObject(parseApiJson(`{${g}"channel":"c",${g}"data":${g}${t}${g}}`));
      assert.deepStrictEqual(payload(o, 'data'), utf8(t));
    }),
  ),
  defineProperty('server API: a legacy stream parses or throws ProtocolDecodeError', 100, () =>
    fc.property(legacyBody, (body) => {
      const out = onlyThrows([ProtocolDecodeError], () => parseLegacyApiJson(body));
      if (out.ok) for (const c of out.value) onlyThrows(PARSE_ERRORS, () => readEverything(asObject(c.params, 'params')));
    }),
  ),
  defineProperty('server API: bodies up to 64 KiB parse in bounded time', 30, () =>
    fc.property(apiBig, (t) => {
      const size = Buffer.byteLength(t);
      boundedOnlyThrows(PARSE_ERRORS, size, () => asObject(parseApiJson(t)));
      boundedOnlyThrows([ProtocolDecodeError], size, () => parseLegacyApiJson(t));
    }),
  ),
  defineResourceProperty('server API over HTTP: any body to any method is answered 200 or 400, never error 100', 40, async () => {
    const srv = await startServer({
      channel: {
        namespaces: [
          { name: 'chat', allow_subscribe_for_client: true, allow_user_limited_channels: true },
          { name: 'hist', allow_subscribe_for_client: true, history_size: 10, history_ttl: '300s', presence: true, join_leave: true, force_recovery: true },
        ],
      },
    });
    const token = await connToken(FUZZ_USER);
    let client: RawClient | undefined;
    let closed = true;
    /** Keeps one connection of the fuzz user open, so user-targeted methods reach a session. */
    const ensureClient = async () => {
      if (!closed) return;
      client = await RawClient.open(srv.wsUrl);
      closed = false;
      void client.closed.then(() => (closed = true));
      await client.connect(token, { subs: {} });
      client.send({ id: 2, subscribe: { channel: 'chat:a' } });
    };
    const property = fc.asyncProperty(fc.oneof(fc.tuple(methodName, apiBody), fc.tuple(fc.constant(''), legacyBody)), async ([method, body]) => {
      await ensureClient();
      const res = await fetch(`${srv.httpUrl}/api${method === '' ? '' : `/${method}`}`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body });
      const text = await res.text();
      assert.ok(res.status === 200 || res.status === 400, `status ${res.status}: ${text}`);
      if (res.status === 200) {
        // Every 200 answer is JSON (one document per legacy command) with no internal error in it.
        const docs = method === '' ? text.split('\n').filter((l) => l !== '') : [text];
        for (const d of docs) assert.deepStrictEqual(errorCodes(JSON.parse(d)).filter((c) => c === 100), [], d);
      }
      assert.deepStrictEqual(srv.errors, [], 'the server logged an error');
    });
    return {
      property,
      async dispose() {
        client?.close();
        await srv.stop();
      },
    };
  }),
];
