/**
 * Listening for Rotor's gRPC servers (the gRPC API, uni_grpc): TLS credentials from the same
 * `ListenerTls` the HTTP listeners take, binding, and a bounded stop.
 */
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import type { ListenerTls } from './server.js';

/** Plaintext without `tls`; with `tls.clientCa`, clients must present a certificate it signed. */
export function grpcCredentials(tls: ListenerTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const ca = tls.clientCa !== undefined ? Buffer.from(tls.clientCa) : null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], ca !== null);
}

/**
 * Binds `server`; resolves with the port (the system's pick for 0). An empty `address` means every
 * interface: `[::]` (IPv6 and IPv4 on a dual-stack host), else `0.0.0.0` on a host without IPv6,
 * as node:http does for an empty host. Rejects with `cannot listen on <target>: <reason>` (the
 * IPv4 attempt's reason when both fail).
 */
export async function bindGrpc(server: Server, address: string, port: number, creds: ServerCredentials): Promise<number> {
  if (address !== '') return bind(server, hostPort(address, port), creds);
  try {
    return await bind(server, hostPort('::', port), creds);
  } catch {
    return bind(server, hostPort('0.0.0.0', port), creds);
  }
}

/** Refuses new calls (HTTP/2 GOAWAY), lets open ones end for up to `timeoutMs`, then cuts them. */
export function stopGrpc(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function bind(server: Server, target: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, creds, (err, port) => {
      if (err === null) resolve(port);
      else reject(new Error(`cannot listen on ${target}: ${err.message}`, { cause: err }));
    });
  });
}

/** `host:port`, an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
