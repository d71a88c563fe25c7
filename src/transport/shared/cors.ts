/**
 * Origin checks and CORS for the HTTP-based transports and `/emulation` (spec §8.1): requests from
 * a disallowed Origin get 403; allowed browser origins get `Access-Control-Allow-Origin` echoing the
 * Origin, credentials allowed and the requested headers echoed. Preflights answer 204.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OriginChecker } from '../../util/origin.js';
import { endAnswer } from '../../http/body.js';

/** How long browsers may cache a preflight answer, seconds. */
const PREFLIGHT_MAX_AGE_S = 300;

/**
 * Applies the origin policy. Returns false (and answers 403) when the request must stop here;
 * answers preflights itself (also returning false).
 */
export function admitCors(req: IncomingMessage, res: ServerResponse, origins: OriginChecker, methods: string): boolean {
  const origin = req.headers.origin;
  if (!origins.allowed(origin)) {
    res.writeHead(403, { 'Content-Type': 'text/plain' });
    res.end('request Origin is not allowed\n');
    return false;
  }
  if (origin !== undefined && origin !== '') {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
    const requested = req.headers['access-control-request-headers'];
    if (requested !== undefined) res.setHeader('Access-Control-Allow-Headers', requested);
  }
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
    res.writeHead(204);
    res.end();
    return false;
  }
  return true;
}

export function plainError(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  endAnswer(res, status, { 'Content-Type': 'text/plain; charset=utf-8' }, text + '\n');
}
