import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign as cryptoSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { InvalidTokenError, KeySourceUnavailableError, TokenExpiredError, TokenVerifier, type TokenVerifierInternals } from '../../../src/auth/verifier.js';
import { ecKeys, ed25519Keys, rsaKeys, sign } from '../../fixtures/keys/index.js';

/** A JWKS endpoint whose key set, status and latency tests can change; counts GETs. */
class JwksServer {
  keys: JWK[] = [];
  status = 200;
  hang = false;
  /** When set, the body sent instead of the key set. */
  raw: string | undefined;
  hits = 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.hits++;
      if (this.hang) return; // never answers: exercises the fetch timeout
      res.writeHead(this.status, { 'content-type': 'application/json' });
      res.end(this.raw ?? JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  }

  reset(): void {
    this.keys = [];
    this.status = 200;
    this.hang = false;
    this.raw = undefined;
    this.hits = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const jwk = (base: JWK, extra: JWK): JWK => ({ ...base, ...extra });

describe('JWKS', () => {
  const srv = new JwksServer();
  const verifiers: TokenVerifier[] = [];
  const make = (opts: { hmacSecretKey?: string; cacheSize?: number } = {}, internals: TokenVerifierInternals = {}) => {
    const v = new TokenVerifier({ jwksPublicEndpoint: srv.url, cacheSize: 0, ...opts }, internals);
    verifiers.push(v);
    return v;
  };

  before(() => srv.start());
  beforeEach(() => srv.reset());
  after(async () => {
    for (const v of verifiers) v.close();
    await srv.stop();
  });

  it('verifies RSA tokens by kid and fetches the key set once', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a', use: 'sig', alg: 'RS256' })];
    const v = make();
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'u1' }, 'RS256', a.privateKey, { kid: 'a' }))).user, 'u1');
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'u2' }, 'RS256', a.privateKey, { kid: 'a' }))).user, 'u2');
    assert.equal(srv.hits, 1);
  });

  it('coalesces concurrent first fetches', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a' })];
    const v = make();
    const tokens = await Promise.all([1, 2, 3, 4].map((i) => sign({ sub: `u${i}` }, 'RS256', a.privateKey, { kid: 'a' })));
    const users = await Promise.all(tokens.map((t) => v.verifyConnectToken(t)));
    assert.deepEqual(users.map((c) => c.user), ['u1', 'u2', 'u3', 'u4']);
    assert.equal(srv.hits, 1);
  });

  it('picks up a rotated-in key by refetching on an unknown kid', async () => {
    const a = rsaKeys('a');
    const b = rsaKeys('b');
    srv.keys = [jwk(a.publicJwk, { kid: 'a' })];
    const v = make({}, { jwksCooldownMs: 0 });
    await v.verifyConnectToken(await sign({ sub: 'u' }, 'RS256', a.privateKey, { kid: 'a' }));
    srv.keys = [jwk(a.publicJwk, { kid: 'a' }), jwk(b.publicJwk, { kid: 'b' })];
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'ub' }, 'RS256', b.privateKey, { kid: 'b' }))).user, 'ub');
    assert.equal(srv.hits, 2);
  });

  it('unknown kid ⇒ invalid (refetch limited by the cooldown)', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a' })];
    const v = make({}, { jwksCooldownMs: 60_000 });
    await v.verifyConnectToken(await sign({ sub: 'u' }, 'RS256', a.privateKey, { kid: 'a' }));
    const stranger = await sign({ sub: 'u' }, 'RS256', a.privateKey, { kid: 'zzz' });
    await assert.rejects(v.verifyConnectToken(stranger), InvalidTokenError);
    await assert.rejects(v.verifyConnectToken(stranger), InvalidTokenError);
    assert.equal(srv.hits, 1, 'within the cooldown unknown kids do not hit the endpoint');

    const eager = make({}, { jwksCooldownMs: 0 });
    await assert.rejects(eager.verifyConnectToken(stranger), InvalidTokenError);
    const afterFirst = srv.hits;
    await assert.rejects(eager.verifyConnectToken(stranger), InvalidTokenError);
    assert.equal(srv.hits, afterFirst + 1, 'without cooldown every unknown kid refetches');
  });

  it('a token signed by a different key under a known kid ⇒ invalid', async () => {
    srv.keys = [jwk(rsaKeys('a').publicJwk, { kid: 'a' })];
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('b').privateKey, { kid: 'a' });
    await assert.rejects(make().verifyConnectToken(token), /signature mismatch/);
  });

  it('verifies EC (ES256) and OKP (EdDSA) keys', async () => {
    const ec = ecKeys('jwks');
    const ed = ed25519Keys();
    srv.keys = [jwk(ec.publicJwk, { kid: 'ec' }), jwk(ed.publicJwk, { kid: 'ed' })];
    const v = make();
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'e' }, 'ES256', ec.privateKey, { kid: 'ec' }))).user, 'e');
    assert.equal((await v.verifySubscriptionToken(await sign({ sub: 'd', channel: 'c' }, 'EdDSA', ed.privateKey, { kid: 'ed' }))).user, 'd');
  });

  it('token alg must equal the JWK alg when the JWK has one', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a', alg: 'RS256' })];
    const token = await sign({ sub: 'u' }, 'RS384', a.privateKey, { kid: 'a' });
    await assert.rejects(make().verifyConnectToken(token), InvalidTokenError);
  });

  it('without a JWK alg the token alg family must fit the key type', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a' })];
    const v = make();
    assert.equal((await v.verifyConnectToken(await sign({ sub: 'u' }, 'PS256', a.privateKey, { kid: 'a' }))).user, 'u');
    const ecToken = await sign({ sub: 'u' }, 'ES256', ecKeys().privateKey, { kid: 'a' });
    await assert.rejects(v.verifyConnectToken(ecToken), InvalidTokenError);
  });

  it('ignores keys whose use is not "sig"', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a', use: 'enc' })];
    await assert.rejects(make().verifyConnectToken(await sign({ sub: 'u' }, 'RS256', a.privateKey, { kid: 'a' })), InvalidTokenError);
  });

  it('requires a kid header', async () => {
    srv.keys = [jwk(rsaKeys('a').publicJwk, { kid: 'a' })];
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('a').privateKey);
    await assert.rejects(make().verifyConnectToken(token), /kid/);
    assert.equal(srv.hits, 0);
  });

  it('does not use static keys or HMAC when JWKS is configured', async () => {
    srv.keys = [{ kty: 'oct', kid: 'h', k: Buffer.from('secret').toString('base64url') }];
    const token = await sign({ sub: 'u' }, 'HS256', 'secret', { kid: 'h' });
    await assert.rejects(make({ hmacSecretKey: 'secret' }).verifyConnectToken(token), InvalidTokenError);
  });

  it('still reports expiry for a correctly signed token', async () => {
    const a = rsaKeys('a');
    srv.keys = [jwk(a.publicJwk, { kid: 'a' })];
    const token = await sign({ sub: 'u', exp: Math.floor(Date.now() / 1000) - 10 }, 'RS256', a.privateKey, { kid: 'a' });
    await assert.rejects(make().verifyConnectToken(token), TokenExpiredError);
  });

  it('retries a failing endpoint once, then reports the keys unavailable (not the token invalid)', async () => {
    srv.status = 500;
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('a').privateKey, { kid: 'a' });
    await assert.rejects(make().verifyConnectToken(token), (err: unknown) => err instanceof KeySourceUnavailableError && /HTTP 500/.test(err.message));
    assert.equal(srv.hits, 2);
  });

  it('a key set that is not JSON, or an endpoint that is down, is unavailability too', async () => {
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('a').privateKey, { kid: 'a' });
    srv.raw = 'not json';
    await assert.rejects(make().verifyConnectToken(token), KeySourceUnavailableError);
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = new TokenVerifier({ jwksPublicEndpoint: `http://127.0.0.1:${port}/jwks` });
    await assert.rejects(down.verifyConnectToken(token), KeySourceUnavailableError);
    down.close();
  });

  it('a key in the set that cannot be used (RSA under 2048 bits) makes the token invalid, not the keys unavailable', async () => {
    const small = rsaKeys('small', 1024);
    srv.keys = [jwk(small.publicJwk, { kid: 'small' })];
    // jose refuses to sign with such a key, so the token is put together by hand.
    const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'small' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u' })).toString('base64url')}`;
    const token = `${input}.${cryptoSign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`;
    await assert.rejects(make().verifyConnectToken(token), InvalidTokenError);
  });

  it('gives up on a hanging endpoint after one retry, each attempt cut by its timeout', async () => {
    srv.hang = true;
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('a').privateKey, { kid: 'a' });
    await assert.rejects(make().verifyConnectToken(token), KeySourceUnavailableError);
    assert.equal(srv.hits, 2);
  });

  it('close() aborts an in-flight fetch and fails later verifications', async () => {
    srv.hang = true;
    const token = await sign({ sub: 'u' }, 'RS256', rsaKeys('a').privateKey, { kid: 'a' });
    const v = make();
    const pending = v.verifyConnectToken(token);
    while (srv.hits === 0) await new Promise((r) => setTimeout(r, 5));
    v.close();
    // Closed, not timed out: the fetch was aborted.
    await assert.rejects(pending, (err: unknown) => err instanceof InvalidTokenError && /closed/.test(err.message));
    await assert.rejects(v.verifyConnectToken(token), /closed/);
  });
});
