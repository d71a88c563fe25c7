/**
 * Maps the config's token sections onto the auth module's options. Subscription tokens use
 * `client.subscription_token.*` when it is enabled, else the connection keys verify both.
 */
import type { Config } from '../config/schema.js';
import type { TokenVerifierOptions } from '../auth/verifier.js';

export function tokenVerifierOptions(config: Readonly<Config>, which: 'connection' | 'subscription'): TokenVerifierOptions {
  const t = which === 'subscription' && config.client.subscription_token.enabled ? config.client.subscription_token : config.client.token;
  return {
    hmacSecretKey: t.hmac_secret_key,
    hmacPreviousSecretKey: t.hmac_previous_secret_key,
    hmacPreviousSecretKeyValidUntil: t.hmac_previous_secret_key_valid_until,
    rsaPublicKey: t.rsa_public_key,
    ecdsaPublicKey: t.ecdsa_public_key,
    jwksPublicEndpoint: t.jwks_public_endpoint,
    audience: t.audience,
    audienceRegex: t.audience_regex,
    issuer: t.issuer,
    issuerRegex: t.issuer_regex,
    userIdClaim: t.user_id_claim,
    insecureSkipSignatureVerify: config.client.insecure_skip_token_signature_verify,
  };
}
