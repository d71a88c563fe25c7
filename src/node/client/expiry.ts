/**
 * Expiry of a connection and of its subscriptions.
 *
 * A connection with an expiry (`expireAt`, from its token or the connecting hook) has until
 * `client.expired_close_delay` after it to be refreshed (the client's `refresh` command, the
 * server API's `refresh`); then it is closed with 3005.
 *
 * Subscriptions expire on the periodic tick (`tick.ts`): once past `expireAt` and
 * `client.expired_sub_close_delay`, a client-side one is unsubscribed (2501) and a server-side one
 * closes the connection (3006).
 */
import { UnsubscribeCode } from '../../protocol/codes.js';
import { disconnects } from '../../protocol/errors.js';
import type { Session } from './session.js';
import type { ChannelSubscription } from './subscription.js';

/**
 * When the connection's expiry deadline falls, ms since the epoch, or undefined when it never
 * expires: `client.expired_close_delay` after the expiry.
 */
export function expiryDeadline(s: Session): number | undefined {
  if (s.expireAt <= 0) return undefined;
  return s.expireAt * 1000 + s.node.options.expiredCloseDelayMs;
}

/** The deadline of a connected session fell (`Session.onDeadline`). */
export function onExpiryDeadline(s: Session, nowMs: number): void {
  const at = expiryDeadline(s);
  if (at === undefined) return;
  // Moved later meanwhile (a refresh between the queue's firing and this call): wait again.
  if (at > nowMs) s.scheduleExpire();
  else s.close(disconnects.expired);
}

/** Whether the subscription is past its expiry and `client.expired_sub_close_delay` at `nowMs`. */
export function subscriptionExpired(s: Session, sub: ChannelSubscription, nowMs: number): boolean {
  return sub.expireAt > 0 && nowMs > sub.expireAt * 1000 + s.node.options.expiredSubCloseDelayMs;
}

/** Ends an expired subscription (see `subscriptionExpired`): unsubscribe 2501, or 3006 for a server-side one. */
export function onSubscriptionExpired(s: Session, sub: ChannelSubscription): void {
  if (sub.serverSide) {
    s.close(disconnects.subExpired);
    return;
  }
  const c = UnsubscribeCode.expired;
  void s.node.removeSessionSubscription(s, sub, true);
  s.sendPush({ kind: 'unsubscribe', channel: sub.channel, code: c.code, reason: c.reason });
}
