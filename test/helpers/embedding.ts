/**
 * Helpers for the embedding suites (test/integration/embedding*.test.ts): a logger that keeps what
 * Rotor warned about, and SDK clients that can put headers on their WebSocket upgrade (what a
 * `connecting` hook authenticates by, as a cookie).
 */
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import type { RotorLogger } from '../../src/index.js';
import { wrapClient, type TestClient } from './sdk.js';

/** A logger keeping warn and error lines, so a test can assert what was said. */
export function recordingLog(): RotorLogger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (...a: unknown[]): void => void lines.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x, errorFields))).join(' '));
  const noop = (): void => {};
  return { lines, trace: noop, debug: noop, info: noop, warn: keep, error: keep };
}

/** An Error's message in a logged object (JSON.stringify gives `{}` for one). */
function errorFields(_key: string, v: unknown): unknown {
  return v instanceof Error ? { name: v.name, message: v.message } : v;
}

/** An SDK client for `url`; `headers` go on its WebSocket upgrade request. */
export function sdkClient(url: string, token: string, headers: Record<string, string> = {}): TestClient {
  class WithHeaders extends WebSocket {
    constructor(u: string, protocols?: string | string[]) {
      super(u, protocols, { headers });
    }
  }
  return wrapClient(new Centrifuge(url, { websocket: WithHeaders, token, minReconnectDelay: 50, maxReconnectDelay: 300 }));
}

export const wsUrl = (port: number): string => `ws://127.0.0.1:${port}/connection/websocket`;
