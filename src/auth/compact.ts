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

/** Unpadded base64url characters, the only alphabet RFC 7515 allows for each segment. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The canonical spelling only: unused low bits of the last character must be zero and the length
 * must not be 1 mod 4. Otherwise one signed token has several spellings (all verifying), and every
 * spelling would be a distinct token to caches and deny lists.
 */
function isCanonical(segment: string, bytes: Buffer): boolean {
  return BASE64URL.test(segment) && bytes.toString('base64url') === segment;
}

/** Throws a plain Error whose message says what is malformed. */
export function parseCompactJws(token: string): CompactJws {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first < 0 || last === first || token.indexOf('.', first + 1) !== last) {
    throw new Error('not a compact JWS (expected three dot-separated parts)');
  }
  const header = decodeObject(token.slice(0, first), 'header');
  const payload = decodeObject(token.slice(first + 1, last), 'claims set');
  const signature = token.slice(last + 1);
  // Empty only for unsigned tokens, which are refused later unless signatures are not checked.
  if (signature !== '' && !isCanonical(signature, Buffer.from(signature, 'base64url'))) throw new Error('signature is not canonical base64url');
  return { header, payload, signingInputEnd: last, signature };
}

function decodeObject(segment: string, what: string): Record<string, unknown> {
  const bytes = Buffer.from(segment, 'base64url');
  if (segment === '' || !isCanonical(segment, bytes)) throw new Error(`${what} is not base64url`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}
