/**
 * Starts a real Rotor server on a free port for a test: the full App (the `TEST_ENGINE` engine,
 * memory by default; HTTP listeners, WebSocket transport) built from a config object given in
 * file form.
 */
import { SignJWT } from 'jose';
import { answerOf } from './http-answer.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { App, type AppAddress, type AppParts } from '../../src/app/app.js';
import type { Logger } from '../../src/util/logger.js';
import { TEST_ENGINE } from './test-engine.js';

export const SECRET = 'test-hmac-secret';
export const API_KEY = 'test-api-key';

export interface TestServer {
  app: App;
  port: number;
  /** Every port the app bound (the gRPC API's and uni_grpc's when enabled). */
  address: AppAddress;
  wsUrl: string;
  httpUrl: string;
  /** Logged error lines (tests can assert nothing unexpected was logged). */
  errors: unknown[];
  /** Logged debug lines: among them the repeats of an error the node logs once per window (util/rate-log.ts). */
  debug: unknown[];
  /** Logged info lines. */
  info: unknown[];
  /** Logged warnings. */
  warnings: unknown[];
  api(method: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

/** A typical test config: HMAC tokens, API key, a `chat` namespace open to clients. */
export const BASE_CONFIG: ConfigInput = {
  http_server: { port: 0 },
  client: { token: { hmac_secret_key: SECRET }, allowed_origins: ['http://allowed.example'] },
  http_api: { key: API_KEY },
  health: { enabled: true },
};

/**
 * `parts` replace what the config would make: the engine (a broker with injected delays, say),
 * metrics. The engine is `TEST_ENGINE`'s (see test-engine.ts) unless `overrides` or `parts` say
 * otherwise.
 */
export async function startServer(overrides: ConfigInput = {}, parts: AppParts = {}): Promise<TestServer> {
  const base = deepMerge(BASE_CONFIG as Record<string, unknown>, TEST_ENGINE.serverConfig() as Record<string, unknown>);
  const config = configSchema.parse(deepMerge(base, overrides as Record<string, unknown>));
  const errors: unknown[] = [];
  const debug: unknown[] = [];
  const info: unknown[] = [];
  const warnings: unknown[] = [];
  const noop = () => {};
  const log: Logger = { trace: noop, debug: (...a: unknown[]) => debug.push(a), info: (...a: unknown[]) => info.push(a), warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => errors.push(a) };
  const app = await App.create(config, log, parts);
  let address: AppAddress;
  try {
    address = await app.start();
  } catch (err) {
    // What did start (the node, a listener) is stopped again.
    await app.stop(2000);
    throw err;
  }
  const { port } = address;
  const httpUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    port,
    address,
    wsUrl: `ws://127.0.0.1:${port}/connection/websocket`,
    httpUrl,
    errors,
    debug,
    info,
    warnings,
    async api(method, body, headers = {}) {
      const res = await fetch(`${httpUrl}/api/${method}`, {
        method: 'POST',
        headers: { 'X-API-Key': API_KEY, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return answerOf(res);
    },
    stop: () => app.stop(2000),
  };
}

/** HS256 connection token. `ttl` seconds; omit for no `exp`. */
export async function connToken(user: string, claims: Record<string, unknown> = {}, ttl?: number, secret = SECRET): Promise<string> {
  const jwt = new SignJWT({ sub: user, ...claims }).setProtectedHeader({ alg: 'HS256' });
  if (ttl !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** HS256 subscription token for `channel`. */
export async function subToken(user: string, channel: string, claims: Record<string, unknown> = {}, ttl?: number): Promise<string> {
  return connToken(user, { channel, ...claims }, ttl);
}

/** Runs `fn` against a fresh server and always stops it. */
export async function withServer(overrides: ConfigInput, fn: (srv: TestServer) => Promise<void>): Promise<void> {
  const srv = await startServer(overrides);
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}
