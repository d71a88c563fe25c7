/**
 * What a token that fails its check becomes, by where it was presented, and the report of why (the
 * reason only, never the token), so the operator can read in the log what the client only sees as
 * "invalid token". Expired tokens are not reported: the SDK fetches a fresh one, which is routine.
 */
import { TokenExpiredError, InvalidTokenError } from '../auth/errors.js';
import { DisconnectError, disconnects, errors } from '../protocol/errors.js';

/** Told why a token was refused: `InvalidTokenError.reason` or a mismatch, never the token. */
export type TokenRefused = (kind: 'connection' | 'subscription', reason: string, clientId: string, channel?: string) => void;

/** Where a token is presented. */
export type TokenPlace = 'connect' | 'subscribe' | 'refresh' | 'sub_refresh';

interface Outcome {
  readonly kind: 'connection' | 'subscription';
  readonly expired: () => Error;
  readonly invalid: () => Error;
}

const invalidToken = (): Error => new DisconnectError(disconnects.invalidToken);

/**
 * | where       | expired | invalid |
 * |-------------|---------|---------|
 * | connect     | 109     | 3500    |
 * | subscribe   | 109     | 103     |
 * | refresh     | 3005    | 3500    |
 * | sub_refresh | 109     | 3500    |
 *
 * At sub_refresh Centrifugo acknowledges an expired token (a library quirk); Rotor answers 109 so
 * the SDK fetches a fresh token instead of silently losing the expiry.
 */
const OUTCOMES: Readonly<Record<TokenPlace, Outcome>> = {
  connect: { kind: 'connection', expired: errors.tokenExpired, invalid: invalidToken },
  subscribe: { kind: 'subscription', expired: errors.tokenExpired, invalid: errors.permissionDenied },
  refresh: { kind: 'connection', expired: () => new DisconnectError(disconnects.expired), invalid: invalidToken },
  sub_refresh: { kind: 'subscription', expired: errors.tokenExpired, invalid: invalidToken },
};

export class TokenRefusals {
  constructor(private readonly report: TokenRefused = () => {}) {}

  /** The error a failed check at `place` becomes; errors other than a token's are returned unchanged. */
  of(err: unknown, place: TokenPlace, clientId: string, channel?: string): unknown {
    const o = OUTCOMES[place];
    if (err instanceof TokenExpiredError) return o.expired();
    if (!(err instanceof InvalidTokenError)) return err;
    if (channel === undefined) this.report(o.kind, err.reason, clientId);
    else this.report(o.kind, err.reason, clientId, channel);
    return o.invalid();
  }

  /** A valid subscription token for another channel, user or client: 3500. */
  mismatch(clientId: string, channel: string): DisconnectError {
    this.report('subscription', 'token is for another channel, user or client', clientId, channel);
    return new DisconnectError(disconnects.invalidToken);
  }

  /** A valid refresh token for another user: 3500. */
  otherUser(clientId: string): DisconnectError {
    this.report('connection', 'refresh token is for another user', clientId);
    return new DisconnectError(disconnects.invalidToken);
  }
}
