/**
 * The real Centrifugo v1 JavaScript client (`centrifuge@1.5.x`, installed as `centrifuge-v1`) in
 * Node: it expects a browser's global WebSocket, which `ws` provides. Typed here as far as the
 * tests use it, with every event kept in order for assertions.
 */
import { createRequire } from 'node:module';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { v1Token } from '../../src/auth/v1-sign.js';
import { WAIT_MS } from './sdk.js';
import { answerOf } from './http-answer.js';

/** A v1 message, join/leave or context object as the client hands it over. */
export type V1Event = Record<string, unknown>;

export interface V1Sub {
  channel: string;
  publish(data: unknown): Promise<unknown>;
  presence(): Promise<{ data: Record<string, { user: string; client: string }> }>;
  history(): Promise<{ data: { uid: string; data: unknown }[] }>;
  unsubscribe(): void;
  on(event: string, fn: (e: V1Event) => void): void;
}

interface V1Centrifuge {
  connect(): void;
  disconnect(): void;
  subscribe(channel: string, events?: Record<string, (e: V1Event) => void>): V1Sub;
  getClientId(): string;
  isConnected(): boolean;
  on(event: string, fn: (e: V1Event) => void): void;
  /** The open WebSocket (private to the client; a test closes it to make the client reconnect). */
  _transport: { close(): void };
}

export interface V1ClientOptions {
  url: string;
  user: string;
  /** Unix seconds as a string; default now. */
  timestamp?: string;
  info?: string;
  /** Default: a valid token for user, timestamp and info with `secret`. */
  token?: string;
  secret: string;
  onPrivateChannelAuth?: (ctx: { data: { client: string; channels: string[] } }, cb: (error: boolean, data: unknown) => void) => void;
  onRefresh?: (ctx: unknown, cb: (error: boolean, data: unknown) => void) => void;
  refreshInterval?: number;
}

const require = createRequire(import.meta.url);
let Centrifuge: (new (o: Record<string, unknown>) => V1Centrifuge) | undefined;

function load(): new (o: Record<string, unknown>) => V1Centrifuge {
  // The client looks WebSocket up on the global object when it connects.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  return (Centrifuge ??= require('centrifuge-v1') as new (o: Record<string, unknown>) => V1Centrifuge);
}

export function nowSeconds(): string {
  return String(Math.floor(Date.now() / 1000));
}

/** Events of one emitter in arrival order, with waits for the next of a kind. */
export class V1Events {
  readonly seen: { name: string; e: V1Event }[] = [];
  private waiters: { name: string; resolve: (e: V1Event) => void }[] = [];
  private taken = new Map<string, number>();

  record(name: string): (e: V1Event) => void {
    return (e: V1Event) => {
      this.seen.push({ name, e });
      const w = this.waiters.findIndex((x) => x.name === name);
      if (w !== -1) {
        const [waiter] = this.waiters.splice(w, 1);
        this.taken.set(name, (this.taken.get(name) ?? 0) + 1);
        waiter!.resolve(e);
      }
    };
  }

  /** The next `name` event not yet handed out by `next` (already seen ones first). */
  next(name: string, timeoutMs = WAIT_MS): Promise<V1Event> {
    const taken = this.taken.get(name) ?? 0;
    const all = this.seen.filter((x) => x.name === name);
    if (all.length > taken) {
      this.taken.set(name, taken + 1);
      return Promise.resolve(all[taken]!.e);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} event within ${timeoutMs} ms; seen ${JSON.stringify(this.seen.map((x) => x.name))}`)), timeoutMs);
      this.waiters.push({ name, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  count(name: string): number {
    return this.seen.filter((x) => x.name === name).length;
  }
}

export interface V1TestClient {
  c: V1Centrifuge;
  events: V1Events;
  subscribe(channel: string): { sub: V1Sub; events: V1Events };
}

export function v1Client(o: V1ClientOptions): V1TestClient {
  const Ctor = load();
  const timestamp = o.timestamp ?? nowSeconds();
  const info = o.info ?? '';
  const c = new Ctor({
    url: o.url,
    user: o.user,
    timestamp,
    info,
    token: o.token ?? v1Token(o.secret, o.user, timestamp, info),
    // Reconnects come quickly in tests. The client pings every 300 ms and disconnects ("no
    // ping") when the server's answer takes 2 s: a test running longer than that checks v1 ping
    // answers too. (Its default 30 s interval timer would also keep Node alive after the tests.)
    retry: 100,
    maxRetry: 500,
    pingInterval: 300,
    pongWaitTimeout: 2000,
    ...(o.onPrivateChannelAuth ? { onPrivateChannelAuth: o.onPrivateChannelAuth } : {}),
    ...(o.onRefresh ? { onRefresh: o.onRefresh } : {}),
    ...(o.refreshInterval !== undefined ? { refreshInterval: o.refreshInterval } : {}),
  });
  const events = new V1Events();
  for (const name of ['connect', 'disconnect', 'error']) c.on(name, events.record(name));
  return {
    c,
    events,
    subscribe(channel) {
      const se = new V1Events();
      const handlers: Record<string, (e: V1Event) => void> = {};
      for (const name of ['message', 'join', 'leave', 'subscribe', 'unsubscribe', 'error']) handlers[name] = se.record(name);
      return { sub: c.subscribe(channel, handlers), events: se };
    },
  };
}

/** POSTs v1 server API commands signed with `secret` (X-API-Sign); returns the parsed answer. */
export async function v1Api(httpUrl: string, secret: string, commands: unknown): Promise<{ status: number; body: unknown }> {
  const body = JSON.stringify(commands);
  const sign = createHmac('sha256', secret).update(body).digest('hex');
  const res = await fetch(`${httpUrl}/api/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Sign': sign }, body });
  return answerOf(res);
}
