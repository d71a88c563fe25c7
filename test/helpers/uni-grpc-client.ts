/**
 * A uni_grpc client as an application would write one: `@grpc/grpc-js` with messages from
 * `src/transport/uni-grpc/unistream.proto` parsed by protobufjs (no code of Rotor's own), and a
 * Rotor started with `uni_grpc` on port 0 whose gRPC port the test can reach.
 *
 * A `UniStream` records the Push messages of one `Consume` call, decoded to plain objects (bytes
 * fields as UTF-8 text, 64-bit integers as numbers, zero values left out), and how the call ended.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { AppParts } from '../../src/app/app.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startServer, type TestServer } from './server.js';

const PROTO = fileURLToPath(new URL('../../src/transport/uni-grpc/unistream.proto', import.meta.url));
const root = protobuf.parse(readFileSync(PROTO, 'utf8'), { keepCase: true }).root;
const ConnectRequestType = root.lookupType('centrifugal.centrifugo.unistream.ConnectRequest');
const PushType = root.lookupType('centrifugal.centrifugo.unistream.Push');

/** Default bound of every wait. */
export const WAIT_MS = 5000;

export interface ConnectRequestInit {
  token?: string;
  data?: string;
  subs?: Record<string, { recover?: boolean; epoch?: string; offset?: number }>;
  name?: string;
  version?: string;
  headers?: Record<string, string>;
}

/** A decoded Push: `channel` plus one of pub/join/leave/…, or nothing at all for a ping. */
export type PushObject = Record<string, any>;

const UniStreamClient = grpc.makeGenericClientConstructor(
  {
    Consume: {
      path: '/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume',
      requestStream: false,
      responseStream: true,
      requestSerialize: (r: ConnectRequestInit) => {
        const msg = { ...r, ...(r.data !== undefined ? { data: Buffer.from(r.data) } : {}) };
        const err = ConnectRequestType.verify(msg);
        if (err !== null) throw new Error(err);
        return Buffer.from(ConnectRequestType.encode(ConnectRequestType.fromObject(msg)).finish());
      },
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  'CentrifugoUniStream',
);

/** Decodes one Push as the test reads it: bytes as UTF-8 text, longs as numbers. */
export function decodePush(b: Uint8Array): PushObject {
  const o = PushType.toObject(PushType.decode(b), { longs: Number, defaults: false, arrays: false, objects: false });
  return textBytes(o) as PushObject;
}

function textBytes(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map(textBytes);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, textBytes(x)]));
  return v;
}

export interface ClientOptions {
  credentials?: grpc.ChannelCredentials;
  /** Channel options (`grpc.ssl_target_name_override`, window sizes, …). */
  options?: grpc.ChannelOptions;
}

/** One gRPC channel to a uni_grpc server; `consume` opens calls on it. */
export class UniGrpcClient {
  private readonly client: grpc.Client;

  constructor(target: string, opts: ClientOptions = {}) {
    this.client = new UniStreamClient(target, opts.credentials ?? grpc.credentials.createInsecure(), opts.options ?? {});
  }

  consume(req: ConnectRequestInit, metadata: Record<string, string | Buffer> = {}): UniStream {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.add(k, v);
    const consume = (this.client as unknown as Record<string, (req: ConnectRequestInit, md: grpc.Metadata) => grpc.ClientReadableStream<Buffer>>).Consume!;
    return new UniStream(consume.call(this.client, req, md));
  }

  close(): void {
    this.client.close();
  }
}

export class UniStream {
  readonly pushes: PushObject[] = [];
  /** Bytes of each message as received. */
  readonly raw: Buffer[] = [];
  /** The call's final status; set once it ended. */
  status: grpc.StatusObject | undefined;
  /** Resolves with the final status when the call ends (OK or not). */
  readonly ended: Promise<grpc.StatusObject>;
  private taken = 0;
  private waiters = new Set<() => void>();

  constructor(readonly call: grpc.ClientReadableStream<Buffer>) {
    this.ended = new Promise((resolve) => {
      call.on('status', (s: grpc.StatusObject) => {
        this.status = s;
        resolve(s);
        this.notify();
      });
    });
    call.on('data', (b: Buffer) => {
      this.raw.push(b);
      this.pushes.push(decodePush(b));
      this.notify();
    });
    // A status other than OK also arrives as 'error'; 'status' above records it.
    call.on('error', () => {});
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Waits until `check` returns a value; fails naming `what` after `timeoutMs`. */
  waitFor<T>(check: () => T | undefined, what: string, timeoutMs = WAIT_MS): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        const v = check();
        if (v === undefined) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.pushes)} status ${JSON.stringify(this.status)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The next push not taken before that matches `pred` (earlier non-matching ones are skipped). */
  next(pred: (p: PushObject) => boolean, what: string, timeoutMs = WAIT_MS): Promise<PushObject> {
    return this.waitFor(
      () => {
        for (let i = this.taken; i < this.pushes.length; i++) {
          if (pred(this.pushes[i]!)) {
            this.taken = i + 1;
            return this.pushes[i];
          }
        }
        return undefined;
      },
      what,
      timeoutMs,
    );
  }

  /** Waits for the call to end; fails after `timeoutMs`. */
  end(what = 'the call to end', timeoutMs = WAIT_MS): Promise<grpc.StatusObject> {
    return this.waitFor(() => this.status, what, timeoutMs);
  }

  /** Cancels the call from the client side. */
  cancel(): void {
    this.call.cancel();
  }
}

// ---------------------------------------------------------------- server

export interface UniGrpcServer extends TestServer {
  /** Port of the uni_grpc server. */
  grpcPort: number;
  /** `127.0.0.1:<grpcPort>`. */
  target: string;
}

/** An in-process Rotor (`startServer`) with `uni_grpc` on port 0 and `overrides` on top. */
export async function startUniGrpcServer(overrides: ConfigInput = {}, parts: AppParts = {}): Promise<UniGrpcServer> {
  const base: Record<string, unknown> = { uni_grpc: { enabled: true, port: 0, address: '127.0.0.1' } };
  const own = overrides as Record<string, unknown>;
  const uni = { ...(base['uni_grpc'] as object), ...((own['uni_grpc'] as object | undefined) ?? {}) };
  const srv = await startServer({ ...own, uni_grpc: uni } as ConfigInput, parts);
  const grpcPort = srv.address.uniGrpcPort;
  if (grpcPort === undefined) {
    await srv.stop();
    throw new Error('uni_grpc did not start');
  }
  return { ...srv, grpcPort, target: `127.0.0.1:${grpcPort}` };
}

/**
 * Runs `fn` with a fresh server and a client on it; the client is closed and the server stopped
 * whatever happens. Calls still open are cancelled by closing the client.
 */
export async function withUniGrpc(
  overrides: ConfigInput,
  fn: (srv: UniGrpcServer, client: UniGrpcClient) => Promise<void>,
  parts: AppParts = {},
): Promise<void> {
  const srv = await startUniGrpcServer(overrides, parts);
  const client = new UniGrpcClient(srv.target);
  try {
    await fn(srv, client);
  } finally {
    client.close();
    await srv.stop();
  }
}
