/**
 * The periodic per-connection tick (every `client.presence_update_interval`, 27 s by default):
 * refreshes presence entries (engines with TTLs drop entries not refreshed), closes expired
 * subscriptions, and compares positioned subscriptions with the stream top to catch losses that
 * live delivery could not see (spec §3.7, §5.5).
 */
import { UnsubscribeCode } from '../protocol/codes.js';
import { disconnects } from '../protocol/errors.js';
import type { Node } from './node.js';
import type { Session } from './client/session.js';
import { loseContinuity } from './client/deliver.js';

export function sessionTick(node: Node, s: Session): void {
  if (s.status !== 'connected') return;
  const now = Date.now();
  const o = node.options;
  for (const sub of s.subs.values()) {
    if (!sub.live) continue;
    if (sub.expireAt > 0 && now > sub.expireAt * 1000 + o.expiredSubCloseDelayMs) {
      if (sub.serverSide) {
        s.close(disconnects.subExpired);
        return;
      }
      const c = UnsubscribeCode.expired;
      void node.removeSessionSubscription(s, sub, true);
      s.sendPush({ kind: 'unsubscribe', channel: sub.channel, code: c.code, reason: c.reason });
      continue;
    }
    if (sub.options.emitPresence) {
      node.addPresence(sub.channel, s.clientId, s.clientInfo(sub.options.chanInfo)).catch((err: unknown) => {
        node.log.error({ err, channel: sub.channel }, 'presence refresh failed');
      });
    }
    if (sub.positioned && o.channelPositionCheckDelayMs > 0 && now - sub.positionCheckedAt >= o.channelPositionCheckDelayMs) {
      sub.positionCheckedAt = now;
      node
        .streamTop(sub.channel, sub.options.historyMetaTtlMs)
        .then((top) => {
          if (s.subs.get(sub.channel) !== sub || s.status !== 'connected') return;
          if (top.epoch !== sub.epoch || top.offset > sub.offset) loseContinuity(sub);
        })
        .catch((err: unknown) => node.log.error({ err, channel: sub.channel }, 'position check failed'));
    }
  }
}
