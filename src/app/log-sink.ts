/**
 * Where the process log lines go: one file descriptor (stdout or `log.file`), written so that a
 * slow, stalled or vanished reader can neither lose an accepted line silently nor keep the
 * process alive.
 *
 * - Each line is written at once with a synchronous `write(2)`: to a file that costs a copy into
 *   the page cache, and a line handed over is in the kernel before `write()` returns, so no exit
 *   path (signal, fatal start, uncaught exception) can lose it to an async write still in flight.
 * - A pipe or socket (stdout under `| head`, a container runtime, systemd) is switched to
 *   non-blocking, so a reader that stops reading cannot freeze the event loop. A line the pipe
 *   has no room for waits in a queue bounded in bytes ({@link MAX_QUEUED_BYTES}); the queue is
 *   retried every {@link RETRY_MS} on an unref'd timer. Past the bound new lines are dropped.
 * - A reader that is gone (`EPIPE`, `EBADF`, ...) makes the sink dead: later lines are dropped at
 *   once. Every dropped line is counted ({@link LogSink.dropped}).
 * - {@link LogSink.drain} is the exit path: it keeps writing the queue until it is empty or a
 *   deadline passes, then drops the rest, so the process exits on time whatever the reader does.
 *   {@link LogSink.drainSync} does the same for an exit that cannot wait for the event loop.
 *
 * pino's own destination (sonic-boom) was replaced by this because its asynchronous mode lost the
 * last lines at `process.exit` and retried a dead stdout forever; see docs/dependencies.md.
 */
import { fstatSync, writeSync } from 'node:fs';

/** Lines waiting for a full pipe to drain, in bytes, before new lines are dropped: 4 MiB. */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** How often a full pipe is retried while lines wait, in milliseconds. */
export const RETRY_MS = 10;
/** How often the exit path retries a full pipe, in milliseconds. */
const DRAIN_POLL_MS = 2;

/** Errors that mean "no room now, try later": the fd is non-blocking and the reader is slow. */
const AGAIN = new Set(['EAGAIN', 'EWOULDBLOCK']);

/** A synchronous sleep, for the exit path only, where the event loop no longer runs. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EIO';
}

/**
 * Node makes a pipe or socket non-blocking when it opens it as `process.stdout`/`stderr` (libuv's
 * pipe open), and that is the only way Node offers to do it for an inherited descriptor; the
 * stream itself is never written by the sink.
 */
function makeNonBlocking(fd: number): void {
  if (fd !== 1 && fd !== 2) return; // log.file is opened with O_NONBLOCK by the logger
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return;
  }
  if (!stat.isFIFO() && !stat.isSocket()) return;
  if (fd === 1) void process.stdout.fd;
  else void process.stderr.fd;
}

export class LogSink {
  /** Lines (or the unwritten tail of one) waiting for room, oldest first. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Set when the reader is gone; the code it failed with. */
  private deadCode: string | undefined;
  private readonly reported = new Set<string>();
  /** Lines dropped: no room within the bound, a dead reader, or left at the exit deadline. */
  dropped = 0;

  /** `onFailure` hears each kind of failure once (a code), for a report on stderr. */
  constructor(
    readonly fd: number,
    private readonly onFailure: (code: string) => void = () => {},
  ) {
    makeNonBlocking(fd);
  }

  /** Called by pino with one serialised line (ending in a newline). Never throws. */
  write(line: string): void {
    if (this.deadCode !== undefined) {
      this.dropped++;
      return;
    }
    if (this.queue.length > 0) {
      this.enqueue(Buffer.from(line));
      return;
    }
    let written: number;
    try {
      written = writeSync(this.fd, line);
    } catch (err) {
      if (this.failed(err)) this.enqueue(Buffer.from(line));
      else this.dropped++;
      return;
    }
    if (written < Buffer.byteLength(line)) this.enqueue(Buffer.from(line).subarray(written));
  }

  /** Whether lines are waiting for the reader. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /**
   * Writes what is queued, waiting for the reader until `deadline` (a `Date.now()` value), then
   * drops the rest. The event loop runs while it waits, so a second stop signal is still heard.
   */
  async drain(deadline: number): Promise<void> {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    while (this.queue.length > 0 && this.deadCode === undefined) {
      if (this.writeQueued()) continue;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    this.dropQueued();
  }

  /** {@link drain} without the event loop: for an exit that cannot wait for it. */
  drainSync(deadline: number): void {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    while (this.queue.length > 0 && this.deadCode === undefined) {
      if (this.writeQueued()) continue;
      if (Date.now() >= deadline) break;
      sleepSync(DRAIN_POLL_MS);
    }
    this.dropQueued();
  }

  private dropQueued(): void {
    this.dropped += this.queue.length;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private enqueue(buf: Buffer): void {
    if (this.queuedBytes + buf.length > MAX_QUEUED_BYTES) {
      this.dropped++;
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    if (this.retry === undefined) {
      this.retry = setTimeout(() => this.retryQueued(), RETRY_MS);
      this.retry.unref();
    }
  }

  private retryQueued(): void {
    this.retry = undefined;
    while (this.queue.length > 0 && this.deadCode === undefined && this.writeQueued());
    if (this.queue.length > 0 && this.deadCode === undefined) {
      this.retry = setTimeout(() => this.retryQueued(), RETRY_MS);
      this.retry.unref();
    }
  }

  /** Writes the head of the queue; false when nothing could be written. */
  private writeQueued(): boolean {
    const head = this.queue[0]!;
    let written: number;
    try {
      written = writeSync(this.fd, head);
    } catch (err) {
      if (!this.failed(err) && this.queue.length > 0) {
        // This line cannot be written for good (a full disk, say): drop it, go on with the next.
        this.queue.shift();
        this.queuedBytes -= head.length;
        this.dropped++;
      }
      return false;
    }
    this.queuedBytes -= written;
    if (written >= head.length) this.queue.shift();
    else this.queue[0] = head.subarray(written);
    return written > 0;
  }

  /**
   * Classifies a failed write: true for "no room now" (try again later). A vanished reader kills
   * the sink and drops what is queued; each failure code is reported once.
   */
  private failed(err: unknown): boolean {
    const code = errorCode(err);
    if (AGAIN.has(code)) return true;
    if (code === 'EPIPE' || code === 'EBADF' || code === 'ECONNRESET') {
      this.deadCode = code;
      this.dropped += this.queue.length;
      this.queue.length = 0;
      this.queuedBytes = 0;
    }
    if (!this.reported.has(code)) {
      this.reported.add(code);
      this.onFailure(code);
    }
    return false;
  }
}
