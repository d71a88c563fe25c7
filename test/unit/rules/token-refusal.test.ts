import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenRefusals } from '../../../src/rules/token-refusal.js';
import { InvalidTokenError, TokenExpiredError } from '../../../src/auth/errors.js';
import { DisconnectError, ReplyError } from '../../../src/protocol/errors.js';

const codeOf = (e: unknown) => (e instanceof DisconnectError ? e.disconnect.code : e instanceof ReplyError ? e.code : undefined);

test('TokenRefusals: each place a token is presented maps expired and invalid tokens to its code, and reports only invalid ones', () => {
  const reports: unknown[][] = [];
  const r = new TokenRefusals((...a) => reports.push(a));
  const expired = new TokenExpiredError();
  const invalid = new InvalidTokenError('signature mismatch');
  assert.deepEqual(
    [r.of(expired, 'connect', 'c'), r.of(expired, 'subscribe', 'c', 'ch'), r.of(expired, 'refresh', 'c'), r.of(expired, 'sub_refresh', 'c', 'ch')].map(codeOf),
    [109, 109, 3005, 109],
  );
  assert.deepEqual(reports, [], 'expired tokens are routine: not reported');
  assert.deepEqual(
    [r.of(invalid, 'connect', 'c'), r.of(invalid, 'subscribe', 'c', 'ch'), r.of(invalid, 'refresh', 'c'), r.of(invalid, 'sub_refresh', 'c', 'ch')].map(codeOf),
    [3500, 103, 3500, 3500],
  );
  assert.deepEqual([r.mismatch('c', 'ch'), r.otherUser('c')].map(codeOf), [3500, 3500]);
  assert.deepEqual(reports, [
    ['connection', 'signature mismatch', 'c'],
    ['subscription', 'signature mismatch', 'c', 'ch'],
    ['connection', 'signature mismatch', 'c'],
    ['subscription', 'signature mismatch', 'c', 'ch'],
    ['subscription', 'token is for another channel, user or client', 'c', 'ch'],
    ['connection', 'refresh token is for another user', 'c'],
  ]);
  // Anything else is not a token's fault and passes through unchanged.
  const other = new Error('jwks down');
  assert.equal(r.of(other, 'connect', 'c'), other);
});
