/**
 * Batches over gRPC: each batch is one unary call carrying a `NotifyRequest` (notify.proto) to
 * `method` on a `grpc://host:port` endpoint, with a deadline of the timeout, the static metadata
 * and the per-call credential configured, over TLS when configured, gzip-compressed when asked.
 * One `@grpc/grpc-js` client (one HTTP/2 connection) per sender, reconnected by grpc-js.
 */
import { Client, Metadata, credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { LifecycleEvent } from './events.js';
import { decodeNotifyResponse, encodeNotifyRequest, type WireResponse } from './codec.js';
import { SENT, errorOutcome, type SendOutcome, type Sender } from './sender.js';
import { messageOf } from '../util/message-of.js';

/** gRPC statuses worth retrying: the backend may answer otherwise next time. */
const RETRYABLE = new Set<number>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
  status.UNKNOWN,
  status.CANCELLED,
]);

/** grpc-js's channel option value for gzip (`grpc.default_compression_algorithm`). */
const GZIP = 2;

export interface GrpcSenderOptions {
  /** `grpc://host:port`. */
  endpoint: string;
  /** The full method path, `/package.Service/Method`. */
  method: string;
  /** A batch not answered within this is retried, ms. */
  timeoutMs: number;
  /** TLS to the backend (PEM text); plaintext when absent. */
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string; insecureSkipVerify?: boolean };
  /** Metadata added to every call; the credential (`credentials_key`) wins over a static entry of the same key. */
  metadata: Readonly<Record<string, string>>;
  /** gzip-compress requests. */
  compression: boolean;
}

export class GrpcSender implements Sender {
  readonly target: string;
  readonly #client: Client;
  readonly #opts: GrpcSenderOptions;
  /** Built once: a key gRPC refuses throws here, at startup, not inside every send. */
  readonly #metadata: Metadata;

  constructor(opts: GrpcSenderOptions) {
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'grpc:' || url.host === '') throw new Error(`not a grpc://host:port URL: ${opts.endpoint}`);
    this.#opts = opts;
    this.target = `grpc://${url.host}${opts.method}`;
    const channelOptions: Record<string, string | number> = {};
    if (opts.compression) channelOptions['grpc.default_compression_algorithm'] = GZIP;
    if (opts.tls?.serverName !== undefined) channelOptions['grpc.ssl_target_name_override'] = opts.tls.serverName;
    const md = new Metadata();
    try {
      for (const [k, v] of Object.entries(opts.metadata)) md.set(k, v);
    } catch (err) {
      throw new Error(`metadata for ${opts.endpoint}: ${messageOf(err)}`, { cause: err });
    }
    this.#metadata = md;
    this.#client = new Client(url.host, channelCredentials(opts.tls), channelOptions);
  }

  send(events: readonly LifecycleEvent[], abort: AbortSignal): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      const md = this.#metadata.clone();
      const call = this.#client.makeUnaryRequest<Buffer, WireResponse | Error>(
        this.#opts.method,
        (b) => b,
        decodeNotifyResponse,
        encodeNotifyRequest(events),
        md,
        { deadline: Date.now() + this.#opts.timeoutMs },
        (err: ServiceError | null, answer?: WireResponse | Error) => {
          abort.removeEventListener('abort', cancel);
          if (err !== null) {
            const why = `gRPC ${status[err.code] ?? err.code}: ${err.details}`;
            resolve(RETRYABLE.has(err.code) ? { kind: 'retry', why } : { kind: 'drop', why });
            return;
          }
          // An answer that is not a NotifyResponse still says the call succeeded.
          resolve(answer instanceof Error || answer === undefined ? SENT : (errorOutcome(answer.error) ?? SENT));
        },
      );
      const cancel = (): void => call.cancel();
      if (abort.aborted) call.cancel();
      else abort.addEventListener('abort', cancel, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

function channelCredentials(tls: GrpcSenderOptions['tls']): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  const buf = (s: string | undefined): Buffer | null => (s === undefined ? null : Buffer.from(s));
  return credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert), tls.insecureSkipVerify === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}
