/**
 * Batches over HTTP: each batch is a `POST` of `{"events":[...]}` (events.ts) to the endpoint,
 * `Content-Type: application/json`, with the static headers configured. A 2xx answer delivers the
 * batch; its body is read (up to ANSWER_LIMIT bytes) only for an `error` object, and one that is
 * not JSON still counts as delivered. One undici `Pool` keeps the connection to the backend
 * alive between batches; a notifier has one batch in flight at a time, so a few connections do.
 */
import type { ConnectionOptions } from 'node:tls';
import { Pool } from 'undici';
import { readBody } from '../util/read-body.js';
import { batchJson, type LifecycleEvent } from './events.js';
import { SENT, errorOutcome, retryableHttpStatus, type SendOutcome, type Sender } from './sender.js';

/** Connections kept to the backend (one batch in flight, plus one being set up on a reset). */
const CONNECTIONS = 2;
/** An idle connection to the backend is closed after this long, ms. */
const KEEP_ALIVE_MS = 60_000;
/** Most of an answer body read, bytes; the rest is not looked at. */
const ANSWER_LIMIT = 64 * 1024;

export interface HttpSenderOptions {
  /** `http://` or `https://` URL. */
  endpoint: string;
  /** A batch not answered within this is retried, ms. */
  timeoutMs: number;
  /** Added to every request; `Content-Type` is always `application/json`. */
  staticHeaders: Readonly<Record<string, string>>;
  /** For `https://`: the CA and client certificate; the system's roots when absent. */
  tls?: ConnectionOptions;
}

export class HttpSender implements Sender {
  readonly target: string;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(opts: HttpSenderOptions) {
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${opts.endpoint}`);
    this.target = `${url.origin}${url.pathname}`;
    this.#path = `${url.pathname}${url.search}`;
    this.#timeoutMs = opts.timeoutMs;
    this.#headers = { ...opts.staticHeaders, 'content-type': 'application/json' };
    this.#pool = new Pool(url.origin, {
      connections: CONNECTIONS,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
      connect: { timeout: opts.timeoutMs, ...(opts.tls ?? {}) },
    });
  }

  async send(events: readonly LifecycleEvent[], abort: AbortSignal): Promise<SendOutcome> {
    const signal = AbortSignal.any([abort, AbortSignal.timeout(this.#timeoutMs)]);
    try {
      const res = await this.#pool.request({ method: 'POST', path: this.#path, headers: this.#headers, body: batchJson(events), signal });
      const answer = (await readBody(res.body, ANSWER_LIMIT)).text;
      const status = res.statusCode;
      if (status >= 200 && status < 300) return answerOutcome(answer);
      const why = `HTTP ${status}`;
      return retryableHttpStatus(status) ? { kind: 'retry', why } : { kind: 'drop', why };
    } catch (err) {
      return { kind: 'retry', why: signal.aborted ? `no answer within ${this.#timeoutMs} ms` : errorText(err) };
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** A 2xx answer: delivered, unless it carries an `error` object. */
function answerOutcome(text: string): SendOutcome {
  if (text.trim() === '') return SENT;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return SENT;
  }
  if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return SENT;
  const error = (parsed as { error: unknown }).error;
  return (typeof error === 'object' && error !== null ? errorOutcome(error) : undefined) ?? SENT;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${cause}`;
  }
  return String(err);
}
