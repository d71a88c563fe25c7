/**
 * Centrifugo v1's admin websocket (`<admin prefix>/socket`, `admin.v1_socket`), as v1's web
 * interface and tools used it (shapes observed on the real v1.8 server):
 *
 * - Log in with `POST <admin prefix>/auth/` (form `password`) → `{"token"}` (the admin login).
 * - On the socket, the first command must be `{"uid","method":"connect","params":{"token","watch"}}`;
 *   anything else first, or a token that is not valid, closes with 3000
 *   `{"reason":"unauthorized","reconnect":…}`. `admin.insecure` takes any token.
 * - Then `ping` (body "pong"), `info` (the node and its options) and the v1 server API's commands
 *   (`publish`, `broadcast`, `unsubscribe`, `disconnect`, `presence`, `history`, `channels`,
 *   `stats`, `node`). Replies are JSON arrays of `{"uid","method","error","body"}`.
 * - A connection that connected with `watch: true` receives `{"method":"message","error":null,
 *   "body":{…}}` for every publication, on any node, in a channel whose namespace has `watch`.
 *
 * The watch feed: each node copies such publications (after the broker took them) into one
 * internal channel, `WATCH_CHANNEL`; a node with watching admins holds that channel through
 * `Node.watchChannel`, as the console's Watch page holds a channel. It is an internal channel
 * (node/internal-channels.ts): no client can subscribe or publish there, whatever the channel
 * syntax is configured to be.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiContext } from '../api/methods.js';
import { V1BadRequest, decodeV1Command, runV1Command } from '../api/v1/commands.js';
import { RawJson, isValidJson, parseJsonWithRaw } from '../protocol/json/raw-json.js';
import { toJsonText } from '../protocol/json/json-text.js';
import { messageText } from '../protocol/v1/codec.js';
import type { ClientInfo, Publication } from '../protocol/types.js';
import type { WatchEvent } from '../node/watch/events.js';
import { INTERNAL_CHANNEL_PREFIX } from '../node/internal-channels.js';

export const WATCH_CHANNEL = `${INTERNAL_CHANNEL_PREFIX}admin.v1_watch`;

/** Largest admin command frame, bytes. */
const MAX_FRAME_BYTES = 65_536;
/** A socket must send its `connect` within this, ms. */
const AUTH_DEADLINE_MS = 10_000;
/** Admin sockets at once on a node; more are refused with 503. */
const MAX_SOCKETS = 32;
/** Watched messages waiting to be written to one admin socket before it is closed as too slow, bytes. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface AdminV1SocketOptions {
  tokenValid(token: string): boolean;
  /** Name, version and switches shown by `info`. */
  info(): Record<string, unknown>;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** The v1 server API methods the socket runs (api/v1/commands.ts). */
const API_METHODS = new Set(['publish', 'broadcast', 'unsubscribe', 'disconnect', 'presence', 'history', 'channels', 'stats', 'node']);

