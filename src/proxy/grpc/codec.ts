/**
 * The gRPC proxy's messages (proxy.proto, loaded from the generated descriptor through
 * `protobufjs/light`): requests encoded from the wire model of `../types.ts`, whose field names
 * are the proto's camelCased ones, and answers decoded at this edge into `ProxyAnswer`, so
 * nothing past it sees protobuf. An answer that does not decode, or holds an integer a
 * JavaScript number cannot carry exactly, is a `ProxyCallError`.
 *
 * proto3 cannot tell an empty field from an absent one: an empty `bytes` payload, an empty
 * `subs` map and an empty `tags` map all count as not given, as they do in Centrifugo's Go.
 */
import pb from 'protobufjs/light.js';
import type { OptionOverride } from '../../rules/subscription-options.js';
import {
  ProxyCallError,
  type ConnectProxyResult, type ConnectSubOptions, type ProxyAnswer, type ProxyMethod, type ProxyRequests, type ProxyResults,
  type PublishProxyResult, type RefreshProxyResult, type ResultPayload, type RpcProxyResult, type SubRefreshProxyResult, type SubscribeProxyResult,
} from '../types.js';
import { descriptor } from './descriptor.generated.js';
import { messageOf } from '../../util/message-of.js';

const PACKAGE = 'centrifugal.centrifugo.proxy';
const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const lookup = (name: string): pb.Type => root.lookupType(`${PACKAGE}.${name}`);

/** One unary RPC of `CentrifugoProxy`: its HTTP/2 path and its message types. */
interface Rpc {
  readonly path: string;
  readonly request: pb.Type;
  readonly response: pb.Type;
}

function rpc(name: string, request: string, response: string): Rpc {
  return { path: `/${PACKAGE}.CentrifugoProxy/${name}`, request: lookup(request), response: lookup(response) };
}

export const RPCS: { readonly [M in ProxyMethod]: Rpc } = {
  connect: rpc('Connect', 'ConnectRequest', 'ConnectResponse'),
  refresh: rpc('Refresh', 'RefreshRequest', 'RefreshResponse'),
  subscribe: rpc('Subscribe', 'SubscribeRequest', 'SubscribeResponse'),
  publish: rpc('Publish', 'PublishRequest', 'PublishResponse'),
  sub_refresh: rpc('SubRefresh', 'SubRefreshRequest', 'SubRefreshResponse'),
  rpc: rpc('RPC', 'RPCRequest', 'RPCResponse'),
};

/** grpc-js (de)serializers: messages are encoded and decoded here, so the channel passes bytes. */
export const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
export const asIs = (b: Buffer): Buffer => b;

/** `SubscribeUnidirectional`: a SubscribeRequest in, a stream of StreamSubscribeResponse out. */
export const SUBSCRIBE_UNIDIRECTIONAL_PATH = `/${PACKAGE}.CentrifugoProxy/SubscribeUnidirectional`;
/**
 * `SubscribeBidirectional`: StreamSubscribeRequest messages in (the SubscribeRequest first, then
 * the subscriber's publications), StreamSubscribeResponse messages out.
 */
export const SUBSCRIBE_BIDIRECTIONAL_PATH = `/${PACKAGE}.CentrifugoProxy/SubscribeBidirectional`;
const StreamSubscribeResponseType = lookup('StreamSubscribeResponse');
const StreamSubscribeRequestType = lookup('StreamSubscribeRequest');

/** A bidirectional stream's first message: the subscribe request. */
export function encodeStreamOpening(request: ProxyRequests['subscribe']): Uint8Array {
  return StreamSubscribeRequestType.encode({ subscribeRequest: request as unknown as Record<string, unknown> }).finish();
}

/** A bidirectional stream's later message: a subscriber's publication. */
export function encodeStreamPublication(data: Uint8Array): Uint8Array {
  return StreamSubscribeRequestType.encode({ publication: { data } }).finish();
}

/**
 * The request's bytes. The wire model's fields are the proto's (camelCased) and fields a request
 * type does not have are not written, so the model object is encoded as it is.
 */
