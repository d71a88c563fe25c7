/**
 * Serving Rotor's client routes on an HTTP server the embedder owns, instead of a listener of its
 * own (`startRotor({ server })`, see src/index.ts).
 *
 * The routes are mounted on an {@link AttachableListener} as usual; it never listens. Attaching
 * takes the server's `request` and `upgrade` listeners that are there at that moment and puts one
 * of each in their place: a request or upgrade for a path Rotor serves goes to Rotor, any other to
 * the listeners it replaced, in their order. So Rotor's paths never reach the embedder's handler
 * (an Express app, a `ws` server that would refuse an upgrade for a path not its own), and the
 * embedder's paths never reach Rotor. Listeners added after attaching see every request; attach
 * after the server's own handlers are in place. Detaching puts the replaced listeners back.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { HttpListener, type RequestHandler, type UpgradeHandler } from '../http/server.js';

/** A server an embedder owns: `http.createServer()` or `https.createServer()`. */
export type EmbedderServer = HttpServer | HttpsServer;

/** An {@link HttpListener} that also knows which paths it serves. */
export class AttachableListener extends HttpListener {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  override route(path: string, handler: RequestHandler, prefix = false): void {
    if (prefix) this.prefixes.push(path.endsWith('/') ? path : `${path}/`);
    this.exact.add(path);
    super.route(path, handler, prefix);
  }

  override upgrade(path: string, handler: UpgradeHandler): void {
    this.exact.add(path);
    super.upgrade(path, handler);
  }

  /** True when a request for `path` (no query) is Rotor's, by the rule HttpListener routes by. */
  serves(path: string): boolean {
    return this.exact.has(path) || this.prefixes.some((p) => path.startsWith(p));
  }
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** A server without a request handler of its own answers other paths as Rotor's listener does. */
function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('404 page not found\n');
}

/** Puts Rotor's routes on `server`; the returned function takes them off again. */
export function attachTo(server: EmbedderServer, listener: AttachableListener): () => void {
  const own = listener.server;
  // Listener arrays as Node keeps them; the functions are called with the server as `this`, as
  // the EventEmitter would call them.
  const requests = server.listeners('request') as RequestListener[];
  const upgrades = server.listeners('upgrade') as UpgradeListener[];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (listener.serves(pathOf(req))) own.emit('request', req, res);
    else if (requests.length > 0) for (const l of requests) l.call(server, req, res);
    else notFound(res);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (listener.serves(pathOf(req))) own.emit('upgrade', req, socket, head);
    // Node closes the connection of an upgrade nobody listens for; so does this.
    else if (upgrades.length > 0) for (const l of upgrades) l.call(server, req, socket, head);
    else socket.destroy();
  };
  server.removeAllListeners('request');
  server.removeAllListeners('upgrade');
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('request', onRequest);
    server.off('upgrade', onUpgrade);
    for (const l of requests) server.on('request', l);
    for (const l of upgrades) server.on('upgrade', l);
  };
}
