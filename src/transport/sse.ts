/**
 * SSE with bidirectional emulation (`/connection/sse`, spec §8.4): GET with the first command(s)
 * URL-encoded in `cf_connect` (an EventSource can only GET), or POST with them as the body. JSON
 * only; every reply is one `data:` event. Later commands arrive through `/emulation`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Codec } from '../protocol/codec.js';
import type { Node } from '../node/node.js';
import type { OriginChecker } from '../util/origin.js';
import { BodyTooLargeError, readBody } from '../http/body.js';
import type { Admission } from './shared/admission.js';
import { admitCors, plainError } from './shared/cors.js';
import { requestUrl } from './shared/http.js';
import { openStreamSession, type StreamHandlerOptions } from './shared/stream-session.js';

export class SseHandler {
  constructor(
    private readonly node: Node,
    private readonly codec: Codec,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: StreamHandlerOptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!admitCors(req, res, this.origins, 'GET, POST, OPTIONS')) return;
    if (req.method !== 'GET' && req.method !== 'POST') return plainError(res, 405, 'method not allowed');
    const refused = this.node.isShuttingDown ? 'shutting down' : this.admission.check();
    if (refused !== undefined) return plainError(res, 503, refused);
    let body: Buffer;
    if (req.method === 'GET') {
      const param = requestUrl(req).searchParams.get('cf_connect');
      if (param === null) return plainError(res, 400, 'cf_connect required');
      body = Buffer.from(param, 'utf8');
      if (body.length > this.opts.maxRequestBodySize) return plainError(res, 413, 'cf_connect too large');
    } else {
      try {
        body = await readBody(req, this.opts.maxRequestBodySize);
      } catch (e) {
        return plainError(res, e instanceof BodyTooLargeError ? 413 : 400, e instanceof BodyTooLargeError ? 'request body too large' : 'bad request');
      }
    }
    let cmds;
    try {
      cmds = this.codec.decodeCommands(body, this.opts.maxRequestBodySize);
    } catch {
      return plainError(res, 400, 'bad request');
    }
    const { session } = openStreamSession(this.node, req, res, { name: 'sse', protocol: 'json', unidirectional: false, emulation: true }, 'sse', this.codec);
    session.handleCommands(cmds);
  }
}
