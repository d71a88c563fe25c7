/** Admin session tokens (admin/session-token.ts): issued, checked, refused when forged, expired or of another secret. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN_TTL_S, AdminTokens } from '../../../src/admin/session-token.js';

test('admin tokens - valid until the ttl, bound to the secret, refused when tampered with', () => {
  const t = new AdminTokens('s3cret');
  const now = 1_800_000_000;
  const token = t.issue(now);
  assert.ok(t.valid(token, now));
  assert.ok(t.valid(token, now + ADMIN_TOKEN_TTL_S - 1));
  assert.ok(!t.valid(token, now + ADMIN_TOKEN_TTL_S), 'expired');
  assert.ok(!new AdminTokens('other').valid(token, now), 'another secret');
  const [exp, sig] = token.split('.');
  assert.ok(!t.valid(`${Number(exp) + 1000}.${sig}`, now), 'a later expiry with the old signature');
  for (const bad of ['', '.', 'x.y', `${exp}.`, `.${sig}`, `${exp}.${sig}.x`, `-1.${sig}`, `${exp}.${sig!.slice(1)}`]) assert.ok(!t.valid(bad, now), bad);
});
