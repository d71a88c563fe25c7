/**
 * The server HTTP API endpoint (spec §7.1, §7.3): `POST {prefix}/<method>` with a JSON body, and
 * the legacy `POST {prefix}` with a stream of `{"method", "params"}` commands (one per line,
 * pretty-printed or concatenated: any whitespace or none between them, as Go's json.Decoder reads).
 *
 * Statuses come from `statuses.ts`: 200 with `{"result":…}` (`batch`: `{"replies":[…]}`, see
 * `BARE_RESPONSE_METHODS`) or `{"error":{code,message}}`, or a
 * plain-text refusal (405, 401, 503, 404, 413, 500, 400, checked in that order). In transport
 * error mode (`http_api.error_mode: transport` or the `X-Centrifugo-Error-Mode: transport`
 * header) errors use the mapped HTTP status and the body `{"code","message"}`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiErrorCode, apiErrorHttpStatus } from '../protocol/codes.js';
import { ProtocolDecodeError } from '../protocol/codec.js';
import { readBody, BodyTooLargeError, endAnswer } from '../http/body.js';
import { headerString } from '../http/headers.js';
import { BARE_RESPONSE_METHODS, LEGACY_METHOD_IDS, LEGACY_UNSERVED_METHOD_NAMES, METHODS, callMethod, errorObject, type ApiContext } from './methods.js';
import { apiError, parseApiJson, parseLegacyApiJson } from './json.js';
import { asObject, JsonFieldError, type Obj } from '../protocol/json/fields.js';
import { toJsonText } from '../protocol/json/json-text.js';
import { ApiStatus, type ApiHttpStatus } from './statuses.js';
import { V1ApiHandler } from './v1/http.js';

/** Method names the legacy enum knows, for the by-name lookup of each legacy command. */
const LEGACY_METHOD_NAMES: ReadonlySet<string> = new Set(Object.values(LEGACY_METHOD_IDS));

export interface ApiHttpOptions {
  /** `http_api.key`; with an empty key and `insecure` off every request is 401. */
  key: string;
  insecure: boolean;
  /** `transport` or "" (errors in the body). */
  errorMode: string;
  /** Largest accepted request body, bytes. */
  maxBodySize: number;
  /** URL prefix, `/api` by default. */
  prefix: string;
  /**
   * Centrifugo v1's API at the root instead of the v6 legacy one (v1/http.ts, `http_api.v1_format`):
   * `secret` signs requests.
   */
  v1?: { secret: string };
}

