/**
 * HTTP listeners. One `node:http` server per port (external, and internal when
 * `http_server.internal_port` is set). Routes are exact paths, matched in registration order;
 * `prefix` routes match the path and everything below it. This module mounts the handlers it is
 * given and knows nothing of what they do.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../util/logger.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>;
export type ResponseObserver = (routePath: string, method: string, status: number) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

interface Route {
  path: string;
  prefix: boolean;
  handler: RequestHandler;
}

/** PEM texts for an HTTPS listener. */
export interface ListenerTls {
  cert: string;
  key: string;
  /** CA bundle for client certificates: with it, clients must present one it signed (mutual TLS). */
  clientCa?: string;
}

export class HttpListener {
  readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly upgradePrefixes: { prefix: string; handler: UpgradeHandler }[] = [];
  /** Told of every routed response once sent (`prometheus.instrument_http_handlers`). */
  private observer: ResponseObserver | undefined;
  /**
   * Connections that have not begun a request yet. `closeIdleConnections` leaves them open (Node
   * counts them neither idle nor active), so a client's spare keep-alive connection would hold a
   * shutdown until its timeout; `close` ends them.
   */
  private readonly fresh = new Set<Duplex>();
  private readonly forget = (socket: Duplex): void => {
    this.fresh.delete(socket);
  };

  /**
   * With `tls` the listener speaks HTTPS (and WSS); otherwise plain HTTP. `maxBodyBytes`: the
   * largest body any route accepts, the bound for bodies read on the upgrade fallback path.
   */
  constructor(
    private readonly log: Logger,
    tls?: ListenerTls,
    private readonly maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.onRequest(req, res);
    const opts = { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS };
    this.server =
      tls === undefined
        ? createServer(opts, handler)
        : createTlsServer(
            { ...opts, cert: tls.cert, key: tls.key, ...(tls.clientCa !== undefined ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
            handler,
          );
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    // HTTPS parses requests on the TLS socket, which 'secureConnection' gives; 'connection' is the raw one.
    this.server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Duplex) => {
      this.fresh.add(socket);
      socket.once('close', () => this.forget(socket));
    });
    this.server.on('request', (req: IncomingMessage) => this.forget(req.socket));
    this.server.on('clientError', onClientError);
  }

  route(path: string, handler: RequestHandler, prefix = false): void {
    this.routes.push({ path, prefix, handler });
  }

  /** `observer` hears each response a route sent: the route's path (not the request's), method and status. */
  observeResponses(observer: ResponseObserver): void {
    this.observer = observer;
  }

  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  /** Upgrades for any path below `path` that has no exact upgrade handler (SockJS sessions). */
  upgradeBelow(path: string, handler: UpgradeHandler): void {
    this.upgradePrefixes.push({ prefix: path.endsWith('/') ? path : path + '/', handler });
  }

  get hasRoutes(): boolean {
    return this.routes.length > 0 || this.upgrades.size > 0 || this.upgradePrefixes.length > 0;
  }

  /**
   * Whether `path` (no query) is one of this listener's: an upgrade handler's, or a route's (a
   * prefix route's path and anything below it), by the rule requests are routed by. A request for
   * any other path is answered 404 here.
   */
  serves(path: string): boolean {
    return this.upgrades.has(path) || this.upgradePrefixes.some((u) => path.startsWith(u.prefix)) || this.routeFor(path) !== undefined;
  }

