/**
 * Per-connection outgoing queue, bounded in bytes, flushed once per event-loop turn.
 *
 * Everything queued for a connection during one turn (a burst of publications, a reply and the
 * pushes after it) leaves in as few transport frames as possible: up to `maxMessagesInFrame`
 * messages per frame. The flush runs from one shared `setImmediate` for all connections, so
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
  /** Messages joined into one transport frame at most (default 16). */
  maxMessagesInFrame: number;
}

/** Called when the limit is exceeded; the owner closes the connection with 3008. */
export interface WriterOwner {
  onWriterOverflow(): void;
}

const pending: Writer[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  // Writers enqueued while flushing (a transport write that triggers more pushes) are picked up
  // by the loop because `pending.length` is re-read each iteration.
  for (let i = 0; i < pending.length; i++) pending[i]!.flushScheduled();
  pending.length = 0;
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
    // A burst within one turn (a batch or broadcast API call) would otherwise pile up here and
    // count against the limit although the client reads fine: past a quarter of the limit the
    // queue goes to the transport now, where a reading client's kernel buffer absorbs it.
    if (this.queuedBytes >= this.opts.maxQueueBytes / 4) {
      this.flush();
      return true;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      pending.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
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
