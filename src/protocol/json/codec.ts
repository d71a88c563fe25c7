/**
 * JSON client protocol codec (spec §1.5, §1.6). Wire names are the proto snake_case names; `bytes`
 * fields are raw JSON embedded as-is, so decoding keeps their exact source text and encoding
 * splices the stored bytes back in (validated, with raw `\n` bytes stripped so newline framing
 * stays intact).
 *
 * Encoding is the broadcast hot path: every message is built by string concatenation, with
 * `JSON.stringify` only for strings, and turned into bytes once.
 */
import { ProtocolDecodeError, ProtocolEncodeError, type Codec, type ConnectRequestDecoder } from '../codec.js';
import type {
  ClientInfo, Command, ConnectRequest, ConnectResult, HistoryRequest, Publication, PublishRequest, Push, RefreshRequest,
  Reply, RpcRequest, SubRefreshRequest, SubscribePush, SubscribeRequest, SubscribeResult, FilterNode,
} from '../types.js';
import { isValidJson, parseJsonWithRaw, RawJson, type RawKeyPredicate } from './raw-json.js';

type Obj = Record<string, unknown>;

const NEWLINE = 0x0a;
const MAX_UINT32 = 0xffff_ffff;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------- decoding

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

function decodeCommand(line: Uint8Array): Command {
  const value = parseJsonWithRaw(decodeText(line), commandRawKey);
  if (!isObj(value)) fail('command is not a JSON object');
  return commandFromObject(value);
}

function decodeCommands(frame: Uint8Array, maxCommandSize: number): Command[] {
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

function decodeConnectRequest(body: Uint8Array): ConnectRequest {
  const text = decodeText(body);
  if (text.trim() === '') return {};
  const value = parseJsonWithRaw(text, connectRawKey);
  if (value === null) return {};
  if (!isObj(value)) fail('connect request is not a JSON object');
  return connectRequest(value);
}

// ---------------------------------------------------------------- encoding

const str = JSON.stringify as (s: string) => string;

/** Embeds a bytes field: must be UTF-8 JSON (else 3506 upstream); raw newlines are dropped. */
function raw(bytes: Uint8Array, field: string): string {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolEncodeError(`${field}: payload is not valid UTF-8`);
  }
  if (!isValidJson(text)) throw new ProtocolEncodeError(`${field}: payload is not valid JSON`);
  // Newlines cannot occur inside valid JSON strings, so only insignificant whitespace goes.
  return text.includes('\n') ? text.replaceAll('\n', '') : text;
}

/** Wraps members built as `,"k":v,"k2":v2` into an object literal. */
function obj(members: string): string {
  return members === '' ? '{}' : '{' + members.substring(1) + '}';
}

function clientInfoJson(c: ClientInfo): string {
  let s = '';
  if (c.user) s += ',"user":' + str(c.user);
  if (c.client) s += ',"client":' + str(c.client);
  s += bytesMember('conn_info', c.connInfo);
  s += bytesMember('chan_info', c.chanInfo);
  return obj(s);
}

/** A map member, or '' when the map is absent or empty (proto3 omits empty maps). */
function mapMember<V>(name: string, m: Record<string, V> | undefined, enc: (v: V) => string): string {
  let s = '';
  if (m) for (const k in m) s += ',' + str(k) + ':' + enc(m[k]);
  return s === '' ? '' : ',"' + name + '":' + obj(s);
}

/** A bytes member, or '' when absent or empty. */
function bytesMember(name: string, b: Uint8Array | undefined): string {
  return b && b.length > 0 ? ',"' + name + '":' + raw(b, name) : '';
}

function publicationJson(p: Publication): string {
  let s = '';
  s += bytesMember('data', p.data);
  if (p.info) s += ',"info":' + clientInfoJson(p.info);
  if (p.offset) s += ',"offset":' + p.offset;
  s += mapMember('tags', p.tags, str);
  if (p.delta) s += ',"delta":true';
  if (p.time) s += ',"time":' + p.time;
  if (p.channel) s += ',"channel":' + str(p.channel);
  return obj(s);
}

function publicationsJson(pubs: Publication[]): string {
  let s = '';
  for (let i = 0; i < pubs.length; i++) s += (i === 0 ? '' : ',') + publicationJson(pubs[i]);
  return '[' + s + ']';
}

function subscribeResultJson(r: SubscribeResult): string {
  let s = '';
  if (r.expires) s += ',"expires":true';
  if (r.ttl) s += ',"ttl":' + r.ttl;
  if (r.recoverable) s += ',"recoverable":true';
  if (r.epoch) s += ',"epoch":' + str(r.epoch);
  if (r.publications && r.publications.length > 0) s += ',"publications":' + publicationsJson(r.publications);
  if (r.recovered) s += ',"recovered":true';
  if (r.offset) s += ',"offset":' + r.offset;
  if (r.positioned) s += ',"positioned":true';
  s += bytesMember('data', r.data);
  if (r.wasRecovering) s += ',"was_recovering":true';
  if (r.delta) s += ',"delta":true';
  return obj(s);
}

