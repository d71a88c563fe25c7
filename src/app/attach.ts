/**
 * Serving Rotor's client routes on an HTTP server the embedder owns, instead of a listener of its
 * own (`startRotor({ server })`, see src/index.ts).
 *
 * The routes are mounted on an {@link HttpListener} as usual; it never listens. Attaching
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
import { HttpListener, requestPath } from '../http/server.js';

/** A server an embedder owns: `http.createServer()` or `https.createServer()`. */
export type EmbedderServer = HttpServer | HttpsServer;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** A server without a request handler of its own answers other paths as Rotor's listener does. */
function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('404 page not found\n');
}

/** Puts Rotor's routes on `server`; the returned function takes them off again. */
export function attachTo(server: EmbedderServer, listener: HttpListener): () => void {
  const own = listener.server;
  // Listener arrays as Node keeps them; the functions are called with the server as `this`, as
  // the EventEmitter would call them.
  const requests = server.listeners('request') as RequestListener[];
  const upgrades = server.listeners('upgrade') as UpgradeListener[];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (listener.serves(requestPath(req))) own.emit('request', req, res);
    else if (requests.length > 0) for (const l of requests) l.call(server, req, res);
    else notFound(res);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (listener.serves(requestPath(req))) own.emit('upgrade', req, socket, head);
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
