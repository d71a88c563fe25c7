/**
 * The bidirectional WebSocket transport (`/connection/websocket`). JSON over text frames (several
 * replies per frame joined by `\n`), Protobuf over binary frames (varint-delimited) when the
 * client offers the `centrifuge-protobuf` subprotocol or passes `?format=protobuf` /
 * `?cf_protocol=protobuf`. Disconnects are close frames carrying the code and reason. A JSON
 * connection whose first frame is a Centrifugo v1 command speaks v1 from then on (protocol/v1).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Codec } from '../protocol/codec.js';
import { disconnects, type Disconnect } from '../protocol/errors.js';
import type { ProtocolName } from '../protocol/types.js';
import type { Node } from '../node/node.js';
import { Session } from '../node/client/session.js';
import type { Transport } from '../node/transport.js';
import type { OriginChecker } from '../util/origin.js';
import { rejectUpgrade, requestUrl } from './shared/http.js';
import { closeWithDisconnect } from './shared/ws-close.js';
import { WireSizeGuard, wsServerOptions } from './shared/ws-limits.js';
import { frameCache, OPCODE_BINARY, OPCODE_TEXT } from './shared/ws-frame.js';
import type { RunCache } from './shared/run-cache.js';
import type { Admission } from './shared/admission.js';
import { V1Codec, looksLikeV1 } from '../protocol/v1/codec.js';
import { V1_CLOSE_CODE, v1CloseReason } from '../protocol/v1/errors.js';

export interface WebSocketOptions {
  /**
   * Largest inbound message as read from the wire, bytes (`websocket.message_size_limit`, 65536).
   * Above it, or above `decompressedMessageSizeLimit` once inflated, the connection closes with
   * 1009 (see `ws-limits.ts`).
   */
  messageSizeLimit: number;
  /** permessage-deflate, off by default (CPU and memory cost). */
  compression: boolean;
  /** `websocket.decompressed_message_size_limit`, bytes; 0 is 10 × messageSizeLimit. Only with compression. */
  decompressedMessageSizeLimit: number;
  compressionLevel: number;
  compressionMinSize: number;
  /** Native ping frame interval for `?cf_ws_frame_ping_pong=true`, ms. */
  pingIntervalMs: number;
  /** Centrifugo v1 clients are recognised by their first frame (`client.v1.enabled`). */
  v1: boolean;
}

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;
const NEWLINE = Buffer.from('\n');
const NO_QUERY = new URLSearchParams();
const ignore = (): void => {};

/** Shared frames by protocol, for every connection of the process (see `RunCache`). */
const FRAMES: Readonly<Record<ProtocolName, RunCache>> = {
  json: frameCache(OPCODE_TEXT, true),
  protobuf: frameCache(OPCODE_BINARY, false),
};

class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly unidirectional = false;
  readonly emulation = false;
  readonly closeFrameDisconnect = true;
  /** A Centrifugo v1 client: one message per frame, v1's close advice (see `speakV1`). */
  private v1 = false;
  private readonly sendOpts: typeof BINARY | typeof TEXT;
  /**
   * Set when no extension was negotiated: frames are then built once (shared across sockets) and
   * written straight to the socket. ws writes every frame synchronously in that case, so our
   * writes and its control frames (ping, close) never interleave mid-frame.
   */
  private frames: RunCache | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly protocol: ProtocolName,
    public pingStyle: 'app' | 'native',
  ) {
    this.sendOpts = protocol === 'protobuf' ? BINARY : TEXT;
    this.frames = ws.extensions === '' ? FRAMES[protocol] : undefined;
  }

  /**
   * The peer is a v1 client: it parses each frame as one JSON value, so every message goes in a
   * frame of its own, and WebSocket ping frames (which v1.8 sent too) watch the connection.
   */
  speakV1(): void {
    this.v1 = true;
    this.pingStyle = 'native';
  }

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    if (this.ws.readyState !== 1) return;
    if (this.frames !== undefined) {
      if (this.socket.destroyed) return;
      // A v1 client's frames hold one message each; a publication's v1 bytes are encoded once
      // for every v1 subscriber, so its frame is shared all the same.
      if (this.v1) for (let i = start; i < end; i++) this.socket.write(this.frames.bytesFor(messages, i, i + 1));
      else this.socket.write(this.frames.bytesFor(messages, start, end));
      return;
    }
    if (end - start === 1 || this.v1) {
      for (let i = start; i < end; i++) this.ws.send(messages[i]!, this.sendOpts);
      return;
    }
    const parts: Uint8Array[] = [];
    for (let i = start; i < end; i++) {
      if (this.protocol === 'json' && i > start) parts.push(NEWLINE);
      parts.push(messages[i]!);
    }
    this.ws.send(Buffer.concat(parts), this.sendOpts);
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(d: Disconnect): void {
    closeWithDisconnect(this.ws, this.v1 ? { code: V1_CLOSE_CODE, reason: v1CloseReason(d.code, d.reason) } : d);
  }

  pauseInput(): void {
    this.ws.pause();
  }

  resumeInput(): void {
    this.ws.resume();
  }
}

