/** Placeholder until the gRPC proxy caller lands: a `grpc://` endpoint is refused at startup. */
import type { ConnectionOptions } from 'node:tls';
import type { ProxyAnswer, ProxyCaller, ProxyMethod, ProxyRequests, ProxyResults } from '../types.js';

export interface GrpcProxyOptions {
  name: string;
  /** `grpc://host:port`. */
  endpoint: string;
  timeoutMs: number;
  /** `grpc.tls`; undefined: an insecure connection. */
  tls: ConnectionOptions | undefined;
  /** `grpc.credentials_key` / `credentials_value`: per-call credentials. */
  credentials: { key: string; value: string } | undefined;
  /** gzip requests. */
  compression: boolean;
  /** Keys lower-case; beneath the forwarded headers. */
  staticMetadata: ReadonlyMap<string, string>;
}

export class GrpcProxyCaller implements ProxyCaller {
  readonly name: string;
  constructor(opts: GrpcProxyOptions) {
    this.name = opts.name;
    throw new Error(`${opts.name}.endpoint: gRPC proxies are not implemented yet`);
  }
  call<M extends ProxyMethod>(_m: M, _r: ProxyRequests[M], _f: ReadonlyMap<string, string>): Promise<ProxyAnswer<ProxyResults[M]>> {
    return Promise.reject(new Error('not implemented'));
  }
  async close(): Promise<void> {}
}
