/**
 * Duration values in configuration.
 *
 * Config files and env vars write durations the way Centrifugo (Go) does: `"500ms"`, `"25s"`,
 * `"1m30s"`, `"720h"`, or a plain number meaning **seconds**. The loaded config always holds
 * **integer milliseconds**, so modules never parse units themselves.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)/y;

/** Why a duration string was rejected (the caller adds the key path). */
export class DurationSyntaxError extends Error {
  override readonly name = 'DurationSyntaxError';
}

/**
 * Parses a Go-style duration string or a number of seconds into milliseconds (rounded to the
 * nearest millisecond). Accepts an optional sign and any sequence of `<decimal><unit>` parts
 * with units `ms`, `s`, `m`, `h`; a bare number (also as a string, as env vars give it) is seconds.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new DurationSyntaxError(`invalid duration ${String(input)}`);
    return Math.round(input * 1000);
  }
  const text = input.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(text)) return Math.round(Number(text) * 1000);
  let pos = 0;
  let sign = 1;
  if (text.startsWith('-') || text.startsWith('+')) {
    sign = text.startsWith('-') ? -1 : 1;
    pos = 1;
  }
  let total = 0;
  let parts = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (m === null) break;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    pos = PART.lastIndex;
    parts++;
  }
  if (parts === 0 || pos !== text.length) {
    throw new DurationSyntaxError(
      `invalid duration ${JSON.stringify(input)}: use a number of seconds or a string like "500ms", "25s", "1m30s", "720h"`,
    );
  }
  return sign * Math.round(total);
}

/**
 * Formats milliseconds compactly for config files and docs: `25s`, `1m30s`, `720h`, `500ms`,
 * `0s`. The output always parses back to the same value with {@link parseDuration}.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  rest -= s * 1000;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (s > 0) out += `${s}s`;
  if (rest > 0) out += `${rest}ms`;
  return sign + out;
}

/**
 * Formats milliseconds the way Go's `time.Duration.String()` does for whole seconds
 * (`168h0m0s`, `1m30s`, `25s`, `500ms`). The CLI uses it where Centrifugo prints durations.
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs}ms`;
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = (abs % 60_000) / 1000;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
