import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidTokenError,
  TokenExpiredError,
  TokenVerifier,
  type TokenVerifierOptions,
} from '../../../src/auth/verifier.js';
import { ecKeys, rawToken, rsaKeys, sign, unsigned } from '../../fixtures/keys/index.js';

const NOW = 1_700_000_000; // unix seconds of the fake clock
const SECRET = 'current-secret';

function verifier(opts: TokenVerifierOptions, nowSec = NOW): TokenVerifier {
  return new TokenVerifier({ cacheSize: 0, ...opts }, { now: () => nowSec * 1000 });
}

describe('HMAC', () => {
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    it(`accepts a valid ${alg} token`, async () => {
      const token = await sign({ sub: 'u1', exp: NOW + 60 }, alg, SECRET);
      const claims = await verifier({ hmacSecretKey: SECRET }).verifyConnectToken(token);
      assert.equal(claims.user, 'u1');
      assert.equal(claims.expireAt, NOW + 60);
      assert.deepEqual(claims.channels, []);
    });
  }

  it('rejects a wrong signature', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', 'other-secret');
    await assert.rejects(verifier({ hmacSecretKey: SECRET }).verifyConnectToken(token), InvalidTokenError);
  });

  it('rejects a tampered payload', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', SECRET);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')}.${s}`;
    await assert.rejects(verifier({ hmacSecretKey: SECRET }).verifyConnectToken(forged), InvalidTokenError);
  });

  it('accepts tokens without exp (never expires)', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', SECRET);
    const claims = await verifier({ hmacSecretKey: SECRET }).verifyConnectToken(token);
    assert.equal(claims.expireAt, 0);
  });

  it('empty sub means anonymous', async () => {
    const token = await sign({}, 'HS256', SECRET);
    assert.equal((await verifier({ hmacSecretKey: SECRET }).verifyConnectToken(token)).user, '');
  });
});

describe('HMAC key rotation', () => {
  const OLD = 'previous-secret';

  it('accepts the previous secret before valid_until', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', OLD);
    const v = verifier({ hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD, hmacPreviousSecretKeyValidUntil: NOW + 10 });
    assert.equal((await v.verifyConnectToken(token)).user, 'u1');
  });

  it('rejects the previous secret at/after valid_until', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', OLD);
    const opts = { hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD, hmacPreviousSecretKeyValidUntil: NOW };
    await assert.rejects(verifier(opts).verifyConnectToken(token), InvalidTokenError);
    await assert.rejects(verifier(opts, NOW + 100).verifyConnectToken(token), InvalidTokenError);
  });

  it('treats absent or 0 valid_until as no limit', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', OLD);
    assert.equal((await verifier({ hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD }).verifyConnectToken(token)).user, 'u1');
    const v0 = verifier({ hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD, hmacPreviousSecretKeyValidUntil: 0 });
    assert.equal((await v0.verifyConnectToken(token)).user, 'u1');
  });

  it('still reports expiry (not invalid) for an expired token signed with the previous secret', async () => {
    const token = await sign({ sub: 'u1', exp: NOW - 1 }, 'HS256', OLD);
    const v = verifier({ hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD });
    await assert.rejects(v.verifyConnectToken(token), TokenExpiredError);
  });

  it('still prefers the current secret', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', SECRET);
    const v = verifier({ hmacSecretKey: SECRET, hmacPreviousSecretKey: OLD, hmacPreviousSecretKeyValidUntil: NOW - 1 });
    assert.equal((await v.verifyConnectToken(token)).user, 'u1');
  });
});

describe('RSA and ECDSA', () => {
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256']) {
    it(`accepts ${alg} with the configured RSA public key`, async () => {
      const kp = rsaKeys();
      const token = await sign({ sub: 'r1' }, alg, kp.privateKey);
      assert.equal((await verifier({ rsaPublicKey: kp.publicPem }).verifyConnectToken(token)).user, 'r1');
    });
  }

  it('rejects an RSA token signed by another key', async () => {
    const token = await sign({ sub: 'r1' }, 'RS256', rsaKeys('other').privateKey);
    await assert.rejects(verifier({ rsaPublicKey: rsaKeys().publicPem }).verifyConnectToken(token), InvalidTokenError);
  });

  for (const [alg, crv] of [['ES256', 'P-256'], ['ES384', 'P-384'], ['ES512', 'P-521']] as const) {
    it(`accepts ${alg} with a ${crv} public key`, async () => {
      const kp = ecKeys('default', crv);
      const token = await sign({ sub: 'e1' }, alg, kp.privateKey);
      assert.equal((await verifier({ ecdsaPublicKey: kp.publicPem }).verifyConnectToken(token)).user, 'e1');
    });
  }

  it('rejects ES384 when the configured key is P-256 (curve must match alg)', async () => {
    const token = await sign({ sub: 'e1' }, 'ES384', ecKeys('default', 'P-384').privateKey);
    await assert.rejects(verifier({ ecdsaPublicKey: ecKeys().publicPem }).verifyConnectToken(token), InvalidTokenError);
  });

  it('rejects an RS token when only HMAC is configured', async () => {
    const token = await sign({ sub: 'r1' }, 'RS256', rsaKeys().privateKey);
    await assert.rejects(verifier({ hmacSecretKey: SECRET }).verifyConnectToken(token), /no RSA public key/);
  });

  it('rejects an ES token when only RSA is configured', async () => {
    const token = await sign({ sub: 'e1' }, 'ES256', ecKeys().privateKey);
    await assert.rejects(verifier({ rsaPublicKey: rsaKeys().publicPem }).verifyConnectToken(token), /no ECDSA public key/);
  });

  it('rejects an HS token when no HMAC secret is configured', async () => {
    const token = await sign({ sub: 'u1' }, 'HS256', SECRET);
    await assert.rejects(verifier({ rsaPublicKey: rsaKeys().publicPem }).verifyConnectToken(token), /HMAC algorithms are disabled/);
  });

  it('accepts every configured family side by side', async () => {
    const v = verifier({ hmacSecretKey: SECRET, rsaPublicKey: rsaKeys().publicPem, ecdsaPublicKey: ecKeys().publicPem });
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'h' }, 'HS256', SECRET))).user, 'h');
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'r' }, 'RS256', rsaKeys().privateKey))).user, 'r');
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'e' }, 'ES256', ecKeys().privateKey))).user, 'e');
  });
});

describe('algorithm confusion and unsigned tokens', () => {
  it('rejects HS256 signed with the RSA public PEM as secret (only RSA configured)', async () => {
    const pem = rsaKeys().publicPem;
    const token = await sign({ sub: 'attacker' }, 'HS256', pem);
    await assert.rejects(verifier({ rsaPublicKey: pem }).verifyConnectToken(token), InvalidTokenError);
  });

  it('checks HS tokens only against the HMAC secret when HMAC and RSA are both configured', async () => {
    const pem = rsaKeys().publicPem;
    const token = await sign({ sub: 'attacker' }, 'HS256', pem);
    await assert.rejects(verifier({ hmacSecretKey: SECRET, rsaPublicKey: pem }).verifyConnectToken(token), /signature mismatch/);
  });

  it('rejects alg none with any key configuration', async () => {
    const token = unsigned({ sub: 'u1' });
    for (const opts of [{ hmacSecretKey: SECRET }, { rsaPublicKey: rsaKeys().publicPem }, {}]) {
      await assert.rejects(verifier(opts).verifyConnectToken(token), /alg "none"/);
    }
    await assert.rejects(verifier({}).verifyConnectToken(unsigned({}, { alg: 'NONE' })), InvalidTokenError);
  });

  it('rejects an alg none header carrying a valid HMAC signature', async () => {
    const [, payload, signature] = (await sign({ sub: 'u1' }, 'HS256', SECRET)).split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    await assert.rejects(verifier({ hmacSecretKey: SECRET }).verifyConnectToken(`${header}.${payload}.${signature}`), InvalidTokenError);
  });

  it('rejects unsupported algorithms', async () => {
    await assert.rejects(verifier({ hmacSecretKey: SECRET }).verifyConnectToken(rawToken({ alg: 'EdDSA' }, { sub: 'x' })), /unsupported algorithm/);
  });

  it('insecureSkipSignatureVerify accepts any signature, including alg none, but still checks claims', async () => {
    const v = verifier({ hmacSecretKey: SECRET, insecureSkipSignatureVerify: true, audience: 'app' });
    assert.equal((await v.verifyConnectToken(unsigned({ sub: 'dev', aud: 'app' }))).user, 'dev');
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'dev2', aud: 'app' }, 'HS256', 'wrong'))).user, 'dev2');
    await assert.rejects(v.verifyConnectToken(unsigned({ sub: 'dev', aud: 'other' })), InvalidTokenError);
    await assert.rejects(v.verifyConnectToken(unsigned({ sub: 'dev', aud: 'app', exp: NOW - 1 })), TokenExpiredError);
  });
});

describe('malformed tokens', () => {
  const v = () => verifier({ hmacSecretKey: SECRET });
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['garbage', 'not-a-token'],
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['non-JSON header', `${Buffer.from('x').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.sig`],
    ['array payload', rawToken({ alg: 'HS256' }, [1, 2])],
    ['missing alg', rawToken({ typ: 'JWT' }, { sub: 'x' })],
  ];
  for (const [name, token] of cases) {
    it(`rejects ${name}`, async () => {
      await assert.rejects(v().verifyConnectToken(token), InvalidTokenError);
    });
  }

  for (const [claim, value] of [['sub', 42], ['exp', 'tomorrow'], ['nbf', {}], ['aud', 7], ['aud', ['ok', 1]], ['iss', false]] as const) {
    it(`rejects ${claim}=${JSON.stringify(value)}`, async () => {
      const token = await sign({ [claim]: value }, 'HS256', SECRET);
      await assert.rejects(v().verifyConnectToken(token), InvalidTokenError);
    });
  }
});

describe('expiry', () => {
  const v = () => verifier({ hmacSecretKey: SECRET });

  it('exp in the past or now ⇒ TokenExpiredError', async () => {
    await assert.rejects(v().verifyConnectToken(await sign({ sub: 'u', exp: NOW - 1 }, 'HS256', SECRET)), TokenExpiredError);
    await assert.rejects(v().verifyConnectToken(await sign({ sub: 'u', exp: NOW }, 'HS256', SECRET)), TokenExpiredError);
  });

  it('nbf in the future ⇒ TokenExpiredError; nbf reached ⇒ ok', async () => {
    await assert.rejects(v().verifyConnectToken(await sign({ sub: 'u', nbf: NOW + 1 }, 'HS256', SECRET)), TokenExpiredError);
    assert.equal((await v().verifyConnectToken(await sign({ sub: 'u', nbf: NOW }, 'HS256', SECRET))).user, 'u');
  });

  it('expired subscription token ⇒ TokenExpiredError', async () => {
    const token = await sign({ sub: 'u', channel: 'c', exp: NOW - 5 }, 'HS256', SECRET);
    await assert.rejects(v().verifySubscriptionToken(token), TokenExpiredError);
  });

  it('a bad signature wins over expiry (invalid, not expired)', async () => {
    const token = await sign({ sub: 'u', exp: NOW - 5 }, 'HS256', 'wrong');
    await assert.rejects(v().verifyConnectToken(token), InvalidTokenError);
  });
});

describe('audience and issuer', () => {
  const tok = (claims: Record<string, unknown>) => sign({ sub: 'u', ...claims }, 'HS256', SECRET);

  it('are not checked when not configured', async () => {
    assert.equal((await verifier({ hmacSecretKey: SECRET }).verifyConnectToken(await tok({ aud: 'x', iss: 'y' }))).user, 'u');
  });

  it('exact audience: string or array claim', async () => {
    const v = verifier({ hmacSecretKey: SECRET, audience: 'app' });
    assert.equal((await v.verifyConnectToken(await tok({ aud: 'app' }))).user, 'u');
    assert.equal((await v.verifyConnectToken(await tok({ aud: ['other', 'app'] }))).user, 'u');
    await assert.rejects(v.verifyConnectToken(await tok({ aud: 'application' })), /audience mismatch/);
    await assert.rejects(v.verifyConnectToken(await tok({})), /audience mismatch/);
  });

  it('audience regex (Go named-group syntax accepted)', async () => {
    const v = verifier({ hmacSecretKey: SECRET, audienceRegex: '^(?P<tenant>[a-z]+)\\.example\\.com$' });
    assert.equal((await v.verifyConnectToken(await tok({ aud: ['x', 'acme.example.com'] }))).user, 'u');
    await assert.rejects(v.verifyConnectToken(await tok({ aud: 'acme.example.org' })), /audienceRegex/);
  });

  it('exact issuer and issuer regex', async () => {
    const exact = verifier({ hmacSecretKey: SECRET, issuer: 'https://auth' });
    assert.equal((await exact.verifyConnectToken(await tok({ iss: 'https://auth' }))).user, 'u');
    await assert.rejects(exact.verifyConnectToken(await tok({ iss: 'https://auth2' })), /issuer mismatch/);
    await assert.rejects(exact.verifyConnectToken(await tok({})), /issuer mismatch/);
    const re = verifier({ hmacSecretKey: SECRET, issuerRegex: '^https://[a-z]+\\.auth$' });
    assert.equal((await re.verifyConnectToken(await tok({ iss: 'https://eu.auth' }))).user, 'u');
    await assert.rejects(re.verifyConnectToken(await tok({ iss: 'https://eu.auth.evil' })), /issuerRegex/);
  });

  it('apply to subscription tokens too', async () => {
    const v = verifier({ hmacSecretKey: SECRET, audience: 'app' });
    await assert.rejects(v.verifySubscriptionToken(await tok({ channel: 'c', aud: 'nope' })), InvalidTokenError);
  });

  it('are checked after the signature: a forged or unsigned token is refused for that, before any regex runs', async () => {
    const v = verifier({ hmacSecretKey: SECRET, issuerRegex: '^https://auth$', audienceRegex: '^app$' });
    const claims = { sub: 'u', iss: 'https://evil', aud: 'evil' };
    await assert.rejects(v.verifyConnectToken(await sign(claims, 'HS256', 'other-secret')), /signature mismatch/);
    await assert.rejects(v.verifyConnectToken(unsigned(claims)), /alg "none"/);
    await assert.rejects(v.verifySubscriptionToken(await sign({ ...claims, channel: 'c' }, 'HS256', 'other-secret')), /signature mismatch/);
    const rsa = rsaKeys();
    const rv = verifier({ rsaPublicKey: rsa.publicPem, issuerRegex: '^https://auth$' });
    await assert.rejects(rv.verifyConnectToken(await sign(claims, 'RS256', rsaKeys('other').privateKey)), /signature/);
    await assert.rejects(rv.verifyConnectToken(await sign(claims, 'RS256', rsa.privateKey)), /issuerRegex/, 'a signed token with a bad iss');
    const skip = verifier({ insecureSkipSignatureVerify: true, issuerRegex: '^https://auth$' });
    await assert.rejects(skip.verifyConnectToken(unsigned(claims)), /issuerRegex/, 'still checked without signatures');
  });

  it('regexes run in linear time on a signed token (RE2, not backtracking)', async () => {
    const v = verifier({ hmacSecretKey: SECRET, issuerRegex: '^https://([a-z0-9]+\\.?)+\\.example\\.com$', audienceRegex: '^([a-z0-9]+_?)*$' });
    const iss = `https://${'a'.repeat(5000)}.example.com`;
    await assert.rejects(v.verifyConnectToken(await tok({ iss: `${iss}X`, aud: 'a' })), /issuerRegex/);
    await assert.rejects(v.verifyConnectToken(await tok({ iss, aud: `${'a'.repeat(5000)}!` })), /audienceRegex/);
    assert.equal((await v.verifyConnectToken(await tok({ iss, aud: 'a_b_c' }))).user, 'u');
  });
});

