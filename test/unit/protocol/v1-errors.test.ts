import { test } from 'node:test';
import assert from 'node:assert/strict';
import { v1CloseReason } from '../../../src/protocol/v1/errors.js';

test('v1 close advice: v1\'s words where it had them, reconnect by code range, always JSON within a close frame\'s 123 bytes', () => {
  assert.equal(v1CloseReason(3500, 'invalid token'), '{"reason":"invalid token","reconnect":false}');
  assert.equal(v1CloseReason(3005, 'connection expired'), '{"reason":"expired","reconnect":true}');
  assert.equal(v1CloseReason(4000, 'custom'), '{"reason":"custom","reconnect":true}');
  for (const long of ['x'.repeat(500), '€'.repeat(200), '\u0001'.repeat(200), '"'.repeat(200)]) {
    const advice = v1CloseReason(4500, long);
    assert.ok(Buffer.byteLength(advice) <= 123, advice);
    const parsed = JSON.parse(advice) as { reason: string; reconnect: boolean };
    assert.equal(parsed.reconnect, false);
    assert.ok(long.startsWith(parsed.reason) && parsed.reason.length > 0);
  }
});
