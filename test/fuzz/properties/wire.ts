/**
 * Writing protocol objects as a client would put them on the wire, independently of the codec
 * under test: JSON text by a small writer that splices `bytes` payloads in as raw JSON (so big
 * integers and odd spacing reach the decoder untouched), Protobuf by the official SDK's encoder.
 */
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import type { Command, ConnectRequest, FilterNode, SubscribeRequest } from '../../../src/protocol/types.js';

/** A JSON payload kept as its source text. */
export class RawText {
  constructor(readonly text: string) {}
}

/** A wire object tree; `B` is how a `bytes` field travels (RawText for JSON, bytes for Protobuf). */
export type Wire<B> = string | number | boolean | null | B | Wire<B>[] | WireObject<B>;
export interface WireObject<B> {
  [key: string]: Wire<B>;
}

/** Sets a member, keeping `__proto__` an ordinary own key instead of the prototype. */
export function setMember<V>(o: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

// ---------------------------------------------------------------- model -> wire

function filterWire<B>(n: FilterNode): WireObject<B> {
  return { op: n.op, key: n.key, cmp: n.cmp, val: n.val, vals: [...n.vals], nodes: n.nodes.map((x) => filterWire<B>(x)) };
}

/** Copies defined members only (absent fields are not written). */
function members<B>(entries: [string, Wire<B> | undefined][]): WireObject<B> {
  const o: WireObject<B> = {};
  for (const [k, v] of entries) if (v !== undefined) o[k] = v;
  return o;
}

function mapWire<V, B>(m: Record<string, V> | undefined, f: (v: V) => Wire<B>): WireObject<B> | undefined {
  if (m === undefined) return undefined;
  const o: WireObject<B> = {};
  for (const k of Object.keys(m)) setMember(o, k, f(m[k]));
  return o;
}

function subscribeWire<B>(r: SubscribeRequest, bytes: (b: Uint8Array) => B, channel: boolean): WireObject<B> {
  return members<B>([
    ['channel', channel ? r.channel : r.channel || undefined],
    ['token', r.token],
    ['recover', r.recover],
    ['epoch', r.epoch],
    ['offset', r.offset],
    ['data', r.data && bytes(r.data)],
    ['positioned', r.positioned],
    ['recoverable', r.recoverable],
    ['join_leave', r.joinLeave],
    ['delta', r.delta],
    ['flag', r.flag],
    ['tf', r.tf && filterWire<B>(r.tf)],
  ]);
}

export function connectWire<B>(r: ConnectRequest, bytes: (b: Uint8Array) => B): WireObject<B> {
  return members<B>([
    ['token', r.token],
    ['data', r.data && bytes(r.data)],
    ['subs', mapWire(r.subs, (s) => subscribeWire(s, bytes, false))],
    ['name', r.name],
    ['version', r.version],
    ['headers', mapWire<string, B>(r.headers, (h) => h)],
    ['flag', r.flag],
  ]);
}

/**
 * The wire form of a Command: `{id?, <request field>: {...}}`; a pong is `{}`. A command other
 * than `send` with id 0 decodes from input that also carries `send` (id 0 without `send` is a
 * pong, and the first request field in proto order wins), so it is written that way.
 */
export function commandWire<B>(c: Command, bytes: (b: Uint8Array) => B): WireObject<B> {
  const o: WireObject<B> = c.id !== 0 ? { id: c.id } : {};
  if (c.id === 0 && c.kind !== 'send' && c.kind !== 'pong') o.send = {};
  const data = (d: Uint8Array | undefined) => d && bytes(d);
  switch (c.kind) {
    case 'pong':
      return o;
    case 'connect':
      o.connect = connectWire(c.req, bytes);
      return o;
    case 'subscribe':
      o.subscribe = subscribeWire(c.req, bytes, true);
      return o;
    case 'unsubscribe':
    case 'presence':
    case 'presence_stats':
      o[c.kind] = { channel: c.req.channel };
      return o;
    case 'publish':
      o.publish = members<B>([['channel', c.req.channel], ['data', data(c.req.data)]]);
      return o;
    case 'history':
      o.history = members<B>([
        ['channel', c.req.channel],
        ['limit', c.req.limit],
        ['since', c.req.since && { offset: c.req.since.offset, epoch: c.req.since.epoch }],
        ['reverse', c.req.reverse],
      ]);
      return o;
    case 'ping':
      o.ping = {};
      return o;
    case 'send':
      o.send = members<B>([['data', data(c.req.data)]]);
      return o;
    case 'rpc':
      o.rpc = members<B>([['method', c.req.method], ['data', data(c.req.data)]]);
      return o;
    case 'refresh':
      o.refresh = members<B>([['token', c.req.token]]);
      return o;
    case 'sub_refresh':
      o.sub_refresh = members<B>([['channel', c.req.channel], ['token', c.req.token]]);
      return o;
  }
}

// ---------------------------------------------------------------- JSON text

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON `bytes` payload as raw text (the model holds the UTF-8 bytes of valid JSON text). */
export const rawBytes = (b: Uint8Array): RawText => new RawText(utf8.decode(b));

/**
 * Writes a wire tree as JSON text. `gap` is written after every `:` and `,` and inside brackets
 * (insignificant whitespace the decoder must skip); raw payloads are spliced in verbatim.
 */
export function writeJson(v: Wire<RawText>, gap = ''): string {
  if (v instanceof RawText) return v.text;
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return JSON.stringify(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${gap}${v.map((x) => writeJson(x, gap)).join(`,${gap}`)}${gap}]`;
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  return `{${gap}${keys.map((k) => `${JSON.stringify(k)}:${gap}${writeJson(v[k], gap)}`).join(`,${gap}`)}${gap}}`;
}

/** One JSON command line (no newline inside as long as `gap` and payloads have none). */
export function commandJson(c: Command, gap = ''): string {
  return writeJson(commandWire(c, rawBytes), gap);
}

// ---------------------------------------------------------------- Protobuf (official SDK)

interface SdkProtobufCodec {
  encodeCommands(commands: object[]): Uint8Array;
  encodeEmulationRequest(req: object): Uint8Array;
}

/**
 * The SDK's Protobuf codec (its generated client.proto code, snake_case names), reached through
 * a client's `_codec`; constructing the client opens no connection.
 */
const sdkCodec = (new ProtobufCentrifuge('ws://127.0.0.1:1/connection/websocket', {}) as unknown as { _codec: SdkProtobufCodec })._codec;

/** Varint-delimited Commands, as the SDK sends them in one WebSocket frame. */
export function commandsProtobuf(commands: readonly Command[]): Uint8Array {
  return sdkCodec.encodeCommands(commands.map((c) => commandWire<Uint8Array>(c, (b) => b)));
}

/** A Protobuf `/emulation` body, as the SDK posts it. */
export function emulationProtobuf(node: string, session: string, data: Uint8Array): Uint8Array {
  return sdkCodec.encodeEmulationRequest({ node, session, data });
}
