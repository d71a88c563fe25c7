/**
 * Verification keys from a remote JWKS endpoint (`jwksPublicEndpoint`), selected by the token's `kid`.
 *
 * Key selection is jose's: a JWK is a candidate when its `kid` equals the token's, its `kty` fits
 * the token's algorithm family (RSA for RS/PS, EC with the matching curve for ES, OKP/Ed25519 for
 * EdDSA), its `alg` (if present) equals the token's `alg`, and its `use` (if present) is "sig".
 * Symmetric (`oct`) keys are never used: HS* algorithms are not in the allowed list.
 *
 * Caching: the whole key set is kept for 1 hour (Centrifugo's documented TTL). A `kid` missing
 * from the cached set triggers a refetch (that is how newly rotated-in keys are picked up), at most
 * once per `cooldownMs` so a stream of tokens with random `kid`s cannot hammer the endpoint.
 * Concurrent refetches are coalesced by jose. Each HTTP attempt has a 1 s timeout and a failed
 * attempt (network error, timeout, non-200) is retried once, as Centrifugo does.
 *
 * A templated endpoint (`{{name}}` placeholders, see util/jwks-template.ts) is served by `JwksKeySets`:
 * one `JwksKeySource` per expanded URL, each with the caching above, held in an LRU of at most
 * `JWKS_MAX_KEY_SETS` URLs.
 */
import { LRUCache } from 'lru-cache';
import { compactVerify, createRemoteJWKSet, customFetch, errors as joseErrors, type FetchImplementation } from 'jose';
import { InvalidTokenError, KeySourceUnavailableError } from './errors.js';
import { expandTemplate, templatePlaceholders } from '../util/jwks-template.js';
import { toInvalid } from './keys.js';
import { messageOf } from '../util/message-of.js';

/** Algorithms accepted with JWKS keys. `Ed25519` is the newer (RFC 9864) name of EdDSA over Ed25519. */
export const JWKS_ALGS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

export const JWKS_CACHE_MAX_AGE_MS = 60 * 60 * 1000;
export const JWKS_FETCH_TIMEOUT_MS = 1000;
export const JWKS_FETCH_ATTEMPTS = 2;
/** Minimum spacing between refetches caused by unknown `kid`s. */
export const JWKS_DEFAULT_COOLDOWN_MS = 1000;

/**
 * Most key sets kept for a templated endpoint, one per expanded URL, least recently used evicted
 * first. The safety check limits the URLs to the combinations of the operator's listed values, so
 * real deployments stay far below; the bound caps memory when that check is skipped. An evicted
 * set is fetched again on its next use.
 */
export const JWKS_MAX_KEY_SETS = 128;

export interface JwksOptions {
  /** See JWKS_DEFAULT_COOLDOWN_MS; 0 = refetch on every unknown kid (Centrifugo's behaviour). */
  cooldownMs?: number;
  /** Closes this source too when aborted (the owner's lifetime, for sources of a template). */
  signal?: AbortSignal;
}

export class JwksKeySource {
  private readonly keySet: ReturnType<typeof createRemoteJWKSet>;
  /** Aborts in-flight fetches on close(). */
  private readonly lifetime = new AbortController();
  /** Aborted by close() or by the owner's signal. */
  private readonly closed: AbortSignal;

  /** Throws (configuration error) when `endpoint` is not an http(s) URL. */
  constructor(endpoint: string, opts: JwksOptions = {}) {
    const url = parseEndpoint(endpoint);
    this.closed = opts.signal ? AbortSignal.any([this.lifetime.signal, opts.signal]) : this.lifetime.signal;
    this.keySet = createRemoteJWKSet(url, {
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      // jose's own deadline covers all attempts; the per-attempt 1 s deadline is in retryingFetch.
      timeoutDuration: JWKS_FETCH_TIMEOUT_MS * JWKS_FETCH_ATTEMPTS + 500,
      cooldownDuration: opts.cooldownMs ?? JWKS_DEFAULT_COOLDOWN_MS,
      [customFetch]: this.retryingFetch,
    });
  }

  /**
   * Verifies the token's signature with the JWK named by its `kid`. Throws InvalidTokenError for
   * the token's faults (no or unknown `kid`, wrong signature, disallowed algorithm) and
   * KeySourceUnavailableError when the key set could not be fetched.
   */
  async verify(token: string, kid: unknown): Promise<void> {
    if (this.closed.aborted) throw new InvalidTokenError('token verifier is closed');
    // Centrifugo looks keys up by kid only; a kid-less token is not matched against "any key".
    if (typeof kid !== 'string' || kid === '') throw new InvalidTokenError('"kid" header is required with JWKS');
    try {
      await compactVerify(token, this.keySet, { algorithms: [...JWKS_ALGS] });
    } catch (err) {
      if (this.closed.aborted) throw new InvalidTokenError('token verifier is closed', { cause: err });
      if (isFetchFailure(err)) throw new KeySourceUnavailableError(messageOf(err), { cause: err });
      throw toInvalid(err);
    }
  }

