/**
 * When to replace a PUB/SUB connection that went silent (shard.ts, pubsub-pool.ts `replace`).
 *
 * Silent means its checks fail (PINGs unanswered on one server; on Sentinel and Cluster, probes
 * Redis acknowledged but that never arrived, delivery-probe.ts) while Redis answers the command
 * connection. A connection silent for twice `io_timeout`, with a command PING sent after the
 * silence began and answered, has lost its path, not its Redis: a stalled Redis answers neither,
 * a restarted one drops both sockets (the client reconnects them itself), and a slow resubscribe
 * answers within the second `io_timeout`. A replacement that fails is tried again after a backoff
 * that doubles from twice `io_timeout` up to a minute.
 */
import type { PubSubConn } from './pubsub-conn.js';

const MAX_BACKOFF_MS = 60_000;

export class SilenceWatch {
  /** Since when each connection has failed its checks (performance.now() ms). */
  private readonly since = new Map<PubSubConn, number>();
  /** After a failed replacement: not before `at`, and the next delay. */
  private readonly backoff = new Map<PubSubConn, { at: number; delayMs: number }>();
  /** When the last command PING that was answered had been sent (performance.now() ms). */
  private commandAnsweredSentAt = 0;

  constructor(private readonly ioTimeoutMs: number) {}

  /** A command PING sent at `sentAt` was answered. */
  commandAnswered(sentAt: number): void {
    this.commandAnsweredSentAt = Math.max(this.commandAnsweredSentAt, sentAt);
  }

  /** `c` passed a check, or connected again: whatever silence it had, and its backoff, are over. */
  answered(c: PubSubConn): void {
    this.since.delete(c);
    this.backoff.delete(c);
  }

  /** `c` failed a check that does not say it is silent (Redis holds no subscription for it yet). */
  notSilent(c: PubSubConn): void {
    this.since.delete(c);
  }

  /**
   * `c` failed a check; `since`: when its silence began, as far as this check knows. Returns when
   * the silence began if `c` should be replaced now, else undefined.
   */
  silent(c: PubSubConn, since: number, now = performance.now()): number | undefined {
    const began = Math.min(this.since.get(c) ?? since, since);
    this.since.set(c, began);
    const wait = this.backoff.get(c);
    if (wait !== undefined && now < wait.at) return undefined;
    return now - began >= 2 * this.ioTimeoutMs && this.commandAnsweredSentAt > began ? began : undefined;
  }

  /** Replacing `c` failed: the next try waits. */
  replaceFailed(c: PubSubConn, now = performance.now()): void {
    const delayMs = Math.min(MAX_BACKOFF_MS, (this.backoff.get(c)?.delayMs ?? this.ioTimeoutMs) * 2);
    this.backoff.set(c, { at: now + delayMs, delayMs });
  }

  forget(c: PubSubConn): void {
    this.since.delete(c);
    this.backoff.delete(c);
  }
}
