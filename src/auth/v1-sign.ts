/**
 * Centrifugo v1's signatures (seeds: `server/tokens_and_signatures.md`): the hex HMAC-SHA256,
 * keyed with the secret (`client.token.hmac_secret_key`), of the connection's user, timestamp and
 * info, or of a private channel subscription's client ID, channel and info, in that order.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { V1ChannelSign, V1Credentials } from '../protocol/types.js';

function hmacHex(secret: string, parts: readonly string[]): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Constant-time comparison of a client's hex signature with the expected one. */
function sameSign(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether a v1 connection token signs these credentials. An empty secret verifies nothing. */
export function validV1Token(secret: string, c: V1Credentials): boolean {
  return secret !== '' && sameSign(hmacHex(secret, [c.user, c.timestamp, c.info]), c.token);
}

/** Whether a v1 private channel sign is the backend's for this client, channel and info. */
export function validV1ChannelSign(secret: string, client: string, channel: string, info: string, sign: string): boolean {
  return secret !== '' && sameSign(hmacHex(secret, [client, channel, info]), sign);
}

/** v1 token generation, for tests and tools (what a v1 backend library does). */
export function v1Token(secret: string, user: string, timestamp: string, info = ''): string {
  return hmacHex(secret, [user, timestamp, info]);
}

export function v1ChannelSign(secret: string, client: string, channel: string, info = ''): string {
  return hmacHex(secret, [client, channel, info]);
}

/** The node's v1 checks, keyed with the current `secret()` (an empty secret verifies nothing). */
export function v1Verifier(secret: () => string): { token(c: V1Credentials): boolean; channelSign(channel: string, s: V1ChannelSign): boolean } {
  return {
    token: (c) => validV1Token(secret(), c),
    channelSign: (channel, s) => validV1ChannelSign(secret(), s.client, channel, s.info, s.sign),
  };
}
