/**
 * An application backend for proxy tests: a real `node:http` (or, with `tls`, `node:https`)
 * server on a free port that records every proxy request (path, headers, parsed body) and answers
 * through a handler per path, which a test swaps as it goes. The default handler answers 404.
 *
 * A handler may leave a call unanswered (`hold`), to make a backend that hangs; `stop` cuts every
 * connection, held ones too. Proxy failures are logged: `takeProxyErrors` and `awaitProxyError`
 * find the lines a test expects in `srv.errors` and take them out (the SDK harness asserts none
 * is left).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import type { TestServer } from './server.js';
import { eventually } from './sdk.js';

export interface ProxyCall {
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body parsed as JSON. */
  body: any;
  /** The request body as it arrived. */
  raw: string;
  method: string;
}

/**
 * Answers one call: return a value to send it as JSON with 200 (a string goes out as it is), or
 * write to `res` yourself and return undefined (a status other than 200, garbage, a delay, a
 * dropped connection).
 */
export type ProxyHandler = (call: ProxyCall, res: ServerResponse) => unknown;

/** A call the backend has not answered yet. */
export interface HeldCall {
  call: ProxyCall;
  /** Answers 200 with `answer` as JSON. */
  answer(answer: unknown): void;
}

export class HttpProxyBackend {
  readonly calls: ProxyCall[] = [];
  private readonly handlers = new Map<string, ProxyHandler>();
  private readonly waiters: { path: string; pred: (c: ProxyCall) => boolean; resolve: (c: ProxyCall) => void }[] = [];
  private server!: Server;
  private scheme = 'http';
  port = 0;

  /** `tls`: serve HTTPS with this key and certificate; with `ca`, only to clients with a certificate it signed. */
  static async start(opts: { tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer } } = {}): Promise<HttpProxyBackend> {
    const b = new HttpProxyBackend();
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => b.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    };
    if (opts.tls !== undefined) {
      const t = opts.tls;
      b.server = createHttpsServer({ key: t.key, cert: t.cert, ...(t.ca !== undefined ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}) }, onRequest);
      b.scheme = 'https';
    } else b.server = createServer(onRequest);
    await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
    b.port = (b.server.address() as AddressInfo).port;
    return b;
  }

  /** `http://127.0.0.1:<port><path>` (`https://` with TLS). */
  url(path: string): string {
    return `${this.scheme}://127.0.0.1:${this.port}${path}`;
  }

  on(path: string, handler: ProxyHandler): void {
    this.handlers.set(path, handler);
  }

  /** The calls made to `path` so far. */
  callsTo(path: string): ProxyCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  /**
   * Resolves with the next call to `path` matching `pred` (one already made is not counted: ask
   * before the action that makes the call).
   */
  nextCall(path: string, pred: (c: ProxyCall) => boolean = () => true): Promise<ProxyCall> {
    return new Promise((resolve) => this.waiters.push({ path, pred, resolve }));
  }

  /** Makes `path` hang: each call is held, unanswered, and handed to `onHeld`. */
  hold(path: string, onHeld: (h: HeldCall) => void): void {
    this.on(path, (call, res) => {
      onHeld({
        call,
        answer: (a) => {
          if (res.writableEnded || res.destroyed) return;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(typeof a === 'string' ? a : JSON.stringify(a));
        },
      });
      return undefined;
    });
  }

  private handle(req: IncomingMessage, raw: string, res: ServerResponse): void {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const path = req.url ?? '';
    const call: ProxyCall = { path, headers: req.headers, body, raw, method: req.method ?? '' };
    this.calls.push(call);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.path === path && w.pred(call)) {
        this.waiters.splice(i, 1);
        w.resolve(call);
        break;
      }
    }
    const h = this.handlers.get(path);
    if (h === undefined) {
      res.writeHead(404).end();
      return;
    }
    const out = h(call, res);
    if (out !== undefined) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(typeof out === 'string' ? out : JSON.stringify(out));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * An endpoint nobody listens on: a port taken from the OS and released at once, so a connection
 * to it is refused.
 */
export async function deadEndpoint(path: string): Promise<string> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}


export interface ProxyErrorLine {
  ctx: { proxy?: string; method?: string; client?: string; channel?: string; status?: number; suppressed?: number };
  message: string;
}

function parse(e: unknown): ProxyErrorLine | undefined {
  if (!Array.isArray(e) || typeof e[0] !== 'object' || e[0] === null || typeof e[1] !== 'string') return undefined;
  return { ctx: e[0] as ProxyErrorLine['ctx'], message: e[1] };
}

/**
 * Removes and returns the logged proxy failures matching `pred`, in the order logged within each
 * level: those written at `error`, then their repeats that the rate-limited log wrote at `debug`
 * (proxy/hooks.ts logs one line per proxy, method and kind of failure every 10 s at `error`).
 */
export function takeProxyErrors(srv: TestServer, pred: (l: ProxyErrorLine) => boolean = () => true): ProxyErrorLine[] {
  return [...takeFrom(srv.errors, pred), ...takeFrom(srv.debug, (l) => / failed/.test(l.message) && pred(l))];
}

/** Only the failures written at `error` (not their rate-limited repeats), removed from `srv.errors`. */
export function takeProxyErrorLines(srv: TestServer, pred: (l: ProxyErrorLine) => boolean = () => true): ProxyErrorLine[] {
  return takeFrom(srv.errors, pred);
}

function takeFrom(lines: unknown[], pred: (l: ProxyErrorLine) => boolean): ProxyErrorLine[] {
  const out: ProxyErrorLine[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = parse(lines[i]);
    if (l !== undefined && l.ctx.proxy !== undefined && pred(l)) {
      out.unshift(l);
      lines.splice(i, 1);
    }
  }
  return out;
}

/** Waits until a proxy failure matching `pred` is logged (at `error` or, as a repeat, `debug`), then takes every such line. */
export async function awaitProxyError(srv: TestServer, what: string, pred: (l: ProxyErrorLine) => boolean): Promise<ProxyErrorLine[]> {
  const matches = (e: unknown, repeat: boolean): boolean => {
    const l = parse(e);
    return l !== undefined && l.ctx.proxy !== undefined && (!repeat || / failed/.test(l.message)) && pred(l);
  };
  await eventually(async () => srv.errors.some((e) => matches(e, false)) || srv.debug.some((e) => matches(e, true)), what);
  return takeProxyErrors(srv, pred);
}
