/**
 * The HTTP proxy's JSON: requests written with Centrifugo's field names (snake_case, payloads
 * embedded as raw JSON, empty fields left out as Go's `omitempty` does), and the backend's answer
 * `{"result": {...}} | {"error": {...}} | {"disconnect": {...}}` decoded into `ProxyAnswer`.
 * Payload members of a result (`info`, `data`, `meta`, and a connect result's per-channel `info`
 * and `data`) are kept as their exact JSON text, so big integers and key order reach clients
 * unchanged. Any other shape is a `ProxyCallError`.
 */
import { parseJsonWithRaw, RawJson } from '../protocol/json/raw-json.js';
import { JsonBytes, toJsonText } from '../protocol/json/json-text.js';
import { isStdBase64 } from '../util/base64.js';
import type { OptionOverride } from '../rules/subscription-options.js';
import {
  ProxyCallError,
  type ConnectProxyResult, type ConnectSubOptions, type ProxyAnswer, type ProxyMethod, type ProxyRequests, type ProxyResults,
  type PublishProxyResult, type RefreshProxyResult, type ResultPayload, type RpcProxyResult, type SubRefreshProxyResult, type SubscribeProxyResult,
} from './types.js';
import { messageOf } from '../util/message-of.js';
import { dict } from '../util/dict.js';

type Obj = Record<string, unknown>;

/** Request fields in the order Centrifugo writes them, with their JSON names. */
const REQUEST_FIELDS: readonly (readonly [string, string])[] = [
  ['client', 'client'], ['transport', 'transport'], ['protocol', 'protocol'], ['encoding', 'encoding'],
  ['user', 'user'], ['channel', 'channel'], ['method', 'method'], ['token', 'token'],
  ['name', 'name'], ['version', 'version'], ['data', 'data'], ['b64data', 'b64data'],
  ['channels', 'channels'], ['meta', 'meta'],
];

/** The request body. */
export function requestJson<M extends ProxyMethod>(request: ProxyRequests[M]): string {
  const src = request as unknown as Obj;
  const out: Obj = {};
  for (const [field, json] of REQUEST_FIELDS) {
    const v = src[field];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[json] = v instanceof Uint8Array ? new JsonBytes(v) : v;
  }
  return toJsonText(out);
}

/** Payload members kept raw: at depth 1 (the result object) and 3 (a connect result's `subs` entries). */
function isRawKey(key: string, depth: number): boolean {
  return (depth === 1 && (key === 'info' || key === 'data' || key === 'meta')) || (depth === 3 && (key === 'info' || key === 'data'));
}

/** Decodes the body of a 200 answer. Throws ProxyCallError when it is not the expected JSON. */
export function decodeAnswer<M extends ProxyMethod>(method: M, body: string): ProxyAnswer<ProxyResults[M]> {
  let parsed: unknown;
  try {
    parsed = parseJsonWithRaw(body, isRawKey);
  } catch (e) {
    throw new ProxyCallError(`answer is not JSON: ${messageOf(e)}`);
  }
  const top = object(parsed, 'answer');
  const disconnect = top['disconnect'];
  if (disconnect !== undefined && disconnect !== null) {
    const d = object(disconnect, 'disconnect');
    return { kind: 'disconnect', code: uint32(d, 'code'), reason: string(d, 'reason') };
  }
  const error = top['error'];
  if (error !== undefined && error !== null) {
    const e = object(error, 'error');
    return { kind: 'error', code: uint32(e, 'code'), message: string(e, 'message'), temporary: boolean(e, 'temporary') };
  }
  const result = top['result'];
  if (result === undefined || result === null) return { kind: 'result', result: undefined };
  return { kind: 'result', result: RESULT_DECODERS[method](object(result, 'result')) as ProxyResults[M] };
}

