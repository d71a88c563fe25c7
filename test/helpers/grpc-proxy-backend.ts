/**
 * An application backend for gRPC proxy tests, written as an application would write one: a real
 * `@grpc/grpc-js` server implementing `centrifugal.centrifugo.proxy.CentrifugoProxy` with
 * messages from `src/proxy/grpc/proxy.proto` parsed by protobufjs under the proto's own
 * (snake_case) field names, and no code of Rotor's. It records every call (decoded request:
 * bytes as Buffer, 64-bit integers as numbers, absent fields as proto3 defaults; and metadata)
 * and answers through a handler per RPC, which a test swaps as it goes. An RPC without a handler
 * answers UNIMPLEMENTED.
 *
 * `GrpcTap` is a TCP relay to put between Rotor and the backend: it can refuse connections (a
 * backend that is down) and counts the gRPC messages clients send, compressed or not, from the
 * HTTP/2 frames on the wire.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO = fileURLToPath(new URL('../../src/proxy/grpc/proxy.proto', import.meta.url));
const root = protobuf.parse(readFileSync(PROTO, 'utf8'), { keepCase: true }).root;
const service = root.lookupService('centrifugal.centrifugo.proxy.CentrifugoProxy');

export type RpcName =
  | 'Connect' | 'Refresh' | 'Subscribe' | 'Publish' | 'RPC' | 'SubRefresh' | 'SubscribeUnidirectional' | 'SubscribeBidirectional'
  | 'NotifyCacheEmpty' | 'NotifyChannelState' | 'MapPublish' | 'MapRemove' | 'SharedPollRefresh';

export interface GrpcProxyCall {
  method: RpcName;
  request: any;
  /** Text metadata, one value per key (the last), keys lower-case. */
  metadata: Record<string, string>;
}

/** Ends the call with a status other than OK. */
export class GrpcStatus {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {}
}

/**
 * Answers one call: a plain object is encoded as the RPC's response message (bytes fields take
 * Buffers), a Buffer is sent as it is (garbage), a GrpcStatus fails the call. A promise delays it.
 */
export type Answer = object | Buffer | GrpcStatus;
export type GrpcProxyHandler = (call: GrpcProxyCall) => Answer | Promise<Answer>;

/**
 * A SubscribeUnidirectional or SubscribeBidirectional call as the backend sees it: write
 * StreamSubscribeResponse objects. On a bidirectional one the call's request is the first
 * message's `subscribe_request`, and the later messages' publication data arrive in `received`.
 */
export interface BackendStream {
  write(message: object): void;
  end(): void;
  fail(code: grpc.status, details: string): void;
  /** Resolves when the client cancels the call. */
  readonly cancelled: Promise<void>;
  /** Publications the subscriber sent into a bidirectional stream, in order. */
  readonly received: Buffer[];
  /** Resolves with the next publication data to arrive (one already received is not counted). */
  nextReceived(): Promise<Buffer>;
}
export type GrpcStreamHandler = (call: GrpcProxyCall, stream: BackendStream) => void;
/** A stream the backend was opened, with the call that opened it. */
export interface OpenedStream {
  call: GrpcProxyCall;
  stream: BackendStream;
}

/** A call `hold` kept unanswered: `answer` ends it as a handler's return value would. */
export interface HeldGrpcCall {
  call: GrpcProxyCall;
  answer(a: Answer): void;
}

/** JSON text as bytes: a payload for JSON clients. */
export const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

export class GrpcProxyBackend {
  readonly calls: GrpcProxyCall[] = [];
  private readonly handlers = new Map<RpcName, GrpcProxyHandler>();
  private streamHandler: GrpcStreamHandler | undefined;
  private readonly waiters: { method: RpcName; pred: (c: GrpcProxyCall) => boolean; resolve: (c: GrpcProxyCall) => void }[] = [];
  private readonly server = new grpc.Server();
  port = 0;

