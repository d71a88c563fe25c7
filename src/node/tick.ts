/**
 * The periodic per-connection tick (every `client.presence_update_interval`, 27 s by default):
 * refreshes presence entries (engines with TTLs drop entries not refreshed), ends or refreshes
 * expired subscriptions (`client/expiry.ts`), and compares positioned subscriptions with the
 * stream top to catch losses that live delivery could not see (spec §3.7, §5.5).
 */
import type { Node } from './node.js';
import type { Session } from './client/session.js';
import { loseContinuity } from './client/deliver.js';
import { onSubscriptionExpired, subscriptionExpired } from './client/expiry.js';

export function sessionTick(node: Node, s: Session): void {
  if (s.status !== 'connected') return;
  const now = Date.now();
  for (const sub of s.subscriptions()) {
    if (!sub.live) continue;
    if (subscriptionExpired(s, sub, now)) {
      onSubscriptionExpired(s, sub);
      if (s.status !== 'connected') return;
      continue;
    }
    if (sub.options.emitPresence) {
      node.addPresence(sub.channel, s.clientId, s.clientInfo(sub.options.chanInfo)).catch((err: unknown) => {
        node.rateLog.error({ err, channel: sub.channel }, 'presence refresh failed');
      });
    }
    if (sub.claimPositionCheck(now, node.options.channelPositionCheckDelayMs)) {
      // The top is read after everything up to `delivered` was in the stream: a top below it
      // means the stream went backwards (acknowledged publications lost by the engine).
      const delivered = sub.offset;
      node
        .streamTop(sub.channel, sub.options.historyMetaTtlMs)
        .then((top) => {
          if (s.subscription(sub.channel) !== sub || s.status !== 'connected') return;
          if (top.epoch !== sub.epoch || top.offset > sub.offset || top.offset < delivered) loseContinuity(sub);
        })
        .catch((err: unknown) => node.rateLog.error({ err, channel: sub.channel }, 'position check failed'));
    }
  }
}
