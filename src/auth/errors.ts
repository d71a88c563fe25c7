/**
 * The two outcomes of a failed token check. The split mirrors what the client must do next:
 * an expired token can be fixed by fetching a fresh one (protocol error 109, the SDK refreshes and
 * retries), anything else cannot (connection: disconnect 3500; subscription: error 103).
 */

/** `exp` is in the past or `nbf` in the future. The token was otherwise valid. */
export class TokenExpiredError extends Error {
  override readonly name = 'TokenExpiredError';
  constructor(message = 'token expired') {
    super(message);
  }
}

/**
 * Everything else: malformed token, bad signature, disallowed algorithm, unknown key, failed
 * audience/issuer check, malformed claims. `message` carries the reason (for logs, not for clients).
 */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`invalid token: ${reason}`, options);
  }
}
