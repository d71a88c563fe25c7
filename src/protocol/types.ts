/**
 * Client protocol v2 as Rotor's core sees it: the wire messages of Centrifugo's `client.proto`
 * (package `centrifugal.centrifuge.protocol`, protocol v0.19.2) decoded once at the edge into plain
 * objects and discriminated unions. Both codecs (JSON, Protobuf) produce and consume exactly these
 * types, so nothing past the codec knows which encoding a connection speaks.
 *
 * Conventions:
 * - Field names are camelCase here; codecs map them to the wire's snake_case (`conn_info`, ...).
 * - Proto `bytes` fields are `Uint8Array`. On JSON connections they hold the raw JSON text of the
 *   value exactly as received (never re-serialised, so big integers and key order survive).
 * - Optional fields that are absent and proto zero values are treated alike (proto3 semantics):
 *   codecs omit `false`, `0`, `""`, empty maps and absent values when encoding.
 * - Offsets are uint64 on the wire; they are JS numbers here (exact up to 2^53, far beyond any
 *   stream that can exist in practice).
 */

/** Position in a channel stream. `epoch` identifies the stream generation (8 letters). */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** Who did something: a connection's identity as shown in presence, join/leave and publications. */
export interface ClientInfo {
  /** User ID; `""` for anonymous connections. */
  user: string;
  /** Connection (client) ID, a UUID. */
  client: string;
  /** Connection info from the JWT `info`/`b64info` claim or a proxy. */
  connInfo?: Uint8Array;
  /** Channel info from a subscription token, proxy or server API subscribe. */
  chanInfo?: Uint8Array;
}

export interface Publication {
  data: Uint8Array;
  info?: ClientInfo;
  /** Stream offset; 0 when the channel keeps no history. */
  offset?: number;
  tags?: Record<string, string>;
  /** True when `data` is a fossil delta against the previous publication's data. */
  delta?: boolean;
  /** Milliseconds since the Unix epoch (optional). */
  time?: number;
  /** Channel, for wildcard subscriptions only. */
  channel?: string;
}

export interface ProtocolError {
  code: number;
  message: string;
  temporary?: boolean;
}

// ---------------------------------------------------------------- requests

/**
 * Publication tags filter (Centrifugo v6.4). A leaf (`op` "") compares the tag `key` with `cmp`
 * (eq, neq, in, nin, ex, nex, sw, ew, ct, lt, lte, gt, gte) against `val`/`vals`; inner nodes
 * combine `nodes` with `and`, `or` or `not`.
 */
export interface FilterNode {
  op: string;
  key: string;
  cmp: string;
  val: string;
  vals: string[];
  nodes: FilterNode[];
}

/** `subs` entry of a ConnectRequest: the client's view of its server-side subscriptions. */
export interface SubscribeRequest {
  channel: string;
  token?: string;
  recover?: boolean;
  epoch?: string;
  offset?: number;
  data?: Uint8Array;
  positioned?: boolean;
  recoverable?: boolean;
  joinLeave?: boolean;
  /** Delta type; `"fossil"` is the only one defined. */
  delta?: string;
  /** Feature bits: 1 = channel compaction (not supported), 2 = reject unrecovered (error 112). */
  flag?: number;
  /** Tags filter; needs the namespace's `allow_tags_filter`. */
  tf?: FilterNode;
  /** A v1 client's private channel sign. */
  v1Sign?: V1ChannelSign;
}

/**
 * A Centrifugo v1 client's credentials (`connect` and `refresh` params): `token` is the hex
 * HMAC-SHA256 of user, timestamp and info with the secret. Only the v1 codec produces these.
 */
export interface V1Credentials {
  user: string;
  /** Unix seconds, as the string the token signs. */
  timestamp: string;
  /** JSON text of the connection info ("" = none), as signed. */
  info: string;
  token: string;
}

/** A v1 private (`$`) channel subscription's proof: hex HMAC-SHA256 of client, channel and info. */
export interface V1ChannelSign {
  client: string;
  /** JSON text of the channel info ("" = none), as signed. */
  info: string;
  sign: string;
}

export interface ConnectRequest {
  token?: string;
  /** Set instead of `token` by a Centrifugo v1 client. */
  v1?: V1Credentials;
  data?: Uint8Array;
  /** Keyed by channel. Only `recover`, `offset`, `epoch`, `delta` are read. */
  subs?: Record<string, SubscribeRequest>;
  name?: string;
  version?: string;
  headers?: Record<string, string>;
  flag?: number;
}

export interface RefreshRequest {
  token?: string;
  /** Set instead of `token` by a Centrifugo v1 client. */
  v1?: V1Credentials;
}
export interface UnsubscribeRequest {
  channel: string;
}
export interface PublishRequest {
  channel: string;
  data?: Uint8Array;
}
export interface PresenceRequest {
  channel: string;
}
export interface PresenceStatsRequest {
  channel: string;
}
export interface HistoryRequest {
  channel: string;
  limit?: number;
  since?: StreamPosition;
  reverse?: boolean;
}
export interface RpcRequest {
  data?: Uint8Array;
  method?: string;
}
export interface SendRequest {
  data?: Uint8Array;
}
export interface SubRefreshRequest {
  channel: string;
  token?: string;
}

/**
 * A decoded client command. `id` is the client-chosen request ID (> 0 for every command that
 * expects a reply). A command with `id == 0` and no `send` is a pong (`kind: 'pong'`).
 * `ping` exists in the schema but Centrifugo answers it with 108 not available.
 */
