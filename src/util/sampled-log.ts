/**
 * Error lines for failures that repeat once per connection or subscription while a server the
 * node depends on is down: a presence refresh, a position check, a command answered error 100.
 * With 100,000 connections a Redis outage would otherwise write thousands of lines a second (each
 * with a stack), and a log sink that falls behind slows the whole process.
 *
 * Each message (the call sites pass literals, so the set is bounded) is written at `error` at
 * most once per window; the ones left out are counted, and the next `error` line of that message
 * carries the count as `suppressed`. Every occurrence left out is still written at `debug`, so
 * `log.level: debug` shows them all.
 */
import type { Logger } from './logger.js';

/** The default window, ms: one line per message every 10 s at most. */
export const SAMPLED_LOG_WINDOW_MS = 10_000;

interface Window {
  /** When the window of the last line written ends (`now()` ms). */
  until: number;
  /** Lines left out since the last one written. */
  suppressed: number;
}

export class SampledLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = SAMPLED_LOG_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  error(fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    const w = this.windows.get(message);
    if (w !== undefined && t < w.until) {
      w.suppressed++;
      this.log.debug(fields, message);
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    if (w === undefined) this.windows.set(message, { until: t + this.windowMs, suppressed: 0 });
    else {
      w.until = t + this.windowMs;
      w.suppressed = 0;
    }
    this.log.error(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
