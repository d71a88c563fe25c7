/**
 * The gRPC server API (`grpc_api.*`): built from the config, or undefined when off. TLS PEM values
 * take the same forms as the HTTP listeners' (raw PEM, base64 PEM or a file path) and are checked
 * here, so a bad certificate stops startup naming its key.
 */
import type { Config } from '../config/schema.js';
import type { ApiContext } from '../api/methods.js';
import { GrpcApiServer } from '../api/grpc/server.js';
import type { Logger } from '../util/logger.js';
import type { SideServer } from './side-server.js';
import { serverTls } from './tls-options.js';
import { messageOf } from '../util/message-of.js';

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
      ...(g.tls.enabled ? { tls: serverTls(g.tls, 'grpc_api.tls') } : {}),
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
        throw new Error(`grpc_api.port: ${messageOf(err)}`, { cause: err });
      }
      log.info({ port, tls: g.tls.enabled, auth: g.key !== '', reflection: g.reflection }, 'gRPC API listening');
      return port;
    },
    stop: (timeoutMs) => server.stop(timeoutMs),
  };
}
