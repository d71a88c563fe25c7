/**
 * Refused tokens in the log. The client only learns "invalid token" (3500, or 103 for a
 * subscription token); the operator needs the reason, which is never the token itself (a bad
 * signature, an unknown algorithm, a claim of the wrong type, a token for another channel...).
 * Written at `info` as Centrifugo does, once per 10 s per kind and reason: a client retrying with
 * the same bad token cannot flood the log (the repeats go to `debug`).
 */
import type { TokenRefused } from '../rules/token-refusal.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-log.js';

export function tokenRefusedLog(log: Logger): TokenRefused {
  const limited = new RateLimitedLog(log);
  return (kind, reason, clientId, channel) => {
    const fields: Record<string, unknown> = { client: clientId, reason };
    if (channel !== undefined) fields.channel = channel;
    limited.write('info', `${kind}\u0000${reason}`, fields, kind === 'connection' ? 'invalid connection token' : 'invalid subscription token');
  };
}
