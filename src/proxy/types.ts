/**
 * The proxy wire model, whatever carries it (HTTP JSON or gRPC): one request and one result shape
 * per proxied event, with the fields and meanings of Centrifugo's `proxy.proto` (spec §3.10).
 * Requests are built by `requests.ts` from node events; a `ProxyCaller` (HTTP in `http-caller.ts`,
 * gRPC in `grpc/`) sends them and decodes the backend's answer into `ProxyAnswer` at its edge, so
 * the hooks never see JSON or protobuf.
 *
 * Payloads are bytes. With `binary_encoding` a request carries them base64-encoded in the `b64*`
 * fields (`encoding: "binary"`); otherwise in the plain fields, which an HTTP caller embeds as raw
 * JSON and a gRPC caller sends as `bytes`. A result's `b64*` field wins over the plain one.
 */

import type { OptionOverride } from '../rules/subscription-options.js';
import type { EventEmitter } from 'node:events';

export type ProxyMethod = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'sub_refresh' | 'rpc';

/** Fields of every request (proto fields 1–4). */
export interface ProxyRequestBase {
  client: string;
  /** `websocket`, `http_stream`, `sse`, `uni_websocket`, `uni_http_stream`, `uni_sse`, `uni_grpc`. */
  transport: string;
  protocol: 'json' | 'protobuf';
  encoding: 'json' | 'binary';
}

/** A payload in the request: plain bytes, or base64 text with `binary_encoding`. */
export interface RequestPayload {
  data?: Uint8Array;
  b64data?: string;
}

export interface ConnectProxyRequest extends ProxyRequestBase, RequestPayload {
  name: string;
  version: string;
  /** Channels the client asked for in `connect.subs` (Centrifugo's `channels` field 14). */
  channels: string[];
}

export interface UserRequestBase extends ProxyRequestBase {
  user: string;
  /** The connection's `meta`, with `include_connection_meta` only. */
  meta?: Uint8Array;
}

export type RefreshProxyRequest = UserRequestBase;

export interface SubscribeProxyRequest extends UserRequestBase, RequestPayload {
  channel: string;
  token: string;
}

export interface PublishProxyRequest extends UserRequestBase, RequestPayload {
  channel: string;
}

export interface SubRefreshProxyRequest extends UserRequestBase {
  channel: string;
}

export interface RpcProxyRequest extends UserRequestBase, RequestPayload {
  method: string;
}

/**
 * A payload in a result; `b64` (base64) wins over `raw` when both are given. A caller hands `b64`
 * on as the backend sent it; the hooks decode it and fail the call (error 100, logged) when it is
 * not standard base64 with padding.
 */
export interface ResultPayload {
  raw?: Uint8Array;
  b64?: string;
}

/** `SubscribeOptions` of a connect result's `subs` map. */
export interface ConnectSubOptions {
  expireAt: number;
  info: ResultPayload;
  data: ResultPayload;
  override?: OptionOverride;
}

export interface ConnectProxyResult {
  user: string;
  /** Unix seconds; 0 = no expiry. */
  expireAt: number;
  info: ResultPayload;
  data: ResultPayload;
  channels: string[];
  subs?: Record<string, ConnectSubOptions>;
  meta: ResultPayload;
}

export interface RefreshProxyResult {
  expired: boolean;
  expireAt: number;
  info: ResultPayload;
  meta: ResultPayload;
}

export interface SubscribeProxyResult {
  expireAt: number;
  info: ResultPayload;
  data: ResultPayload;
  override?: OptionOverride;
}

export interface PublishProxyResult {
  data: ResultPayload;
  skipHistory: boolean;
  tags?: Record<string, string>;
  idempotencyKey: string;
  delta: boolean;
  version: number;
  versionEpoch: string;
}

export interface SubRefreshProxyResult {
  expired: boolean;
  expireAt: number;
  info: ResultPayload;
}

