/**
 * Whether what the NATS broker wrote reached the server: a PING sent after it, answered within
 * `write_timeout`. Messages written in one turn of the event loop share one PING (sent in a
 * microtask, after them). A PING that times out marks the server stalled until one is answered
 * again; meanwhile the broker refuses to write (broker.ts says why) and sends at most one PING at
 * a time (`probe`) to learn when the stall is over.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { withTimeout } from '../../util/timeout.js';
import { messageOf } from '../../util/message-of.js';

export class WriteTimeoutError extends Error {
  override readonly name = 'WriteTimeoutError';
}

/** `p`, or a WriteTimeoutError after `ms` saying `what`; a late rejection of `p` is absorbed. */
export function writeTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(p, ms, () => new WriteTimeoutError(`${what}: no reply from the server within ${ms} ms`));
}

export class Confirmations {
  #stalled: string | undefined;
  /** A stall's PING is in flight. */
  private probing = false;
  /** The confirmation the messages of this turn will share, until its PING goes out. */
  private pending: Promise<void> | undefined;

  /** Why the server counts as stalled; undefined once a PING is answered again. */
  get stalled(): string | undefined {
    return this.#stalled;
  }

  /** The connection came back (a reconnect): whatever stalled is gone with the old socket. */
  clearStall(): void {
    this.#stalled = undefined;
  }

  constructor(
    /** `write_timeout`, ms. */
    private readonly timeoutMs: number,
    /** The server's address for messages (credentials removed). */
    private readonly server: () => string,
  ) {}

  /** Resolves once the server answers a PING sent after everything written so far. */
  confirm(nc: NatsConnection, what: string): Promise<void> {
    const pending = this.pending;
    if (pending !== undefined) return pending;
    const p = new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        this.pending = undefined;
        writeTimeout(nc.flush(), this.timeoutMs, `nats ${this.server()}: ${what} not confirmed`).then(
          () => {
            this.#stalled = undefined;
            resolve();
          },
          (err: unknown) => {
            if (err instanceof WriteTimeoutError) this.#stalled = `no reply to a PING within ${this.timeoutMs} ms`;
            reject(err instanceof WriteTimeoutError ? err : new Error(`nats ${this.server()}: ${what} not confirmed: ${messageOf(err)}`, { cause: err }));
          },
        );
      });
    });
    this.pending = p;
    return p;
  }

  /** While stalled: one PING (never two at once), whose answer ends the stall. */
  probe(nc: NatsConnection): void {
    if (this.#stalled === undefined || this.probing) return;
    this.probing = true;
    writeTimeout(nc.flush(), this.timeoutMs, 'probe')
      .then(
        () => {
          this.#stalled = undefined;
        },
        () => {},
      )
      .finally(() => {
        this.probing = false;
      });
  }
}
