/**
 * Delivery of a subscribe stream's publications (`SubscriptionStream`) to its one subscription:
 * encoded for this connection alone, through the same checks as the channel's publications (tags
 * filter, delta form), and the unsubscribe push when the backend ends the stream.
 */
import { UnsubscribeCode } from '../../protocol/codes.js';
import type { StreamPosition } from '../../protocol/types.js';
import type { SubscriptionStreamSink } from '../events.js';
import { SubscriptionEnds } from '../lifecycle.js';
import { PreparedPush } from '../prepared.js';
import { deliverLive } from './deliver.js';
import type { ChannelSubscription } from './subscription.js';

/** Outside the channel's stream: offset 0 moves no position and breaks no positioning check. */
const NO_POSITION: StreamPosition = Object.freeze({ offset: 0, epoch: '' });

export class StreamDelivery implements SubscriptionStreamSink {
  constructor(private readonly sub: ChannelSubscription) {}

  publication(data: Uint8Array, tags: Readonly<Record<string, string>> | undefined): void {
    if (!this.current()) return;
    const pub = tags !== undefined && Object.keys(tags).length > 0 ? { data, tags: { ...tags } } : { data };
    deliverLive(this.sub, new PreparedPush({ kind: 'pub', channel: this.sub.channel, pub }), NO_POSITION);
  }

  ended(failed: boolean): void {
    if (!this.current()) return;
    const s = this.sub.session;
    const c = failed ? UnsubscribeCode.insufficientState : UnsubscribeCode.server;
    void s.node.removeSessionSubscription(s, this.sub, true, failed ? SubscriptionEnds.insufficientState : SubscriptionEnds.server);
    s.sendUnsubscribe(this.sub.channel, c);
  }

  /** The subscription is still its connection's, and the connection is open. */
  private current(): boolean {
    const s = this.sub.session;
    return s.status === 'connected' && s.subscription(this.sub.channel) === this.sub;
  }
}
