/**
 * One `SubscribeUnidirectional` stream (Centrifugo's subscribe stream proxy, experimental there):
 * the SubscribeRequest goes out, the backend's first message decides the subscription, and every
 * later message is a publication for that one subscriber. Not wired into subscriptions yet.
 *
 * Events, in this order:
 * - `response` once: the backend's decision, as a unary Subscribe answer would be. An error or
 *   disconnect answer ends the stream here (cancelled; no further events).
 * - `publication` for each later message carrying one (a message with none is skipped).
 * - `end` once, unless `cancel()` was called first: undefined when the backend finished the
 *   stream (status OK; Centrifugo then unsubscribes the client with "server unsubscribe"), a
 *   `ProxyCallError` when it failed (any other status, a first message later than `timeout` or
 *   without `subscribe_response`, a message that does not decode; Centrifugo's "insufficient
 *   state"). A failure before `response` ends the stream with no `response`.
 */
import { EventEmitter } from 'node:events';
import { status, type Client, type ClientReadableStream, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { ProxyCallError, type ProxyAnswer, type SubscribeProxyRequest, type SubscribeProxyResult } from '../types.js';
import { decodeStreamMessage, encodeRequest, SUBSCRIBE_UNIDIRECTIONAL_PATH } from './codec.js';

export interface StreamPublication {
  data: Uint8Array;
  tags: Record<string, string>;
}

export interface SubscribeStreamEvents {
  response: [answer: ProxyAnswer<SubscribeProxyResult>];
  publication: [publication: StreamPublication];
  end: [error: ProxyCallError | undefined];
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const asIs = (b: Buffer): Buffer => b;

export class SubscribeStream extends EventEmitter<SubscribeStreamEvents> {
  readonly #call: ClientReadableStream<Buffer>;
  #firstTimer: NodeJS.Timeout | undefined;
  #answered = false;
  /** Set once the stream is over for the listener: cancelled, failed or finished. */
  #done = false;

  /** Use `GrpcProxyCaller.openSubscribeStream`. */
  constructor(client: Client, request: SubscribeProxyRequest, md: Metadata, timeoutMs: number) {
    super();
    this.#call = client.makeServerStreamRequest(SUBSCRIBE_UNIDIRECTIONAL_PATH, toBuffer, asIs, encodeRequest('subscribe', request), md, {});
    this.#firstTimer = setTimeout(() => this.#fail(new ProxyCallError(`DEADLINE_EXCEEDED: no first stream message within ${timeoutMs} ms`)), timeoutMs);
    this.#call.on('data', (b: Buffer) => this.#message(b));
    // A non-OK status also arrives as 'error'; 'status' follows it in every case and decides.
    this.#call.on('error', () => {});
    this.#call.on('status', (s: StatusObject) => this.#status(s));
  }

  /** Ends the stream from this side; no event follows. */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#firstTimer);
    this.#call.cancel();
  }

  #message(b: Buffer): void {
    if (this.#done) return;
    let m;
    try {
      m = decodeStreamMessage(b);
    } catch (e) {
      return this.#fail(e instanceof ProxyCallError ? e : new ProxyCallError(String(e)));
    }
    if (!this.#answered) {
      if (m.kind !== 'response') return this.#fail(new ProxyCallError('the first stream message carries no subscribe_response'));
      this.#answered = true;
      clearTimeout(this.#firstTimer);
      if (m.answer.kind !== 'result') this.cancel();
      this.emit('response', m.answer);
      return;
    }
    if (m.kind === 'publication') this.emit('publication', { data: m.data, tags: m.tags });
  }

  #status(s: StatusObject): void {
    if (this.#done) return;
    if (s.code === status.OK && this.#answered) {
      this.#done = true;
      this.emit('end', undefined);
      return;
    }
    const why = s.code === status.OK ? 'the stream ended before its first message' : `${status[s.code] ?? `status ${s.code}`}: ${s.details}`;
    this.#fail(new ProxyCallError(why));
  }

  #fail(err: ProxyCallError): void {
    if (this.#done) return;
    this.cancel();
    this.emit('end', err);
  }
}
