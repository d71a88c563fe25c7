/**
 * Every code Rotor puts on the wire, as data. Values match Centrifugo v6 exactly: SDKs branch on
 * them (retry, resubscribe, reconnect, give up). `docs/errors.md` is generated from these tables
 * (`npm run docs`) and a unit test checks the two agree.
 */

export interface ErrorCodeEntry {
  readonly code: number;
  readonly message: string;
  /** SDKs retry the operation on temporary errors and treat the others as final. */
  readonly temporary: boolean;
  readonly doc: string;
}

/** Client error codes, sent in `Reply.error`. 0–399 are reserved; applications use 400–1999. */
export const ErrorCode = {
  internal: { code: 100, message: 'internal server error', temporary: true, doc: 'Unexpected server error (broker failure, proxy transport error, JWKS endpoint unreachable).' },
  unauthorized: { code: 101, message: 'unauthorized', temporary: false, doc: 'Defined for compatibility; rarely used.' },
  unknownChannel: { code: 102, message: 'unknown channel', temporary: false, doc: 'The channel namespace is not configured.' },
  permissionDenied: { code: 103, message: 'permission denied', temporary: false, doc: 'No permission for the operation, invalid subscription token, `$` channel without a token.' },
  methodNotFound: { code: 104, message: 'method not found', temporary: false, doc: 'RPC method without a handler.' },
  alreadySubscribed: { code: 105, message: 'already subscribed', temporary: false, doc: 'The connection is already subscribed to the channel.' },
  limitExceeded: { code: 106, message: 'limit exceeded', temporary: false, doc: 'Too many channels for one connection (`client.channel_limit`).' },
  badRequest: { code: 107, message: 'bad request', temporary: false, doc: 'Malformed parameters: channel name too long or not ASCII, regex mismatch, empty publish data.' },
  notAvailable: { code: 108, message: 'not available', temporary: false, doc: 'Feature off: history or presence not enabled, `ping` command, RPC without handler.' },
  tokenExpired: { code: 109, message: 'token expired', temporary: false, doc: 'Connection or subscription JWT expired; the SDK fetches a new token.' },
  expired: { code: 110, message: 'expired', temporary: false, doc: 'Connection or subscription expiration already in the past.' },
  tooManyRequests: { code: 111, message: 'too many requests', temporary: true, doc: 'Rate limit hit.' },
  unrecoverablePosition: { code: 112, message: 'unrecoverable position', temporary: false, doc: 'History `since` epoch mismatch, or a subscription that asked to reject unrecovered positions.' },
} as const satisfies Record<string, ErrorCodeEntry>;
export type ErrorCodeName = keyof typeof ErrorCode;

export interface DisconnectCodeEntry {
  readonly code: number;
  readonly reason: string;
  /** Whether SDKs reconnect. Derived from the code range: 3000–3499 and 4000–4499 reconnect. */
  readonly reconnect: boolean;
  readonly doc: string;
}

/**
 * Disconnect codes. On WebSocket they are close-frame codes; other transports get a `disconnect`
 * push before the stream closes. 3000–3499 reconnect, 3500–3999 are final; 4000–4999 belong to
 * applications (4000–4499 reconnect, 4500–4999 final).
 */