const RESULT_DECODERS: { [M in ProxyMethod]: (o: Obj) => ProxyResults[M] } = {
  connect: (o): ConnectProxyResult => {
    const out: ConnectProxyResult = {
      user: string(o, 'user'),
      expireAt: integer(o, 'expire_at'),
      info: payload(o, 'info'),
      data: payload(o, 'data'),
      channels: stringList(o, 'channels'),
      meta: rawPayload(o, 'meta'),
    };
    const subs = o['subs'];
    if (subs !== undefined && subs !== null) {
      const m = object(subs, 'subs');
      out.subs = dict();
      for (const ch of Object.keys(m)) out.subs[ch] = subOptions(object(m[ch], `subs.${ch}`));
    }
    return out;
  },
  refresh: (o): RefreshProxyResult => ({ expired: boolean(o, 'expired'), expireAt: integer(o, 'expire_at'), info: payload(o, 'info'), meta: rawPayload(o, 'meta') }),
  subscribe: (o): SubscribeProxyResult => {
    const out: SubscribeProxyResult = { expireAt: integer(o, 'expire_at'), info: payload(o, 'info'), data: payload(o, 'data') };
    const ov = override(o);
    if (ov !== undefined) out.override = ov;
    return out;
  },
  publish: (o): PublishProxyResult => {
    const out: PublishProxyResult = {
      data: payload(o, 'data'),
      skipHistory: boolean(o, 'skip_history'),
      idempotencyKey: string(o, 'idempotency_key'),
      delta: boolean(o, 'delta'),
      version: integer(o, 'version'),
      versionEpoch: string(o, 'version_epoch'),
    };
    const tags = o['tags'];
    if (tags !== undefined && tags !== null) out.tags = stringMap(tags, 'tags');
    return out;
  },
  sub_refresh: (o): SubRefreshProxyResult => ({ expired: boolean(o, 'expired'), expireAt: integer(o, 'expire_at'), info: payload(o, 'info') }),
  rpc: (o): RpcProxyResult => ({ data: payload(o, 'data') }),
};

function subOptions(o: Obj): ConnectSubOptions {
  const out: ConnectSubOptions = { expireAt: integer(o, 'expire_at'), info: payload(o, 'info'), data: payload(o, 'data') };
  const ov = override(o);
  if (ov !== undefined) out.override = ov;
  return out;
}

const OVERRIDE_FIELDS: readonly (readonly [string, keyof OptionOverride])[] = [
  ['presence', 'presence'], ['join_leave', 'joinLeave'], ['force_recovery', 'forceRecovery'],
  ['force_positioning', 'forcePositioning'], ['force_push_join_leave', 'forcePushJoinLeave'],
];

/** `override`: each member is a protobuf BoolValue, `{"value": bool}` (a missing value is false). */
function override(o: Obj): OptionOverride | undefined {
  const raw = o['override'];
  if (raw === undefined || raw === null) return undefined;
  const ov = object(raw, 'override');
  const out: OptionOverride = {};
  for (const [json, field] of OVERRIDE_FIELDS) {
    const v = ov[json];
    if (v === undefined || v === null) continue;
    out[field] = boolean(object(v, `override.${json}`), 'value');
  }
  return out;
}

/** A payload member and its `b64` twin; the twin must be standard base64 with padding (Go's StdEncoding). */
function payload(o: Obj, key: string): ResultPayload {
  const out = rawPayload(o, key);
  const b64 = o[`b64${key}`];
  if (b64 === undefined || b64 === null || b64 === '') return out;
  if (typeof b64 !== 'string') bad(`b64${key} must be a string`);
  if (!isStdBase64(b64)) bad(`b64${key} is not base64`);
  out.b64 = b64;
  return out;
}

/** A payload member kept as its JSON text; `null` is no payload. `meta` has no `b64` twin. */
function rawPayload(o: Obj, key: string): ResultPayload {
  const raw = o[key];
  return raw instanceof RawJson && raw.text !== 'null' ? { raw: new Uint8Array(Buffer.from(raw.text, 'utf8')) } : {};
}

function object(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof RawJson) bad(`${what} must be an object`);
  return v as Obj;
}

function string(o: Obj, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') bad(`${key} must be a string`);
  return v;
}

function boolean(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') bad(`${key} must be a boolean`);
  return v;
}

/** An integer; Go's int64 fields may arrive as JSON numbers or, from protobuf JSON, as strings. */
function integer(o: Obj, key: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) bad(`${key} must be an integer`);
  return n;
}

/** A code: proto `uint32`. Its range (400–1999 for errors, 4000–4999 for disconnects) is documented, not checked, as in Centrifugo. */
function uint32(o: Obj, key: string): number {
  const n = integer(o, key);
  if (n < 0 || n > 0xffffffff) bad(`${key} must be a uint32`);
  return n;
}

function stringList(o: Obj, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) bad(`${key} must be a list of strings`);
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> {
  const o = object(v, what);
  const out = dict<string>();
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (typeof x !== 'string') bad(`${what}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

function bad(why: string): never {
  throw new ProxyCallError(`unexpected answer: ${why}`);
}
