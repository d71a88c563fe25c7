/**
 * Expiry of a connection and of its subscriptions, and their server-side refresh.
 *
 * A connection with an expiry (`expireAt`, from its token or the connecting hook) that refreshes
 * itself (`clientSideRefresh`) has until `client.expired_close_delay` after it to send `refresh`;
 * then it is closed with 3005. One that does not refresh itself is refreshed by the server when
 * `NodeHooks.refreshExpired` is set: the hook is asked at the expiry itself and its answer extends
 * or ends the connection, the client never involved (Centrifugo with a refresh proxy). Without the
 * hook such a connection expires as the first kind does. The server API's `refresh` can extend
 * either kind at any time.
 *
 * Subscriptions expire on the periodic tick (`tick.ts`): once past `expireAt` and
 * `client.expired_sub_close_delay`, a client-side one is unsubscribed (2501) and a server-side one
 * closes the connection (3006), unless the subscription does not refresh itself and
 * `NodeHooks.subRefreshExpired` extends it.
 */
import { UnsubscribeCode } from '../../protocol/codes.js';
import { DisconnectError, disconnects } from '../../protocol/errors.js';
import type { ExpiredRefreshReply, SubExpiredRefreshReply } from '../events.js';
import type { Session } from './session.js';
import type { ChannelSubscription } from './subscription.js';
import { SubscriptionEnds } from '../lifecycle.js';

/** Whether the server refreshes this connection at its expiry (`NodeHooks.refreshExpired`). */
function refreshedByServer(s: Session): boolean {
  return !s.clientSideRefresh && s.node.hooks.refreshExpired !== undefined;
}

/**
 * When the connection's expiry deadline falls, ms since the epoch, or undefined when it never
 * expires: at the expiry when the server refreshes it, `client.expired_close_delay` later when
 * the client has to.
 */
export function expiryDeadline(s: Session): number | undefined {
  if (s.expireAt <= 0) return undefined;
  return s.expireAt * 1000 + (refreshedByServer(s) ? 0 : s.node.options.expiredCloseDelayMs);
}

/** The deadline of a connected session fell (`Session.onDeadline`). */
export function onExpiryDeadline(s: Session, nowMs: number): void {
  const at = expiryDeadline(s);
  if (at === undefined) return;
  // Moved later meanwhile (a refresh between the queue's firing and this call): wait again.
  if (at > nowMs) s.scheduleExpire();
  else if (refreshedByServer(s)) void refreshConnection(s);
  else s.close(disconnects.expired);
}

async function refreshConnection(s: Session): Promise<void> {
  const hooks = s.node.hooks;
  const hook = hooks.refreshExpired;
  if (hook === undefined) return;
  let r: ExpiredRefreshReply;
  try {
    r = await hook.call(hooks, { client: s });
  } catch (e) {
    if (s.status !== 'connected') return;
    if (e instanceof DisconnectError) {
      s.close(e.disconnect);
      return;
    }
    s.node.rateLog.error({ err: e, client: s.clientId, user: s.user }, 'server-side connection refresh failed');
    s.close(disconnects.internal);
    return;
  }
  if (s.status !== 'connected') return;
  const expireAt = r.expireAt ?? 0;
  if (r.expired === true || expireAt <= Math.floor(Date.now() / 1000)) s.close(disconnects.expired);
  else s.applyRefresh(expireAt, r.info, r.meta);
}

/** Whether the subscription is past its expiry and `client.expired_sub_close_delay` at `nowMs`. */
export function subscriptionExpired(s: Session, sub: ChannelSubscription, nowMs: number): boolean {
  return sub.expireAt > 0 && nowMs > sub.expireAt * 1000 + s.node.options.expiredSubCloseDelayMs;
}

/**
 * An expired subscription (see `subscriptionExpired`): refreshed server-side when it does not
 * refresh itself and the hook is set, else ended. May close the session.
 */
export function onSubscriptionExpired(s: Session, sub: ChannelSubscription): void {
  if (!sub.clientSideRefresh && s.node.hooks.subRefreshExpired !== undefined) {
    // The tick may come round again before the hook answers; one refresh at a time.
    if (sub.beginServerRefresh()) void refreshSubscription(s, sub);
    return;
  }
  endExpired(s, sub);
}

async function refreshSubscription(s: Session, sub: ChannelSubscription): Promise<void> {
  const hooks = s.node.hooks;
  const hook = hooks.subRefreshExpired;
  let r: SubExpiredRefreshReply | undefined;
  let failure: unknown;
  try {
    if (hook !== undefined) r = await hook.call(hooks, { client: s, channel: sub.channel });
  } catch (e) {
    failure = e;
  } finally {
    sub.endServerRefresh();
  }
  if (s.status !== 'connected' || s.subscription(sub.channel) !== sub) return;
  if (failure instanceof DisconnectError) {
    s.close(failure.disconnect);
    return;
  }
  if (failure !== undefined) s.node.rateLog.error({ err: failure, client: s.clientId, channel: sub.channel }, 'server-side subscription refresh failed');
  const expireAt = r?.expireAt ?? 0;
  if (r === undefined || r.expired === true || (expireAt > 0 && expireAt <= Math.floor(Date.now() / 1000))) endExpired(s, sub);
  else sub.refreshed(expireAt, r.info);
}

/** Ends an expired subscription: unsubscribe 2501 for a client-side one, 3006 for a server-side one. */
function endExpired(s: Session, sub: ChannelSubscription): void {
  if (sub.serverSide) {
    s.close(disconnects.subExpired);
    return;
  }
  const c = UnsubscribeCode.expired;
  void s.node.removeSessionSubscription(s, sub, true, SubscriptionEnds.expired);
  s.sendUnsubscribe(sub.channel, c);
}
