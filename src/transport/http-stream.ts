/**
 * HTTP-streaming with bidirectional emulation (`/connection/http_stream`, spec §8.3): a POST whose
 * body holds the first command(s), answered by a long-lived stream of replies. Later commands
 * arrive through `/emulation`, routed by the session ID in the connect result. JSON replies are
 * `\n`-terminated; with `Content-Type: application/octet-stream` the protocol is Protobuf.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Codec } from '../protocol/codec.js';
import type { ProtocolName } from '../protocol/types.js';
import type { Node } from '../node/node.js';
import type { OriginChecker } from '../util/origin.js';
import { BodyTooLargeError, readBody } from '../http/body.js';
import type { Admission } from './shared/admission.js';
import { admitCors, plainError } from './shared/cors.js';
import { openStreamSession, type StreamHandlerOptions } from './shared/stream-session.js';

export class HttpStreamHandler {
  constructor(
    private readonly node: Node,
    private readonly codecs: Record<ProtocolName, Codec>,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: StreamHandlerOptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!admitCors(req, res, this.origins, 'POST, OPTIONS')) return;
    if (req.method !== 'POST') return plainError(res, 405, 'method not allowed');
    const refused = this.node.isShuttingDown ? 'shutting down' : this.admission.check();
    if (refused !== undefined) return plainError(res, 503, refused);
    let body: Buffer;
    try {
      body = await readBody(req, this.opts.maxRequestBodySize);
    } catch (e) {
      return plainError(res, e instanceof BodyTooLargeError ? 413 : 400, e instanceof BodyTooLargeError ? 'request body too large' : 'bad request');
    }
    const protocol: ProtocolName = String(req.headers['content-type'] ?? '').startsWith('application/octet-stream') ? 'protobuf' : 'json';
    const codec = this.codecs[protocol];
    let cmds;
    try {
      cmds = codec.decodeCommands(body, this.opts.maxRequestBodySize);
    } catch {
      return plainError(res, 400, 'bad request');
    }
    const { session } = openStreamSession(
      this.node,
      req,
      res,
      { name: 'http_stream', protocol, unidirectional: false, emulation: true },
      protocol === 'protobuf' ? 'protobuf' : 'ndjson',
      codec,
    );
    session.handleCommands(cmds);
  }
}
