/**
 * `rotor gentoken -u USER [-t TTL] [-q] [-c]` and `rotor gensubtoken -u USER -s CHANNEL ...`:
 * HS256 tokens signed with the configured HMAC secret, for development and testing.
 * TTL is in seconds (default one week); 0 or a negative value creates a token without `exp`.
 */
import type { Command } from 'commander';
import { SignJWT, type JWTPayload } from 'jose';
import type { Config } from '../../config/schema.js';
import { formatGoDuration } from '../../config/duration.js';
import { guarded, loadForCommand, withConfigOption } from '../common.js';
import { tokenSection } from '../../app/token-options.js';

const WEEK_SECONDS = 604_800;

export interface TokenRequest {
  user: string;
  /** Seconds until expiry; <= 0 means no `exp` claim. */
  ttl: number;
  /** Set for subscription tokens. */
  channel?: string;
}

/** Signs an HS256 token for `req` with the key the server would verify it with. */
export async function signToken(config: Readonly<Config>, req: TokenRequest, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const which = req.channel === undefined ? 'connection' : 'subscription';
  const t = tokenSection(config, which);
  if (t.hmac_secret_key === '') {
    const key = which === 'subscription' && config.client.subscription_token.enabled ? 'client.subscription_token' : 'client.token';
    throw new Error(`no HMAC secret configured: set ${key}.hmac_secret_key`);
  }
  const claims: JWTPayload = { sub: req.user };
  if (t.user_id_claim !== '' && t.user_id_claim !== 'sub') claims[t.user_id_claim] = req.user;
  if (req.channel !== undefined) claims['channel'] = req.channel;
  if (t.audience !== '') claims.aud = t.audience;
  if (t.issuer !== '') claims.iss = t.issuer;
  if (req.ttl > 0) claims.exp = nowSeconds + req.ttl;
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(t.hmac_secret_key));
}

function parseTtl(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new Error(`invalid TTL "${value}": expected a number of seconds`);
  return Number(value);
}

function describe(req: TokenRequest): string {
  const who = req.user === '' ? 'anonymous user' : `user "${req.user}"`;
  const channel = req.channel === undefined ? '' : ` and channel "${req.channel}"`;
  const exp = req.ttl > 0 ? `with expiration TTL ${formatGoDuration(req.ttl * 1000)}` : 'without expiration';
  return `HMACSHA256 token for ${who}${channel} ${exp}`;
}

function register(program: Command, name: string, subscription: boolean): void {
  const cmd = program
    .command(name)
    .description(subscription ? 'generate a subscription token (HS256)' : 'generate a connection token (HS256)')
    .option('-u, --user <user>', 'user ID ("" = anonymous)', '')
    .option('-t, --ttl <seconds>', 'token lifetime in seconds; 0 or -1 = no expiration', String(WEEK_SECONDS))
    .option('-q, --quiet', 'print only the token');
  if (subscription) cmd.requiredOption('-s, --channel <channel>', 'channel the token is for');
  withConfigOption(cmd).action(
    guarded(async () => {
      const opts = cmd.opts<{ user: string; ttl: string; quiet?: boolean; channel?: string }>();
      const req: TokenRequest = { user: opts.user, ttl: parseTtl(opts.ttl), ...(subscription ? { channel: opts.channel ?? '' } : {}) };
      const { config } = loadForCommand(cmd);
      const token = await signToken(config, req);
      process.stdout.write(opts.quiet === true ? `${token}\n` : `${describe(req)}:\n${token}\n`);
    }),
  );
}

export function registerGentoken(program: Command): void {
  register(program, 'gentoken', false);
  register(program, 'gensubtoken', true);
}
