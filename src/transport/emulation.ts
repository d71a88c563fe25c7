/**
 * The `/emulation` endpoint (spec §8.5): commands for an http_stream or sse session, sent as a
 * separate POST. JSON body `{"node","session","data":"<newline-delimited commands as a string>"}`,
 * or with `Content-Type: application/octet-stream` a Protobuf EmulationRequest whose `data` holds
 * varint-delimited commands. Answers 204 once the commands are handed to the session; replies go
 * out over the session's stream.
 *
 * Routing goes through `EmulationRouter`: the node forwards a request for a session held by another
 * live node through the control plane (204 once sent), and answers 404 for a node it does not know.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node } from '../node/node.js';
import type { OriginChecker } from '../util/origin.js';
import { decodeEmulationRequest } from '../protocol/protobuf/codec.js';
import { BodyTooLargeError, readBody } from '../http/body.js';
import { admitCors, plainError } from './shared/cors.js';

export interface EmulationRequestData {
  node: string;
  session: string;
  /** Encoded commands, in the session's protocol. */
  data: Uint8Array;
}

/** Delivers emulation data to the node holding the session. Resolves false for an unknown node. */
export interface EmulationRouter {
  route(r: EmulationRequestData): Promise<boolean>;
}

/**
 * Routing through the node: a session on this node gets the data at once; one on another live
 * node gets it through the control plane, so a load balancer without sticky sessions works.
 * Unknown sessions on a live node are dropped silently; a node that is not live gives 404.
 */
export class NodeEmulationRouter implements EmulationRouter {
  constructor(private readonly node: Node) {}

  route(r: EmulationRequestData): Promise<boolean> {
    return this.node.routeEmulation(r.node, r.session, r.data);
  }
}

export class EmulationHandler {
  constructor(
    private readonly router: EmulationRouter,
    private readonly origins: OriginChecker,
    private readonly maxRequestBodySize: number,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!admitCors(req, res, this.origins, 'POST, OPTIONS')) return;
    if (req.method !== 'POST') return plainError(res, 405, 'method not allowed');
    let body: Buffer;
    try {
      body = await readBody(req, this.maxRequestBodySize);
    } catch (e) {
      return plainError(res, e instanceof BodyTooLargeError ? 413 : 400, e instanceof BodyTooLargeError ? 'request body too large' : 'bad request');
    }
    const r = decodeEmulationBody(body, String(req.headers['content-type'] ?? ''));
    if (r === undefined) return plainError(res, 400, 'bad request');
    let routed: boolean;
    try {
      routed = await this.router.route(r);
    } catch {
      // The broker could not carry it to the session's node.
      return plainError(res, 503, 'service unavailable');
    }
    if (!routed) return plainError(res, 404, 'node not found');
    res.writeHead(204);
    res.end();
  }
}

/**
 * Decodes an `/emulation` body: a Protobuf EmulationRequest when `contentType` starts with
 * `application/octet-stream`, else the JSON form. Undefined when malformed (answered with 400);
 * never throws.
 */
export function decodeEmulationBody(body: Buffer, contentType: string): EmulationRequestData | undefined {
  return contentType.startsWith('application/octet-stream') ? decodeProto(body) : decodeJson(body);
}

function decodeProto(body: Buffer): EmulationRequestData | undefined {
  try {
    const r = decodeEmulationRequest(body);
    return { node: r.node, session: r.session, data: r.data };
  } catch {
    return undefined;
  }
}

function decodeJson(body: Buffer): EmulationRequestData | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.node !== 'string' || typeof o.session !== 'string' || typeof o.data !== 'string') return undefined;
  return { node: o.node, session: o.session, data: Buffer.from(o.data, 'utf8') };
}
