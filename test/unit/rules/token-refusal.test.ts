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
    [r.atConnect(expired, 'c'), r.atSubscribe(expired, 'c', 'ch'), r.atRefresh(expired, 'c'), r.atSubRefresh(expired, 'c', 'ch')].map(codeOf),
    [109, 109, 3005, 109],
  );
  assert.deepEqual(reports, [], 'expired tokens are routine: not reported');
  assert.deepEqual(
    [r.atConnect(invalid, 'c'), r.atSubscribe(invalid, 'c', 'ch'), r.atRefresh(invalid, 'c'), r.atSubRefresh(invalid, 'c', 'ch')].map(codeOf),
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
  assert.equal(r.atConnect(other, 'c'), other);
});
