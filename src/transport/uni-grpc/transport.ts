/**
 * One `Consume` call as a Transport: each encoded Push becomes one gRPC message of the response
 * stream, and closing ends the call with status OK after the disconnect push the session wrote.
 */
import { constants as http2 } from 'node:http2';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Disconnect } from '../../protocol/errors.js';
import { DisconnectCode } from '../../protocol/codes.js';
import type { Transport } from '../../node/transport.js';
import { afterCloseGrace } from '../shared/close-grace.js';
import { bareMessage } from './messages.js';

/** A Consume call: its request stays the raw bytes (decoded by the handler), responses are bare Push bytes. */
export type ConsumeCall = ServerWritableStream<Buffer, Buffer>;

export class UniGrpcTransport implements Transport {
  readonly name = 'uni_grpc';
  readonly protocol = 'protobuf' as const;
  readonly unidirectional = true;
  readonly emulation = false;
  readonly pingStyle = 'app' as const;
  readonly closeFrameDisconnect = false;
  /**
   * Bytes given to the call and not yet taken by HTTP/2. grpc-js buffers writes without a
   * bound (`write()` returning false is only advice) and HTTP/2 flow control holds them while
   * the client does not read, so this count is what the session's writer limits (3008 slow).
   */
  private pending = 0;
  private ended = false;

  constructor(private readonly call: ConsumeCall) {}

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    if (this.ended || this.call.destroyed) return;
    for (let i = start; i < end; i++) {
      const m = bareMessage(messages[i]!);
      const size = m.byteLength;
      this.pending += size;
      this.call.write(m, () => (this.pending -= size));
    }
  }

  bufferedBytes(): number {
    return this.pending;
  }

  /**
   * Ends the call with status OK once what was written is sent. A slow client (3008) is cut at
   * once; any other whose pushes are still held after the close grace (it stopped reading) is
   * cut then, so its call and buffers do not live as long as its HTTP/2 connection.
   */
  close(d: Disconnect): void {
    if (this.ended) return;
    this.ended = true;
    if (d.code === DisconnectCode.slow.code) {
      cut(this.call);
      return;
    }
    this.call.end();
    if (this.call.writableFinished) return;
    const call = this.call;
    afterCloseGrace(() => {
      if (!call.writableFinished) cut(call);
    });
  }
}

/** The few members of Node's Http2Stream that `cut` uses. */
interface ResettableStream {
  readonly closed: boolean;
  close(code: number): void;
}

/**
 * Resets the call's HTTP/2 stream, dropping what it still holds; the client sees CANCELLED.
 * grpc-js has no public way to abort a call from the server (ending it waits for the client to
 * take the data ahead of the status), so this reaches the stream grpc-js keeps privately (the
 * slow-client test in test/integration/uni-grpc.test.ts fails if a grpc-js release moves it).
 * Where it is not found, destroying the call still drops grpc-js's own buffer.
 */
function cut(call: ConsumeCall): void {
  const stream = privateStream(call);
  if (stream !== undefined && !stream.closed) stream.close(http2.NGHTTP2_CANCEL);
  if (!call.destroyed) call.destroy();
}

function privateStream(call: ConsumeCall): ResettableStream | undefined {
  const inner: unknown = Reflect.get(call, 'call');
  if (typeof inner !== 'object' || inner === null) return undefined;
  const stream: unknown = Reflect.get(inner, 'stream');
  if (typeof stream !== 'object' || stream === null) return undefined;
  const close: unknown = Reflect.get(stream, 'close');
  return typeof close === 'function' && typeof Reflect.get(stream, 'closed') === 'boolean' ? (stream as ResettableStream) : undefined;
}
