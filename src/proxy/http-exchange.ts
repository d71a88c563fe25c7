/**
 * One proxy POST through undici's `Dispatcher.dispatch`: a handler object that collects the
 * answer's bytes itself. `Pool.request` would build a Readable body stream, an abort listener and
 * a promise per stage for every call; on a connect storm that is most of the caller's cost
 * (bench/lib/undici-call-cost.mjs: ~22 CPU-µs per call this way against ~38 through `request`).
 *
 * The deadline covers everything from the call on: the wait for a pooled connection, the
 * answer's headers and its body. A call whose deadline passes while it still waits in the pool's
 * queue is aborted as soon as undici starts it.
 */
import type { Dispatcher } from 'undici';
import { ProxyCallError } from './types.js';
import { messageOf } from '../util/message-of.js';

/** What came back: the status, and the body's text for a 200 (empty otherwise, not read). */
export interface ExchangeAnswer {
  status: number;
  text: string;
}

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

export class HttpExchange implements Dispatcher.DispatchHandler {
  #controller: Controller | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;
  #status = 0;
  #chunks: Buffer[] = [];
  #size = 0;

  private constructor(
    private readonly resolve: (a: ExchangeAnswer) => void,
    private readonly reject: (e: ProxyCallError) => void,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
  ) {}

  /** POSTs `body` to `path` on `pool`; rejects with a ProxyCallError when the call fails. */
  static post(pool: Dispatcher, path: string, headers: Readonly<Record<string, string>>, body: string, timeoutMs: number, maxBytes: number): Promise<ExchangeAnswer> {
    return new Promise((resolve, reject) => {
      const x = new HttpExchange(resolve, reject, timeoutMs, maxBytes);
      x.#timer = setTimeout(timedOut, timeoutMs, x);
      try {
        pool.dispatch({ method: 'POST', path, headers, body }, x);
      } catch (e) {
        x.#fail(failure(e));
      }
    });
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#done) controller.abort(new ProxyCallError(`no answer within ${this.timeoutMs} ms`));
  }

  onResponseStart(_c: Controller, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    // Only a 200's body is read; another status's is dropped as it comes.
    if (this.#done || this.#status !== 200) return;
    this.#size += chunk.length;
    if (this.#size > this.maxBytes) {
      this.#fail(new ProxyCallError(`answer larger than ${this.maxBytes} bytes`));
      this.#controller?.abort(new ProxyCallError('answer too large'));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    const text = this.#status === 200 ? Buffer.concat(this.#chunks, this.#size).toString('utf8') : '';
    this.#chunks = [];
    this.resolve({ status: this.#status, text });
  }

  onResponseError(_c: Controller, err: Error): void {
    this.#fail(failure(err));
  }

  /** The deadline passed: the caller hears now, the request is aborted now or when it starts. */
  expire(): void {
    if (this.#done) return;
    this.#fail(new ProxyCallError(`no answer within ${this.timeoutMs} ms`));
    this.#controller?.abort(new ProxyCallError('deadline passed'));
  }

  #fail(e: ProxyCallError): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#chunks = [];
    this.reject(e);
  }
}

function timedOut(x: HttpExchange): void {
  x.expire();
}

function failure(e: unknown): ProxyCallError {
  if (e instanceof ProxyCallError) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e ? ` (${String(e.code)})` : '';
  return new ProxyCallError(`request failed: ${messageOf(e)}${code}`, undefined, { cause: e });
}
