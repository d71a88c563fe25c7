/** An in-process Rotor (`startServer`) with the gRPC server API on (`grpc_api.port: 0`), and the port it bound. */
import type { ConfigInput } from '../../src/config/schema.js';
import { startServer, type TestServer } from './server.js';

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
  const srv = await startServer(merge({ grpc_api: { enabled: true, port: 0 } }, overrides as Plain) as ConfigInput);
  const grpcPort = srv.address.grpcApiPort;
  if (grpcPort === undefined) {
    await srv.stop();
    throw new Error('grpc_api is enabled but App reported no grpcApiPort');
  }
  return { ...srv, grpcPort };
}
