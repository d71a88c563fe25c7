/**
 * Centrifugo v1's client-facing error texts and close advice, keyed by Rotor's protocol codes.
 * v1 answered a failed command with `"error": "<text>", "advice": "fix" | "retry"` and ended a
 * connection with close code 3000 and the reason `{"reason": "<text>", "reconnect": <bool>}`
 * (observed against the real v1.8 server; see docs/v1-clients.md).
 */
import { DisconnectCode, ErrorCode, disconnectReconnects } from '../codes.js';

export interface V1Error {
  readonly text: string;
  readonly advice: 'fix' | 'retry';
}

/** Reply error code → v1 error text and advice. Codes absent here answer "internal server error". */
export const V1_ERRORS: ReadonlyMap<number, V1Error> = new Map([
  [ErrorCode.internal.code, { text: 'internal server error', advice: 'retry' }],
  [ErrorCode.unauthorized.code, { text: 'unauthorized', advice: 'fix' }],
  [ErrorCode.unknownChannel.code, { text: 'namespace not found', advice: 'fix' }],
  [ErrorCode.permissionDenied.code, { text: 'permission denied', advice: 'fix' }],
  [ErrorCode.methodNotFound.code, { text: 'method not found', advice: 'fix' }],
  [ErrorCode.alreadySubscribed.code, { text: 'already subscribed', advice: 'fix' }],
  [ErrorCode.limitExceeded.code, { text: 'limit exceeded', advice: 'fix' }],
  [ErrorCode.badRequest.code, { text: 'invalid message', advice: 'fix' }],
  [ErrorCode.notAvailable.code, { text: 'not available', advice: 'retry' }],
  [ErrorCode.tokenExpired.code, { text: 'expired', advice: 'fix' }],
  [ErrorCode.expired.code, { text: 'expired', advice: 'fix' }],
  [ErrorCode.tooManyRequests.code, { text: 'limit exceeded', advice: 'retry' }],
  [ErrorCode.unrecoverablePosition.code, { text: 'not available', advice: 'retry' }],
]);

export const V1_INTERNAL: V1Error = { text: 'internal server error', advice: 'retry' };

/** A close frame's reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

/** The close code v1 used for every disconnect it initiated. */
export const V1_CLOSE_CODE = 3000;

/** Disconnect code → v1's reason text where v1 had its own word for it; others keep Rotor's reason. */
export const V1_DISCONNECT_REASONS: ReadonlyMap<number, string> = new Map([
  [DisconnectCode.badRequest.code, 'invalid message'],
  [DisconnectCode.invalidToken.code, 'invalid token'],
  [DisconnectCode.expired.code, 'expired'],
  [DisconnectCode.shutdown.code, 'shutting down'],
  [DisconnectCode.slow.code, 'slow'],
  [DisconnectCode.permissionDenied.code, 'permission denied'],
]);

/**
 * The close reason a v1 client reads: JSON advice. Reconnect follows the code ranges v2 SDKs obey
 * (`disconnectReconnects`): 3500–3999 and 4500–4999 are final, the others ask the client back.
 */
export function v1CloseReason(code: number, reason: string): string {
  const reconnect = disconnectReconnects(code);
  // The whole advice must fit a close frame (123 bytes) as JSON: long reasons are shortened.
  let chars = [...(V1_DISCONNECT_REASONS.get(code) ?? reason)];
  for (;;) {
    const advice = JSON.stringify({ reason: chars.join(''), reconnect });
    if (Buffer.byteLength(advice) <= MAX_CLOSE_REASON_BYTES) return advice;
    chars = chars.slice(0, chars.length - 1);
  }
}
