/**
 * Orders each channel's broker subscribe and unsubscribe calls: a call runs after the ones already
 * queued for its channel, so they reach the broker in the order the node made them (an unsubscribe
 * never overtakes the subscribe before it). A failed call does not stop the ones behind it. Only
 * channels with a call in flight take room.
 */
export class BrokerCallQueue {
  private readonly calls = new Map<string, Promise<void>>();

  queue(channel: string, call: () => Promise<void>): Promise<void> {
    const before = this.calls.get(channel);
    const queued = before === undefined ? call() : before.then(call, call);
    this.calls.set(channel, queued);
    const settled = (): void => {
      if (this.calls.get(channel) === queued) this.calls.delete(channel);
    };
    queued.then(settled, settled);
    return queued;
  }

  /** The last call queued for `channel` while it is in flight. */
  inFlight(channel: string): Promise<void> | undefined {
    return this.calls.get(channel);
  }
}
