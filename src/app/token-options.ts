/**
 * Maps the config's token sections onto the auth module's TokenVerifierOptions. Subscription
 * tokens use `client.subscription_token.*` when its `enabled` is true; otherwise the connection
 * settings (`client.token.*`) verify both kinds. Empty strings mean "not configured".
 */
import type { TokenVerifierOptions } from '../auth/verifier.js';
import type { Config } from '../config/schema.js';

export function tokenVerifierOptions(config: Readonly<Config>, which: 'connection' | 'subscription'): TokenVerifierOptions {
  const t = tokenSection(config, which);
  const opt = (v: string): string | undefined => (v === '' ? undefined : v);
  return {
    hmacSecretKey: opt(t.hmac_secret_key),
    hmacPreviousSecretKey: opt(t.hmac_previous_secret_key),
    hmacPreviousSecretKeyValidUntil: t.hmac_previous_secret_key_valid_until > 0 ? t.hmac_previous_secret_key_valid_until : undefined,
    rsaPublicKey: opt(t.rsa_public_key),
    ecdsaPublicKey: opt(t.ecdsa_public_key),
    jwksPublicEndpoint: opt(t.jwks_public_endpoint),
    audience: opt(t.audience),
    audienceRegex: opt(t.audience_regex),
    issuer: opt(t.issuer),
    issuerRegex: opt(t.issuer_regex),
    userIdClaim: opt(t.user_id_claim),
    insecureSkipJwksEndpointSafetyCheck: t.insecure_skip_jwks_endpoint_safety_check,
    insecureSkipSignatureVerify: config.client.insecure_skip_token_signature_verify,
  };
}

/** The token settings that apply to `which` kind of token. */
export function tokenSection(config: Readonly<Config>, which: 'connection' | 'subscription'): Readonly<Config['client']['token']> {
  return which === 'subscription' && config.client.subscription_token.enabled ? config.client.subscription_token : config.client.token;
}
