/**
 * Unidirectional WebSocket (`/connection/uni_websocket`, spec §8.6). The ConnectRequest comes in
 * the `cf_connect` query parameter (malformed: HTTP 400 before the upgrade) or as the first text
 * message (malformed: close 3501); later client messages are ignored. The server sends bare JSON
 * Push objects, one per frame unless `join_push_messages` joins them with `\n`. Native WebSocket
 * pings run next to the `{}` app pings; a disconnect is a disconnect push followed by a close
 * frame with the same code. With `uni_websocket.compression`, permessage-deflate is offered.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Codec, ConnectRequestDecoder } from '../protocol/codec.js';
import { disconnects, type Disconnect } from '../protocol/errors.js';
import type { ConnectRequest } from '../protocol/types.js';
import type { Node } from '../node/node.js';
import { Session } from '../node/client/session.js';
import type { Transport } from '../node/transport.js';
import type { OriginChecker } from '../util/origin.js';
import type { Admission } from './shared/admission.js';
import { rejectUpgrade, requestUrl } from './shared/http.js';
import { decodeConnect } from './shared/uni-connect.js';
import { afterCloseGrace } from './shared/close-grace.js';
import { closeWithDisconnect } from './shared/ws-close.js';
import { WireSizeGuard, wsServerOptions } from './shared/ws-limits.js';

export interface UniWebSocketOptions {
  /** Largest client message (the ConnectRequest) as read from the wire, bytes; see `ws-limits.ts`. */
  messageSizeLimit: number;
  /** permessage-deflate for the pushes (and the client's first message). */
  compression: boolean;
  compressionLevel: number;
  compressionMinSize: number;
  /** `uni_websocket.decompressed_message_size_limit`, bytes; 0 is 10 × messageSizeLimit. Only with compression. */
  decompressedMessageSizeLimit: number;
  joinPushMessages: boolean;
  /** No disconnect push before the close frame (the close frame already carries code and reason). */
  disableDisconnectPush: boolean;
  /** Drop the TCP connection after the disconnect push instead of sending a close frame. */
  disableClosingHandshake: boolean;
  /** Native ping interval, ms; a peer silent for interval + pongTimeout is cut. 0 disables. */
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

const TEXT = { binary: false } as const;
const NEWLINE = Buffer.from('\n');

class UniWebSocketTransport implements Transport {
  readonly name = 'uni_websocket';
  readonly protocol = 'json' as const;
  readonly unidirectional = true;
  readonly emulation = false;
  readonly pingStyle = 'app' as const;
  readonly closeFrameDisconnect: boolean;
  /** Without a closing handshake: sends still in flight, and whether close() waits on them. */
  private inFlight = 0;
  private terminateWhenSent = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly join: boolean,
    disableDisconnectPush: boolean,
    private readonly noHandshake: boolean,
  ) {
    this.closeFrameDisconnect = disableDisconnectPush;
  }

  private readonly sent = (): void => {
    if (--this.inFlight === 0 && this.terminateWhenSent) this.ws.terminate();
  };

  private send(data: Uint8Array): void {
    if (!this.noHandshake) {
      this.ws.send(data, TEXT);
      return;
    }
    // Counted so close() can drop the connection only after the disconnect push went out.
    this.inFlight++;
    this.ws.send(data, TEXT, this.sent);
  }

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    if (this.ws.readyState !== 1) return;
    if (!this.join || end - start === 1) {
      for (let i = start; i < end; i++) this.send(messages[i]!);
      return;
    }
    const parts: Uint8Array[] = [];
    for (let i = start; i < end; i++) {
      if (i > start) parts.push(NEWLINE);
      parts.push(messages[i]!);
    }
    this.send(Buffer.concat(parts));
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(d: Disconnect): void {
    if (this.noHandshake && this.ws.readyState === 1) {
      if (this.inFlight === 0) {
        this.ws.terminate();
        return;
      }
      this.terminateWhenSent = true;
      // A client that stopped reading never lets those sends complete: cut it after the grace.
      const ws = this.ws;
      afterCloseGrace(() => ws.terminate());
      return;
    }
    closeWithDisconnect(this.ws, d);
  }
}

export class UniWebSocketHandler {
  private readonly wss: WebSocketServer;
  /** Wire bound kept beside ws's `maxPayload`, when compression makes the two differ. */
  private readonly wireLimit: number | undefined;

  constructor(
    private readonly node: Node,
    private readonly codec: Codec & ConnectRequestDecoder,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: UniWebSocketOptions,
  ) {
    const { options, wireLimit } = wsServerOptions(opts);
    this.wireLimit = wireLimit;
    this.wss = new WebSocketServer(options);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.origins.allowed(req.headers.origin)) return rejectUpgrade(socket, 403, 'request Origin is not allowed');
    const refused = this.node.isShuttingDown ? 'shutting down' : this.admission.check();
    if (refused !== undefined) return rejectUpgrade(socket, 503, refused);
    const param = requestUrl(req).searchParams.get('cf_connect');
    let connect: ConnectRequest | undefined;
    if (param !== null) {
      connect = decodeConnect(this.codec, Buffer.from(param, 'utf8'));
      if (connect === undefined) return rejectUpgrade(socket, 400, 'malformed cf_connect');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, req, connect));
  }

  private onConnection(ws: WebSocket, socket: Duplex, req: IncomingMessage, connect: ConnectRequest | undefined): void {
    const guard = this.wireLimit === undefined ? undefined : WireSizeGuard.attach(ws, socket, this.wireLimit);
    const transport = new UniWebSocketTransport(ws, this.opts.joinPushMessages, this.opts.disableDisconnectPush, this.opts.disableClosingHandshake);
    const session = new Session(this.node, transport, this.codec, { headers: req.headers });
    let pinger: NodeJS.Timeout | undefined;
    if (this.opts.pingIntervalMs > 0) {
      let lastPong = Date.now();
      const wait = this.opts.pingIntervalMs + this.opts.pongTimeoutMs;
      ws.on('pong', () => (lastPong = Date.now()));
      pinger = setInterval(() => {
        if (Date.now() - lastPong > wait) ws.terminate();
        else ws.ping();
      }, this.opts.pingIntervalMs);
    }
    let connected = connect !== undefined;
    if (connect !== undefined) void session.connectUnidirectional(connect);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (connected || guard?.exceeded === true) return;
      connected = true;
      const req2 = isBinary ? undefined : decodeConnect(this.codec, data);
      if (req2 === undefined) session.close(disconnects.badRequest);
      else void session.connectUnidirectional(req2);
    });
    ws.on('error', (err) => this.node.log.debug({ err, client: session.clientId }, 'uni websocket error'));
    ws.on('close', () => {
      if (pinger) clearInterval(pinger);
      session.onTransportClosed();
    });
  }

  close(): void {
    this.wss.close();
  }
}
