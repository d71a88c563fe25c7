/**
 * SockJS (`sockjs.*`): the browser transport of Centrifugo v1 (and of v2–v5, dropped in v6), so
 * `centrifuge` 1.x with `sockjs-client` connects to `<handler_prefix>` as it did. The `sockjs`
 * package serves the protocol (info, iframe, websocket, xhr-streaming, polling, ...); this file
 * adapts its connections to sessions. The first message tells a v1 client (protocol/v1) from a
 * v2 SDK speaking JSON; v1 gets one SockJS message per reply, v2 replies joined by `\n`.
 *
 * Limits: the Origin policy and connection admission apply to every SockJS request and session; a
 * request body (xhr_send, jsonp_send) or message over `message_size_limit` is refused (413, or
 * disconnect 3501). SockJS keeps its own send buffer: its size and the unsent bytes of the
 * receiver's socket count as the session's buffered bytes, so the slow-client limit holds on
 * every SockJS transport.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import sockjs from 'sockjs';
import type { Codec } from '../protocol/codec.js';
import { disconnects, type Disconnect } from '../protocol/errors.js';
import { V1Codec, looksLikeV1 } from '../protocol/v1/codec.js';
import { V1_CLOSE_CODE, v1CloseReason } from '../protocol/v1/errors.js';
import type { Node } from '../node/node.js';
import { Session } from '../node/client/session.js';
import type { Transport } from '../node/transport.js';
import type { OriginChecker } from '../util/origin.js';
import type { Admission } from './shared/admission.js';
import { rejectUpgrade } from './shared/http.js';

export interface SockJsOptions {
  prefix: string;
  heartbeatDelayMs: number;
  sockjsUrl: string;
  /** Largest client message or request body, bytes. */
  messageSizeLimit: number;
  /** Centrifugo v1 clients are recognised by their first message (`client.v1.enabled`). */
  v1: boolean;
}

/**
 * What Rotor reads of a sockjs connection beyond its typings: the session's pending messages and
 * the socket of its current receiver (faye's websocket for the websocket transport, the HTTP
 * response for streaming and polling ones). All optional: a missing piece counts as empty.
 */
interface ConnectionInternals {
  _session?: {
    send_buffer?: string[];
    recv?: { ws?: { _stream?: { writableLength?: number } } | null; response?: { socket?: { writableLength?: number } | null } | null } | null;
  };
}

const utf8 = new TextDecoder();

class SockJsTransport implements Transport {
  readonly name = 'sockjs';
  readonly protocol = 'json' as const;
  readonly unidirectional = false;
  readonly emulation = false;
  readonly closeFrameDisconnect = true;
  /** SockJS heartbeats keep the session; v2 clients still get the session's `{}` pings. */
  readonly pingStyle = 'app' as const;
  private v1 = false;

  constructor(private readonly conn: sockjs.Connection) {}

  speakV1(): void {
    this.v1 = true;
  }

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    if (this.conn.readyState !== 1) return;
    if (this.v1) {
      for (let i = start; i < end; i++) this.conn.write(utf8.decode(messages[i]));
      return;
    }
    const parts: string[] = [];
    for (let i = start; i < end; i++) parts.push(utf8.decode(messages[i]));
    this.conn.write(parts.join('\n'));
  }

  /** Messages sockjs holds for the session, plus what its receiver's socket has not sent yet. */
  bufferedBytes(): number {
    const session = (this.conn as unknown as ConnectionInternals)._session;
    if (session === undefined) return 0;
    let n = 0;
    for (const m of session.send_buffer ?? []) n += m.length;
    const recv = session.recv;
    n += recv?.ws?._stream?.writableLength ?? 0;
    n += recv?.response?.socket?.writableLength ?? 0;
    return n;
  }

  /**
   * Closes on the next turn: a close often comes from inside a `data` handler, and sockjs goes on
   * handing over the rest of that frame's messages through a session it has meanwhile detached
   * (a TypeError that would end the process). The session ignores them once closed.
   */
  close(d: Disconnect): void {
    const [code, reason] = this.v1 ? [V1_CLOSE_CODE, v1CloseReason(d.code, d.reason)] : [d.code, d.reason];
    setImmediate(() => closeConn(this.conn, code, reason));
  }
}

/**
 * Closes with a numeric code: sockjs writes the code into its close frame as given, and clients
 * compare it as a number (the package's typings say string).
 */
function closeConn(conn: sockjs.Connection, code: number, reason: string): void {
  (conn as unknown as { close(code: number, reason: string): boolean }).close(code, reason);
}

export class SockJsHandler {
  private readonly listener: { handler(req: IncomingMessage, res: ServerResponse | Duplex, head?: Buffer): boolean };

  constructor(
    private readonly node: Node,
    private readonly json: Codec,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: SockJsOptions,
  ) {
    const server = sockjs.createServer(<sockjs.ServerOptions & { faye_server_options: { maxLength: number } }>{
      prefix: opts.prefix,
      heartbeat_delay: opts.heartbeatDelayMs,
      sockjs_url: opts.sockjsUrl,
      // SockJS's own websocket transport (faye) reads a whole message before Rotor sees it: bound
      // it there too (a frame holds a JSON array of messages, hence some room).
      faye_server_options: { maxLength: 2 * opts.messageSizeLimit },
      // Sessions are the node's to log.
      log: () => {},
    });
    server.on('connection', (conn: sockjs.Connection | null) => {
      // sockjs emits null for a session it could not set up.
      if (conn !== null) this.onConnection(conn);
    });
    // `listener` is public in the package but absent from its typings.
    this.listener = (server as unknown as { listener(o: object): SockJsHandler['listener'] }).listener({});
  }

  /** Every HTTP request under the prefix. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (!this.origins.allowed(req.headers.origin)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden\n');
      return;
    }
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length'] ?? NaN);
      if (!Number.isSafeInteger(length)) {
        res.writeHead(411, { 'Content-Type': 'text/plain' }).end('Length Required\n');
        return;
      }
      if (length > this.opts.messageSizeLimit) {
        res.writeHead(413, { 'Content-Type': 'text/plain' }).end('Payload Too Large\n');
        return;
      }
    }
    if (!this.listener.handler(req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
  }

  /** WebSocket upgrades under the prefix (`<prefix>/<server>/<session>/websocket`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.origins.allowed(req.headers.origin)) {
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (!this.listener.handler(req, socket, head)) rejectUpgrade(socket, 404, 'Not Found');
  }

  private onConnection(conn: sockjs.Connection): void {
    if (this.node.isShuttingDown) {
      closeConn(conn, disconnects.shutdown.code, disconnects.shutdown.reason);
      return;
    }
    const refused = this.admission.check();
    if (refused !== undefined) {
      closeConn(conn, disconnects.connectionLimit.code, refused);
      return;
    }
    const transport = new SockJsTransport(conn);
    const session = new Session(this.node, transport, this.json, { headers: conn.headers });
    let first = true;
    conn.on('data', (message: unknown) => {
      if (session.status === 'closed') return;
      // SockJS hands over whatever JSON value the client put in its frame: only strings are messages.
      if (typeof message !== 'string') {
        session.close(disconnects.badRequest);
        return;
      }
      const frame = Buffer.from(message, 'utf8');
      if (first) {
        first = false;
        if (this.opts.v1 && looksLikeV1(frame) && session.adoptCodec(V1Codec.create())) transport.speakV1();
      }
      if (frame.byteLength > this.opts.messageSizeLimit) session.close(disconnects.badRequest);
      else session.handleFrame(frame);
    });
    conn.on('close', () => session.onTransportClosed());
  }
}
