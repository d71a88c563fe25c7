/**
 * Protobuf client protocol codec. Messages are described by `client.proto` (loaded from the
 * generated JSON descriptor through `protobufjs/light`, which compiles encoders/decoders at
 * startup). Field names in the descriptor are camelCased, the same as the internal model, so
 * results and publications are handed to the encoder without copying.
 *
 * Every message on the wire is prefixed by its length as a varint (spec §1.6); the server ping is
 * the empty Reply, i.e. the single byte 0x00. 64-bit integers arrive as `Long` or `number`
 * depending on whether protobufjs found the `long` package; both become plain numbers here.
 */
import pb from 'protobufjs/light.js';
import { ProtocolDecodeError, type Codec } from '../codec.js';
import type {
  Command,
  ConnectRequest,
  HistoryRequest,
  PublishRequest,
  Push,
  Reply,
  RpcRequest,
  SubRefreshRequest,
  SubscribeRequest,
  FilterNode,
} from '../types.js';
import { readUvarint32 } from '../varint.js';
import { descriptor } from './descriptor.generated.js';
import { messageOf } from '../../util/message-of.js';

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const lookup = (name: string): pb.Type => root.lookupType(`centrifugal.centrifuge.protocol.${name}`);
const CommandType = lookup('Command');
const ReplyType = lookup('Reply');
const PushType = lookup('Push');
const EmulationRequestType = lookup('EmulationRequest');

// ---------------------------------------------------------------- decoded shapes

/** protobufjs decodes 64-bit integers to `Long` when the `long` package resolves. */
type Int64 = number | { toNumber(): number };

// Decoded messages carry proto3 defaults ("" / 0 / false / empty bytes) for absent scalars and
// null for absent sub-messages; maps are always objects.
interface PbSubscribeRequest {
  channel: string;
  token: string;
  recover: boolean;
  epoch: string;
  offset: Int64;
  data: Uint8Array;
  positioned: boolean;
  recoverable: boolean;
  joinLeave: boolean;
  delta: string;
  flag: Int64;
  tf: PbFilterNode | null;
}
interface PbFilterNode {
  op: string;
  key: string;
  cmp: string;
  val: string;
  vals: string[];
  nodes: PbFilterNode[];
}
interface PbConnectRequest {
  token: string;
  data: Uint8Array;
  subs: Record<string, PbSubscribeRequest>;
  name: string;
  version: string;
  headers: Record<string, string>;
  flag: Int64;
}
interface PbChannel {
  channel: string;
}
interface PbData {
  data: Uint8Array;
}
interface PbHistoryRequest {
  channel: string;
  limit: number;
  since: { offset: Int64; epoch: string } | null;
  reverse: boolean;
}
interface PbCommand {
  id: number;
  connect: PbConnectRequest | null;
  subscribe: PbSubscribeRequest | null;
  unsubscribe: PbChannel | null;
  publish: (PbChannel & PbData) | null;
  presence: PbChannel | null;
  presenceStats: PbChannel | null;
  history: PbHistoryRequest | null;
  ping: object | null;
  send: PbData | null;
  rpc: (PbData & { method: string }) | null;
  refresh: { token: string } | null;
  subRefresh: (PbChannel & { token: string }) | null;
}
interface PbEmulationRequest {
  node: string;
  session: string;
  data: Uint8Array;
}

// ---------------------------------------------------------------- decoding

function toNumber(v: Int64): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/** Copies out of the frame so decoded commands never alias a transport buffer. */
function bytes(b: Uint8Array): Uint8Array | undefined {
  return b.length > 0 ? new Uint8Array(b) : undefined;
}

/** Assigns only non-zero values, matching what the JSON codec produces for the same command. */
function put<T, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value) target[key] = value;
}