export type Command =
  | { id: number; kind: 'connect'; req: ConnectRequest }
  | { id: number; kind: 'subscribe'; req: SubscribeRequest }
  | { id: number; kind: 'unsubscribe'; req: UnsubscribeRequest }
  | { id: number; kind: 'publish'; req: PublishRequest }
  | { id: number; kind: 'presence'; req: PresenceRequest }
  | { id: number; kind: 'presence_stats'; req: PresenceStatsRequest }
  | { id: number; kind: 'history'; req: HistoryRequest }
  | { id: number; kind: 'ping' }
  | { id: number; kind: 'send'; req: SendRequest }
  | { id: number; kind: 'rpc'; req: RpcRequest }
  | { id: number; kind: 'refresh'; req: RefreshRequest }
  | { id: number; kind: 'sub_refresh'; req: SubRefreshRequest }
  | { id: 0; kind: 'pong' };

export type CommandKind = Command['kind'];

// ---------------------------------------------------------------- results

export interface SubscribeResult {
  expires?: boolean;
  /** Seconds until the subscription expires. */
  ttl?: number;
  recoverable?: boolean;
  epoch?: string;
  publications?: Publication[];
  recovered?: boolean;
  /** Stream top; when recovered, the request offset is echoed instead. */
  offset?: number;
  positioned?: boolean;
  data?: Uint8Array;
  wasRecovering?: boolean;
  delta?: boolean;
}

/** Also the body of the unidirectional `connect` push. */
export interface ConnectResult {
  client: string;
  version: string;
  expires?: boolean;
  /** Seconds until the connection expires. */
  ttl?: number;
  data?: Uint8Array;
  subs?: Record<string, SubscribeResult>;
  /** Server ping interval in seconds; absent when pings are off. */
  ping?: number;
  /** True when the client must answer pings (bidirectional transports only). */
  pong?: boolean;
  /** Set for unidirectional and emulation transports. */
  session?: string;
  /** Node ID; set for emulation transports (the `/emulation` endpoint routes by it). */
  node?: string;
  /** Server time in ms, only with `client.connect_include_server_time`. */
  time?: number;
  /** v1 only: the credentials had already expired (the client refreshes and connects again). */
  expired?: boolean;
}

export interface RefreshResult {
  client?: string;
  version?: string;
  expires?: boolean;
  ttl?: number;
  /** v1 only: the new credentials had already expired (the client asks for others). */
  expired?: boolean;
}
export interface PresenceResult {
  presence: Record<string, ClientInfo>;
}
export interface PresenceStatsResult {
  numClients: number;
  numUsers: number;
}
export interface HistoryResult {
  publications: Publication[];
  epoch: string;
  offset: number;
}
export interface RpcResult {
  data?: Uint8Array;
}
export interface SubRefreshResult {
  expires?: boolean;
  ttl?: number;
}

// ---------------------------------------------------------------- pushes

/** Server-side subscription added at runtime (server API `subscribe`). */
export interface SubscribePush {
  recoverable?: boolean;
  epoch?: string;
  offset?: number;
  positioned?: boolean;
  data?: Uint8Array;
}

/**
 * An asynchronous server→client message. On bidirectional transports it travels as
 * `Reply{push}` (JSON `{"push":{...}}`); on unidirectional ones the bare Push is sent.
 */
export type Push =
  | { kind: 'pub'; channel: string; pub: Publication; /** The stream's epoch when `pub.offset` > 0 (v1 message IDs carry it). */ epoch?: string }
  | { kind: 'join'; channel: string; info: ClientInfo }
  | { kind: 'leave'; channel: string; info: ClientInfo }
  | { kind: 'unsubscribe'; channel: string; code: number; reason: string }
  | { kind: 'message'; data: Uint8Array }
  | { kind: 'subscribe'; channel: string; sub: SubscribePush }
  | { kind: 'connect'; connect: ConnectResult }
  | { kind: 'disconnect'; code: number; reason: string }
  | { kind: 'refresh'; expires: boolean; ttl: number };

export type PushKind = Push['kind'];

/**
 * A server→client message on a bidirectional transport. `kind: 'ping'` with id 0 is the empty
 * Reply `{}` the server sends every `client.ping_interval` (with an id: the answer to a v1
 * client's ping). `kind: 'push'` carries an async push (id 0).
 * Every other kind answers the command with the same `id`.
 */
export type Reply =
  | { id: number; kind: 'error'; error: ProtocolError }
  | { id: number; kind: 'connect'; result: ConnectResult }
  | { id: number; kind: 'subscribe'; result: SubscribeResult }
  | { id: number; kind: 'unsubscribe' }
  | { id: number; kind: 'publish' }
  | { id: number; kind: 'presence'; result: PresenceResult }
  | { id: number; kind: 'presence_stats'; result: PresenceStatsResult }
  | { id: number; kind: 'history'; result: HistoryResult }
  | { id: number; kind: 'rpc'; result: RpcResult }
  | { id: number; kind: 'refresh'; result: RefreshResult }
  | { id: number; kind: 'sub_refresh'; result: SubRefreshResult }
  | { id: 0; kind: 'push'; push: Push }
  | { id: number; kind: 'ping' };

export type ReplyKind = Reply['kind'];

/** Protocol a connection speaks. */
export type ProtocolName = 'json' | 'protobuf';

/** What a codec encodes: protocol v2 in JSON or Protobuf, or Centrifugo v1's JSON protocol. */
export type CodecName = ProtocolName | 'v1';
