/**
 * A gRPC server API client for tests, built from `src/api/grpc/api.proto` itself (parsed here with
 * protobufjs's full build and the .proto's own snake_case names), not from Rotor's runtime schema:
 * what it sends and reads is what any client generated from the .proto would.
 *
 * Responses come back as plain objects (`toObject`: 64-bit numbers as numbers, bytes as Buffers,
 * absent fields left out); gRPC errors reject with grpc-js's `ServiceError`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials as grpcCredentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO = fileURLToPath(new URL('../../src/api/grpc/api.proto', import.meta.url));
export const API_SERVICE = 'centrifugal.centrifugo.api.CentrifugoApi';

export const protoRoot = protobuf.parse(readFileSync(PROTO, 'utf8'), { keepCase: true }).root;
protoRoot.resolveAll();
const service = protoRoot.lookupService(API_SERVICE);

/** A decoded response message. */
export type Reply = Record<string, any>;

export interface GrpcApiClientOptions {
  /** Sent as `authorization: apikey <key>` with every call. */
  key?: string;
  /** Insecure when absent. */
  creds?: ChannelCredentials;
  /** Extra channel options (`grpc.ssl_target_name_override`, ...). */
  channelOptions?: Record<string, string | number>;
}

export class GrpcApiClient {
  readonly client: Client;

  constructor(
    target: string,
    private readonly opts: GrpcApiClientOptions = {},
  ) {
    this.client = new Client(target, opts.creds ?? grpcCredentials.createInsecure(), opts.channelOptions ?? {});
  }

  /** Calls `rpc` (`Publish`, `PresenceStats`, ...) with `request` given in the .proto's field names. */
  call(rpc: string, request: Record<string, unknown>, metadata: Record<string, string> = {}): Promise<Reply> {
    const m = service.methods[rpc];
    if (m === undefined) throw new Error(`no RPC ${rpc} in api.proto`);
    const req = protoRoot.lookupType(m.requestType);
    const res = protoRoot.lookupType(m.responseType);
    const err = req.verify(request);
    if (err !== null) throw new Error(`${rpc} request: ${err}`);
    return this.raw(`/${API_SERVICE}/${rpc}`, Buffer.from(req.encode(req.fromObject(request)).finish()), metadata).then((b) =>
      res.toObject(res.decode(b), { longs: Number }),
    );
  }

  /** Sends `body` as the request of `path` and resolves with the response bytes. */
  raw(path: string, body: Buffer, metadata: Record<string, string> = {}): Promise<Buffer> {
    const md = new Metadata();
    if (this.opts.key !== undefined) md.set('authorization', `apikey ${this.opts.key}`);
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + 10_000 },
        (e: ServiceError | null, value?: Buffer) => (e !== null ? reject(e) : resolve(value ?? Buffer.alloc(0))),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Rejects unless `p` fails with gRPC status `code`; returns the error. */
export async function rejectsWithStatus(p: Promise<unknown>, code: number, what: string): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    const se = e as ServiceError;
    if (se.code !== code) throw new Error(`${what}: expected gRPC status ${code}, got ${se.code} (${se.details})`, { cause: e });
    return se;
  }
  throw new Error(`${what}: expected gRPC status ${code}, but the call succeeded`);
}
