/**
 * Application backends for lifecycle event tests, in-process on port 0: an HTTP one (`node:http`,
 * answers POSTs of `{"events":[...]}`) and a gRPC one (`@grpc/grpc-js` server with Rotor's
 * LifecycleNotifier/Notify and Centrifugo PRO's CentrifugoProxy/NotifyChannelState). Each records
 * every request it received (batches, in arrival order) and answers per a plan the test sets,
 * and offers `next` to await an event matching a predicate (each event is returned once).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as GrpcServer, ServerCredentials, status, type Metadata, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { NOTIFY_METHOD, PRO_CHANNEL_STATE_METHOD, decodeNotifyRequest, encodeNotifyResponse, type WireError } from '../../src/notify/codec.js';

/** An event as the backend sees it (snake_case JSON, or the decoded proto with camelCase keys). */
export type BackendEvent = Record<string, unknown>;

export interface Batch {
  /** The request path (HTTP) or method (gRPC). */
  path: string;
  events: BackendEvent[];
  /** Request headers (HTTP, names lower-case) or metadata (gRPC). */
  headers: Record<string, string>;
  /** When the whole request had arrived, by the test's `performance.now()`. */
  receivedAt: number;
}

const WAIT_MS = 10_000;

/** What a backend records and how a test waits on it. */
class Recorder {
  readonly batches: Batch[] = [];
  private taken = new Set<BackendEvent>();
  private waiters = new Set<() => void>();

  record(b: Batch): void {
    this.batches.push(b);
    for (const w of [...this.waiters]) w();
  }

  /** Every event received so far, in arrival order (duplicates from retries included). */
  events(): BackendEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  /** When the request carrying `e` (an event `events` or `next` returned) arrived, by `performance.now()`. */
  receivedAt(e: BackendEvent): number {
    const b = this.batches.find((x) => x.events.includes(e));
    if (b === undefined) throw new Error('not an event this backend received');
    return b.receivedAt;
  }

  /** The first event not yet returned that matches `pred`, waiting for it (bounded). */
  next(pred: (e: BackendEvent) => boolean, what = 'an event', timeoutMs = WAIT_MS): Promise<BackendEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const e = this.events().find((x) => !this.taken.has(x) && pred(x));
        if (e === undefined) return false;
        this.taken.add(e);
        resolve(e);
        return true;
      };
      if (check()) return;
      const waiter = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(this.events())}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves once `n` requests arrived in all (bounded). */
  requests(n: number, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.batches.length >= n) return resolve();
      const waiter = (): void => {
        if (this.batches.length < n) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${n} requests; got ${this.batches.length}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

/** How the HTTP backend answers request number `n` (0-based): a status and body, or never. */
export type HttpAnswer = { status: number; body?: string } | 'hang';

export class HttpBackend extends Recorder {
  /** Decides each answer; 200 `{}` by default. */
  answer: (n: number, b: Batch) => HttpAnswer = () => ({ status: 200, body: '{}' });
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    super();
  }

  /** Listens on `port` of 127.0.0.1 (0: any free one); events are POSTed to `path`. */
  static async start(path = '/lifecycle', port = 0): Promise<HttpBackend> {
    let backend: HttpBackend | undefined;
    const server = createServer((req, res) => backend?.handle(req, res));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    backend = new HttpBackend(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return backend;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let events: BackendEvent[] = [];
      try {
        events = (JSON.parse(text) as { events: BackendEvent[] }).events;
      } catch {
        /* recorded as an empty batch; the test's assertions will show it */
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const b: Batch = { path: req.url ?? '', events, headers, receivedAt: performance.now() };
      const a = this.answer(this.batches.length, b);
      this.record(b);
      if (a === 'hang') {
        this.hanging.add(res);
        return;
      }
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body ?? '{}');
    });
  }

  /** Answers every hanging request with `status`. */
  release(status = 200): void {
    for (const res of this.hanging) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    }
    this.hanging.clear();
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** How the gRPC backend answers call number `n`: OK (optionally with an `error`), or a status. */
export type GrpcAnswer = { code: 'ok'; error?: WireError } | { code: number; details?: string };

function unary(path: string) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  };
}

export class GrpcBackend extends Recorder {
  answer: (n: number, b: Batch) => GrpcAnswer = () => ({ code: 'ok' });

  private constructor(
    private readonly server: GrpcServer,
    readonly url: string,
  ) {
    super();
  }

  static async start(): Promise<GrpcBackend> {
    const server = new GrpcServer();
    let backend: GrpcBackend | undefined;
    const handler = (path: string) => (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => backend?.handle(path, call, cb);
    const def: ServiceDefinition = { Notify: unary(NOTIFY_METHOD), NotifyChannelState: unary(PRO_CHANNEL_STATE_METHOD) };
    server.addService(def, { Notify: handler(NOTIFY_METHOD), NotifyChannelState: handler(PRO_CHANNEL_STATE_METHOD) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    backend = new GrpcBackend(server, `grpc://127.0.0.1:${port}`);
    return backend;
  }

  private handle(path: string, call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>): void {
    const decoded = decodeNotifyRequest(call.request);
    const events = decoded instanceof Error ? [] : (decoded as unknown as BackendEvent[]);
    const b: Batch = { path, events, headers: metadataOf(call.metadata), receivedAt: performance.now() };
    const a = this.answer(this.batches.length, b);
    this.record(b);
    if (a.code === 'ok') cb(null, encodeNotifyResponse(a.error));
    else cb({ code: a.code, details: a.details ?? 'test answer' });
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }
}

function metadataOf(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}

export { status as grpcStatus };
