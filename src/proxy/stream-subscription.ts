/**
 * A backend subscribe stream as the node sees it (`SubscriptionStream`). It listens from the
 * moment the stream opens: the first answer resolves `answer`; publications arriving between that
 * answer and `start` (the subscription going live) are held, at most MAX_HELD of them, and handed
 * over first. More than that is a backend flooding a subscriber that is not live yet: the stream
 * fails, and the client resubscribes (2500) rather than losing publications silently.
 */
import type { SubscriptionStream, SubscriptionStreamSink } from '../node/events.js';
import { ProxyCallError, type BackendSubscribeStream, type ProxyAnswer, type StreamPublication, type SubscribeProxyResult } from './types.js';

/** Publications held before the subscription is live. */
export const MAX_HELD = 1024;

/**
 * How a stream the subscriber saw ended on the backend's side (after its first answer), for the
 * log: undefined when it finished.
 */
export type StreamEndListener = (error: ProxyCallError | undefined) => void;

export class ProxiedSubscriptionStream implements SubscriptionStream {
  /** The backend's first answer; rejects with a ProxyCallError when the stream fails before it. */
  readonly answer: Promise<ProxyAnswer<SubscribeProxyResult>>;
  readonly publish?: (data: Uint8Array) => boolean;
  #sink: SubscriptionStreamSink | undefined;
  #held: StreamPublication[] = [];
  /** The stream ended before `start`: undefined = not ended, else whether it failed. */
  #endedEarly: boolean | undefined;
  #closed = false;
  #answered = false;

  constructor(
    private readonly backend: BackendSubscribeStream,
    private readonly onEnd: StreamEndListener,
  ) {
    this.answer = new Promise((resolve, reject) => {
      backend.once('response', (a) => {
        this.#answered = true;
        resolve(a);
      });
      backend.once('end', (err) => reject(err ?? new ProxyCallError('the stream ended before its first message')));
    });
    // Rejections are read by whoever awaits `answer`; one left unread must not crash the process.
    this.answer.catch(() => {});
    backend.on('publication', (p) => this.#publication(p));
    backend.on('end', (err) => {
      if (this.#answered && !this.#closed) onEnd(err);
      this.#ended(err !== undefined);
    });
    if (backend.bidirectional) this.publish = (data) => !this.#closed && backend.publish(data);
  }

  start(sink: SubscriptionStreamSink): void {
    if (this.#closed || this.#sink !== undefined) return;
    this.#sink = sink;
    const held = this.#held;
    this.#held = [];
    for (const p of held) {
      if (this.#closed) return;
      sink.publication(p.data, p.tags);
    }
    if (this.#endedEarly !== undefined && !this.#closed) sink.ended(this.#endedEarly);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.backend.cancel();
  }

  #publication(p: StreamPublication): void {
    if (this.#closed) return;
    if (this.#sink !== undefined) {
      this.#sink.publication(p.data, p.tags);
      return;
    }
    if (this.#held.length < MAX_HELD) {
      this.#held.push(p);
      return;
    }
    this.backend.cancel();
    this.onEnd(new ProxyCallError(`more than ${MAX_HELD} publications before the subscription was live`));
    this.#ended(true);
  }

  #ended(failed: boolean): void {
    if (this.#closed) return;
    if (this.#sink === undefined) {
      this.#endedEarly ??= failed;
      return;
    }
    this.#closed = true;
    this.#sink.ended(failed);
  }
}
