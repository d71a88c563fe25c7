/**
 * Per-connection outgoing queue, bounded in bytes, flushed once per event-loop turn or, with a
 * write delay, once per delay.
 *
 * Everything queued for a connection before its flush (a burst of publications, a reply and the
 * pushes after it) leaves in as few transport frames as possible: up to `maxMessagesInFrame`
 * messages per frame. Flushes run from a `FlushScheduler` shared by all connections of a node, so
 * enqueueing allocates no closure or timer per message.
 *
 * The bound covers what is queued here plus what the transport has buffered but not yet handed
 * to the kernel. Going over it means the client reads slower than we publish: the connection is
 * closed with 3008 slow, and memory never grows past the bound.
 */
import type { Transport } from '../transport.js';

export interface WriterOptions {
  /** Queue limit in bytes (`client.queue_max_size`, default 1 MiB). */
  maxQueueBytes: number;
  /** Messages joined into one transport frame at most (`client.max_messages_in_frame`, default 16). */
  maxMessagesInFrame: number;
  /** Runs the flushes; one per node. */
  scheduler: FlushScheduler;
}

/** Called when the limit is exceeded; the owner closes the connection with 3008. */
export interface WriterOwner {
  onWriterOverflow(): void;
}

/**
 * One deferred flush for many writers. With `delayMs` 0 it runs at the end of the current turn
 * (`setImmediate`); otherwise one timer per delay window (`client.write_delay`): a writer that
 * gets its first message during the window is flushed when the window closes, so its messages wait
 * at most `delayMs` and connections with traffic share one timer.
 */
export class FlushScheduler {
  private pending: Writer[] = [];
  private spare: Writer[] = [];
  private armed = false;
  private readonly run = (): void => this.flushAll();

  constructor(readonly delayMs: number) {}

  add(w: Writer): void {
    this.pending.push(w);
    if (this.armed) return;
    this.armed = true;
    // The timer does not hold the process open: live connections do that.
    if (this.delayMs > 0) setTimeout(this.run, this.delayMs).unref();
    else setImmediate(this.run);
  }

  private flushAll(): void {
    this.armed = false;
    const list = this.pending;
    // Writers that enqueue during these flushes go to the next round.
    this.pending = this.spare;
    for (let i = 0; i < list.length; i++) list[i]!.flushScheduled();
    list.length = 0;
    this.spare = list;
  }
}

export class Writer {
  private queue: Uint8Array[] = [];
  /** The other half of a double buffer: flushing swaps arrays instead of allocating one. */
  private spare: Uint8Array[] = [];
  private queuedBytes = 0;
  /**
   * Transport-buffered bytes as of the last flush. Reading the live value on every message costs
   * a socket getter per delivery; the sampled value is exact enough except at the limit, where
   * the live value is read before deciding.
   */
  private transportBuffered = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly opts: WriterOptions,
    private readonly owner: WriterOwner,
  ) {}

  /** Queues one encoded message. Returns false when the writer is closed or overflowed. */
  enqueue(msg: Uint8Array): boolean {
    if (!this.enqueueChecked(msg)) return false;
    // A burst within one turn (a batch or broadcast API call) would otherwise pile up here and
    // count against the limit although the client reads fine: past a quarter of the limit the
    // queue goes to the transport now, where a reading client's kernel buffer absorbs it.
    if (this.queuedBytes >= this.opts.maxQueueBytes / 4) {
      this.flush();
      return true;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      this.opts.scheduler.add(this);
    }
    return true;
  }

  /** Appends within the limit; on overflow closes the writer and tells the owner. */
  private enqueueChecked(msg: Uint8Array): boolean {
    if (this.closed) return false;
    const size = msg.byteLength;
    const max = this.opts.maxQueueBytes;
    if (this.queuedBytes + size + this.transportBuffered > max && this.queuedBytes + size + (this.transportBuffered = this.transport.bufferedBytes()) > max) {
      this.closed = true;
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.owner.onWriterOverflow();
      return false;
    }
    this.queue.push(msg);
    this.queuedBytes += size;
    return true;
  }

  /**
   * Writes `msg` now, after anything already queued (`client.reply_without_queue`). Subject to
   * the same limit as `enqueue`.
   */
  writeNow(msg: Uint8Array): boolean {
    if (!this.enqueueChecked(msg)) return false;
    this.flush();
    return true;
  }

  /** Writes everything queued now. Safe to call at any time; a no-op when empty. */
  flush(): void {
    const n = this.queue.length;
    if (n === 0 || this.closed) return;
    const q = this.queue;
    this.queue = this.spare;
    this.queuedBytes = 0;
    const step = this.opts.maxMessagesInFrame;
    for (let i = 0; i < n; i += step) this.transport.write(q, i, Math.min(n, i + step));
    q.length = 0;
    this.spare = q;
    this.transportBuffered = this.transport.bufferedBytes();
  }

  /** The shared end-of-turn flush. */
  flushScheduled(): void {
    this.scheduled = false;
    this.flush();
  }

  /** Stops accepting messages. With `flush`, what is queued is written first. */
  close(flush: boolean): void {
    if (this.closed) return;
    if (flush) this.flush();
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
