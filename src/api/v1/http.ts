/**
 * Centrifugo v1's HTTP API at the API root (seed `server/api.md`, `tokens_and_signatures.md`),
 * checked against the real v1.8 server:
 *
 * - the body is one command or an array of them, as JSON (`X-API-Sign` header) or as a form with
 *   `data` (the JSON) and `sign`;
 * - the sign is the hex HMAC-SHA256 of the JSON text with the v1 `secret`
 *   (`client.token.hmac_secret_key`): none gives 400, a wrong one 401, unless insecure
 *   (`http_api.insecure`, v1's `insecure_api`);
 * - the answer is always an array, one `{"method","error","body"}` per command, in order;
 * - a body that is not JSON, a command whose method is unknown or whose params are missing fails
 *   the whole request with 400 and runs nothing (v1 had run the commands before it);
 * - a body over the API's size limit is 413.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, BodyTooLargeError, endAnswer } from '../../http/body.js';
import { headerString } from '../../http/headers.js';
import { parseJsonWithRaw } from '../../protocol/json/raw-json.js';
import { toJsonText } from '../../protocol/json/json-text.js';
import type { ApiContext } from '../methods.js';
import { V1BadRequest, decodeV1Command, runV1Command, type V1Command, type V1Reply } from './commands.js';

export interface V1ApiOptions {
  /** v1's `secret`: what signs requests. Empty: only insecure mode lets requests in. */
  secret: string;
  insecure: boolean;
  maxBodySize: number;
}

export class V1ApiHandler {
  readonly #secret: Buffer;

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: V1ApiOptions,
  ) {
    this.#secret = Buffer.from(opts.secret, 'utf8');
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req, this.opts.maxBodySize);
    } catch (e) {
      return plain(res, e instanceof BodyTooLargeError ? 413 : 400);
    }
    // The sign covers the bytes received (a JSON body), or the form's `data` value.
    let signed: Buffer = raw;
    let sign = headerString(req.headers['x-api-sign']);
    if (String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(raw.toString('utf8'));
      signed = Buffer.from(form.get('data') ?? '', 'utf8');
      sign = form.get('sign') ?? '';
    }
    if (!this.opts.insecure) {
      if (sign === '') return plain(res, 400);
      if (!this.#signed(signed, sign)) return plain(res, 401);
    }
    const json = signed.toString('utf8');
    let commands: V1Command[];
    try {
      const parsed = parseJsonWithRaw(json, (key) => key === 'data' || key === 'info');
      commands = (Array.isArray(parsed) ? parsed : [parsed]).map(decodeV1Command);
      if (commands.length === 0) throw new V1BadRequest('no commands');
    } catch (e) {
      if (e instanceof V1BadRequest || e instanceof SyntaxError || e instanceof Error) return plain(res, 400);
      throw e;
    }
    const replies: V1Reply[] = [];
    for (const c of commands) replies.push(await runV1Command(this.ctx, c));
    const body = `[${replies.map((r) => toJsonText(r)).join(',')}]`;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  #signed(body: Buffer, sign: string): boolean {
    if (this.#secret.length === 0) return false;
    const want = Buffer.from(createHmac('sha256', this.#secret).update(body).digest('hex'), 'utf8');
    const given = Buffer.from(sign.trim().toLowerCase(), 'utf8');
    return given.length === want.length && timingSafeEqual(given, want);
  }
}

const TEXTS: Readonly<Record<number, string>> = { 400: 'Bad Request', 401: 'Unauthorized', 413: 'Request Entity Too Large' };

/** v1's plain-text refusals (Go's `http.Error`). */
function plain(res: ServerResponse, status: number): void {
  endAnswer(res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, `${TEXTS[status] ?? 'Error'}\n`);
}
