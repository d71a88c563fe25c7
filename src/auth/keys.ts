/**
 * Statically configured verification keys (HMAC secret, RSA and ECDSA public keys) and the
 * algorithm → key routing that prevents algorithm confusion.
 *
 * The token's `alg` header picks exactly one key family, and `compactVerify` is called with that
 * family's algorithm list only. So an `HS256` token is only ever checked against the HMAC secret
 * (never against the RSA PEM used as an HMAC secret), an `RS256` token only against the RSA key,
 * and a family with no configured key rejects its tokens outright. `none` and unknown algorithms
 * have no family and are always rejected here.
 */
import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import type { CompactJws } from './compact.js';
import { InvalidTokenError } from './errors.js';
import { messageOf } from '../util/message-of.js';

export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
/** PS* use the same RSA key; allowed in addition to Centrifugo's RS* because they are strictly stronger. */
export const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export const ECDSA_ALGS = ['ES256', 'ES384', 'ES512'] as const;

export interface StaticKeyOptions {
  hmacSecretKey?: string;
  hmacPreviousSecretKey?: string;
  /** Unix seconds; the previous secret is tried only while now < this. Absent or 0 = no limit. */
  hmacPreviousSecretKeyValidUntil?: number;
  rsaPublicKey?: string;
  ecdsaPublicKey?: string;
}

/** Outcome of a successful signature check. */
export interface SignatureCheck {
  /**
   * Wall-clock time (ms) after which this verification must not be reused from a cache, because
   * the key that produced it stops being accepted then (the previous HMAC secret's valid_until).
   * Infinity when the key has no end date.
   */
  keyValidUntilMs: number;
}

const encoder = new TextEncoder();

/** Parses a PEM public key (SPKI, PKCS#1 or X.509 certificate) and checks its type; throws on bad config. */
function parsePublicKey(option: string, pem: string, types: readonly string[]): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${option}: cannot parse PEM public key: ${(err as Error).message}`);
  }
  if (!types.includes(key.asymmetricKeyType ?? '')) {
    throw new Error(`${option}: expected a ${types.join('/')} key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export class StaticKeys {
  private readonly hmacCurrent: HmacSecret | undefined;
  private readonly hmacPrevious: HmacSecret | undefined;
  private readonly hmacPreviousUntilMs: number;
  private readonly rsa: KeyObject | undefined;
  private readonly ecdsa: KeyObject | undefined;

  /** Throws (a plain Error, a configuration problem) when a PEM key cannot be used at all. */
  constructor(opts: StaticKeyOptions) {
    // An empty secret counts as "not configured", as in Centrifugo.
    this.hmacCurrent = opts.hmacSecretKey ? new HmacSecret(encoder.encode(opts.hmacSecretKey)) : undefined;
    this.hmacPrevious = opts.hmacPreviousSecretKey ? new HmacSecret(encoder.encode(opts.hmacPreviousSecretKey)) : undefined;
    const until = opts.hmacPreviousSecretKeyValidUntil ?? 0;
    this.hmacPreviousUntilMs = until > 0 ? until * 1000 : Infinity;
    if (opts.rsaPublicKey) {
      this.rsa = parsePublicKey('rsaPublicKey', opts.rsaPublicKey, ['rsa', 'rsa-pss']);
      // jose refuses RSA keys under 2048 bits at verify time; fail at startup instead of rejecting every token.
      const bits = this.rsa.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw new Error(`rsaPublicKey: RSA keys must be at least 2048 bits, got ${bits}`);
    }
    if (opts.ecdsaPublicKey) this.ecdsa = parsePublicKey('ecdsaPublicKey', opts.ecdsaPublicKey, ['ec']);
  }

  /**
   * Verifies the signature of a compact JWS whose header `alg` is `alg`. Throws InvalidTokenError
   * when the algorithm is not allowed, no key is configured for it, or the signature is wrong.
   * HMAC is checked synchronously (result or throw); RSA and ECDSA give a promise (jose).
   */
  verify(token: string, jws: CompactJws, alg: string, nowMs: number): SignatureCheck | Promise<SignatureCheck> {
    if (isOneOf(HMAC_ALGS, alg)) return this.verifyHmac(token, jws, alg, nowMs);
    if (isOneOf(RSA_ALGS, alg)) {
      if (!this.rsa) throw new InvalidTokenError(`algorithm ${alg} is disabled: no RSA public key configured`);
      return verifyWith(token, this.rsa, RSA_ALGS).then(keyForever);
    }
    if (isOneOf(ECDSA_ALGS, alg)) {
      if (!this.ecdsa) throw new InvalidTokenError(`algorithm ${alg} is disabled: no ECDSA public key configured`);
      return verifyWith(token, this.ecdsa, ECDSA_ALGS).then(keyForever);
    }
    throw new InvalidTokenError(`unsupported algorithm ${JSON.stringify(alg)}`);
  }

  /**
   * Current secret first; on a signature mismatch only (not on a malformed token), the previous
   * secret while its validity window is open. That lets tokens minted before a secret rotation
   * keep working until they are re-issued.
   */
  private verifyHmac(token: string, jws: CompactJws, alg: (typeof HMAC_ALGS)[number], nowMs: number): SignatureCheck {
    const previousUsable = this.hmacPrevious !== undefined && nowMs < this.hmacPreviousUntilMs;
    if (!this.hmacCurrent && !previousUsable) {
      throw new InvalidTokenError('HMAC algorithms are disabled: no HMAC secret configured');
    }
    if (this.hmacCurrent) {
      try {
        this.hmacCurrent.verify(token, jws, alg);
        return KEY_FOREVER;
      } catch (err) {
        if (!previousUsable || !isSignatureMismatch(err)) throw err;
      }
    }
    (this.hmacPrevious as HmacSecret).verify(token, jws, alg);
    return { keyValidUntilMs: this.hmacPreviousUntilMs };
  }
}

