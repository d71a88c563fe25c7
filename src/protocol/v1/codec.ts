/**
 * Centrifugo v1's client protocol (seeds: `server/client_protocol.md`; shapes checked against the
 * real v1.8 server) as a codec over Rotor's protocol-v2 types, so a v1 connection runs through the
 * same session, permissions, history and fan-out as every other.
 *
 * Inbound: a frame is one JSON command `{"uid","method","params"}` or an array of them. Each gets
 * an internal numeric ID; the codec remembers the client's `uid`, the method and the channel until
 * the reply goes out, since v1 replies echo them (`{"uid","method","error","advice","body"}`).
 * That memory makes a codec instance per connection (`V1Codec.create()`); a push encodes the same
 * for everyone, so broadcasts still encode once for all v1 connections.
 *
 * Message IDs: v1 clients recover with the `uid` of the last message they saw. Rotor's message
 * uid for a publication kept in history is `<offset>:<epoch>`, which the subscribe command turns
 * back into a stream position; one without history gets a random uid.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolDecodeError, ProtocolEncodeError, type Codec } from '../codec.js';
import { RawJson, isValidJson, parseJsonWithRaw } from '../json/raw-json.js';
import type { ClientInfo, Command, Publication, Push, Reply, SubscribeResult, V1Credentials } from '../types.js';
import { V1_ERRORS, V1_INTERNAL } from './errors.js';
import { disconnectReconnects } from '../codes.js';

/** v1 methods a client sends, with the parameter that names the reply's channel. */
type V1Method = 'connect' | 'refresh' | 'subscribe' | 'unsubscribe' | 'publish' | 'presence' | 'history' | 'ping';

interface Pending {
  uid: string | undefined;
  method: V1Method;
  channel: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
/** Members kept as their source text: publication data at depth 1 (params), or 2 inside an array. */
const rawData = (key: string, depth: number): boolean => key === 'data' && (depth === 1 || depth === 2);
/** More commands than this in one frame is a protocol violation (a v1 client batches a few). */
const MAX_COMMANDS_IN_FRAME = 1000;

export class V1Codec implements Codec {
  readonly name = 'v1' as const;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #client = '';

  static create(): V1Codec {
    return new V1Codec();
  }

  decodeCommands(frame: Uint8Array, maxCommandSize: number): Command[] {
    if (frame.byteLength === 0) throw new ProtocolDecodeError('empty frame');
    if (frame.byteLength > maxCommandSize) throw new ProtocolDecodeError(`frame of ${frame.byteLength} bytes exceeds ${maxCommandSize}`);
    let text: string;
    try {
      text = utf8.decode(frame);
    } catch {
      throw new ProtocolDecodeError('frame is not UTF-8');
    }
    const value = parseJsonWithRaw(text, rawData);
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) throw new ProtocolDecodeError('empty command array');
    if (list.length > MAX_COMMANDS_IN_FRAME) throw new ProtocolDecodeError('too many commands in one frame');
    return list.map((c) => this.command(c));
  }

  private command(v: unknown): Command {
    const o = obj(v, 'command');
    const method = o['method'];
    const uid = o['uid'];
    if (uid !== undefined && typeof uid !== 'string') throw new ProtocolDecodeError('uid must be a string');
    const params = o['params'] === undefined || o['params'] === null ? {} : obj(o['params'], 'params');
    const id = this.#nextId++;
    const remember = (m: V1Method, channel = ''): void => void this.#pending.set(id, { uid, method: m, channel });
    switch (method) {
      case 'connect':
        remember('connect');
        return { id, kind: 'connect', req: { v1: credentials(params) } };
      case 'refresh':
        remember('refresh');
        return { id, kind: 'refresh', req: { v1: credentials(params) } };
      case 'subscribe': {
        const channel = text(params, 'channel');
        remember('subscribe', channel);
        const req: Extract<Command, { kind: 'subscribe' }>['req'] = { channel };
        if (params['sign'] !== undefined) req.v1Sign = { client: text(params, 'client'), info: text(params, 'info'), sign: text(params, 'sign') };
        if (params['recover'] === true) {
          req.recover = true;
          const at = positionOf(text(params, 'last'));
          req.offset = at.offset;
          req.epoch = at.epoch;
        }
        return { id, kind: 'subscribe', req };
      }
      case 'unsubscribe':
      case 'presence': {
        const channel = text(params, 'channel');
        remember(method, channel);
        return { id, kind: method, req: { channel } };
      }
      case 'history': {
        const channel = text(params, 'channel');
        remember('history', channel);
        // v1 answered with the whole history, newest first.
        return { id, kind: 'history', req: { channel, limit: -1 } };
      }
      case 'publish': {
        const channel = text(params, 'channel');
        remember('publish', channel);
        const data = params['data'];
        if (!(data instanceof RawJson)) throw new ProtocolDecodeError('publish without data');
        return { id, kind: 'publish', req: { channel, data: encoder.encode(data.text) } };
      }
      case 'ping':
        remember('ping');
        return { id, kind: 'ping' };
      default:
        throw new ProtocolDecodeError(`unknown v1 method ${JSON.stringify(method)}`);
    }
  }