export interface RpcProxyResult {
  data: ResultPayload;
}

export interface ProxyRequests {
  connect: ConnectProxyRequest;
  refresh: RefreshProxyRequest;
  subscribe: SubscribeProxyRequest;
  publish: PublishProxyRequest;
  sub_refresh: SubRefreshProxyRequest;
  rpc: RpcProxyRequest;
}

export interface ProxyResults {
  connect: ConnectProxyResult;
  refresh: RefreshProxyResult;
  subscribe: SubscribeProxyResult;
  publish: PublishProxyResult;
  sub_refresh: SubRefreshProxyResult;
  rpc: RpcProxyResult;
}

/**
 * What the backend decided: a result (undefined when it answered without one, which means
 * something per method: see `hooks.ts`), an error for the client, or a disconnect.
 */
export type ProxyAnswer<R> =
  | { kind: 'result'; result: R | undefined }
  | { kind: 'error'; code: number; message: string; temporary: boolean }
  | { kind: 'disconnect'; code: number; reason: string };

/** A publication from a subscribe stream's backend, for its one subscriber. */
export interface StreamPublication {
  data: Uint8Array;
  tags: Record<string, string>;
}

export interface SubscribeStreamEvents {
  response: [answer: ProxyAnswer<SubscribeProxyResult>];
  publication: [publication: StreamPublication];
  end: [error: ProxyCallError | undefined];
}

/**
 * A subscribe stream to the backend (gRPC `SubscribeUnidirectional`/`SubscribeBidirectional`),
 * from the subscribe request on. Events come in this order:
 * - `response` once: the backend's decision, as a unary subscribe answer would be. An error or
 *   disconnect answer ends the stream there (cancelled, nothing follows).
 * - `publication` for each later message carrying one.
 * - `end` once, unless `cancel()` came first: undefined when the backend finished the stream, a
 *   ProxyCallError when it broke (also before `response`, which then never comes).
 */
export interface BackendSubscribeStream extends EventEmitter<SubscribeStreamEvents> {
  /** Whether `publish` reaches the backend (a bidirectional stream). */
  readonly bidirectional: boolean;
  /** Sends a subscriber's publication to the backend; false when it cannot (over, or unidirectional). */
  publish(data: Uint8Array): boolean;
  /** Ends the stream from this side; no event follows. Idempotent. */
  cancel(): void;
}

/**
 * One backend endpoint. `forwarded` holds the connection's headers (or gRPC metadata) the proxy
 * forwards, names lower-case; the caller adds its static headers beneath them.
 */
export interface ProxyCaller {
  /**
   * The proxy in logs: the config path of its object (`client.proxy.connect`, `channel.proxy.publish`,
   * `rpc.proxy`, `proxies[0]`); failures are logged with it and the method (`connect`, ...).
   */
  readonly name: string;
  call<M extends ProxyMethod>(method: M, request: ProxyRequests[M], forwarded: ReadonlyMap<string, string>): Promise<ProxyAnswer<ProxyResults[M]>>;
  /**
   * Opens a subscribe stream (gRPC proxies only; undefined on HTTP ones). Throws ProxyCallError
   * when it cannot be opened.
   */
  openSubscribeStream?(request: SubscribeProxyRequest, forwarded: ReadonlyMap<string, string>, bidirectional: boolean): BackendSubscribeStream;
  /** Closes idle connections; calls in flight finish. */
  close(): Promise<void>;
}

/**
 * The call failed before the backend decided: refused or reset connection, timeout, a status
 * other than 200 without a transform, an answer that is not the expected JSON or protobuf, an
 * answer over the size limit. Logged with the proxy's name; what the client gets depends on the
 * method (error 100 for connect, subscribe, publish and RPC; a 60 s extension for refreshes).
 */
export class ProxyCallError extends Error {
  override readonly name = 'ProxyCallError';
  constructor(
    message: string,
    /** The HTTP status, when the backend answered with one other than 200. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
