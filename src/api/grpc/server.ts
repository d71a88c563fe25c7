/**
 * The server API over gRPC: service `centrifugal.centrifugo.api.CentrifugoApi` (api.proto) on a
 * grpc-js server of its own. Every RPC runs the HTTP API's method from the same table
 * (`api/methods.ts`), with its request decoded into the object an HTTP request body parses to
 * (codec.ts), so both APIs answer the same.
 *
 * Per call, in order:
 * 1. with a key configured, the first `authorization` metadata value must be exactly
 *    `apikey <key>` (compared in constant time), else UNAUTHENTICATED; without a key no auth, as
 *    Centrifugo;
 * 2. while the node shuts down, UNAVAILABLE;
 * 3. a request that is not a valid message of the RPC's type: INTERNAL, as grpc-go answers
 *    ("grpc: error unmarshalling request");
 * 4. the method runs; its result goes in `result`, an API error in `error` (107 bad request and the
 *    rest). In transport error mode (the option, or metadata `x-centrifugo-error-mode: transport`)
 *    an API error is a gRPC status instead (status.ts). Batch answers its errors per reply in
 *    every mode.
 *
 * Messages larger than `maxReceiveMessageSize` are refused by grpc-js with RESOURCE_EXHAUSTED
 * before anything is decoded; an RPC the service lacks is UNIMPLEMENTED.
 */
import { timingSafeEqual } from 'node:crypto';
import { Server, status as GrpcStatus, type Metadata, type MethodDefinition, type ServerUnaryCall, type sendUnaryData, type UntypedHandleCall } from '@grpc/grpc-js';
import { callMethod, errorObject, type ApiContext } from '../methods.js';
import type { Logger } from '../../util/logger.js';
import { encodeResult, messageToApi } from './codec.js';
import { API_FILE, API_RPCS, API_SERVICE, apiPackage, type ApiRpc } from './schema.js';
import { apiErrorStatus, statusError } from './status.js';
import { Reflection } from './reflection.js';
import { fileDescriptorBytes } from './file-descriptor.js';
import type { ListenerTls } from '../../http/server.js';
import { bindGrpc, grpcCredentials, stopGrpc } from '../../http/grpc-listener.js';

/** grpc-js's and grpc-go's default largest received message: 4 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE = 4 * 1024 * 1024;

export interface GrpcApiOptions {
  /** Host to bind; empty binds every interface (IPv6 and IPv4 where the host has both). */
  address: string;
  /** 0 lets the OS pick. */
  port: number;
  /** Expected in `authorization: apikey <key>`; empty turns auth off. */
  key: string;
  /** `transport` answers API errors as gRPC statuses; anything else puts them in `error`. */
  errorMode: string;
  /** Plaintext when absent; `clientCa` requires client certificates (mutual TLS). */
  tls?: ListenerTls;
  /** Serves gRPC server reflection. */
  reflection: boolean;
  /** Largest request message in bytes; 0 means `DEFAULT_MAX_RECEIVE_MESSAGE_SIZE`. */
  maxReceiveMessageSize: number;
}

const identity = (b: Buffer): Buffer => b;

