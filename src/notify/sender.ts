/**
 * A sender carries one batch to the backend and says what became of it. It never throws: every
 * failure is an outcome, and the notifier decides (retry with backoff, or drop and log).
 *
 * Retried: no answer in time, a connection refused or reset, HTTP 5xx, 408 and 429, gRPC
 * UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED,
 * and an answer carrying an `error` marked temporary. Dropped: any other 4xx or non-2xx status,
 * any other gRPC status, and an `error` not marked temporary — sending the batch again would get
 * the same answer.
 */
import type { LifecycleEvent } from './events.js';

export type SendOutcome =
  | { readonly kind: 'ok' }
  /** Worth sending again later; `why` is for the log. */
  | { readonly kind: 'retry'; readonly why: string }
  /** The backend refused it for good; `why` is for the log. */
  | { readonly kind: 'drop'; readonly why: string };

export const SENT: SendOutcome = Object.freeze({ kind: 'ok' });

export interface Sender {
  /** Where batches go, for logs (the endpoint; never credentials). */
  readonly target: string;
  /**
   * Sends `events` (oldest first) as one request. Gives up at the sender's timeout, or earlier
   * when `abort` fires (shutdown), with a `retry` outcome.
   */
  send(events: readonly LifecycleEvent[], abort: AbortSignal): Promise<SendOutcome>;
  /** Closes connections; requests in flight fail. */
  close(): Promise<void>;
}

/** HTTP statuses worth retrying besides 5xx: 408 Request Timeout, 429 Too Many Requests. */
export function retryableHttpStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * The outcome of an answer body's optional `error` object (`{code, message, temporary}`), as
 * both wires carry it; undefined when there is none.
 */
export function errorOutcome(error: { code?: unknown; message?: unknown; temporary?: unknown } | null | undefined): SendOutcome | undefined {
  if (error === null || error === undefined) return undefined;
  const why = `backend error ${String(error.code ?? 0)}: ${String(error.message ?? '')}`;
  return error.temporary === true ? { kind: 'retry', why } : { kind: 'drop', why };
}
