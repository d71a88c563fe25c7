/**
 * Extension points of the node: typed Event → Reply pairs. The node is mechanics only (sessions,
 * fan-out, recovery); every policy decision — who may connect, subscribe, publish, read history —
 * is made by a `NodeHooks` implementation (`src/rules/` plugs JWTs and namespaces in here).
 * A hook rejects by throwing `ReplyError` (answered as an error reply) or `DisconnectError`
 * (the connection is closed with that code).
 */
import type { TransportCapabilities } from './transport.js';
import type { ClientInfo, SubscribeRequest } from '../protocol/types.js';
import type { HistoryRetention, PresenceStats, PublishOptions } from '../engine/types.js';

/** The connection a hook is asked about. */
export interface ClientContext {
  readonly clientId: string;
  /** User ID; `""` when anonymous or not yet authenticated. */
  readonly user: string;
  readonly transport: TransportCapabilities;
  /** Connection info (raw JSON or bytes) from the token or a proxy. */
  readonly connInfo: Uint8Array | undefined;
  /** Server-only connection metadata from the token `meta` claim. */
  readonly meta: Uint8Array | undefined;
  /** True while the connection is subscribed to the channel (for `_for_subscriber` permissions). */
  isSubscribed(channel: string): boolean;
  /**
   * Headers kept from the connect for later proxy requests (`ConnectReply.keptHeaders`); undefined
   * when the connecting hook kept none, and before connect.
   */
  readonly keptHeaders: KeptHeaders | undefined;
}

/**
 * The opening request's headers a connection keeps for its whole life, for proxies that forward
 * them with every request (subscribe, publish, RPC, refresh), not only at connect. Only the names
 * some proxy forwards are kept: a connection does not hold kilobytes of cookies nobody reads.
 */
export interface KeptHeaders {
  /** From the HTTP request that opened the connection (`http_headers`). Names lower-case. */
  readonly request: ReadonlyMap<string, string>;
  /** From `ConnectRequest.headers` (`emulated_headers`). Names lower-case. */
  readonly emulated: ReadonlyMap<string, string>;
  /** gRPC metadata of a uni_grpc connection (`grpc_metadata`). Keys lower-case. */
  readonly metadata: ReadonlyMap<string, string>;
}

/** How a subscription behaves once allowed. Built by the subscribe hook from channel options. */
export interface SubscriptionOptions {
  /** Add the connection to channel presence. */
  emitPresence: boolean;
  /** Publish join/leave events for this subscriber. */
  emitJoinLeave: boolean;
  /** Deliver join/leave events of others to this subscriber. */
  pushJoinLeave: boolean;
  /** Stream positioning: the server tracks offsets and detects gaps. */
  enablePositioning: boolean;
  /** Recovery of missed publications on resubscribe (implies positioning). */
  enableRecovery: boolean;
  recoveryMode: 'stream' | 'cache';
  /** Channel info for ClientInfo.chan_info. */
  chanInfo?: Uint8Array;
  /** Custom data returned in SubscribeResult.data. */
  data?: Uint8Array;
  /** Unix seconds; 0 = the subscription never expires. */
  expireAt: number;
  /** Delta types the channel allows (`["fossil"]` or empty). */
  allowedDeltaTypes: readonly string[];
  /** Stream meta TTL for history reads on this channel, ms (0 = broker default). */
  historyMetaTtlMs: number;
  /** The client may send a publication tags filter (`allow_tags_filter`). */
  allowTagsFilter?: boolean;
}