export class GrpcApiServer {
  private readonly server: Server;
  private readonly keyBuf: Buffer | undefined;
  private started = false;

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: GrpcApiOptions,
    private readonly log: Logger,
  ) {
    this.keyBuf = opts.key !== '' ? Buffer.from(`apikey ${opts.key}`) : undefined;
    const maxReceive = opts.maxReceiveMessageSize > 0 ? opts.maxReceiveMessageSize : DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
    this.server = new Server({ 'grpc.max_receive_message_length': maxReceive });
    const definition: Record<string, MethodDefinition<Buffer, Buffer>> = {};
    const handlers: Record<string, UntypedHandleCall> = {};
    for (const rpc of API_RPCS) {
      definition[rpc.name] = {
        path: `/${API_SERVICE}/${rpc.name}`,
        requestStream: false,
        responseStream: false,
        // Bytes pass through grpc-js as they are; the handler decodes, so it chooses the answer to
        // a malformed message.
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      };
      handlers[rpc.name] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.handle(rpc, call).then(
          (answer) => callback(null, answer),
          (err: unknown) => callback(this.asStatus(err, rpc)),
        );
      };
    }
    this.server.addService(definition, handlers);
    if (opts.reflection) {
      const goPackage = apiPackage.getOption('go_package');
      const bytes = fileDescriptorBytes(apiPackage, API_FILE, typeof goPackage === 'string' ? goPackage : undefined);
      const reflection = new Reflection([API_SERVICE], [{ name: API_FILE, ns: apiPackage, bytes }]);
      for (const { definition: d, handlers: h } of reflection.definitions()) this.server.addService(d, h);
    }
  }

  /** Binds and serves; resolves with the bound port (see `bindGrpc`). */
  async start(): Promise<number> {
    const port = await bindGrpc(this.server, this.opts.address, this.opts.port, grpcCredentials(this.opts.tls));
    this.started = true;
    return port;
  }

  /** Refuses new calls, lets running ones finish for up to `timeoutMs`, then cuts them. */
  stop(timeoutMs: number): Promise<void> {
    if (!this.started) {
      this.server.forceShutdown();
      return Promise.resolve();
    }
    return stopGrpc(this.server, timeoutMs);
  }

  private async handle(rpc: ApiRpc, call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    if (!this.authorized(call.metadata)) throw statusError(GrpcStatus.UNAUTHENTICATED, 'unauthenticated');
    if (this.ctx.node.isShuttingDown) throw statusError(GrpcStatus.UNAVAILABLE, 'shutting down');
    let decoded: Record<string, unknown>;
    try {
      decoded = rpc.request.decode(call.request) as unknown as Record<string, unknown>;
    } catch (err) {
      throw statusError(GrpcStatus.INTERNAL, `grpc: error unmarshalling request: ${(err as Error).message}`);
    }
    const request = messageToApi(rpc.request, decoded);
    let result;
    try {
      result = await callMethod(this.ctx, 'grpc', rpc.method, request);
    } catch (err) {
      const eo = errorObject(err);
      if (eo.code === 100) this.ctx.node.rateLog.error({ err, method: rpc.method, api: 'grpc' }, 'api call failed');
      // A batch has no error of its own (BatchResponse has no `error`): it can only fail unexpectedly.
      if (rpc.method === 'batch') throw statusError(GrpcStatus.INTERNAL, eo.message);
      if (this.transportMode(call.metadata)) throw apiErrorStatus(eo);
      return encodeResult(rpc.response, { error: eo });
    }
    // BatchResponse is the batch result itself (`replies`); every other response wraps it.
    return encodeResult(rpc.response, rpc.method === 'batch' ? result : { result });
  }

  /** A status the handler chose as it is; anything else (a result that would not encode) logged and INTERNAL. */
  private asStatus(err: unknown, rpc: ApiRpc): ReturnType<typeof statusError> {
    if (isStatus(err)) return err;
    this.log.error({ err, method: rpc.method, api: 'grpc' }, 'gRPC API call failed');
    return statusError(GrpcStatus.INTERNAL, 'internal server error');
  }

  private authorized(md: Metadata): boolean {
    if (this.keyBuf === undefined) return true;
    const given = md.get('authorization')[0];
    if (given === undefined) return false;
    const g = Buffer.from(given);
    return g.length === this.keyBuf.length && timingSafeEqual(g, this.keyBuf);
  }

  private transportMode(md: Metadata): boolean {
    if (this.opts.errorMode === 'transport') return true;
    const v = md.get('x-centrifugo-error-mode')[0];
    return typeof v === 'string' && v.toLowerCase() === 'transport';
  }
}

function isStatus(e: unknown): e is ReturnType<typeof statusError> {
  return e !== null && typeof e === 'object' && 'code' in e && typeof e.code === 'number' && 'details' in e && typeof e.details === 'string';
}

