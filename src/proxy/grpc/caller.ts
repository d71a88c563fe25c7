/**
 * A proxy over gRPC (`grpc://host:port`): each call is a unary RPC of
 * `centrifugal.centrifugo.proxy.CentrifugoProxy` (proxy.proto) on one `@grpc/grpc-js` channel per
 * proxy, opened lazily at the first call and kept (HTTP/2 multiplexes every call on it). As in
 * Centrifugo v6:
 *
 * - `timeout` is each call's deadline; no answer by then is DEADLINE_EXCEEDED.
 * - `grpc.tls` enabled: TLS (`server_ca_pem`, else the system's roots; `cert_pem`/`key_pem` for
 *   mutual TLS; `server_name`; `insecure_skip_verify`); otherwise a plaintext (h2c) channel.
 * - `grpc.credentials_key`/`credentials_value`: metadata on every call, on a plaintext channel
 *   too. Centrifugo's per-call credentials do not require transport security; grpc-js refuses
 *   call credentials on an insecure channel, so the pair is written into each call's metadata.
 * - `grpc.compression`: requests gzip-compressed (`grpc-encoding: gzip`).
 * - Metadata, from lowest to highest priority: `grpc.static_metadata`, the connection's forwarded
 *   headers (names lower-case), the credentials pair (a client cannot replace it with a header of
 *   the same name).
 * - Calls fail fast while the backend is unreachable (no wait-for-ready): UNAVAILABLE at once,
 *   and grpc-js retries the connection in the background with exponential backoff (1 s first).
 *
 * Any status other than OK, and an answer that does not decode, is a `ProxyCallError` whose
 * message starts with the status name. Answers are limited to gRPC's default 4 MiB
 * (RESOURCE_EXHAUSTED beyond), as Centrifugo's Go client is.
 */
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { Client, credentials, Metadata, status, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { ProxyCallError, type ProxyAnswer, type ProxyCaller, type ProxyMethod, type ProxyRequests, type ProxyResults, type SubscribeProxyRequest } from '../types.js';
import { asIs, decodeResponse, encodeRequest, RPCS, toBuffer } from './codec.js';
import { SubscribeStream } from './subscribe-stream.js';
import { messageOf } from '../../util/message-of.js';

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

/** grpc-js's number for gzip in `grpc.default_compression_algorithm`. */
const GZIP = 2;

/** Requests are encoded and answers decoded by codec.ts; grpc-js moves bytes. */

export class GrpcProxyCaller implements ProxyCaller {
  readonly name: string;
  readonly #client: Client;
  readonly #timeoutMs: number;
  /** `static_metadata` alone, checked once; each call starts from a clone. */
  readonly #static: Metadata;
  readonly #credentials: { key: string; value: string } | undefined;
  #closed = false;

  /** Throws, naming `<name>.endpoint` or `<name>.grpc.*`, when an option cannot be used. */
  constructor(opts: GrpcProxyOptions) {
    this.name = opts.name;
    this.#timeoutMs = opts.timeoutMs;
    this.#static = new Metadata();
    for (const [k, v] of opts.staticMetadata) setEntry(this.#static, k, v, (why) => new Error(`${opts.name}.grpc.static_metadata: ${why}`));
    if (opts.credentials !== undefined) {
      const c = { key: opts.credentials.key.toLowerCase(), value: opts.credentials.value };
      setEntry(new Metadata(), c.key, c.value, (why) => new Error(`${opts.name}.grpc.credentials_key/credentials_value: ${why}`));
      this.#credentials = c;
    }
    const options: ChannelOptions = {};
    if (opts.compression) options['grpc.default_compression_algorithm'] = GZIP;
    if (opts.tls?.servername !== undefined) options['grpc.ssl_target_name_override'] = opts.tls.servername;
    this.#client = new Client(target(opts.endpoint, opts.name), channelCredentials(opts.tls), options);
  }

  call<M extends ProxyMethod>(method: M, request: ProxyRequests[M], forwarded: ReadonlyMap<string, string>): Promise<ProxyAnswer<ProxyResults[M]>> {
    return new Promise((resolve, reject) => {
      const md = this.#metadata(forwarded);
      if (this.#closed) throw new ProxyCallError('the proxy is closed');
      this.#client.makeUnaryRequest(
        RPCS[method].path,
        toBuffer,
        asIs,
        encodeRequest(method, request),
        md,
        { deadline: Date.now() + this.#timeoutMs },
        (err: ServiceError | null, answer?: Buffer) => {
          if (err !== null) return reject(callFailure(err, this.#timeoutMs));
          try {
            resolve(decodeResponse(method, answer ?? Buffer.alloc(0)));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }

  /**
   * Opens a `SubscribeUnidirectional` (or `SubscribeBidirectional`) stream for a subscription: see
   * `SubscribeStream`. The first answer must come within `timeout`; publications after it have no
   * deadline. Throws ProxyCallError when a forwarded header cannot be gRPC metadata or the proxy
   * is closed.
   */
  openSubscribeStream(request: SubscribeProxyRequest, forwarded: ReadonlyMap<string, string>, bidirectional = false): SubscribeStream {
    if (this.#closed) throw new ProxyCallError('the proxy is closed');
    return new SubscribeStream(this.#client, request, this.#metadata(forwarded), this.#timeoutMs, bidirectional);
  }

  /** Closes the channel once the calls and streams in flight are over; later calls fail at once. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#client.close();
  }

  #metadata(forwarded: ReadonlyMap<string, string>): Metadata {
    const md = this.#static.clone();
    for (const [k, v] of forwarded) setEntry(md, k, v, (why) => new ProxyCallError(`forwarded header ${JSON.stringify(k)} cannot be gRPC metadata: ${why}`));
    const c = this.#credentials;
    if (c !== undefined) setEntry(md, c.key, c.value, (why) => new ProxyCallError(`credentials metadata: ${why}`));
    return md;
  }
}

/**
 * Sets one metadata entry; gRPC allows keys of `0-9a-z_.-` and text values of printable ASCII.
 * A `-bin` key carries bytes: the value's Latin-1 code units, as Node holds header bytes.
 */
function setEntry(md: Metadata, key: string, value: string, fail: (why: string) => Error): void {
  try {
    if (key.endsWith('-bin')) md.set(key, Buffer.from(value, 'latin1'));
    else md.set(key, value);
  } catch (e) {
    throw fail(messageOf(e));
  }
}

/** `host:port` of `grpc://host:port` (a path, if any, is ignored as Centrifugo does). */
function target(endpoint: string, name: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`${name}.endpoint: "${endpoint}" is not a grpc://host:port address`);
  }
  if (url.protocol !== 'grpc:' || url.host === '') throw new Error(`${name}.endpoint: "${endpoint}" is not a grpc://host:port address`);
  return url.host;
}

function channelCredentials(tls: ConnectionOptions | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  const context = createSecureContext({
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  });
  // With insecure_skip_verify grpc-js accepts a certificate Node could not verify, name included.
  return credentials.createFromSecureContext(context, tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {});
}

function callFailure(err: ServiceError, timeoutMs: number): ProxyCallError {
  const name = status[err.code] ?? `status ${err.code}`;
  const why = err.code === status.DEADLINE_EXCEEDED ? `no answer within ${timeoutMs} ms` : err.details;
  return new ProxyCallError(`${name}: ${why}`, undefined, { cause: err });
}