export interface ConnectEvent {
  readonly client: ClientContext;
  readonly token: string;
  readonly data: Uint8Array | undefined;
  readonly name: string;
  readonly version: string;
  /** The client's `subs` map: server-side subscriptions it knows about (for recovery). */
  readonly subs: Readonly<Record<string, SubscribeRequest>>;
  /**
   * Headers of the HTTP request that opened the connection (the WebSocket upgrade, the stream's
   * request), as the transport received them: names lower-case, a header sent more than once
   * as its values joined by ", ". Only these are the request's own; policy that trusts a header
   * (`client.user_id_http_header`) reads this map alone.
   */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * `ConnectRequest.headers`: headers the client asks to be treated as sent with its request, for
   * clients that cannot set headers (a browser's WebSocket or EventSource). Names lower-case;
   * empty when the client sent none. They are the client's word, like any command field, so they
   * never appear in `headers`. A proxy forwards both as Centrifugo does: the names listed in its
   * `emulated_headers` from here, those listed in `http_headers` from `headers`, and a name
   * present in both goes out with the `headers` value (static < emulated < request).
   */
  readonly emulatedHeaders: ReadonlyMap<string, string>;
  /**
   * gRPC metadata of the call that opened a uni_grpc connection: keys lower-case, binary (`-bin`)
   * keys left out. Empty for every other transport.
   */
  readonly metadata: ReadonlyMap<string, string>;
}

export interface ConnectReply {
  user: string;
  /** Unix seconds; 0 = never expires. */
  expireAt: number;
  info?: Uint8Array;
  meta?: Uint8Array;
  /** Returned in ConnectResult.data. */
  data?: Uint8Array;
  /** Server-side subscriptions to establish before the connect reply. */
  subscriptions: Record<string, SubscriptionOptions>;
  /** The client refreshes its own token (ConnectResult.expires/ttl are sent). */
  clientSideRefresh: boolean;
  /**
   * Server-side channels that came from the connection token. A refreshed token listing other
   * channels makes the client reconnect (3010) so the new set takes effect.
   */
  tokenChannels?: string[];
  /** Headers the connection keeps for later proxy requests (`ClientContext.keptHeaders`). */
  keptHeaders?: KeptHeaders;
  /**
   * Runs once the connect has succeeded and its reply (or push) is written: Centrifugo's
   * OnConnect. Never runs for a connect that fails after the hook answered (a connection or
   * channel limit, an expiry in the past, a server-side subscription that fails).
   */
  onConnected?: () => void;
}

export interface SubscribeEvent {
  readonly client: ClientContext;
  readonly channel: string;
  readonly token: string;
  readonly data: Uint8Array | undefined;
  /** Flags the client asked for; the hook decides whether they are honoured. */
  readonly positioned: boolean;
  readonly recoverable: boolean;
  readonly joinLeave: boolean;
  /**
   * Set when a v1 client's private channel sign checked out for this connection and channel: it
   * stands in for a subscription token. `info` is the channel info it signed.
   */
  readonly v1Signed?: { readonly info: Uint8Array | undefined };
}

export interface SubscribeReply {
  options: SubscriptionOptions;
  /** The client refreshes the subscription token itself (SubscribeResult.expires/ttl are sent). */
  clientSideRefresh: boolean;
  /**
   * Publications for this one subscriber from the application backend (a subscribe stream
   * proxy), beside what the channel's broker delivers. The subscription owns it from here: the
   * node closes it when the subscribe fails or the subscription ends.
   */
  stream?: SubscriptionStream;
}

/**
 * A per-subscriber stream of publications, outside the broker and history (Centrifugo's subscribe
 * stream proxy). They carry no stream position: positioned subscriptions deliver them without
 * moving their offset.
 */
export interface SubscriptionStream {
  /**
   * Delivery starts once the subscription is live and its subscribe reply is out. Publications
   * that arrived before are handed over first, in order. Called at most once.
   */
  start(sink: SubscriptionStreamSink): void;
  /**
   * Present on a bidirectional stream: a publish by the subscriber goes to the backend through
   * it instead of into the channel. False when the stream is already over.
   */
  readonly publish?: (data: Uint8Array) => boolean;
  /** Ends it from Rotor's side (unsubscribe, disconnect, failed subscribe); no sink call follows. Idempotent. */
  close(): void;
}

export interface SubscriptionStreamSink {
  publication(data: Uint8Array, tags: Readonly<Record<string, string>> | undefined): void;
  /**
   * The backend ended the stream: `failed` when it broke (the client is unsubscribed with 2500 and
   * its SDK subscribes again), else it finished (unsubscribed with 2000).
   */
  ended(failed: boolean): void;
}

export interface PublishEvent {
  readonly client: ClientContext;
  readonly channel: string;
  readonly data: Uint8Array;
}

export interface PublishReply {
  /** How to publish: history retention, tags, delta. Client info is added by the node. */
  options: PublishOptions;
  /**
   * Published instead of the client's data when set, as these bytes (what a publish proxy's
   * `result.data` does). Absent: the client's data is published.
   */
  data?: Uint8Array;
}

export interface ChannelEvent {
  readonly client: ClientContext;
  readonly channel: string;
}

export interface HistoryReply {
  /** Stream meta TTL to refresh on read, ms (0 = broker default). */
  historyMetaTtlMs: number;
}

export interface RefreshEvent {
  readonly client: ClientContext;
  readonly token: string;
}

export interface RefreshReply {
  /** Unix seconds; 0 = never expires. */
  expireAt: number;
  /** Server-side channels of the new token; compared with the connect-time ones. */
  tokenChannels?: string[];
  info?: Uint8Array;
  meta?: Uint8Array;
}

export interface SubRefreshEvent {
  readonly client: ClientContext;
  readonly channel: string;
  readonly token: string;
}

export interface SubRefreshReply {
  /** Unix seconds; 0 = never expires. */
  expireAt: number;
  chanInfo?: Uint8Array;
}

/** A connection that refreshes server-side (`clientSideRefresh: false`) reached its expiry. */
export interface ExpiredEvent {
  readonly client: ClientContext;
}

export interface ExpiredRefreshReply {
  /** True: the connection ends with 3005 expired. */
  expired?: boolean;
  /**
   * The new expiry, Unix seconds. Absent, 0 or not in the future ends the connection with 3005,
   * as Centrifugo treats a refresh proxy's answer without a later `expire_at`.
   */
  expireAt?: number;
  /** Replaces the connection info when set. */
  info?: Uint8Array;
  /** Replaces the connection meta when set. */
  meta?: Uint8Array;
}

export interface SubExpiredRefreshReply {
  /** True: the subscription ends (unsubscribe 2501; 3006 disconnect for a server-side one). */
  expired?: boolean;
  /** The new expiry, Unix seconds; absent or 0: the subscription no longer expires. One in the past ends it. */
  expireAt?: number;
  /** Replaces the subscription's channel info when set. */
  info?: Uint8Array;
}

export interface RpcEvent {
  readonly client: ClientContext;
  readonly method: string;
  readonly data: Uint8Array | undefined;
}

export interface RpcReply {
  data?: Uint8Array;
}

/** Policy plugged into the node. All methods may throw ReplyError or DisconnectError. */
export interface NodeHooks {
  /** May answer synchronously (no promise): the connect then completes in the same event. */
  connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply>;
  subscribing(e: SubscribeEvent): Promise<SubscribeReply>;
  publishing(e: PublishEvent): Promise<PublishReply>;
  history(e: ChannelEvent): Promise<HistoryReply>;
  presence(e: ChannelEvent): Promise<void>;
  presenceStats(e: ChannelEvent): Promise<void>;
  refreshing(e: RefreshEvent): Promise<RefreshReply>;
  subRefreshing(e: SubRefreshEvent): Promise<SubRefreshReply>;
  /** Absent: RPC answers 108 not available. */
  rpc?(e: RpcEvent): Promise<RpcReply>;
  /**
   * Server-side refresh of a connection that does not refresh itself (the connecting hook said
   * `clientSideRefresh: false`), asked when its expiry is reached, with no grace period (what
   * Centrifugo does with a refresh proxy). Throwing `DisconnectError` closes the connection with
   * that code; any other error is logged and closes it with 3004. Absent: such a connection is
   * closed with 3005 `client.expired_close_delay` after its expiry unless refreshed through the
   * server API.
   */
  refreshExpired?(e: ExpiredEvent): Promise<ExpiredRefreshReply>;
  /**
   * Server-side refresh of a subscription that does not refresh itself (the subscribing hook
   * said `clientSideRefresh: false`), asked by the periodic tick once the subscription is past
   * its expiry and `client.expired_sub_close_delay`, as for the client-side kind (Centrifugo
   * with a sub refresh proxy). Throwing `DisconnectError` closes the connection with that code;
   * any other error is logged and counts as expired. Absent: the subscription ends as expired.
   */
  subRefreshExpired?(e: ChannelEvent): Promise<SubExpiredRefreshReply>;
}

// The engine types that layers above the node use; they import them from here, not engine/.
export type { ClientInfo, HistoryRetention, PresenceStats, PublishOptions };