export class AdminV1Socket {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly watchers = new Set<WebSocket>();
  private stopWatch: Promise<() => void> | undefined;

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: AdminV1SocketOptions,
  ) {}

  /**
   * Publishes the copy a watching admin sees when `channel`'s namespace has `watch` (set as the
   * node's `onPublished`). Payloads that are not JSON (a Protobuf client's) are not copied.
   */
  published(channel: string, data: Uint8Array, opts: { readonly clientInfo?: ClientInfo | undefined }): void {
    if (channel === WATCH_CHANNEL) return;
    let watched: boolean;
    try {
      watched = this.ctx.rules().resolve(channel).options.watch;
    } catch {
      return;
    }
    if (!watched) return;
    const text = decoder.decode(data);
    if (!isValidJson(text)) return;
    const copy = Buffer.from(`{"channel":${JSON.stringify(channel)},"data":${text}}`);
    const o = opts.clientInfo !== undefined ? { clientInfo: opts.clientInfo } : {};
    this.ctx.node.publish(WATCH_CHANNEL, copy, o).catch((err: unknown) => this.ctx.node.log.warn({ err, channel }, 'v1 admin watch: copy not published'));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!sameOrigin(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.wss.clients.size >= MAX_SOCKETS) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private onConnection(ws: WebSocket): void {
    const state = { authed: false };
    // A socket that does not authenticate in time is closed: idle ones cannot hold the 32 places.
    const deadline = setTimeout(() => {
      if (!state.authed) ws.close(3000, JSON.stringify({ reason: 'unauthorized', reconnect: true }));
    }, AUTH_DEADLINE_MS);
    ws.once('close', () => clearTimeout(deadline));
    // Commands are answered in order; a connect with watch answers once the watch is in place.
    let chain = Promise.resolve();
    ws.on('error', () => ws.terminate());
    ws.on('close', () => this.unwatch(ws));
    ws.on('message', (frame: Buffer) => {
      let commands: unknown[];
      try {
        const parsed = parseJsonWithRaw(decoder.decode(frame), (key) => key === 'data' || key === 'info');
        commands = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        ws.close(3000, JSON.stringify({ reason: 'invalid message', reconnect: false }));
        return;
      }
      for (const c of commands) {
        const cmd = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
        chain = chain.then(() => this.command(ws, state, cmd)).catch((err: unknown) => this.ctx.node.log.error({ err }, 'v1 admin socket command failed'));
      }
    });
  }

  private async command(ws: WebSocket, state: { authed: boolean }, cmd: Record<string, unknown>): Promise<void> {
    if (ws.readyState !== 1) return;
    const uid = typeof cmd['uid'] === 'string' ? cmd['uid'] : undefined;
    const method = typeof cmd['method'] === 'string' ? cmd['method'] : '';
    if (state.authed) return this.run(ws, uid, method, cmd);
    const params = (typeof cmd['params'] === 'object' && cmd['params'] !== null ? cmd['params'] : {}) as Record<string, unknown>;
    const token = typeof params['token'] === 'string' ? params['token'] : '';
    if (method !== 'connect' || !this.opts.tokenValid(token)) {
      // v1 asked a client that sent something else first to come back; one with a bad token not.
      ws.close(3000, JSON.stringify({ reason: 'unauthorized', reconnect: method !== 'connect' }));
      return;
    }
    state.authed = true;
    if (params['watch'] === true) await this.watch(ws);
    this.reply(ws, uid, 'connect', null, true);
  }

  private async run(ws: WebSocket, uid: string | undefined, method: string, cmd: Record<string, unknown>): Promise<void> {
    if (method === 'ping') return this.reply(ws, uid, method, null, 'pong');
    if (method === 'info') return this.reply(ws, uid, method, null, { data: this.opts.info() });
    if (method === 'connect') return this.reply(ws, uid, method, null, true);
    if (!API_METHODS.has(method)) return this.reply(ws, uid, method, 'method not found', null);
    let decoded;
    try {
      decoded = decodeV1Command(cmd);
    } catch (e) {
      return this.reply(ws, uid, method, e instanceof V1BadRequest ? 'invalid message' : 'internal server error', null);
    }
    const r = await runV1Command(this.ctx, decoded);
    this.reply(ws, uid, r.method, r.error, r.body);
  }

  private reply(ws: WebSocket, uid: string | undefined, method: string, error: string | null, body: unknown): void {
    if (ws.readyState !== 1) return;
    const head = uid !== undefined ? `"uid":${JSON.stringify(uid)},` : '';
    ws.send(`[{${head}"method":${JSON.stringify(method)},"error":${error === null ? 'null' : JSON.stringify(error)},"body":${toJsonText(body)}}]`);
  }

  /** Resolves once the watch feed reaches this node (or could not be started: logged). */
  private async watch(ws: WebSocket): Promise<void> {
    this.watchers.add(ws);
    if (this.stopWatch === undefined) {
      const started = this.ctx.node.watchChannel(WATCH_CHANNEL, {
        event: (e) => this.deliver(e),
        end: () => {
          this.stopWatch = undefined;
          for (const w of this.watchers) w.close(3000, JSON.stringify({ reason: 'shutting down', reconnect: true }));
        },
      });
      this.stopWatch = started;
      started.catch((err: unknown) => {
        this.ctx.node.log.warn({ err }, 'v1 admin watch could not start');
        if (this.stopWatch === started) this.stopWatch = undefined;
      });
    }
    await this.stopWatch.then(
      () => undefined,
      () => undefined,
    );
  }

  private unwatch(ws: WebSocket): void {
    if (!this.watchers.delete(ws) || this.watchers.size > 0 || this.stopWatch === undefined) return;
    const stopping = this.stopWatch;
    this.stopWatch = undefined;
    stopping.then((stop) => stop(), () => {});
  }

  /** One watched publication to every watching admin socket; a socket too far behind is closed. */
  private deliver(e: WatchEvent): void {
    if (e.type !== 'publication') return;
    const frame = messageFrame(e.pub);
    if (frame === undefined) return;
    for (const ws of this.watchers) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) ws.terminate();
      else ws.send(frame);
    }
  }
}

/**
 * `{"method":"message","error":null,"body":{…}}` from the copy, the body as v1 clients get a
 * message (the copy carries no stream position: a random uid). Undefined for a malformed copy.
 */
function messageFrame(pub: Publication): string | undefined {
  try {
    const c = parseJsonWithRaw(decoder.decode(pub.data), (key, depth) => key === 'data' && depth === 0) as { channel?: unknown; data?: unknown };
    if (typeof c.channel !== 'string' || !(c.data instanceof RawJson)) return undefined;
    const message: Publication = { data: encoder.encode(c.data.text), ...(pub.info !== undefined ? { info: pub.info } : {}) };
    return `{"method":"message","error":null,"body":${messageText(c.channel, message, '')}}`;
  } catch {
    return undefined;
  }
}

/**
 * A browser page may open the socket only from the admin's own origin: with `admin.insecure` any
 * page the admin visits could otherwise act through it. Tools send no Origin and pass.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
