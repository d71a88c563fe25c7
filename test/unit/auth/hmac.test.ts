import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { InvalidTokenError, TokenVerifier } from '../../../src/auth/verifier.js';
import { sign } from '../../fixtures/keys/index.js';

const SECRET = 'hmac-secret';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function hand(header: Record<string, unknown>, payload: Record<string, unknown>, secret = SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

test('HS256/384/512 tokens verify with the synchronous HMAC path', async () => {
  const v = new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0 });
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const c = await v.verifyConnectToken(await sign({ sub: alg }, alg, SECRET));
    assert.equal(c.user, alg);
  }
  assert.equal((await v.verifyConnectToken(hand({ alg: 'HS512' }, { sub: 'x' }, SECRET, 'sha512'))).user, 'x');
});

test('a signature in a non-canonical encoding is rejected', async () => {
  const v = new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0 });
  const good = hand({ alg: 'HS256' }, { sub: 'u' });
  const [h, p, s] = good.split('.');
  for (const bad of [`${h}.${p}.${s}=`, `${h}.${p}.${s}!`, `${h}.${p}.${Buffer.from(s!, 'base64url').toString('base64')}x`]) {
    await assert.rejects(v.verifyConnectToken(bad), InvalidTokenError, bad.slice(-6));
  }
});

test('crit/b64 header parameters, wrong secrets and malformed tokens are invalid', async () => {
  const v = new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0 });
  await assert.rejects(v.verifyConnectToken(hand({ alg: 'HS256', crit: ['exp'] }, { sub: 'u' })), InvalidTokenError);
  await assert.rejects(v.verifyConnectToken(hand({ alg: 'HS256', b64: false }, { sub: 'u' })), InvalidTokenError);
  await assert.rejects(v.verifyConnectToken(hand({ alg: 'HS256' }, { sub: 'u' }, 'other')), InvalidTokenError);
  await assert.rejects(v.verifyConnectToken('a.b'), InvalidTokenError);
  await assert.rejects(v.verifyConnectToken('a.b.c.d'), InvalidTokenError);
});

test('the HS384 signature does not pass as HS256 (the header alg picks the hash)', async () => {
  const v = new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0 });
  const input = `${b64({ alg: 'HS256' })}.${b64({ sub: 'u' })}`;
  const forged = `${input}.${createHmac('sha384', SECRET).update(input).digest('base64url')}`;
  await assert.rejects(v.verifyConnectToken(forged), InvalidTokenError);
});
