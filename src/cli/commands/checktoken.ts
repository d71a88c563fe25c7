/**
 * `rotor checktoken [-c] TOKEN` / `rotor checksubtoken [-c] TOKEN`: verifies a token with the
 * configured keys (the same verifier the server uses) and prints user, expiry and payload.
 */
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { formatGoDuration } from '../../config/duration.js';
import { guarded, loadForCommand, withConfigOption } from '../common.js';
import { tokenVerifierOptions } from '../../app/token-options.js';

/** `expires at <ISO time> (in 1h0m0s)`; expireAt is unix seconds, 0 = never. */
export function describeExpiry(expireAt: number, nowMs = Date.now()): string {
  if (expireAt <= 0) return 'without expiration';
  const ms = expireAt * 1000;
  const left = Math.max(0, Math.round((ms - nowMs) / 1000) * 1000);
  return `expires at ${new Date(ms).toISOString()} (in ${formatGoDuration(left)})`;
}

function register(program: Command, name: string, subscription: boolean): void {
  const cmd = program
    .command(name)
    .description(subscription ? 'check a subscription token' : 'check a connection token')
    .argument('<token>', 'JWT to verify');
  withConfigOption(cmd).action(
    guarded(async (token: string) => {
      const { config } = loadForCommand(cmd);
      const { TokenVerifier } = await import('../../auth/verifier.js');
      const verifier = new TokenVerifier(tokenVerifierOptions(config, subscription ? 'subscription' : 'connection'));
      let line: string;
      if (subscription) {
        const claims = await verifier.verifySubscriptionToken(token);
        line = `valid subscription token for user "${claims.user}" and channel "${claims.channel}" ${describeExpiry(claims.expireAt)}`;
      } else {
        const claims = await verifier.verifyConnectToken(token);
        line = `valid token for user "${claims.user}" ${describeExpiry(claims.expireAt)}`;
      }
      process.stdout.write(`${line}\npayload: ${JSON.stringify(decodeJwt(token))}\n`);
    }),
  );
}

export function registerChecktoken(program: Command): void {
  register(program, 'checktoken', false);
  register(program, 'checksubtoken', true);
}
