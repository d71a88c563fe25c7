/**
 * An application backend for proxy tests: a real `node:http` server on a free port that records
 * every proxy request (path, headers, parsed body) and answers through a handler per path, which
 * a test swaps as it goes. The default handler answers 404.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyCall {
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body parsed as JSON. */
  body: any;
  /** The request body as it arrived. */
  raw: string;
}

/**
 * Answers one call: return a value to send it as JSON with 200, or write to `res` yourself and
 * return undefined (a status other than 200, garbage, a delay, a dropped connection).
 */
export type ProxyHandler = (call: ProxyCall, res: ServerResponse) => unknown;

export class HttpProxyBackend {
  readonly calls: ProxyCall[] = [];
  private readonly handlers = new Map<string, ProxyHandler>();
  private readonly waiters: { path: string; resolve: (c: ProxyCall) => void }[] = [];
  private server!: Server;
  port = 0;

  static async start(): Promise<HttpProxyBackend> {
    const b = new HttpProxyBackend();
    b.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => b.handle(req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
    b.port = (b.server.address() as AddressInfo).port;
    return b;
  }

  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(path: string, handler: ProxyHandler): void {
    this.handlers.set(path, handler);
  }

  /** The calls made to `path` so far. */
  callsTo(path: string): ProxyCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  /** Resolves with the next call to `path` (one already made and not yet awaited is not counted). */
  nextCall(path: string): Promise<ProxyCall> {
    return new Promise((resolve) => this.waiters.push({ path, resolve }));
  }

  private handle(path: string, headers: IncomingHttpHeaders, raw: string, res: ServerResponse): void {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const call: ProxyCall = { path, headers, body, raw };
    this.calls.push(call);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.path === path) {
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
