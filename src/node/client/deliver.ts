/**
 * A channel's publication on its way to one subscription: held back while the subscribe is in
 * flight, then the stream-position checks, the tags filter and the plain or delta form. The hub's
 * fan-out calls this for every subscriber, so the plain path allocates nothing.
 */
import { UnsubscribeCode } from '../../protocol/codes.js';
import { disconnects } from '../../protocol/errors.js';
import type { StreamPosition } from '../../protocol/types.js';
import type { PreparedPush } from '../prepared.js';
import type { ChannelSubscription } from './subscription.js';
import { SubscriptionEnds } from '../lifecycle.js';

/** From the fan-out: buffered during an in-flight subscribe (replayed by `goLive`), else delivered. */
export function deliverToSubscription(sub: ChannelSubscription, prepared: PreparedPush, position: StreamPosition): void {
  if (!sub.live) {
    sub.hold(prepared, position);
    return;
  }
  deliverLive(sub, prepared, position);
}

/**
 * Positioning check, then the plain or delta form of the publication. `replaying`: one held
 * during the subscribe, which the subscribe reply may already have carried (see `advance`).
 */
export function deliverLive(sub: ChannelSubscription, prepared: PreparedPush, position: StreamPosition, replaying = false): void {
  const s = sub.session;
  const before = sub.offset;
  const verdict = sub.advance(position, replaying);
  if (verdict === 'gap') {
    loseContinuity(sub);
    return;
  }
  if (verdict === 'skip') return;
  if (sub.filter !== undefined && prepared.push.kind === 'pub' && !sub.filter(prepared.push.pub.tags)) {
    s.node.metrics.tagsFiltered(sub.channel, 1);
    return;
  }
  if (!sub.delta) {
    s.sendPrepared(prepared);
    return;
  }
  // A delta applies only on top of the previous publication the client holds. One kept out of
  // history (offset 0) goes in full, and so does the next: the stream's previous publication is
  // no longer what the client holds last.
  const inStream = position.offset !== 0;
  const hasPrev = inStream && sub.deltaReady && sub.positioned && prepared.prev !== undefined && prepared.prev.offset === before;
  const bytes = prepared.deltaBytesFor(s.codec, s.transport.unidirectional, hasPrev);
  if (bytes === undefined) s.close(disconnects.inappropriateProtocol);
  else {
    sub.deltaSent(inStream);
    s.counters.pushed('pub', bytes.byteLength);
    s.writer.enqueue(bytes);
  }
}

/** Lost continuity: client-side subscriptions get unsubscribe 2500, server-side ones 3010. */
export function loseContinuity(sub: ChannelSubscription): void {
  const s = sub.session;
  if (sub.serverSide) {
    s.close(disconnects.insufficientState);
    return;
  }
  const c = UnsubscribeCode.insufficientState;
  // As any unsubscribe: a leave goes out, or other members would see this client join twice
  // when its SDK resubscribes.
  void s.node.removeSessionSubscription(s, sub, true, SubscriptionEnds.insufficientState);
  s.sendUnsubscribe(sub.channel, c);
}
