/**
 * An embedder's hooks (connecting, refreshing, subscribing, publishing, RPC) as a layer over Rotor's policy
 * (`rules/hooks.ts`), the way a Centrifugo proxy sits beside its rules:
 *
 * - `connecting` runs first. Returning `{ user }` authenticates the connection as that user, as a
 *   connect proxy's answer does, and Rotor checks no token; the rest of the connect is a token
 *   connection's (`CentrifugoPolicy.connectReply`: the personal channel, the client's `subs`).
 *   Returning nothing leaves the connect to Rotor's configured authentication (JWT, anonymous,
 *   `user_id_http_header`).
 * - `refreshing` extends a connection `connecting` accepted with an `expireAt`, when it is reached
 *   (`NodeHooks.refreshExpired`; such a connection cannot refresh itself, having no token). Without
 *   the hook it closes with 3005 `client.expired_close_delay` after its expiry.
 * - `subscribing` and `publishing` run after Rotor's channel rules allowed the operation: the hook
 *   sees only what the namespace permits, and may refuse it or change it (channel info and
 *   subscribe data; publication data, tags, history). Configure the namespace to allow the
 *   operation (`allow_subscribe_for_client`, `allow_publish_for_client`) and decide each case in
 *   the hook.
 * - `rpc` answers every RPC call; returning nothing leaves the call to Rotor (the `rpc.ping`
 *   method when configured, else 104 method not found).
 *
 * A hook refuses by throwing `ReplyError` (the client gets that error; 103 permission denied,
 * say) or `DisconnectError` (the connection is closed with that code). Anything else it throws is
 * error 100 to the client. With a `connecting` hook every connect waits for a promise, so the
 * synchronous fast path of HMAC connects (docs/architecture.md) is given up.
 */
import type {
  ClientContext, ConnectEvent, ConnectReply, ExpiredEvent, ExpiredRefreshReply, PublishEvent, PublishReply, RpcEvent, RpcReply, SubscribeEvent, SubscribeReply,
  SubscriptionOptions,
} from '../node/events.js';
import { errors } from '../protocol/errors.js';
import type { CentrifugoPolicy, ConnectIdentity } from '../rules/hooks.js';
import { DelegatingHooks } from '../node/delegating-hooks.js';

/** The connection a hook is asked about. */
export interface RotorClient {
  /** Client ID Rotor gave the connection. */
  readonly id: string;
  /** User ID; `""` for an anonymous connection, and in `connecting`. */
  readonly user: string;
  /** `websocket`, `http_stream`, `sse`, `uni_websocket`, `uni_http_stream`, `uni_sse`, `uni_grpc`, or `sockjs` (Centrifugo v1 clients). */
  readonly transport: string;
  /** Connection info (the token's `info`, or what `connecting` returned) as bytes, JSON for JSON clients. */
  readonly info: Uint8Array | undefined;
}

/**
 * A payload a hook gives back: a `Uint8Array` is sent as these bytes; any other value is sent as
 * its JSON text (`JSON.stringify`), so `{ room: 1 }` reaches a JSON client as that object.
 */
export type HookPayload = unknown;

export interface ConnectingEvent {
  readonly client: RotorClient;
  /** The connection token the client sent; `""` without one. */
  readonly token: string;
  /** `data` of the connect command (bytes; JSON text for JSON clients). */
  readonly data: Uint8Array | undefined;
  /** SDK name and version the client reported. */
  readonly name: string;
  readonly version: string;
  /**
   * Headers of the HTTP request that opened the connection (the WebSocket upgrade, the stream's
   * request): names lower-case, a header sent more than once as its values joined by ", ".
   */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Headers the client asked to be treated as sent (the connect command's `headers`, for browsers
   * that cannot set them on a WebSocket or EventSource): the client's word, never merged into
   * `headers`. Names lower-case.
   */
  readonly emulatedHeaders: Readonly<Record<string, string>>;
}

/**
 * The connection is accepted as `user` (`""`: anonymous), and gets what a token connection gets:
 * the personal channel when `client.subscribe_to_user_personal_channel` is on, and the channels
 * the client lists in its connect `subs` (its server-side subscriptions before a reconnect,
 * recovered from where it was) that the namespace lets it subscribe to.
 */