export function encodeRequest<M extends ProxyMethod>(method: M, request: ProxyRequests[M]): Uint8Array {
  return RPCS[method].request.encode(request as unknown as Record<string, unknown>).finish();
}

// Decoded shapes: proto3 defaults for absent scalars ("" / 0 / false), an empty array for absent
// bytes, null for absent messages, empty arrays and objects for absent repeated and map fields.

/** protobufjs decodes 64-bit integers to `Long` when the `long` package resolves. */
type Int64 = number | { toNumber(): number };
type PbBytes = Uint8Array | readonly number[];
interface PbBool {
  value: boolean;
}
interface PbOverride {
  presence: PbBool | null;
  joinLeave: PbBool | null;
  forceRecovery: PbBool | null;
  forcePositioning: PbBool | null;
  forcePushJoinLeave: PbBool | null;
}
interface PbSubscribeOptions {
  expireAt: Int64;
  info: PbBytes;
  b64info: string;
  data: PbBytes;
  b64data: string;
  override: PbOverride | null;
}
interface PbConnectResult extends PbSubscribeOptions {
  user: string;
  channels: string[];
  subs: Record<string, PbSubscribeOptions>;
  meta: PbBytes;
}
interface PbRefreshResult {
  expired: boolean;
  expireAt: Int64;
  info: PbBytes;
  b64info: string;
  meta: PbBytes;
}
interface PbPublishResult {
  data: PbBytes;
  b64data: string;
  skipHistory: boolean;
  tags: Record<string, string>;
  idempotencyKey: string;
  delta: boolean;
  version: Int64;
  versionEpoch: string;
}
interface PbResponse<R> {
  result: R | null;
  error: { code: number; message: string; temporary: boolean } | null;
  disconnect: { code: number; reason: string } | null;
}
interface PbPublication {
  data: PbBytes;
  tags: Record<string, string>;
}
interface PbStreamSubscribeResponse {
  subscribeResponse: PbResponse<PbSubscribeOptions> | null;
  publication: PbPublication | null;
}

/** Decodes a unary answer. Throws ProxyCallError when the bytes are not the method's response. */
export function decodeResponse<M extends ProxyMethod>(method: M, bytes: Uint8Array): ProxyAnswer<ProxyResults[M]> {
  let m: PbResponse<unknown>;
  try {
    m = RPCS[method].response.decode(bytes) as unknown as PbResponse<unknown>;
  } catch (e) {
    throw new ProxyCallError(`undecodable answer: ${messageOf(e)}`, undefined, { cause: e });
  }
  return answerOf(m, RESULT_DECODERS[method] as (r: unknown) => ProxyResults[M]);
}

/** One message of a subscription stream: the first carries the answer, later ones publications. */
export type StreamMessage =
  | { kind: 'response'; answer: ProxyAnswer<SubscribeProxyResult> }
  | { kind: 'publication'; data: Uint8Array; tags: Record<string, string> }
  | { kind: 'empty' };

/** Decodes one StreamSubscribeResponse. Throws ProxyCallError when it does not decode. */
export function decodeStreamMessage(bytes: Uint8Array): StreamMessage {
  let m: PbStreamSubscribeResponse;
  try {
    m = StreamSubscribeResponseType.decode(bytes) as unknown as PbStreamSubscribeResponse;
  } catch (e) {
    throw new ProxyCallError(`undecodable stream message: ${messageOf(e)}`, undefined, { cause: e });
  }
  if (m.subscribeResponse !== null) return { kind: 'response', answer: answerOf(m.subscribeResponse, RESULT_DECODERS.subscribe) };
  if (m.publication !== null) return { kind: 'publication', data: bytesOf(m.publication.data), tags: { ...m.publication.tags } };
  return { kind: 'empty' };
}

