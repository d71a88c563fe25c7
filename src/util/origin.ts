/**
 * `client.allowed_origins` matching. Patterns are full origins with optional `*` wildcards
 * (`https://*.example.com`), or a lone `*` for any origin. An empty list allows only requests
 * without an `Origin` header: browsers always send one on cross-site WebSocket and CORS requests,
 * so an empty list shuts out every browser page (cross-site WebSocket hijacking protection).
 */
import { globToRegExp } from './glob.js';

export class OriginChecker {
  private readonly any: boolean;
  private readonly patterns: RegExp[];

  constructor(patterns: readonly string[]) {
    this.any = patterns.includes('*');
    this.patterns = patterns.filter((p) => p !== '*').map((p) => globToRegExp(p.toLowerCase()));
  }

  get allowsAny(): boolean {
    return this.any;
  }

  /** `origin` is the request's Origin header, or undefined when absent. */
  allowed(origin: string | undefined): boolean {
    if (origin === undefined || origin === '') return true;
    if (this.any) return true;
    const o = origin.toLowerCase();
    return this.patterns.some((re) => re.test(o));
  }
}
