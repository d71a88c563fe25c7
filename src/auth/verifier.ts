/**
 * Connection and subscription JWT verification (Centrifugo `client.token` / `client.subscription_token`).
 *
 * Check order, per token (every failure before step 5 is an InvalidTokenError, so the same token
 * gets the same verdict as in Centrifugo whichever of steps 2–3 refuses it first):
 *   1. parse (3 base64url parts, JSON object header and payload) and type-check registered claims
 *   2. signature (skipped with insecureSkipSignatureVerify)
 *   3. audience / issuer (only when configured). With a templated JWKS endpoint this runs before
 *      step 2 instead: the regex groups name the key set to fetch. Otherwise it runs after, so an
 *      unsigned or forged token costs no regex work; the regexes are RE2 (linear time) either way.
 *   4. connection tokens: a non-empty `channel` claim is invalid
 *   5. `exp` / `nbf` ⇒ TokenExpiredError
 *   6. decode the remaining claims (subscription tokens: `channel` required)
 *
 * A verified-token cache (LRU, keyed by the token string) makes repeat presentations of the same
 * token (reconnect storms, every tab of a user) skip parsing and signature checks. An entry is
 * honoured until the token's `exp` (after that the hit answers TokenExpiredError, as a fresh check
 * would) and never beyond the lifetime of the key that verified it.
 */
import { LRUCache } from 'lru-cache';
import {
  buildConnectClaims,
  buildSubscriptionClaims,
  cloneConnectClaims,
  cloneSubscriptionClaims,
  hasChannelClaim,
  rawClaimSelector,
  readRegisteredClaims,
  type ConnectTokenClaims,
  type Payload,
  type RawClaimSelector,
  type RegisteredClaims,
  type SubscriptionTokenClaims,
} from './claims.js';
import { parseCompactJws, type CompactJws } from './compact.js';
import { goRegExp, type GoRegExp } from '../util/go-regexp.js';
import { InvalidTokenError, TokenExpiredError } from './errors.js';
import { JWKS_CACHE_MAX_AGE_MS, JwksKeySets } from './jwks.js';
import { checkTemplateSafety } from '../util/jwks-template.js';
import { StaticKeys } from './keys.js';

export type { ConnectTokenClaims, ServerSubOptions, SubscribeOverride, SubscriptionTokenClaims } from './claims.js';
export { InvalidTokenError, KeySourceUnavailableError, TokenExpiredError } from './errors.js';

export interface TokenVerifierOptions {
  /** HMAC secret for HS256/384/512. Empty/absent = HMAC tokens rejected. */
  hmacSecretKey?: string;
  /** Secret in use before the last rotation; tried when the current one does not match. */
  hmacPreviousSecretKey?: string;
  /** Unix seconds after which the previous secret is no longer accepted. Absent/0 = no limit. */
  hmacPreviousSecretKeyValidUntil?: number;
  /** PEM public key for RS256/384/512 (and PS*). At least 2048 bits. */
  rsaPublicKey?: string;
  /** PEM public key for ES256/384/512; the curve must match the algorithm (P-256/P-384/P-521). */
  ecdsaPublicKey?: string;
  /**
   * When set, HMAC/RSA/ECDSA keys are not used; keys by `kid`; cache 1h, fetch timeout 1s. May be
   * a template with `{{name}}` placeholders filled from the named groups of issuerRegex /
   * audienceRegex (see util/jwks-template.ts); every such group must then be an explicit list of
   * fixed values, or the constructor throws (Centrifugo v6.7's safety check).
   */
  jwksPublicEndpoint?: string;
  /** Disables the template safety check above (`insecure_skip_jwks_endpoint_safety_check`). */
  insecureSkipJwksEndpointSafetyCheck?: boolean;
  /** Required `aud` (exact match against any element of the claim). Exclusive with audienceRegex. */
  audience?: string;
  /** Required `aud` pattern, Go syntax (unanchored search, RE2 semantics: see util/go-regexp.ts). */
  audienceRegex?: string;
  /** Required `iss` (exact). Exclusive with issuerRegex. */
  issuer?: string;
  /** Required `iss` pattern (unanchored search). */
  issuerRegex?: string;
  /** Claim holding the user ID; default "sub"; must match ^[a-zA-Z_]+$ (constructor throws otherwise). */
  userIdClaim?: string;
  /**
   * Development only: accept tokens without checking signatures (any `alg`, including `none`).
   * Claims, audience, issuer and expiry are still checked.
   */
  insecureSkipSignatureVerify?: boolean;
  /**
   * Verified-token cache size in entries, for connection and for subscription tokens each; 0
   * disables. Default 10000. Only RSA, ECDSA and JWKS verifications are cached; entries live
   * until the token's exp.
   */
  cacheSize?: number;
}

