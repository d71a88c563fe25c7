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
  const closed = (): void => session.onTransportClosed();
  res.on('close', closed);
  res.on('error', closed);
  // A request pipelined behind another on the same connection gets no socket until the response
  // ahead of it finishes, which a stream never does; its `res` then never emits 'close'. The
  // socket closing ends such a session too. The listener goes when the response closes, so
  // keep-alive sockets collect none.
  const socket = req.socket;
  socket.once('close', closed);
  res.once('close', () => socket.off('close', closed));
  return { session, transport };
}

/** Common limits and admission shared by the streaming handlers. */
export interface StreamHandlerOptions {
  /** Largest request body (or `cf_connect` value), bytes. */
  maxRequestBodySize: number;
}
