/**
 * Encoding half of the JSON codec, the broadcast hot path: every message is built by string
 * concatenation, with `JSON.stringify` only for strings, and turned into bytes once. `bytes`
 * fields are spliced in as raw JSON (validated; raw newlines stripped for newline framing).
 */
import { ProtocolEncodeError } from '../codec.js';
import type { ClientInfo, ConnectResult, Publication, Push, Reply, SubscribePush, SubscribeResult } from '../types.js';
import { isValidJson } from './raw-json.js';

/** Strict UTF-8: a payload that is not valid UTF-8 cannot go to a JSON connection (3506). */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const str = JSON.stringify as (s: string) => string;
const LINE_BREAKS = /[\r\n]/g;

/**
 * Embeds a bytes field: must be UTF-8 JSON (else 3506 upstream). Raw line breaks (LF and CR) are
 * dropped: LF separates replies in a frame, and SSE ends a line at a lone CR too, so a payload
 * written with CRLF would split its event. Centrifugo drops LF only.
 */
function raw(bytes: Uint8Array, field: string): string {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolEncodeError(`${field}: payload is not valid UTF-8`);
  }
  if (!isValidJson(text)) throw new ProtocolEncodeError(`${field}: payload is not valid JSON`);
  // Line breaks cannot occur inside valid JSON strings, so only insignificant whitespace goes.
  return text.includes('\n') || text.includes('\r') ? text.replace(LINE_BREAKS, '') : text;
}

/** Wraps members built as `,"k":v,"k2":v2` into an object literal. */
function obj(members: string): string {
  return members === '' ? '{}' : '{' + members.substring(1) + '}';
}

/**
 * `user` and `client` are always written, empty or not, as Centrifugo's encoder writes them (its
 * ClientInfo has no omitempty there): an anonymous connection's entry carries `"user":""`.
 */
function clientInfoJson(c: ClientInfo): string {
  return '{"user":' + str(c.user) + ',"client":' + str(c.client) + bytesMember('conn_info', c.connInfo) + bytesMember('chan_info', c.chanInfo) + '}';
}

/** A map member, or '' when the map is absent or empty (proto3 omits empty maps). */
function mapMember<V>(name: string, m: Record<string, V> | undefined, enc: (v: V) => string): string {
  const s = mapMembers(m, enc);
  return s === '' ? '' : ',"' + name + '":' + obj(s);
}

/** A map's entries as `,"k":v` members ('' when absent or empty). */
function mapMembers<V>(m: Record<string, V> | undefined, enc: (v: V) => string): string {
  let s = '';
  if (m) for (const k in m) s += ',' + str(k) + ':' + enc(m[k]);
  return s;
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

export function pushJson(p: Push): string {
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

export function replyJson(r: Reply): string {
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
    // The presence, presence_stats and history results write every field even when zero or
    // empty, as Centrifugo's encoder does (these fields have no omitempty there): the SDK reads
    // `num_clients` of an empty channel as 0 and its `presence` map as {}, not as undefined.
    case 'presence':
      return head + 'presence":{"presence":' + obj(mapMembers(r.result.presence, clientInfoJson)) + '}}';
    case 'presence_stats':
      return head + 'presence_stats":{"num_clients":' + r.result.numClients + ',"num_users":' + r.result.numUsers + '}}';
    case 'history': {
      const h = r.result;
      return head + 'history":{"publications":' + publicationsJson(h.publications) + ',"epoch":' + str(h.epoch) + ',"offset":' + h.offset + '}}';
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