/** Test seams; not part of the configuration surface. */
export interface TokenVerifierInternals {
  /** Wall clock in ms (default Date.now). Drives exp/nbf, previous-key validity and cache expiry. */
  now?: () => number;
  /** Minimum spacing of JWKS refetches caused by unknown `kid`s (default 1000 ms). */
  jwksCooldownMs?: number;
}

const USER_ID_CLAIM = /^[a-zA-Z_]+$/;
const DEFAULT_CACHE_SIZE = 10_000;
/**
 * Tokens longer than this are verified every time instead of being cached, so the cache's memory
 * stays bounded by roughly size × 16 KiB even if the application mints huge tokens (big `info`/`subs`).
 */
const MAX_CACHED_TOKEN_LENGTH = 16 * 1024;

interface CacheEntry<C> {
  claims: C;
  exp: number | undefined;
  reuseUntilMs: number;
}

/** Result of steps 1–3. */
interface Checked {
  payload: Payload;
  reg: RegisteredClaims;
  /** Until when a cache may reuse this verification (key lifetime), ms. */
  reuseUntilMs: number;
  /**
   * Whether caching pays: RSA, ECDSA and JWKS verifications cost tens of µs, an HMAC check about
   * as much as a cache lookup. Caching HMAC tokens only added retained memory per connection and
   * garbage-collector work in connection storms of fresh tokens (measured in bench `storm`).
   */
  cacheable: boolean;
}

/** A Go-syntax pattern (see `goRegExp`); the error names the option. */
function compileRegex(option: string, source: string): GoRegExp {
  try {
    return goRegExp(source);
  } catch (err) {
    throw new Error(`${option}: invalid regular expression: ${(err as Error).message}`);
  }
}

/**
 * Whether `re` matches one of `inputs`; with `vars`, the named groups of the first match go into
 * it (the regex then tracks captures, which costs more: only templated JWKS endpoints ask).
 */
function matchInto(re: GoRegExp, inputs: readonly string[], vars: Map<string, string> | undefined): boolean {
  for (const input of inputs) {
    if (vars === undefined) {
      if (re.test(input)) return true;
      continue;
    }
    const groups = re.namedGroups(input);
    if (groups === undefined) continue;
    for (const [name, value] of groups) vars.set(name, value);
    return true;
  }
  return false;
}

export class TokenVerifier {
  private readonly userIdClaim: string;
  private readonly rawClaims: RawClaimSelector;
  private readonly audience: string | undefined;
  private readonly audienceRe: GoRegExp | undefined;
  private readonly issuer: string | undefined;
  private readonly issuerRe: GoRegExp | undefined;
  private readonly skipSignature: boolean;
  private readonly staticKeys: StaticKeys | undefined;
  private readonly jwks: JwksKeySets | undefined;
  /** Verified connection and subscription tokens, keyed by the token itself. */
  private readonly connectCache: LRUCache<string, CacheEntry<ConnectTokenClaims>> | undefined;
  private readonly subCache: LRUCache<string, CacheEntry<SubscriptionTokenClaims>> | undefined;
  private readonly now: () => number;

