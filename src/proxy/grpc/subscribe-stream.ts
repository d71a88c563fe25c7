/**
 * One subscribe stream to a gRPC backend (Centrifugo's subscribe stream proxy): the
 * `SubscribeUnidirectional` server stream, or the `SubscribeBidirectional` duplex one whose first
 * message is the subscribe request and whose later ones are the subscriber's publications. Events
 * and their order are `BackendSubscribeStream`'s.
 *
 * - The backend's first message must come within `timeout` and carry `subscribe_response`;
 *   otherwise the stream fails (DEADLINE_EXCEEDED, or the message's fault).
 * - Publications after it have no deadline; a message with neither field is skipped.
 * - Status OK after the first message: finished. Any other status, or OK before it: failed.
 */
import { EventEmitter } from 'node:events';
import { status, type Client, type ClientDuplexStream, type ClientReadableStream, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { ProxyCallError, type BackendSubscribeStream, type SubscribeProxyRequest, type SubscribeStreamEvents } from '../types.js';
import {
  asIs, decodeStreamMessage, encodeRequest, encodeStreamOpening, encodeStreamPublication, SUBSCRIBE_BIDIRECTIONAL_PATH, SUBSCRIBE_UNIDIRECTIONAL_PATH, toBuffer,
} from './codec.js';


export class SubscribeStream extends EventEmitter<SubscribeStreamEvents> implements BackendSubscribeStream {
  readonly #call: ClientReadableStream<Buffer> | ClientDuplexStream<Uint8Array, Buffer>;
  /** The duplex call, for a bidirectional stream. */
  readonly #duplex: ClientDuplexStream<Uint8Array, Buffer> | undefined;
  #firstTimer: NodeJS.Timeout | undefined;
  #answered = false;
  /** Set once the stream is over for the listener: cancelled, failed or finished. */
  #done = false;
  /** The stream's write buffer is over its high-water mark; publishes wait for 'drain'. */
  #backedUp = false;

  /** Use `GrpcProxyCaller.openSubscribeStream`. */
  constructor(client: Client, request: SubscribeProxyRequest, md: Metadata, timeoutMs: number, readonly bidirectional = false) {
    super();
    if (bidirectional) {
      const call = client.makeBidiStreamRequest(SUBSCRIBE_BIDIRECTIONAL_PATH, toBuffer, asIs, md, {});
      call.write(encodeStreamOpening(request));
      this.#duplex = call;
      this.#call = call;
    } else {
      this.#call = client.makeServerStreamRequest(SUBSCRIBE_UNIDIRECTIONAL_PATH, toBuffer, asIs, encodeRequest('subscribe', request), md, {});
    }
    this.#firstTimer = setTimeout(() => this.#fail(new ProxyCallError(`DEADLINE_EXCEEDED: no first stream message within ${timeoutMs} ms`)), timeoutMs);
    this.#call.on('data', (b: Buffer) => this.#message(b));
    // A non-OK status also arrives as 'error'; 'status' follows it in every case and decides.
    this.#call.on('error', () => {});
    this.#call.on('status', (s: StatusObject) => this.#status(s));
  }

  /**
   * False, and nothing sent (the client gets 100, temporary), while the backend has not taken the
   * previous publications: grpc-js would otherwise buffer every one of a fast publisher's messages
   * for a backend that reads slowly or not at all.
   */
  publish(data: Uint8Array): boolean {
    const duplex = this.#duplex;
    if (duplex === undefined || this.#done || !this.#answered || this.#backedUp) return false;
    if (!duplex.write(encodeStreamPublication(data))) {
      this.#backedUp = true;
      duplex.once('drain', () => {
        this.#backedUp = false;
      });
    }
    return true;
  }

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
