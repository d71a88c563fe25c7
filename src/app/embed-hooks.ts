/**
 * An embedder's hooks (connecting, subscribing, publishing, RPC) as a layer over Rotor's policy
 * (`rules/hooks.ts`), the way a Centrifugo proxy sits beside its rules:
 *
 * - `connecting` runs first. Returning `{ user }` authenticates the connection as that user, as a
 *   connect proxy's answer does, and Rotor checks no token; returning nothing leaves the connect to
 *   Rotor's configured authentication (JWT, anonymous, `user_id_http_header`).
 * - `subscribing` and `publishing` run after Rotor's channel rules allowed the operation: the hook
 *   sees only what the namespace permits, and may refuse it or change it (channel info and
 *   subscribe data; publication tags, history). Configure the namespace to allow the operation
 *   (`allow_subscribe_for_client`, `allow_publish_for_client`) and decide each case in the hook.
 * - `rpc` answers every RPC call; returning nothing leaves the call to Rotor (the `rpc.ping`
 *   method when configured, else 104 method not found).
 *
 * A hook refuses by throwing `ReplyError` (the client gets that error; 103 permission denied,
 * say) or `DisconnectError` (the connection is closed with that code). Anything else it throws is
 * error 100 to the client. With a `connecting` hook every connect waits for a promise, so the
 * synchronous fast path of HMAC connects (docs/architecture.md) is given up.
 */
import type { ConnectEvent, ConnectReply, NodeHooks, PublishEvent, PublishReply, RpcEvent, RpcReply, SubscribeEvent, SubscribeReply, SubscriptionOptions,
  ChannelEvent, HistoryReply, RefreshEvent, RefreshReply, SubRefreshEvent, SubRefreshReply, ClientContext } from '../node/events.js';
import { errors } from '../protocol/errors.js';
import type { CentrifugoPolicy } from '../rules/hooks.js';
import { DelegatingHooks } from '../node/delegating-hooks.js';
import { buildSubscriptionOptions, NOTHING_ASKED } from '../rules/subscription-options.js';

/** The connection a hook is asked about. */
export interface RotorClient {
  /** Client ID Rotor gave the connection. */
  readonly id: string;
  /** User ID; `""` for an anonymous connection, and in `connecting`. */
  readonly user: string;
  /** `websocket`, `http_stream`, `sse`, `uni_websocket`, `uni_http_stream` or `uni_sse`. */
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

/** The connection is accepted as `user` (`""`: anonymous). */
export interface ConnectingResult {
  user: string;
  /** Connection info, seen by others in presence, join/leave and client publications. */
  info?: HookPayload;
  /** Returned to the client in the connect result. */
  data?: HookPayload;
  /** Channels the connection is subscribed to on the server side, with their namespace's options. */
  channels?: readonly string[];
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

function client(c: ClientContext): RotorClient {
  return { id: c.clientId, user: c.user, transport: c.transport.name, info: c.connInfo };
}

/** Rotor's policy with the embedder's hooks around it (see the file comment). */
export class EmbedderPolicy extends DelegatingHooks<CentrifugoPolicy> {
  readonly rpc?: (e: RpcEvent) => Promise<RpcReply>;

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
      .then((r) => (r === undefined || r === null ? this.base.connecting(e) : this.accepted(r)));
  }

  /** The reply for a connection the `connecting` hook accepted. */
  private accepted(r: ConnectingResult): ConnectReply {
    const rules = this.base.channelRules;
    const subscriptions: Record<string, SubscriptionOptions> = {};
    for (const ch of r.channels ?? []) subscriptions[ch] = buildSubscriptionOptions(rules, rules.resolve(ch).options, NOTHING_ASKED);
    const reply: ConnectReply = { user: r.user, expireAt: 0, subscriptions, clientSideRefresh: false };
    const info = bytes(r.info);
    if (info !== undefined) reply.info = info;
    const data = bytes(r.data);
    if (data !== undefined) reply.data = data;
    return reply;
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
    return { options };
  }





}
