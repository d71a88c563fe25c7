/**
 * SampledLog on an explicit clock: one error line per message per window, the repeats at debug,
 * and the count of those left out on the next error line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampledLog } from '../../../src/util/sampled-log.js';
import type { Logger } from '../../../src/util/logger.js';

function capture() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: unknown, message?: unknown): void => void lines.push({ level, fields: fields as Record<string, unknown>, message: String(message) });
  const log: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

test('sampled log: one error line per message per window; repeats go to debug and are counted on the next error line', () => {
  const { log, lines } = capture();
  let now = 1000;
  const s = new SampledLog(log, 10_000, () => now);
  s.error({ channel: 'a' }, 'presence refresh failed');
  s.error({ channel: 'b' }, 'presence refresh failed');
  s.error({ channel: 'c' }, 'presence refresh failed');
  // Another message has its own window.
  s.error({ method: 'publish' }, 'api call failed');
  now += 9_999;
  s.error({ channel: 'd' }, 'presence refresh failed');
  now += 1;
  s.error({ channel: 'e' }, 'presence refresh failed');
  s.error({ channel: 'f' }, 'presence refresh failed');
  now += 10_000;
  s.error({ channel: 'g' }, 'presence refresh failed');
  assert.deepEqual(
    lines.map((l) => [l.level, l.message, l.fields]),
    [
      ['error', 'presence refresh failed', { channel: 'a' }],
      ['debug', 'presence refresh failed', { channel: 'b' }],
      ['debug', 'presence refresh failed', { channel: 'c' }],
      ['error', 'api call failed', { method: 'publish' }],
      ['debug', 'presence refresh failed', { channel: 'd' }],
      ['error', 'presence refresh failed', { channel: 'e', suppressed: 3 }],
      ['debug', 'presence refresh failed', { channel: 'f' }],
      ['error', 'presence refresh failed', { channel: 'g', suppressed: 1 }],
    ],
  );
});