  private routeFor(path: string): Route | undefined {
    return this.routes.find((x) => x.path === path || (x.prefix && (path.startsWith(x.path.endsWith('/') ? x.path : x.path + '/') || path === x.path)));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req);
    const r = this.routeFor(path);
    if (r === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    const observer = this.observer;
    let handled = Promise.resolve().then(() => r.handler(req, res, path));
    if (observer !== undefined) {
      handled = handled.then(() => {
        // A handler that has ended its response is counted before the client can read it; a
        // streaming one (a transport) when its response ends.
        if (res.writableEnded) observer(r.path, req.method ?? '', res.statusCode);
        else res.once('finish', () => observer(r.path, req.method ?? '', res.statusCode));
      });
    }
    handled.catch((err: unknown) => {
      this.log.error({ err, path }, 'request handler failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal server error\n');
      } else res.destroy();
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.forget(socket);
    socket.on('error', destroySocket);
    const path = requestPath(req);
    const h = this.upgrades.get(path) ?? this.upgradePrefixes.find((u) => path.startsWith(u.prefix))?.handler;
    if (h !== undefined) h(req, socket, head);
    else this.serveWithoutUpgrade(req, socket as Socket, head);
  }

  /**
   * Node hands every request that carries `Upgrade` to the upgrade listener, body unparsed. One for
   * a path without an upgrade handler (`curl --http2` asks for `Upgrade: h2c` on every request) is
   * answered over HTTP/1.1 instead, as Go's server does. Its body (Content-Length only, at most
   * `maxBodyBytes`, within the server's request timeout) is read here and put back into the
   * request stream for the route. The connection closes after the response: Node no longer
   * parses this socket, so nothing after the body is read.
   */
  private serveWithoutUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (req.headers['transfer-encoding'] !== undefined) return endPlain(socket, '411 Length Required');
    const length = Number(req.headers['content-length'] ?? 0);
    if (!Number.isSafeInteger(length) || length < 0) return endPlain(socket, '400 Bad Request');
    if (length > this.maxBodyBytes) return endPlain(socket, '413 Payload Too Large');
    const chunks: Buffer[] = [head];
    let received = head.length;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= length) bodyRead();
    };
    // The peer gave up (half-closed, reset or gone) before sending the whole body: what was read
    // is dropped at once, not held until the request timeout.
    const onEnd = (): void => {
      stopReading();
      chunks.length = 0;
      socket.destroy();
    };
    const stopReading = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    const timeoutMs = this.server.requestTimeout;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            stopReading();
            endPlain(socket, '408 Request Timeout');
          }, timeoutMs).unref()
        : undefined;
    const bodyRead = (): void => {
      stopReading();
      if (length > 0) req.unshift(Buffer.concat(chunks, received).subarray(0, length));
      // A request pipelined behind one whose response is still being written waits its turn.
      const previous = responseInFlight(socket);
      if (previous === undefined) this.respondOn(socket, req);
      else previous.once('finish', () => this.respondOn(socket, req));
    };
    if (received >= length) bodyRead();
    else {
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
    }
  }

  private respondOn(socket: Socket, req: IncomingMessage): void {
    if (socket.destroyed || !socket.writable) return;
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on('finish', () => {
      res.detachSocket(socket);
      // Not just end(): with unread bytes left in the socket, its FIN would never be seen.
      socket.destroySoon();
    });
    // Node no longer parses this socket. Whatever follows the request is read and dropped, so a
    // peer that goes away is noticed while a stream (uni_sse, uni_http_stream) is being served:
    // its FIN ends the socket, as Node does for a parsed request, and the response closes.
    socket.on('data', discard);
    socket.once('end', endSocket);
    socket.resume();
    this.onRequest(req, res);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /** Stops accepting connections and ends idle keep-alive ones and those that never sent a request. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      for (const socket of this.fresh) socket.destroy();
      this.fresh.clear();
    });
  }

  /** Drops every remaining connection (the end of a graceful shutdown). */
  destroy(): void {
    this.server.closeAllConnections();
  }
}

/**
 * Binds `server` (host "" = all interfaces) and resolves with the bound address, the real port
 * when `port` is 0; a bind error (EADDRINUSE, EACCES) rejects instead of being thrown later.
 */
export function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Bound of bodies read on the upgrade fallback path when the owner gives none (1 MiB). */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Largest request head (request line and headers), bytes: 1 MiB, Go's default and so Centrifugo's.
 * Node's own 16 KiB would refuse a `cf_connect` query (SSE, uni_sse) long before the transports'
 * `max_request_body_size` (64 KiB by default) applies.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * Time for a request head to arrive in full, ms (15 s; Node's default is 60 s). With heads of up
 * to 1 MiB, a client that trickles one holds that memory only this long: 408 after it.
 */
export const HEADERS_TIMEOUT_MS = 15_000;

/**
 * How long an idle keep-alive connection stays open, ms (120 s; Node's default is 5 s). API
 * clients pool their connections and reuse one after minutes of quiet (Go's transport keeps them
 * 90 s, Python's urllib3 and Node's agent as long as the server does); a server that closes at 5 s
 * races the client's next request on that socket, which then fails with ECONNRESET although Rotor
 * never saw it. Centrifugo's Go server keeps idle connections without a limit.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/** How often Node checks connections against the head and request timeouts, ms (Node: 30 s). */
const CONNECTIONS_CHECK_MS = 5_000;

/** Answers to malformed requests by Node's parser error code; anything else is 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * A request Node could not parse. Answered with a status when no response is under way on the
 * socket; otherwise nothing is written into that response (see below). A reset peer gets nothing.
 */
function onClientError(err: NodeJS.ErrnoException, duplex: Duplex): void {
  const socket = duplex as Socket;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const inFlight = responseInFlight(socket);
  if (inFlight === undefined) endPlain(socket, CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request');
  // An earlier request on this connection is still being handled: its answer is completed, then
  // the connection closes (a status written now would land inside it). One already streaming may
  // never complete: the connection closes at once.
  else if (!inFlight.headersSent) inFlight.once('finish', () => socket.destroySoon());
  else socket.destroy();
}

function discard(): void {}

function endSocket(this: Socket): void {
  if (this.writable) this.end();
}

/** One shared listener for every upgraded socket rather than a closure per connection. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Answers with a bodiless status and closes once it is written, whatever is left unread. */
function endPlain(socket: Socket, status: string): void {
  if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroySoon();
}

/**
 * The response Node is still writing on `socket` for an earlier request of the same connection.
 * Node keeps it in the socket's `_httpMessage` field and offers no public accessor.
 */
function responseInFlight(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/** The request target's path: its URL without the query. */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
