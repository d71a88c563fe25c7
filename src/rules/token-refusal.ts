/**
 * What a token that fails its check becomes, by where it was presented, and the report of why (the
 * reason only, never the token), so the operator can read in the log what the client only sees as
 * "invalid token".
 *
 * | where            | expired                 | invalid | for another channel, user or client |
 * |------------------|-------------------------|---------|-------------------------------------|
 * | connect          | 109                     | 3500    | (not applicable)                    |
 * | subscribe        | 109                     | 103     | 3500                                |
 * | refresh          | 3005                    | 3500    | 3500 (another user)                 |
 * | sub_refresh      | 109                     | 3500    | 3500                                |
 *
 * Expired tokens are not reported: the SDK fetches a fresh one, which is routine.
 */
import { TokenExpiredError, InvalidTokenError } from '../auth/errors.js';
import { DisconnectError, disconnects, errors } from '../protocol/errors.js';

/** Told why a token was refused: `InvalidTokenError.reason` or a mismatch, never the token. */
export type TokenRefused = (kind: 'connection' | 'subscription', reason: string, clientId: string, channel?: string) => void;

export class TokenRefusals {
  constructor(private readonly report: TokenRefused = () => {}) {}

  /** A connection token at connect. Errors other than a token's are returned unchanged. */
  atConnect(err: unknown, clientId: string): unknown {
    if (err instanceof TokenExpiredError) return errors.tokenExpired();
    if (!(err instanceof InvalidTokenError)) return err;
    this.report('connection', err.reason, clientId);
    return new DisconnectError(disconnects.invalidToken);
  }

  /** A subscription token at subscribe. */
  atSubscribe(err: unknown, clientId: string, channel: string): unknown {
    if (err instanceof TokenExpiredError) return errors.tokenExpired();
    if (!(err instanceof InvalidTokenError)) return err;
    this.report('subscription', err.reason, clientId, channel);
    return errors.permissionDenied();
  }

  /** A connection token at refresh. */
  atRefresh(err: unknown, clientId: string): unknown {
    if (err instanceof TokenExpiredError) return new DisconnectError(disconnects.expired);
    if (!(err instanceof InvalidTokenError)) return err;
    this.report('connection', err.reason, clientId);
    return new DisconnectError(disconnects.invalidToken);
  }

  /**
   * A subscription token at sub_refresh. Centrifugo acknowledges an expired one here (a library
   * quirk); Rotor answers 109 so the SDK fetches a fresh token instead of silently losing the expiry.
   */
  atSubRefresh(err: unknown, clientId: string, channel: string): unknown {
    if (err instanceof TokenExpiredError) return errors.tokenExpired();
    if (!(err instanceof InvalidTokenError)) return err;
    this.report('subscription', err.reason, clientId, channel);
    return new DisconnectError(disconnects.invalidToken);
  }

  /** A valid subscription token for another channel, user or client. */
  mismatch(clientId: string, channel: string): DisconnectError {
    this.report('subscription', 'token is for another channel, user or client', clientId, channel);
    return new DisconnectError(disconnects.invalidToken);
  }

  /** A valid refresh token for another user. */
  otherUser(clientId: string): DisconnectError {
    this.report('connection', 'refresh token is for another user', clientId);
    return new DisconnectError(disconnects.invalidToken);
  }
}
