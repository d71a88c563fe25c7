/**
 * JWKS endpoint templates: `{{name}}` filled from named groups of issuer_regex / audience_regex,
 * one key set per expanded URL, and Centrifugo v6.7's safety check on the groups used.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidTokenError, TokenVerifier, type TokenVerifierOptions } from '../../../src/auth/verifier.js';
import { checkTemplateSafety, expandTemplate, templatePlaceholders } from '../../../src/util/jwks-template.js';
import { rsaKeys, sign } from '../../fixtures/keys/index.js';
import { startServer } from '../../helpers/server.js';
import { RawClient } from '../../helpers/raw-ws.js';

const acme = rsaKeys('a');
const globex = rsaKeys('b');

/** Serves `/<tenant>/jwks.json` for two tenants with different keys (same kid); counts hits per path. */
class TenantJwks {
  hits: string[] = [];
  base = '';
  private server: Server | undefined;
  async start(): Promise<void> {
    const sets: Record<string, unknown> = {
      '/acme/jwks.json': { keys: [{ ...acme.publicJwk, kid: 'k1', alg: 'RS256', use: 'sig' }] },
      '/globex/jwks.json': { keys: [{ ...globex.publicJwk, kid: 'k1', alg: 'RS256', use: 'sig' }] },
    };
    this.server = createServer((req, res) => {
      this.hits.push(req.url ?? '');
      const set = sets[req.url ?? ''];
      res.writeHead(set ? 200 : 404, { 'content-type': 'application/json' });
      res.end(set ? JSON.stringify(set) : '');
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

describe('JWKS endpoint template', () => {
  const jwks = new TenantJwks();
  const verifiers: TokenVerifier[] = [];
  const make = (opts: Partial<TokenVerifierOptions>) => {
    const v = new TokenVerifier({ jwksPublicEndpoint: `${jwks.base}/{{tenant}}/jwks.json`, cacheSize: 0, ...opts });
    verifiers.push(v);
    return v;
  };
  before(() => jwks.start());
  after(async () => {
    for (const v of verifiers) v.close();
    await jwks.stop();
  });

  it('fills {{tenant}} from the issuer_regex group and keeps one key set per tenant', async () => {
    jwks.hits = [];
    const v = make({ issuerRegex: '^https://(?P<tenant>acme|globex)\\.example\\.com$' });
    const a = await sign({ sub: 'a1', iss: 'https://acme.example.com' }, 'RS256', acme.privateKey, { kid: 'k1' });
    const g = await sign({ sub: 'g1', iss: 'https://globex.example.com' }, 'RS256', globex.privateKey, { kid: 'k1' });
    assert.equal((await v.verifyConnectToken(a)).user, 'a1');
    assert.equal((await v.verifyConnectToken(g)).user, 'g1');
    assert.equal((await v.verifyConnectToken(a)).user, 'a1', 'cached per URL: no refetch');
    assert.deepEqual(jwks.hits.sort(), ['/acme/jwks.json', '/globex/jwks.json']);
    // A globex-signed token claiming acme is checked against acme's keys and fails.
    const forged = await sign({ sub: 'x', iss: 'https://acme.example.com' }, 'RS256', globex.privateKey, { kid: 'k1' });
    await assert.rejects(v.verifyConnectToken(forged), InvalidTokenError);
  });

  it('fills from audience_regex too; a placeholder without a captured value makes the token invalid', async () => {
    const v = make({ audienceRegex: '^(?P<tenant>acme|globex)$' });
    assert.equal((await v.verifySubscriptionToken(await sign({ channel: 'c', aud: ['zzz', 'globex'] }, 'RS256', globex.privateKey, { kid: 'k1' }))).channel, 'c');
    const noGroup = make({ issuerRegex: '^(?P<other>x|y)$' });
    await assert.rejects(noGroup.verifyConnectToken(await sign({ sub: 'u', iss: 'x' }, 'RS256', acme.privateKey, { kid: 'k1' })), /template variable/);
    const optional = make({ issuerRegex: '^a(?P<tenant>acme)?$', insecureSkipJwksEndpointSafetyCheck: true });
    await assert.rejects(optional.verifyConnectToken(await sign({ sub: 'u', iss: 'a' }, 'RS256', acme.privateKey, { kid: 'k1' })), /template variable/);
  });

  it('refuses templates whose groups are not explicit lists of fixed values, unless the check is skipped', () => {
    const endpoint = `${jwks.base}/{{tenant}}/jwks.json`;
    assert.throws(() => make({ issuerRegex: '^(?P<tenant>[a-z]+)$' }), /character class/);
    assert.throws(() => make({ audienceRegex: '^(?P<tenant>.+)$' }), /named group "tenant"/);
    assert.doesNotThrow(() => make({ issuerRegex: '^(?P<tenant>[a-z]+)$', insecureSkipJwksEndpointSafetyCheck: true }));
    assert.doesNotThrow(() => checkTemplateSafety(endpoint, [{ option: 'issuer_regex', source: undefined }]));
  });
});

describe('template safety check (Centrifugo v6.7 rules)', () => {
  const check = (endpoint: string, issuer?: string, audience?: string) => () =>
    checkTemplateSafety(endpoint, [
      { option: 'issuer_regex', source: issuer },
      { option: 'audience_regex', source: audience },
    ]);
  const safe = [
    ['https://example.com/jwks', '^https://(?P<anything>.+)$'], // no placeholder
    ['https://{{tenant}}.example.com/jwks', undefined],
    ['https://{{host}}/jwks', '^(?P<host>auth1\\.example\\.com|auth2\\.example\\.com)$'],
    ['https://{{t}}.example.com/jwks', '^https://(?P<t>acme|globex|initech)\\.example\\.com$'],
    ['https://h/{{t}}/jwks', '^(?P<t>a|ab|abc)$'],
    ['https://h/{{t}}/jwks', '^(?P<t>(foo|bar)baz|(?:foo)qux)$'],
    ['https://h/{{t}}/jwks', '^(?P<t>foo\\x41|foo\\x42|)$'],
    ['https://fixed/{{t}}/jwks', '^(?<t>acme|globex)$'],
  ] as const;
  for (const [endpoint, issuer] of safe) it(`accepts ${endpoint} with ${issuer}`, () => assert.doesNotThrow(check(endpoint, issuer)));
  const unsafe = [
    '^(?P<t>[a-zA-Z0-9-]+)$', '^(?P<t>.+)$', '^(?P<t>\\w+)$', '^(?P<t>\\d)$', '^(?P<t>\\pL+)$', '^(?P<t>foo?)$',
    '^(?P<t>a{3})$', '^(?P<t>test.*)$', '^(?P<t>foo|.)$', '^(?P<t>(?i)foo)$', '^(?P<t>a\\b)$', '^(?P<t>^a)$',
    '^(?P<x>acme)/[a-z]+/(?P<t>acme)$', // a class anywhere in the pattern
  ];
  for (const issuer of unsafe) it(`refuses ${issuer}`, () => assert.throws(check('https://h/{{t}}/jwks', issuer)));
  it('checks audience_regex as well', () => assert.throws(check('https://{{r}}.auth.example.com/jwks', undefined, '^(?P<r>\\S+)$'), /audience_regex/));

  it('expansion: placeholders, missing values and values that would change the URL structure', () => {
    assert.deepEqual(templatePlaceholders('https://{{a}}.x/{{b}}/{{a}}'), ['a', 'b', 'a']);
    const vars = new Map([['a', 'acme'], ['b', 'v1']]);
    assert.equal(expandTemplate('https://{{a}}.x/{{b}}/{{a}}', vars), 'https://acme.x/v1/acme');
    assert.equal(expandTemplate('https://{{c}}.x/', vars), undefined);
    for (const bad of ['', '.', '..', 'a/b', 'evil.com#', 'u@h', 'a?b', 'a%2f', 'a b']) {
      assert.equal(expandTemplate('https://h/{{a}}/jwks', new Map([['a', bad]])), undefined, bad);
    }
  });
});

it('a server with a templated jwks_public_endpoint fetches the tenant URL of the token issuer', async () => {
  const jwks = new TenantJwks();
  await jwks.start();
  const srv = await startServer({
    client: { token: { hmac_secret_key: '', jwks_public_endpoint: `${jwks.base}/{{tenant}}/jwks.json`, issuer_regex: '^(?P<tenant>acme|globex)$' } },
  });
  try {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await sign({ sub: 'g1', iss: 'globex' }, 'RS256', globex.privateKey, { kid: 'k1' }));
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    assert.deepEqual(jwks.hits, ['/globex/jwks.json']);
    c.close();
  } finally {
    await srv.stop();
    await jwks.stop();
  }
});
