/**
 * Decoding half of the JSON codec: newline-delimited Command frames and bare ConnectRequests into
 * the protocol model. `bytes` fields keep their exact source text (raw JSON).
 */
import { ProtocolDecodeError } from '../codec.js';
import type {
  Command, ConnectRequest, HistoryRequest, PublishRequest, RefreshRequest, RpcRequest, SubRefreshRequest, SubscribeRequest, FilterNode,
} from '../types.js';
import { MAX_JSON_DEPTH, parseJsonWithRaw, RawJson, type RawKeyPredicate } from './raw-json.js';

type Obj = Record<string, unknown>;

const NEWLINE = 0x0a;
const MAX_UINT32 = 0xffff_ffff;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** In a Command, `data` is bytes in every request (depth 1) and in `connect.subs.<channel>` (depth 3). */
const commandRawKey: RawKeyPredicate = (key, depth) => key === 'data' && (depth === 1 || depth === 3);
/** In a bare ConnectRequest the same fields sit one level higher. */
const connectRawKey: RawKeyPredicate = (key, depth) => key === 'data' && (depth === 0 || depth === 2);

function fail(msg: string): never {
  throw new ProtocolDecodeError(msg);
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return fail('frame is not valid UTF-8');
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);
}

/** `null` and absent are the same (Go's decoder leaves the zero value); other types must match. */
function opt<T>(o: Obj, key: string, is: (v: unknown) => v is T, what: string): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!is(v)) fail(`${key}: expected ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const optObj = (o: Obj, k: string) => opt(o, k, isObj, 'object');
const optString = (o: Obj, k: string) => opt(o, k, isString, 'string');
const optBool = (o: Obj, k: string) => opt(o, k, isBool, 'boolean');

/** Reader for an integer field; `min`/`max` give the proto type's range. */
function intField(min: number, max: number): (o: Obj, k: string) => number | undefined {
  const is = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const what = `integer in [${min}, ${max}]`;
  return (o, k) => opt(o, k, is, what);
}
const optUint32 = intField(0, MAX_UINT32);
const optInt32 = intField(-0x8000_0000, 0x7fff_ffff);
// 2 ** 64 is the double nearest to 2^64 - 1: the widest range a JSON number can express here.
const optUint64 = intField(0, 2 ** 64);
const optInt64 = intField(-(2 ** 63), 2 ** 63);

/** A raw-JSON bytes field as the UTF-8 bytes of its source text; JSON `null` means absent. */
function optBytes(o: Obj, key: string): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!(v instanceof RawJson)) return fail(`${key}: not captured raw`);
  return v.text === 'null' ? undefined : utf8Bytes(v.text);
}

/**
 * UTF-8 in an own buffer: `Buffer.from` beats `TextEncoder` 2x in Node 20, but its small results
 * share an 8 KiB pool that long-lived payloads (connect data) must not pin, hence the copy.
 */
function utf8Bytes(text: string): Uint8Array {
  const pooled = Buffer.from(text, 'utf8');
  const out = new Uint8Array(pooled.length);
  out.set(pooled);
  return out;
}

/** Assigns only non-zero values, so decoded objects carry exactly what proto3 would transmit. */
function put<T, K extends keyof T>(target: T, key: K, value: T[K] | undefined): T {
  if (value) target[key] = value;
  return target;
}

/** A proto map; empty counts as absent. `__proto__` is kept as an ordinary key. */
function optMap<V>(o: Obj, key: string, value: (v: unknown, where: string) => V): Record<string, V> | undefined {
  const m = optObj(o, key);
  const keys = m === undefined ? [] : Object.keys(m);
  if (m === undefined || keys.length === 0) return undefined;
  const out: Record<string, V> = {};
  for (const k of keys) {
    const v = value(m[k], `${key}.${k}`);
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}
const stringValue = (v: unknown, where: string): string => (isString(v) ? v : fail(`${where}: expected string`));
const subscribeValue = (v: unknown, where: string) => (isObj(v) ? subscribeRequest(v) : fail(`${where}: expected object`));

function subscribeRequest(o: Obj): SubscribeRequest {
  const r: SubscribeRequest = { channel: optString(o, 'channel') ?? '' };
  put(r, 'token', optString(o, 'token'));
  put(r, 'recover', optBool(o, 'recover'));
  put(r, 'epoch', optString(o, 'epoch'));
  put(r, 'offset', optUint64(o, 'offset'));
  put(r, 'data', optBytes(o, 'data'));
  put(r, 'positioned', optBool(o, 'positioned'));
  put(r, 'recoverable', optBool(o, 'recoverable'));
  put(r, 'joinLeave', optBool(o, 'join_leave'));
  put(r, 'delta', optString(o, 'delta'));
  put(r, 'flag', optInt64(o, 'flag'));
  const tf = optObj(o, 'tf');
  if (tf !== undefined) r.tf = filterNode(tf, 'tf');
  return r;
}

function filterNode(o: Obj, where: string): FilterNode {
  const vals = o.vals;
  if (vals !== undefined && vals !== null && (!Array.isArray(vals) || vals.some((v) => !isString(v)))) fail(`${where}.vals: expected strings`);
  const nodes = o.nodes;
  if (nodes !== undefined && nodes !== null && (!Array.isArray(nodes) || nodes.some((n) => !isObj(n)))) fail(`${where}.nodes: expected objects`);
  return {
    op: optString(o, 'op') ?? '',
    key: optString(o, 'key') ?? '',
    cmp: optString(o, 'cmp') ?? '',
    val: optString(o, 'val') ?? '',
    vals: Array.isArray(vals) ? (vals as string[]) : [],
    nodes: Array.isArray(nodes) ? (nodes as Obj[]).map((n, i) => filterNode(n, `${where}.nodes[${i}]`)) : [],
  };
}

function connectRequest(o: Obj): ConnectRequest {
  const r: ConnectRequest = {};
  put(r, 'token', optString(o, 'token'));
  put(r, 'data', optBytes(o, 'data'));
  put(r, 'subs', optMap(o, 'subs', subscribeValue));
  put(r, 'name', optString(o, 'name'));
  put(r, 'version', optString(o, 'version'));
  put(r, 'headers', optMap(o, 'headers', stringValue));
  put(r, 'flag', optInt64(o, 'flag'));
  return r;
}

function historyRequest(o: Obj): HistoryRequest {
  const r: HistoryRequest = { channel: optString(o, 'channel') ?? '' };
  put(r, 'limit', optInt32(o, 'limit'));
  const since = optObj(o, 'since');
  // Presence of `since` matters even when empty (it asks for the stream from offset 0).
  if (since !== undefined) r.since = { offset: optUint64(since, 'offset') ?? 0, epoch: optString(since, 'epoch') ?? '' };
  put(r, 'reverse', optBool(o, 'reverse'));
  return r;
}

function channelOnly(o: Obj): { channel: string } {
  return { channel: optString(o, 'channel') ?? '' };
}

function withData<T extends { data?: Uint8Array }>(o: Obj, r: T): T {
  put(r, 'data', optBytes(o, 'data'));
  return r;
}

/** Request fields in proto field order: the first non-null one is the command. */
const REQUEST_KEYS = [
  'connect', 'subscribe', 'unsubscribe', 'publish', 'presence', 'presence_stats',
  'history', 'ping', 'send', 'rpc', 'refresh', 'sub_refresh',
] as const;
type RequestKey = (typeof REQUEST_KEYS)[number];

function commandFromObject(o: Obj): Command {
  const id = optUint32(o, 'id') ?? 0;
  let kind: RequestKey | undefined;
  let body: Obj | undefined;
  for (const k of REQUEST_KEYS) {
    const v = optObj(o, k);
    if (v !== undefined && kind === undefined) {
      kind = k;
      body = v;
    }
  }
  if (id === 0 && o.send == null) return { id: 0, kind: 'pong' };
  if (kind === undefined || body === undefined) return fail('unknown command');
  const b = body;
  switch (kind) {
    case 'connect': return { id, kind, req: connectRequest(b) };
    case 'subscribe': return { id, kind, req: subscribeRequest(b) };
    case 'unsubscribe': return { id, kind, req: channelOnly(b) };
    case 'publish': return { id, kind, req: withData<PublishRequest>(b, channelOnly(b)) };
    case 'presence': return { id, kind, req: channelOnly(b) };
    case 'presence_stats': return { id, kind, req: channelOnly(b) };
    case 'history': return { id, kind, req: historyRequest(b) };
    case 'ping': return { id, kind };
    case 'send': return { id, kind, req: withData(b, {}) };
    case 'rpc': return { id, kind, req: put(withData<RpcRequest>(b, {}), 'method', optString(b, 'method')) };
    case 'refresh': return { id, kind, req: put<RefreshRequest, 'token'>({}, 'token', optString(b, 'token')) };
    case 'sub_refresh':
      return { id, kind, req: put<SubRefreshRequest, 'token'>(channelOnly(b), 'token', optString(b, 'token')) };
  }
}

/**
 * Parses a command or connect request. Only `data` members are kept raw, so text without a
 * `"data"` key, and without escapes (which could spell one), goes to `JSON.parse`, which builds the
 * same values several times faster than the scanner (the connect command of a connection storm,
 * pings, subscribes). `JSON.parse` has no nesting limit, so only text too short to nest
 * `MAX_JSON_DEPTH` levels (two characters a level) takes that way: deeper input must still be
 * refused, or a deep `tf` filter would overflow the stack when it is read. Malformed text is
 * handed to the scanner for its precise error.
 */
function parseText(text: string, rawKey: RawKeyPredicate): unknown {
  if (text.length < 2 * MAX_JSON_DEPTH && !text.includes('"data"') && !text.includes('\\')) {
    try {
      return JSON.parse(text);
    } catch {
      // Fall through: the scanner says what is wrong.
    }
  }
  return parseJsonWithRaw(text, rawKey);
}

function decodeCommand(line: Uint8Array): Command {
  const value = parseText(decodeText(line), commandRawKey);
  if (!isObj(value)) fail('command is not a JSON object');
  return commandFromObject(value);
}

export function decodeCommands(frame: Uint8Array, maxCommandSize: number): Command[] {
  let end = frame.length;
  if (end > 0 && frame[end - 1] === NEWLINE) end--; // one trailing newline is tolerated
  if (end === 0) fail('empty frame');
  const commands: Command[] = [];
  let start = 0;
  while (start <= end) {
    let nl = frame.indexOf(NEWLINE, start);
    if (nl === -1 || nl > end) nl = end;
    if (nl === start) fail('empty line in frame');
    if (nl - start > maxCommandSize) fail(`command of ${nl - start} bytes exceeds ${maxCommandSize}`);
    commands.push(decodeCommand(frame.subarray(start, nl)));
    start = nl + 1;
  }
  return commands;
}

export function decodeConnectRequest(body: Uint8Array): ConnectRequest {
  const text = decodeText(body);
  if (text.trim() === '') return {};
  const value = parseText(text, connectRawKey);
  if (value === null) return {};
  if (!isObj(value)) fail('connect request is not a JSON object');
  return connectRequest(value);
}