describe('userIdClaim', () => {
  it('reads the user from the configured claim', async () => {
    const token = await sign({ sub: 'ignored', user_id: 'u42' }, 'HS256', SECRET);
    const v = verifier({ hmacSecretKey: SECRET, userIdClaim: 'user_id' });
    assert.equal((await v.verifyConnectToken(token)).user, 'u42');
    const sub = await sign({ user_id: 'u42', channel: 'c' }, 'HS256', SECRET);
    assert.equal((await v.verifySubscriptionToken(sub)).user, 'u42');
  });

  it('missing claim ⇒ anonymous; a number is its JSON text (gjson .String(), as Centrifugo)', async () => {
    const v = verifier({ hmacSecretKey: SECRET, userIdClaim: 'uid' });
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'x' }, 'HS256', SECRET))).user, '');
    assert.equal((await v.verifyConnectToken(await sign({ uid: 7 }, 'HS256', SECRET))).user, '7');
  });

  it('constructor rejects names outside ^[a-zA-Z_]+$', () => {
    for (const bad of ['user.id', 'user-id', 'a1', ' sub']) {
      assert.throws(() => new TokenVerifier({ hmacSecretKey: SECRET, userIdClaim: bad }), /userIdClaim/);
    }
  });
});

describe('configuration errors', () => {
  it('throws on bad PEMs, small RSA keys, wrong key types and conflicting options', () => {
    assert.throws(() => new TokenVerifier({ rsaPublicKey: 'not a pem' }), /rsaPublicKey/);
    assert.throws(() => new TokenVerifier({ rsaPublicKey: ecKeys().publicPem }), /rsaPublicKey: expected/);
    assert.throws(() => new TokenVerifier({ ecdsaPublicKey: rsaKeys().publicPem }), /ecdsaPublicKey: expected/);
    assert.throws(() => new TokenVerifier({ rsaPublicKey: rsaKeys('small', 1024).publicPem }), /2048/);
    assert.throws(() => new TokenVerifier({ audience: 'a', audienceRegex: 'b' }), /mutually exclusive/);
    assert.throws(() => new TokenVerifier({ issuer: 'a', issuerRegex: 'b' }), /mutually exclusive/);
    assert.throws(() => new TokenVerifier({ audienceRegex: '(' }), /audienceRegex/);
    assert.throws(() => new TokenVerifier({ jwksPublicEndpoint: 'ftp://x/keys' }), /http/);
    assert.throws(() => new TokenVerifier({ cacheSize: -1 }), /cacheSize/);
  });
});
