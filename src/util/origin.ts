/**
 * `client.allowed_origins` matching. Patterns are full origins with optional `*` wildcards
 * (`https://*.example.com`), or a lone `*` for any origin. An empty list allows only requests
 * without an `Origin` header: browsers always send one on cross-site WebSocket and CORS requests,
 * so an empty list shuts out every browser page (cross-site WebSocket hijacking protection).
 */
import { compileGlob, type GlobMatcher } from './glob.js';

/**
 * Longest Origin compared with the patterns, characters. An origin is a scheme, a host (at most
 * 253 characters) and a port; a longer header is refused without matching.
 */
export const MAX_ORIGIN_LENGTH = 1024;

export class OriginChecker {
  private readonly any: boolean;
  private readonly patterns: GlobMatcher[];

  constructor(
    patterns: readonly string[],
    /** Told of each refused Origin (for the log); every transport checks through here. */
    private readonly onRefused: (origin: string) => void = () => {},
  ) {
    this.any = patterns.includes('*');
    this.patterns = patterns.filter((p) => p !== '*').map((p) => compileGlob(p.toLowerCase()));
  }

  get allowsAny(): boolean {
    return this.any;
  }

  /** `origin` is the request's Origin header, or undefined when absent. */
  allowed(origin: string | undefined): boolean {
    if (origin === undefined || origin === '') return true;
    if (this.any) return true;
    const o = origin.toLowerCase();
    if (origin.length <= MAX_ORIGIN_LENGTH && this.patterns.some((re) => re.test(o))) return true;
    this.onRefused(origin);
    return false;
  }
}