  /** Listens on 127.0.0.1, port 0; plaintext unless `credentials` says otherwise. */
  static async start(credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<GrpcProxyBackend> {
    const b = new GrpcProxyBackend();
    const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const m of service.methodsArray) {
      m.resolve();
      const req = m.resolvedRequestType!;
      const res = m.resolvedResponseType!;
      const name = m.name as RpcName;
      definition[name] = {
        path: `/centrifugal.centrifugo.proxy.CentrifugoProxy/${name}`,
        requestStream: m.requestStream === true,
        responseStream: m.responseStream === true,
        requestSerialize: (o: object) => Buffer.from(req.encode(req.fromObject(o)).finish()),
        requestDeserialize: (buf: Buffer) => req.toObject(req.decode(buf), { longs: Number, defaults: true, arrays: true, objects: true }),
        responseSerialize: (o: object) => (Buffer.isBuffer(o) ? o : Buffer.from(res.encode(res.fromObject(o)).finish())),
        responseDeserialize: (buf: Buffer) => res.decode(buf),
      };
      if (m.requestStream === true) impl[name] = (call: grpc.ServerDuplexStream<any, object>) => b.bidi(name, call);
      else if (m.responseStream === true) impl[name] = (call: grpc.ServerWritableStream<unknown, object>) => b.stream(name, call);
      else impl[name] = (call: grpc.ServerUnaryCall<unknown, object>, cb: grpc.sendUnaryData<object>) => void b.unary(name, call, cb);
    }
    b.server.addService(definition, impl);
    b.port = await new Promise<number>((resolve, reject) =>
      b.server.bindAsync('127.0.0.1:0', credentials, (err, port) => (err === null ? resolve(port) : reject(err))),
    );
    return b;
  }

  /** `grpc://127.0.0.1:<port>`, or another port (a tap's). */
  endpoint(port = this.port): string {
    return `grpc://127.0.0.1:${port}`;
  }

  on(method: RpcName, handler: GrpcProxyHandler): void {
    this.handlers.set(method, handler);
  }

  /**
   * Leaves each call of `method` unanswered until the test answers it through the HeldGrpcCall
   * passed to `onHeld` (to hold many calls and answer them in an order of the test's choosing).
   */
  hold(method: RpcName, onHeld: (h: HeldGrpcCall) => void): void {
    this.on(method, (call) => new Promise<Answer>((answer) => onHeld({ call, answer })));
  }

  onStream(handler: GrpcStreamHandler): void {
    this.streamHandler = handler;
  }

  /**
   * Serves every stream with `open`, and queues each one opened: the returned function gives them
   * to the test in the order they opened, waiting for the next one when none is queued.
   */
  queueStreams(open: GrpcStreamHandler = (_c, s) => s.write({ subscribe_response: {} })): () => Promise<OpenedStream> {
    const opened: OpenedStream[] = [];
    const waiting: ((o: OpenedStream) => void)[] = [];
    this.onStream((call, stream) => {
      open(call, stream);
      const o = { call, stream };
      const w = waiting.shift();
      if (w !== undefined) w(o);
      else opened.push(o);
    });
    return () => {
      const o = opened.shift();
      return o !== undefined ? Promise.resolve(o) : new Promise((resolve) => waiting.push(resolve));
    };
  }

  callsTo(method: RpcName): GrpcProxyCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the next call of `method` matching `pred` (one already made is not counted). */
  nextCall(method: RpcName, pred: (c: GrpcProxyCall) => boolean = () => true): Promise<GrpcProxyCall> {
    return new Promise((resolve) => this.waiters.push({ method, pred, resolve }));
  }

  private record(method: RpcName, request: unknown, md: grpc.Metadata): GrpcProxyCall {
    const metadata: Record<string, string> = {};
    for (const [k, vs] of Object.entries(md.toJSON())) {
      const v = vs[vs.length - 1];
      if (typeof v === 'string') metadata[k] = v;
    }
    const call: GrpcProxyCall = { method, request, metadata };
    this.calls.push(call);
    const i = this.waiters.findIndex((w) => w.method === method && w.pred(call));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(call);
    return call;
  }

  private async unary(method: RpcName, call: grpc.ServerUnaryCall<unknown, object>, cb: grpc.sendUnaryData<object>): Promise<void> {
    const recorded = this.record(method, call.request, call.metadata);
    const h = this.handlers.get(method);
    if (h === undefined) return cb({ code: grpc.status.UNIMPLEMENTED, details: `no handler for ${method}` });
    let answer: Answer;
    try {
      answer = await h(recorded);
    } catch (e) {
      return cb({ code: grpc.status.INTERNAL, details: String(e) });
    }
    if (answer instanceof GrpcStatus) cb({ code: answer.code, details: answer.details });
    else cb(null, answer);
  }

  private stream(method: RpcName, call: grpc.ServerWritableStream<unknown, object>): void {
    const recorded = this.record(method, call.request, call.metadata);
    const h = this.streamHandler;
    if (h === undefined) {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no stream handler' });
      return;
    }
    h(recorded, this.backendStream(call, []));
  }

