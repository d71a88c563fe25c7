/**
 * The outcomes of a failed token check. The split mirrors what the client must do next: an
 * expired token can be fixed by fetching a fresh one (protocol error 109, the SDK refreshes and
 * retries); an invalid one cannot (connection: disconnect 3500; subscription: error 103); and
 * when the keys themselves could not be obtained, nothing is known about the token and the client
 * should simply try again later (error 100, temporary, as any internal error).
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
  constructor(
    /** Why, without the `invalid token: ` the message starts with; never the token itself. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid token: ${reason}`, options);
  }
}

/**
 * The verification keys could not be obtained: the JWKS endpoint is unreachable, times out, or
 * answers with a non-200 status or a malformed key set. Not a verdict on the token.
 */
export class KeySourceUnavailableError extends Error {
  override readonly name = 'KeySourceUnavailableError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`verification keys unavailable: ${reason}`, options);
  }
}