export const DisconnectCode = {
  connectionClosed: { code: 3000, reason: 'connection closed', reconnect: true, doc: 'Internal marker: the client closed the connection. Never sent.' },
  shutdown: { code: 3001, reason: 'shutdown', reconnect: true, doc: 'The node is shutting down.' },
  internal: { code: 3004, reason: 'internal server error', reconnect: true, doc: 'Internal error; unidirectional connect errors by default.' },
  expired: { code: 3005, reason: 'connection expired', reconnect: true, doc: 'Connection expiration passed without a refresh.' },
  subExpired: { code: 3006, reason: 'subscription expired', reconnect: true, doc: 'A server-side subscription expired.' },
  slow: { code: 3008, reason: 'slow', reconnect: true, doc: 'The outgoing queue exceeded `client.queue_max_size`.' },
  writeError: { code: 3009, reason: 'write error', reconnect: true, doc: 'Centrifugo\'s code for a failed or timed-out transport write. Never sent by Rotor: a socket whose write fails is already gone, and a client that reads too slowly gets 3008.' },
  insufficientState: { code: 3010, reason: 'insufficient state', reconnect: true, doc: 'A server-side subscription lost stream continuity, or a refreshed token changed server-side channels.' },
  forceReconnect: { code: 3011, reason: 'force reconnect', reconnect: true, doc: 'The server asks the client to reconnect.' },
  noPong: { code: 3012, reason: 'no pong', reconnect: true, doc: 'No pong within `client.pong_timeout` after a ping.' },
  tooManyRequests: { code: 3013, reason: 'too many requests', reconnect: true, doc: 'Rate limit hit; or, on the emulation endpoint, which cannot stop reading, too many commands waited behind one still being handled (`COMMAND_BACKLOG_MAX`, 1000).' },
  invalidToken: { code: 3500, reason: 'invalid token', reconnect: false, doc: 'Invalid connection JWT, subscription token user/channel/client mismatch, invalid refresh token.' },
  badRequest: { code: 3501, reason: 'bad request', reconnect: false, doc: 'Protocol violation: malformed frame, unknown command, command before connect, unexpected pong.' },
  stale: { code: 3502, reason: 'stale', reconnect: false, doc: 'No connect command within `client.stale_close_delay`.' },
  forceNoReconnect: { code: 3503, reason: 'force disconnect', reconnect: false, doc: 'Server API `disconnect` without a custom code.' },
  connectionLimit: { code: 3504, reason: 'connection limit', reconnect: false, doc: '`client.user_connection_limit` reached, or personal channel single connection.' },
  channelLimit: { code: 3505, reason: 'channel limit', reconnect: false, doc: 'Server-side subscriptions exceed `client.channel_limit`.' },
  inappropriateProtocol: { code: 3506, reason: 'inappropriate protocol', reconnect: false, doc: 'A payload cannot be encoded for the connection (binary data to a JSON client).' },
  permissionDenied: { code: 3507, reason: 'permission denied', reconnect: false, doc: 'Anonymous token when `client.disallow_anonymous_connection_tokens`; unidirectional mapping of 103.' },
  notAvailable: { code: 3508, reason: 'not available', reconnect: false, doc: '`send` command without a message handler.' },
  tooManyErrors: { code: 3509, reason: 'too many errors', reconnect: false, doc: 'Centrifugo\'s code for a connection that caused too many errors. Never sent by Rotor.' },
} as const satisfies Record<string, DisconnectCodeEntry>;
export type DisconnectCodeName = keyof typeof DisconnectCode;

/** True when SDKs reconnect after this disconnect code (Centrifugo's range rule). */
export function disconnectReconnects(code: number): boolean {
  if (code >= 3500 && code < 4000) return false;
  if (code >= 4500 && code < 5000) return false;
  return true;
}

export interface UnsubscribeCodeEntry {
  readonly code: number;
  readonly reason: string;
  /** Codes >= 2500 make SDKs resubscribe. */
  readonly resubscribe: boolean;
  readonly doc: string;
}

/** Codes of the `unsubscribe` push. */
export const UnsubscribeCode = {
  server: { code: 2000, reason: 'server unsubscribe', resubscribe: false, doc: 'Server API `unsubscribe`.' },
  insufficientState: { code: 2500, reason: 'insufficient state', resubscribe: true, doc: 'A client-side subscription lost stream continuity; the SDK resubscribes and recovers.' },
  expired: { code: 2501, reason: 'subscription expired', resubscribe: true, doc: 'The subscription token expired without a refresh.' },
} as const satisfies Record<string, UnsubscribeCodeEntry>;

export interface ApiErrorCodeEntry {
  readonly code: number;
  readonly message: string;
  /** HTTP status used in transport error mode. */
  readonly httpStatus: number;
  readonly doc: string;
}

/** Server API error codes (in `{"error":{code,message}}` of an API reply). */
export const ApiErrorCode = {
  internal: { code: 100, message: 'internal server error', httpStatus: 500, doc: 'Unexpected error (broker failure).' },
  unknownChannel: { code: 102, message: 'unknown channel', httpStatus: 404, doc: 'The channel namespace is not configured.' },
  notFound: { code: 104, message: 'not found', httpStatus: 404, doc: 'Unknown RPC method.' },
  badRequest: { code: 107, message: 'bad request', httpStatus: 400, doc: 'Missing or malformed parameters.' },
  notAvailable: { code: 108, message: 'not available', httpStatus: 400, doc: 'Feature off for the channel (history, presence).' },
  unrecoverablePosition: { code: 112, message: 'unrecoverable position', httpStatus: 416, doc: 'History `since` epoch does not match the stream.' },
  conflict: { code: 113, message: 'conflict', httpStatus: 409, doc: 'Conflicting state.' },
} as const satisfies Record<string, ApiErrorCodeEntry>;

/** HTTP status for an API error code in transport error mode; unknown codes map to 500. */
export function apiErrorHttpStatus(code: number): number {
  for (const e of Object.values(ApiErrorCode)) if (e.code === code) return e.httpStatus;
  return 500;
}
