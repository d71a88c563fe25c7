/**
 * The admin endpoints of Centrifugo v6 (`admin.enabled`), under `admin.handler_prefix`:
 *
 * - `GET  …/admin/init` → `{"insecure":bool,"edition":"oss","authenticated":bool}`.
 * - `POST …/admin/auth` with the form field (urlencoded or multipart, or JSON member) `password` → `{"token":"…"}`; a wrong
 *   password 400; too many wrong ones from one address 429 with `Retry-After` (login-throttle.ts).
 * - `POST …/admin/api` with `Authorization: token <token>` and `{"method":"…","params":{…}}` → the
 *   method's `{"result":…}` or `{"error":…}`, every method of the server API's table. Without a
 *   valid token 401; a body over ADMIN_MAX_BODY_BYTES 413; not JSON 400.
 * - `POST …/admin/trace` with the same header and `{"type":"channel"|"user","entity":"…"}` → a
 *   stream of what happens to that channel or user on every node (trace.ts).
 *
 * With `admin.insecure` no password or token is asked for. The page itself uses the admin token,
 * never the API key. The client address for throttling is the TCP peer's (a reverse proxy in
 * front makes every login come from it: throttle there too).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, endAnswer, readBody } from '../http/body.js';
import { METHODS, callMethod, errorObject, type ApiContext } from '../api/methods.js';
import { ApiErrorCode } from '../protocol/codes.js';
import { apiError, parseLegacyApiJson } from '../api/json.js';
import { asObject, type Obj } from '../protocol/json/fields.js';
import { toJsonText } from '../protocol/json/json-text.js';
import { AdminTokens } from './session-token.js';
import { LoginThrottle } from './login-throttle.js';
import { AdminTrace } from './trace.js';

/** Largest admin request body, bytes (an API call from the page). */
export const ADMIN_MAX_BODY_BYTES = 1024 * 1024;

export interface AdminOptions {
  password: string;
  secret: string;
  insecure: boolean;
}

export class AdminHttpHandler {
  readonly #tokens: AdminTokens;
  readonly #password: Buffer;
  readonly #throttle = new LoginThrottle();
  readonly #trace: AdminTrace;

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: AdminOptions,
  ) {
    this.#tokens = new AdminTokens(opts.secret);
    this.#password = digest(opts.password);
    this.#trace = new AdminTrace(ctx.node, () => ctx.rules());
  }

  async handle(req: IncomingMessage, res: ServerResponse, what: string): Promise<void> {
    if (what === 'init') {
      if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
      return send(res, 200, { insecure: this.opts.insecure, edition: 'oss', authenticated: this.opts.insecure || this.#authorized(req) });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    if (what === 'auth') return this.#auth(req, res);
    if (what === 'api') return this.#api(req, res);
    if (what === 'trace') return this.#traceStream(req, res);
    return send(res, 404, { error: 'not found' });
  }

  async #auth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? '';
    const wait = this.#throttle.blockedFor(address);
    if (wait > 0) {
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return send(res, 429, { error: 'too many failed logins, try again later' });
    }
    const body = await readSmall(req, res);
    if (body === undefined) return;
    if (this.opts.insecure) return send(res, 200, { token: this.#tokens.issue() });
    const given = await passwordOf(body, String(req.headers['content-type'] ?? ''));
    if (given !== undefined && this.opts.password !== '' && timingSafeEqual(digest(given), this.#password)) {
      this.#throttle.succeeded(address);
      return send(res, 200, { token: this.#tokens.issue() });
    }
    this.#throttle.failed(address);
    return send(res, 400, { error: 'wrong password' });
  }

  async #api(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.opts.insecure && !this.#authorized(req)) return send(res, 401, { error: 'unauthorized' });
    const body = await readSmall(req, res);
    if (body === undefined) return;
    // Parsed as the legacy API parses `{method, params}` (payloads kept as their exact JSON text).
    let method: string;
    let params: Obj;
    try {
      const commands = parseLegacyApiJson(body);
      const command = commands[0];
      if (commands.length !== 1 || command === undefined || typeof command.method !== 'string') return send(res, 400, { error: 'one {"method","params"} object expected' });
      method = command.method;
      params = asObject(command.params, 'params');
    } catch {
      return send(res, 400, { error: 'the body is not a JSON object with method and params' });
    }
    if (METHODS[method] === undefined) return sendText(res, `{"error":${toJsonText(errorObject(apiError(ApiErrorCode.notFound)))}}`);
    try {
      const result = await callMethod(this.ctx, 'http', method, params);
      return sendText(res, `{"result":${toJsonText(result)}}`);
    } catch (e) {
      return sendText(res, `{"error":${toJsonText(errorObject(e))}}`);
    }
  }

  async #traceStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.opts.insecure && !this.#authorized(req)) return send(res, 401, { error: 'unauthorized' });
    const body = await readSmall(req, res);
    if (body === undefined) return;
    // Checked again while the stream runs: it ends when the session token expires.
    return this.#trace.handle(res, body, () => this.opts.insecure || this.#authorized(req));
  }

  /** Whether `token` opens the admin (any token in insecure mode): v1's admin socket asks. */
  tokenValid(token: string): boolean {
    return this.opts.insecure || (this.opts.secret !== '' && this.#tokens.valid(token));
  }

  #authorized(req: IncomingMessage): boolean {
    const m = /^token\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    return m !== null && this.opts.secret !== '' && this.#tokens.valid(m[1]!);
  }
}

/** SHA-256 of a password: equal lengths for `timingSafeEqual`, whatever was typed. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * `password` from a form (`application/x-www-form-urlencoded`, or `multipart/form-data` as
 * Centrifugo's own console posts it) or a JSON object.
 */
async function passwordOf(body: string, contentType: string): Promise<string | undefined> {
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    try {
      // The body is already bounded (ADMIN_MAX_BODY_BYTES); fetch's Response parses the parts.
      const v = (await new Response(body, { headers: { 'content-type': contentType } }).formData()).get('password');
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  if (contentType.startsWith('application/json')) {
    try {
      const v = JSON.parse(body) as { password?: unknown };
      return typeof v?.password === 'string' ? v.password : undefined;
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body).get('password') ?? undefined;
}

/** The body as text, or undefined once a 413 or 400 has been answered. */
async function readSmall(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  try {
    return (await readBody(req, ADMIN_MAX_BODY_BYTES)).toString('utf8');
  } catch (e) {
    // endAnswer: a 413 over an unread body must reach the client before the connection closes.
    const tooLarge = e instanceof BodyTooLargeError;
    endAnswer(res, tooLarge ? 413 : 400, JSON_HEADERS, JSON.stringify({ error: tooLarge ? 'request too large' : 'could not read the request' }));
    return undefined;
  }
}

/** A 200 whose JSON text is already written (API results keep payloads as their exact JSON). */
function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, JSON_HEADERS);
  res.end(text);
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(JSON.stringify(body));
}