const KEY_FOREVER: SignatureCheck = Object.freeze({ keyValidUntilMs: Infinity });
const keyForever = (): SignatureCheck => KEY_FOREVER;

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

function isSignatureMismatch(err: unknown): boolean {
  return err instanceof InvalidTokenError && err.cause instanceof joseErrors.JWSSignatureVerificationFailed;
}

/**
 * An HMAC secret, verified synchronously with node:crypto. Going through jose and WebCrypto cost
 * an async crypto job per connect, the largest single item of a JWT connect in the connection
 * storm benchmark; HS256/384/512 verification itself is one HMAC and a constant-time compare.
 * RSA, ECDSA and JWKS keys still go through jose.
 */
class HmacSecret {
  private readonly key: KeyObject;

  constructor(secret: Uint8Array) {
    this.key = createSecretKey(secret);
  }

  /** Throws InvalidTokenError; a wrong signature carries jose's verification-failed error as cause. */
  verify(token: string, jws: CompactJws, alg: (typeof HMAC_ALGS)[number]): void {
    // parseCompactJws already refused non-canonical spellings; an HMAC token must be signed.
    if (jws.signature === '') throw new InvalidTokenError('malformed signature');
    if (jws.header.crit !== undefined || jws.header.b64 !== undefined) throw new InvalidTokenError('unsupported "crit"/"b64" header parameters');
    const expected = createHmac(HMAC_HASH[alg], this.key).update(token.slice(0, jws.signingInputEnd)).digest();
    const given = Buffer.from(jws.signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidTokenError('signature mismatch', { cause: new joseErrors.JWSSignatureVerificationFailed() });
    }
  }
}

const HMAC_HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/** Runs jose's signature check restricted to `algs`, turning every failure into InvalidTokenError. */
async function verifyWith(token: string, key: KeyObject | Uint8Array, algs: readonly string[]): Promise<void> {
  try {
    await compactVerify(token, key, { algorithms: [...algs] });
  } catch (err) {
    throw toInvalid(err);
  }
}

/** Maps a jose (or key import) failure to InvalidTokenError, keeping the original as `cause`. */
export function toInvalid(err: unknown): InvalidTokenError {
  if (err instanceof InvalidTokenError) return err;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new InvalidTokenError('signature mismatch', { cause: err });
  const reason = messageOf(err);
  return new InvalidTokenError(reason, { cause: err });
}
