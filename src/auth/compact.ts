/**
 * A compact JWS (`header.payload.signature`, RFC 7515 §7.1) split and decoded once. The verifier
 * reads the header and claims from here, and HMAC verification reuses the same split instead of
 * parsing the token again.
 */
import { parseJsonWithRaw } from '../protocol/json/raw-json.js';
import type { Payload, RawClaimSelector } from './claims.js';

export interface CompactJws {
  header: Record<string, unknown>;
  payload: Payload;
  /** Index of the second dot: `token.slice(0, signingInputEnd)` is the JWS signing input. */
  signingInputEnd: number;
  /** The signature segment as sent (base64url text). */
  signature: string;
}

/** Value of each base64url character (RFC 4648 §5), -1 for every other character code below 128. */
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/**
 * Unpadded base64url in its canonical spelling only (RFC 7515 allows no other alphabet): the length
 * is not 1 mod 4 and the unused low bits of the last character are zero. Otherwise one signed
 * token has several spellings (all verifying), and every spelling would be a distinct token to
 * caches and deny lists. Checked in place, without decoding and re-encoding the segment.
 */
export function isCanonicalBase64url(segment: string): boolean {
  const n = segment.length;
  const rem = n % 4;
  if (rem === 1) return false;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const c = segment.charCodeAt(i);
    last = c < 128 ? B64URL_VALUE[c]! : -1;
    if (last < 0) return false;
  }
  // 2 trailing characters carry 8 bits (4 unused), 3 carry 16 bits (2 unused).
  return rem === 0 || (rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0);
}

/**
 * Throws a plain Error whose message says what is malformed. With `raw`, payload members it
 * selects come back as `RawJson` (exact source text); the payload is still decoded in one pass,
 * by `JSON.parse` when no marker occurs in it and by the raw-keeping scanner otherwise.
 */
export function parseCompactJws(token: string, raw?: RawClaimSelector): CompactJws {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first < 0 || last === first || token.indexOf('.', first + 1) !== last) {
    throw new Error('not a compact JWS (expected three dot-separated parts)');
  }
  const header = decodeObject(token.slice(0, first), 'header');
  const payload = decodeObject(token.slice(first + 1, last), 'claims set', raw);
  const signature = token.slice(last + 1);
  // Empty only for unsigned tokens, which are refused later unless signatures are not checked.
  if (signature !== '' && !isCanonicalBase64url(signature)) throw new Error('signature is not canonical base64url');
  return { header, payload, signingInputEnd: last, signature };
}

function decodeObject(segment: string, what: string, raw?: RawClaimSelector): Record<string, unknown> {
  if (segment === '' || !isCanonicalBase64url(segment)) throw new Error(`${what} is not base64url`);
  let v: unknown;
  try {
    const text = Buffer.from(segment, 'base64url').toString('utf8');
    v = raw !== undefined && containsAny(text, raw.markers) ? parseJsonWithRaw(text, raw.isRaw) : JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Loop rather than `some` with a closure: this runs once per token verified (connect hot path). */
function containsAny(text: string, needles: readonly string[]): boolean {
  for (let i = 0; i < needles.length; i++) if (text.includes(needles[i]!)) return true;
  return false;
}
