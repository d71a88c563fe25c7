/**
 * Helpers for driving Rotor with the official `centrifuge` JavaScript SDK (JSON and Protobuf
 * builds) over real WebSocket connections: client creation, an event log with bounded waits,
 * and a per-test server + client pool that is always torn down.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge as JsonCentrifuge } from 'centrifuge';
import type { Options, Subscription, SubscriptionOptions } from 'centrifuge';
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import type { ConfigInput } from '../../src/config/schema.js';
import { startServer, API_KEY, type TestServer } from './server.js';

export type Codec = 'json' | 'protobuf';

/** Both SDK builds expose the same API; the JSON build's typings are used for both. */
export type SdkClient = JsonCentrifuge;

/** Default bound for every wait in these tests. */
export const WAIT_MS = 5000;

/** Safety net: a test body (after server start) never runs longer than this. */
const TEST_BODY_MS = 60_000;

interface Entry {
  name: string;
  ctx: any;
  taken: boolean;
}

interface Emitter {
  on(name: string, fn: (...a: any[]) => void): unknown;
}

/**
 * Records the events of an emitter (SDK client or subscription) in order. `next` returns the
 * first not-yet-taken event of a name (optionally matching a predicate), waiting for it with a
 * bounded timeout; taken events are not returned again, so consecutive `next` calls walk the
 * event sequence.
 */
export class EventLog {
  readonly entries: Entry[] = [];
  private waiters = new Set<() => void>();

  constructor(emitter: Emitter, names: readonly string[]) {
    for (const name of names) {
      emitter.on(name, (ctx: unknown) => {
        this.entries.push({ name, ctx, taken: false });
        for (const w of [...this.waiters]) w();
      });
    }
  }

  /** Contexts of all events with this name received so far (taken or not). */
  all(name: string): any[] {
    return this.entries.filter((e) => e.name === name).map((e) => e.ctx);
  }

  count(name: string): number {
    return this.all(name).length;
  }

  /** Names of all recorded events, in order (handy in assertion messages). */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  next(name: string, pred: (ctx: any) => boolean = () => true, timeoutMs = WAIT_MS): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const e = this.entries.find((x) => !x.taken && x.name === name && pred(x.ctx));
        if (e === undefined) return false;
        e.taken = true;
        resolve(e.ctx);
        return true;
      };
      if (check()) return;
      const waiter = () => {
        if (check()) done();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for '${name}' event; got: ${JSON.stringify(this.names())}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }
}

export const CLIENT_EVENTS = [
  'state',
  'connecting',
  'connected',
  'disconnected',
  'error',
  'subscribed',
  'subscribing',
  'unsubscribed',
  'publication',
  'join',
  'leave',
  'message',
] as const;

export const SUB_EVENTS = ['state', 'subscribing', 'subscribed', 'unsubscribed', 'publication', 'join', 'leave', 'error'] as const;

export interface TestClient {
  readonly c: SdkClient;
  /** Client-level events, recorded from construction on. */
  readonly events: EventLog;
  /** Calls `connect()` and waits for the next `connected` event. */
  connect(): Promise<{ client: string; transport: string; data?: unknown }>;
  /** Creates a subscription with its event log (does not subscribe). */
  newSub(channel: string, opts?: SubscriptionOptions): TestSub;
  /** Creates a subscription, subscribes and waits for `subscribed`. */
  subscribe(channel: string, opts?: SubscriptionOptions): Promise<TestSub & { subscribed: any }>;
}

export interface TestSub {
  readonly sub: Subscription;
  readonly events: EventLog;
}

/** Every SDK client created through a pool is disconnected by `closeAll`. */
/** Wraps an SDK client with event logs and awaitable connect/subscribe helpers. */
export function wrapClient(c: SdkClient): TestClient {
  const events = new EventLog(c as unknown as Emitter, CLIENT_EVENTS);
  const newSub = (channel: string, subOpts?: SubscriptionOptions): TestSub => {
    const sub = c.newSubscription(channel, subOpts);
    return { sub, events: new EventLog(sub as unknown as Emitter, SUB_EVENTS) };
  };
  return {
    c,
    events,
    async connect() {
      const p = events.next('connected');
      c.connect();
      return p;
    },
    newSub,
    async subscribe(channel, subOpts) {
      const s = newSub(channel, subOpts);
      const p = s.events.next('subscribed');
      s.sub.subscribe();
      return { ...s, subscribed: await p };
    },
  };
}

export class SdkPool {
  private clients: SdkClient[] = [];

  constructor(
    readonly srv: TestServer,
    readonly codec: Codec = 'json',
  ) {}

  client(opts: Partial<Options> = {}, codec: Codec = this.codec): TestClient {
    const Ctor: any = codec === 'protobuf' ? ProtobufCentrifuge : JsonCentrifuge;
    const c: SdkClient = new Ctor(this.srv.wsUrl, {
      websocket: WebSocket,
      // Keep automatic reconnects quick; tests await events, never these delays.
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      ...opts,
    });
    this.clients.push(c);
    return wrapClient(c);
  }

  closeAll(): void {
    for (const c of this.clients) {
      try {
        c.disconnect();
      } catch {
        /* already closed */
      }
    }
    this.clients = [];
  }
}

/**
 * Starts a server with `overrides`, runs `fn` with it and a client pool, and always disconnects
 * the clients and stops the server afterwards.
 */
export async function withServer(
  overrides: ConfigInput,
  fn: (srv: TestServer, sdk: SdkPool) => Promise<void>,
  codec: Codec = 'json',
): Promise<void> {
  const srv = await startServer(overrides);
  const sdk = new SdkPool(srv, codec);
  let timer: NodeJS.Timeout | undefined;
  const overall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test body did not finish within ${TEST_BODY_MS} ms`)), TEST_BODY_MS);
  });
  try {
    await Promise.race([fn(srv, sdk), overall]);
    assert.deepEqual(srv.errors, [], 'the server logged no errors');
  } finally {
    clearTimeout(timer);
    sdk.closeAll();
    await srv.stop();
  }
}

/** Asserts that `p` rejects with an SDK/server error object carrying `code`; returns the error. */
export async function rejectsWithCode(p: Promise<unknown>, code: number, what = 'call'): Promise<any> {
  let err: any;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: expected a rejection with code ${code}, but it resolved`);
  assert.equal(err?.code, code, `${what}: expected code ${code}, got ${JSON.stringify(err)}`);
  return err;
}

/** Publishes through the HTTP API and asserts the call succeeded; returns the result. */
export async function apiOk(srv: TestServer, method: string, body: unknown): Promise<any> {
  const r = await srv.api(method, body);
  assert.equal(r.status, 200, `${method}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assert.ok(r.body && typeof r.body === 'object' && 'result' in r.body, `${method}: expected a result, got ${JSON.stringify(r.body)}`);
  return r.body.result;
}

/** cent.js options for a test server. */
export function centOptions(srv: TestServer): { url: string; apiKey: string } {
  return { url: `${srv.httpUrl}/api`, apiKey: API_KEY };
}

/** A promise with its resolve function exposed (to gate SDK callbacks such as getData). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Awaits `p` for at most `timeoutMs`, failing with a message naming `what`. */
export function within<T>(p: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Bytes of an SDK protobuf `data` field (Uint8Array/Buffer) as a Buffer. */
export function bytes(data: unknown): Buffer {
  assert.ok(data instanceof Uint8Array, `expected bytes, got ${typeof data}`);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Polls an async condition every 10 ms until it holds (bounded). For server-side state that
 * has no client-visible event (e.g. a closed connection leaving presence).
 */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