  private backendStream(call: grpc.ServerWritableStream<unknown, object>, received: Buffer[], waiters: ((b: Buffer) => void)[] = []): BackendStream {
    const cancelled = new Promise<void>((resolve) => call.on('cancelled', () => resolve()));
    return {
      write: (m) => call.write(m),
      end: () => call.end(),
      fail: (code, details) => call.emit('error', { code, details }),
      cancelled,
      received,
      nextReceived: () => new Promise((resolve) => waiters.push(resolve)),
    };
  }

  /** SubscribeBidirectional: the first message opens it, later ones are the subscriber's publications. */
  private bidi(method: RpcName, call: grpc.ServerDuplexStream<any, object>): void {
    const received: Buffer[] = [];
    const waiters: ((b: Buffer) => void)[] = [];
    let opened = false;
    call.on('data', (m: any) => {
      if (!opened) {
        opened = true;
        const recorded = this.record(method, m.subscribe_request, call.metadata);
        const h = this.streamHandler;
        if (h === undefined) call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no stream handler' });
        else h(recorded, this.backendStream(call as unknown as grpc.ServerWritableStream<unknown, object>, received, waiters));
        return;
      }
      const data = Buffer.from(m.publication?.data ?? []);
      received.push(data);
      for (const w of waiters.splice(0)) w(data);
    });
    // A call the client cancels errors on the read side; the handler learns of it from `cancelled`.
    call.on('error', () => {});
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
  }
}

/** A TCP relay to a backend port that sees what clients send. */
export class GrpcTap {
  /** While true, connections are closed as soon as they are accepted. */
  refusing = false;
  /** Client-to-backend gRPC messages seen, in order: true for a compressed one. */
  readonly compressed: boolean[] = [];
  /** Connections relayed to the backend so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private server!: NetServer;
  port = 0;

  static async start(targetPort: number): Promise<GrpcTap> {
    const t = new GrpcTap();
    t.server = createServer((client) => t.relay(client, targetPort));
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    t.port = (t.server.address() as { port: number }).port;
    return t;
  }

  private relay(client: Socket, targetPort: number): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.connections++;
    const backend = connect(targetPort, '127.0.0.1');
    for (const s of [client, backend]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    const frames = new FrameReader((isCompressed) => this.compressed.push(isCompressed));
    client.on('data', (d: Buffer) => frames.push(d));
    client.pipe(backend);
    backend.pipe(client);
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** HTTP/2's client connection preface, before the first frame. */
const PREFACE_BYTES = 24;
const DATA_FRAME = 0x0;
const PADDED = 0x8;

/**
 * Reads the client side of an HTTP/2 connection and reports each gRPC message's compressed flag
 * (the first byte of its 5-byte prefix), following messages across DATA frames per stream.
 */
class FrameReader {
  private buf = Buffer.alloc(0);
  private prefaceLeft = PREFACE_BYTES;
  /** Per stream: bytes of the message prefix read so far, and message bytes still to skip. */
  private readonly streams = new Map<number, { head: number[]; skip: number }>();

  constructor(private readonly onMessage: (compressed: boolean) => void) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, this.buf.length);
      this.prefaceLeft -= n;
      this.buf = this.buf.subarray(n);
    }
    while (this.buf.length >= 9) {
      const length = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + length) return;
      const type = this.buf[3]!;
      const flags = this.buf[4]!;
      const stream = this.buf.readUInt32BE(5) & 0x7fffffff;
      let payload = this.buf.subarray(9, 9 + length);
      this.buf = this.buf.subarray(9 + length);
      if (type !== DATA_FRAME) continue;
      if ((flags & PADDED) !== 0) payload = payload.subarray(1, payload.length - payload[0]!);
      this.data(stream, payload);
    }
  }

  private data(stream: number, payload: Buffer): void {
    let s = this.streams.get(stream);
    if (s === undefined) this.streams.set(stream, (s = { head: [], skip: 0 }));
    let i = 0;
    while (i < payload.length) {
      if (s.skip > 0) {
        const n = Math.min(s.skip, payload.length - i);
        s.skip -= n;
        i += n;
        continue;
      }
      s.head.push(payload[i++]!);
      if (s.head.length === 5) {
        this.onMessage(s.head[0] === 1);
        s.skip = Buffer.from(s.head).readUInt32BE(1);
        s.head = [];
      }
    }
  }
}
