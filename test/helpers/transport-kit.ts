/**
 * Helpers for the HTTP-based transport tests (spec §8): raw streaming responses read with
 * `fetch` (newline-delimited JSON, SSE events, varint-delimited Protobuf), `/emulation`
 * requests, and a per-test kit that tracks every stream, socket, EventSource and SDK client it
 * opened and closes them all before the server stops, so no handle outlives a test.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { ReadableStream } from 'node:stream/web';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { Centrifuge as JsonCentrifuge } from 'centrifuge';
import type { Options, TransportEndpoint } from 'centrifuge';
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import pb from 'protobufjs/light.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { descriptor } from '../../src/protocol/protobuf/descriptor.generated.js';
import { readUvarint32 } from '../../src/protocol/varint.js';
import { startServer, type TestServer } from './server.js';
import { WAIT_MS, within, wrapClient, type Codec, type SdkClient, type TestClient } from './sdk.js';

export { WAIT_MS, within };
import { RawClient } from './raw-ws.js';

/** Default bound for every wait in these tests. */
/** Safety net: a test body never runs longer than this. */
const TEST_BODY_MS = 60_000;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------- raw streaming responses

export interface StreamInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/**
 * One streaming HTTP response read chunk by chunk. Resolves once the status line and headers
 * arrived; the body keeps accumulating until the server ends it or `close()` destroys the request.
 * Uses `node:http` with a socket of its own (no agent): aborting a `fetch` body makes undici open
 * a spare pooled connection, which would hold up the server's graceful stop.
 */
