/**
 * Logging that cannot flood: at most one line per key per interval. Lines held back are counted
 * and the count (`suppressed`) goes out with the next line of that key, so nothing is silently
 * lost from the picture. For failures that repeat per batch or per event (a backend down, a full
 * queue).
 */
import type { Logger } from '../util/logger.js';

type Level = 'warn' | 'error';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    /** Minimum time between two lines of one key, ms. */
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `msg` with `fields` (and `suppressed`, the lines held back since the last one) or counts it. */
  write(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const s = this.last.get(key);
    if (s !== undefined && t - s.at < this.everyMs) {
      s.suppressed++;
      return;
    }
    this.log[level]({ ...fields, suppressed: s?.suppressed ?? 0 }, msg);
    this.last.set(key, { at: t, suppressed: 0 });
  }
}