  /** Throws on invalid configuration (bad userIdClaim, PEM, regex, JWKS URL, conflicting options). */
  constructor(opts: TokenVerifierOptions, internals: TokenVerifierInternals = {}) {
    this.now = internals.now ?? Date.now;
    this.userIdClaim = opts.userIdClaim || 'sub';
    if (!USER_ID_CLAIM.test(this.userIdClaim)) {
      throw new Error(`userIdClaim must match ${USER_ID_CLAIM.source}, got ${JSON.stringify(this.userIdClaim)}`);
    }
    this.rawClaims = rawClaimSelector(this.userIdClaim);
    if (opts.audience && opts.audienceRegex) throw new Error('audience and audienceRegex are mutually exclusive');
    if (opts.issuer && opts.issuerRegex) throw new Error('issuer and issuerRegex are mutually exclusive');
    this.audience = opts.audience || undefined;
    this.issuer = opts.issuer || undefined;
    this.audienceRe = opts.audienceRegex ? compileRegex('audienceRegex', opts.audienceRegex) : undefined;
    this.issuerRe = opts.issuerRegex ? compileRegex('issuerRegex', opts.issuerRegex) : undefined;
    this.skipSignature = opts.insecureSkipSignatureVerify === true;
    if (opts.jwksPublicEndpoint) {
      if (opts.insecureSkipJwksEndpointSafetyCheck !== true) {
        checkTemplateSafety(opts.jwksPublicEndpoint, [
          { option: 'issuer_regex', source: opts.issuerRegex },
          { option: 'audience_regex', source: opts.audienceRegex },
        ]);
      }
      const jwksOpts = internals.jwksCooldownMs === undefined ? {} : { cooldownMs: internals.jwksCooldownMs };
      this.jwks = new JwksKeySets(opts.jwksPublicEndpoint, jwksOpts);
    } else {
      this.staticKeys = new StaticKeys(opts);
    }
    const size = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(size) || size < 0) throw new Error(`cacheSize must be a non-negative integer, got ${size}`);
    this.connectCache = size > 0 ? new LRUCache({ max: size }) : undefined;
    this.subCache = size > 0 ? new LRUCache({ max: size }) : undefined;
  }

  /** `checkConnectToken`, always answered by a promise. */
  async verifyConnectToken(token: string): Promise<ConnectTokenClaims> {
    return this.checkConnectToken(token);
  }

  /**
   * The claims of a valid connection token; throws InvalidTokenError or TokenExpiredError.
   * Synchronous where nothing has to wait (an HMAC signature, a cached verification), so such a
   * connect needs no promise; a promise where a key set is fetched or WebCrypto checks an RSA or
   * ECDSA signature.
   */
  checkConnectToken(token: string): ConnectTokenClaims | Promise<ConnectTokenClaims> {
    const hit = this.cached(this.connectCache, token);
    if (hit !== undefined) return cloneConnectClaims(hit.claims);
    const c = this.check(token);
    return c instanceof Promise ? c.then((checked) => this.connectClaims(token, checked)) : this.connectClaims(token, c);
  }

  private connectClaims(token: string, checked: Checked): ConnectTokenClaims {
    if (hasChannelClaim(checked.payload)) {
      throw new InvalidTokenError('connection token must not contain a "channel" claim');
    }
    this.checkTime(checked.reg);
    const claims = buildConnectClaims(checked.payload, checked.reg);
    if (!checked.cacheable) return claims;
    this.store(this.connectCache, token, { claims, exp: checked.reg.exp, reuseUntilMs: checked.reuseUntilMs });
    return cloneConnectClaims(claims);
  }

  async verifySubscriptionToken(token: string): Promise<SubscriptionTokenClaims> {
    const hit = this.cached(this.subCache, token);
    if (hit !== undefined) return cloneSubscriptionClaims(hit.claims);

    const c = this.check(token);
    const checked = c instanceof Promise ? await c : c;
    this.checkTime(checked.reg);
    const claims = buildSubscriptionClaims(checked.payload, checked.reg);
    if (!checked.cacheable) return claims;
    this.store(this.subCache, token, { claims, exp: checked.reg.exp, reuseUntilMs: checked.reuseUntilMs });
    return cloneSubscriptionClaims(claims);
  }

  /** Verified tokens held in the cache (connection and subscription); for tests and diagnostics. */
  get cachedTokens(): number {
    return (this.connectCache?.size ?? 0) + (this.subCache?.size ?? 0);
  }

  /** Stops JWKS fetches and drops cached verifications. Verification keeps working for static keys. */
  close(): void {
    this.jwks?.close();
    this.connectCache?.clear();
    this.subCache?.clear();
  }

  /**
   * Cache lookup. A hit past the token's `exp` throws TokenExpiredError; a hit past the verifying
   * key's lifetime is dropped so the token is checked afresh (and then fails on its signature).
   * An empty cache (only HMAC keys configured) costs no lookup.
   */
  private cached<C>(cache: LRUCache<string, CacheEntry<C>> | undefined, token: string): CacheEntry<C> | undefined {
    if (cache === undefined || cache.size === 0) return undefined;
    const entry = cache.get(token);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.reuseUntilMs) {
      cache.delete(token);
      return undefined;
    }
    if (entry.exp !== undefined && this.now() / 1000 >= entry.exp) {
      cache.delete(token);
      throw new TokenExpiredError();
    }
    return entry;
  }

  private store<C>(cache: LRUCache<string, CacheEntry<C>> | undefined, token: string, entry: CacheEntry<C>): void {
    if (token.length <= MAX_CACHED_TOKEN_LENGTH) cache?.set(token, entry);
  }

  /**
   * Steps 1–3: parse, signature, audience/issuer. Synchronous for HMAC keys, the common case of a
   * connection storm, so a connect makes no extra trips through the microtask queue.
   */
  private check(token: string): Checked | Promise<Checked> {
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('empty token');
    let jws: CompactJws;
    try {
      jws = parseCompactJws(token, this.rawClaims);
    } catch (err) {
      throw new InvalidTokenError(`malformed token: ${(err as Error).message}`, { cause: err });
    }
    const { header, payload } = jws;
    const reg = readRegisteredClaims(payload, this.userIdClaim);

    if (this.skipSignature) {
      this.checkAudienceAndIssuer(reg, false);
      return { payload, reg, reuseUntilMs: Infinity, cacheable: false };
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || alg === '') throw new InvalidTokenError('missing "alg" header');
    // Unsigned tokens are refused explicitly, whatever keys are configured.
    if (alg.toLowerCase() === 'none') throw new InvalidTokenError('unsigned tokens (alg "none") are not accepted');
    if (this.jwks) {
      // A templated endpoint needs the regex groups to know which key set to fetch (step 3 first).
      const templated = this.jwks.templated;
      const vars = templated ? this.checkAudienceAndIssuer(reg, true) : undefined;
      return this.jwks.verify(token, header.kid, vars).then(() => {
        if (!templated) this.checkAudienceAndIssuer(reg, false);
        // A cached verification must not outlive the key set it was checked against.
        return { payload, reg, reuseUntilMs: this.now() + JWKS_CACHE_MAX_AGE_MS, cacheable: true };
      });
    }
    const sig = (this.staticKeys as StaticKeys).verify(token, jws, alg, this.now());
    if (sig instanceof Promise) {
      return sig.then((c) => {
        this.checkAudienceAndIssuer(reg, false);
        return { payload, reg, reuseUntilMs: c.keyValidUntilMs, cacheable: true };
      });
    }
    this.checkAudienceAndIssuer(reg, false);
    return { payload, reg, reuseUntilMs: sig.keyValidUntilMs, cacheable: !alg.startsWith('HS') };
  }

  /**
   * Audience and issuer checks. With `capture` (a templated JWKS endpoint) also returns the named
   * groups of the issuer match and of the first matching audience, the audience's winning on a
   * shared name (Centrifugo's order); otherwise returns undefined and builds nothing.
   */
  private checkAudienceAndIssuer(reg: RegisteredClaims, capture: boolean): Map<string, string> | undefined {
    if (this.audience !== undefined && !reg.aud.includes(this.audience)) {
      throw new InvalidTokenError('audience mismatch');
    }
    if (this.issuer !== undefined && reg.iss !== this.issuer) throw new InvalidTokenError('issuer mismatch');
    const vars = capture ? new Map<string, string>() : undefined;
    if (this.issuerRe !== undefined && !matchInto(this.issuerRe, [reg.iss], vars)) throw new InvalidTokenError('issuer does not match issuerRegex');
    if (this.audienceRe !== undefined && !matchInto(this.audienceRe, reg.aud, vars)) throw new InvalidTokenError('audience does not match audienceRegex');
    return vars;
  }

  /** No leeway: expired when now ≥ exp, not yet valid when now < nbf (RFC 7519 §4.1.4–4.1.5). */
  private checkTime(reg: RegisteredClaims): void {
    const nowSec = this.now() / 1000;
    if (reg.exp !== undefined && nowSec >= reg.exp) throw new TokenExpiredError('token expired');
    if (reg.nbf !== undefined && nowSec < reg.nbf) throw new TokenExpiredError('token not valid yet (nbf)');
  }
}