export class HttpStream {
  readonly chunks: Buffer[] = [];
  /** Resolves when the body ended (server closed it, or it was aborted). */
  readonly ended: Promise<void>;
  endedByServer = false;
  private finished = false;
  private waiters = new Set<() => void>();
  private endResolve!: () => void;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly req: ClientRequest,
  ) {
    this.ended = new Promise((r) => (this.endResolve = r));
  }

  static open(url: string, init: StreamInit = {}): Promise<HttpStream> {
    return new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : Buffer.from(init.body);
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (body !== undefined) headers['Content-Length'] = String(body.length);
      const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
        }
        const s = new HttpStream(res.statusCode ?? 0, h, req);
        res.on('data', (c: Buffer) => {
          s.chunks.push(c);
          s.notify();
        });
        res.on('end', () => s.finish(true));
        res.on('close', () => s.finish(false));
        res.on('error', () => s.finish(false));
        resolve(s);
      });
      req.on('error', (e) => reject(e));
      req.end(body);
    });
  }

  private finish(byServer: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.endedByServer = byServer;
    this.endResolve();
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Everything received so far. */
  raw(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.raw().toString('utf8');
  }

  /** Complete `\n`-terminated lines parsed as JSON (http_stream, uni_http_stream framing). */
  lines(): any[] {
    const t = this.text();
    const end = t.lastIndexOf('\n');
    if (end < 0) return [];
    return t
      .slice(0, end)
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          throw new Error(`not a JSON line: ${JSON.stringify(l)} (stream so far: ${JSON.stringify(t)})`);
        }
      });
  }

  /** `data:` payloads of complete SSE events, parsed as JSON. */
  events(): any[] {
    return sseData(this.text()).map((d) => JSON.parse(d));
  }

  /** Complete varint-delimited Protobuf Replies (http_stream with Content-Type application/octet-stream). */
  pbReplies(): any[] {
    return pbRepliesPrefix(this.raw());
  }

  /**
   * Waits until `pick()` returns something other than undefined (re-checked on every chunk).
   * Fails when the time runs out or the stream ends first.
   */
  waitFor<T>(pick: () => T | undefined, what: string, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        if (settled) return;
        let v: T | undefined;
        try {
          v = pick();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        }
      };
      const onEnd = (): void => {
        check();
        if (!settled) {
          done();
          reject(new Error(`stream ended while waiting for ${what}; received: ${JSON.stringify(this.text())}`));
        }
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(this.text())}`));
      }, timeoutMs);
      const waiter = (): void => check();
      const done = (): void => {
        settled = true;
        clearTimeout(t);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      void this.ended.then(onEnd);
      check();
    });
  }

  /** Next JSON line matching `pred` (searches every line received so far). */
  nextLine(pred: (m: any) => boolean, what = 'a JSON line', timeoutMs = WAIT_MS): Promise<any> {
    return this.waitFor(() => this.lines().find(pred), what, timeoutMs);
  }

  /** Next SSE event payload matching `pred`. */
  nextEvent(pred: (m: any) => boolean, what = 'an SSE event', timeoutMs = WAIT_MS): Promise<any> {
    return this.waitFor(() => this.events().find(pred), what, timeoutMs);
  }

  /** Next Protobuf reply matching `pred`. */
  nextPb(pred: (m: any) => boolean, what = 'a protobuf reply', timeoutMs = WAIT_MS): Promise<any> {
    return this.waitFor(() => this.pbReplies().find(pred), what, timeoutMs);
  }

  /** Waits (bounded) for the server to end the body. */
  async endsWithin(what = 'the server to end the stream', timeoutMs = WAIT_MS): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ended,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(this.text())}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(t));
    assert.ok(this.endedByServer, `${what}: the body ended with an error instead of a clean end`);
  }

  /** Aborts the request (client side): destroys its socket. Idempotent. */
  close(): void {
    this.req.destroy();
  }
}

/**
 * SSE body → `data` field of every complete event. Per the SSE format an event ends with a blank
 * line; several `data:` lines join with `\n`; lines starting with `:` are comments.
 */
export function sseData(text: string): string[] {
  const norm = text.replace(/\r\n/g, '\n').replace(/\r/g, '\n');
  const blocks = norm.split('\n\n');
  blocks.pop(); // incomplete tail (or '' after the final blank line)
  const out: string[] = [];
  for (const b of blocks) {
    const data: string[] = [];
    for (const line of b.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

// ---------------------------------------------------------------- Protobuf

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const ReplyType = root.lookupType('centrifugal.centrifuge.protocol.Reply');

/** Decodes the complete varint-delimited Replies at the start of `buf` (ignores a truncated tail). */
export function pbRepliesPrefix(buf: Uint8Array): any[] {
  const out: any[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let len: number;
    let end: number;
    try {
      ({ value: len, end } = readUvarint32(buf, pos));
    } catch {
      break;
    }
    if (end + len > buf.length) break;
    out.push(ReplyType.toObject(ReplyType.decode(buf.subarray(end, end + len)), { longs: Number, defaults: false }));
    pos = end + len;
  }
  return out;
}

// ---------------------------------------------------------------- plain requests

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** A plain (non-streaming) request; reads the whole answer. */
export async function request(url: string, init: StreamInit = {}): Promise<Answer> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, signal: AbortSignal.timeout(WAIT_MS) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** A CORS preflight for a POST from `origin` is answered 204 with the full set of CORS headers. */
export async function expectCorsPreflight(url: string, origin: string): Promise<void> {
  const pre = await request(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/i);
  assert.equal(pre.headers.get('access-control-max-age'), '300');
}

/** POST /emulation with a JSON EmulationRequest whose `data` is the given command(s) (JSON text). */
export function emulate(srv: TestServer, req: { node: string; session: string }, commands: unknown | unknown[], headers: Record<string, string> = {}): Promise<Answer> {
  const list = Array.isArray(commands) ? commands : [commands];
  const data = list.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('\n');
  return request(`${srv.httpUrl}/emulation`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ node: req.node, session: req.session, data }),
  });
}

/** URL with `cf_connect` set to the JSON of `connect` (or the given raw string). */
export function withCfConnect(base: string, connect: unknown): string {
  const u = new URL(base);
  u.searchParams.set('cf_connect', typeof connect === 'string' ? connect : JSON.stringify(connect));
  return u.toString();
}

/** Raw bytes larger than a 64 KiB body limit, still a syntactically valid JSON object. */
export function oversizedJson(bytes = 70_000): string {
  return JSON.stringify({ token: 'x', data: { pad: 'p'.repeat(bytes) } });
}

// ---------------------------------------------------------------- per-test kit

export interface KitClientOptions extends Partial<Options> {}

/** What a test gets: opened resources are closed by the kit at the end of the test. */
export class Kit {
  private streams: HttpStream[] = [];
  private sockets: RawClient[] = [];
  private wss: WebSocket[] = [];
  private eventSources: EventSource[] = [];
  private clients: SdkClient[] = [];
  private cleanups: (() => Promise<void> | void)[] = [];

  constructor(readonly srv: TestServer) {}

  get url(): string {
    return this.srv.httpUrl;
  }

  endpoint(name: 'http_stream' | 'sse' | 'uni_http_stream' | 'uni_sse' | 'emulation'): string {
    return name === 'emulation' ? `${this.srv.httpUrl}/emulation` : `${this.srv.httpUrl}/connection/${name}`;
  }

  get uniWsUrl(): string {
    return `ws://127.0.0.1:${this.srv.port}/connection/uni_websocket`;
  }

  async stream(url: string, init: StreamInit = {}): Promise<HttpStream> {
    const s = await HttpStream.open(url, init);
    this.streams.push(s);
    return s;
  }

  /** A bidirectional http_stream session connected with `connect` (a ConnectRequest). */
  async httpStreamSession(connect: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ s: HttpStream; reply: any }> {
    const s = await this.stream(this.endpoint('http_stream'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ id: 1, connect }),
    });
    assert.equal(s.status, 200, `http_stream answered ${s.status}`);
    const reply = await s.nextLine((m) => m.id === 1, 'the connect reply');
    return { s, reply };
  }

  async ws(url: string, opts: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const c = await RawClient.open(url, opts);
    this.sockets.push(c);
    return c;
  }

  /** Registers a `ws` WebSocket opened by the test itself, to be terminated at the end. */
  track(ws: WebSocket): WebSocket {
    this.wss.push(ws);
    return ws;
  }

  eventSource(url: string, init?: ConstructorParameters<typeof EventSource>[1]): EventSource {
    const es = new EventSource(url, init);
    this.eventSources.push(es);
    return es;
  }

  /** Registers any other teardown (browser, static server). Runs before streams close. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /**
   * An SDK client over the given transport list (or one transport by name, at this server's
   * endpoint). Node has no EventSource; `fetch` and ReadableStream are passed explicitly as the
   * SDK requires.
   */
  sdk(transports: 'http_stream' | 'sse' | TransportEndpoint[], opts: KitClientOptions = {}, codec: Codec = 'json'): TestClient {
    const list: TransportEndpoint[] = typeof transports === 'string' ? [{ transport: transports, endpoint: this.endpoint(transports) }] : transports;
    const Ctor: any = codec === 'protobuf' ? ProtobufCentrifuge : JsonCentrifuge;
    const c: SdkClient = new Ctor(list, {
      websocket: WebSocket,
      fetch: globalThis.fetch,
      readableStream: ReadableStream,
      eventsource: EventSource,
      emulationEndpoint: this.endpoint('emulation'),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      ...opts,
    });
    this.clients.push(c);
    return wrapClient(c);
  }

  async closeAll(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
    for (const c of this.clients.splice(0)) {
      try {
        c.disconnect();
      } catch {
        /* already closed */
      }
    }
    for (const es of this.eventSources.splice(0)) es.close();
    for (const s of this.streams.splice(0)) s.close();
    for (const c of this.sockets.splice(0)) c.ws.terminate();
    for (const w of this.wss.splice(0)) w.terminate();
  }
}

/**
 * Starts a server with `overrides`, runs `fn` with a kit, then closes everything the kit opened,
 * asserts the server logged no errors and stops the server.
 */
export async function withKit(overrides: ConfigInput, fn: (srv: TestServer, kit: Kit) => Promise<void>): Promise<void> {
  const srv = await startServer(overrides);
  const kit = new Kit(srv);
  let timer: NodeJS.Timeout | undefined;
  const overall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test body did not finish within ${TEST_BODY_MS} ms`)), TEST_BODY_MS);
  });
  try {
    await Promise.race([fn(srv, kit), overall]);
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  } finally {
    clearTimeout(timer);
    await kit.closeAll();
    await srv.stop();
  }
}

/** Bounded wait for `check()` to hold, re-checked every 10 ms (server-side state without an event). */
export async function until(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