function connectResultJson(r: ConnectResult): string {
  let s = '';
  if (r.client) s += ',"client":' + str(r.client);
  if (r.version) s += ',"version":' + str(r.version);
  if (r.expires) s += ',"expires":true';
  if (r.ttl) s += ',"ttl":' + r.ttl;
  s += bytesMember('data', r.data);
  s += mapMember('subs', r.subs, subscribeResultJson);
  if (r.ping) s += ',"ping":' + r.ping;
  if (r.pong) s += ',"pong":true';
  if (r.session) s += ',"session":' + str(r.session);
  if (r.node) s += ',"node":' + str(r.node);
  if (r.time) s += ',"time":' + r.time;
  return obj(s);
}

function subscribePushJson(p: SubscribePush): string {
  let s = '';
  if (p.recoverable) s += ',"recoverable":true';
  if (p.epoch) s += ',"epoch":' + str(p.epoch);
  if (p.offset) s += ',"offset":' + p.offset;
  if (p.positioned) s += ',"positioned":true';
  s += bytesMember('data', p.data);
  return obj(s);
}

function codeReasonJson(code: number, reason: string): string {
  let s = '';
  if (code) s += ',"code":' + code;
  if (reason) s += ',"reason":' + str(reason);
  return obj(s);
}

function expiresTtlJson(expires: boolean | undefined, ttl: number | undefined): string {
  let s = '';
  if (expires) s += ',"expires":true';
  if (ttl) s += ',"ttl":' + ttl;
  return s;
}

function pushJson(p: Push): string {
  switch (p.kind) {
    case 'pub':
      return withChannel(p.channel, '"pub":' + publicationJson(p.pub));
    case 'join':
      return withChannel(p.channel, '"join":{"info":' + clientInfoJson(p.info) + '}');
    case 'leave':
      return withChannel(p.channel, '"leave":{"info":' + clientInfoJson(p.info) + '}');
    case 'unsubscribe':
      return withChannel(p.channel, '"unsubscribe":' + codeReasonJson(p.code, p.reason));
    case 'message':
      return '{"message":' + obj(bytesMember('data', p.data)) + '}';
    case 'subscribe':
      return withChannel(p.channel, '"subscribe":' + subscribePushJson(p.sub));
    case 'connect':
      return '{"connect":' + connectResultJson(p.connect) + '}';
    case 'disconnect':
      return '{"disconnect":' + codeReasonJson(p.code, p.reason) + '}';
    case 'refresh':
      return '{"refresh":' + obj(expiresTtlJson(p.expires, p.ttl)) + '}';
  }
}

function withChannel(channel: string, member: string): string {
  return channel ? '{"channel":' + str(channel) + ',' + member + '}' : '{' + member + '}';
}

function replyJson(r: Reply): string {
  if (r.kind === 'ping') return '{}';
  if (r.kind === 'push') return '{"push":' + pushJson(r.push) + '}';
  const head = r.id ? '{"id":' + r.id + ',"' : '{"';
  switch (r.kind) {
    case 'error': {
      const e = r.error;
      let s = '';
      if (e.code) s += ',"code":' + e.code;
      if (e.message) s += ',"message":' + str(e.message);
      if (e.temporary) s += ',"temporary":true';
      return head + 'error":' + obj(s) + '}';
    }
    case 'connect':
      return head + 'connect":' + connectResultJson(r.result) + '}';
    case 'subscribe':
      return head + 'subscribe":' + subscribeResultJson(r.result) + '}';
    case 'unsubscribe':
    case 'publish':
      return head + r.kind + '":{}}';
    case 'presence':
      return head + 'presence":' + obj(mapMember('presence', r.result.presence, clientInfoJson)) + '}';
    case 'presence_stats': {
      const { numClients, numUsers } = r.result;
      const s = (numClients ? ',"num_clients":' + numClients : '') + (numUsers ? ',"num_users":' + numUsers : '');
      return head + 'presence_stats":' + obj(s) + '}';
    }
    case 'history': {
      const h = r.result;
      let s = '';
      if (h.publications.length > 0) s += ',"publications":' + publicationsJson(h.publications);
      if (h.epoch) s += ',"epoch":' + str(h.epoch);
      if (h.offset) s += ',"offset":' + h.offset;
      return head + 'history":' + obj(s) + '}';
    }
    case 'rpc':
      return head + 'rpc":' + obj(bytesMember('data', r.result.data)) + '}';
    case 'refresh': {
      const x = r.result;
      const s = (x.client ? ',"client":' + str(x.client) : '') + (x.version ? ',"version":' + str(x.version) : '');
      return head + 'refresh":' + obj(s + expiresTtlJson(x.expires, x.ttl)) + '}';
    }
    case 'sub_refresh':
      return head + 'sub_refresh":' + obj(expiresTtlJson(r.result.expires, r.result.ttl)) + '}';
  }
}

/**
 * The JSON codec. Decoding throws `ProtocolDecodeError`; encoding throws `ProtocolEncodeError`
 * when a bytes field is not valid UTF-8 JSON. Encoded output is a `Buffer` (a `Uint8Array`).
 */
export const jsonCodec: Codec & ConnectRequestDecoder = {
  name: 'json',
  decodeCommands,
  decodeConnectRequest,
  encodeReply: (reply) => Buffer.from(replyJson(reply)),
  encodePush: (push) => Buffer.from(pushJson(push)),
};