function subscribeRequest(m: PbSubscribeRequest): SubscribeRequest {
  const r: SubscribeRequest = { channel: m.channel };
  put(r, 'token', m.token);
  put(r, 'recover', m.recover);
  put(r, 'epoch', m.epoch);
  put(r, 'offset', toNumber(m.offset));
  put(r, 'data', bytes(m.data));
  put(r, 'positioned', m.positioned);
  put(r, 'recoverable', m.recoverable);
  put(r, 'joinLeave', m.joinLeave);
  put(r, 'delta', m.delta);
  put(r, 'flag', toNumber(m.flag));
  if (m.tf) r.tf = filterNode(m.tf);
  return r;
}

function filterNode(m: PbFilterNode): FilterNode {
  return { op: m.op, key: m.key, cmp: m.cmp, val: m.val, vals: [...(m.vals ?? [])], nodes: (m.nodes ?? []).map(filterNode) };
}

function connectRequest(m: PbConnectRequest): ConnectRequest {
  const r: ConnectRequest = {};
  put(r, 'token', m.token);
  put(r, 'data', bytes(m.data));
  const channels = Object.keys(m.subs);
  if (channels.length > 0) {
    const subs: Record<string, SubscribeRequest> = {};
    for (const ch of channels) {
      const sub = subscribeRequest(m.subs[ch]);
      // Plain assignment to `__proto__` would set the prototype instead of adding a channel.
      if (ch === '__proto__') Object.defineProperty(subs, ch, { value: sub, writable: true, enumerable: true, configurable: true });
      else subs[ch] = sub;
    }
    r.subs = subs;
  }
  put(r, 'name', m.name);
  put(r, 'version', m.version);
  if (Object.keys(m.headers).length > 0) r.headers = { ...m.headers };
  put(r, 'flag', toNumber(m.flag));
  return r;
}

function historyRequest(m: PbHistoryRequest): HistoryRequest {
  const r: HistoryRequest = { channel: m.channel };
  put(r, 'limit', m.limit);
  if (m.since) r.since = { offset: toNumber(m.since.offset), epoch: m.since.epoch };
  put(r, 'reverse', m.reverse);
  return r;
}

function withData<T extends { data?: Uint8Array }>(m: PbData, r: T): T {
  put(r, 'data', bytes(m.data));
  return r;
}

/** First non-null request field in proto field order wins; id 0 without `send` is a pong. */
function commandFromPb(m: PbCommand): Command {
  const id = m.id;
  if (id === 0 && !m.send) return { id: 0, kind: 'pong' };
  if (m.connect) return { id, kind: 'connect', req: connectRequest(m.connect) };
  if (m.subscribe) return { id, kind: 'subscribe', req: subscribeRequest(m.subscribe) };
  if (m.unsubscribe) return { id, kind: 'unsubscribe', req: { channel: m.unsubscribe.channel } };
  if (m.publish) return { id, kind: 'publish', req: withData<PublishRequest>(m.publish, { channel: m.publish.channel }) };
  if (m.presence) return { id, kind: 'presence', req: { channel: m.presence.channel } };
  if (m.presenceStats) return { id, kind: 'presence_stats', req: { channel: m.presenceStats.channel } };
  if (m.history) return { id, kind: 'history', req: historyRequest(m.history) };
  if (m.ping) return { id, kind: 'ping' };
  if (m.send) return { id, kind: 'send', req: withData(m.send, {}) };
  if (m.rpc) {
    const req: RpcRequest = withData(m.rpc, {});
    put(req, 'method', m.rpc.method);
    return { id, kind: 'rpc', req };
  }
  if (m.refresh) return { id, kind: 'refresh', req: m.refresh.token ? { token: m.refresh.token } : {} };
  if (m.subRefresh) {
    const req: SubRefreshRequest = { channel: m.subRefresh.channel };
    put(req, 'token', m.subRefresh.token);
    return { id, kind: 'sub_refresh', req };
  }
  throw new ProtocolDecodeError('unknown command');
}

/** Runs a protobufjs decode, turning its RangeError/Error into `ProtocolDecodeError`. */
function decodeMessage(type: pb.Type, buf: Uint8Array): unknown {
  try {
    return type.decode(buf);
  } catch (err) {
    const detail = messageOf(err);
    throw new ProtocolDecodeError(`malformed ${type.name}: ${detail}`, { cause: err });
  }
}

