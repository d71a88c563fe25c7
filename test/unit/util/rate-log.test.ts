/**
 * RateLimitedLog on an explicit clock: one line per key per interval, the repeats at debug, and
 * the count of those held back on the next line of the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitedLog } from '../../../src/util/rate-log.js';
import type { Logger } from '../../../src/util/logger.js';

function capture() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: unknown, message?: unknown): void => void lines.push({ level, fields: fields as Record<string, unknown>, message: String(message) });
  const log: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

test('rate-limited log: one error line per message per interval; repeats go to debug and are counted on the next error line', () => {
  const { log, lines } = capture();
  let now = 1000;
  const s = new RateLimitedLog(log, 10_000, () => now);
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

test('rate-limited log: write() keys lines by the key given, at the level given', () => {
  const { log, lines } = capture();
  let now = 0;
  const s = new RateLimitedLog(log, 1000, () => now);
  s.write('warn', 'retry', { attempt: 1 }, 'batch not delivered, retrying');
  s.write('warn', 'retry', { attempt: 2 }, 'batch not delivered, retrying');
  s.write('error', 'drop', { why: 'refused' }, 'batch dropped');
  now = 1000;
  s.write('warn', 'retry', { attempt: 3 }, 'batch not delivered, retrying');
  assert.deepEqual(
    lines.map((l) => [l.level, l.fields]),
    [
      ['warn', { attempt: 1 }],
      ['debug', { attempt: 2 }],
      ['error', { why: 'refused' }],
      ['warn', { attempt: 3, suppressed: 1 }],
    ],
  );
});

test('rate-limited log: keys are remembered up to a bound; past it the record starts over, so memory stays bounded whatever the keys', () => {
  const { log, lines } = capture();
  const s = new RateLimitedLog(log, 10_000, () => 0);
  s.write('error', 'first', {}, 'first');
  s.write('error', 'first', {}, 'first');
  for (let i = 0; i < 998; i++) s.write('error', `k${i}`, {}, 'filler');
  // 999 keys held: 'first' is still limited.
  s.write('error', 'first', {}, 'first');
  assert.deepEqual(lines.filter((l) => l.message === 'first').map((l) => l.level), ['error', 'debug', 'debug']);
  s.write('error', 'k998', {}, 'filler');
  // The 1,001st key clears the record: 'first' is written again, at its level.
  s.write('error', 'one-too-many', {}, 'filler');
  s.write('error', 'first', {}, 'first');
  assert.deepEqual(lines.filter((l) => l.message === 'first').map((l) => l.level), ['error', 'debug', 'debug', 'error']);
});
