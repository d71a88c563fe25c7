/**
 * The uni_grpc transport (`uni_grpc.*`): built from the config, or undefined when off. Its TLS
 * (`uni_grpc.tls`) takes the PEM forms of the listeners' (raw PEM, base64 PEM or a file path);
 * `client_ca_pem` requires client certificates signed by it. Unusable settings stop startup
 * with an error naming the key.
 */
import type { Config } from '../config/schema.js';
import type { Node } from '../node/node.js';
import type { Logger } from '../util/logger.js';
import { UniGrpcServer } from '../transport/uni-grpc/server.js';
import type { SideServer } from './side-server.js';
import { serverTls } from './tls-options.js';
import { messageOf } from '../util/message-of.js';

export function createUniGrpc(config: Readonly<Config>, node: Node, log: Logger): SideServer | undefined {
  const c = config.uni_grpc;
  if (!c.enabled) return undefined;
  const server = new UniGrpcServer(node, {
    address: c.address,
    port: c.port,
    ...(c.tls.enabled ? { tls: serverTls(c.tls, 'uni_grpc.tls') } : {}),
    maxReceiveMessageSize: c.max_receive_message_size,
  });
  return {
    async start() {
      let port: number;
      try {
        port = await server.start();
      } catch (err) {
        throw new Error(`uni_grpc.port: ${messageOf(err)}`, { cause: err });
      }
      log.info({ port, tls: c.tls.enabled }, 'uni_grpc: serving CentrifugoUniStream');
      return port;
    },
    stop: (timeoutMs) => server.stop(timeoutMs),
  };
}
