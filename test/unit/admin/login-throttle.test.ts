/** Failed admin logins throttled per address (admin/login-throttle.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, MAX_FAILURES, WINDOW_MS } from '../../../src/admin/login-throttle.js';

test('login throttle - blocks an address after MAX_FAILURES in the window, others unaffected, until the window ends', () => {
  const t = new LoginThrottle();
  const at = 1_000_000;
  for (let i = 0; i < MAX_FAILURES - 1; i++) t.failed('a', at + i);
  assert.equal(t.blockedFor('a', at + 100), 0);
  t.failed('a', at + 100);
  assert.equal(t.blockedFor('a', at + 100), WINDOW_MS - 100);
  assert.equal(t.blockedFor('b', at + 100), 0, 'another address');
  assert.equal(t.blockedFor('a', at + WINDOW_MS), 0, 'the window is over');
  assert.equal(t.blockedFor('a', at + WINDOW_MS + 1), 0, 'and forgotten');
});

test('login throttle - a right password clears the count', () => {
  const t = new LoginThrottle();
  for (let i = 0; i < MAX_FAILURES - 1; i++) t.failed('a', 0);
  t.succeeded('a');
  t.failed('a', 1);
  assert.equal(t.blockedFor('a', 2), 0);
});
