import { afterEach, beforeEach, describe, it, mock, type Mock } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidTokenError, TokenExpiredError, TokenVerifier, type TokenVerifierOptions } from '../../../src/auth/verifier.js';
import { ecKeys, sign } from '../../fixtures/keys/index.js';

const START = 1_700_000_000;
const SECRET = 'secret';

/**
 * The cache is observed through the number of signature checks. ES256 tokens are verified by jose
 * with WebCrypto's `crypto.subtle.verify`, so a cache hit is a verification that did not call it.
 * HMAC tokens are not cached at all (an HMAC check costs about what a lookup does).
 */
const EC = ecKeys('cache');
const OTHER_EC = ecKeys('cache-other');
describe('verified-token cache', () => {
  let verifySpy: Mock<typeof crypto.subtle.verify>;
  let nowSec = START;

  beforeEach(() => {
    nowSec = START;
    verifySpy = mock.method(crypto.subtle, 'verify');
  });
  afterEach(() => verifySpy.mock.restore());

  const make = (opts: TokenVerifierOptions = {}) =>
    new TokenVerifier({ hmacSecretKey: SECRET, ecdsaPublicKey: EC.publicPem, ...opts }, { now: () => nowSec * 1000 });
  const checks = () => verifySpy.mock.callCount();

  it('serves a repeated token from the cache (default size)', async () => {
    const v = make();
    const token = await sign({ sub: 'u', exp: START + 60, info: { a: 1 } }, 'ES256', EC.privateKey);
    const first = await v.verifyConnectToken(token);
    const second = await v.verifyConnectToken(token);
    assert.deepEqual(second, first);
    assert.equal(checks(), 1);
  });

  it('caches asymmetric verifications only: HMAC tokens are checked every time and never held', async () => {
    const v = make();
    const hs = await sign({ sub: 'u', exp: START + 60 }, 'HS256', SECRET);
    assert.equal((await v.verifyConnectToken(hs)).user, 'u');
    assert.equal((await v.verifyConnectToken(hs)).user, 'u');
    assert.equal(v.cachedTokens, 0);
    // Expiry still applies to an HMAC token presented again.
    nowSec = START + 60;
    await assert.rejects(v.verifyConnectToken(hs), TokenExpiredError);
    const es = await sign({ sub: 'u', exp: START + 600 }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(es);
    await v.verifySubscriptionToken(await sign({ sub: 'u', channel: 'c', exp: START + 600 }, 'ES256', EC.privateKey));
    assert.equal(v.cachedTokens, 2);
  });

  it('cacheSize 0 disables the cache', async () => {
    const v = make({ cacheSize: 0 });
    const token = await sign({ sub: 'u' }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(token);
    await v.verifyConnectToken(token);
    assert.equal(checks(), 2);
  });

  it('returns copies: mutating a result does not change later results', async () => {
    const v = make();
    const token = await sign({ sub: 'u', channels: ['a'], info: 'x', subs: undefined }, 'ES256', EC.privateKey);
    const first = await v.verifyConnectToken(token);
    first.channels.push('evil');
    first.user = 'admin';
    (first.info as Uint8Array)[0] = 0;
    const second = await v.verifyConnectToken(token);
    assert.deepEqual(second.channels, ['a']);
    assert.equal(second.user, 'u');
    assert.equal(new TextDecoder().decode(second.info), '"x"');
  });

  it('a cached token past its exp answers TokenExpiredError', async () => {
    const v = make();
    const token = await sign({ sub: 'u', exp: START + 10 }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(token);
    nowSec = START + 9;
    await v.verifyConnectToken(token);
    assert.equal(checks(), 1);
    nowSec = START + 10;
    await assert.rejects(v.verifyConnectToken(token), TokenExpiredError);
    await assert.rejects(v.verifyConnectToken(token), TokenExpiredError, 'still expired after the entry is dropped');
  });

  it('expire_at beyond exp does not extend the cache entry', async () => {
    const v = make();
    const token = await sign({ sub: 'u', exp: START + 10, expire_at: 0 }, 'ES256', EC.privateKey);
    assert.equal((await v.verifyConnectToken(token)).expireAt, 0);
    nowSec = START + 11;
    await assert.rejects(v.verifyConnectToken(token), TokenExpiredError);
  });

  it('tokens without exp stay cached', async () => {
    const v = make();
    const token = await sign({ sub: 'u' }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(token);
    nowSec = START + 10 * 365 * 86400;
    await v.verifyConnectToken(token);
    assert.equal(checks(), 1);
  });

  it('a token verified with the previous HMAC secret is not reused after valid_until', async () => {
    const v = make({ hmacPreviousSecretKey: 'old', hmacPreviousSecretKeyValidUntil: START + 100 });
    const token = await sign({ sub: 'u' }, 'HS256', 'old');
    await v.verifyConnectToken(token);
    nowSec = START + 50;
    await v.verifyConnectToken(token);
    nowSec = START + 100;
    await assert.rejects(v.verifyConnectToken(token), InvalidTokenError);
  });

  it('keeps connection and subscription verdicts apart', async () => {
    const v = make();
    const subToken = await sign({ sub: 'u', channel: 'c' }, 'ES256', EC.privateKey);
    assert.equal((await v.verifySubscriptionToken(subToken)).channel, 'c');
    await assert.rejects(v.verifyConnectToken(subToken), /channel/);
    const connToken = await sign({ sub: 'u' }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(connToken);
    await assert.rejects(v.verifySubscriptionToken(connToken), /channel/);
    assert.equal((await v.verifySubscriptionToken(subToken)).channel, 'c');
  });

  it('caches subscription tokens and returns copies', async () => {
    const v = make();
    const token = await sign({ sub: 'u', channel: 'c', override: { presence: { value: true } } }, 'ES256', EC.privateKey);
    const first = await v.verifySubscriptionToken(token);
    (first.override ?? {}).presence = false;
    const second = await v.verifySubscriptionToken(token);
    assert.deepEqual(second.override, { presence: true });
    assert.equal(checks(), 1);
  });

  it('is bounded by cacheSize (LRU)', async () => {
    const v = make({ cacheSize: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ sub }, 'ES256', EC.privateKey)));
    for (const t of [a, b, c]) await v.verifyConnectToken(t);
    assert.equal(checks(), 3);
    await v.verifyConnectToken(c);
    await v.verifyConnectToken(b);
    assert.equal(checks(), 3);
    await v.verifyConnectToken(a);
    assert.equal(checks(), 4, 'the least recently used token was evicted');
  });

  it('does not cache very large tokens', async () => {
    const v = make();
    const token = await sign({ sub: 'u', info: 'x'.repeat(20_000) }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(token);
    await v.verifyConnectToken(token);
    assert.equal(checks(), 2);
  });

  it('does not cache failures', async () => {
    const v = make();
    const token = await sign({ sub: 'u' }, 'ES256', OTHER_EC.privateKey);
    await assert.rejects(v.verifyConnectToken(token), InvalidTokenError);
    await assert.rejects(v.verifyConnectToken(token), InvalidTokenError);
    assert.equal(checks(), 2);
  });

  it('close() drops cached verifications', async () => {
    const v = make();
    const token = await sign({ sub: 'u' }, 'ES256', EC.privateKey);
    await v.verifyConnectToken(token);
    v.close();
    await v.verifyConnectToken(token);
    assert.equal(checks(), 2);
  });
});