  /** Aborts in-flight fetches; later verifications fail. */
  close(): void {
    this.lifetime.abort();
  }

  private readonly retryingFetch: FetchImplementation = async (url, init) => {
    let lastError: unknown;
    for (let attempt = 0; attempt < JWKS_FETCH_ATTEMPTS; attempt++) {
      const signal = AbortSignal.any([init.signal, this.closed, AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS)]);
      try {
        const response = await fetch(url, { ...init, signal });
        if (response.status === 200) return response;
        // Drain so the connection can be reused, then retry.
        await response.body?.cancel();
        lastError = new JwksFetchError(`JWKS endpoint answered HTTP ${response.status}`);
      } catch (err) {
        lastError = err;
      }
      if (init.signal.aborted || this.closed.aborted) break;
    }
    // A timeout keeps its name so that jose reports it as JWKSTimeout; anything else the fetch
    // threw is marked as such, apart from errors of key import or verification.
    if (lastError instanceof Error && (lastError.name === 'TimeoutError' || lastError.name === 'AbortError')) throw lastError;
    if (lastError instanceof JwksFetchError) throw lastError;
    throw new JwksFetchError(messageOf(lastError), { cause: lastError });
  };
}

/**
 * Keys from a JWKS endpoint that may be a template. A plain URL is one `JwksKeySource`; a
 * template is expanded per token from the variables captured by the issuer/audience regexes,
 * and each expanded URL gets its own source (bounded LRU, `JWKS_MAX_KEY_SETS`).
 */
export class JwksKeySets {
  /** True when the endpoint has `{{name}}` placeholders: callers must then capture variables. */
  readonly templated: boolean;
  private readonly single: JwksKeySource | undefined;
  private readonly byUrl: LRUCache<string, JwksKeySource> | undefined;
  private readonly lifetime = new AbortController();

  /** Throws (configuration error) when the endpoint, with placeholders filled, is not an http(s) URL. */
  constructor(
    private readonly endpoint: string,
    private readonly opts: JwksOptions = {},
  ) {
    this.templated = templatePlaceholders(endpoint).length > 0;
    if (this.templated) {
      // Validate the URL shape once, with a neutral value in every placeholder.
      parseEndpoint(endpoint.replace(/\{\{.*?\}\}/g, 'x'));
      this.byUrl = new LRUCache({ max: JWKS_MAX_KEY_SETS });
    } else {
      this.single = new JwksKeySource(endpoint, opts);
    }
  }

  /** As `JwksKeySource.verify`; `vars` fills a template (a missing value makes the token invalid). */
  verify(token: string, kid: unknown, vars: ReadonlyMap<string, string> | undefined): Promise<void> {
    if (this.single !== undefined) return this.single.verify(token, kid);
    if (this.lifetime.signal.aborted) return Promise.reject(new InvalidTokenError('token verifier is closed'));
    const url = expandTemplate(this.endpoint, vars ?? new Map<string, string>());
    if (url === undefined) return Promise.reject(new InvalidTokenError('JWKS endpoint template variable missing or not allowed'));
    const byUrl = this.byUrl as LRUCache<string, JwksKeySource>;
    let source = byUrl.get(url);
    if (source === undefined) {
      try {
        source = new JwksKeySource(url, { ...this.opts, signal: this.lifetime.signal });
      } catch (err) {
        return Promise.reject(new InvalidTokenError('JWKS endpoint template expands to an invalid URL', { cause: err }));
      }
      byUrl.set(url, source);
    }
    return source.verify(token, kid);
  }

  /** Key sets currently held for a template (0 for a plain URL); for tests and diagnostics. */
  get keySetCount(): number {
    return this.byUrl?.size ?? 0;
  }

  close(): void {
    this.lifetime.abort();
    this.single?.close();
    this.byUrl?.clear();
  }
}

/** Throws (configuration error) when `endpoint` is not an http(s) URL. */
function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`jwksPublicEndpoint: invalid URL ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`jwksPublicEndpoint: must be an http:// or https:// URL, got ${JSON.stringify(endpoint)}`);
  }
  return url;
}

/** The key set could not be fetched (network error or non-200 answer). */
class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
}

/**
 * jose reports a timeout as JWKSTimeout, a key set of the wrong shape as JWKSInvalid, and a body
 * that is not JSON (or a non-200 answer) as a plain JOSEError (code ERR_JOSE_GENERIC); the fetch
 * itself fails with JwksFetchError (`retryingFetch`). Everything else, including a JWK that cannot
 * be imported, is about the token or the key set's content and is not cured by retrying.
 */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof JwksFetchError) return true;
  if (!(err instanceof joseErrors.JOSEError)) return false;
  return err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err.code === joseErrors.JOSEError.code;
}
