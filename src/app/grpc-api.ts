/**
 * The gRPC server API (`grpc_api.*`): built from the config, or undefined when off. TLS PEM values
 * take the same forms as the HTTP listeners' (raw PEM, base64 PEM or a file path) and are checked
 * here, so a bad certificate stops startup naming its key.
 */
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { ApiContext } from '../api/methods.js';
import { GrpcApiServer, type GrpcTls } from '../api/grpc/server.js';
import type { Logger } from '../util/logger.js';
import type { SideServer } from './side-server.js';
import { pemText } from './tls-options.js';

export function createGrpcApi(config: Readonly<Config>, ctx: ApiContext, log: Logger): SideServer | undefined {
  const g = config.grpc_api;
  if (!g.enabled) return undefined;
  const server = new GrpcApiServer(
    ctx,
    {
      address: g.address,
      port: g.port,
      key: g.key,
      errorMode: g.error_mode,
      ...(g.tls.enabled ? { tls: grpcTls(g.tls) } : {}),
      reflection: g.reflection,
      maxReceiveMessageSize: g.max_receive_message_size,
    },
    log,
  );
  return {
    async start() {
      let port: number;
      try {
        port = await server.start();
      } catch (err) {
        throw new Error(`grpc_api.port: cannot listen on ${g.address}:${g.port}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      log.info({ port, tls: g.tls.enabled, auth: g.key !== '', reflection: g.reflection }, 'gRPC API listening');
      return port;
    },
    stop: (timeoutMs) => server.stop(timeoutMs),
  };
}

function grpcTls(t: Config['grpc_api']['tls']): GrpcTls {
  const path = 'grpc_api.tls';
  if (t.cert_pem === '') throw new Error(`${path}.cert_pem: required when ${path}.enabled is true`);
  if (t.key_pem === '') throw new Error(`${path}.key_pem: required when ${path}.enabled is true`);
  const out: GrpcTls = { cert: pemText(`${path}.cert_pem`, t.cert_pem), key: pemText(`${path}.key_pem`, t.key_pem) };
  if (t.client_ca_pem !== '') out.clientCa = pemText(`${path}.client_ca_pem`, t.client_ca_pem);
  try {
    createSecureContext({ cert: out.cert, key: out.key, ...(out.clientCa !== undefined ? { ca: out.clientCa } : {}) });
  } catch (err) {
    throw new Error(`${path}: cannot use cert_pem/key_pem: ${(err as Error).message}`);
  }
  return out;
}
