import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { tokenVerifierOptions } from '../../../src/app/token-options.js';

test('token options - connection settings map to camelCase verifier options', () => {
  const { config } = loadConfig({
    env: {
      CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY: 'k',
      CENTRIFUGO_CLIENT_TOKEN_HMAC_PREVIOUS_SECRET_KEY: 'old',
      CENTRIFUGO_CLIENT_TOKEN_HMAC_PREVIOUS_SECRET_KEY_VALID_UNTIL: '1700000000',
      CENTRIFUGO_CLIENT_TOKEN_AUDIENCE: 'aud',
      CENTRIFUGO_CLIENT_TOKEN_ISSUER_REGEX: '^iss-(?P<tenant>a|b)$',
      CENTRIFUGO_CLIENT_TOKEN_USER_ID_CLAIM: 'user_id',
      CENTRIFUGO_CLIENT_INSECURE_SKIP_TOKEN_SIGNATURE_VERIFY: 'true',
      CENTRIFUGO_CLIENT_TOKEN_INSECURE_SKIP_JWKS_ENDPOINT_SAFETY_CHECK: 'true',
    },
  });
  assert.deepEqual(tokenVerifierOptions(config, 'connection'), {
    hmacSecretKey: 'k',
    hmacPreviousSecretKey: 'old',
    hmacPreviousSecretKeyValidUntil: 1_700_000_000,
    rsaPublicKey: undefined,
    ecdsaPublicKey: undefined,
    jwksPublicEndpoint: undefined,
    audience: 'aud',
    audienceRegex: undefined,
    issuer: undefined,
    issuerRegex: '^iss-(?P<tenant>a|b)$',
    userIdClaim: 'user_id',
    insecureSkipJwksEndpointSafetyCheck: true,
    insecureSkipSignatureVerify: true,
  });
  assert.equal(tokenVerifierOptions(config, 'subscription').hmacSecretKey, 'k', 'client.token verifies both kinds by default');
});

test('token options - subscription_token is used for subscriptions only when enabled', () => {
  const env = { CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY: 'conn', CENTRIFUGO_CLIENT_SUBSCRIPTION_TOKEN_HMAC_SECRET_KEY: 'sub' };
  const disabled = loadConfig({ env }).config;
  assert.equal(tokenVerifierOptions(disabled, 'subscription').hmacSecretKey, 'conn');
  const enabled = loadConfig({ env: { ...env, CENTRIFUGO_CLIENT_SUBSCRIPTION_TOKEN_ENABLED: 'true' } }).config;
  assert.equal(tokenVerifierOptions(enabled, 'subscription').hmacSecretKey, 'sub');
  assert.equal(tokenVerifierOptions(enabled, 'connection').hmacSecretKey, 'conn');
});