export interface ConnectingResult {
  user: string;
  /** Connection info, seen by others in presence, join/leave and client publications. */
  info?: HookPayload;
  /** Returned to the client in the connect result. */
  data?: HookPayload;
  /** Channels the connection is subscribed to on the server side, with their namespace's options. */
  channels?: readonly string[];
  /**
   * When the connection expires, Unix seconds (not milliseconds); absent or 0: never. At that
   * moment the `refreshing` hook is asked to extend it; without one it closes with 3005 (expired)
   * `client.expired_close_delay` later. An expiry already past refuses the connect (109).
   */
  expireAt?: number;
}

export interface RefreshingEvent {
  /** A connection `connecting` accepted with an `expireAt`, which is now reached. */
  readonly client: RotorClient;
}

/** The connection goes on until `expireAt`; without a later one it closes with 3005 (expired). */
export interface RefreshingResult {
  /** The new expiry, Unix seconds; it must be in the future. */
  expireAt?: number;
  /** Replaces the connection info. */
  info?: HookPayload;
}

export interface SubscribingEvent {
  readonly client: RotorClient;
  readonly channel: string;
  /** `data` of the subscribe command. */
  readonly data: Uint8Array | undefined;
}

export interface SubscribingResult {
  /** Channel info of this subscriber (ClientInfo.chan_info in presence and join/leave). */
  info?: HookPayload;
  /** Returned to the client in the subscribe result. */
  data?: HookPayload;
}

export interface PublishingEvent {
  readonly client: RotorClient;
  readonly channel: string;
  readonly data: Uint8Array;
}

export interface PublishingResult {
  /**
   * Published instead of the client's data, to every subscriber and into history (the namespace's
   * data format is not checked again).
   */
  data?: HookPayload;
  /** Tags of the publication (replacing none: a client publish has none of its own). */
  tags?: Record<string, string>;
  /** Publishes without keeping the publication in the channel's history. */
  skipHistory?: boolean;
}

export interface RpcCallEvent {
  readonly client: RotorClient;
  readonly method: string;
  readonly data: Uint8Array | undefined;
}

export interface RpcCallResult {
  /** The RPC reply's data. */
  data?: HookPayload;
}

/** What an embedder plugs in; every hook is optional. See the file comment for their semantics. */
export interface RotorHooks {
  connecting?(e: ConnectingEvent): Promise<ConnectingResult | undefined | void>;
  refreshing?(e: RefreshingEvent): Promise<RefreshingResult | undefined | void>;
  subscribing?(e: SubscribingEvent): Promise<SubscribingResult | undefined | void>;
  publishing?(e: PublishingEvent): Promise<PublishingResult | undefined | void>;
  rpc?(e: RpcCallEvent): Promise<RpcCallResult | undefined | void>;
}

const encoder = new TextEncoder();

function bytes(v: HookPayload): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array) return v;
  const text = JSON.stringify(v);
  if (text === undefined) throw new TypeError(`a hook payload must be bytes or JSON-serialisable, got ${typeof v}`);
  return encoder.encode(text);
}

/**
 * An expiry a hook returned, checked: Unix seconds, 0 for none. A value past the year 5000 is
 * taken for milliseconds (`Date.now()` instead of seconds) and refused, as is anything not a
 * non-negative integer.
 */
