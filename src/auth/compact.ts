/**
 * A compact JWS (`header.payload.signature`, RFC 7515 §7.1) split and decoded once. The verifier
 * reads the header and claims from here, and HMAC verification reuses the same split instead of
 * parsing the token again.
 */
import { parseJsonWithRaw } from '../protocol/json/raw-json.js';
import type { Payload, RawClaimSelector } from './claims.js';

export interface CompactJws {
  /** Shared between tokens with the same header segment (frozen). */
  header: Readonly<Record<string, unknown>>;
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
  // The regular expression runs as compiled code, about twice as fast as a loop over the characters.
  if (rem === 1 || !B64URL_TEXT.test(segment)) return false;
  if (rem === 0) return true;
  // 2 trailing characters carry 8 bits (4 unused), 3 carry 16 bits (2 unused).
  const last = B64URL_VALUE[segment.charCodeAt(n - 1)]!;
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

const B64URL_TEXT = /^[A-Za-z0-9_-]*$/;

/**
 * Decoded headers by their segment text. An application signs its tokens with one or a few
 * headers, so nearly every token's header is a hit and skips a base64 decode and a JSON parse.
 * Entries are frozen, since every token with that header shares one. The cache is filled before
 * any signature is checked, so anyone can add to it: it holds at most `HEADER_CACHE_MAX` entries
 * (emptied when full) of at most `HEADER_CACHE_MAX_SEGMENT` characters (a real header is under 100),
 * and a key is a copy, not a slice: a slice would keep the whole token it was cut from alive.
 */
const headerCache = new Map<string, Readonly<Record<string, unknown>>>();
const HEADER_CACHE_MAX = 64;
const HEADER_CACHE_MAX_SEGMENT = 256;

function decodeHeader(segment: string): Readonly<Record<string, unknown>> {
  const hit = headerCache.get(segment);
  if (hit !== undefined) return hit;
  const header = Object.freeze(decodeObject(segment, 'header'));
  if (segment.length > HEADER_CACHE_MAX_SEGMENT) return header;
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.clear();
  // Base64url text is ASCII, so a latin1 round trip copies it exactly into a string of its own.
  headerCache.set(Buffer.from(segment, 'latin1').toString('latin1'), header);
  return header;
}

/**
 * Throws a plain Error whose message says what is malformed. With `raw`, payload members it
 * selects come back as `RawJson` (exact source text). The payload is decoded by the raw-keeping
 * scanner when a marker occurs in it, otherwise by `JSON.parse`, and read again by the scanner only
 * when the selector's `needsRaw` asks for it.
 */
export function parseCompactJws(token: string, raw?: RawClaimSelector): CompactJws {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first < 0 || last === first || token.indexOf('.', first + 1) !== last) {
    throw new Error('not a compact JWS (expected three dot-separated parts)');
  }
  const header = decodeHeader(token.slice(0, first));
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
    if (raw !== undefined && containsAny(text, raw.markers)) v = parseJsonWithRaw(text, raw.isRaw);
    else {
      v = JSON.parse(text);
      if (raw !== undefined && typeof v === 'object' && v !== null && !Array.isArray(v) && raw.needsRaw(v as Record<string, unknown>)) {
        v = parseJsonWithRaw(text, raw.isRaw);
      }
    }
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