export class ApiHttpHandler {
  private readonly keyBuf: Buffer;
  private readonly v1: V1ApiHandler | undefined;

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: ApiHttpOptions,
  ) {
    this.keyBuf = Buffer.from(opts.key);
    this.v1 = opts.v1 === undefined ? undefined : new V1ApiHandler(ctx, { secret: opts.v1.secret, insecure: opts.insecure, maxBodySize: opts.maxBodySize });
  }

  /** True when this handler serves the path. */
  matches(path: string): boolean {
    return path === this.opts.prefix || path.startsWith(this.opts.prefix + '/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'POST') return plain(res, ApiStatus.methodNotAllowed);
    const legacy = path === this.opts.prefix || path === this.opts.prefix + '/';
    // v1's API signs its requests instead of sending a key.
    if (legacy && this.v1 !== undefined) {
      if (this.ctx.node.isShuttingDown) return plain(res, ApiStatus.shuttingDown);
      return this.v1.handle(req, res);
    }
    const methodName = legacy ? '' : path.slice(this.opts.prefix.length + 1);
    // A path that names no method is not found, key or not, as on Centrifugo's fixed routes.
    if (!legacy && METHODS[methodName] === undefined) return plain(res, ApiStatus.methodNotFound);
    if (!this.authorized(req)) return plain(res, ApiStatus.unauthorized);
    if (this.ctx.node.isShuttingDown) return plain(res, ApiStatus.shuttingDown);
    let body: string;
    try {
      body = (await readBody(req, this.opts.maxBodySize)).toString('utf8');
    } catch (e) {
      if (e instanceof BodyTooLargeError) return plain(res, ApiStatus.bodyTooLarge);
      return plain(res, ApiStatus.bodyReadError);
    }
    if (legacy) return this.handleLegacy(res, body);
    let parsed: Obj;
    try {
      // An empty body is not a request, as for Centrifugo's decoder (`info` included).
      parsed = asObject(parseApiJson(body));
    } catch {
      return plain(res, ApiStatus.badRequest);
    }
    const transportMode = this.opts.errorMode === 'transport' || String(req.headers['x-centrifugo-error-mode'] ?? '').toLowerCase() === 'transport';
    try {
      const result = await callMethod(this.ctx, 'http', methodName, parsed);
      const text = toJsonText(result);
      json(res, ApiStatus.ok.status, BARE_RESPONSE_METHODS.has(methodName) ? text : `{"result":${text}}`);
    } catch (e) {
      // A field of the wrong JSON type is a body Centrifugo's decoder refuses before the method
      // runs: 400, as for malformed JSON. The methods read every field before acting, so nothing
      // has happened yet. (Within a batch it stays that command's 107: the others have run.)
      if (e instanceof JsonFieldError && e.kind === 'type') return plain(res, ApiStatus.badRequest);
      const eo = errorObject(e);
      if (eo.code === 100) this.ctx.node.rateLog.error({ err: e, method: methodName }, 'api call failed');
      if (transportMode) json(res, apiErrorHttpStatus(eo.code), toJsonText(eo));
      else json(res, ApiStatus.ok.status, `{"error":${toJsonText(eo)}}`);
    }
  }

  private async handleLegacy(res: ServerResponse, body: string): Promise<void> {
    if (body.trim() === '') return plain(res, ApiStatus.badRequest);
    let commands: { c: Obj; name: string }[];
    try {
      // Every command is decoded before any runs: a malformed stream, or a `method` that is not
      // an enum value, is refused (400) with nothing executed. Centrifugo decodes and runs one
      // command at a time, so the commands before a malformed one have run when it answers 400;
      // refusing the whole stream leaves the client no such partial effects to guess at.
      commands = parseLegacyApiJson(body).map((c) => ({ c, name: legacyMethodName(c.method) }));
    } catch (e) {
      if (e instanceof ProtocolDecodeError || e instanceof Error) return plain(res, ApiStatus.badRequest);
      throw e;
    }
    const lines: string[] = [];
    for (const { c, name } of commands) {
      const id = typeof c.id === 'number' ? c.id : 0;
      const head = id > 0 ? `{"id":${id},` : '{';
      try {
        if (METHODS[name] === undefined) throw apiError(ApiErrorCode.notFound);
        const result = await callMethod(this.ctx, 'http', name, asObject(c.params, 'params'));
        lines.push(`${head}"result":${toJsonText(result)}}`);
      } catch (e) {
        lines.push(`${head}"error":${toJsonText(errorObject(e))}}`);
      }
    }
    json(res, ApiStatus.ok.status, lines.join('\n'));
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.opts.insecure) return true;
    if (this.keyBuf.length === 0) return false;
    let given = headerString(req.headers['x-api-key']);
    if (given === '') {
      const auth = headerString(req.headers.authorization);
      const m = /^apikey\s+(.+)$/i.exec(auth);
      if (m) given = m[1]!.trim();
    }
    if (given === '') given = new URL(req.url ?? '/', 'http://localhost').searchParams.get('api_key') ?? '';
    const g = Buffer.from(given);
    return g.length === this.keyBuf.length && timingSafeEqual(g, this.keyBuf);
  }
}

/**
 * The method of a legacy command, decoded as Go decodes the `Command.MethodType` enum: absent is
 * 0 (PUBLISH, the enum's zero value); a string is an enum name in any case; a number is an enum
 * value (one Rotor does not serve gives '' and then 104). Anything else (null, a fraction, an
 * unknown name) throws: the request is malformed.
 */
function legacyMethodName(m: unknown): string {
  if (m === undefined) return LEGACY_METHOD_IDS[0]!;
  if (typeof m === 'number' && Number.isInteger(m)) return LEGACY_METHOD_IDS[m] ?? '';
  if (typeof m === 'string') {
    const name = m.toLowerCase();
    if (LEGACY_METHOD_NAMES.has(name)) return name;
    if (LEGACY_UNSERVED_METHOD_NAMES.has(name)) return '';
  }
  throw new Error(`method ${JSON.stringify(m)} is not a method name or number`);
}

function plain(res: ServerResponse, s: ApiHttpStatus): void {
  endAnswer(res, s.status, { 'Content-Type': 'text/plain; charset=utf-8' }, s.text + '\n');
}

/**
 * Answers in the check phase of this event-loop turn (`setImmediate`), after the node's writers
 * flushed what the call queued (their flush was scheduled first): the publication goes to this
 * node's subscribers before the publisher hears back. On loopback and on a busy host this also
 * saves a wake-up of the other side per publication: with 5 subscribers a channel, answering
 * first made the answer's write cost about 4 times the baseline's (profile of bench (b)).
 */
function json(res: ServerResponse, status: number, body: string): void {
  setImmediate(endJson, res, status, body);
}

function endJson(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
