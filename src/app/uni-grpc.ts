/**
 * The uni_grpc transport (`uni_grpc.*`): built from the config, or undefined when off. Its TLS
 * (`uni_grpc.tls`) takes the PEM forms of the listeners' (raw PEM, base64 PEM or a file path);
 * `client_ca_pem` requires client certificates signed by it. Unusable settings stop startup
 * with an error naming the key.
 */
import { createSecureContext } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import type { Config } from '../config/schema.js';
import type { Node } from '../node/node.js';
import type { Logger } from '../util/logger.js';
import { UniGrpcServer } from '../transport/uni-grpc/server.js';
import type { SideServer } from './side-server.js';
import { pemText } from './tls-options.js';

export function createUniGrpc(config: Readonly<Config>, node: Node, log: Logger): SideServer | undefined {
  const c = config.uni_grpc;
  if (!c.enabled) return undefined;
  const server = new UniGrpcServer(node, {
    address: c.address,
    port: c.port,
    credentials: credentials(c.tls, 'uni_grpc.tls'),
    maxReceiveMessageSize: c.max_receive_message_size,
  });
  return {
    async start() {
      let port: number;
      try {
        port = await server.start();
      } catch (err) {
        throw new Error(`uni_grpc.port: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      log.info({ port, tls: c.tls.enabled }, 'uni_grpc: serving CentrifugoUniStream');
      return port;
    },
    stop: (timeoutMs) => server.stop(timeoutMs),
  };
}

function credentials(t: Config['uni_grpc']['tls'], path: string): ServerCredentials {
  if (!t.enabled) return ServerCredentials.createInsecure();
  if (t.cert_pem === '') throw new Error(`${path}.cert_pem: required when ${path}.enabled is true`);
  if (t.key_pem === '') throw new Error(`${path}.key_pem: required when ${path}.enabled is true`);
  const cert = pemText(`${path}.cert_pem`, t.cert_pem);
  const key = pemText(`${path}.key_pem`, t.key_pem);
  const ca = t.client_ca_pem !== '' ? pemText(`${path}.client_ca_pem`, t.client_ca_pem) : undefined;
  try {
    // grpc-js loads the pair only when binding; a wrong or mismatched key should fail here, by name.
    createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  } catch (err) {
    throw new Error(`${path}: cannot use cert_pem/key_pem: ${(err as Error).message}`, { cause: err });
  }
  const pair = { cert_chain: Buffer.from(cert), private_key: Buffer.from(key) };
  return ServerCredentials.createSsl(ca !== undefined ? Buffer.from(ca) : null, [pair], ca !== undefined);
}