function expiry(v: unknown, hook: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${hook} hook: expireAt must be Unix seconds (a non-negative integer), got ${String(v)}`);
  if (v > MAX_EXPIRE_AT) throw new TypeError(`${hook} hook: expireAt is Unix seconds; ${v} is milliseconds`);
  return v;
}

/** 5000-01-01 in Unix seconds: any later "expiry" is a timestamp in milliseconds. */
const MAX_EXPIRE_AT = 95_617_584_000;

function client(c: ClientContext): RotorClient {
  return { id: c.clientId, user: c.user, transport: c.transport.name, info: c.connInfo };
}

/** Rotor's policy with the embedder's hooks around it (see the file comment). */
export class EmbedderPolicy extends DelegatingHooks<CentrifugoPolicy> {
  readonly rpc?: (e: RpcEvent) => Promise<RpcReply>;
  readonly refreshExpired?: (e: ExpiredEvent) => Promise<ExpiredRefreshReply>;

  constructor(
    base: CentrifugoPolicy,
    private readonly hooks: RotorHooks,
  ) {
    super(base);
    const rpcHook = hooks.rpc?.bind(hooks);
    const baseRpc = base.rpc?.bind(base);
    if (rpcHook !== undefined) {
      this.rpc = async (e) => {
        const r = await rpcHook({ client: client(e.client), method: e.method, data: e.data });
        if (r === undefined || r === null) {
          if (baseRpc !== undefined) return baseRpc(e);
          throw errors.methodNotFound();
        }
        const data = bytes(r.data);
        return data !== undefined ? { data } : {};
      };
    } else if (baseRpc !== undefined) this.rpc = baseRpc;
    const refreshHook = hooks.refreshing?.bind(hooks);
    if (refreshHook !== undefined) {
      this.refreshExpired = async (e) => {
        const r = await refreshHook({ client: client(e.client) });
        if (r === undefined || r === null) return { expired: true };
        const out: ExpiredRefreshReply = { expireAt: expiry(r.expireAt, 'refreshing') };
        const info = bytes(r.info);
        if (info !== undefined) out.info = info;
        return out;
      };
    }
  }

  override connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    const hook = this.hooks.connecting;
    if (hook === undefined) return this.base.connecting(e);
    return hook
      .call(this.hooks, {
        client: client(e.client),
        token: e.token,
        data: e.data,
        name: e.name,
        version: e.version,
        headers: Object.fromEntries(e.headers),
        emulatedHeaders: Object.fromEntries(e.emulatedHeaders),
      })
      .then((r) => (r === undefined || r === null ? this.base.connecting(e) : this.accepted(e, r)));
  }

  /** The reply for a connection the `connecting` hook accepted: a token connection's, refreshed by the server. */
  private accepted(e: ConnectEvent, r: ConnectingResult): ConnectReply {
    if (typeof r.user !== 'string') throw new TypeError(`connecting hook: user must be a string, got ${typeof r.user}`);
    const id: ConnectIdentity = { user: r.user, expireAt: expiry(r.expireAt, 'connecting'), clientSideRefresh: false };
    if (r.channels !== undefined) id.channels = r.channels;
    const info = bytes(r.info);
    if (info !== undefined) id.info = info;
    const data = bytes(r.data);
    if (data !== undefined) id.data = data;
    return this.base.connectReply(e, id);
  }

  override async subscribing(e: SubscribeEvent): Promise<SubscribeReply> {
    const reply = await this.base.subscribing(e);
    const hook = this.hooks.subscribing;
    if (hook === undefined) return reply;
    const r = await hook.call(this.hooks, { client: client(e.client), channel: e.channel, data: e.data });
    if (r === undefined || r === null) return reply;
    const chanInfo = bytes(r.info);
    const data = bytes(r.data);
    if (chanInfo === undefined && data === undefined) return reply;
    // The base options may be a shared, frozen object: the changed ones are this subscriber's own.
    const options: SubscriptionOptions = { ...reply.options };
    if (chanInfo !== undefined) options.chanInfo = chanInfo;
    if (data !== undefined) options.data = data;
    return { ...reply, options };
  }

  override async publishing(e: PublishEvent): Promise<PublishReply> {
    const reply = await this.base.publishing(e);
    const hook = this.hooks.publishing;
    if (hook === undefined) return reply;
    const r = await hook.call(this.hooks, { client: client(e.client), channel: e.channel, data: e.data });
    if (r === undefined || r === null) return reply;
    const options = { ...reply.options };
    if (r.tags !== undefined) options.tags = { ...r.tags };
    if (r.skipHistory === true) delete options.history;
    const data = bytes(r.data);
    return data !== undefined ? { options, data } : { options };
  }
}
