/**
 * Unidirectional HTTP transports (spec §8.7, §8.8): `uni_http_stream` (POST with a JSON
 * ConnectRequest body; newline-delimited Push objects) and `uni_sse` (GET with an optional
 * `cf_connect` parameter, or POST with a body; one `data:` event per Push). No SDK needed: the
 * client reads the stream; it cannot send commands after connecting.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Codec, ConnectRequestDecoder } from '../protocol/codec.js';
import type { Node } from '../node/node.js';
import type { OriginChecker } from '../util/origin.js';
import { BodyTooLargeError, readBody } from '../http/body.js';
import type { Admission } from './shared/admission.js';
import { admitCors, plainError } from './shared/cors.js';
import { requestUrl } from './shared/http.js';
import { openStreamSession, type StreamHandlerOptions } from './shared/stream-session.js';
import { connectErrorResponder, decodeConnect, type HttpResponseTransforms } from './shared/uni-connect.js';

export interface UniHttpOptions extends StreamHandlerOptions {
  kind: 'uni_http_stream' | 'uni_sse';
  connectCodeToHttpResponse: HttpResponseTransforms;
}

export class UniHttpHandler {
  constructor(
    private readonly node: Node,
    private readonly codec: Codec & ConnectRequestDecoder,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: UniHttpOptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sse = this.opts.kind === 'uni_sse';
    if (!admitCors(req, res, this.origins, sse ? 'GET, POST, OPTIONS' : 'POST, OPTIONS')) return;
    if (req.method !== 'POST' && !(sse && req.method === 'GET')) return plainError(res, 405, 'method not allowed');
    const refused = this.node.isShuttingDown ? 'shutting down' : this.admission.check();
    if (refused !== undefined) return plainError(res, 503, refused);
    let body: Uint8Array;
    if (req.method === 'GET') {
      const param = requestUrl(req).searchParams.get('cf_connect');
      body = Buffer.from(param ?? '', 'utf8');
      if (body.length > this.opts.maxRequestBodySize) return plainError(res, 413, 'cf_connect too large');
    } else {
      try {
        body = await readBody(req, this.opts.maxRequestBodySize);
      } catch (e) {
        return plainError(res, e instanceof BodyTooLargeError ? 413 : 400, e instanceof BodyTooLargeError ? 'request body too large' : 'bad request');
      }
    }
    const connect = decodeConnect(this.codec, body);
    if (connect === undefined) return plainError(res, 400, 'malformed connect request');
    const { session } = openStreamSession(
      this.node,
      req,
      res,
      { name: this.opts.kind, protocol: 'json', unidirectional: true, emulation: false },
      sse ? 'sse' : 'ndjson',
      this.codec,
      { connectErrorToHttp: connectErrorResponder(res, this.opts.connectCodeToHttpResponse) },
    );
    await session.connectUnidirectional(connect);
  }
}