function decodeCommands(frame: Uint8Array, maxCommandSize: number): Command[] {
  if (frame.length === 0) throw new ProtocolDecodeError('empty frame');
  const commands: Command[] = [];
  let pos = 0;
  while (pos < frame.length) {
    const { value: len, end } = readUvarint32(frame, pos);
    if (len > maxCommandSize) throw new ProtocolDecodeError(`command of ${len} bytes exceeds ${maxCommandSize}`);
    if (end + len > frame.length) throw new ProtocolDecodeError('truncated command');
    const msg = decodeMessage(CommandType, frame.subarray(end, end + len)) as PbCommand;
    commands.push(commandFromPb(msg));
    pos = end + len;
  }
  return commands;
}

// ---------------------------------------------------------------- encoding

const EMPTY = Object.freeze({});

/**
 * Model objects share field names with the descriptor, so most are passed as they are; only the
 * envelopes (which field of Reply/Push carries the payload) are built here.
 */
function pushToPb(p: Push): object {
  switch (p.kind) {
    case 'pub':
      return { channel: p.channel, pub: p.pub };
    case 'join':
      return { channel: p.channel, join: { info: p.info } };
    case 'leave':
      return { channel: p.channel, leave: { info: p.info } };
    case 'unsubscribe':
      return { channel: p.channel, unsubscribe: { code: p.code, reason: p.reason } };
    case 'message':
      return { message: { data: p.data } };
    case 'subscribe':
      return { channel: p.channel, subscribe: p.sub };
    case 'connect':
      return { connect: p.connect };
    case 'disconnect':
      return { disconnect: { code: p.code, reason: p.reason } };
    case 'refresh':
      return { refresh: { expires: p.expires, ttl: p.ttl } };
  }
}

function replyToPb(r: Exclude<Reply, { kind: 'ping' }>): object {
  switch (r.kind) {
    case 'push':
      return { push: pushToPb(r.push) };
    case 'error':
      return { id: r.id, error: r.error };
    case 'unsubscribe':
      return { id: r.id, unsubscribe: EMPTY };
    case 'publish':
      return { id: r.id, publish: EMPTY };
    case 'presence_stats':
      return { id: r.id, presenceStats: r.result };
    case 'sub_refresh':
      return { id: r.id, subRefresh: r.result };
    case 'connect':
    case 'subscribe':
    case 'presence':
    case 'history':
    case 'rpc':
    case 'refresh':
      return { id: r.id, [r.kind]: r.result };
  }
}

function encodeReply(reply: Reply): Uint8Array {
  if (reply.kind === 'ping') return new Uint8Array(1); // varint 0: the empty Reply
  return ReplyType.encodeDelimited(replyToPb(reply)).finish();
}

function encodePush(push: Push): Uint8Array {
  return PushType.encodeDelimited(pushToPb(push)).finish();
}

/** The Protobuf codec. Decoding throws `ProtocolDecodeError`; any bytes are encodable. */
export const protobufCodec: Codec = {
  name: 'protobuf',
  decodeCommands,
  encodeReply,
  encodePush,
};

// ---------------------------------------------------------------- /emulation

/** Body of a Protobuf `/emulation` POST (spec §8.5): `data` holds varint-delimited Commands. */
export interface EmulationRequest {
  /** `ConnectResult.node` of the node that owns the session. */
  node: string;
  /** `ConnectResult.session` of the emulated connection. */
  session: string;
  data: Uint8Array;
}

/** Encodes a bare EmulationRequest (no length prefix: it is a whole HTTP body). */
export function encodeEmulationRequest(req: EmulationRequest): Uint8Array {
  return EmulationRequestType.encode(req).finish();
}

/** Decodes a bare EmulationRequest. Throws `ProtocolDecodeError` on malformed input. */
export function decodeEmulationRequest(body: Uint8Array): EmulationRequest {
  const m = decodeMessage(EmulationRequestType, body) as PbEmulationRequest;
  return { node: m.node, session: m.session, data: new Uint8Array(m.data) };
}
