/**
 * The uni_grpc server (spec §8.9, §8.10): `centrifugal.centrifugo.unistream.CentrifugoUniStream`
 * on a port of its own. Each `Consume(ConnectRequest)` call is one unidirectional connection,
 * as on uni_websocket or uni_http_stream: the request goes to `Session.connectUnidirectional`,
 * the call receives bare Push messages (the `connect` push first, `{}`-style empty pushes as
 * pings), and a disconnect is a `disconnect` push followed by the end of the call with status OK.
 * The client cancelling the call closes the session (3000). The call's text metadata reaches
 * proxies (`grpc_metadata`). Like Centrifugo, the transport is outside `connection_limit` and
 * `connection_rate_limit`.
 *
 * Refused calls end with a gRPC status and never become sessions: a malformed ConnectRequest
 * with INTERNAL "grpc: error unmarshalling request: …" (grpc-go's answer, so Centrifugo's, and
 * the gRPC server API's), a call during shutdown with UNAVAILABLE, a request larger than the
 * receive limit with RESOURCE_EXHAUSTED (by grpc-js, before the handler).
 */
import { Server, status, type Metadata, type ServiceDefinition } from '@grpc/grpc-js';
import type { ListenerTls } from '../../http/server.js';
import { bindGrpc, grpcCredentials, stopGrpc } from '../../http/grpc-listener.js';
import { protobufCodec } from '../../protocol/protobuf/codec.js';
import type { ConnectRequest } from '../../protocol/types.js';
import type { Node } from '../../node/node.js';
import { Session, type SessionRequestInfo } from '../../node/client/session.js';
import { CONSUME_PATH, decodeConnectRequest } from './messages.js';
import { UniGrpcTransport, type ConsumeCall } from './transport.js';

export interface UniGrpcServerOptions {
  /** Host to bind; empty means every interface (IPv6 and IPv4 where the system has both). */
  address: string;
  /** 0 lets the system pick one (tests). */
  port: number;
  /** Plaintext when absent; `clientCa` requires client certificates (mutual TLS). */
  tls?: ListenerTls;
  /** Largest ConnectRequest accepted, bytes; 0 keeps gRPC's default of 4 MiB. */
  maxReceiveMessageSize: number;
}

/** Both directions stay bytes: the handler decodes the request, pushes arrive encoded. */
const passThrough = (b: Buffer): Buffer => b;

const SERVICE: ServiceDefinition = {
  Consume: {
    path: CONSUME_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
};

/** No HTTP headers on this transport: proxies get the call's metadata instead. */
const NO_HEADERS: SessionRequestInfo['headers'] = Object.freeze({});

export class UniGrpcServer {
  private readonly server: Server;

  constructor(
    private readonly node: Node,
    private readonly opts: UniGrpcServerOptions,
  ) {
    this.server = new Server(opts.maxReceiveMessageSize > 0 ? { 'grpc.max_receive_message_length': opts.maxReceiveMessageSize } : {});
    this.server.addService(SERVICE, { Consume: (call: ConsumeCall) => this.consume(call) });
  }

  /** Binds and serves; resolves with the port (see `bindGrpc`). */
  start(): Promise<number> {
    return bindGrpc(this.server, this.opts.address, this.opts.port, grpcCredentials(this.opts.tls));
  }

  /**
   * Stops taking calls at once (HTTP/2 GOAWAY) and waits for open ones to end, which the node's
   * shutdown does with a 3001 disconnect push to each; after `timeoutMs`, drops what is left.
   */
  stop(timeoutMs: number): Promise<void> {
    return stopGrpc(this.server, timeoutMs);
  }

  private consume(call: ConsumeCall): void {
    if (this.node.isShuttingDown) return refuse(call, status.UNAVAILABLE, 'shutting down');
    let req: ConnectRequest;
    try {
      req = decodeConnectRequest(call.request);
    } catch (err) {
      this.node.log.debug({ err, peer: call.getPeer() }, 'uni_grpc: malformed ConnectRequest');
      return refuse(call, status.INTERNAL, `grpc: error unmarshalling request: ${(err as Error).message}`);
    }
    const transport = new UniGrpcTransport(call);
    const session = new Session(this.node, transport, protobufCodec, { headers: NO_HEADERS, metadata: textMetadata(call.metadata) });
    // grpc-js emits 'cancelled' when the client goes away, and also once a call it ended is done;
    // closing an already closed session does nothing.
    call.on('cancelled', () => session.onTransportClosed());
    call.on('error', (err: unknown) => this.node.log.debug({ err, client: session.clientId }, 'uni_grpc call error'));
    void session.connectUnidirectional(req);
  }
}

function refuse(call: ConsumeCall, code: status, details: string): void {
  call.emit('error', { code, details });
}

/**
 * The call's metadata as proxies forward it (`grpc_metadata`): keys lower-case (HTTP/2 has them
 * so already), text values only (`-bin` keys skipped), repeated keys joined by ", " as HTTP does.
 */
export function textMetadata(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  const all = md.toJSON();
  for (const key of Object.keys(all)) {
    if (key.endsWith('-bin')) continue;
    const values = all[key]!.filter((v): v is string => typeof v === 'string');
    if (values.length === 0) continue;
    Object.defineProperty(out, key, { value: values.join(', '), writable: true, enumerable: true, configurable: true });
  }
  return out;
}
