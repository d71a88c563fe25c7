/**
 * The path of lifecycle events from the node to one backend endpoint: a bounded queue, batches,
 * one batch in flight at a time, retries with backoff, and a bounded flush at shutdown.
 *
 * `push` is what the connect/disconnect paths pay: a store into the queue's array and, when the
 * notifier is idle, arming one timer. No promise and no closure per event; a full queue refuses
 * the event, counts it (`overflowed`) and logs at most once per 10 s (RateLimitedLog) with the count.
 *
 * A batch is sent when it is full (`batchSize`) or when its oldest event has waited
 * `batchMaxDelayMs`; events that arrive while a batch is in flight go in the next batch, sent as
 * soon as the one in flight is done (the round trip is their batching window). A batch the
 * backend did not take (see sender.ts for what is retried) is sent again, the same events in the
 * same order, after `backoffDelay(attempt)`, until the backend takes it or drops it, or the
 * notifier stops; the batches behind it wait. So delivery is at least once, in queue order: a
 * batch whose answer was lost arrives again (duplicates), never out of order with its neighbours.
 */
import type { Logger } from '../util/logger.js';
import { backoffDelay } from './backoff.js';
import type { LifecycleEvent } from './events.js';
import { BoundedQueue } from './queue.js';
import { RateLimitedLog } from '../util/rate-log.js';
import type { Sender } from './sender.js';

export interface NotifierOptions {
  /** Names the notifier in logs: the config key of its endpoint. */
  name: string;
  /** Events held at most; more are refused and counted. */
  queueSize: number;
  /** Events per request at most. */
  batchSize: number;
  /** Longest an event waits for its batch to fill before the batch goes anyway, ms. */
  batchMaxDelayMs: number;
  /** First retry delay, ms; doubles per attempt (with jitter) up to `retryMaxDelayMs`. */
  retryMinDelayMs: number;
  retryMaxDelayMs: number;
}

/** What a notifier did so far (counts of events). */
export interface NotifierStats {
  /** Taken by the backend. */
  delivered: number;
  /** Refused by the backend for good (a 4xx, a non-temporary error). */
  dropped: number;
  /** Refused because the queue was full. */
  overflowed: number;
  /** Still queued or in flight when the shutdown flush ran out of time. */
  lostAtStop: number;
  /** Batches sent again after a failure. */
  retries: number;
}

export class Notifier {
  readonly stats: NotifierStats = { delivered: 0, dropped: 0, overflowed: 0, lostAtStop: 0, retries: 0 };
  private readonly queue: BoundedQueue<LifecycleEvent>;
  private readonly rateLog: RateLimitedLog;
  /** The batch in flight or waiting for its retry; undefined when none. */
  private inFlight: LifecycleEvent[] | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires, ms since the epoch (Infinity when none is armed). */
  private timerAt = Infinity;
  private running = false;
  private stopping = false;
  /** Stopped: events pushed now are ignored. */
  private closed = false;
  /** Aborts the request in flight when the shutdown flush runs out of time. */
  private readonly abort = new AbortController();
  private idle: (() => void) | undefined;

  constructor(
    private readonly opts: NotifierOptions,
    private readonly sender: Sender,
    private readonly log: Logger,
  ) {
    this.queue = new BoundedQueue(opts.queueSize);
    this.rateLog = new RateLimitedLog(log);
  }

  /** Events waiting in the queue (not counting the batch in flight). */
  get queued(): number {
    return this.queue.length;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  /** Queues an event; never blocks, never throws. Refused (and counted) when the queue is full. */
  push(e: LifecycleEvent): void {
    if (this.closed) return;
    if (!this.queue.push(e)) {
      this.stats.overflowed++;
      this.rateLog.write('warn', 'overflow', { notifier: this.opts.name, queueSize: this.opts.queueSize, overflowed: this.stats.overflowed }, 'lifecycle events: queue full, event dropped');
      return;
    }
    if (this.inFlight === undefined && this.running) this.schedule();
  }

  /**
   * Sends what is queued, retrying, for at most `flushMs`; then aborts the request in flight,
   * counts what is left as lost (one log line) and closes the sender. Events pushed meanwhile are
   * still sent within the bound.
   */
  async stop(flushMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.running = true;
    const done = new Promise<void>((resolve) => (this.idle = resolve));
    if (this.inFlight === undefined) this.schedule();
    else if (this.timer !== undefined) this.arm(0); // a retry waiting out its backoff goes now
    this.checkIdle();
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (bound = setTimeout(resolve, flushMs)))]);
    clearTimeout(bound);
    this.running = false;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    const lost = this.queue.clear() + (this.inFlight?.length ?? 0);
    this.inFlight = undefined;
    if (lost > 0) {
      this.stats.lostAtStop += lost;
      this.log.warn({ notifier: this.opts.name, lost, flushMs }, 'lifecycle events: not delivered before the shutdown bound');
    }
    await this.sender.close();
  }

  /** Arms the timer for the next batch, if there is one to send and none in flight. */
  private schedule(): void {
    if (!this.running || this.inFlight !== undefined || this.queue.length === 0) return;
    const full = this.queue.length >= this.opts.batchSize || this.stopping;
    this.arm(full ? 0 : this.opts.batchMaxDelayMs);
  }

  /** Fires `next` in `ms` unless a timer fires sooner already. */
  private arm(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.next(), ms);
    // The notifier never keeps the process alive; stop() bounds the flush itself.
    this.timer.unref();
  }

  private next(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (!this.running) return;
    if (this.inFlight === undefined) {
      if (this.queue.length === 0) return this.checkIdle();
      this.inFlight = this.queue.take(this.opts.batchSize);
      this.attempt = 0;
    }
    void this.send(this.inFlight);
  }

  private async send(batch: LifecycleEvent[]): Promise<void> {
    this.attempt++;
    const outcome = await this.sender.send(batch, this.abort.signal);
    if (this.inFlight !== batch) return; // stopped meanwhile: counted as lost there
    const fields = { notifier: this.opts.name, target: this.sender.target, events: batch.length };
    if (outcome.kind === 'retry') {
      this.stats.retries++;
      const delay = backoffDelay(this.attempt, this.opts.retryMinDelayMs, this.opts.retryMaxDelayMs);
      this.rateLog.write('warn', 'retry', { ...fields, attempt: this.attempt, retryInMs: delay, why: outcome.why }, 'lifecycle events: batch not delivered, retrying');
      this.arm(this.stopping ? Math.min(delay, this.opts.retryMinDelayMs) : delay);
      return;
    }
    if (outcome.kind === 'drop') {
      this.stats.dropped += batch.length;
      this.rateLog.write('error', 'drop', { ...fields, why: outcome.why }, 'lifecycle events: the backend refused a batch; dropped');
    } else this.stats.delivered += batch.length;
    this.inFlight = undefined;
    if (this.queue.length > 0) this.arm(0);
    else this.checkIdle();
  }

  private checkIdle(): void {
    if (this.idle !== undefined && this.inFlight === undefined && this.queue.length === 0) this.idle();
  }
}
