/**
 * An in-process Rotor with the gRPC server API on (`grpc_api.port: 0`), as `startServer` in
 * server.ts builds one (BASE_CONFIG, TEST_ENGINE, the same log capture), plus the port the gRPC
 * API bound. server.ts's `TestServer` does not keep `AppAddress.grpcApiPort`, hence this copy of
 * its start.
 */
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { App } from '../../src/app/app.js';
import type { Logger } from '../../src/util/logger.js';
import { API_KEY, BASE_CONFIG, type TestServer } from './server.js';
import { TEST_ENGINE } from './test-engine.js';

export interface GrpcTestServer extends TestServer {
  /** Port of the gRPC API. */
  grpcPort: number;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `b` over `a`, objects merged key by key, everything else replaced. */
export function merge(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isPlain(v) && isPlain(cur) ? merge(cur, v) : v;
  }
  return out;
}

export async function startGrpcApiServer(overrides: ConfigInput = {}): Promise<GrpcTestServer> {
  const withGrpc = merge({ grpc_api: { enabled: true, port: 0 } }, overrides as Plain);
  const config = configSchema.parse(merge(merge(BASE_CONFIG as Plain, TEST_ENGINE.serverConfig() as Plain), withGrpc));
  const errors: unknown[] = [];
  const noop = (): void => {};
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: (...a: unknown[]) => errors.push(a) };
  const app = await App.create(config, log);
  let address;
  try {
    address = await app.start();
  } catch (err) {
    await app.stop(2000);
    throw err;
  }
  if (address.grpcApiPort === undefined) throw new Error('grpc_api is enabled but App reported no grpcApiPort');
  const httpUrl = `http://127.0.0.1:${address.port}`;
  return {
    app,
    port: address.port,
    grpcPort: address.grpcApiPort,
    wsUrl: `ws://127.0.0.1:${address.port}/connection/websocket`,
    httpUrl,
    errors,
    async api(method, body, headers = {}) {
      const res = await fetch(`${httpUrl}/api/${method}`, {
        method: 'POST',
        headers: { 'X-API-Key': API_KEY, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* plain-text answers stay strings */
      }
      return { status: res.status, body: parsed };
    },
    stop: () => app.stop(2000),
  };
}
