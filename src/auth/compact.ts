/**
 * A compact JWS (`header.payload.signature`, RFC 7515 §7.1) split and decoded once. The verifier
 * reads the header and claims from here, and HMAC verification reuses the same split instead of
 * parsing the token again.
 */
import type { Payload } from './claims.js';

export interface CompactJws {
  header: Record<string, unknown>;
  payload: Payload;
  /** Index of the second dot: `token.slice(0, signingInputEnd)` is the JWS signing input. */
  signingInputEnd: number;
  /** The signature segment as sent (base64url text). */
  signature: string;
}

/** Unpadded base64url, the only spelling RFC 7515 allows for each segment. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Throws a plain Error whose message says what is malformed. */
export function parseCompactJws(token: string): CompactJws {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first < 0 || last === first || token.indexOf('.', first + 1) !== last) {
    throw new Error('not a compact JWS (expected three dot-separated parts)');
  }
  const header = decodeObject(token.slice(0, first), 'header');
  const payload = decodeObject(token.slice(first + 1, last), 'claims set');
  return { header, payload, signingInputEnd: last, signature: token.slice(last + 1) };
}

function decodeObject(segment: string, what: string): Record<string, unknown> {
  if (segment === '' || !BASE64URL.test(segment)) throw new Error(`${what} is not base64url`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}