/** `disconnect` wins over `error`, as in Centrifugo's handlers; neither: the result, if any. */
function answerOf<R>(m: PbResponse<unknown>, decodeResult: (r: never) => R): ProxyAnswer<R> {
  if (m.disconnect !== null) return { kind: 'disconnect', code: m.disconnect.code, reason: m.disconnect.reason };
  if (m.error !== null) return { kind: 'error', code: m.error.code, message: m.error.message, temporary: m.error.temporary };
  return { kind: 'result', result: m.result === null ? undefined : decodeResult(m.result as never) };
}

const RESULT_DECODERS: { readonly [M in ProxyMethod]: (r: never) => ProxyResults[M] } = {
  connect: (r: PbConnectResult): ConnectProxyResult => {
    const out: ConnectProxyResult = {
      user: r.user,
      expireAt: int(r.expireAt, 'expire_at'),
      info: payload(r.info, r.b64info),
      data: payload(r.data, r.b64data),
      channels: r.channels,
      meta: payload(r.meta, ''),
    };
    const names = Object.keys(r.subs);
    if (names.length > 0) out.subs = Object.fromEntries(names.map((ch) => [ch, subOptions(r.subs[ch]!, ch)]));
    return out;
  },
  refresh: (r: PbRefreshResult): RefreshProxyResult => ({
    expired: r.expired,
    expireAt: int(r.expireAt, 'expire_at'),
    info: payload(r.info, r.b64info),
    meta: payload(r.meta, ''),
  }),
  subscribe: (r: PbSubscribeOptions): SubscribeProxyResult => {
    const out: SubscribeProxyResult = { expireAt: int(r.expireAt, 'expire_at'), info: payload(r.info, r.b64info), data: payload(r.data, r.b64data) };
    if (r.override !== null) out.override = override(r.override);
    return out;
  },
  publish: (r: PbPublishResult): PublishProxyResult => {
    const out: PublishProxyResult = {
      data: payload(r.data, r.b64data),
      skipHistory: r.skipHistory,
      idempotencyKey: r.idempotencyKey,
      delta: r.delta,
      version: int(r.version, 'version'),
      versionEpoch: r.versionEpoch,
    };
    if (Object.keys(r.tags).length > 0) out.tags = { ...r.tags };
    return out;
  },
  sub_refresh: (r: PbRefreshResult): SubRefreshProxyResult => ({ expired: r.expired, expireAt: int(r.expireAt, 'expire_at'), info: payload(r.info, r.b64info) }),
  rpc: (r: { data: PbBytes; b64data: string }): RpcProxyResult => ({ data: payload(r.data, r.b64data) }),
};

function subOptions(o: PbSubscribeOptions, channel: string): ConnectSubOptions {
  const out: ConnectSubOptions = { expireAt: int(o.expireAt, `subs.${channel}.expire_at`), info: payload(o.info, o.b64info), data: payload(o.data, o.b64data) };
  if (o.override !== null) out.override = override(o.override);
  return out;
}

/** Only the members the backend set; an unset BoolValue keeps the namespace's option. */
function override(o: PbOverride): OptionOverride {
  const out: OptionOverride = {};
  if (o.presence !== null) out.presence = o.presence.value;
  if (o.joinLeave !== null) out.joinLeave = o.joinLeave.value;
  if (o.forceRecovery !== null) out.forceRecovery = o.forceRecovery.value;
  if (o.forcePositioning !== null) out.forcePositioning = o.forcePositioning.value;
  if (o.forcePushJoinLeave !== null) out.forcePushJoinLeave = o.forcePushJoinLeave.value;
  return out;
}

const EMPTY = new Uint8Array(0);

function bytesOf(v: PbBytes): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function payload(raw: PbBytes, b64: string): ResultPayload {
  const out: ResultPayload = {};
  if (raw instanceof Uint8Array && raw.length > 0) out.raw = raw;
  if (b64 !== '') out.b64 = b64;
  return out;
}

/** A 64-bit integer as a number; one beyond 2^53 cannot be kept exactly and fails the call. */
function int(v: Int64, field: string): number {
  const n = typeof v === 'number' ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new ProxyCallError(`unexpected answer: ${field} ${String(v)} is beyond 2^53`);
  return n;
}
