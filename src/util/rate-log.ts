/**
 * Logging that cannot flood, for failures that repeat per connection, subscription, request,
 * batch or event while something the node depends on is down (Redis, NATS, a backend): with
 * 100,000 connections a Redis outage would otherwise write thousands of lines a second, each with
 * a stack, and a log sink that falls behind slows the whole process.
 *
 * Each key is written at its level at most once per interval. Call sites pass literals or a kind
 * of failure (a proxy's name and the start of its error), so keys are few; should a caller's keys
 * grow past MAX_KEYS anyway, the record starts over (a line each may then be written early). The lines held back are counted, and the count goes out as `suppressed` with the
 * next line of that key; each is still written at `debug`, so `log.level: debug` shows them all.
 */
import type { Logger } from './logger.js';

/** The default interval, ms: one line per key every 10 s at most. */
export const RATE_LOG_EVERY_MS = 10_000;
/** Keys remembered at most. */
const MAX_KEYS = 1000;

type Level = 'info' | 'warn' | 'error';

interface KeyState {
  /** When the last line of the key was written (`now()` ms). */
  at: number;
  /** Lines held back since. */
  suppressed: number;
}

export class RateLimitedLog {
  private readonly last = new Map<string, KeyState>();

  constructor(
    private readonly log: Logger,
    /** Minimum time between two lines of one key, ms. */
    private readonly everyMs = RATE_LOG_EVERY_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Writes `msg` with `fields` (and `suppressed` when lines were held back), or holds it back. */
  write(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const s = this.last.get(key);
    if (s !== undefined && t - s.at < this.everyMs) {
      s.suppressed++;
      this.log.debug(fields, msg);
      return;
    }
    const suppressed = s?.suppressed ?? 0;
    this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    if (s === undefined) {
      if (this.last.size >= MAX_KEYS) this.last.clear();
      this.last.set(key, { at: t, suppressed: 0 });
    }
    else {
      s.at = t;
      s.suppressed = 0;
    }
  }

  /** An error line keyed by its message. */
  error(fields: Record<string, unknown>, msg: string): void {
    this.write('error', msg, fields, msg);
  }
}