  encodeReply(reply: Reply): Uint8Array {
    if (reply.kind === 'push') return encoder.encode(pushText(reply.push));
    if (reply.kind === 'ping' && reply.id === 0) return encoder.encode('{}');
    const p = this.#pending.get(reply.id);
    if (p === undefined) throw new ProtocolEncodeError(`no v1 command ${reply.id} awaits a reply`);
    this.#pending.delete(reply.id);
    const head = `{${p.uid !== undefined ? `"uid":${JSON.stringify(p.uid)},` : ''}"method":"${p.method}"`;
    if (p.method === 'ping' && reply.kind === 'ping') return encoder.encode(`${head}}`);
    if (reply.kind === 'error') {
      const e = V1_ERRORS.get(reply.error.code) ?? V1_INTERNAL;
      return encoder.encode(`${head},"error":"${e.text}","advice":"${e.advice}","body":${failedBody(p)}}`);
    }
    return encoder.encode(`${head},"body":${this.body(p, reply)}}`);
  }

  encodePush(push: Push): Uint8Array {
    return encoder.encode(pushText(push));
  }

  private body(p: Pending, reply: Reply): string {
    const ch = JSON.stringify(p.channel);
    switch (reply.kind) {
      case 'connect':
        if (reply.result.expired !== true) this.#client = reply.result.client;
        return connectBody(reply.result, reply.result.expired === true ? '' : reply.result.client);
      case 'refresh':
        return connectBody(reply.result, this.#client);
      case 'subscribe':
        return subscribeBody(p.channel, reply.result);
      case 'unsubscribe':
      case 'publish':
        return `{"channel":${ch},"status":true}`;
      case 'presence': {
        const parts = Object.entries(reply.result.presence).map(([id, info]) => `${JSON.stringify(id)}:${infoText(info)}`);
        return `{"channel":${ch},"data":{${parts.join(',')}}}`;
      }
      case 'history': {
        const msgs = reply.result.publications.map((pub) => messageText(p.channel, pub, reply.result.epoch)).reverse();
        return `{"channel":${ch},"data":[${msgs.join(',')}]}`;
      }
      default:
        // A v1 ping (answered by the session with an empty body) and anything v1 has no body for.
        return '{}';
    }
  }
}

/** v1.8 sent an empty version; so does Rotor, to v1 clients. */
function connectBody(r: { expires?: boolean; ttl?: number; expired?: boolean }, client: string): string {
  return `{"version":"","client":${JSON.stringify(client)},"expires":${r.expires === true},"expired":${r.expired === true},"ttl":${r.ttl ?? 0}}`;
}

function subscribeBody(channel: string, r: SubscribeResult): string {
  const pubs = r.publications ?? [];
  const epoch = r.epoch ?? '';
  // Missed messages newest first, as v1 sent them; without any, `last` is the stream top.
  const messages = pubs.length > 0 ? `[${pubs.map((pub) => messageText(channel, pub, epoch)).reverse().join(',')}]` : r.recovered === true ? '[]' : 'null';
  const last = pubs.length === 0 && (r.offset ?? 0) > 0 ? `${r.offset}:${epoch}` : '';
  return `{"channel":${JSON.stringify(channel)},"status":true,"last":${JSON.stringify(last)},"messages":${messages},"recovered":${r.recovered === true}}`;
}

/** The body v1 sent along with an error, shaped per method. */
function failedBody(p: Pending): string {
  const ch = JSON.stringify(p.channel);
  switch (p.method) {
    case 'subscribe':
      return `{"channel":${ch},"status":false,"last":"","messages":null,"recovered":false}`;
    case 'unsubscribe':
    case 'publish':
      return `{"channel":${ch},"status":false}`;
    case 'presence':
    case 'history':
      return `{"channel":${ch},"data":null}`;
    default:
      return 'null';
  }
}

function pushText(push: Push): string {
  switch (push.kind) {
    case 'pub':
      return `{"method":"message","body":${messageText(push.channel, push.pub, push.epoch ?? '')}}`;
    case 'join':
    case 'leave':
      return `{"method":"${push.kind}","body":{"channel":${JSON.stringify(push.channel)},"data":${infoText(push.info)}}}`;
    case 'unsubscribe':
      return `{"method":"unsubscribe","body":{"channel":${JSON.stringify(push.channel)}}}`;
    case 'disconnect':
      return `{"method":"disconnect","body":{"reason":${JSON.stringify(push.reason)},"reconnect":${disconnectReconnects(push.code)}}}`;
    default:
      // v1 has no such message (server-side subscribe, send, server refresh): an object without
      // `method`, which v1 clients ignore.
      return '{}';
  }
}

/**
 * A v1 message body: uid, channel, data, and the publisher's client ID and info when known. Also
 * what v1's admin socket streams to watchers. Throws ProtocolEncodeError for a payload that is not JSON.
 */
export function messageText(channel: string, pub: Publication, epoch: string): string {
  const offset = pub.offset ?? 0;
  const uid = offset > 0 ? `${offset}:${epoch}` : randomUid();
  const info = pub.info;
  const from = info !== undefined ? `,"client":${JSON.stringify(info.client)},"info":${infoText(info)}` : '';
  return `{"uid":${JSON.stringify(uid)},"channel":${JSON.stringify(channel)},"data":${jsonOf(pub.data)}${from}}`;
}

function infoText(info: ClientInfo): string {
  let s = `{"user":${JSON.stringify(info.user)},"client":${JSON.stringify(info.client)}`;
  if (info.connInfo !== undefined && info.connInfo.byteLength > 0) s += `,"default_info":${jsonOf(info.connInfo)}`;
  if (info.chanInfo !== undefined && info.chanInfo.byteLength > 0) s += `,"channel_info":${jsonOf(info.chanInfo)}`;
  return s + '}';
}

/** Payload bytes as JSON text; bytes that are not JSON (a Protobuf client's) cannot go to v1. */
function jsonOf(b: Uint8Array): string {
  const t = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (t === '' || !isValidJson(t)) throw new ProtocolEncodeError('payload is not JSON');
  return t;
}

function randomUid(): string {
  return randomBytes(16).toString('base64url');
}

/** `<offset>:<epoch>` back to a position; anything else (a v1.8 uid, "") is no position. */
function positionOf(uid: string): { offset: number; epoch: string } {
  const i = uid.indexOf(':');
  const offset = i > 0 ? Number(uid.slice(0, i)) : NaN;
  if (!Number.isSafeInteger(offset) || offset < 0) return { offset: 0, epoch: '' };
  return { offset, epoch: uid.slice(i + 1) };
}

function credentials(params: Record<string, unknown>): V1Credentials {
  return { user: text(params, 'user'), timestamp: text(params, 'timestamp'), info: text(params, 'info'), token: text(params, 'token') };
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolDecodeError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** A string parameter; absent or null is "". */
function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ProtocolDecodeError(`${key} must be a string`);
  return v;
}

/**
 * Whether the first frame on `/connection/websocket` (or SockJS) is a v1 client's: a JSON array
 * (protocol v2 never sends one) or an object whose top-level `method` is a string (v2 commands
 * name their method by a key, `{"id":1,"connect":{…}}`). Only the frame's first line is read; a
 * frame that is not JSON is left to the v2 codec to refuse.
 */
export function looksLikeV1(frame: Uint8Array): boolean {
  let i = 0;
  while (i < frame.length && (frame[i] === 0x20 || frame[i] === 0x0a || frame[i] === 0x0d || frame[i] === 0x09)) i++;
  if (frame[i] === 0x5b) return true; // '['
  if (frame[i] !== 0x7b) return false; // '{'
  const nl = frame.indexOf(0x0a, i);
  const line = Buffer.from(frame.buffer, frame.byteOffset + i, (nl === -1 ? frame.byteLength : nl) - i).toString('utf8');
  try {
    const top = parseJsonWithRaw(line, topLevel) as Record<string, unknown>;
    const m = top['method'];
    return m instanceof RawJson && m.text.startsWith('"');
  } catch {
    return false;
  }
}

const topLevel = (_key: string, depth: number): boolean => depth === 0;
