/**
 * What every HTTP streaming transport does once its request is accepted: build the response
 * transport, the session, and tie the session's life to the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Codec } from '../../protocol/codec.js';
import type { Node } from '../../node/node.js';
import { Session, type SessionRequestInfo } from '../../node/client/session.js';
import { ResponseTransport, type ResponseTransportCaps, type StreamFraming } from './response-transport.js';

export function openStreamSession(
  node: Node,
  req: IncomingMessage,
  res: ServerResponse,
  caps: ResponseTransportCaps,
  framing: StreamFraming,
  codec: Codec,
  extra: Omit<SessionRequestInfo, 'headers'> = {},
): { session: Session; transport: ResponseTransport } {
  const transport = new ResponseTransport(res, caps, framing);
  const session = new Session(node, transport, codec, { headers: req.headers, ...extra });
  // The peer going away (tab closed, fetch aborted) ends the session; so does a write error.
  res.on('close', () => session.onTransportClosed());
  res.on('error', () => session.onTransportClosed());
  return { session, transport };
}

/** Common limits and admission shared by the streaming handlers. */
export interface StreamHandlerOptions {
  /** Largest request body (or `cf_connect` value), bytes. */
  maxRequestBodySize: number;
}