export class WebSocketHandler {
  private readonly wss: WebSocketServer;
  /** Wire bound kept beside ws's `maxPayload`, when compression makes the two differ. */
  private readonly wireLimit: number | undefined;

  constructor(
    private readonly node: Node,
    private readonly codecs: Record<ProtocolName, Codec>,
    private readonly origins: OriginChecker,
    private readonly admission: Admission,
    private readonly opts: WebSocketOptions,
  ) {
    const { options, wireLimit } = wsServerOptions(opts);
    this.wireLimit = wireLimit;
    this.wss = new WebSocketServer({
      ...options,
      handleProtocols: (protocols) => {
        if (protocols.has('centrifuge-protobuf')) return 'centrifuge-protobuf';
        if (protocols.has('centrifuge-json')) return 'centrifuge-json';
        return false;
      },
    });
  }

  private get v1Enabled(): boolean {
    return this.opts.v1;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.origins.allowed(req.headers.origin)) {
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (this.node.isShuttingDown) {
      // As Centrifugo: accept, then close at once with 3001 so the SDK reconnects elsewhere.
      // A bad frame from the client before the close completes makes ws emit 'error': handled.
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', ignore);
        ws.close(disconnects.shutdown.code, disconnects.shutdown.reason);
      });
      return;
    }
    const refused = this.admission.check();
    if (refused !== undefined) {
      rejectUpgrade(socket, 503, refused);
      return;
    }
    const offered = req.headers['sec-websocket-protocol'];
    // Most upgrades carry no query string: no URL object is built for them.
    const q = req.url !== undefined && req.url.includes('?') ? requestUrl(req).searchParams : NO_QUERY;
    const protobuf = (offered !== undefined && offered.split(',').some((p) => p.trim() === 'centrifuge-protobuf')) || q.get('format') === 'protobuf' || q.get('cf_protocol') === 'protobuf';
    const nativePing = q.get('cf_ws_frame_ping_pong') === 'true';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, req, protobuf ? 'protobuf' : 'json', nativePing));
  }

  private onConnection(ws: WebSocket, socket: Duplex, req: IncomingMessage, protocol: ProtocolName, nativePing: boolean): void {
    const transport = new WebSocketTransport(ws, socket, protocol, nativePing ? 'native' : 'app');
    const session = new Session(this.node, transport, this.codecs[protocol], { headers: req.headers });
    let pinger: NodeJS.Timeout | undefined;
    const startPinger = (): void => {
      if (this.opts.pingIntervalMs <= 0) return;
      let alive = true;
      ws.on('pong', () => (alive = true));
      pinger = setInterval(() => {
        if (!alive) ws.terminate();
        alive = false;
        ws.ping();
      }, this.opts.pingIntervalMs);
    };
    if (nativePing) startPinger();
    // A JSON connection's first frame tells a Centrifugo v1 client from a v2 SDK.
    let first = protocol === 'json';
    const onFrame = (data: Buffer): void => {
      if (first) {
        first = false;
        // A frame arriving while the server closes the socket finds the session closed: ignored.
        if (session.status === 'closed') return;
        if (this.v1Enabled && looksLikeV1(data) && session.adoptCodec(V1Codec.create())) {
          transport.speakV1();
          if (pinger === undefined) startPinger();
        }
      }
      session.handleFrame(data);
    };
    const guard = this.wireLimit === undefined ? undefined : WireSizeGuard.attach(ws, socket, this.wireLimit);
    if (guard === undefined) ws.on('message', onFrame);
    else
      ws.on('message', (data: Buffer) => {
        if (!guard.exceeded) onFrame(data);
      });
    ws.on('error', (err) => this.node.log.debug({ err, client: session.clientId }, 'websocket error'));
    ws.on('close', () => {
      if (pinger) clearInterval(pinger);
      session.onTransportClosed();
    });
  }

  close(): void {
    this.wss.close();
  }
}
