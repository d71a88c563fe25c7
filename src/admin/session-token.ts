/**
 * Admin session tokens: what `/admin/auth` hands out for the right password and `/admin/api`
 * wants in `Authorization: token <token>`. A token is `<expiry>.<signature>`: the expiry in Unix
 * seconds and an HMAC-SHA256 of it under `admin.secret` (base64url). Nothing else is in it: an
 * admin session has no identity beyond knowing the password. Changing `admin.secret` ends every
 * session. Checked in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long an admin session lasts, seconds. */
export const ADMIN_TOKEN_TTL_S = 24 * 60 * 60;

export class AdminTokens {
  readonly #secret: Buffer;

  constructor(secret: string) {
    this.#secret = Buffer.from(secret, 'utf8');
  }

  issue(nowS = Math.floor(Date.now() / 1000)): string {
    const exp = String(nowS + ADMIN_TOKEN_TTL_S);
    return `${exp}.${this.#sign(exp)}`;
  }

  /** Whether `token` is one this secret issued and it has not expired. */
  valid(token: string, nowS = Math.floor(Date.now() / 1000)): boolean {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return false;
    const exp = token.slice(0, dot);
    if (!/^\d{1,12}$/.test(exp)) return false;
    const given = Buffer.from(token.slice(dot + 1), 'utf8');
    const want = Buffer.from(this.#sign(exp), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return false;
    return Number(exp) > nowS;
  }

  #sign(exp: string): string {
    return createHmac('sha256', this.#secret).update(`rotor-admin:${exp}`).digest('base64url');
  }
}
